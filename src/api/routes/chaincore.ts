/**
 * The chain-core mining API (docs/protocol.md §10), at the paths its miners use: `POST /mine_block`,
 * `POST /submit_block`, `GET /status`, `GET /status/detailed`, `GET /blockchain`,
 * `GET /transaction_pool`, and the admin calls `POST /difficulty/set` and `POST /config/refresh`,
 * which need `Authorization: Bearer <admin token>` (the config's `admin_token`, else the
 * `<data dir>/admin.token` cookie). Field names are the ones its miners use; blocks and
 * transactions are in the wire form of docs/protocol.md §3.
 */
import { Hono } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { bodyLimit } from "hono/body-limit";
import { z } from "zod";
import type { ApiModules } from "../modules.ts";
import { badRequest } from "../errors.ts";
import { blockSchema, hex32 } from "../../consensus/wire.ts";
import { jsonBody } from "../body.ts";
import { pageQuery } from "../page.ts";
import { BlockError } from "../../chain/errors.ts";
import { txHash, txKind } from "../../chain/tx.ts";
import { sealHash } from "../../consensus/hashing.ts";
import { toHex } from "../../consensus/encoding.ts";
import type { Block } from "../../consensus/types.ts";

/** Largest `/submit_block` body (bytes): a full block of 500 transfers fits several times over. */
export const MAX_BLOCK_BODY = 4 * 1024 * 1024;
/** The chain-core API's `api_version` field. */
export const CHAINCORE_API_VERSION = "2.0";

const mineBlockSchema = z.strictObject({
  miner_address: hex32,
  client_version: z.string().max(64).optional(),
  timestamp: z.number().nonnegative().optional(),
});
const submitSchema = z.strictObject({ block: blockSchema });
const difficultySchema = z.strictObject({
  difficulty: z.number().int().min(0).max(64).nullable(),
  force: z.boolean().optional(),
  reason: z.string().max(200).optional(),
});

