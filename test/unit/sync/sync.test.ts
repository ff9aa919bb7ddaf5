// Two in-process nodes over real WebSockets and LevelDB: a late node syncs 120 blocks by range
// requests, and every MinerBlock sync protocol path answers well-formed and bad requests in its
// envelope.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { VisionNode } from "../../../src/node/node.ts";
import { extend, makeKeys, makeSpec, openTestChain, silentLog, tempDir } from "../../helpers/fixtures.ts";
import { handshakeClient, waitFor } from "../../helpers/net.ts";
import type { Peer } from "../../../src/p2p/peer.ts";
import { busyRetryMs, type SyncerOptions, type SyncStrategy } from "../../../src/sync/syncer.ts";
import { cappedCanonicalRange } from "../../../src/sync/protocol.ts";

const keys = makeKeys(3);
const spec = makeSpec(keys);
const dirs = [tempDir(), tempDir()];
let a: VisionNode;
let b: VisionNode;
let peer: Peer;

function opts(dataDir: string, peers: string[] = [], p2p: Record<string, number> = {}, sync: Partial<SyncerOptions> = {}) {
  return { dataDir, spec, p2p: { host: "127.0.0.1", port: 0, peers, ...p2p }, apiHost: "127.0.0.1", apiPort: 0, produce: false, mine: false, sync };
}

before(async () => {
  const c = await openTestChain(spec, dirs[0]!.dir);
  await extend(c.chain, keys, 120);
  await c.close();
  // A strict rate limit on the serving node: a syncing peer must not flood it (one status per block did).
  a = await VisionNode.init(opts(dirs[0]!.dir, [], { rateLimitPerSec: 20, rateLimitBurst: 40 }), silentLog);
  b = await VisionNode.init(opts(dirs[1]!.dir, [`ws://127.0.0.1:${a.p2p.port}`]), silentLog);
  peer = await waitFor(() => b.p2p.readyPeers()[0], 5000, "connection");
});

after(async () => {
  await b.close();
  await a.close();
  for (const d of dirs) d.cleanup();
});

test("a node started late catches up by range sync and holds the same chain", async () => {
  await waitFor(() => b.chain.head.height === 120, 20_000, "sync to 120");
  assert.equal(b.chain.head.hash, a.chain.head.hash);
  for (const h of [1, 50, 51, 119]) {
    assert.equal((await b.chain.getCanonicalMeta(h))!.hash, (await a.chain.getCanonicalMeta(h))!.hash);
  }
  assert.equal(b.syncer.progress.syncing, false);
  assert.equal(a.p2p.health().banned, 0, "the syncing node stayed within the server's rate limit");
  assert.equal(a.p2p.readyPeers().length, 1);
});

test("/data/miner_block/range: inclusive, chunked, has_more, MinerBlock fields", async () => {
  const r = await peer.request("/data/miner_block/range", { from_index: 3, to_index: 7 });
  assert.equal(r.ok, true);
  const d = r.data as { blocks: { header: { height: number }; is_canonical: boolean; epoch: number }[]; count: number; has_more: boolean };
  assert.deepEqual(d.blocks.map((x) => x.header.height), [3, 4, 5, 6, 7]);
  assert.equal(d.count, 5);
  assert.equal(d.has_more, false);
  assert.equal(d.blocks[0]!.is_canonical, true);
  assert.equal(d.blocks[0]!.epoch, 0);
  const chunked = (await peer.request("/data/miner_block/range", { from_index: 1, to_index: 120, max_chunk_size: 10 })).data as typeof d;
  assert.equal(chunked.count, 10);
  assert.equal(chunked.has_more, true);
  const def = (await peer.request("/data/miner_block/range", { from_index: 1, to_index: 120 })).data as typeof d;
  assert.equal(def.count, 50, "default chunk 50");
});

test("a block-carrying reply is cut by bytes after at least one block, and says how far it got", async () => {
  const all = await cappedCanonicalRange(a.chain, 1, 10);
  assert.equal(all.blocks.length, 10);
  assert.equal(all.cut, false);
  const one = Buffer.byteLength(JSON.stringify(all.blocks[0]));
  const cut = await cappedCanonicalRange(a.chain, 1, 10, 3 * one + 10);
  assert.equal(cut.cut, true);
  assert.deepEqual(cut.blocks.map((x) => x.header.height), [1, 2, 3]);
  assert.ok(cut.bytes <= 3 * one + 10);
  const tiny = await cappedCanonicalRange(a.chain, 5, 10, 1);
  assert.deepEqual(tiny.blocks.map((x) => x.header.height), [5], "at least one block, whatever the cap");
});

test("epoch, get, canonical, chain_info and find_ancestor", async () => {
  const epoch = (await peer.request("/data/miner_block/epoch", { epoch: 1 })).data as { blocks: { header: { height: number } }[]; count: number };
  assert.equal(epoch.count, 40);
  assert.equal(epoch.blocks[0]!.header.height, 40);
  const h5 = (await a.chain.getCanonicalMeta(5))!;
  const got = await peer.request("/data/miner_block/get", { hash: h5.hash });
  assert.equal((got.data as { hash: string }).hash, h5.hash);
  const canon = (await peer.request("/data/miner_block/canonical", null)).data as { count: number; has_more: boolean };
  assert.equal(canon.count, 50);
  assert.equal(canon.has_more, true);
  const info = (await peer.request("/data/chain_info", null)).data as { height: number; genesis_hash: string };
  assert.equal(info.height, 120);
  assert.equal(info.genesis_hash, a.chain.genesis.hash);
  const anc = (await peer.request("/data/find_ancestor", { hashes: ["ab".repeat(32), h5.hash] })).data as { hash: string; height: number };
  assert.deepEqual(anc, { hash: h5.hash, height: 5 });
});

