// FFG votes and slashing items signed the way docs/protocol.md §6.5 says, from the signing
// primitives, for the slashing tests and the bench.
import { Domain, sign } from "../../src/consensus/signatures.ts";
import { H, toHex } from "../../src/consensus/encoding.ts";
import type { SlashingItem, Vote } from "../../src/consensus/slashing.ts";
import type { Block } from "../../src/consensus/types.ts";
import type { TestKey } from "./fixtures.ts";

/** A made-up 64-hex hash from a small number. */
export const fakeHash = (n: number): string => toHex(H(new Uint8Array([n & 255, n >> 8])));

/**
 * A signed FFG vote by `k` for the link source height `s` -> target height `t` (hashes made up from
 * the heights unless given), for the head at `height` (default t + 1).
 */
export function vote(
  k: TestKey,
  s: number,
  t: number,
  o: { height?: number; head?: number; sourceHash?: string; targetHash?: string; domain?: Domain; signer?: TestKey } = {},
): Vote {
  const body = {
    ebid: k.ebid,
    height: o.height ?? t + 1,
    block_hash: fakeHash(o.head ?? 1000 + t),
    source_height: s,
    source_hash: o.sourceHash ?? fakeHash(s),
    target_height: t,
    target_hash: o.targetHash ?? fakeHash(t),
  };
  return { ...body, sig: sign(o.domain ?? Domain.attest, body, (o.signer ?? k).secretKey) };
}

/** A `votes` item: a double vote by `k` at target height `t` (two target hashes). */
export function doubleVote(k: TestKey, t = 8): SlashingItem {
  return { kind: "votes", a: vote(k, 0, t), b: vote(k, 0, t, { targetHash: fakeHash(5000 + t) }) };
}

/** A `blocks` item from two stored or built blocks. */
export function blocksItem(a: Block, b: Block): SlashingItem {
  return { kind: "blocks", a: { header: a.header, signature: a.signature }, b: { header: b.header, signature: b.signature } };
}
