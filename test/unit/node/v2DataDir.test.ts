// A data dir written by a protocol version 2 node (before finality) is refused with one line naming
// the version, by Chain.open, and is left as it was.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { ChainDb } from "../../../src/storage/chainDb.ts";
import { Chain } from "../../../src/chain/chain.ts";
import { genesisBlock } from "../../../src/chain/spec.ts";
import { hashJson, toHex } from "../../../src/consensus/encoding.ts";
import type { Block } from "../../../src/consensus/types.ts";
import { makeKeys, makeSpec, silentLog, tempDir } from "../../helpers/fixtures.ts";

const spec = makeSpec(makeKeys(3));
const V2_LINE = "data dir holds a protocol version 2 chain; this node runs protocol version 3: use another --data-dir or remove it";

/** Writes what a protocol version 2 node writes on first start: its genesis block (a 14-field header, version 2), meta, head. */
async function writeV2DataDir(dir: string): Promise<string> {
  const { finality_root: _f, slashings_root: _s, ...rest } = genesisBlock(spec).header;
  // A version 2 spec has no checkpoint_interval, so its genesis parent_hash (spec_hash) differs.
  const header = { ...rest, version: 2, parent_hash: "ab".repeat(32) };
  const hash = toHex(hashJson(header));
  const block = { header, txs: [], attestations: [], hash, signature: "" } as unknown as Block;
  const db = await ChainDb.open(join(dir, "chaindata"));
  try {
    const meta = { hash, height: 0, parent_hash: header.parent_hash, timestamp: header.timestamp, producer: header.producer, slot: null, difficulty: 0, state_root: header.state_root, mix: header.mix, total_weight: "0", is_canonical: true, attesters: [], seen_at: null };
    await db.write([
      { kind: "block", block },
      { kind: "meta", meta: meta as never },
      { kind: "canonical", height: 0, hash },
      { kind: "head", hash },
      { kind: "changes", hash, record: { producer: header.producer, earned: "0", changes: [], validators: [] } as never },
    ]);
    await db.putGenesis(hash);
  } finally {
    await db.close();
  }
  return hash;
}

test("Chain.open refuses a protocol version 2 data dir with one line naming the version, and leaves it as it was", async () => {
  const t = tempDir();
  try {
    const hash = await writeV2DataDir(t.dir);
    const db = await ChainDb.open(join(t.dir, "chaindata"));
    try {
      await assert.rejects(Chain.open({ spec }, { db, logger: silentLog }), (e: Error) => {
        assert.equal(e.message, V2_LINE);
        return true;
      });
      assert.equal(await db.getGenesis(), hash, "the stored genesis is untouched");
    } finally {
      await db.close();
    }
  } finally {
    t.cleanup();
  }
});
