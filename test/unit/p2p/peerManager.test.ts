// The P2P service over real WebSockets on 127.0.0.1 with ephemeral ports.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { PeerManager, type P2PHandlers } from "../../../src/p2p/peerManager.ts";
import { defaultP2POptions } from "../../../src/p2p/options.ts";
import type { Message } from "../../../src/p2p/messages.ts";
import { Domain, sign } from "../../../src/consensus/signatures.ts";
import { PROTOCOL_VERSION } from "../../../src/p2p/messages.ts";
import { makeKeys, silentLog, type TestKey } from "../../helpers/fixtures.ts";
import { handshakeClient, rawClient, waitFor } from "../../helpers/net.ts";

const keys = makeKeys(4);
const GENESIS = "11".repeat(32);

function node(key: TestKey, peers: string[] = [], chainId = "c1") {
  const got: Message[] = [];
  const handlers: P2PHandlers = {
    status: () => ({ height: 7, tip_hash: "22".repeat(32) }),
    onPeerReady: () => undefined,
    onMessage: (_p, m) => got.push(m),
    onRequest: async (_p, path, data) => (path === "/echo" ? { ok: true, data } : { ok: false, errors: ["unknown path"] }),
  };
  const pm = new PeerManager(
    { ...defaultP2POptions, host: "127.0.0.1", port: 0, peers, backoffBaseMs: 50, backoffCapMs: 200, maxStrikes: 3 },
    { chainId, genesisHash: GENESIS, ebid: key.ebid, secretKey: key.secretKey },
    handlers,
    silentLog,
  );
  return { pm, got };
}

test("two nodes handshake, exchange gossip and requests; a mutual dial leaves one connection each", async () => {
  const a = node(keys[0]!);
  await a.pm.start();
  const b = node(keys[1]!, [`ws://127.0.0.1:${a.pm.port}`]);
  await b.pm.start();
  a.pm.addTarget(`ws://127.0.0.1:${b.pm.port}`); // both dial: duplicates must resolve the same way
  try {
    await waitFor(() => a.pm.readyPeers().length === 1 && b.pm.readyPeers().length === 1, 5000, "ready peers");
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(a.pm.readyPeers().length, 1);
    assert.equal(b.pm.readyPeers().length, 1);
    const pa = a.pm.readyPeers()[0]!;
    assert.equal(pa.ebid, keys[1]!.ebid);
    assert.equal(pa.height, 7);
    b.pm.broadcast({ type: "status", height: 9, tip_hash: "33".repeat(32) });
    await waitFor(() => a.got.some((m) => m.type === "status" && m.height === 9), 3000, "status");
    const res = await pa.request("/echo", { x: 1 });
    assert.deepEqual(res, { ok: true, data: { x: 1 }, errors: null });
    const bad = await pa.request("/nope", null);
    assert.equal(bad.ok, false);
    assert.equal(a.pm.health().listening, true);
  } finally {
    await a.pm.stop();
    await b.pm.stop();
  }
});

test("a hello for another chain, a self-connection and a stalled handshake are refused", async () => {
  const a = node(keys[0]!);
  await a.pm.start();
  const other = node(keys[1]!, [`ws://127.0.0.1:${a.pm.port}`], "another-chain");
  await other.pm.start();
  try {
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(a.pm.readyPeers().length, 0);
    assert.equal(other.pm.readyPeers().length, 0);
    // self-connection
    a.pm.addTarget(`ws://127.0.0.1:${a.pm.port}`);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(a.pm.readyPeers().length, 0);
  } finally {
    await other.pm.stop();
    await a.pm.stop();
  }
  const short = new PeerManager(
    { ...defaultP2POptions, host: "127.0.0.1", port: 0, handshakeTimeoutMs: 200 },
    { chainId: "c1", genesisHash: GENESIS, ebid: keys[2]!.ebid, secretKey: keys[2]!.secretKey },
    { status: () => ({ height: 0, tip_hash: GENESIS }), onPeerReady() {}, onMessage() {}, onRequest: async () => ({ ok: false }) },
    silentLog,
  );
  await short.start();
  try {
    const c = await rawClient(`ws://127.0.0.1:${short.port}`);
    const closed = await c.closed;
    assert.match(closed.reason, /handshake timeout/);
  } finally {
    await short.stop();
  }
});

