// Spawns real `bin/vision-node` processes and reads their JSON log lines.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeKeyFile } from "../../src/node/keyfile.ts";
import { blsSecretKeyFromIkm } from "../../src/consensus/bls.ts";
import type { ChainSpec } from "../../src/chain/spec.ts";

export const BIN = fileURLToPath(new URL("../../bin/vision-node", import.meta.url));

export interface NodeProc {
  child: ChildProcess;
  logs: Record<string, unknown>[];
  p2pPort: number;
  apiPort: number;
  api: string;
  ebid: string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Runs `vision-node start` with ports 0 and resolves once it logs "Node started". */
export async function startNode(args: { dataDir: string; chain: string; peers?: string[]; extra?: string[]; env?: Record<string, string> }): Promise<NodeProc> {
  const argv = [BIN, "start", "--data-dir", args.dataDir, "--chain", args.chain, "--p2p-port", "0", "--api-port", "0", "--p2p-host", "127.0.0.1", "--log-level", "debug", ...(args.extra ?? [])];
  if (args.peers?.length) argv.push("--peers", args.peers.join(","));
  const child = spawn(process.execPath, argv, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...args.env } });
  const logs: Record<string, unknown>[] = [];
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  const started = new Promise<Record<string, unknown>>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on("line", (line) => {
      try {
        const o = JSON.parse(line) as Record<string, unknown>;
        logs.push(o);
        if (o.msg === "Node started") resolve(o);
      } catch {
        /* not JSON */
      }
    });
    child.once("exit", (code) => reject(new Error(`node exited with ${code} before starting: ${stderr}`)));
    setTimeout(() => reject(new Error(`node did not start in 30 s: ${stderr}`)), 30_000).unref();
  });
  const s = await started;
  const apiPort = Number(new URL(s.api as string).port);
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  return {
    child,
    logs,
    p2pPort: s.p2p_port as number,
    apiPort,
    api: `http://127.0.0.1:${apiPort}`,
    ebid: s.ebid as string,
    async stop(signal: NodeJS.Signals = "SIGTERM") {
      if (child.exitCode !== null) return child.exitCode;
      child.kill(signal);
      const t = setTimeout(() => child.kill("SIGKILL"), 10_000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}

/** Runs the CLI to completion (`env` is added to this process's environment). */
export function runCli(args: string[], timeoutMs = 60_000, env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", timeout: timeoutMs, env: { ...process.env, ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Runs the CLI once per argument list, all at once, without blocking the event loop: each result
 * as `runCli` gives it, in the order of `cases`. For the tests that try many bad flags, each a
 * process of its own (sequentially they spent most of their time waiting on process start-up).
 */
export function runClis(cases: string[][], timeoutMs = 60_000): Promise<{ status: number | null; stdout: string; stderr: string }[]> {
  return Promise.all(
    cases.map(
      (args) =>
        new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve, reject) => {
          const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"], timeout: timeoutMs });
          let stdout = "";
          let stderr = "";
          child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
          child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
          child.on("error", reject);
          child.on("close", (status) => resolve({ status, stdout, stderr }));
        }),
    ),
  );
}

/**
 * GET `url` as JSON. A request that fails before any response ("fetch failed") is sent once more:
 * a test that blocked its event loop (spawnSync of the CLI) can find its kept-alive socket closed by
 * the server's keep-alive timeout meanwhile; a node that is really down fails the second one too.
 * @throws on a non-2xx status or a second network failure
 */
export async function getJson<T = any>(url: string): Promise<T> {
  const r = await fetch(url).catch((err: unknown) => {
    if (!(err instanceof TypeError)) throw err;
    return new Promise((ok) => setTimeout(ok, 100)).then(() => fetch(url));
  });
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return (await r.json()) as T;
}

/**
 * Writes the spec and each key's node.key (its BLS key, when not given, derived as the fixtures derive it:
 * `blsSecretKeyFromIkm(ed25519 seed)`), then starts one node per key, each dialling the earlier ones.
 */
export async function startMesh(dir: string, keys: { secretKey: Uint8Array; blsSecretKey?: Uint8Array }[], spec: ChainSpec, extra: string[] = ["--mining-workers", "1", "--log-level", "info"]): Promise<NodeProc[]> {
  const specFile = join(dir, "chain.json");
  writeFileSync(specFile, JSON.stringify(spec));
  const nodes: NodeProc[] = [];
  for (const [i, k] of keys.entries()) {
    const dataDir = join(dir, `n${i}`);
    writeKeyFile(join(dataDir, "node.key"), k.secretKey, k.blsSecretKey ?? blsSecretKeyFromIkm(k.secretKey));
    nodes.push(await startNode({ dataDir, chain: specFile, peers: nodes.map((n) => `ws://127.0.0.1:${n.p2pPort}`), extra }));
  }
  return nodes;
}
