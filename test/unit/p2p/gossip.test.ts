// The gossip router's decisions (docs/protocol.md §9.5): whom it pushes to, announces to, fetches
// from, grafts and prunes, on a simulated clock.
import { test } from "node:test";
import assert from "node:assert/strict";
import { GossipRouter, defaultGossipParams, type GossipOut, type GossipParams } from "../../../src/p2p/gossip.ts";
import { attestationGossipId, parseGossipMessage, MAX_GOSSIP_IDS } from "../../../src/p2p/gossipMessages.ts";
import { hashJson, jcs, toHex } from "../../../src/consensus/encoding.ts";
import { freezeDeep } from "../../../src/consensus/immutable.ts";
import { parseMessage, PROTOCOL_VERSION } from "../../../src/p2p/messages.ts";
import { EventQueue, seededRandom } from "../../helpers/gossipSim.ts";

const id = (n: number) => n.toString(16).padStart(64, "0");

function setup(params: Partial<GossipParams> = {}) {
  const clock = new EventQueue();
  const sent: { to: string; out: GossipOut }[] = [];
  const penalties: { peer: string; reason: string }[] = [];
  const router = new GossipRouter({ clock, rng: { next: seededRandom(1) }, params, send: (to, out) => sent.push({ to, out }), penalize: (peer, reason) => penalties.push({ peer, reason }) });
  const of = (type: GossipOut["type"]) => sent.filter((s) => s.out.type === type);
  const clear = () => sent.splice(0);
  return { clock, sent, penalties, router, of, clear };
}

const peersNamed = (n: number) => Array.from({ length: n }, (_, i) => `p${i}`);

test("a 3-node network floods as before: both peers grafted at once, every message pushed to all but its source, no ihave", () => {
  const { router, of, clear } = setup();
  router.addPeer("a", { mesh: true });
  router.addPeer("b", { mesh: true });
  assert.deepEqual(of("graft").map((s) => s.to).sort(), ["a", "b"]);
  assert.deepEqual(router.mesh().sort(), ["a", "b"]);
  clear();
  assert.equal(router.received("a", "block", id(1)), true);
  router.forward("block", id(1));
  assert.deepEqual(of("push").map((s) => s.to), ["b"]);
  clear();
  router.publish("tx", id(2));
  assert.deepEqual(of("push").map((s) => s.to).sort(), ["a", "b"]);
  assert.equal(of("ihave").length, 0);
});

test("peers without mesh support are always pushed to and never get control messages", () => {
  const { router, sent, of, clear } = setup();
  for (const p of peersNamed(20)) router.addPeer(p, { mesh: false });
  router.heartbeat();
  assert.equal(sent.length, 0, "no graft to a peer without gossip: 1");
  router.received("p3", "block", id(1));
  router.forward("block", id(1));
  assert.equal(of("push").length, 19);
  clear();
  router.onIhave("p4", "block", [id(9)]);
  router.onGraft("p4");
  assert.equal(router.mesh().length, 0);
});

test("a large network: the mesh keeps d_low..d_high peers, a message is pushed to the mesh and announced to d_lazy others (a block to all others), never to a holder", () => {
  const { router, of, clear } = setup();
  const peers = peersNamed(30);
  for (const p of peers) router.addPeer(p, { mesh: true });
  router.heartbeat();
  const mesh = router.mesh();
  assert.ok(mesh.length >= defaultGossipParams.dLow && mesh.length <= defaultGossipParams.dHigh, `mesh of ${mesh.length}`);
  clear();
  const source = peers.find((p) => !mesh.includes(p))!;
  const holder = mesh[0]!;
  router.received(source, "attestation", id(1));
  router.onIhave(holder, "attestation", [id(1)]); // it has it: no push to it
  router.forward("attestation", id(1));
  assert.deepEqual(of("push").map((s) => s.to).sort(), mesh.filter((p) => p !== holder).sort());
  const lazy = of("ihave").map((s) => s.to);
  assert.equal(lazy.length, defaultGossipParams.dLazy);
  for (const p of lazy) assert.ok(!mesh.includes(p) && p !== source, `${p} is outside the mesh and not the source`);
  // A block (announceAll) is announced to every peer outside the mesh but its source.
  clear();
  router.received(source, "block", id(2));
  router.forward("block", id(2));
  assert.deepEqual(of("ihave").map((s) => s.to).sort(), peers.filter((p) => !mesh.includes(p) && p !== source).sort());
});

