// Liveness against safety of finality (docs/protocol.md §5a, §7), with real node processes over
// real sockets: finalizing needs the votes of more than two thirds of the validators, producing
// blocks does not.
// - 4 validators, one killed: blocks and finality go on (3/4 > 2/3); a second killed: blocks go on
//   (backups), finality stalls (2/4); both back: finality resumes within two checkpoint intervals
//   (in blocks, with slack) of their return.
// - 7 validators split 4/3 by user-space link proxies: neither side finalizes (4/7 and 3/7 < 2/3);
//   after the heal every node converges on one head and finality resumes.
// Throughout, the drills' finality watch (drill/finalityWatch.ts) checks at every sample that no two
// nodes hold different finalized blocks at one height. Bounds are in blocks; the time limits are
// only there so a broken node fails instead of hanging.
import { test } from "node:test";
import assert from "node:assert/strict";
import { drillNet, settled, up, type DrillNet } from "../../src/drill/common.ts";
import { finHeads as heads, killTwoAndReturn, maxOf, minOf, watchHeads as watch, type FinHead } from "../../src/drill/finalityResume.ts";
import { ProxyMesh } from "../../src/drill/linkProxy.ts";
import type { LocalNode } from "../../src/drill/localnet.ts";
import { getJson } from "../../src/util/http.ts";
import { readFileSync } from "node:fs";
import { join } from "node:path";

// I = attestation_max_age = 4 (the least I it allows); short slots so backups take over quickly.
const PARAMS = { attestation_max_age: 4, checkpoint_interval: 4, epoch_length: 8, claim_timeout_ms: 300 };
const I = PARAMS.checkpoint_interval;

let log: string[] = [];
const print = (l: string) => void log.push(l);

async function net(nodes: number, extra: Parameters<typeof drillNet>[2] = {}): Promise<DrillNet> {
  return drillNet({ nodes, blockTimeMs: 500, param: PARAMS, keep: false, json: false, logLevel: "info" }, print, extra);
}

/** One last sample of the drill's finality watch: finalized blocks agreed on every node at every sample. */
async function finalizedAgreed(d: DrillNet): Promise<void> {
  await d.finality.sample(d.net.nodes);
  const fin = d.finality.summary();
  print(`finality watch: ${JSON.stringify(fin)}`);
  assert.equal(fin.agree, true, fin.conflicts.join("; "));
  assert.ok(fin.samples > 10 && fin.lag_median !== null);
}


test("4 validators: one down, finality goes on; two down, blocks go on and finality stalls; both back, it resumes", { timeout: 240_000 }, async () => {
  const d = await net(4);
  const { net: n } = d;
  const [, , c, dd] = n.nodes as [LocalNode, LocalNode, LocalNode, LocalNode];
  try {
    n.startAll();
    await settled(n, 60_000);
    await watch(n.nodes, 60_000, "a first finalized checkpoint", (h) => minOf(h, (x) => x.finalized.height) > 0);

    // One of four down: 3/4 > 2/3 still finalizes.
    await n.kill(dd, "SIGKILL");
    const live3 = n.nodes.filter(up);
    const [h1] = await heads(live3.slice(0, 1));
    const after1 = await watch(live3, 90_000, "finality past one validator's loss", (h) => minOf(h, (x) => x.finalized.height) >= h1!.finalized.height + 2 * I);
    assert.ok(maxOf(after1, (x) => x.height) > h1!.height, "blocks went on");

    // Two of four down: blocks go on (backups), finality stalls; both back, it resumes
    // (drill/finalityResume.ts): at most 2·I + 1 blocks after their first synced head by design
    // (votes from W + I on, §6.6), I + 1 after they armed, two more when a checkpoint block is a
    // backup's (the attester waits for a descendant, §5). Asserted with slack for a
    // loaded machine; `npm run bench -- --only finality-resume` prints the distribution.
    const r = await killTwoAndReturn(n, [c, dd], I, print);
    for (const x of n.nodes) print(`${x.name}: ${readFileSync(join(x.dataDir, "node.log"), "utf8").split("\n").filter((l) => /slash|"level":[45]0/i.test(l)).slice(-12).map((l) => l.slice(0, 300)).join("\n  ")}`);
    const slashed = (await getJson<{ validators: { ebid: string; slashed?: boolean }[] }>(`${n.nodes[0]!.api}/api/validators`)).validators.filter((v) => v.slashed);
    print(`slashed validators: ${slashed.map((v) => n.nameOf(v.ebid)).join(", ") || "none"}`);
    assert.equal(slashed.length, 0, "no honest validator is slashed");
    assert.equal(r.armedFrom - r.firstSyncedHead <= I, true, `the wait is one interval at most (first synced ${r.firstSyncedHead}, armed from ${r.armedFrom})`);
    assert.ok(r.resumedAt - r.armedFrom <= 2 * I + 1, `finality resumed ${r.resumedAt - r.armedFrom} blocks after the returned validators armed at ${r.armedFrom} (design I + 1 to I + 3, bound 2·I + 1)`);

    await finalizedAgreed(d);
  } finally {
    await d.close();
    console.log(log.join("\n"));
    log = [];
  }
});

