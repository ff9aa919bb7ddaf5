// The simulator's equivocating adversaries (src/sim/equivocation.ts) and the private-branch chain
// length of the withholding coalition (src/sim/adversary.ts): seeded picks that never take a
// bootnode nor another adversary's member; a twin block that is valid on the chain and with its
// original a `blocks` slashing item; a twin vote that with its original is a double vote; the frame
// rewrite that sends twins to the peers of odd index only; and the --private-branch flag.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Equivocation, equivocatorPlan, forkHash, twinBlock, twinVote } from "../../../src/sim/equivocation.ts";
import { Withholding } from "../../../src/sim/adversary.ts";
import { VirtualClock, seededRng } from "../../../src/util/clock.ts";
import { verifySlashing, votesConflict } from "../../../src/consensus/slashing.ts";
import { encodeLine } from "../../../src/p2p/framing.ts";
import { parsePrivateBranch } from "../../../src/cli/simFlags.ts";
import { runSimulation } from "../../../src/sim/driver.ts";
import { summarize } from "../../../src/sim/summarize.ts";
import { reportJson } from "../../../src/sim/report.ts";
import { extend, makeKeys, makeSpec, openTestChain } from "../../helpers/fixtures.ts";
import { blocksItem, testDomains, TEST_GENESIS, vote } from "../../helpers/slashing.ts";

test("equivocatorPlan: seeded, sorted, never a bootnode nor an excluded member; refuses what cannot be picked", () => {
  const a = equivocatorPlan(seededRng(7), 20, 0.2, "double-block", [3, 4]);
  assert.deepEqual(a, equivocatorPlan(seededRng(7), 20, 0.2, "double-block", [3, 4]));
  assert.equal(a.length, 4);
  assert.deepEqual(a, [...a].sort((x, y) => x - y));
  assert.ok(a.every((i) => i >= 2 && i < 20 && i !== 3 && i !== 4));
  assert.deepEqual(equivocatorPlan(seededRng(7), 20, 0, "double-vote"), []);
  assert.throws(() => equivocatorPlan(seededRng(7), 4, 1, "double-vote", [2]), /double-vote 1 of 4 validators needs 4, only 1/);
  assert.throws(() => equivocatorPlan(seededRng(7), 4, 2, "double-vote"), /fraction in \[0, 1\]/);
});

test("twinBlock: another hash at the same height and parent, valid on the chain, and with the original a blocks slashing item", async () => {
  const keys = makeKeys(1);
  const t = await openTestChain(makeSpec(keys));
  const chain = t.chain;
  try {
    const [b] = await extend(chain, keys, 1);
    const twin = twinBlock(b!, keys[0]!.secretKey, chain.genesis.hash);
    assert.notEqual(twin.hash, b!.hash);
    assert.deepEqual([twin.header.height, twin.header.parent_hash, twin.header.producer, twin.header.timestamp], [1, b!.header.parent_hash, keys[0]!.ebid, b!.header.timestamp + 1]);
    assert.deepEqual(verifySlashing(blocksItem(b!, twin), chain.domains), { ok: true, offender: keys[0]!.ebid });
    assert.equal((await chain.importBlock(twin)).status, "imported", "the twin is a valid block: stored as equivocation");
  } finally {
    await t.destroy();
  }
});

test("twinVote: same heights and source, fork hashes for head and target; with the original a double vote under the chain's domain", () => {
  const [k] = makeKeys(1);
  const a = vote(k!, 0, 8, { height: 9 });
  const b = twinVote(a, k!.secretKey, testDomains);
  assert.deepEqual([b.height, b.source_height, b.source_hash, b.target_height], [a.height, a.source_height, a.source_hash, a.target_height]);
  assert.deepEqual([b.block_hash, b.target_hash], [forkHash(a.block_hash), forkHash(a.target_hash)]);
  assert.equal(votesConflict(a, b), "double vote");
  assert.deepEqual(verifySlashing({ kind: "votes", a, b }, testDomains), { ok: true, offender: k!.ebid });
});

