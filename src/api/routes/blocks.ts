/**
 * `GET /api/blocks/:height_or_hash` and `GET /api/blocks?from=&to=` (DESIGN.md section 10): blocks
 * in wire form plus the seed 002 MinerBlock status fields. At most 100 blocks per range.
 */
import { Hono } from "hono";
import type { ApiModules } from "../modules.ts";
import { badRequest, notFound } from "../errors.ts";
import { canonicalRange, toMinerBlock } from "../../chain/minerBlock.ts";

/** Most blocks one range request returns. */
export const MAX_API_RANGE = 100;

function parseHeight(name: string, v: string | undefined): number {
  if (v === undefined || v === "") throw badRequest(`query parameter ${name} is required`);
  if (!/^[0-9]{1,15}$/.test(v)) throw badRequest(`${name} must be a non-negative integer`);
  return Number(v);
}

/** Block routes, mounted at /api/blocks. 400 for malformed ids or ranges, 404 for unknown blocks. */
export function blockRoutes(m: ApiModules): Hono {
  const app = new Hono();
  app.get("/", async (c) => {
    const from = parseHeight("from", c.req.query("from"));
    const to = parseHeight("to", c.req.query("to"));
    if (to < from) throw badRequest("to must be >= from");
    if (to - from + 1 > MAX_API_RANGE) throw badRequest(`at most ${MAX_API_RANGE} blocks per request`);
    const blocks = await canonicalRange(m.chain, from, to);
    return c.json({ from, to, blocks, count: blocks.length });
  });
  // Blocks that lost fork choice in [from, to] (at most 1000 heights), with their status fields.
  app.get("/forks", async (c) => {
    const from = parseHeight("from", c.req.query("from"));
    const to = parseHeight("to", c.req.query("to"));
    if (to < from) throw badRequest("to must be >= from");
    if (to - from + 1 > 1000) throw badRequest("at most 1000 heights per request");
    const forks = await m.chain.forks(from, to);
    return c.json({
      from,
      to,
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
    });
  });
  app.get("/:id", async (c) => {
    const id = c.req.param("id");
    let hash: string | undefined;
    if (/^[0-9]{1,15}$/.test(id)) hash = (await m.chain.getCanonicalMeta(Number(id)))?.hash;
    else if (/^[0-9a-f]{64}$/.test(id)) hash = id;
    else throw badRequest("expected a height (decimal) or a block hash (64 lowercase hex chars)");
    const meta = hash ? await m.chain.getMeta(hash) : undefined;
    const block = meta ? await m.chain.getBlock(meta.hash) : undefined;
    if (!meta || !block) throw notFound(`no block ${id}`);
    return c.json(toMinerBlock(block, meta));
  });
  return app;
}
