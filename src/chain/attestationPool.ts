/**
 * Attestations heard by gossip, waiting to be included in a block (docs/protocol.md §5, node
 * policy). The caller checks the attester's activity and the signature before adding.
 *
 * Selection for a block at height n on a branch: valid attestations (height in n -
 * attestation_max_age .. n - 1, for the branch's block at that height and naming that height) from
 * validators active at epoch(n), one per EBID (its oldest), skipping an (ebid, height) pair that one
 * of the branch's last attestation_max_age blocks already carries, at most 128: the validators those
 * blocks carried least recently first (none first), then the oldest attestations, then the EBIDs in
 * ascending order from a point that moves by 128 places a height; in the block, height ascending,
 * then EBID. Oldest first includes an attestation before it ages out; skipping carried pairs keeps
 * one validator's one statement from filling block after block; least recently carried first, and
 * the moving start, carry every validator in turn when more attest than fit in a block (a fixed order
 * would carry the same 128 lowest EBIDs in every block, leaving the others out of the pool and
 * finality without the two thirds it needs, docs/protocol.md §5a).
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
  private readonly carriedBy = new Map<string, { height: number; pairs: string[]; votes: string[] }>();
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

  /**
   * Records the (ebid, height) pairs and the (ebid, FFG vote) an imported block carries (any branch),
   * so selection on its branch skips the pairs and puts the votes it already counts last.
   */
  noteBlock(block: Pick<Block, "hash" | "header" | "attestations">): void {
    if (block.attestations.length === 0) return;
    this.carriedBy.set(block.hash, { height: block.header.height, pairs: block.attestations.map((a) => `${a.ebid}:${a.height}`), votes: block.attestations.map(voteKey) });
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
    // EBID → the height of the branch's latest block in the window that carries one of its attestations
    const lastCarried = new Map<string, number>();
    const from = Math.max(0, height - maxAge);
    for (let h = from; h < height; h++) {
      const c = this.carriedBy.get(ancestors.get(h) ?? "");
      if (!c) continue;
      for (const p of c.pairs) {
        carried.add(p);
        lastCarried.set(p.slice(0, p.lastIndexOf(":")), h);
      }
    }
    // The FFG votes the branch's blocks given in `ancestors` carry (all those that can carry a vote
    // for a target still open when `ancestors` starts at its checkpoint): counted already.
    const counted = new Set<string>();
    for (const hash of ancestors.values()) for (const v of this.carriedBy.get(hash)?.votes ?? []) counted.add(v);
    const isCounted = (a: Attestation) => counted.has(voteKey(a));
    // Each EBID's oldest attestation that may go in, or its oldest whose FFG vote is not counted yet.
    const candidates = new Map<string, Attestation>();
    for (let h = from; h < height; h++) {
      const m = this.byBlock.get(ancestors.get(h) ?? "");
      if (!m) continue;
      for (const a of m.values()) {
        // The block at h is `a.block_hash`: one naming another height (a validator can sign any pair)
        // would make the block BAD_ATTESTATION (docs/protocol.md §5), so it is never chosen.
        if (a.height !== h || carried.has(`${a.ebid}:${a.height}`) || !isActive(a.ebid)) continue;
        const held = candidates.get(a.ebid);
        if (held && !(isCounted(held) && !isCounted(a))) continue;
        if (usable && !usable(a)) continue;
        candidates.set(a.ebid, a);
      }
    }
    // FFG votes the branch does not count yet first (finality needs two thirds of the validators
    // within about an interval), then the validators the branch carried least recently, then the
    // oldest attestations, then the EBIDs from a point that moves with the height: with more
    // validators than fit, every one is carried in turn (one order for all would carry the same 128
    // in every block).
    const ebids = [...candidates.keys()].sort();
    const offset = (height * MAX_ATTESTATIONS_PER_BLOCK) % Math.max(1, ebids.length);
    const turn = new Map(ebids.map((e, i) => [e, (i - offset + ebids.length) % ebids.length]));
    const rank = (a: Attestation) => [isCounted(a) ? 1 : 0, lastCarried.get(a.ebid) ?? -1, a.height, turn.get(a.ebid)!] as const;
    const chosen = [...candidates.values()]
      .sort((a, b) => {
        const x = rank(a);
        const y = rank(b);
        return x[0] - y[0] || x[1] - y[1] || x[2] - y[2] || x[3] - y[3];
      })
      .slice(0, MAX_ATTESTATIONS_PER_BLOCK);
    // In the block: height ascending, then EBID.
    return chosen.sort((a, b) => a.height - b.height || (a.ebid < b.ebid ? -1 : a.ebid > b.ebid ? 1 : 0));
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

// An attestation's EBID and FFG vote, as a key.
function voteKey(a: Attestation): string {
  return `${a.ebid}>${a.source_height}:${a.source_hash}>${a.target_height}:${a.target_hash}`;
}
