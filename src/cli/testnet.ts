/**
 * `vision-node testnet init` and `vision-node testnet`: a local N-node testnet (seed 001's 3-node
 * guide, P2P 7072.. and API 8080..), full mesh, one line per new height until Ctrl-C.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { writeKeyFile } from "../node/keyfile.ts";
import { normalizeChainSpec } from "../chain/spec.ts";
import { LocalNet, getJson } from "./localnet.ts";

/** Where each node of a testnet listens; stored as DIR/testnet.json. */
export interface TestnetLayout {
  nodes: { name: string; ebid: string; data_dir: string; p2p_port: number; api_port: number }[];
}

/** Flags of `testnet init` (ports are those of node 1; node i gets base + i - 1). */
export interface TestnetInitFlags {
  nodes: number;
  dir: string;
  blockTimeMs?: number;
  /** further chain params (`--param name=value`); validated with the spec */
  param?: Record<string, number>;
  baseP2pPort: number;
  baseApiPort: number;
  chainId?: string;
  /** "proof-of-sync" (default) or "pow" (DESIGN.md section 8) */
  consensus?: "proof-of-sync" | "pow";
  /** start Proof-of-Sync with an empty initial_pool: the chain bootstraps on PoW fallback blocks */
  emptyPool?: boolean;
}

/** Faucet balance in `alloc` (base units). */
export const FAUCET_BALANCE = "1000000000000";

/**
 * Writes DIR/chain.json (initial_pool = the N nodes unless `emptyPool` or a pow chain; genesis now), DIR/node-<i>/node.key,
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
    consensus: f.consensus ?? "proof-of-sync",
    params: { ...(f.param ?? {}), ...(f.blockTimeMs ? { block_time_ms: f.blockTimeMs } : {}) },
    initial_pool: f.emptyPool || f.consensus === "pow" ? [] : layout.nodes.map((n) => n.ebid),
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
  /** PoW worker threads per node */
  miningWorkers: number;
}

/** Starts the nodes, prints each new height, and stops them on Ctrl-C. */
export async function runTestnet(f: TestnetFlags): Promise<void> {
  const dir = resolve(f.dir);
  if (!existsSync(join(dir, "chain.json"))) testnetInit(f);
  let stopping = false;
  const net = new LocalNet(dir, {
    logLevel: f.logLevel,
    extraArgs: ["--mining-workers", String(f.miningWorkers)],
    onUnexpectedExit: (n, code, sig) => {
      if (!stopping) process.stdout.write(`${n.name} exited (${code ?? sig}); see ${join(n.dataDir, "node.log")}\n`);
    },
  });
  net.startAll();
  for (const n of net.nodes) {
    process.stdout.write(`started ${n.name} (pid ${n.proc!.pid}) p2p ${n.p2pPort} api ${n.api} log ${join(n.dataDir, "node.log")}\n`);
  }
  const abort = new AbortController();
  const stop = async () => {
    if (stopping) process.exit(130);
    stopping = true;
    abort.abort();
    process.stdout.write("stopping nodes...\n");
    await net.stopAll();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop());
  process.on("SIGTERM", () => void stop());
  process.on("exit", () => net.killAllNow());
  const names = new Map(net.nodes.map((n) => [n.ebid, n.name]));
  await watchHeights(net.nodes.map((n) => n.api), names, abort.signal, (line) => process.stdout.write(line + "\n"));
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
