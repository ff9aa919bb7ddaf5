// Checkpoint sync end to end (docs/protocol.md §9.7): real `vision-node start` processes. A node
// holds a prebuilt chain past a finalized checkpoint; a second process started on an empty data
// dir with `--checkpoint HEIGHT:HASH`, and a third with `--checkpoint-url` of the first's API, join
// it at its tip without blocks below their window; the flag on a data dir that holds a chain exits 1
// with one line.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { writeFileSync } from "node:fs";
import { attestOn, blockFor, makeKeys, makeSpec, openTestChain, tempDir } from "../helpers/fixtures.ts";
import { getJson, runCli, startNode, type NodeProc } from "../helpers/nodeProcess.ts";
import { waitFor } from "../helpers/net.ts";

const keys = makeKeys(4);
const spec = makeSpec(keys);

test("vision-node start --checkpoint H:HASH (and --checkpoint-url) joins a running node at its tip from the checkpoint and is eligible", async () => {
  const t = tempDir();
  const nodes: NodeProc[] = [];
  try {
    const specFile = join(t.dir, "chain.json");
    writeFileSync(specFile, JSON.stringify(spec));
    const c = await openTestChain(spec, join(t.dir, "a"));
    for (let i = 0; i < 5 * spec.params.epoch_length + 5; i++) {
      const parent = c.chain.head;
      const attestations = parent.height === 0 ? [] : await Promise.all(keys.map((k) => attestOn(c.chain, k, parent.height, parent.hash)));
      await c.chain.importBlock(await blockFor(c.chain, parent, keys, 0, { attestations }));
    }
    await c.close();
    const a = await startNode({ dataDir: join(t.dir, "a"), chain: specFile, extra: ["--no-produce", "--no-mine"] });
    nodes.push(a);
    const head = await getJson<{ height: number; hash: string; finalized: { height: number; hash: string } }>(`${a.api}/api/chain/head`);
    assert.ok(head.finalized.height > 0);
    const peers = [`ws://127.0.0.1:${a.p2pPort}`];
    const b = await startNode({ dataDir: join(t.dir, "b"), chain: specFile, peers, extra: ["--no-produce", "--no-mine", "--checkpoint", `${head.finalized.height}:${head.finalized.hash}`] });
    nodes.push(b);
    const c2 = await startNode({ dataDir: join(t.dir, "c"), chain: specFile, peers, extra: ["--no-produce", "--no-mine", "--checkpoint-url", a.api] });
    nodes.push(c2);
    for (const n of [b, c2]) {
      assert.ok(n.logs.some((l) => l.msg === "Checkpoint state verified"), "the state was fetched and verified");
      await waitFor(async () => (await getJson<{ hash: string }>(`${n.api}/api/chain/head`)).hash === head.hash || undefined, 20_000, "at a's tip");
      await waitFor(async () => (await getJson<{ eligible: boolean }>(`${n.api}/api/mining/status`)).eligible || undefined, 20_000, "eligible");
      const below = await fetch(`${n.api}/api/blocks/1`);
      assert.equal(below.status, 404, "no block below the window");
    }
    await b.stop();
    nodes.splice(nodes.indexOf(b), 1);
    const again = runCli(["start", "--data-dir", join(t.dir, "b"), "--chain", specFile, "--p2p-port", "0", "--api-port", "0", "--checkpoint", `${head.finalized.height}:${head.finalized.hash}`], 30_000);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /--checkpoint needs an empty data dir/);
    assert.equal(again.stderr.trim().split("\n").length, 1, again.stderr);
  } finally {
    for (const n of nodes) await n.stop();
    t.cleanup();
  }
});
