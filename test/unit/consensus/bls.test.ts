// BLS12-381 (src/consensus/bls.ts, @chainsafe/blst) cross-checked against an independent
// implementation: @noble/curves' pure-JS bls12-381 in min-pk mode (`longSignatures`: G1 public
// keys, G2 signatures) with Ethereum's proof-of-possession DST set explicitly (noble's default is
// the `_NUL_` suite). Same keys, byte-identical public keys and signatures, each verifying the
// other's, the same refusals; KeyGen against the IETF draft's HKDF steps done with node:crypto.
import { test } from "node:test";
import assert from "node:assert/strict";
import { hkdfSync, createHash } from "node:crypto";
import fc from "fast-check";
import { bls12_381 } from "@noble/curves/bls12-381.js";
import {
  BLS_PUBLIC_KEY_BYTES, BLS_SECRET_KEY_BYTES, BLS_SIGNATURE_BYTES, blsPublicKeyHex, blsSecretKeyFromIkm, blsSign, blsSignHex,
  blsVerify, isValidBlsPublicKey,
} from "../../../src/consensus/bls.ts";
import { popMessage, revealMessage } from "../../../src/consensus/randao.ts";
import { ebidOf } from "../../../src/consensus/signatures.ts";
import { fromHex, toHex, utf8 } from "../../../src/consensus/encoding.ts";

/** Ethereum's consensus-layer ciphersuite (draft-irtf-cfrg-bls-signature-05 §4.2.3). */
const POP_DST = "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";
const noble = bls12_381.longSignatures;

const noblePublicKey = (sk: Uint8Array) => noble.getPublicKey(sk).toHex(true);
const nobleSign = (sk: Uint8Array, msg: Uint8Array, dst = POP_DST) => noble.Signature.toHex(noble.sign(noble.hash(msg, dst), sk));
/** noble's verify over hex; false where it throws (noble throws on undecodable points). */
function nobleVerify(pk: string, msg: Uint8Array, sig: string): boolean {
  try {
    return noble.verify(fromHex(sig), noble.hash(msg, POP_DST), fromHex(pk));
  } catch {
    return false;
  }
}
function nobleAcceptsPublicKey(pk: string): boolean {
  try {
    return !bls12_381.G1.Point.fromBytes(fromHex(pk)).is0();
  } catch {
    return false;
  }
}

/** KeyGen of draft-irtf-cfrg-bls-signature-05 §2.3 (key_info empty), with node:crypto's HKDF. */
function ietfKeyGen(ikm: Uint8Array): Uint8Array {
  const r = bls12_381.fields.Fr.ORDER;
  let salt: Uint8Array = utf8("BLS-SIG-KEYGEN-SALT-");
  for (;;) {
    salt = createHash("sha256").update(salt).digest();
    const okm = new Uint8Array(hkdfSync("sha256", Buffer.concat([ikm, Uint8Array.of(0)]), salt, Uint8Array.of(0, 48), 48));
    const sk = BigInt("0x" + toHex(okm)) % r;
    if (sk !== 0n) return fromHex(sk.toString(16).padStart(64, "0"));
  }
}

// Deterministic keys: KeyGen over fixed IKM, plus the smallest and the largest valid scalars.
const R_MINUS_1 = "73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000000";
const secretKeys = [
  ...[1, 2, 3].map((b) => blsSecretKeyFromIkm(new Uint8Array(32).fill(b))),
  fromHex("00".repeat(31) + "01"),
  fromHex(R_MINUS_1),
];
const ebid = ebidOf(new Uint8Array(32).fill(1));
const messages: [string, Uint8Array][] = [
  ["empty", new Uint8Array(0)],
  ["abc", utf8("abc")],
  ...[1, 2, 3, Number.MAX_SAFE_INTEGER].map((h): [string, Uint8Array] => [`reveal ${h}`, revealMessage("vision-test", h)]),
  ["pop", popMessage("vision-test", ebid, blsPublicKeyHex(secretKeys[0]!))],
  ["1 KiB", Uint8Array.from({ length: 1024 }, (_, i) => (i * 7) & 0xff)],
];

