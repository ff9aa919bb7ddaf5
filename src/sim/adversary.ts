/**
 * Faults and adversaries of the simulator, driven by the simulation driver
 * (sim/driver.ts) and all drawn from the run's seed:
 *
 * - **crash**: `crashPlan` picks a fraction of the nodes and a virtual time for each; at that time
 *   the driver closes the node (its links close, it never returns).
 * - **silent**: `silentPlan` picks validators that are bonded but never produce nor attest.
 * - **withhold**: a coalition of validators keeps the blocks its members produce from honest nodes
 *   and shares them only within the coalition, then releases them when a coalition child extends
 *   one (docs/protocol.md §5 "Who attests" and "Known weaknesses": a withheld block released with a
 *   child), or at a deadline. `Withholding` is a filter on the members' outgoing frames: the node
 *   code stays honest, only what reaches honest peers changes.
 * - **private-branch**: the same coalition and filter (`Withholding` with a `chainLength` K), which
 *   releases a withheld chain only once it is K heights long (or each block at a later deadline): a
 *   private branch built on its own blocks and published at once to reorg the honest blocks of
 *   those heights (docs/protocol.md §5 "Why the finality floor", §7: fork choice by weight above the
 *   justified checkpoint).
 *
 * Nodes 0 and 1 (the bootnodes, which every node dials) are never picked, so discovery works the
 * same in every run.
 */
import type { Clock, Rng } from "../util/clock.ts";

/** The nodes the driver never picks for a fault or a coalition: the bootnodes. */
const FIRST_PICKABLE = 2;

/**
 * `k` distinct indices from `from..to-1`, in ascending order, by a partial Fisher-Yates shuffle on `rng`.
 * @throws RangeError when k is outside 0..to-from
 */
export function pickIndices(rng: Rng, from: number, to: number, k: number): number[] {
  const pool = Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
  if (!(Number.isInteger(k) && k >= 0 && k <= pool.length)) throw new RangeError(`cannot pick ${k} of ${pool.length}`);
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(pool.length - i);
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, k).sort((a, b) => a - b);
}

/** A fraction 0..1 of `of`, rounded to the nearest whole number. @throws RangeError outside [0, 1] */
export function fractionOf(fraction: number, of: number, what: string): number {
  if (!(Number.isFinite(fraction) && fraction >= 0 && fraction <= 1)) throw new RangeError(`${what} must be a fraction in [0, 1], got ${fraction}`);
  return Math.round(fraction * of);
}

/** One planned crash: node index and virtual ms after genesis. */
export interface CrashPlan {
  node: number;
  afterMs: number;
}

/**
 * The crashes of a run: `round(fraction x nodes)` nodes of 2..nodes-1 (never a bootnode), each at a
 * uniform virtual time in [fromMs, toMs) after genesis (whole ms), in ascending node order.
 * @throws RangeError when the fraction is outside [0, 1], more nodes than nodes-2 would crash, or toMs < fromMs
 */
export function crashPlan(rng: Rng, nodes: number, fraction: number, fromMs: number, toMs: number): CrashPlan[] {
  const k = fractionOf(fraction, nodes, "crash");
  if (k > nodes - FIRST_PICKABLE) throw new RangeError(`crash ${fraction} of ${nodes} nodes would crash a bootnode (at most ${nodes - FIRST_PICKABLE})`);
  if (!(toMs >= fromMs && fromMs >= 0)) throw new RangeError(`crash window [${fromMs}, ${toMs}) ms is empty or negative`);
  return pickIndices(rng, FIRST_PICKABLE, nodes, k).map((node) => ({ node, afterMs: fromMs + Math.floor(rng.next() * (toMs - fromMs)) }));
}

/**
 * The withholding coalition: `round(fraction x validators)` of the validators 2..validators-1 (never a
 * bootnode), in ascending order.
 * @throws RangeError when the fraction is outside [0, 1] or the coalition would need a bootnode
 */
export function coalitionPlan(rng: Rng, validators: number, fraction: number): number[] {
  const k = fractionOf(fraction, validators, "withhold");
  if (k > validators - FIRST_PICKABLE) throw new RangeError(`withhold ${fraction} of ${validators} validators would need a bootnode (at most ${validators - FIRST_PICKABLE})`);
  return pickIndices(rng, FIRST_PICKABLE, validators, k);
}

/**
 * Silent validators: `round(fraction x validators)` of the validators 2..validators-1 outside `exclude`
 * (the coalition), in ascending order. They are bonded at genesis but run with production off: no
 * block, no attestation (docs/protocol.md §5, "No penalty for missed slots").
 * @throws RangeError when the fraction is outside [0, 1] or there are not enough validators left
 */
export function silentPlan(rng: Rng, validators: number, fraction: number, exclude: readonly number[] = []): number[] {
  const k = fractionOf(fraction, validators, "silent");
  const skip = new Set(exclude);
  const pool: number[] = [];
  for (let i = FIRST_PICKABLE; i < validators; i++) if (!skip.has(i)) pool.push(i);
  if (k > pool.length) throw new RangeError(`silent ${fraction} of ${validators} validators needs ${k}, only ${pool.length} are neither a bootnode nor in the coalition`);
  return pickIndices(rng, 0, pool.length, k).map((j) => pool[j]!);
}

