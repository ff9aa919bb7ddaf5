/**
 * The MinerBlock sync protocol served over P2P request/response (docs/protocol.md §9). Replies use
 * its envelope `{ok, data, errors}`; a bad request gets `ok: false` with errors, never a
 * dropped connection.
 */
import { z } from "zod";
import type { Chain } from "../chain/chain.ts";
import { formatZodError, hex32, uint } from "../consensus/wire.ts";
import { EPOCH_LENGTH } from "../consensus/params.ts";
import { canonicalRange, toMinerBlock } from "../chain/minerBlock.ts";
import type { ResEnvelope } from "../p2p/peer.ts";

/** Default blocks in one range reply. */
export const DEFAULT_CHUNK = 50;
/** Most blocks one range reply may carry. */
export const MAX_CHUNK = 1000;

const rangeReq = z
  .object({ from_index: uint, to_index: uint, max_chunk_size: z.number().int().min(1).max(MAX_CHUNK).optional() })
  .refine((r) => r.to_index >= r.from_index, "to_index must be >= from_index");
const epochReq = z.object({ epoch: uint });
const getReq = z.object({ hash: hex32 });
const canonicalReq = z.object({ from_index: uint.optional(), limit: z.number().int().min(1).max(MAX_CHUNK).optional() }).nullish();
const ancestorReq = z.object({ hashes: z.array(hex32).min(1).max(256) });

/** Serves one sync request. */
export async function handleSyncRequest(chain: Chain, path: string, data: unknown): Promise<ResEnvelope> {
  const bad = (e: z.ZodError): ResEnvelope => ({ ok: false, data: null, errors: [formatZodError(e)] });
  switch (path) {
    case "/data/miner_block/range": {
      const r = rangeReq.safeParse(data);
      if (!r.success) return bad(r.error);
      const chunk = r.data.max_chunk_size ?? DEFAULT_CHUNK;
      const to = Math.min(r.data.to_index, r.data.from_index + chunk - 1);
      const blocks = await canonicalRange(chain, r.data.from_index, to);
      const has_more = to < Math.min(r.data.to_index, chain.head.height);
      return { ok: true, data: { from_index: r.data.from_index, to_index: to, blocks, count: blocks.length, has_more }, errors: null };
    }
    case "/data/miner_block/epoch": {
      const r = epochReq.safeParse(data);
      if (!r.success) return bad(r.error);
      const from = r.data.epoch * EPOCH_LENGTH;
      const blocks = await canonicalRange(chain, from, from + EPOCH_LENGTH - 1);
      return { ok: true, data: { epoch: r.data.epoch, blocks, count: blocks.length }, errors: null };
    }
    case "/data/miner_block/canonical": {
      const r = canonicalReq.safeParse(data);
      if (!r.success) return bad(r.error);
      const from = r.data?.from_index ?? 0;
      const limit = r.data?.limit ?? DEFAULT_CHUNK;
      const blocks = await canonicalRange(chain, from, from + limit - 1);
      return { ok: true, data: { blocks, count: blocks.length, has_more: from + limit - 1 < chain.head.height }, errors: null };
    }
    case "/data/miner_block/get": {
      const r = getReq.safeParse(data);
      if (!r.success) return bad(r.error);
      const meta = await chain.getMeta(r.data.hash);
      const block = meta && (await chain.getBlock(r.data.hash));
      if (!meta || !block) return { ok: false, data: null, errors: ["unknown block hash"] };
      return { ok: true, data: toMinerBlock(block, meta), errors: null };
    }
    case "/data/chain_info": {
      const h = chain.head;
      return {
        ok: true,
        data: { chain_id: chain.spec.chain_id, genesis_hash: chain.genesis.hash, height: h.height, tip_hash: h.hash, total_weight: h.total_weight },
        errors: null,
      };
    }
    case "/data/find_ancestor": {
      // The first of the given hashes (newest first) that is canonical here.
      const r = ancestorReq.safeParse(data);
      if (!r.success) return bad(r.error);
      for (const hash of r.data.hashes) {
        const meta = await chain.getMeta(hash);
        if (meta?.is_canonical) return { ok: true, data: { hash, height: meta.height }, errors: null };
      }
      return { ok: true, data: null, errors: null };
    }
    default:
      return { ok: false, data: null, errors: [`unknown path`] };
  }
}
