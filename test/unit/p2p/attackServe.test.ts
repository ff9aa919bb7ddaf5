// A peer that asks for megabytes with 100-byte requests, 16 in flight, all the time: what a node
// serves it is bounded by its served-byte budget (docs/protocol.md §9.6), past which it is told
// `busy` in a clear reply, and the connection stays up.
import { test } from "node:test";
import assert from "node:assert/strict";
import { PeerManager, type P2PHandlers } from "../../../src/p2p/peerManager.ts";
import { defaultP2POptions, type P2POptions } from "../../../src/p2p/options.ts";
import { MAX_SERVE_DELAY_MS } from "../../../src/p2p/limits.ts";
import { makeKeys, silentLog } from "../../helpers/fixtures.ts";
import { CHAIN_ID, GENESIS, freshKey, handshake, nonLoopback, sleep } from "./attackKit.ts";

const keys = makeKeys(2);
const MIB = 1024 * 1024;
const REPLY = "x".repeat(256 * 1024);
const remote = nonLoopback("IPv4");
const BUDGET = { servedBytesPerSec: 1 * MIB, servedBytesBurst: 2 * MIB };
type Conn = Awaited<ReturnType<typeof handshake>>;

/** Node 0's P2P service on `host`, with P2P options `over`, answering every request with `onRequest` (a 256 KiB reply by default). */
function servingNode(host: string, over: Partial<P2POptions>, onRequest: P2PHandlers["onRequest"] = async () => ({ ok: true, data: REPLY })): PeerManager {
  return new PeerManager(
    { ...defaultP2POptions, host, port: 0, ...over },
    { chainId: CHAIN_ID, genesisHash: GENESIS, ebid: keys[0]!.ebid, secretKey: keys[0]!.secretKey },
    { status: () => ({ height: 3, tip_hash: "22".repeat(32) }), onPeerReady: () => undefined, onMessage: () => undefined, onRequest },
    silentLog,
  );
}

/** Adds to `conns` four handshaken connections to `x`, each with a fresh key, all from the one non-loopback address `remote` (each is added as it opens, so a caller's `finally` closes them all). */
async function fourFreshKeysFromRemote(x: PeerManager, conns: Conn[]): Promise<void> {
  for (let i = 0; i < 4; i++) conns.push(await handshake(`ws://${remote}:${x.port}`, freshKey(), keys[0]!.ebid, { localAddress: remote }));
}

test("a peer pulling replies as fast as it can gets at most its served-byte budget, then busy replies", async () => {
  const x = servingNode("127.0.0.1", BUDGET);
  await x.start();
  try {
    const c = await handshake(`ws://127.0.0.1:${x.port}`, keys[1]!, keys[0]!.ebid);
    let id = 0;
    const answered = () => c.lines.filter((l) => l.startsWith('{"type":"res"')).length;
    const t0 = Date.now();
    while (Date.now() - t0 < 2000) {
      while (id - answered() < 16) c.send({ type: "req", id: id++, path: "/data/miner_block/range", data: { from_index: 0, to_index: 999, max_chunk_size: 1000 } });
      await sleep(10);
    }
    const secs = (Date.now() - t0) / 1000;
    const res = c.lines.filter((l) => l.startsWith('{"type":"res"')).map((l) => JSON.parse(l) as { ok: boolean; errors: string[] | null });
    const servedBytes = c.lines.filter((l) => l.startsWith('{"type":"res"') && l.includes('"ok":true')).reduce((n, l) => n + l.length, 0);
    const bound = BUDGET.servedBytesBurst + BUDGET.servedBytesPerSec * secs + REPLY.length;
    console.log(`# served ${(servedBytes / MIB).toFixed(1)} MiB in ${secs.toFixed(1)} s; bound ${(bound / MIB).toFixed(1)} MiB; ${res.filter((r) => !r.ok).length} busy replies`);
    assert.ok(servedBytes <= bound, `served ${servedBytes} bytes, budget allows ${bound}`);
    const busy = res.find((r) => !r.ok);
    assert.ok(busy, "refused past the budget");
    assert.match(busy.errors![0]!, /^busy: served byte budget spent, retry in \d+ ms$/);
    assert.equal(c.ws.readyState, c.ws.OPEN, "a refusal, not a drop");
    assert.equal(x.readyPeers().length, 1);
    c.ws.terminate();
  } finally {
    await x.stop();
  }
});

