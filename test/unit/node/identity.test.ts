// Version and P2P identity across a node, in-process over real sockets and LevelDB: the start log,
// /api/status, /api/peers and vision_build_info; --p2p-advertise shared through a peer; the chain
// spec's bootnodes dialled when no peers are configured; bad P2P options refused before any write.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import pino from "pino";
import { VisionNode, type NodeOptions } from "../../../src/node/node.ts";
import { P2POptionsError, type P2POptions } from "../../../src/p2p/options.ts";
import { normalizeChainSpec } from "../../../src/chain/spec.ts";
import { buildInfo } from "../../../src/version.ts";
import { makeKeys, makeSpec, silentLog, tempDir } from "../../helpers/fixtures.ts";
import { freePort, waitFor } from "../../helpers/net.ts";

const keys = makeKeys(3);
const spec = makeSpec(keys);

function opts(dataDir: string, p2p: Partial<P2POptions> = {}, s = spec): NodeOptions {
  return { dataDir, spec: s, p2p: { host: "127.0.0.1", port: 0, ...p2p }, apiHost: "127.0.0.1", apiPort: 0, produce: false, mine: false };
}

async function getJson<T>(url: string): Promise<T> {
  const r = await fetch(url);
  assert.equal(r.status, 200, url);
  return (await r.json()) as T;
}

type PeerRow = { ebid: string; agent: string | null; address: string | null; direction: string };

test("version in the start log, /api/status, vision_build_info; agent and advertised address in /api/peers; a third node dials the advertised address", async () => {
  const dirs = [tempDir(), tempDir(), tempDir()];
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: "info" }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  const portA = await freePort();
  const advertised = `ws://localhost:${portA}`;
  const b = await VisionNode.init(opts(dirs[1]!.dir), silentLog);
  const a = await VisionNode.init(opts(dirs[0]!.dir, { port: portA, advertiseUrl: advertised, peers: [`ws://127.0.0.1:${b.p2p.port}`] }), log);
  let c: VisionNode | undefined;
  try {
    const info = buildInfo();
    const started = lines.find((l) => l.msg === "Node started")!;
    assert.equal(started.version, info.version);
    assert.equal(started.commit, info.commit);

    const status = await getJson<Record<string, unknown>>(`http://127.0.0.1:${a.apiPort}/api/status`);
    assert.deepEqual([status.version, status.commit, status.agent], [info.version, info.commit, info.agent]);
    const metrics = await a.metrics.registry.metrics();
    const line = metrics.split("\n").find((l) => l.startsWith("vision_build_info{"));
    assert.equal(line, `vision_build_info{version="${info.version}",commit="${info.commit ?? "unknown"}",node_version="${info.nodeVersion}"} 1`);

    // B sees A inbound: the advertised URL, not the inferred ws://127.0.0.1:<port>, and A's agent.
    await waitFor(async () => (await getJson<{ peers: PeerRow[] }>(`http://127.0.0.1:${b.apiPort}/api/peers`)).peers.length === 1, 5000, "A in B's peers");
    const [row] = (await getJson<{ peers: PeerRow[] }>(`http://127.0.0.1:${b.apiPort}/api/peers`)).peers;
    // Inbound (A dialled B), or outbound once B kept its own dial of A's advertised address, made to check it.
    assert.deepEqual([row!.ebid, row!.agent, row!.address], [a.key.ebid, info.agent, advertised]);
    assert.ok(["inbound", "outbound"].includes(row!.direction), row!.direction);
    // No log line at info carries what a peer says of itself.
    assert.ok(!lines.some((l) => JSON.stringify(l).includes(info.agent) && l.msg !== "Node started"), "agent never logged at info");

    // C knows only B; B shares A's advertised address (once B reached A there); C dials it.
    await waitFor(() => b.p2p.addressesFor().includes(advertised), 5000, "B checked A's advertised address");
    c = await VisionNode.init(opts(dirs[2]!.dir, { peers: [`ws://127.0.0.1:${b.p2p.port}`] }), silentLog);
    const cToA = await waitFor(() => c!.p2p.readyPeers().find((p) => p.ebid === a.key.ebid), 10_000, "C dialled A through B");
    assert.equal(cToA.direction, "outbound");
    assert.equal(cToA.dialUrl, advertised);
  } finally {
    await c?.close();
    await a.close();
    await b.close();
    for (const d of dirs) d.cleanup();
  }
});

test("a node with no configured peers dials the chain spec's bootnodes; configured peers take their place", async () => {
  const dirs = [tempDir(), tempDir(), tempDir()];
  const a = await VisionNode.init(opts(dirs[0]!.dir), silentLog);
  const withBoot = normalizeChainSpec({ ...spec, bootnodes: [`ws://127.0.0.1:${a.p2p.port}`] });
  assert.equal(withBoot.bootnodes!.length, 1);
  let b: VisionNode | undefined;
  let c: VisionNode | undefined;
  try {
    b = await VisionNode.init(opts(dirs[1]!.dir, {}, withBoot), silentLog);
    assert.equal(b.chain.genesis.hash, a.chain.genesis.hash, "bootnodes leave the genesis alone");
    await waitFor(() => b!.p2p.readyPeers().some((p) => p.ebid === a.key.ebid), 5000, "B dialled its bootnode");
    assert.equal(b.p2p.readyPeers()[0]!.direction, "outbound");
    // With --peers given, the bootnodes are not dialled.
    c = await VisionNode.init(opts(dirs[2]!.dir, { peers: [`ws://127.0.0.1:${b.p2p.port}`], discovery: false }, withBoot), silentLog);
    await waitFor(() => c!.p2p.readyPeers().length === 1, 5000, "C connected to B");
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(c.p2p.readyPeers().map((p) => p.ebid), [b.key.ebid]);
  } finally {
    await c?.close();
    await b?.close();
    await a.close();
    for (const d of dirs) d.cleanup();
  }
});

test("bad P2P options are refused before the data dir is touched", async () => {
  const t = tempDir();
  try {
    const dataDir = join(t.dir, "never-created");
    const bad: Partial<P2POptions>[] = [{ maxPeers: 0 }, { banMs: -5 }, { maxInboundPerAddress: 0 }, { advertiseUrl: "ws://nat.example.org" }, { peers: ["ws://x:1/p"] }];
    for (const p2p of bad) {
      await assert.rejects(VisionNode.init(opts(dataDir, p2p), silentLog), P2POptionsError, JSON.stringify(p2p));
    }
    assert.equal(existsSync(dataDir), false);
  } finally {
    t.cleanup();
  }
});
