// A peer that answers `busy` to every chunk request (docs/protocol.md §9.6) is waited out for one
// chunk only: past the five waits it is asked for no other chunk of that sync. Before, each chunk
// given to it waited the five waits again, so it slowed every other chunk of the sync. The syncer
// runs on a real chain in LevelDB; the peers are fakes that answer with the real sync server
// (`handleSyncRequest`) or with `busy`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { MAX_BUSY_WAITS as WAITS, Syncer } from "../../../src/sync/syncer.ts";
import { handleSyncRequest } from "../../../src/sync/protocol.ts";
import type { Chain } from "../../../src/chain/chain.ts";
import type { ResEnvelope } from "../../../src/p2p/peer.ts";
import { extend, makeKeys, makeSpec, openTestChain, silentLog } from "../../helpers/fixtures.ts";
import { waitFor } from "../../helpers/net.ts";
import { fakeSyncPeer } from "../../helpers/fakeSyncPeer.ts";

const HEIGHT = 80;
const CHUNK = 4; // 20 chunks: every other one goes to the busy peer first
const BUSY: ResEnvelope = { ok: false, data: null, errors: ["busy: too many requests in flight, retry in 20 ms"] };

/** An honest chain of `height` blocks and an empty one to sync it into (both in LevelDB), for `fn`. */
async function withChains(height: number, fn: (honest: Chain, joining: Chain) => Promise<void>): Promise<void> {
  const keys = makeKeys(3);
  const spec = makeSpec(keys);
  const honest = await openTestChain(spec);
  const joining = await openTestChain(spec);
  try {
    await extend(honest.chain, keys, height);
    await fn(honest.chain, joining.chain);
  } finally {
    await Promise.all([honest.destroy(), joining.destroy()]);
  }
}

test("a peer that answers busy to every chunk is waited out for one chunk, then asked for no other", () =>
  withChains(HEIGHT, async (honest, joining) => {
    const asked = new Set<number>();
    let busyReplies = 0;
    const busy = fakeSyncPeer("b", honest, async (_path, data) => {
      busyReplies++;
      asked.add((data as { from_index: number }).from_index);
      return BUSY;
    });
    const good = fakeSyncPeer("a", honest, (path, data) => handleSyncRequest(honest, path, data));
    const struck: string[] = [];
    const syncer = new Syncer(
      { chain: joining, peers: () => [good, busy], penalize: (p, reason) => struck.push(`${p.ebid!.slice(0, 1)}: ${reason}`), log: silentLog },
      { chunk: CHUNK, requestTimeoutMs: 1000 },
    );
    syncer.maybeSync(good);
    await waitFor(() => joining.head.height === HEIGHT, 10_000, `caught up (at ${joining.head.height})`);
    syncer.stop();
    console.log(`# busy replies ${busyReplies}, chunks asked of the busy peer ${JSON.stringify([...asked])}`);
    assert.equal(joining.head.hash, honest.head.hash);
    assert.ok(asked.size >= 1, "the busy peer was asked for a chunk");
    // Chunks asked at once (4 in flight) may each wait before the first gives up; not the other six.
    assert.ok(busyReplies <= (WAITS + 1) * 4, `${busyReplies} busy replies over ${asked.size} chunks`);
    assert.deepEqual(struck, [], "busy is not a strike");
  }),
);

test("a peer that used up a chunk's busy waits does not leave the next peer none", () =>
  withChains(2 * CHUNK, async (honest, joining) => {
    // The busy peer takes the second chunk first (chunks rotate over [primary, busy]) and waits out
    // its five; the primary, asked next, is busy once for each chunk (a loaded honest server), then serves.
    const busy = fakeSyncPeer("b", honest, async () => BUSY);
    const once = new Set<number>();
    const good = fakeSyncPeer("a", honest, async (path, data) => {
      const from = (data as { from_index: number }).from_index;
      if (!once.has(from)) {
        once.add(from);
        return BUSY;
      }
      return handleSyncRequest(honest, path, data);
    });
    const syncer = new Syncer({ chain: joining, peers: () => [good, busy], penalize: () => undefined, log: silentLog }, { chunk: CHUNK, requestTimeoutMs: 1000 });
    syncer.maybeSync(good);
    await waitFor(() => joining.head.height === 2 * CHUNK, 10_000, `caught up (at ${joining.head.height})`);
    syncer.stop();
    assert.equal(joining.head.hash, honest.head.hash);
  }),
);
