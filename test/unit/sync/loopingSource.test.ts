// A lying sync source that loops attempts, over real WebSockets and LevelDB (docs/protocol.md
// §6.1): it claims a height far above the tip, names an ancestor below our head, serves the blocks
// we already hold (so each attempt counts as served and the next one may begin at once) and
// refuses the rest. Each attempt begins a new grace for the source's claim; the grace never runs
// past the claim's deadline plus the longest a chunk may be held plus one request timeout, so the
// liar is struck by then however many attempts it makes the node begin. (Here it is struck within
// a few seconds: a heartbeat lands between two attempts, when no sync runs.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { syncPair } from "../../helpers/syncPair.ts";
import { waitFor } from "../../helpers/net.ts";
import { freshKey, handshake } from "../p2p/attackKit.ts";
import { handleSyncRequest } from "../../../src/sync/protocol.ts";
import type { SyncerOptions } from "../../../src/sync/syncer.ts";

const HEIGHT = 20;
const sync: Partial<SyncerOptions> = { chunk: 10, claimBackingMs: 1000, requestTimeoutMs: 1000 };
// The cap past the claim (ms): its deadline, five busy waits of 5 s, two request timeouts.
const CAP_MS = 1000 + 5 * 5000 + 2 * 1000;

test("a source that serves only blocks we hold, attempt after attempt, is struck within the grace cap", async () => {
  const pair = await syncPair(HEIGHT, sync);
  const { server: a, joiner: c, spec } = pair;
  try {
    for (let h = 1; h <= HEIGHT; h++) {
      const meta = (await a.chain.getCanonicalMeta(h))!;
      assert.equal((await c.chain.importBlock((await a.chain.getBlock(meta.hash))!)).status, "imported");
    }
    const ancestor = (await c.chain.getCanonicalMeta(HEIGHT / 2))!;
    const key = freshKey();
    const liar = await handshake(`ws://127.0.0.1:${c.p2p.port}`, key, c.key.ebid, {
      chainId: spec.chain_id,
      genesis: c.chain.genesis.hash,
      hello: { height: HEIGHT + 1000, tip_hash: "ab".repeat(32) },
    });
    const claimedAt = Date.now();
    let attempts = 0;
    liar.ws.on("message", (d) => {
      for (const line of d.toString().split("\n")) {
        if (!line.includes('"req"')) continue;
        const req = JSON.parse(line) as { id: number; path: string; data: { from_index?: number; to_index?: number } | null };
        const answer = (res: object) => liar.send({ type: "res", id: req.id, ...res });
        if (req.path === "/data/find_ancestor") {
          attempts++;
          answer({ ok: true, data: { hash: ancestor.hash, height: ancestor.height }, errors: null });
        } else if (req.path === "/data/miner_block/range" && (req.data?.to_index ?? Infinity) <= HEIGHT) {
          void handleSyncRequest(c.chain, req.path, req.data).then(answer); // blocks the node holds
        } else answer({ ok: false, data: null, errors: ["not now"] });
      }
    });
    // Its claim stays fresh-looking: a status every 300 ms, each one a reason to sync again.
    const status = setInterval(() => liar.send({ type: "status", height: HEIGHT + 1000, tip_hash: "ab".repeat(32) }), 300);
    try {
      const peer = () => c.p2p.allPeers().find((p) => p.ebid === key.ebid);
      await waitFor(() => !peer() || peer()!.claimsIgnored || peer()!.strikes > 0, CAP_MS + 15_000, "the liar struck");
      const struckAfter = Date.now() - claimedAt;
      console.log(`# struck after ${struckAfter} ms, ${attempts} attempts, ${JSON.stringify({ gone: !peer(), ignored: peer()?.claimsIgnored, strikes: peer()?.strikes })}`);
      assert.ok(attempts >= 2, `the liar made the node begin ${attempts} attempts`);
      assert.ok(struckAfter <= CAP_MS + 5_000, `struck ${struckAfter} ms after its claim (cap ${CAP_MS} ms)`);
      assert.equal(c.chain.head.height, HEIGHT, "nothing of the lie was imported");
    } finally {
      clearInterval(status);
    }
    liar.ws.terminate();
  } finally {
    await pair.close();
  }
});
