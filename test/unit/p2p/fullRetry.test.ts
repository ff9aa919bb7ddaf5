// A node short of peers in a full network (docs/protocol.md §9.4), found by the simulator: full
// nodes hand every refused peer their addresses, so a learned address forgotten after its failed
// dials came straight back with a fresh backoff, and the node signed and verified a handshake with
// a full node about every second. Now a learned address refused with `too many peers` is forgotten
// at once and not learned again for FULL_REFUSED_MS, and a configured one is dialled again after
// FULL_RETRY_MS at the soonest. PeerManagers on a MemoryNetwork and a VirtualClock.
import { test } from "node:test";
import assert from "node:assert/strict";
import { FULL_REFUSED_MS, FULL_RETRY_MS, LEARNED_MAX_FAILURES, PeerManager } from "../../../src/p2p/peerManager.ts";
import { defaultP2POptions, type P2POptions } from "../../../src/p2p/options.ts";
import { MemoryNetwork } from "../../../src/p2p/memoryTransport.ts";
import type { Transport } from "../../../src/p2p/transport.ts";
import { VirtualClock, seededRng } from "../../../src/util/clock.ts";
import { makeKeys, silentLog } from "../../helpers/fixtures.ts";
import { CHAIN_ID, GENESIS, runFor } from "./attackKit.ts";

const keys = makeKeys(4);


// `other`, a `full` node (maxPeers 1, its own dial of `other` fills it) whose listener records when
// each connection opens, and a `sharer`; `newcomer(over)` is started by the test.
async function fullNetwork() {
  const clock = new VirtualClock(7_000_000);
  const net = new MemoryNetwork({ clock });
  const manager = (address: string, key: (typeof keys)[number], over: Partial<P2POptions>, transport: Transport = net.transport(address)) =>
    new PeerManager(
      { ...defaultP2POptions, host: "0.0.0.0", port: 0, ...over },
      { chainId: CHAIN_ID, genesisHash: GENESIS, ebid: key.ebid, secretKey: key.secretKey },
      { status: () => ({ height: 0, tip_hash: GENESIS }), onPeerReady: () => undefined, onMessage: () => undefined, onRequest: async () => ({ ok: false }) },
      silentLog,
      { clock, rng: seededRng(3), transport },
    );
  const other = manager("10.31.0.1", keys[0]!, {});
  await other.start();
  // Each connection the full node's listener opens: a signed handshake both ends pay for.
  const opened: number[] = [];
  const t = net.transport("10.32.0.1");
  const listen = t.listen.bind(t);
  t.listen = (o) => listen({ ...o, onConnection: (c) => (opened.push(clock.now()), o.onConnection(c)) });
  const full = manager("10.32.0.1", keys[1]!, { maxPeers: 1, peers: [`ws://10.31.0.1:${other.port}`] }, t);
  await full.start();
  const sharer = manager("10.33.0.1", keys[2]!, {});
  await sharer.start();
  const fullUrl = `ws://10.32.0.1:${full.port}`;
  const all = [other, full, sharer];
  const newcomer = async (over: Partial<P2POptions>) => {
    const n = manager("10.34.0.1", keys[3]!, over);
    all.unshift(n);
    await n.start();
    return n;
  };
  const stop = async () => {
    for (const m of all) await m.stop();
  };
  return { clock, other, full, fullUrl, sharer, sharerUrl: `ws://10.33.0.1:${sharer.port}`, opened, newcomer, stop };
}

const gaps = (times: number[]) => times.slice(1).map((t, i) => t - times[i]!);

test("a full node's address shared again every 5 s: refused once, forgotten, and not learned again for FULL_REFUSED_MS", async () => {
  const n = await fullNetwork();
  try {
    const newcomer = await n.newcomer({ peers: [n.sharerUrl] });
    const share = () => {
      for (const p of n.sharer.readyPeers()) p.send({ type: "peers", peers: [n.fullUrl] });
      n.clock.setTimeout(share, 5_000);
    };
    share();
    await runFor(n.clock, 5_000);
    assert.ok(newcomer.readyPeers().some((p) => p.ebid === keys[2]!.ebid), "the newcomer reached the sharer");
    assert.ok(n.full.readyPeers().length === 1 && n.full.readyPeers()[0]!.ebid === keys[0]!.ebid, "the full node holds its one peer");
    // Before: 5 refused dials in about 15 s, forgotten, learned again at the next share: 35 in 10 min.
    await runFor(n.clock, 10 * 60_000);
    assert.ok(n.opened.length >= 2, `the newcomer dialled the full node again after FULL_REFUSED_MS (${n.opened.length} dials)`);
    assert.ok(n.opened.length <= Math.ceil((10 * 60_000) / FULL_REFUSED_MS) + 1, `${n.opened.length} dials to the full node in 10 min`);
    assert.ok(gaps(n.opened).every((g) => g >= FULL_REFUSED_MS), `dials at least FULL_REFUSED_MS apart: ${gaps(n.opened).join(", ")} ms`);
    assert.ok(newcomer.readyPeers().some((p) => p.ebid === keys[0]!.ebid), "the sample the full node sent led the newcomer to the other node");
  } finally {
    await n.stop();
  }
});

