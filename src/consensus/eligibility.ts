/**
 * Proof-of-Sync local eligibility (docs/protocol.md §6.1, the Proof-of-Sync mining spec's
 * `NetworkSnapshot` and `proof_of_sync_eligible`). Pure: the snapshot updater feeds it peer heights
 * once a second.
 */
import type { ChainParams } from "./params.ts";

/** The Proof-of-Sync mining spec's sync states. */
export type SyncState = "AtTip" | "CatchingUp" | "Behind" | "TooFarAhead";

/** One snapshot tick's view of the network. Heights in blocks. */
export interface NetworkSnapshot {
  local_height: number;
  tip_hash: string;
  network_height: number;
  lag_blocks: number;
  sync_state: SyncState;
  ready_peers: number;
  /** consecutive ticks at tip */
  eligible_streak: number;
}

type EligibilityParams = Pick<ChainParams, "max_desync_blocks" | "min_ready_peers" | "eligible_streak_required">;

/**
 * Median of the live peers' counted heights (`countedHeights`): the lower middle value for an even
 * count. Never includes the local height. Null when there are no peers.
 */
export function medianHeight(peerHeights: readonly number[]): number | null {
  if (peerHeights.length === 0) return null;
  const s = [...peerHeights].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!;
}

/** What the snapshot knows of one live peer's height (docs/protocol.md §6.1). Heights in blocks. */
export interface PeerHeightView {
  /** the height it reports (hello, status, the height of a block it sent): a claim */
  claimed: number;
  /** the highest height it has backed: a valid block it sent or served, or its reported tip held here */
  backed: number;
  /** it is the source of a sync that is importing valid blocks from it now */
  serving: boolean;
}

/**
 * The heights that eligibility counts (docs/protocol.md §6.1): a peer counts at its backed height
 * (`min(claimed, backed)`), or at its claim while it serves a sync that imports valid blocks; a
 * peer counted more than `max_desync_blocks` below the local height is left out (it is catching up,
 * or claims nothing it has shown), so a claim nobody backs never moves the median either way.
 */
export function countedHeights(peers: readonly PeerHeightView[], localHeight: number, params: Pick<ChainParams, "max_desync_blocks">): number[] {
  const out: number[] = [];
  for (const p of peers) {
    const h = p.serving ? p.claimed : Math.min(p.claimed, p.backed);
    if (h >= localHeight - params.max_desync_blocks) out.push(h);
  }
  return out;
}

/** Sync state from local and network heights (docs/protocol.md §6.1). */
export function syncStateOf(localHeight: number, networkHeight: number, params: EligibilityParams): SyncState {
  if (localHeight > networkHeight + params.max_desync_blocks) return "TooFarAhead";
  const lag = Math.max(0, networkHeight - localHeight);
  if (lag === 0) return "AtTip";
  return lag <= params.max_desync_blocks ? "CatchingUp" : "Behind";
}

/**
 * Next snapshot from the previous streak and this tick's readings. With fewer than
 * `min_ready_peers` peers there is no network view: the network height is taken as the local one
 * and the streak resets, so a node that was alone never starts producing the instant it connects.
 */
export function nextSnapshot(
  prevStreak: number,
  localHeight: number,
  tipHash: string,
  peerHeights: readonly number[],
  params: EligibilityParams,
): NetworkSnapshot {
  const median = medianHeight(peerHeights);
  const networkHeight = median ?? localHeight;
  const syncState = syncStateOf(localHeight, networkHeight, params);
  const quorum = peerHeights.length >= params.min_ready_peers && median !== null;
  return {
    local_height: localHeight,
    tip_hash: tipHash,
    network_height: networkHeight,
    lag_blocks: Math.max(0, networkHeight - localHeight),
    sync_state: syncState,
    ready_peers: peerHeights.length,
    eligible_streak: syncState === "AtTip" && quorum ? prevStreak + 1 : 0,
  };
}

/** Eligible = AtTip, lag <= max_desync_blocks, ready peers >= min, streak >= required (docs/protocol.md §6.1). */
export function proofOfSyncEligible(snap: NetworkSnapshot, params: EligibilityParams): boolean {
  return (
    snap.sync_state === "AtTip" &&
    snap.lag_blocks <= params.max_desync_blocks &&
    snap.ready_peers >= params.min_ready_peers &&
    snap.eligible_streak >= params.eligible_streak_required
  );
}
