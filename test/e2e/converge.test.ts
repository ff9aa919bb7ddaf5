// Two branches built apart converge to the branch fork choice picks (docs/protocol.md §7), on real
// node processes, whichever node dials: the shorter heavier branch beats the longer lighter one.
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { extend, makeKeys, makeSpec, openTestChain, tempDir } from "../helpers/fixtures.ts";
import { getJson, startNode, type NodeProc } from "../helpers/nodeProcess.ts";
import { waitFor } from "../helpers/net.ts";

const keys = makeKeys(3);
const spec = makeSpec(keys);

async function buildBranch(dir: string, slot: number, n: number): Promise<string> {
  const c = await openTestChain(spec, dir);
  await extend(c.chain, keys, 5); // the shared prefix: deterministic, so identical in both dirs
  const blocks = await extend(c.chain, keys, n, slot);
  await c.close();
  return blocks[blocks.length - 1]!.hash;
}

for (const dialer of ["light", "heavy"] as const) {
  test(`branches converge on the heavier one when the ${dialer} node dials`, async () => {
    const t = tempDir();
    const specFile = join(t.dir, "chain.json");
    writeFileSync(specFile, JSON.stringify(spec));
    const heavyTip = await buildBranch(join(t.dir, "heavy"), 0, 3); // weight 6 on the prefix
    const lightTip = await buildBranch(join(t.dir, "light"), 1, 5); // weight 5, but 2 blocks longer
    const extra = ["--no-produce"];
    const nodes: NodeProc[] = [];
    try {
      const first = await startNode({ dataDir: join(t.dir, dialer === "light" ? "heavy" : "light"), chain: specFile, extra });
      nodes.push(first);
      const second = await startNode({ dataDir: join(t.dir, dialer), chain: specFile, extra, peers: [`ws://127.0.0.1:${first.p2pPort}`] });
      nodes.push(second);
      const [heavy, light] = dialer === "light" ? [first, second] : [second, first];
      const head = async (n: NodeProc) => (await getJson(`${n.api}/api/chain/head`)).hash as string;
      await waitFor(async () => (await head(light)) === heavyTip, 20_000, "the light node to switch branches");
      assert.equal(await head(heavy), heavyTip, "the heavy node keeps its branch");
      const orphan = await getJson(`${light.api}/api/blocks/${lightTip}`);
      assert.equal(orphan.is_canonical, false);
      assert.equal(orphan.is_orphaned, true);
      assert.equal(orphan.orphan_reason, "reorg");
      assert.ok(light.logs.some((l) => l.msg === "Chain reorg"), "the switch is logged as a reorg");
    } finally {
      await Promise.all(nodes.map((n) => n.stop()));
      t.cleanup();
    }
  });
}