test("7 validators split 4/3: neither side finalizes; after the heal they converge and finality resumes", { timeout: 240_000 }, async () => {
  const mesh = new ProxyMesh();
  const d = await net(7, { peerUrl: mesh.peerUrl, extraArgs: ["--no-discovery", "--mining-workers", "1"] });
  const { net: n } = d;
  const sideA = n.nodes.slice(0, 4);
  const sideB = n.nodes.slice(4);
  try {
    await mesh.listen(n.nodes);
    n.startAll();
    await settled(n, 90_000);
    await watch(n.nodes, 60_000, "a first finalized checkpoint", (h) => minOf(h, (x) => x.finalized.height) > 0);

    // Split. No checkpoint above the split can gather 5 of 7 votes, so nothing at or above the last
    // checkpoint before it can be finalized (its successor would have to be justified).
    const before = await heads(n.nodes);
    const splitTop = maxOf(before, (x) => x.height) + 1; // a block may land between the read and the cut
    for (const l of mesh.between(sideA, sideB)) l.blackhole();
    const bound = (Math.floor(splitTop / I) - 1) * I;
    const noFinality = (h: FinHead[]) =>
      assert.ok(maxOf(h, (x) => x.finalized.height) <= Math.max(bound, maxOf(before, (x) => x.finalized.height)), `a side finalized past the split (bound ${bound}): ${JSON.stringify(h.map((x) => x.finalized))}`);
    const a = await watch(sideA, 120_000, `side A (4/7) ${2 * I} blocks past the split`, (h) => minOf(h, (x) => x.height) >= splitTop + 2 * I, noFinality);
    const b = await watch(sideB, 120_000, `side B (3/7) ${2 * I} blocks past the split`, (h) => minOf(h, (x) => x.height) >= splitTop + 2 * I, noFinality);
    noFinality(await heads(n.nodes));
    print(`split at ${splitTop}: side A at ${minOf(a, (x) => x.height)}, side B at ${minOf(b, (x) => x.height)}, finalized at most ${maxOf([...a, ...b], (x) => x.finalized.height)} (bound ${bound})`);

    // Heal: one head everywhere, then finality moves past the split.
    for (const l of mesh.between(sideA, sideB)) l.heal();
    const healedAt = Date.now();
    await watch(n.nodes, 120_000, "every node on one head", (h) => new Set(h.map((x) => x.hash)).size === 1);
    const converged = Date.now() - healedAt;
    const resumed = await watch(n.nodes, 120_000, "finality past the split on every node", (h) => minOf(h, (x) => x.finalized.height) > bound);
    print(`healed: one head after ${converged} ms; every node finalized past ${bound} (now ${minOf(resumed, (x) => x.finalized.height)})`);

    await finalizedAgreed(d);
  } finally {
    await d.close();
    await mesh.close();
    console.log(log.join("\n"));
    log = [];
  }
});
