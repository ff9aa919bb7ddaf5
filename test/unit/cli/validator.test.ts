// `vision-node validator bond|unbond|withdraw|status` against a node's real HTTP API (in-process
// node on LevelDB): the bond is signed with the key file's BLS key and pooled, its amount defaults
// to the chain's min_bond; the node's refusals reach the operator by name; a key file without a
// BLS key is refused before anything is sent; status through the real command line.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { VisionNode } from "../../../src/node/node.ts";
import { writeKeyFile } from "../../../src/node/keyfile.ts";
import { runValidatorBond, runValidatorExit } from "../../../src/cli/validator.ts";
import { genesisValidators, makeKeys, makeSpec, silentLog, tempDir } from "../../helpers/fixtures.ts";
import { BIN } from "../../helpers/nodeProcess.ts";

const keys = makeKeys(3);
const bonder = keys[2]!;
const spec = makeSpec(keys.slice(0, 2), { validators: genesisValidators(keys.slice(0, 2), "2000"), alloc: { [bonder.ebid]: "100000" }, params: { block_time_ms: 2000, min_bond: 1500 } });

/** The real command line, without blocking this process (the node answering it runs here). */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await promisify(execFile)(process.execPath, [BIN, ...args], { encoding: "utf8", timeout: 30_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === "number" ? x.code : -1, stdout: x.stdout ?? "", stderr: x.stderr ?? "" };
  }
}

test("CLI validator bond, unbond, withdraw and status: signed with the key file's keys and submitted; min_bond by default; refusals named", async () => {
  const t = tempDir();
  writeKeyFile(join(t.dir, "node", "node.key"), keys[0]!.secretKey, keys[0]!.blsSecretKey); // the node is a genesis validator
  const node = await VisionNode.init({ dataDir: join(t.dir, "node"), spec, p2p: { host: "127.0.0.1", port: 0, peers: [] }, apiHost: "127.0.0.1", apiPort: 0, produce: false, mine: false, sync: {} }, silentLog);
  const api = `http://127.0.0.1:${node.apiPort}`;
  const keyFile = join(t.dir, "bonder.key");
  writeKeyFile(keyFile, bonder.secretKey, bonder.blsSecretKey);
  const noBls = join(t.dir, "old.key");
  const { bls_secret_key: _, ...old } = JSON.parse(readFileSync(keyFile, "utf8"));
  writeFileSync(noBls, JSON.stringify(old));
  const out: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((s: string) => (out.push(s), true)) as typeof process.stdout.write;
  try {
    await assert.rejects(runValidatorBond({ key: noBls, fee: "1", api }), /has no BLS key \(bls_secret_key\): start the node once with it .* or make a new key with vision-node keygen/);
    assert.equal(node.mempool.size, 0, "nothing sent");
    await assert.rejects(runValidatorBond({ key: keyFile, amount: "1499", fee: "1", api }), /refused: bond_too_small/);
    await runValidatorBond({ key: keyFile, fee: "1", api });
    assert.match(out.join(""), /^[0-9a-f]{64} \(nonce 0, added\)/);
    const pending = node.mempool.list(10);
    assert.equal(pending.length, 1);
    assert.deepEqual({ ...pending[0], sig: "" }, { chain_id: spec.chain_id, kind: "bond", from: bonder.ebid, amount: "1500", fee: "1", nonce: 0, bls_pubkey: bonder.blsPubkey, pop: (pending[0] as { pop: string }).pop, sig: "" });
    await assert.rejects(runValidatorExit("unbond", { key: keyFile, fee: "1", api }), /refused: not_bonded/);
    await assert.rejects(runValidatorExit("withdraw", { key: keyFile, fee: "1", api }), /refused: not_bonded/);
  } finally {
    process.stdout.write = write;
  }
  try {
    // The real command: every validator, one by EBID, --key's (not bonded yet), a refusal's exit code.
    const all = await cli(["validator", "status", "--api", api]);
    assert.equal(all.code, 0, all.stderr);
    for (const k of keys.slice(0, 2)) assert.match(all.stdout, new RegExp(`${k.ebid}\\s+active\\s+2000\\s+yes`));
    assert.match(all.stdout, /epoch 0 \(next height: epoch 0\), validators 2: active 2, pending 0, exiting 0, live 2/);
    const one = await cli(["validator", "status", keys[0]!.ebid, "--api", api]);
    assert.equal(one.code, 0, one.stderr);
    assert.match(one.stdout, new RegExp(`^${keys[0]!.ebid}: active\\n`));
    assert.match(one.stdout, new RegExp(`bls_pubkey\\s+${keys[0]!.blsPubkey}`));
    const mine = await cli(["validator", "status", "--key", keyFile, "--api", api]);
    assert.match(mine.stdout, new RegExp(`^${bonder.ebid}: not bonded\\n`));
    const refused = await cli(["validator", "unbond", "--key", keyFile, "--api", api]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /refused: not_bonded/);
    // `vision-node status`: this node's validator state and the set's counts on one line.
    const status = await cli(["status", "--api", api]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /^validator\s+active, in pool {2}epoch 0; validators 2: active 2, pending 0, exiting 0, live 2$/m);
    const bad = await cli(["validator", "status", "xyz", "--api", api]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /64 lowercase hex/);
  } finally {
    await node.close();
    t.cleanup();
  }
});
