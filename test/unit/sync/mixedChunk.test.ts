// A chunk's blocks all come from one peer (docs/protocol.md §9.6): when a peer serves the first part
// of a chunk (a reply cut with has_more) and then stops answering, the next peer is asked for the
// whole chunk, not for the rest of it. Continuing a liar's partial reply from another branch made
// the honest peer's blocks fail to connect, and the honest peer was struck for it. The syncer runs
// on a real chain in LevelDB; the peers are fakes that answer with the real sync server
// (`handleSyncRequest`) over their own chains.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Syncer } from "../../../src/sync/syncer.ts";
import { handleSyncRequest } from "../../../src/sync/protocol.ts";
import { extend, makeKeys, makeSpec, openTestChain, silentLog } from "../../helpers/fixtures.ts";
import { waitFor } from "../../helpers/net.ts";
import { fakeSyncPeer } from "../../helpers/fakeSyncPeer.ts";

test("a chunk a liar served in part and then dropped is asked whole of the next peer, which is not struck", async () => {
  const keys = makeKeys(3);
  const spec = makeSpec(keys);
  const honest = await openTestChain(spec);
  const other = await openTestChain(spec);
  const joining = await openTestChain(spec);
  try {
    await extend(honest.chain, keys, 10);
    await extend(other.chain, keys, 10, 1); // another branch: the slot-1 backups' blocks
    // The liar serves 3 blocks of its branch with has_more, then never answers again.
    const liar = fakeSyncPeer("a", other.chain, async (path, data, n) => {
      if (n > 0) return { ok: false, data: null, errors: ["request timed out"] };
      const r = await handleSyncRequest(other.chain, path, data);
      const d = r.data as { blocks: unknown[] };
      return { ...r, data: { ...d, blocks: d.blocks.slice(0, 3), count: 3, has_more: true } };
    });
    const good = fakeSyncPeer("b", honest.chain, (path, data) => handleSyncRequest(honest.chain, path, data));
    const struck: string[] = [];
    const syncer = new Syncer(
      { chain: joining.chain, peers: () => [liar, good], penalize: (p, reason) => struck.push(`${p.ebid!.slice(0, 1)}: ${reason}`), log: silentLog },
      { chunk: 10, requestTimeoutMs: 1000 },
    );
    syncer.maybeSync(liar);
    await waitFor(() => joining.chain.head.height === 10, 5000, `caught up (at ${joining.chain.head.height})`).catch((e) => {
      throw new Error(`${(e as Error).message}; strikes: ${JSON.stringify(struck)}`);
    });
    assert.equal(joining.chain.head.hash, honest.chain.head.hash);
    assert.deepEqual(struck, [], "the honest peer was not struck");
    syncer.stop();
  } finally {
    await Promise.all([honest.destroy(), other.destroy(), joining.destroy()]);
  }
});

test("a continuation from a server whose chain moved between two replies (a reorg) moves the chunk on without a strike", async () => {
  const keys = makeKeys(3);
  const spec = makeSpec(keys);
  const honest = await openTestChain(spec);
  const other = await openTestChain(spec);
  const joining = await openTestChain(spec);
  try {
    await extend(honest.chain, keys, 10);
    await extend(other.chain, keys, 10, 1); // the branch the server moved to
    // Its first reply is cut after 3 blocks of one branch; its continuation comes from the other.
    const moved = fakeSyncPeer("a", honest.chain, async (path, data, n) => {
      const r = await handleSyncRequest(n === 0 ? honest.chain : other.chain, path, data);
      if (n > 0) return r;
      const d = r.data as { blocks: unknown[] };
      return { ...r, data: { ...d, blocks: d.blocks.slice(0, 3), count: 3, has_more: true } };
    });
    const good = fakeSyncPeer("b", honest.chain, (path, data) => handleSyncRequest(honest.chain, path, data));
    const struck: string[] = [];
    const syncer = new Syncer(
      { chain: joining.chain, peers: () => [moved, good], penalize: (p, reason) => struck.push(`${p.ebid!.slice(0, 1)}: ${reason}`), log: silentLog },
      { chunk: 10, requestTimeoutMs: 1000 },
    );
    syncer.maybeSync(moved);
    await waitFor(() => joining.chain.head.height === 10, 5000, `caught up (at ${joining.chain.head.height})`);
    assert.equal(joining.chain.head.hash, honest.chain.head.hash);
    assert.deepEqual(struck, [], "no strike for a chain that moved");
    syncer.stop();
  } finally {
    await Promise.all([honest.destroy(), other.destroy(), joining.destroy()]);
  }
});
