/**
 * Domain-separated ed25519 signatures (docs/protocol.md §3.3, consensus):
 * `sign(domain, obj)` = ed25519 over utf8(domain) || H(JCS(obj without sig)) for transactions and
 * hello (their objects name their chain), and over utf8(domain) || genesis_hash (32 raw bytes) ||
 * H(JCS(obj without sig)) for blocks and attestations (protocol version 3: what one chain signed is
 * no block, vote or slashing evidence on another). A chain-bound domain is a {@link BoundDomain}
 * whose prefix is computed once per chain ({@link chainDomains}); the bare names of those domains
 * are not accepted by `sign`/`verify`, so no call site can forget the chain.
 * Signing uses OpenSSL through `node:crypto` (RFC 8032 Ed25519 is deterministic: the same bytes as
 * `@noble/ed25519`, which derives public keys and signs a key of another length, so its error
 * stays the same); verification uses OpenSSL through `node:crypto`, the one verifier
 * docs/protocol.md §3 allows.
 */
import { createPrivateKey, createPublicKey, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from "node:crypto";
import * as ed from "@noble/ed25519";
import { sha512 } from "@noble/hashes/sha2.js";
import { LRUCache } from "lru-cache";
import { clearBlsVerifyCache } from "./bls.ts";
import { concatBytes, hashJson, toHex, utf8 } from "./encoding.ts";
import { ImmutableMemo } from "./immutable.ts";

ed.hashes.sha512 = sha512;

/** Signature domain names (docs/protocol.md §3.3). */
export const Domain = {
  block: "vision-block-v3",
  tx: "vision-tx-v1",
  attest: "vision-attest-v3",
  hello: "vision-hello-v1",
} as const;
/** One of the signature domain names. */
export type Domain = (typeof Domain)[keyof typeof Domain];
/** The domains whose signed bytes carry the genesis hash: blocks and attestations. */
export type ChainBoundDomain = typeof Domain.block | typeof Domain.attest;
/** The domains signed without a genesis hash: transactions (they carry `chain_id`) and hello (it carries `genesis_hash`). */
export type UnboundDomain = Exclude<Domain, ChainBoundDomain>;

/** A chain-bound domain of one chain: its name, the chain's genesis hash and the prefix utf8(name) || genesis (32 bytes). */
export interface BoundDomain {
  readonly name: ChainBoundDomain;
  /** 64 hex */
  readonly genesisHash: string;
  readonly prefix: Uint8Array;
}

/** The chain-bound domains of one chain (docs/protocol.md §3.3). */
export interface ChainDomains {
  /** 64 hex */
  readonly genesisHash: string;
  /** `vision-block-v3`: a block header */
  readonly block: BoundDomain;
  /** `vision-attest-v3`: an attestation (an FFG vote) */
  readonly attest: BoundDomain;
}

/** What `sign`/`verify` take: an unbound domain name, or a chain-bound domain of one chain. */
export type SigningDomain = UnboundDomain | BoundDomain;

const HEX64 = /^[0-9a-f]{64}$/;
const HEX128 = /^[0-9a-f]{128}$/;
// DER SubjectPublicKeyInfo prefix for a raw 32-byte ed25519 key (RFC 8410).
const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
const keyCache = new LRUCache<string, KeyObject>({ max: 4096 });
// DER PKCS #8 prefix for a raw 32-byte ed25519 seed (RFC 8410).
const PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");
// Signing keys by seed: OpenSSL signs in ~50 µs where @noble/ed25519 takes ~1 ms (it derives the
// key's scalar and public key again on every call). A node holds one key; a simulation one a node.
const signingKeys = new WeakMap<Uint8Array, { seed: string; key: KeyObject }>();
// Signatures that verified, by signer, signature and signed bytes: a transfer is checked when it
// enters the mempool and again in every block (and a producer imports its own block), so the
// expensive ed25519 check runs once per signature. Only successes are cached; the key holds the
// exact signed message, so a hit is the same verification again.
const verified = new LRUCache<string, true>({ max: 16_384 });

// a process holds one chain, tests a few: the bound is a guard, not a working size
const domainsByGenesis = new Map<string, ChainDomains>();
const MAX_CHAINS = 64;
const unboundPrefix = new Map<string, Uint8Array>();

/**
 * The chain-bound domains of the chain whose genesis block hash is `genesisHash`, each with its
 * prefix utf8(name) || genesis (32 bytes) computed once (the same object on every call).
 * @throws TypeError when `genesisHash` is not 64 lowercase hex
 */
export function chainDomains(genesisHash: string): ChainDomains {
  let d = domainsByGenesis.get(genesisHash);
  if (d) return d;
  if (typeof genesisHash !== "string" || !HEX64.test(genesisHash)) throw new TypeError(`genesis hash must be 64 lowercase hex, got ${String(genesisHash)}`);
  const g = Buffer.from(genesisHash, "hex");
  const bind = (name: ChainBoundDomain): BoundDomain => Object.freeze({ name, genesisHash, prefix: concatBytes(utf8(name), g) });
  d = Object.freeze({ genesisHash, block: bind(Domain.block), attest: bind(Domain.attest) });
  if (domainsByGenesis.size >= MAX_CHAINS) domainsByGenesis.clear();
  domainsByGenesis.set(genesisHash, d);
  return d;
}

function prefixOf(domain: SigningDomain): Uint8Array {
  if (typeof domain !== "string") return domain.prefix;
  if ((domain as string) === Domain.block || (domain as string) === Domain.attest) throw new TypeError(`${String(domain)} signatures bind the chain: use chainDomains(genesis hash)`);
  let p = unboundPrefix.get(domain);
  if (!p) unboundPrefix.set(domain, (p = utf8(domain)));
  return p;
}

/**
 * The bytes that are signed: utf8(domain) || H(JCS(obj without `sig`)) for an unbound domain,
 * utf8(domain) || genesis_hash (32 bytes) || H(JCS(obj without `sig`)) for a chain-bound one.
 * @throws TypeError for a chain-bound domain's bare name (a programming error)
 */
export function signingMessage(domain: SigningDomain, obj: object): Uint8Array {
  const { sig: _sig, ...rest } = obj as Record<string, unknown>;
  return concatBytes(prefixOf(domain), hashJson(rest));
}

/**
 * Signs `obj` (minus any `sig` field) under `domain`.
 * @param secretKey 32-byte ed25519 seed
 * @returns 128 hex chars
 */
export function sign(domain: SigningDomain, obj: object, secretKey: Uint8Array): string {
  const message = signingMessage(domain, obj);
  if (!(secretKey instanceof Uint8Array) || secretKey.length !== 32) return toHex(ed.sign(message, secretKey)); // noble's error for a bad key
  return toHex(cryptoSign(null, message, signingKey(secretKey)));
}

// The KeyObject of a 32-byte seed, cached per array (checked against its bytes: an array written
// since is a new key).
function signingKey(secretKey: Uint8Array): KeyObject {
  const seed = Buffer.from(secretKey.buffer, secretKey.byteOffset, 32).toString("hex");
  const hit = signingKeys.get(secretKey);
  if (hit?.seed === seed) return hit.key;
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, Buffer.from(seed, "hex")]), format: "der", type: "pkcs8" });
  signingKeys.set(secretKey, { seed, key });
  return key;
}

/**
 * True when `sigHex` is a valid signature by `ebid` of `obj` under `domain`, as judged by OpenSSL's
 * RFC 8032 verifier. Malformed keys or signatures give false, never a throw.
 * @throws TypeError for a chain-bound domain's bare name (a programming error, not a bad signature)
 */
export function verify(domain: SigningDomain, obj: object, sigHex: string, ebid: string): boolean {
  const memo = verifyMemo.get(obj, () => ({ domain, sigHex, ebid, ok: verifyNow(domain, obj, sigHex, ebid) }));
  if (memo.domain === domain && memo.sigHex === sigHex && memo.ebid === ebid) return memo.ok;
  return verifyNow(domain, obj, sigHex, ebid);
}

// The last verification of each immutable object (consensus/immutable.ts: a simulation's frozen
// messages), with what it was checked against: N nodes that receive one frozen attestation check it once.
let verifyMemo = new ImmutableMemo<{ domain: SigningDomain; sigHex: string; ebid: string; ok: boolean }>();

function verifyNow(domain: SigningDomain, obj: object, sigHex: string, ebid: string): boolean {
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
  verifyMemo = new ImmutableMemo();
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

