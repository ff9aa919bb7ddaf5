#!/usr/bin/env node
// Compiles src/ to lib/ (tsc -p tsconfig.build.json, incremental), then writes the build-time
// artifacts beside the compiled code: lib/producer/pow/sha256x4.wasm (the PoW kernel, assembled
// from the text sha256x4 generates) and lib/build-info.json ({"commit": "<40 hex>" | null}).
// lib/ mirrors src/: compiled files whose source is gone are removed.
//
// Usage: node scripts/build.mjs [--clean] [--no-check]
//   --clean     start from an empty lib/
//   --no-check  emit without type checking (tsc --noCheck), for test runs whose caller already
//               type-checked; a type error in a file being edited then does not stop the tests
// When nothing under src/ changed since the last build (same files, sizes and modification times)
// tsc is not run at all. Concurrent builds of one checkout wait for each other (a lock directory
// holding the builder's pid; a lock whose builder has gone is taken over).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, rmdirSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SRC = join(ROOT, "src");
const LIB = join(ROOT, "lib");
// Beside lib/, not in node_modules (a checkout may share node_modules with another by a symlink).
const CACHE = join(ROOT, ".build-cache");
const TSBUILDINFO = join(CACHE, "build.tsbuildinfo"); // must match tsconfig.build.json
const STAMP = join(CACHE, "build-stamp.json");
const LOCK = join(CACHE, "build.lock");
/** Files the build writes itself (not compiled from src/). */
const ARTIFACTS = new Set(["build-info.json", join("producer", "pow", "sha256x4.wasm")]);
const LOCK_STALE_MS = 5 * 60_000;

const args = process.argv.slice(2);
for (const a of args) if (a !== "--clean" && a !== "--no-check") fail(`unknown option ${a} (expected --clean, --no-check)`);
const clean = args.includes("--clean");
const check = !args.includes("--no-check");

function fail(message) {
  console.error(`build: ${message}`);
  process.exit(1);
}

/** A failure inside the lock: reported once the lock is released. */
class BuildError extends Error {}

function walk(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? walk(p) : [p];
  });
}

/** What the compiled output depends on: every file under src/ and the build's own configuration. */
function fingerprint() {
  const files = [...walk(SRC), join(ROOT, "tsconfig.json"), join(ROOT, "tsconfig.build.json"), fileURLToPath(import.meta.url)];
  return JSON.stringify(
    files.sort().map((f) => {
      const s = statSync(f);
      return [relative(ROOT, f), s.size, s.mtimeMs];
    }),
  );
}

// True when every .ts under src/ has its .js under lib/.
function outputsExist() {
  return walk(SRC).every((f) => !f.endsWith(".ts") || existsSync(join(LIB, relative(SRC, f)).slice(0, -3) + ".js"));
}

/** The last build's stamp: the fingerprint it compiled and whether it was type-checked. */
function readStamp() {
  try {
    return JSON.parse(readFileSync(STAMP, "utf8"));
  } catch {
    return undefined;
  }
}

/** Writes `data` to `file` unless it holds exactly that already; atomic (a temp file renamed). */
function writeIfChanged(file, data) {
  const bytes = typeof data === "string" ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (existsSync(file) && readFileSync(file).equals(bytes)) return;
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, file);
}

function sleep(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** True when the build that took the lock (its pid in the lock directory) has gone. */
function lockAbandoned() {
  try {
    const pid = Number(readFileSync(join(LOCK, "pid"), "utf8"));
    if (pid > 0) process.kill(pid, 0);
    return Date.now() - statSync(LOCK).mtimeMs > LOCK_STALE_MS;
  } catch (e) {
    // ESRCH: no such process. ENOENT: released meanwhile, or taken and its pid not written yet.
    if (e.code === "ESRCH") return true;
    return e.code === "ENOENT" && existsSync(LOCK) && Date.now() - statSync(LOCK).mtimeMs > 10_000;
  }
}

function lock() {
  mkdirSync(CACHE, { recursive: true });
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(join(LOCK, "pid"), String(process.pid));
      return;
    } catch (e) {
      if (e.code !== "EEXIST") throw e;
      try {
        if (lockAbandoned()) rmSync(LOCK, { recursive: true, force: true });
      } catch {
        /* released meanwhile */
      }
      sleep(200);
    }
  }
}

function unlock() {
  rmSync(LOCK, { recursive: true, force: true });
}

/** Removes compiled files whose source is gone, and directories left empty. */
function prune(dir = LIB) {
  for (const e of existsSync(dir) ? readdirSync(dir, { withFileTypes: true }) : []) {
    const p = join(dir, e.name);
    const rel = relative(LIB, p);
    if (e.isDirectory()) {
      prune(p);
      if (readdirSync(p).length === 0) rmdirSync(p);
    } else if (!ARTIFACTS.has(rel) && !(rel.endsWith(".js") && existsSync(join(SRC, rel.slice(0, -3) + ".ts")))) {
      rmSync(p);
    }
  }
}

function gitCommit() {
  if (!existsSync(join(ROOT, ".git"))) return null;
  const r = spawnSync("git", ["rev-parse", "HEAD"], { cwd: ROOT, encoding: "utf8" });
  const out = (r.stdout ?? "").trim();
  return r.status === 0 && /^[0-9a-f]{40}$/.test(out) ? out : null;
}

const t0 = performance.now();
lock();
try {
  if (clean) {
    rmSync(LIB, { recursive: true, force: true });
    rmSync(STAMP, { force: true });
  }
  const files = fingerprint();
  const stamp = readStamp();
  const wasmFile = join(LIB, "producer", "pow", "sha256x4.wasm");
  const complete = outputsExist() && existsSync(wasmFile);
  const fresh = stamp?.files === files && (stamp.checked || !check) && complete;
  if (!fresh) {
    // With outputs missing the incremental state would claim files that do not exist: start over.
    if (!complete) rmSync(TSBUILDINFO, { force: true });
    rmSync(STAMP, { force: true });
    const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
    const r = spawnSync(process.execPath, [tsc, "-p", join(ROOT, "tsconfig.build.json"), ...(check ? [] : ["--noCheck"])], { cwd: ROOT, stdio: "inherit" });
    if (r.status !== 0) throw new BuildError(`tsc failed (exit ${r.status ?? r.signal}); lib/ may be incomplete`);
    prune();
    const { assembleKernel } = await import(pathToFileURL(join(LIB, "producer", "pow", "sha256x4.js")).href);
    writeIfChanged(wasmFile, await assembleKernel());
  }
  mkdirSync(LIB, { recursive: true });
  writeIfChanged(join(LIB, "build-info.json"), JSON.stringify({ commit: gitCommit() }) + "\n");
  if (!fresh) writeFileSync(STAMP, JSON.stringify({ files, checked: check }));
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  console.error(fresh ? `build: lib/ is up to date (${secs} s)` : `build: compiled src/ to lib/ in ${secs} s${check ? "" : " (not type-checked)"}`);
} catch (e) {
  unlock();
  fail(e instanceof BuildError ? e.message : e.stack);
}
unlock();
