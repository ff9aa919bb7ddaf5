/**
 * The validator set as the operator surface shows it (`GET /api/validators`, `GET /api/status`'s
 * `validator`, the dashboard; docs/protocol.md §5): each record with its status at the next
 * height's epoch, whether it is in that epoch's pool, and the last canonical heights at which it
 * produced a block and had an attestation included.
 *
 * Activity comes from an in-memory index over the canonical chain's block metadata (producer and
 * attesters), seeded when first asked for by a scan of the last `pool_window + 2 * epoch_length`
 * canonical blocks and then kept up to date from the chain's `head` events (a reorg re-reads the
 * new branch down to the common ancestor). Older activity is not indexed: a validator whose last
 * block or attestation is below that window at start (or at a reorg deeper than the window, which
 * drops what had left it) shows null until it produces or attests again.
 */
import type { Chain } from "../chain/chain.ts";
import type { BlockMeta } from "../storage/records.ts";
import { epochAt, statusAt, type ValidatorRecord, type ValidatorStatus } from "../consensus/validators.ts";

/** One validator as the API shows it. */
export interface ValidatorView {
  ebid: string;
  /** 96 hex */
  bls_pubkey: string;
  /** bonded base units, decimal string */
  bond: string;
  /** statusAt the next height's epoch */
  status: ValidatorStatus;
  activation_epoch: number;
  exit_epoch: number | null;
  /** exit_epoch + unbonding_epochs, or null while not exiting */
  withdrawable_epoch: number | null;
  /** a slashing item against it executed: its bond was burned (docs/protocol.md §6.5) */
  slashed: boolean;
  /** in the pool of the next height's epoch */
  in_pool: boolean;
  /** last canonical height it produced, or null (not within the indexed window) */
  last_produced: number | null;
  /** last canonical height whose block carried its attestation, or null (not within the indexed window) */
  last_attested: number | null;
}

/** Counts of the validator set at the next height's epoch; `live` = the size of that epoch's pool. */
export interface ValidatorCounts {
  total: number;
  active: number;
  pending: number;
  exiting: number;
  /** exited, not yet withdrawable */
  exited: number;
  withdrawable: number;
  live: number;
}

/** The set at a glance. */
export interface ValidatorSet {
  /** the head's height and epoch */
  height: number;
  epoch: number;
  /** the next height's epoch (statuses and the pool are at this epoch) */
  next_epoch: number;
  epoch_length: number;
  counts: ValidatorCounts;
  /** every record, ascending by EBID */
  validators: ValidatorView[];
}

interface Entry {
  hash: string;
  producer: string;
  attesters: readonly string[];
}

/** Last produced and attested heights per EBID over the canonical chain's recent blocks. */
export class ValidatorActivity {
  /** canonical blocks of the window, by height */
  private readonly entries = new Map<number, Entry>();
  /** what blocks that left the window showed (max heights) */
  private readonly older = new Map<string, { produced: number | null; attested: number | null }>();
  private top = -1;
  private queue: Promise<void> = Promise.resolve();
  private readonly onHead = ({ head }: { head: BlockMeta }) => void this.follow(head);

  /** Starts following `chain`'s head; `window` is the number of recent blocks kept per height. */
  constructor(private readonly chain: Chain, private readonly window: number) {
    chain.on("head", this.onHead);
    void this.follow(chain.head);
  }

  /** Stops following the chain. */
  close(): void {
    this.chain.off("head", this.onHead);
  }

  /** Resolves once every head seen so far is indexed. */
  settled(): Promise<void> {
    return this.queue;
  }

  /** Last produced and attested heights of `ebid` (null: none indexed). */
  of(ebid: string): { last_produced: number | null; last_attested: number | null } {
    this.summary ??= this.summarize();
    const s = this.summary.get(ebid);
    return { last_produced: s?.produced ?? null, last_attested: s?.attested ?? null };
  }

  /** Per EBID, the highest heights of the window's blocks, over what left the window. */
  private summary: Map<string, { produced: number | null; attested: number | null }> | undefined;

  private summarize(): Map<string, { produced: number | null; attested: number | null }> {
    const out = new Map([...this.older].map(([k, v]) => [k, { ...v }]));
    const at = (ebid: string) => {
      let e = out.get(ebid);
      if (!e) out.set(ebid, (e = { produced: null, attested: null }));
      return e;
    };
    for (const [h, e] of this.entries) {
      const p = at(e.producer);
      p.produced = Math.max(p.produced ?? 0, h);
      for (const a of e.attesters) {
        const x = at(a);
        x.attested = Math.max(x.attested ?? 0, h);
      }
    }
    return out;
  }

  // Serialized: each head is indexed after the previous one.
  private follow(head: BlockMeta): Promise<void> {
    this.queue = this.queue.then(() => this.index(head)).catch(() => undefined); // the chain closed: nothing to index
    return this.queue;
  }

