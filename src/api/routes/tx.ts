/**
 * Transactions (issue 4): `POST /api/tx` (200 with the hash, or 400 naming the reason),
 * `GET /api/tx/:hash` (pending, included at a height, or unknown) and `GET /api/mempool`.
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { ApiModules } from "../modules.ts";
import { badRequest } from "../errors.ts";
import { txSchema } from "../../consensus/wire.ts";
import { jsonBody } from "../body.ts";
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
    const found = await m.chain.findTx(hash);
    if (found) return c.json({ hash, status: "included", ...found });
    return c.json({ hash, status: "unknown" });
  });
  return app;
}

/** `GET /api/mempool?limit=` (1..1000, default 100): size and pending transactions. */
export function mempoolRoutes(m: ApiModules): Hono {
  const app = new Hono();
  app.get("/", (c) => {
    const raw = c.req.query("limit") ?? "100";
    if (!/^[0-9]{1,4}$/.test(raw) || Number(raw) < 1 || Number(raw) > 1000) throw badRequest("limit must be a whole number from 1 to 1000");
    return c.json({ size: m.mempool.size, txs: m.mempool.list(Number(raw)) });
  });
  return app;
}
