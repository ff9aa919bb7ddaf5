// The PoW fallback of Proof-of-Sync chains (docs/protocol.md §6.3) on real node processes: a chain
// with no validators starts on fallback blocks, its operators bond through the CLI and slot
// production takes over (a validator's lifecycle, docs/protocol.md §5, §6.5); and with every
// scheduled producer of a height stopped, a fallback block appears after T(len(winners)).
import { test } from "node:test";
import assert from "node:assert/strict";
import { makeKeys, makeSpec, tempDir } from "../helpers/fixtures.ts";
import { getJson, runCli, startMesh, type NodeProc } from "../helpers/nodeProcess.ts";
import { writeKeyFile } from "../../src/node/keyfile.ts";
import { join } from "node:path";
import { waitFor } from "../helpers/net.ts";
import { H, hashJson, omit, u64le } from "../../src/consensus/encoding.ts";
import type { Block, Header } from "../../src/consensus/types.ts";

const powOk = (h: Header) => Buffer.from(H(H(hashJson(omit(h, "nonce")), u64le(h.nonce)))).toString("hex").startsWith("0".repeat(h.difficulty));

test("lifecycle: a chain with no validators bootstraps on fallback blocks, its nodes bond through the CLI, slot production takes over, and one unbonds, leaves the pool and withdraws", async () => {
  const t = tempDir();
  const keys = makeKeys(3);
  // Funded like a testnet's first operators (a faucet's transfer or their fallback rewards); short
  // epochs so activation (2 epochs) and unbonding (1 epoch) take seconds.
  const spec = makeSpec(keys, {
    validators: [],
    genesis_timestamp: Date.now(),
    alloc: Object.fromEntries(keys.map((k) => [k.ebid, "100000"])),
    params: { block_time_ms: 500, epoch_length: 4, activation_delay_epochs: 2, unbonding_epochs: 1, pool_window: 4 },
  });
  const keyFiles = keys.map((k, i) => {
    const f = join(t.dir, `operator-${i}.key`);
    writeKeyFile(f, k.secretKey, k.blsSecretKey);
    return f;
  });
  let nodes: NodeProc[] = [];
  try {
    nodes = await startMesh(t.dir, keys, spec);
    const api = nodes[0]!.api;
    const head = async () => (await getJson(`${api}/api/chain/head`)).height as number;
    await waitFor(async () => (await head()) >= 2, 60_000, "height 2");
    const early = (await getJson<{ blocks: Block[] }>(`${api}/api/blocks?from=0&limit=3`)).blocks;
    const first = early[1]!.header;
    assert.equal(first.slot, null, "height 1 is a fallback block: no validator, an empty pool");
    assert.ok(first.difficulty >= spec.params.fallback_difficulty && powOk(first));
    assert.ok(first.timestamp >= early[0]!.header.timestamp + spec.params.block_time_ms, "timestamp >= T(0) for an empty pool");
    assert.equal(first.randao_reveal, "", "no validator: no reveal");

    // The three operators bond through the command line.
    for (const f of keyFiles) {
      const r = runCli(["validator", "bond", "--key", f, "--api", api]);
      assert.equal(r.status, 0, r.stderr);
    }
    const status = (i: number) => runCli(["validator", "status", "--key", keyFiles[i]!, "--api", api]).stdout;
    await waitFor(() => keys.every((_, i) => /: active/.test(status(i))), 60_000, "all three active");
    // Slot production takes over: primaries' blocks, with reveals, on every node alike.
    // (`status` reads the next height's epoch, so the head may still be in the epoch before: the
    // blocks that follow it, not a fixed count of them, show the takeover.)
    const from = await head();
    const blocks = await waitFor(async () => {
      const bs = (await getJson<{ blocks: Block[] }>(`${api}/api/blocks?from=${from}&limit=40`)).blocks;
      return bs.filter((b) => b.header.slot === 0).length >= 3 ? bs : undefined;
    }, 60_000, "three slot-0 blocks after activation");
    const slot0 = blocks.filter((b) => b.header.slot === 0);
    assert.ok(slot0.every((b) => b.header.randao_reveal.length === 192 && keys.some((k) => k.ebid === b.header.producer)));
    const at = blocks[blocks.length - 1]!;
    for (const n of nodes) {
      const same = await waitFor(() => getJson<Block>(`${n.api}/api/blocks/${at.header.height}`).catch(() => undefined), 10_000, "the block on every node");
      assert.equal(same.hash, at.hash, "every node holds the same block");
    }

    // One unbonds: it leaves the pool once its exit epoch comes; its early withdraw is refused.
    const leaver = keys[2]!;
    const unbond = runCli(["validator", "unbond", "--key", keyFiles[2]!, "--api", api]);
    assert.equal(unbond.status, 0, unbond.stderr);
    await waitFor(() => /: exiting at epoch \d+/.test(status(2)), 30_000, "exiting");
    const refused = runCli(["validator", "withdraw", "--key", keyFiles[2]!, "--api", api]);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /not_withdrawable/);
    await waitFor(async () => {
      const v = await getJson(`${api}/api/validators/${leaver.ebid}`).catch(() => undefined);
      return v && v.validator.status !== "exiting" && v.validator.in_pool === false;
    }, 60_000, "the leaver out of the pool");
    const pool = await getJson(`${api}/api/mining/status`);
    assert.ok(![pool.current_winner, ...pool.backups].includes(leaver.ebid), "no slot for the leaver");
    await waitFor(() => /: withdrawable/.test(status(2)), 60_000, "withdrawable");
    const balance = async () => BigInt((await getJson(`${api}/api/accounts/${leaver.ebid}`)).balance as string);
    const before = await balance();
    const withdraw = runCli(["validator", "withdraw", "--key", keyFiles[2]!, "--api", api]);
    assert.equal(withdraw.status, 0, withdraw.stderr);
    await waitFor(() => /: not bonded/.test(status(2)), 30_000, "withdrawn");
    assert.ok((await balance()) >= before + BigInt(spec.params.min_bond) - 1n, "the bond is back, less the fee");
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
    t.cleanup();
  }
});

