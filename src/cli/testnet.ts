/**
 * `vision-node testnet init` and `vision-node testnet`: a local N-node testnet (seed 001's 3-node
 * guide, P2P 7072.. and API 8080..), full mesh, one line per new height until Ctrl-C.
 */
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { spawn, type ChildProcess } from "node:child_process";
import { writeKeyFile } from "../node/keyfile.ts";
import { normalizeChainSpec } from "../chain/spec.ts";

/** Where each node of a testnet listens; stored as DIR/testnet.json. */
export interface TestnetLayout {
  nodes: { name: string; ebid: string; data_dir: string; p2p_port: number; api_port: number }[];
}

/** Flags of `testnet init` (ports are those of node 1; node i gets base + i - 1). */
export interface TestnetInitFlags {
  nodes: number;
  dir: string;
  blockTimeMs?: number;
  baseP2pPort: number;
  baseApiPort: number;
  chainId?: string;
}

const BIN = fileURLToPath(new URL("../../bin/vision-node", import.meta.url));

/** Faucet balance in `alloc` (base units). */
export const FAUCET_BALANCE = "1000000000000";

/**
 * Writes DIR/chain.json (initial_pool = the N nodes, genesis now), DIR/node-<i>/node.key,
 * DIR/faucet.key (funded in alloc) and DIR/testnet.json.
 * @throws when DIR already holds a testnet
 */
export function testnetInit(f: TestnetInitFlags): TestnetLayout {
  const dir = resolve(f.dir);
  if (existsSync(join(dir, "chain.json"))) throw new Error(`${join(dir, "chain.json")} exists already`);
  mkdirSync(dir, { recursive: true });
  const layout: TestnetLayout = { nodes: [] };
  for (let i = 1; i <= f.nodes; i++) {
    const dataDir = join(dir, `node-${i}`);
    const key = writeKeyFile(join(dataDir, "node.key"));
    layout.nodes.push({ name: `node-${i}`, ebid: key.ebid, data_dir: dataDir, p2p_port: f.baseP2pPort + i - 1, api_port: f.baseApiPort + i - 1 });
  }
  const faucet = writeKeyFile(join(dir, "faucet.key"));
  const spec = normalizeChainSpec({
    chain_id: f.chainId ?? "vision-testnet-local",
    genesis_timestamp: Date.now(),
    consensus: "proof-of-sync",
    params: f.blockTimeMs ? { block_time_ms: f.blockTimeMs } : {},
    initial_pool: layout.nodes.map((n) => n.ebid),
    alloc: { [faucet.ebid]: FAUCET_BALANCE },
  });
  writeFileSync(join(dir, "chain.json"), JSON.stringify(spec, null, 2) + "\n");
  writeFileSync(join(dir, "testnet.json"), JSON.stringify(layout, null, 2) + "\n");
  return layout;
}

/** `testnet init`: writes the testnet and prints each node's EBID and ports. */
export function runTestnetInit(f: TestnetInitFlags): void {
  const layout = testnetInit(f);
  for (const n of layout.nodes) {
    process.stdout.write(`${n.name}  ebid ${n.ebid}  p2p ${n.p2p_port}  api http://127.0.0.1:${n.api_port}\n`);
  }
  process.stdout.write(`wrote ${join(resolve(f.dir), "chain.json")}\n`);
}

/** Flags of `testnet`. */
export interface TestnetFlags extends Omit<TestnetInitFlags, "chainId"> {
  logLevel: string;
}

