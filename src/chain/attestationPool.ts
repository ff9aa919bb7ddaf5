/**
 * Attestations heard by gossip, waiting to be included in a block (docs/protocol.md §5, node
 * policy). The caller checks the attester's activity and the signature before adding.
 *
 * Selection for a block at height n on a branch: valid attestations (height in n -
 * attestation_max_age .. n - 1, for the branch's block at that height and naming that height) from
 * validators active at epoch(n), oldest first (height ascending, then EBID), one per EBID, skipping an (ebid, height)
 * pair that one of the branch's last attestation_max_age blocks already carries, at most 128.
 * Oldest first includes an attestation before it ages out; skipping carried pairs keeps one
 * validator's one statement from filling block after block.
 */
import type { Attestation, Block } from "../consensus/types.ts";
import { MAX_ATTESTATIONS_PER_BLOCK } from "../consensus/params.ts";
import { epochAt } from "../consensus/validators.ts";

/** How the node's pool learns which validators are active (absent: no activity filter). */
export interface AttestationPoolOptions {
  /** the chain's `epoch_length` (blocks); with it, selection needs an active set (setActive) for epoch(n) */
  epochLength: number;
}

/** Holds at most one attestation per (block_hash, ebid), and what the recent blocks carry. */
/**
 * At most this many attestations of one EBID at one height are held (node policy): an honest
 * validator attests each tip it holds, a few per height across competing blocks; a validator
 * signing attestations for made-up block hashes would otherwise be held and relayed without bound.
 */
export const MAX_ATTESTATIONS_PER_EBID_HEIGHT = 4;

export class AttestationPool {
  private readonly byBlock = new Map<string, Map<string, Attestation>>();
  private readonly heightOf = new Map<string, number>();
  /** block hash → the `ebid:height` pairs its attestations carry, and its height */
  private readonly carriedBy = new Map<string, { height: number; pairs: string[] }>();
  /** epoch → EBIDs of the validators active at it */
  private readonly activeByEpoch = new Map<number, ReadonlySet<string>>();

  /** height → EBID → attestations held (for MAX_ATTESTATIONS_PER_EBID_HEIGHT) */
  private readonly countsAt = new Map<number, Map<string, number>>();

  constructor(private readonly opts?: AttestationPoolOptions) {}

  /** Adds an attestation; false when it was already held, or `ebid` has the most held at `height` (`full`). */
  add(a: Attestation): boolean {
    if (this.byBlock.get(a.block_hash)?.has(a.ebid) || this.full(a.ebid, a.height)) return false;
    let m = this.byBlock.get(a.block_hash);
    if (!m) {
      m = new Map();
      this.byBlock.set(a.block_hash, m);
      this.heightOf.set(a.block_hash, a.height);
    }
    m.set(a.ebid, a);
    let counts = this.countsAt.get(a.height);
    if (!counts) this.countsAt.set(a.height, (counts = new Map()));
    counts.set(a.ebid, (counts.get(a.ebid) ?? 0) + 1);
    return true;
  }

  /** True when MAX_ATTESTATIONS_PER_EBID_HEIGHT attestations of `ebid` at `height` are held: a lookup, checked before the signature. */
  full(ebid: string, height: number): boolean {
    return (this.countsAt.get(height)?.get(ebid) ?? 0) >= MAX_ATTESTATIONS_PER_EBID_HEIGHT;
  }

  /** Records the (ebid, height) pairs an imported block carries (any branch), so selection on its branch skips them. */
  noteBlock(block: Pick<Block, "hash" | "header" | "attestations">): void {
    if (block.attestations.length === 0) return;
    this.carriedBy.set(block.hash, { height: block.header.height, pairs: block.attestations.map((a) => `${a.ebid}:${a.height}`) });
  }

  /**
   * Sets the EBIDs active at `epoch` (from a registry: which records are active at an epoch is
   * fixed two epochs ahead, so the head's registry answers for epoch(head) .. epoch(head + 2)).
   * Drops the sets of epochs before `epoch - 2`.
   */
  setActive(epoch: number, ebids: Iterable<string>): void {
    this.activeByEpoch.set(epoch, new Set(ebids));
    for (const e of this.activeByEpoch.keys()) if (e < epoch - 2) this.activeByEpoch.delete(e);
  }

  /** Whether `ebid` is a validator active at `epoch`, as last set; undefined when no set is known for it. */
  isActive(ebid: string, epoch: number): boolean | undefined {
    return this.activeByEpoch.get(epoch)?.has(ebid);
  }

  /** The number of validators active at `epoch`, as last set; undefined when unknown. */
  activeCount(epoch: number): number | undefined {
    return this.activeByEpoch.get(epoch)?.size;
  }

  /**
   * Attestations for a block at height n (see the module doc): oldest first, one per EBID, from
   * validators active at epoch(n), none already carried by the branch, at most 128.
   * @param ancestors height → block hash on the branch being extended (n - maxAge .. n - 1 at least)
   * @param active whether an EBID is active at epoch(n); default: the set given to setActive for
   *   epoch(n) (none known: nothing is selected) on a pool made with an epoch length, else no filter
   * @param usable whether an attestation may go in this block (its FFG vote valid on the branch,
   *   docs/protocol.md §5); one that may not leaves its EBID free for another of its attestations
   */
  select(height: number, ancestors: ReadonlyMap<number, string>, maxAge: number, active?: (ebid: string) => boolean, usable?: (a: Attestation) => boolean): Attestation[] {
    const isActive = active ?? this.activeFilter(height);
    const carried = new Set<string>();
    const from = Math.max(0, height - maxAge);
    for (let h = from; h < height; h++) {
      const c = this.carriedBy.get(ancestors.get(h) ?? "");
      if (c) for (const p of c.pairs) carried.add(p);
    }
    const chosen = new Map<string, Attestation>();
    for (let h = from; h < height && chosen.size < MAX_ATTESTATIONS_PER_BLOCK; h++) {
      const m = this.byBlock.get(ancestors.get(h) ?? "");
      if (!m) continue;
      const byEbid = [...m.values()].sort((a, b) => (a.ebid < b.ebid ? -1 : a.ebid > b.ebid ? 1 : 0));
      for (const a of byEbid) {
        if (chosen.size >= MAX_ATTESTATIONS_PER_BLOCK) break;
        // The block at h is `a.block_hash`: one naming another height (a validator can sign any pair)
        // would make the block BAD_ATTESTATION (docs/protocol.md §5), so it is never chosen.
        if (a.height !== h || chosen.has(a.ebid) || carried.has(`${a.ebid}:${a.height}`) || !isActive(a.ebid) || (usable && !usable(a))) continue;
        chosen.set(a.ebid, a);
      }
    }
    return [...chosen.values()];
  }

  /** Drops attestations and carried pairs of heights below `minHeight`. */
  prune(minHeight: number): void {
    for (const [hash, h] of this.heightOf) {
      if (h < minHeight) {
        this.heightOf.delete(hash);
        this.byBlock.delete(hash);
      }
    }
    for (const [hash, c] of this.carriedBy) if (c.height < minHeight) this.carriedBy.delete(hash);
    for (const h of this.countsAt.keys()) if (h < minHeight) this.countsAt.delete(h);
  }

  /** Number of attestations held. */
  get size(): number {
    let n = 0;
    for (const m of this.byBlock.values()) n += m.size;
    return n;
  }

  private activeFilter(height: number): (ebid: string) => boolean {
    if (!this.opts) return () => true;
    const set = this.activeByEpoch.get(epochAt(height, this.opts.epochLength));
    return set ? (ebid) => set.has(ebid) : () => false;
  }
}
