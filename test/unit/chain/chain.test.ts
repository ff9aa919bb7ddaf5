// Chain import, validation, fork choice and persistence over real LevelDB in temp folders.
import { test } from "node:test";
import assert from "node:assert/strict";
import { attestOn, finalityRootOn, blockFor, extend, makeKeys, makeSpec, openTestChain, revealFor, tempDir, type TestKey } from "../../helpers/fixtures.ts";
import { BlockError, ChainSpecError } from "../../../src/chain/errors.ts";
import { draftHeader, sealBlock } from "../../../src/producer/blockBuilder.ts";
import { chainDomains, Domain, sign } from "../../../src/consensus/signatures.ts";
import { genesisBlock } from "../../../src/chain/spec.ts";
import type { Block } from "../../../src/consensus/types.ts";

const keys = makeKeys(4);
const spec = makeSpec(keys);
const GENESIS = genesisBlock(spec).hash;

async function rejects(p: Promise<unknown>, code: string) {
  await assert.rejects(p, (e: unknown) => e instanceof BlockError && e.code === code, `expected ${code}`);
}

// Re-signs (and so re-hashes) a block after its header was edited.
function resign(b: Block, signer = keys.find((k) => k.ebid === b.header.producer)!): Block {
  return sealBlock(b.header, b, signer.secretKey, GENESIS);
}

test("imports primary blocks, persists them, and resumes from disk", async () => {
  const t = tempDir();
  try {
    const c = await openTestChain(spec, t.dir);
    assert.equal(c.chain.head.height, 0);
    assert.equal(c.chain.head.hash, c.chain.genesis.hash);
    const blocks = await extend(c.chain, keys, 5);
    assert.equal(c.chain.head.height, 5);
    assert.equal(c.chain.head.total_weight, "10");
    await c.close();
    const again = await openTestChain(spec, t.dir);
    assert.equal(again.chain.head.height, 5);
    assert.equal(again.chain.head.hash, blocks[4]!.hash);
    assert.equal((await again.chain.getCanonicalMeta(3))!.hash, blocks[2]!.hash);
    assert.deepEqual(await again.chain.getBlock(blocks[0]!.hash), blocks[0]);
    await again.close();
    // the same data dir with another chain spec is refused
    await assert.rejects(openTestChain(makeSpec(keys.slice(1)), t.dir), ChainSpecError);
  } finally {
    t.cleanup();
  }
});

