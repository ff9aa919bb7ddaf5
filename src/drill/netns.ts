/**
 * Linux network namespaces for `drill network` (iproute2's `ip`, as root): a bridge in the root
 * namespace, and per node a namespace joined to it by a veth pair, with the node's own address.
 *
 * Addresses, on one /16 `10.X.0.0/16` chosen per run (X in 100..199, unused on this host):
 * - the bridge holds `10.X.0.1` (the drill reaches the nodes' APIs through it);
 * - node i (0-based) holds `10.X.0.(i+2)` in its namespace `vdrill-<pid>-<i>`;
 * - the bridge also holds `10.X.1.(i+2)`, node i's proxy address in the root namespace (a
 *   user-space link proxy listens there and forwards to the node with the link's delay). The /16 is
 *   on-link everywhere, so a node reaches every proxy address through the bridge, and the proxies'
 *   upstream connections can leave from those addresses.
 *
 * Names carry the drill's pid (bridge `vdb<pid>`, veth `vd<pid>n<i>`), so a later run can tell a
 * dead run's leftovers (its pid no longer runs) from a live one's and remove them
 * ({@link cleanupLeftovers}).
 */
import { execFileSync } from "node:child_process";

const NS_PREFIX = "vdrill-";
const BRIDGE_PREFIX = "vdb";

/** Runs `ip` with `args`; returns its stdout. @throws with ip's stderr when it fails */
function ip(...args: string[]): string {
  try {
    return execFileSync("ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`ip ${args.join(" ")}: ${(err.stderr ?? err.message).trim()}`);
  }
}

/** True while a process with this pid runs (EPERM: it runs, as another user). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Whether this process can build the namespaces: it runs as root and `ip netns add` works (tried
 * on a probe namespace, removed at once). `reason` says why not.
 */
export function netnsAvailable(): { ok: boolean; reason: string } {
  if (process.platform !== "linux") return { ok: false, reason: `not Linux (${process.platform})` };
  if (process.getuid?.() !== 0) return { ok: false, reason: "not root (network namespaces need root)" };
  const probe = `${NS_PREFIX}${process.pid}-probe`;
  try {
    ip("netns", "add", probe);
    ip("netns", "del", probe);
    return { ok: true, reason: "root, and ip netns works" };
  } catch (e) {
    return { ok: false, reason: `ip netns does not work here: ${(e as Error).message}` };
  }
}

/** Names of the network namespaces on this host. */
function namespaces(): string[] {
  try {
    return ip("netns", "list")
      .split("\n")
      .map((l) => l.split(" ")[0]!)
      .filter(Boolean);
  } catch {
    return [];
  }
}

/**
 * Removes what a drill that no longer runs left behind: its namespaces (SIGKILLing any process
 * still in one, a node that outlived its drill) and its bridge (which takes its veth ends and
 * proxy addresses with it). Leftovers of a drill still running are not touched.
 * @returns what was removed, in words
 */
export function cleanupLeftovers(): string[] {
  const removed: string[] = [];
  for (const ns of namespaces()) {
    const m = /^vdrill-(\d+)-/.exec(ns);
    if (!m || alive(Number(m[1]))) continue;
    try {
      for (const pid of ip("netns", "pids", ns).split("\n").filter(Boolean)) {
        try {
          process.kill(Number(pid), "SIGKILL");
        } catch {
          // gone already
        }
      }
      ip("netns", "del", ns);
      removed.push(`namespace ${ns}`);
    } catch {
      // another cleanup raced us
    }
  }
  let links = "";
  try {
    links = ip("-o", "link", "show", "type", "bridge");
  } catch {
    return removed;
  }
  for (const line of links.split("\n")) {
    const m = /^\d+: (vdb(\d+))[:@]/.exec(line);
    if (!m || alive(Number(m[2]))) continue;
    try {
      ip("link", "del", m[1]!);
      removed.push(`bridge ${m[1]}`);
    } catch {
      // raced
    }
  }
  return removed;
}

/** The second octet of a /16 of 10/8 that no address on this host uses, from 100..199. @throws when all are taken */
function freeSubnet(): number {
  const used = new Set([...ip("-4", "-o", "addr", "show").matchAll(/inet 10\.(\d+)\./g)].map((m) => Number(m[1])));
  for (let x = 100; x < 200; x++) if (!used.has(x)) return x;
  throw new Error("no free 10.X.0.0/16 for the drill's bridge");
}

/** The namespaces and bridge of one drill run. */
export class NetnsNetwork {
  readonly bridge: string;
  /** the /16's second octet */
  readonly subnet: number;
  private readonly made: string[] = [];
  private bridgeMade = false;
  private torn = false;

  /**
   * Builds the bridge and `nodes` namespaces. On failure whatever was built is removed again.
   * @throws when an `ip` command fails
   */
  constructor(readonly nodes: number) {
    if (nodes < 1 || nodes > 250) throw new RangeError(`nodes: expected 1..250, got ${nodes}`);
    this.bridge = `${BRIDGE_PREFIX}${process.pid}`;
    this.subnet = freeSubnet();
    try {
      ip("link", "add", this.bridge, "type", "bridge");
      this.bridgeMade = true;
      ip("addr", "add", `${this.bridgeIp}/16`, "dev", this.bridge);
      for (let i = 0; i < nodes; i++) ip("addr", "add", `${this.proxyIp(i)}/16`, "dev", this.bridge);
      ip("link", "set", this.bridge, "up");
      for (let i = 0; i < nodes; i++) {
        const ns = this.namespace(i);
        const host = `vd${process.pid}n${i}`;
        ip("netns", "add", ns);
        this.made.push(ns);
        ip("link", "add", host, "type", "veth", "peer", "name", "eth0", "netns", ns);
        ip("link", "set", host, "master", this.bridge);
        ip("link", "set", host, "up");
        ip("-n", ns, "addr", "add", `${this.nodeIp(i)}/16`, "dev", "eth0");
        ip("-n", ns, "link", "set", "eth0", "up");
        ip("-n", ns, "link", "set", "lo", "up");
      }
    } catch (e) {
      this.teardown();
      throw e;
    }
  }

  /** The bridge's address in the root namespace. */
  get bridgeIp(): string {
    return `10.${this.subnet}.0.1`;
  }

  /** Node i's own address, in its namespace (i < 250). */
  nodeIp(i: number): string {
    return `10.${this.subnet}.0.${i + 2}`;
  }

  /** Node i's proxy address, on the bridge in the root namespace (i < 250). */
  proxyIp(i: number): string {
    return `10.${this.subnet}.1.${i + 2}`;
  }

  /** Node i's namespace. */
  namespace(i: number): string {
    return `${NS_PREFIX}${process.pid}-${i}`;
  }

  /** The command prefix that runs a program in node i's namespace. */
  exec(i: number): string[] {
    return ["ip", "netns", "exec", this.namespace(i)];
  }

  /**
   * Removes the namespaces and the bridge (synchronous, so it can run in an exit handler); safe to
   * call twice. Processes still in a namespace keep running: stop them first.
   */
  teardown(): void {
    if (this.torn) return;
    this.torn = true;
    for (const ns of this.made) {
      try {
        ip("netns", "del", ns);
      } catch {
        // already gone
      }
    }
    if (this.bridgeMade) {
      try {
        ip("link", "del", this.bridge);
      } catch {
        // already gone
      }
    }
  }
}
