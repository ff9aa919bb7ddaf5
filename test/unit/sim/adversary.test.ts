// The simulator's faults and adversaries (src/sim/adversary.ts): seeded picks that never take a
// bootnode, the stall bound from the spec params, and the withholding coalition's frame filter and
// release rule on a virtual clock.
import { test } from "node:test";
import assert from "node:assert/strict";
import { coalitionPlan, crashPlan, pickIndices, silentPlan, stallWindowMs, Withholding } from "../../../src/sim/adversary.ts";
import { VirtualClock, seededRng } from "../../../src/util/clock.ts";
import { normalizeChainSpec } from "../../../src/chain/spec.ts";
import { runSimulation } from "../../../src/sim/driver.ts";
import { summarize } from "../../../src/sim/summarize.ts";
import { reportJson } from "../../../src/sim/report.ts";

const h = (c: string) => c.repeat(64);

test("pickIndices, crashPlan, coalitionPlan: seeded, distinct, sorted, never a bootnode, and refuse impossible fractions", () => {
  const a = crashPlan(seededRng(5), 50, 0.1, 1000, 9000);
  assert.deepEqual(a, crashPlan(seededRng(5), 50, 0.1, 1000, 9000), "one seed, one plan");
  assert.notDeepEqual(a, crashPlan(seededRng(6), 50, 0.1, 1000, 9000));
  assert.equal(a.length, 5);
  assert.ok(a.every((c) => c.node >= 2 && c.node < 50 && c.afterMs >= 1000 && c.afterMs < 9000 && Number.isInteger(c.afterMs)));
  assert.equal(new Set(a.map((c) => c.node)).size, 5);
  const k = coalitionPlan(seededRng(1), 50, 0.2);
  assert.equal(k.length, 10);
  assert.deepEqual(k, [...k].sort((x, y) => x - y));
  assert.ok(k.every((i) => i >= 2 && i < 50));
  assert.deepEqual(pickIndices(seededRng(1), 2, 6, 4), [2, 3, 4, 5], "all of them");
  assert.deepEqual(crashPlan(seededRng(1), 50, 0, 0, 1), []);
  assert.throws(() => crashPlan(seededRng(1), 3, 0.9, 0, 1), /would crash a bootnode/);
  assert.throws(() => coalitionPlan(seededRng(1), 4, 0.75), /would need a bootnode/);
  assert.throws(() => crashPlan(seededRng(1), 10, 1.5, 0, 1), /fraction in \[0, 1\]/);
  assert.throws(() => crashPlan(seededRng(1), 10, 0.1, 5, 1), /window/);
  const silent = silentPlan(seededRng(2), 50, 0.1, k);
  assert.equal(silent.length, 5);
  assert.ok(silent.every((i) => i >= 2 && i < 50 && !k.includes(i)), "never a bootnode nor a coalition member");
  assert.throws(() => silentPlan(seededRng(2), 6, 0.5, [2, 3]), /only 2 are neither/);
});

test("stallWindowMs: block time + (backup slots + 1) x claim timeout + max jitter, 10,800 ms at the default params", () => {
  const spec = normalizeChainSpec({ chain_id: "t", genesis_timestamp: 0, consensus: "proof-of-sync", params: {}, validators: [], alloc: {} });
  assert.equal(stallWindowMs(spec.params), 10_800);
  assert.equal(stallWindowMs({ block_time_ms: 1000, backup_slots: 2, claim_timeout_ms: 500, jitter_max_ms: 0 }), 2500);
});

test("Withholding: frames naming a withheld block reach coalition members only; hello passes; a coalition child releases the chain oldest first, else the deadline releases it", () => {
  const clock = new VirtualClock(0);
  const released: [string, number][] = [];
  const w = new Withholding([2, 3], clock, 2000, (hash) => released.push([hash, clock.now()]));
  assert.ok(w.isMember(2) && !w.isMember(4));
  const block = (hash: string) => `{"type":"block","block":{"hash":"${hash}","header":{}}}`;
  assert.ok(w.allows(4, block(h("a"))), "nothing withheld yet");

  w.onProduce(2, h("a"), h("0"));
  assert.equal(w.holding, 1);
  assert.equal(w.allows(4, block(h("a"))), false, "the block itself");
  assert.equal(w.allows(undefined, block(h("a"))), false, "an unknown receiver counts as honest");
  assert.equal(w.allows(4, `{"type":"status","height":5,"tip_hash":"${h("a")}"}`), false, "a status naming it");
  assert.equal(w.allows(4, `{"type":"attestation","attestation":{"block_hash":"${h("a")}"}}`), false, "an attestation naming it");
  assert.ok(w.allows(3, block(h("a"))), "a coalition member gets it");
  assert.ok(w.allows(4, `{"type":"hello","tip_hash":"${h("a")}"}`), "hello always passes");
  assert.ok(w.allows(4, block(h("b"))), "other blocks pass");
  assert.equal(w.dropped, 4);

  // A child by a member releases parent then child at once.
  clock.advance(1500);
  w.onProduce(3, h("c"), h("a"));
  assert.deepEqual(released, [[h("a"), 1500], [h("c"), 1500]]);
  assert.equal(w.holding, 0);
  assert.ok(w.allows(4, block(h("a"))));

  // No child: released at the deadline, once (the child rule found nothing withheld to release twice).
  w.onProduce(2, h("d"), h("c"));
  clock.advance(1999);
  assert.equal(released.length, 2);
  clock.advance(1);
  assert.deepEqual(released.at(-1), [h("d"), 3500]);
  clock.advance(10_000);
  assert.equal(released.length, 3);
  assert.throws(() => new Withholding([2], clock, -1, () => {}), /release must be >= 0/);
});

test("runSimulation with crash, withhold and silent on 8 nodes: the same seed gives the same report, faults included", async () => {
  const opts = { nodes: 8, heights: 12, seed: 4, faults: { crash: 0.25, withhold: 0.25, silent: 0.125 } };
  const a = await runSimulation(opts);
  const b = await runSimulation(opts);
  assert.equal(a.crashed?.length, 2);
  assert.equal(a.validators.filter((v) => v.adversary === "withhold").length, 2);
  const silent = a.validators.flatMap((v) => (v.adversary === "silent" ? [v.id] : []));
  assert.equal(silent.length, 1);
  assert.ok(!a.events.some((e) => e.type === "produce" && silent.includes(e.producer)), "a silent validator produced nothing");
  assert.deepEqual(a.withholding, b.withholding);
  assert.equal(reportJson(summarize(b)), reportJson(summarize(a)));
  assert.equal(summarize(a).safety.violations, 0);
});
