// The simulator's protocol attacks' parts (src/sim/liars.ts, sybil.ts, grind.ts, attacks.ts): the
// liar's frame rewrite, the Sybils' signed attestations, the grinding coalition's filter and
// decisions, and a small run with all three that gives one report per seed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fakeTipHash, lieFrame, liarPlan } from "../../../src/sim/liars.ts";
import { sybilAttestation, sybilHostPlan, SybilBand } from "../../../src/sim/sybil.ts";
import { Grinding } from "../../../src/sim/grind.ts";
import { chainDomains, verify } from "../../../src/consensus/signatures.ts";
import { seededRng } from "../../../src/util/clock.ts";
import { runSimulation, simKey } from "../../../src/sim/driver.ts";
import { summarize } from "../../../src/sim/summarize.ts";
import { parseReport, reportJson } from "../../../src/sim/report.ts";

const h = (c: string) => c.repeat(64);

test("lieFrame raises a hello's and a status's height and replaces the tip, keeps the line end, leaves other frames alone", () => {
  const tip = (x: number) => fakeTipHash(1, 5, x);
  const status = lieFrame(`{"type":"status","height":7,"tip_hash":"${h("a")}"}\n`, 1000, tip);
  assert.ok(status.endsWith("}\n"));
  assert.deepEqual(JSON.parse(status), { type: "status", height: 1007, tip_hash: tip(1007) });
  const hello = JSON.parse(lieFrame(`{"type":"hello","version":1,"height":3,"tip_hash":"${h("b")}","nonce":"${h("c")}"}`, 10, tip)) as Record<string, unknown>;
  assert.deepEqual([hello.height, hello.tip_hash, hello.nonce], [13, tip(13), h("c")]);
  const block = `{"type":"block","block":{"hash":"${h("d")}","height":3}}\n`;
  assert.equal(lieFrame(block, 1000, tip), block);
  assert.notEqual(fakeTipHash(1, 5, 9), fakeTipHash(1, 6, 9));
  assert.deepEqual(liarPlan(seededRng(3), 50, 0.1), liarPlan(seededRng(3), 50, 0.1));
  assert.ok(liarPlan(seededRng(3), 50, 0.1).every((i) => i >= 2));
  assert.throws(() => liarPlan(seededRng(3), 4, 0.9), /bootnode/);
});

test("sybilAttestation signs a well-formed attestation its key verifies; SybilBand tells a host's copy from an honest relay", () => {
  const d = chainDomains(h("e"));
  const key = simKey(99, 0);
  const a = sybilAttestation(d, key, { height: 9, hash: h("1"), targetHeight: 8, targetHash: h("2"), sourceHeight: 0, sourceHash: h("3") });
  const { sig, ...body } = a;
  assert.ok(verify(d.attest, body, sig, key.ebid));
  const band = new SybilBand([key], [7], (r) => r === "host");
  const frame = Buffer.from(JSON.stringify({ type: "attestation", attestation: a }));
  band.onFrame("host", frame);
  band.onFrame("honest", frame);
  band.onFrame("host", Buffer.from(JSON.stringify({ type: "attestation", attestation: { ...a, ebid: h("f") } })));
  assert.deepEqual(band.counters(), { keys: 1, hosts: [7], sent: 0, received: 1, relayed: 1 });
  assert.deepEqual(sybilHostPlan(seededRng(1), 12, 10, 2), [10, 11]);
  assert.throws(() => sybilHostPlan(seededRng(1), 12, 10, 3), /Sybil hosts/);
});

test("Grinding holds a member's block from honest nodes until decided, keeps a withheld block's descendants, publishes on a member primary", () => {
  const g = new Grinding([2, 3]);
  const block = (hash: string) => `{"type":"block","block":{"hash":"${hash}"}}`;
  assert.ok(g.onProduce(h("a"), h("0")), "pending");
  assert.equal(g.allows(4, block(h("a"))), false);
  assert.ok(g.allows(3, block(h("a"))), "members share");
  assert.ok(g.allows(4, `{"type":"hello","tip_hash":"${h("a")}"}`), "hello passes");
  assert.equal(g.decide(h("a"), false, true), "withhold");
  assert.equal(g.onProduce(h("b"), h("a")), false, "a child of a withheld block is withheld at once");
  assert.equal(g.allows(4, block(h("b"))), false);
  assert.ok(g.onProduce(h("c"), h("9")));
  assert.equal(g.decide(h("c"), true, true), "publish");
  assert.ok(g.allows(4, block(h("c"))));
  assert.equal(g.decide(h("c"), true, true), "withhold", "decided once");
  const c = g.counters();
  assert.deepEqual([c.produced, c.decided, c.published, c.withheld, c.next_primary_member, c.seeds_checked, c.dropped_frames], [3, 2, 1, 2, 1, 2, 2]);
});

test("runSimulation with liars, Sybils and grinding on 12 nodes: one seed, one report (attacks included), valid", async () => {
  const opts = { nodes: 12, heights: 6, seed: 8, validators: 8, faults: { liars: 0.2, sybil: 20, grind: 0.25 } };
  const a = await runSimulation(opts);
  const b = await runSimulation(opts);
  const ra = summarize(a);
  assert.ok(ra.attacks?.liars && ra.attacks.sybil && ra.attacks.grind, "every attack reported");
  assert.deepEqual(parseReport(JSON.parse(reportJson(ra))), ra);
  assert.equal(reportJson(summarize(b)), reportJson(ra));
  assert.equal(ra.safety.violations, 0);
  assert.equal(ra.attacks!.bans.honest, 0);
});
