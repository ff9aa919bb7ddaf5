/**
 * The routes monitors poll hardest, `GET /api/mining/status` and `GET /metrics`, answered straight
 * from `node:http` when their body is already built, skipping the Hono app's per-request work
 * (a Request and a Context, routing, the middleware chain): at 50 connections that work cost more
 * CPU than building the answer. The answer is the same bytes and headers the Hono routes send.
 *
 * Everything else goes to the app: other methods and paths, any query string (the app refuses
 * unknown parameters), a body not built yet (the app builds it, and answers errors its one way),
 * and every request when CORS is on (the app's cors middleware adds its headers).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ApiModules } from "./modules.ts";
import { miningStatusBody } from "./routes/mining.ts";

/** A `node:http` request listener. */
export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/** Paths the fast path serves. */
export const FAST_PATHS: readonly string[] = ["/api/mining/status", "/metrics"];

/**
 * Wraps the app's listener with the fast path.
 * @param m what the routes read
 * @param opts.cors the app's CORS origins: when any, the fast path is off
 * @param next the Hono app's listener
 */
export function withFastPath(m: ApiModules, opts: { cors?: readonly string[] }, next: RequestListener): RequestListener {
  if (opts.cors?.length) return next;
  const bodyFor = (url: string | undefined): { body: string; type: string } | undefined => {
    if (url === "/api/mining/status") {
      const body = miningStatusBody(m);
      return typeof body === "string" ? { body, type: "application/json" } : undefined;
    }
    if (url === "/metrics" && m.metrics) {
      const body = m.metrics.exposition.get();
      return typeof body === "string" ? { body, type: m.metrics.registry.contentType } : undefined;
    }
    return undefined;
  };
  return (req, res) => {
    const fast = req.method === "GET" ? bodyFor(req.url) : undefined;
    if (!fast) return next(req, res);
    res.writeHead(200, { "content-type": fast.type, "content-length": Buffer.byteLength(fast.body) });
    res.end(fast.body);
  };
}
