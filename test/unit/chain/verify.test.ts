// `db verify` over real LevelDB: a healthy data dir passes; a tampered block, a hole in the canonical
// index, a changed account and a changed validator record are each found and named.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { ClassicLevel } from "classic-level";
import { verifyDataDir } from "../../../src/chain/verify.ts";
import { Domain, sign } from "../../../src/consensus/signatures.ts";
import { blockFor, extend, makeKeys, makeSpec, openTestChain } from "../../helpers/fixtures.ts";

const keys = makeKeys(3);
const payer = makeKeys(5)[4]!;
const spec = makeSpec(keys, { alloc: { [payer.ebid]: "1000" } });

async function buildDir(): Promise<{ dir: string; destroy: () => Promise<void>; tipHash: string; txBlock: string }> {
  const c = await openTestChain(spec);
  await extend(c.chain, keys, 3);
  const body = { chain_id: spec.chain_id, from: payer.ebid, to: keys[0]!.ebid, amount: "10", fee: "1", nonce: 0 };
  const tx = { ...body, sig: sign(Domain.tx, body, payer.secretKey) };
  const withTx = await blockFor(c.chain, c.chain.head, keys, 0, { txs: [tx] });
  await c.chain.importBlock(withTx);
  await c.chain.importBlock(await blockFor(c.chain, c.chain.head, keys, 1)); // a backup's block too
  const tipHash = c.chain.head.hash;
  await c.close();
  return { dir: c.dir, destroy: () => c.destroy(), tipHash, txBlock: withTx.hash };
}

test("db verify: a healthy data dir passes with every block replayed", async () => {
  const d = await buildDir();
  try {
    const r = await verifyDataDir(d.dir, spec);
    assert.deepEqual(r.problems, []);
    assert.equal(r.ok, true);
    assert.equal(r.canonical_height, 5);
    assert.equal(r.replayed, 5);
    assert.equal(r.blocks, 6);
    assert.equal(r.tx_index_entries, 1);
    assert.ok(r.accounts >= 2);
  } finally {
    await d.destroy();
  }
});

test("db verify: tampering is found and named", async () => {
  const cases: [string, (db: ClassicLevel<string, any>, d: { tipHash: string; txBlock: string }) => Promise<void>, RegExp][] = [
    ["a block's stored header", async (db, d) => {
      const b = await db.get(`b!${d.txBlock}`);
      b.header.timestamp += 1;
      await db.put(`b!${d.txBlock}`, b);
    }, /header hashes to/],
    ["a hole in the canonical index", async (db) => {
      await db.del(`c!${(3).toString(16).padStart(16, "0")}`);
    }, /canonical index at 3/],
    ["an account balance", async (db) => {
      await db.put(`s!${payer.ebid}`, ["999999", 1]);
    }, new RegExp(`account ${payer.ebid}: stored 999999/1`)],
    ["a block's transfers", async (db, d) => {
      const b = await db.get(`b!${d.txBlock}`);
      b.txs = [];
      await db.put(`b!${d.txBlock}`, b);
    }, /replay of .* refused: tx_root mismatch/],
    ["a validator record", async (db) => {
      const r = await db.get(`v!${keys[1]!.ebid}`);
      await db.put(`v!${keys[1]!.ebid}`, { ...r, bond: "5" });
    }, new RegExp(`validator ${keys[1]!.ebid}: stored .*"bond":"5"`)],
  ];
  for (const [what, corrupt, expected] of cases) {
    const d = await buildDir();
    try {
      const db = new ClassicLevel<string, any>(join(d.dir, "chaindata"), { valueEncoding: "json" });
      await db.open();
      await corrupt(db, d);
      await db.close();
      const r = await verifyDataDir(d.dir, spec);
      assert.equal(r.ok, false, what);
      assert.ok(r.problems.some((p) => expected.test(p)), `${what}: ${JSON.stringify(r.problems)}`);
    } finally {
      await d.destroy();
    }
  }
});
