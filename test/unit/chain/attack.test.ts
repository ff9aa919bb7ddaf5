// Attacks on the validator registry (docs/protocol.md §5, §6.5): sequences of bonds, unbonds and
// withdraws inside one block and across reorgs, checked through real LevelDB chains.
import { test } from "node:test";
import assert from "node:assert/strict";
import { blockFor, extend, makeKeys, makeSpec, openTestChain, type TestKey } from "../../helpers/fixtures.ts";
import { bondTx, exitTx } from "../../helpers/validatorTxs.ts";
import { blsPublicKeyHex, blsSecretKeyFromIkm } from "../../../src/consensus/bls.ts";
import type { Block, Tx } from "../../../src/consensus/types.ts";
import type { BlockMeta } from "../../../src/storage/records.ts";
import type { Chain } from "../../../src/chain/chain.ts";
import { BlockError } from "../../../src/chain/errors.ts";

const CHAIN = "vision-test";
const keys = makeKeys(5);
const [k0, k1, k2, k3, k4] = keys as [TestKey, TestKey, TestKey, TestKey, TestKey];
const alloc = Object.fromEntries(keys.map((k) => [k.ebid, "100000"]));
// epochs of 2 blocks: a bond at epoch x activates at x + 2; an exit at epoch e is withdrawable from e + 1
const params = { block_time_ms: 2000, epoch_length: 2, unbonding_epochs: 1, min_tx_fee: 1, min_account_balance: 10 };
const spec = makeSpec([k0, k1], { params, alloc });

async function mine(chain: Chain, txs: Tx[] = [], parent: BlockMeta = chain.head, slot = 0): Promise<Block> {
  const b = await blockFor(chain, parent, keys, slot, { txs });
  const r = await chain.importBlock(b);
  assert.equal(r.status, "imported");
  return b;
}
const meta = async (chain: Chain, b: Block) => (await chain.getMeta(b.hash))!;

// k2 bonds at height 1 (epoch 0), unbonds at height 3 (epoch 1: exit 3), withdrawable from epoch 4 (height 8).
async function bondedAndExited(chain: Chain): Promise<void> {
  await mine(chain, [bondTx(k2, CHAIN, 0, { amount: "2500" })]);
  await mine(chain);
  await mine(chain, [exitTx("unbond", k2, CHAIN, 1)]);
  await extend(chain, keys, 4); // head 7
}

test("attack: a withdraw and a re-bond of the same EBID in one block; its freed BLS key bonded by another in the same block; undone and redone by reorgs", async () => {
  const c = await openTestChain(spec);
  try {
    await bondedAndExited(c.chain);
    const fork = c.chain.head;
    const before = { k2: (await c.chain.account(k2.ebid)).balance, k3: (await c.chain.account(k3.ebid)).balance };
    const oldRecord = (await c.chain.registryAfter(fork)).get(k2.ebid)!;
    const newKey = blsSecretKeyFromIkm(new Uint8Array(32).fill(7));
    // two bonds of one BLS key in one block: the second is BLS_KEY_TAKEN
    await assert.rejects(
      c.chain.previewState(fork, k0.ebid, [bondTx(k3, CHAIN, 0, { bls: newKey }), bondTx(k4, CHAIN, 0, { bls: newKey })]),
      (e: unknown) => e instanceof BlockError && e.message.includes("transaction 1: BLS_KEY_TAKEN"),
    );
    // k2 withdraws and bonds again with a new key; k3 bonds with k2's old key: all in one block (height 8, epoch 4)
    const a = await mine(c.chain, [exitTx("withdraw", k2, CHAIN, 2, "5"), bondTx(k2, CHAIN, 3, { bls: newKey, amount: "1500" }), bondTx(k3, CHAIN, 0, { bls: k2.blsSecretKey, amount: "1200" })], fork);
    let reg = await c.chain.registryAfter(c.chain.head);
    assert.deepEqual(reg.get(k2.ebid), { ebid: k2.ebid, bls_pubkey: blsPublicKeyHex(newKey), bond: 1500n, activation_epoch: 6, exit_epoch: null, slashed: false });
    assert.equal(reg.get(k3.ebid)?.bls_pubkey, oldRecord.bls_pubkey);
    const afterA = { k2: (await c.chain.account(k2.ebid)).balance, k3: (await c.chain.account(k3.ebid)).balance };
    assert.equal(afterA.k2, before.k2 + 2500n - 5n - 1500n - 1n);
    // a heavier other branch without them: the records and balances come back exactly
    const b1 = await mine(c.chain, [], fork);
    await mine(c.chain, [], await meta(c.chain, b1), 0);
    reg = await c.chain.registryAfter(c.chain.head);
    assert.notEqual(c.chain.head.hash, a.hash);
    assert.deepEqual(reg.get(k2.ebid), oldRecord, "undone: k2's old record, old key");
    assert.equal(reg.get(k3.ebid), undefined);
    assert.equal(reg.blsKeyOwner(oldRecord.bls_pubkey), k2.ebid);
    assert.equal(reg.blsKeyOwner(blsPublicKeyHex(newKey)), undefined);
    assert.equal((await c.chain.account(k2.ebid)).balance, before.k2, "the withdraw's credit is undone");
    // on this branch k2 withdraws (once), and may not withdraw again
    const b3 = await mine(c.chain, [exitTx("withdraw", k2, CHAIN, 2, "5")]);
    assert.equal((await c.chain.account(k2.ebid)).balance, before.k2 + 2500n - 5n);
    await assert.rejects(c.chain.previewState(await meta(c.chain, b3), k0.ebid, [exitTx("withdraw", k2, CHAIN, 3, "5")]), (e: unknown) => e instanceof BlockError && e.message.includes("NOT_BONDED"));
    // back to the a-branch, made heavier: redone exactly, the credit counted once
    let tip = await meta(c.chain, a);
    for (let i = 0; i < 3; i++) tip = await meta(c.chain, await mine(c.chain, [], tip));
    assert.equal(c.chain.head.hash, tip.hash);
    reg = await c.chain.registryAfter(c.chain.head);
    assert.equal(reg.get(k2.ebid)?.bls_pubkey, blsPublicKeyHex(newKey));
    assert.equal(reg.get(k3.ebid)?.bls_pubkey, oldRecord.bls_pubkey);
    assert.equal(reg.blsKeyOwner(oldRecord.bls_pubkey), k3.ebid);
    assert.equal((await c.chain.account(k2.ebid)).balance, afterA.k2);
    assert.equal((await c.chain.account(k3.ebid)).balance, afterA.k3);
  } finally {
    await c.destroy();
  }
});
