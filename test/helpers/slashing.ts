// FFG votes and slashing items signed the way docs/protocol.md §6.5 says, from the signing
// primitives, for the slashing tests and the bench.
import { chainDomains, sign, type ChainDomains, type SigningDomain } from "../../src/consensus/signatures.ts";
import { H, toHex } from "../../src/consensus/encoding.ts";
import type { SlashingItem, Vote } from "../../src/consensus/slashing.ts";
import type { Block } from "../../src/consensus/types.ts";
import type { TestKey } from "./fixtures.ts";

/** A made-up 64-hex hash from a small number. */
export const fakeHash = (n: number): string => toHex(H(new Uint8Array([n & 255, n >> 8])));

/** The genesis hash the votes of tests without a chain are signed for (signatures bind the chain, docs/protocol.md §3.3). */
export const TEST_GENESIS = fakeHash(0xfff);
/** The signing domains of TEST_GENESIS. */
export const testDomains: ChainDomains = chainDomains(TEST_GENESIS);

/**
 * A signed FFG vote by `k` for the link source height `s` -> target height `t` (hashes made up from
 * the heights unless given), for the head at `height` (default t + 1), signed for the chain of
 * `genesis` (default TEST_GENESIS) unless another `domain` is given.
 */
export function vote(
  k: TestKey,
  s: number,
  t: number,
  o: { height?: number; head?: number; sourceHash?: string; targetHash?: string; genesis?: string; domain?: SigningDomain; signer?: TestKey } = {},
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
  return { ...body, sig: sign(o.domain ?? chainDomains(o.genesis ?? TEST_GENESIS).attest, body, (o.signer ?? k).secretKey) };
}

/** A `votes` item: a double vote by `k` at target height `t` (two target hashes), signed for the chain of `genesis`. */
export function doubleVote(k: TestKey, t = 8, genesis = TEST_GENESIS): SlashingItem {
  return { kind: "votes", a: vote(k, 0, t, { genesis }), b: vote(k, 0, t, { genesis, targetHash: fakeHash(5000 + t) }) };
}

/** A `blocks` item from two stored or built blocks. */
export function blocksItem(a: Block, b: Block): SlashingItem {
  return { kind: "blocks", a: { header: a.header, signature: a.signature }, b: { header: b.header, signature: b.signature } };
}
