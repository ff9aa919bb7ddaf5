/** `GET /api/peers`: connected peers and what they report. */
import { Hono } from "hono";
import type { ApiModules } from "../modules.ts";

/** Peer route, mounted at /api/peers. */
export function peerRoutes(m: ApiModules): Hono {
  const app = new Hono();
  app.get("/", (c) =>
    c.json({
      peers: m.p2p.readyPeers().map((p) => ({
        ebid: p.ebid,
        direction: p.direction,
        address: p.listenUrl ?? null,
        remote_address: p.remoteAddress,
        height: p.height,
        tip_hash: p.tipHash,
        connected_at: p.readyAt ?? p.connectedAt,
        strikes: p.strikes,
      })),
    }),
  );
  return app;
}
