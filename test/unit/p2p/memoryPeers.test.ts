// PeerManagers on a MemoryNetwork and a VirtualClock (no socket): the keepalive's ping and pong
// keep a quiet link up, a link that stops delivering is terminated at the idle timeout, and an
// address banned for its keys' bans is refused before its connection opens (403), as over WebSockets.
import { test } from "node:test";
import assert from "node:assert/strict";
import { PeerManager } from "../../../src/p2p/peerManager.ts";
import { defaultP2POptions, type P2POptions } from "../../../src/p2p/options.ts";
import { ADDRESS_BAN_AFTER } from "../../../src/p2p/limits.ts";
import { MemoryNetwork } from "../../../src/p2p/memoryTransport.ts";
import { VirtualClock, seededRng, settle } from "../../../src/util/clock.ts";
import { makeKeys, silentLog } from "../../helpers/fixtures.ts";
import { CHAIN_ID, GENESIS, runFor } from "./attackKit.ts";

const keys = makeKeys(ADDRESS_BAN_AFTER + 2);
const id = (k: (typeof keys)[number]) => ({ chainId: CHAIN_ID, genesisHash: GENESIS, ebid: k.ebid, secretKey: k.secretKey });
const handlers = {
  status: () => ({ height: 0, tip_hash: GENESIS }),
  onPeerReady: () => undefined,
  onMessage: () => undefined,
  onRequest: async () => ({ ok: false }),
};

// Fires timers one at a time (letting promise work run between them) until `done` holds.
async function drive(clock: VirtualClock, done: () => boolean, maxMs: number, what: string): Promise<void> {
  const end = clock.now() + maxMs;
  for (;;) {
    await settle();
    if (done()) return;
    const at = clock.nextAt();
    if (at === undefined || at > end) throw new Error(`${what}: not within ${maxMs} virtual ms`);
    clock.next();
  }
}


function manager(net: MemoryNetwork, address: string, key: (typeof keys)[number], over: Partial<P2POptions> = {}): PeerManager {
  return new PeerManager({ ...defaultP2POptions, host: "0.0.0.0", port: 0, ...over }, id(key), handlers, silentLog, { clock: net.clock as VirtualClock, rng: seededRng(1), transport: net.transport(address) });
}

test("keepalive over memory: pings and pongs keep a quiet link up; when the link stops delivering, the peer is dropped at the idle timeout", async () => {
  const clock = new VirtualClock(5_000_000);
  let cut = false;
  // A link that loses everything once cut (a partition that leaves both ends open).
  const net = new MemoryNetwork({ clock, scheduler: { send: (_f, _t, _b, deliver) => void clock.setTimeout(() => cut || deliver(), 20) } });
  const a = manager(net, "10.1.0.1", keys[0]!);
  await a.start();
  const b = manager(net, "10.1.0.2", keys[1]!, { peers: [`ws://10.1.0.1:${a.port}`] });
  await b.start();
  try {
    await drive(clock, () => a.readyPeers().length === 1 && b.readyPeers().length === 1, 5_000, "connected");
    const peer = b.readyPeers()[0]!;
    const quiet = 10 * defaultP2POptions.idleTimeoutMs;
    await runFor(clock, quiet); // nothing but pings for 10 idle timeouts
    assert.equal(peer.state, "ready", "pongs kept the quiet link alive");
    assert.ok(clock.now() - peer.lastSeen <= defaultP2POptions.pingIntervalMs + 100, "the last pong is recent");
    cut = true;
    const cutAt = clock.now();
    await drive(clock, () => peer.state === "closed", 2 * defaultP2POptions.idleTimeoutMs, "dropped");
    assert.equal(peer.closeReason, "keepalive timeout");
    assert.ok(clock.now() - cutAt >= defaultP2POptions.idleTimeoutMs - defaultP2POptions.pingIntervalMs, "not before the idle timeout");
  } finally {
    await b.stop();
    await a.stop();
  }
});

test("an address whose keys earned ADDRESS_BAN_AFTER bans is refused before its connection opens (403), and the dialler counts a failed dial", async () => {
  const clock = new VirtualClock(6_000_000);
  const net = new MemoryNetwork({ clock });
  const server = manager(net, "10.2.0.1", keys[0]!, { maxStrikes: 1 });
  await server.start();
  const url = `ws://10.2.0.1:${server.port}`;
  try {
    for (let i = 1; i <= ADDRESS_BAN_AFTER; i++) {
      const client = manager(net, "10.3.0.9", keys[i]!, { peers: [url] });
      await client.start();
      await drive(clock, () => server.readyPeers().length === 1, 5_000, `client ${i} connected`);
      server.penalize(server.readyPeers()[0]!, "invalid block");
      await drive(clock, () => server.allPeers().length === 0, 5_000, `client ${i} banned`);
      await client.stop();
    }
    const last = manager(net, "10.3.0.9", keys[ADDRESS_BAN_AFTER + 1]!, { peers: [url] });
    await last.start();
    await drive(clock, () => last.health().dial_failures > 0, 5_000, "refused");
    assert.equal(server.allPeers().length, 0, "no connection opened at the server");
    let refusal: Error | undefined;
    net.transport("10.3.0.9").dial(url, { maxPayloadBytes: 1 << 20, handshakeTimeoutMs: 5000 }, { open: () => assert.fail("opened"), error: (e) => (refusal = e) });
    await drive(clock, () => refusal !== undefined, 5_000, "a raw dial refused");
    assert.match(refusal!.message, /403/, "refused as banned (not rate limited)");
    // Another address is still let in.
    const other = manager(net, "10.4.0.9", keys[ADDRESS_BAN_AFTER + 1]!, { peers: [url] });
    await other.start();
    await drive(clock, () => server.readyPeers().length === 1, 5_000, "another address connected");
    await other.stop();
    await last.stop();
  } finally {
    await server.stop();
  }
});

test("a stop while start is binding closes what it bound; a second start waits for the first", async () => {
  const net = new MemoryNetwork({ clock: new VirtualClock(0) });
  const pm = manager(net, "10.5.0.1", keys[0]!);
  const [first, second] = [pm.start(), pm.start()];
  const stopped = pm.stop();
  await Promise.all([first, second, stopped]);
  assert.equal(pm.health().listening, false);
  assert.equal(net.isListening("ws://10.5.0.1:30333"), false, "the listener bound during the stop is closed");
  await pm.start();
  assert.equal(pm.health().listening, true, "started again after the stop");
  await pm.stop();
});

test("a dial that opens after stop() is dropped at once: no peer is kept on either side", async () => {
  const clock = new VirtualClock(9_000_000);
  const net = new MemoryNetwork({ clock });
  const a = manager(net, "10.6.0.1", keys[0]!);
  await a.start();
  const b = manager(net, "10.6.0.2", keys[1]!, { peers: [`ws://10.6.0.1:${a.port}`] });
  await b.start(); // its dial of `a` is on its way
  await b.stop(); // before the connection opens at b
  try {
    await runFor(clock, 5_000);
    assert.equal(b.allPeers().length, 0, "b kept no connection");
    assert.equal(a.readyPeers().length, 0, "a holds no peer from it");
  } finally {
    await a.stop();
  }
});
