/**
 * RFC 6962 Merkle roots (docs/protocol.md §3): leaf = H(0x00 || itemHash), node = H(0x01 || l || r),
 * empty = H(""). Pure.
 */
import { H, hashJson } from "./encoding.ts";
import { ImmutableMemo, isImmutable } from "./immutable.ts";

const LEAF = new Uint8Array([0]);
const NODE = new Uint8Array([1]);

/** Root over 32-byte item hashes, in order. */
export function merkleRootOfHashes(itemHashes: readonly Uint8Array[]): Uint8Array {
  if (itemHashes.length === 0) return H(new Uint8Array(0));
  return subtreeRoot(itemHashes.map((h) => H(LEAF, h)));
}

/** Root over JSON items, each committed whole: item hash = H(JCS(item)) (kept for a list frozen by `freezeDeep`; a copy is returned). */
export function merkleRootOfItems(items: readonly unknown[]): Uint8Array {
  if (!isImmutable(items)) return merkleRootOfHashes(items.map((i) => hashJson(i)));
  return rootMemo.get(items, () => merkleRootOfHashes(items.map((i) => hashJson(i)))).slice();
}

// roots of immutable item lists (consensus/immutable.ts), by identity: one frozen block's lists are hashed once
const rootMemo = new ImmutableMemo<Uint8Array>();

// RFC 6962 section 2.1: split at the largest power of two smaller than n.
function subtreeRoot(leaves: readonly Uint8Array[]): Uint8Array {
  if (leaves.length === 1) return leaves[0]!;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return H(NODE, subtreeRoot(leaves.slice(0, k)), subtreeRoot(leaves.slice(k)));
}
