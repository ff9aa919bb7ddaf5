// The mempool journal over real LevelDB: an accepted transfer survives a restart; an included one
// leaves the journal.
import { test } from "node:test";
import assert from "node:assert/strict";
import { VisionNode } from "../../../src/node/node.ts";
import { makeKeys, makeSpec, silentLog, tempDir } from "../../helpers/fixtures.ts";
import { Domain, sign } from "../../../src/consensus/signatures.ts";
import { TxError, txHash } from "../../../src/chain/tx.ts";

const keys = makeKeys(3);
const payer = makeKeys(5)[4]!;
const spec = makeSpec(keys, { alloc: { [payer.ebid]: "1000" } });

test("accepted transfers survive a restart of the node", async () => {
  const t = tempDir();
  const opts = { dataDir: t.dir, spec, p2p: { host: "127.0.0.1", port: 0 }, apiHost: "127.0.0.1", apiPort: 0, produce: false };
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
