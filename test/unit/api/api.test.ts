// The HTTP API in-process (app.request) over a real chain on LevelDB; P2P and the snapshot are fakes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createApi, type ApiModules, type ApiOptions } from "../../../src/api/index.ts";
import { Mempool } from "../../../src/chain/mempool.ts";
import { txAddresses } from "../../../src/chain/tx.ts";
import { Domain, sign } from "../../../src/consensus/signatures.ts";
import { ClaimReceipts } from "../../../src/producer/claims.ts";
import { nextSnapshot } from "../../../src/consensus/eligibility.ts";
import { extend, makeKeys, makeSpec, openTestChain } from "../../helpers/fixtures.ts";

const keys = makeKeys(3);
const payer = makeKeys(5)[4]!; // funded, not a producer
const spec = makeSpec(keys, { alloc: { [payer.ebid]: "1000" } });

async function setup(over: Partial<ApiModules> = {}, opts: ApiOptions = {}, height = 4) {
  const c = await openTestChain(spec);
  const blocks = await extend(c.chain, keys, height);
  const claims = new ClaimReceipts();
  claims.record(3, { winner_id: keys[0]!.ebid, tip_hash: blocks[1]!.hash, claimed_at: 123, slot_idx: 0 });
  claims.settle(3, "produced", { block_hash: blocks[2]!.hash });
  const snap = nextSnapshot(height, height, c.chain.head.hash, [height, height], spec.params);
  const mempool = new Mempool();
  const app = createApi({
    mempool,
    submitTx: async (tx) => mempool.admit(tx, spec.chain_id, await c.chain.headState(txAddresses(tx)), c.chain.txRules),
    chain: c.chain,
    p2p: { readyPeers: () => [], health: () => ({ listening: true, port: 1, ready_peers: 0, handshaking: 0, banned: 0, server_error: null, dial_failures: 0 }) },
    snapshot: { current: snap, eligible: true },
    claims,
    syncer: { progress: { syncing: false, peer: null, start_height: 0, target_height: 0, imported: 0, blocks_per_s: 0 } },
    attestations: { size: 2 },
    ebid: keys[0]!.ebid,
    startedAt: Date.now(),
    // The PoW side is exercised through a real node in test/unit/api/chaincore.test.ts.
    mining: {
      template: () => Promise.reject(new Error("not in this test")),
      submit: () => Promise.reject(new Error("not in this test")),
      settings: { configDifficulty: 0, difficultyOverride: null, minDifficulty: 0, delayMs: 0, setOverride: () => undefined, checkToken: () => false },
      refreshConfig: () => ({}),
      workers: 1,
      totalHashes: () => 0,
    },
    ...over,
  }, opts);
  return { c, app, blocks, mempool, claims };
}

test("GET /api/mining/status has exactly the mining status fields with their types", async () => {
  const { c, app } = await setup();
  try {
    const res = await app.request("/api/mining/status");
    assert.equal(res.status, 200);
    const s = await res.json();
    assert.deepEqual(Object.keys(s).sort(), [
      "backups", "current_winner", "eligible", "eligible_pool_size", "eligible_streak", "lag_blocks", "local_height",
      "my_node_id", "my_slot", "network_height", "next_height", "ready_peers", "recent_claims", "sync_state",
    ]);
    const schedule = await c.chain.scheduleFor(c.chain.head);
    assert.equal(s.next_height, 5);
    assert.equal(s.current_winner, schedule.winners[0]);
    assert.deepEqual(s.backups, schedule.winners.slice(1));
    assert.equal(s.my_node_id, keys[0]!.ebid);
    assert.equal(s.my_slot, schedule.winners.indexOf(keys[0]!.ebid));
    assert.equal(s.eligible, true);
    assert.equal(s.sync_state, "AtTip");
    assert.equal(s.local_height, 4);
    assert.equal(s.network_height, 4);
    assert.equal(s.lag_blocks, 0);
    assert.equal(typeof s.eligible_pool_size, "number");
    assert.equal(s.eligible_streak, 5);
    assert.deepEqual(s.recent_claims, [[3, { winner_id: keys[0]!.ebid, tip_hash: s.recent_claims[0][1].tip_hash, claimed_at: 123, slot_idx: 0 }]]);
  } finally {
    await c.destroy();
  }
});