/** Starts the nodes, prints each new height, and stops them on Ctrl-C. */
export async function runTestnet(f: TestnetFlags): Promise<void> {
  const dir = resolve(f.dir);
  if (!existsSync(join(dir, "chain.json"))) testnetInit(f);
  const layout = JSON.parse(readFileSync(join(dir, "testnet.json"), "utf8")) as TestnetLayout;
  const children: ChildProcess[] = [];
  let stopping = false;
  for (const n of layout.nodes) {
    const peers = layout.nodes.filter((o) => o !== n).map((o) => `ws://127.0.0.1:${o.p2p_port}`);
    const log = openSync(join(n.data_dir, "node.log"), "a");
    const args = [BIN, "start", "--data-dir", n.data_dir, "--chain", join(dir, "chain.json"), "--p2p-port", String(n.p2p_port), "--api-port", String(n.api_port), "--log-level", f.logLevel];
    if (peers.length) args.push("--peers", peers.join(","));
    // Own process group: a terminal Ctrl-C reaches only this runner, which then stops each node once.
    const child = spawn(process.execPath, args, { stdio: ["ignore", log, log], detached: true });
    child.on("exit", (code, sig) => {
      if (!stopping) process.stdout.write(`${n.name} exited (${code ?? sig}); see ${join(n.data_dir, "node.log")}\n`);
    });
    children.push(child);
    process.stdout.write(`started ${n.name} (pid ${child.pid}) p2p ${n.p2p_port} api http://127.0.0.1:${n.api_port} log ${join(n.data_dir, "node.log")}\n`);
  }
  const names = new Map(layout.nodes.map((n) => [n.ebid, n.name]));
  const abort = new AbortController();
  const stop = async () => {
    if (stopping) process.exit(130);
    stopping = true;
    abort.abort();
    process.stdout.write("stopping nodes...\n");
    await Promise.all(children.map((c) => stopChild(c)));
    process.exit(0);
  };
  process.on("SIGINT", () => void stop());
  process.on("SIGTERM", () => void stop());
  process.on("exit", () => children.forEach((c) => c.exitCode === null && c.kill("SIGKILL")));
  await watchHeights(layout.nodes.map((n) => `http://127.0.0.1:${n.api_port}`), names, abort.signal, (line) => process.stdout.write(line + "\n"));
}

/**
 * Polls every node and calls `print` once per new height with the hash, producer, slot and how many
 * nodes hold the same block (waiting up to 3 s for slow nodes).
 */
export async function watchHeights(apis: string[], names: Map<string, string>, signal: AbortSignal, print: (line: string) => void): Promise<void> {
  let printed = 0;
  let firstSeen = new Map<number, number>();
  while (!signal.aborted) {
    await new Promise((r) => setTimeout(r, 250));
    const heads = await Promise.all(apis.map((a) => getJson(`${a}/api/chain/head`).catch(() => undefined)));
    const heights = heads.map((h) => (h as { height?: number } | undefined)?.height ?? -1);
    const max = Math.max(...heights);
    for (let h = printed + 1; h <= max; h++) {
      if (!firstSeen.has(h)) firstSeen.set(h, Date.now());
      const all = heights.every((x) => x >= h);
      if (!all && Date.now() - firstSeen.get(h)! < 3000) break;
      const blocks = await Promise.all(
        apis.map((a, i) => (heights[i]! >= h ? getJson(`${a}/api/blocks/${h}`).catch(() => undefined) : undefined)),
      );
      const hashes = blocks.map((b) => (b as { hash?: string } | undefined)?.hash);
      const b = blocks.find((x) => x) as { hash: string; header: { producer: string; slot: number | null; timestamp: number } } | undefined;
      if (!b) break;
      const agree = hashes.filter((x) => x === b.hash).length;
      const answered = hashes.filter((x) => x !== undefined).length;
      const down = heads.filter((x) => x === undefined).length;
      const behind = heights.filter((x) => x >= 0 && x < h).length;
      const verdict =
        agree === apis.length
          ? `all ${agree} nodes agree`
          : `${agree}/${answered} nodes agree` + (down ? `, ${down} down` : "") + (behind ? `, ${behind} behind` : "");
      print(
        `height ${String(h).padStart(6)}  hash ${b.hash.slice(0, 12)}  producer ${b.header.producer.slice(0, 8)} (${names.get(b.header.producer) ?? "?"})  slot ${b.header.slot ?? "pow"}  ${verdict}`,
      );
      printed = h;
      firstSeen.delete(h);
    }
    if (firstSeen.size > 1000) firstSeen = new Map();
  }
}

async function getJson(url: string): Promise<unknown> {
  const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r.json();
}

function stopChild(c: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null) return resolve();
    const t = setTimeout(() => c.kill("SIGKILL"), 10_000);
    c.once("exit", () => {
      clearTimeout(t);
      resolve();
    });
    c.kill("SIGTERM");
  });
}
