/**
 * The validator registry as part of the state (docs/protocol.md §3.6, §5, §6.5): the head's records in
 * memory (at most `max_validators`, persisted one LevelDB key per EBID) with their cached
 * `validators_root`, and read/write overlays of them for the state after any block on any branch,
 * the way {@link StateView} overlays accounts. A block's record changes are kept in its changes
 * record (`d!`) so a reorg can undo and redo them.
 */
import { validatorItemHash, validatorsRoot, type RegistryReader, type ValidatorRecord } from "../consensus/validators.ts";
import type { StoredValidatorChange, StoredValidatorRecord } from "../storage/records.ts";

/** One record's value before and after a block (null: absent). */
export interface ValidatorChange {
  ebid: string;
  before: ValidatorRecord | null;
  after: ValidatorRecord | null;
}

/** Registry reads a transaction needs beyond {@link RegistryReader}. */
export interface RegistryView extends RegistryReader {
  /** the EBID whose record holds `blsPubkey`, if any */
  blsKeyOwner(blsPubkey: string): string | undefined;
}

const byEbid = (a: ValidatorRecord, b: ValidatorRecord) => (a.ebid < b.ebid ? -1 : a.ebid > b.ebid ? 1 : 0);

// Item hashes of records, by record object. Records are never changed in place (a change makes a
// new object: checkRegistry, decodeRecord, `{ ...record, exit_epoch }`), and the same objects are
// shared by the head's registry and every overlay, so a root recomputed after a block that changed
// one record hashes one item, not all of them.
const itemHashes = new WeakMap<ValidatorRecord, Uint8Array>();

/**
 * `validators_root` (docs/protocol.md §3.6) of `records`: consensus `validatorsRoot`, with each
 * record's item hash computed once per record object. O(records) sort and tree hashes.
 */
export function registryRoot(records: Iterable<ValidatorRecord>): string {
  return validatorsRoot(records, (r) => {
    let h = itemHashes.get(r);
    if (!h) itemHashes.set(r, (h = validatorItemHash(r)));
    return h;
  });
}

/** True when two records (or absences) are equal field for field. */
export function sameRecord(a: ValidatorRecord | null | undefined, b: ValidatorRecord | null | undefined): boolean {
  if (!a || !b) return !a && !b;
  return a.ebid === b.ebid && a.bls_pubkey === b.bls_pubkey && a.bond === b.bond && a.activation_epoch === b.activation_epoch && a.exit_epoch === b.exit_epoch && a.slashed === b.slashed;
}

/**
 * The head's records, by EBID and by BLS key, and their `validators_root`: immutable. A head move
 * that changes a record makes a new one (`applied`, O(records)); views keep the one they were
 * built on, so a head move never changes a view already handed out.
 */
export class HeadRegistry implements RegistryView {
  private sorted: ValidatorRecord[] | undefined;

  private constructor(
    private readonly records: ReadonlyMap<string, ValidatorRecord>,
    private readonly bls: ReadonlyMap<string, string>,
    /** `validators_root` of these records */
    readonly root: string,
  ) {}

  /**
   * The registry holding `records`; `root`, when the caller knows their `validators_root` (a
   * validated block header's), spares computing it.
   */
  static from(records: Iterable<ValidatorRecord>, root?: string): HeadRegistry {
    const byEbid = new Map([...records].map((r) => [r.ebid, r]));
    return new HeadRegistry(byEbid, new Map([...byEbid.values()].map((r) => [r.bls_pubkey, r.ebid])), root ?? registryRoot(byEbid.values()));
  }

  get size(): number {
    return this.records.size;
  }

  get(ebid: string): ValidatorRecord | undefined {
    return this.records.get(ebid);
  }

  all(): ValidatorRecord[] {
    this.sorted ??= [...this.records.values()].sort(byEbid);
    return [...this.sorted];
  }

  blsKeyOwner(blsPubkey: string): string | undefined {
    return this.bls.get(blsPubkey);
  }

  /**
   * These records moved by an overlay (null: deleted): this registry when nothing changes, else a
   * new one, whose root is `root` when given (the caller knows it: a validated header's).
   */
  applied(diff: ReadonlyMap<string, ValidatorRecord | null>, root?: string): HeadRegistry {
    const changed = [...diff].filter(([ebid, r]) => !sameRecord(this.records.get(ebid), r));
    if (changed.length === 0) return this;
    const records = new Map(this.records);
    for (const [ebid, r] of changed) {
      if (r) records.set(ebid, r);
      else records.delete(ebid);
    }
    return HeadRegistry.from(records.values(), root);
  }
}

