/**
 * Expected proof-of-work difficulty of `pow` chains (docs/protocol.md §8, the chain-core mining
 * API's retargeting).
 */
import type { ChainParams } from "./params.ts";

type DifficultyParams = Pick<
  ChainParams,
  | "genesis_difficulty"
  | "difficulty_adjustment_interval"
  | "max_difficulty_change"
  | "min_difficulty"
  | "max_difficulty"
  | "target_block_time_ms"
>;

/** True when height h retargets: h mod interval = 0 and h >= 2 * interval. */
export function isRetargetHeight(height: number, params: DifficultyParams): boolean {
  const interval = params.difficulty_adjustment_interval;
  return height % interval === 0 && height >= 2 * interval;
}

/**
 * Difficulty after one retarget at height h, from the previous expected difficulty and the
 * timestamps (ms) of blocks h-1 and h-1-interval. Clamped to [min, max].
 */
export function retarget(prev: number, tsPrev: number, tsStart: number, params: DifficultyParams): number {
  const r = (tsPrev - tsStart) / (params.difficulty_adjustment_interval * params.target_block_time_ms);
  let d = prev;
  if (r < 0.5) d += params.max_difficulty_change;
  else if (r < 0.75) d += 1;
  else if (r > 2.0) d -= params.max_difficulty_change;
  else if (r > 1.5) d -= 1;
  return Math.min(params.max_difficulty, Math.max(params.min_difficulty, d));
}

/**
 * Expected difficulty for height n of a chain.
 * @param timestampAt timestamp (ms) of the branch's block at a height < n
 */
export function expectedDifficulty(height: number, timestampAt: (h: number) => number, params: DifficultyParams): number {
  const interval = params.difficulty_adjustment_interval;
  let d = params.genesis_difficulty;
  for (let h = 2 * interval; h <= height; h += interval) {
    d = retarget(d, timestampAt(h - 1), timestampAt(h - 1 - interval), params);
  }
  return d;
}
