// Shared fixtures: deterministic keys, chain specs, a chain over real LevelDB in a temp dir, and
// signed blocks built the way the producer builds them.
import type { VirtualClock } from "../../src/util/clock.ts";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { ebidOf } from "../../src/consensus/signatures.ts";
import { blsPublicKeyHex, blsSecretKeyFromIkm, blsSignHex } from "../../src/consensus/bls.ts";
import { revealMessage } from "../../src/consensus/randao.ts";
import { mustReveal, type Schedule } from "../../src/chain/validation.ts";
import { slotOpensAt } from "../../src/consensus/timing.ts";
import type { Attestation, Block, SlashingItem, Tx } from "../../src/consensus/types.ts";
import { chainDomains, sign } from "../../src/consensus/signatures.ts";
import { normalizeChainSpec, type ChainSpec } from "../../src/chain/spec.ts";
import { Chain } from "../../src/chain/chain.ts";
import { ChainDb } from "../../src/storage/chainDb.ts";
import type { BlockMeta } from "../../src/storage/records.ts";
import { buildBlock } from "../../src/producer/blockBuilder.ts";
import { checkpointHeight, finalityRoot, voteSource, type Checkpoint } from "../../src/consensus/finality.ts";

export const silentLog = pino({ level: "silent" });

export interface TestKey {
  ebid: string;
  secretKey: Uint8Array;
  /** BLS12-381 secret key, derived from the ed25519 seed (KeyGen with it as key material) */
  blsSecretKey: Uint8Array;
  /** 96 hex */
  blsPubkey: string;
}

/** n deterministic keys (seed bytes 1, 2, ...), each with its BLS key. */
export function makeKeys(n: number, first = 1): TestKey[] {
  return Array.from({ length: n }, (_, i) => testKey(new Uint8Array(32).fill((first + i) % 256)));
}

/** The test key of an ed25519 seed, its BLS key derived from the seed. */
export function testKey(secretKey: Uint8Array): TestKey {
  const blsSecretKey = blsSecretKeyFromIkm(secretKey);
  return { ebid: ebidOf(secretKey), secretKey, blsSecretKey, blsPubkey: blsPublicKeyHex(blsSecretKey) };
}

/** Genesis validator entries for `keys`, each bonded with `bond` (default: the default min_bond). */
export function genesisValidators(keys: readonly TestKey[], bond = "1000"): { ebid: string; bls_pubkey: string; bond: string }[] {
  return keys.map((k) => ({ ebid: k.ebid, bls_pubkey: k.blsPubkey, bond }));
}

export const GENESIS_TS = 1_767_225_600_000;

export function makeSpec(keys: TestKey[], over: Record<string, unknown> = {}): ChainSpec {
  return normalizeChainSpec({
    chain_id: "vision-test",
    genesis_timestamp: GENESIS_TS,
    consensus: "proof-of-sync",
    params: { block_time_ms: 2000 },
    validators: genesisValidators(keys),
    alloc: {},
    ...over,
  });
}

