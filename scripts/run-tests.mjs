#!/usr/bin/env node
// Runs every test/**/*.test.ts with Node's built-in runner and tsx (Node 20 has no --test globs),
// after building lib/ (scripts/build.mjs; quick when src/ did not change).
// Usage: node scripts/run-tests.mjs [unit|e2e|path-fragment ...]
//
// Four runs: test/unit/ in batches, three processes at a time (in-process tests, generous
// timeouts), then test/e2e/'s untimed files in batches, three at a time, then its timed ones (real
// node processes whose block intervals and latencies the drills measure) two at a time, and those
// that load a core themselves one at a time. Their TAP goes to stdout as it comes, as one stream:
// top-level test points (one per file) numbered on across the runs, one plan and one summary of
// all at the end, in the runner's own format; each run's time goes to stderr.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";

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

const posix = (f) => f.split("\\").join("/");
const isE2e = (f) => posix(f).split("/").includes("e2e");
// End-to-end tests that assert timing (block intervals, takeover and abort latencies, eligibility
// shares) run after the others, which only wait on real processes and run three at a time: those
// with generous bounds or a baseline measured in the same run two at a time (a few idle node
// processes each), those that keep a core busy themselves (mining, building junk blocks) alone.
const TIMED_PAIRS = ["failover", "partition", "liars", "fallback"];
const TIMED_ALONE = ["junkMemory", "minerRace", "pow"];
const endsWithAny = (f, names) => names.some((name) => f.endsWith(`${name}.test.ts`));
const isTimed = (f) => endsWithAny(f, TIMED_PAIRS) || endsWithAny(f, TIMED_ALONE);
// Seconds each file takes in its run (measured in a clean-clone CI run of this script on the 2-core
// development machine; unlisted files take about a second, e2e ones a few). The longest start first
// in their run, and the batches below are balanced by them, so that no long file is left running
// alone at a run's end.
const SECONDS = {
  "e2e/fullBlockJoin": 30, "e2e/finalityLiveness": 74, "e2e/networkDrill": 65, "e2e/testnet": 55,
  "e2e/validatorCli": 49, "e2e/lateJoin": 43, "unit/cli/cli": 39, "e2e/package": 35,
  "e2e/crash": 27, "e2e/simCommand": 26, "unit/node/protectionCrash": 25, "e2e/config": 24,
  "unit/sim/clockSkewFault": 24, "e2e/health": 23, "unit/sim/faults": 17, "unit/sim/sybil": 22,
  "unit/sync/silentFirstChunk": 21, "e2e/operatorCli": 19, "unit/sim/determinism": 14,
  "e2e/burst": 18, "e2e/p2pIdentity": 18, "e2e/metrics": 17, "unit/sim/doubleBlock": 17,
  "e2e/dashboard": 15, "unit/p2p/meshNetwork": 15, "unit/sim/privateBranch": 15,
  "unit/sim/restartFault": 14, "e2e/checkpointStart": 13, "unit/sim/doubleVote": 13,
  "unit/sim/partitionFault": 12, "unit/sync/claimAfterSync": 12, "unit/sync/claims": 12,
  "e2e/converge": 11, "unit/node/doppelganger": 11, "unit/p2p/meshGossipAttack": 11,
  "e2e/testnetCommand": 10, "unit/node/fallbackPolicy": 10, "unit/sync/dripSource": 10,
  "unit/sync/sync": 10, "e2e/hostile": 9, "e2e/junkBlocks": 8, "e2e/simReport": 8,
  "unit/chain/grinding": 8, "unit/sync/checkpointProduce": 8, "unit/sync/checkpointSync": 8,
  "unit/consensus/bls": 7, "unit/node/protectionRestore": 7, "unit/p2p/attackServe": 7,
  "unit/api/openapi": 6, "unit/cli/validator": 6, "unit/node/slashingEndToEnd": 6,
  "unit/p2p/attackLearn": 6, "unit/producer/minerClaims": 6, "unit/sim/grind": 6,
  "unit/sync/heavierTipLiar": 6, "unit/chain/finalityForkChoice": 5, "unit/p2p/hello": 5,
  "unit/sim/liars": 5, "unit/sync/checkpointAttack": 5, "unit/sync/liarChunks": 5,
  "e2e/dashboardFinality": 4, "unit/node/v1DataDir": 4, "unit/node/voteProtection": 4,
  "unit/sim/driver": 4, "unit/sync/slowImport": 4, "unit/chain/importBounds": 3,
  "unit/chain/schedule": 3, "unit/chain/verifyFinality": 3, "unit/p2p/attackSlots": 3,
  "unit/p2p/peerManager": 3, "unit/sync/slowFirstChunk": 3,
  // the timed files (a process each; measured in an earlier run)
  "e2e/junkMemory": 45, "e2e/liars": 38, "e2e/failover": 22, "e2e/partition": 22, "e2e/fallback": 16,
};
const seconds = (f) => {
  const name = posix(f).replace(/^.*?test\/(.*)\.test\.ts$/, "$1");
  return SECONDS[name] ?? (isE2e(f) ? 8 : 1);
};
const slowFirst = (list) => [...list].sort((a, b) => seconds(b) - seconds(a) || (a < b ? -1 : a > b ? 1 : 0));
// Three processes at a time: the simulations compute, but many files spend much of their time
// waiting on sockets, disks, timers and node processes producing blocks (two at a time left the
// 2-core machine a third idle). The unit and untimed e2e files run in batches (twelve and nine
// processes, not one per file): each process loads tsx and the node's modules once (about 2.5 s of
// CPU, which 189 files paid 189 times). A batch imports each of its files inside a suite named
// after it, so a file's tests and its top-level hooks stay its own. The timed files keep a process
// each (their load is what the pairs and the one-at-a-time run are sized for).
const runs = [
  { files: slowFirst(files.filter((f) => !isE2e(f))), concurrency: 3, batches: 12 },
  { files: slowFirst(files.filter((f) => isE2e(f) && !isTimed(f))), concurrency: 3, batches: 9 },
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
const batchDir = mkdtempSync(join(tmpdir(), "vision-node-tests-"));
process.on("exit", () => rmSync(batchDir, { recursive: true, force: true }));
/**
 * Splits `list` into `n` entry modules of about equal expected time (each file, slowest first, to
 * the group with the least so far); returns their paths, the longest group first.
 */
function batch(list, n, name) {
  const groups = Array.from({ length: Math.min(n, list.length) }, () => ({ files: [], total: 0 }));
  for (const f of slowFirst(list)) {
    const g = groups.reduce((a, b) => (b.total < a.total ? b : a));
    g.files.push(f);
    g.total += seconds(f);
  }
  groups.sort((a, b) => b.total - a.total);
  return groups.map(({ files: group }, g) => {
    const entry = join(batchDir, `${name}-${g + 1}.test.mjs`);
    const suites = group.map((f) => `describe(${JSON.stringify(posix(f))}, async () => {\n  await import(${JSON.stringify(pathToFileURL(resolve(f)).href)});\n});`);
    writeFileSync(entry, [`import { describe } from "node:test";`, ...suites, ""].join("\n"));
    return entry;
  });
}

for (const [i, run] of runs.entries()) {
  const runStarted = Date.now();
  const targets = run.batches ? batch(run.files, run.batches, `run${i + 1}`) : run.files;
  // A test that hangs fails after 5 minutes with its name (a test may set a longer timeout itself),
  // instead of holding the whole run until CI kills it.
  const child = spawn(process.execPath, ["--import", "tsx", "--test", "--test-reporter=tap", "--test-timeout=300000", `--test-concurrency=${run.concurrency}`, ...targets], {
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
  const shape = run.batches ? `${run.files.length} files in ${targets.length} processes` : `${run.files.length} files`;
  process.stderr.write(`run-tests: run ${i + 1} of ${runs.length} (${shape}, ${run.concurrency} at a time) took ${secs(Date.now() - runStarted)} s, ${secs(Date.now() - started)} s in all\n`);
}
process.stdout.write(`1..${points}\n`);
for (const [key, value] of totals) process.stdout.write(`# ${key} ${key === "duration_ms" ? value.toFixed(3) : value}\n`);
process.exit(status);
