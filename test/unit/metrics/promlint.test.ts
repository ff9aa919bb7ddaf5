// /metrics passes the checks `promtool check metrics` makes (test/helpers/promlint.ts, as CI has no
// promtool), blocks produced appear under both names, and the checker catches each rule.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createMetrics, LOOP_PROBE_MS, MISNAMED_DEFAULTS } from "../../../src/metrics/index.ts";
import { promLint } from "../../helpers/promlint.ts";

function metrics(opts: { processMetrics?: boolean } = {}) {
  return createMetrics({
    height: () => 7, poolSize: () => 3, mySlot: () => 1, peers: () => 2, mempoolSize: () => 4,
    sync: () => ({ syncing: false, target_height: 7, imported: 5 }), powHashes: () => 1000, eligible: () => true,
    finality: () => ({ finalized: 0, justified: 4 }),
  }, opts);
}

/** Series name (labels dropped) → summed value. */
function series(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^}]*\})? (\S+)$/gm)) out.set(m[1]!, (out.get(m[1]!) ?? 0) + Number(m[2]));
  return out;
}

test("the node's exposition is promtool-clean, with every metric used at least once", async () => {
  const m = metrics();
  m.miningClaimsTotal.inc();
  m.miningBlocksProduced.inc();
  m.miningSlotDistribution.observe(0);
  m.blockImportSeconds.observe(0.003);
  m.blocksImportedTotal.inc();
  m.reorgsTotal.inc();
  m.reorgDepth.observe(1);
  m.p2pMessagesTotal.inc({ direction: "in", type: "status" });
  m.p2pBytesTotal.inc({ direction: "out", type: "block" }, 512);
  m.powBlocksMinedTotal.inc();
  m.powJobsTotal.inc({ outcome: "mined" });
  m.powAbortSeconds.observe(0.002);
  m.validatorsActive.set(4);
  m.validatorsLive.set(3);
  m.randaoRevealsVerifiedTotal.inc();
  const text = await m.registry.metrics();
  assert.deepEqual(promLint(text), []);
  const s = series(text);
  for (const name of MISNAMED_DEFAULTS) assert.equal(s.has(name), false, `${name} is left out`);
  assert.ok(s.has("nodejs_active_handles"), "the handle counts by type stay");
  m.stop();
});

test("vision_eventloop_delay_seconds: its probe sees a blocked event loop past 100 ms, stop() ends it, and a simulated node has none", async () => {
  const m = metrics();
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const read = async () => {
    const text = await m.registry.metrics();
    const get = (name: string) => Number(new RegExp(`^vision_eventloop_delay_seconds_${name} (\\d+)$`, "m").exec(text)?.[1]);
    return { all: get("count"), within100ms: get('bucket\\{le="0.1"\\}') };
  };
  await sleep(LOOP_PROBE_MS * 5);
  const before = await read();
  assert.ok(before.all >= 2, `the probe ran (${before.all} probes)`);
  const until = performance.now() + 250;
  while (performance.now() < until); // the loop blocked for 250 ms
  await sleep(LOOP_PROBE_MS * 3);
  const after = await read();
  assert.ok(after.all - after.within100ms > before.all - before.within100ms, `a probe later than 100 ms (${JSON.stringify([before, after])})`);
  m.stop();
  const stopped = (await read()).all;
  await sleep(LOOP_PROBE_MS * 4);
  assert.equal((await read()).all, stopped, "no probe after stop()");
  assert.doesNotMatch(await metrics({ processMetrics: false }).registry.metrics(), /vision_eventloop_delay_seconds/);
});

