/**
 * `GET /api/mining/status` (the Proof-of-Sync mining spec's status, exactly its fields; docs/protocol.md
 * §10), `GET /api/mining/claims` and `GET /api/mining/jobs` (both newest first, paginated by position:
 * see `api/page.ts`).
 */
import { Hono } from "hono";
import type { ApiModules } from "../modules.ts";
import { statusBodyCache } from "../statusBody.ts";
import { pageOf, pageQuery } from "../page.ts";

/** Claim receipts the node keeps (and most one page returns). */
export const CLAIMS_KEPT = 100;
/** PoW jobs the miner keeps (and most one page returns). */
export const JOBS_KEPT = 200;

/** The mining status response (docs/protocol.md §10), field for field. */
export interface MiningStatus {
  next_height: number;
  current_winner: string | null;
  backups: string[];
  my_node_id: string;
  my_slot: number | null;
  eligible: boolean;
  sync_state: string;
  local_height: number;
  network_height: number;
  lag_blocks: number;
  eligible_pool_size: number;
  ready_peers: number;
  eligible_streak: number;
  recent_claims: [number, { winner_id: string; tip_hash: string; claimed_at: number; slot_idx: number }][];
}

/** Builds the mining status from the chain head's schedule and the latest snapshot. */
export async function miningStatus(m: ApiModules): Promise<MiningStatus> {
  const head = m.chain.head;
  const schedule = await m.chain.scheduleFor(head);
  const snap = m.snapshot.current;
  const slot = schedule.winners.indexOf(m.ebid);
  return {
    next_height: head.height + 1,
    current_winner: schedule.winners[0] ?? null,
    backups: schedule.winners.slice(1),
    my_node_id: m.ebid,
    my_slot: slot === -1 ? null : slot,
    eligible: m.snapshot.eligible,
    sync_state: snap.sync_state,
    local_height: head.height,
    network_height: snap.network_height,
    lag_blocks: snap.lag_blocks,
    eligible_pool_size: schedule.pool.length,
    // peers heard from lately, as eligibility counts them (the connected count is in /api/peers)
    ready_peers: snap.ready_peers,
    eligible_streak: snap.eligible_streak,
    recent_claims: m.claims.recent(10),
  };
}

const statusBodies = new WeakMap<ApiModules, () => string | Promise<string>>();

/**
 * The status as JSON text, serialized once per head, snapshot or claim change (api/statusBody.ts),
 * not per request; one cache per node, shared by the route and the fast path (api/fastPath.ts).
 */
export function miningStatusBody(m: ApiModules): string | Promise<string> {
  let body = statusBodies.get(m);
  if (!body) statusBodies.set(m, (body = statusBodyCache(m, () => miningStatus(m))));
  return body();
}

/** Mining routes, mounted at /api/mining. */
export function miningRoutes(m: ApiModules): Hono {
  const app = new Hono();
  const json = { "content-type": "application/json" };
  app.get("/status", (c): Response | Promise<Response> => {
    const body = miningStatusBody(m);
    return typeof body === "string" ? c.body(body, 200, json) : body.then((b) => c.body(b, 200, json));
  });
  app.get("/claims", (c) => {
    const { items, ...page } = pageOf(m.claims.records(CLAIMS_KEPT), pageQuery(c, { defaultLimit: CLAIMS_KEPT, maxLimit: CLAIMS_KEPT }));
    return c.json({ claims: items, ...page });
  });
  // PoW jobs (the miner races made visible): outcome, abort latency and wasted hashes per job.
  app.get("/jobs", (c) => {
    const q = pageQuery(c, { defaultLimit: JOBS_KEPT, maxLimit: JOBS_KEPT });
    const { items, ...page } = pageOf([...(m.mining.miner?.recentJobs() ?? [])].reverse(), q);
    return c.json({ jobs: items, ...page, stats: m.mining.miner?.stats ?? null });
  });
  return app;
}
