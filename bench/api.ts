/**
 * HTTP API latency under load: `GET /api/mining/status` and `GET /metrics` of a node in a running
 * 3-node testnet (producing blocks at 2000 ms), 50 connections for 10 s each (autocannon), against a
 * bare `node:http` server in its own process answering the same JSON body, measured in the same run
 * (before and after the node's runs, so load from elsewhere on the machine shows in both; the ratio
 * uses their mean). p50/p99 latency and requests per second, then each figure against its goal.
 * With `--api-base DIR` the same run is made first on the nodes of another checkout (its own
 * `test/helpers` start its own `bin/vision-node`), say the code before a change.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import autocannon from "autocannon";
import { resolve } from "node:path";
import * as here from "../test/helpers/nodeProcess.ts";
import * as hereFixtures from "../test/helpers/fixtures.ts";
import type { NodeProc } from "../test/helpers/nodeProcess.ts";
import { fmt } from "./stats.ts";

const CONNECTIONS = 50;
const SECONDS = 10;

/** The goals (see the README's performance notes): status throughput as a share of the bare server's, latencies in ms. */
export const API_GOALS = { statusThroughputRatio: 0.8, statusP99Ms: 5, metricsP99Ms: 10 };

type Figures = { p50: number; p99: number; rps: number; errors: number; non2xx: number };

async function load(url: string): Promise<Figures> {
  const r = await autocannon({ url, connections: CONNECTIONS, duration: SECONDS });
  return { p50: r.latency.p50, p99: r.latency.p99, rps: r.requests.average, errors: r.errors, non2xx: r.non2xx };
}

/** A bare node:http server in a child process answering `body` as JSON; resolves with its URL. */
async function bareServer(body: string): Promise<{ url: string; stop(): void }> {
  const code = `const http = require("node:http"); const body = ${JSON.stringify(body)};
    const s = http.createServer((req, res) => { res.writeHead(200, { "content-type": "application/json" }); res.end(body); });
    s.listen(0, "127.0.0.1", () => console.log(s.address().port));`;
  const child = spawn(process.execPath, ["-e", code], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve) => child.stdout.once("data", (d) => resolve(Number(String(d).trim()))));
  return { url: `http://127.0.0.1:${port}/`, stop: () => child.kill() };
}

/** Prints one goal line: the figure, the goal and whether it is met. */
export function goalLine(what: string, value: number, goal: number, better: "higher" | "lower", unit: string, digits = 2): string {
  const met = better === "higher" ? value >= goal : value <= goal;
  return `goal ${what}: ${fmt(value, digits)}${unit} (${better === "higher" ? ">=" : "<="} ${fmt(goal, digits)}${unit}) ${met ? "met" : "NOT MET"}`;
}

/** The API benchmark on this checkout, and first on `base` (another checkout) when given. */
export async function benchApi(opts: { base?: string } = {}): Promise<void> {
  console.log(`\n## HTTP API under load (${CONNECTIONS} connections, ${SECONDS} s each, node producing blocks)`);
  if (opts.base) {
    const root = resolve(opts.base);
    console.log(`### base: ${root}`);
    await run((await import(`${root}/test/helpers/nodeProcess.ts`)) as typeof here, (await import(`${root}/test/helpers/fixtures.ts`)) as typeof hereFixtures);
    console.log("### this checkout");
  }
  await run(here, hereFixtures);
  console.log("(this checkout's /metrics text is at most 2 s old: metrics/exposition.ts)");
}

async function run(helpers: Pick<typeof here, "getJson" | "startMesh">, fixtures: Pick<typeof hereFixtures, "makeKeys" | "makeSpec" | "tempDir">): Promise<void> {
  const { getJson, startMesh } = helpers;
  const { makeKeys, makeSpec, tempDir } = fixtures;
  const t = tempDir("vision-bench-");
  const keys = makeKeys(3);
  const spec = makeSpec(keys, { genesis_timestamp: Date.now(), params: { block_time_ms: 2000 } });
  let nodes: NodeProc[] = [];
  try {
    nodes = await startMesh(join(t.dir), keys, spec, ["--mining-workers", "1", "--log-level", "info"]);
    const api = nodes[0]!.api;
    for (let i = 0; i < 200 && (await getJson(`${api}/api/chain/head`)).height < 2; i++) await new Promise((r) => setTimeout(r, 250));
    const body = JSON.stringify(await getJson(`${api}/api/mining/status`));
    const bare = await bareServer(body);
    let before: Figures, after: Figures, status: Figures, metrics: Figures, h0: number, h1: number;
    try {
      before = await load(bare.url);
      h0 = (await getJson(`${api}/api/chain/head`)).height as number;
      status = await load(`${api}/api/mining/status`);
      metrics = await load(`${api}/metrics`);
      h1 = (await getJson(`${api}/api/chain/head`)).height as number;
      after = await load(bare.url);
    } finally {
      bare.stop();
    }
    type Blocks = { blocks: { header: { timestamp: number } }[] };
    // from&limit, or from&to on code from before the one pagination style
    const blocks = (await getJson<Blocks>(`${api}/api/blocks?from=${h0}&limit=${h1 - h0 + 1}`).catch(() => getJson<Blocks>(`${api}/api/blocks?from=${h0}&to=${h1}`))).blocks;
    const gaps = blocks.slice(1).map((b, i) => b.header.timestamp - blocks[i]!.header.timestamp);
    const row = (name: string, f: Figures) =>
      console.log(`${name.padEnd(40)} p50 ${fmt(f.p50, 0).padStart(4)} ms  p99 ${fmt(f.p99, 0).padStart(4)} ms  ${fmt(f.rps, 0).padStart(6)} req/s  errors ${f.errors}, non-2xx ${f.non2xx}`);
    row("bare node:http, same JSON (before)", before);
    row("GET /api/mining/status", status);
    row("GET /metrics", metrics);
    row("bare node:http, same JSON (after)", after);
    const bareRps = (before.rps + after.rps) / 2;
    const bareP99 = Math.max(1, (before.p99 + after.p99) / 2);
    console.log(`ratios to the bare server (mean of before and after): /api/mining/status throughput ${fmt(status.rps / bareRps, 2)}x, p99 ${fmt(status.p99 / bareP99, 1)}x; /metrics throughput ${fmt(metrics.rps / bareRps, 2)}x, p99 ${fmt(metrics.p99 / bareP99, 1)}x`);
    console.log(goalLine("/api/mining/status throughput / bare", status.rps / bareRps, API_GOALS.statusThroughputRatio, "higher", "x"));
    console.log(goalLine("/api/mining/status p99", status.p99, API_GOALS.statusP99Ms, "lower", " ms", 0));
    console.log(goalLine("/metrics p99", metrics.p99, API_GOALS.metricsP99Ms, "lower", " ms", 0));
    console.log(`while loaded (${2 * SECONDS} s): ${h1 - h0} blocks, longest interval ${gaps.length ? fmt(Math.max(...gaps) / 1000, 2) : "-"} s (block_time_ms 2000)`);
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
    t.cleanup();
  }
}
