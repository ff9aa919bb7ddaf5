/**
 * Block validity (docs/protocol.md §3, §5, §6 and §8; consensus). Pure given its context: the chain
 * supplies the parent, the schedule for the parent and the branch's recent ancestors.
 */
import { blockHash, headerMeetsPow } from "../consensus/hashing.ts";
import { merkleRootOfItems } from "../consensus/merkle.ts";
import { toHex } from "../consensus/encoding.ts";
import { verify, type ChainDomains } from "../consensus/signatures.ts";
import { slotOpensAt } from "../consensus/timing.ts";
import { MAX_ATTESTATIONS_PER_BLOCK } from "../consensus/params.ts";
import type { Attestation, Block } from "../consensus/types.ts";
import { checkpointHeight, type Checkpoint } from "../consensus/finality.ts";
import { blsVerify } from "../consensus/bls.ts";
import { nextMix, revealMessage } from "../consensus/randao.ts";
import type { RegistryReader } from "../consensus/validators.ts";
import { PROTOCOL_VERSION } from "../version.ts";
import type { ChainSpec } from "./spec.ts";
import { BlockError } from "./errors.ts";
import { checkSlashings, checkSlashingsDetached } from "./slashing.ts";
import { slashingsRoot } from "../consensus/slashing.ts";

/** What validation needs of the parent block. */
export interface ParentInfo {
  hash: string;
  height: number;
  timestamp: number;
  /** the parent header's RANDAO mix */
  mix: string;
}

/** The producer schedule for the height being validated (docs/protocol.md §4, §5). */
export interface Schedule {
  height: number;
  /** epochAt(height) */
  epoch: number;
  seed: Uint8Array;
  /** pool(epoch) on this branch, ascending */
  pool: string[];
  winners: string[];
  /**
   * the validator records after the branch's block at height (epoch - 1) × epoch_length - 1 (genesis
   * for epochs 0 and 1), not after the parent: they agree with the records after the parent on who
   * is active at `epoch` and on those validators' `bls_pubkey` (docs/protocol.md §5), which is all
   * validation reads; other fields may be older (an unbond of the last two epochs is missing)
   */
  registry: RegistryReader;
  /** EBIDs of the records active at `epoch`, ascending */
  active: string[];
}

/**
 * Whether the block of `schedule` must carry its producer's RANDAO reveal (docs/protocol.md §6.4):
 * on Proof-of-Sync chains when at least one validator is active at its epoch; otherwise (the
 * bootstrap of a chain with no validators, and `pow` chains) its reveal must be "".
 */
export function mustReveal(spec: ChainSpec, schedule: Pick<Schedule, "active">): boolean {
  return spec.consensus !== "pow" && schedule.active.length > 0;
}

/** Inputs that validation reads from the chain. */
export interface ValidationContext {
  spec: ChainSpec;
  /** the chain's signing domains (chainDomains(genesis hash), docs/protocol.md §3.3) */
  domains: ChainDomains;
  parent: ParentInfo;
  schedule: Schedule;
  /**
   * canonical-on-this-branch block hash at each height in [n - attestation_max_age, n - 1] and at
   * the checkpoint heights its attestations may target (attestationAncestorsFrom)
   */
  ancestors: ReadonlyMap<number, string>;
  /** `justified_recent` of the finality state after the parent (docs/protocol.md §5a) */
  justifiedRecent: readonly Checkpoint[];
  /** expected difficulty on `pow` chains */
  expectedDifficulty?: number;
}

/**
 * Checks every consensus rule of a block whose parent is known.
 * Does not look at the wall clock: blocks from the future are held by the chain, not rejected.
 * @throws BlockError with the rule that failed
 */
