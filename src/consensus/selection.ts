/**
 * Producer selection (docs/protocol.md §4, consensus), under the Proof-of-Sync mining spec's names
 * in camelCase. Pure: every node computes the same winners from the same seed (`seedFromMix`,
 * randao.ts: the parent's RANDAO mix, the height and `epoch_salt`) and pool.
 */
import { H, u64, utf8 } from "./encoding.ts";

/** Rerolls tried before the rest of the pool follows in pool order. */
export const MAX_REROLLS = 64;

/** `epoch_salt` = H(utf8(chain_id) || utf8("mining-epoch-v1")). */
export function epochSalt(chainId: string): Uint8Array {
  return H(utf8(chainId), utf8("mining-epoch-v1"));
}

/** `reroll(s, i)` = H(s || utf8("reroll" + decimal(i))). */
export function reroll(seed: Uint8Array, i: number): Uint8Array {
  return H(seed, utf8(`reroll${i}`));
}

/**
 * `pick(s, pool)` = pool[u64(s) mod len(pool)].
 * @param pool sorted ascending, no duplicates
 * @throws RangeError for an empty pool
 */
export function pickWinner(seed: Uint8Array, pool: readonly string[]): string {
  if (pool.length === 0) throw new RangeError("empty pool");
  return pool[Number(u64(seed) % BigInt(pool.length))]!;
}

/** Sorts ascending (by code unit, as EBIDs are lowercase hex) and removes duplicates. */
export function normalizePool(pool: Iterable<string>): string[] {
  return [...new Set(pool)].sort();
}

/**
 * `winners`: the primary then distinct backups, min(1 + backupSlots, len(pool)) EBIDs.
 * Slot k belongs to winners[k]. The pool is normalized first, so its order does not matter.
 * An empty pool gives no winners.
 */
export function pickWinnerWithRerolls(seed: Uint8Array, pool: readonly string[], backupSlots: number): string[] {
  const sorted = normalizePool(pool);
  const want = Math.min(1 + backupSlots, sorted.length);
  if (want === 0) return [];
  const winners = [pickWinner(seed, sorted)];
  const taken = new Set(winners);
  for (let i = 0; winners.length < want && i < MAX_REROLLS; i++) {
    const w = pickWinner(reroll(seed, i), sorted);
    if (!taken.has(w)) {
      taken.add(w);
      winners.push(w);
    }
  }
  for (const w of sorted) {
    if (winners.length >= want) break;
    if (!taken.has(w)) {
      taken.add(w);
      winners.push(w);
    }
  }
  return winners;
}

/**
 * `jitter(s, ebid)` = (u64(H(s || utf8(ebid))) mod (max - min)) + min, in ms.
 * Per-node delay that keeps proposals apart; never part of validity.
 */
export function calculateJitter(seed: Uint8Array, ebid: string, jitterMinMs: number, jitterMaxMs: number): number {
  const span = BigInt(jitterMaxMs - jitterMinMs);
  if (span <= 0n) return jitterMinMs;
  return Number(u64(H(seed, utf8(ebid))) % span) + jitterMinMs;
}

