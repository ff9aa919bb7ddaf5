// The evidence pool (node policy, docs/protocol.md §6.5): slashing items from the chain's
// equivocation records (two real blocks by one producer at one height, stored on LevelDB) and from
// conflicting FFG votes noted one by one; one item per offender, at most 64, the votes remembered
// in a bounded LRU; pending() offers only offenders still slashable, at most 8.
import { test } from "node:test";
import assert from "node:assert/strict";
import { verifySlashing, slashingOffender, type SlashingItem } from "../../../src/consensus/slashing.ts";
import { EvidencePool, MAX_EVIDENCE } from "../../../src/node/evidencePool.ts";
import type { RegistryReader, ValidatorRecord } from "../../../src/consensus/validators.ts";
import { blockFor, extend, makeKeys, makeSpec, openTestChain, type TestKey } from "../../helpers/fixtures.ts";
import { doubleVote, fakeHash, testDomains, vote } from "../../helpers/slashing.ts";

const keys = makeKeys(3);
const [k0, k1, k2] = keys as [TestKey, TestKey, TestKey];

/** Records for `ebids` (slashed ones as given). */
function registry(ebids: string[], slashed: string[] = []): RegistryReader {
  const rs: ValidatorRecord[] = ebids.map((ebid) => ({ ebid, bls_pubkey: "", bond: 1000n, activation_epoch: 0, exit_epoch: null, slashed: slashed.includes(ebid) }));
  return { get: (e) => rs.find((r) => r.ebid === e), all: () => rs, size: rs.length };
}

test("an equivocation the chain stored (two real blocks by one producer at one height) becomes a blocks item, once", async () => {
  const c = await openTestChain(makeSpec(keys));
  try {
    await extend(c.chain, keys, 2);
    const parent = c.chain.head;
    const b1 = await blockFor(c.chain, parent, keys, 0);
    const b2 = await blockFor(c.chain, parent, keys, 0, { timestamp: b1.header.timestamp + 7 });
    assert.equal((await c.chain.importBlock(b1)).status, "imported");
    assert.equal((await c.chain.importBlock(b2)).status, "imported");
    assert.equal((await c.chain.listEvidence()).length, 1, "the chain recorded the equivocation");
    const unbonded = new EvidencePool(c.chain.domains);
    assert.equal(await unbonded.fromChain(c.chain, registry([])), 0, "an offender without a record is not kept");
    const pool = new EvidencePool(c.chain.domains);
    assert.equal(await pool.fromChain(c.chain, await c.chain.registryAfter(c.chain.head)), 1);
    assert.equal(await pool.fromChain(c.chain), 0, "one item per offender");
    const [item] = pool.pending(await c.chain.registryAfter(c.chain.head));
    assert.ok(item);
    assert.equal(item.kind, "blocks");
    assert.deepEqual(verifySlashing(item, c.chain.domains), { ok: true, offender: b1.header.producer });
    assert.deepEqual(new Set(item.kind === "blocks" ? [item.a.header, item.b.header] : []), new Set([b1.header, b2.header]));
  } finally {
    await c.destroy();
  }
});

test("noteVote: a double vote or a surround (either order) yields a votes item; re-votes, other heads, consecutive links and bad signatures do not", () => {
  const pool = new EvidencePool(testDomains);
  const same = vote(k0, 0, 8);
  assert.equal(pool.noteVote(same), undefined);
  assert.equal(pool.noteVote(same), undefined, "the same vote twice");
  assert.equal(pool.noteVote(vote(k0, 0, 8, { height: 11, head: 77 })), undefined, "another head, the same FFG vote");
  assert.equal(pool.noteVote(vote(k0, 8, 16)), undefined, "the next link");
  assert.equal(pool.noteVote(vote(k0, 0, 8, { targetHash: fakeHash(900), signer: k1 })), undefined, "a bad signature is ignored");
  const dbl = pool.noteVote(vote(k0, 0, 8, { targetHash: fakeHash(900) }));
  assert.ok(dbl, "a double vote");
  assert.deepEqual(verifySlashing(dbl, testDomains), { ok: true, offender: k0.ebid });
  assert.equal(pool.noteVote(vote(k0, 0, 16, { targetHash: fakeHash(901) })), undefined, "k0 has an item already");

  assert.equal(pool.noteVote(vote(k1, 8, 16)), undefined);
  const outer = pool.noteVote(vote(k1, 0, 24));
  assert.ok(outer && outer.kind === "votes", "a later vote surrounding an earlier one");
  assert.deepEqual(verifySlashing(outer, testDomains), { ok: true, offender: k1.ebid });

  assert.equal(pool.noteVote(vote(k2, 0, 32)), undefined);
  const inner = pool.noteVote(vote(k2, 8, 16));
  assert.ok(inner, "a later vote surrounded by an earlier one");
  assert.deepEqual(verifySlashing(inner, testDomains), { ok: true, offender: k2.ebid });
  assert.equal(pool.size, 3);

  const bonded = registry([k0.ebid], [k1.ebid]);
  const strict = new EvidencePool(testDomains);
  strict.noteVote(vote(k1, 0, 8), bonded);
  assert.equal(strict.noteVote(vote(k1, 0, 8, { targetHash: fakeHash(900) }), bonded), undefined, "a slashed offender's votes are ignored");
  strict.noteVote(vote(k2, 0, 8), bonded);
  assert.equal(strict.noteVote(vote(k2, 0, 8, { targetHash: fakeHash(900) }), bonded), undefined, "an EBID without a record is ignored");
  strict.noteVote(vote(k0, 0, 8), bonded);
  assert.ok(strict.noteVote(vote(k0, 0, 8, { targetHash: fakeHash(900) }), bonded));
});