test("our own message goes in full to every peer (flood publishing), mesh or not, but not to a holder", () => {
  const { router, of, clear } = setup();
  const peers = peersNamed(20);
  for (const p of peers) router.addPeer(p, { mesh: true });
  router.heartbeat();
  clear();
  router.onIhave(peers[3]!, "tx", [id(5)]);
  router.publish("tx", id(5));
  assert.deepEqual(of("push").map((s) => s.to).sort(), peers.filter((p) => p !== peers[3]).sort());
  assert.equal(of("ihave").length, 0);
});

test("with fewer than d_low mesh peers an announced id is asked for at once (no mesh copy to wait for)", () => {
  const { router, clock, of } = setup();
  for (const p of peersNamed(12)) router.addPeer(p, { mesh: true });
  router.heartbeat();
  for (const p of router.mesh()) router.onPrune(p, 0); // every mesh peer pruned us: mesh empty, all in backoff
  assert.equal(router.mesh().length, 0);
  const announcer = peersNamed(12)[0]!;
  router.onIhave(announcer, "block", [id(9)]);
  clock.runUntil(clock.now());
  assert.equal(of("iwant").length, 1, "asked without the fetch delay");
});

test("duplicates are recognised and counted; the seen set is bounded (least recently used dropped)", () => {
  const { router } = setup({ seenMax: 3 });
  router.addPeer("a", { mesh: true });
  assert.equal(router.received("a", "block", id(1)), true);
  assert.equal(router.received("a", "block", id(1)), false);
  assert.equal(router.received("a", "tx", id(1)), true, "ids are per kind");
  assert.equal(router.stats.duplicates, 1);
  for (let i = 2; i <= 4; i++) router.received("a", "block", id(i));
  assert.equal(router.hasSeen("block", id(1)), false);
  assert.equal(router.hasSeen("block", id(4)), true);
});

test("an announced unseen id is fetched after the delay from its announcer; a copy arriving first cancels the fetch", () => {
  const { router, clock, of } = setup();
  for (const p of peersNamed(10)) router.addPeer(p, { mesh: true });
  router.onIhave("p1", "block", [id(1), id(2)]);
  router.onIhave("p2", "block", [id(1)]);
  clock.runUntil(defaultGossipParams.fetchDelayMs - 1);
  assert.equal(of("iwant").length, 0, "nothing asked before the delay");
  router.received("p5", "block", id(2));
  clock.runUntil(defaultGossipParams.fetchDelayMs);
  assert.deepEqual(of("iwant").map((s) => [s.to, s.out.type === "iwant" && s.out.ids]), [["p1", [id(1)]]], "one request in flight, to the first announcer");
});

test("an announcer that does not deliver is penalized and the next one asked; the fetch gives up after max tries", () => {
  const { router, clock, of, penalties } = setup({ maxFetchTries: 2 });
  for (const p of peersNamed(10)) router.addPeer(p, { mesh: true });
  for (const p of ["p1", "p2", "p3"]) router.onIhave(p, "block", [id(7)]);
  const { fetchDelayMs: d, fetchTimeoutMs: t } = defaultGossipParams;
  clock.runUntil(d + 3 * t);
  assert.deepEqual(of("iwant").map((s) => s.to), ["p1", "p2"]);
  assert.deepEqual(penalties.map((p) => p.peer), ["p1", "p2"]);
  assert.equal(router.stats.brokenPromises, 2);
});

test("a peer's pending announces are capped, and a closed announcer hands the fetch to the next one", () => {
  const { router, clock, of } = setup({ maxPendingPerPeer: 3 });
  for (const p of peersNamed(10)) router.addPeer(p, { mesh: true });
  router.onIhave("p1", "tx", [1, 2, 3, 4, 5].map(id));
  router.onIhave("p2", "tx", [id(1)]);
  router.removePeer("p1");
  clock.runUntil(defaultGossipParams.fetchDelayMs);
  assert.deepEqual(of("iwant").map((s) => s.to), ["p2"], "ids 4 and 5 were never taken; 2 and 3 lost their only announcer");
});

