/**
 * `GET /api/health`: P2P server health, chain tip, sync, uptime. The status code follows the Beacon
 * API's node health rule: 200 ready at the tip, 206 while syncing (the node answers, its data may be
 * behind), 503 when the P2P server is not listening.
 */
import { Hono } from "hono";
import type { ApiModules } from "../modules.ts";

/** What `/api/health` makes of the node's state: its `status` field and status code. */
export type Health = { status: "ok"; code: 200 } | { status: "syncing"; code: 206 } | { status: "degraded"; code: 503 };

/**
 * Syncing means a range sync is importing blocks (not an attempt waiting on a peer that does not
 * answer, docs/protocol.md §9.6), or the network is more than `max_desync_blocks` ahead (sync state
 * `Behind`, §6.1); a lag within that bound is normal block propagation.
 */
export function healthOf(m: Pick<ApiModules, "p2p" | "syncer" | "snapshot">): Health {
  if (!m.p2p.health().listening) return { status: "degraded", code: 503 };
  if (m.syncer.progress.syncing || m.snapshot.current.sync_state === "Behind") return { status: "syncing", code: 206 };
  return { status: "ok", code: 200 };
}

/** Health route, mounted at /api/health. */
export function healthRoutes(m: ApiModules): Hono {
  const app = new Hono();
  app.get("/", (c) => {
    const health = healthOf(m);
    const head = m.chain.head;
    return c.json(
      {
        status: health.status,
        p2p: m.p2p.health(),
        chain: { height: head.height, tip_hash: head.hash, genesis_hash: m.chain.genesis.hash },
        sync_progress: m.syncer.progress,
        // blocks held from the future, blocks waiting for their parent, attestations waiting for a block
        pending: { ...m.chain.pending, attestations: m.attestations.size },
        eligible: m.snapshot.eligible,
        uptime_seconds: Math.round((Date.now() - m.startedAt) / 1000),
      },
      health.code,
    );
  });
  return app;
}