export function validateBlock(block: Block, ctx: ValidationContext): void {
  const { header } = block;
  const { spec, parent } = ctx;
  const p = spec.params;
  if (header.version !== PROTOCOL_VERSION) throw new BlockError("MALFORMED", `header version ${String(header.version)}, not ${PROTOCOL_VERSION}`);
  if (header.height !== parent.height + 1) {
    throw new BlockError("BAD_HEIGHT", `height ${header.height} does not follow parent height ${parent.height}`);
  }
  if (header.parent_hash !== parent.hash) throw new BlockError("BAD_HEIGHT", "parent_hash mismatch");
  if (blockHash(header) !== block.hash) throw new BlockError("BAD_HASH", "hash does not match the header");
  if (block.txs.length > p.max_block_txs) {
    throw new BlockError("TOO_MANY_TXS", `${block.txs.length} transactions, max ${p.max_block_txs}`);
  }
  checkProducer(block, ctx);
  if (!verify(ctx.domains.block, header, block.signature, header.producer)) {
    throw new BlockError("BAD_SIGNATURE", "block signature does not verify for its producer");
  }
  if (toHex(merkleRootOfItems(block.txs)) !== header.tx_root) throw new BlockError("BAD_ROOT", "tx_root mismatch");
  if (toHex(merkleRootOfItems(block.attestations)) !== header.attestations_root) {
    throw new BlockError("BAD_ROOT", "attestations_root mismatch");
  }
  checkSlashingsShape(block, spec);
  checkReveal(block, ctx);
  checkAttestations(block, ctx);
  // each item is evidence (two signature checks an item), with the attestations; whether its
  // offender is slashable is execution's (NOT_SLASHABLE)
  checkSlashings(block.slashings, ctx.domains);
  // state_root, validators_root and finality_root are checked by the chain after executing the block on the parent's state.
}

/**
 * The lowest height whose branch block validation of a block at `height` reads (docs/protocol.md
 * §5): the attested heights n - attestation_max_age .. n - 1 and their checkpoints.
 */
export function attestationAncestorsFrom(height: number, maxAge: number, interval: number): number {
  return checkpointHeight(Math.max(0, height - maxAge), interval);
}

/**
 * The FFG rules of an attestation in a block on a branch (docs/protocol.md §5), cheap lookups only:
 * the target is the checkpoint of its head's interval on `ancestors`' branch; the source is genesis
 * for a target at genesis, else a checkpoint of `justifiedRecent` below the target.
 * @returns why it fails, or undefined when it passes
 */
export function ffgVoteFault(a: Attestation, interval: number, ancestors: ReadonlyMap<number, string>, justifiedRecent: readonly Checkpoint[]): string | undefined {
  if (a.target_height !== checkpointHeight(a.height, interval)) return `target height ${a.target_height} is not the checkpoint ${checkpointHeight(a.height, interval)} of height ${a.height}`;
  if (ancestors.get(a.target_height) !== a.target_hash) return `target is not this branch's checkpoint at height ${a.target_height}`;
  if (a.target_height === 0) {
    if (a.source_height !== 0 || a.source_hash !== a.target_hash) return "a vote in interval 0 has genesis as source and target";
    return undefined;
  }
  if (a.source_height >= a.target_height) return `source height ${a.source_height} is not below the target's ${a.target_height}`;
  if (!justifiedRecent.some((c) => c.height === a.source_height && c.hash === a.source_hash)) return `source at height ${a.source_height} is not a recent justified checkpoint of this branch`;
  return undefined;
}

// docs/protocol.md §6.4 rule 11, §6.5: slashings_root over the items (checked with tx_root), then
// the rules that need no parent: at most 8 items, none on pow chains.
function checkSlashingsShape(block: Block, spec: ChainSpec): void {
  if (slashingsRoot(block.slashings) !== block.header.slashings_root) throw new BlockError("BAD_ROOT", "slashings_root mismatch");
  checkSlashingsDetached(block.slashings, spec.consensus);
}

// docs/protocol.md §6.4: the mix first (cheap: BAD_MIX), then the reveal: "" exactly when the
// producer must not reveal, else a BLS signature by the producer's record's key over
// revealMessage(chain_id, n) (BAD_REVEAL).
function checkReveal(block: Block, ctx: ValidationContext): void {
  const { header } = block;
  const { spec, parent, schedule } = ctx;
  if (header.mix !== nextMix(parent.mix, header.randao_reveal)) {
    throw new BlockError("BAD_MIX", "mix is not nextMix(parent mix, randao_reveal)");
  }
  if (!mustReveal(spec, schedule)) {
    if (header.randao_reveal !== "") throw new BlockError("BAD_REVEAL", "no validator is active: randao_reveal must be empty");
    return;
  }
  if (header.randao_reveal === "") throw new BlockError("BAD_REVEAL", "randao_reveal missing: the producer is an active validator and must reveal");
  const record = schedule.registry.get(header.producer);
  // the producer rule (checkProducer) already refused producers that are not active at the epoch
  if (!record || !blsVerify(record.bls_pubkey, revealMessage(spec.chain_id, header.height), header.randao_reveal)) {
    throw new BlockError("BAD_REVEAL", `randao_reveal does not verify under the producer's BLS key for height ${header.height}`);
  }
}

