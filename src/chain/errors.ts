/**
 * Typed chain errors. Thrown inside `chain/`, translated once at each boundary (P2P: reject and
 * penalise the peer; API: HTTP 400; CLI: message and exit 1).
 */

/** Why a block was refused. */
export type BlockErrorCode =
  | "MALFORMED"
  | "BAD_HASH"
  | "BAD_HEIGHT"
  | "BAD_SIGNATURE"
  | "WRONG_PRODUCER"
  | "TOO_EARLY"
  | "BAD_POW"
  | "BAD_DIFFICULTY"
  | "BAD_ROOT"
  | "BAD_TX"
  | "BAD_ATTESTATION"
  /** the RANDAO reveal is missing, present where none is allowed, or does not verify (docs/protocol.md §6.4) */
  | "BAD_REVEAL"
  /** `mix` is not nextMix(parent mix, randao_reveal) (docs/protocol.md §6.4) */
  | "BAD_MIX"
  /** a slashing item that is malformed, not conflicting, badly signed, or on a `pow` chain (docs/protocol.md §6.5) */
  | "BAD_SLASHING"
  /** a slashing item whose offender has no record or is slashed already (docs/protocol.md §6.5) */
  | "NOT_SLASHABLE"
  | "TOO_MANY_TXS"
  /** the block's branch does not contain the chain's finalized checkpoint (docs/protocol.md §7) */
  | "FINALITY_CONFLICT"
  | "GENESIS_MISMATCH"
  /** node policy: timestamp past the hold horizon (docs/protocol.md §6.4) */
  | "TOO_FAR_AHEAD"
  /** node policy: a side block forking deeper than the fork horizon that cannot win fork choice (docs/protocol.md §7) */
  | "DEEP_FORK"
  /** node policy: the blocks waiting for import hold their budget of transfers and attestations (docs/protocol.md §6.4); not the sender's fault */
  | "BUSY";

/** A block that breaks a consensus rule; `code` says which. */
export class BlockError extends Error {
  constructor(
    readonly code: BlockErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "BlockError";
  }
}

/** A chain spec or data dir that cannot be used. */
export class ChainSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ChainSpecError";
  }
}