test("with every scheduled producer stopped, a fallback PoW block appears after T(len(winners))", async () => {
  const t = tempDir();
  const keys = makeKeys(4);
  // Two winners per height (backup_slots 1), so two of the four nodes stay up outside the schedule.
  const spec = makeSpec(keys, { genesis_timestamp: Date.now(), params: { block_time_ms: 2000, backup_slots: 1 } });
  let nodes: NodeProc[] = [];
  try {
    nodes = await startMesh(t.dir, keys, spec);
    await waitFor(async () => (await getJson(`${nodes[0]!.api}/api/chain/head`)).height >= 2, 60_000, "height 2");
    // Right after a new head, before its primary's slot opens, stop the height's two winners.
    const start = (await getJson(`${nodes[0]!.api}/api/chain/head`)).height;
    await waitFor(async () => (await getJson(`${nodes[0]!.api}/api/chain/head`)).height > start, 20_000, "a new head", );
    const status = await getJson(`${nodes[0]!.api}/api/mining/status`);
    const winners: string[] = [status.current_winner, ...status.backups];
    assert.equal(winners.length, 2);
    const victims = nodes.filter((n) => winners.includes(n.ebid));
    const survivors = nodes.filter((n) => !winners.includes(n.ebid));
    await Promise.all(victims.map((n) => n.stop("SIGKILL")));
    const height: number = status.next_height;
    const watcher = survivors[0]!;
    const block = await waitFor(() => getJson<Block>(`${watcher.api}/api/blocks/${height}`).catch(() => undefined), 30_000, `block ${height}`);
    const parent = await getJson<Block>(`${watcher.api}/api/blocks/${height - 1}`);
    const h = block.header;
    assert.equal(h.slot, null, "a fallback block");
    assert.ok(survivors.some((n) => n.ebid === h.producer), "mined by a node outside the schedule");
    const opens = parent.header.timestamp + spec.params.block_time_ms + winners.length * spec.params.claim_timeout_ms;
    assert.ok(h.timestamp >= opens, `timestamp ${h.timestamp} >= T(len(winners)) ${opens}`);
    assert.ok(h.difficulty >= spec.params.fallback_difficulty && powOk(h));
    // The survivors agree on it.
    const other = await waitFor(() => getJson<Block>(`${survivors[1]!.api}/api/blocks/${height}`).catch(() => undefined), 10_000, "the other survivor");
    assert.equal(other.hash, block.hash);
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
    t.cleanup();
  }
});
