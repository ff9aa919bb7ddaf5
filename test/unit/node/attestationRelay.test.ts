// Attestation gossip relays only what is new (docs/protocol.md §9.5): an attestation the node
// already holds, because a block it imported carries it, is not sent on again. Two raw peers over
// real WebSockets and a node on real LevelDB.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { VisionNode } from "../../../src/node/node.ts";
import { attest, blockFor, extend, makeKeys, makeSpec, openTestChain, silentLog, tempDir } from "../../helpers/fixtures.ts";
import { handshakeClient, waitFor } from "../../helpers/net.ts";

const keys = makeKeys(3);
const spec = makeSpec(keys);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("an attestation already carried by an imported block is not relayed; a new one is, once", async () => {
  const dir = tempDir();
  // Block 1 on disk; block 2, which carries an attestation of block 1, comes later by gossip.
  const c = await openTestChain(spec, dir.dir);
  const [b1] = await extend(c.chain, keys, 1);
  const known = attest(keys[1]!, 1, b1!.hash, c.chain.genesis.hash);
  const scratch = await openTestChain(spec);
  await scratch.chain.importBlock(b1!);
  const b2 = await blockFor(scratch.chain, scratch.chain.head, keys, 0, { attestations: [known] });
  await scratch.destroy();
  await c.close();
  const node = await VisionNode.init(
    { dataDir: dir.dir, spec, p2p: { host: "127.0.0.1", port: 0, peers: [] }, apiHost: "127.0.0.1", apiPort: 0, produce: false, mine: false, sync: {} },
    silentLog,
  );
  try {
    const url = `ws://127.0.0.1:${node.p2p.port}`;
    const join = async (i: number) => {
      const secretKey = new Uint8Array(randomBytes(32));
      const { ebidOf } = await import("../../../src/consensus/signatures.ts");
      const cl = await handshakeClient(url, { ebid: ebidOf(secretKey), secretKey }, spec.chain_id, node.chain.genesis.hash, node.key.ebid);
      await waitFor(() => node.p2p.readyPeers().length === i, 3000, `peer ${i} ready`);
      return cl;
    };
    const from = await join(1);
    const to = await join(2);
    const relayed = () => to.lines.filter((l) => l.includes('"type":"attestation"')).map((l) => (JSON.parse(l) as { attestation: { ebid: string; block_hash: string } }).attestation);
    from.ws.send(JSON.stringify({ type: "block", block: b2 }) + "\n");
    await waitFor(() => node.chain.head.height === 2, 3000, "block 2 imported");
    from.ws.send(JSON.stringify({ type: "attestation", attestation: known }) + "\n");
    const fresh = attest(keys[2]!, 2, b2.hash, c.chain.genesis.hash);
    from.ws.send(JSON.stringify({ type: "attestation", attestation: fresh }) + "\n");
    await waitFor(() => relayed().some((a) => a.ebid === fresh.ebid), 3000, "the new attestation relayed");
    from.ws.send(JSON.stringify({ type: "attestation", attestation: fresh }) + "\n");
    await sleep(200);
    assert.deepEqual(relayed().map((a) => `${a.ebid.slice(0, 8)}:${a.block_hash.slice(0, 8)}`), [`${fresh.ebid.slice(0, 8)}:${b2.hash.slice(0, 8)}`], "only the new one, once");
    from.ws.terminate();
    to.ws.terminate();
  } finally {
    await node.close();
    dir.cleanup();
  }
});

test("after a restart, an attestation the branch's recent blocks already carry is not selected again", async () => {
  const dir = tempDir();
  const c = await openTestChain(spec, dir.dir);
  const [b1] = await extend(c.chain, keys, 1);
  const known = attest(keys[1]!, 1, b1!.hash, c.chain.genesis.hash);
  await c.chain.importBlock(await blockFor(c.chain, c.chain.head, keys, 0, { attestations: [known] }));
  await c.close();
  const node = await VisionNode.init(
    { dataDir: dir.dir, spec, p2p: { host: "127.0.0.1", port: 0, peers: [] }, apiHost: "127.0.0.1", apiPort: 0, produce: false, mine: false },
    silentLog,
  );
  try {
    const fresh = attest(keys[2]!, 1, b1!.hash, c.chain.genesis.hash);
    node.attestations.add(known); // heard again by gossip after the restart
    node.attestations.add(fresh);
    const { buildTemplate } = await import("../../../src/producer/template.ts");
    const t = await buildTemplate({ chain: node.chain, attestations: node.attestations, mempool: node.mempool, log: silentLog }, node.chain.head, {
      producer: keys[0]!.ebid, slot: 0, timestamp: node.chain.head.timestamp + 1, difficulty: 1,
    });
    assert.deepEqual(t.attestations.map((a) => a.ebid), [fresh.ebid]);
  } finally {
    await node.close();
    dir.cleanup();
  }
});
