// The node's mempool over real LevelDB: accepted transfers survive a restart (the journal), and a
// reorg returns the orphaned blocks' transfers to the pool.
import { test } from "node:test";
import assert from "node:assert/strict";
import { VisionNode } from "../../../src/node/node.ts";
import { blockFor, extend, makeKeys, makeSpec, silentLog, tempDir } from "../../helpers/fixtures.ts";
import { waitFor } from "../../helpers/net.ts";
import { Domain, sign } from "../../../src/consensus/signatures.ts";
import { TxError, txHash } from "../../../src/chain/tx.ts";
import { bondTx, exitTx } from "../../helpers/validatorTxs.ts";

const keys = makeKeys(3);
const payer = makeKeys(5)[4]!;
const spec = makeSpec(keys, { alloc: { [payer.ebid]: "1000" } });

test("accepted transfers survive a restart of the node", async () => {
  const t = tempDir();
  const opts = { dataDir: t.dir, spec, p2p: { host: "127.0.0.1", port: 0 }, apiHost: "127.0.0.1", apiPort: 0, produce: false, mine: false };
  const txs = [0, 1, 2].map((nonce) => {
    const body = { chain_id: spec.chain_id, from: payer.ebid, to: keys[0]!.ebid, amount: "10", fee: String(1 + nonce), nonce };
    return { ...body, sig: sign(Domain.tx, body, payer.secretKey) };
  });
  try {
    const a = await VisionNode.init(opts, silentLog);
    for (const tx of txs) assert.equal((await a.submitTx(tx)).status, "added");
    await assert.rejects(a.submitTx({ ...txs[0]!, amount: "11" }), TxError, "a forged copy is refused");
    await a.close();
    const b = await VisionNode.init(opts, silentLog);
    try {
      assert.equal(b.mempool.size, 3);
      for (const tx of txs) assert.deepEqual(b.mempool.get(txHash(tx)), tx);
    } finally {
      await b.close();
    }
  } finally {
    t.cleanup();
  }
});

test("a reorg returns the orphaned blocks' transfers to the mempool, journaled so a restart keeps them", async () => {
  const t = tempDir();
  const opts = { dataDir: t.dir, spec, p2p: { host: "127.0.0.1", port: 0 }, apiHost: "127.0.0.1", apiPort: 0, produce: false, mine: false };
  let node = await VisionNode.init(opts, silentLog);
  try {
    await extend(node.chain, keys, 1);
    const fork = node.chain.head;
    const body = { chain_id: spec.chain_id, from: payer.ebid, to: keys[0]!.ebid, amount: "10", fee: "1", nonce: 0 };
    const tx = { ...body, sig: sign(Domain.tx, body, payer.secretKey) };
    await node.chain.importBlock(await blockFor(node.chain, fork, keys, 1, { txs: [tx] })); // the backup's block carries it
    assert.equal((await node.chain.account(payer.ebid)).nonce, 1);
    await node.chain.importBlock(await blockFor(node.chain, fork, keys, 0)); // the primary's, without it, wins
    assert.equal((await node.chain.account(payer.ebid)).nonce, 0);
    await waitFor(() => node.mempool.has(txHash(tx)), 3000, "the transfer back in the mempool");
    await node.close();
    node = await VisionNode.init(opts, silentLog);
    assert.deepEqual(node.mempool.get(txHash(tx)), tx, "the returned transfer is still pending after a restart");
  } finally {
    await node.close();
    t.cleanup();
  }
});

test("a reorg returns an orphaned withdraw to the mempool even when only its bond pays its fee, and the transfers spending the bond after it", async () => {
  // epochs of 2 blocks: a bond at height 1 activates at epoch 2, its unbond at height 2 exits at
  // epoch 3, and the bond is withdrawable from epoch 4 (height 8)
  const bonder = makeKeys(1, 90)[0]!;
  const all = [...keys, bonder];
  const vspec = makeSpec(keys, { params: { block_time_ms: 2000, epoch_length: 2, unbonding_epochs: 1 }, alloc: { [bonder.ebid]: "1002" }, block_reward: "0" });
  const t = tempDir();
  const node = await VisionNode.init({ dataDir: t.dir, spec: vspec, p2p: { host: "127.0.0.1", port: 0 }, apiHost: "127.0.0.1", apiPort: 0, produce: false, mine: false }, silentLog);
  try {
    const chainId = vspec.chain_id;
    await node.chain.importBlock(await blockFor(node.chain, node.chain.head, all, 0, { txs: [bondTx(bonder, chainId, 0, { amount: "1000" })] }));
    await node.chain.importBlock(await blockFor(node.chain, node.chain.head, all, 0, { txs: [exitTx("unbond", bonder, chainId, 1)] }));
    await extend(node.chain, all, 5);
    assert.equal((await node.chain.account(bonder.ebid)).balance, 0n, "everything is in the bond");
    const fork = node.chain.head;
    const withdraw = exitTx("withdraw", bonder, chainId, 2);
    const body = { chain_id: chainId, from: bonder.ebid, to: keys[0]!.ebid, amount: "900", fee: "1", nonce: 3 };
    const spend = { ...body, sig: sign(Domain.tx, body, bonder.secretKey) };
    // the branch that carries them: the backup's block with the withdraw, then a block with the transfer
    const a1 = await blockFor(node.chain, fork, all, 1, { txs: [withdraw] });
    await node.chain.importBlock(a1);
    await node.chain.importBlock(await blockFor(node.chain, (await node.chain.getMeta(a1.hash))!, all, 0, { txs: [spend] }));
    assert.equal((await node.chain.account(bonder.ebid)).balance, 98n);
    // the primaries' branch, without them, wins
    const b1 = await blockFor(node.chain, fork, all, 0);
    await node.chain.importBlock(b1);
    await node.chain.importBlock(await blockFor(node.chain, (await node.chain.getMeta(b1.hash))!, all, 0));
    assert.equal((await node.chain.account(bonder.ebid)).nonce, 2);
    await waitFor(() => node.mempool.has(txHash(withdraw)), 3000, "the withdraw back in the mempool");
    await waitFor(() => node.mempool.has(txHash(spend)), 3000, "the transfer spending the bond back in the mempool");
  } finally {
    await node.close();
    t.cleanup();
  }
});
