/**
 * Chain spec loading and the genesis block (docs/protocol.md §2).
 */
import { readFileSync } from "node:fs";
import { defaultChainParams, MAX_CHECKPOINT_INTERVAL, type ChainParams } from "../consensus/params.ts";
import type { ConsensusKind } from "../consensus/forkChoice.ts";
import type { Block, Header } from "../consensus/types.ts";
import { blockHash } from "../consensus/hashing.ts";
import { MAX_WIRE_TXS } from "../consensus/wire.ts";
import { H, hashJson, toHex } from "../consensus/encoding.ts";
import { freezeDeep, ImmutableMemo, isImmutable } from "../consensus/immutable.ts";
import { chainSpecFileSchema, formatZodError } from "./schemas.ts";
import { ChainSpecError } from "./errors.ts";
import { accountsFromAlloc, stateRoot } from "./state.ts";
import { isValidBlsPublicKey } from "../consensus/bls.ts";
import { genesisMix } from "../consensus/randao.ts";
import { validatorsRoot, type ValidatorRecord } from "../consensus/validators.ts";

/**
 * A chain spec with every default filled in. The genesis block commits to all of it but
 * `bootnodes` (see {@link genesisCommitment}).
 */
export interface ChainSpec {
  chain_id: string;
  genesis_timestamp: number;
  consensus: ConsensusKind;
  params: ChainParams;
  /** genesis validators, ascending by EBID (docs/protocol.md §2.1) */
  validators: GenesisValidator[];
  allowlist?: string[];
  alloc: Record<string, string>;
  block_reward: string;
  /**
   * ws://host:port P2P addresses (at most 32) that a node started without configured peers dials
   * (docs/protocol.md §2). Left out of the genesis commitment: listing, adding or changing bootnodes
   * never changes the genesis hash.
   */
  bootnodes?: string[];
}

/** A validator listed in the chain spec: active from epoch 0 with a bond minted at genesis. */
export interface GenesisValidator {
  ebid: string;
  /** 96 hex: compressed BLS12-381 G1 public key */
  bls_pubkey: string;
  /** decimal string of base units, at least `min_bond` */
  bond: string;
}

/** The 64-zero producer of genesis. */
export const ZERO_HASH = "0".repeat(64);

/**
 * Validates a parsed chain spec and fills defaults. `validators` are sorted by EBID and `allowlist`
 * sorted and deduplicated, so equal specs give equal genesis hashes.
 * @throws ChainSpecError naming the bad field
 */
export function normalizeChainSpec(raw: unknown): ChainSpec {
  if (raw !== null && typeof raw === "object" && "initial_pool" in raw) {
    throw new ChainSpecError("invalid chain spec: initial_pool was replaced by validators in protocol version 2 (entries {ebid, bls_pubkey, bond})");
  }
  const r = chainSpecFileSchema.safeParse(raw);
  if (!r.success) throw new ChainSpecError(`invalid chain spec: ${formatZodError(r.error)}`);
  const s = r.data;
  const params = { ...defaultChainParams, ...stripUndefined(s.params ?? {}) } as ChainParams;
  checkParams(params);
  const spec: ChainSpec = {
    chain_id: s.chain_id,
    genesis_timestamp: s.genesis_timestamp,
    consensus: s.consensus,
    params,
    validators: [...(s.validators ?? [])].sort((a, b) => (a.ebid < b.ebid ? -1 : a.ebid > b.ebid ? 1 : 0)),
    alloc: Object.fromEntries(Object.entries(s.alloc ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))),
    block_reward: s.block_reward ?? "50",
  };
  if (s.allowlist) spec.allowlist = [...new Set(s.allowlist)].sort();
  if (s.bootnodes?.length) spec.bootnodes = [...new Set(s.bootnodes)];
  checkValidators(spec);
  return spec;
}

/**
 * Reads and validates a chain spec JSON file.
 * @throws ChainSpecError when the file is unreadable, not JSON, or invalid
 */
