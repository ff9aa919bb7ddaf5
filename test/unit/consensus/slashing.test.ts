// Slashing evidence (docs/protocol.md §6.5): each conflict rule accepted, each near miss refused.
// Votes are signed here with the test keys under vision-attest-v3; the block evidence is two real
// blocks, signed by their producer, built on a chain over LevelDB as the producer builds them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Domain, sign, type ChainDomains } from "../../../src/consensus/signatures.ts";
import { H, hashJson, toHex } from "../../../src/consensus/encoding.ts";
import { merkleRootOfHashes, merkleRootOfItems } from "../../../src/consensus/merkle.ts";
import { blockHash } from "../../../src/consensus/hashing.ts";
import {
  MAX_SLASHINGS_PER_BLOCK,
  slashingItemHash,
  slashingItemSchema,
  slashingOffender,
  slashingsRoot,
  verifySlashing,
  votesConflict,
  type SlashingItem,
  type Vote,
} from "../../../src/consensus/slashing.ts";
import { fakeHash, testDomains, vote } from "../../helpers/slashing.ts";
import { blockFor, extend, makeKeys, makeSpec, openTestChain, type TestKey } from "../../helpers/fixtures.ts";

const keys = makeKeys(3);
const [k0, k1] = keys as [TestKey, TestKey];
const votes = (a: Vote, b: Vote): SlashingItem => ({ kind: "votes", a, b });

function accepted(item: SlashingItem, offender: string, what: string, domains: ChainDomains = testDomains): void {
  assert.deepEqual(slashingItemSchema.parse(item), item, `${what}: the schema takes it as is`);
  assert.deepEqual(verifySlashing(item, domains), { ok: true, offender }, what);
}

function refused(item: SlashingItem, what: string, why: RegExp, domains: ChainDomains = testDomains): void {
  const r = verifySlashing(item, domains);
  assert.equal(r.ok, false, what);
  if (!r.ok) {
    assert.equal(r.code, "BAD_SLASHING", what);
    assert.match(r.message, why, what);
  }
}

test("votes: a double vote (one target height, another target hash or source) and a surround either way are slashable", () => {
  accepted(votes(vote(k0, 0, 8), vote(k0, 0, 8, { targetHash: fakeHash(200) })), k0.ebid, "double vote: two targets at one height");
  accepted(votes(vote(k0, 0, 16), vote(k0, 8, 16)), k0.ebid, "double vote: one target, two sources");
  accepted(votes(vote(k0, 8, 16, { sourceHash: fakeHash(201) }), vote(k0, 8, 16)), k0.ebid, "double vote: one target, two source hashes at one height");
  accepted(votes(vote(k0, 0, 32), vote(k0, 8, 16)), k0.ebid, "a surrounds b");
  accepted(votes(vote(k0, 8, 16), vote(k0, 0, 32)), k0.ebid, "b surrounds a");
  assert.equal(votesConflict(vote(k0, 0, 32), vote(k0, 8, 16)), "surround");
  assert.equal(votesConflict(vote(k0, 0, 8), vote(k0, 0, 8, { targetHash: fakeHash(200) })), "double vote");
});

test("votes: the same vote twice, another head with the same FFG data, non-strict or no surround, two validators and bad signatures are refused", () => {
  const v = vote(k0, 0, 8);
  refused(votes(v, v), "the same vote twice", /not conflicting/);
  refused(votes(v, vote(k0, 0, 8, { height: 10, head: 7 })), "two heads, one FFG vote", /not conflicting/);
  refused(votes(vote(k0, 0, 16), vote(k0, 0, 8)), "one source height: no strict surround", /not conflicting/);
  refused(votes(vote(k0, 8, 24), vote(k0, 8, 16)), "one source height, later", /not conflicting/);
  refused(votes(vote(k0, 0, 8), vote(k0, 8, 16)), "consecutive links", /not conflicting/);
  refused(votes(vote(k0, 0, 24), vote(k0, 8, 32)), "overlapping, not surrounding", /not conflicting/);
  refused(votes(vote(k0, 0, 8), vote(k1, 0, 8, { targetHash: fakeHash(200) })), "two validators", /two validators/);
  refused(votes(vote(k0, 0, 32), vote(k0, 8, 16, { signer: k1 })), "b signed by another key", /signature/);
  refused(votes(vote(k0, 0, 32, { domain: Domain.tx }), vote(k0, 8, 16)), "a signed under another domain (vision-tx-v1)", /signature/);
  const forged = vote(k0, 8, 16);
  refused(votes(vote(k0, 0, 32), { ...forged, target_height: 24, sig: forged.sig }), "b's data changed after signing", /signature/);
});

