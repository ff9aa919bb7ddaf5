// The attestation pool's selection (docs/protocol.md §5, node policy): oldest first, one per EBID,
// only validators active at the block's epoch, no (ebid, height) the branch already carries, <= 128.
import { test } from "node:test";
import assert from "node:assert/strict";
import { AttestationPool } from "../../../src/chain/attestationPool.ts";
import { MAX_ATTESTATIONS_PER_BLOCK } from "../../../src/consensus/params.ts";
import type { Attestation } from "../../../src/consensus/types.ts";
import { attest, makeKeys } from "../../helpers/fixtures.ts";

// Selection does not read the FFG vote: every attestation here carries the interval-0 one.
const VOTE = "00".repeat(32);
const keys = makeKeys(4).sort((a, b) => (a.ebid < b.ebid ? -1 : 1)); // keys[0] has the lowest EBID
const MAX_AGE = 8;
/** A branch: height → hash, for heights 0..n-1. */
const branch = (n: number, tag = "aa") => new Map(Array.from({ length: n }, (_, h) => [h, `${tag}${h.toString(16).padStart(62, "0")}`] as [number, string]));
const short = (as: Attestation[]) => as.map((a) => `${keys.findIndex((k) => k.ebid === a.ebid)}@${a.height}`);

test("oldest first (height ascending, then EBID), one per EBID (its oldest), only the branch's blocks in the window", () => {
  const anc = branch(20);
  const other = branch(20, "bb");
  const pool = new AttestationPool();
  const n = 20;
  pool.add(attest(keys[0]!, 19, anc.get(19)!, VOTE));
  pool.add(attest(keys[3]!, 15, anc.get(15)!, VOTE));
  pool.add(attest(keys[1]!, 15, anc.get(15)!, VOTE));
  pool.add(attest(keys[0]!, 13, anc.get(13)!, VOTE));
  pool.add(attest(keys[2]!, 17, other.get(17)!, VOTE)); // another branch's block
  pool.add(attest(keys[2]!, 11, anc.get(11)!, VOTE)); // below n - 8: too old
  assert.deepEqual(short(pool.select(n, anc, MAX_AGE)), ["0@13", "1@15", "3@15"]);
});

test("an (ebid, height) pair a block of the branch's last attestation_max_age blocks carries is skipped; one carried on another branch is not", () => {
  const anc = branch(20);
  const other = branch(20, "bb");
  const pool = new AttestationPool();
  const a13 = attest(keys[0]!, 13, anc.get(13)!, VOTE);
  const a15 = attest(keys[0]!, 15, anc.get(15)!, VOTE);
  const b14 = attest(keys[1]!, 14, anc.get(14)!, VOTE);
  for (const a of [a13, a15, b14]) pool.add(a);
  // block 16 of the branch carried keys[0]@13; block 16 of another branch carried keys[1]@14
  pool.noteBlock({ hash: anc.get(16)!, header: { height: 16 } as never, attestations: [a13] });
  pool.noteBlock({ hash: other.get(16)!, header: { height: 16 } as never, attestations: [b14] });
  assert.deepEqual(short(pool.select(20, anc, MAX_AGE)), ["1@14", "0@15"]);
  // once a block of the branch carries the rest, nothing is left to include
  pool.noteBlock({ hash: anc.get(19)!, header: { height: 19 } as never, attestations: [a15, b14] });
  assert.deepEqual(short(pool.select(20, anc, MAX_AGE)), []);
});

test("only validators active at the block's epoch: from setActive for epoch(n) or the caller's predicate; none known selects nothing", () => {
  const anc = branch(40);
  const pool = new AttestationPool({ epochLength: 20 });
  for (const k of keys) pool.add(attest(k, 38, anc.get(38)!, VOTE));
  assert.deepEqual(pool.select(40, anc, MAX_AGE), [], "no active set known for epoch 2: nothing");
  pool.setActive(1, [keys[0]!.ebid, keys[1]!.ebid, keys[2]!.ebid, keys[3]!.ebid]);
  pool.setActive(2, [keys[1]!.ebid, keys[3]!.ebid]);
  assert.deepEqual(short(pool.select(40, anc, MAX_AGE)), ["1@38", "3@38"], "epoch(40) = 2");
  assert.deepEqual(short(pool.select(39, anc, MAX_AGE)), ["0@38", "1@38", "2@38", "3@38"], "epoch(39) = 1");
  assert.deepEqual(short(pool.select(40, anc, MAX_AGE, (e) => e === keys[2]!.ebid)), ["2@38"], "the caller's predicate wins");
  assert.equal(pool.isActive(keys[0]!.ebid, 2), false);
  assert.equal(pool.isActive(keys[0]!.ebid, 7), undefined);
});

test("at most 128, the oldest kept", () => {
  const anc = branch(10);
  const pool = new AttestationPool();
  const many = makeKeys(MAX_ATTESTATIONS_PER_BLOCK + 20, 50);
  many.forEach((k, i) => pool.add(attest(k, i < 100 ? 9 : 5, anc.get(i < 100 ? 9 : 5)!, VOTE)));
  const got = pool.select(10, anc, MAX_AGE);
  assert.equal(got.length, MAX_ATTESTATIONS_PER_BLOCK);
  assert.equal(got.filter((a) => a.height === 5).length, 48, "every older one first");
  assert.deepEqual(got.map((a) => a.height), [...got.map((a) => a.height)].sort((a, b) => a - b));
});
