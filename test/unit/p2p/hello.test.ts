// hello `agent` and `advertise_url`, and the P2P limits as options, over real WebSockets on 127.0.0.1.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { LEARNED_MAX_FAILURES } from "../../../src/p2p/peerManager.ts";
import { assertP2POptions, defaultP2POptions, P2POptionsError, resolveP2POptions, type P2POptions } from "../../../src/p2p/options.ts";
import { buildInfo } from "../../../src/version.ts";
import { PROTOCOL_VERSION } from "../../../src/p2p/messages.ts";
import { makeKeys, type TestKey } from "../../helpers/fixtures.ts";
import { freePort, handshakeClient, rawClient, waitFor } from "../../helpers/net.ts";
import { freshKey, handshake, manager } from "./attackKit.ts";

const keys = makeKeys(6);
const GENESIS = "11".repeat(32);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function hello(key: TestKey, extra: Record<string, unknown> = {}) {
  return { type: "hello", version: PROTOCOL_VERSION, chain_id: "c1", genesis_hash: GENESIS, ebid: key.ebid, nonce: randomBytes(32).toString("hex"), listen_port: 0, height: 0, tip_hash: GENESIS, ...extra };
}

test("our hello carries this build's agent and no advertise_url unless configured; an older node's hello (neither field) is accepted", async () => {
  const a = manager(keys[0]!);
  await a.start();
  try {
    const old = await handshakeClient(`ws://127.0.0.1:${a.port}`, keys[1]!, "c1", GENESIS, keys[0]!.ebid);
    const ours = JSON.parse(old.lines.find((l) => l.includes('"hello"'))!) as Record<string, unknown>;
    assert.equal(ours.agent, buildInfo().agent);
    assert.ok(!("advertise_url" in ours));
    const p = await waitFor(() => a.readyPeers()[0], 2000, "older node ready");
    assert.equal(p.hello!.agent, undefined);
    assert.equal(p.listenUrl, undefined, "no listen port, nothing advertised: no dialable address");
  } finally {
    await a.stop();
  }
});

test("a hello with a bad agent or advertise_url is refused before the handshake", async () => {
  const a = manager(keys[0]!);
  await a.start();
  try {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ agent: "x".repeat(129) }, /agent/],
      [{ agent: "" }, /agent/],
      [{ agent: "vision-node/v1\u0007" }, /agent: expected 1 to 128 printable ASCII chars/],
      [{ agent: "vision-node/v1\n/linux" }, /agent: expected 1 to 128 printable ASCII chars/],
      [{ agent: "vision-n\u00f6de" }, /agent: expected 1 to 128 printable ASCII chars/],
      [{ agent: 42 }, /agent/],
      [{ advertise_url: "http://127.0.0.1:7072" }, /advertise_url/],
      [{ advertise_url: "ws://127.0.0.1" }, /advertise_url/],
      [{ advertise_url: "ws://127.0.0.1:7072/x" }, /advertise_url/],
      [{ advertise_url: `ws://${"a".repeat(250)}:7072` }, /advertise_url/],
      [{ advertise_url: "" }, /advertise_url/],
    ];
    for (const [extra, re] of bad) {
      const c = await rawClient(`ws://127.0.0.1:${a.port}`);
      c.ws.send(JSON.stringify(hello(keys[1]!, extra)) + "\n");
      const closed = await c.closed;
      assert.match(closed.reason, /^invalid message: /, JSON.stringify(extra).slice(0, 60));
      assert.match(closed.reason, re, JSON.stringify(extra).slice(0, 60));
    }
    assert.equal(a.readyPeers().length, 0);
    // The longest valid agent passes.
    const c = await rawClient(`ws://127.0.0.1:${a.port}`);
    c.ws.send(JSON.stringify(hello(keys[1]!, { agent: "~".repeat(128), advertise_url: "wss://node-1.example.org:443" })) + "\n");
    await waitFor(() => c.lines.some((l) => l.includes('"hello_ack"')), 2000, "hello_ack to a valid hello");
    c.ws.terminate();
  } finally {
    await a.stop();
  }
});