test("blocks by height, by hash and by range carry the MinerBlock status fields", async () => {
  const { c, app, blocks } = await setup();
  try {
    const byHeight = await (await app.request("/api/blocks/2")).json();
    assert.equal(byHeight.hash, blocks[1]!.hash);
    assert.equal(byHeight.is_canonical, true);
    assert.equal(byHeight.is_orphaned, false);
    for (const k of ["seen_at", "orphaned_at", "orphan_reason", "competing_hash"]) assert.ok(k in byHeight, k);
    const byHash = await (await app.request(`/api/blocks/${blocks[3]!.hash}`)).json();
    assert.equal(byHash.header.height, 4);
    const range = await (await app.request("/api/blocks?from=1&to=3")).json();
    assert.deepEqual(range.blocks.map((b: { hash: string }) => b.hash), blocks.slice(0, 3).map((b) => b.hash));
    const head = await (await app.request("/api/chain/head")).json();
    assert.equal(head.hash, blocks[3]!.hash);
    // the head's finality (docs/protocol.md §5a): {height, hash} of its justified and finalized checkpoints
    assert.deepEqual(head.finalized, { height: 0, hash: c.chain.genesis.hash });
    assert.deepEqual(head.justified, c.chain.justified);
    const specRes = await (await app.request("/api/chain/spec")).json();
    assert.equal(specRes.genesis_hash, c.chain.genesis.hash);
    assert.equal(specRes.chain_id, "vision-test");
    const health = await app.request("/api/health");
    assert.equal(health.status, 200);
    assert.deepEqual((await health.json()).pending, { held: 0, parked: 0, attestations: 2 });
    assert.deepEqual(await (await app.request("/api/peers")).json(), { peers: [], from: 0, limit: 100, next_from: null });
    assert.deepEqual(await (await app.request("/api/blocks/forks?from=0&to=4")).json(), { forks: [], from: 0, limit: 5, next_from: null });
    const status = await (await app.request("/api/status")).json();
    assert.equal(status.height, 4);
    assert.equal(status.sync_progress.syncing, false);
    assert.deepEqual(await (await app.request("/api/evidence")).json(), { evidence: [], from: 0, limit: 100, next_from: null });
    assert.equal((await app.request("/api/evidence?limit=0")).status, 400);
    const producer = (await c.chain.getCanonicalMeta(1))!.producer;
    const acct = await (await app.request(`/api/accounts/${producer}`)).json();
    let produced = 0;
    for (let h = 1; h <= 4; h++) if ((await c.chain.getCanonicalMeta(h))!.producer === producer) produced++;
    assert.equal(acct.balance, String(50 * produced), "block_reward 50 per block produced");
    assert.equal(acct.nonce, 0);
    assert.equal(acct.blocks_produced, produced);
    assert.equal(acct.rewards_earned, String(50 * produced));
    const rewards = await (await app.request("/api/rewards")).json();
    assert.equal(rewards.producers.reduce((a: number, p: { blocks_produced: number }) => a + p.blocks_produced, 0), 4);
    assert.equal((await app.request("/api/accounts/xyz")).status, 400);
  } finally {
    await c.destroy();
  }
});

test("bad parameters get 400 with a JSON error; unknown things 404", async () => {
  const { c, app } = await setup();
  try {
    const cases: [string, number][] = [
      ["/api/blocks/xyz", 400],
      ["/api/blocks/-1", 400],
      ["/api/blocks/ABCDEF", 400],
      ["/api/blocks?from=5&to=1", 400],
      ["/api/blocks?from=a&to=2", 400],
      ["/api/blocks?from=0&to=2&limit=3", 400],
      ["/api/blocks?limit=0", 400],
      ["/api/blocks?limit=101", 400],
      ["/api/blocks?from=1e3", 400],
      ["/api/mining/claims?limit=101", 400],
      ["/api/mining/jobs?from=-1", 400],
      ["/api/mempool?limit=1001", 400],
      ["/api/rewards?limit=x", 400],
      ["/api/peers?from=", 400],
      ["/api/blocks?from=0&to=500", 400],
      ["/api/blocks/forks?from=0&to=5000", 400],
      ["/api/blocks/forks?limit=1001", 400],
      ["/api/blocks/999", 404],
      [`/api/blocks/${"ab".repeat(32)}`, 404],
      ["/api/nothing", 404],
    ];
    for (const [path, status] of cases) {
      const res = await app.request(path);
      assert.equal(res.status, status, path);
      const body = await res.json();
      assert.equal(typeof body.error, "string", path);
      assert.equal(typeof body.message, "string", path);
    }
  } finally {
    await c.destroy();
  }
});

