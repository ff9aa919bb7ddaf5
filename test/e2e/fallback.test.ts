// The PoW fallback of Proof-of-Sync chains (docs/protocol.md §6) on real node processes: a testnet
// with no genesis validators starts on PoW blocks and moves to slot blocks as attestations fill the
// pool; and with every scheduled producer of a height stopped, a fallback block appears after
// T(len(winners)).
import { test } from "node:test";
import assert from "node:assert/strict";
import { makeKeys, makeSpec, tempDir } from "../helpers/fixtures.ts";
import { getJson, startMesh, type NodeProc } from "../helpers/nodeProcess.ts";
import { waitFor } from "../helpers/net.ts";
import { H, hashJson, omit, u64le } from "../../src/consensus/encoding.ts";
import type { Block, Header } from "../../src/consensus/types.ts";

const powOk = (h: Header) => Buffer.from(H(H(hashJson(omit(h, "nonce")), u64le(h.nonce)))).toString("hex").startsWith("0".repeat(h.difficulty));

test("no genesis validators bootstraps on PoW fallback blocks, then moves to slot blocks", async () => {
  const t = tempDir();
  const keys = makeKeys(3);
  const spec = makeSpec(keys, { validators: [], genesis_timestamp: Date.now(), params: { block_time_ms: 1000 } });
  let nodes: NodeProc[] = [];
  try {
    nodes = await startMesh(t.dir, keys, spec);
    await waitFor(async () => (await getJson(`${nodes[0]!.api}/api/chain/head`)).height >= 5, 60_000, "height 5");
    const blocks = (await getJson<{ blocks: Block[] }>(`${nodes[0]!.api}/api/blocks?from=0&limit=6`)).blocks;
    const first = blocks[1]!.header;
    assert.equal(first.slot, null, "height 1 is a PoW block: the pool was empty");
    assert.ok(first.difficulty >= spec.params.fallback_difficulty && powOk(first));
    assert.ok(first.timestamp >= blocks[0]!.header.timestamp + spec.params.block_time_ms, "timestamp >= T(0) for an empty pool");
    assert.ok(keys.some((k) => k.ebid === first.producer));
    assert.ok(blocks.slice(2).some((b) => b.header.slot !== null), "slot production took over once the pool filled");
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
