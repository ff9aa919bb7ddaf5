// Mesh gossip against hostile peers over real WebSockets on 127.0.0.1 (docs/protocol.md §9.5.1): a
// PeerManager and raw clients that complete the handshake with `gossip: 1` and then send any
// control message. What an `iwant` can pull (once per announced id, a bodies-per-second bucket,
// the served-byte budget), what an `ihave` flood of made-up ids costs (a bounded fetch table, one
// strike a second), a promise not kept (a strike, the next announcer asked), graft floods (the
// backoff, the rate limit), and peers that do not speak it (flooded, never sent control).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { PeerManager } from "../../../src/p2p/peerManager.ts";
import { defaultP2POptions, type P2POptions } from "../../../src/p2p/options.ts";
import { IWANT_SERVED } from "../../../src/p2p/meshGossip.ts";
import { MAX_GOSSIP_IDS } from "../../../src/p2p/gossipMessages.ts";
import { signTransfer, txHash } from "../../../src/chain/tx.ts";
import { silentLog, type TestKey } from "../../helpers/fixtures.ts";
import { waitFor } from "../../helpers/net.ts";
import { CHAIN_ID, GENESIS, freshKey, handshake, recordingLog, sleep, type Hostile } from "./attackKit.ts";
import type { Logger } from "pino";

const hexId = (i: number | string) => createHash("sha256").update(`id:${i}`).digest("hex");
const parsed = (h: Hostile) => h.lines.map((l) => JSON.parse(l) as { type: string; kind?: string; ids?: string[]; backoff_ms?: number; tx?: unknown });
const idsIn = (h: Hostile, type: "ihave" | "iwant") => parsed(h).filter((m) => m.type === type).flatMap((m) => m.ids ?? []);
const countType = (h: Hostile, type: string) => parsed(h).filter((m) => m.type === type).length;

/** A node's P2P service on 127.0.0.1 whose handler reports every transfer to the mesh (as the node does). */
async function gossipNode(over: Partial<P2POptions> = {}, log: Logger = silentLog): Promise<{ mgr: PeerManager; key: TestKey; url: string }> {
  const key = freshKey();
  const mgr: PeerManager = new PeerManager(
    { ...defaultP2POptions, host: "127.0.0.1", port: 0, ...over },
    { chainId: CHAIN_ID, genesisHash: GENESIS, ebid: key.ebid, secretKey: key.secretKey },
    {
      status: () => ({ height: 0, tip_hash: GENESIS }),
      onPeerReady: () => undefined,
      onMessage: (p, msg) => {
        if (msg.type === "tx") mgr.gossipReceived(p, "tx", txHash(msg.tx as Parameters<typeof txHash>[0]));
      },
      onRequest: async () => ({ ok: false }),
    },
    log,
  );
  await mgr.start();
  return { mgr, key, url: `ws://127.0.0.1:${mgr.port}` };
}

/** `n` hostile peers that speak mesh gossip, connected one after the other (the first 7 fill the mesh). */
async function gossipPeers(url: string, nodeEbid: string, mgr: PeerManager, n: number, hello: Record<string, unknown> = { gossip: 1 }): Promise<Hostile[]> {
  const out: Hostile[] = [];
  for (let i = 0; i < n; i++) {
    out.push(await handshake(url, freshKey(), nodeEbid, { hello }));
    await waitFor(() => mgr.readyPeers().length === out.length, 3000, `peer ${i + 1} ready`);
  }
  return out;
}

const peerOf = (mgr: PeerManager, h: Hostile, all: Hostile[]) => mgr.readyPeers()[all.indexOf(h)]!;

test("the node says gossip: 1 in its hello (none with meshGossip off); a peer without it is flooded in full and never sent control, and its control messages are strikes", async () => {
  const { mgr, key, url } = await gossipNode();
  const off = await gossipNode({ meshGossip: false });
  try {
    const legacy = await handshake(url, freshKey(), key.ebid); // a protocol v3 hello: no gossip field
    await waitFor(() => mgr.readyPeers().length === 1, 3000, "ready");
    const hello = parsed(legacy).find((m) => m.type === "hello") as unknown as { gossip?: number };
    assert.equal(hello.gossip, 1);
    const offHello = parsed(await handshake(off.url, freshKey(), off.key.ebid)).find((m) => m.type === "hello") as unknown as { gossip?: number };
    assert.equal(offHello.gossip, undefined, "meshGossip off: no gossip field");

    for (let i = 0; i < 3; i++) mgr.publish("tx", hexId(i), { type: "tx", tx: { n: i } });
    await waitFor(() => countType(legacy, "tx") === 3, 3000, "three full pushes");
    await sleep(200);
    assert.deepEqual(parsed(legacy).filter((m) => ["graft", "prune", "ihave", "iwant"].includes(m.type)), [], "no control message to a peer without mesh gossip");

    const peer = mgr.readyPeers()[0]!;
    legacy.send({ type: "ihave", kind: "tx", ids: [hexId("x")] });
    await waitFor(() => peer.strikes === 1, 2000, "a strike for control from a peer without mesh gossip");
    legacy.ws.terminate();
  } finally {
    await mgr.stop();
    await off.mgr.stop();
  }
});

