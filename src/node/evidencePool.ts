/**
 * The evidence pool (node policy, docs/protocol.md §6.5): slashing items this node found, for its
 * producer to include while their offender can still be slashed. Its sources (the node also adds
 * the items of the blocks it imports, `add`, so that a reorg dropping such a block leaves the item
 * here; it prunes with the records at the finalized checkpoint, which no reorg undoes):
 * - the chain's equivocation records (§6.4: two stored blocks by one producer at one height), made
 *   into `blocks` items from the stored blocks' headers and signatures (`fromChain`);
 * - FFG votes (attestations from gossip or blocks, `noteVote`): the last vote per (EBID, target
 *   height) is remembered in a bounded LRU, and a vote that conflicts with a remembered one (a double
 *   vote, or a surround either way) yields a `votes` item.
 * Bounded: at most MAX_EVIDENCE items, one per offender (the oldest offender's is dropped first), and
 * MAX_REMEMBERED_VOTES votes. Every item is checked with `verifySlashing` before it is kept, so the
 * pool never offers a producer an item that makes its block invalid for want of evidence; whether the
 * offender is still slashable is read from the records given to `pending`. Evidence is checked on the
 * pool's chain (its `ChainDomains`, docs/protocol.md §3.3): what a key signed on another chain is none.
 */
import type { LRUCache } from "lru-cache";
import { boundedLru } from "../util/lru.ts";
import { MAX_SLASHINGS_PER_BLOCK, slashingOffender, verifySlashing, votesConflict, type SlashingItem, type Vote } from "../consensus/slashing.ts";
import { verify, type ChainDomains } from "../consensus/signatures.ts";
import type { RegistryReader } from "../consensus/validators.ts";
import type { Block } from "../consensus/types.ts";
import type { Equivocation } from "../storage/records.ts";

/** Items held at most (one per offender). */
export const MAX_EVIDENCE = 64;
/** FFG votes remembered at most, by (EBID, target height). */
export const MAX_REMEMBERED_VOTES = 16_384;

/** What the pool reads of the chain: its equivocation records and stored blocks. */
export interface EvidenceSource {
  listEvidence(limit?: number): Promise<Equivocation[]>;
  getBlock(hash: string): Promise<Block | undefined>;
}

/** Slashing items by offender, and the votes that may yet conflict. */
export class EvidencePool {
  private readonly items = new Map<string, SlashingItem>();
  private readonly votes: LRUCache<string, Vote>;
  // the target heights remembered per EBID, kept in step with `votes` (its dispose hook)
  private readonly targets = new Map<string, Set<number>>();
  private readonly maxItems: number;

  /** @param domains the chain's signing domains (chainDomains(genesis hash)) */
  constructor(
    private readonly domains: ChainDomains,
    opts: { maxItems?: number; maxVotes?: number } = {},
  ) {
    this.maxItems = opts.maxItems ?? MAX_EVIDENCE;
    this.votes = boundedLru<string, Vote>(opts.maxVotes ?? MAX_REMEMBERED_VOTES, {
      dispose: (v, _key, reason) => {
        if (reason === "set") return; // replaced under the same key: still remembered
        const set = this.targets.get(v.ebid);
        set?.delete(v.target_height);
        if (set?.size === 0) this.targets.delete(v.ebid);
      },
    });
  }

  /** Items held. */
  get size(): number {
    return this.items.size;
  }

  /**
   * Keeps `item` when it is evidence (`verifySlashing`) against an offender the pool holds nothing
   * on and, when `registry` is given, whose record there is slashable (so keys without a bond, such
   * as a bootstrap chain's fallback miners, cannot crowd real evidence out); when full, the oldest
   * offender's item makes room. Returns whether it was kept.
   * @param verified the item passed block validation already (docs/protocol.md §6.4: a slashing item
   *   of an imported block, checked under this chain's domains), so its signatures are not checked again
   */
  add(item: SlashingItem, registry?: RegistryReader, verified = false): boolean {
    const offender = slashingOffender(item);
    if (this.items.has(offender) || (registry && !slashable(registry, offender))) return false;
    if (!verified && !verifySlashing(item, this.domains).ok) return false;
    if (this.items.size >= this.maxItems) this.items.delete(this.items.keys().next().value!);
    this.items.set(offender, item);
    return true;
  }