test("KeyGen from IKM matches the IETF draft's HKDF steps; sizes are the min-pk ones", () => {
  for (const b of [1, 2, 3, 0xff]) {
    const ikm = new Uint8Array(32).fill(b);
    assert.deepEqual(blsSecretKeyFromIkm(ikm), ietfKeyGen(ikm), `ikm 0x${b.toString(16)}`);
  }
  const long = Uint8Array.from({ length: 64 }, (_, i) => i);
  assert.deepEqual(blsSecretKeyFromIkm(long), ietfKeyGen(long));
  assert.throws(() => blsSecretKeyFromIkm(new Uint8Array(31)), /at least 32 bytes/);
  const sk = secretKeys[0]!;
  assert.deepEqual(
    [BLS_SECRET_KEY_BYTES, BLS_PUBLIC_KEY_BYTES, BLS_SIGNATURE_BYTES],
    [sk.length, noblePublicKey(sk).length / 2, nobleSign(sk, new Uint8Array(0)).length / 2],
  );
});

test("blst and noble (POP DST): byte-identical public keys and signatures, each verifies the other's", () => {
  for (const sk of secretKeys) {
    const pk = blsPublicKeyHex(sk);
    assert.equal(pk, noblePublicKey(sk), `public key of ${toHex(sk)}`);
    assert.ok(isValidBlsPublicKey(pk));
    for (const [name, msg] of messages) {
      const ours = blsSignHex(sk, msg);
      assert.equal(ours, nobleSign(sk, msg), `signature over ${name}`);
      assert.ok(nobleVerify(pk, msg, ours), `noble verifies blst's signature over ${name}`);
      assert.ok(blsVerify(pk, msg, nobleSign(sk, msg)), `blst verifies noble's signature over ${name}`);
    }
  }
});

test("the DST is Ethereum's proof-of-possession one: a signature under noble's default (_NUL_) DST is refused", () => {
  const sk = secretKeys[0]!;
  const [, msg] = messages[2]!;
  const nul = noble.Signature.toHex(noble.sign(noble.hash(msg), sk));
  assert.notEqual(nul, blsSignHex(sk, msg));
  assert.equal(blsVerify(blsPublicKeyHex(sk), msg, nul), false);
  assert.equal(nobleSign(sk, msg, "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_NUL_"), nul);
});

test("both refuse the same malformed and wrong inputs", () => {
  const sk = secretKeys[0]!;
  const pk = blsPublicKeyHex(sk);
  const [, msg] = messages[2]!;
  const sig = blsSignHex(sk, msg);
  const otherPk = blsPublicKeyHex(secretKeys[1]!);
  const g1 = (lastByte: number) => "80" + "00".repeat(46) + lastByte.toString(16).padStart(2, "0");
  const g2 = (lastByte: number) => "80" + "00".repeat(94) + lastByte.toString(16).padStart(2, "0");
  const flipSign = (hex: string) => (parseInt(hex.slice(0, 2), 16) ^ 0x20).toString(16).padStart(2, "0") + hex.slice(2);
  // [what, public key, message, signature]
  const cases: [string, string, Uint8Array, string][] = [
    ["a public key a byte short", pk.slice(0, -2), msg, sig],
    ["a public key a byte long", pk + "00", msg, sig],
    ["a signature a byte short", pk, msg, sig.slice(0, -2)],
    ["a signature a byte long", pk, msg, sig + "00"],
    ["a public key whose x is not on the curve (x = 1)", g1(1), msg, sig],
    ["a public key on the curve outside the prime-order subgroup (x = 4)", g1(4), msg, sig],
    ["the identity public key", "c0" + "00".repeat(47), msg, sig],
    ["a signature whose x is not on the curve (x = 1)", pk, msg, g2(1)],
    ["a signature on the curve outside the prime-order subgroup (x = 2)", pk, msg, g2(2)],
    ["the identity signature", pk, msg, "c0" + "00".repeat(95)],
    ["a public key without the compression flag", "00" + pk.slice(2), msg, sig],
    ["the negated public key (sign bit flipped)", flipSign(pk), msg, sig],
    ["the negated signature (sign bit flipped)", pk, msg, flipSign(sig)],
    ["a signature for another message", pk, revealMessage("vision-test", 4), sig],
    ["a signature for another chain", pk, revealMessage("vision-other", 2), sig],
    ["a signature by another key", otherPk, msg, sig],
  ];
  for (const [what, p, m, s] of cases) {
    assert.equal(blsVerify(p, m, s), false, `blst: ${what}`);
    assert.equal(nobleVerify(p, m, s), false, `noble: ${what}`);
  }
  for (const p of [g1(1), g1(4), "c0" + "00".repeat(47), "00" + pk.slice(2), pk.slice(0, -2)]) {
    assert.equal(isValidBlsPublicKey(p), false, p);
    assert.equal(nobleAcceptsPublicKey(p), false, p);
  }
  assert.ok(blsVerify(pk, msg, sig) && nobleVerify(pk, msg, sig), "the untouched triple verifies");
});

