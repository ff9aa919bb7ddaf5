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
import { join } from "node:path";
import { SlashingProtection, type RefusalKind } from "../../../src/node/slashingProtection.ts";

const keys = makeKeys(3);
const spec = makeSpec(keys);

/** The real slashing protection record of `key`, in its own folder of the chain's temp dir. */
function protectionFor(c: Awaited<ReturnType<typeof openTestChain>>, key: TestKey, onRefusal?: (k: RefusalKind) => void): SlashingProtection {
  return SlashingProtection.open(join(c.dir, `protection-${key.ebid.slice(0, 8)}`), key.ebid, { onRefusal });
}

function producerFor(c: Awaited<ReturnType<typeof openTestChain>>, key: TestKey, onSleep?: () => Promise<void>, protection = protectionFor(c, key)) {
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
    { chain: c.chain, attestations, mempool, claims, isEligible: () => true, broadcast: (b) => (sent.push(b), { sent: 2, skipped: 0 }), protection, log: silentLog },
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
      { chain: c.chain, attestations: new AttestationPool(), mempool: new Mempool(), claims: new ClaimReceipts(), isEligible: () => false, broadcast: () => ({ sent: 0, skipped: 0 }), protection: protectionFor(c, keys[0]!), log: silentLog },
    );
    await ineligible.tick(new AbortController().signal);
    assert.equal(c.chain.head.height, 0);
  } finally {
    await c.destroy();
  }
});

test("slashing protection: a producer whose record holds its slot's height (signed before a restart, or seen on the chain) signs nothing there", async () => {
  const c = await openTestChain(spec);
  try {
    await extend(c.chain, keys, 2);
    const parent = c.chain.head;
    c.clock.now = parent.timestamp;
    c.chain.headSeenAt = c.clock.now;
    const schedule = await c.chain.scheduleFor(parent);
    const me = keys.find((k) => k.ebid === schedule.winners[0])!;
    const refusals: RefusalKind[] = [];
    const protection = protectionFor(c, me, (k) => refusals.push(k));
    protection.observeBlock(parent.height + 1); // its own block at this height, from before a restore
    const { producer, sent, claims } = producerFor(c, me, undefined, protection);
    await producer.tick(new AbortController().signal);
    assert.equal(sent.length, 0, "no second block at a height this key signed");
    assert.equal(c.chain.head.hash, parent.hash);
    assert.deepEqual(refusals, ["block"]);
    assert.equal(claims.records(1)[0]!.outcome, "failed");
    assert.match(claims.records(1)[0]!.error ?? "", /slashing protection refused/);
    // the same slot with a record below the height: signed, and recorded before it left the producer
    const fresh = SlashingProtection.open(join(c.dir, "fresh"), me.ebid);
    const again = producerFor(c, me, undefined, fresh);
    await again.producer.tick(new AbortController().signal);
    assert.equal(again.sent.length, 1);
    assert.equal(fresh.record.max_block_height, parent.height + 1);
  } finally {
    await c.destroy();
  }
});
