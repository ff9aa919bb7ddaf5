// A chunk's blocks all come from one peer (docs/protocol.md §9.6): when a peer serves the first part
// of a chunk (a reply cut with has_more) and then stops answering, the next peer is asked for the
// whole chunk, not for the rest of it. Continuing a liar's partial reply from another branch made
// the honest peer's blocks fail to connect, and the honest peer was struck for it. The syncer runs
// on a real chain in LevelDB; the peers are fakes that answer with the real sync server
// (`handleSyncRequest`) over their own chains. A server whose chain moved between a cut reply and its
// continuation (a reorg) is not struck either, and a chunk from another peer that does not chain on
// is asked again of the others instead of stopping the sync.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Syncer } from "../../../src/sync/syncer.ts";
import { handleSyncRequest } from "../../../src/sync/protocol.ts";
import { extend, makeKeys, makeSpec, openTestChain, silentLog } from "../../helpers/fixtures.ts";
import { waitFor } from "../../helpers/net.ts";
import { fakeSyncPeer } from "../../helpers/fakeSyncPeer.ts";
import type { Chain } from "../../../src/chain/chain.ts";
import type { ResEnvelope } from "../../../src/p2p/peer.ts";

/** Replies to the first request with its first 3 blocks and `has_more` (a cut reply). */
async function cutReply(chain: Chain, path: string, data: unknown): Promise<ResEnvelope> {
  const r = await handleSyncRequest(chain, path, data);
  const d = r.data as { blocks: unknown[] };
  return { ...r, data: { ...d, blocks: d.blocks.slice(0, 3), count: 3, has_more: true } };
}

/** Runs `body` over three chains on LevelDB: `honest` and `other` (another branch from height 1 on: the slot-1 backups' blocks), `heights` blocks each, and an empty `joining` one. */
async function withBranches(heights: number, body: (honest: Chain, other: Chain, joining: Chain) => Promise<void>): Promise<void> {
  const keys = makeKeys(3);
  const spec = makeSpec(keys);
  const honest = await openTestChain(spec);
  const other = await openTestChain(spec);
  const joining = await openTestChain(spec);
  try {
    await extend(honest.chain, keys, heights);
    await extend(other.chain, keys, heights, 1);
    await body(honest.chain, other.chain, joining.chain);
  } finally {
    await Promise.all([honest.destroy(), other.destroy(), joining.destroy()]);
  }
}

/**
 * Syncs 10 blocks toward peer "a", which answers with `first` (given the honest chain, another
 * branch's, and its request count), while peer "b" serves the honest chain: the joining chain must
 * end on the honest head, and no peer be struck.
 */
async function syncPastFirst(first: (honest: Chain, other: Chain, path: string, data: unknown, n: number) => Promise<ResEnvelope>): Promise<void> {
  await withBranches(10, async (honest, other, joining) => {
    const a = fakeSyncPeer("a", honest, (path, data, n) => first(honest, other, path, data, n));
    const good = fakeSyncPeer("b", honest, (path, data) => handleSyncRequest(honest, path, data));
    const struck: string[] = [];
    const syncer = new Syncer(
      { chain: joining, peers: () => [a, good], penalize: (p, reason) => struck.push(`${p.ebid!.slice(0, 1)}: ${reason}`), log: silentLog },
      { chunk: 10, requestTimeoutMs: 1000 },
    );
    syncer.maybeSync(a);
    await waitFor(() => joining.head.height === 10, 5000, "caught up").catch((e) => {
      throw new Error(`${(e as Error).message} (at ${joining.head.height}); strikes: ${JSON.stringify(struck)}`);
    });
    assert.equal(joining.head.hash, honest.head.hash);
    assert.deepEqual(struck, [], "no peer was struck");
    syncer.stop();
  });
}

test("a chunk a liar served in part and then dropped is asked whole of the next peer, which is not struck", () =>
  // The liar serves 3 blocks of its branch with has_more, then never answers again.
  syncPastFirst((_honest, other, path, data, n) => (n > 0 ? Promise.resolve({ ok: false, data: null, errors: ["request timed out"] }) : cutReply(other, path, data))),
);

test("a continuation from a server whose chain moved between two replies (a reorg) moves the chunk on without a strike", () =>
  // Its first reply is cut after 3 blocks of one branch; its continuation comes from the other.
  syncPastFirst((honest, other, path, data, n) => (n === 0 ? cutReply(honest, path, data) : handleSyncRequest(other, path, data))),
);

/**
 * Syncs 20 blocks in chunks of 10 toward an honest peer while `liar`, claiming the same heights,
 * answers with `reply` (given the honest chain and another branch): chunk 2 is the liar's by
 * rotation. The joining chain must reach the honest head, the liar be asked once, and only the
 * strikes in `strikes` be made.
 */
async function syncPastLiar(reply: (honest: Chain, other: Chain, path: string, data: unknown) => Promise<ResEnvelope>, strikes: RegExp[]): Promise<void> {
  await withBranches(20, async (honest, other, joining) => {
    const asked: string[] = [];
    const fromOf = (data: unknown) => (data as { from_index?: number }).from_index ?? "-";
    const target = fakeSyncPeer("a", honest, (path, data) => (asked.push(`a ${fromOf(data)}`), handleSyncRequest(honest, path, data)));
    const liar = fakeSyncPeer("b", honest, (path, data) => (asked.push(`b ${fromOf(data)}`), reply(honest, other, path, data)));
    const struck: string[] = [];
    const syncer = new Syncer(
      { chain: joining, peers: () => [target, liar], penalize: (p, reason) => struck.push(`${p.ebid!.slice(0, 1)}: ${reason}`), log: silentLog },
      { chunk: 10, requestTimeoutMs: 1000 },
    );
    syncer.maybeSync(target);
    await waitFor(() => joining.head.height === 20, 5000, "caught up to the target's head").catch((e) => {
      throw new Error(`${(e as Error).message}: at ${joining.head.height}; asked ${asked.join(", ")}; strikes ${JSON.stringify(struck)}`);
    });
    assert.equal(joining.head.hash, honest.head.hash);
    assert.deepEqual(asked.filter((a) => a.startsWith("b")), ["b 11"], "the liar was asked once, for the chunk it was given");
    assert.equal(struck.length, strikes.length, `strikes: ${JSON.stringify(struck)}`);
    strikes.forEach((re, k) => assert.match(struck[k]!, re));
    syncer.stop();
  });
}

test("a chunk that does not chain on, from a peer other than the one we sync toward, is asked again of that one: the sync goes on, no strike", () =>
  // The liar serves its own branch (an honest peer on a fork does the same).
  syncPastLiar((_honest, other, path, data) => handleSyncRequest(other, path, data), []),
);

test("a chunk with an invalid block, from a peer other than the one we sync toward, is struck and asked again of that one: the sync goes on", () =>
  // The liar serves the honest blocks with the third one's signature broken: they chain, and the third fails.
  syncPastLiar(async (honest, _other, path, data) => {
    const r = await handleSyncRequest(honest, path, data);
    const blocks = (r.data as { blocks: { signature: string }[] }).blocks.map((b, k) => (k === 2 ? { ...b, signature: (b.signature[0] === "0" ? "1" : "0") + b.signature.slice(1) } : b));
    return { ...r, data: { ...(r.data as object), blocks } };
  }, [/^b: invalid block in range/]),
);
