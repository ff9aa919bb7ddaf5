/**
 * Header hashes (docs/protocol.md §3, consensus): `seal_hash`, `pow_hash`, `block_hash`.
 */
import { H, hashJson, omit, toHex, u64le } from "./encoding.ts";
import type { Header } from "./types.ts";

/** `seal_hash` = H(JCS(header without nonce)); 32 bytes. */
export function sealHash(header: Header): Uint8Array {
  return hashJson(omit(header, "nonce"));
}

/** `pow_hash` = H(H(seal_hash || u64le(nonce))); a miner hashes 40 bytes per try. */
export function powHash(seal: Uint8Array, nonce: number | bigint): Uint8Array {
  return H(H(seal, u64le(nonce)));
}

/** True when hex(pow_hash) starts with `difficulty` zero digits. */
export function meetsDifficulty(pow: Uint8Array, difficulty: number): boolean {
  const full = difficulty >> 1;
  for (let i = 0; i < full; i++) if (pow[i] !== 0) return false;
  if (difficulty & 1) return (pow[full]! & 0xf0) === 0;
  return true;
}

/** Work of a PoW header: 16^difficulty (docs/protocol.md §3). */
export function workOf(difficulty: number): bigint {
  return 16n ** BigInt(difficulty);
}

/** `block_hash` = hex(H(JCS(header))). */
export function blockHash(header: Header): string {
  return toHex(hashJson(header));
}

/** True when a PoW header's nonce meets its stated difficulty. */
export function headerMeetsPow(header: Header): boolean {
  return meetsDifficulty(powHash(sealHash(header), header.nonce), header.difficulty);
}