test("a bad handshake signature is refused; malformed lines earn strikes and a ban", async () => {
  const a = node(keys[0]!);
  await a.pm.start();
  try {
    const hello = (k: TestKey, nonce: string) => ({
      type: "hello", version: PROTOCOL_VERSION, chain_id: "c1", genesis_hash: GENESIS, ebid: k.ebid, nonce, listen_port: 0, height: 0, tip_hash: GENESIS,
    });
    const c = await rawClient(`ws://127.0.0.1:${a.pm.port}`);
    const nonce = randomBytes(32).toString("hex");
    c.ws.send(JSON.stringify(hello(keys[1]!, nonce)) + "\n");
    await waitFor(() => c.lines.length >= 2, 2000, "hello and ack");
    // sign with the wrong key
    c.ws.send(JSON.stringify({ type: "hello_ack", sig: sign(Domain.hello, { x: 1 }, keys[2]!.secretKey) }) + "\n");
    assert.match((await c.closed).reason, /bad handshake signature/);

    // a correct handshake, then garbage lines until banned
    const d = await handshakeClient(`ws://127.0.0.1:${a.pm.port}`, keys[3]!, "c1", GENESIS, keys[0]!.ebid);
    await waitFor(() => a.pm.readyPeers().length === 1, 2000, "ready");
    d.ws.send("{oops\n[1,2]\n" + '{"type":"status","height":"x"}\n');
    const closed = await d.closed;
    assert.match(closed.reason, /banned after 3 strikes/);
    assert.equal(a.pm.health().banned, 1);
    assert.equal(a.pm.health().listening, true, "the server keeps serving");
  } finally {
    await a.pm.stop();
  }
});

test("a dropped peer is redialled with backoff when it comes back on the same port", async () => {
  const a = node(keys[0]!);
  await a.pm.start();
  const port = a.pm.port;
  const b = node(keys[1]!, [`ws://127.0.0.1:${port}`]);
  await b.pm.start();
  try {
    await waitFor(() => b.pm.readyPeers().length === 1, 5000, "first connection");
    await a.pm.stop();
    await waitFor(() => b.pm.readyPeers().length === 0, 5000, "disconnect seen");
    const again = new PeerManager(
      { ...defaultP2POptions, host: "127.0.0.1", port },
      { chainId: "c1", genesisHash: GENESIS, ebid: keys[0]!.ebid, secretKey: keys[0]!.secretKey },
      { status: () => ({ height: 0, tip_hash: GENESIS }), onPeerReady() {}, onMessage() {}, onRequest: async () => ({ ok: false }) },
      silentLog,
    );
    await again.start();
    try {
      await waitFor(() => b.pm.readyPeers().length === 1, 5000, "reconnected");
    } finally {
      await again.stop();
    }
  } finally {
    await b.pm.stop();
  }
});

