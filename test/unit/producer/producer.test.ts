// The producer loop with a fake clock over a real chain: same winners, same timing, every run.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Producer } from "../../../src/producer/producer.ts";
import { ClaimReceipts } from "../../../src/producer/claims.ts";
import { AttestationPool } from "../../../src/chain/attestationPool.ts";
import { Mempool } from "../../../src/chain/mempool.ts";
import { calculateJitter, proposeAt, slotOpensAt } from "../../../src/consensus/index.ts";
import type { Block } from "../../../src/consensus/types.ts";
import { attestOn, blockFor, extend, makeKeys, makeSpec, openTestChain, silentLog, type TestKey } from "../../helpers/fixtures.ts";

const keys = makeKeys(3);
const spec = makeSpec(keys);

function producerFor(c: Awaited<ReturnType<typeof openTestChain>>, key: TestKey, onSleep?: () => Promise<void>) {
  const sent: Block[] = [];
  const claims = new ClaimReceipts();
  const attestations = new AttestationPool();
  const mempool = new Mempool();
  const producer = new Producer(
    {
      ebid: key.ebid,
      secretKey: key.secretKey,
      blsSecretKey: key.blsSecretKey,
      now: () => c.clock.now,
      sleep: async (ms) => {
        c.clock.now += ms;
        await onSleep?.();
      },
    },
    { chain: c.chain, attestations, mempool, claims, isEligible: () => true, broadcast: (b) => (sent.push(b), { sent: 2, skipped: 0 }), log: silentLog },
  );
  return { producer, sent, claims, attestations, mempool };
}

test("the primary waits for T(0) + its jitter, then produces a valid block with pooled attestations", async () => {
  const c = await openTestChain(spec);
  try {
    await extend(c.chain, keys, 2);
    const parent = c.chain.head;
    c.clock.now = parent.timestamp + 100; // the parent just arrived
    c.chain.headSeenAt = c.clock.now;
    const schedule = await c.chain.scheduleFor(parent);
    const primary = keys.find((k) => k.ebid === schedule.winners[0])!;
    const { producer, sent, claims, attestations } = producerFor(c, primary);
    attestations.add(await attestOn(c.chain, keys[1]!, parent.height, parent.hash));
    attestations.add(await attestOn(c.chain, keys[2]!, parent.height - 1, parent.parent_hash));
    await producer.tick(new AbortController().signal);
    assert.equal(sent.length, 1);
    const b = sent[0]!;
    const jitter = calculateJitter(schedule.seed, primary.ebid, 50, 400);
    assert.equal(b.header.timestamp, proposeAt(parent.timestamp, parent.timestamp + 100, 0, jitter, spec.params));
    assert.equal(b.header.slot, 0);
    assert.equal(b.attestations.length, 2);
    assert.equal(c.chain.head.hash, b.hash, "imported locally");
    const recent = claims.recent(10);
    assert.equal(recent.length, 1);
    const [h, receipt] = recent[0]!;
    assert.equal(h, parent.height + 1);
    assert.deepEqual([receipt.slot_idx, receipt.tip_hash, receipt.winner_id], [0, parent.hash, primary.ebid]);
    assert.equal(claims.records(1)[0]!.outcome, "produced");
    // a parent is attempted once: further ticks only ever produce later heights
    for (let i = 0; i < 3; i++) await producer.tick(new AbortController().signal);
    assert.equal(new Set(sent.map((x) => x.header.height)).size, sent.length);
  } finally {
    await c.destroy();
  }
});

test("a backup cancels when the primary's block arrives, and takes over when it does not", async () => {
  const c = await openTestChain(spec);
  try {
    await extend(c.chain, keys, 1);
    const parent = c.chain.head;
    c.clock.now = parent.timestamp;
    c.chain.headSeenAt = c.clock.now;
    const schedule = await c.chain.scheduleFor(parent);
    const backup = keys.find((k) => k.ebid === schedule.winners[1])!;
    const primaryBlock = await blockFor(c.chain, parent, keys, 0);
    let delivered = false;
    const { producer, sent, claims } = producerFor(c, backup, async () => {
      if (!delivered && c.clock.now >= slotOpensAt(parent.timestamp, 0, spec.params) + 300) {
        delivered = true;
        await c.chain.importBlock(primaryBlock);
      }
    });
    await producer.tick(new AbortController().signal);
    assert.equal(sent.length, 0, "cancelled by the lower slot");
    assert.equal(claims.records().length, 0, "no claim recorded");
    assert.equal(producer.stats.superseded, 1);

    // Next height: the primary is silent, so backup #1 produces at T(1) + jitter.
    const parent2 = c.chain.head;
    const s2 = await c.chain.scheduleFor(parent2);
    c.clock.now = parent2.timestamp;
    c.chain.headSeenAt = c.clock.now;
    const b1 = keys.find((k) => k.ebid === s2.winners[1])!;
    const p2 = producerFor(c, b1);
    await p2.producer.tick(new AbortController().signal);
    assert.equal(p2.sent.length, 1);
    const blk = p2.sent[0]!;
    assert.equal(blk.header.slot, 1);
    assert.ok(blk.header.timestamp >= slotOpensAt(parent2.timestamp, 1, spec.params));
    assert.ok(blk.header.timestamp < slotOpensAt(parent2.timestamp, 1, spec.params) + 400);
    assert.equal(c.chain.head.hash, blk.hash);
  } finally {
    await c.destroy();
  }
});

test("an ineligible node and a node outside the winners never produce", async () => {
  const c = await openTestChain(makeSpec(keys.slice(0, 2)));
  try {
    const outsider = keys[2]!;
    const { producer, sent } = producerFor(c, outsider);
    await producer.tick(new AbortController().signal);
    assert.equal(sent.length, 0);
    const ineligible = new Producer(
      { ebid: keys[0]!.ebid, secretKey: keys[0]!.secretKey, now: () => c.clock.now, sleep: async () => undefined },
      { chain: c.chain, attestations: new AttestationPool(), mempool: new Mempool(), claims: new ClaimReceipts(), isEligible: () => false, broadcast: () => ({ sent: 0, skipped: 0 }), log: silentLog },
    );
    await ineligible.tick(new AbortController().signal);
    assert.equal(c.chain.head.height, 0);
  } finally {
    await c.destroy();
  }
});
