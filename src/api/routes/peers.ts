/** `GET /api/peers`: connected peers and what they report. */
import { Hono } from "hono";
import type { ApiModules } from "../modules.ts";
import { pageOf, pageQuery } from "../page.ts";

/**
 * Peer route, mounted at /api/peers: peers in the order they connected, paginated by
 * position (`limit` 1..1000, default 100; see `api/page.ts`).
 */
export function peerRoutes(m: ApiModules): Hono {
  const app = new Hono();
  app.get("/", (c) => {
    const q = pageQuery(c, { defaultLimit: 100, maxLimit: 1000 });
    const { items, ...page } = pageOf(
      m.p2p.readyPeers().map((p) => ({
        ebid: p.ebid,
        direction: p.direction,
        agent: p.hello?.agent ?? null,
        address: p.listenUrl ?? null,
        remote_address: p.remoteAddress,
        // what the peer claims, and what it has shown (docs/protocol.md §6.1)
        height: p.height,
        backed_height: p.backedHeight,
        claims_ignored: p.claimsIgnored,
        tip_hash: p.tipHash,
        connected_at: p.readyAt ?? p.connectedAt,
        strikes: p.strikes,
      })),
      q,
    );
    return c.json({ peers: items, ...page });
  });
  return app;
}