test("a configured full node is dialled again FULL_RETRY_MS apart at the soonest, and never forgotten", async () => {
  const n = await fullNetwork();
  try {
    await n.newcomer({ peers: [n.fullUrl] });
    await runFor(n.clock, 10 * 60_000);
    assert.ok(n.opened.length >= 10, `still dialled: ${n.opened.length} dials in 10 min`);
    assert.ok(gaps(n.opened).every((g) => g >= FULL_RETRY_MS), `dials at least FULL_RETRY_MS apart: ${gaps(n.opened).join(", ")} ms`);
  } finally {
    await n.stop();
  }
});

test("an address refused as full and shared only once is learned again after FULL_REFUSED_MS: a slot freed later is found", async () => {
  const n = await fullNetwork();
  try {
    const newcomer = await n.newcomer({ peers: [n.sharerUrl] });
    await runFor(n.clock, 1_000);
    for (const p of n.sharer.readyPeers()) p.send({ type: "peers", peers: [n.fullUrl] });
    await runFor(n.clock, 60_000);
    assert.equal(n.opened.length, 1, "refused once");
    assert.ok(!newcomer.readyPeers().some((p) => p.ebid === keys[1]!.ebid));
    // The full node's one peer goes: it has room now, and nobody shares its address again.
    await n.other.stop();
    await runFor(n.clock, FULL_REFUSED_MS + 30_000);
    assert.ok(newcomer.readyPeers().some((p) => p.ebid === keys[1]!.ebid), `the newcomer found the freed slot (${n.opened.length} dials)`);
  } finally {
    await n.stop();
  }
});

test("a close with reason 'too many peers' before the handshake completes is a failed dial, not a full node", async () => {
  const clock = new VirtualClock(8_000_000);
  const net = new MemoryNetwork({ clock });
  // A listener that closes every connection at once with that reason, before any hello.
  let opened = 0;
  await net.transport("10.41.0.1").listen({
    host: "0.0.0.0",
    port: 7000,
    maxPayloadBytes: 1 << 20,
    admit: () => undefined,
    onConnection: (c) => (opened++, c.close(1000, "too many peers")),
    onError: () => undefined,
    onClose: () => undefined,
  });
  const pm = new PeerManager(
    { ...defaultP2POptions, host: "0.0.0.0", port: 0, peers: [] },
    { chainId: CHAIN_ID, genesisHash: GENESIS, ebid: keys[3]!.ebid, secretKey: keys[3]!.secretKey },
    { status: () => ({ height: 0, tip_hash: GENESIS }), onPeerReady: () => undefined, onMessage: () => undefined, onRequest: async () => ({ ok: false }) },
    silentLog,
    { clock, rng: seededRng(4), transport: net.transport("10.42.0.1") },
  );
  await pm.start();
  try {
    pm.addTarget("ws://10.41.0.1:7000", false, "10.43.0.1");
    await runFor(clock, 5 * 60_000);
    // As a failed dial: LEARNED_MAX_FAILURES tries with backoff, then forgotten (and its group counted dead).
    assert.equal(opened, LEARNED_MAX_FAILURES, `${opened} connections`);
  } finally {
    await pm.stop();
  }
});

test("one endpoint shared under several spellings (hex, octal, short IPv4, a trailing slash) is one learned address", async () => {
  const n = await fullNetwork();
  try {
    const newcomer = await n.newcomer({ peers: [n.sharerUrl] });
    await runFor(n.clock, 1_000);
    const port = new URL(n.fullUrl).port;
    const spellings = [`ws://0xa.32.0.1:${port}`, `ws://012.32.0.1:${port}`, `ws://10.32.1:${port}`, `ws://10.32.0.1:${port}/`, n.fullUrl];
    for (const p of n.sharer.readyPeers()) p.send({ type: "peers", peers: spellings });
    await runFor(n.clock, 60_000);
    assert.equal(n.opened.length, 1, `${n.opened.length} connections for one endpoint`);
    assert.ok(newcomer.readyPeers().length >= 1);
  } finally {
    await n.stop();
  }
});
