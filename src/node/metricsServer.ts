/**
 * The metrics listener (`--metrics-host`, `--metrics-port`): `GET /metrics` on a port of its own, so
 * a Prometheus server can scrape a node whose API stays private. It hands `/metrics` to the API's
 * own request handling (the same registry, the same route and its cache); every other request is 404.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";

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

/** A `node:http` request listener: what answers `GET /metrics` (the API's). */
export type MetricsHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** Path served by the listener. */
export const METRICS_PATH = "/metrics";

const NOT_FOUND = JSON.stringify({ error: "not_found", message: `this listener serves GET ${METRICS_PATH} only` });

/**
 * Starts the listener.
 * @throws the bind error (e.g. EADDRINUSE) when the port cannot be taken
 */
export function startMetricsServer(opts: MetricsServerOptions, serveMetrics: MetricsHandler): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    if (req.method === "GET" && (req.url ?? "").split("?")[0] === METRICS_PATH) return serveMetrics(req, res);
    res.writeHead(404, { "content-type": "application/json", "content-length": Buffer.byteLength(NOT_FOUND) }).end(NOT_FOUND);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => {
      server.off("error", reject);
      let closing: Promise<void> | undefined;
      resolve({
        port: (server.address() as { port: number }).port,
        close: () =>
          (closing ??= new Promise<void>((r) => {
            server.close(() => r());
            server.closeAllConnections();
          })),
      });
    });
  });
}