test("bad requests get ok: false with errors and the connection stays up", async () => {
  const bad: [string, unknown][] = [
    ["/data/miner_block/range", { from_index: 7, to_index: 3 }],
    ["/data/miner_block/range", { from_index: 1, to_index: 5, max_chunk_size: 5000 }],
    ["/data/miner_block/range", { from_index: "x" }],
    ["/data/miner_block/range", null],
    ["/data/miner_block/epoch", { epoch: -1 }],
    ["/data/miner_block/get", { hash: "ab".repeat(32) }],
    ["/data/miner_block/get", { hash: "nope" }],
    ["/data/find_ancestor", { hashes: [] }],
    ["/data/unknown", {}],
  ];
  for (const [path, data] of bad) {
    const r = await peer.request(path, data);
    assert.equal(r.ok, false, `${path} ${JSON.stringify(data)}`);
    assert.ok(Array.isArray(r.errors) && r.errors.length > 0, path);
  }
  assert.equal(peer.state, "ready");
  assert.equal((await peer.request("/data/chain_info", null)).ok, true);
});

test("the epoch and canonical strategies sync the same chain", async () => {
  for (const strategy of ["epoch", "canonical"] as SyncStrategy[]) {
    const t = tempDir();
    const c = await VisionNode.init(opts(t.dir, [`ws://127.0.0.1:${a.p2p.port}`], {}, { strategy, chunk: 30 }), silentLog);
    try {
      await waitFor(() => c.chain.head.height === 120, 20_000, `${strategy} sync to 120`);
      assert.equal(c.chain.head.hash, a.chain.head.hash, strategy);
      assert.ok(c.syncer.progress.imported >= 1, strategy);
    } finally {
      await c.close();
      t.cleanup();
    }
  }
});

test("a peer that never answers range requests is timed out and its chunks are fetched from another", async () => {
  const t = tempDir();
  const c = await VisionNode.init(opts(t.dir, [], {}, { requestTimeoutMs: 400 }), silentLog);
  try {
    // A silent peer: it claims the whole chain and answers find_ancestor, but never a range.
    const silent = await handshakeClient(`ws://127.0.0.1:${c.p2p.port}`, makeKeys(9)[8]!, spec.chain_id, a.chain.genesis.hash, c.key.ebid);
    await waitFor(() => c.p2p.readyPeers().length === 1, 5000, "silent peer ready");
    let rangeRequests = 0;
    silent.ws.on("message", (d) => {
      for (const line of d.toString().split("\n").filter(Boolean)) {
        const m = JSON.parse(line);
        if (m.type !== "req") continue;
        if (m.path === "/data/find_ancestor") {
          silent.ws.send(JSON.stringify({ type: "res", id: m.id, ok: true, data: { hash: a.chain.genesis.hash, height: 0 }, errors: null }) + "\n");
        } else if (m.path === "/data/miner_block/range") rangeRequests++;
      }
    });
    // The sync starts from the silent peer alone; the full node connects while its requests time out.
    silent.ws.send(JSON.stringify({ type: "status", height: 120, tip_hash: a.chain.head.hash }) + "\n");
    await waitFor(() => rangeRequests > 0, 5000, "range requests to the silent peer");
    c.p2p.addTarget(`ws://127.0.0.1:${a.p2p.port}`);
    await waitFor(() => c.chain.head.height === 120, 30_000, "sync to 120 despite the silent peer");
    assert.equal(c.chain.head.hash, a.chain.head.hash);
    assert.ok(rangeRequests >= 1, "the silent peer was asked, and timed out");
    silent.ws.close();
  } finally {
    await c.close();
    t.cleanup();
  }
});

test("a sync from a peer whose served-byte budget runs out waits out its busy replies and completes", async () => {
  const ts = tempDir();
  const tc = tempDir();
  // The same 120 blocks, served at ~20 KB/s after a 16 KB burst: most replies wait or are refused busy.
  const src = await openTestChain(spec, ts.dir);
  for (let h = 1; h <= 120; h++) await src.chain.importBlock((await a.chain.getBlock((await a.chain.getCanonicalMeta(h))!.hash))!);
  await src.close();
  const server = await VisionNode.init(opts(ts.dir, [], { servedBytesPerSec: 20_000, servedBytesBurst: 16_000 }), silentLog);
  const c = await VisionNode.init(opts(tc.dir, [`ws://127.0.0.1:${server.p2p.port}`], {}, { parallel: 4 }), silentLog);
  try {
    await waitFor(() => c.chain.head.height === 120, 30_000, "sync to 120 through busy replies");
    assert.equal(c.chain.head.hash, a.chain.head.hash);
  } finally {
    await c.close();
    await server.close();
    ts.cleanup();
    tc.cleanup();
  }
});

test("busyRetryMs: the wait a busy reply names, capped; other errors are not busy", () => {
  assert.equal(busyRetryMs(["busy: served byte budget spent, retry in 1200 ms"]), 1200);
  assert.equal(busyRetryMs(["busy: served byte budget spent, retry in 99999 ms"]), 5000);
  assert.equal(busyRetryMs(["busy: too many requests in flight"]), 250);
  assert.equal(busyRetryMs(["unknown path"]), undefined);
  assert.equal(busyRetryMs(null), undefined);
});
