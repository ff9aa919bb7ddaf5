/**
 * The metrics listener (`--metrics-host`, `--metrics-port`): `GET /metrics` on a port of its own, so
 * a Prometheus server can scrape a node whose API stays private. It forwards to the API app's own
 * `/metrics` route (the same registry, the same handler and its cache); every other request is 404.
 */
import type { Server } from "node:http";
import { serve } from "@hono/node-server";

/** Where the metrics listener binds. */
export interface MetricsServerOptions {
  /** bind address (default 127.0.0.1) */
  host: string;
  /** TCP port; 0 picks a free one */
  port: number;
}

/** A running metrics listener. */
export interface MetricsServer {
  /** the bound port */
  port: number;
  /** stops accepting and closes open connections; idempotent */
  close(): Promise<void>;
}

/** What serves `/metrics`: the API app's fetch. */
export type FetchHandler = (req: Request) => Response | Promise<Response>;

/** Path served by the listener. */
export const METRICS_PATH = "/metrics";

/**
 * Starts the listener.
 * @throws the bind error (e.g. EADDRINUSE) when the port cannot be taken
 */
export function startMetricsServer(opts: MetricsServerOptions, apiFetch: FetchHandler): Promise<MetricsServer> {
  const fetch: FetchHandler = (req) => {
    const path = new URL(req.url).pathname;
    if (req.method === "GET" && path === METRICS_PATH) return apiFetch(req);
    return Response.json({ error: "not_found", message: `this listener serves GET ${METRICS_PATH} only` }, { status: 404 });
  };
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, hostname: opts.host, port: opts.port }, (info) => {
      server.off("error", reject);
      let closing: Promise<void> | undefined;
      resolve({
        port: info.port,
        close: () =>
          (closing ??= new Promise<void>((r) => {
            server.close(() => r());
            server.closeAllConnections?.();
          })),
      });
    }) as Server;
    server.once("error", reject);
  });
}
