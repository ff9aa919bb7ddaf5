/**
 * Checkpoint sync (docs/protocol.md §9.7): time for a fresh node process to be at the tip of an
 * N-block chain (default 5,000) and eligible, started with `--checkpoint` of the serving node's
 * finalized checkpoint, against the baseline measured in the same run: the same fresh node
 * syncing from genesis. Both dial one serving node process (`--no-produce`) over loopback; medians
 * of `rounds` runs each, alternating.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { attestOn, blockFor, makeKeys, makeSpec, openTestChain, tempDir } from "../test/helpers/fixtures.ts";
import { startNode, getJson } from "../test/helpers/nodeProcess.ts";
import { fmt, median } from "./stats.ts";

export async function benchCheckpointSync(n = 5_000, rounds = 3): Promise<Record<string, number>> {
  const keys = makeKeys(4);
  const spec = makeSpec(keys);
  const t = tempDir("vision-bench-checkpoint-");
  try {
    // A chain like a live 4-validator testnet: every block carries every validator's attestation,
    // so checkpoints finalize as they go.
    const src = await openTestChain(spec, join(t.dir, "src"));
    src.clock.now = Date.now();
    const built = performance.now();
    for (let i = 0; i < n; i++) {
      if (i % 250 === 0) process.stdout.write(`  building ${n} blocks: ${i}...\r`);
      const parent = src.chain.head;
      const atts = parent.height > 0 ? await Promise.all(keys.map((k) => attestOn(src.chain, k, parent.height, parent.hash))) : [];
      const out = await src.chain.importBlock(await blockFor(src.chain, parent, keys, 0, { attestations: atts }));
      if (out.status !== "imported") throw new Error(`fixture block ${parent.height + 1} not imported: ${out.status}`);
    }
    const buildSecs = (performance.now() - built) / 1000;
    const cp = src.chain.finalizedCheckpoint;
    await src.close();
    const specFile = join(t.dir, "chain.json");
    writeFileSync(specFile, JSON.stringify(spec));
    const server = await startNode({ dataDir: join(t.dir, "src"), chain: specFile, extra: ["--no-produce", "--no-mine", "--log-level", "info"] });
    const peers = [`ws://127.0.0.1:${server.p2pPort}`];
    // Spawn to "at the tip and eligible" (GET /api/mining/status: local_height = n, eligible).
    const timeTo = async (dir: string, extra: string[]): Promise<number> => {
      const started = performance.now();
      const client = await startNode({ dataDir: join(t.dir, dir), chain: specFile, peers, extra: ["--no-mine", "--log-level", "info", ...extra] });
      try {
        for (;;) {
          const s = await getJson<{ local_height: number; eligible: boolean }>(`${client.api}/api/mining/status`);
          if (s.local_height >= n && s.eligible) return (performance.now() - started) / 1000;
          if (performance.now() - started > 900_000) throw new Error(`stuck at ${s.local_height}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      } finally {
        await client.stop();
      }
    };
    const genesis: number[] = [];
    const checkpoint: number[] = [];
    try {
      for (let r = 0; r < rounds; r++) {
        process.stdout.write(`  round ${r + 1}/${rounds}...          \r`);
        genesis.push(await timeTo(`genesis-${r}`, []));
        checkpoint.push(await timeTo(`checkpoint-${r}`, ["--checkpoint", `${cp.height}:${cp.hash}`]));
      }
    } finally {
      await server.stop();
    }
    const g = median(genesis);
    const c = median(checkpoint);
    console.log(`\ncheckpoint sync, a ${n}-block chain (4 validators, every block attested; built in ${fmt(buildSecs, 0)} s), fresh node process to at the tip and eligible, median of ${rounds}:`);
    console.log(`  from genesis (baseline): ${fmt(g, 1)} s  [${genesis.map((x) => fmt(x, 1)).join(", ")}]`);
    console.log(`  --checkpoint ${cp.height}:${cp.hash.slice(0, 12)}... (the latest finalized, ${n - cp.height} blocks below the tip): ${fmt(c, 1)} s  [${checkpoint.map((x) => fmt(x, 1)).join(", ")}]`);
    console.log(`  ratio genesis/checkpoint: ${fmt(g / c, 1)}x`);
    return { blocks: n, genesis_s: g, checkpoint_s: c, ratio: g / c };
  } finally {
    t.cleanup();
  }
}