test("Equivocation.rewrite: a member's own block or vote goes as its twin to odd-index peers only; relays, other frames and non-members pass unchanged", () => {
  const keys = makeKeys(3);
  const keyOf = (i: number) => keys[i]!;
  const v = vote(keys[2]!, 0, 8, { height: 9 });
  const line = encodeLine({ type: "attestation", attestation: v });
  const dv = new Equivocation("double-vote", [2], keyOf, TEST_GENESIS, testDomains);
  assert.equal(dv.rewrite(2, 4, line), line, "even index: the original");
  assert.equal(dv.rewrite(2, undefined, line), line, "unknown peer: the original");
  const twin = dv.rewrite(2, 5, line);
  assert.notEqual(twin, line);
  const t = (JSON.parse(twin) as { attestation: typeof v }).attestation;
  assert.equal(votesConflict(v, t), "double vote");
  assert.equal(dv.rewrite(2, 7, line), twin, "one twin per vote");
  assert.deepEqual([dv.twinned, dv.framesRewritten], [1, 2]);
  const relay = encodeLine({ type: "attestation", attestation: vote(keys[1]!, 0, 8) });
  assert.equal(dv.rewrite(2, 5, relay), relay, "another voter's vote");
  assert.equal(dv.rewrite(1, 5, line), line, "a non-member");
  const genesisVote = encodeLine({ type: "attestation", attestation: vote(keys[2]!, 0, 0, { height: 3 }) });
  assert.equal(dv.rewrite(2, 5, genesisVote), genesisVote, "interval 0 (genesis target): no twin");
  const status = '{"type":"status","height":3}\n';
  assert.equal(dv.rewrite(2, 5, status), status);
  assert.equal(dv.twinned, 1);
});

test("Withholding with chainLength 3: a withheld chain is released at once when it is 3 blocks long, else each block at its deadline", () => {
  const clock = new VirtualClock(0);
  const released: string[] = [];
  const h = (c: string) => c.repeat(64);
  const w = new Withholding([2, 3], clock, 5000, (hash) => released.push(hash), 3);
  w.onProduce(2, h("a"), h("0"));
  w.onProduce(3, h("b"), h("a"));
  assert.deepEqual(released, [], "a chain of 2 stays private");
  w.onProduce(2, h("c"), h("b"));
  assert.deepEqual(released, [h("a"), h("b"), h("c")], "the third height releases the branch oldest first");
  w.onProduce(2, h("d"), h("c"));
  clock.advance(5000);
  assert.deepEqual(released.at(-1), h("d"));
  assert.throws(() => new Withholding([2], clock, 0, () => {}, 0), /integer >= 1/);
});

test("parsePrivateBranch: FRACTION or FRACTION:K, K 2..64 (default 4)", () => {
  assert.deepEqual(parsePrivateBranch("0.2"), { fraction: 0.2, heights: 4 });
  assert.deepEqual(parsePrivateBranch("0.25:6"), { fraction: 0.25, heights: 6 });
  assert.throws(() => parsePrivateBranch("0.2:1"), /2\.\.64/);
  assert.throws(() => parsePrivateBranch("0.2:99"), /2\.\.64/);
  assert.throws(() => parsePrivateBranch("1.5:3"), /fraction/);
  assert.throws(() => parsePrivateBranch("0.2:x"), /FRACTION:K/);
});

test("runSimulation with double-block on 10 nodes: a twin's produce event precedes every copy of it, and the report is valid", async () => {
  const run = await runSimulation({ nodes: 10, heights: 10, seed: 3, faults: { doubleBlock: 0.3 } });
  const eq = run.equivocation!.find((e) => e.kind === "double-block")!;
  assert.ok(eq.twinned > 0, "a member produced and signed a twin");
  const producedAt = new Map<string, number>();
  for (const e of run.events) if (e.type === "produce" && !producedAt.has(e.hash)) producedAt.set(e.hash, e.atMs);
  const early = run.events.filter((e) => e.type === "deliver" && producedAt.has(e.hash) && e.atMs < producedAt.get(e.hash)!);
  assert.deepEqual(early, [], "no copy before its production");
  assert.doesNotThrow(() => reportJson(summarize(run)), "the report passes its schema (arrival times >= 0)");
});
