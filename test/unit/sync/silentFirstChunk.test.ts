// A sync whose first chunk went to a peer that holds it (silent until the request times out, or
// busy replies first), over real WebSockets and LevelDB (docs/protocol.md §6.1): nothing imports
// before that chunk does, so neither the honest peer the sync targets nor any other honest peer
// ahead may be struck for its unbacked claim meanwhile. While the sync has imported nothing, every
// claim's grace runs a request timeout from when the first chunk was last asked for (the retry goes
// to the source), not from the sync's start. Found by helpers reading the sync as an attacker.
import { test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { syncPair } from "../../helpers/syncPair.ts";
import { waitFor } from "../../helpers/net.ts";
import { freshKey, handshake } from "../p2p/attackKit.ts";
import type { SyncerOptions } from "../../../src/sync/syncer.ts";

const HEIGHT = 60;
const CHUNK = 20;
// The silent peer holds the first chunk for the request timeout (3 s); its claim is still fresh (a
// claim is struck 1 s unbacked) when the chunk is handed out. The first import then waits 1.2 s more,
// so the chunk's blocks import past a grace counted from the sync's start (the old rule, which
// struck the honest source) and well within one counted from the chunk's retry.
const sync: Partial<SyncerOptions> = { chunk: CHUNK, claimBackingMs: 1000, requestTimeoutMs: 3000 };
/**
 * A joiner holding the first CHUNK blocks, a peer `holder` (fresh key, claims the honest tip) that
 * answers the first chunk's requests with `reply(n)` (n: how many it was asked so far; undefined:
 * no answer), and the honest servers dialled at once after it. Asserts the holder was asked for the
 * first chunk, and no honest server was struck.
 */
async function holdFirstChunk(reply: (n: number) => object | undefined, servers = 1): Promise<void> {
  const pair = await syncPair(HEIGHT, sync, { servers });
  const { server: a, joiner: c, spec } = pair;
  // The joiner holds the first chunk's worth already: the sync's first chunk starts at CHUNK + 1,
  // and chunks rotate over [source, other peers] by their start, so it goes to the other peer.
  for (let h = 1; h <= CHUNK; h++) {
    const meta = (await a.chain.getCanonicalMeta(h))!;
    assert.equal((await c.chain.importBlock((await a.chain.getBlock(meta.hash))!)).status, "imported");
  }
  const tip = a.chain.head;
  const importBlock = c.chain.importBlock.bind(c.chain);
  let slowed = false;
  c.chain.importBlock = async (block, from) => {
    if (!slowed && from?.sync) {
      slowed = true;
      await sleep(1200);
    }
    return importBlock(block, from);
  };
  // The silent peer (a fresh key, as a liar reconnecting would have) claims the honest tip and never
  // answers a request; the honest peer is dialled at once after it, and the sync targets the
  // honest peer (its probe is answered; the silent one's is not).
  const silent = await handshake(`ws://127.0.0.1:${c.p2p.port}`, freshKey(), c.key.ebid, {
    chainId: spec.chain_id,
    genesis: c.chain.genesis.hash,
    hello: { height: tip.height, tip_hash: tip.hash },
  });
  let asked = 0;
  silent.ws.on("message", (d) => {
    for (const line of d.toString().split("\n")) {
      if (!line.includes('"req"')) continue;
      const req = JSON.parse(line) as { id: number; data: { from_index?: number } | null };
      if (req.data?.from_index !== CHUNK + 1) continue;
      const res = reply(++asked);
      if (res) silent.send({ type: "res", id: req.id, ...res });
    }
  });
  try {
    for (const server of pair.servers) c.p2p.addTarget(`ws://127.0.0.1:${server.p2p.port}`);
    await waitFor(() => c.chain.head.height === HEIGHT, 30_000, `caught up (at ${c.chain.head.height} of ${HEIGHT})`);
    const reqs = silent.lines.filter((l) => l.includes('"req"')).map((l) => JSON.parse(l) as { path: string; data: { from_index?: number } | null });
    assert.ok(asked > 0, `the holder was asked for the first chunk (from ${CHUNK + 1}): ${JSON.stringify(reqs.map((r) => [r.path, r.data]))}`);
    for (const server of pair.servers) {
      const peer = c.p2p.readyPeers().find((p) => p.ebid === server.key.ebid);
      assert.ok(peer, "the honest peer is still connected");
      assert.equal(peer.strikes, 0, "no strike for a claim whose first chunk a silent peer held");
      assert.equal(peer.claimsIgnored, false);
    }
  } finally {
    silent.ws.terminate();
    await pair.close();
  }
}

test("a silent peer that holds the first chunk until it times out does not get the honest source struck", async () => {
  await holdFirstChunk(() => undefined);
});

test("nor the other honest peers ahead: their claims wait on the same first chunk", async () => {
  // Two honest servers: the sync targets one, and the silent peer (connected first) is the first of
  // the others, so the first chunk goes to it; the other server's claim must wait too.
  await holdFirstChunk(() => undefined, 2);
});

test("nor one that answers it busy five times, then holds it until it times out", async () => {
  // 5 waits of 1 s, then 3 s: the source is asked 8 s into the sync, past the claim's deadline
  // plus two request timeouts (7 s), within the longest another peer may hold a chunk.
  await holdFirstChunk((n) => (n <= 5 ? { ok: false, data: null, errors: ["busy: served byte budget spent, retry in 1000 ms"] } : undefined));
});
