// Bond, unbond and withdraw (docs/protocol.md §3.4, §6.5): wire schemas, every error code through
// block execution on a real LevelDB chain, the block's bond cap, and the mempool.
import { test } from "node:test";
import assert from "node:assert/strict";
import { blockFor, finalityRootOn, makeKeys, makeSpec, openTestChain, revealFor, type TestKey } from "../../helpers/fixtures.ts";
import { bondTx, exitTx } from "../../helpers/validatorTxs.ts";
import { Domain, sign } from "../../../src/consensus/signatures.ts";
import { txSchema } from "../../../src/consensus/wire.ts";
import { messageSchema } from "../../../src/p2p/messages.ts";
import { MAX_BONDS_PER_BLOCK } from "../../../src/consensus/validators.ts";
import type { Tx } from "../../../src/consensus/types.ts";
import { BlockError } from "../../../src/chain/errors.ts";
import { EMPTY_ROOT } from "../../../src/chain/spec.ts";
import { MAX_AMOUNT, TxError, txHash } from "../../../src/chain/tx.ts";
import { Mempool } from "../../../src/chain/mempool.ts";
import { buildBlock } from "../../../src/producer/blockBuilder.ts";

const CHAIN = "vision-test";
const keys = makeKeys(4);
const [k0, k1, k2, k3] = keys as [TestKey, TestKey, TestKey, TestKey];
const alloc = Object.fromEntries(keys.map((k) => [k.ebid, "100000"]));
const params = { block_time_ms: 2000, epoch_length: 2, unbonding_epochs: 1, min_tx_fee: 1, min_account_balance: 10 };
const spec = makeSpec([k0, k1], { params, alloc });

type Opened = Awaited<ReturnType<typeof openTestChain>>;

async function refused(c: Opened, txs: Tx[], code: string, index = txs.length - 1) {
  await assert.rejects(
    c.chain.previewState(c.chain.head, k0.ebid, txs),
    (e: unknown) => e instanceof BlockError && e.code === "BAD_TX" && e.message.startsWith(`transaction ${index}: ${code}:`),
    `expected transaction ${index}: ${code}`,
  );
}

test("wire: each kind has its exact field set; a P2P tx message of any kind parses", () => {
  const bond = bondTx(k2, CHAIN, 0);
  const unbond = exitTx("unbond", k2, CHAIN, 1);
  const withdraw = exitTx("withdraw", k2, CHAIN, 2);
  for (const t of [bond, unbond, withdraw]) {
    assert.ok(txSchema.safeParse(t).success, JSON.stringify(t));
    assert.ok(messageSchema.safeParse({ type: "tx", tx: t }).success);
  }
  const bad: unknown[] = [
    { ...bond, to: k3.ebid },
    { ...bond, pop: undefined },
    { ...bond, pop: "ab" },
    { ...bond, bls_pubkey: "00".repeat(47) },
    { ...unbond, amount: "5" },
    { ...withdraw, kind: "exit" },
    { ...unbond, kind: undefined },
  ];
  for (const b of bad) assert.equal(txSchema.safeParse(b).success, false, JSON.stringify(b));
  // a transfer carries no kind
  const body = { chain_id: CHAIN, from: k0.ebid, to: k1.ebid, amount: "10", fee: "1", nonce: 0 };
  const transfer = { ...body, sig: sign(Domain.tx, body, k0.secretKey) };
  assert.ok(txSchema.safeParse(transfer).success);
  assert.equal(txSchema.safeParse({ ...transfer, kind: "transfer" }).success, false);
  // the hash covers the kind: an unbond and a withdraw of the same fields differ
  assert.notEqual(txHash(exitTx("unbond", k2, CHAIN, 1)), txHash(exitTx("withdraw", k2, CHAIN, 1)));
});

