/**
 * The grinding adversary of the simulator: a coalition of validators, never a bootnode,
 * whose members try to make a coalition member the next height's primary producer.
 *
 * What a producer controls (docs/protocol.md §4, §5, §6.2): its block's transfers, attestations and
 * timestamp (within `max(now, T(k))` and the validity bounds), and whether it publishes the block at
 * all. The next height's seed is `H(parent.mix || u64le(h) || epoch_salt)` with `mix = H(parent.mix
 * || H(randao_reveal))`, and the reveal is the producer's BLS signature over `{chain_id, height}`:
 * BLS signatures are unique, so one key has one reveal per height. No block content, hash or
 * timestamp enters the seed, and the pool is fixed two epochs ahead. So trying contents or
 * timestamp variants gives one seed for all of them (`Grinding.variants` records that each member's
 * block gave the seed its reveal fixes), and the only grinding left is the last-revealer's choice:
 * the producer knows the seed its block would give, and may withhold the block when that seed does
 * not make a coalition member the next primary, so that a backup's block (and reveal) takes the
 * height instead.
 *
 * `Grinding` plays that: every block a member produces is held back from honest nodes (a filter on
 * the members' outgoing frames, as the withholding coalition's: the node code stays honest) until
 * the simulator has computed the next height's schedule from it (`chain.scheduleFor`, the node's
 * own selection code); it is then published (sent to the member's peers) when the next primary is
 * a member, and withheld for good otherwise, with every descendant a member builds on it. A block
 * withheld for good is lost: its height goes to a backup, and the member's own node leaves its
 * private block when fork choice prefers the honest branch (§7).
 *
 * Bound (the test): the coalition's share of canonical blocks is at most its validator share plus
 * three binomial standard deviations: withholding a block trades a sure block for a fresh draw of
 * the next primary, so RANDAO's last-revealer bias gains nothing in expectation at this depth (the
 * `fair-share` benchmark measures the same with one validator on a real chain).
 */
import type { Rng } from "../util/clock.ts";
import { fractionOf, namesHiddenBlock, pickIndices } from "./adversary.ts";

/**
 * The grinding coalition: `round(fraction x validators)` of the validators 2..validators-1, ascending.
 * @throws RangeError when the fraction is outside [0, 1] or the coalition would need a bootnode
 */
export function grindPlan(rng: Rng, validators: number, fraction: number): number[] {
  const k = fractionOf(fraction, validators, "grind");
  if (k > validators - 2) throw new RangeError(`grind ${fraction} of ${validators} validators would need a bootnode (at most ${validators - 2})`);
  return pickIndices(rng, 2, validators, k);
}

/** What the coalition did, for the report (`attacks.grind`). */
export interface GrindCounters {
  /** member node indices */
  members: number[];
  /** blocks the members produced */
  produced: number;
  /** blocks whose fate was decided from their own seed (the others were descendants of a withheld block, or still pending at the end) */
  decided: number;
  /** published: their seed made a member the next primary */
  published: number;
  /** withheld for good (a member's block whose seed did not suit, or a descendant of one) */
  withheld: number;
  /** of the published and withheld blocks, those whose next primary was a member (the grind's hits) */
  next_primary_member: number;
  /** blocks whose reveal-derived mix the simulator checked against the header's (each: one seed whatever the contents) */
  seeds_checked: number;
  /** frames the filter dropped */
  dropped_frames: number;
}

/** The decision on a member's block: publish it, or withhold it for good. */
export type GrindDecision = "publish" | "withhold";

/**
 * The coalition's state: blocks pending a decision or withheld for good are kept from honest nodes
 * (any outgoing frame naming one, except `hello`/`hello_ack`), as sim/adversary.ts `Withholding`
 * does; `decide` settles a pending block.
 */
export class Grinding {
  private readonly memberSet: ReadonlySet<number>;
  /** block hash -> its parent, for the blocks held back now (pending or withheld for good) */
  private readonly held = new Map<string, string>();
  private readonly pending = new Set<string>();
  private produced = 0;
  private published = 0;
  private withheld = 0;
  private hits = 0;
  private decided = 0;
  private seeds = 0;
  private dropped = 0;

  constructor(readonly members: readonly number[]) {
    this.memberSet = new Set(members);
  }

  isMember(node: number): boolean {
    return this.memberSet.has(node);
  }

  /**
   * A member produced a block (called before its broadcast): it is held back. A block on a parent
   * withheld for good is withheld for good at once and returns false (no decision needed); else it
   * is pending and returns true: call `decide`.
   */
  onProduce(hash: string, parent: string): boolean {
    this.produced++;
    this.held.set(hash, parent);
    if (this.held.has(parent) && !this.pending.has(parent)) {
      this.withheld++;
      return false;
    }
    this.pending.add(hash);
    return true;
  }

  /**
   * Settles a pending block: `nextPrimaryIsMember` is whether the seed its reveal gives makes a
   * member the next height's primary; `seedMatches` whether the header's mix is the one its parent's
   * mix and its reveal give (the seed no content variant changes). Returns the decision (a block no
   * longer pending, or unknown: "withhold", nothing changes).
   */
  decide(hash: string, nextPrimaryIsMember: boolean, seedMatches: boolean): GrindDecision {
    if (!this.pending.delete(hash)) return "withhold";
    this.decided++;
    if (seedMatches) this.seeds++;
    if (nextPrimaryIsMember) {
      this.hits++;
      this.published++;
      this.held.delete(hash);
      return "publish";
    }
    this.withheld++;
    return "withhold";
  }

  /** Whether a member may send `text` to node `to` (undefined: unknown, treated as honest; sim/adversary.ts namesHiddenBlock). */
  allows(to: number | undefined, text: string): boolean {
    if (!namesHiddenBlock(this.held, this.memberSet, to, text)) return true;
    this.dropped++;
    return false;
  }

  counters(): GrindCounters {
    return {
      members: [...this.members],
      produced: this.produced,
      decided: this.decided,
      published: this.published,
      withheld: this.withheld,
      next_primary_member: this.hits,
      seeds_checked: this.seeds,
      dropped_frames: this.dropped,
    };
  }
}
