// P2P on a VirtualClock over real WebSockets: a request's timeout and the dial backoff's timer run on
// the injected clock (exact virtual ms, no real wait), and the backoff's jitter comes from the
// injected Rng (one seed, one delay).
import { test } from "node:test";
import assert from "node:assert/strict";
import { PeerManager } from "../../../src/p2p/peerManager.ts";
import { defaultP2POptions } from "../../../src/p2p/options.ts";
import { VirtualClock, seededRng, settle } from "../../../src/util/clock.ts";
import { makeKeys, silentLog } from "../../helpers/fixtures.ts";
import { freePort, waitFor } from "../../helpers/net.ts";
import { CHAIN_ID, GENESIS, sleep } from "./attackKit.ts";

const keys = makeKeys(2);
const id = (k: (typeof keys)[number]) => ({ chainId: CHAIN_ID, genesisHash: GENESIS, ebid: k.ebid, secretKey: k.secretKey });
const status = () => ({ height: 3, tip_hash: "22".repeat(32) });

test("a request to a peer that never answers times out when the virtual clock reaches its timeout, not before", async () => {
  const clock = new VirtualClock(1_000_000);
  const server = new PeerManager({ ...defaultP2POptions, host: "127.0.0.1", port: 0 }, id(keys[0]!), {
    status, onPeerReady: () => undefined, onMessage: () => undefined, onRequest: () => new Promise(() => undefined),
  }, silentLog, { clock });
  await server.start();
  const client = new PeerManager({ ...defaultP2POptions, host: "127.0.0.1", port: 0, peers: [`ws://127.0.0.1:${server.port}`] }, id(keys[1]!), {
    status, onPeerReady: () => undefined, onMessage: () => undefined, onRequest: async () => ({ ok: false }),
  }, silentLog, { clock });
  await client.start();
  try {
    const p = await waitFor(() => client.readyPeers()[0], 3000, "connected");
    assert.equal(p.connectedAt, 1_000_000, "the peer's times are the clock's");
    let answer: unknown;
    void p.request("/x", null, 5_000).then((r) => (answer = r));
    clock.advance(4_999);
    await sleep(50);
    assert.equal(answer, undefined, "not before its virtual timeout");
    clock.advance(1);
    await settle();
    assert.deepEqual(answer, { ok: false, errors: ["request timed out"] });
    assert.equal(p.state, "ready", "the keepalive (ping, idle) follows the same clock: 5 s is within it");
  } finally {
    await client.stop();
    await server.stop();
  }
});

test("a failed dial is retried after the seeded jitter's delay on the virtual clock", async () => {
  const port = await freePort(); // nobody listens there
  const clock = new VirtualClock(2_000_000);
  const pm = new PeerManager({ ...defaultP2POptions, host: "127.0.0.1", port: 0, peers: [`ws://127.0.0.1:${port}`] }, id(keys[0]!), {
    status, onPeerReady: () => undefined, onMessage: () => undefined, onRequest: async () => ({ ok: false }),
  }, silentLog, { clock, rng: seededRng(9) });
  await pm.start();
  try {
    await waitFor(() => pm.health().dial_failures === 1, 3000, "the first dial refused");
    // full jitter on the first retry: uniform in [0, min(cap, base * 2^0)], the seed's first draw
    const due = 2_000_000 + seededRng(9).next() * Math.min(defaultP2POptions.backoffCapMs, defaultP2POptions.backoffBaseMs);
    assert.ok(clock.nextAt()! <= due, "the retry timer is on the virtual clock");
    clock.advance(Math.max(0, Math.ceil(due) - 1 - clock.now()));
    await sleep(100);
    assert.equal(pm.health().dial_failures, 1, "not redialled before its delay");
    clock.advance(1);
    await waitFor(() => pm.health().dial_failures === 2, 3000, "redialled at its delay");
  } finally {
    await pm.stop();
  }
});