test("bond, unbond, withdraw: every refusal has its code, the cheap checks before the signatures", async () => {
  const c = await openTestChain(spec);
  try {
    await refused(c, [bondTx(k2, CHAIN, 0, { amount: "999" })], "BOND_TOO_SMALL");
    await refused(c, [bondTx(k2, CHAIN, 0, { amount: (MAX_AMOUNT + 1n).toString() })], "BAD_AMOUNT");
    await refused(c, [bondTx(k2, CHAIN, 0, { amount: "100000" })], "INSUFFICIENT_BALANCE");
    await refused(c, [bondTx(k2, CHAIN, 0, { fee: "0" })], "FEE_BELOW_MINIMUM");
    await refused(c, [bondTx(k2, CHAIN, 1)], "NONCE_TOO_HIGH");
    await refused(c, [bondTx(k2, CHAIN, 1, { pop: "ab".repeat(96) })], "NONCE_TOO_HIGH"); // nonce before the PoP
    await refused(c, [bondTx(k0, CHAIN, 0)], "ALREADY_BONDED");
    // another's BLS key: taken by a record, or free but without its secret (no PoP can be made)
    await refused(c, [bondTx(k2, CHAIN, 0, { bls: k0.blsSecretKey })], "BLS_KEY_TAKEN");
    await refused(c, [bondTx(k2, CHAIN, 0, { blsPubkey: k3.blsPubkey, popSigner: k2.blsSecretKey })], "BAD_POP");
    // a PoP for another EBID, a PoP by another BLS key, a PoP that is not a signature
    await refused(c, [bondTx(k2, CHAIN, 0, { popEbid: k3.ebid })], "BAD_POP");
    await refused(c, [bondTx(k2, CHAIN, 0, { popSigner: k3.blsSecretKey })], "BAD_POP");
    await refused(c, [bondTx(k2, CHAIN, 0, { pop: "ab".repeat(96) })], "BAD_POP");
    await refused(c, [bondTx(k2, CHAIN, 0, { blsPubkey: "11".repeat(48) })], "BAD_BLS_KEY");
    const b = bondTx(k2, CHAIN, 0);
    await refused(c, [{ ...b, amount: "1001" } as Tx], "BAD_SIGNATURE");
    await refused(c, [{ ...b, chain_id: "other" }], "BAD_CHAIN_ID");
    // two bonds of one BLS key in one block: the second finds it taken
    await refused(c, [bondTx(k2, CHAIN, 0), bondTx(k3, CHAIN, 0, { bls: k2.blsSecretKey })], "BLS_KEY_TAKEN");
    await refused(c, [bondTx(k2, CHAIN, 0), bondTx(k2, CHAIN, 1)], "ALREADY_BONDED");
    await refused(c, [exitTx("unbond", k2, CHAIN, 0)], "NOT_BONDED");
    await refused(c, [exitTx("withdraw", k2, CHAIN, 0)], "NOT_BONDED");
    await refused(c, [exitTx("withdraw", k0, CHAIN, 0)], "NOT_WITHDRAWABLE");
    await refused(c, [exitTx("unbond", k0, CHAIN, 0), exitTx("unbond", k0, CHAIN, 1)], "ALREADY_EXITING");
    await refused(c, [exitTx("unbond", k0, CHAIN, 0), exitTx("withdraw", k0, CHAIN, 1)], "NOT_WITHDRAWABLE");
    await refused(c, [exitTx("unbond", k0, CHAIN, 0, "0")], "FEE_BELOW_MINIMUM");
    const w = exitTx("withdraw", k0, CHAIN, 0);
    await refused(c, [{ ...w, kind: "unbond" } as Tx], "BAD_SIGNATURE"); // the kind is signed
    // and the good ones apply
    const exec = await c.chain.previewState(c.chain.head, k0.ebid, [bondTx(k2, CHAIN, 0), exitTx("unbond", k1, CHAIN, 0)]);
    assert.equal(exec.fees, 2n);
  } finally {
    await c.destroy();
  }
});

test("bonds are refused on pow chains, outside the allowlist and past max_validators", async () => {
  const pow = await openTestChain(makeSpec([], { consensus: "pow", params, alloc }));
  const allow = await openTestChain(makeSpec([k0, k1], { params, alloc, allowlist: [k0.ebid, k1.ebid, k3.ebid] }));
  const full = await openTestChain(makeSpec([k0, k1], { params: { ...params, max_validators: 2 }, alloc }));
  try {
    await refused(pow, [bondTx(k2, CHAIN, 0)], "BAD_KIND");
    await refused(pow, [exitTx("unbond", k2, CHAIN, 0)], "BAD_KIND");
    await refused(pow, [exitTx("withdraw", k2, CHAIN, 0)], "BAD_KIND");
    await refused(allow, [bondTx(k2, CHAIN, 0)], "NOT_ALLOWED");
    await allow.chain.previewState(allow.chain.head, k0.ebid, [bondTx(k3, CHAIN, 0)]);
    await refused(full, [bondTx(k2, CHAIN, 0)], "VALIDATOR_SET_FULL");
  } finally {
    await Promise.all([pow.destroy(), allow.destroy(), full.destroy()]);
  }
});

test(`a block with ${MAX_BONDS_PER_BLOCK + 1} bonds is BAD_TX; ${MAX_BONDS_PER_BLOCK} are fine`, async () => {
  const bonders = makeKeys(MAX_BONDS_PER_BLOCK + 1, 40);
  const c = await openTestChain(makeSpec([k0, k1], { params, alloc: Object.fromEntries(bonders.map((k) => [k.ebid, "5000"])) }));
  try {
    const bonds = bonders.map((k) => bondTx(k, CHAIN, 0));
    await refused(c, bonds, "TOO_MANY_BONDS", MAX_BONDS_PER_BLOCK);
    // the import refuses it too, before its state root is looked at
    const parent = c.chain.head;
    const schedule = await c.chain.scheduleFor(parent);
    const producer = keys.find((k) => k.ebid === schedule.winners[0])!;
    const block = buildBlock({ parent, producer: producer.ebid, slot: 0, timestamp: parent.timestamp + 2000, attestations: [], txs: bonds, stateRoot: parent.state_root, validatorsRoot: EMPTY_ROOT, finalityRoot: await finalityRootOn(c.chain, parent), randaoReveal: revealFor(c.chain, schedule, producer) }, producer.secretKey, c.chain.genesis.hash);
    c.clock.now = block.header.timestamp;
    await assert.rejects(c.chain.importBlock(block), (e: unknown) => e instanceof BlockError && e.code === "BAD_TX" && e.message.includes("TOO_MANY_BONDS"));
    const ok = await c.chain.previewState(parent, producer.ebid, bonds.slice(0, MAX_BONDS_PER_BLOCK));
    assert.equal(ok.fees, BigInt(MAX_BONDS_PER_BLOCK));
  } finally {
    await c.destroy();
  }
});