export function loadChainSpec(path: string): ChainSpec {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ChainSpecError(`cannot read chain spec ${path}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ChainSpecError(`chain spec ${path} is not JSON: ${(e as Error).message}`);
  }
  return normalizeChainSpec(raw);
}

/**
 * What the genesis block commits to (docs/protocol.md §2): the normalized spec without `bootnodes`,
 * which are network hints, not chain rules.
 */
export function genesisCommitment(spec: ChainSpec): Omit<ChainSpec, "bootnodes"> {
  const { bootnodes: _bootnodes, ...committed } = spec;
  return committed;
}

/**
 * The genesis validators' records (docs/protocol.md §2.3): `{ebid, bls_pubkey, bond,
 * activation_epoch: 0, exit_epoch: null, slashed: false}`, ascending by EBID.
 */
export function genesisValidatorRecords(spec: ChainSpec): ValidatorRecord[] {
  return spec.validators.map((v) => ({ ebid: v.ebid, bls_pubkey: v.bls_pubkey, bond: BigInt(v.bond), activation_epoch: 0, exit_epoch: null, slashed: false }));
}

/**
 * The unsigned genesis block (docs/protocol.md §2.3): `parent_hash` = spec_hash =
 * hex(H(JCS(genesisCommitment(spec)))), `state_root` = root of alloc, `validators_root` = root of
 * the genesis validators' records, `mix` = genesisMix(spec_hash), `randao_reveal` "". For a spec
 * frozen by `freezeDeep` the same frozen block on every call.
 */
export function genesisBlock(spec: ChainSpec): Block {
  if (!isImmutable(spec)) return buildGenesis(spec);
  return genesisMemo.get(spec, () => freezeDeep(buildGenesis(spec)));
}

// The genesis block of a spec frozen by `freezeDeep` (a simulation's one spec for every node), built
// once and frozen: its validators_root and state_root are O(validators + accounts) to compute.
const genesisMemo = new ImmutableMemo<Block>();

function buildGenesis(spec: ChainSpec): Block {
  const specHash = toHex(hashJson(genesisCommitment(spec)));
  const header: Header = {
    version: 3,
    height: 0,
    parent_hash: specHash,
    timestamp: spec.genesis_timestamp,
    producer: ZERO_HASH,
    slot: null,
    difficulty: 0,
    nonce: 0,
    tx_root: EMPTY_ROOT,
    attestations_root: EMPTY_ROOT,
    state_root: stateRoot(accountsFromAlloc(spec.alloc)),
    validators_root: validatorsRoot(genesisValidatorRecords(spec)),
    mix: genesisMix(specHash),
    randao_reveal: "",
    // it cannot commit to a finality state that names its own hash (docs/protocol.md §2.3, §5a)
    finality_root: ZERO_HASH,
    slashings_root: EMPTY_ROOT,
  };
  return { hash: blockHash(header), header, signature: "", txs: [], attestations: [], slashings: [] };
}

/** H("") as hex: the root of an empty list. */
export const EMPTY_ROOT = toHex(H(new Uint8Array(0)));

function checkParams(p: ChainParams): void {
  const fail = (m: string) => {
    throw new ChainSpecError(`invalid chain spec: params.${m}`);
  };
  if (p.block_time_ms < 100) fail("block_time_ms must be >= 100");
  if (p.mining_tick_ms < 10) fail("mining_tick_ms must be >= 10");
  if (p.claim_timeout_ms < 50) fail("claim_timeout_ms must be >= 50");
  if (p.backup_slots > 64) fail("backup_slots must be <= 64");
  if (p.jitter_max_ms < p.jitter_min_ms) fail("jitter_max_ms must be >= jitter_min_ms");
  if (p.pool_window < 1) fail("pool_window must be >= 1");
  if (p.attestation_max_age < 1) fail("attestation_max_age must be >= 1");
  if (p.max_block_txs > MAX_WIRE_TXS) fail(`max_block_txs must be <= ${MAX_WIRE_TXS}`);
  if (p.difficulty_adjustment_interval < 1) fail("difficulty_adjustment_interval must be >= 1");
  if (p.min_difficulty > p.max_difficulty) fail("min_difficulty must be <= max_difficulty");
  if (p.max_difficulty > 64 || p.fallback_difficulty > 64 || p.genesis_difficulty > 64) fail("difficulties must be <= 64");
  if (p.target_block_time_ms < 1) fail("target_block_time_ms must be >= 1");
  if (p.epoch_length < 1) fail("epoch_length must be >= 1");
  if (p.min_bond < 1) fail("min_bond must be >= 1");
  // >= 2: the pool of epoch e must be fixed by the blocks of epoch e-2 (docs/protocol.md §5).
  if (p.activation_delay_epochs < 2) fail("activation_delay_epochs must be >= 2");
  if (p.unbonding_epochs < 1) fail("unbonding_epochs must be >= 1");
  if (p.max_validators < 1 || p.max_validators > 10_000) fail("max_validators must be 1..10000");
  // >= attestation_max_age: a vote counts only while its target is the current or the previous
  // interval's checkpoint (docs/protocol.md §5a, the pruning of tallies).
  if (p.checkpoint_interval < p.attestation_max_age) fail(`checkpoint_interval must be >= attestation_max_age (${p.attestation_max_age})`);
  if (p.checkpoint_interval > MAX_CHECKPOINT_INTERVAL) fail(`checkpoint_interval must be <= ${MAX_CHECKPOINT_INTERVAL}`);
}

function checkValidators(spec: ChainSpec): void {
  const fail = (m: string) => {
    throw new ChainSpecError(`invalid chain spec: validators: ${m}`);
  };
  const vs = spec.validators;
  if (spec.consensus === "pow" && vs.length > 0) fail("pow chains have no validators");
  if (vs.length > spec.params.max_validators) fail(`${vs.length} entries, more than params.max_validators (${spec.params.max_validators})`);
  const allow = spec.allowlist ? new Set(spec.allowlist) : undefined;
  const ebids = new Set<string>();
  const keys = new Set<string>();
  for (const v of vs) {
    const who = v.ebid.slice(0, 12);
    if (ebids.has(v.ebid)) fail(`${who}… is listed twice`);
    if (keys.has(v.bls_pubkey)) fail(`${who}…: bls_pubkey is another validator's`);
    ebids.add(v.ebid);
    keys.add(v.bls_pubkey);
    if (BigInt(v.bond) < BigInt(spec.params.min_bond)) fail(`${who}…: bond ${v.bond} below params.min_bond (${spec.params.min_bond})`);
    if (BigInt(v.bond) >= 2n ** 128n) fail(`${who}…: bond must be below 2^128`);
    if (!isValidBlsPublicKey(v.bls_pubkey)) fail(`${who}…: bls_pubkey is not a valid BLS12-381 G1 public key`);
    if (allow && !allow.has(v.ebid)) fail(`${who}… is not in the allowlist`);
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
