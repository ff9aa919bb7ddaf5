// The network drill's pure parts: propagation from seen_at, the /metrics figures it reads, link delays.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loopDelayBetween, oneWayMs, parseScrape, propagation, regionOf } from "../../../src/drill/network.ts";
import { DEFAULT_REGIONS } from "../../../src/sim/network.ts";

test("propagation: per block, the time from its first seen_at until half, 95% and every node held it; a block some node holds without seen_at is left out", () => {
  // 4 nodes, 3 blocks; times in ms
  const seen = [
    [1000, 2000, 3000],
    [1010, 2050, null],
    [1020, 2100, 3010],
    [1100, 2400, 3020],
  ];
  const p = propagation(seen);
  assert.equal(p.blocks, 2);
  // block 1: sorted 0,10,20,100 -> 50% = 2nd = 10, 95% = 4th = 100, 100% = 100; block 2: 0,50,100,400 -> 50, 400, 400
  assert.deepEqual(p.to_50pct_ms, { p50: 10, p95: 50, p99: 50 });
  assert.deepEqual(p.to_95pct_ms, { p50: 100, p95: 400, p99: 400 });
  assert.deepEqual(p.to_100pct_ms, { p50: 100, p95: 400, p99: 400 });
  assert.deepEqual(propagation([]), { blocks: 0, to_50pct_ms: { p50: null, p95: null, p99: null }, to_95pct_ms: { p50: null, p95: null, p99: null }, to_100pct_ms: { p50: null, p95: null, p99: null } });
});

test("parseScrape reads resident memory, event-loop p99 and max, peers and CPU seconds from a Prometheus exposition; missing or NaN values are undefined", () => {
  const text = [
    "# HELP process_resident_memory_bytes Resident memory size in bytes.",
    "process_resident_memory_bytes 98566144",
    "nodejs_eventloop_lag_p99_seconds 0.021823487",
    "nodejs_eventloop_lag_max_seconds NaN",
    'nodejs_eventloop_lag_p99_seconds_extra{a="b"} 5',
    "vision_peers 7",
    "process_cpu_seconds_total 12.5",
  ].join("\n");
  assert.deepEqual(parseScrape(text), { rssBytes: 98566144, lagP99s: 0.021823487, lagMaxS: undefined, peers: 7, cpuS: 12.5, loopBuckets: undefined });
  assert.deepEqual(parseScrape(""), { rssBytes: undefined, lagP99s: undefined, lagMaxS: undefined, peers: undefined, cpuS: undefined, loopBuckets: undefined });
});

test("the event-loop delay over a run, from two readings of the node's histogram: p99's bucket bound and the share of probes over the goal", () => {
  const hist = (counts: number[]) => ["0.01", "0.05", "0.1", "0.5", "+Inf"].map((le, i) => `vision_eventloop_delay_seconds_bucket{le="${le}"} ${counts[i]}`).join("\n");
  const a = parseScrape(hist([100, 110, 110, 111, 120]));
  assert.deepEqual([...a.loopBuckets!], [[0.01, 100], [0.05, 110], [0.1, 110], [0.5, 111], [Infinity, 120]]);
  // 1,000 probes between the readings: 985 within 10 ms, 995 within 100 ms, 5 later
  const b = parseScrape(hist([1085, 1100, 1105, 1109, 1120]));
  assert.deepEqual(loopDelayBetween(a.loopBuckets, b.loopBuckets, 100), { p99BoundMs: 50, overGoalPct: 0.5, probes: 1000 });
  // 20 probes later than 100 ms: the p99 is past that bucket
  const c = parseScrape(hist([1080, 1090, 1090, 1109, 1120]));
  assert.deepEqual(loopDelayBetween(a.loopBuckets, c.loopBuckets, 100), { p99BoundMs: 500, overGoalPct: 2, probes: 1000 });
  assert.equal(loopDelayBetween(a.loopBuckets, b.loopBuckets, 70)?.overGoalPct, 1, "a goal between bounds is taken at the lower one (50 ms): 10 probes over it");
  assert.equal(loopDelayBetween(a.loopBuckets, a.loopBuckets, 100), null, "no probes between them");
  assert.equal(loopDelayBetween(undefined, b.loopBuckets, 100), null);
});

test("link delays: node i sits in region i mod 6, and a link's one-way delay is half its regions' round trip, symmetric", () => {
  assert.equal(regionOf(0), 0);
  assert.equal(regionOf(7), 1);
  assert.equal(oneWayMs(0, 1), DEFAULT_REGIONS.rttMs[0]![1]! / 2);
  assert.equal(oneWayMs(0, 6), DEFAULT_REGIONS.rttMs[0]![0]! / 2, "same region");
  for (let i = 0; i < 12; i++) for (let j = 0; j < 12; j++) assert.equal(oneWayMs(i, j), oneWayMs(j, i));
});