test("iwant amplification: each announced id is served once, at most the bodies-per-second bucket, and a known id never announced is a strike", async () => {
  const { mgr, key, url } = await gossipNode();
  try {
    const peers = await gossipPeers(url, key.ebid, mgr, 9);
    await sleep(100);
    const lazy = peers.filter((h) => countType(h, "graft") === 0);
    assert.equal(lazy.length, 2, "7 peers in the mesh (d_high), 2 outside it");
    const asker = lazy[0]!;
    const N = 1500;
    const pad = "x".repeat(200);
    for (let i = 0; i < N; i++) mgr.publish("tx", hexId(i), { type: "tx", tx: { n: i, pad } });
    await waitFor(() => idsIn(asker, "ihave").length === N, 5000, `all ${N} announced to a lazy peer`);
    assert.ok(countType(asker, "ihave") <= Math.ceil(N / MAX_GOSSIP_IDS) + 2, "announcements gathered, 64 ids per ihave");
    assert.equal(countType(asker, "tx"), 0, "no full push outside the mesh");

    const t0 = Date.now();
    const announced = idsIn(asker, "ihave");
    for (let i = 0; i < announced.length; i += MAX_GOSSIP_IDS) asker.send({ type: "iwant", kind: "tx", ids: announced.slice(i, i + MAX_GOSSIP_IDS) });
    await waitFor(() => countType(asker, "tx") >= IWANT_SERVED.burst, 5000, "the bucket's burst served");
    await sleep(300);
    const served = countType(asker, "tx");
    const elapsedS = (Date.now() - t0) / 1000;
    assert.ok(served < N, `not all ${N} served (${served})`);
    assert.ok(served <= IWANT_SERVED.burst + IWANT_SERVED.perSec * elapsedS + 1, `${served} bodies within the bucket over ${elapsedS.toFixed(2)} s`);

    // Again for the same ids: nothing more (once each), and no strike: they were announced.
    asker.send({ type: "iwant", kind: "tx", ids: announced.slice(0, MAX_GOSSIP_IDS) });
    await sleep(300);
    assert.equal(countType(asker, "tx"), served, "an id is served once per peer");
    const peer = peerOf(mgr, asker, peers);
    assert.equal(peer.strikes, 0);
    mgr.publish("tx", hexId("ours"), { type: "tx", tx: { n: "ours" } }, true); // ours: pushed in full, announced to none
    asker.send({ type: "iwant", kind: "tx", ids: [hexId("never seen")] });
    await sleep(200);
    assert.equal(peer.strikes, 0, "an id we do not know: not served, no strike (it may be one we forgot)");
    asker.send({ type: "iwant", kind: "tx", ids: [hexId("ours")] });
    await waitFor(() => peer.strikes === 1, 2000, "a strike for a known id never announced to it");
    for (const h of peers) h.ws.terminate();
  } finally {
    await mgr.stop();
  }
});

test("iwant answers draw on the served-byte budget: a peer that asks for everything gets about what the budget allows", async () => {
  const { mgr, key, url } = await gossipNode({ servedBytesPerSec: 1024, servedBytesBurst: 1024 });
  try {
    const peers = await gossipPeers(url, key.ebid, mgr, 8);
    await sleep(100);
    const asker = peers.find((h) => countType(h, "graft") === 0)!;
    const pad = "y".repeat(1000);
    for (let i = 0; i < 50; i++) mgr.publish("tx", hexId(`b${i}`), { type: "tx", tx: { n: i, pad } });
    await waitFor(() => idsIn(asker, "ihave").length === 50, 3000, "announced");
    asker.send({ type: "iwant", kind: "tx", ids: idsIn(asker, "ihave") });
    await waitFor(() => countType(asker, "tx") >= 1, 3000, "something served");
    await sleep(300);
    // 1 KiB of burst and at most 2 s of debt at 1 KiB/s: about 3 KiB, 3 bodies of 1 KB (4 with timing).
    const served = countType(asker, "tx");
    assert.ok(served >= 2 && served <= 5, `${served} bodies of ~1 KB within a 1 KiB budget`);
    for (const h of peers) h.ws.terminate();
  } finally {
    await mgr.stop();
  }
});

test("an ihave flood of made-up ids: at most 256 of them are asked for, and the liar earns one strike a second, not one per id", async () => {
  const { log, entries } = recordingLog();
  const { mgr, key, url } = await gossipNode({}, log);
  try {
    const [liar] = await gossipPeers(url, key.ebid, mgr, 1);
    const peer = mgr.readyPeers()[0]!;
    for (let m = 0; m < 10; m++) liar!.send({ type: "ihave", kind: "block", ids: Array.from({ length: MAX_GOSSIP_IDS }, (_, i) => hexId(`fake${m}:${i}`)) });
    await waitFor(() => idsIn(liar!, "iwant").length > 0, 2000, "the first fetch");
    await waitFor(() => peer.strikes >= 1, 3000, "a strike for the promises not kept");
    await sleep(1500);
    const asked = idsIn(liar!, "iwant");
    assert.ok(asked.length <= 256, `${asked.length} ids asked of one announcer (at most 256)`);
    assert.equal(new Set(asked).size, asked.length, "each asked once");
    assert.ok(countType(liar!, "iwant") <= Math.ceil(256 / MAX_GOSSIP_IDS) + 1, "asked in gathered iwants");
    assert.ok(peer.strikes <= 2, `${peer.strikes} strikes (one per second at most)`);
    assert.ok(entries.some((e) => String(e.reason).includes("did not deliver")), "the strike names the broken promise");
    liar!.ws.terminate();
  } finally {
    await mgr.stop();
  }
});

