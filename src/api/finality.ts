/**
 * The checkpoints every API surface reports (docs/protocol.md §5a, §7): `/api/chain/head`,
 * `/api/status`, the live stream's views, `GET /api/blocks/finalized`, the transaction status
 * `finalized`, and (through the same getters) the metrics and `vision-node status`.
 *
 * - `finalized`: the chain's finalized checkpoint (§7, `Chain.finalizedCheckpoint`), the greatest
 *   `finalized` over every stored block. Fork choice refuses any block conflicting with it, so
 *   nothing at or below it is ever reverted; the head always descends from it. It can be above the
 *   head branch's own `finalized` (`Chain.finalized`) while the votes that finalized it are on
 *   another branch.
 * - `justified`: the chain's justified checkpoint (§7, `Chain.justifiedCheckpoint`), the greatest
 *   `justified` over the stored blocks descending from `finalized`; fork choice takes the head from
 *   the blocks under it, so it is on the head's branch and never below `finalized`. The head
 *   branch's own (`Chain.justified`, the source of this node's next votes) can lag it after a fork
 *   whose other branch carried the votes.
 */
import type { Chain } from "../chain/chain.ts";

/** A checkpoint in JSON (docs/protocol.md §5a). */
export interface CheckpointJson {
  height: number;
  /** 64 lowercase hex */
  hash: string;
}

/** `{finalized, justified}` as every surface reports them (copies: the chain's objects stay its own). */
export function finalityView(chain: Pick<Chain, "finalizedCheckpoint" | "justifiedCheckpoint">): { finalized: CheckpointJson; justified: CheckpointJson } {
  const f = chain.finalizedCheckpoint;
  const j = chain.justifiedCheckpoint;
  return { finalized: { height: f.height, hash: f.hash }, justified: { height: j.height, hash: j.hash } };
}
