/**
 * The size of the per-block finality record `f!<hash>` (docs/protocol.md §5a; stored for every
 * block, `storage/chainDb.ts`) at the protocol's limits: 1,024 active validators, 128 attestations a
 * block, `checkpoint_interval` 8, every validator voting in turn (the chain `benchFinality` runs).
 * Prints the JSON value's bytes per block (median, max), the worst shape the rules allow (2 targets ×
 * 4 sources open, `justified_recent` full), and the bytes the records take in a real LevelDB
 * (classic-level, JSON values as the node writes them, compacted) per block, against a baseline
 * measured in the same run: one 64-hex JSON string per block under the same keys (the smallest
 * per-block record, like the canonical index's), so the ratio says what `f!` costs per block.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { ClassicLevel } from "classic-level";
import { applyFinality, checkpointHeight, genesisFinality, type FfgVote, type FinalityState } from "../src/consensus/finality.ts";
import { MAX_ATTESTATIONS_PER_BLOCK } from "../src/consensus/params.ts";
import { fmt, median } from "./stats.ts";

const dirBytes = (dir: string) => readdirSync(dir).reduce((s, n) => s + statSync(join(dir, n)).size, 0);

export async function benchFinalitySize(blocks = 2000): Promise<Record<string, number>> {
  const I = 8;
  const V = 1024;
  // hashes and EBIDs as random-looking as real ones (LevelDB compresses what repeats)
  const hex = (tag: string, n: number) => createHash("sha256").update(`${tag}${n}`).digest("hex");
  const validators = Array.from({ length: V }, (_, i) => hex("v", i)).sort();
  const hashAt = (h: number) => hex("b", h);
  const ctx = (height: number) => ({ interval: I, height, activeAt: () => validators });
  let f: FinalityState = genesisFinality(hashAt(0));
  const sizes: number[] = [];
  const states: FinalityState[] = [];
  let next = 0;
  for (let n = 1; n <= blocks; n++) {
    const headHeight = n - 1;
    const th = checkpointHeight(headHeight, I);
    const source = th === 0 ? { height: 0, hash: hashAt(0) } : f.justified_recent.filter((c) => c.height < th).at(-1)!;
    const votes: FfgVote[] = [];
    for (let i = 0; i < MAX_ATTESTATIONS_PER_BLOCK; i++) {
      votes.push({ ebid: validators[next++ % V]!, source_height: source.height, source_hash: source.hash, target_height: th, target_hash: hashAt(th) });
    }
    f = applyFinality(f, votes, ctx(n));
    states.push(f);
    sizes.push(Buffer.byteLength(JSON.stringify(f)));
  }
  // The largest state the rules allow: 4 justified checkpoints kept, 2 targets × 4 sources open, every bit set.
  const cp = (h: number) => ({ height: h, hash: hashAt(h) });
  const full = "ff".repeat(V / 8);
  const worst: FinalityState = {
    justified: cp(9_999_992), finalized: cp(9_999_960),
    justified_recent: [cp(9_999_968), cp(9_999_976), cp(9_999_984), cp(9_999_992)],
    votes: [9_999_992, 10_000_000].flatMap((t) => [9_999_960, 9_999_968, 9_999_976, 9_999_984].map((s) => ({ source_height: s, source_hash: hashAt(s), target_height: t, target_hash: hashAt(t), voters: full }))),
  };
  // On disk: the f! records of the run, then (baseline) a 64-hex value per block under the same keys' shape.
  const measure = async (value: (i: number) => unknown): Promise<number> => {
    const dir = mkdtempSync(join(tmpdir(), "vision-bench-fsize-"));
    const db = new ClassicLevel<string, unknown>(dir, { valueEncoding: "json" });
    await db.open();
    for (let i = 0; i < states.length; i += 500) {
      await db.batch(states.slice(i, i + 500).map((_, j) => ({ type: "put" as const, key: `f!${hashAt(2_000_000 + i + j)}`, value: value(i + j) })));
    }
    await db.compactRange("\x00", "\xff");
    await db.close();
    const bytes = dirBytes(dir);
    rmSync(dir, { recursive: true, force: true });
    return bytes;
  };
  const stored = await measure((i) => states[i]);
  const baseline = await measure((i) => hashAt(i));
  const r = {
    json_median_bytes: median(sizes.slice(Math.floor(blocks / 10))),
    json_max_bytes: Math.max(...sizes),
    json_worst_bytes: Buffer.byteLength(JSON.stringify(worst)),
    disk_per_block_bytes: stored / blocks,
    baseline_disk_per_block_bytes: baseline / blocks,
  };
  console.log(`finality record f! size (${blocks} blocks, ${V} validators, ${MAX_ATTESTATIONS_PER_BLOCK} votes a block, interval ${I}): JSON median ${r.json_median_bytes} B, max ${r.json_max_bytes} B; the largest state the rules allow ${r.json_worst_bytes} B`);
  console.log(`  in LevelDB (compacted): ${fmt(r.disk_per_block_bytes, 0)} B per block; baseline a 64-hex value per block under the same keys: ${fmt(r.baseline_disk_per_block_bytes, 0)} B -> ratio ${fmt(r.disk_per_block_bytes / r.baseline_disk_per_block_bytes)}x`);
  return r;
}
