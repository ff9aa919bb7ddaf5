// A full node and a second connection from a peer it already holds (docs/protocol.md §9.4): the
// one-connection-per-EBID rule is settled before the slot count, so the new connection takes the
// old one's slot. Before, the full node refused the new one as "too many peers" while the peer, by
// the same rule, dropped the old one: both links were lost until a redial. Simultaneous dials
// between two nodes that list each other are the everyday way to get there.
import { test } from "node:test";
import assert from "node:assert/strict";
import { PeerManager } from "../../../src/p2p/peerManager.ts";
import { defaultP2POptions, type P2POptions } from "../../../src/p2p/options.ts";
import { MemoryNetwork } from "../../../src/p2p/memoryTransport.ts";
import { VirtualClock, seededRng } from "../../../src/util/clock.ts";
import { makeKeys, silentLog, type TestKey } from "../../helpers/fixtures.ts";
import { CHAIN_ID, GENESIS, manager, runFor, sleep } from "./attackKit.ts";

// The duplicate rule keeps the connection dialled by the lower EBID: `low` dials the full node
// second, so its new connection is the one both ends must keep.
const [low, high] = makeKeys(6)
  .slice()
  .sort((a, b) => (a.ebid < b.ebid ? -1 : 1));
const states = (m: PeerManager) => m.allPeers().map((p) => p.state);

/** Runs the clock 3 s in 10 ms steps; returns in how many steps `m` had no ready peer `ebid`. */
async function downSamples(clock: VirtualClock, m: PeerManager, ebid: string): Promise<number> {
  let down = 0;
  for (let t = 0; t < 3_000; t += 10) {
    await runFor(clock, 10);
    if (!m.readyPeers().some((p) => p.ebid === ebid)) down++;
  }
  return down;
}

/** A MemoryNetwork on a VirtualClock, and `make(address, key, options)` for a PeerManager on it. */
function memoryNetwork(seed: number) {
  const clock = new VirtualClock(9_000_000);
  const net = new MemoryNetwork({ clock });
  const make = (address: string, key: TestKey | undefined, over: Partial<P2POptions>) =>
    new PeerManager(
      { ...defaultP2POptions, host: "0.0.0.0", port: 0, ...over },
      { chainId: CHAIN_ID, genesisHash: GENESIS, ebid: key!.ebid, secretKey: key!.secretKey },
      { status: () => ({ height: 0, tip_hash: GENESIS }), onPeerReady: () => undefined, onMessage: () => undefined, onRequest: async () => ({ ok: false }) },
      silentLog,
      { clock, rng: seededRng(seed), transport: net.transport(address) },
    );
  return { clock, make };
}

test("a full node keeps a peer that dials it while the full node's own dial to it is up (MemoryNetwork)", async () => {
  const { clock, make } = memoryNetwork(5);
  const peer = make("10.41.0.1", low, {});
  await peer.start();
  const full = make("10.42.0.1", high, { maxPeers: 1, peers: [`ws://10.41.0.1:${peer.port}`] });
  await full.start();
  try {
    await runFor(clock, 2_000);
    assert.deepEqual(full.readyPeers().map((p) => [p.ebid, p.direction]), [[low!.ebid, "outbound"]], "the full node's one slot: its dial of the peer");
    // The peer dials the full node (it learned or was given its address): a second connection.
    peer.addTarget(`ws://10.42.0.1:${full.port}`);
    const lost = await downSamples(clock, peer, high!.ebid);
    assert.equal(lost, 0, "the link between them was never down");
    assert.deepEqual(full.readyPeers().map((p) => [p.ebid, p.direction]), [[low!.ebid, "inbound"]], "the full node kept the peer's dial (lower EBID), in the same slot");
    assert.deepEqual(peer.readyPeers().map((p) => [p.ebid, p.direction]), [[high!.ebid, "outbound"]]);
  } finally {
    await peer.stop();
    await full.stop();
  }
});

test("with its inbound share full, a node keeps the peer that replaces its dial, in the dial's slot, and evicts nobody", async () => {
  const { clock, make } = memoryNetwork(6);
  // maxPeers 8: 2 outbound slots reserved, 6 inbound. `node` dials `peer`; six others fill its inbound share.
  const others = makeKeys(14).slice(7);
  const node = make("10.50.0.1", high, { maxPeers: 8 });
  await node.start();
  const peer = make("10.51.0.1", low, {});
  await peer.start();
  const all = [node, peer];
  try {
    node.addTarget(`ws://10.51.0.1:${peer.port}`);
    for (const [i, key] of others.entries()) {
      const m = make(`10.${60 + i}.0.1`, key, { peers: [`ws://10.50.0.1:${node.port}`] });
      all.push(m);
      await m.start();
    }
    await runFor(clock, 3_000);
    const inbound = () => node.readyPeers().filter((p) => p.direction === "inbound").map((p) => p.ebid).sort();
    const filled = inbound();
    assert.equal(filled.length, 6, "the inbound share is full");
    assert.deepEqual(node.readyPeers().filter((p) => p.direction === "outbound").map((p) => p.ebid), [low!.ebid]);
    peer.addTarget(`ws://10.50.0.1:${node.port}`);
    const lost = await downSamples(clock, peer, high!.ebid);
    assert.equal(lost, 0, "the link between them was never down");
    assert.deepEqual(peer.readyPeers().map((p) => [p.ebid, p.direction]), [[high!.ebid, "outbound"]], "the peer's dial replaced the node's");
    assert.deepEqual(inbound(), [...filled, low!.ebid].sort(), "no inbound peer was evicted to make room");
    // The replaced dial's slot is still an outbound one: a seventh stranger is refused.
    const stranger = make("10.70.0.1", makeKeys(15)[14], { peers: [`ws://10.50.0.1:${node.port}`] });
    all.push(stranger);
    await stranger.start();
    await runFor(clock, 3_000);
    assert.ok(!stranger.readyPeers().some((p) => p.ebid === high!.ebid), "the inbound share stays 6 strangers");
    assert.equal(node.readyPeers().length, 7);
  } finally {
    for (const m of all) await m.stop();
  }
});

test("the same over real WebSockets on 127.0.0.1: one link, never dropped", async () => {
  const peer = manager(low!);
  await peer.start();
  const full = manager(high!, { maxPeers: 1, peers: [`ws://127.0.0.1:${peer.port}`] });
  await full.start();
  try {
    for (let i = 0; i < 100 && full.readyPeers().length === 0; i++) await sleep(20);
    assert.equal(full.readyPeers()[0]?.direction, "outbound", "the full node's dial is up");
    peer.addTarget(`ws://127.0.0.1:${full.port}`);
    let lost = 0;
    for (let i = 0; i < 100; i++) {
      await sleep(20);
      if (!peer.readyPeers().some((p) => p.ebid === high!.ebid)) lost++;
    }
    assert.equal(lost, 0, `the link was down in ${lost} of 100 samples (${states(peer).join(",")})`);
    assert.deepEqual(full.readyPeers().map((p) => [p.ebid, p.direction]), [[low!.ebid, "inbound"]]);
  } finally {
    await peer.stop();
    await full.stop();
  }
});