test("blocks produced: the conventional counter and the mining spec's original name carry the same value", async () => {
  const m = metrics();
  m.miningBlocksProduced.inc();
  m.miningBlocksProduced.inc(2);
  const text = await m.registry.metrics();
  assert.match(text, /^# TYPE mining_blocks_produced_total counter$/m);
  assert.match(text, /^# TYPE mining_blocks_produced gauge$/m);
  const s = series(text);
  assert.equal(s.get("mining_blocks_produced_total"), 3);
  assert.equal(s.get("mining_blocks_produced"), 3);
});

test("the checker finds each kind of problem promtool reports", () => {
  const cases: [string, string, RegExp][] = [
    ["counter without _total", "# HELP a_things x\n# TYPE a_things counter\na_things 1\n", /should have "_total" suffix/],
    ["gauge with _total", "# HELP a_total x\n# TYPE a_total gauge\na_total 1\n", /non-counter metrics should not have "_total"/],
    ["no HELP", "# TYPE a_total counter\na_total 1\n", /no help text/],
    ["no TYPE", "# HELP a x\na 1\n", /without a TYPE line/],
    ["milliseconds", "# HELP a_milliseconds x\n# TYPE a_milliseconds gauge\na_milliseconds 1\n", /use base unit "seconds" instead of "milliseconds"/],
    ["abbreviated unit", "# HELP a_ms x\n# TYPE a_ms gauge\na_ms 1\n", /abbreviated units: ms/],
    ["unit not last", "# HELP a_seconds_spent x\n# TYPE a_seconds_spent gauge\na_seconds_spent 1\n", /should be the last word/],
    ["type in the name", "# HELP a_gauge x\n# TYPE a_gauge gauge\na_gauge 1\n", /should not include type 'gauge'/],
    ["_count on a gauge", "# HELP a_count x\n# TYPE a_count gauge\na_count 1\n", /_count or _sum suffix/],
    ["le on a gauge", '# HELP a x\n# TYPE a gauge\na{le="1"} 1\n', /should not have "le" label/],
    ["camelCase", "# HELP aB x\n# TYPE aB gauge\naB 1\n", /camelCase/],
    ["colon", "# HELP a:b x\n# TYPE a:b gauge\na:b 1\n", /should not contain ':'/],
    ["bad value", "# HELP a x\n# TYPE a gauge\na one\n", /bad value/],
  ];
  for (const [what, text, expected] of cases) {
    const problems = promLint(text);
    assert.ok(problems.some((p) => expected.test(p.text)), `${what}: ${JSON.stringify(problems)}`);
  }
  const histogram = '# HELP h_seconds x\n# TYPE h_seconds histogram\nh_seconds_bucket{le="1"} 1\nh_seconds_bucket{le="+Inf"} 1\nh_seconds_sum 0.5\nh_seconds_count 1\n';
  assert.deepEqual(promLint(histogram), []);
});

test("validators: active and live gauges, and the RANDAO reveals verified counter", async () => {
  const m = metrics();
  m.validatorsActive.set(5);
  m.validatorsLive.set(2);
  m.randaoRevealsVerifiedTotal.inc();
  m.randaoRevealsVerifiedTotal.inc();
  const text = await m.registry.metrics();
  assert.match(text, /^# TYPE vision_validators_active gauge$/m);
  assert.match(text, /^# TYPE vision_validators_live gauge$/m);
  assert.match(text, /^# TYPE vision_randao_reveals_verified_total counter$/m);
  const s = series(text);
  assert.equal(s.get("vision_validators_active"), 5);
  assert.equal(s.get("vision_validators_live"), 2);
  assert.equal(s.get("vision_randao_reveals_verified_total"), 2);
});

test("countP2P: messages and bytes counted by direction and type appear in the counters when read, added to direct incs, once each", async () => {
  const m = metrics();
  m.countP2P("in", "block", 500);
  m.countP2P("in", "block", 700);
  m.countP2P("out", "status", 90);
  m.p2pMessagesTotal.inc({ direction: "in", type: "block" });
  const value = async (c: typeof m.p2pMessagesTotal, direction: string, type: string) => (await c.get()).values.find((v) => v.labels.direction === direction && v.labels.type === type)?.value;
  assert.equal(await value(m.p2pMessagesTotal, "in", "block"), 3);
  assert.equal(await value(m.p2pBytesTotal, "in", "block"), 1200);
  assert.equal(await value(m.p2pMessagesTotal, "out", "status"), 1);
  assert.equal(await value(m.p2pBytesTotal, "out", "status"), 90);
  m.countP2P("in", "block", 100);
  const text = await m.registry.metrics();
  assert.match(text, /^vision_p2p_messages_total\{direction="in",type="block"\} 4$/m);
  assert.match(text, /^vision_p2p_bytes_total\{direction="in",type="block"\} 1300$/m);
  assert.equal(await value(m.p2pMessagesTotal, "in", "block"), 4); // read again: nothing counted twice
});
