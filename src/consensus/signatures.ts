/**
 * Domain-separated ed25519 signatures (docs/protocol.md §3, consensus):
 * `sign(domain, obj)` = ed25519 over utf8(domain) || H(JCS(obj without sig)).
 * Signing uses `@noble/ed25519` (byte-identical to RFC 8032); verification uses OpenSSL through
 * `node:crypto`, the one verifier docs/protocol.md §3 allows.
 */
import { createPublicKey, verify as cryptoVerify, type KeyObject } from "node:crypto";
import * as ed from "@noble/ed25519";
import { sha512 } from "@noble/hashes/sha2.js";
import { LRUCache } from "lru-cache";
import { clearBlsVerifyCache } from "./bls.ts";
import { concatBytes, hashJson, toHex, utf8 } from "./encoding.ts";

ed.hashes.sha512 = sha512;

/** Signature domains (docs/protocol.md §3). */
export const Domain = {
  block: "vision-block-v1",
  tx: "vision-tx-v1",
  attest: "vision-attest-v3",
  hello: "vision-hello-v1",
} as const;
/** One of the signature domains. */
export type Domain = (typeof Domain)[keyof typeof Domain];

const HEX64 = /^[0-9a-f]{64}$/;
const HEX128 = /^[0-9a-f]{128}$/;
// DER SubjectPublicKeyInfo prefix for a raw 32-byte ed25519 key (RFC 8410).
const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
const keyCache = new LRUCache<string, KeyObject>({ max: 4096 });
// Signatures that verified, by signer, signature and signed bytes: a transfer is checked when it
// enters the mempool and again in every block (and a producer imports its own block), so the
// expensive ed25519 check runs once per signature. Only successes are cached; the key holds the
// exact signed message, so a hit is the same verification again.
const verified = new LRUCache<string, true>({ max: 16_384 });

/** The bytes that are signed: utf8(domain) || H(JCS(obj without `sig`)). */
export function signingMessage(domain: Domain, obj: object): Uint8Array {
  const { sig: _sig, ...rest } = obj as Record<string, unknown>;
  return concatBytes(utf8(domain), hashJson(rest));
}

/**
 * Signs `obj` (minus any `sig` field) under `domain`.
 * @param secretKey 32-byte ed25519 seed
 * @returns 128 hex chars
 */
export function sign(domain: Domain, obj: object, secretKey: Uint8Array): string {
  return toHex(ed.sign(signingMessage(domain, obj), secretKey));
}

/**
 * True when `sigHex` is a valid signature by `ebid` of `obj` under `domain`, as judged by OpenSSL's
 * RFC 8032 verifier. Malformed keys or signatures give false, never a throw.
 */
export function verify(domain: Domain, obj: object, sigHex: string, ebid: string): boolean {
  if (typeof sigHex !== "string" || !HEX128.test(sigHex) || typeof ebid !== "string" || !HEX64.test(ebid)) return false;
  let key = keyCache.get(ebid);
  if (!key) {
    try {
      key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, Buffer.from(ebid, "hex")]), format: "der", type: "spki" });
    } catch {
      return false;
    }
    keyCache.set(ebid, key);
  }
  const message = signingMessage(domain, obj);
  const id = `${ebid}${sigHex}${Buffer.from(message).toString("base64")}`;
  if (verified.has(id)) return true;
  try {
    const ok = cryptoVerify(null, message, key, Buffer.from(sigHex, "hex"));
    if (ok) verified.set(id, true);
    return ok;
  } catch {
    return false;
  }
}

/** Forgets every cached verification, ed25519 and BLS (benchmarks measure cold verification with it). */
export function clearVerifyCache(): void {
  verified.clear();
  clearBlsVerifyCache();
}

/** The EBID (hex public key) of a 32-byte ed25519 seed. */
export function ebidOf(secretKey: Uint8Array): string {
  return toHex(ed.getPublicKey(secretKey));
}

/** A fresh random 32-byte ed25519 seed. */
export function randomSecretKey(): Uint8Array {
  return ed.utils.randomSecretKey();
}

