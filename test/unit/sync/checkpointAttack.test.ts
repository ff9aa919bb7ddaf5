// Checkpoint sync against a lying or stalling peer (docs/protocol.md §9.7), over a real LevelDB
// chain: a window block whose body is not the one its header commits to (tx_root,
// attestations_root, slashings_root) is refused, since the node would store those bodies (the pools'
// liveness reads their attesters, the API and sync serve them); and one peer cannot hold a
// checkpoint start past its timeout (busy replies or slow pages); a page over the server's bounds or
// out of order is refused as it arrives (in process and over real WebSockets), before the node holds more.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { attestOn, blockFor, makeKeys, makeSpec, openTestChain, silentLog, tempDir } from "../../helpers/fixtures.ts";
import type { Chain } from "../../../src/chain/chain.ts";
import type { Block } from "../../../src/consensus/types.ts";
import type { BlockMeta } from "../../../src/storage/records.ts";
import { CheckpointError, type StateAtPage } from "../../../src/chain/checkpoint.ts";
import { fetchCheckpointState, fetchStateAt, STATE_AT_ACCOUNTS_PER_PAGE, type StateAtSource } from "../../../src/sync/stateAt.ts";
import { handleSyncRequest } from "../../../src/sync/protocol.ts";
import { PeerManager } from "../../../src/p2p/peerManager.ts";
import { defaultP2POptions } from "../../../src/p2p/options.ts";
import type { ResEnvelope } from "../../../src/p2p/peer.ts";
import { genesisBlock } from "../../../src/chain/spec.ts";
import { waitFor } from "../../helpers/net.ts";

const keys = makeKeys(4);
const spec = makeSpec(keys);
const L = spec.params.epoch_length;
const dir = tempDir();
let c: Awaited<ReturnType<typeof openTestChain>>;

async function childOf(chain: Chain, parent: BlockMeta): Promise<Block> {
  const attestations = parent.height === 0 ? [] : await Promise.all(keys.map((k) => attestOn(chain, k, parent.height, parent.hash)));
  return blockFor(chain, parent, keys, 0, { attestations });
}

before(async () => {
  c = await openTestChain(spec, dir.dir);
  for (let i = 0; i < 3 * L + 5; i++) assert.equal((await c.chain.importBlock(await childOf(c.chain, c.chain.head))).status, "imported");
  assert.ok(c.chain.finalizedCheckpoint.height > 0);
});

after(async () => {
  await c.close();
  dir.cleanup();
});

function servingPeer(chain: Chain, tamper?: (page: StateAtPage) => void): StateAtSource {
  return {
    async request(path, data) {
      const res = await handleSyncRequest(chain, path, data);
      if (res.ok && tamper) tamper(res.data as StateAtPage);
      return res;
    },
  };
}

test("a window block whose attestations, transactions or slashings are not the ones its header commits to is refused", async () => {
  const cp = c.chain.finalizedCheckpoint;
  await fetchStateAt(spec, cp, servingPeer(c.chain)); // the honest state verifies
  const dropVotes = servingPeer(c.chain, (page) => {
    const item = page.blocks.find((x) => x.block.attestations.length > 1);
    if (item) item.block.attestations = item.block.attestations.slice(1); // a validator made to look offline
  });
  await assert.rejects(fetchStateAt(spec, cp, dropVotes), (e: unknown) => e instanceof CheckpointError && /attestations_root/.test(e.message));
  const forgeTxs = servingPeer(c.chain, (page) => {
    const item = page.blocks[page.blocks.length - 1];
    if (item) item.block.txs = [];
    if (item) item.block.slashings = [];
    const other = page.blocks.find((x) => x.block.txs.length > 0);
    if (other) other.block.txs = other.block.txs.slice(1);
  });
  const withTxs = (await fetchStateAt(spec, cp, servingPeer(c.chain))).blocks.some((x) => x.block.txs.length > 0);
  if (withTxs) await assert.rejects(fetchStateAt(spec, cp, forgeTxs), (e: unknown) => e instanceof CheckpointError && /tx_root/.test(e.message));
});

