/**
 * Slashing evidence (docs/protocol.md §6.5, consensus): two things one validator signed that an
 * honest validator never signs. Pure: whether an item is evidence at all (its two parts conflict
 * and are validly signed by one key); whether its offender can still be slashed is execution's
 * question (chain/slashing.ts), since it reads the validator records.
 *
 * - `votes`: two FFG votes by one EBID that are a **double vote** (one target height, different
 *   `(source_height, source_hash, target_hash)`) or a **surround** (one's source strictly below the
 *   other's and its target strictly above), both signed under `vision-attest-v3` for the chain. These are Casper
 *   FFG's two commandments (Buterin and Griffith, 2017), the first in its strict form: any two
 *   distinct votes with one target height.
 * - `blocks`: two headers by one producer at one height with different block hashes, both signed
 *   under `vision-block-v3` for the chain (the equivocation of §6.4).
 * Both domains bind the genesis hash (§3.3), so what a key signed on another chain is no evidence here.
 */
import type { z } from "zod";
import { blockHash } from "./hashing.ts";
import { hashJson, toHex } from "./encoding.ts";
import { merkleRootOfHashes } from "./merkle.ts";
import { verify, type ChainDomains } from "./signatures.ts";
import type { SlashingItem, Vote } from "./types.ts";
import { slashingItemSchema } from "./wire.ts";

export { slashingItemSchema, signedHeaderSchema, voteSchema } from "./wire.ts";

export { MAX_SLASHINGS_PER_BLOCK } from "./params.ts";
export type { SignedHeader, SlashingItem, Vote } from "./types.ts";

// The schema and the interfaces describe the same wire form; this fails to compile if they drift.
type SchemaItem = z.infer<typeof slashingItemSchema>;
const _sameShape: [SlashingItem extends SchemaItem ? true : never, SchemaItem extends SlashingItem ? true : never] = [true, true];
void _sameShape;

/** What `verifySlashing` found: the offender's EBID, or why the item is no evidence. */
export type SlashingCheck = { ok: true; offender: string } | { ok: false; code: "BAD_SLASHING"; message: string };

/** The EBID an item accuses (`a`'s signer): read without any check. */
export function slashingOffender(item: SlashingItem): string {
  return item.kind === "votes" ? item.a.ebid : item.a.header.producer;
}

/**
 * How two votes (by one EBID) conflict: `"double vote"` (one target height, a different source or
 * target), `"surround"` (strictly, either way round), or null (no conflict: the same FFG vote, for
 * any heads, or links that do not surround each other).
 */
export function votesConflict(a: Vote, b: Vote): "double vote" | "surround" | null {
  if (a.target_height === b.target_height) {
    const same = a.source_height === b.source_height && a.source_hash === b.source_hash && a.target_hash === b.target_hash;
    return same ? null : "double vote";
  }
  const surrounds = (x: Vote, y: Vote) => x.source_height < y.source_height && y.target_height < x.target_height;
  return surrounds(a, b) || surrounds(b, a) ? "surround" : null;
}

/**
 * Checks that `item` (already through {@link slashingItemSchema}) is evidence: its two parts are by
 * one signer, conflict, and carry valid signatures on the chain of `domains` (chainDomains(genesis
 * hash): signatures made for another chain do not verify). Cheap checks first, then at most two ed25519
 * verifications (successes are cached, so votes already verified in gossip cost nothing more).
 * Never throws; `BAD_SLASHING` names the rule that failed.
 */
export function verifySlashing(item: SlashingItem, domains: ChainDomains): SlashingCheck {
  const bad = (message: string): SlashingCheck => ({ ok: false, code: "BAD_SLASHING", message });
  if (item.kind === "votes") {
    const { a, b } = item;
    if (a.ebid !== b.ebid) return bad(`votes by two validators (${a.ebid}, ${b.ebid})`);
    if (votesConflict(a, b) === null) return bad(`votes not conflicting: (${a.source_height} -> ${a.target_height}) and (${b.source_height} -> ${b.target_height}) are neither a double vote nor a surround`);
    if (!verify(domains.attest, a, a.sig, a.ebid)) return bad(`vote a: bad signature under ${domains.attest.name} for this chain`);
    if (!verify(domains.attest, b, b.sig, b.ebid)) return bad(`vote b: bad signature under ${domains.attest.name} for this chain`);
    return { ok: true, offender: a.ebid };
  }
  const { a, b } = item;
  if (a.header.producer !== b.header.producer) return bad(`headers by two producers (${a.header.producer}, ${b.header.producer})`);
  if (a.header.height !== b.header.height) return bad(`headers at two heights (${a.header.height}, ${b.header.height})`);
  if (blockHash(a.header) === blockHash(b.header)) return bad("one block twice: the headers have one block hash");
  if (!verify(domains.block, a.header, a.signature, a.header.producer)) return bad(`header a: bad signature under ${domains.block.name} for this chain`);
  if (!verify(domains.block, b.header, b.signature, b.header.producer)) return bad(`header b: bad signature under ${domains.block.name} for this chain`);
  return { ok: true, offender: a.header.producer };
}

/** Item hash of a slashing item: H(JCS(item)) (docs/protocol.md §3.5), 32 bytes. */
export function slashingItemHash(item: SlashingItem): Uint8Array {
  return hashJson(item);
}

/** `slashings_root`: the RFC 6962 root over the items' hashes in block order (H("") for none), hex. */
export function slashingsRoot(items: readonly SlashingItem[]): string {
  return toHex(merkleRootOfHashes(items.map(slashingItemHash)));
}
