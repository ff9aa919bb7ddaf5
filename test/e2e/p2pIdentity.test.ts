// Real processes: --p2p-advertise replaces the address peers infer and travels to a third node,
// which dials it; a node started without --peers dials its chain spec's bootnodes; each node shows
// its peers' agent in /api/peers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { writeFileSync } from "node:fs";
import { makeKeys, makeSpec, tempDir } from "../helpers/fixtures.ts";
import { getJson, startNode, type NodeProc } from "../helpers/nodeProcess.ts";
import { freePort, waitFor } from "../helpers/net.ts";

type PeerRow = { ebid: string; agent: string | null; address: string | null; direction: string };

const peersOf = async (n: NodeProc) => (await getJson<{ peers: PeerRow[] }>(`${n.api}/api/peers`)).peers;

test("--p2p-advertise is shown and shared, a third node dials it; bootnodes are dialled without --peers", async () => {
  const t = tempDir();
  const keys = makeKeys(4);
  const spec = makeSpec(keys, { genesis_timestamp: Date.now() });
  const chain = join(t.dir, "chain.json");
  writeFileSync(chain, JSON.stringify(spec));
  const quiet = ["--no-produce", "--log-level", "info"];
  const nodes: NodeProc[] = [];
  try {
    const b = await startNode({ dataDir: join(t.dir, "b"), chain, extra: quiet });
    nodes.push(b);
    const portA = await freePort();
    const advertised = `ws://localhost:${portA}`;
    const a = await startNode({ dataDir: join(t.dir, "a"), chain, peers: [`ws://127.0.0.1:${b.p2pPort}`], extra: [...quiet, "--p2p-port", String(portA), "--p2p-advertise", advertised] });
    nodes.push(a);
    assert.equal(a.p2pPort, portA);
    const agentA = (await getJson<{ agent: string }>(`${a.api}/api/status`)).agent;
    assert.match(agentA, /^vision-node\/v[^/]+\/[a-z0-9]+-[a-z0-9]+\/node-\d+\.\d+\.\d+$/);

    // B shows A at the address A advertised, not ws://127.0.0.1:<port>, with A's agent.
    const rowA = await waitFor(async () => (await peersOf(b)).find((p) => p.ebid === a.ebid), 10_000, "A in B's peers");
    // Inbound (A dialled B), or outbound when B kept its own dial of A's advertised address, made to check it.
    assert.deepEqual([rowA.address, rowA.agent], [advertised, agentA]);
    assert.ok(["inbound", "outbound"].includes(rowA.direction), rowA.direction);

    // C knows only B: B shares A's advertised address, C dials it.
    const c = await startNode({ dataDir: join(t.dir, "c"), chain, peers: [`ws://127.0.0.1:${b.p2pPort}`], extra: quiet });
    nodes.push(c);
    const cToA = await waitFor(async () => (await peersOf(c)).find((p) => p.ebid === a.ebid), 15_000, "C dialled A through B");
    assert.deepEqual([cToA.direction, cToA.address, cToA.agent], ["outbound", advertised, agentA]);

    // D: no --peers; its spec lists B as a bootnode (same genesis: bootnodes are outside it).
    const bootChain = join(t.dir, "chain-boot.json");
    writeFileSync(bootChain, JSON.stringify({ ...spec, bootnodes: [`ws://127.0.0.1:${b.p2pPort}`] }));
    const d = await startNode({ dataDir: join(t.dir, "d"), chain: bootChain, extra: [...quiet, "--no-discovery"] });
    nodes.push(d);
    assert.ok(d.logs.some((l) => l.msg === "No peers configured: dialling the chain spec's bootnodes" && l.bootnodes === 1));
    const dToB = await waitFor(async () => (await peersOf(d)).find((p) => p.ebid === b.ebid), 10_000, "D dialled its bootnode");
    assert.equal(dToB.direction, "outbound");
    const [statusB, statusD] = await Promise.all([b, d].map((n) => getJson<{ genesis_hash: string }>(`${n.api}/api/status`)));
    assert.equal(statusD!.genesis_hash, statusB!.genesis_hash);
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
    t.cleanup();
  }
});
