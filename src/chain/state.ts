/**
 * Account state and its root (docs/protocol.md §3.6: `state_root` is an RFC 6962 root over
 * H(JCS([address, balance, nonce])) of every account in account creation order: the alloc's in
 * ascending address order, then each block's new accounts in the order its execution creates them).
 * A block moves the state by its transfers, then pays its producer `block_reward` plus the fees.
 *
 * Execution never copies the state: it reads the head through a {@link StateView} (an overlay of
 * the accounts that differ from the head, plus the leaf count) and writes into a child overlay.
 * The validator records ride along the same way (an overlay of the records that differ from the
 * head's, chain/registry.ts).
 */
import { hashJson, toHex } from "../consensus/encoding.ts";
import type { StoredChange } from "../storage/records.ts";
import type { ValidatorRecord } from "../consensus/validators.ts";
import { StateTree, leafHash } from "./stateTree.ts";
import { RegistryOverlay, RegistryWriter, registryRoot, type RegistryView, type ValidatorChange } from "./registry.ts";

/** One account: balance as a bigint of base units, nonce as the next expected tx nonce. */
export interface Account {
  balance: bigint;
  nonce: number;
}

/** An account with its leaf index in the `state_root` list (its creation position). */
export interface IndexedAccount extends Account {
  index: number;
}

/** Accounts by address (hex EBID). */
export type Accounts = ReadonlyMap<string, Account>;

/** Read access to accounts: a Map, the head, or an overlay. */
export interface AccountReader {
  get(address: string): Account | undefined;
}

/** Builds accounts from a chain spec `alloc` (decimal strings), in ascending address order. */
export function accountsFromAlloc(alloc: Readonly<Record<string, string>>): Map<string, IndexedAccount> {
  const m = new Map<string, IndexedAccount>();
  Object.keys(alloc)
    .sort()
    .forEach((address, index) => m.set(address, { balance: BigInt(alloc[address]!), nonce: 0, index }));
  return m;
}

/** The item hash of an account: H(JCS([address, balance as a decimal string, nonce])). */
export function accountItemHash(address: string, a: Account): Uint8Array {
  return hashJson([address, a.balance.toString(), a.nonce]);
}

/** `state_root` as hex, from scratch (O(N)): accounts ordered by their leaf index. */
export function stateRoot(accounts: ReadonlyMap<string, IndexedAccount>): string {
  const leaves: Uint8Array[] = [];
  for (const [address, a] of accounts) leaves[a.index] = leafHash(accountItemHash(address, a));
  return toHex(StateTree.from(leaves).root());
}

/** One account's value before and after a block (before null: the block created it at `index`). */
export interface AccountChange {
  address: string;
  index: number;
  before: Account | null;
  after: Account;
}

/** The head's accounts and tree; what a {@link StateView} reads below its overlay. */
export interface StateBase {
  /** leaves of the head's list */
  readonly size: number;
  readonly tree: StateTree;
  /** bumped each time the head's state moves: a view built on an older one is stale */
  readonly version: number;
  /** head accounts of `addresses` (undefined: absent), from the store or its cache */
  load(addresses: Iterable<string>): Promise<Map<string, IndexedAccount | undefined>>;
  /**
   * the head's validator records and their (cached) `validators_root`: an immutable snapshot,
   * replaced (not changed) when a head move changes a record
   */
  readonly registry: RegistryView & { readonly root: string };
}

/** One block's moves of the state, for a walk: its account and record changes. */
export interface StateStep {
  changes: readonly AccountChange[];
  validators?: readonly ValidatorChange[];
  direction: "redo" | "undo";
}

/**
 * The state after some block, as the accounts that differ from the head (null: absent there) and
 * the leaf count, over the head. Reads below the overlay come from the head accounts loaded for
 * this view (`withAccounts`): reading one that was not loaded is a bug and throws. The validator
 * records are `vdiff` (records that differ from the head's; null: absent there) over the head's,
 * all in memory. Never mutated once built; `child()` starts a block's execution on it.
 */
export class StateView implements AccountReader {
  private _registry: RegistryOverlay | undefined;
  private _validatorsRoot: string | undefined;

  constructor(
    readonly base: StateBase,
    readonly diff: ReadonlyMap<string, IndexedAccount | null>,
    readonly size: number,
    private readonly loaded: ReadonlyMap<string, IndexedAccount | undefined> = new Map(),
    readonly version = base.version,
    readonly vdiff: ReadonlyMap<string, ValidatorRecord | null> = new Map(),
    /** height of the block this is the state after, when known (the mempool reads the next epoch from it) */
    readonly height?: number,
    /** the head's records when this view was built (an immutable snapshot: a later head move does not change it) */
    readonly headRecords: StateBase["registry"] = base.registry,
  ) {}

  /** The validator records of this state. */
  get registry(): RegistryView {
    return (this._registry ??= new RegistryOverlay(this.headRecords, this.vdiff));
  }

  /**
   * `validators_root` of this state's records: the head's cached root when no record differs from
   * the head's, else computed once (O(records)) and kept.
   */
  validatorsRoot(): string {
    if (this.vdiff.size === 0) return this.headRecords.root;
    return (this._validatorsRoot ??= registryRoot(this.registry.all()));
  }

  /** This view, known to be the state after the block at `height`. */
  at(height: number): StateView {
    return new StateView(this.base, this.diff, this.size, this.loaded, this.version, this.vdiff, height, this.headRecords);
  }

