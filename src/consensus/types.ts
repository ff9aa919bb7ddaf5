/**
 * Wire types of consensus objects (docs/protocol.md §3, "Wire forms"). JSON keeps the source documents'
 * snake_case names. Validation of untrusted input lives in `consensus/wire.ts`.
 */

/** 64 lowercase hex chars: an ed25519 public key (EBID) or a SHA-256 digest. */
export type Hex32 = string;

/** Block header (docs/protocol.md §3). `slot` is null for a proof-of-work block. */
export interface Header {
  version: 3;
  height: number;
  parent_hash: Hex32;
  /** ms since the Unix epoch */
  timestamp: number;
  producer: Hex32;
  slot: number | null;
  difficulty: number;
  nonce: number;
  tx_root: Hex32;
  attestations_root: Hex32;
  state_root: Hex32;
  /** `validatorsRoot` of the validator records after executing the block (docs/protocol.md §3.2, §5) */
  validators_root: Hex32;
  /** the RANDAO mix: nextMix(parent.mix, randao_reveal); genesis: genesisMix(spec_hash) */
  mix: Hex32;
  /** the producer's BLS signature over revealMessage(chain_id, height) (192 hex), or "" */
  randao_reveal: string;
  /** hex(H(JCS(F))) of the branch's finality state after the block (docs/protocol.md §5a); 64 zeros for genesis */
  finality_root: Hex32;
  /** Merkle root of the block's slashing items (docs/protocol.md §3.5, §6.5) */
  slashings_root: Hex32;
}

/** Signed transfer `{chain_id, from, to, amount, fee, nonce, sig}`; amounts are decimal strings. No `kind` field. */
export interface Transfer {
  chain_id: string;
  from: Hex32;
  to: Hex32;
  amount: string;
  fee: string;
  nonce: number;
  sig: string;
}

/**
 * Bond (docs/protocol.md §3.4): `from` locks `amount` and becomes a validator with the BLS key
 * `bls_pubkey` (96 hex); `pop` (192 hex) is that key's signature over `popMessage(chain_id, from,
 * bls_pubkey)`.
 */
export interface Bond {
  chain_id: string;
  kind: "bond";
  from: Hex32;
  amount: string;
  fee: string;
  nonce: number;
  bls_pubkey: string;
  pop: string;
  sig: string;
}

/** Unbond (docs/protocol.md §3.4): `from`'s record gets its exit epoch. */
export interface Unbond {
  chain_id: string;
  kind: "unbond";
  from: Hex32;
  fee: string;
  nonce: number;
  sig: string;
}

/** Withdraw (docs/protocol.md §3.4): `from`'s record is deleted and its bond credited. */
export interface Withdraw {
  chain_id: string;
  kind: "withdraw";
  from: Hex32;
  fee: string;
  nonce: number;
  sig: string;
}

/** Any signed transaction: a transfer (no `kind`) or a bond, unbond or withdraw. */
export type Tx = Transfer | Bond | Unbond | Withdraw;

/** The kind of a transaction (`transfer` for one without a `kind` field). */
export type TxKind = "transfer" | Bond["kind"] | Unbond["kind"] | Withdraw["kind"];

/**
 * "I am in sync at (height, block_hash)" plus an FFG vote (source → target checkpoints), signed by
 * `ebid` under `vision-attest-v3` (docs/protocol.md §3.4, §5, §5a).
 */
export interface Attestation {
  ebid: Hex32;
  height: number;
  block_hash: Hex32;
  /** a justified checkpoint of the head's branch below the target (genesis for heads in interval 0) */
  source_height: number;
  source_hash: Hex32;
  /** the checkpoint of the head's interval on its branch: height floor(height / I)·I */
  target_height: number;
  target_hash: Hex32;
  sig: string;
}

/**
 * An FFG vote as slashing evidence carries it (docs/protocol.md §6.5): structurally a protocol
 * version 3 attestation (the head `height`/`block_hash` and the link `source` -> `target`, signed
 * under `vision-attest-v3`), so an attestation is accepted as is.
 */
export type Vote = Attestation;

/** A header with its producer's `vision-block-v3` signature for the chain (128 hex; docs/protocol.md §3.3). */
export interface SignedHeader {
  header: Header;
  signature: string;
}

/**
 * A slashing item of a block (docs/protocol.md §6.5): a double vote or surround (`votes`), or two
 * blocks by one producer at one height (`blocks`). `consensus/wire.ts`'s `slashingItemSchema`
 * validates it; `consensus/slashing.ts` checks that it is evidence.
 */
export type SlashingItem = { kind: "votes"; a: Vote; b: Vote } | { kind: "blocks"; a: SignedHeader; b: SignedHeader };

/** Block in wire form: `{hash, header, signature, txs, attestations, slashings}`. */
export interface Block {
  hash: Hex32;
  header: Header;
  signature: string;
  txs: Tx[];
  attestations: Attestation[];
  slashings: SlashingItem[];
}