test("iwant is answered only for ids announced to the asker, once each; asks for known ids not announced to it are penalized, for unknown ids not", () => {
  const { router, of, penalties } = setup();
  for (const p of peersNamed(30)) router.addPeer(p, { mesh: true });
  router.heartbeat();
  router.forward("attestation", id(3));
  const lazy = of("ihave").map((s) => s.to);
  const stranger = peersNamed(30).find((p) => !lazy.includes(p) && !router.mesh().includes(p))!;
  assert.deepEqual(router.onIwant(lazy[0]!, "attestation", [id(3)]), [id(3)]);
  assert.deepEqual(router.onIwant(lazy[0]!, "attestation", [id(3)]), [], "served once");
  assert.equal(penalties.length, 0);
  assert.deepEqual(router.onIwant(stranger, "attestation", [id(3)]), []);
  assert.deepEqual(router.onIwant(lazy[1]!, "attestation", [id(4)]), [], "unknown: not served");
  assert.deepEqual(penalties.map((p) => p.peer), [stranger]);
});

test("graft and prune: a pruned peer is not grafted again during its backoff, a graft in backoff is refused and penalized, an oversubscribed mesh is pruned to d", () => {
  const { router, clock, of, penalties, clear } = setup();
  const peers = peersNamed(12);
  for (const p of peers) router.addPeer(p, { mesh: true });
  router.heartbeat();
  const m0 = router.mesh()[0]!;
  router.onPrune(m0, 0);
  assert.ok(!router.mesh().includes(m0));
  for (const p of peers.filter((p) => p !== m0)) router.onGraft(p);
  assert.equal(router.mesh().length, 11);
  clear();
  router.heartbeat();
  assert.equal(router.mesh().length, defaultGossipParams.d);
  const pruned = of("prune").map((s) => s.to);
  assert.equal(pruned.length, 11 - defaultGossipParams.d);
  router.onGraft(pruned[0]!);
  assert.ok(!router.mesh().includes(pruned[0]!));
  assert.deepEqual(penalties.map((p) => p.peer), [pruned[0]]);
  // after the backoff a peer may graft again
  clock.runUntil(defaultGossipParams.pruneBackoffMs + 1);
  router.onGraft(pruned[1]!);
  assert.ok(router.mesh().includes(pruned[1]!));
});

test("the mesh refills from d_low to d, skipping peers in backoff", () => {
  const { router, clock } = setup();
  const peers = peersNamed(12);
  for (const p of peers) router.addPeer(p, { mesh: true });
  router.heartbeat();
  const mesh = router.mesh();
  const gone = mesh.slice(0, mesh.length - defaultGossipParams.dLow + 1);
  for (const p of gone) router.onPrune(p, 0);
  assert.equal(router.mesh().length, defaultGossipParams.dLow - 1);
  clock.runUntil(1);
  router.heartbeat();
  assert.equal(router.mesh().length, defaultGossipParams.d);
  for (const p of gone) assert.ok(!router.mesh().includes(p), `${p} is in backoff`);
});

test("control messages: shapes, id caps and backoff caps are checked", () => {
  assert.equal(parseGossipMessage({ type: "graft" }).ok, true);
  assert.equal(parseGossipMessage({ type: "prune", backoff_ms: 60_000 }).ok, true);
  assert.equal(parseGossipMessage({ type: "prune", backoff_ms: 600_001 }).ok, false);
  assert.equal(parseGossipMessage({ type: "ihave", kind: "block", ids: [id(1)] }).ok, true);
  assert.equal(parseGossipMessage({ type: "ihave", kind: "block", ids: [] }).ok, false);
  assert.equal(parseGossipMessage({ type: "iwant", kind: "status", ids: [id(1)] }).ok, false);
  assert.equal(parseGossipMessage({ type: "iwant", kind: "tx", ids: Array.from({ length: MAX_GOSSIP_IDS + 1 }, (_, i) => id(i)) }).ok, false);
  assert.equal(parseGossipMessage({ type: "ihave", kind: "tx", ids: ["XYZ"] }).ok, false);
});

test("parameters out of order are refused", () => {
  assert.throws(() => setup({ d: 3, dLow: 4 }), RangeError);
  assert.throws(() => setup({ d: 9, dHigh: 8 }), RangeError);
});

test("an attestation's gossip id is the hash of its canonical JSON without sig: the same for two signatures, another for any other field", () => {
  const att = { ebid: id(1), height: 9, block_hash: id(2), source_height: 0, source_hash: id(3), target_height: 8, target_hash: id(4), sig: "a".repeat(128) };
  const { sig: _sig, ...unsigned } = att;
  assert.equal(attestationGossipId(att), toHex(hashJson(JSON.parse(jcs(unsigned)))));
  assert.equal(attestationGossipId({ ...att, sig: "b".repeat(128) }), attestationGossipId(att));
  assert.notEqual(attestationGossipId({ ...att, height: 10 }), attestationGossipId(att));
  assert.match(attestationGossipId(att), /^[0-9a-f]{64}$/);
});

