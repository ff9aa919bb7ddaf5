/** `GET /api/chain/spec` and `GET /api/chain/head` (docs/protocol.md §10), with `finalized` and `justified` (`api/finality.ts`). */
import { Hono } from "hono";
import type { ApiModules } from "../modules.ts";
import { finalityView } from "../finality.ts";

/** Chain routes, mounted at /api/chain. */
export function chainRoutes(m: ApiModules): Hono {
  const app = new Hono();
  app.get("/spec", (c) => c.json({ ...m.chain.spec, genesis_hash: m.chain.genesis.hash }));
  app.get("/head", (c) => {
    const h = m.chain.head;
    return c.json({
      height: h.height,
      hash: h.hash,
      parent_hash: h.parent_hash,
      timestamp: h.timestamp,
      producer: h.producer,
      slot: h.slot,
      total_weight: h.total_weight,
      genesis_hash: m.chain.genesis.hash,
      // the chain's finalized checkpoint (§7) and the chain's justified one (§7): api/finality.ts
      ...finalityView(m.chain),
    });
  });
  return app;
}
