#!/usr/bin/env node
// Runs every test/**/*.test.ts with Node's built-in runner and tsx (Node 20 has no --test globs),
// after building lib/ (scripts/build.mjs; quick when src/ did not change).
// Usage: node scripts/run-tests.mjs [unit|e2e|path-fragment ...]
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
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
const r = spawnSync(process.execPath, ["--import", "tsx", "--test", "--test-concurrency=1", ...files], { stdio: "inherit" });
process.exit(r.status ?? 1);
