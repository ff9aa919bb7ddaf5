/**
 * The finality state of a branch (docs/protocol.md §5a, consensus): Casper FFG over the FFG votes
 * that attestations carry. Pure: the chain supplies `A(target)`, the validators active at a
 * target's epoch, already read from the branch.
 *
 * Shapes: heights are block heights, hashes 64 lowercase hex; `voters` is a hex bitfield over
 * `A(target)` (bit i = byte i >> 3, mask 1 << (i & 7), least significant bit first, as SSZ).
 */
import { hashJson, toHex } from "./encoding.ts";

/** A checkpoint `{height, hash}`: a branch's block at a height k·I (docs/protocol.md §1). */
export interface Checkpoint {
  height: number;
  hash: string;
}

/** One open tally of FFG votes with one source and one target (docs/protocol.md §5a). */
export interface Tally {
  source_height: number;
  source_hash: string;
  target_height: number;
  target_hash: string;
  /** hex bitfield over A(target), ceil(len(A)/8) bytes ("" for an empty A) */
  voters: string;
}

/** The finality state F after a block (docs/protocol.md §5a); its JSON is what `finality_root` hashes. */
export interface FinalityState {
  /** the greatest-height justified checkpoint of the branch */
  justified: Checkpoint;
  /** the greatest-height finalized checkpoint of the branch */
  finalized: Checkpoint;
  /** justified checkpoints with height >= finalized.height, ascending, at most MAX_JUSTIFIED_RECENT */
  justified_recent: Checkpoint[];
  /** open tallies, sorted by (target_height, source_height) */
  votes: Tally[];
}

/** The FFG part of an attestation (docs/protocol.md §3.4), with its signer. */
export interface FfgVote {
  ebid: string;
  source_height: number;
  source_hash: string;
  target_height: number;
  target_hash: string;
}

/** What a transition reads of the branch besides the parent's state. */
export interface FinalityContext {
  /** `checkpoint_interval` (blocks) */
  interval: number;
  /** the height n of the block whose state is computed */
  height: number;
  /**
   * A(target): the EBIDs, ascending, of the validators active at epochAt(target.height) in the
   * records after that epoch's anchor on the branch (docs/protocol.md §5a)
   */
  activeAt(target: Checkpoint): readonly string[];
  /**
   * EBIDs whose record is `slashed` in the records after the parent (docs/protocol.md §5a): their
   * votes set no bit (A(target), the denominator, is unchanged). Default: none.
   */
  slashed?: ReadonlySet<string>;
}

/** justified_recent keeps at most this many checkpoints (docs/protocol.md §5a). */
export const MAX_JUSTIFIED_RECENT = 4;

/** `F(0)` (docs/protocol.md §5a): genesis justified and finalized, no tallies. */
export function genesisFinality(genesisHash: string): FinalityState {
  const cp0 = { height: 0, hash: genesisHash };
  return { justified: { ...cp0 }, finalized: { ...cp0 }, justified_recent: [{ ...cp0 }], votes: [] };
}

/** The first height of `height`'s interval: floor(height / I)·I, the height of its checkpoint. */
export function checkpointHeight(height: number, interval: number): number {
  return Math.floor(height / interval) * interval;
}

/** `hex(H(JCS(F)))`: the `finality_root` of a block whose state after it is `f` (docs/protocol.md §5a). */
export function finalityRoot(f: FinalityState): string {
  return toHex(hashJson(f as never));
}

/** A zeroed bitfield for `n` members, as hex: ceil(n/8) bytes. */
export function emptyBitfield(n: number): string {
  return "00".repeat(Math.ceil(n / 8));
}

/** The number of set bits of a hex bitfield. */
export function popcount(bits: string): number {
  let c = 0;
  for (let i = 0; i < bits.length; i += 2) {
    let b = parseInt(bits.slice(i, i + 2), 16);
    while (b) {
      c += b & 1;
      b >>= 1;
    }
  }
  return c;
}

/** Whether bit `i` of a hex bitfield is set (false past its end). */
export function hasBit(bits: string, i: number): boolean {
  const byte = i >> 3;
  if (byte * 2 >= bits.length) return false;
  return (parseInt(bits.slice(byte * 2, byte * 2 + 2), 16) & (1 << (i & 7))) !== 0;
}

/** `bits` with bit `i` set. @throws RangeError when i is past the bitfield's end */
export function setBit(bits: string, i: number): string {
  const byte = i >> 3;
  if (i < 0 || byte * 2 >= bits.length) throw new RangeError(`bit ${i} is outside a ${bits.length / 2}-byte bitfield`);
  const v = parseInt(bits.slice(byte * 2, byte * 2 + 2), 16) | (1 << (i & 7));
  return bits.slice(0, byte * 2) + v.toString(16).padStart(2, "0") + bits.slice(byte * 2 + 2);
}

