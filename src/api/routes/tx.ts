/**
 * Transactions: `POST /api/tx` (200 with the hash, or 400 naming the reason), `GET /api/tx/:hash`
 * (`pending`; `included` at a height of the canonical chain above the finalized checkpoint, where a
 * reorg may still drop it; `finalized` at or below it, never reverted: `api/finality.ts`; 404 when
 * the node knows neither) and `GET /api/mempool`.
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { ApiModules } from "../modules.ts";
import { badRequest, notFound } from "../errors.ts";
import { pageOf, pageQuery } from "../page.ts";
import { txSchema } from "../../consensus/wire.ts";
import { jsonBody } from "../body.ts";
import { finalityView } from "../finality.ts";
import { TxError } from "../../chain/tx.ts";
import type { Tx } from "../../consensus/types.ts";

/** Largest request body accepted for a transaction (bytes). */
export const MAX_TX_BODY = 16 * 1024;

/** `POST /api/tx` and `GET /api/tx/:hash`, mounted at /api/tx. */
export function txRoutes(m: ApiModules): Hono {
  const app = new Hono();
  app.post(
    "/",
    bodyLimit({ maxSize: MAX_TX_BODY, onError: () => { throw badRequest(`body over ${MAX_TX_BODY} bytes`); } }),
    async (c) => {
      const tx = await jsonBody(c, txSchema, "transaction");
      try {
        const out = await m.submitTx(tx as Tx);
        return c.json({ hash: out.hash, status: out.status, ...(out.replaced ? { replaced: out.replaced } : {}) });
      } catch (e) {
        if (e instanceof TxError) return c.json({ error: e.code.toLowerCase(), message: e.message }, 400);
        throw e;
      }
    },
  );
  app.get("/:hash", async (c) => {
    const hash = c.req.param("hash");
    if (!/^[0-9a-f]{64}$/.test(hash)) throw badRequest("hash must be 64 lowercase hex chars");
    const pending = m.mempool.get(hash);
    if (pending) return c.json({ hash, status: "pending", tx: pending });
    // Read before the lookup: a later finalized checkpoint descends from this one, so a block canonical
    // at or below its height when found is on its branch (docs/protocol.md §7).
    const finalized = finalityView(m.chain).finalized;
    const found = await m.chain.findTx(hash);
    if (found) return c.json({ hash, status: found.height <= finalized.height ? "finalized" : "included", ...found });
    throw notFound(`no transaction ${hash}: neither pending nor in the canonical chain`);
  });
  return app;
}

/**
 * `GET /api/mempool?from=&limit=`: the pool's size and a page of pending transactions, by sender
 * then nonce, paginated by position (`limit` 1..1000, default 100; see `api/page.ts`).
 */
export function mempoolRoutes(m: ApiModules): Hono {
  const app = new Hono();
  app.get("/", (c) => {
    const q = pageQuery(c, { defaultLimit: 100, maxLimit: 1000 });
    const { items, ...page } = pageOf(m.mempool.list(q.from + q.limit + 1), q);
    return c.json({ size: m.mempool.size, txs: items, ...page });
  });
  return app;
}
