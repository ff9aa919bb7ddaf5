// Relayed gossip stays within what a peer accepts (docs/protocol.md §9.4): a node relays every new
// valid transfer to every peer, so the transfers several sources send it at their own allowed rate
// add up on each of its links. A stranger that sends valid transfers over three connections must not make
// the node overrun an honest peer's rate limit and be struck and banned by it. Two nodes on real
// LevelDB over real WebSockets; both run the same (lowered) transfer limit.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { VisionNode } from "../../../src/node/node.ts";
import { ebidOf } from "../../../src/consensus/signatures.ts";
import { signTransfer } from "../../../src/chain/tx.ts";
import { defaultP2POptions } from "../../../src/p2p/options.ts";
import { extend, makeKeys, makeSpec, openTestChain, silentLog, tempDir } from "../../helpers/fixtures.ts";
import { handshakeClient, waitFor } from "../../helpers/net.ts";

const keys = makeKeys(3);
const spec = makeSpec(keys);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TX_LIMIT = { perSec: 20, burst: 40 };

test("transfers relayed from several sources do not overrun an honest peer's limit: the relaying node is not struck", async () => {
  const dirs = [tempDir(), tempDir()];
  const c = await openTestChain(spec, dirs[0]!.dir);
  await extend(c.chain, keys, 30); // keys[0..2] earn block rewards: funded senders
  await c.close();
  const p2p = (peers: string[]) => ({ host: "127.0.0.1", port: 0, peers, typeRateLimits: { ...defaultP2POptions.typeRateLimits, tx: TX_LIMIT } });
  const a = await VisionNode.init({ dataDir: dirs[0]!.dir, spec, p2p: p2p([]), apiHost: "127.0.0.1", apiPort: 0, produce: false, mine: false, sync: {} }, silentLog);
  const b = await VisionNode.init({ dataDir: dirs[1]!.dir, spec, p2p: p2p([`ws://127.0.0.1:${a.p2p.port}`]), apiHost: "127.0.0.1", apiPort: 0, produce: false, mine: false, sync: {} }, silentLog);
  const clients: Awaited<ReturnType<typeof handshakeClient>>[] = [];
  try {
    await waitFor(() => b.chain.head.height === 30, 10_000, "B synced");
    const url = `ws://127.0.0.1:${a.p2p.port}`;
    for (let i = 0; i < 3; i++) {
      const secretKey = new Uint8Array(randomBytes(32));
      clients.push(await handshakeClient(url, { ebid: ebidOf(secretKey), secretKey }, spec.chain_id, a.chain.genesis.hash, a.key.ebid));
    }
    await waitFor(() => a.p2p.readyPeers().length === 4, 3000, "three sources and B ready at A");
    const fee = BigInt(spec.params.min_tx_fee);
    // Each source sends a burst within A's limit for it: 40 new valid transfers of its own sender
    // (nonces 0..39), 120 in all.
    for (const [i, cl] of clients.entries()) {
      const from = keys[i]!;
      for (let nonce = 0; nonce < TX_LIMIT.burst; nonce++) {
        const tx = signTransfer(from, { chain_id: spec.chain_id, to: keys[(i + 1) % 3]!.ebid, amount: "1", fee: fee.toString(), nonce });
        cl.ws.send(JSON.stringify({ type: "tx", tx }) + "\n");
      }
    }
    await waitFor(() => a.mempool.size === 3 * TX_LIMIT.burst, 10_000, `A took all 120 (${a.mempool.size})`);
    await sleep(500);
    const atB = b.p2p.readyPeers().find((p) => p.ebid === a.key.ebid);
    assert.ok(atB, "A is still B's peer");
    assert.equal(atB.strikes, 0, "A's relaying earned no strike at B");
  } finally {
    for (const cl of clients) cl.ws.terminate();
    await b.close();
    await a.close();
    for (const d of dirs) d.cleanup();
  }
});
