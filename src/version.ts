/**
 * What this build of vision-node is: the package version, the git commit it was built from, and
 * the `agent` string sent in the P2P hello (docs/protocol.md §9). Read once, on first use.
 *
 * The commit comes from `build-info.json` beside this file when it runs compiled (`npm run build`
 * writes `lib/build-info.json`), else from `git rev-parse HEAD` when the package root is a git
 * checkout (running from sources), else it is unknown (null).
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";

/**
 * The protocol version this build speaks (docs/protocol.md): the hello's `version` and the block
 * header's. 3 since finality; 2 added the bonded validators (never released); 1 was vision-node 0.2.x.
 */
export const PROTOCOL_VERSION = 3;

/** The releases that spoke each older protocol version, for messages to operators. */
export const PROTOCOL_RELEASES: Readonly<Record<number, string>> = { 1: "vision-node 0.2.x" };

/** Longest `agent` string a hello may carry (docs/protocol.md §9). */
export const AGENT_MAX_CHARS = 128;

/** Printable ASCII only (0x20..0x7e): what an `agent` may contain. */
export const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;

/** This build, as shown by `--version`, the start log, `/api/status` and the metrics. */
export interface BuildInfo {
  /** package.json `version`, e.g. "0.1.0" */
  version: string;
  /** 40 lowercase hex chars, or null when unknown */
  commit: string | null;
  /** Node.js version without the "v", e.g. "20.20.2" */
  nodeVersion: string;
  /** the P2P hello `agent`, e.g. `vision-node/v0.1.0-5f570e3a/linux-x64/node-20.20.2` */
  agent: string;
}

/** Where to read the build from: the package root (holds package.json) and the build-info file. */
export interface BuildInfoPaths {
  packageRoot: string;
  buildInfoFile: string;
}

/** A package.json or build-info.json that cannot be read or is malformed. */
export class BuildInfoError extends Error {
  override name = "BuildInfoError";
}

const packageSchema = z.object({ version: z.string().regex(/^[0-9A-Za-z.+-]{1,64}$/, "expected a semver version") });
const buildInfoSchema = z.object({ commit: z.string().regex(/^[0-9a-f]{40}$/, "expected 40 lowercase hex chars").nullable() });

/** This file's package: one level above `src/` (sources) or `lib/` (compiled). */
const DEFAULT_PATHS: BuildInfoPaths = {
  packageRoot: fileURLToPath(new URL("..", import.meta.url)),
  buildInfoFile: fileURLToPath(new URL("./build-info.json", import.meta.url)),
};

/**
 * The `agent` string: `vision-node/v<version>[-<first 8 hex of the commit>]/<platform>-<arch>/node-<node version>`.
 * Anything outside printable ASCII is replaced by "_" and the result cut to {@link AGENT_MAX_CHARS}.
 */
export function formatAgent(version: string, commit: string | null, platform: string = process.platform, arch: string = process.arch, nodeVersion: string = process.versions.node): string {
  const raw = `vision-node/v${version}${commit ? `-${commit.slice(0, 8)}` : ""}/${platform}-${arch}/node-${nodeVersion}`;
  return raw.replace(/[^\x20-\x7e]/g, "_").slice(0, AGENT_MAX_CHARS);
}

/**
 * Reads the build from `paths` (no caching; {@link buildInfo} caches the default).
 * @throws BuildInfoError when package.json is missing or malformed, or build-info.json is malformed
 */
export function loadBuildInfo(paths: BuildInfoPaths): BuildInfo {
  const version = parseFile(join(paths.packageRoot, "package.json"), packageSchema).version;
  const commit = existsSync(paths.buildInfoFile) ? parseFile(paths.buildInfoFile, buildInfoSchema).commit : gitCommit(paths.packageRoot);
  const nodeVersion = process.versions.node;
  return { version, commit, nodeVersion, agent: formatAgent(version, commit) };
}

let cached: BuildInfo | undefined;

/** This build (package version, commit, Node version, agent), read once. @throws BuildInfoError */
export function buildInfo(): BuildInfo {
  cached ??= loadBuildInfo(DEFAULT_PATHS);
  return cached;
}

/** The `--version` line: `vision-node 0.1.0 (commit 5f570e3a, node v20.20.2)`. */
export function versionLine(info: BuildInfo = buildInfo()): string {
  return `vision-node ${info.version} (${info.commit ? `commit ${info.commit.slice(0, 8)}, ` : ""}node v${info.nodeVersion})`;
}

function parseFile<T>(path: string, schema: z.ZodType<T>): T {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new BuildInfoError(`cannot read ${path}: ${(e as Error).message}`);
  }
  const r = schema.safeParse(raw);
  if (!r.success) throw new BuildInfoError(`${path}: ${r.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ")}`);
  return r.data;
}

// Only a checkout has a commit to report; an installed package without build-info has none.
function gitCommit(root: string): string | null {
  if (!existsSync(join(root, ".git"))) return null;
  try {
    const out = execFileSync("git", ["rev-parse", "HEAD"], { cwd: root, encoding: "utf8", timeout: 5000, stdio: ["ignore", "pipe", "ignore"] }).trim();
    return /^[0-9a-f]{40}$/.test(out) ? out : null;
  } catch {
    return null; // git not installed, or not a repository after all
  }
}