test("one peer cannot hold a checkpoint start past its timeout: busy replies forever, or pages that come slowly", async () => {
  const cp = c.chain.finalizedCheckpoint;
  const busy: StateAtSource = { request: async () => ({ ok: false, data: null, errors: ["busy: served byte budget spent, retry in 5000 ms"] }) };
  const honest = servingPeer(c.chain);
  const slow: StateAtSource = {
    async request(path, data) {
      await new Promise((r) => setTimeout(r, 400));
      return handleSyncRequest(c.chain, path, data);
    },
  };
  for (const peer of [busy, slow]) {
    const t0 = Date.now();
    const outcome = await Promise.race([
      fetchCheckpointState(spec, cp, { peers: () => [peer], penalize: () => undefined, log: silentLog }, { timeoutMs: 1000, retryMs: 50 }).then(
        () => "served",
        (e: unknown) => (e as Error).message,
      ),
      new Promise<string>((r) => setTimeout(() => r("still fetching after 8 s"), 8000).unref()),
    ]);
    assert.match(outcome, /no peer served|did not answer|timed out|took longer/, `after ${Date.now() - t0} ms: ${outcome}`);
    assert.ok(Date.now() - t0 < 4000, `gave up after ${Date.now() - t0} ms, timeout 1000 ms`);
  }
  // An honest peer after one that only ever answers busy still serves, well within the timeout.
  const busyShort: StateAtSource = { request: async () => ({ ok: false, data: null, errors: ["busy: served byte budget spent, retry in 200 ms"] }) };
  const t0 = Date.now();
  const got = await fetchCheckpointState(spec, cp, { peers: () => [busyShort, honest], penalize: () => undefined, log: silentLog }, { timeoutMs: 60_000, retryMs: 50 });
  assert.ok(Date.now() - t0 < 10_000, `served after ${Date.now() - t0} ms`);
  assert.equal(got.checkpoint.hash, cp.hash);
});

test("state_at serves the recent finalized checkpoints only, and pages alternating between them do not rebuild their states page after page", async () => {
  const cp = c.chain.finalizedCheckpoint;
  const I = spec.params.checkpoint_interval;
  const old = (await c.chain.getCanonicalMeta(cp.height - 5 * I))!;
  const refused = await handleSyncRequest(c.chain, "/data/state_at", { height: old.height, hash: old.hash, cursor: null });
  assert.equal(refused.ok, false, "a checkpoint five intervals below the finalized one");
  assert.match(String((refused.errors as string[])[0]), new RegExp(`the finalized checkpoint here is ${cp.height}:`));
  // A hostile peer's cheapest pages: the last address and EBID as cursors (empty, so a few bytes of
  // its byte budget each), for two checkpoints in turn.
  const recent = [cp, { height: cp.height - I, hash: (await c.chain.getCanonicalMeta(cp.height - I))!.hash }];
  const built = { n: 0 };
  const stateAt = c.chain.stateAt.bind(c.chain);
  c.chain.stateAt = (...args: Parameters<Chain["stateAt"]>) => {
    built.n++;
    return stateAt(...args);
  };
  try {
    for (let i = 0; i < 10; i++) {
      for (const k of recent) {
        for (const cursor of [`a${"f".repeat(64)}`, `v${"f".repeat(64)}`]) {
          const r = await handleSyncRequest(c.chain, "/data/state_at", { height: k.height, hash: k.hash, cursor });
          assert.equal(r.ok, true, JSON.stringify(r.errors));
        }
      }
    }
    // Many pages at once, for a checkpoint whose state is not kept yet, wait for one build.
    const third = (await c.chain.getCanonicalMeta(cp.height - 2 * I))!;
    const before = built.n;
    const all = await Promise.all(Array.from({ length: 16 }, () => handleSyncRequest(c.chain, "/data/state_at", { height: third.height, hash: third.hash, cursor: `v${"f".repeat(64)}` })));
    assert.ok(all.every((r) => r.ok));
    assert.equal(built.n - before, 1, "16 concurrent pages, one state built");
  } finally {
    delete (c.chain as { stateAt?: unknown }).stateAt;
  }
  assert.ok(built.n <= recent.length, `${built.n} states built for 40 pages of ${recent.length} checkpoints while the head stayed`);
});

