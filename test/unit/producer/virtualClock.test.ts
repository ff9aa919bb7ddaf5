// The producer side on a VirtualClock through the real parts: the eligibility snapshot updater's
// interval and the producer's slot timer fire at exactly the scheduled virtual ms, with no real wait.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { AttestationPool } from "../../../src/chain/attestationPool.ts";
import { Mempool } from "../../../src/chain/mempool.ts";
import { ClaimReceipts } from "../../../src/producer/claims.ts";
import { Producer } from "../../../src/producer/producer.ts";
import { SnapshotUpdater } from "../../../src/producer/snapshot.ts";
import { SlashingProtection } from "../../../src/node/slashingProtection.ts";
import { calculateJitter, proposeAt } from "../../../src/consensus/index.ts";
import type { Block } from "../../../src/consensus/types.ts";
import { VirtualClock, settle } from "../../../src/util/clock.ts";
import { GENESIS_TS, extend, makeKeys, makeSpec, silentLog, openTestChain } from "../../helpers/fixtures.ts";

const keys = makeKeys(3);
const spec = makeSpec(keys);

/** Runs `work` to its end, firing the clock's timers one at a time whenever nothing else can proceed. */
async function drive<T>(clock: VirtualClock, work: Promise<T>): Promise<T> {
  let done = false;
  const out = work.finally(() => (done = true));
  while (!done) {
    await settle();
    if (!done) clock.next();
  }
  return out;
}

test("the snapshot updater ticks on the injected clock's interval: once per virtual second, none after stop", () => {
  const clock = new VirtualClock(5_000);
  const ticks: number[] = [];
  const sources = { tip: () => ({ height: 7, hash: "ab".repeat(32) }), peerHeights: () => (ticks.push(clock.now()), [7, 7]) };
  const updater = new SnapshotUpdater(spec.params, sources, silentLog, 1000, clock);
  updater.start();
  clock.advance(3_500);
  assert.deepEqual(ticks, [6_000, 7_000, 8_000]);
  assert.equal(updater.current.local_height, 7);
  assert.equal(updater.current.ready_peers, 2);
  updater.stop();
  clock.advance(10_000);
  assert.equal(ticks.length, 3);
  assert.equal(clock.pending, 0);
});

test("the producer's slot timer fires at exactly its virtual ms: the primary claims and stamps its block at max(T(0), seen) + jitter", async () => {
  const clock = new VirtualClock(GENESIS_TS + 10_000_000);
  const t = await openTestChain(spec, undefined, { virtualClock: clock });
  const { chain } = t;
  try {
    await extend(chain, keys, 2);
    const parent = chain.head;
    chain.headSeenAt = clock.now();
    const schedule = await chain.scheduleFor(parent);
    const primary = keys.find((k) => k.ebid === schedule.winners[0])!;
    const jitter = calculateJitter(schedule.seed, primary.ebid, spec.params.jitter_min_ms, spec.params.jitter_max_ms);
    const at = proposeAt(parent.timestamp, chain.headSeenAt, 0, jitter, spec.params);
    assert.ok(at > clock.now(), "the slot is ahead on the virtual clock");
    const sent: Block[] = [];
    const claims = new ClaimReceipts();
    const protection = SlashingProtection.open(join(t.dir, "protection"), primary.ebid);
    const producer = new Producer(
      { ebid: primary.ebid, secretKey: primary.secretKey, blsSecretKey: primary.blsSecretKey, clock },
      { chain, attestations: new AttestationPool(), mempool: new Mempool(), claims, isEligible: () => true, broadcast: (b) => (sent.push(b), { sent: 1, skipped: 0 }), protection, log: silentLog },
    );
    const started = Date.now();
    await drive(clock, producer.tick(new AbortController().signal));
    assert.equal(sent.length, 1);
    assert.equal(claims.recent(1)[0]![1].claimed_at, at, "claimed at the slot's virtual ms");
    assert.equal(sent[0]!.header.timestamp, at);
    assert.equal(clock.now(), at, "no timer ran past the slot");
    assert.ok(Date.now() - started < 5_000, "the virtual wait took no real wait");
  } finally {
    await t.destroy();
  }
});
