// The Grafana dashboard works when provisioned from a file, not only when imported by hand: no
// import-time inputs, a data source variable every panel and query uses, and job/instance
// selectors that scope every metric it reads. (test/e2e/metrics.test.ts checks that each metric
// exists on a running node.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

interface Target {
  expr: string;
  datasource?: { type?: string; uid?: string };
}
interface Panel {
  title: string;
  description?: string;
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
}
interface Variable {
  name: string;
  type: string;
  query?: unknown;
  definition?: string;
  datasource?: { uid?: string };
}
interface Dashboard {
  __inputs?: unknown;
  uid: string;
  panels: Panel[];
  templating: { list: Variable[] };
}

const text = readFileSync(new URL("../../../dashboards/grafana/vision-node.json", import.meta.url), "utf8");
const dash = JSON.parse(text) as Dashboard;
const SCOPE = '{job=~"$job",instance=~"$instance"';
const FUNCTIONS = new Set(["sum", "max", "min", "avg", "rate", "increase", "delta", "deriv", "histogram_quantile", "by", "without", "on", "ignoring"]);

/** Every metric name in a PromQL expression, with the text that follows it. */
function selectors(expr: string): { name: string; rest: string }[] {
  const out: { name: string; rest: string }[] = [];
  // Skip label matchers, groupings, ranges and strings so their contents are not taken for names.
  const masked = expr.replace(/\{[^}]*\}|\b(?:by|without)\s*\([^)]*\)|\[[^\]]*\]|"[^"]*"/g, (s) => " ".repeat(s.length));
  for (const m of masked.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    if (FUNCTIONS.has(m[0]) || /^\d/.test(m[0])) continue;
    out.push({ name: m[0], rest: expr.slice(m.index! + m[0].length) });
  }
  return out;
}

test("grafana: no import-time inputs; a datasource variable and job/instance selectors", () => {
  assert.equal(dash.__inputs, undefined, "__inputs make provisioning from a file fail");
  assert.doesNotMatch(text, /DS_PROMETHEUS/);
  assert.equal(dash.uid, "vision-node");
  const vars = new Map(dash.templating.list.map((v) => [v.name, v]));
  assert.equal(vars.get("datasource")?.type, "datasource");
  for (const name of ["job", "instance"]) {
    const v = vars.get(name);
    assert.equal(v?.type, "query", `${name} variable`);
    assert.equal(v?.datasource?.uid, "${datasource}");
    assert.match(v?.definition ?? "", /^label_values\(vision_[a-z_]+(\{[^}]*\})?, [a-z]+\)$/);
    assert.deepEqual(v?.query, { query: v?.definition, refId: `${name}-variable` });
  }
  assert.match(vars.get("instance")!.definition!, /\$job/, "the instance list follows the job selection");
});

test("grafana: every panel and query uses the datasource variable and scopes every metric", () => {
  assert.ok(dash.panels.length >= 15);
  for (const p of dash.panels) {
    assert.equal(p.datasource?.uid, "${datasource}", p.title);
    assert.ok((p.description ?? "").length > 10, `${p.title} has a description`);
    assert.ok(p.targets?.length, `${p.title} has queries`);
    for (const t of p.targets!) {
      assert.equal(t.datasource?.uid, "${datasource}", `${p.title}: ${t.expr}`);
      const sel = selectors(t.expr);
      assert.ok(sel.length > 0, `${p.title}: ${t.expr} reads a metric`);
      for (const s of sel) assert.ok(s.rest.startsWith(SCOPE), `${p.title}: ${s.name} is scoped by job and instance in ${t.expr}`);
    }
  }
});

test("grafana: the selector check itself finds unscoped metrics", () => {
  assert.deepEqual(
    selectors('sum by (instance) (rate(a_total{le="0"}[5m])) - b').map((s) => [s.name, s.rest.startsWith(SCOPE)]),
    [["a_total", false], ["b", false]],
  );
  assert.deepEqual(
    selectors('max(vision_peers{job=~"$job",instance=~"$instance"})').map((s) => [s.name, s.rest.startsWith(SCOPE)]),
    [["vision_peers", true]],
  );
});

test("grafana: the finality lag (tip - finalized checkpoint) and slashings have panels", () => {
  const exprs = dash.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
  assert.ok(exprs.some((e) => /vision_chain_height\{[^}]*\} - vision_finalized_height\{/.test(e)), "finality lag");
  assert.ok(exprs.some((e) => e.includes("vision_justified_height{")), "justified checkpoint");
  assert.ok(exprs.some((e) => e.includes("vision_slashings_total{")), "slashings");
});
