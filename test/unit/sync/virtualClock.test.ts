// The sync side on a VirtualClock: the syncer's unknown-tip grace timer and the checkpoint fetch's
// retry pauses and deadline run on the injected clock (exact virtual ms, no real wait).
import { test } from "node:test";
import assert from "node:assert/strict";
import { Syncer } from "../../../src/sync/syncer.ts";
import { fetchCheckpointState } from "../../../src/sync/stateAt.ts";
import type { Peer } from "../../../src/p2p/peer.ts";
import { VirtualClock, settle } from "../../../src/util/clock.ts";
import { GENESIS_TS, extend, makeKeys, makeSpec, silentLog, openTestChain } from "../../helpers/fixtures.ts";
import { waitFor } from "../../helpers/net.ts";

const keys = makeKeys(3);
const spec = makeSpec(keys);

test("the syncer asks a peer about its unknown tip when the grace ms have passed on its clock, not before", async () => {
  const clock = new VirtualClock(GENESIS_TS + 10_000_000);
  const t = await openTestChain(spec, undefined, { virtualClock: clock });
  const { chain } = t;
  try {
    await extend(chain, keys, 2);
    const asked: { path: string; at: number }[] = [];
    const peer = {
      ebid: "a".repeat(64),
      remoteAddress: "127.0.0.1",
      state: "ready",
      height: chain.head.height,
      tipHash: "f".repeat(64), // a tip this node does not hold, at its height
      backedHeight: 0,
      claimSince: undefined,
      claimsIgnored: false,
      usableHeight: chain.head.height,
      back: () => undefined,
      request: async (path: string) => (asked.push({ path, at: clock.now() }), { ok: false, data: null, errors: ["no"] }),
    } as unknown as Peer;
    const syncer = new Syncer({ chain, peers: () => [peer], penalize: () => undefined, log: silentLog, clock }, { unknownTipGraceMs: 1_500 });
    const start = clock.now();
    syncer.maybeSync(peer);
    assert.equal(clock.pending, 1, "the grace timer is on the virtual clock");
    clock.advance(1_499);
    for (let i = 0; i < 20; i++) await settle();
    assert.deepEqual(asked, []);
    clock.advance(1);
    await waitFor(() => asked.length > 0, 5_000, "the peer asked"); // after a real LevelDB read
    assert.deepEqual(asked, [{ path: "/data/chain_info", at: start + 1_500 }]);
    syncer.stop();
  } finally {
    await t.destroy();
  }
});

test("a checkpoint fetch with no ready peer retries every retryMs of its clock and gives up at its virtual deadline", async () => {
  const clock = new VirtualClock(1_000_000);
  const polls: number[] = [];
  const started = Date.now();
  const fetch = fetchCheckpointState(
    spec,
    { height: 8, hash: "e".repeat(64) },
    { peers: () => (polls.push(clock.now()), []), penalize: () => undefined, log: silentLog },
    { timeoutMs: 60_000, retryMs: 10_000, clock },
  );
  let error: Error | undefined;
  fetch.catch((e: Error) => (error = e));
  while (error === undefined) {
    await settle();
    if (error === undefined) assert.ok(clock.next(), "a retry timer is pending");
  }
  assert.match(error.message, /no peer was ready/);
  // polled every 10 s until the first poll past the 60 s deadline
  assert.deepEqual(polls, [0, 10_000, 20_000, 30_000, 40_000, 50_000, 60_000, 70_000].map((d) => 1_000_000 + d));
  assert.ok(Date.now() - started < 5_000, "a 60 s virtual timeout took no real wait");
});