/** Routes mounted at the API root. */
export function chainCoreRoutes(m: ApiModules): Hono {
  const app = new Hono();
  const admin = bearerAuth({
    verifyToken: (token) => m.mining.settings.checkToken(token),
    noAuthenticationHeader: { message: { error: "unauthorized", message: "admin call: send Authorization: Bearer <admin token>" } },
    invalidAuthenticationHeader: { message: { error: "unauthorized", message: "malformed Authorization header: expected Bearer <token>" } },
    invalidToken: { message: { error: "unauthorized", message: "wrong admin token" } },
  });
  const limit = bodyLimit({ maxSize: MAX_BLOCK_BODY, onError: () => { throw badRequest(`body over ${MAX_BLOCK_BODY} bytes`); } });

  app.post("/mine_block", limit, async (c) => {
    const req = await jsonBody(c, mineBlockSchema, "template request");
    // The node's own key while the node itself produces with it: an external miner would race it for
    // the same heights, and two blocks of one key at one height are slashable (docs/protocol.md §6.6).
    if (m.mining.producingAs !== undefined && req.miner_address === m.mining.producingAs) {
      return c.json({ error: "own_producer", message: `miner_address ${req.miner_address} is this node's own key and the node produces blocks with it: a second signer of one key would sign two blocks at a height (slashable, docs/protocol.md §6.5). Mine with another key, or start this node with --no-produce` }, 409);
    }
    const { template, plan } = await m.mining.template(req.miner_address);
    const fees = template.txs.reduce((s, t) => s + BigInt(t.fee), 0n);
    return c.json({
      status: "template_created",
      block_template: {
        index: template.header.height,
        previous_hash: template.header.parent_hash,
        header: template.header,
        seal_hash: toHex(sealHash(template.header)),
        txs: template.txs,
        attestations: template.attestations,
        // the node's slashing evidence (docs/protocol.md §6.5): committed by the header's
        // slashings_root and in its roots; none on pow chains
        slashings: template.slashings,
        target_difficulty: plan.difficulty,
        kind: plan.kind,
        valid_from: plan.opensAt,
        reveal_required: plan.mustReveal,
        // block signatures bind the chain (docs/protocol.md §3.3): the miner signs for this genesis
        genesis_hash: m.chain.genesis.hash,
      },
      target_difficulty: plan.difficulty,
      mining_metadata: { transaction_count: template.txs.length, total_fees: fees.toString(), block_reward: m.chain.spec.block_reward },
    });
  });

  app.post("/submit_block", limit, async (c) => {
    const { block } = await jsonBody(c, submitSchema, "block");
    try {
      const out = await m.mining.submit(block as Block);
      switch (out.status) {
        case "accepted":
          return c.json({
            status: "accepted",
            message: out.known ? "Block already in the chain" : "Block accepted and added to blockchain",
            block_index: out.height,
            hash: out.hash,
            confirmation: { chain_length: m.chain.head.height + 1, total_work: out.total_weight },
          });
        case "stale":
          return c.json({ status: "stale", message: `block ${out.height} is valid but not on the best chain: fetch a new template`, block_index: out.height, hash: out.hash, tip: out.tip }, 409);
        case "held":
          return c.json({ status: "held", message: "timestamp is in the future: held until due", due_at: out.due_at }, 202);
        case "need_sync":
          return c.json({ status: "need_sync", message: `parent ${out.parent_hash.slice(0, 12)} unknown: this node is syncing`, sync: { from_index: out.from_index, to_index: out.to_index } }, 409);
      }
    } catch (e) {
      // A full import queue (docs/protocol.md §6.4) is no fault of the block: submit it again.
      if (e instanceof BlockError) return c.json({ error: e.code.toLowerCase(), message: e.message }, e.code === "BUSY" ? 503 : 400);
      throw e;
    }
  });

  app.get("/status", (c) =>
    c.json({
      node_id: m.ebid,
      blockchain_length: m.chain.head.height + 1,
      peers: m.p2p.readyPeers().length,
      thread_safe: true,
      uptime: Math.round((Date.now() - m.startedAt) / 1000),
      api_version: CHAINCORE_API_VERSION,
    }),
  );

  app.get("/status/detailed", async (c) => {
    const head = m.chain.head;
    const pow = m.chain.spec.consensus === "pow";
    const p = m.chain.spec.params;
    const target = pow ? await m.chain.expectedDifficultyFor(head) : p.fallback_difficulty;
    const s = m.mining.settings;
    const rates = m.mining.miner?.rates();
    return c.json({
      node_id: m.ebid,
      blockchain_length: head.height + 1,
      consensus: m.chain.spec.consensus,
      difficulty_status: {
        genesis_difficulty: pow ? p.genesis_difficulty : p.fallback_difficulty,
        config_difficulty: s.configDifficulty || null,
        current_mining_difficulty: Math.max(target, s.minDifficulty),
        target_difficulty: target,
        adjustment_enabled: pow,
        override_active: s.difficultyOverride !== null,
      },
      mining_stats: {
        enabled: m.mining.miner !== undefined,
        workers: m.mining.workers,
        mining_delay_ms: s.delayMs,
        total_hashes: m.mining.totalHashes(),
        total_hash_rate: rates ? Math.round(rates.hash_rate) : 0,
        average_block_time: rates?.average_block_time ?? null,
        ...(m.mining.miner?.stats ?? {}),
      },
      thread_safe: true,
      uptime_seconds: Math.round((Date.now() - m.startedAt) / 1000),
    });
  });

  app.get("/blockchain", async (c) => {
    const head = m.chain.head.height;
    const { from, limit: max } = pageQuery(c, { defaultLimit: 100, maxLimit: 100 });
    const chain: Block[] = [];
    for (let h = from; h <= Math.min(head, from + max - 1); h++) {
      const meta = await m.chain.getCanonicalMeta(h);
      const block = meta && (await m.chain.getBlock(meta.hash));
      if (block) chain.push(block);
    }
    return c.json({ chain, length: head + 1, from, limit: max, next_from: from + max <= head ? from + max : null });
  });

  app.get("/transaction_pool", (c) => {
    const txs = m.mempool.list(1000);
    return c.json({
      pending_transactions: txs.map((tx) => ({ transaction_id: txHash(tx), kind: txKind(tx), ...tx })),
      pool_size: m.mempool.size,
      total_fees: txs.reduce((s, t) => s + BigInt(t.fee), 0n).toString(),
    });
  });

  app.post("/difficulty/set", admin, limit, async (c) => {
    const req = await jsonBody(c, difficultySchema, "difficulty request");
    const s = m.mining.settings;
    const pow = m.chain.spec.consensus === "pow";
    const expected = pow ? await m.chain.expectedDifficultyFor(m.chain.head) : m.chain.spec.params.fallback_difficulty;
    const max = m.chain.spec.params.max_difficulty;
    if (req.difficulty !== null && (req.difficulty < expected || req.difficulty > max)) {
      // docs/protocol.md §8: a node's own difficulty may only raise the expected one.
      throw badRequest(`difficulty ${req.difficulty} outside [${expected} (expected), ${max} (max_difficulty)]: it may only raise the expected difficulty`);
    }
    const old = Math.max(expected, s.minDifficulty);
    s.setOverride(req.difficulty);
    return c.json({
      status: "success",
      message: req.difficulty === null ? "Mining difficulty override cleared" : "Mining difficulty updated",
      old_difficulty: old,
      new_difficulty: Math.max(expected, s.minDifficulty),
      override_active: s.difficultyOverride !== null,
      ...(req.reason ? { reason: req.reason } : {}),
    });
  });

  app.post("/config/refresh", admin, (c) => {
    try {
      const changes = m.mining.refreshConfig();
      return c.json({ status: "success", message: "Configuration reloaded successfully", changes });
    } catch (e) {
      throw badRequest((e as Error).message);
    }
  });
  return app;
}
