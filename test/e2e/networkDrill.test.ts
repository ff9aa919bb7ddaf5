// `vision-node drill network` end to end: real node processes on their own addresses, joining
// through two bootnodes, every link through a delaying user-space proxy. Once on 127.0.0.x
// addresses (forced), once in network namespaces when this runs as root (otherwise: the drill must
// say it fell back to 127.0.0.x because it is not root). Propagation bounds are generous: the
// delays only set a floor.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { BIN, runCli } from "../helpers/nodeProcess.ts";
import { oneWayMs, type NetworkReport } from "../../src/drill/network.ts";

const ipOut = (...args: string[]) => execFileSync("ip", args, { encoding: "utf8" });

function common(r: NetworkReport, nodes: number): void {
  assert.equal(r.nodes, nodes);
  assert.equal(r.per_node.length, nodes);
  assert.equal(r.agree, true, "every node holds the same chain");
  assert.equal(r.finality.agree, true);
  assert.equal(r.forks_outliving_one_block, 0);
  assert.ok(r.blocks >= 5, `${r.blocks} blocks`);
  assert.equal(r.bootnodes.length, 2);
  for (const [i, n] of r.per_node.entries()) {
    assert.ok(n.peers >= 1, `${n.name} has peers`);
    assert.equal(n.via_proxy, n.peers, `${n.name}: every link runs through a proxy`);
    assert.ok(r.bootnodes[0] === n.advertised || r.bootnodes[1] === n.advertised || i >= 2);
    assert.ok(n.rss_mib_max !== null && n.rss_mib_max > 20 && n.rss_mib_max < 1024, `${n.name} rss ${n.rss_mib_max} MiB`);
    assert.ok(n.eventloop_p99_ms_max !== null && n.eventloop_p99_ms_max >= 0);
  }
  // A block reaches every node no sooner than the longest one-way delay from its producer: at least
  // the smallest such delay over the possible producers.
  const floor = Math.min(...r.per_node.map((_, i) => Math.max(...r.per_node.map((_, j) => (i === j ? 0 : oneWayMs(i, j))))));
  assert.ok(r.propagation.blocks >= 3);
  assert.ok(r.propagation.to_100pct_ms.p50! >= floor - 2, `to 100% p50 ${r.propagation.to_100pct_ms.p50} ms, floor ${floor} ms`);
  assert.ok(r.propagation.to_100pct_ms.p50! < 5000, `to 100% p50 ${r.propagation.to_100pct_ms.p50} ms`);
}

test("drill network on 127.0.0.x (--isolation loopback): 4 nodes on their own addresses, joined through 2 bootnodes, agree; links delayed", () => {
  const r = runCli(["drill", "network", "--nodes", "4", "--seconds", "15", "--sample-seconds", "3", "--block-time-ms", "1000", "--isolation", "loopback", "--json"], 120_000);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const report = JSON.parse(r.stdout) as NetworkReport;
  assert.equal(report.isolation, "loopback");
  assert.equal(report.bridge, null);
  assert.deepEqual(
    report.per_node.map((n) => n.ip),
    ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"],
  );
  assert.ok(report.per_node.every((n) => /^ws:\/\/127\.0\.1\.\d+:\d+$/.test(n.advertised)));
  common(report, 4);
});

test("drill network in network namespaces when root (else: it falls back to 127.0.0.x and says why); namespaces, bridge and an earlier run's leftovers are removed", (t) => {
  const root = process.getuid?.() === 0;
  // A dead run's leftovers: a namespace and a bridge named after a pid that does not run.
  const dead = 4_194_000 + Math.floor(Math.random() * 300);
  if (root) {
    ipOut("netns", "add", `vdrill-${dead}-0`);
    ipOut("link", "add", `vdb${dead}`, "type", "bridge");
  }
  const r = runCli(["drill", "network", "--nodes", "5", "--seconds", "15", "--sample-seconds", "3", "--block-time-ms", "1000", "--json"], 120_000);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const report = JSON.parse(r.stdout) as NetworkReport;
  if (!root) {
    t.diagnostic("not root: the namespace mode cannot run here; checked that the drill fell back to 127.0.0.x and said why");
    assert.equal(report.isolation, "loopback");
    assert.match(report.isolation_reason, /not root/);
    common(report, 5);
    return;
  }
  assert.equal(report.isolation, "netns");
  assert.ok(report.leftovers_removed.includes(`namespace vdrill-${dead}-0`), JSON.stringify(report.leftovers_removed));
  assert.ok(report.leftovers_removed.includes(`bridge vdb${dead}`), JSON.stringify(report.leftovers_removed));
  assert.equal(report.namespaces.length, 5);
  assert.ok(report.per_node.every((n) => /^10\.\d+\.0\.\d+$/.test(n.ip)));
  assert.ok(report.per_node.every((n) => /^ws:\/\/10\.\d+\.1\.\d+:\d+$/.test(n.advertised)));
  assert.equal(new Set(report.per_node.map((n) => n.ip)).size, 5);
  common(report, 5);
  // Nothing of this run, nor the dead one, is left.
  const left = ipOut("netns", "list");
  for (const ns of [...report.namespaces, `vdrill-${dead}-0`]) assert.ok(!left.includes(ns), `${ns} removed`);
  assert.doesNotMatch(ipOut("-o", "link", "show", "type", "bridge"), new RegExp(`${report.bridge}:|vdb${dead}:`));
});

/** Pids of processes whose command line contains `text`. */
function processesWith(text: string): number[] {
  const pids: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/cmdline`, "utf8").includes(text)) pids.push(Number(d));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

test("drill network interrupted by two Ctrl-C (SIGINT): it exits, and no node process, namespace or bridge of it is left", async () => {
  const child = spawn(process.execPath, [BIN, "drill", "network", "--nodes", "3", "--seconds", "120", "--sample-seconds", "2", "--block-time-ms", "1000"], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const deadline = Date.now() + 90_000;
  while (!/settled after/.test(out) && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
  assert.match(out, /settled after/, out);
  const dir = /data in (\S+)/.exec(out)![1]!;
  assert.ok(processesWith(dir).length >= 3, "the nodes run");
  child.kill("SIGINT");
  await new Promise((r) => setTimeout(r, 300));
  child.kill("SIGINT");
  const code = await exited;
  assert.notEqual(code, 0, out);
  // SIGKILLed nodes may take a moment to be reaped
  const gone = Date.now() + 10_000;
  while (processesWith(dir).length > 0 && Date.now() < gone) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(processesWith(dir), [], "no node process left");
  if (/own network namespaces/.test(out)) {
    assert.doesNotMatch(ipOut("netns", "list"), new RegExp(`vdrill-${child.pid}-`));
    assert.doesNotMatch(ipOut("-o", "link", "show", "type", "bridge"), new RegExp(`vdb${child.pid}:`));
  }
  rmSync(dir, { recursive: true, force: true }); // a drill stopped at once keeps its temp dir
});
