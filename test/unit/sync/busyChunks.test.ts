// A peer that answers `busy` to every chunk request (docs/protocol.md §9.6) is waited out for one
// chunk only: past the five waits it is asked for no other chunk of that sync. Before, each chunk
// given to it waited the five waits again, so it slowed every other chunk of the sync. The syncer
// runs on a real chain in LevelDB; the peers are fakes that answer with the real sync server
// (`handleSyncRequest`) or with `busy`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Syncer } from "../../../src/sync/syncer.ts";
import { handleSyncRequest } from "../../../src/sync/protocol.ts";
import { extend, makeKeys, makeSpec, openTestChain, silentLog } from "../../helpers/fixtures.ts";
import { waitFor } from "../../helpers/net.ts";
import { fakeSyncPeer } from "../../helpers/fakeSyncPeer.ts";

const HEIGHT = 80;
const CHUNK = 4; // 20 chunks: every other one goes to the busy peer first
const WAITS = 5; // MAX_BUSY_WAITS in src/sync/syncer.ts

test("a peer that answers busy to every chunk is waited out for one chunk, then asked for no other", async () => {
  const keys = makeKeys(3);
  const spec = makeSpec(keys);
  const honest = await openTestChain(spec);
  const joining = await openTestChain(spec);
  try {
    await extend(honest.chain, keys, HEIGHT);
    const asked = new Set<number>();
    let busyReplies = 0;
    const busy = fakeSyncPeer("b", honest.chain, async (_path, data) => {
      busyReplies++;
      asked.add((data as { from_index: number }).from_index);
      return { ok: false, data: null, errors: ["busy: too many requests in flight, retry in 20 ms"] };
    });
    const good = fakeSyncPeer("a", honest.chain, (path, data) => handleSyncRequest(honest.chain, path, data));
    const struck: string[] = [];
    const syncer = new Syncer(
      { chain: joining.chain, peers: () => [good, busy], penalize: (p, reason) => struck.push(`${p.ebid!.slice(0, 1)}: ${reason}`), log: silentLog },
      { chunk: CHUNK, requestTimeoutMs: 1000 },
    );
    syncer.maybeSync(good);
    await waitFor(() => joining.chain.head.height === HEIGHT, 10_000, `caught up (at ${joining.chain.head.height})`);
    syncer.stop();
    console.log(`# busy replies ${busyReplies}, chunks asked of the busy peer ${JSON.stringify([...asked])}`);
    assert.equal(joining.chain.head.hash, honest.chain.head.hash);
    assert.ok(asked.size >= 1, "the busy peer was asked for a chunk");
    // Chunks asked at once (4 in flight) may each wait before the first gives up; not the other six.
    assert.ok(busyReplies <= (WAITS + 1) * 4, `${busyReplies} busy replies over ${asked.size} chunks`);
    assert.deepEqual(struck, [], "busy is not a strike");
  } finally {
    await Promise.all([honest.destroy(), joining.destroy()]);
  }
});

test("a peer that used up a chunk's busy waits does not leave the next peer none", async () => {
  const keys = makeKeys(3);
  const spec = makeSpec(keys);
  const honest = await openTestChain(spec);
  const joining = await openTestChain(spec);
  try {
    await extend(honest.chain, keys, 2 * CHUNK);
    // The busy peer takes the second chunk first (chunks rotate over [primary, busy]) and waits out
    // its five; the primary, asked next, is busy once for each chunk (a loaded honest server), then serves.
    const busy = fakeSyncPeer("b", honest.chain, async () => ({ ok: false, data: null, errors: ["busy: too many requests in flight, retry in 20 ms"] }));
    const once = new Set<number>();
    const good = fakeSyncPeer("a", honest.chain, async (path, data) => {
      const from = (data as { from_index: number }).from_index;
      if (!once.has(from)) {
        once.add(from);
        return { ok: false, data: null, errors: ["busy: too many requests in flight, retry in 20 ms"] };
      }
      return handleSyncRequest(honest.chain, path, data);
    });
    const syncer = new Syncer({ chain: joining.chain, peers: () => [good, busy], penalize: () => undefined, log: silentLog }, { chunk: CHUNK, requestTimeoutMs: 1000 });
    syncer.maybeSync(good);
    await waitFor(() => joining.chain.head.height === 2 * CHUNK, 10_000, `caught up (at ${joining.chain.head.height})`);
    syncer.stop();
    assert.equal(joining.chain.head.hash, honest.chain.head.hash);
  } finally {
    await Promise.all([honest.destroy(), joining.destroy()]);
  }
});
