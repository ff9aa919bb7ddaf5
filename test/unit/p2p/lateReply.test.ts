// A server that answers late (loaded by a stranger, or its reply waiting on its served-byte budget)
// is not a liar: its reply after our request timed out must not be a strike, or an attacker who
// slows one honest node makes every honest node that asks it strike and ban it. A reply to an id
// we never sent is still one. Two PeerManagers over real WebSockets.
import { test } from "node:test";
import assert from "node:assert/strict";
import { PeerManager } from "../../../src/p2p/peerManager.ts";
import { defaultP2POptions } from "../../../src/p2p/options.ts";
import { makeKeys, silentLog } from "../../helpers/fixtures.ts";
import { waitFor } from "../../helpers/net.ts";
import { CHAIN_ID, GENESIS, sleep } from "./attackKit.ts";

const keys = makeKeys(2);

test("replies that come after our request timed out are dropped without a strike; replies to ids never sent are strikes", async () => {
  const id = (k: (typeof keys)[number]) => ({ chainId: CHAIN_ID, genesisHash: GENESIS, ebid: k.ebid, secretKey: k.secretKey });
  const status = () => ({ height: 3, tip_hash: "22".repeat(32) });
  // The server answers every request after 300 ms: slow, not hostile.
  const server = new PeerManager({ ...defaultP2POptions, host: "127.0.0.1", port: 0 }, id(keys[0]!), {
    status, onPeerReady: () => undefined, onMessage: () => undefined,
    onRequest: async () => (await sleep(300), { ok: true, data: "late" }),
  }, silentLog);
  await server.start();
  const client = new PeerManager({ ...defaultP2POptions, host: "127.0.0.1", port: 0, maxStrikes: 3, peers: [`ws://127.0.0.1:${server.port}`] }, id(keys[1]!), {
    status, onPeerReady: () => undefined, onMessage: () => undefined, onRequest: async () => ({ ok: false }),
  }, silentLog);
  await client.start();
  try {
    const p = await waitFor(() => client.readyPeers()[0], 3000, "connected");
    for (let i = 0; i < 5; i++) assert.deepEqual(await p.request("/x", null, 50), { ok: false, errors: ["request timed out"] });
    await sleep(600); // the five late replies arrive
    assert.equal(p.strikes, 0, "late replies are no strike");
    assert.equal(p.state, "ready");
    assert.deepEqual(await p.request("/x", null, 2000), { ok: true, data: "late", errors: null }, "and the connection still serves");
    // A second reply to the same id, or one to an id we never sent, is still a strike.
    const sp = server.readyPeers()[0]!;
    sp.send({ type: "res", id: 1, ok: true, data: null, errors: null });
    sp.send({ type: "res", id: 9999, ok: true, data: null, errors: null });
    await waitFor(() => p.strikes === 2, 2000, "two strikes");
  } finally {
    await client.stop();
    await server.stop();
  }
});