test("an announcer that never delivers is struck and the next announcer is asked; the one that delivers is not struck", async () => {
  const { log, entries } = recordingLog();
  const { mgr, key, url } = await gossipNode({}, log);
  try {
    const [liar, honest] = await gossipPeers(url, key.ebid, mgr, 2);
    const tx = signTransfer(freshKey(), { chain_id: CHAIN_ID, to: key.ebid, amount: "1", fee: "1", nonce: 0 });
    const id = txHash(tx);
    liar!.send({ type: "ihave", kind: "tx", ids: [id] });
    await sleep(20);
    honest!.send({ type: "ihave", kind: "tx", ids: [id] });
    await waitFor(() => idsIn(liar!, "iwant").includes(id), 2000, "the first announcer asked");
    const askedLiarAt = Date.now();
    assert.equal(idsIn(honest!, "iwant").length, 0, "one announcer at a time");
    await waitFor(() => idsIn(honest!, "iwant").includes(id), 3000, "the next announcer asked");
    assert.ok(Date.now() - askedLiarAt >= 800, "after the fetch timeout");
    honest!.send({ type: "tx", tx });
    await sleep(1500);
    const [pl, ph] = mgr.readyPeers();
    assert.equal(pl!.strikes, 1, "the liar is struck");
    assert.equal(ph!.strikes, 0, "the one that delivered is not");
    assert.ok(entries.some((e) => String(e.reason).includes(`announced tx ${id} and did not deliver it`)));
    assert.equal(idsIn(liar!, "iwant").length, 1, "not asked again");
    for (const h of [liar!, honest!]) h.ws.terminate();
  } finally {
    await mgr.stop();
  }
});

test("graft during a prune backoff is refused with a prune and a strike; a graft flood meets the graft/prune rate limit and a ban", async () => {
  const { mgr, key, url } = await gossipNode();
  try {
    const [g] = await gossipPeers(url, key.ebid, mgr, 1);
    const peer = mgr.readyPeers()[0]!;
    await waitFor(() => countType(g!, "graft") === 1, 2000, "grafted by the node (small network: every peer)");
    assert.equal(mgr.gossip.inMesh(peer), true);
    g!.send({ type: "prune", backoff_ms: 0 });
    await waitFor(() => !mgr.gossip.inMesh(peer), 2000, "pruned");
    g!.send({ type: "graft" });
    await waitFor(() => countType(g!, "prune") === 1, 2000, "refused with a prune");
    assert.equal(parsed(g!).find((m) => m.type === "prune")!.backoff_ms, 60_000);
    assert.equal(peer.strikes, 1, "a strike for a graft during its backoff");
    assert.equal(mgr.gossip.inMesh(peer), false);
    // 40 more at once: past the shared graft/prune bucket (burst 20) each one is a strike.
    g!.send({ type: "graft" });
    g!.ws.send(Array.from({ length: 40 }, () => JSON.stringify({ type: "graft" })).join("\n") + "\n");
    assert.match((await g!.closed).reason, /banned after/);
  } finally {
    await mgr.stop();
  }
});

test("mesh capture over real sockets: sybils grafting a full mesh are pruned at the next heartbeat (no strike), and the mesh keeps at least d_low of its first members", async () => {
  const { mgr, key, url } = await gossipNode();
  try {
    const first = await gossipPeers(url, key.ebid, mgr, 7); // all grafted: the mesh is at d_high
    await waitFor(() => mgr.gossip.meshSize() === 7, 2000, "mesh of 7");
    const members = mgr.readyPeers().slice();
    const sybils: Hostile[] = [];
    for (let i = 0; i < 12; i++) {
      sybils.push(await handshake(url, freshKey(), key.ebid, { hello: { gossip: 1 } }));
      await waitFor(() => mgr.readyPeers().length === 7 + sybils.length, 3000, `sybil ${i + 1} ready`);
    }
    for (const s of sybils) s.send({ type: "graft" });
    await waitFor(() => mgr.gossip.meshSize() === 6, 3000, "pruned to d at the heartbeat");
    assert.ok(members.filter((p) => mgr.gossip.inMesh(p)).length >= 4, "at least d_low of its first members stay");
    assert.ok(mgr.readyPeers().every((p) => p.strikes === 0), "no strike for a graft");
    for (const h of [...first, ...sybils]) h.ws.terminate();
  } finally {
    await mgr.stop();
  }
});
