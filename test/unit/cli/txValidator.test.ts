// `tx bond`, `tx unbond` and `tx withdraw` against a node's real HTTP API (in-process node on
// LevelDB): the bond is signed with the key file's BLS key and pooled; the node's refusals reach the
// operator by name; a key file without a BLS key is refused before anything is sent.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { VisionNode } from "../../../src/node/node.ts";
import { writeKeyFile } from "../../../src/node/keyfile.ts";
import { runTxBond, runTxExit } from "../../../src/cli/tx.ts";
import { toHex } from "../../../src/consensus/encoding.ts";
import { makeKeys, makeSpec, silentLog, tempDir } from "../../helpers/fixtures.ts";

const keys = makeKeys(3);
const bonder = keys[2]!;
const spec = makeSpec(keys.slice(0, 2), { alloc: { [bonder.ebid]: "100000" } });

test("CLI tx bond, unbond and withdraw: signed with the key file's keys and submitted; refusals named", async () => {
  const t = tempDir();
  const node = await VisionNode.init({ dataDir: join(t.dir, "node"), spec, p2p: { host: "127.0.0.1", port: 0, peers: [] }, apiHost: "127.0.0.1", apiPort: 0, produce: false, mine: false, sync: {} }, silentLog);
  const api = `http://127.0.0.1:${node.apiPort}`;
  const keyFile = join(t.dir, "bonder.key");
  writeKeyFile(keyFile, bonder.secretKey);
  const out: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((s: string) => (out.push(s), true)) as typeof process.stdout.write;
  try {
    await assert.rejects(runTxBond({ key: keyFile, amount: "1000", fee: "1", api }), /has no bls_secret_key/);
    writeFileSync(keyFile, JSON.stringify({ ...JSON.parse(readFileSync(keyFile, "utf8")), bls_secret_key: toHex(bonder.blsSecretKey) }));
    await assert.rejects(runTxBond({ key: keyFile, amount: "999", fee: "1", api }), /refused: bond_too_small/);
    await runTxBond({ key: keyFile, amount: "1000", fee: "1", api });
    assert.match(out.join(""), /^[0-9a-f]{64} \(nonce 0, added\)/);
    const pending = node.mempool.list(10);
    assert.equal(pending.length, 1);
    assert.deepEqual({ ...pending[0], sig: "" }, { chain_id: spec.chain_id, kind: "bond", from: bonder.ebid, amount: "1000", fee: "1", nonce: 0, bls_pubkey: bonder.blsPubkey, pop: (pending[0] as { pop: string }).pop, sig: "" });
    await assert.rejects(runTxExit("unbond", { key: keyFile, fee: "1", api }), /refused: not_bonded/);
    await assert.rejects(runTxExit("withdraw", { key: keyFile, fee: "1", api }), /refused: not_bonded/);
  } finally {
    process.stdout.write = write;
    await node.close();
    t.cleanup();
  }
});