  /**
   * A `blocks` item from an equivocation record: the first two of its blocks, read from the store.
   * Undefined when a block is missing or the pool holds an item on the producer already.
   */
  async noteEquivocation(e: Equivocation, source: Pick<EvidenceSource, "getBlock">, registry?: RegistryReader): Promise<SlashingItem | undefined> {
    if (this.items.has(e.producer) || e.block_hashes.length < 2) return undefined;
    if (registry && !slashable(registry, e.producer)) return undefined;
    const [a, b] = await Promise.all(e.block_hashes.slice(0, 2).map((h) => source.getBlock(h)));
    if (!a || !b) return undefined;
    const item: SlashingItem = { kind: "blocks", a: { header: a.header, signature: a.signature }, b: { header: b.header, signature: b.signature } };
    return this.add(item, registry) ? item : undefined;
  }

  /**
   * Reads the chain's latest `limit` equivocation records into the pool (only offenders slashable in
   * `registry` when given); returns how many items it added.
   */
  async fromChain(source: EvidenceSource, registry?: RegistryReader, limit = MAX_EVIDENCE): Promise<number> {
    let added = 0;
    for (const e of await source.listEvidence(limit)) if (await this.noteEquivocation(e, source, registry)) added++;
    return added;
  }

  /**
   * Whether `vote` would complete an item: it conflicts with the vote remembered of its EBID for its
   * target height, or (none remembered there) with one for another target height (a surround), and
   * the pool holds no item on that EBID. A lookup, signature not checked: for deciding whether a
   * vote is worth a signature check.
   */
  conflicts(vote: Vote): boolean {
    return !this.items.has(vote.ebid) && this.conflictingWith(vote) !== undefined;
  }

  // The remembered vote `vote` conflicts with: the one for its target height when there is one
  // (only it), else any of its EBID's for another target height (a surround).
  private conflictingWith(vote: Vote): Vote | undefined {
    const same = this.votes.peek(`${vote.ebid}!${vote.target_height}`);
    if (same) return votesConflict(same, vote) !== null ? same : undefined;
    for (const t of this.targets.get(vote.ebid) ?? []) {
      const v = this.votes.peek(`${vote.ebid}!${t}`);
      if (v && votesConflict(v, vote) !== null) return v;
    }
    return undefined;
  }

  /**
   * Notes an FFG vote (an attestation of protocol version 3, from gossip or a block). Returns the
   * `votes` item it completes when it conflicts with a vote remembered from the same EBID and the
   * pool took the item; else undefined. A vote whose signature does not verify is ignored (a verify
   * the gossip path already made is a cache hit). With `registry`, a vote by an EBID without a
   * slashable record there is ignored.
   */
  noteVote(vote: Vote, registry?: RegistryReader): SlashingItem | undefined {
    if (registry && !slashable(registry, vote.ebid)) return undefined;
    if (!verify(this.domains.attest, vote, vote.sig, vote.ebid)) return undefined;
    const key = `${vote.ebid}!${vote.target_height}`;
    const other = this.conflictingWith(vote);
    // get, not peek: a vote noted again stays remembered
    if (!this.votes.get(key)) {
      this.votes.set(key, vote);
      const set = this.targets.get(vote.ebid) ?? new Set<number>();
      set.add(vote.target_height);
      this.targets.set(vote.ebid, set);
    }
    if (!other || this.items.has(vote.ebid)) return undefined;
    const item: SlashingItem = { kind: "votes", a: other, b: vote };
    return this.add(item, registry) ? item : undefined;
  }

  /**
   * Items a block on a state with `registry`'s records may carry: those whose offender has a record
   * that is not slashed, oldest first, at most `max` (default MAX_SLASHINGS_PER_BLOCK). Nothing is
   * dropped: a reorg may make an offender slashable again.
   */
  pending(registry: RegistryReader, max = MAX_SLASHINGS_PER_BLOCK): SlashingItem[] {
    const out: SlashingItem[] = [];
    for (const [ebid, item] of this.items) {
      if (out.length >= max) break;
      if (slashable(registry, ebid)) out.push(item);
    }
    return out;
  }

  /** Drops the items whose offender has no record or is slashed in `registry` (records no reorg can undo, e.g. a finalized state's). */
  prune(registry: RegistryReader): void {
    for (const ebid of [...this.items.keys()]) if (!slashable(registry, ebid)) this.items.delete(ebid);
  }
}

/** True when `ebid` has a record in `registry` that is not slashed (docs/protocol.md §6.5). */
function slashable(registry: RegistryReader, ebid: string): boolean {
  const r = registry.get(ebid);
  return r !== undefined && !r.slashed;
}
