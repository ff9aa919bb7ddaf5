/**
 * Consensus parameters and their defaults (docs/protocol.md §2.1: the Proof-of-Sync mining spec's
 * constants, the chain-core mining API's PoW parameters).
 */

/** Every `params` field of a chain spec. Times in ms, counts in blocks unless named otherwise. */
export interface ChainParams {
  block_time_ms: number;
  mining_tick_ms: number;
  claim_timeout_ms: number;
  backup_slots: number;
  jitter_min_ms: number;
  jitter_max_ms: number;
  max_desync_blocks: number;
  min_ready_peers: number;
  /** consecutive 1 s snapshot ticks at tip needed before producing */
  eligible_streak_required: number;
  pool_window: number;
  attestation_max_age: number;
  max_future_drift_ms: number;
  fallback_difficulty: number;
  max_block_txs: number;
  genesis_difficulty: number;
  target_block_time_ms: number;
  difficulty_adjustment_interval: number;
  max_difficulty_change: number;
  min_difficulty: number;
  max_difficulty: number;
  /** least fee of a transfer, base units (docs/protocol.md §6.5) */
  min_tx_fee: number;
  /** least amount of a transfer that creates its recipient, base units (docs/protocol.md §6.5) */
  min_account_balance: number;
  /** blocks per consensus epoch (docs/protocol.md §5): the pool is fixed per epoch */
  epoch_length: number;
  /** least bond of a validator, base units (docs/protocol.md §6.5) */
  min_bond: number;
  /** epochs from a bond's (or an unbond's) inclusion to its activation (or exit); >= 2 */
  activation_delay_epochs: number;
  /** epochs from a validator's exit to when its bond may be withdrawn */
  unbonding_epochs: number;
  /** validator records held at once (pending, active, exiting and exited alike) */
  max_validators: number;
  /** blocks per finality interval (docs/protocol.md §5a): checkpoints are the heights k·I; attestation_max_age..1024 */
  checkpoint_interval: number;
}

/** Defaults from docs/protocol.md §2. */
export const defaultChainParams: Readonly<ChainParams> = Object.freeze({
  block_time_ms: 2000,
  mining_tick_ms: 250,
  claim_timeout_ms: 1200,
  backup_slots: 6,
  jitter_min_ms: 50,
  jitter_max_ms: 400,
  max_desync_blocks: 2,
  min_ready_peers: 1,
  eligible_streak_required: 3,
  pool_window: 20,
  attestation_max_age: 8,
  max_future_drift_ms: 2000,
  fallback_difficulty: 4,
  max_block_txs: 500,
  genesis_difficulty: 2,
  target_block_time_ms: 10000,
  difficulty_adjustment_interval: 10,
  max_difficulty_change: 2,
  min_difficulty: 1,
  max_difficulty: 12,
  min_tx_fee: 1,
  min_account_balance: 10,
  epoch_length: 20,
  min_bond: 1000,
  activation_delay_epochs: 2,
  unbonding_epochs: 10,
  max_validators: 1024,
  checkpoint_interval: 8,
});

/**
 * Heights per page of the MinerBlock sync protocol's `/data/miner_block/epoch` request and its
 * MinerBlock `epoch` field (docs/protocol.md §9.6). Fixed by that protocol and unrelated to the
 * consensus epochs of `epoch_length`.
 */
export const SYNC_EPOCH_LENGTH = 40;

/** At most this many attestations in one block (docs/protocol.md §5). */
export const MAX_ATTESTATIONS_PER_BLOCK = 128;

/** At most this many slashing items in one block (docs/protocol.md §3.4, §6.5). */
export const MAX_SLASHINGS_PER_BLOCK = 8;

/** Greatest `checkpoint_interval` a chain spec may set (docs/protocol.md §2.1). */
export const MAX_CHECKPOINT_INTERVAL = 1024;

/** The sync protocol's epoch of a height: floor(height / 40). */
export function syncEpochOf(height: number): number {
  return Math.floor(height / SYNC_EPOCH_LENGTH);
}