  /** The head itself. */
  static head(base: StateBase): StateView {
    return new StateView(base, new Map(), base.size);
  }

  /** True when `get(address)` can answer (in the overlay or loaded). */
  has(address: string): boolean {
    return this.diff.has(address) || this.loaded.has(address);
  }

  get(address: string): IndexedAccount | undefined {
    const d = this.diff.get(address);
    if (d !== undefined) return d ?? undefined;
    if (!this.loaded.has(address)) throw new Error(`account ${address} was not loaded for this state`);
    return this.loaded.get(address);
  }

  /** This view with the head accounts of `addresses` loaded (those not in the overlay). */
  async withAccounts(addresses: Iterable<string>): Promise<StateView> {
    const missing = [...new Set(addresses)].filter((a) => !this.has(a));
    if (missing.length === 0) return this;
    const loaded = new Map(this.loaded);
    for (const [a, acc] of await this.base.load(missing)) loaded.set(a, acc);
    return new StateView(this.base, this.diff, this.size, loaded, this.version, this.vdiff, this.height, this.headRecords);
  }

  /** True while the head has not moved since this view was built. */
  get current(): boolean {
    return this.base.version === this.version;
  }

  /** A writable overlay for one block on this state. */
  child(): BlockOverlay {
    return new BlockOverlay(this);
  }

  /** This view moved by `changes` (redo) or back over them (undo). */
  moved(changes: readonly AccountChange[], direction: "redo" | "undo", validators: readonly ValidatorChange[] = []): StateView {
    return this.walk([{ changes, validators, direction }]);
  }

  /**
   * This view moved by each step in turn (one copy of the overlays for all). The height of the
   * result is unknown (set it with `at`).
   */
  walk(steps: readonly StateStep[]): StateView {
    const diff = new Map(this.diff);
    const vdiff = steps.some((s) => s.validators?.length) ? new Map(this.vdiff) : this.vdiff;
    let size = this.size;
    for (const { changes, validators = [], direction } of steps) {
      for (const v of validators) (vdiff as Map<string, ValidatorRecord | null>).set(v.ebid, direction === "redo" ? v.after : v.before);
      if (direction === "redo") {
        for (const c of changes) {
          diff.set(c.address, { ...c.after, index: c.index });
          if (c.before === null) size = Math.max(size, c.index + 1);
        }
      } else {
        for (const c of changes) {
          diff.set(c.address, c.before === null ? null : { ...c.before, index: c.index });
          if (c.before === null) size = Math.min(size, c.index);
        }
      }
    }
    return new StateView(this.base, diff, size, this.loaded, this.version, vdiff, undefined, this.headRecords);
  }

  /** `state_root` of this state: O(accounts in the overlay x log N). */
  root(): string {
    if (!this.current) throw new Error("the head moved while this state was in use");
    const leaves = new Map<number, Uint8Array>();
    for (const [address, a] of this.diff) if (a && a.index < this.size) leaves.set(a.index, leafHash(accountItemHash(address, a)));
    return toHex(this.base.tree.rootWith({ leaves, size: this.size }));
  }
}

/**
 * One block's writes over a {@link StateView}: `set` on an absent address creates the account at
 * the next leaf index (creation order, docs/protocol.md §3.6).
 */
export class BlockOverlay implements AccountReader {
  private readonly writes = new Map<string, IndexedAccount>();
  private size: number;
  /** the block's validator record writes over the parent's records */
  readonly registry: RegistryWriter;

  constructor(readonly parent: StateView) {
    this.size = parent.size;
    this.registry = new RegistryWriter(parent.registry);
  }

  get(address: string): IndexedAccount | undefined {
    return this.writes.get(address) ?? this.parent.get(address);
  }

  set(address: string, a: Account): void {
    const index = this.get(address)?.index ?? this.size++;
    this.writes.set(address, { balance: a.balance, nonce: a.nonce, index });
  }

  /** The block's account changes (unchanged accounts left out), in leaf order. */
  changes(): AccountChange[] {
    const out: AccountChange[] = [];
    for (const [address, a] of this.writes) {
      const b = this.parent.get(address);
      if (b && b.balance === a.balance && b.nonce === a.nonce) continue;
      out.push({ address, index: a.index, before: b ? { balance: b.balance, nonce: b.nonce } : null, after: { balance: a.balance, nonce: a.nonce } });
    }
    return out.sort((x, y) => x.index - y.index);
  }

  /** The block's validator record changes, ascending by EBID. */
  validatorChanges(): ValidatorChange[] {
    return this.registry.changes();
  }

  /** The state after the block. */
  view(): StateView {
    return this.parent.moved(this.changes(), "redo", this.validatorChanges());
  }
}

/** A block's account changes in their stored form (bigints as decimal strings). */
export function encodeChanges(changes: readonly AccountChange[]): StoredChange[] {
  return changes.map((c) => ({
    address: c.address,
    index: c.index,
    before: c.before ? [c.before.balance.toString(), c.before.nonce] : null,
    after: [c.after.balance.toString(), c.after.nonce],
  }));
}

/** The inverse of `encodeChanges`. */
export function decodeChanges(stored: readonly StoredChange[]): AccountChange[] {
  return stored.map((c) => ({
    address: c.address,
    index: c.index,
    before: c.before ? { balance: BigInt(c.before[0]), nonce: c.before[1] } : null,
    after: { balance: BigInt(c.after[0]), nonce: c.after[1] },
  }));
}
