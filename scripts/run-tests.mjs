#!/usr/bin/env node
// Runs every test/**/*.test.ts with Node's built-in runner and tsx (Node 20 has no --test globs),
// after building lib/ (scripts/build.mjs; quick when src/ did not change).
// Usage: node scripts/run-tests.mjs [unit|e2e|path-fragment ...]
//
// Four runs: test/unit/ three files at a time (in-process tests, generous timeouts), then
// test/e2e/'s untimed files three at a time, then its timed ones (real node processes whose block
// intervals and latencies the drills measure) two at a time, and those that load a core themselves
// one at a time. Their TAP goes to stdout as it comes, as one stream: top-level test points
// numbered on across the runs, one plan and one summary of all at the end, in the runner's own
// format; each run's time goes to stderr.
import { spawn, spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith(".test.ts") ? [p] : [];
  });
}
const filters = process.argv.slice(2);
const files = walk("test").sort().filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error("no test files matched", filters);
  process.exit(1);
}
// e2e tests spawn bin/vision-node, which runs the compiled lib/: bring it up to date with src/ first.
// Not type-checked here (npm test runs tsc --noEmit before this script).
const build = spawnSync(process.execPath, [fileURLToPath(new URL("./build.mjs", import.meta.url)), "--no-check"], { stdio: "inherit" });
if (build.status !== 0) process.exit(build.status ?? 1);

const isE2e = (f) => f.split(/[\\/]/).includes("e2e");
// End-to-end tests that assert timing (block intervals, takeover and abort latencies, eligibility
// shares) run after the others, which only wait on real processes and run three at a time: those
// with generous bounds or a baseline measured in the same run two at a time (a few idle node
// processes each), those that keep a core busy themselves (mining, building junk blocks) alone.
const TIMED_PAIRS = ["failover", "partition", "liars", "fallback"];
const TIMED_ALONE = ["junkMemory", "minerRace", "pow"];
const endsWithAny = (f, names) => names.some((name) => f.endsWith(`${name}.test.ts`));
const isTimed = (f) => endsWithAny(f, TIMED_PAIRS) || endsWithAny(f, TIMED_ALONE);
// The files that take longest (30-90 s: the 50-node simulations, long chains to sync, drills of
// several phases) start first in their run, so that none of them is left running alone at its end.
const SLOW = ["unit/sim/determinism", "unit/sim/faults", "unit/sim/doubleBlock", "unit/sim/doubleVote", "unit/sim/privateBranch", "unit/sim/sybil", "unit/sim/clockSkewFault", "unit/sim/restartFault", "unit/sim/partitionFault", "unit/sim/grind", "unit/sim/liars", "unit/cli/cli", "unit/p2p/meshNetwork", "unit/node/protectionCrash", "e2e/fullBlockJoin", "e2e/finalityLiveness", "e2e/lateJoin", "e2e/validatorCli", "e2e/package", "e2e/crash", "e2e/health", "e2e/burst", "e2e/checkpointStart", "e2e/junkMemory", "e2e/liars"];
const rank = (f) => {
  const i = SLOW.findIndex((s) => f.split("\\").join("/").includes(`${s}.test.ts`));
  return i < 0 ? SLOW.length : i;
};
const slowFirst = (list) => [...list].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
// Three unit files at a time: the simulations compute, but many files spend much of their time
// waiting on sockets, disks and timers (two at a time left the 2-core machine a third idle). The
// untimed e2e files wait on node processes producing blocks (three at a time keep it busy).
const runs = [
  { files: slowFirst(files.filter((f) => !isE2e(f))), concurrency: 3 },
  { files: slowFirst(files.filter((f) => isE2e(f) && !isTimed(f))), concurrency: 3 },
  { files: slowFirst(files.filter((f) => isE2e(f) && endsWithAny(f, TIMED_PAIRS))), concurrency: 2 },
  { files: slowFirst(files.filter((f) => isE2e(f) && endsWithAny(f, TIMED_ALONE))), concurrency: 1 },
].filter((r) => r.files.length > 0);

// The runner's closing summary, unindented: `# tests 12`, `# pass 12`, ... `# duration_ms 345.6`.
const SUMMARY = /^# (tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) (\d+(?:\.\d+)?)$/;
const POINT = /^(ok|not ok) \d+ /;
const PLAN = /^1\.\.\d+$/;
const totals = new Map();
let points = 0;
let status = 0;
process.stdout.write("TAP version 13\n");
const started = Date.now();
for (const [i, run] of runs.entries()) {
  const runStarted = Date.now();
  // A test that hangs fails after 5 minutes with its name (a test may set a longer timeout itself),
  // instead of holding the whole run until CI kills it.
  const child = spawn(process.execPath, ["--import", "tsx", "--test", "--test-reporter=tap", "--test-timeout=300000", `--test-concurrency=${run.concurrency}`, ...run.files], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  for await (const line of createInterface({ input: child.stdout })) {
    const m = SUMMARY.exec(line);
    if (m) totals.set(m[1], (totals.get(m[1]) ?? 0) + Number(m[2]));
    else if (POINT.test(line)) process.stdout.write(line.replace(POINT, (_, ok) => `${ok} ${++points} `) + "\n");
    else if (line !== "TAP version 13" && !PLAN.test(line)) process.stdout.write(line + "\n");
  }
  const code = await new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.on("close", resolve)));
  if (code !== 0) status = code ?? 1;
  // Where the time goes, on stderr (stdout is the TAP stream).
  const secs = (ms) => (ms / 1000).toFixed(0);
  process.stderr.write(`run-tests: run ${i + 1} of ${runs.length} (${run.files.length} files, ${run.concurrency} at a time) took ${secs(Date.now() - runStarted)} s, ${secs(Date.now() - started)} s in all\n`);
}
process.stdout.write(`1..${points}\n`);
for (const [key, value] of totals) process.stdout.write(`# ${key} ${key === "duration_ms" ? value.toFixed(3) : value}\n`);
process.exit(status);
