/**
 * Byte-level encodings shared by every consensus computation (docs/protocol.md §3).
 * Pure: no I/O, no clock.
 */
import { hash } from "node:crypto";
import canonicalizeImpl from "canonicalize";
import { ImmutableMemo, isImmutable } from "./immutable.ts";

/** JSON values that may be hashed: strings, safe integers, null, arrays and objects of those. */
export type HashableJson = string | number | null | boolean | HashableJson[] | { [key: string]: HashableJson };

const canonicalize = canonicalizeImpl as unknown as (v: unknown) => string | undefined;
const textEncoder = new TextEncoder();

/** UTF-8 bytes of a string. */
export function utf8(s: string): Uint8Array {
  return textEncoder.encode(s);
}

/**
 * `H` = SHA-256 of the concatenation of the given byte arrays (docs/protocol.md §3): OpenSSL's
 * one-shot digest (node:crypto `hash`), a few times faster than a JavaScript SHA-256 on the short
 * inputs hashed most (seeds, rerolls, canonical JSON of votes); a plain Uint8Array of 32 bytes.
 */
export function H(...parts: Uint8Array[]): Uint8Array {
  const d = hash("sha256", parts.length === 1 ? parts[0]! : concatBytes(...parts), "buffer");
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

/** Concatenates byte arrays. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Lowercase hex without `0x`. */
export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
}

/**
 * Parses lowercase or uppercase hex of even length.
 * @throws TypeError when `s` is not hex.
 */
export function fromHex(s: string): Uint8Array {
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) throw new TypeError("not a hex string");
  return new Uint8Array(Buffer.from(s, "hex"));
}

/** `u64le(n)`: 8 bytes little-endian. @throws RangeError outside 0..2^64-1. */
export function u64le(n: number | bigint): Uint8Array {
  const v = BigInt(n);
  if (v < 0n || v > 0xffffffffffffffffn) throw new RangeError("u64 out of range");
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, v, true);
  return out;
}

/** `u64(s)`: the first 8 bytes of `s` read little-endian (docs/protocol.md §4). */
export function u64(s: Uint8Array): bigint {
  if (s.length < 8) throw new RangeError("need at least 8 bytes");
  return new DataView(s.buffer, s.byteOffset, 8).getBigUint64(0, true);
}

/**
 * RFC 8785 (JCS) canonical JSON text of a value.
 * @throws TypeError when the value holds a number that is not a safe integer, or cannot be encoded.
 */
export function jcs(value: unknown): string {
  assertHashable(value);
  const s = canonicalize(value);
  if (s === undefined) throw new TypeError("value cannot be canonicalized");
  return s;
}

/** JCS bytes (UTF-8). */
export function jcsBytes(value: unknown): Uint8Array {
  return utf8(jcs(value));
}

// H(JCS(value)) of immutable values (consensus/immutable.ts), by identity: a simulation's nodes hash one frozen message once
const hashMemo = new ImmutableMemo<Uint8Array>();

/** `H(JCS(value))` (kept for a value frozen by `freezeDeep`; a copy is returned). */
export function hashJson(value: unknown): Uint8Array {
  if (!isImmutable(value)) return H(jcsBytes(value));
  return hashMemo.get(value, () => H(jcsBytes(value))).slice();
}

/** Hashed objects may hold only strings, safe integers, booleans and null (docs/protocol.md §3). */
function assertHashable(v: unknown, depth = 0): void {
  if (depth > 64) throw new TypeError("value nested too deeply");
  if (v === null || typeof v === "string" || typeof v === "boolean") return;
  if (typeof v === "number") {
    if (!Number.isSafeInteger(v)) throw new TypeError(`number ${v} is not a safe integer`);
    return;
  }
  if (Array.isArray(v)) {
    for (const x of v) assertHashable(x, depth + 1);
    return;
  }
  if (typeof v === "object") {
    for (const x of Object.values(v as Record<string, unknown>)) {
      if (x !== undefined) assertHashable(x, depth + 1);
    }
    return;
  }
  throw new TypeError(`cannot hash a ${typeof v}`);
}

/** Returns a shallow copy of `obj` without the key `key`. */
export function omit<T extends object, K extends keyof T>(obj: T, key: K): Omit<T, K> {
  const { [key]: _dropped, ...rest } = obj;
  return rest;
}