test("advertise_url replaces the inferred address; a node that hears it from a peer dials it", async () => {
  const portA = await freePort();
  const advertised = `ws://localhost:${portA}`;
  const b = manager(keys[1]!, {}, (p) => {
    // What the node does on ready: tell the new peer the dialable addresses of the others.
    const others = b.addressesFor(p);
    if (others.length) p.send({ type: "peers", peers: others });
  });
  await b.start();
  const a = manager(keys[0]!, { port: portA, advertiseUrl: advertised, peers: [`ws://127.0.0.1:${b.port}`] });
  await a.start();
  // A peer shares A's own advertised address back to it, then an address that is not A's (a closed port).
  const notA = `ws://127.0.0.1:${await freePort()}`;
  const c = manager(keys[2]!, { peers: [`ws://127.0.0.1:${b.port}`] }, (p) => {
    if (p.ebid === keys[0]!.ebid) p.send({ type: "peers", peers: [advertised, notA] });
  });
  // Every address A takes up as a dial target (learned addresses go through addTarget).
  const targetsOfA: string[] = [];
  const addTarget = a.addTarget.bind(a);
  a.addTarget = (url, configured, learnedFrom) => {
    targetsOfA.push(url);
    addTarget(url, configured, learnedFrom);
  };
  try {
    const seenByB = await waitFor(() => b.readyPeers().find((p) => p.ebid === keys[0]!.ebid), 5000, "A connected to B");
    assert.equal(seenByB.hello!.advertise_url, advertised);
    assert.equal(seenByB.listenUrl, advertised, `shown at once, not the inferred ws://127.0.0.1:${portA}`);
    assert.equal(seenByB.hello!.agent, buildInfo().agent);
    // B passes A's advertised address on only once it reached A there itself (its own dial, like a
    // learned address); until then it passes on the inferred one. C must hear the advertised one.
    await waitFor(() => b.addressesFor().includes(advertised), 5000, "B reached A at its advertised address");
    const checked = b.readyPeers().filter((p) => p.ebid === keys[0]!.ebid);
    assert.equal(checked.length, 1, "one connection per EBID");
    // A dialled B (inbound); B kept its own dial of A's advertised address if the tie-break chose it.
    assert.ok(checked[0]!.direction === "inbound" || checked[0]!.dialUrl === advertised, checked[0]!.direction);
    // B told A of its other peers when each connection to A became ready: C was not among them yet,
    // so C's only connection to A is the one C dials at the address B passed on.
    await c.start();
    const cToA = await waitFor(() => c.readyPeers().find((p) => p.ebid === keys[0]!.ebid), 5000, "C dialled A through B");
    assert.equal(cToA.direction, "outbound");
    assert.equal(cToA.dialUrl, advertised);
    // A takes up the other address of C's peers message but never its own advertised one: both come
    // in one message, handled in order, so once the later one is a target the earlier was judged.
    await waitFor(() => targetsOfA.includes(notA), 5000, "A learned the other address C shared");
    assert.ok(!targetsOfA.includes(advertised), targetsOfA.join(", "));
  } finally {
    await c.stop();
    await a.stop();
    await b.stop();
  }
});

test("maxPeers from options: inbound past it are refused and learned addresses wait for room; configured peers are dialled regardless", async () => {
  const z = manager(keys[3]!);
  await z.start();
  const y = manager(keys[4]!, {}, (p) => p.send({ type: "peers", peers: [`ws://127.0.0.1:${z.port}`] }));
  await y.start();
  const yPort = y.port;
  const x = manager(keys[5]!, { maxPeers: 1, peers: [`ws://127.0.0.1:${yPort}`] });
  await x.start();
  try {
    await waitFor(() => x.readyPeers().length === 1, 5000, "X connected to Y");
    await sleep(600); // Y told X about Z; X is full
    assert.deepEqual(x.readyPeers().map((p) => p.ebid), [keys[4]!.ebid]);
    assert.equal(z.readyPeers().length, 0, "the learned address waited");
    // Inbound past the limit: closed once its handshake is done (a handshake takes no slot).
    const extra = await handshake(`ws://127.0.0.1:${x.port}`, freshKey(), keys[5]!.ebid);
    const closed = await extra.closed;
    assert.match(closed.reason, /too many peers/);
    // Room again: the learned address is dialled.
    await y.stop();
    await waitFor(() => x.readyPeers().some((p) => p.ebid === keys[3]!.ebid), 5000, "X dialled Z once Y left");
  } finally {
    await x.stop();
    await y.stop();
    await z.stop();
  }
});

test("a learned address that keeps failing is forgotten; a configured one is redialled forever", async () => {
  const dead = await freePort();
  const deadConfigured = await freePort();
  const y = manager(keys[4]!, {}, (p) => p.send({ type: "peers", peers: [`ws://127.0.0.1:${dead}`] }));
  await y.start();
  const x = manager(keys[5]!, { peers: [`ws://127.0.0.1:${y.port}`] });
  await x.start();
  const only = manager(keys[3]!, { peers: [`ws://127.0.0.1:${deadConfigured}`] });
  await only.start();
  try {
    await waitFor(() => x.readyPeers().length === 1, 5000, "X connected to Y");
    await waitFor(() => x.health().dial_failures >= LEARNED_MAX_FAILURES, 5000, "failed dials of the learned address");
    await sleep(400); // backoff is at most 200 ms here: a live target would have been dialled again
    const settled = x.health().dial_failures;
    await sleep(600);
    assert.equal(x.health().dial_failures, settled, "no more dials after it was forgotten");
    assert.equal(settled, LEARNED_MAX_FAILURES);
    assert.ok(only.health().dial_failures > LEARNED_MAX_FAILURES, "configured peers are never forgotten");
  } finally {
    await only.stop();
    await x.stop();
    await y.stop();
  }
});