/**
 * The rules of docs/protocol.md §6.4 that need no parent, state or schedule: hash, version, height
 * above genesis, the shape of `mix` (64 hex) and `randao_reveal` ("" or 192 hex; "" on `pow`
 * chains, which carry no attestations either), transfer and attestation counts, the producer's signature over the header, `tx_root` and
 * `attestations_root`, duplicate attesters, the attestations' target heights, `slashings_root` and
 * the slashing items' count (at most 8, none on `pow` chains: `BAD_SLASHING`), and the shape of the producer rule (slot blocks carry
 * difficulty 0 and nonce 0; `slot: null` blocks meet their stated difficulty, at least
 * `fallback_difficulty` on Proof-of-Sync chains, `genesis_difficulty` being no bound on `pow` chains
 * whose expected difficulty needs the branch). A block that passes may still be invalid on its
 * parent; one that fails is invalid on every parent. The chain runs it before parking a block whose
 * parent is unknown, so a parked block costs a signature check to forge. `domains` are the chain's
 * (chainDomains(genesis hash)): a block signed for another chain fails with `BAD_SIGNATURE`.
 * @throws BlockError with the rule that failed
 */
export function validateDetached(block: Block, spec: ChainSpec, domains: ChainDomains): void {
  const { header } = block;
  const p = spec.params;
  if (blockHash(header) !== block.hash) throw new BlockError("BAD_HASH", "hash does not match the header");
  if (header.version !== PROTOCOL_VERSION) throw new BlockError("MALFORMED", `header version ${String(header.version)}, not ${PROTOCOL_VERSION}`);
  if (header.height < 1) throw new BlockError("BAD_HEIGHT", "only genesis has height 0");
  if (!HEX64.test(header.mix)) throw new BlockError("BAD_MIX", "mix is not 64 hex");
  if (header.randao_reveal !== "" && !HEX192.test(header.randao_reveal)) throw new BlockError("BAD_REVEAL", "randao_reveal is neither empty nor 192 hex");
  if (spec.consensus === "pow" && header.randao_reveal !== "") throw new BlockError("BAD_REVEAL", "pow chains carry no randao_reveal");
  if (spec.consensus === "pow" && block.attestations.length > 0) throw new BlockError("BAD_ATTESTATION", "pow chains have no validators to attest");
  if (block.txs.length > p.max_block_txs) {
    throw new BlockError("TOO_MANY_TXS", `${block.txs.length} transactions, max ${p.max_block_txs}`);
  }
  if (block.attestations.length > MAX_ATTESTATIONS_PER_BLOCK) {
    throw new BlockError("BAD_ATTESTATION", `more than ${MAX_ATTESTATIONS_PER_BLOCK} attestations`);
  }
  if (header.slot === null) {
    if (spec.consensus !== "pow" && header.difficulty < p.fallback_difficulty) {
      throw new BlockError("BAD_DIFFICULTY", `fallback difficulty ${header.difficulty} below ${p.fallback_difficulty}`);
    }
    if (!headerMeetsPow(header)) throw new BlockError("BAD_POW", "pow_hash does not meet the difficulty");
  } else {
    if (spec.consensus === "pow") throw new BlockError("WRONG_PRODUCER", "pow chains take only slot null blocks");
    if (header.difficulty !== 0) throw new BlockError("BAD_DIFFICULTY", "slot blocks carry difficulty 0");
    if (header.nonce !== 0) throw new BlockError("BAD_POW", "slot blocks carry nonce 0");
  }
  if (!verify(domains.block, header, block.signature, header.producer)) {
    throw new BlockError("BAD_SIGNATURE", "block signature does not verify for its producer");
  }
  if (toHex(merkleRootOfItems(block.txs)) !== header.tx_root) throw new BlockError("BAD_ROOT", "tx_root mismatch");
  if (toHex(merkleRootOfItems(block.attestations)) !== header.attestations_root) {
    throw new BlockError("BAD_ROOT", "attestations_root mismatch");
  }
  if (new Set(block.attestations.map((a) => a.ebid)).size !== block.attestations.length) {
    throw new BlockError("BAD_ATTESTATION", "two attestations from one EBID");
  }
  checkSlashingsShape(block, spec);
  for (const a of block.attestations) {
    if (a.target_height !== checkpointHeight(a.height, p.checkpoint_interval)) throw new BlockError("BAD_ATTESTATION", `attestation target height ${a.target_height} is not the checkpoint of height ${a.height}`);
  }
}

const HEX64 = /^[0-9a-f]{64}$/;
const HEX192 = /^[0-9a-f]{192}$/;

