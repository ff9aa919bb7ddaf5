/**
 * Attestations heard by gossip, waiting to be included in a block (docs/protocol.md §5).
 * The caller verifies signatures before adding.
 */
import type { Attestation } from "../consensus/types.ts";
import { MAX_ATTESTATIONS_PER_BLOCK } from "../consensus/params.ts";

/** Holds at most one attestation per (block_hash, ebid). */
export class AttestationPool {
  private readonly byBlock = new Map<string, Map<string, Attestation>>();
  private readonly heightOf = new Map<string, number>();

  /** Adds an attestation; false when it was already held. */
  add(a: Attestation): boolean {
    let m = this.byBlock.get(a.block_hash);
    if (!m) {
      m = new Map();
      this.byBlock.set(a.block_hash, m);
      this.heightOf.set(a.block_hash, a.height);
    }
    if (m.has(a.ebid)) return false;
    m.set(a.ebid, a);
    return true;
  }

  /**
   * Attestations for a block at height n: for the branch's ancestors at n-1 down to
   * n-attestation_max_age, one per EBID (its most recent), at most 128, ordered by EBID.
   * @param ancestors height → block hash on the branch being extended
   */
  select(height: number, ancestors: ReadonlyMap<number, string>, maxAge: number): Attestation[] {
    const chosen = new Map<string, Attestation>();
    for (let h = height - 1; h >= Math.max(0, height - maxAge); h--) {
      const hash = ancestors.get(h);
      const m = hash ? this.byBlock.get(hash) : undefined;
      if (!m) continue;
      for (const [ebid, a] of m) if (!chosen.has(ebid)) chosen.set(ebid, a);
    }
    return [...chosen.values()].sort((a, b) => (a.ebid < b.ebid ? -1 : 1)).slice(0, MAX_ATTESTATIONS_PER_BLOCK);
  }

  /** Drops attestations for heights below `minHeight`. */
  prune(minHeight: number): void {
    for (const [hash, h] of this.heightOf) {
      if (h < minHeight) {
        this.heightOf.delete(hash);
        this.byBlock.delete(hash);
      }
    }
  }

  /** Number of attestations held. */
  get size(): number {
    let n = 0;
    for (const m of this.byBlock.values()) n += m.size;
    return n;
  }
}
