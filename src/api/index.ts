/**
 * The HTTP API (docs/protocol.md §10, every route in `api/openapi.yaml`): a Hono app over narrow
 * views of the node. Bad parameters get 400 `{error, message}`; unknown things 404.
 */
import { Hono } from "hono";
import type { ApiModules } from "./modules.ts";
import { onError } from "./errors.ts";
import { miningRoutes } from "./routes/mining.ts";
import { chainRoutes } from "./routes/chain.ts";
import { blockRoutes } from "./routes/blocks.ts";
import { peerRoutes } from "./routes/peers.ts";
import { healthRoutes } from "./routes/health.ts";
import { evidenceRoutes } from "./routes/evidence.ts";
import { statusRoutes } from "./routes/status.ts";
import { accountRoutes, rewardRoutes } from "./routes/accounts.ts";
import { mempoolRoutes, txRoutes } from "./routes/tx.ts";
import { chainCoreRoutes } from "./routes/chaincore.ts";
import { docsRoutes } from "./routes/docs.ts";
import { validatorRoutes } from "./routes/validators.ts";
import { STREAM_PATH, liveView, recentHistory } from "./live.ts";
import { strictQuery } from "./query.ts";
import { apiCors } from "./cors.ts";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export type { ApiModules } from "./modules.ts";
export { attachLiveStream, type LiveStream } from "./live.ts";
export { validatorActivity, type ValidatorActivity } from "./validators.ts";
export { withFastPath, FAST_PATHS, type RequestListener } from "./fastPath.ts";
export { finalityView, type CheckpointJson } from "./finality.ts";

/** How the API app behaves, beyond what it reads. */
export interface ApiOptions {
  /** origins allowed to read the API from a browser (`--api-cors`; `*` for any); none by default */
  cors?: readonly string[];
}

/** Routes served outside the Hono app (WebSocket upgrades on the same server); see `api/live.ts`. */
export const LIVE_ROUTES: readonly string[] = [STREAM_PATH];

/** The live dashboard page (`dashboards/live/index.html`). */
export const DASHBOARD_FILE = fileURLToPath(new URL("../../dashboards/live/index.html", import.meta.url));

/** Builds the API app. */
export function createApi(m: ApiModules, opts: ApiOptions = {}): Hono {
  const app = new Hono();
  if (opts.cors?.length) app.use("*", apiCors(opts.cors));
  app.use("*", strictQuery(() => app.routes));
  app.route("/api/mining", miningRoutes(m));
  // The stream's path without an upgrade: one view, for curl and scripts.
  app.get(STREAM_PATH, async (c) => c.json(await liveView(m, await recentHistory(m))));
  app.route("/api/chain", chainRoutes(m));
  app.route("/api/blocks", blockRoutes(m));
  app.route("/api/peers", peerRoutes(m));
  app.route("/api/health", healthRoutes(m));
  app.route("/api/evidence", evidenceRoutes(m));
  app.route("/api/status", statusRoutes(m));
  app.route("/api/accounts", accountRoutes(m));
  app.route("/api/rewards", rewardRoutes(m));
  app.route("/api/tx", txRoutes(m));
  app.route("/api/mempool", mempoolRoutes(m));
  app.route("/api/validators", validatorRoutes(m));
  app.route("/api", docsRoutes());
  app.route("/", chainCoreRoutes(m));
  app.get("/dashboard", (c) => c.html(readFileSync(DASHBOARD_FILE, "utf8")));
  // At most 2 s old (metrics/exposition.ts); answered without waiting when a recent render exists.
  app.get("/metrics", (c): Response | Promise<Response> => {
    if (!m.metrics) return c.json({ error: "not_found", message: "metrics are off" }, 404);
    const headers = { "content-type": m.metrics.registry.contentType };
    const text = m.metrics.exposition.get();
    return typeof text === "string" ? c.body(text, 200, headers) : text.then((t) => c.body(t, 200, headers));
  });
  app.notFound((c) => c.json({ error: "not_found", message: `no route ${c.req.method} ${c.req.path}` }, 404));
  app.onError(onError);
  return app;
}