test("a changes record that names an account twice, or one the block did not change, is refused (a liar's history for the window's blocks)", async () => {
  const cp = c.chain.finalizedCheckpoint;
  const honest = await fetchStateAt(spec, cp, servingPeer(c.chain));
  const top = honest.blocks[honest.blocks.length - 1]!;
  const touched = new Set(top.changes!.changes.map((x) => x.address));
  const untouched = honest.accounts.find(([address]) => !touched.has(address))!;
  assert.ok(untouched, "an account the checkpoint block did not change");
  const twice = servingPeer(c.chain, (page) => {
    const item = page.blocks.find((x) => x.block.hash === cp.hash);
    if (item) item.changes!.changes.push({ ...item.changes!.changes[0]! });
  });
  await assert.rejects(fetchStateAt(spec, cp, twice), (e: unknown) => e instanceof CheckpointError && /twice|unchanged/.test(e.message));
  const noop = servingPeer(c.chain, (page) => {
    const item = page.blocks.find((x) => x.block.hash === cp.hash);
    const [address, balance, nonce, index] = untouched;
    if (item) item.changes!.changes.push({ address, index, before: [balance, nonce], after: [balance, nonce] });
  });
  await assert.rejects(fetchStateAt(spec, cp, noop), (e: unknown) => e instanceof CheckpointError && /twice|unchanged/.test(e.message));
});

test("a page over its bound, or pages out of order, is refused as it arrives: its peer is struck and asked nothing more, and an honest peer serves the state", async () => {
  const cp = c.chain.finalizedCheckpoint;
  // A liar padding its first accounts page past the bound the server uses (addresses kept ascending).
  const asked = { afterBad: 0, bad: false };
  const oversize: StateAtSource = {
    async request(path, data) {
      if (asked.bad) asked.afterBad++;
      const res = await handleSyncRequest(c.chain, path, data);
      const page = res.data as StateAtPage;
      if (res.ok && page.accounts.length > 0) {
        const pad = Array.from({ length: STATE_AT_ACCOUNTS_PER_PAGE + 1 - page.accounts.length }, (_, i) => [i.toString(16).padStart(64, "0"), "10", 0, page.accounts.length + i] as [string, string, number, number]);
        page.accounts = [...page.accounts, ...pad].sort((x, y) => (x[0] < y[0] ? -1 : 1));
        asked.bad = true;
      }
      return res;
    },
  };
  // A liar sending every row the honest state has, but the validators before the accounts.
  const reordered: StateAtSource = {
    async request(path, data) {
      const cursor = (data as { cursor: string | null }).cursor ?? "";
      const res = await handleSyncRequest(c.chain, path, data);
      const page = res.data as StateAtPage;
      if (res.ok && cursor.startsWith("v") && page.next_cursor === null) page.next_cursor = "a";
      else if (res.ok && cursor.startsWith("a") && page.next_cursor === "v") page.next_cursor = null;
      else if (res.ok && page.next_cursor === "a") page.next_cursor = "v";
      return res;
    },
  };
  const honest = servingPeer(c.chain);
  for (const [liar, why] of [
    [oversize, /more than 8192 accounts/],
    [reordered, /out of order|after the accounts|expected/],
  ] as const) {
    const struck: { peer: StateAtSource; reason: string }[] = [];
    const got = await fetchCheckpointState(spec, cp, { peers: () => [liar, honest], penalize: (peer, reason) => struck.push({ peer, reason }), log: silentLog }, { timeoutMs: 20_000 });
    assert.equal(got.checkpoint.hash, cp.hash);
    assert.deepEqual(
      struck.map((x) => x.peer),
      [liar],
      `the liar is struck, the honest peer is not (${struck.map((x) => x.reason).join("; ")})`,
    );
    assert.match(struck[0]!.reason, why);
  }
  assert.equal(asked.afterBad, 0, "the peer that sent an oversize page was asked for no further page");
});

