// A peer that reports our height with tips we do not hold, and answers /data/chain_info with a huge
// total_weight and /data/find_ancestor with genesis, over real WebSockets and LevelDB: it never
// serves a block. It must not put the node in `syncing` (which stops attestations and mining) by
// making it fetch blocks it already holds from its honest peers, nor do so again on every status.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import WebSocket from "ws";
import { VisionNode } from "../../../src/node/node.ts";
import { Domain, ebidOf, sign } from "../../../src/consensus/signatures.ts";
import { PROTOCOL_VERSION } from "../../../src/p2p/messages.ts";
import { extend, makeKeys, makeSpec, openTestChain, silentLog, tempDir } from "../../helpers/fixtures.ts";
import { waitFor } from "../../helpers/net.ts";

const keys = makeKeys(3);
const spec = makeSpec(keys);
const HEIGHT = 30;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// The liar: statuses at the node's height with a fresh unknown tip every 300 ms.
async function heavierTipLiar(node: VisionNode): Promise<{ asked: Map<string, number>; close(): void }> {
  const secretKey = new Uint8Array(randomBytes(32));
  const ebid = ebidOf(secretKey);
  const ws = new WebSocket(`ws://127.0.0.1:${node.p2p.port}`, { perMessageDeflate: false });
  const asked = new Map<string, number>();
  const send = (m: object) => ws.readyState === WebSocket.OPEN && ws.send(JSON.stringify(m) + "\n");
  const nonce = randomBytes(32).toString("hex");
  const genesis = node.chain.genesis.hash;
  const tip = () => randomBytes(32).toString("hex");
  let buf = "";
  ws.on("message", (d: Buffer) => {
    buf += d.toString();
    for (let i = buf.indexOf("\n"); i !== -1; i = buf.indexOf("\n")) {
      const m = JSON.parse(buf.slice(0, i)) as { type: string; nonce?: string; id?: number; path?: string };
      buf = buf.slice(i + 1);
      if (m.type === "hello") {
        const obj = { chain_id: spec.chain_id, genesis_hash: genesis, ebid, peer_ebid: node.key.ebid, nonce, peer_nonce: m.nonce };
        send({ type: "hello_ack", sig: sign(Domain.hello, obj, secretKey) });
      } else if (m.type === "req") {
        asked.set(m.path!, (asked.get(m.path!) ?? 0) + 1);
        if (m.path === "/data/chain_info") send({ type: "res", id: m.id, ok: true, data: { height: node.chain.head.height, tip_hash: tip(), total_weight: "9".repeat(60) }, errors: null });
        else if (m.path === "/data/find_ancestor") send({ type: "res", id: m.id, ok: true, data: { hash: genesis, height: 0 }, errors: null });
        else send({ type: "res", id: m.id, ok: false, data: null, errors: ["not now"] });
      }
    }
  });
  // Our hello goes first, in the open handler: the ack may only follow it.
  const hello = () => send({ type: "hello", version: PROTOCOL_VERSION, chain_id: spec.chain_id, genesis_hash: genesis, ebid, nonce, listen_port: 0, height: node.chain.head.height, tip_hash: tip() });
  await new Promise<void>((resolve, reject) => ws.once("open", () => (hello(), resolve())).once("error", reject));
  await waitFor(() => node.p2p.readyPeers().some((p) => p.ebid === ebid), 3000, "the liar ready");
  const timer = setInterval(() => send({ type: "status", height: node.chain.head.height, tip_hash: tip() }), 300);
  return { asked, close: () => (clearInterval(timer), ws.terminate()) };
}

test("a peer claiming a heavier tip at our height that it never serves neither makes the node sync what it holds nor pause it", async () => {
  const dirs = [tempDir(), tempDir()];
  const c = await openTestChain(spec, dirs[0]!.dir);
  await extend(c.chain, keys, HEIGHT);
  await c.close();
  const opts = (dir: string, peers: string[]) => ({ dataDir: dir, spec, p2p: { host: "127.0.0.1", port: 0, peers }, apiHost: "127.0.0.1", apiPort: 0, produce: false, mine: false, sync: { chunk: 10 } });
  const a = await VisionNode.init(opts(dirs[0]!.dir, []), silentLog);
  const b = await VisionNode.init(opts(dirs[1]!.dir, [`ws://127.0.0.1:${a.p2p.port}`]), silentLog);
  let liar: Awaited<ReturnType<typeof heavierTipLiar>> | undefined;
  try {
    await waitFor(() => b.chain.head.height === HEIGHT && !b.syncer.progress.syncing, 15_000, "B synced");
    await sleep(300);
    liar = await heavierTipLiar(b);
    let syncing = 0;
    const t0 = Date.now();
    while (Date.now() - t0 < 5000) {
      if (b.syncer.progress.syncing) syncing++;
      await sleep(10);
    }
    const asked = Object.fromEntries(liar.asked);
    console.log(`# asked ${JSON.stringify(asked)}, syncing in ${syncing} samples`);
    assert.equal(syncing, 0, `B was syncing blocks it held in ${syncing} samples; the liar was asked ${JSON.stringify(asked)}`);
    assert.ok((liar.asked.get("/data/find_ancestor") ?? 0) <= 1, `one attempt toward the liar, not one per status: ${JSON.stringify(asked)}`);
    assert.equal(b.chain.head.hash, a.chain.head.hash);
  } finally {
    liar?.close();
    await b.close();
    await a.close();
    for (const d of dirs) d.cleanup();
  }
});