function checkProducer(block: Block, ctx: ValidationContext): void {
  const { header } = block;
  const { spec, parent, schedule } = ctx;
  const p = spec.params;
  if (spec.consensus === "pow") {
    if (header.slot !== null) throw new BlockError("WRONG_PRODUCER", "pow chains take only slot null blocks");
    const expected = ctx.expectedDifficulty ?? p.genesis_difficulty;
    if (header.difficulty < expected) {
      throw new BlockError("BAD_DIFFICULTY", `difficulty ${header.difficulty} below expected ${expected}`);
    }
    if (!headerMeetsPow(header)) throw new BlockError("BAD_POW", "pow_hash does not meet the difficulty");
    if (header.timestamp <= parent.timestamp) throw new BlockError("TOO_EARLY", "timestamp not after the parent's");
    return;
  }
  if (header.slot === null) {
    // PoW fallback (docs/protocol.md §6): after every slot has passed, or at once for an empty pool;
    // only by a validator active at the epoch when there is one (protocol version 2).
    if (schedule.active.length > 0 && !schedule.active.includes(header.producer)) {
      throw new BlockError("WRONG_PRODUCER", `fallback block by ${header.producer.slice(0, 12)}, not a validator active at epoch ${schedule.epoch}`);
    }
    const opens = slotOpensAt(parent.timestamp, schedule.winners.length, p);
    if (header.timestamp < opens) {
      throw new BlockError("TOO_EARLY", `fallback block at ${header.timestamp} before ${opens}`);
    }
    if (header.difficulty < p.fallback_difficulty) {
      throw new BlockError("BAD_DIFFICULTY", `fallback difficulty ${header.difficulty} below ${p.fallback_difficulty}`);
    }
    if (!headerMeetsPow(header)) throw new BlockError("BAD_POW", "pow_hash does not meet the difficulty");
    return;
  }
  if (header.difficulty !== 0) throw new BlockError("BAD_DIFFICULTY", "slot blocks carry difficulty 0");
  // A free nonce would let a producer grind its block hash (the next height's selection seed and
  // the fork-choice tie-break) at no cost; slot blocks carry no proof-of-work, so it is fixed at 0.
  if (header.nonce !== 0) throw new BlockError("BAD_POW", "slot blocks carry nonce 0");
  const expected = schedule.winners[header.slot];
  if (expected === undefined) {
    throw new BlockError("WRONG_PRODUCER", `slot ${header.slot} does not exist (${schedule.winners.length} winners)`);
  }
  if (expected !== header.producer) {
    throw new BlockError("WRONG_PRODUCER", `slot ${header.slot} belongs to ${expected.slice(0, 12)}, not the producer`);
  }
  const opens = slotOpensAt(parent.timestamp, header.slot, p);
  if (header.timestamp < opens) {
    throw new BlockError("TOO_EARLY", `timestamp ${header.timestamp} before slot ${header.slot} opens at ${opens}`);
  }
}

function checkAttestations(block: Block, ctx: ValidationContext): void {
  const n = block.header.height;
  const maxAge = ctx.spec.params.attestation_max_age;
  if (block.attestations.length > MAX_ATTESTATIONS_PER_BLOCK) {
    throw new BlockError("BAD_ATTESTATION", `more than ${MAX_ATTESTATIONS_PER_BLOCK} attestations`);
  }
  const seen = new Set<string>();
  const active = new Set(ctx.schedule.active);
  for (const a of block.attestations) {
    if (seen.has(a.ebid)) throw new BlockError("BAD_ATTESTATION", "two attestations from one EBID");
    seen.add(a.ebid);
    if (!active.has(a.ebid)) {
      throw new BlockError("BAD_ATTESTATION", `attestation by ${a.ebid.slice(0, 12)}, not a validator active at epoch ${ctx.schedule.epoch}`);
    }
    if (a.height >= n || a.height < n - maxAge) {
      throw new BlockError("BAD_ATTESTATION", `attestation height ${a.height} outside [${n - maxAge}, ${n - 1}]`);
    }
    if (ctx.ancestors.get(a.height) !== a.block_hash) {
      throw new BlockError("BAD_ATTESTATION", `attestation for a block not on this branch at height ${a.height}`);
    }
    const fault = ffgVoteFault(a, ctx.spec.params.checkpoint_interval, ctx.ancestors, ctx.justifiedRecent);
    if (fault) throw new BlockError("BAD_ATTESTATION", `attestation FFG vote: ${fault}`);
    if (!verify(ctx.domains.attest, a, a.sig, a.ebid)) throw new BlockError("BAD_ATTESTATION", "attestation signature invalid");
  }
}