test("a frozen attestation (a simulation's shared copy) has the same gossip id as an unfrozen one, each frozen value its own", () => {
  const att = { ebid: id(1), height: 9, block_hash: id(2), source_height: 0, source_hash: id(3), target_height: 8, target_hash: id(4), sig: "a".repeat(128) };
  const frozen = freezeDeep({ ...att });
  assert.equal(attestationGossipId(frozen), attestationGossipId(att));
  assert.equal(attestationGossipId(frozen), attestationGossipId(att)); // the kept id, again
  const other = freezeDeep({ ...att, height: 10 });
  assert.equal(attestationGossipId(other), attestationGossipId({ ...att, height: 10 }));
  assert.notEqual(attestationGossipId(other), attestationGossipId(frozen));
});

test("hello: the optional gossip field is an integer >= 1; without it the hello is as before", () => {
  const hello = { type: "hello", version: PROTOCOL_VERSION, chain_id: "c", genesis_hash: id(1), ebid: id(2), nonce: id(3), listen_port: 0, height: 0, tip_hash: id(1) };
  const ok = (extra: object) => parseMessage(JSON.stringify({ ...hello, ...extra })).ok;
  assert.equal(ok({}), true);
  assert.equal(ok({ gossip: 1 }), true);
  assert.equal(ok({ gossip: 2 }), true);
  assert.equal(ok({ gossip: 0 }), false);
  assert.equal(ok({ gossip: "1" }), false);
});

test("on Node's real timers: the heartbeat grafts, a fetch is asked after its delay, stop() cancels everything", async () => {
  const sent: { to: string; out: GossipOut }[] = [];
  const clock = { now: () => Date.now(), setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms), clearTimeout: (h: unknown) => clearTimeout(h as NodeJS.Timeout) };
  const router = new GossipRouter({ clock, params: { heartbeatMs: 20, fetchDelayMs: 30 }, send: (to, out) => sent.push({ to, out }) });
  for (const p of peersNamed(20)) router.addPeer(p, { mesh: true });
  for (const p of router.mesh()) router.onPrune(p, 0); // empty mesh: the heartbeat must refill it
  router.start();
  try {
    router.onIhave("p0", "block", [id(1)]);
    router.onIhave("p1", "block", [id(1)]);
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(router.mesh().length, defaultGossipParams.d);
    assert.deepEqual(sent.filter((s) => s.out.type === "iwant").map((s) => s.to), ["p0"], "one request in flight (the timeout is 1 s)");
  } finally {
    router.stop();
  }
  const before = sent.length;
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(sent.length, before, "nothing after stop()");
});

test("mesh capture: sybils that graft again after every backoff do not take over the mesh (an oversubscribed mesh keeps its d_low longest members)", () => {
  const { router, clock, penalties, of } = setup();
  const honest = peersNamed(24);
  const sybils = Array.from({ length: 12 }, (_, i) => `s${i}`);
  for (const p of honest) router.addPeer(p, { mesh: true });
  for (const s of sybils) router.addPeer(s, { mesh: true });
  router.heartbeat();
  const backoff = new Map<string, number>(); // the backoff each sybil was told (it obeys it: no strike)
  for (let sec = 1; sec <= 300; sec++) {
    clock.runUntil(sec * 1000);
    for (const s of sybils) if (!router.mesh().includes(s) && clock.now() >= (backoff.get(s) ?? 0)) router.onGraft(s);
    router.heartbeat();
    for (const p of of("prune")) if (sybils.includes(p.to) && p.out.type === "prune") backoff.set(p.to, clock.now() + p.out.backoff_ms);
  }
  const taken = router.mesh().filter((p) => sybils.includes(p)).length;
  assert.ok(router.mesh().length >= defaultGossipParams.dLow, `mesh of ${router.mesh().length}`);
  assert.ok(taken <= defaultGossipParams.d - defaultGossipParams.dLow, `${taken} of ${router.mesh().length} mesh seats held by 12 sybils among 36 peers`);
  assert.equal(penalties.length, 0, "sybils that obey the backoff earn no strike");
});

