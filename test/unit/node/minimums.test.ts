// Transfer minimums and check order through the real node (HTTP API, LevelDB): a transfer below the
// chain's minimum fee, or creating an account below the minimum balance, is refused by `POST /api/tx`
// and is invalid in a block; a forged transfer that is stale anyway is refused for its nonce, before
// any signature verify (docs/protocol.md §6.5); and the state root survives a restart.
import { test } from "node:test";
import assert from "node:assert/strict";
import { VisionNode } from "../../../src/node/node.ts";
import { blockFor, extend, finalityRootOn, makeKeys, makeSpec, revealFor, silentLog, tempDir } from "../../helpers/fixtures.ts";
import { Domain, sign } from "../../../src/consensus/signatures.ts";
import { BlockError } from "../../../src/chain/errors.ts";
import { draftHeader, sealBlock } from "../../../src/producer/blockBuilder.ts";
import type { Tx } from "../../../src/consensus/types.ts";

const keys = makeKeys(3);
const payer = makeKeys(5)[4]!;
const fresh = makeKeys(6)[5]!;
const spec = makeSpec(keys, { alloc: { [payer.ebid]: "100000" } });
const opts = (dataDir: string) => ({ dataDir, spec, p2p: { host: "127.0.0.1", port: 0 }, apiHost: "127.0.0.1", apiPort: 0, produce: false, mine: false });

function transfer(body: { to: string; amount: string; fee: string; nonce: number }): Tx {
  const unsigned = { chain_id: spec.chain_id, from: payer.ebid, ...body };
  return { ...unsigned, sig: sign(Domain.tx, unsigned, payer.secretKey) };
}

async function post(port: number, tx: Tx): Promise<{ status: number; body: { error?: string; message?: string } }> {
  const r = await fetch(`http://127.0.0.1:${port}/api/tx`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(tx) });
  return { status: r.status, body: (await r.json()) as { error?: string } };
}

test("POST /api/tx refuses a zero-fee transfer and a dust transfer that would create an account; a restart keeps the state root", async () => {
  const t = tempDir();
  try {
    const node = await VisionNode.init(opts(t.dir), silentLog);
    let root: string;
    try {
      const zeroFee = await post(node.apiPort, transfer({ to: fresh.ebid, amount: "1000", fee: "0", nonce: 0 }));
      assert.equal(zeroFee.status, 400, `a zero-fee transfer must be refused, got ${zeroFee.status} ${JSON.stringify(zeroFee.body)}`);
      assert.match(zeroFee.body.message ?? "", /min_tx_fee/);
      const dust = await post(node.apiPort, transfer({ to: fresh.ebid, amount: "1", fee: "1", nonce: 0 }));
      assert.equal(dust.status, 400, `a 1-unit transfer creating an account must be refused, got ${dust.status} ${JSON.stringify(dust.body)}`);
      assert.match(dust.body.message ?? "", /min_account_balance/);
      const create = transfer({ to: fresh.ebid, amount: "1000", fee: "1", nonce: 0 });
      const ok = await post(node.apiPort, create);
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      // Once the account exists, any amount may go to it.
      const small = await post(node.apiPort, transfer({ to: fresh.ebid, amount: "1", fee: "1", nonce: 1 }));
      assert.equal(small.status, 400, "not yet created at the head: still refused");
      await node.chain.importBlock(await blockFor(node.chain, node.chain.head, keys, 0, { txs: [create] }));
      root = node.chain.head.state_root;
    } finally {
      await node.close();
    }
    const again = await VisionNode.init(opts(t.dir), silentLog);
    try {
      assert.equal(again.chain.head.state_root, root);
      const small = transfer({ to: fresh.ebid, amount: "1", fee: "1", nonce: 1 });
      assert.equal((await post(again.apiPort, small)).status, 200, "the account exists now");
      // Executes on the reopened state: the importer recomputes the root the builder put in the header.
      await again.chain.importBlock(await blockFor(again.chain, again.chain.head, keys, 0, { txs: [small] }));
      await extend(again.chain, keys, 1);
      assert.equal((await again.chain.account(fresh.ebid)).balance, 1001n);
    } finally {
      await again.close();
    }
  } finally {
    t.cleanup();
  }
});

test("a forged transfer with a stale nonce is refused for its nonce, in the mempool and in a block (the signature is checked last)", async () => {
  const t = tempDir();
  const node = await VisionNode.init(opts(t.dir), silentLog);
  try {
    const forged = { ...transfer({ to: fresh.ebid, amount: "1000", fee: "1", nonce: 5000 }), sig: "00".repeat(64) };
    const r = await post(node.apiPort, forged);
    assert.equal(r.status, 400);
    assert.equal(r.body.error, "nonce_too_high", `the nonce is refused before any verify, got ${JSON.stringify(r.body)}`);
    const head = node.chain.head;
    const producer = (await node.chain.scheduleFor(head)).winners[0]!;
    const key = keys.find((k) => k.ebid === producer)!;
    const header = draftHeader({ parent: head, producer, slot: 0, timestamp: head.timestamp + 2000, attestations: [], txs: [forged], stateRoot: head.state_root, validatorsRoot: node.chain.genesis.header.validators_root, finalityRoot: await finalityRootOn(node.chain, head), randaoReveal: revealFor(node.chain, await node.chain.scheduleFor(head), key) });
    const block = sealBlock(header, { txs: [forged], attestations: [] }, key.secretKey, node.chain.genesis.hash);
    await assert.rejects(node.chain.importBlock(block), (e) => e instanceof BlockError && e.code === "BAD_TX" && /NONCE_TOO_HIGH/.test(e.message));
  } finally {
    await node.close();
    t.cleanup();
  }
});
