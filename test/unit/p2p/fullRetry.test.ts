// A node short of peers in a full network (docs/protocol.md §9.4), found by the simulator: full
// nodes hand every refused peer their addresses, so a learned address forgotten after its failed
// dials came straight back with a fresh backoff, and the node signed and verified a handshake with
// a full node about every second. Now a `too many peers` refusal is retried after 30-60 s, and a
// forgotten address is not learned again for FORGOTTEN_MS. PeerManagers on a MemoryNetwork and a
// VirtualClock.
import { test } from "node:test";
import assert from "node:assert/strict";
import { FORGOTTEN_MS, FULL_RETRY_MS, LEARNED_MAX_FAILURES, PeerManager } from "../../../src/p2p/peerManager.ts";
import { defaultP2POptions, type P2POptions } from "../../../src/p2p/options.ts";
import { MemoryNetwork } from "../../../src/p2p/memoryTransport.ts";
import type { Transport } from "../../../src/p2p/transport.ts";
import { VirtualClock, seededRng, settle } from "../../../src/util/clock.ts";
import { makeKeys, silentLog } from "../../helpers/fixtures.ts";
import { CHAIN_ID, GENESIS } from "./attackKit.ts";

const keys = makeKeys(4);

// Fires every timer due within the next `ms`, one at a time, letting promise work run between them.
async function runFor(clock: VirtualClock, ms: number): Promise<void> {
  const end = clock.now() + ms;
  for (let at = clock.nextAt(); at !== undefined && at <= end; at = clock.nextAt()) {
    clock.next();
    await settle();
  }
  clock.advance(end - clock.now());
}

test("a full node's address shared again and again: refused dials are spaced 30-60 s apart, and once forgotten it is not learned again for FORGOTTEN_MS", async () => {
  const clock = new VirtualClock(7_000_000);
  const net = new MemoryNetwork({ clock });
  // Counts the connections a listener opens: each one a signed handshake both ends pay for.
  const counted = (address: string, count: { n: number }): Transport => {
    const t = net.transport(address);
    const listen = t.listen.bind(t);
    t.listen = (o) => listen({ ...o, onConnection: (c) => (count.n++, o.onConnection(c)) });
    return t;
  };
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
  // maxPeers 1: its own dial of `other` fills it, so every inbound peer is refused.
  const atFull = { n: 0 };
  const full = manager("10.32.0.1", keys[1]!, { maxPeers: 1, peers: [`ws://10.31.0.1:${other.port}`] }, counted("10.32.0.1", atFull));
  await full.start();
  const fullUrl = `ws://10.32.0.1:${full.port}`;
  // The sharer tells each peer the full node's address every 5 s.
  const sharer = manager("10.33.0.1", keys[2]!, {});
  await sharer.start();
  const newcomer = manager("10.34.0.1", keys[3]!, { peers: [`ws://10.33.0.1:${sharer.port}`] });
  await newcomer.start();
  try {
    const share = () => {
      for (const p of sharer.readyPeers()) p.send({ type: "peers", peers: [fullUrl] });
      clock.setTimeout(share, 5_000);
    };
    share();
    await runFor(clock, 5_000);
    const reachesSharer = () => newcomer.readyPeers().some((p) => p.ebid === keys[2]!.ebid);
    assert.ok(reachesSharer(), "the newcomer reached the sharer");
    assert.ok(full.readyPeers().length === 1 && full.readyPeers()[0]!.ebid === keys[0]!.ebid, "the full node holds its one peer");

    // Before: 5 dials in about 15 s, forgotten, learned again at the next share: about 150 dials in
    // 10 minutes. Now: LEARNED_MAX_FAILURES dials 30-60 s apart, then nothing until FORGOTTEN_MS.
    const window = FORGOTTEN_MS;
    await runFor(clock, window);
    assert.ok(atFull.n >= 1, "the newcomer dialled the full node");
    assert.ok(atFull.n <= LEARNED_MAX_FAILURES, `${atFull.n} connections to the full node in ${window / 60_000} min`);
    assert.ok(LEARNED_MAX_FAILURES * FULL_RETRY_MS < window, "the window covers the refused dials");
    assert.ok(reachesSharer(), "still connected to the sharer");

    // Forgotten is not forever: once FORGOTTEN_MS has passed, a share makes it a target again.
    const before = atFull.n;
    await runFor(clock, FORGOTTEN_MS + 2 * FULL_RETRY_MS);
    assert.ok(atFull.n > before, "dialled again after FORGOTTEN_MS");
    assert.ok(atFull.n <= before + LEARNED_MAX_FAILURES + 1, `${atFull.n - before} more connections`);
  } finally {
    await newcomer.stop();
    await sharer.stop();
    await full.stop();
    await other.stop();
  }
});
