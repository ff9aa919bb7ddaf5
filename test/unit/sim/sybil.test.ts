// The simulator at 50 nodes with unbonded Sybil attesters (src/sim/sybil.ts): 100 keys (10x the
// 10 validators), never bonded, sign well-formed attestations with FFG votes for every head of two
// host nodes, which send them to all their peers. They must carry no weight: the producers and slots
// and the finalized heights are those of the honest run of the same seed; honest nodes drop
// them (none relays one, none is in a block, the attestation pools stay within what the 10
// validators fill); and no honest node bans an honest peer.
import { test } from "node:test";
import assert from "node:assert/strict";
import { runSimulation, type SimulationRun } from "../../../src/sim/driver.ts";
import { summarize } from "../../../src/sim/summarize.ts";
import { MAX_ATTESTATIONS_PER_EBID_HEIGHT } from "../../../src/chain/attestationPool.ts";

const NODES = 50;
const HEIGHTS = 20;
const VALIDATORS = 10;
const opts = { nodes: NODES, heights: HEIGHTS, seed: 51, validators: VALIDATORS, p2p: { maxPeers: 8 } };

/**
 * The canonical chain's producers and slots, and the heights finalized, of a run. Not the hashes:
 * the Sybils' traffic shifts the links' queues, so a block's timestamp and the honest attestations
 * it carries (its hash) may differ from the honest run's; who produces at which slot, and which
 * heights finalize, must not.
 */
function outcome(run: SimulationRun) {
  const r = summarize(run);
  const finalized = [...new Set(run.events.flatMap((e) => (e.type === "finalize" ? [e.height] : [])))].sort((a, b) => a - b);
  const perBlock = r.propagation.per_block.filter((b) => b.height <= HEIGHTS);
  return { r, finalized, producers: perBlock.map((b) => `${b.height}:${b.producer}:${b.slot}`).sort() };
}

test("50 nodes, 100 unbonded Sybil attesters: no weight (same chain and finality as the honest run), dropped at the first honest node, pools bounded, no honest ban", async () => {
  const honest = outcome(await runSimulation(opts));
  const run = await runSimulation({ ...opts, faults: { sybil: 100 } });
  const s = run.attacks!.sybil!;
  assert.equal(s.keys, 100);
  assert.ok(s.hosts.every((i) => i >= VALIDATORS), "hosts are not validators (nor bootnodes)");
  assert.ok(run.reached, "every node reached the height");
  assert.ok(s.sent > 0 && s.received > 0, JSON.stringify(s));
  assert.equal(s.relayed, 0, "no honest node relayed a Sybil attestation");
  assert.equal(s.in_blocks, 0, "no Sybil attestation in a canonical block");
  // A pool holds attestations of active validators only: at most MAX per (validator, height) over the heights it keeps.
  const bound = VALIDATORS * (HEIGHTS + 1) * MAX_ATTESTATIONS_PER_EBID_HEIGHT;
  assert.ok(s.pool_max <= bound, `pool ${s.pool_max} > ${bound}`);
  assert.equal(run.attacks!.bans.honest, 0, "no honest node banned an honest peer");

  const attacked = outcome(run);
  assert.equal(attacked.r.safety.violations, 0, JSON.stringify(attacked.r.safety));
  assert.ok(attacked.r.agreement.agreed && attacked.r.agreement.finalized_height_min > 0, JSON.stringify(attacked.r.agreement));
  assert.ok(honest.finalized.length >= 1, `the honest run finalized ${honest.finalized.length} checkpoints`);
  assert.deepEqual(attacked.finalized, honest.finalized, "the same heights finalized");
  assert.deepEqual(attacked.producers, honest.producers, "the same blocks (height, producer, slot) up to the target");
  console.log(`# sybil: ${JSON.stringify(s)}; bans ${JSON.stringify(run.attacks!.bans)}; finalized ${attacked.finalized.length} checkpoints, max height ${attacked.r.agreement.finalized_height_max} (honest ${honest.r.agreement.finalized_height_max})`);
});
