// A data dir written by a protocol version 1 node (vision-node 0.2.x) is refused with one line
// naming the version, by Chain.open and by `vision-node start` (a real process), and is left as it was.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ChainDb } from "../../../src/storage/chainDb.ts";
import { Chain } from "../../../src/chain/chain.ts";
import { genesisBlock } from "../../../src/chain/spec.ts";
import { hashJson, toHex } from "../../../src/consensus/encoding.ts";
import type { Block } from "../../../src/consensus/types.ts";
import { GENESIS_TS, makeKeys, makeSpec, silentLog, tempDir } from "../../helpers/fixtures.ts";
import { runCli } from "../../helpers/nodeProcess.ts";

const spec = makeSpec(makeKeys(3));
const V1_LINE = "data dir holds a protocol version 1 chain (vision-node 0.2.x); this node runs protocol version 3: use another --data-dir or remove it";

/** Writes what a 0.2.x node writes on first start: its genesis block (an 11-field header, version 1), meta, head. */
async function writeV1DataDir(dir: string): Promise<string> {
  const g = genesisBlock(spec).header;
  // A 0.2.x spec (initial_pool, no validators) hashes to another spec hash: the genesis parent_hash.
  const v1SpecHash = toHex(hashJson({ chain_id: spec.chain_id, initial_pool: spec.validators.map((v) => v.ebid) }));
  const header = {
    version: 1, height: 0, parent_hash: v1SpecHash, timestamp: GENESIS_TS, producer: g.producer, slot: null, difficulty: g.difficulty,
    nonce: 0, tx_root: g.tx_root, attestations_root: g.attestations_root, state_root: g.state_root,
  };
  const hash = toHex(hashJson(header));
  const block = { header, txs: [], attestations: [], hash, signature: "" } as unknown as Block;
  const db = await ChainDb.open(join(dir, "chaindata"));
  try {
    const meta = { hash, height: 0, parent_hash: v1SpecHash, timestamp: GENESIS_TS, producer: g.producer, slot: null, difficulty: g.difficulty, total_weight: "0", is_canonical: true, attesters: [], seen_at: null };
    await db.write([
      { kind: "block", block },
      { kind: "meta", meta: meta as never },
      { kind: "canonical", height: 0, hash },
      { kind: "head", hash },
      { kind: "changes", hash, record: { producer: g.producer, earned: "0", changes: [] } as never }, // a 0.2.x record: no validator changes
    ]);
    await db.putGenesis(hash);
  } finally {
    await db.close();
  }
  return hash;
}

test("Chain.open refuses a protocol version 1 data dir with one line naming the version", async () => {
  const t = tempDir();
  try {
    await writeV1DataDir(t.dir);
    const db = await ChainDb.open(join(t.dir, "chaindata"));
    try {
      await assert.rejects(Chain.open({ spec }, { db, logger: silentLog }), (e: Error) => {
        assert.equal(e.message, V1_LINE);
        return true;
      });
    } finally {
      await db.close();
    }
  } finally {
    t.cleanup();
  }
});

test("`vision-node start` on a protocol version 1 data dir exits 1 with that one line and writes nothing beside the database", async () => {
  const t = tempDir();
  const s = tempDir();
  try {
    await writeV1DataDir(t.dir);
    const specFile = join(s.dir, "chain.json");
    writeFileSync(specFile, JSON.stringify(spec));
    const r = runCli(["start", "--data-dir", t.dir, "--chain", specFile, "--p2p-port", "0", "--api-port", "0", "--p2p-host", "127.0.0.1"]);
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stderr, `vision-node: ${V1_LINE}\n`);
    assert.ok(!existsSync(join(t.dir, "node.key")), "no key file was created in the refused data dir");
    assert.ok(!existsSync(join(t.dir, "admin.token")), "no admin token was written in the refused data dir");
  } finally {
    t.cleanup();
    s.cleanup();
  }
});
