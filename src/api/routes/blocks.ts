/**
 * `GET /api/blocks/:height_or_hash` and `GET /api/blocks?from=&limit=` (docs/protocol.md §10): blocks
 * in wire form plus the MinerBlock status fields, and `GET /api/blocks/forks` (blocks that lost fork
 * choice). Both lists go by height, oldest first; `from` is a height (see `api/page.ts`).
 * `GET /api/blocks/finalized`: the block of the chain's finalized checkpoint (`api/finality.ts`), in
 * the same form as one block by height or hash.
 */
import { Hono, type Context } from "hono";
import type { ApiModules } from "../modules.ts";
import { badRequest, notFound } from "../errors.ts";
import { canonicalRange, toMinerBlock } from "../../chain/minerBlock.ts";
import { pageQuery, uintParam, type PageOptions, type PageQuery } from "../page.ts";
import { finalityView } from "../finality.ts";

/** Most blocks one `/api/blocks` page returns. */
export const MAX_API_RANGE = 100;
/** Most heights one `/api/blocks/forks` page scans. */
export const MAX_FORK_HEIGHTS = 1000;

/**
 * `from` and `limit`, or `from` and `to` (the last height, inclusive), an alias kept for callers
 * written before `limit`. @throws HTTPException 400 naming the bad parameter
 */
function heightPage(c: Context, o: PageOptions): PageQuery {
  const to = uintParam(c, "to");
  if (to === undefined) return pageQuery(c, o);
  if (c.req.query("limit") !== undefined) throw badRequest("give limit or to, not both");
  const from = uintParam(c, "from") ?? 0;
  if (to < from) throw badRequest("to must be >= from");
  if (to - from + 1 > o.maxLimit) throw badRequest(`at most ${o.maxLimit} heights per request`);
  return { from, limit: to - from + 1 };
}

/** Block routes, mounted at /api/blocks. 400 for malformed ids or pages, 404 for unknown blocks. */
export function blockRoutes(m: ApiModules): Hono {
  const app = new Hono();
  app.get("/", async (c) => {
    const { from, limit } = heightPage(c, { defaultLimit: MAX_API_RANGE, maxLimit: MAX_API_RANGE });
    const blocks = await canonicalRange(m.chain, from, from + limit - 1);
    // The next height not returned (a read cut short by a reorg resumes where it stopped).
    const next = from + blocks.length;
    return c.json({ blocks, from, limit, next_from: next <= m.chain.head.height ? next : null });
  });
  app.get("/forks", async (c) => {
    const { from, limit } = heightPage(c, { defaultLimit: MAX_FORK_HEIGHTS, maxLimit: MAX_FORK_HEIGHTS });
    const forks = await m.chain.forks(from, from + limit - 1);
    const next = from + limit;
    return c.json({
      forks: forks.map((f) => ({
        height: f.height,
        hash: f.hash,
        producer: f.producer,
        slot: f.slot,
        seen_at: f.seen_at,
        orphaned_at: f.orphaned_at,
        orphan_reason: f.orphan_reason,
        competing_hash: f.competing_hash,
      })),
      from,
      limit,
      next_from: next <= m.chain.head.height ? next : null,
    });
  });
  // The chain's finalized checkpoint's block (api/finality.ts): always stored (genesis at least).
  app.get("/finalized", async (c) => {
    const { hash } = finalityView(m.chain).finalized;
    const meta = await m.chain.getMeta(hash);
    const block = meta ? await m.chain.getBlock(hash) : undefined;
    if (!meta || !block) throw new Error(`the finalized checkpoint's block ${hash} is not stored`);
    return c.json(toMinerBlock(block, meta));
  });
  app.get("/:id", async (c) => {
    const id = c.req.param("id");
    let hash: string | undefined;
    if (/^[0-9]{1,15}$/.test(id)) hash = (await m.chain.getCanonicalMeta(Number(id)))?.hash;
    else if (/^[0-9a-f]{64}$/.test(id)) hash = id;
    else throw badRequest("expected a height (decimal) or a block hash (64 lowercase hex chars)");
    const meta = hash ? await m.chain.getMeta(hash) : undefined;
    const block = meta ? await m.chain.getBlock(meta.hash) : undefined;
    if (!meta || !block) {
      // A node started from a checkpoint holds no block between genesis and its window (docs/protocol.md §9.7).
      const base = m.chain.base;
      if (base && /^[0-9]{1,15}$/.test(id) && Number(id) > 0 && Number(id) < base.window_from) {
        throw notFound(`no block ${id}: pruned below checkpoint ${base.checkpoint.height} (this node started from it and holds blocks from height ${base.window_from})`);
      }
      throw notFound(`no block ${id}`);
    }
    return c.json(toMinerBlock(block, meta));
  });
  return app;
}
