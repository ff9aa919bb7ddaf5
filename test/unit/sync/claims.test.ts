// Height claims against in-process nodes over real WebSockets and LevelDB (docs/protocol.md §6.1,
// §9.6): peers that report a height 1,000 above the tip and never serve a block move neither
// eligibility nor the miner's view, are struck once their claim goes unbacked past the timeout, are
// not chased with a new sync on every status, and do not keep an honestly-behind node from catching
// up and becoming eligible.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { VisionNode } from "../../../src/node/node.ts";
import { extend, makeKeys, makeSpec, openTestChain, silentLog, tempDir } from "../../helpers/fixtures.ts";
import { waitFor } from "../../helpers/net.ts";
import { runLiars } from "../../../src/drill/liars.ts";
import type { SyncerOptions } from "../../../src/sync/syncer.ts";

const keys = makeKeys(3);
const spec = makeSpec(keys);
const HEIGHT = 20;
const dirs = [tempDir(), tempDir(), tempDir()];
const sync: Partial<SyncerOptions> = { claimBackingMs: 600, retryAfterMs: 60_000 };
let a: VisionNode;
let b: VisionNode;

function opts(dataDir: string, peers: string[] = []) {
  return { dataDir, spec, p2p: { host: "127.0.0.1", port: 0, peers }, apiHost: "127.0.0.1", apiPort: 0, produce: false, mine: false, sync };
}

function liarsAt(node: VisionNode, count = 4, ahead = 1000) {
  return runLiars({ url: `ws://127.0.0.1:${node.p2p.port}`, chainId: spec.chain_id, genesisHash: node.chain.genesis.hash, ebid: node.key.ebid, tipHeight: () => node.chain.head.height }, count, { ahead });
}

before(async () => {
  const c = await openTestChain(spec, dirs[0]!.dir);
  await extend(c.chain, keys, HEIGHT);
  await c.close();
  a = await VisionNode.init(opts(dirs[0]!.dir), silentLog);
  b = await VisionNode.init(opts(dirs[1]!.dir, [`ws://127.0.0.1:${a.p2p.port}`]), silentLog);
  await waitFor(() => b.chain.head.height === HEIGHT, 20_000, "the honest peer synced");
});

after(async () => {
  await b.close();
  await a.close();
  for (const d of dirs) d.cleanup();
});

test("claims nobody backs move neither eligibility nor the miner's view; they are struck, ignored, not chased", async () => {
  const liars = liarsAt(a);
  try {
    await waitFor(() => a.p2p.readyPeers().length === 5, 5000, "four liars and the honest peer ready");
    await waitFor(() => a.snapshot.eligible, 6000, "eligible with the liars connected").catch(() => undefined);
    const snap = a.snapshot.current;
    assert.equal(snap.sync_state, "AtTip", `liars claiming ${HEIGHT + 1000} do not make the node Behind: ${JSON.stringify(snap)}`);
    assert.equal(snap.network_height, HEIGHT);
    assert.equal(snap.ready_peers, 1, "only the honest peer's height counts");
    assert.equal(a.snapshot.eligible, true);
    assert.equal(Math.max(-1, ...a.countedPeerHeights()), HEIGHT, "the miner's network height is the backed one");

    // Past the backing timeout (600 ms here) each liar's claim is a strike and is ignored.
    const liarPeers = () => a.p2p.readyPeers().filter((p) => p.ebid !== b.key.ebid);
    await waitFor(() => liarPeers().length === 4 && liarPeers().every((p) => p.claimsIgnored && p.strikes >= 1), 5000, "liars struck and ignored");
    const honest = a.p2p.readyPeers().find((p) => p.ebid === b.key.ebid)!;
    assert.equal(honest.claimsIgnored, false);
    assert.equal(honest.backedHeight, HEIGHT);
    assert.equal(honest.strikes, 0);

    // Statuses keep coming every 500 ms; sync attempts toward them do not.
    const before = { ...liars.stats };
    await new Promise((r) => setTimeout(r, 2500));
    const statuses = liars.stats.statuses - before.statuses;
    const requests = liars.stats.requests - before.requests;
    assert.ok(statuses >= 12, `statuses kept coming (${statuses})`);
    assert.ok(requests <= 1, `${requests} sync requests for ${statuses} statuses from peers already tried`);
    assert.equal(a.syncer.progress.syncing, false);
    assert.equal(a.snapshot.current.sync_state, "AtTip");
  } finally {
    await liars.stop();
  }
});

test("peers claiming height 0 do not make the node TooFarAhead", async () => {
  const liars = liarsAt(a, 4, -HEIGHT);
  try {
    await waitFor(() => a.p2p.readyPeers().length === 5 && liars.stats.statuses >= 8, 5000, "four liars at 0 and the honest peer");
    await new Promise((r) => setTimeout(r, 1500)); // two snapshot ticks with them
    const snap = a.snapshot.current;
    assert.equal(snap.sync_state, "AtTip", `liars at height 0 leave the node at the tip: ${JSON.stringify(snap)}`);
    assert.equal(snap.network_height, HEIGHT);
    assert.equal(snap.ready_peers, 1);
    assert.equal(a.snapshot.eligible, true);
  } finally {
    await liars.stop();
  }
});

test("an honestly-behind node among liars catches up from its honest peer and becomes eligible", async () => {
  const c = await VisionNode.init(opts(dirs[2]!.dir, [`ws://127.0.0.1:${a.p2p.port}`]), silentLog);
  const liars = liarsAt(c);
  try {
    await waitFor(() => c.chain.head.height === HEIGHT, 20_000, "caught up from the honest peer");
    assert.equal(c.chain.head.hash, a.chain.head.hash);
    await waitFor(() => c.snapshot.eligible, 8000, "eligible once caught up, the liars notwithstanding");
    assert.equal(c.snapshot.current.sync_state, "AtTip");
    assert.equal(c.snapshot.current.network_height, HEIGHT);
  } finally {
    await liars.stop();
    await c.close();
  }
});
