/**
 * A local testnet of real node processes (one `vision-node start` per node, full mesh on
 * 127.0.0.1), as used by `vision-node testnet` and the drills. Each node logs to
 * `<data_dir>/node.log` and runs in its own process group, so a terminal Ctrl-C reaches only the
 * command that owns the testnet.
 */
import { openSync, closeSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { spawn, type ChildProcess } from "node:child_process";
import type { TestnetLayout } from "./testnetInit.ts";
import { withoutNodeEnv } from "../node/options/table.ts";

const BIN = fileURLToPath(new URL("../../bin/vision-node", import.meta.url));

/**
 * V8 flags of every node process started here: the young generation capped at two 4 MiB
 * semi-spaces. V8's default lets them grow to 16 MiB each under a steady transfer load and keeps
 * them: about 25 MiB more resident memory per node for no gain measured here (bench/memory.ts,
 * bench/api.ts). Operators get the same with NODE_OPTIONS=--max-semi-space-size=4.
 */
export const NODE_V8_FLAGS: readonly string[] = ["--max-semi-space-size=4"];

/** One node of the local testnet. */
export interface LocalNode {
  name: string;
  ebid: string;
  dataDir: string;
  p2pPort: number;
  apiPort: number;
  /** http://127.0.0.1:<api port>, or http://<apiHost>:<api port> */
  api: string;
  /** P2P bind address (default 127.0.0.1) */
  p2pHost?: string;
  /** API bind address (default: the node's own, 127.0.0.1) */
  apiHost?: string;
  proc?: ChildProcess;
}

/** Options of the local testnet. */
export interface LocalNetOptions {
  logLevel: string;
  /** called when a node exits without being asked to */
  onUnexpectedExit?: (node: LocalNode, code: number | null, signal: NodeJS.Signals | null) => void;
  /** the address `from` dials to reach `to` (default: its P2P port; drills route through proxies) */
  peerUrl?: (from: LocalNode, to: LocalNode) => string;
  /** extra `start` flags for every node */
  extraArgs?: string[];
  /** the `--peers` of `n` (default: every other node through `peerUrl`, a full mesh; [] dials the chain spec's bootnodes) */
  peersOf?: (n: LocalNode) => string[];
  /** a command the node's process is started under, e.g. `ip netns exec <ns>` (default: none) */
  wrap?: (n: LocalNode) => string[];
}

/** Runs and controls the nodes of a testnet directory written by `testnet init`. */
export class LocalNet {
  readonly nodes: LocalNode[];
  private readonly expectedExit = new Set<LocalNode>();

  constructor(
    readonly dir: string,
    private readonly opts: LocalNetOptions,
  ) {
    const layout = JSON.parse(readFileSync(join(dir, "testnet.json"), "utf8")) as TestnetLayout;
    this.nodes = layout.nodes.map((n) => ({
      name: n.name,
      ebid: n.ebid,
      dataDir: n.data_dir,
      p2pPort: n.p2p_port,
      apiPort: n.api_port,
      api: `http://127.0.0.1:${n.api_port}`,
    }));
  }

  /** Replaces the extra `start` flags for nodes started from now on. */
  setExtraArgs(args: string[]): void {
    this.opts.extraArgs = args;
  }

  /** Node name by EBID. */
  nameOf(ebid: string): string | undefined {
    return this.nodes.find((n) => n.ebid === ebid)?.name;
  }

  /** Starts every node. */
  startAll(): void {
    for (const n of this.nodes) this.start(n);
  }

  /** Starts (or restarts) one node on its data dir, dialling every other node; `extra` flags for this start only. */
  start(n: LocalNode, extra: string[] = []): ChildProcess {
    const url = this.opts.peerUrl ?? ((_from: LocalNode, to: LocalNode) => `ws://127.0.0.1:${to.p2pPort}`);
    const peers = this.opts.peersOf ? this.opts.peersOf(n) : this.nodes.filter((o) => o !== n).map((o) => url(n, o));
    const args = [
      BIN, "start", "--data-dir", n.dataDir, "--chain", join(this.dir, "chain.json"),
      "--p2p-port", String(n.p2pPort), "--p2p-host", n.p2pHost ?? "127.0.0.1", "--api-port", String(n.apiPort), "--log-level", this.opts.logLevel,
    ];
    if (n.apiHost) args.push("--api-host", n.apiHost);
    if (peers.length) args.push("--peers", peers.join(","));
    args.push(...(this.opts.extraArgs ?? []), ...extra);
    const log = openSync(join(n.dataDir, "node.log"), "a");
    const wrap = this.opts.wrap?.(n) ?? [];
    const argv = [process.execPath, ...NODE_V8_FLAGS, ...args];
    const [cmd, ...rest] = wrap.length ? [...wrap, ...argv] : argv;
    const child = spawn(cmd!, rest, { stdio: ["ignore", log, log], detached: true, env: withoutNodeEnv(process.env) });
    closeSync(log);
    this.expectedExit.delete(n);
    child.on("exit", (code, signal) => {
      if (!this.expectedExit.has(n)) this.opts.onUnexpectedExit?.(n, code, signal);
    });
    n.proc = child;
    return child;
  }

  /** Sends `signal` to a node (SIGKILL for a crash, SIGTERM for a clean stop) and waits for it to exit. */
  async kill(n: LocalNode, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const c = n.proc;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    this.expectedExit.add(n);
    const exited = new Promise<void>((r) => c.once("exit", () => r()));
    const force = setTimeout(() => c.kill("SIGKILL"), 10_000);
    c.kill(signal);
    await exited;
    clearTimeout(force);
  }

  /** Stops every node cleanly. */
  async stopAll(): Promise<void> {
    await Promise.all(this.nodes.map((n) => this.kill(n, "SIGTERM")));
  }

  /** SIGKILLs whatever still runs (for process exit). */
  killAllNow(): void {
    for (const n of this.nodes) if (n.proc && n.proc.exitCode === null) n.proc.kill("SIGKILL");
  }
}
