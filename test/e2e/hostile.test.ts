// Hostile peers against a producing node (real processes, raw WebSockets): garbage bytes, an
// oversized line, a flood of invalid lines, a stalled handshake, a replayed handshake and a wrong
// signature each end with the connection refused or the peer banned, while the node keeps producing
// blocks and answering its API.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { makeKeys, makeSpec, tempDir } from "../helpers/fixtures.ts";
import { getJson, startMesh, type NodeProc } from "../helpers/nodeProcess.ts";
import { handshakeClient, rawClient, waitFor } from "../helpers/net.ts";
import { Domain, sign } from "../../src/consensus/signatures.ts";
import { PROTOCOL_VERSION } from "../../src/p2p/messages.ts";

test("hostile peers are refused or banned; the node keeps producing and serving", async () => {
  const t = tempDir();
  const keys = makeKeys(2);
  const [attacker, other] = makeKeys(4).slice(2) as [ReturnType<typeof makeKeys>[number], ReturnType<typeof makeKeys>[number]];
  const spec = makeSpec(keys, { genesis_timestamp: Date.now(), params: { block_time_ms: 500 } });
  let nodes: NodeProc[] = [];
  try {
    nodes = await startMesh(t.dir, keys, spec);
    const target = nodes[0]!;
    const url = `ws://127.0.0.1:${target.p2pPort}`;
    const genesis = (await getJson(`${target.api}/api/chain/spec`)).genesis_hash as string;
    await waitFor(async () => (await getJson(`${target.api}/api/chain/head`)).height >= 2, 60_000, "height 2");
    const h0 = (await getJson(`${target.api}/api/chain/head`)).height as number;

    // Garbage bytes before any handshake: refused.
    const g = await rawClient(url);
    g.ws.send(Buffer.concat([randomBytes(4096), Buffer.from("\n")]));
    assert.match((await g.closed).reason, /before handshake/);

    // An oversized line (over the 4 MiB cap, no newline) before the handshake: refused.
    const big = await rawClient(url);
    big.ws.send("x".repeat(4 * 1024 * 1024 + 10));
    big.ws.send("\n");
    assert.match((await big.closed).reason, /line over the size cap before handshake/);

    // A handshake that stalls is cut by the 10 s timeout (checked in the P2P unit tests with 200 ms);
    // here: a hello and then silence is still open after 1 s but holds no ready slot.
    const stall = await rawClient(url);
    stall.ws.send(JSON.stringify({ type: "hello", version: PROTOCOL_VERSION, chain_id: spec.chain_id, genesis_hash: genesis, ebid: other.ebid, nonce: randomBytes(32).toString("hex"), listen_port: 0, height: 0, tip_hash: genesis }) + "\n");
    await new Promise((r) => setTimeout(r, 1000));
    assert.ok(!(await getJson(`${target.api}/api/peers`)).peers.some((p: { ebid: string }) => p.ebid === other.ebid), "a stalled handshake is not a peer");
    stall.ws.terminate();

    // A wrong signature in hello_ack: refused.
    const w = await rawClient(url);
    w.ws.send(JSON.stringify({ type: "hello", version: PROTOCOL_VERSION, chain_id: spec.chain_id, genesis_hash: genesis, ebid: attacker.ebid, nonce: randomBytes(32).toString("hex"), listen_port: 0, height: 0, tip_hash: genesis }) + "\n");
    await waitFor(() => w.lines.length >= 1, 3000, "the node's hello");
    w.ws.send(JSON.stringify({ type: "hello_ack", sig: sign(Domain.hello, { forged: true }, attacker.secretKey) }) + "\n");
    assert.match((await w.closed).reason, /bad handshake signature/);

    // A replayed handshake: a valid hello + hello_ack captured from one connection, sent again on a
    // new one. The node's fresh nonce is in what the ack must sign, so the replay fails.
    const honest = await handshakeClient(url, attacker, spec.chain_id, genesis, target.ebid);
    await waitFor(async () => (await getJson(`${target.api}/api/peers`)).peers.some((p: { ebid: string }) => p.ebid === attacker.ebid), 5000, "the honest handshake");
    const sent = honest.sent;
    honest.ws.close();
    await honest.closed;
    const replay = await rawClient(url);
    for (const line of sent) replay.ws.send(line);
    assert.match((await replay.closed).reason, /bad handshake signature/);

    // A peer that completes the handshake and then floods invalid lines is banned.
    const flood = await handshakeClient(url, other, spec.chain_id, genesis, target.ebid);
    await waitFor(async () => (await getJson(`${target.api}/api/peers`)).peers.some((p: { ebid: string }) => p.ebid === other.ebid), 5000, "the flooder's handshake");
    flood.ws.send(Array.from({ length: 200 }, (_, i) => (i % 2 ? "{not json" : '{"type":"block","block":{"hash":"zz"}}')).join("\n") + "\n");
    assert.match((await flood.closed).reason, /banned/);
    const health = await getJson(`${target.api}/api/health`);
    assert.ok(health.p2p.banned >= 1, "the flooder is banned");
    // The banned EBID cannot come back with a fresh connection.
    const again = await handshakeClient(url, other, spec.chain_id, genesis, target.ebid);
    assert.match((await again.closed).reason, /banned/);

    // Through all of it the node produced blocks, kept its honest peer and answered its API.
    await waitFor(async () => (await getJson(`${target.api}/api/chain/head`)).height >= h0 + 4, 30_000, "four more blocks");
    const peers = (await getJson(`${target.api}/api/peers`)).peers as { ebid: string }[];
    assert.ok(peers.some((p) => p.ebid === nodes[1]!.ebid), "the honest peer stayed connected");
    assert.equal(health.p2p.listening, true);
    const [a, b] = await Promise.all(nodes.map((n) => getJson(`${n.api}/api/blocks/${h0 + 2}`)));
    assert.equal(a.hash, b.hash);
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
    t.cleanup();
  }
});