export function tempDir(prefix = "vision-test-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * A chain on real LevelDB in a temp dir, with a controllable clock. Its writes are not fsynced
 * (`sync: false`): these chains test rules, not durability, and an fsync per block made the chain
 * and sync tests ~40% slower; nodes in tests (VisionNode, e2e) write as in production.
 * `store: "memory"` keeps the chain store in memory instead (`ChainDb.openMemory`; `dir` is then
 * still a temp dir, holding nothing of the chain); without `dir` and `store`, the environment
 * variable VISION_TEST_STORE=memory does the same (to run the chain tests over the memory store;
 * a test reading the data dir itself, as `db verify` does, still needs LevelDB).
 */
export async function openTestChain(spec: ChainSpec, dir?: string, o: { store?: "level" | "memory"; virtualClock?: VirtualClock } = {}) {
  const t = dir ? { dir, cleanup: () => undefined } : tempDir();
  const clock = { now: GENESIS_TS + 10_000_000 };
  const store = o.store ?? (dir === undefined && process.env.VISION_TEST_STORE === "memory" ? "memory" : "level");
  const db = store === "memory" ? await ChainDb.openMemory() : await ChainDb.open(join(t.dir, "chaindata"), { sync: false });
  // a VirtualClock, when given, drives the chain's time and timers (held blocks); else `clock.now`
  const chain = await Chain.open(o.virtualClock ? { spec, clock: o.virtualClock } : { spec, now: () => clock.now }, { db, logger: silentLog });
  return {
    chain,
    db,
    clock,
    dir: t.dir,
    async close() {
      await chain.close();
      await db.close();
    },
    async destroy() {
      await this.close();
      t.cleanup();
    },
  };
}

/**
 * The signed block slot `slot`'s winner would produce on `parent`, at T(slot) unless told otherwise,
 * with the producer's RANDAO reveal when it must reveal (docs/protocol.md §6.4), as the producer
 * builds it.
 */
export async function blockFor(
  chain: Chain,
  parent: BlockMeta,
  keys: TestKey[],
  slot = 0,
  opts: { timestamp?: number; attestations?: Attestation[]; signer?: TestKey; txs?: Tx[]; randaoReveal?: string; slashings?: SlashingItem[] } = {},
): Promise<Block> {
  const schedule = await chain.scheduleFor(parent);
  const producer = schedule.winners[slot]!;
  const key = opts.signer ?? keys.find((k) => k.ebid === producer)!;
  const txs = opts.txs ?? [];
  const roots = await previewRoots(chain, parent, producer, txs, opts.attestations ?? [], opts.slashings ?? []);
  return buildBlock(
    {
      randaoReveal: opts.randaoReveal ?? revealFor(chain, schedule, key),
      parent,
      producer,
      slot,
      timestamp: opts.timestamp ?? slotOpensAt(parent.timestamp, slot, chain.spec.params),
      attestations: opts.attestations ?? [],
      txs,
      slashings: opts.slashings,
      stateRoot: roots.stateRoot,
      validatorsRoot: roots.validatorsRoot,
      finalityRoot: roots.finalityRoot,
    },
    key.secretKey,
    chain.genesis.hash,
  );
}

/** The reveal `key` puts in a block with `schedule`: its BLS signature over the height when it must reveal, else "". */
export function revealFor(chain: Chain, schedule: Schedule, key: TestKey): string {
  return mustReveal(chain.spec, schedule) ? blsSignHex(key.blsSecretKey, revealMessage(chain.spec.chain_id, schedule.height)) : "";
}

/**
 * The roots a block by `producer` with `txs`, `attestations` and `slashings` on `parent` carries: `state_root`,
 * `validators_root` and `finality_root`.
 */
export async function previewRoots(
  chain: Chain,
  parent: BlockMeta,
  producer: string,
  txs: Tx[] = [],
  attestations: Attestation[] = [],
  slashings: SlashingItem[] = [],
): Promise<{ stateRoot: string; validatorsRoot: string; finalityRoot: string }> {
  const exec = await chain.previewState(parent, producer, txs, slashings);
  return { stateRoot: exec.stateRoot, validatorsRoot: exec.validatorsRoot, finalityRoot: finalityRoot(await chain.previewFinality(parent, attestations)) };
}

/** The `finality_root` of a child of `parent` carrying `attestations` (docs/protocol.md §5a). */
export async function finalityRootOn(chain: Chain, parent: BlockMeta, attestations: Attestation[] = []): Promise<string> {
  return finalityRoot(await chain.previewFinality(parent, attestations));
}

/** Extends the canonical chain by `n` primary blocks; returns them. */
export async function extend(chain: Chain, keys: TestKey[], n: number, slot = 0): Promise<Block[]> {
  const out: Block[] = [];
  for (let i = 0; i < n; i++) {
    const b = await blockFor(chain, chain.head, keys, slot);
    const r = await chain.importBlock(b);
    if (r.status !== "imported") throw new Error(`fixture block not imported: ${r.status}`);
    out.push(b);
  }
  return out;
}

/**
 * An attestation of (height, blockHash) by `key` with the FFG vote `vote`, signed for the chain of
 * `genesisHash`; a string vote is the genesis hash, for the interval-0 vote (genesis as source and
 * target: heights below the checkpoint interval), and is then the chain's genesis unless given.
 */
export function attest(key: TestKey, height: number, blockHash: string, vote: string | { source: Checkpoint; target: Checkpoint }, genesisHash?: string): Attestation {
  const v = typeof vote === "string" ? { source: { height: 0, hash: vote }, target: { height: 0, hash: vote } } : vote;
  const genesis = genesisHash ?? (typeof vote === "string" ? vote : undefined);
  if (genesis === undefined) throw new Error("attest: the genesis hash of the chain to sign for is needed");
  const body = { ebid: key.ebid, height, block_hash: blockHash, source_height: v.source.height, source_hash: v.source.hash, target_height: v.target.height, target_hash: v.target.hash };
  return { ...body, sig: sign(chainDomains(genesis).attest, body, key.secretKey) };
}

/**
 * An attestation by `key` of (height, blockHash) with the FFG vote an honest validator holding that
 * block would make (docs/protocol.md §5): target = the checkpoint of its interval on the block's
 * branch, source = the greatest justified checkpoint below it. A block hash the chain does not hold
 * gets the vote of the head's branch at that height.
 */
export async function attestOn(chain: Chain, key: TestKey, height: number, blockHash: string): Promise<Attestation> {
  const I = chain.spec.params.checkpoint_interval;
  const th = checkpointHeight(height, I);
  const meta = (await chain.getMeta(blockHash)) ?? (await chain.getCanonicalMeta(Math.min(height, chain.head.height))) ?? chain.head;
  const targetHash = th === height && meta.height === height ? meta.hash : (await chain.branchHashes(meta, th)).get(th)!;
  const target = { height: th, hash: targetHash };
  const source = th === 0 ? target : voteSource((await chain.finalityOf(meta.hash))!.justified_recent, th)!;
  return attest(key, height, blockHash, { source, target }, chain.genesis.hash);
}
