// The operator's terminal: `status` and `peers` tables against running nodes, `status --watch`
// redraws, unreachable nodes give one line and exit 1, and `--log-format pretty` logs readable lines.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { writeFileSync } from "node:fs";
import { makeKeys, makeSpec, tempDir } from "../helpers/fixtures.ts";
import { BIN, getJson, runCli, startMesh, type NodeProc } from "../helpers/nodeProcess.ts";
import { waitFor } from "../helpers/net.ts";

test("status and peers print readable tables of a running node", async () => {
  const t = tempDir();
  const keys = makeKeys(2);
  const spec = makeSpec(keys, { genesis_timestamp: Date.now(), params: { block_time_ms: 500 } });
  let nodes: NodeProc[] = [];
  try {
    nodes = await startMesh(t.dir, keys, spec);
    const api = nodes[0]!.api;
    await waitFor(async () => (await getJson(`${api}/api/chain/head`)).height >= 2, 60_000, "height 2");
    const s = runCli(["status", "--api", api]);
    assert.equal(s.status, 0, s.stderr);
    const status = await getJson(`${api}/api/mining/status`);
    assert.match(s.stdout, new RegExp(`vision-node ${nodes[0]!.ebid.slice(0, 12)} at ${api}`));
    assert.match(s.stdout, /^tip\s+height \d+ {2}[0-9a-f]{12} {2}(slot \d|PoW) by /m);
    assert.match(s.stdout, /^sync\s+(AtTip|CatchingUp|Behind|TooFarAhead) {2}local \d+, network \d+, lag \d+$/m);
    assert.match(s.stdout, /^next height\s+\d+ {2}pool 2$/m);
    assert.match(s.stdout, /^primary\s+[0-9a-f]{12}/m);
    assert.match(s.stdout, /\(this node\)/);
    assert.ok(status.next_height >= 3);

    const p = runCli(["peers", "--api", api]);
    assert.equal(p.status, 0, p.stderr);
    const lines = p.stdout.trim().split("\n");
    assert.match(lines[0]!, /^peer\s+direction\s+height\s+address\s+connected\s+strikes\s+agent$/);
    assert.equal(lines.length, 2);
    assert.ok(lines[1]!.startsWith(nodes[1]!.ebid.slice(0, 12)));
    const agent = (await getJson(`${nodes[1]!.api}/api/status`)).agent as string;
    assert.match(agent, /^vision-node\/v/);
    assert.ok(lines[1]!.endsWith(` ${agent}`), `the peer's agent, last: ${lines[1]}`);

    // --watch redraws until stopped.
    const watch = spawn(process.execPath, [BIN, "status", "--api", api, "--watch", "--interval", "200"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    watch.stdout.on("data", (d) => (out += d));
    await waitFor(() => (out.match(/^next height/gm) ?? []).length >= 3, 10_000, "three redraws");
    watch.kill("SIGINT");

    const down = runCli(["status", "--api", "http://127.0.0.1:1"]);
    assert.equal(down.status, 1);
    assert.match(down.stderr, /^vision-node: .*fetch failed|ECONNREFUSED/m);
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
    t.cleanup();
  }
});

test("--log-format pretty logs readable lines; json (the default off a terminal) logs JSON", async () => {
  const t = tempDir();
  const spec = makeSpec(makeKeys(1), { genesis_timestamp: Date.now() });
  const specFile = join(t.dir, "chain.json");
  writeFileSync(specFile, JSON.stringify(spec));
  try {
    for (const format of ["pretty", "json"]) {
      const child = spawn(process.execPath, [BIN, "start", "--data-dir", join(t.dir, format), "--chain", specFile, "--p2p-port", "0", "--api-port", "0", "--log-format", format], { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      child.stdout.on("data", (d) => (out += d));
      await waitFor(() => out.includes("Node started"), 20_000, `${format} start line`);
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
      const line = out.split("\n").find((l) => l.includes("Node started"))!;
      if (format === "pretty") {
        assert.ok(!line.trimStart().startsWith("{"), line);
        assert.match(line, /\d\d:\d\d:\d\d\.\d{3}/);
        assert.match(line, /INFO/);
      } else {
        assert.equal(JSON.parse(line).msg, "Node started");
      }
    }
  } finally {
    t.cleanup();
  }
});
