// Memory and liveness under junk (real processes over P2P): 500 valid-looking full blocks with
// unknown parents (about 7 times the parked-block budget) and 500 valid fallback side blocks on old
// parents by a hostile validator, sent by peers with fresh keys to a producing node of a 2-node
// testnet, leave its heap within a bound and its block interval as it was. The attacker builds its
// blocks with a replica of the chain (same spec, real LevelDB). `npm run bench -- --only junk`
// sends 1,000 of each and prints the figures.
import { test } from "node:test";
import assert from "node:assert/strict";
import { makeKeys, makeSpec, openTestChain, tempDir } from "../helpers/fixtures.ts";
import { getJson, type NodeProc } from "../helpers/nodeProcess.ts";
import { heapSettled, medianInterval, sendJunk, startCappedMesh } from "../helpers/junk.ts";
import { MAX_PARKED_BYTES } from "../../src/chain/chain.ts";

/**
 * The nodes run with V8's old space capped at 128 MiB (a node whose live heap passes it aborts), so
 * the bound holds whatever the collector's timing: the parked budget three times over (parsed
 * objects outweigh their JSON) plus 80 MiB for everything else the node holds.
 */
const HEAP_BOUND_MIB = (3 * MAX_PARKED_BYTES) / 1024 / 1024 + 80;

test("500 unknown-parent junk blocks and 500 fallback side blocks leave the heap within its bound and the block interval unchanged", async () => {
  const t = tempDir();
  const keys = makeKeys(2);
  const spec = makeSpec(keys, { genesis_timestamp: Date.now(), params: { block_time_ms: 500, fallback_difficulty: 1 } });
  const replica = await openTestChain(spec);
  Object.defineProperty(replica.clock, "now", { get: () => Date.now() + 3600_000 });
  let nodes: NodeProc[] = [];
  try {
    nodes = await startCappedMesh(t.dir, keys, spec, HEAP_BOUND_MIB);
    const target = nodes[0]!;
    const head = async () => (await getJson(`${target.api}/api/chain/head`)).height as number;
    await waitHeight(head, 10);
    const h0 = await head();
    await waitHeight(head, h0 + 12); // the baseline: the median of a dozen intervals
    const h1 = await head();
    const before = await medianInterval(target, h0, h1);
    const heap0 = await heapSettled(target);
    const junkStart = performance.now();

    const alive = (e: unknown) => {
      throw target.child.exitCode === null && target.child.signalCode === null ? e : new Error(`the node died under the junk (exit ${target.child.exitCode}, signal ${target.child.signalCode}): ${(e as Error).message}`);
    };
    // The junk, from fresh identities.
    let h3 = 0;
    try {
      await sendJunk(target, spec, replica.chain, 500, keys[1]!); // the second node's key: a hostile validator
      const h2 = await head();
      console.log(`# junk sent in ${((performance.now() - junkStart) / 1000).toFixed(1)} s (heights ${h1} to ${h2})`);
      await waitHeight(head, h2 + 10); // blocks still come after the junk (the median covers the whole junk phase)
      h3 = await head();
    } catch (e) {
      await new Promise((r) => setTimeout(r, 1000)); // let a dead node's exit be seen
      alive(e);
    }
    const during = await medianInterval(target, h1, h3);
    const heap1 = await heapSettled(target);
    const mib = (x: number) => (x / 1024 / 1024).toFixed(1);
    console.log(`# heap used ${mib(heap0)} MiB before, ${mib(heap1)} MiB after (bound ${HEAP_BOUND_MIB} MiB); median interval ${before} ms before, ${during} ms with the junk`);
    assert.equal(target.child.exitCode, null, "the node is still running (its heap stayed within the bound)");
    assert.ok(heap1 <= HEAP_BOUND_MIB * 1024 * 1024, `heap used ${mib(heap1)} MiB, bound ${HEAP_BOUND_MIB} MiB`);
    assert.ok(during <= 1.5 * before + 100, `median block interval ${during} ms with the junk, ${before} ms without`);
    // The side blocks within the fork horizon were valid: stored as forks, not refused.
    const { forks } = await getJson<{ forks: { producer: string }[] }>(`${target.api}/api/blocks/forks?from=1&limit=1000`);
    assert.ok(forks.filter((f) => f.producer === keys[1]!.ebid).length > 0, "the validator's side blocks were stored as forks");
    const health = await getJson(`${target.api}/api/health`);
    assert.ok(health.pending.parked <= 512);
    const hashes = await Promise.all(nodes.map(async (n) => (await getJson(`${n.api}/api/blocks/${h3 - 2}`)).hash));
    assert.equal(new Set(hashes).size, 1, "both nodes agree");
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
    await replica.destroy();
    t.cleanup();
  }
});

async function waitHeight(head: () => Promise<number>, h: number): Promise<void> {
  const start = Date.now();
  while ((await head()) < h) {
    if (Date.now() - start > 60_000) throw new Error(`height ${h} not reached in 60 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