test("a peer that stops answering pings is terminated; a flooding peer is rate limited and banned", async () => {
  const a = new PeerManager(
    { ...defaultP2POptions, host: "127.0.0.1", port: 0, pingIntervalMs: 100, idleTimeoutMs: 400, rateLimitPerSec: 10, rateLimitBurst: 20, maxStrikes: 5 },
    { chainId: "c1", genesisHash: GENESIS, ebid: keys[0]!.ebid, secretKey: keys[0]!.secretKey },
    { status: () => ({ height: 0, tip_hash: GENESIS }), onPeerReady() {}, onMessage() {}, onRequest: async () => ({ ok: false }) },
    silentLog,
  );
  await a.start();
  try {
    const silent = await handshakeClient(`ws://127.0.0.1:${a.port}`, keys[1]!, "c1", GENESIS, keys[0]!.ebid);
    await waitFor(() => a.readyPeers().length === 1, 2000, "ready");
    // stop reading: pings go unanswered
    (silent.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    await waitFor(() => a.readyPeers().length === 0, 3000, "keepalive termination");

    const flood = await handshakeClient(`ws://127.0.0.1:${a.port}`, keys[2]!, "c1", GENESIS, keys[0]!.ebid);
    await waitFor(() => a.readyPeers().length === 1, 2000, "ready");
    const status = JSON.stringify({ type: "status", height: 1, tip_hash: GENESIS }) + "\n";
    flood.ws.send(status.repeat(100));
    assert.match((await flood.closed).reason, /rate limit/);
  } finally {
    await a.stop();
  }
});

test("limits per message type, per address, on a peer's requests in flight and on ours pending", async () => {
  let release!: () => void;
  const hang = new Promise<void>((r) => (release = r));
  const a = new PeerManager(
    {
      ...defaultP2POptions, host: "127.0.0.1", port: 0, maxStrikes: 3, maxInboundPerAddress: 2, maxInflightRequests: 2, maxPendingRequests: 3,
      typeRateLimits: { ...defaultP2POptions.typeRateLimits, peers: { perSec: 1, burst: 2 } },
    },
    { chainId: "c1", genesisHash: GENESIS, ebid: keys[0]!.ebid, secretKey: keys[0]!.secretKey },
    { status: () => ({ height: 0, tip_hash: GENESIS }), onPeerReady() {}, onMessage() {}, onRequest: async () => (await hang, { ok: true, data: 1 }) },
    silentLog,
  );
  await a.start();
  const url = `ws://127.0.0.1:${a.port}`;
  try {
    // Requests: two are worked on, the third is told "busy" at once.
    const c = await handshakeClient(url, keys[1]!, "c1", GENESIS, keys[0]!.ebid);
    await waitFor(() => a.readyPeers().length === 1, 2000, "ready");
    c.ws.send([1, 2, 3].map((id) => JSON.stringify({ type: "req", id, path: "/x", data: null })).join("\n") + "\n");
    await waitFor(() => c.lines.some((l) => l.includes('"res"')), 2000, "a busy answer");
    const busy = JSON.parse(c.lines.find((l) => l.includes('"res"'))!);
    assert.deepEqual([busy.id, busy.ok, busy.errors], [3, false, ["busy: too many requests in flight"]]);
    release();
    await waitFor(() => c.lines.filter((l) => l.includes('"res"')).length === 3, 2000, "the other two answered");

    // Our requests to a peer that never answers: past the cap they fail at once instead of piling up.
    const peer = a.readyPeers()[0]!;
    const waiting = [1, 2, 3].map(() => peer.request("/never", null, 60_000));
    const t0 = Date.now();
    assert.deepEqual(await peer.request("/never", null, 60_000), { ok: false, errors: ["too many pending requests to this peer"] });
    assert.ok(Date.now() - t0 < 1000, "at once, not after the 60 s timeout");

    // Per type: two `peers` messages pass, then each one is a strike: banned after three.
    c.ws.send(Array.from({ length: 6 }, () => JSON.stringify({ type: "peers", peers: [] })).join("\n") + "\n");
    assert.match((await c.closed).reason, /banned after 3 strikes \(last: rate limit for peers messages exceeded\)/);
    await Promise.all(waiting);

    // Per address: two inbound connections from 127.0.0.1 at once, the third is refused.
    const x = await rawClient(url);
    const y = await rawClient(url);
    const z = await rawClient(url);
    const closed = await z.closed;
    assert.equal(closed.code, 1013);
    assert.match(closed.reason, /too many connections from this address/);
    x.ws.terminate();
    y.ws.terminate();
  } finally {
    release();
    await a.stop();
  }
});

test("strikes decay: a long-lived peer's rare faults never add up to a ban", async () => {
  const a = new PeerManager(
    { ...defaultP2POptions, host: "127.0.0.1", port: 0, maxStrikes: 3, strikeDecayMs: 150 },
    { chainId: "c1", genesisHash: GENESIS, ebid: keys[0]!.ebid, secretKey: keys[0]!.secretKey },
    { status: () => ({ height: 0, tip_hash: GENESIS }), onPeerReady() {}, onMessage() {}, onRequest: async () => ({ ok: false }) },
    silentLog,
  );
  await a.start();
  try {
    const c = await handshakeClient(`ws://127.0.0.1:${a.port}`, keys[1]!, "c1", GENESIS, keys[0]!.ebid);
    await waitFor(() => a.readyPeers().length === 1, 2000, "ready");
    for (let i = 0; i < 6; i++) {
      c.ws.send("{broken\n"); // one strike, then enough time for it to be forgiven
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(a.readyPeers().length, 1, "six faults spread out: still connected");
    assert.ok(a.readyPeers()[0]!.strikes <= 1);
    c.ws.send("{a\n{b\n{c\n"); // three at once: banned
    assert.match((await c.closed).reason, /banned/);
  } finally {
    await a.stop();
  }
});

test("dialFrom (--p2p-dial-from): our dials leave from that address, and the peer infers our listen address from it", async () => {
  const a = node(keys[0]!);
  await a.pm.start();
  const b = new PeerManager(
    { ...defaultP2POptions, host: "127.0.0.1", port: 0, peers: [`ws://127.0.0.1:${a.pm.port}`], dialFrom: "127.0.0.9", backoffBaseMs: 50, backoffCapMs: 200 },
    { chainId: "c1", genesisHash: GENESIS, ebid: keys[1]!.ebid, secretKey: keys[1]!.secretKey },
    { status: () => ({ height: 0, tip_hash: GENESIS }), onPeerReady() {}, onMessage() {}, onRequest: async () => ({ ok: false }) },
    silentLog,
  );
  await b.start();
  try {
    await waitFor(() => a.pm.readyPeers().length === 1, 5000, "ready peer");
    const seen = a.pm.readyPeers()[0]!;
    assert.equal(seen.direction, "inbound");
    assert.equal(seen.remoteAddress, "127.0.0.9");
    assert.equal(seen.inferredUrl, `ws://127.0.0.9:${b.port}`);
  } finally {
    await b.stop();
    await a.pm.stop();
  }
});
