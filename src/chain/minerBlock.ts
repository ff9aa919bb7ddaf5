/**
 * Blocks as the MinerBlock sync protocol's MinerBlock (docs/protocol.md §9.6): the wire form plus
 * status fields, as served over P2P sync and the HTTP API.
 */
import type { Block } from "../consensus/types.ts";
import { syncEpochOf } from "../consensus/params.ts";
import type { BlockMeta } from "../storage/records.ts";
import type { Chain } from "./chain.ts";

/** A block with the MinerBlock status fields. */
export type MinerBlock = Block & { epoch: number } & Pick<
    BlockMeta,
    "is_canonical" | "is_orphaned" | "seen_at" | "orphaned_at" | "orphan_reason" | "competing_hash"
  >;

/** Wire block plus its status fields. */
export function toMinerBlock(block: Block, meta: BlockMeta): MinerBlock {
  return {
    ...block,
    epoch: syncEpochOf(block.header.height),
    is_canonical: meta.is_canonical,
    is_orphaned: meta.is_orphaned,
    seen_at: meta.seen_at,
    orphaned_at: meta.orphaned_at,
    orphan_reason: meta.orphan_reason,
    competing_hash: meta.competing_hash,
  };
}

/** Canonical blocks in [from, to] (inclusive, stopping at the head), as MinerBlocks, one at a time. */
export async function* canonicalBlocks(chain: Chain, from: number, to: number): AsyncGenerator<MinerBlock> {
  for (let h = from; h <= Math.min(to, chain.head.height); h++) {
    const meta = await chain.getCanonicalMeta(h);
    if (!meta) return;
    const block = await chain.getBlock(meta.hash);
    if (!block) return;
    yield toMinerBlock(block, meta);
  }
}

/** Canonical blocks in [from, to] (inclusive), as MinerBlocks. */
export async function canonicalRange(chain: Chain, from: number, to: number): Promise<MinerBlock[]> {
  const out: MinerBlock[] = [];
  for await (const mb of canonicalBlocks(chain, from, to)) out.push(mb);
  return out;
}
