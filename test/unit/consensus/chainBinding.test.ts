// Signatures bind the chain (docs/protocol.md §3.3, protocol version 3): a block or an attestation
// is signed over utf8(domain) || genesis_hash (32 bytes) || H(JCS(obj)) under `vision-block-v3` and
// `vision-attest-v3`; what one chain signed does not verify on another (another genesis), neither
// as a block (the verification that block validity runs) nor as slashing evidence. Transactions and
// hello keep their unbound `-v1` forms (they name their chain inside the object).
import { test } from "node:test";
import assert from "node:assert/strict";
import { chainDomains, Domain, sign, signingMessage, verify } from "../../../src/consensus/signatures.ts";
import { concatBytes, fromHex, hashJson, toHex, utf8 } from "../../../src/consensus/encoding.ts";
import { verifySlashing } from "../../../src/consensus/slashing.ts";
import { validateDetached } from "../../../src/chain/validation.ts";
import { BlockError } from "../../../src/chain/errors.ts";
import { buildBlock } from "../../../src/producer/blockBuilder.ts";
import { makeKeys, makeSpec, type TestKey } from "../../helpers/fixtures.ts";
import { doubleVote, fakeHash, vote } from "../../helpers/slashing.ts";
import type { Block, SlashingItem } from "../../../src/consensus/types.ts";

const [k0, k1] = makeKeys(2) as [TestKey, TestKey];
const gA = fakeHash(0xa);
const gB = fakeHash(0xb);
const powSpec = makeSpec([], { consensus: "pow", params: { genesis_difficulty: 0 } });

/** A pow block at height 1 by `k`, signed for the chain of genesis `g` (slot null, difficulty 0: any nonce meets it). */
function powBlock(k: TestKey, g: string, timestamp = 1_000): Block {
  const draft = { parent: { hash: fakeHash(1), height: 0, mix: fakeHash(2) }, producer: k.ebid, slot: null, timestamp, attestations: [], stateRoot: fakeHash(3), validatorsRoot: fakeHash(4), finalityRoot: fakeHash(5) };
  return buildBlock(draft, k.secretKey, g);
}

test("the signed bytes are utf8(domain) || genesis_hash || H(JCS(obj)) for blocks and attestations, utf8(domain) || H(JCS(obj)) for tx and hello", () => {
  const obj = { height: 3, producer: k0.ebid, sig: "ignored" };
  const { sig: _sig, ...rest } = obj;
  assert.equal(Domain.block, "vision-block-v3");
  assert.equal(Domain.attest, "vision-attest-v3");
  assert.equal(toHex(signingMessage(chainDomains(gA).block, obj)), toHex(concatBytes(utf8("vision-block-v3"), fromHex(gA), hashJson(rest))));
  assert.equal(toHex(signingMessage(chainDomains(gA).attest, obj)), toHex(concatBytes(utf8("vision-attest-v3"), fromHex(gA), hashJson(rest))));
  assert.equal(toHex(signingMessage(Domain.tx, obj)), toHex(concatBytes(utf8("vision-tx-v1"), hashJson(rest))));
  assert.equal(chainDomains(gA), chainDomains(gA), "one prefix per chain, computed once");
  assert.throws(() => chainDomains("AB".repeat(32)), /genesis hash/);
  // the bare names of the chain-bound domains are refused: no call site can sign or verify without a chain
  assert.throws(() => sign(Domain.block as never, obj, k0.secretKey), /bind the chain/);
  assert.throws(() => verify(Domain.attest as never, obj, "00".repeat(64), k0.ebid), /bind the chain/);
});

test("a block and an attestation signed for chain A verify on chain A only", () => {
  const blk = powBlock(k0, gA);
  assert.ok(verify(chainDomains(gA).block, blk.header, blk.signature, k0.ebid));
  assert.equal(verify(chainDomains(gB).block, blk.header, blk.signature, k0.ebid), false, "chain A's block on chain B");
  const v = vote(k1, 0, 8, { genesis: gA });
  assert.ok(verify(chainDomains(gA).attest, v, v.sig, v.ebid));
  assert.equal(verify(chainDomains(gB).attest, v, v.sig, v.ebid), false, "chain A's attestation on chain B");
  // nor does it pass for the other chain-bound domain of its own chain
  assert.equal(verify(chainDomains(gA).block, v, v.sig, v.ebid), false);
  assert.equal(sign(chainDomains(gA).attest, v, k1.secretKey), v.sig, "deterministic");
});

test("block validity refuses chain A's block on chain B with BAD_SIGNATURE", () => {
  const blk = powBlock(k0, gA);
  assert.doesNotThrow(() => validateDetached(blk, powSpec, chainDomains(gA)));
  assert.throws(() => validateDetached(blk, powSpec, chainDomains(gB)), (e: unknown) => e instanceof BlockError && e.code === "BAD_SIGNATURE");
});

test("slashing evidence made of chain A's votes or headers is no evidence on chain B", () => {
  const votesA = doubleVote(k1, 8, gA);
  assert.deepEqual(verifySlashing(votesA, chainDomains(gA)), { ok: true, offender: k1.ebid });
  const onB = verifySlashing(votesA, chainDomains(gB));
  assert.equal(onB.ok, false);
  assert.ok(!onB.ok && onB.code === "BAD_SLASHING" && /vote a: bad signature under vision-attest-v3/.test(onB.message), JSON.stringify(onB));
  const [x, y] = [powBlock(k0, gA, 1_000), powBlock(k0, gA, 2_000)];
  const blocksA: SlashingItem = { kind: "blocks", a: { header: x.header, signature: x.signature }, b: { header: y.header, signature: y.signature } };
  assert.deepEqual(verifySlashing(blocksA, chainDomains(gA)), { ok: true, offender: k0.ebid });
  const blocksOnB = verifySlashing(blocksA, chainDomains(gB));
  assert.ok(!blocksOnB.ok && blocksOnB.code === "BAD_SLASHING" && /header a: bad signature under vision-block-v3/.test(blocksOnB.message), JSON.stringify(blocksOnB));
  // one part from each chain: still no evidence on either
  const mixed: SlashingItem = { kind: "votes", a: vote(k1, 0, 8, { genesis: gA }), b: vote(k1, 0, 8, { genesis: gB, targetHash: fakeHash(99) }) };
  assert.equal(verifySlashing(mixed, chainDomains(gA)).ok, false);
  assert.equal(verifySlashing(mixed, chainDomains(gB)).ok, false);
});