test("refuses blocks that break each consensus rule, and stores none of them", async () => {
  const c = await openTestChain(spec);
  try {
    await extend(c.chain, keys, 2);
    const head = c.chain.head;
    const good = await blockFor(c.chain, head, keys, 0);
    const schedule = await c.chain.scheduleFor(head);
    const outsider = keys.find((k) => !schedule.winners.slice(0, 1).includes(k.ebid))!;

    // producer is not winners[slot]
    await rejects(c.chain.importBlock(resign({ ...good, header: { ...good.header, producer: outsider.ebid } }, outsider)), "WRONG_PRODUCER");
    // slot beyond the winners list
    await rejects(c.chain.importBlock(resign({ ...good, header: { ...good.header, slot: 6 } })), "WRONG_PRODUCER");
    // signed by someone else
    await rejects(c.chain.importBlock({ ...good, signature: sign(chainDomains(GENESIS).block, good.header, outsider.secretKey) }), "BAD_SIGNATURE");
    // before its slot opens
    await rejects(c.chain.importBlock(resign({ ...good, header: { ...good.header, timestamp: good.header.timestamp - 1 } })), "TOO_EARLY");
    // hash does not match header
    await rejects(c.chain.importBlock({ ...good, hash: "ab".repeat(32) }), "BAD_HASH");
    // roots
    await rejects(c.chain.importBlock(resign({ ...good, header: { ...good.header, attestations_root: "00".repeat(32) } })), "BAD_ROOT");
    await rejects(c.chain.importBlock(resign({ ...good, header: { ...good.header, state_root: "00".repeat(32) } })), "BAD_ROOT");
    // difficulty on a slot block
    await rejects(c.chain.importBlock(resign({ ...good, header: { ...good.header, difficulty: 1 } })), "BAD_DIFFICULTY");
    // a nonce on a slot block (it would make the block hash free to grind)
    await rejects(c.chain.importBlock(resign({ ...good, header: { ...good.header, nonce: 1 } })), "BAD_POW");
    // attestations: not on this branch, bad signature, two from one EBID, too old
    const onBranch = await attestOn(c.chain, keys[1]!, head.height, head.hash);
    await rejects(c.chain.importBlock(await blockFor(c.chain, head, keys, 0, { attestations: [await attestOn(c.chain, keys[1]!, head.height, "cd".repeat(32))] })), "BAD_ATTESTATION");
    await rejects(c.chain.importBlock(await blockFor(c.chain, head, keys, 0, { attestations: [{ ...onBranch, sig: onBranch.sig.replace(/^./, (x) => (x === "0" ? "1" : "0")) }] })), "BAD_ATTESTATION");
    await rejects(c.chain.importBlock(await blockFor(c.chain, head, keys, 0, { attestations: [onBranch, await attestOn(c.chain, keys[1]!, head.height - 1, head.parent_hash)] })), "BAD_ATTESTATION");
    await rejects(c.chain.importBlock(await blockFor(c.chain, head, keys, 0, { attestations: [await attestOn(c.chain, keys[1]!, head.height + 1, head.hash)] })), "BAD_ATTESTATION");
    // a transaction that does not verify (roots right, so the block is executed)
    const tx = { chain_id: "vision-test", from: keys[0]!.ebid, to: keys[1]!.ebid, amount: "1", fee: "1", nonce: 0, sig: "aa".repeat(64) };
    const withTx = sealBlock(draftHeader({ parent: head, producer: good.header.producer, slot: 0, timestamp: good.header.timestamp, attestations: [], txs: [tx], stateRoot: head.state_root, validatorsRoot: c.chain.genesis.header.validators_root, finalityRoot: await finalityRootOn(c.chain, head), randaoReveal: revealFor(c.chain, await c.chain.scheduleFor(head), keys.find((k) => k.ebid === good.header.producer)!) }), { txs: [tx], attestations: [] }, keys.find((k) => k.ebid === good.header.producer)!.secretKey, GENESIS);
    await rejects(c.chain.importBlock(withTx), "BAD_TX");

    assert.equal(c.chain.head.hash, head.hash, "nothing invalid moved the head");
    const r = await c.chain.importBlock(await blockFor(c.chain, head, keys, 0, { attestations: [onBranch] }));
    assert.equal(r.status, "imported");
    assert.deepEqual(c.chain.head.attesters, [keys[1]!.ebid]);
  } finally {
    await c.destroy();
  }
});

test("fork choice: slot 0 beats a backup whichever arrives first; ties go to the lower hash", async () => {
  for (const order of [[0, 1], [1, 0]]) {
    const c = await openTestChain(spec);
    try {
      await extend(c.chain, keys, 1);
      const parent = c.chain.head;
      const bySlot = [await blockFor(c.chain, parent, keys, 0), await blockFor(c.chain, parent, keys, 1)];
      for (const s of order) await c.chain.importBlock(bySlot[s]!);
      assert.equal(c.chain.head.hash, bySlot[0]!.hash, `order ${order}`);
      const loser = (await c.chain.getMeta(bySlot[1]!.hash))!;
      assert.equal(loser.is_canonical, false);
      assert.equal(loser.is_orphaned, true);
      assert.equal(loser.competing_hash, bySlot[0]!.hash);
      assert.ok(loser.orphan_reason);
    } finally {
      await c.destroy();
    }
  }
  const heads = new Set<string>();
  for (const order of [[1, 2], [2, 1]]) {
    const c = await openTestChain(spec);
    try {
      await extend(c.chain, keys, 1);
      const parent = c.chain.head;
      const bySlot = [undefined, await blockFor(c.chain, parent, keys, 1), await blockFor(c.chain, parent, keys, 2)];
      for (const s of order) await c.chain.importBlock(bySlot[s]!);
      const lower = [bySlot[1]!.hash, bySlot[2]!.hash].sort()[0]!;
      assert.equal(c.chain.head.hash, lower);
      heads.add(c.chain.head.hash);
    } finally {
      await c.destroy();
    }
  }
  assert.equal(heads.size, 1, "both arrival orders pick the same head");
});

