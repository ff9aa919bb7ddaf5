/**
 * BLS12-381 signatures for RANDAO reveals and proofs of possession (docs/protocol.md §3.3,
 * consensus): the min-pk scheme of Ethereum's consensus layer (public keys in G1, 48 bytes
 * compressed; signatures in G2, 96 bytes compressed) with its proof-of-possession ciphersuite DST
 * `BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_` (IETF draft-irtf-cfrg-bls-signature-05 §4.2.3).
 * Every operation goes through `@chainsafe/blst` (the blst native bindings Lodestar uses); the
 * tests cross-check it against `@noble/curves`' independent pure-JS bls12-381. No curve code here.
 */
import { PublicKey, SecretKey, Signature, verify as blstVerify } from "@chainsafe/blst";
import { LRUCache } from "lru-cache";
import { randomBytes } from "node:crypto";
import { fromHex, toHex } from "./encoding.ts";

/** Bytes of a compressed G1 public key. */
export const BLS_PUBLIC_KEY_BYTES = 48;
/** Bytes of a compressed G2 signature. */
export const BLS_SIGNATURE_BYTES = 96;
/** Bytes of a secret key (a big-endian scalar below the group order). */
export const BLS_SECRET_KEY_BYTES = 32;

const PK_HEX = /^[0-9a-f]{96}$/;
const SIG_HEX = /^[0-9a-f]{192}$/;

/**
 * KeyGen (draft-irtf-cfrg-bls-signature-05 §2.3) from input key material of at least 32 bytes.
 * Deterministic: the same `ikm` gives the same key.
 * @returns the 32-byte secret key
 * @throws Error when `ikm` is shorter than 32 bytes
 */
export function blsSecretKeyFromIkm(ikm: Uint8Array): Uint8Array {
  if (ikm.length < 32) throw new Error("BLS key material must be at least 32 bytes");
  return SecretKey.fromKeygen(ikm).toBytes();
}

/** A fresh secret key from 32 random bytes (node:crypto). */
export function blsRandomSecretKey(): Uint8Array {
  return blsSecretKeyFromIkm(randomBytes(32));
}

/**
 * The compressed public key of a secret key.
 * @throws Error when `secretKey` is not a valid 32-byte secret key
 */
export function blsPublicKey(secretKey: Uint8Array): Uint8Array {
  return SecretKey.fromBytes(secretKey).toPublicKey().toBytes(true);
}

/** `blsPublicKey` as 96 hex characters. */
export function blsPublicKeyHex(secretKey: Uint8Array): string {
  return toHex(blsPublicKey(secretKey));
}

/**
 * Signs `message` (any bytes; hashed to G2 under the ciphersuite's DST).
 * @returns 96 bytes: a compressed G2 point. BLS signatures are unique per key and message.
 */
export function blsSign(secretKey: Uint8Array, message: Uint8Array): Uint8Array {
  return SecretKey.fromBytes(secretKey).sign(message).toBytes(true);
}

/** `blsSign` as 192 hex characters. */
export function blsSignHex(secretKey: Uint8Array, message: Uint8Array): string {
  return toHex(blsSign(secretKey, message));
}

/**
 * True when `publicKey` is 96 lowercase hex characters of a compressed G1 point in the prime-order
 * subgroup that is not the identity (the key validation of the draft's §2.5).
 */
export function isValidBlsPublicKey(publicKey: string): boolean {
  if (!PK_HEX.test(publicKey)) return false;
  try {
    PublicKey.fromBytes(fromHex(publicKey), true);
    return true;
  } catch {
    return false;
  }
}

// Verifications that succeeded, by key, signature and the exact message: a producer's one reveal
// per height is verified once however many blocks carry it (a producer's equivocating blocks, a
// held block imported when due, its own block imported after it built it), about 1.3 ms each
// otherwise. Only successes are cached, so a hit is the same verification again.
const verified = new LRUCache<string, true>({ max: 4096 });

/** Forgets every cached verification (benchmarks measure cold verification with it). */
export function clearBlsVerifyCache(): void {
  verified.clear();
}

/**
 * Verifies a signature (hex) by a public key (hex) over `message`. Malformed input (wrong length,
 * not hex, not a point, not in the subgroup, the identity key) makes it invalid: returns false,
 * never throws.
 */
export function blsVerify(publicKey: string, message: Uint8Array, signature: string): boolean {
  if (!PK_HEX.test(publicKey) || !SIG_HEX.test(signature)) return false;
  const id = `${publicKey}!${signature}!${toHex(message)}`;
  if (verified.has(id)) return true;
  try {
    const pk = PublicKey.fromBytes(fromHex(publicKey), true);
    const sig = Signature.fromBytes(fromHex(signature), true);
    const ok = blstVerify(message, pk, sig);
    if (ok) verified.set(id, true);
    return ok;
  } catch {
    return false;
  }
}
