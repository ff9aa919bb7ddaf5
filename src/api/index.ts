/**
 * The HTTP API (DESIGN.md section 10): a Hono app over narrow views of the node. Bad parameters get
 * 400 `{error, message}`; unknown routes 404.
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
import { STREAM_PATH } from "./live.ts";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export type { ApiModules } from "./modules.ts";
export { attachLiveStream, type LiveStream } from "./live.ts";

/** Routes served outside the Hono app (WebSocket upgrades on the same server); see `api/live.ts`. */
export const LIVE_ROUTES: readonly string[] = [STREAM_PATH];

/** The live dashboard page (`dashboards/live/index.html`). */
export const DASHBOARD_FILE = fileURLToPath(new URL("../../dashboards/live/index.html", import.meta.url));

/** Builds the API app. */
export function createApi(m: ApiModules): Hono {
  const app = new Hono();
  app.route("/api/mining", miningRoutes(m));
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
  app.route("/api", docsRoutes());
  app.route("/", chainCoreRoutes(m));
  app.get("/dashboard", (c) => c.html(readFileSync(DASHBOARD_FILE, "utf8")));
  app.get("/metrics", async (c) => {
    if (!m.metrics) return c.json({ error: "not_found", message: "metrics are off" }, 404);
    return c.body(await m.metrics.registry.metrics(), 200, { "content-type": m.metrics.registry.contentType });
  });
  app.notFound((c) => c.json({ error: "not_found", message: `no route ${c.req.method} ${c.req.path}` }, 404));
  app.onError(onError);
  return app;
}