test("POST /api/tx: 200 with the hash, or 400 naming the reason; GET /api/tx and /api/mempool", async () => {
  const { c, app } = await setup();
  const post = (body: unknown) => app.request("/api/tx", { method: "POST", body: typeof body === "string" ? body : JSON.stringify(body), headers: { "content-type": "application/json" } });
  const tx = (nonce: number, amount = "10", over: Record<string, unknown> = {}) => {
    const body = { chain_id: spec.chain_id, from: payer.ebid, to: keys[0]!.ebid, amount, fee: "1", nonce, ...over };
    return { ...body, sig: sign(Domain.tx, body, payer.secretKey) };
  };
  try {
    const ok = await post(tx(0));
    assert.equal(ok.status, 200);
    const { hash, status } = await ok.json();
    assert.equal(status, "added");
    assert.deepEqual(await (await app.request(`/api/tx/${hash}`)).json(), { hash, status: "pending", tx: tx(0) });
    const mp = await (await app.request("/api/mempool")).json();
    assert.equal(mp.size, 1);
    const cases: [unknown, string][] = [
      [tx(0, "10", { fee: "1" }), ""], // the same again: known, 200
      [tx(0, "20"), "fee_too_low"], // same nonce, same fee: no replacement
      [{ ...tx(1), sig: tx(2).sig }, "bad_signature"],
      [tx(1, "10", { chain_id: "other-chain" }), "bad_chain_id"],
      [tx(1, "2000"), "insufficient_balance"],
      [tx(1, (2n ** 128n).toString()), "bad_amount"],
      [tx(1, "-5"), "bad_request"],
      [tx(1, "1.5"), "bad_request"],
      [{ ...tx(1), extra: 1 }, "bad_request"],
      ["{not json", "bad_request"],
    ];
    for (const [body, error] of cases) {
      const r = await post(body);
      if (error === "") {
        assert.equal(r.status, 200);
        continue;
      }
      assert.equal(r.status, 400, JSON.stringify(body).slice(0, 80));
      const j = await r.json();
      assert.equal(j.error, error, j.message);
      assert.ok(j.message.length > 0);
    }
    assert.equal((await post("x".repeat(20_000))).status, 400, "oversized body");
    assert.equal((await (await app.request("/api/mempool")).json()).size, 1, "nothing half-applied");
    const unknown = await app.request(`/api/tx/${"ab".repeat(32)}`);
    assert.equal(unknown.status, 404, "an unknown transaction is a 404, like an unknown block");
    const err = await unknown.json();
    assert.equal(err.error, "not_found");
    assert.match(err.message, /no transaction abab/);
    assert.equal((await app.request("/api/tx/zz")).status, 400);
  } finally {
    await c.destroy();
  }
});

test("pagination: next_from walks the whole chain oldest first with no gap or duplicate; claims newest first", async () => {
  const { c, app, claims } = await setup({}, {}, 23);
  try {
    const heights: number[] = [];
    let pages = 0;
    for (let from: number | null = 0; from !== null; pages++) {
      const page: { blocks: { header: { height: number } }[]; from: number; limit: number; next_from: number | null } = await (await app.request(`/api/blocks?from=${from}&limit=5`)).json();
      assert.equal(page.from, from);
      assert.equal(page.limit, 5);
      heights.push(...page.blocks.map((b) => b.header.height));
      from = page.next_from;
    }
    assert.deepEqual(heights, Array.from({ length: 24 }, (_, h) => h), "genesis to the tip, each once");
    assert.equal(pages, 5);
    const alias = await (await app.request("/api/blocks?from=3&to=7")).json();
    const viaLimit = await (await app.request("/api/blocks?from=3&limit=5")).json();
    assert.deepEqual(alias, viaLimit, "to is an alias of from + limit - 1");
    assert.deepEqual(await (await app.request("/api/blocks?from=99")).json(), { blocks: [], from: 99, limit: 100, next_from: null });
    const forks = await (await app.request("/api/blocks/forks?from=0&limit=10")).json();
    assert.equal(forks.next_from, 10);

    for (let h = 5; h <= 20; h++) claims.record(h, { winner_id: keys[0]!.ebid, tip_hash: "00".repeat(32), claimed_at: h, slot_idx: 0 });
    const seen: number[] = [];
    for (let from: number | null = 0; from !== null; ) {
      const page: { claims: { height: number }[]; next_from: number | null } = await (await app.request(`/api/mining/claims?from=${from}&limit=4`)).json();
      seen.push(...page.claims.map((x) => x.height));
      from = page.next_from;
    }
    assert.deepEqual(seen, [...Array.from({ length: 16 }, (_, i) => 20 - i), 3], "claims newest first: 20..5, then the one at 3");
    const jobs = await (await app.request("/api/mining/jobs")).json();
    assert.deepEqual(jobs, { jobs: [], from: 0, limit: 200, next_from: null, stats: null });
    const rewards = await (await app.request("/api/rewards?limit=1")).json();
    assert.equal(rewards.producers.length, 1);
    assert.equal(rewards.next_from, 1);
  } finally {
    await c.destroy();
  }
});

