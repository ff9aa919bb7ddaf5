// The finality state transition (docs/protocol.md §5a) on its own: justification at more than two
// thirds exactly, adjacency finalizes and a skip does not, pruning, foreign and duplicate voters.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  applyFinality, checkpointHeight, emptyBitfield, finalityRoot, genesisFinality, hasBit, popcount, setBit,
  type Checkpoint, type FfgVote, type FinalityState,
} from "../../../src/consensus/finality.ts";
import { hashJson, toHex } from "../../../src/consensus/encoding.ts";

const I = 8;
const h = (n: number) => n.toString(16).padStart(64, "0");
const cp = (height: number): Checkpoint => ({ height, hash: h(1000 + height) });
const ebids = (n: number) => Array.from({ length: n }, (_, i) => (i + 1).toString(16).padStart(2, "0").repeat(32));
const vote = (ebid: string, s: Checkpoint, t: Checkpoint): FfgVote => ({ ebid, source_height: s.height, source_hash: s.hash, target_height: t.height, target_hash: t.hash });
const G = genesisFinality(h(1000));
const ctx = (validators: string[], height: number) => ({ interval: I, height, activeAt: () => validators });

test("bitfield helpers: LSB first within a byte, sized ceil(n/8), popcount", () => {
  assert.equal(emptyBitfield(0), "");
  assert.equal(emptyBitfield(9), "0000");
  let b = setBit(emptyBitfield(9), 0);
  b = setBit(b, 8);
  assert.equal(b, "0101");
  assert.equal(setBit(emptyBitfield(8), 7), "80");
  assert.ok(hasBit(b, 8) && !hasBit(b, 1) && !hasBit(b, 40));
  assert.equal(popcount("ff03"), 10);
  assert.throws(() => setBit("00", 8), RangeError);
  assert.equal(checkpointHeight(15, 8), 8);
  assert.equal(checkpointHeight(16, 8), 16);
});

test("genesis state: genesis justified and finalized; its root is H(JCS(F))", () => {
  assert.deepEqual(G.justified, cp(0));
  assert.deepEqual(G.finalized, cp(0));
  assert.deepEqual(G.justified_recent, [cp(0)]);
  assert.equal(finalityRoot(G), toHex(hashJson(G as never)));
});

test("with 3 validators, 2 votes do not justify and 3 do; with 4, 3 do", () => {
  const v3 = ebids(3);
  const two = applyFinality(G, [vote(v3[0]!, cp(0), cp(8)), vote(v3[1]!, cp(0), cp(8))], ctx(v3, 9));
  assert.deepEqual(two.justified, cp(0));
  assert.equal(two.votes.length, 1);
  assert.equal(popcount(two.votes[0]!.voters), 2);
  const three = applyFinality(two, [vote(v3[2]!, cp(0), cp(8))], ctx(v3, 10));
  assert.deepEqual(three.justified, cp(8));
  assert.deepEqual(three.justified_recent, [cp(0), cp(8)]);
  assert.deepEqual(three.finalized, cp(0), "genesis is already finalized: cp(8) on genesis changes nothing");
  const v4 = ebids(4);
  const f4 = applyFinality(G, v4.slice(0, 3).map((e) => vote(e, cp(0), cp(8))), ctx(v4, 9));
  assert.deepEqual(f4.justified, cp(8));
  const f4two = applyFinality(G, v4.slice(0, 2).map((e) => vote(e, cp(0), cp(8))), ctx(v4, 9));
  assert.deepEqual(f4two.justified, cp(0));
});

test("adjacent justified checkpoints finalize the source; a skipped interval justifies without finalizing", () => {
  const v = ebids(3);
  const j8 = applyFinality(G, v.map((e) => vote(e, cp(0), cp(8))), ctx(v, 9));
  const j16 = applyFinality(j8, v.map((e) => vote(e, cp(8), cp(16))), ctx(v, 17));
  assert.deepEqual(j16.finalized, cp(8));
  assert.deepEqual(j16.justified, cp(16));
  assert.deepEqual(j16.justified_recent, [cp(8), cp(16)], "entries below the finalized height are pruned");
  // Skip: cp(24) is never justified; cp(32) with source cp(16) justifies, finalizes nothing.
  const j32 = applyFinality(j16, v.map((e) => vote(e, cp(16), cp(32))), ctx(v, 33));
  assert.deepEqual(j32.justified, cp(32));
  assert.deepEqual(j32.finalized, cp(8));
  assert.deepEqual(j32.justified_recent, [cp(8), cp(16), cp(32)]);
});

test("a vote from a key outside A(target) counts for nothing; a duplicate counts once", () => {
  const v = ebids(3);
  const outsider = "ee".repeat(32);
  const f = applyFinality(G, [vote(v[0]!, cp(0), cp(8)), vote(v[0]!, cp(0), cp(8)), vote(v[1]!, cp(0), cp(8)), vote(outsider, cp(0), cp(8))], ctx(v, 9));
  assert.deepEqual(f.justified, cp(0));
  assert.equal(popcount(f.votes[0]!.voters), 2);
  assert.equal(f.votes[0]!.voters.length, 2, "one byte for three members");
});

test("interval-0 genesis votes are skipped; an empty A never justifies", () => {
  const v = ebids(3);
  assert.deepEqual(applyFinality(G, v.map((e) => vote(e, cp(0), cp(0))), ctx(v, 3)), G);
  const none = applyFinality(G, [vote(v[0]!, cp(0), cp(8))], ctx([], 9));
  assert.deepEqual(none.justified, cp(0));
  assert.equal(none.votes[0]!.voters, "");
});

test("pruning: tallies of targets below the previous interval drop; justified_recent keeps the last 4", () => {
  const v = ebids(3);
  const open = applyFinality(G, [vote(v[0]!, cp(0), cp(8))], ctx(v, 9));
  assert.equal(applyFinality(open, [], ctx(v, 22)).votes.length, 1, "after block 22, block 23 may still carry votes for cp(8)");
  assert.equal(applyFinality(open, [], ctx(v, 23)).votes.length, 0, "block 23: block 24's votes target cp(16) or cp(24) only");
  // Justify 8, 24, 40, 56, 72 by skips (no adjacency): finalized stays 0; the list keeps the last 4.
  let f: FinalityState = G;
  let src = cp(0);
  for (const t of [8, 24, 40, 56, 72]) {
    f = applyFinality(f, v.map((e) => vote(e, src, cp(t))), ctx(v, t + 1));
    src = cp(t);
  }
  assert.deepEqual(f.finalized, cp(0));
  assert.deepEqual(f.justified_recent, [cp(24), cp(40), cp(56), cp(72)]);
  assert.deepEqual(f.justified, cp(72));
});

test("tallies stay sorted by (target_height, source_height) and the parent is not changed", () => {
  const v = ebids(4);
  const j8 = applyFinality(G, v.slice(0, 3).map((e) => vote(e, cp(0), cp(8))), ctx(v, 9));
  const copy = structuredClone(j8);
  const f = applyFinality(j8, [vote(v[0]!, cp(8), cp(16)), vote(v[1]!, cp(0), cp(16))], ctx(v, 17));
  assert.deepEqual(j8, copy);
  assert.deepEqual(f.votes.map((t) => [t.target_height, t.source_height]), [[8, 0], [16, 0], [16, 8]]);
});
