/**
 * The `state_root` tree (docs/protocol.md §3.6): an RFC 6962 Merkle tree (§3.5) over the accounts'
 * leaves in account creation order. The list only grows within a branch (accounts are never
 * deleted) and an undo truncates it, so, as in a Certificate Transparency log, an update or an
 * append costs O(log N) hashes.
 *
 * Kept in memory: for each level l, the hashes of the complete subtrees of 2^l leaves aligned at
 * multiples of 2^l (level 0 holds the leaves), each level a Uint8Array of 32-byte hashes grown by
 * doubling: about 64 bytes per account in all (64 MiB per million accounts).
 */
import { H } from "../consensus/encoding.ts";

const LEAF = new Uint8Array([0]);
const NODE = new Uint8Array([1]);
const EMPTY = H(new Uint8Array(0));

/** RFC 6962 leaf hash H(0x00 || item hash). */
export function leafHash(itemHash: Uint8Array): Uint8Array {
  return H(LEAF, itemHash);
}

/** Changed leaves (index -> leaf hash) and the leaf count of a candidate state. */
export interface TreeOverlay {
  leaves: ReadonlyMap<number, Uint8Array>;
  size: number;
}

/** The head's tree. `rootWith` never mutates it; `apply` moves it. */
export class StateTree {
  private levels: Uint8Array[] = [new Uint8Array(32 * 1024)];
  private _size = 0;
  /** hashes computed by the last `rootWith` or `apply` (for tests of the cost bound) */
  lastHashes = 0;

  /** Leaves at the head. */
  get size(): number {
    return this._size;
  }

  /** A tree over `leaves` (leaf hashes, in order): O(N). */
  static from(leaves: readonly Uint8Array[]): StateTree {
    const t = new StateTree();
    t.apply({ leaves: new Map(leaves.map((l, i) => [i, l])), size: leaves.length });
    return t;
  }

  /** The root of the head's list. */
  root(): Uint8Array {
    return this.rootWith({ leaves: new Map(), size: this._size });
  }

  /**
   * The root of the head's list changed by `overlay`: its leaves replace or append (every index
   * at or past the head's size up to `overlay.size` must be in it), and `overlay.size` below the
   * head's truncates. O((changed leaves + 1) x log N) hashes.
   * @throws Error when a leaf past the head's list is missing from the overlay
   */
  rootWith(overlay: TreeOverlay): Uint8Array {
    this.lastHashes = 0;
    if (overlay.size === 0) return EMPTY;
    const changed = [...overlay.leaves.keys()].filter((i) => i < overlay.size).sort((a, b) => a - b);
    return this.node(0, overlay.size, overlay.leaves, changed);
  }

  /** Moves the head's list to `overlay` (updates, appends, truncation). O(changed x log N). */
  apply(overlay: TreeOverlay): void {
    const size = overlay.size;
    this.grow(size);
    let dirty = [...overlay.leaves.keys()].filter((i) => i < size).sort((a, b) => a - b);
    for (const i of dirty) this.levels[0]!.set(overlay.leaves.get(i)!, 32 * i);
    this.lastHashes = 0;
    for (let l = 1; (1 << l) <= size; l++) {
      const parents: number[] = [];
      for (const i of dirty) {
        const p = i >> 1;
        if (parents[parents.length - 1] !== p) parents.push(p);
      }
      const below = this.levels[l - 1]!;
      const level = this.levels[l]!;
      const done: number[] = [];
      for (const p of parents) {
        if ((p + 1) << l > size) continue; // incomplete subtree: not stored
        level.set(H(NODE, below.subarray(64 * p, 64 * p + 32), below.subarray(64 * p + 32, 64 * p + 64)), 32 * p);
        this.lastHashes++;
        done.push(p);
      }
      dirty = done;
      if (dirty.length === 0) break;
    }
    this._size = size;
  }

  // MTH of leaves [lo, hi) of the candidate list.
  private node(lo: number, hi: number, leaves: ReadonlyMap<number, Uint8Array>, changed: readonly number[]): Uint8Array {
    const n = hi - lo;
    if (n === 1) {
      const c = leaves.get(lo);
      if (c) return c;
      if (lo >= this._size) throw new Error(`leaf ${lo} is past the tree (${this._size}) and not in the overlay`);
      return this.levels[0]!.slice(32 * lo, 32 * lo + 32);
    }
    if ((n & (n - 1)) === 0 && lo % n === 0 && hi <= this._size && !anyIn(changed, lo, hi)) {
      const l = Math.log2(n);
      const i = lo / n;
      return this.levels[l]!.slice(32 * i, 32 * i + 32);
    }
    let k = 1;
    while (k * 2 < n) k *= 2;
    this.lastHashes++;
    return H(NODE, this.node(lo, lo + k, leaves, changed), this.node(lo + k, hi, leaves, changed));
  }

  // Room for `size` leaves at every level (doubling).
  private grow(size: number): void {
    for (let l = 0; (1 << l) <= Math.max(size, 1); l++) {
      const need = 32 * Math.floor(size / (1 << l));
      const cur = this.levels[l];
      if (cur && cur.length >= need) continue;
      let cap = Math.max(cur?.length ?? 0, 32 * 1024);
      while (cap < need) cap *= 2;
      const next = new Uint8Array(cap);
      if (cur) next.set(cur);
      this.levels[l] = next;
    }
  }
}

// True when a sorted list holds an index in [lo, hi).
function anyIn(sorted: readonly number[], lo: number, hi: number): boolean {
  let a = 0;
  let b = sorted.length;
  while (a < b) {
    const m = (a + b) >> 1;
    if (sorted[m]! < lo) a = m + 1;
    else b = m;
  }
  return a < sorted.length && sorted[a]! < hi;
}
