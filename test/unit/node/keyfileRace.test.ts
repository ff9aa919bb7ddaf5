// Two starts on one key file written before protocol version 2 (two processes given the same
// --key-file, or a node and `vision-node validator bond` at once): each reads the file without a
// BLS key and adds one. Whichever rename lands last wins on disk, so the other process would run
// with a BLS key the file no longer holds (its reveals refused after a bond made from the file, its
// key lost at its next start). The added key is derived from the ed25519 secret, so both add the
// same one. Simulated with real files: the second start reads the file as the first found it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadOrCreateKey, readKeyFile } from "../../../src/node/keyfile.ts";
import { ebidOf } from "../../../src/consensus/signatures.ts";
import { toHex } from "../../../src/consensus/encoding.ts";
import { tempDir } from "../../helpers/fixtures.ts";

test("two starts that both add a BLS key to one old key file end with the key each runs with on disk", () => {
  const t = tempDir();
  try {
    const path = join(t.dir, "node.key");
    const seed = new Uint8Array(32).fill(11);
    const old = JSON.stringify({ ebid: ebidOf(seed), secret_key: toHex(seed) }, null, 2) + "\n";
    writeFileSync(path, old, { mode: 0o600 });
    chmodSync(path, 0o600);
    const first = loadOrCreateKey(path);
    const afterFirst = readFileSync(path, "utf8");
    writeFileSync(path, old); // the second start read the file before the first's rename
    const second = loadOrCreateKey(path);
    assert.equal(first.blsAdded && second.blsAdded, true);
    const onDisk = readKeyFile(path);
    assert.equal(second.key.blsPubkey, onDisk.blsPubkey);
    assert.equal(first.key.blsPubkey, onDisk.blsPubkey, "the first start runs with the BLS key the file holds");
    assert.equal(readFileSync(path, "utf8"), afterFirst);
  } finally {
    t.cleanup();
  }
});
