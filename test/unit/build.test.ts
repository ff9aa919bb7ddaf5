// The compiled package in lib/ (scripts/build.mjs, run by scripts/run-tests.mjs before the tests):
// it mirrors src/, carries the build-time PoW artifacts and build info, and bin/vision-node refuses
// an unsupported Node.js with one line before loading anything else.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import semver from "semver";
import { assembleKernel, KERNEL_WASM_FILE } from "../../src/producer/pow/sha256x4.ts";
import { meetsDifficulty, powHash } from "../../src/consensus/hashing.ts";
import { tempDir } from "../helpers/fixtures.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const LIB = join(ROOT, "lib");
const BIN = join(ROOT, "bin", "vision-node");
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  engines: { node: string };
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const nodeCheck = createRequire(import.meta.url)(join(ROOT, "bin", "check-node.cjs")) as {
  RANGE: string;
  supported(v: string): boolean;
  refusal(v: string): string;
};

function walk(dir: string, ext: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name), ext).map((p) => join(e.name, p)) : e.name.endsWith(ext) ? [e.name] : [],
  );
}

test("lib/ mirrors src/: one .js per .ts, nothing else compiled", () => {
  const sources = walk(join(ROOT, "src"), ".ts").map((f) => f.slice(0, -3)).sort();
  const compiled = walk(LIB, ".js").map((f) => f.slice(0, -3)).sort();
  assert.deepEqual(compiled, sources);
  // Relative imports point at the compiled .js files, never at .ts.
  const index = readFileSync(join(LIB, "cli", "index.js"), "utf8");
  assert.doesNotMatch(index, /from "\.{1,2}\/[^"]*\.ts"/);
});

test("the built kernel WebAssembly is the one generated from the sources", async () => {
  const built = readFileSync(join(LIB, "producer", "pow", KERNEL_WASM_FILE));
  assert.ok(Buffer.from(await assembleKernel()).equals(built));
});

test("the compiled miner pool runs the built worker.js and kernel, and finds a valid nonce", async () => {
  const { MinerPool } = (await import(pathToFileURL(join(LIB, "producer", "pow", "minerPool.js")).href)) as typeof import("../../src/producer/pow/minerPool.ts");
  const pool = new MinerPool({ workers: 2 });
  try {
    const seal = new Uint8Array(32).fill(7);
    const r = await pool.mine(seal, 3);
    assert.equal(r.status, "found");
    if (r.status === "found") assert.ok(meetsDifficulty(powHash(seal, r.nonce), 3));
  } finally {
    await pool.stop();
  }
});

test("lib/build-info.json names the commit the build came from", () => {
  const info = JSON.parse(readFileSync(join(LIB, "build-info.json"), "utf8")) as { commit: string | null };
  assert.deepEqual(Object.keys(info), ["commit"]);
  if (existsSync(join(ROOT, ".git"))) {
    // HEAD when built, or an ancestor when a commit landed between the build and this test.
    assert.match(info.commit ?? "", /^[0-9a-f]{40}$/);
    const r = spawnSync("git", ["merge-base", "--is-ancestor", info.commit!, "HEAD"], { cwd: ROOT });
    assert.equal(r.status, 0, `${info.commit} is HEAD or one of its ancestors`);
  } else {
    assert.equal(info.commit, null);
  }
});

test("the supported Node.js range is package.json engines and follows the dependencies' floors", () => {
  assert.equal(nodeCheck.RANGE, pkg.engines.node);
  const table: [string, boolean][] = [
    ["v12.22.12", false], ["16.20.2", false], ["18.20.4", false], ["20.0.0", false], ["20.18.3", false],
    ["20.19.0", true], ["v20.20.2", true], ["21.7.3", false], ["22.0.0", true], ["22.12.0", true], ["24.11.1", true], ["25.1.0", true],
    ["", false], ["garbage", false],
  ];
  for (const [v, ok] of table) assert.equal(nodeCheck.supported(v), ok, v);
  assert.ok(nodeCheck.supported(process.versions.node), "the Node.js running the tests is supported");
});