/** Whether `3·votes > 2·members`: more than two thirds (an empty set never qualifies). */
export function isSupermajority(votes: number, members: number): boolean {
  return members > 0 && 3 * votes > 2 * members;
}

/**
 * `F(n) = finality(F(n-1), block n)` (docs/protocol.md §5a): counts the FFG votes of block n's
 * attestations (in block order; interval-0 genesis votes and voters outside A(target) count for
 * nothing, and so do votes by EBIDs slashed after the parent; a validator's second vote sets the same bit), justifies every tally's target with more
 * than two thirds of A(target), finalizes an adjacent source, then prunes. Does not change `parent`.
 * The attestations must have passed validity (§5: targets on the branch, sources justified).
 */
export function applyFinality(parent: FinalityState, attestations: readonly FfgVote[], ctx: FinalityContext): FinalityState {
  const I = ctx.interval;
  // Working tallies: bitfields as bytes while votes are counted.
  const tallies = new Map<string, { tally: Tally; bits: Uint8Array; members: readonly string[] }>();
  const keyOf = (t: Pick<Tally, "source_height" | "source_hash" | "target_height" | "target_hash">) => `${t.target_height}:${t.target_hash}:${t.source_height}:${t.source_hash}`;
  for (const t of parent.votes) {
    const target = { height: t.target_height, hash: t.target_hash };
    tallies.set(keyOf(t), { tally: { ...t }, bits: Buffer.from(t.voters, "hex"), members: ctx.activeAt(target) });
  }
  for (const a of attestations) {
    if (a.source_height === a.target_height) continue; // the interval-0 genesis vote links nothing
    const key = keyOf(a);
    let entry = tallies.get(key);
    if (!entry) {
      const members = ctx.activeAt({ height: a.target_height, hash: a.target_hash });
      const tally: Tally = { source_height: a.source_height, source_hash: a.source_hash, target_height: a.target_height, target_hash: a.target_hash, voters: "" };
      entry = { tally, bits: new Uint8Array(Math.ceil(members.length / 8)), members };
      tallies.set(key, entry);
    }
    const i = ctx.slashed?.has(a.ebid) ? -1 : indexOf(entry.members, a.ebid);
    if (i >= 0) entry.bits[i >> 3]! |= 1 << (i & 7);
  }
  const ordered = [...tallies.values()].sort((x, y) => x.tally.target_height - y.tally.target_height || x.tally.source_height - y.tally.source_height);
  let finalized = { ...parent.finalized };
  const recent = parent.justified_recent.map((c) => ({ ...c }));
  for (const { tally, bits, members } of ordered) {
    tally.voters = toHex(bits);
    if (!isSupermajority(popcount(tally.voters), members.length)) continue;
    if (!recent.some((c) => c.height === tally.target_height && c.hash === tally.target_hash)) {
      recent.push({ height: tally.target_height, hash: tally.target_hash });
      recent.sort((x, y) => x.height - y.height);
    }
    if (tally.target_height === tally.source_height + I && tally.source_height > finalized.height) {
      finalized = { height: tally.source_height, hash: tally.source_hash };
    }
  }
  const justified = { ...recent[recent.length - 1]! };
  const kept = recent.filter((c) => c.height >= finalized.height).slice(-MAX_JUSTIFIED_RECENT);
  const minTarget = (Math.floor((ctx.height + 1) / I) - 1) * I;
  const votes = ordered.filter((e) => e.tally.target_height >= minTarget).map((e) => e.tally);
  return { justified, finalized, justified_recent: kept, votes };
}

// Position of `ebid` in the ascending list `members`, or -1.
function indexOf(members: readonly string[], ebid: string): number {
  let lo = 0;
  let hi = members.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const m = members[mid]!;
    if (m === ebid) return mid;
    if (m < ebid) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/**
 * The source an honest validator votes with for a target at `targetHeight` (docs/protocol.md §5,
 * node policy): the greatest-height checkpoint of its head's `justified_recent` below the target;
 * undefined when none is (never on an honest branch: its finalized checkpoint is below the target).
 */
export function voteSource(justifiedRecent: readonly Checkpoint[], targetHeight: number): Checkpoint | undefined {
  for (let i = justifiedRecent.length - 1; i >= 0; i--) if (justifiedRecent[i]!.height < targetHeight) return justifiedRecent[i];
  return undefined;
}