test("mempool: admits each kind against the head's state and records, pending nonces contiguous; refusals as in blocks", async () => {
  const c = await openTestChain(spec);
  try {
    const pool = new Mempool();
    const admit = async (t: Tx) => pool.admit(t, CHAIN, await c.chain.headState([t.from]), c.chain.txRules);
    const refuses = async (t: Tx, code: string) => assert.rejects(admit(t), (e: unknown) => e instanceof TxError && e.code === code, code);
    await refuses(bondTx(k2, CHAIN, 0, { amount: "999" }), "BOND_TOO_SMALL");
    await refuses(bondTx(k2, CHAIN, 0, { popEbid: k3.ebid }), "BAD_POP");
    await refuses(bondTx(k2, CHAIN, 0, { bls: k0.blsSecretKey }), "BLS_KEY_TAKEN");
    await refuses(bondTx(k0, CHAIN, 0), "ALREADY_BONDED");
    await refuses(exitTx("unbond", k2, CHAIN, 0), "NOT_BONDED");
    await refuses(exitTx("withdraw", k0, CHAIN, 0), "NOT_WITHDRAWABLE");
    assert.equal((await admit(bondTx(k2, CHAIN, 0, { amount: "60000" }))).status, "added");
    // the bond's amount counts against the balance like a transfer's
    const body = { chain_id: CHAIN, from: k2.ebid, to: k3.ebid, amount: "40000", fee: "1", nonce: 1 };
    await refuses({ ...body, sig: sign(Domain.tx, body, k2.secretKey) }, "INSUFFICIENT_BALANCE");
    await refuses(bondTx(k2, CHAIN, 1, { amount: "1000", bls: k3.blsSecretKey }), "ALREADY_BONDED"); // one pending bond a sender
    await refuses(exitTx("unbond", k2, CHAIN, 2), "NOT_BONDED"); // checked against the head's record
    assert.equal((await admit(exitTx("unbond", k0, CHAIN, 0))).status, "added");
    await refuses(exitTx("unbond", k0, CHAIN, 1), "ALREADY_EXITING");
    await refuses(bondTx(k3, CHAIN, 5000), "NONCE_TOO_HIGH"); // past the per-sender window
    // both go into a block, which executes
    const txs = pool.select(100, await c.chain.stateAt(c.chain.head, pool.addresses()), c.chain.txRules);
    assert.equal(txs.length, 2);
    const block = await blockFor(c.chain, c.chain.head, keys, 0, { txs });
    assert.equal((await c.chain.importBlock(block)).status, "imported");
    const reg = await c.chain.registryAfter(c.chain.head);
    assert.equal(reg.get(k2.ebid)?.bond, 60000n);
    assert.notEqual(reg.get(k0.ebid)?.exit_epoch, null);
  } finally {
    await c.destroy();
  }
});

test(`mempool selection keeps a block to ${MAX_BONDS_PER_BLOCK} bonds and one bond per BLS key`, async () => {
  const bonders = makeKeys(MAX_BONDS_PER_BLOCK + 2, 40);
  const c = await openTestChain(makeSpec([k0, k1], { params, alloc: Object.fromEntries(bonders.map((k) => [k.ebid, "5000"])) }));
  try {
    const select = async (pool: Mempool) => pool.select(100, await c.chain.stateAt(c.chain.head, pool.addresses()), c.chain.txRules);
    const many = new Mempool();
    for (const k of bonders) many.admit(bondTx(k, CHAIN, 0), CHAIN, await c.chain.headState([k.ebid]), c.chain.txRules);
    const capped = await select(many);
    assert.equal(capped.length, MAX_BONDS_PER_BLOCK);
    await c.chain.previewState(c.chain.head, k0.ebid, capped); // executes
    // two pending bonds of one BLS key (each with a valid PoP for its sender): one waits
    const dup = new Mempool();
    for (const k of bonders.slice(0, 3)) dup.admit(bondTx(k, CHAIN, 0), CHAIN, await c.chain.headState([k.ebid]), c.chain.txRules);
    const last = bonders[bonders.length - 1]!;
    dup.admit(bondTx(last, CHAIN, 0, { bls: bonders[0]!.blsSecretKey, fee: "9" }), CHAIN, await c.chain.headState([last.ebid]), c.chain.txRules);
    const picked = await select(dup);
    assert.equal(picked.length, 3);
    await c.chain.previewState(c.chain.head, k0.ebid, picked);
  } finally {
    await c.destroy();
  }
});