test("every run-time dependency in package-lock.json accepts every Node.js that engines allows", () => {
  const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as {
    packages: Record<string, { dev?: boolean; engines?: { node?: string } | string[] }>;
  };
  const narrower: string[] = [];
  let floor = "0.0.0";
  for (const [path, p] of Object.entries(lock.packages)) {
    const range = Array.isArray(p.engines) ? undefined : p.engines?.node;
    if (path === "" || p.dev || !range || !semver.validRange(range)) continue;
    if (!semver.subset(pkg.engines.node, range)) narrower.push(`${path}: ${range}`);
    const min = semver.minVersion(range)?.version;
    if (min && semver.gt(min, floor)) floor = min;
  }
  assert.deepEqual(narrower, [], "dependencies that need more than package.json engines says");
  assert.equal(semver.minVersion(pkg.engines.node)?.version, floor, "the floor is the highest floor of a dependency, no higher");
});

test("bin/vision-node on an unsupported Node.js: one line on stderr, exit 1, the CLI never runs", () => {
  const t = tempDir("vision-old-node-");
  try {
    // Makes this Node.js report 18.20.4 (had the CLI run, --version would print on stdout).
    const preload = join(t.dir, "old.cjs");
    writeFileSync(preload, `Object.defineProperty(process, "versions", { value: { ...process.versions, node: "18.20.4" } });`);
    const r = spawnSync(process.execPath, ["--require", preload, BIN, "--version"], { encoding: "utf8" });
    assert.equal(r.status, 1);
    assert.equal(r.stdout, "");
    assert.equal(r.stderr, nodeCheck.refusal("18.20.4") + "\n");
    assert.match(r.stderr, /^vision-node: Node\.js v18\.20\.4 is not supported; use Node\.js \^20\.19\.0 \|\| >=22/);
  } finally {
    t.cleanup();
  }
});

test("bin/vision-node: a one-line error without lib/, a warning when src/ changed after the build, else it runs lib/", () => {
  const t = tempDir("vision-bin-");
  try {
    // A checkout in miniature: the real bin/ files, a stub lib/cli/index.js, one source file.
    mkdirSync(join(t.dir, "bin"));
    for (const f of ["vision-node", "check-node.cjs", "package.json"]) copyFileSync(join(ROOT, "bin", f), join(t.dir, "bin", f));
    writeFileSync(join(t.dir, "package.json"), JSON.stringify({ type: "module" }));
    mkdirSync(join(t.dir, "src"));
    writeFileSync(join(t.dir, "src", "a.ts"), "export {};\n");
    const run = () => spawnSync(process.execPath, [join(t.dir, "bin", "vision-node")], { encoding: "utf8" });

    const missing = run();
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /^vision-node: \S+lib\/cli\/index\.js is missing; run `npm run build` in \S+ first\n$/);

    mkdirSync(join(t.dir, "lib", "cli"), { recursive: true });
    writeFileSync(join(t.dir, "lib", "cli", "index.js"), `console.log("ran lib");\n`);
    mkdirSync(join(t.dir, ".build-cache"));
    const stamp = join(t.dir, ".build-cache", "build-stamp.json");
    writeFileSync(stamp, "{}");
    const past = new Date(Date.now() - 60_000);
    utimesSync(stamp, past, past);
    const stale = run();
    assert.equal(stale.status, 0);
    assert.equal(stale.stdout, "ran lib\n");
    assert.match(stale.stderr, /^vision-node: warning: \S+src\/a\.ts changed after the last build; lib\/ may be stale \(npm run build\)\n$/);

    utimesSync(stamp, new Date(), new Date());
    const fresh = run();
    assert.equal(fresh.stdout, "ran lib\n");
    assert.equal(fresh.stderr, "");
  } finally {
    t.cleanup();
  }
});

test("run-time dependencies leave out build and test tooling", () => {
  for (const dev of ["tsx", "esbuild", "wabt", "typescript"]) {
    assert.equal(pkg.dependencies[dev], undefined, `${dev} is not a run-time dependency`);
    assert.ok(pkg.devDependencies[dev], `${dev} is a dev dependency`);
  }
});
