// Two branches built apart converge to the branch fork choice picks (DESIGN.md section 7), over
// real sockets, whichever node dials: the shorter heavier branch beats the longer lighter one.
import { test } from "node:test";
import assert from "node:assert/strict";
import { VisionNode } from "../../../src/node/node.ts";
import { extend, makeKeys, makeSpec, openTestChain, silentLog, tempDir } from "../../helpers/fixtures.ts";
import { waitFor } from "../../helpers/net.ts";

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
  test(`branches converge on the heavier one when the ${dialer} side dials`, async () => {
    const heavyDir = tempDir();
    const lightDir = tempDir();
    const heavyTip = await buildBranch(heavyDir.dir, 0, 3); // weight 6 on the prefix
    const lightTip = await buildBranch(lightDir.dir, 1, 5); // weight 5, but 2 blocks longer
    const opts = (dataDir: string, peers: string[]) => ({ dataDir, spec, p2p: { host: "127.0.0.1", port: 0, peers }, apiHost: "127.0.0.1", apiPort: 0, produce: false });
    let heavy: VisionNode | undefined;
    let light: VisionNode | undefined;
    try {
      if (dialer === "light") {
        heavy = await VisionNode.init(opts(heavyDir.dir, []), silentLog);
        light = await VisionNode.init(opts(lightDir.dir, [`ws://127.0.0.1:${heavy.p2p.port}`]), silentLog);
      } else {
        light = await VisionNode.init(opts(lightDir.dir, []), silentLog);
        heavy = await VisionNode.init(opts(heavyDir.dir, [`ws://127.0.0.1:${light.p2p.port}`]), silentLog);
      }
      assert.equal(light.chain.head.hash, lightTip);
      await waitFor(() => light!.chain.head.hash === heavyTip, 15_000, "the light node to switch branches");
      assert.equal(heavy.chain.head.hash, heavyTip, "the heavy node keeps its branch");
      assert.equal(light.chain.head.height, 8);
      const orphan = (await light.chain.getMeta(lightTip))!;
      assert.equal(orphan.is_canonical, false);
      assert.equal(orphan.is_orphaned, true);
      assert.equal(orphan.orphan_reason, "reorg");
    } finally {
      await light?.close();
      await heavy?.close();
      heavyDir.cleanup();
      lightDir.cleanup();
    }
  });
}