test("a heavier shorter branch reorgs a longer lighter one and the canonical index follows", async () => {
  const c = await openTestChain(spec);
  try {
    await extend(c.chain, keys, 1);
    const fork = c.chain.head;
    const light = await extend(c.chain, keys, 3, 1); // weight 3
    assert.equal(c.chain.head.hash, light[2]!.hash);
    const events: number[] = [];
    c.chain.on("head", (e) => events.push(e.reorgDepth));
    const h1 = await blockFor(c.chain, fork, keys, 0);
    await c.chain.importBlock(h1);
    const h2 = await blockFor(c.chain, (await c.chain.getMeta(h1.hash))!, keys, 0);
    const r = await c.chain.importBlock(h2);
    assert.equal(r.status, "imported");
    assert.equal(c.chain.head.hash, h2.hash);
    assert.deepEqual(events, [3]);
    assert.equal((await c.chain.getCanonicalMeta(2))!.hash, h1.hash);
    assert.equal(await c.chain.getCanonicalMeta(4), undefined);
    const old = (await c.chain.getMeta(light[0]!.hash))!;
    assert.equal(old.is_canonical, false);
    assert.equal(old.orphan_reason, "reorg");
    assert.equal(old.competing_hash, h1.hash);
    const forks = await c.chain.forks(0, 10);
    assert.deepEqual(forks.map((f) => f.hash).sort(), light.map((b) => b.hash).sort(), "the three demoted blocks, and only they");
  } finally {
    await c.destroy();
  }
});

test("blocks with an unknown parent are parked and imported when the parent arrives", async () => {
  const src = await openTestChain(spec);
  const dst = await openTestChain(spec);
  try {
    const blocks = await extend(src.chain, keys, 3);
    assert.equal((await dst.chain.importBlock(blocks[2]!)).status, "unknown-parent");
    assert.equal((await dst.chain.importBlock(blocks[1]!)).status, "unknown-parent");
    await dst.chain.importBlock(blocks[0]!);
    assert.equal(dst.chain.head.hash, blocks[2]!.hash);
    assert.equal((await dst.chain.importBlock(blocks[2]!)).status, "known");
  } finally {
    await src.destroy();
    await dst.destroy();
  }
});

