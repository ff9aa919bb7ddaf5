/**
 * Chain spec loading and the genesis block (docs/protocol.md §2).
 */
import { readFileSync } from "node:fs";
import { defaultChainParams, type ChainParams } from "../consensus/params.ts";
import type { ConsensusKind } from "../consensus/forkChoice.ts";
import type { Block, Header } from "../consensus/types.ts";
import { blockHash } from "../consensus/hashing.ts";
import { MAX_WIRE_TXS } from "../consensus/wire.ts";
import { H, hashJson, toHex } from "../consensus/encoding.ts";
import { chainSpecFileSchema, formatZodError } from "./schemas.ts";
import { ChainSpecError } from "./errors.ts";
import { accountsFromAlloc, stateRoot } from "./state.ts";

/**
 * A chain spec with every default filled in. The genesis block commits to all of it but
 * `bootnodes` (see {@link genesisCommitment}).
 */
export interface ChainSpec {
  chain_id: string;
  genesis_timestamp: number;
  consensus: ConsensusKind;
  params: ChainParams;
  initial_pool: string[];
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

/** The 64-zero producer of genesis. */
export const ZERO_HASH = "0".repeat(64);

/**
 * Validates a parsed chain spec and fills defaults. `initial_pool` and `allowlist` are sorted
 * and deduplicated so equal pools give equal genesis hashes.
 * @throws ChainSpecError naming the bad field
 */
export function normalizeChainSpec(raw: unknown): ChainSpec {
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
    initial_pool: [...new Set(s.initial_pool)].sort(),
    alloc: Object.fromEntries(Object.entries(s.alloc ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))),
    block_reward: s.block_reward ?? "50",
  };
  if (s.allowlist) spec.allowlist = [...new Set(s.allowlist)].sort();
  if (s.bootnodes?.length) spec.bootnodes = [...new Set(s.bootnodes)];
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
 * The unsigned genesis block: `parent_hash` = hex(H(JCS(genesisCommitment(spec)))), `state_root` =
 * root of alloc.
 */
export function genesisBlock(spec: ChainSpec): Block {
  const header: Header = {
    version: 1,
    height: 0,
    parent_hash: toHex(hashJson(genesisCommitment(spec))),
    timestamp: spec.genesis_timestamp,
    producer: ZERO_HASH,
    slot: null,
    difficulty: 0,
    nonce: 0,
    tx_root: EMPTY_ROOT,
    attestations_root: EMPTY_ROOT,
    state_root: stateRoot(accountsFromAlloc(spec.alloc)),
  };
  return { hash: blockHash(header), header, signature: "", txs: [], attestations: [] };
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
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
