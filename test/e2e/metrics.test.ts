// Prometheus metrics on a running 3-node testnet (real processes): the Proof-of-Sync mining spec's
// five mining metrics are there and move as blocks are produced, and every metric the Grafana
// dashboard queries exists.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { makeKeys, makeSpec, tempDir } from "../helpers/fixtures.ts";
import { getJson, startMesh, type NodeProc } from "../helpers/nodeProcess.ts";
import { waitFor } from "../helpers/net.ts";

const SEED_METRICS = ["mining_eligible_nodes", "mining_my_slot", "mining_claims_total", "mining_blocks_produced", "mining_slot_distribution"];

/** Parses the text exposition format into series name → summed value. */
async function scrape(api: string): Promise<Map<string, number>> {
  const r = await fetch(`${api}/metrics`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get("content-type") ?? "", /text\/plain/);
  const out = new Map<string, number>();
  for (const line of (await r.text()).split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (m) out.set(m[1]!, (out.get(m[1]!) ?? 0) + Number(m[3]));
  }
  return out;
}

const PROMQL_WORDS = new Set(["sum", "max", "min", "avg", "rate", "increase", "delta", "deriv", "histogram_quantile", "by", "without", "on", "ignoring"]);

/** Metric names a PromQL expression reads (label matchers, groupings and ranges removed). */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/\{[^}]*\}/g, "")
    .replace(/\b(by|without)\s*\([^)]*\)/g, "")
    .replace(/\[[^\]]*\]/g, "")
    .replace(/"[^"]*"/g, "");
  return [...bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)].map((m) => m[0]).filter((w) => !PROMQL_WORDS.has(w));
}

test("metrics: the mining spec's five move as blocks are produced; every Grafana query has its metric", async () => {
  const t = tempDir();
  const keys = makeKeys(3);
  const spec = makeSpec(keys, { genesis_timestamp: Date.now(), params: { block_time_ms: 500 } });
  let nodes: NodeProc[] = [];
  try {
    nodes = await startMesh(t.dir, keys, spec);
    const height = async () => (await getJson(`${nodes[0]!.api}/api/chain/head`)).height as number;
    await waitFor(async () => (await height()) >= 3, 60_000, "height 3");
    const before = await Promise.all(nodes.map((n) => scrape(n.api)));
    const h0 = await height();
    await waitFor(async () => (await height()) >= h0 + 4, 60_000, "four more blocks");
    const after = await Promise.all(nodes.map((n) => scrape(n.api)));

    for (const [i, m] of after.entries()) {
      for (const name of SEED_METRICS) {
        assert.ok(m.has(name) || m.has(`${name}_count`), `node ${i + 1} exposes ${name}`);
      }
      assert.equal(m.get("mining_eligible_nodes"), 3);
      const slot = m.get("mining_my_slot")!;
      assert.ok(slot >= -1 && slot <= 6);
      assert.ok(m.get("mining_slot_distribution_count")! > before[i]!.get("mining_slot_distribution_count")!, "slot histogram moved");
      assert.ok(m.get("vision_chain_height")! > before[i]!.get("vision_chain_height")!);
      assert.ok(m.get("vision_p2p_messages_total")! > before[i]!.get("vision_p2p_messages_total")!);
      assert.ok(m.has("process_resident_memory_bytes") && m.has("nodejs_eventloop_lag_p99_seconds"), "process defaults");
    }
    const total = (ms: Map<string, number>[], name: string) => ms.reduce((s, m) => s + (m.get(name) ?? 0), 0);
    assert.ok(total(after, "mining_blocks_produced") >= total(before, "mining_blocks_produced") + 4, "mining_blocks_produced counts the new blocks");
    assert.ok(total(after, "mining_claims_total") >= total(after, "mining_blocks_produced"), "a claim precedes every production");
    assert.ok(total(after, "mining_claims_total") > total(before, "mining_claims_total"));

    // Every metric the dashboard queries exists on a live node.
    const dash = JSON.parse(readFileSync(new URL("../../dashboards/grafana/vision-node.json", import.meta.url), "utf8"));
    const queried = new Set<string>(dash.panels.flatMap((p: { targets: { expr: string }[] }) => p.targets.flatMap((q) => metricNames(q.expr))));
    assert.ok(queried.size >= 15);
    for (const name of queried) assert.ok(after[0]!.has(name), `${name} (queried by the dashboard) is in /metrics`);
    for (const name of SEED_METRICS) assert.ok([...queried].some((q) => q.startsWith(name)), `the dashboard shows ${name}`);
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
    t.cleanup();
  }
});