test("pagination: the mempool by sender then nonce, page by page", async () => {
  const { c, app } = await setup();
  try {
    for (let n = 0; n < 7; n++) {
      const body = { chain_id: spec.chain_id, from: payer.ebid, to: keys[0]!.ebid, amount: "10", fee: "1", nonce: n };
      const r = await app.request("/api/tx", { method: "POST", body: JSON.stringify({ ...body, sig: sign(Domain.tx, body, payer.secretKey) }), headers: { "content-type": "application/json" } });
      assert.equal(r.status, 200);
    }
    const nonces: number[] = [];
    for (let from: number | null = 0; from !== null; ) {
      const page: { size: number; txs: { nonce: number }[]; next_from: number | null } = await (await app.request(`/api/mempool?from=${from}&limit=3`)).json();
      assert.equal(page.size, 7);
      nonces.push(...page.txs.map((t) => t.nonce));
      from = page.next_from;
    }
    assert.deepEqual(nonces, [0, 1, 2, 3, 4, 5, 6]);
  } finally {
    await c.destroy();
  }
});

test("GET /api/health: 200 at the tip, 206 while syncing or Behind, 503 when the P2P server is down", async () => {
  const p2pHealth = (listening: boolean) => ({ listening, port: 1, ready_peers: 0, handshaking: 0, banned: 0, server_error: listening ? null : "EADDRINUSE", dial_failures: 0 });
  const idle = { syncing: false, peer: null, start_height: 0, target_height: 0, imported: 0, blocks_per_s: 0 };
  const cases: [string, Partial<ApiModules>, number, string][] = [
    ["at the tip", {}, 200, "ok"],
    ["range sync running", { syncer: { progress: { ...idle, syncing: true, peer: keys[1]!.ebid, start_height: 4, target_height: 400 } } }, 206, "syncing"],
    ["more than max_desync_blocks behind", { snapshot: { current: nextSnapshot(0, 4, "00".repeat(32), [40, 40], spec.params), eligible: false } }, 206, "syncing"],
    ["within max_desync_blocks", { snapshot: { current: nextSnapshot(0, 4, "00".repeat(32), [5, 5], spec.params), eligible: false } }, 200, "ok"],
    ["P2P down", { p2p: { readyPeers: () => [], health: () => p2pHealth(false) } }, 503, "degraded"],
    ["P2P down while syncing", { p2p: { readyPeers: () => [], health: () => p2pHealth(false) }, syncer: { progress: { ...idle, syncing: true } } }, 503, "degraded"],
  ];
  for (const [what, over, code, status] of cases) {
    const { c, app } = await setup(over);
    try {
      const r = await app.request("/api/health");
      assert.equal(r.status, code, what);
      const body = await r.json();
      assert.equal(body.status, status, what);
      assert.equal(typeof body.uptime_seconds, "number");
    } finally {
      await c.destroy();
    }
  }
});

test("--api-cors: the header for an allowed origin, none for another, none without the option", async () => {
  const { c, app } = await setup({}, { cors: ["http://allowed.example", "https://also.example:8443"] });
  const open = await setup({}, { cors: ["*"] });
  const closed = await setup();
  try {
    const get = (a: typeof app, origin: string) => a.request("/api/chain/head", { headers: { origin } });
    assert.equal((await get(app, "http://allowed.example")).headers.get("access-control-allow-origin"), "http://allowed.example");
    assert.equal((await get(app, "https://also.example:8443")).headers.get("access-control-allow-origin"), "https://also.example:8443");
    const other = await get(app, "http://evil.example");
    assert.equal(other.status, 200, "the request is served; the browser withholds it");
    assert.equal(other.headers.get("access-control-allow-origin"), null);
    const preflight = await app.request("/api/tx", { method: "OPTIONS", headers: { origin: "http://allowed.example", "access-control-request-method": "POST", "access-control-request-headers": "content-type" } });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get("access-control-allow-origin"), "http://allowed.example");
    assert.match(preflight.headers.get("access-control-allow-methods") ?? "", /POST/);
    assert.equal((await get(open.app, "http://anything.example")).headers.get("access-control-allow-origin"), "*");
    assert.equal((await get(closed.app, "http://allowed.example")).headers.get("access-control-allow-origin"), null);
  } finally {
    await c.destroy();
    await open.c.destroy();
    await closed.c.destroy();
  }
});