  private async index(head: BlockMeta): Promise<void> {
    this.summary = undefined;
    const floor = Math.max(1, head.height - this.window + 1);
    // Heights above the new head left the canonical chain.
    for (let h = head.height + 1; h <= this.top; h++) this.entries.delete(h);
    this.top = head.height;
    // Walk down the new branch until it meets what is indexed (a reorg re-reads its blocks).
    let m: BlockMeta | undefined = head;
    while (m && m.height >= floor && this.entries.get(m.height)?.hash !== m.hash) {
      this.entries.set(m.height, { hash: m.hash, producer: m.producer, attesters: m.attesters });
      m = await this.chain.getMeta(m.parent_hash);
    }
    // The walk covered the whole window without meeting the indexed branch: a reorg deeper than
    // the window. What left the window may be off the canonical chain now: forget it.
    if (m && m.height < floor && m.height >= 1 && this.entries.get(m.height)?.hash !== m.hash && (this.entries.has(m.height) || this.older.size > 0)) {
      this.older.clear();
      for (const h of this.entries.keys()) if (h < floor) this.entries.delete(h);
    }
    for (const [h, e] of this.entries) {
      if (h >= floor) continue;
      this.entries.delete(h);
      const p = this.older.get(e.producer) ?? { produced: null, attested: null };
      p.produced = Math.max(p.produced ?? 0, h);
      this.older.set(e.producer, p);
      for (const a of e.attesters) {
        const o = this.older.get(a) ?? { produced: null, attested: null };
        o.attested = Math.max(o.attested ?? 0, h);
        this.older.set(a, o);
      }
    }
    this.summary = undefined; // a read during the walk above may have summed up a half-done index
  }
}

const indexes = new WeakMap<Chain, ValidatorActivity>();

/**
 * The activity index of `chain`, made (and seeded) on the first call: the node calls it at start,
 * so its `head` events are followed from then on.
 */
export function validatorActivity(chain: Chain): ValidatorActivity {
  let a = indexes.get(chain);
  if (!a) {
    const p = chain.spec.params;
    a = new ValidatorActivity(chain, p.pool_window + 2 * p.epoch_length);
    indexes.set(chain, a);
  }
  return a;
}

/** A record as the API shows it, at `epoch` with the pool `pool`. */
export function validatorView(r: ValidatorRecord, epoch: number, unbondingEpochs: number, pool: ReadonlySet<string>, activity: ValidatorActivity): ValidatorView {
  return {
    ebid: r.ebid,
    bls_pubkey: r.bls_pubkey,
    bond: r.bond.toString(),
    status: statusAt(r, epoch, unbondingEpochs),
    activation_epoch: r.activation_epoch,
    exit_epoch: r.exit_epoch,
    withdrawable_epoch: r.exit_epoch === null ? null : r.exit_epoch + unbondingEpochs,
    slashed: r.slashed,
    in_pool: pool.has(r.ebid),
    ...activity.of(r.ebid),
  };
}

/**
 * The validator set after the head: records from `Chain.registryAfter(head)`, statuses at the next
 * height's epoch, the pool of `Chain.scheduleFor(head)`.
 */
export async function validatorSet(chain: Chain): Promise<ValidatorSet> {
  const head = chain.head;
  const p = chain.spec.params;
  const activity = validatorActivity(chain);
  const [registry, schedule] = await Promise.all([chain.registryAfter(head), chain.scheduleFor(head)]);
  await activity.settled();
  const next = epochAt(head.height + 1, p.epoch_length);
  const pool = new Set(schedule.pool);
  const validators = registry.all().map((r) => validatorView(r, next, p.unbonding_epochs, pool, activity));
  const counts: ValidatorCounts = { total: validators.length, active: 0, pending: 0, exiting: 0, exited: 0, withdrawable: 0, live: 0 };
  for (const v of validators) {
    counts[v.status]++;
    if (v.in_pool) counts.live++;
  }
  return { height: head.height, epoch: epochAt(head.height, p.epoch_length), next_epoch: next, epoch_length: p.epoch_length, counts, validators };
}

/** This node's validator (null when `ebid` holds no record), as {@link validatorSet} shows it. */
export async function ownValidator(chain: Chain, ebid: string): Promise<ValidatorView | null> {
  const head = chain.head;
  const p = chain.spec.params;
  const registry = await chain.registryAfter(head);
  const r = registry.get(ebid);
  if (!r) return null;
  const activity = validatorActivity(chain);
  const schedule = await chain.scheduleFor(head);
  await activity.settled();
  return validatorView(r, epochAt(head.height + 1, p.epoch_length), p.unbonding_epochs, new Set(schedule.pool), activity);
}
