// The validator registry in the state (docs/protocol.md §5, §6.5): records after each block on any
// branch, undo and redo across reorgs, persistence in LevelDB, and validators_root.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { blockFor, extend, makeKeys, makeSpec, openTestChain, tempDir, type TestKey } from "../../helpers/fixtures.ts";
import { bondTx, exitTx } from "../../helpers/validatorTxs.ts";
import { blsPublicKeyHex, blsSignHex } from "../../../src/consensus/bls.ts";
import { popMessage } from "../../../src/consensus/randao.ts";
import { validatorsRoot, type ValidatorRecord } from "../../../src/consensus/validators.ts";
import type { Block, Tx } from "../../../src/consensus/types.ts";
import type { BlockMeta } from "../../../src/storage/records.ts";
import type { Chain } from "../../../src/chain/chain.ts";
import { BlockError } from "../../../src/chain/errors.ts";
import { executeBlock } from "../../../src/chain/execute.ts";
import { HeadRegistry } from "../../../src/chain/registry.ts";
import { StateView, accountItemHash, accountsFromAlloc, type StateBase, type AccountChange } from "../../../src/chain/state.ts";
import { StateTree, leafHash } from "../../../src/chain/stateTree.ts";
import { txRulesOf } from "../../../src/chain/tx.ts";
import type { ValidatorChange } from "../../../src/chain/registry.ts";

const CHAIN = "vision-test";
const keys = makeKeys(4);
const [k0, k1, k2, k3] = keys as [TestKey, TestKey, TestKey, TestKey];
const alloc = Object.fromEntries(keys.map((k) => [k.ebid, "100000"]));
// epochs of 2 blocks: a bond at height 1 (epoch 0) activates at epoch 2, an exit at epoch e is withdrawable from e + 1
const params = { block_time_ms: 2000, epoch_length: 2, unbonding_epochs: 1, min_tx_fee: 1, min_account_balance: 10 };
const spec = makeSpec([k0, k1], { params, alloc });

async function mine(chain: Chain, txs: Tx[] = [], parent: BlockMeta = chain.head, slot = 0): Promise<Block> {
  const b = await blockFor(chain, parent, keys, slot, { txs });
  const r = await chain.importBlock(b);
  assert.equal(r.status, "imported");
  return b;
}

const records = async (chain: Chain, meta: BlockMeta) => (await chain.registryAfter(meta)).all();

test("a bond activates activation_delay_epochs after its epoch; unbond sets exit_epoch; withdraw waits unbonding_epochs, then credits the bond", async () => {
  const c = await openTestChain(spec);
  try {
    const genesisRoot = validatorsRoot(await records(c.chain, c.chain.head));
    assert.equal((await c.chain.previewState(c.chain.head, k0.ebid, [])).validatorsRoot, genesisRoot, "no record changed: the parent's root");
    const preview = await c.chain.previewState(c.chain.head, k0.ebid, [bondTx(k2, CHAIN, 0, { amount: "2500", fee: "3" })]);
    const handedOut = await c.chain.registryAfter(c.chain.head);
    await mine(c.chain, [bondTx(k2, CHAIN, 0, { amount: "2500", fee: "3" })]); // height 1, epoch 0
    assert.equal(handedOut.get(k2.ebid), undefined, "a view handed out before the head moved keeps its records");
    assert.equal(handedOut.size, 2);
    const reg = await c.chain.registryAfter(c.chain.head);
    assert.deepEqual(reg.get(k2.ebid), { ebid: k2.ebid, bls_pubkey: k2.blsPubkey, bond: 2500n, activation_epoch: 2, exit_epoch: null, slashed: false });
    assert.equal(reg.size, 3);
    assert.equal(preview.validatorsRoot, validatorsRoot(reg.all()));
    assert.notEqual(preview.validatorsRoot, genesisRoot);
    assert.equal((await c.chain.account(k2.ebid)).balance, 100000n - 2503n);

    await mine(c.chain); // height 2
    await mine(c.chain, [exitTx("unbond", k2, CHAIN, 1)]); // height 3, epoch 1: exit at max(1 + 2, 2)
    assert.equal((await c.chain.registryAfter(c.chain.head)).get(k2.ebid)?.exit_epoch, 3);
    // withdrawable from epoch 3 + 1 = 4, that is height 8
    await extend(c.chain, keys, 3); // head 6: the next block is height 7, epoch 3
    await assert.rejects(c.chain.previewState(c.chain.head, k0.ebid, [exitTx("withdraw", k2, CHAIN, 2)]), (e: unknown) => e instanceof BlockError && e.message.includes("NOT_WITHDRAWABLE"));
    await mine(c.chain); // height 7
    const before = (await c.chain.account(k2.ebid)).balance;
    await mine(c.chain, [exitTx("withdraw", k2, CHAIN, 2, "5")]); // height 8, epoch 4
    assert.equal((await c.chain.account(k2.ebid)).balance, before + 2500n - 5n);
    const after = await c.chain.registryAfter(c.chain.head);
    assert.equal(after.get(k2.ebid), undefined);
    assert.equal(validatorsRoot(after.all()), genesisRoot);
    // a withdrawn EBID may bond again, with its nonce moved on
    await c.chain.previewState(c.chain.head, k0.ebid, [bondTx(k2, CHAIN, 3)]);
  } finally {
    await c.destroy();
  }
});