test("blocks: two signed headers by one producer at one height are slashable; one block twice, two producers, two heights and bad signatures are not", async () => {
  const spec = makeSpec(keys);
  const c = await openTestChain(spec);
  try {
    await extend(c.chain, keys, 2);
    const parent = c.chain.head;
    const b1 = await blockFor(c.chain, parent, keys, 0);
    const b2 = await blockFor(c.chain, parent, keys, 0, { timestamp: b1.header.timestamp + 1 });
    const producer = b1.header.producer;
    const signer = keys.find((k) => k.ebid === producer)!;
    const other = keys.find((k) => k.ebid !== producer)!;
    assert.notEqual(b1.hash, b2.hash);
    const sh = (b: typeof b1) => ({ header: b.header, signature: b.signature });
    accepted({ kind: "blocks", a: sh(b1), b: sh(b2) }, producer, "two blocks at one height", c.chain.domains);
    assert.equal(slashingOffender({ kind: "blocks", a: sh(b1), b: sh(b2) }), producer);
    refused({ kind: "blocks", a: sh(b1), b: sh(b1) }, "one block twice", /one block/, c.chain.domains);
    const byOther = await blockFor(c.chain, parent, keys, 1);
    assert.notEqual(byOther.header.producer, producer);
    refused({ kind: "blocks", a: sh(b1), b: sh(byOther) }, "two producers", /two producers/, c.chain.domains);
    const resigned = { ...b2.header, height: b2.header.height + 1 };
    refused({ kind: "blocks", a: sh(b2), b: { header: resigned, signature: sign(c.chain.domains.block, resigned, signer.secretKey) } }, "two heights", /two heights/, c.chain.domains);
    refused({ kind: "blocks", a: sh(b1), b: { header: b2.header, signature: sign(c.chain.domains.block, b2.header, other.secretKey) } }, "b signed by another key", /signature/, c.chain.domains);
    refused({ kind: "blocks", a: sh(b1), b: { header: b2.header, signature: sign(c.chain.domains.attest, b2.header, signer.secretKey) } }, "b signed under another domain", /signature/, c.chain.domains);
    assert.equal(blockHash(b1.header), b1.hash);
  } finally {
    await c.destroy();
  }
});

test("schema, item hash and slashings_root: exact fields, H(JCS(item)), RFC 6962 over the items; at most 8 per block", () => {
  const item = votes(vote(k0, 0, 32), vote(k0, 8, 16));
  assert.equal(slashingItemSchema.safeParse({ ...item, extra: 1 }).success, false, "an extra field");
  assert.equal(slashingItemSchema.safeParse({ ...item, kind: "vote" }).success, false, "an unknown kind");
  assert.equal(slashingItemSchema.safeParse({ ...item, a: { ...item.a, sig: "00" } }).success, false, "a short signature");
  assert.equal(slashingItemSchema.safeParse({ ...item, a: { ...item.a, source_height: -1 } }).success, false, "a negative height");
  assert.equal(slashingItemSchema.safeParse({ kind: "blocks", a: item.a, b: item.b }).success, false, "votes as blocks");
  assert.deepEqual(slashingItemHash(item), hashJson(item));
  const other = votes(vote(k0, 0, 8), vote(k0, 0, 8, { targetHash: fakeHash(200) }));
  assert.equal(slashingsRoot([item, other]), toHex(merkleRootOfItems([item, other])));
  assert.equal(slashingsRoot([item, other]), toHex(merkleRootOfHashes([slashingItemHash(item), slashingItemHash(other)])));
  assert.equal(slashingsRoot([]), toHex(H(new Uint8Array(0))));
  assert.equal(MAX_SLASHINGS_PER_BLOCK, 8);
});
