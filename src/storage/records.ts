/**
 * The records the node persists in LevelDB, as stored (JSON values; bigints as decimal strings).
 * They belong to storage so that storage imports nothing from chain; chain converts its in-memory
 * forms to and from these (chain/state.ts `encodeChanges`/`decodeChanges`).
 */
import type { Block } from "../consensus/types.ts";
import type { Checkpoint, FinalityState } from "../consensus/finality.ts";

/** An account as stored in a change: [balance in base units as a decimal string, nonce]. */
export type StoredAccount = [string, number];

/** An account at the head as stored: [balance, nonce, leaf index in the `state_root` list]. */
export type StoredHeadAccount = [string, number, number];

/** One account change of a block (bigints as decimal strings), kept so a reorg can undo it. */
export interface StoredChange {
  address: string;
  /** the account's leaf index (creation position, docs/protocol.md §3.6) */
  index: number;
  /** the account before the block, or null when the block created it */
  before: StoredAccount | null;
  after: StoredAccount;
}

/** A validator record as stored (docs/protocol.md §3.6), at the head (`v!<ebid>`) or in a change. */
export interface StoredValidatorRecord {
  ebid: string;
  /** 96 hex */
  bls_pubkey: string;
  /** base units, decimal string */
  bond: string;
  activation_epoch: number;
  exit_epoch: number | null;
  /** docs/protocol.md §3.6, §6.5 */
  slashed: boolean;
}

/** One validator record change of a block: before and after (null: absent). */
export interface StoredValidatorChange {
  ebid: string;
  before: StoredValidatorRecord | null;
  after: StoredValidatorRecord | null;
}

/**
 * What a reorg needs of a block (`d!<hash>`): its account changes, its validator record changes,
 * and its producer and earnings (reward plus fees, decimal string) for the producer totals, so a
 * reorg never loads whole blocks.
 */
export interface StoredBlockChanges {
  producer: string;
  earned: string;
  changes: StoredChange[];
  /** record changes, ascending by EBID */
  validators: StoredValidatorChange[];
}

/** Per-block metadata, including the MinerBlock status fields of the sync protocol (docs/protocol.md §9). */
export interface BlockMeta {
  hash: string;
  height: number;
  parent_hash: string;
  timestamp: number;
  producer: string;
  slot: number | null;
  difficulty: number;
  state_root: string;
  /** the header's RANDAO `mix` (docs/protocol.md §3.2): the child's selection seed reads it */
  mix: string;
  /** EBIDs of the block's attestations, in block order */
  attesters: string[];
  /** cumulative fork-choice weight from genesis, as a decimal string */
  total_weight: string;
  is_canonical: boolean;
  is_orphaned: boolean;
  /** ms when this node first stored the block */
  seen_at: number | null;
  orphaned_at: number | null;
  orphan_reason: string | null;
  competing_hash: string | null;
}

/** One write in an import batch. */
export type ChainWrite =
  | { kind: "block"; block: Block }
  | { kind: "meta"; meta: BlockMeta }
  | { kind: "canonical"; height: number; hash: string }
  | { kind: "uncanonical"; height: number }
  | { kind: "head"; hash: string }
  | { kind: "evidence"; record: EvidenceRecord }
  | { kind: "changes"; hash: string; record: StoredBlockChanges }
  | { kind: "account"; address: string; account: StoredHeadAccount | null }
  | { kind: "validator"; ebid: string; record: StoredValidatorRecord | null }
  | { kind: "txIndex"; txHash: string; blockHash: string }
  | { kind: "producerStats"; producer: string; stats: ProducerTotals }
  /** the finality state after a block (docs/protocol.md §5a), written with the block */
  | { kind: "finality"; hash: string; state: FinalityState }
  /** the store's finalized and justified checkpoints (docs/protocol.md §7), written when they move */
  | { kind: "forkChoice"; checkpoints: ForkChoiceCheckpoints }
  /** the checkpoint a node started from and its lowest held height (docs/protocol.md §9.7), written once */
  | { kind: "checkpointBase"; base: StoredCheckpointBase }
  /** the genesis hash (`genesis`), in the batch that writes a checkpoint base */
  | { kind: "genesisHash"; hash: string };

/** The checkpoint a node started from (`cb`, docs/protocol.md §9.7). */
export interface StoredCheckpointBase {
  checkpoint: Checkpoint;
  /** the lowest height above genesis a block is held at */
  window_from: number;
}

/** The checkpoints fork choice keeps over all stored blocks (docs/protocol.md §7). */
export interface ForkChoiceCheckpoints {
  /** the greatest-height `finalized` among stored blocks' finality states */
  finalized: Checkpoint;
  /** the greatest-height `justified` among stored blocks descending from `finalized` (ties: lower hash) */
  justified: Checkpoint;
}

/** What a producer earned on the canonical chain: blocks, and reward plus fees (decimal string). */
export interface ProducerTotals {
  blocks: number;
  rewards: string;
}

/**
 * One block of an equivocation, stored on its own so that each further block by the producer at
 * that height adds one small record instead of rewriting a growing list.
 */
export interface EvidenceRecord {
  height: number;
  producer: string;
  block_hash: string;
  parent_hash: string;
  /** position in the order this node stored the producer's blocks at this height (0 = the first) */
  index: number;
  /** ms when this node recorded it (for the first two blocks: when it stored the second) */
  detected_at: number;
}

/** One producer signed two different blocks at one height (docs/protocol.md §7). */
export interface Equivocation {
  height: number;
  producer: string;
  /** the blocks, in the order this node stored them */
  block_hashes: string[];
  /** their parents: equal parents mean the same slot was signed twice */
  parent_hashes: string[];
  /** ms when this node stored the second block */
  detected_at: number;
}
