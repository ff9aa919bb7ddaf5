/**
 * Assembles and signs a block on a parent (docs/protocol.md §3). Used by the Proof-of-Sync
 * producer; the PoW miner and external miners of the chain-core mining API seal the same header
 * with a nonce (template.ts).
 */
import type { Attestation, Block, Header, SlashingItem, Tx } from "../consensus/types.ts";
import { blockHash } from "../consensus/hashing.ts";
import { merkleRootOfItems } from "../consensus/merkle.ts";
import { toHex } from "../consensus/encoding.ts";
import { chainDomains, sign } from "../consensus/signatures.ts";
import { nextMix } from "../consensus/randao.ts";

/**
 * Slashing protection as the block signers see it (the node's record, `node/slashingProtection.ts`,
 * docs/protocol.md §6.6): every block the node signs goes through it.
 */
export interface BlockSigningGuard {
  /** whether a block at `height` may be signed now (a check only: nothing is recorded or counted) */
  mayProposeBlock(height: number): boolean;
  /**
   * records `height` durably, then calls `sign` and returns its result; undefined (and `sign` not
   * called) when the key already signed a block at `height` or above
   */
  signBlock<T>(height: number, sign: () => T): T | undefined;
}

/**
 * Seals and signs a header through the guard, for the chain of `genesisHash`.
 * @throws Error when the guard refuses the height
 */
export function sealGuarded(guard: BlockSigningGuard, header: Header, body: { txs?: Tx[]; attestations: Attestation[]; slashings?: SlashingItem[] }, secretKey: Uint8Array, genesisHash: string): Block {
  const block = guard.signBlock(header.height, () => sealBlock(header, body, secretKey, genesisHash));
  if (!block) throw new Error(`slashing protection refused a block at height ${header.height}: this key signed one there or above`);
  return block;
}

/** What goes into a new block. */
export interface BlockDraft {
  /** the parent's hash, height and RANDAO `mix` */
  parent: { hash: string; height: number; mix: string };
  producer: string;
  slot: number | null;
  /** ms since the epoch */
  timestamp: number;
  attestations: Attestation[];
  txs?: Tx[];
  /** the state root after executing the block (`Chain.previewState`) */
  stateRoot: string;
  /** the validators root after executing the block (`Chain.previewState`) */
  validatorsRoot: string;
  /** the finality root after the block (`Chain.previewFinality`: docs/protocol.md §5a) */
  finalityRoot: string;
  /** slashing items (docs/protocol.md §6.5); none by default */
  slashings?: SlashingItem[];
  /** the producer's RANDAO reveal (192 hex), or "" (the default) when it must not reveal (docs/protocol.md §6.4) */
  randaoReveal?: string;
  difficulty?: number;
  nonce?: number;
}

/** The unsigned header of a draft; `mix` = nextMix(parent.mix, reveal). */
export function draftHeader(d: BlockDraft): Header {
  const reveal = d.randaoReveal ?? "";
  return {
    version: 3,
    height: d.parent.height + 1,
    parent_hash: d.parent.hash,
    timestamp: d.timestamp,
    producer: d.producer,
    slot: d.slot,
    difficulty: d.difficulty ?? 0,
    nonce: d.nonce ?? 0,
    tx_root: toHex(merkleRootOfItems(d.txs ?? [])),
    attestations_root: toHex(merkleRootOfItems(d.attestations)),
    state_root: d.stateRoot,
    validators_root: d.validatorsRoot,
    mix: nextMix(d.parent.mix, reveal),
    randao_reveal: reveal,
    finality_root: d.finalityRoot,
    slashings_root: toHex(merkleRootOfItems(d.slashings ?? [])),
  };
}

/**
 * Signs a header into a wire-form block with its body: `signature` = sign("vision-block-v3", header)
 * on the chain of `genesisHash` (64 hex; docs/protocol.md §3.3), valid on that chain only.
 */
export function sealBlock(header: Header, body: { txs?: Tx[]; attestations: Attestation[]; slashings?: SlashingItem[] }, secretKey: Uint8Array, genesisHash: string): Block {
  return { hash: blockHash(header), header, signature: sign(chainDomains(genesisHash).block, header, secretKey), txs: body.txs ?? [], attestations: body.attestations, slashings: body.slashings ?? [] };
}

/** Builds and signs a block from a draft, for the chain of `genesisHash`. */
export function buildBlock(d: BlockDraft, secretKey: Uint8Array, genesisHash: string): Block {
  return sealBlock(draftHeader(d), d, secretKey, genesisHash);
}
