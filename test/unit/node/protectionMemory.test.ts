// Slashing protection kept in memory only (`persist: false`, for simulated nodes whose chain store
// is in memory too): the same rules, no file read or written.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { SlashingProtection } from "../../../src/node/slashingProtection.ts";
import { makeKeys, tempDir } from "../../helpers/fixtures.ts";

const [key] = makeKeys(1);

test("persist: false keeps the record in memory: blocks and votes are refused as with the file, and the data dir gets nothing", () => {
  const t = tempDir();
  try {
    const dataDir = join(t.dir, "node-0");
    const p = SlashingProtection.open(dataDir, key!.ebid, { checkpointInterval: 4, persist: false });
    assert.equal(p.signBlock(5, () => "signed"), "signed");
    assert.equal(p.signBlock(5, () => "again"), undefined, "a second block at height 5 is refused");
    assert.equal(p.observeBlock(9), true);
    assert.equal(p.signBlock(8, () => "lower"), undefined, "below an observed block of this key");
    assert.equal(p.checkVote({ source_height: 0, source_hash: "aa".repeat(32), target_height: 4, target_hash: "bb".repeat(32) }), "new");
    p.flush();
    assert.equal(p.record.max_block_height, 9);
    assert.equal(existsSync(dataDir), false, "the data dir is not even created");
    assert.deepEqual(readdirSync(t.dir), []);
  } finally {
    t.cleanup();
  }
});