test("fetch censorship: liars that announce first do not make the node give up before an honest announcer is asked, and are asked last for the next ids", () => {
  const { router, clock, of, clear } = setup();
  for (const p of peersNamed(10)) router.addPeer(p, { mesh: true });
  const liars = ["p1", "p2", "p3"];
  const { fetchDelayMs: d, fetchTimeoutMs: t } = defaultGossipParams;
  for (const p of [...liars, "p4"]) router.onIhave(p, "block", [id(7)]);
  clock.runUntil(d + liars.length * t + 1);
  assert.deepEqual(of("iwant").map((s) => s.to), [...liars, "p4"], "the honest fourth announcer is asked");
  router.received("p4", "block", id(7));
  clear();
  // The next block, announced by the same liars first: the peer that kept its promise is asked first.
  const at = clock.now();
  for (const p of [...liars, "p4"]) router.onIhave(p, "block", [id(8)]);
  clock.runUntil(at + d + 1);
  assert.deepEqual(of("iwant").map((s) => s.to), ["p4"]);
});

test("a forged copy sent first (same id, invalid) does not hide the real message: once rejected, the id is unseen and its announcers are asked", () => {
  const { router, clock, of, clear } = setup();
  for (const p of peersNamed(10)) router.addPeer(p, { mesh: true });
  const { fetchDelayMs: d } = defaultGossipParams;
  router.onIhave("p1", "block", [id(5)]);
  router.onIhave("p2", "block", [id(5)]);
  assert.equal(router.received("p9", "block", id(5)), true, "the forger's copy comes first");
  router.onIhave("p3", "block", [id(5)]); // announced while the forged copy is validated
  clock.runUntil(d + 1);
  assert.equal(of("iwant").length, 0, "the fetch was cancelled by the copy");
  router.rejected("p9", "block", id(5));
  assert.equal(router.hasSeen("block", id(5)), false);
  clock.runUntil(clock.now() + d + 1);
  assert.deepEqual(of("iwant").map((s) => s.to), ["p1"], "the first announcer is asked for the real one");
  clear();
  router.received("p1", "block", id(5));
  router.forward("block", id(5));
  router.rejected("p4", "block", id(5)); // a bad copy after a valid one was relayed changes nothing
  assert.equal(router.hasSeen("block", id(5)), true);
  // An announcer that already sent a copy is not asked again (it serves an id once).
  router.onIhave("p1", "tx", [id(6)]);
  router.onIhave("p2", "tx", [id(6)]);
  router.received("p9", "tx", id(6));
  router.received("p2", "tx", id(6));
  router.rejected("p9", "tx", id(6));
  clock.runUntil(clock.now() + d + 1);
  assert.deepEqual(of("iwant").map((s) => s.to), ["p1"]);
});

test("framing by churn: an honest peer's iwant for an id we announced and then forgot (seen set churned by a stranger's fresh ids) is not penalized; a known id never announced to it still is", () => {
  const { router, penalties } = setup({ seenMax: 100 });
  for (const p of peersNamed(30)) router.addPeer(p, { mesh: true });
  router.heartbeat();
  const lazy = peersNamed(30).filter((p) => !router.mesh().includes(p));
  router.received(lazy[0]!, "block", id(1));
  router.forward("block", id(1)); // announced to every other lazy peer
  const honest = lazy[1]!;
  for (let i = 0; i < 100; i++) router.received("p0", "attestation", id(1000 + i)); // unbonded attestations: no strike, fresh ids
  assert.equal(router.hasSeen("block", id(1)), false, "forgotten");
  assert.deepEqual(router.onIwant(honest, "block", [id(1)]), []);
  assert.equal(penalties.length, 0, "no strike for an id we no longer know");
  router.publish("tx", id(2)); // known, pushed to all, announced to none
  router.onIwant(honest, "tx", [id(2)]);
  assert.deepEqual(penalties.map((p) => p.peer), [honest]);
});

test("fetch table exhaustion: 16 sybils announcing 256 made-up ids each do not keep an honest announcer's real id from being fetched", () => {
  const { router, clock, of } = setup();
  for (const p of peersNamed(30)) router.addPeer(p, { mesh: true });
  const { maxFetches, maxPendingPerPeer } = defaultGossipParams;
  const sybils = peersNamed(30).slice(0, Math.ceil(maxFetches / maxPendingPerPeer));
  let n = 10_000;
  for (const s of sybils) for (let i = 0; i < maxPendingPerPeer; i += MAX_GOSSIP_IDS) router.onIhave(s, "tx", Array.from({ length: MAX_GOSSIP_IDS }, () => id(n++)));
  router.onIhave("p29", "block", [id(1)]);
  clock.runUntil(defaultGossipParams.fetchDelayMs + 1);
  assert.ok(of("iwant").some((s) => s.to === "p29"), "the honest announcer is asked");
});