test("fresh keys from one address share that address's served-byte budget", { skip: remote ? false : "needs a non-loopback IPv4 address" }, async () => {
  const x = servingNode("0.0.0.0", BUDGET);
  await x.start();
  const conns: Conn[] = [];
  try {
    // Four connections from one (non-local) address, each with a fresh key: identities are free.
    await fourFreshKeysFromRemote(x, conns);
    const ids = conns.map(() => 0);
    const answered = (c: (typeof conns)[number]) => c.lines.filter((l) => l.startsWith('{"type":"res"')).length;
    const t0 = Date.now();
    while (Date.now() - t0 < 2000) {
      conns.forEach((c, i) => {
        while (ids[i]! - answered(c) < 16) c.send({ type: "req", id: ids[i]!++, path: "/data/miner_block/range", data: { from_index: 0, to_index: 999, max_chunk_size: 1000 } });
      });
      await sleep(10);
    }
    const secs = (Date.now() - t0) / 1000;
    const servedBytes = conns.flatMap((c) => c.lines).filter((l) => l.startsWith('{"type":"res"') && l.includes('"ok":true')).reduce((n, l) => n + l.length, 0);
    // One address's budget, plus one reply per connection that may go out on the debt.
    const bound = BUDGET.servedBytesBurst + BUDGET.servedBytesPerSec * secs + conns.length * REPLY.length;
    console.log(`# served ${(servedBytes / MIB).toFixed(1)} MiB to 4 keys of one address in ${secs.toFixed(1)} s; bound ${(bound / MIB).toFixed(1)} MiB`);
    assert.ok(servedBytes <= bound, `served ${servedBytes} bytes to one address, its budget allows ${bound}`);
  } finally {
    for (const c of conns) c.ws.terminate();
    await x.stop();
  }
});

test("a reply never waits on the served-byte budget past the busy threshold: replies in flight from one address do not stack", { skip: remote ? false : "needs a non-loopback IPv4 address" }, async () => {
  const x = servingNode("0.0.0.0", BUDGET);
  await x.start();
  const conns: Conn[] = [];
  try {
    await fourFreshKeysFromRemote(x, conns);
    // 4 x 16 requests at once, with no debt yet: each passes the check on arrival (16 MiB asked).
    const sent = new Map<string, number>();
    conns.forEach((c, i) => {
      for (let id = 0; id < 16; id++) {
        sent.set(`${i}:${id}`, Date.now());
        c.send({ type: "req", id, path: "/data/miner_block/range", data: { from_index: 0, to_index: 999 } });
      }
    });
    const got = () => conns.reduce((n, c) => n + c.lines.filter((l) => l.startsWith('{"type":"res"')).length, 0);
    const waits: number[] = [];
    const seen = conns.map(() => 0);
    const t0 = Date.now();
    while (got() < 64 && Date.now() - t0 < 20_000) {
      conns.forEach((c, i) => {
        const res = c.lines.filter((l) => l.startsWith('{"type":"res"'));
        for (; seen[i]! < res.length; seen[i]!++) {
          const r = JSON.parse(res[seen[i]!]!) as { id: number };
          waits.push(Date.now() - sent.get(`${i}:${r.id}`)!);
        }
      });
      await sleep(20);
    }
    const worst = Math.max(...waits);
    console.log(`# 64 requests from one address: ${got()} answered, the slowest after ${worst} ms`);
    assert.equal(got(), 64, "every request answered (data or busy)");
    assert.ok(worst <= MAX_SERVE_DELAY_MS + 1500, `a reply waited ${worst} ms`);
  } finally {
    for (const c of conns) c.ws.terminate();
    await x.stop();
  }
});

test("fresh keys from one address share its requests-in-flight cap: the work (and memory) of replies being built is bounded per address", { skip: remote ? false : "needs a non-loopback IPv4 address" }, async () => {
  let now = 0;
  let most = 0;
  // Each reply takes a while to build (a 2 MiB range read from the store, serialized).
  const x = servingNode("0.0.0.0", {}, async () => {
    most = Math.max(most, ++now);
    await sleep(200);
    now--;
    return { ok: true, data: "small" };
  });
  await x.start();
  const conns: Conn[] = [];
  try {
    await fourFreshKeysFromRemote(x, conns);
    for (const c of conns) for (let id = 0; id < defaultP2POptions.maxInflightRequests; id++) c.send({ type: "req", id, path: "/data/miner_block/range", data: { from_index: 0, to_index: 999 } });
    const got = () => conns.reduce((n, c) => n + c.lines.filter((l) => l.startsWith('{"type":"res"')).length, 0);
    const { waitFor } = await import("../../helpers/net.ts");
    await waitFor(() => got() === 4 * defaultP2POptions.maxInflightRequests, 5000, "every request answered (data or busy)");
    console.log(`# 4 keys of one address, 16 requests each: at most ${most} replies being built at once`);
    assert.ok(most <= defaultP2POptions.maxInflightRequests, `${most} replies built at once for one address`);
  } finally {
    for (const c of conns) c.ws.terminate();
    await x.stop();
  }
});