/**
 * The stall bound of a Proof-of-Sync chain (ms): the longest a height may wait for its block while
 * one of its winners is live, T(backup_slots) - parent.timestamp + jitter_max_ms
 * (docs/protocol.md §6.2: T(k) = parent.timestamp + block_time_ms + k x claim_timeout_ms), plus one
 * claim_timeout_ms for the parent to reach the last backup. 10,800 ms at the defaults
 * (2000 + 6 x 1200 + 400 + 1200).
 */
export function stallWindowMs(p: { block_time_ms: number; backup_slots: number; claim_timeout_ms: number; jitter_max_ms: number }): number {
  return p.block_time_ms + (p.backup_slots + 1) * p.claim_timeout_ms + p.jitter_max_ms;
}

/**
 * The rule of a coalition's filter on its members' outgoing frames (withholding here, grinding in
 * sim/grind.ts): whether a frame to node `to` must be dropped because it names one of the `hidden`
 * block hashes anywhere in its text (the block itself, an attestation or status naming it as head,
 * an announcement or a sync response carrying it). Frames to members, and `hello`/`hello_ack` (a
 * connection must open), always pass; `to` undefined is an unknown node, treated as honest.
 */
export function namesHiddenBlock(hidden: ReadonlyMap<string, unknown>, members: ReadonlySet<number>, to: number | undefined, text: string): boolean {
  if (hidden.size === 0 || (to !== undefined && members.has(to))) return false;
  if (text.startsWith('{"type":"hello')) return false;
  for (const hash of hidden.keys()) if (text.includes(hash)) return true;
  return false;
}

interface Withheld {
  /** the coalition member that produced it */
  node: number;
  parent: string;
}

/** What the coalition does with a block it releases: send it to honest peers (the driver's job). */
export type ReleaseFn = (hash: string) => void;

/**
 * The withholding coalition's state: which blocks it holds back, the filter on its members'
 * outgoing frames, and the release rule. A frame from a member to a node outside the coalition is
 * dropped while it names a withheld block anywhere in its text (the block itself, an attestation or
 * a status naming it as head, an announcement or a sync response carrying it); `hello` and
 * `hello_ack` always pass (a connection must open). So an honest node sees nothing of a withheld
 * block until it is released.
 */
export class Withholding {
  private readonly withheld = new Map<string, Withheld>();
  private readonly memberSet: ReadonlySet<number>;
  /** blocks released so far, in release order */
  readonly released: string[] = [];
  /** frames dropped by the filter */
  dropped = 0;

  /**
   * @param members coalition node indices
   * @param releaseMs virtual ms after its production at which a block still withheld is released
   * @param release called once per released block, oldest first, after it stops being withheld
   * @param chainLength blocks in a withheld chain that release it at once: 2 (default) releases a
   *   block with its first coalition child; more keeps a private branch of that many heights (the
   *   private-branch adversary, `--private-branch F:K`)
   * @throws RangeError for a negative releaseMs or a chainLength that is not an integer >= 1
   */
  constructor(
    members: readonly number[],
    private readonly clock: Clock,
    private readonly releaseMs: number,
    private readonly release: ReleaseFn,
    private readonly chainLength = 2,
  ) {
    if (!(Number.isFinite(releaseMs) && releaseMs >= 0)) throw new RangeError(`withhold release must be >= 0 ms, got ${releaseMs}`);
    if (!(Number.isSafeInteger(chainLength) && chainLength >= 1)) throw new RangeError(`a withheld chain must be an integer >= 1 blocks, got ${chainLength}`);
    this.memberSet = new Set(members);
  }

  isMember(node: number): boolean {
    return this.memberSet.has(node);
  }

  /** Blocks withheld now. */
  get holding(): number {
    return this.withheld.size;
  }

  /**
   * A member produced a block: withhold it, and if it makes a withheld chain of `chainLength` blocks
   * (with the default 2: its parent is withheld, a coalition child), release that chain from its
   * oldest block down to this one; otherwise release it after releaseMs.
   */
  onProduce(node: number, hash: string, parent: string): void {
    if (this.withheld.has(hash)) return;
    this.withheld.set(hash, { node, parent });
    const chain: string[] = [];
    for (let h: string | undefined = hash; h !== undefined && this.withheld.has(h); h = this.withheld.get(h)!.parent) chain.push(h);
    if (chain.length >= this.chainLength) {
      for (const h of chain.reverse()) this.releaseOne(h);
      return;
    }
    this.clock.setTimeout(() => this.releaseOne(hash), this.releaseMs);
  }

  private releaseOne(hash: string): void {
    if (!this.withheld.delete(hash)) return;
    this.released.push(hash);
    this.release(hash);
  }

  /** Whether a member may send `text` to node `to` (undefined: unknown, treated as honest). */
  allows(to: number | undefined, text: string): boolean {
    if (!namesHiddenBlock(this.withheld, this.memberSet, to, text)) return true;
    this.dropped++;
    return false;
  }
}