test("the hex forms noble's byte API would take are refused by bls.ts: uppercase hex, an uncompressed public key", () => {
  const sk = secretKeys[0]!;
  const pk = blsPublicKeyHex(sk);
  const [, msg] = messages[2]!;
  const sig = blsSignHex(sk, msg);
  // The same bytes: noble decodes them (hex is not its concern), the protocol's lowercase rule refuses them.
  assert.ok(nobleVerify(pk.toUpperCase(), msg, sig.toUpperCase()));
  assert.equal(blsVerify(pk.toUpperCase(), msg, sig), false);
  assert.equal(blsVerify(pk, msg, sig.toUpperCase()), false);
  assert.equal(isValidBlsPublicKey(pk.toUpperCase()), false);
  // The uncompressed encoding (96 bytes) of the same key: noble accepts it, the protocol takes only 48.
  const uncompressed = noble.getPublicKey(sk).toHex(false);
  assert.ok(nobleVerify(uncompressed, msg, sig));
  assert.equal(blsVerify(uncompressed, msg, sig), false);
  assert.equal(isValidBlsPublicKey(uncompressed), false);
});

test("property: for random keys and messages blst and noble sign alike and verify each other (20 runs)", () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 200 }), (ikm, msg) => {
      const sk = blsSecretKeyFromIkm(ikm);
      const pk = blsPublicKeyHex(sk);
      const ours = toHex(blsSign(sk, msg));
      assert.equal(pk, noblePublicKey(sk));
      assert.equal(ours, nobleSign(sk, msg));
      assert.ok(nobleVerify(pk, msg, ours));
      const other = Uint8Array.from([...msg, 0]);
      assert.equal(blsVerify(pk, other, ours), false);
    }),
    { numRuns: 20 },
  );
});

test("a reveal verified once is not verified again (equivocating blocks at one height share one), and the cache never turns a bad signature good", () => {
  const sk = blsSecretKeyFromIkm(new Uint8Array(32).fill(0x5a));
  const pk = blsPublicKeyHex(sk);
  const message = revealMessage("vision-test", 777);
  const reveal = blsSignHex(sk, message);
  let started = performance.now();
  assert.ok(blsVerify(pk, message, reveal));
  const first = performance.now() - started;
  started = performance.now();
  for (let i = 0; i < 50; i++) assert.ok(blsVerify(pk, message, reveal));
  const again = performance.now() - started;
  // uncached, 50 verifications cost about 50 times the first one
  assert.ok(again < 10 * first, `50 repeated verifications took ${again.toFixed(2)} ms, the first ${first.toFixed(2)} ms`);
  const other = blsSecretKeyFromIkm(new Uint8Array(32).fill(0x5b));
  assert.equal(blsVerify(pk, revealMessage("vision-test", 778), reveal), false, "another height");
  assert.equal(blsVerify(pk, revealMessage("vision-other", 777), reveal), false, "another chain");
  assert.equal(blsVerify(blsPublicKeyHex(other), message, reveal), false, "another key");
  assert.equal(blsVerify(pk, message, blsSignHex(other, message)), false, "another key's signature");
});
