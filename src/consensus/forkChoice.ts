/**
 * Fork choice (docs/protocol.md §7, consensus): greatest total weight, then the lower height, then
 * the lower tip block_hash. Never first-seen, so every node converges whatever the arrival order.
 */
import { workOf } from "./hashing.ts";

/** A candidate tip: its cumulative weight from genesis, height and block_hash. */
export interface ForkChoiceTip {
  totalWeight: bigint;
  height: number;
  hash: string;
}

/** Consensus kinds of a chain spec. */
export type ConsensusKind = "proof-of-sync" | "pow";

/**
 * Weight of one block: slot 0 = 2, a backup slot or a PoW fallback = 1; on `pow` chains, its work
 * (16^difficulty). Genesis weighs 0.
 */
export function blockWeight(slot: number | null, difficulty: number, height: number, consensus: ConsensusKind): bigint {
  if (height === 0) return 0n;
  if (consensus === "pow") return workOf(difficulty);
  return slot === 0 ? 2n : 1n;
}

/** Negative when `a` is the better tip, positive when `b` is, 0 when they are the same block. */
export function compareTips(a: ForkChoiceTip, b: ForkChoiceTip): number {
  if (a.totalWeight !== b.totalWeight) return a.totalWeight > b.totalWeight ? -1 : 1;
  if (a.height !== b.height) return a.height < b.height ? -1 : 1;
  if (a.hash === b.hash) return 0;
  return a.hash < b.hash ? -1 : 1;
}

/**
 * Whether a block at `height` on a Proof-of-Sync chain can no longer lose its height to a sibling
 * by fork choice alone: the attester's rule for a new FFG target (docs/protocol.md §5, node policy).
 * A sibling weighs at most 2 by itself (slot 0), and on equal weight the lower height wins, so the
 * branch from the block up to the head must weigh more than 2: the block is slot 0 (a second slot-0
 * block at that height is its own producer's equivocation, slashable), or it has descendants that
 * bring its branch to at least 3 (a backup's block with a slot-0 child, or two more backups'). A
 * block that a late primary can still displace is not voted for yet: a vote for it would be spent
 * (one vote per target height, §6.6) and its interval lost to finality. At the interval's last head
 * (`headHeight = checkpoint height + interval - 1`) it votes whatever the weight: no later head of
 * the interval could (with a short interval, every head is the last).
 * @param cp the checkpoint block's slot (null for a fallback block) and height
 * @param branchWeight total weight of the head minus that of the checkpoint block's parent
 * @param interval `checkpoint_interval` (blocks)
 */
export function checkpointVoteReady(cp: { slot: number | null; height: number }, branchWeight: bigint, headHeight: number, interval: number): boolean {
  return cp.slot === 0 || branchWeight > 2n || headHeight >= cp.height + interval - 1;
}
