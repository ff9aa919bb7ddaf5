// `db verify` checks finality over real LevelDB (docs/protocol.md §5a, §7): every stored block's
// finality state (`f!<hash>`) hashes to its header's `finality_root` (genesis's is the genesis
// state), and the store's checkpoints (`fc`) name canonical blocks that the stored finality states
// finalize and justify. A tampered, missing or unreadable record is reported, never crashed on.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { ClassicLevel } from "classic-level";
import { verifyDataDir } from "../../../src/chain/verify.ts";
import { attestOn, blockFor, makeKeys, makeSpec, openTestChain } from "../../helpers/fixtures.ts";

const keys = makeKeys(4);
const spec = makeSpec(keys);
const I = spec.params.checkpoint_interval;

interface Built {
  dir: string;
  destroy: () => Promise<void>;
  /** canonical hashes by height */
  canonical: string[];
}

// Every validator attests each parent: cp(1) finalized, cp(2) justified, the store's `fc` written.
async function buildDir(): Promise<Built> {
  const c = await openTestChain(spec);
  for (let i = 0; i < 2 * I + 3; i++) {
    const parent = c.chain.head;
    const attestations = parent.height === 0 ? [] : await Promise.all(keys.map((k) => attestOn(c.chain, k, parent.height, parent.hash)));
    assert.equal((await c.chain.importBlock(await blockFor(c.chain, parent, keys, 0, { attestations }))).status, "imported");
  }
  assert.equal(c.chain.finalizedCheckpoint.height, I);
  assert.equal(c.chain.justifiedCheckpoint.height, 2 * I);
  const canonical: string[] = [];
  for (let h = 0; h <= c.chain.head.height; h++) canonical.push((await c.chain.getCanonicalMeta(h))!.hash);
  await c.close();
  return { dir: c.dir, destroy: () => c.destroy(), canonical };
}

test("db verify: a chain with finality passes, its finality states and checkpoints checked", async () => {
  const d = await buildDir();
  try {
    const r = await verifyDataDir(d.dir, spec);
    assert.deepEqual(r.problems, []);
    assert.equal(r.ok, true);
  } finally {
    await d.destroy();
  }
});

test("db verify: tampered, missing or unreadable finality records and inconsistent checkpoints are found and named", async () => {
  type Db = ClassicLevel<string, any>;
  const cases: [string, (db: Db, d: Built) => Promise<void>, RegExp][] = [
    ["a canonical block's finality state", async (db, d) => {
      const f = await db.get(`f!${d.canonical[I + 2]}`);
      f.votes = [];
      await db.put(`f!${d.canonical[I + 2]}`, f);
    }, new RegExp(`block .* at ${I + 2}: its finality state .*not the header's finality_root`)],
    ["a finality state that is not JSON", async (db, d) => {
      await db.put(`f!${d.canonical[5]}`, "{not json", { valueEncoding: "utf8" });
    }, /block .* at 5: finality state unreadable/],
    ["a missing finality state", async (db, d) => {
      await db.del(`f!${d.canonical[3]}`);
    }, /block .* at 3: no finality state/],
    ["genesis's finality state", async (db, d) => {
      const f = await db.get(`f!${d.canonical[0]}`);
      f.justified_recent = [];
      await db.put(`f!${d.canonical[0]}`, f);
    }, /genesis .*finality state is not the genesis state/],
    ["the store's finalized checkpoint at a justified, unfinalized one", async (db, d) => {
      const fc = await db.get("fc");
      await db.put("fc", { ...fc, finalized: { height: 2 * I, hash: d.canonical[2 * I] } });
    }, new RegExp(`fork choice finalized checkpoint ${2 * I} \\(.*\\): .*finalize at most height ${I}`)],
    ["the store's justified checkpoint off the canonical chain", async (db, d) => {
      const fc = await db.get("fc");
      await db.put("fc", { ...fc, justified: { height: 2 * I, hash: d.canonical[2 * I - 1] } });
    }, new RegExp(`fork choice justified checkpoint ${2 * I} .* is not the canonical block at that height`)],
    ["the store's justified checkpoint behind the stored states", async (db, d) => {
      const fc = await db.get("fc");
      await db.put("fc", { ...fc, justified: { height: I, hash: d.canonical[I] } });
    }, new RegExp(`fork choice justified checkpoint ${I} \\(.*\\): .*justify up to height ${2 * I}`)],
    ["unreadable checkpoints", async (db) => {
      await db.put("fc", "]", { valueEncoding: "utf8" });
    }, /fork choice checkpoints \(fc\) unreadable/],
  ];
  for (const [what, corrupt, expected] of cases) {
    const d = await buildDir();
    try {
      const db: Db = new ClassicLevel<string, any>(join(d.dir, "chaindata"), { valueEncoding: "json" });
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
