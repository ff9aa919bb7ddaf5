/**
 * The simulator's report as one self-contained HTML file: a table of the figures and three uPlot
 * charts (the propagation CDF, block intervals by height, finality lag by height). uPlot's script
 * and stylesheet are read from its package at render time and inlined, with the plot data, so the
 * file opens from disk with no network. The same report renders to the same bytes.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { parseReport, reportJson, type SimReport, type Stats } from "./report.ts";

let assets: { js: string; css: string } | undefined;

/** uPlot's browser build and stylesheet, read once. @throws when the package is missing or holds a closing tag */
function uplotAssets(): { js: string; css: string } {
  if (!assets) {
    const dist = join(dirname(createRequire(import.meta.url).resolve("uplot/package.json")), "dist");
    const js = readFileSync(join(dist, "uPlot.iife.min.js"), "utf8");
    const css = readFileSync(join(dist, "uPlot.min.css"), "utf8");
    if (/<\/script/i.test(js) || /<\/style/i.test(css)) throw new Error("uplot's files hold a closing tag and cannot be inlined");
    assets = { js, css };
  }
  return assets;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
/** JSON safe inside a <script> element. */
const scriptJson = (x: unknown) => JSON.stringify(x).replace(/</g, "\\u003c");
const num = (x: number | null) => (x === null ? "–" : String(x));
const dist = (s: Stats, unit: string) =>
  s.count === 0 ? "–" : `p50 ${num(s.p50)} · p95 ${num(s.p95)} · p99 ${num(s.p99)} · max ${num(s.max)}${unit && ` ${unit}`} (mean ${num(s.mean)}, n ${s.count})`;

/** The figures table's rows: [figure, value]. */
function rows(r: SimReport): [string, string][] {
  const p = r.propagation;
  return [
    ["nodes · seed · virtual duration", `${r.run.nodes} · ${r.run.seed} · ${r.run.duration_ms} ms`],
    ["heights produced (target)", `${r.heights.produced} (${r.heights.target})`],
    ["blocks produced · orphaned", `${r.heights.blocks} · ${r.heights.orphaned}`],
    ["crashed nodes", r.run.crashed.length === 0 ? "none" : `${r.run.crashed.length}: ${r.run.crashed.map((c) => `${c.node} at ${c.at_ms} ms`).join(", ")}`],
    ["finality safety (heights with two finalized blocks)", r.safety.violations === 0 ? `none (${r.safety.finalized_blocks} blocks finalized)` : `${r.safety.violations} VIOLATIONS: ${r.safety.examples.map((e) => `height ${e.height}: ${e.blocks.map((b) => `${b.hash.slice(0, 12)} by nodes ${b.nodes.join(",")}`).join(" vs ")}`).join("; ")}`],
    ["agreement of finalized chains", r.agreement.agreed ? "yes" : `NO: nodes ${r.agreement.disagreeing_nodes.join(", ")}`],
    ["finalized height (min – max)", `${r.agreement.finalized_height_min} – ${r.agreement.finalized_height_max}`],
    ["reorgs · deepest · nodes", `${r.reorgs.count} · ${r.reorgs.deepest} · ${r.reorgs.nodes}`],
    ["primary share", String(r.slots.primary_share)],
    ["blocks by slot", r.slots.by_slot.map((s) => `${s.slot}: ${s.blocks} (${s.share})`).join(" · ") || "–"],
    ["propagation to 50% of nodes", dist(p.to_50, "ms")],
    ["propagation to 95% of nodes", dist(p.to_95, "ms")],
    ["propagation to 100% of nodes", dist(p.to_100, "ms")],
    ["blocks that never reached every node", String(p.incomplete)],
    ["duplicate deliveries per node per block", dist(r.duplicates.per_node_per_block, "")],
    ["upload per node", dist(r.bandwidth.sent_bytes_per_s, "B/s")],
    ["download per node", dist(r.bandwidth.received_bytes_per_s, "B/s")],
    ["longest stall", r.stall.at_height === null ? "–" : `${r.stall.longest_ms} ms (ended by height ${r.stall.at_height})`],
    ["intervals over the stall window", r.stall.window_ms === null ? "–" : `${r.stall.over_window} over ${r.stall.window_ms} ms`],
    ["block interval", dist(r.block_intervals.stats, "ms")],
    ["finality lag (blocks)", dist(r.finality_lag.stats, "")],
    ...faultRows(r),
    ...r.adversaries.map((a): [string, string] => [
      `adversary ${a.name}: production share (validator share)`,
      `${a.production_share} (${a.validator_share}): ${a.blocks} blocks, ${a.validators} validators`,
    ]),
    ...attackRows(r),
    ...slashingRows(r),
  ];
}

/** The rows of the report's `slashing` section (sim/equivocation.ts); none without one. */
function slashingRows(r: SimReport): [string, string][] {
  return (r.slashing ?? []).flatMap((e): [string, string][] => [
    [`${e.kind}: members · ${e.kind === "double-block" ? "blocks" : "votes"} signed twice · frames with a twin`, `${e.members.join(", ")} · ${e.twinned} · ${e.frames_rewritten}`],
    [
      `${e.kind}: slashed at node 0's head · items on its chain`,
      `${e.slashed_at_head.length} of ${e.members.length}${e.slashed.length ? ` · ${e.slashed.map((x) => `node ${x.node} at height ${x.height}`).join(", ")}` : " · none"}`,
    ],
  ]);
}

/** The table rows of the report's `attacks` section (sim/attacks.ts); none without one. */
function attackRows(r: SimReport): [string, string][] {
  const a = r.attacks;
  if (!a) return [];
  const out: [string, string][] = [];
  if (a.liars) {
    const l = a.liars;
    out.push(["lying heights: liars · claimed ahead · lies", `${l.nodes.length} (nodes ${l.nodes.join(", ")}) · ${l.ahead} blocks · ${l.lies}`]);
    out.push(["requests honest nodes sent liars (by path)", `${l.requests} from ${l.askers} nodes: ${Object.entries(l.by_path).map(([p, k]) => `${p} ${k}`).join(" · ") || "–"}`]);
    out.push(["time waiting on liars · longest · unanswered", `${l.wait_ms_total} ms · ${l.wait_ms_max} ms · ${l.unanswered}`]);
  }
  if (a.sybil) {
    const s = a.sybil;
    out.push(["Sybil attesters: keys · hosts · frames sent", `${s.keys} · ${s.hosts.join(", ")} · ${s.sent}`]);
    out.push(["Sybil attestations received · relayed · in blocks", `${s.received} · ${s.relayed} · ${s.in_blocks}`]);
    out.push(["largest honest attestation pool", String(s.pool_max)]);
  }
  if (a.grind) {
    const g = a.grind;
    out.push(["grinding: members · produced · decided", `${g.members.join(", ")} · ${g.produced} · ${g.decided}`]);
    out.push(["grinding: published · withheld · mixes checked", `${g.published} · ${g.withheld} · ${g.seeds_checked}`]);
  }
  out.push(["bans of honest peers · of adversaries", `${a.bans.honest} · ${a.bans.adversary}`]);
  return out;
}

/** The rows of the restart, partition and clock skew faults (sim/faults.ts), when the run had them. */
function faultRows(r: SimReport): [string, string][] {
  const f = r.faults;
  if (!f) return [];
  const out: [string, string][] = [];
  if (f.restarts.length) {
    out.push(["restarted nodes (crash → restart, catch-up)", f.restarts.map((x) => `${x.node}: ${x.crashed_at_ms} → ${num(x.restarted_at_ms)} ms, caught up ${x.catch_up_ms === null ? "NEVER" : `in ${x.catch_up_ms} ms`}`).join(" · ")]);
  }
  const p = f.partition;
  if (p) {
    out.push([`partition ${p.from_ms} – ${p.to_ms} ms`, p.sides.map((s) => `${s.regions.join(", ")}: ${s.nodes} nodes, ${s.blocks_during} blocks during, longest stall ${s.longest_stall_ms} ms, head ${s.head_height_at_heal} at heal`).join(" | ")]);
    out.push(["partition heal", `${p.healed ? "" : "NOT healed · "}${p.diverged ? "sides diverged" : "sides did not diverge"} · reorg depth ${p.reorg_depth_at_heal} on ${p.reorged_nodes_at_heal} nodes · one head ${p.converged_after_ms === null ? "NEVER" : `${p.converged_after_ms} ms after`}`]);
  }
  if (f.clock_skew) out.push(["clock skew (offsets)", `up to ±${f.clock_skew.max_ms} ms: ${f.clock_skew.min_offset_ms} … ${f.clock_skew.max_offset_ms} ms`]);
  return out;
}

/**
 * The propagation CDF as uPlot's aligned data: x = every ms a series reaches (ascending), then per
 * series the share q it has reached at x (null before its first value).
 */
function cdfData(r: SimReport): (number | null)[][] {
  const c = r.propagation.cdf;
  const series = [c.arrival_ms, c.to_50_ms, c.to_95_ms, c.to_100_ms];
  const xs = [...new Set(series.flat())].sort((a, b) => a - b);
  return [
    xs,
    ...series.map((ms) => {
      let i = -1;
      return xs.map((x) => {
        while (i + 1 < ms.length && ms[i + 1]! <= x) i++;
        return i < 0 ? null : c.q[i]!;
      });
    }),
  ];
}

/** The page's script: three uPlot charts from the inlined data, then body[data-plots] = their count. */
const SCRIPT = `
const data = JSON.parse(document.getElementById("plot-data").textContent);
const colors = ["#888", "#1f77b4", "#ff7f0e", "#d62728"];
function chart(id, title, xLabel, yLabel, labels, cols) {
  const el = document.getElementById(id);
  new uPlot({
    title, width: el.clientWidth || 900, height: 300,
    scales: { x: { time: false } },
    series: [{ label: xLabel }, ...labels.map((label, i) => ({ label, stroke: colors[i % colors.length], width: 2, points: { show: false } }))],
    axes: [{ label: xLabel }, { label: yLabel }],
  }, cols, el);
}
chart("cdf", "Block propagation (CDF)", "ms since production", "share", ["a node's first copy", "50% of nodes", "95% of nodes", "100% of nodes"], data.cdf);
chart("intervals", "Block intervals", "height", "ms", ["interval"], data.intervals);
chart("lag", "Finality lag", "height", "blocks", ["head - finalized"], data.lag);
document.body.dataset.plots = String(document.querySelectorAll(".uplot").length);
`;

/**
 * The report as one HTML page (UTF-8, no external resources).
 * @throws SimReportError when the report does not match the schema
 */
export function renderHtml(report: SimReport): string {
  const r = parseReport(report);
  const { js, css } = uplotAssets();
  const data = {
    cdf: cdfData(r),
    intervals: [r.block_intervals.by_height.map((x) => x.height), r.block_intervals.by_height.map((x) => x.ms)],
    lag: [r.finality_lag.by_height.map((x) => x.height), r.finality_lag.by_height.map((x) => x.lag)],
  };
  const table = rows(r)
    .map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`)
    .join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>vision-node simulation: ${r.run.nodes} nodes, seed ${r.run.seed}</title>
<style>${css}</style>
<style>body{font:14px system-ui,sans-serif;margin:24px;max-width:1100px}table{border-collapse:collapse;margin-bottom:24px}th,td{padding:4px 10px;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}th{font-weight:600;white-space:nowrap}.plot{margin:16px 0}</style>
</head><body>
<h1>Simulation report</h1>
<table id="figures">
${table}
</table>
<div class="plot" id="cdf"></div>
<div class="plot" id="intervals"></div>
<div class="plot" id="lag"></div>
<script type="application/json" id="plot-data">${scriptJson(data)}</script>
<script>${js}</script>
<script>${SCRIPT}</script>
</body></html>
`;
}

/**
 * Writes `report.json` ({@link reportJson}) and `report.html` ({@link renderHtml}) into dir (created
 * when missing), replacing earlier ones.
 * @returns the two files' paths
 * @throws SimReportError when the report does not match the schema; fs errors as they come
 */
export function writeReport(dir: string, report: SimReport): { json: string; html: string } {
  mkdirSync(dir, { recursive: true });
  const files = { json: join(dir, "report.json"), html: join(dir, "report.html") };
  writeFileSync(files.json, reportJson(report));
  writeFileSync(files.html, renderHtml(report));
  return files;
}
