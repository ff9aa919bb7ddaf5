/**
 * Resident memory and start-up time of a node (`npm run bench -- --only memory`).
 *
 * - Start to API listening: `vision-node start` on a fresh one-node testnet dir, from spawn to the
 *   "Node started" log line (the API is listening by then); median of 3, with the RSS at that moment.
 * - Idle: `vision-node testnet --nodes 3` (three producing nodes, no transfers) for `--memory-idle-minutes`;
 *   the RSS of each node at the end.
 * - Under load: `vision-node drill soak --tps 10` for `--memory-soak-minutes`; each node's peak RSS.
 *
 * Each figure is printed against its goal. With `--memory-base DIR` the same runs are made with the
 * `bin/vision-node` of another checkout (say, the code before a change) and printed beside.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { fmt, median } from "./stats.ts";
import { goalLine } from "./api.ts";

/** Goals in MiB: the largest node's RSS idle, and its peak under 10 transfers/s. */
export const MEMORY_GOALS = { idleMiB: 90, soakMiB: 120 };

const HERE = fileURLToPath(new URL("..", import.meta.url));

/** What one checkout measured. */
interface Figures {
  startMs: number[];
  startRssMiB: number[];
  idleLastMiB: number[];
  soakMaxMiB: number[];
  soakOk: boolean;
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Spawn to "Node started" of a fresh node, in ms, and its RSS then (MiB). */
async function startOnce(root: string): Promise<{ ms: number; rss: number }> {
  const bin = join(root, "bin", "vision-node");
  const dir = mkdtempSync(join(tmpdir(), "vision-bench-start-"));
  try {
    const init = spawnSync(process.execPath, [bin, "testnet", "init", "--nodes", "1", "--dir", dir], { encoding: "utf8" });
    if (init.status !== 0) throw new Error(`testnet init failed: ${init.stderr}`);
    const args = [bin, "start", "--data-dir", join(dir, "node-1"), "--chain", join(dir, "chain.json"), "--api-port", "0", "--p2p-port", "0", "--p2p-host", "127.0.0.1", "--log-level", "info"];
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    try {
      const ms = await new Promise<number>((res, rej) => {
        createInterface({ input: child.stdout! }).on("line", (line) => {
          if (line.includes('"Node started"')) res(performance.now() - t0);
        });
        child.once("exit", (code) => rej(new Error(`node exited with ${code} before starting`)));
      });
      return { ms, rss: rssMiB(child.pid!) };
    } finally {
      child.kill("SIGTERM");
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once("exit", r)));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs `testnet --nodes 3` of `root` for `minutes` and returns each node's RSS at the end (MiB). */
async function idle(root: string, minutes: number): Promise<number[]> {
  const dir = mkdtempSync(join(tmpdir(), "vision-bench-idle-"));
  const base = 20_000 + 10 * Math.floor(Math.random() * 3000);
  const args = [join(root, "bin", "vision-node"), "testnet", "--nodes", "3", "--dir", dir, "--base-p2p-port", String(base), "--base-api-port", String(base + 5)];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "inherit"] });
  try {
    await new Promise((r) => setTimeout(r, minutes * 60_000));
    if (child.exitCode !== null) throw new Error(`testnet exited with ${child.exitCode}`);
    const kids = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, "utf8").trim().split(/\s+/).map(Number);
    if (kids.length !== 3) throw new Error(`testnet runs ${kids.length} processes, not 3`);
    return kids.map(rssMiB);
  } finally {
    child.kill("SIGINT");
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once("exit", r)));
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs `drill soak --json` of `root` and returns its report. */
async function soak(root: string, minutes: number, tps: number): Promise<{ ok: boolean; rss_last_mib: number[]; rss_max_mib: number[]; problems: string[] }> {
  const child = spawn(process.execPath, [join(root, "bin", "vision-node"), "drill", "soak", "--json", "--minutes", String(minutes), "--tps", String(tps)], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  await new Promise((r) => child.once("exit", r));
  const start = out.indexOf("{");
  if (start === -1) throw new Error(`drill soak printed no report: ${out.slice(0, 500)}`);
  return JSON.parse(out.slice(start));
}

async function measure(root: string, idleMinutes: number, soakMinutes: number): Promise<Figures> {
  const starts: { ms: number; rss: number }[] = [];
  for (let i = 0; i < 3; i++) starts.push(await startOnce(root));
  const idleMiB = await idle(root, idleMinutes);
  const loaded = await soak(root, soakMinutes, 10);
  return {
    startMs: starts.map((s) => s.ms),
    startRssMiB: starts.map((s) => s.rss),
    idleLastMiB: idleMiB,
    soakMaxMiB: loaded.rss_max_mib,
    soakOk: loaded.ok,
  };
}

function print(name: string, f: Figures): void {
  const mib = (xs: number[]) => xs.map((x) => fmt(x, 0)).join("/");
  console.log(`${name.padEnd(10)} start to API listening: median ${fmt(median(f.startMs), 0)} ms (runs ${f.startMs.map((x) => fmt(x, 0)).join(", ")}), RSS then ${fmt(median(f.startRssMiB), 0)} MiB`);
  console.log(`${name.padEnd(10)} idle RSS (per node) ${mib(f.idleLastMiB)} MiB; under 10 transfers/s, peak per node ${mib(f.soakMaxMiB)} MiB; soak ${f.soakOk ? "OK" : "reported problems"}`);
}

/** The memory benchmark: this checkout, and `base` (another checkout) when given. */
export async function benchMemory(opts: { idleMinutes: number; soakMinutes: number; base?: string }): Promise<void> {
  console.log(`\n## Memory and start-up (3-node testnet; idle ${opts.idleMinutes} min, then ${opts.soakMinutes} min at 10 transfers/s)`);
  const base = opts.base ? resolve(opts.base) : undefined;
  const head = await measure(HERE, opts.idleMinutes, opts.soakMinutes);
  const before = base ? await measure(base, opts.idleMinutes, opts.soakMinutes) : undefined;
  if (before) print("base", before);
  print("this", head);
  const idle = Math.max(...head.idleLastMiB);
  const peak = Math.max(...head.soakMaxMiB);
  console.log(goalLine("idle RSS, largest node", idle, MEMORY_GOALS.idleMiB, "lower", " MiB", 0));
  console.log(goalLine("RSS under 10 transfers/s, largest node's peak", peak, MEMORY_GOALS.soakMiB, "lower", " MiB", 0));
  if (before) {
    console.log(
      `against base: start ${fmt(median(head.startMs) / median(before.startMs), 2)}x, idle RSS ${fmt(idle / Math.max(...before.idleLastMiB), 2)}x, ` +
        `peak RSS under load ${fmt(peak / Math.max(...before.soakMaxMiB), 2)}x`,
    );
  }
}