test("a block from the future is held, not rejected, and imported when due", async () => {
  const c = await openTestChain(spec);
  try {
    const b = await blockFor(c.chain, c.chain.head, keys, 0, { timestamp: c.clock.now + spec.params.max_future_drift_ms + 40 });
    const r = await c.chain.importBlock(b);
    assert.equal(r.status, "held");
    assert.equal(c.chain.head.height, 0);
    c.clock.now += 1000;
    const deadline = Date.now() + 3000;
    while (c.chain.head.height === 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
    assert.equal(c.chain.head.hash, b.hash);
  } finally {
    await c.destroy();
  }
});

test("a producer that signs two blocks at one height is recorded as equivocating", async () => {
  const c = await openTestChain(spec);
  try {
    await extend(c.chain, keys, 2);
    const parent = c.chain.head;
    const a = await blockFor(c.chain, parent, keys, 0);
    const b = await blockFor(c.chain, parent, keys, 0, { timestamp: a.header.timestamp + 1 });
    await c.chain.importBlock(a);
    assert.deepEqual(await c.chain.listEvidence(), []);
    await c.chain.importBlock(b);
    const [ev] = await c.chain.listEvidence();
    assert.ok(ev);
    assert.equal(ev.height, parent.height + 1);
    assert.equal(ev.producer, a.header.producer);
    assert.deepEqual(ev.block_hashes, [a.hash, b.hash]);
    assert.deepEqual(ev.parent_hashes, [parent.hash, parent.hash]);
    // fork choice still decides between them: equal weight, lower hash
    assert.equal(c.chain.head.hash, [a.hash, b.hash].sort()[0]);
  } finally {
    await c.destroy();
  }
});

test("transfers and rewards move the state; a reorg undoes and redoes it; restart keeps it", async () => {
  const t = tempDir();
  const [payer, payee] = makeKeys(6).slice(4) as [TestKey, TestKey]; // neither is a producer
  const funded = makeSpec(keys, { alloc: { [payer.ebid]: "1000" }, block_reward: "50" });
  try {
    const c = await openTestChain(funded, t.dir);
    await extend(c.chain, keys, 1);
    const fork = c.chain.head;
    const sign1 = (nonce: number, amount: string) => {
      const body = { chain_id: "vision-test", from: payer.ebid, to: payee.ebid, amount, fee: "5", nonce };
      return { ...body, sig: sign(Domain.tx, body, payer.secretKey) };
    };
    // branch A (one backup block): a transfer of 100
    const a1 = await blockFor(c.chain, fork, keys, 1, { txs: [sign1(0, "100")] });
    await c.chain.importBlock(a1);
    assert.deepEqual((await c.chain.account(payer.ebid)), { balance: 895n, nonce: 1 });
    const producerA = a1.header.producer;
    const before = (await c.chain.account(producerA)).balance;
    // branch B (slot 0, heavier): a transfer of 300 instead
    const b1 = await blockFor(c.chain, fork, keys, 0, { txs: [sign1(0, "300")] });
    await c.chain.importBlock(b1);
    assert.equal(c.chain.head.hash, b1.hash, "reorg to the heavier branch");
    assert.deepEqual((await c.chain.account(payer.ebid)), { balance: 695n, nonce: 1 });
    assert.deepEqual((await c.chain.account(payee.ebid)), { balance: 300n, nonce: 0 });
    if (b1.header.producer !== producerA) assert.equal((await c.chain.account(producerA)).balance, before - 55n, "A's reward and fee undone");
    // a block on the losing branch is validated against that branch's state
    const a2 = await blockFor(c.chain, (await c.chain.getMeta(a1.hash))!, keys, 0, { txs: [sign1(1, "800")] });
    assert.equal((await c.chain.importBlock(a2)).status, "imported");
    assert.equal(c.chain.head.hash, a2.hash, "branch A (1 + 2) now outweighs B (2): reorg back");
    assert.deepEqual((await c.chain.account(payer.ebid)), { balance: 90n, nonce: 2 });
    assert.deepEqual((await c.chain.account(payee.ebid)), { balance: 900n, nonce: 0 });
    // replaying a used nonce is refused
    const head = c.chain.head;
    const producer = (await c.chain.scheduleFor(head)).winners[0]!;
    const replay = [sign1(0, "1")];
    const bad = sealBlock(
      draftHeader({ parent: head, producer, slot: 0, timestamp: head.timestamp + 2000, attestations: [], txs: replay, stateRoot: head.state_root, validatorsRoot: c.chain.genesis.header.validators_root, finalityRoot: await finalityRootOn(c.chain, head), randaoReveal: revealFor(c.chain, await c.chain.scheduleFor(head), keys.find((k) => k.ebid === producer)!) }),
      { txs: replay, attestations: [] },
      keys.find((k) => k.ebid === producer)!.secretKey,
      c.chain.genesis.hash,
    );
    await assert.rejects(c.chain.importBlock(bad), (e) => e instanceof BlockError && e.code === "BAD_TX" && /NONCE_TOO_LOW/.test(e.message));
    // producer totals follow the canonical chain through both reorgs
    const totalsBefore = c.chain.producerTotals();
    const totals = [...totalsBefore.values()];
    assert.equal(totals.reduce((a, t) => a + t.blocks, 0), c.chain.head.height);
    const canonicalFees = 5n + 5n; // a1 and a2 are canonical, 5 each
    assert.equal(totals.reduce((a, t) => a + BigInt(t.rewards), 0n), 50n * BigInt(c.chain.head.height) + canonicalFees);
    const headHash = c.chain.head.hash;
    const balances = [...(await c.db.loadAccounts())];
    await c.close();
    const again = await openTestChain(funded, t.dir);
    assert.equal(again.chain.head.hash, headHash);
    assert.deepEqual([...(await again.db.loadAccounts())], balances);
    assert.equal((await again.chain.account(payer.ebid)).nonce, 2, "read through the reopened store");
    assert.deepEqual(again.chain.producerTotals(), totalsBefore);
    await again.close();
  } finally {
    t.cleanup();
  }
});
