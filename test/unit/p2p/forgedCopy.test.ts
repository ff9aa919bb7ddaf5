// A forged copy sent first (docs/protocol.md §9.5.1): a transfer's gossip id (its hash) leaves the
// signature out, so a peer that sees a transfer can send a node a copy with a forged signature
// under the same id before the real one arrives. A VisionNode on real LevelDB, two peers over real
// WebSockets on 127.0.0.1: the forger's copy earns it a strike, and the real transfer that comes
// next is still admitted (it was dropped as seen, and the node never took it).
import { test } from "node:test";
import assert from "node:assert/strict";
import { VisionNode } from "../../../src/node/node.ts";
import { signTransfer, txHash } from "../../../src/chain/tx.ts";
import { makeKeys, makeSpec, silentLog, tempDir } from "../../helpers/fixtures.ts";
import { handshakeClient, waitFor } from "../../helpers/net.ts";
import { freshKey, handshake, sleep } from "./attackKit.ts";

const keys = makeKeys(3);
const payer = makeKeys(5)[4]!;
const spec = makeSpec(keys, { alloc: { [payer.ebid]: "1000000" } });

test("a transfer copy with a forged signature sent first: the forger is struck and the real transfer, sent next by another peer, is admitted", async () => {
  const t = tempDir();
  const node = await VisionNode.init({ dataDir: t.dir, spec, p2p: { host: "127.0.0.1", port: 0, peers: [] }, apiHost: "127.0.0.1", apiPort: 0, produce: false, mine: false }, silentLog);
  try {
    const url = `ws://127.0.0.1:${node.p2p.port}`;
    const forger = await handshakeClient(url, freshKey(), spec.chain_id, node.chain.genesis.hash, node.key.ebid);
    await waitFor(() => node.p2p.readyPeers().length === 1, 3000, "the forger connected");
    const honest = await handshakeClient(url, freshKey(), spec.chain_id, node.chain.genesis.hash, node.key.ebid);
    await waitFor(() => node.p2p.readyPeers().length === 2, 3000, "the honest peer connected");
    const forgerPeer = node.p2p.readyPeers()[0]!;
    const tx = signTransfer(payer, { chain_id: spec.chain_id, to: keys[0]!.ebid, amount: "1000", fee: "10", nonce: 0 });
    const forged = { ...tx, sig: (tx.sig[0] === "a" ? "b" : "a") + tx.sig.slice(1) };
    assert.equal(txHash(forged), txHash(tx), "same gossip id");
    forger.ws.send(JSON.stringify({ type: "tx", tx: forged }) + "\n");
    await waitFor(() => forgerPeer.strikes === 1, 3000, "a strike for the forged signature");
    honest.ws.send(JSON.stringify({ type: "tx", tx }) + "\n");
    await waitFor(() => node.mempool.has(txHash(tx)), 3000, "the real transfer admitted");
    await sleep(50);
    for (const c of [forger, honest]) c.ws.terminate();
  } finally {
    await node.close();
    t.cleanup();
  }
});

test("mesh gossip: after a forged copy of a transfer is refused, an announcement of the real one is still fetched and the transfer admitted", async () => {
  const t = tempDir();
  const node = await VisionNode.init({ dataDir: t.dir, spec, p2p: { host: "127.0.0.1", port: 0, peers: [] }, apiHost: "127.0.0.1", apiPort: 0, produce: false, mine: false }, silentLog);
  try {
    const url = `ws://127.0.0.1:${node.p2p.port}`;
    const chain = { chainId: spec.chain_id, genesis: node.chain.genesis.hash, hello: { gossip: 1 } };
    const forger = await handshake(url, freshKey(), node.key.ebid, chain);
    await waitFor(() => node.p2p.readyPeers().length === 1, 3000, "the forger connected");
    const honest = await handshake(url, freshKey(), node.key.ebid, chain);
    await waitFor(() => node.p2p.readyPeers().length === 2, 3000, "the honest peer connected");
    const forgerPeer = node.p2p.readyPeers()[0]!;
    const tx = signTransfer(payer, { chain_id: spec.chain_id, to: keys[0]!.ebid, amount: "1000", fee: "10", nonce: 0 });
    const id = txHash(tx);
    forger.send({ type: "tx", tx: { ...tx, sig: (tx.sig[0] === "a" ? "b" : "a") + tx.sig.slice(1) } });
    await waitFor(() => forgerPeer.strikes === 1, 3000, "a strike for the forged signature");
    honest.send({ type: "ihave", kind: "tx", ids: [id] });
    await waitFor(() => honest.lines.some((l) => l.includes('"iwant"') && l.includes(id)), 3000, "the real transfer asked for");
    honest.send({ type: "tx", tx });
    await waitFor(() => node.mempool.has(id), 3000, "the real transfer admitted");
    for (const c of [forger, honest]) c.ws.terminate();
  } finally {
    await node.close();
    t.cleanup();
  }
});
