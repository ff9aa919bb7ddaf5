// The HTTP API in-process (app.request) over a real chain on LevelDB; P2P and the snapshot are fakes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createApi } from "../../../src/api/index.ts";
import { Mempool } from "../../../src/chain/mempool.ts";
import { Domain, sign } from "../../../src/consensus/signatures.ts";
import { ClaimReceipts } from "../../../src/producer/claims.ts";
import { nextSnapshot } from "../../../src/consensus/eligibility.ts";
import { extend, makeKeys, makeSpec, openTestChain } from "../../helpers/fixtures.ts";

const keys = makeKeys(3);
const payer = makeKeys(5)[4]!; // funded, not a producer
const spec = makeSpec(keys, { alloc: { [payer.ebid]: "1000" } });

async function setup() {
  const c = await openTestChain(spec);
  const blocks = await extend(c.chain, keys, 4);
  const claims = new ClaimReceipts();
  claims.record(3, { winner_id: keys[0]!.ebid, tip_hash: blocks[1]!.hash, claimed_at: 123, slot_idx: 0 });
  claims.settle(3, "produced", { block_hash: blocks[2]!.hash });
  const snap = nextSnapshot(4, 4, c.chain.head.hash, [4, 4], spec.params);
  const mempool = new Mempool();
  const app = createApi({
    mempool,
    submitTx: async (tx) => mempool.admit(tx, spec.chain_id, c.chain.account(tx.from)),
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
  });
  return { c, app, blocks };
}

test("GET /api/mining/status has exactly the seed 001 fields with their types", async () => {
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
    const specRes = await (await app.request("/api/chain/spec")).json();
    assert.equal(specRes.genesis_hash, c.chain.genesis.hash);
    assert.equal(specRes.chain_id, "vision-test");
    const health = await app.request("/api/health");
    assert.equal(health.status, 200);
    assert.deepEqual((await health.json()).pending, { held: 0, parked: 0, attestations: 2 });
    assert.deepEqual(await (await app.request("/api/peers")).json(), { peers: [] });
    assert.deepEqual(await (await app.request("/api/blocks/forks?from=0&to=4")).json(), { from: 0, to: 4, forks: [] });
    const status = await (await app.request("/api/status")).json();
    assert.equal(status.height, 4);
    assert.equal(status.sync_progress.syncing, false);
    assert.deepEqual(await (await app.request("/api/evidence")).json(), { evidence: [] });
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
      ["/api/blocks?to=2", 400],
      ["/api/blocks?from=0&to=500", 400],
      ["/api/blocks/forks?from=0&to=5000", 400],
      ["/api/blocks/forks?from=3", 400],
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
    assert.deepEqual(await (await app.request(`/api/tx/${"ab".repeat(32)}`)).json(), { hash: "ab".repeat(32), status: "unknown" });
    assert.equal((await app.request("/api/tx/zz")).status, 400);
  } finally {
    await c.destroy();
  }
});
