// The node's mempool over real LevelDB: accepted transfers survive a restart (the journal), and a
// reorg returns the orphaned blocks' transfers to the pool.
import { test } from "node:test";
import assert from "node:assert/strict";
import { VisionNode } from "../../../src/node/node.ts";
import { blockFor, extend, makeKeys, makeSpec, silentLog, tempDir } from "../../helpers/fixtures.ts";
import { waitFor } from "../../helpers/net.ts";
import { Domain, sign } from "../../../src/consensus/signatures.ts";
import { TxError, txHash } from "../../../src/chain/tx.ts";

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
