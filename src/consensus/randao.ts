/**
 * RANDAO (docs/protocol.md §4, consensus): each block's producer reveals its BLS signature over
 * the height, the header carries the running mix of the reveals, and the next height's selection
 * seed comes from the mix, never from a block hash a producer can shape.
 *
 * - reveal message    = utf8("vision-randao-v2") || H(JCS({chain_id, height}))
 * - PoP message       = utf8("vision-pop-v2") || H(JCS({bls_pubkey, chain_id, ebid}))
 * - mix(genesis)      = H(utf8("vision-mix-v2") || spec_hash)
 * - mix(n)            = H(mix(n-1) || H(randao_reveal_n)), or mix(n-1) when the reveal is ""
 * - seed(n)           = H(mix(n-1) || u64le(n) || epoch_salt)
 */
import { H, concatBytes, fromHex, hashJson, toHex, u64le, utf8 } from "./encoding.ts";

/** BLS message domains (docs/protocol.md §3.3). */
export const BlsDomain = {
  randao: "vision-randao-v2",
  pop: "vision-pop-v2",
  mix: "vision-mix-v2",
} as const;

/** The bytes a producer signs as its RANDAO reveal for `height`. */
export function revealMessage(chainId: string, height: number): Uint8Array {
  return concatBytes(utf8(BlsDomain.randao), hashJson({ chain_id: chainId, height }));
}

/**
 * The bytes a bond's proof of possession signs: binds the BLS key to the EBID that bonds it, so
 * no one can bond another's BLS key (a rogue key) or replay a proof for another EBID.
 * @param blsPubkey 96 hex characters
 */
export function popMessage(chainId: string, ebid: string, blsPubkey: string): Uint8Array {
  return concatBytes(utf8(BlsDomain.pop), hashJson({ bls_pubkey: blsPubkey, chain_id: chainId, ebid }));
}

/** The genesis header's `mix`: hex(H(utf8("vision-mix-v2") || spec_hash)). */
export function genesisMix(specHash: string): string {
  return toHex(H(utf8(BlsDomain.mix), fromHex(specHash)));
}

/**
 * A block's `mix` from its parent's and its own `randao_reveal` (192 hex, or "" for a block
 * without one: the mix carries over).
 */
export function nextMix(parentMix: string, reveal: string): string {
  if (reveal === "") return parentMix;
  return toHex(H(fromHex(parentMix), H(fromHex(reveal))));
}

/**
 * The selection seed of the block at `height`: H(parent mix || u64le(height) || epoch_salt).
 * @param parentMix the parent header's `mix` (64 hex)
 */
export function seedFromMix(parentMix: string, height: number, salt: Uint8Array): Uint8Array {
  return H(fromHex(parentMix), u64le(height), salt);
}
