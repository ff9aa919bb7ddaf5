/** `GET /api/health`: P2P server health (seed 003's missing check), chain tip, sync, uptime. */
import { Hono } from "hono";
import type { ApiModules } from "../modules.ts";

/** Health route, mounted at /api/health: 200 when the P2P server listens, else 503. */
export function healthRoutes(m: ApiModules): Hono {
  const app = new Hono();
  app.get("/", (c) => {
    const p2p = m.p2p.health();
    const head = m.chain.head;
    const ok = p2p.listening;
    return c.json(
      {
        status: ok ? "ok" : "degraded",
        p2p,
        chain: { height: head.height, tip_hash: head.hash, genesis_hash: m.chain.genesis.hash },
        sync: m.syncer.progress,
        // blocks held from the future, blocks waiting for their parent, attestations waiting for a block
        pending: { ...m.chain.pending, attestations: m.attestations.size },
        eligible: m.snapshot.eligible,
        uptime_s: Math.round((Date.now() - m.startedAt) / 1000),
      },
      ok ? 200 : 503,
    );
  });
  return app;
}
