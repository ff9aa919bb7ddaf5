/**
 * The MinerBlock sync protocol served over P2P request/response (docs/protocol.md §9). Replies use
 * its envelope `{ok, data, errors}`; a bad request gets `ok: false` with errors, never a
 * dropped connection.
 */
import { z } from "zod";
import type { Chain } from "../chain/chain.ts";
import { formatZodError, hex32, uint } from "../consensus/wire.ts";
import { SYNC_EPOCH_LENGTH } from "../consensus/params.ts";
import { canonicalBlocks, toMinerBlock, type MinerBlock } from "../chain/minerBlock.ts";
import type { ResEnvelope } from "../p2p/peer.ts";
import { MAX_LINE_BYTES } from "../p2p/framing.ts";
import { serveStateAt } from "./stateAt.ts";

/** Default blocks in one range reply. */
export const DEFAULT_CHUNK = 50;
/** Most blocks one range reply may carry. */
export const MAX_CHUNK = 1000;
/**
 * Most bytes of blocks (serialized MinerBlocks, UTF-8) one block-carrying reply holds: 2 MiB, half
 * the line cap, so a reply always fits one line with its envelope (docs/protocol.md §9.6). A
 * reply always carries at least one block, whatever its size.
 */
export const MAX_REPLY_BYTES = 2 * 1024 * 1024;

/** Canonical blocks `from..to` (inclusive, stopping at the head), cut after `maxBytes` of them. */
export interface CappedRange {
  blocks: MinerBlock[];
  /** bytes of the blocks as serialized */
  bytes: number;
  /** true when the byte cap, not `to` or the head, ended the range */
  cut: boolean;
}

/**
 * Reads canonical blocks `from..to` until the head or until the next block would take the total
 * past `maxBytes` (the first block is always taken).
 * @param maxBytes cap on the serialized blocks, bytes (UTF-8 of their JSON)
 */
export async function cappedCanonicalRange(chain: Chain, from: number, to: number, maxBytes = MAX_REPLY_BYTES): Promise<CappedRange> {
  const blocks: MinerBlock[] = [];
  let bytes = 0;
  for await (const mb of canonicalBlocks(chain, from, to)) {
    const size = Buffer.byteLength(JSON.stringify(mb));
    if (blocks.length > 0 && bytes + size > maxBytes) return { blocks, bytes, cut: true };
    blocks.push(mb);
    bytes += size;
  }
  return { blocks, bytes, cut: false };
}

// A reply too big for one line cannot be sent (with the byte cap below the line cap, only a lone
// block can be): say so instead of a reply the peer drops.
function tooBig(r: CappedRange): ResEnvelope | undefined {
  if (r.bytes < MAX_LINE_BYTES - 64 * 1024) return undefined;
  const what = r.blocks.length === 1 ? "block" : `${r.blocks.length} blocks from`;
  return { ok: false, data: null, errors: [`${what} height ${r.blocks[0]!.header.height}: ${r.bytes} bytes, more than one P2P line carries`] };
}

const rangeReq = z
  .object({ from_index: uint, to_index: uint, max_chunk_size: z.number().int().min(1).max(MAX_CHUNK).optional() })
  .refine((r) => r.to_index >= r.from_index, "to_index must be >= from_index");
const epochReq = z.object({ epoch: uint });
const getReq = z.object({ hash: hex32 });
const canonicalReq = z.object({ from_index: uint.optional(), limit: z.number().int().min(1).max(MAX_CHUNK).optional() }).nullish();
const ancestorReq = z.object({ hashes: z.array(hex32).min(1).max(256) });

// A node started from a checkpoint holds no block between genesis and its window (docs/protocol.md
// §9.7): a range reaching into that gap gets an error, not a short reply.
function prunedBelow(chain: Chain, from: number): ResEnvelope | undefined {
  const base = chain.base;
  if (!base || from >= base.window_from) return undefined;
  return { ok: false, data: null, errors: [`pruned below checkpoint ${base.checkpoint.height}: blocks below height ${base.window_from} are not held`] };
}

/** Serves one sync request. */
export async function handleSyncRequest(chain: Chain, path: string, data: unknown): Promise<ResEnvelope> {
  const bad = (e: z.ZodError): ResEnvelope => ({ ok: false, data: null, errors: [formatZodError(e)] });
  switch (path) {
    case "/data/state_at":
      return serveStateAt(chain, data);
    case "/data/miner_block/range": {
      const r = rangeReq.safeParse(data);
      if (!r.success) return bad(r.error);
      const gap = prunedBelow(chain, r.data.from_index);
      if (gap) return gap;
      const chunk = r.data.max_chunk_size ?? DEFAULT_CHUNK;
      const range = await cappedCanonicalRange(chain, r.data.from_index, Math.min(r.data.to_index, r.data.from_index + chunk - 1));
      const { blocks } = range;
      const to = range.cut ? r.data.from_index + blocks.length - 1 : Math.min(r.data.to_index, r.data.from_index + chunk - 1);
      const has_more = to < Math.min(r.data.to_index, chain.head.height);
      return tooBig(range) ?? { ok: true, data: { from_index: r.data.from_index, to_index: to, blocks, count: blocks.length, has_more }, errors: null };
    }
    case "/data/miner_block/epoch": {
      const r = epochReq.safeParse(data);
      if (!r.success) return bad(r.error);
      const from = r.data.epoch * SYNC_EPOCH_LENGTH;
      const gap = prunedBelow(chain, from);
      if (gap) return gap;
      const range = await cappedCanonicalRange(chain, from, from + SYNC_EPOCH_LENGTH - 1);
      const { blocks } = range;
      return tooBig(range) ?? { ok: true, data: { epoch: r.data.epoch, blocks, count: blocks.length, has_more: range.cut }, errors: null };
    }
    case "/data/miner_block/canonical": {
      const r = canonicalReq.safeParse(data);
      if (!r.success) return bad(r.error);
      const from = r.data?.from_index ?? 0;
      const gap = prunedBelow(chain, from);
      if (gap) return gap;
      const limit = r.data?.limit ?? DEFAULT_CHUNK;
      const range = await cappedCanonicalRange(chain, from, from + limit - 1);
      const { blocks } = range;
      return tooBig(range) ?? { ok: true, data: { blocks, count: blocks.length, has_more: range.cut || from + limit - 1 < chain.head.height }, errors: null };
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
