/**
 * `vision-node testnet init` and `vision-node testnet`: a local N-node testnet (3 nodes by
 * default, P2P 7072.. and API 8080..), full mesh, one line per new height until Ctrl-C.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { LocalNet } from "../drill/localnet.ts";
import { testnetInit, type TestnetInitFlags } from "../drill/testnetInit.ts";
import { getJson } from "../util/http.ts";

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
