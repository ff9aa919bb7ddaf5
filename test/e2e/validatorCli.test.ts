// A validator's life through the operator's commands against a running 2-node testnet: `validator
// bond` from an outside key (min_bond by default), `validator status` showing it pending, then
// active, `validator unbond`, the early withdraw refused by name (exit 1), then withdrawable, the
// withdraw, and the bond back in the balance; `vision-node status` on a genesis validator's node.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { makeKeys, makeSpec, tempDir } from "../helpers/fixtures.ts";
import { getJson, runCli, startMesh, type NodeProc } from "../helpers/nodeProcess.ts";
import { waitFor } from "../helpers/net.ts";
import { writeKeyFile } from "../../src/node/keyfile.ts";
import { validatorState, type ValidatorRow } from "../../src/cli/validator.ts";

test("validator bond, status, unbond, withdraw: a key's whole validator life through the command line", async () => {
  const t = tempDir();
  const keys = makeKeys(3);
  const bonder = keys[2]!;
  const spec = makeSpec(keys.slice(0, 2), {
    genesis_timestamp: Date.now(),
    alloc: { [bonder.ebid]: "100000" },
    // Epochs of 8 blocks (4 s): each state the test waits for, then checks with one CLI process
    // (about 1 s, several on a loaded machine), lasts at least an epoch; with 2-block epochs a poll
    // could miss `pending` altogether (CI did, under load). Activation 3 epochs on: a bond included
    // at an epoch's last block was pending for only one epoch, and under load the CLI read `active`
    // after the API had shown `pending` (CI did).
    params: { block_time_ms: 500, epoch_length: 8, activation_delay_epochs: 3, unbonding_epochs: 1 },
  });
  const keyFile = join(t.dir, "bonder.key");
  writeKeyFile(keyFile, bonder.secretKey, bonder.blsSecretKey);
  let nodes: NodeProc[] = [];
  try {
    nodes = await startMesh(t.dir, keys.slice(0, 2), spec);
    const api = nodes[0]!.api;
    const status = () => runCli(["validator", "status", "--key", keyFile, "--api", api]).stdout;
    // Each state is waited for over HTTP (a CLI process a poll kept a core busy for the whole
    // test), then `validator status` is run once and must say the same.
    const apiState = async () => {
      // A poll that meets a closing keep-alive connection ("fetch failed") is simply the next poll's to make.
      const r = await fetch(`${api}/api/validators/${bonder.ebid}`).catch(() => null);
      if (!r) return "";
      return `: ${validatorState(r.status === 200 ? ((await r.json()) as { validator: ValidatorRow }).validator : null)}\n`;
    };
    const reach = async (state: RegExp, what: string) => {
      await waitFor(async () => state.test(await apiState()), 30_000, what);
      assert.match(status(), state);
    };
    const balance = async () => BigInt((await getJson(`${api}/api/accounts/${bonder.ebid}`)).balance as string);
    await waitFor(async () => (await getJson(`${api}/api/chain/head`)).height >= 1, 60_000, "height 1");
    assert.match(status(), new RegExp(`^${bonder.ebid}: not bonded\\n`));

    const bond = runCli(["validator", "bond", "--key", keyFile, "--api", api]);
    assert.equal(bond.status, 0, bond.stderr);
    assert.match(bond.stdout, /^[0-9a-f]{64} \(nonce 0, added\)$/m);
    await reach(/: pending until epoch \d+\n/, "pending");
    assert.equal(await balance(), 100000n - 1000n - 1n, "min_bond and the fee left the balance");
    await reach(/: active\n/, "active");
    const all = runCli(["validator", "status", "--api", api]).stdout;
    assert.match(all, /validators 3: active 3, pending 0, exiting 0/);

    const unbond = runCli(["validator", "unbond", "--key", keyFile, "--api", api]);
    assert.equal(unbond.status, 0, unbond.stderr);
    await reach(/: exiting at epoch \d+\n/, "exiting");
    const early = runCli(["validator", "withdraw", "--key", keyFile, "--api", api]);
    assert.equal(early.status, 1);
    assert.match(early.stderr, /refused: not_withdrawable/);
    await reach(/: withdrawable since epoch \d+\n/, "withdrawable");
    const before = await balance();
    const withdraw = runCli(["validator", "withdraw", "--key", keyFile, "--api", api]);
    assert.equal(withdraw.status, 0, withdraw.stderr);
    await reach(/: not bonded\n/, "withdrawn");
    assert.equal(await balance(), before + 1000n - 1n, "the bond is back, less the fee");

    // The node of a genesis validator: `vision-node status` has its one validator line.
    const s = runCli(["status", "--api", api]);
    assert.equal(s.status, 0, s.stderr);
    assert.match(s.stdout, /^validator\s+active(, in pool)? {2}epoch \d+; validators 2: active 2, pending 0, exiting 0, live \d$/m);
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
    t.cleanup();
  }
});
