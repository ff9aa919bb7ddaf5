// The build's version, commit and agent string (src/version.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { AGENT_MAX_CHARS, BuildInfoError, buildInfo, formatAgent, loadBuildInfo, versionLine } from "../../../src/version.ts";
import { tempDir } from "../../helpers/fixtures.ts";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const AGENT_FORMAT = /^vision-node\/v[0-9A-Za-z.+-]+(-[0-9a-f]{8})?\/[a-z0-9]+-[a-z0-9]+\/node-[0-9]+\.[0-9]+\.[0-9]+$/;

test("from sources: package.json's version, the checkout's commit, an agent in the documented format", () => {
  const rev = () => execFileSync("git", ["rev-parse", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
  const before = rev();
  const info = buildInfo();
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
  assert.equal(info.version, pkg.version);
  const head = info.commit === before ? before : rev(); // a commit may land while the test runs
  assert.equal(info.commit, head);
  assert.equal(info.nodeVersion, process.versions.node);
  assert.match(info.agent, AGENT_FORMAT);
  assert.equal(info.agent, `vision-node/v${pkg.version}-${head.slice(0, 8)}/${process.platform}-${process.arch}/node-${process.versions.node}`);
  assert.equal(versionLine(info), `vision-node ${pkg.version} (commit ${head.slice(0, 8)}, node v${process.versions.node})`);
});

test("formatAgent and versionLine, with and without a commit; hostile inputs stay printable and short", () => {
  const c = "5f570e3a".padEnd(40, "0");
  const cases: [string, string | null, string, string, string, string][] = [
    ["0.1.0", c, "linux", "x64", "20.20.2", "vision-node/v0.1.0-5f570e3a/linux-x64/node-20.20.2"],
    ["0.1.0", null, "linux", "x64", "20.20.2", "vision-node/v0.1.0/linux-x64/node-20.20.2"],
    ["1.2.3-rc.1", null, "darwin", "arm64", "24.1.0", "vision-node/v1.2.3-rc.1/darwin-arm64/node-24.1.0"],
    ["0.1.0\n", null, "lin\u00e9ux", "x64", "20.0.0", "vision-node/v0.1.0_/lin_ux-x64/node-20.0.0"],
  ];
  for (const [v, commit, platform, arch, node, want] of cases) assert.equal(formatAgent(v, commit, platform, arch, node), want);
  assert.equal(formatAgent("9".repeat(300), null).length, AGENT_MAX_CHARS);
  assert.equal(versionLine({ version: "0.1.0", commit: null, nodeVersion: "20.20.2", agent: "" }), "vision-node 0.1.0 (node v20.20.2)");
  assert.equal(versionLine({ version: "0.1.0", commit: c, nodeVersion: "20.20.2", agent: "" }), "vision-node 0.1.0 (commit 5f570e3a, node v20.20.2)");
});

test("compiled: the commit comes from build-info.json; without it and without .git it is null; malformed files are errors", () => {
  const t = tempDir();
  try {
    const paths = { packageRoot: t.dir, buildInfoFile: join(t.dir, "lib", "build-info.json") };
    assert.throws(() => loadBuildInfo(paths), (e) => e instanceof BuildInfoError && /package\.json/.test(e.message));
    writeFileSync(join(t.dir, "package.json"), JSON.stringify({ name: "vision-node", version: "3.4.5" }));
    assert.deepEqual([loadBuildInfo(paths).version, loadBuildInfo(paths).commit], ["3.4.5", null]);
    mkdirSync(join(t.dir, "lib"));
    const commit = "ab".repeat(20);
    writeFileSync(paths.buildInfoFile, JSON.stringify({ commit }));
    const info = loadBuildInfo(paths);
    assert.equal(info.commit, commit);
    assert.match(info.agent, /^vision-node\/v3\.4\.5-abababab\//);
    writeFileSync(paths.buildInfoFile, JSON.stringify({ commit: null }));
    assert.equal(loadBuildInfo(paths).commit, null);
    writeFileSync(paths.buildInfoFile, JSON.stringify({ commit: "not-hex" }));
    assert.throws(() => loadBuildInfo(paths), (e) => e instanceof BuildInfoError && /commit: expected 40 lowercase hex chars/.test(e.message));
    writeFileSync(paths.buildInfoFile, "{");
    assert.throws(() => loadBuildInfo(paths), BuildInfoError);
    writeFileSync(join(t.dir, "package.json"), JSON.stringify({ version: "1.0.0\u0007" }));
    writeFileSync(paths.buildInfoFile, JSON.stringify({ commit: null }));
    assert.throws(() => loadBuildInfo(paths), (e) => e instanceof BuildInfoError && /version/.test(e.message));
  } finally {
    t.cleanup();
  }
});
