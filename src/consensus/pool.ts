/**
 * The producer pool as chain data (docs/protocol.md §5, consensus).
 */
import { normalizePool } from "./selection.ts";

/** What pool computation needs of one block: who produced it and who attested in it. */
export interface PoolEntry {
  height: number;
  producer: string;
  attesters: readonly string[];
}

/** Chain-spec inputs of the pool. */
export interface PoolSpec {
  initialPool: readonly string[];
  /** when set, only these EBIDs may be in the pool */
  allowlist?: readonly string[] | undefined;
  poolWindow: number;
}

/** Heights whose blocks feed pool(n): n - pool_window .. n - 1, genesis excluded. */
export function poolWindowRange(height: number, poolWindow: number): { from: number; to: number } {
  return { from: Math.max(1, height - poolWindow), to: height - 1 };
}

/**
 * `pool(n)`: EBIDs that produced or attested in blocks n - pool_window .. n - 1 of the branch,
 * plus `initial_pool` while n <= pool_window, filtered by `allowlist`; sorted, deduplicated.
 * Genesis (height 0) is unsigned and its zero producer is no EBID, so it contributes nothing.
 * @param window the branch's blocks in that range (others are ignored)
 */
export function poolFor(height: number, window: readonly PoolEntry[], spec: PoolSpec): string[] {
  const { from, to } = poolWindowRange(height, spec.poolWindow);
  const ids: string[] = [];
  for (const b of window) {
    if (b.height < from || b.height > to) continue;
    ids.push(b.producer, ...b.attesters);
  }
  if (height <= spec.poolWindow) ids.push(...spec.initialPool);
  const allow = spec.allowlist ? new Set(spec.allowlist) : undefined;
  return normalizePool(allow ? ids.filter((id) => allow.has(id)) : ids);
}
