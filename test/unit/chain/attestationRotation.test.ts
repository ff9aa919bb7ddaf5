// With more attesting validators than fit in one block (128), the producers' selection (docs/protocol.md
// §5, node policy) must still bring every validator's attestations to the chain in turn: liveness
// (the pool) and finality (more than two thirds of A(t) must be carried, §5a) both depend on it.
// Here 200 validators attest every head of a branch; each block takes what the real AttestationPool
// selects for it and the real finality transition counts the FFG votes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { AttestationPool } from "../../../src/chain/attestationPool.ts";
import { applyFinality, checkpointHeight, genesisFinality, voteSource, type FinalityState } from "../../../src/consensus/finality.ts";
import type { Attestation } from "../../../src/consensus/types.ts";
import { fakeHash } from "../../helpers/slashing.ts";

const V = 200;
const I = 8;
const MAX_AGE = 8;
const ebids = Array.from({ length: V }, (_, i) => fakeHash(i)).sort();

test("200 validators attesting every head: each is carried within a checkpoint interval, and checkpoints are justified and finalized", () => {
  const pool = new AttestationPool();
  const branch = new Map<number, string>([[0, fakeHash(60_000)]]);
  const finality: FinalityState[] = [genesisFinality(branch.get(0)!)];
  const carriedAt = new Map<string, number[]>(); // ebid → heights of the blocks carrying it
  const HEIGHTS = 5 * I;
  for (let n = 1; n <= HEIGHTS; n++) {
    // every validator attests the head n-1 with the honest FFG vote of that head
    const h = n - 1;
    const th = checkpointHeight(h, I);
    const target = { height: th, hash: branch.get(th)! };
    const source = th === 0 ? target : voteSource(finality[h]!.justified_recent, th)!;
    for (const ebid of ebids) {
      const a: Attestation = { ebid, height: h, block_hash: branch.get(h)!, source_height: source.height, source_hash: source.hash, target_height: target.height, target_hash: target.hash, sig: "00".repeat(64) };
      pool.add(a);
    }
    const chosen = pool.select(n, branch, MAX_AGE, () => true);
    assert.ok(chosen.length <= 128);
    const hash = fakeHash(60_000 + n);
    branch.set(n, hash);
    pool.noteBlock({ hash, header: { height: n } as never, attestations: chosen });
    for (const a of chosen) carriedAt.set(a.ebid, [...(carriedAt.get(a.ebid) ?? []), n]);
    finality[n] = applyFinality(finality[n - 1]!, chosen, { interval: I, height: n, activeAt: () => ebids });
  }
  const never = ebids.filter((e) => !carriedAt.has(e)).length;
  assert.equal(never, 0, `${never} of ${V} validators never had an attestation carried in ${HEIGHTS} blocks`);
  // from the second interval on, every validator is carried at least once in every I blocks
  for (const e of ebids) {
    const at = carriedAt.get(e)!.filter((n) => n > I);
    for (let i = 1; i < at.length; i++) assert.ok(at[i]! - at[i - 1]! <= I, `${e.slice(0, 8)} waited ${at[i]! - at[i - 1]!} blocks`);
    assert.ok(at.length > 0 && at[at.length - 1]! > HEIGHTS - I, `${e.slice(0, 8)} last carried at ${at[at.length - 1]} of ${HEIGHTS}`);
  }
  const last = finality[HEIGHTS]!;
  assert.ok(last.finalized.height >= 2 * I, `finalized ${last.finalized.height}, justified ${last.justified.height} after ${HEIGHTS} blocks`);
});