/** Records that differ from a base registry (null: absent), read through to the base. */
export class RegistryOverlay implements RegistryView {
  constructor(
    readonly base: RegistryView,
    readonly diff: ReadonlyMap<string, ValidatorRecord | null>,
  ) {}

  get(ebid: string): ValidatorRecord | undefined {
    return this.diff.has(ebid) ? (this.diff.get(ebid) ?? undefined) : this.base.get(ebid);
  }

  get size(): number {
    let n = this.base.size;
    for (const [ebid, r] of this.diff) {
      const inBase = this.base.get(ebid) !== undefined;
      if (r && !inBase) n++;
      else if (!r && inBase) n--;
    }
    return n;
  }

  all(): ValidatorRecord[] {
    if (this.diff.size === 0) return this.base.all();
    const out = this.base.all().filter((r) => !this.diff.has(r.ebid));
    for (const r of this.diff.values()) if (r) out.push(r);
    return out.sort(byEbid);
  }

  blsKeyOwner(blsPubkey: string): string | undefined {
    for (const r of this.diff.values()) if (r?.bls_pubkey === blsPubkey) return r.ebid;
    const owner = this.base.blsKeyOwner(blsPubkey);
    return owner !== undefined && !this.diff.has(owner) ? owner : undefined;
  }
}

/** One block's record writes over a registry view; `changes()` lists what differs, by EBID. */
export class RegistryWriter implements RegistryView {
  private readonly writes = new Map<string, ValidatorRecord | null>();
  private readonly view: RegistryOverlay;

  constructor(readonly parent: RegistryView) {
    this.view = new RegistryOverlay(parent, this.writes);
  }

  get(ebid: string): ValidatorRecord | undefined {
    return this.view.get(ebid);
  }

  get size(): number {
    return this.view.size;
  }

  all(): ValidatorRecord[] {
    return this.view.all();
  }

  blsKeyOwner(blsPubkey: string): string | undefined {
    return this.view.blsKeyOwner(blsPubkey);
  }

  /** Writes `ebid`'s record (null: deletes it). */
  set(ebid: string, r: ValidatorRecord | null): void {
    this.writes.set(ebid, r);
  }

  /** The block's record changes (unchanged ones left out), ascending by EBID. */
  changes(): ValidatorChange[] {
    const out: ValidatorChange[] = [];
    for (const [ebid, after] of this.writes) {
      const before = this.parent.get(ebid) ?? null;
      if (!sameRecord(before, after)) out.push({ ebid, before, after });
    }
    return out.sort((a, b) => (a.ebid < b.ebid ? -1 : 1));
  }
}

/** A record in its stored form (bond as a decimal string). */
export function encodeRecord(r: ValidatorRecord): StoredValidatorRecord {
  return { ebid: r.ebid, bls_pubkey: r.bls_pubkey, bond: r.bond.toString(), activation_epoch: r.activation_epoch, exit_epoch: r.exit_epoch, slashed: r.slashed };
}

/** The inverse of `encodeRecord`. @throws when `slashed` is not a boolean (a record written before protocol version 3) */
export function decodeRecord(s: StoredValidatorRecord): ValidatorRecord {
  if (typeof s.slashed !== "boolean") throw new Error(`data dir is damaged or older than protocol version 3: validator record ${s.ebid} has no slashed flag`);
  return { ebid: s.ebid, bls_pubkey: s.bls_pubkey, bond: BigInt(s.bond), activation_epoch: s.activation_epoch, exit_epoch: s.exit_epoch, slashed: s.slashed };
}

/** A block's record changes in their stored form. */
export function encodeValidatorChanges(changes: readonly ValidatorChange[]): StoredValidatorChange[] {
  return changes.map((c) => ({ ebid: c.ebid, before: c.before && encodeRecord(c.before), after: c.after && encodeRecord(c.after) }));
}

/** The inverse of `encodeValidatorChanges`. */
export function decodeValidatorChanges(stored: readonly StoredValidatorChange[]): ValidatorChange[] {
  return stored.map((c) => ({ ebid: c.ebid, before: c.before && decodeRecord(c.before), after: c.after && decodeRecord(c.after) }));
}
