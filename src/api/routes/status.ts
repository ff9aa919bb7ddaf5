/**
 * `GET /api/status`: the node at a glance, with `sync_progress` and `validator`: this node's
 * validator record as `GET /api/validators` shows it (`api/validators.ts`), or null when its EBID
 * has no bond record, the `finalized` and `justified` checkpoints (`api/finality.ts`), and
 * `slashing_protection`: `armed` (votes are signed), `until_height` (the head height they arm at while
 * waiting) and `doppelganger` (another running instance of
 * this node's key was seen; votes stay off: docs/protocol.md §6.6), null without a record.
 */
import { Hono } from "hono";
import type { ApiModules } from "../modules.ts";
import { buildInfo } from "../../version.ts";
import { ownValidator } from "../validators.ts";
import { finalityView } from "../finality.ts";

/** Status route, mounted at /api/status. */
export function statusRoutes(m: ApiModules): Hono {
  const app = new Hono();
  app.get("/", async (c) => {
    const validator = await ownValidator(m.chain, m.ebid);
    const head = m.chain.head;
    const snap = m.snapshot.current;
    return c.json({
      ebid: m.ebid,
      ...(m.blsPubkey === undefined ? {} : { bls_pubkey: m.blsPubkey }),
      chain_id: m.chain.spec.chain_id,
      genesis_hash: m.chain.genesis.hash,
      height: head.height,
      tip_hash: head.hash,
      ...finalityView(m.chain),
      network_height: snap.network_height,
      sync_state: snap.sync_state,
      eligible: m.snapshot.eligible,
      peers: m.p2p.readyPeers().length,
      sync_progress: m.syncer.progress,
      version: buildInfo().version,
      commit: buildInfo().commit,
      agent: buildInfo().agent,
      uptime_seconds: Math.round((Date.now() - m.startedAt) / 1000),
      validator,
      slashing_protection: m.protection ? { armed: m.protection.armed, until_height: m.protection.armsAt ?? null, doppelganger: m.protection.doppelganger } : null,
    });
  });
  return app;
}
