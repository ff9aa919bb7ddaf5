/**
 * Slot timing (docs/protocol.md §6): slots are anchored to the parent's timestamp, never to when a
 * node saw it. All times in ms since the Unix epoch.
 */
import type { ChainParams } from "./params.ts";

type TimingParams = Pick<ChainParams, "block_time_ms" | "claim_timeout_ms">;

/** `T(k)` = parent.timestamp + block_time_ms + k * claim_timeout_ms: when slot k opens. */
export function slotOpensAt(parentTimestamp: number, slot: number, params: TimingParams): number {
  return parentTimestamp + params.block_time_ms + slot * params.claim_timeout_ms;
}

/**
 * When a slot-k producer proposes: max(T(k), seen + k * claim_timeout_ms) + jitter, where `seen`
 * is when it first held the parent as its tip (so the primary keeps its head start after a stall).
 */
export function proposeAt(
  parentTimestamp: number,
  seenAt: number,
  slot: number,
  jitterMs: number,
  params: TimingParams,
): number {
  return Math.max(slotOpensAt(parentTimestamp, slot, params), seenAt + slot * params.claim_timeout_ms) + jitterMs;
}
