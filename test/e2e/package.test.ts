// The release as an operator gets it: `npm pack` the project, install the tarball into an empty
// folder, and run the installed `vision-node --version`, a short 2-node `vision-node testnet`, and
// `vision-node start` on the shipped chain spec.
// The installed folder must hold no sources, no TypeScript and no build/test tooling.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import { tempDir } from "../helpers/fixtures.ts";
import { freePortRange } from "../../src/drill/ports.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
/** Build and test tooling that must not reach an installed node. */
const DEV_ONLY = ["tsx", "esbuild", "@esbuild", "wabt", "typescript", "fast-check", "autocannon", "playwright-core"];
// `#!/usr/bin/env node` in the installed bin finds the Node.js running this test first.
const ENV = { ...process.env, PATH: dirname(process.execPath) + delimiter + (process.env.PATH ?? "") };

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)).map((p) => join(e.name, p)) : [e.name]));
}

function run(cmd: string, args: string[], cwd: string, timeoutMs: number): string {
  const r = spawnSync(cmd, args, { cwd, env: ENV, encoding: "utf8", timeout: timeoutMs });
  assert.equal(r.status, 0, `${cmd} ${args.join(" ")} failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

function killQuietly(pid: number | undefined, signal: NodeJS.Signals = "SIGKILL"): void {
  try {
    if (pid) process.kill(pid, signal);
  } catch {
    /* already gone */
  }
}

test("npm pack, install the tarball into an empty folder, run --version and a 2-node testnet from it", { timeout: 420_000 }, async () => {
  const t = tempDir("vision-package-");
  let testnet: ChildProcess | undefined;
  let single: ChildProcess | undefined;
  const nodePids: number[] = [];
  try {
    // Pack and look at what the tarball holds. scripts/run-tests.mjs built lib/ just before, and
    // npm test type-checked first, so the prepack build (the same build, type-checked) is skipped.
    const packDir = join(t.dir, "pack");
    mkdirSync(packDir);
    const packed = JSON.parse(run("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", packDir], ROOT, 120_000)) as {
      filename: string;
      files: { path: string }[];
    }[];
    const files = packed[0]!.files.map((f) => f.path);
    for (const f of ["bin/vision-node", "bin/check-node.cjs", "lib/cli/index.js", "lib/producer/pow/worker.js", "lib/producer/pow/sha256x4.wasm", "lib/build-info.json", "chains/testnet.json", "api/openapi.yaml", "dashboards/live/index.html", "package.json"]) {
      assert.ok(files.includes(f), `the tarball holds ${f}`);
    }
    assert.deepEqual(files.filter((f) => f.startsWith("src/") || f.startsWith("test/") || f.endsWith(".ts")), [], "no sources or tests in the tarball");

    // Install it into an empty folder, as an operator would.
    const app = join(t.dir, "app");
    mkdirSync(app);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "vision-node-install-check", private: true }));
    run("npm", ["install", "--no-audit", "--no-fund", "--loglevel", "error", join(packDir, packed[0]!.filename)], app, 240_000);
    const modules = join(app, "node_modules");
    for (const dep of DEV_ONLY) assert.ok(!existsSync(join(modules, dep)), `${dep} is not installed`);
    const installed = walk(join(modules, "vision-node"));
    assert.ok(!existsSync(join(modules, "vision-node", "src")), "no src/ in the installed package");
    assert.deepEqual(installed.filter((f) => f.endsWith(".ts")), [], "no .ts files in the installed package");

    const bin = join(modules, ".bin", "vision-node");
    const version = run(bin, ["--version"], app, 30_000);
    assert.match(version, new RegExp(`^vision-node ${VERSION.replace(/\./g, "\\.")} \\(`), "the package version");

    // A short testnet from the installed package: at least 2 heights that both nodes agree on.
    const p2p = await freePortRange(2);
    const api = await freePortRange(2);
    testnet = spawn(bin, ["testnet", "--nodes", "2", "--dir", join(t.dir, "net"), "--block-time-ms", "500", "--base-p2p-port", String(p2p), "--base-api-port", String(api), "--mining-workers", "1"], {
      cwd: app,
      env: ENV,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const lines: string[] = [];
    let stderr = "";
    testnet.stderr!.on("data", (d) => (stderr += d));
    const child = testnet;
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on("line", (l) => {
        lines.push(l);
        const pid = /^started \S+ \(pid (\d+)\)/.exec(l)?.[1];
        if (pid) nodePids.push(Number(pid));
        if (lines.filter((x) => /all 2 nodes agree/.test(x)).length >= 2) resolve();
      });
      child.once("exit", (code) => reject(new Error(`testnet exited early (${code}):\n${lines.join("\n")}\n${stderr}`)));
      setTimeout(() => reject(new Error(`no 2 agreeing heights in 90 s:\n${lines.join("\n")}\n${stderr}`)), 90_000).unref();
    });
    assert.equal(nodePids.length, 2, "two nodes started");
    // The installed node finds its shipped files: the OpenAPI document and the live dashboard.
    const docs = await fetch(`http://127.0.0.1:${api}/api/openapi.json`);
    assert.equal(docs.status, 200);
    assert.equal(((await docs.json()) as { openapi?: string }).openapi?.startsWith("3"), true);
    assert.equal((await fetch(`http://127.0.0.1:${api}/dashboard`)).status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${api}/api/docs/assets/swagger-ui.css`)).status, 200);

    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    child.kill("SIGINT");
    assert.equal(await exited, 0, "testnet stops cleanly");

    // `start` without --chain runs the shipped testnet spec.
    const port = await freePortRange(1);
    single = spawn(bin, ["start", "--data-dir", join(t.dir, "single"), "--api-port", String(port), "--p2p-port", "0", "--p2p-host", "127.0.0.1", "--log-format", "json"], {
      cwd: app,
      env: ENV,
      stdio: "ignore",
    });
    const shipped = JSON.parse(readFileSync(join(modules, "vision-node", "chains", "testnet.json"), "utf8")) as { chain_id: string };
    let status: { chain_id?: string; version?: string } | undefined;
    for (let i = 0; i < 300 && !status; i++) {
      status = await fetch(`http://127.0.0.1:${port}/api/status`).then((r) => r.json() as Promise<typeof status>, () => undefined);
      if (!status) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(status?.chain_id, shipped.chain_id);
    assert.equal(status?.version, VERSION);
  } finally {
    killQuietly(testnet?.pid);
    killQuietly(single?.pid);
    for (const pid of nodePids) killQuietly(pid);
    t.cleanup();
  }
});
