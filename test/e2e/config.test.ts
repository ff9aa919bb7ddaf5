// Configuration and data dir safety as an operator meets them, with real processes: `config dump`,
// config errors at start, the data dir lock (a second start changes nothing), --key-file, and the
// metrics listener.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { parse } from "yaml";
import { makeKeys, makeSpec, tempDir } from "../helpers/fixtures.ts";
import { getJson, runCli, startMesh, startNode, type NodeProc } from "../helpers/nodeProcess.ts";
import { waitFor } from "../helpers/net.ts";

const TOKEN = "s3cret-admin-token-0123456789";

test("config dump prints the effective configuration with each value's source and the admin token hidden", () => {
  const t = tempDir();
  try {
    const file = join(t.dir, "node.yaml");
    writeFileSync(file, `api_port: 9001\np2p_port: 7001\npeers: [ws://file:1]\nproduce: false\nadmin_token: ${TOKEN}\nmining_delay_ms: 5\n`);
    const r = runCli(["config", "dump", "--config", file, "--p2p-port", "7003"], 60_000, { VISION_API_PORT: "9002", VISION_PEERS: "ws://env:1,ws://env:2" });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(!r.stdout.includes(TOKEN), "the admin token never appears");
    const dumped = parse(r.stdout) as Record<string, unknown>;
    assert.deepEqual(
      [dumped.api_port, dumped.p2p_port, dumped.peers, dumped.produce, dumped.admin_token, dumped.mining_delay_ms, dumped.api_host, dumped.mine],
      [9002, 7003, ["ws://env:1", "ws://env:2"], false, "<hidden>", 5, "127.0.0.1", true],
    );
    assert.match(r.stdout, /^api_port: 9002 {2}# env VISION_API_PORT$/m);
    assert.match(r.stdout, /^p2p_port: 7003 {2}# flag --p2p-port$/m);
    assert.match(r.stdout, /^produce: false {2}# file .*node\.yaml$/m);
    assert.match(r.stdout, /^admin_token: <hidden> {2}# file .*node\.yaml$/m);
    assert.match(r.stdout, /^api_host: 127\.0\.0\.1 {2}# default$/m);
    assert.match(r.stdout, /^# metrics_port: unset \(off\)$/m);
    assert.ok(!("config" in dumped), "the dump, comments aside, is itself a valid config file");
    // TOML works the same way.
    const toml = join(t.dir, "node.toml");
    writeFileSync(toml, 'api_port = 9005\npeers = ["ws://toml:1"]\nproduce = false\n');
    const tr = runCli(["config", "dump"], 60_000, { VISION_CONFIG: toml });
    assert.equal(tr.status, 0, tr.stderr);
    assert.deepEqual([parse(tr.stdout).api_port, parse(tr.stdout).peers, parse(tr.stdout).produce], [9005, ["ws://toml:1"], false]);
  } finally {
    t.cleanup();
  }
});

test("unknown keys and variables and bad values stop start with one line naming the source and key, before the data dir is made", () => {
  const t = tempDir();
  try {
    const dataDir = join(t.dir, "data");
    const file = join(t.dir, "node.yaml");
    writeFileSync(file, "api_prot: 9000\n");
    const cases: [string[], Record<string, string>, RegExp][] = [
      [["--config", file], {}, /^vision-node: config .*node\.yaml: api_prot: unknown key \(did you mean api_port\?\)$/],
      [[], { VISION_DATADIR: "x" }, /^vision-node: env VISION_DATADIR: unknown variable \(did you mean VISION_DATA_DIR\?\)/],
      [[], { VISION_API_PORT: "eighty" }, /^vision-node: env VISION_API_PORT: expected a port number 0\.\.65535$/],
      [["--p2p-port", "99999"], {}, /argument '99999' is invalid\. expected a port number 0\.\.65535/],
    ];
    for (const [args, env, msg] of cases) {
      const r = runCli(["start", "--data-dir", dataDir, ...args], 60_000, env);
      assert.equal(r.status, 1, JSON.stringify([args, env]));
      assert.match(r.stderr.split("\n")[0]!, msg);
      assert.equal(existsSync(dataDir), false, "nothing was created");
    }
    writeFileSync(file, "p2p_port: 99999\n");
    const bad = runCli(["start", "--data-dir", dataDir, "--config", file]);
    assert.equal(bad.status, 1);
    assert.equal(bad.stderr.trim().split("\n").length, 1);
    assert.match(bad.stderr, /^vision-node: config .*node\.yaml: p2p_port: expected a port number 0\.\.65535$/m);
  } finally {
    t.cleanup();
  }
});

interface FileState {
  bytes: string;
  mtimeMs: number;
  ino: number;
}
const stateOf = (p: string): FileState => ({ bytes: readFileSync(p, "latin1"), mtimeMs: statSync(p).mtimeMs, ino: statSync(p).ino });

test("a second start on a running node's data dir exits 1 with one line and changes nothing; the first keeps producing", async () => {
  const t = tempDir();
  const keys = makeKeys(2);
  const spec = makeSpec(keys, { genesis_timestamp: Date.now(), params: { block_time_ms: 500 } });
  let nodes: NodeProc[] = [];
  try {
    nodes = await startMesh(t.dir, keys, spec);
    const [first] = nodes as [NodeProc, NodeProc];
    const dataDir = join(t.dir, "n0");
    const blocksOf = async () => (await getJson(`${first.api}/api/accounts/${first.ebid}`)).blocks_produced as number;
    await waitFor(async () => (await blocksOf()) >= 1, 60_000, "the first node produces");
    // What a second node would write or LevelDB would rotate: the admin token, the key, LevelDB's LOCK and its text logs.
    const watched = ["admin.token", "node.key", "chaindata/LOCK", "chaindata/LOG", "chaindata/LOG.old"].filter((f) => existsSync(join(dataDir, f)));
    const before = Object.fromEntries(watched.map((f) => [f, stateOf(join(dataDir, f))]));
    const entries = readdirSync(join(dataDir, "chaindata")).filter((f) => !/^\d+\.(log|ldb)$|^MANIFEST/.test(f)).sort();
    const second = runCli(["start", "--data-dir", dataDir, "--chain", join(t.dir, "chain.json"), "--p2p-port", "0", "--api-port", "0", "--log-format", "json"]);
    assert.equal(second.status, 1);
    assert.equal(second.stderr, `vision-node: data dir ${dataDir} is in use by another vision-node (pid ${first.child.pid})\n`);
    assert.equal(second.stdout, "", "it logged nothing either");
    // db verify (which needs the node stopped) says the same, before LevelDB touches anything.
    const verify = runCli(["db", "verify", "--data-dir", dataDir, "--chain", join(t.dir, "chain.json")]);
    assert.equal(verify.status, 1);
    assert.equal(verify.stderr, `vision-node: data dir ${dataDir} is in use by another vision-node (pid ${first.child.pid})\n`);
    for (const f of watched) assert.deepEqual(stateOf(join(dataDir, f)), before[f], `${f} unchanged`);
    assert.deepEqual(readdirSync(join(dataDir, "chaindata")).filter((f) => !/^\d+\.(log|ldb)$|^MANIFEST/.test(f)).sort(), entries);
    // The first node still holds its token and keeps producing.
    const produced = await blocksOf();
    await waitFor(async () => (await blocksOf()) >= produced + 2, 60_000, "two more blocks by the first node");
    assert.equal(first.child.exitCode, null);
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
    t.cleanup();
  }
});

test("--key-file creates a key there and says so at warn; the metrics listener serves /metrics only, beside the API", async () => {
  const t = tempDir();
  const spec = makeSpec(makeKeys(1), { genesis_timestamp: Date.now() });
  const chain = join(t.dir, "chain.json");
  writeFileSync(chain, JSON.stringify(spec));
  const keyFile = join(t.dir, "keys", "validator.key");
  const dataDir = join(t.dir, "data");
  let node: NodeProc | undefined;
  try {
    // The metrics port from the environment, its host from the config file.
    const file = join(t.dir, "node.yaml");
    writeFileSync(file, "metrics_host: 127.0.0.1\n");
    node = await startNode({ dataDir, chain, extra: ["--key-file", keyFile, "--config", file, "--no-produce"], env: { VISION_METRICS_PORT: "0" } });
    const created = node.logs.find((l) => l.msg === "Created a new node key: back it up");
    assert.ok(created, "the new key is announced");
    assert.equal(created.level, 40, "at warn");
    assert.deepEqual([created.ebid, created.key_file], [node.ebid, keyFile]);
    assert.equal(JSON.parse(readFileSync(keyFile, "utf8")).ebid, node.ebid);
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    assert.equal(existsSync(join(dataDir, "node.key")), false, "no key in the data dir");

    const listening = node.logs.find((l) => l.msg === "Metrics listening");
    assert.ok(listening, "the metrics listener is announced");
    const metricsUrl = listening.url as string;
    const m = await fetch(metricsUrl);
    assert.equal(m.status, 200);
    assert.match(m.headers.get("content-type") ?? "", /^text\/plain/);
    assert.match(await m.text(), /^vision_chain_height /m);
    const base = metricsUrl.replace(/\/metrics$/, "");
    for (const path of ["/api/status", "/", "/metrics/x", "/dashboard"]) assert.equal((await fetch(base + path)).status, 404, path);
    assert.equal((await fetch(metricsUrl, { method: "POST" })).status, 404);
    assert.equal((await fetch(`${node.api}/api/status`)).status, 200, "the API port still serves the API");
    assert.match(await (await fetch(`${node.api}/metrics`)).text(), /^vision_chain_height /m, "and its own /metrics");
    assert.equal(await node.stop(), 0);
    await assert.rejects(fetch(metricsUrl), "the listener is closed with the node");

    // A restart reads the same key and announces nothing.
    node = await startNode({ dataDir, chain, extra: ["--key-file", keyFile, "--no-produce"] });
    assert.equal(node.ebid, JSON.parse(readFileSync(keyFile, "utf8")).ebid);
    assert.equal(node.logs.some((l) => l.msg === "Created a new node key: back it up"), false);
    assert.equal(node.logs.some((l) => l.msg === "Metrics listening"), false, "off unless a port is given");
  } finally {
    await node?.stop();
    t.cleanup();
  }
});