test("banMs and maxInboundPerAddress from options", async () => {
  const a = manager(keys[0]!, { maxStrikes: 1, banMs: 2000, maxInboundPerAddress: 1 });
  await a.start();
  const url = `ws://127.0.0.1:${a.port}`;
  try {
    const first = await handshakeClient(url, keys[1]!, "c1", GENESIS, keys[0]!.ebid);
    await waitFor(() => a.readyPeers().length === 1, 2000, "ready");
    // One inbound connection per address: a second one from 127.0.0.1 is refused.
    const second = await rawClient(url);
    assert.match((await second.closed).reason, /too many connections from this address/);
    first.ws.send("{garbage\n");
    assert.match((await first.closed).reason, /banned after 1 strikes/);
    assert.equal(a.health().banned, 1);
    const t0 = Date.now();
    const again = await handshakeClient(url, keys[1]!, "c1", GENESIS, keys[0]!.ebid);
    assert.match((await again.closed).reason, /banned/);
    assert.ok(Date.now() - t0 < 2000, "still within banMs");
    await sleep(2100 - (Date.now() - t0));
    assert.equal(a.health().banned, 0, "the ban expired after banMs");
    await handshakeClient(url, keys[1]!, "c1", GENESIS, keys[0]!.ebid);
    await waitFor(() => a.readyPeers().length === 1, 2000, "accepted after the ban");
  } finally {
    await a.stop();
  }
});

test("P2P options are checked: each bad value is a P2POptionsError naming the option and its flag", () => {
  const bad: [Partial<P2POptions>, RegExp][] = [
    [{ maxPeers: 0 }, /^invalid P2P option maxPeers \(--p2p-max-peers\): expected a whole number from 1 to 10000$/],
    [{ maxPeers: 1.5 }, /maxPeers \(--p2p-max-peers\)/],
    [{ maxPeers: Number.NaN }, /maxPeers \(--p2p-max-peers\)/],
    [{ maxInboundPerAddress: 0 }, /maxInboundPerAddress \(--p2p-max-inbound-per-address\): expected a whole number from 1 to 10000/],
    [{ banMs: -1 }, /banMs \(--p2p-ban-ms\): expected a whole number from 0 to 2592000000/],
    [{ banMs: 31 * 24 * 3_600_000 }, /banMs \(--p2p-ban-ms\)/],
    [{ advertiseUrl: "ws://node.example.org" }, /advertiseUrl \(--p2p-advertise\): expected ws:\/\/host:port/],
    [{ advertiseUrl: "tcp://node.example.org:7072" }, /advertiseUrl \(--p2p-advertise\)/],
    [{ peers: ["ws://a:1", "ws://b:1/path"] }, /peers\.1 \(--peers\)/],
    [{ port: 70000 }, /port \(--p2p-port\)/],
    [{ pingIntervalMs: 5000, idleTimeoutMs: 4000 }, /idleTimeoutMs: must be longer than pingIntervalMs/],
    [{ typeRateLimits: { status: { perSec: 0, burst: 1 } } }, /typeRateLimits\.status\.perSec/],
  ];
  for (const [over, re] of bad) {
    assert.throws(() => assertP2POptions({ ...defaultP2POptions, ...over }), (e) => e instanceof P2POptionsError && re.test(e.message), JSON.stringify(over));
    assert.throws(() => manager(keys[0]!, over), P2POptionsError, "the manager checks them too");
  }
  assertP2POptions({ ...defaultP2POptions, maxPeers: 1, maxInboundPerAddress: 1, banMs: 0, advertiseUrl: "wss://[2001:db8::1]:443" });
  // Bootnodes stand in for configured peers only when there are none.
  assert.deepEqual(resolveP2POptions({}, ["ws://boot:7072"]).peers, ["ws://boot:7072"]);
  assert.deepEqual(resolveP2POptions({ peers: ["ws://mine:7072"] }, ["ws://boot:7072"]).peers, ["ws://mine:7072"]);
  assert.equal(resolveP2POptions({ maxPeers: undefined }).maxPeers, defaultP2POptions.maxPeers);
});

test("protocol version 3: our hello says version 3; a version 2 hello is refused, naming the version, over a real socket", async () => {
  const a = manager(keys[0]!);
  await a.start();
  try {
    const c = await rawClient(`ws://127.0.0.1:${a.port}`);
    c.ws.send(JSON.stringify(hello(keys[1]!, { version: 2 })) + "\n");
    const closed = await c.closed;
    assert.equal(closed.reason, "protocol version 2 not supported");
    const ours = JSON.parse(c.lines.find((l) => l.includes('"hello"'))!) as Record<string, unknown>;
    assert.equal(ours.version, 3);
    assert.equal(a.readyPeers().length, 0);
    // A version 3 hello from the same key completes the handshake.
    await handshakeClient(`ws://127.0.0.1:${a.port}`, keys[1]!, "c1", GENESIS, keys[0]!.ebid);
    await waitFor(() => a.readyPeers()[0], 2000, "version 2 peer ready");
  } finally {
    await a.stop();
  }
});