// Two liars (one page over the accounts bound; every row, but the validators before the accounts).
function padAccounts(_cursor: string, page: StateAtPage): void {
  if (page.accounts.length === 0) return;
  const pad = Array.from({ length: STATE_AT_ACCOUNTS_PER_PAGE + 1 - page.accounts.length }, (_, i) => [i.toString(16).padStart(64, "0"), "10", 0, page.accounts.length + i] as [string, string, number, number]);
  page.accounts = [...page.accounts, ...pad].sort((x, y) => (x[0] < y[0] ? -1 : 1));
}
function validatorsFirst(cursor: string, page: StateAtPage): void {
  if (cursor.startsWith("v") && page.next_cursor === null) page.next_cursor = "a";
  else if (cursor.startsWith("a") && page.next_cursor === "v") page.next_cursor = null;
  else if (page.next_cursor === "a") page.next_cursor = "v";
}

test("over real WebSockets: a lying peer's page over its bound, or out of order, is a strike on that connection, and the state comes from the honest peer", async () => {
  const cp = c.chain.finalizedCheckpoint;
  const id = (k: (typeof keys)[number]) => ({ chainId: spec.chain_id, genesisHash: genesisBlock(spec).hash, ebid: k.ebid, secretKey: k.secretKey });
  const status = () => ({ height: c.chain.head.height, tip_hash: c.chain.head.hash });
  for (const [tamper, why] of [
    [padAccounts, /more than 8192 accounts/],
    [validatorsFirst, /out of order/],
  ] as const) {
    const served = { liar: 0 };
    const server = (key: (typeof keys)[number], lie: boolean) =>
      new PeerManager({ ...defaultP2POptions, host: "127.0.0.1", port: 0 }, id(key), {
        status, onPeerReady: () => undefined, onMessage: () => undefined,
        onRequest: async (_p, path, data): Promise<ResEnvelope> => {
          const res = await handleSyncRequest(c.chain, path, data);
          if (lie && res.ok) {
            served.liar++;
            tamper((data as { cursor?: string | null }).cursor ?? "", res.data as StateAtPage);
          }
          return res;
        },
      }, silentLog);
    const liar = server(keys[0]!, true);
    const honest = server(keys[1]!, false);
    await liar.start();
    await honest.start();
    const client = new PeerManager({ ...defaultP2POptions, host: "127.0.0.1", port: 0, peers: [`ws://127.0.0.1:${liar.port}`, `ws://127.0.0.1:${honest.port}`] }, id(keys[2]!), {
      status, onPeerReady: () => undefined, onMessage: () => undefined, onRequest: async () => ({ ok: false, data: null, errors: ["nothing"] }),
    }, silentLog);
    await client.start();
    try {
      await waitFor(() => client.readyPeers().length === 2 || undefined, 5000, "both peers ready");
      const liarFirst = () => client.readyPeers().sort((x, y) => (x.ebid === keys[0]!.ebid ? -1 : y.ebid === keys[0]!.ebid ? 1 : 0));
      const struck: { ebid: string | undefined; reason: string }[] = [];
      const got = await fetchCheckpointState(spec, cp, { peers: liarFirst, penalize: (p, reason) => (struck.push({ ebid: p.ebid, reason }), client.penalize(p, reason)), log: silentLog }, { timeoutMs: 20_000 });
      assert.equal(got.checkpoint.hash, cp.hash);
      assert.ok(served.liar > 0, "the liar was asked first");
      assert.deepEqual(struck.map((x) => x.ebid), [keys[0]!.ebid], `the liar alone is struck (${struck.map((x) => x.reason).join("; ")})`);
      assert.match(struck[0]!.reason, why);
    } finally {
      await client.stop();
      await liar.stop();
      await honest.stop();
    }
  }
});