test("conflicts: true exactly for a vote noteVote would make an item of (a double vote, a surround), before any signature check", () => {
  const pool = new EvidencePool(testDomains);
  assert.equal(pool.conflicts(vote(k0, 0, 8)), false, "nothing remembered");
  pool.noteVote(vote(k0, 0, 8));
  pool.noteVote(vote(k1, 8, 16));
  assert.equal(pool.conflicts(vote(k0, 0, 8, { height: 11, head: 77 })), false, "the same FFG vote under another head");
  assert.equal(pool.conflicts(vote(k0, 8, 16)), false, "the next link");
  assert.equal(pool.conflicts(vote(k0, 0, 8, { targetHash: fakeHash(900) })), true, "a double vote");
  assert.equal(pool.conflicts(vote(k0, 0, 8, { targetHash: fakeHash(900), signer: k1 })), true, "a lookup: the signature is the caller's to check");
  assert.equal(pool.conflicts(vote(k1, 0, 24)), true, "a surround of a remembered vote");
  assert.equal(pool.conflicts(vote(k2, 0, 24)), false, "another voter");
  assert.ok(pool.noteVote(vote(k0, 0, 8, { targetHash: fakeHash(900) })));
  assert.equal(pool.conflicts(vote(k0, 0, 8, { targetHash: fakeHash(901) })), false, "k0 has an item already");
});

test("bounds: 64 items (the oldest offender dropped first), a bounded vote memory; pending() offers at most 8 slashable offenders", () => {
  const many = makeKeys(MAX_EVIDENCE + 1, 10);
  const pool = new EvidencePool(testDomains);
  for (const k of many) assert.ok(pool.add(doubleVote(k)));
  assert.equal(pool.size, MAX_EVIDENCE);
  const offenders = (items: SlashingItem[]) => items.map(slashingOffender);
  const all = pool.pending(registry(many.map((k) => k.ebid)), MAX_EVIDENCE);
  assert.equal(all.length, MAX_EVIDENCE);
  assert.ok(!offenders(all).includes(many[0]!.ebid), "the first offender was dropped");
  assert.equal(pool.add(doubleVote(many[5]!, 16)), false, "a second item for one offender is refused");
  assert.equal(pool.add({ kind: "votes", a: vote(k0, 0, 8), b: vote(k0, 0, 8, { head: 3 }) }), false, "no evidence: refused");

  const reg = registry([many[1]!.ebid, many[2]!.ebid, ...many.slice(3, 20).map((k) => k.ebid)], [many[2]!.ebid]);
  const offered = offenders(pool.pending(reg));
  assert.equal(offered.length, 8, "at most a block's worth");
  assert.ok(!offered.includes(many[2]!.ebid), "a slashed offender is not offered");
  assert.ok(offered.every((e) => reg.get(e)), "only offenders with a record");
  pool.prune(reg);
  assert.equal(pool.size, 18, "prune drops slashed offenders and those without a record");

  const small = new EvidencePool(testDomains, { maxVotes: 2 });
  small.noteVote(vote(k0, 0, 8));
  small.noteVote(vote(k1, 0, 8));
  small.noteVote(vote(k2, 0, 8));
  assert.equal(small.noteVote(vote(k0, 0, 8, { targetHash: fakeHash(900) })), undefined, "k0's vote was forgotten");
  assert.ok(small.noteVote(vote(k2, 0, 8, { targetHash: fakeHash(900) })), "k2's is remembered");
});