test("a reorg across a bond undoes the record and redoes it on the other branch; reopening finds the head's records and root", async () => {
  const t = tempDir();
  try {
    const c = await openTestChain(spec, t.dir);
    const genesis = c.chain.head;
    const a1 = await mine(c.chain, [bondTx(k2, CHAIN, 0)]); // slot 0: weight 2
    const a1Meta = (await c.chain.getMeta(a1.hash))!;
    assert.ok((await c.chain.registryAfter(c.chain.head)).get(k2.ebid));
    // the other branch: a slot-1 block (weight 1) then a slot-0 block (3 > 2) with k3's bond
    const b1 = await mine(c.chain, [], genesis, 1);
    const b1Meta = (await c.chain.getMeta(b1.hash))!;
    assert.equal(c.chain.head.hash, a1.hash, "the lighter side block is not the head");
    assert.equal((await c.chain.registryAfter(b1Meta)).get(k2.ebid), undefined, "a side branch's view has no record of the other's bond");
    const b2 = await mine(c.chain, [bondTx(k3, CHAIN, 0)], b1Meta);
    assert.equal(c.chain.head.hash, b2.hash, "reorg");
    let head = await c.chain.registryAfter(c.chain.head);
    assert.equal(head.get(k2.ebid), undefined, "undone");
    assert.ok(head.get(k3.ebid));
    assert.ok((await c.chain.registryAfter(a1Meta)).get(k2.ebid), "still there after a1, on its branch");
    assert.equal((await c.chain.registryAfter(a1Meta)).get(k3.ebid), undefined);
    // back: the a-branch grows heavier
    const a2 = await mine(c.chain, [], a1Meta);
    await mine(c.chain, [], (await c.chain.getMeta(a2.hash))!);
    head = await c.chain.registryAfter(c.chain.head);
    assert.ok(head.get(k2.ebid), "redone");
    assert.equal(head.get(k3.ebid), undefined);
    const want = head.all();
    const wantRoot = c.chain.validatorsRootAfter ? await c.chain.validatorsRootAfter(c.chain.head) : validatorsRoot(want);
    assert.equal(wantRoot, validatorsRoot(want));
    const tip = c.chain.head.hash;
    await c.close();
    const again = await openTestChain(spec, t.dir);
    try {
      assert.equal(again.chain.head.hash, tip);
      const reopened = await again.chain.registryAfter(again.chain.head);
      assert.deepEqual(reopened.all(), want);
      assert.equal(await again.chain.validatorsRootAfter(again.chain.head), wantRoot);
      assert.equal((await again.chain.registryAfter((await again.chain.getMeta(b2.hash))!)).get(k3.ebid)?.bond, 1000n);
    } finally {
      await again.close();
    }
  } finally {
    t.cleanup();
  }
});

test("property: random bonds, unbonds and withdraws over a few keys, applied and then undone, give back the registry and root", () => {
  const bonders = makeKeys(3, 60);
  const producer = k0.ebid;
  const pops = bonders.map((k) => blsSignHex(k.blsSecretKey, popMessage(CHAIN, k.ebid, blsPublicKeyHex(k.blsSecretKey))));
  const p = { ...makeSpec([], { params: { ...params, epoch_length: 1 } }).params };
  const rules = txRulesOf({ params: p, consensus: "proof-of-sync" });
  const opts = { chainId: CHAIN, blockReward: 50n, rules };
  const genesis: ValidatorRecord[] = [{ ebid: k1.ebid, bls_pubkey: k1.blsPubkey, bond: 1000n, activation_epoch: 0, exit_epoch: null, slashed: false }];
  const accounts = accountsFromAlloc(Object.fromEntries([producer, ...bonders.map((k) => k.ebid)].map((a) => [a, "10000"])));
  const tree = StateTree.from([...accounts].map(([a, acc]) => leafHash(accountItemHash(a, acc))));
  const registry = HeadRegistry.from(genesis);
  const base: StateBase = { size: tree.size, tree, version: 0, registry, load: async (as) => new Map([...as].map((a) => [a, accounts.get(a)])) };
  return fc.assert(
    fc.asyncProperty(fc.array(fc.record({ who: fc.nat(2), kind: fc.constantFrom("bond", "unbond", "withdraw", "none") }), { maxLength: 14 }), async (ops) => {
      const start = await StateView.head(base).withAccounts([producer, ...bonders.map((k) => k.ebid)]);
      const steps: { changes: AccountChange[]; validators: ValidatorChange[] }[] = [];
      let view = start;
      for (const [i, op] of ops.entries()) {
        const k = bonders[op.who]!;
        const nonce = view.get(k.ebid)!.nonce;
        const tx = op.kind === "bond" ? bondTx(k, CHAIN, nonce, { pop: pops[op.who] }) : op.kind === "none" ? undefined : exitTx(op.kind as "unbond", k, CHAIN, nonce);
        const run = (txs: Tx[]) => executeBlock(view, { txs, header: { producer, height: i + 1 } }, opts);
        let e;
        try {
          e = run(tx ? [tx] : []);
        } catch (err) {
          if (!(err instanceof BlockError)) throw err;
          e = run([]);
        }
        assert.equal(e.validatorsRoot, validatorsRoot(e.state.registry.all()));
        steps.push({ changes: e.changes, validators: e.validators });
        view = e.state;
      }
      // the head moved to the end state holds the same records and root as the view of it
      const moved = registry.applied(view.vdiff);
      assert.deepEqual(moved.all(), view.registry.all());
      assert.equal(moved.root, view.validatorsRoot());
      const back = view.walk(steps.reverse().map((s) => ({ ...s, direction: "undo" as const })));
      assert.deepEqual(back.registry.all(), genesis);
      assert.equal(back.validatorsRoot(), registry.root);
      assert.equal(back.root(), start.root());
    }),
    { numRuns: 25 },
  );
});
