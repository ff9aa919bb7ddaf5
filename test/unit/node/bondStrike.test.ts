// Gossiped bonds (docs/protocol.md §6.5, §9.5): a bond whose proof of possession does not verify is
// forged, and the peer that sent it is struck like one that sends a bad transfer signature; a bond
// that is merely stale (a used nonce) costs the sender nothing; a good one enters the mempool. A
// node on real LevelDB and a peer over a real WebSocket.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { VisionNode } from "../../../src/node/node.ts";
import { ebidOf } from "../../../src/consensus/signatures.ts";
import { makeKeys, makeSpec, silentLog, tempDir } from "../../helpers/fixtures.ts";
import { bondTx } from "../../helpers/validatorTxs.ts";
import { handshakeClient, waitFor } from "../../helpers/net.ts";

const keys = makeKeys(4);
const [bonder, other] = [keys[2]!, keys[3]!];
const spec = makeSpec(keys.slice(0, 2), { alloc: { [bonder.ebid]: "100000", [other.ebid]: "100000" } });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("a gossiped bond with a bad PoP strikes its sender; a stale one does not; a good one is pooled", async () => {
  const t = tempDir();
  const a = await VisionNode.init({ dataDir: t.dir, spec, p2p: { host: "127.0.0.1", port: 0, peers: [] }, apiHost: "127.0.0.1", apiPort: 0, produce: false, mine: false, sync: {} }, silentLog);
  const secretKey = new Uint8Array(randomBytes(32));
  const cl = await handshakeClient(`ws://127.0.0.1:${a.p2p.port}`, { ebid: ebidOf(secretKey), secretKey }, spec.chain_id, a.chain.genesis.hash, a.key.ebid);
  try {
    await waitFor(() => a.p2p.readyPeers().length === 1, 3000, "the client is ready");
    const peer = () => a.p2p.readyPeers().find((p) => p.ebid === ebidOf(secretKey));
    const send = (tx: unknown) => cl.ws.send(JSON.stringify({ type: "tx", tx }) + "\n");
    send(bondTx(bonder, spec.chain_id, 0));
    await waitFor(() => a.mempool.size === 1, 3000, "the good bond is pooled");
    send(bondTx(other, spec.chain_id, 7000)); // stale or far ahead: normal gossip noise
    await sleep(300);
    assert.equal(peer()?.strikes, 0, "no strike for a bond that is only out of turn");
    send(bondTx(other, spec.chain_id, 0, { popEbid: bonder.ebid })); // a PoP for another EBID
    await waitFor(() => (peer()?.strikes ?? 0) === 1, 3000, "struck for the bad PoP");
    assert.equal(a.mempool.size, 1);
  } finally {
    cl.ws.terminate();
    await a.close();
    t.cleanup();
  }
});
