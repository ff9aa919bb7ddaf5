// The node:http fast path for GET /api/mining/status and GET /metrics: the same bytes and headers
// as the Hono routes, and everything it does not own (queries, other methods, CORS, a body not yet
// built) reaches the app. A real server on 127.0.0.1 over a real chain on LevelDB.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { getRequestListener } from "@hono/node-server";
import { createApi, withFastPath, type ApiModules } from "../../../src/api/index.ts";
import { createMetrics } from "../../../src/metrics/index.ts";
import { Mempool } from "../../../src/chain/mempool.ts";
import { ClaimReceipts } from "../../../src/producer/claims.ts";
import { nextSnapshot } from "../../../src/consensus/eligibility.ts";
import { extend, makeKeys, makeSpec, openTestChain } from "../../helpers/fixtures.ts";

const keys = makeKeys(3);
const spec = makeSpec(keys);

async function serve(cors?: string[]) {
  const c = await openTestChain(spec);
  await extend(c.chain, keys, 3);
  const snap = nextSnapshot(3, 3, c.chain.head.hash, [3, 3], spec.params);
  const metrics = createMetrics({ height: () => c.chain.head.height, poolSize: () => 3, mySlot: () => 0, peers: () => 2, mempoolSize: () => 0, sync: () => ({ syncing: false, target_height: 0, imported: 0 }), powHashes: () => 0, eligible: () => true, finality: () => ({ finalized: 0, justified: 0 }) });
  const m = {
    chain: c.chain, mempool: new Mempool(), claims: new ClaimReceipts(), snapshot: { current: snap, eligible: true }, metrics,
    p2p: { readyPeers: () => [], health: () => ({ listening: true, port: 1, ready_peers: 0, handshaking: 0, banned: 0, server_error: null, dial_failures: 0 }) },
    syncer: { progress: { syncing: false, peer: null, start_height: 0, target_height: 0, imported: 0, blocks_per_s: 0 } },
    attestations: { size: 0 }, ebid: keys[0]!.ebid, startedAt: Date.now(),
    submitTx: () => Promise.reject(new Error("not in this test")),
    mining: {
      template: () => Promise.reject(new Error("not in this test")), submit: () => Promise.reject(new Error("not in this test")),
      settings: { configDifficulty: 0, difficultyOverride: null, minDifficulty: 0, delayMs: 0, setOverride: () => undefined, checkToken: () => false },
      refreshConfig: () => ({}), workers: 1, totalHashes: () => 0,
    },
  } as unknown as ApiModules;
  const app = createApi(m, { cors });
  const hono = getRequestListener(app.fetch);
  let honoHits = 0;
  const server = createServer(withFastPath(m, { cors }, (req, res) => (honoHits++, hono(req, res))));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base, app, honoHits: () => honoHits,
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await c.destroy();
    },
  };
}

test("the fast path sends what the Hono routes send, once the body is built", async () => {
  const s = await serve();
  try {
    for (const path of ["/api/mining/status", "/metrics"]) {
      const first = await fetch(s.base + path); // builds the body through the app
      await first.text();
      const before = s.honoHits();
      const fast = await fetch(s.base + path);
      assert.equal(s.honoHits(), before, `${path} answered without the app`);
      const viaApp = await s.app.request(path);
      assert.equal(fast.status, 200);
      assert.equal(fast.headers.get("content-type"), viaApp.headers.get("content-type"));
      const text = await fast.text();
      assert.equal(fast.headers.get("content-length"), String(Buffer.byteLength(text)));
      if (path === "/metrics") assert.match(text, /^# HELP /m);
      else assert.deepEqual(JSON.parse(text), await viaApp.json());
    }
  } finally {
    await s.close();
  }
});

test("queries, other methods and unknown paths reach the app", async () => {
  const s = await serve();
  try {
    await (await fetch(s.base + "/api/mining/status")).text();
    let hits = s.honoHits();
    const q = await fetch(s.base + "/api/mining/status?bogus=1");
    assert.equal(q.status, 400, "the app refuses an unknown query parameter");
    assert.equal(s.honoHits(), ++hits);
    const post = await fetch(s.base + "/api/mining/status", { method: "POST" });
    assert.equal(post.status, 404);
    assert.equal(s.honoHits(), ++hits);
    const head = await fetch(s.base + "/api/mining/status", { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(s.honoHits(), ++hits);
    await (await fetch(s.base + "/api/mining/statu")).text();
    assert.equal(s.honoHits(), ++hits);
  } finally {
    await s.close();
  }
});

test("with CORS on, every request goes through the app and gets its CORS headers", async () => {
  const s = await serve(["*"]);
  try {
    for (let i = 0; i < 2; i++) {
      const r = await fetch(s.base + "/api/mining/status", { headers: { origin: "http://example.test" } });
      await r.text();
      assert.equal(r.headers.get("access-control-allow-origin"), "*");
    }
    assert.equal(s.honoHits(), 2);
  } finally {
    await s.close();
  }
});
