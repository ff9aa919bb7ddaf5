/**
 * The chain: imports blocks (fully validated), keeps the head by fork choice (docs/protocol.md §7),
 * holds blocks from the near future until due, parks blocks whose parent is unknown, and persists
 * each import as one atomic LevelDB batch. Imports are serialized. What it keeps in memory for later
 * is bounded by node policy (docs/protocol.md §6.4: hold horizon, held and parked budgets per
 * source, and the blocks waiting for import), and side blocks forking past the fork horizon are
 * refused outside sync (§7).
 */
import { EventEmitter } from "node:events";
import PQueue from "p-queue";
import { boundedLru } from "../util/lru.ts";
import type { Logger } from "pino";
import type { Block } from "../consensus/types.ts";
import { blockWeight, compareTips } from "../consensus/forkChoice.ts";
import { epochSalt, pickWinnerWithRerolls } from "../consensus/selection.ts";
import { seedFromMix } from "../consensus/randao.ts";
import { activeAt, epochAt, finalityFloorWindow, livenessWindow, poolForEpoch, type RegistryReader } from "../consensus/validators.ts";
import { retarget } from "../consensus/difficulty.ts";
import type { ChainDb } from "../storage/chainDb.ts";
import type { BlockMeta, ChainWrite, Equivocation, EvidenceRecord, ForkChoiceCheckpoints, ProducerTotals, StoredBlockChanges, StoredCheckpointBase } from "../storage/records.ts";
import { blockHash } from "../consensus/hashing.ts";
import { BlockError, ChainSpecError } from "./errors.ts";
import { genesisBlock, genesisValidatorRecords, type ChainSpec } from "./spec.ts";
import { chainDomains, type ChainDomains } from "../consensus/signatures.ts";
import { PROTOCOL_RELEASES, PROTOCOL_VERSION } from "../version.ts";
import { attestationAncestorsFrom, validateBlock, validateDetached, type Schedule } from "./validation.ts";
import { applyFinality, finalityRoot, genesisFinality, type Checkpoint, type FfgVote, type FinalityState } from "../consensus/finality.ts";
import { executeBlock, type Execution } from "./execute.ts";
import { accountsFromAlloc, encodeChanges, type Account, type StateView } from "./state.ts";
import { HeadState, type HeadMove, type MovedBlock } from "./headState.ts";
import type { SlashingItem, Tx } from "../consensus/types.ts";
import { txAddresses, txHash, txRulesOf, type TxRules } from "./tx.ts";
import { encodeRecord, encodeValidatorChanges, type RegistryView } from "./registry.ts";
import { systemClock, type Clock, type Timer } from "../util/clock.ts";

/** Result of offering a block to the chain. */
export type ImportOutcome =
  | { status: "imported"; meta: BlockMeta; newHead: boolean; reorgDepth: number }
  | { status: "known"; meta: BlockMeta }
  | { status: "held"; dueAt: number }
  | { status: "unknown-parent"; parentHash: string };

/** Emitted when the head changes. */
export interface HeadEvent {
  head: BlockMeta;
  previous: BlockMeta;
  /** blocks of the old branch that left the canonical chain (0 for a plain extension) */
  reorgDepth: number;
  /** hashes of the blocks that left the canonical chain, newest first */
  orphaned: string[];
}

/** Where an offered block came from (docs/protocol.md §6.4, §7 node policy). */
export interface ImportSource {
  /** who sent it, for the per-source bounds on held and parked blocks: a peer's id, `"api"`, `"self"` */
  source?: string;
  /**
   * true for blocks of a range sync from a peer that claims a better chain: such a branch arrives
   * block by block from the fork point, so the fork horizon does not apply to it
   */
  sync?: boolean;
}

/** Node policy: a block due (timestamp - max_future_drift_ms) more than this many block times ahead is refused. */
export const HOLD_HORIZON_BLOCKS = 4;
/** Node policy: a side block whose parent is more than this many blocks below the head is refused unless it wins fork choice at once or comes from a sync. */
export const FORK_HORIZON_BLOCKS = 32;
/** Node policy: bytes (JSON wire form) of all parked blocks. */
export const MAX_PARKED_BYTES = 16 * 1024 * 1024;
/** Node policy: bytes (JSON wire form) of the blocks parked from one source (a peer, or the API). */
export const MAX_PARKED_BYTES_PER_SOURCE = 2 * 1024 * 1024;
/**
 * Node policy: transfers and attestations (one at least per block) of the blocks from peers and the
 * API waiting for import at once; past it an offered block is refused (`BUSY`). About 600 bytes of
 * heap each once parsed, so about 5 MiB: a flood of full blocks must not queue up in memory faster
 * than they are checked.
 */
export const MAX_QUEUED_BLOCK_ITEMS = 8192;

/** Chain tuning. */
export interface ChainOptions {
  spec: ChainSpec;
  /** ms since the epoch; injected so tests can drive time (default `clock.now`) */
  now?: () => number;
  /** timers (held blocks) and, unless `now` is given, the time; default `systemClock` */
  clock?: Clock;
  /** blocks from the future held at most (default 64) */
  maxHeldBlocks?: number;
  /** blocks from the future held at most per source (default 16) */
  maxHeldPerSource?: number;
  /** ms past `now` a block may be due and still be held (default HOLD_HORIZON_BLOCKS block times) */
  holdHorizonMs?: number;
  /** blocks with an unknown parent parked at most (default 512) */
  maxParked?: number;
  /** bytes of parked blocks at most, in all (default MAX_PARKED_BYTES) and per source (MAX_PARKED_BYTES_PER_SOURCE) */
  maxParkedBytes?: number;
  maxParkedBytesPerSource?: number;
  /** blocks below the head a side block's parent may be (default FORK_HORIZON_BLOCKS) */
  forkHorizon?: number;
  /** transfers and attestations of the blocks from peers and the API waiting for import (default MAX_QUEUED_BLOCK_ITEMS) */
  maxQueuedItems?: number;
}

interface Parked {
  block: Block;
  source: string;
  bytes: number;
}

/** Collaborators of the chain. */
export interface ChainModules {
  db: ChainDb;
  logger: Logger;
}

interface ChainEvents {
  head: [HeadEvent];
  /** a block was stored (any branch); `seconds` from the start of its import to stored */
  imported: [BlockMeta, Block, number];
  /** a block's RANDAO reveal passed its BLS verification (docs/protocol.md §6.4); counted by the metrics */
  revealVerified: [];
  /** a stored block made an equivocation record (docs/protocol.md §6.4): `producer` signed two blocks at `height` */
  equivocation: [{ producer: string; height: number }];
}

/** Blockchain state over a ChainDb. Construct with `Chain.open`. */
/** States kept for `/data/state_at` pages: one per checkpoint it serves (sync/stateAt.ts STATE_AT_RECENT_CHECKPOINTS + 1). */
const STATE_AT_VIEWS = 5;

export class Chain extends EventEmitter<ChainEvents> {
  readonly spec: ChainSpec;
  readonly genesis: Block;
  /** the signing domains bound to this chain's genesis hash (docs/protocol.md §3.3) */
  readonly domains: ChainDomains;
  readonly salt: Uint8Array;
  /** ms when this node first held the current head as its tip */
  headSeenAt: number;
  private _head: BlockMeta;
  private readonly state: HeadState;
  private readonly queue = new PQueue({ concurrency: 1 });
  // Validation and fork choice read the last pool_window/attestation_max_age metas and short
  // branches; older ones come from LevelDB. 4096 metas (about 3.5 MiB, two hours of 2 s blocks) rather
  // than 16384 (about 14 MiB once a node has run that long).
  private readonly metas = boundedLru<string, BlockMeta>(4096);
  private readonly schedules = boundedLru<string, Schedule>(1024);
  // pool(e) by `${e}!${hash of the branch's block at height (e-1)*epoch_length - 1, or genesis}`
  private readonly pools = boundedLru<string, string[]>(256);
  // the validator records after each epoch's anchor block (see epochAnchor), by its hash
  private readonly anchorRegistries = boundedLru<string, RegistryReader>(64);
  // epochAnchor(e, block) by `${e}!${block hash}`, for blocks above the anchor
  private readonly anchors = boundedLru<string, BlockMeta>(4096);
  private readonly difficulties = boundedLru<string, number>(4096);
  // validators_root after a block, by block hash (a block that changes no record keeps its parent's).
  private readonly validatorRoots = boundedLru<string, string>(4096);
  // the finality state after each block (docs/protocol.md §5a), by block hash; stored as `f!<hash>`
  private readonly finalities = boundedLru<string, FinalityState>(1024);
  // A(t): the validators active at a checkpoint's epoch, by the checkpoint's hash (docs/protocol.md §5a)
  private readonly activeByTarget = boundedLru<string, readonly string[]>(256);
  private headFinality: FinalityState;
  // the store's finalized and justified checkpoints (docs/protocol.md §7), persisted as `fc`
  private checkpoints: ForkChoiceCheckpoints;
  private readonly held = new Map<string, { block: Block; timer: Timer; source: string; dueAt: number }>();
  private readonly parked = new Map<string, Parked>();
  private readonly parkedBySource = new Map<string, number>();
  private parkedBytes = 0;
  // transfers and attestations (one at least per block) of the bounded blocks queued or importing
  private queuedItems = 0;
  private closed = false;
  private importStarted = 0;
  private storing: string | undefined;
  private _txRules: TxRules | undefined;
  private _base: StoredCheckpointBase | undefined;
  // the states after the checkpoints /data/state_at last read (at most STATE_AT_VIEWS), kept while the head stays
  private readonly stateAtViews = new Map<string, Promise<StateView>>();

  private constructor(
    private readonly opts: Required<ChainOptions>,
    private readonly db: ChainDb,
    private readonly log: Logger,
    head: BlockMeta,
    state: HeadState,
    headFinality: FinalityState,
    checkpoints: ForkChoiceCheckpoints,
  ) {
    super();
    this.headFinality = headFinality;
    this.checkpoints = checkpoints;
    this.state = state;
    this.spec = opts.spec;
    this.genesis = genesisBlock(opts.spec);
    this.domains = chainDomains(this.genesis.hash);
    this.salt = epochSalt(opts.spec.chain_id);
    this._head = head;
    this.headSeenAt = opts.now();
  }

  /**
   * Refuses a database written by a node of an older protocol version (its stored genesis, another
   * chain than `genesisHash`, has a header `version` below PROTOCOL_VERSION), with one line naming
   * the version. Reads only: the node calls it before it writes anything in the data dir.
   * @throws ChainSpecError `data dir holds a protocol version 1 chain (vision-node 0.2.x); ...`
   */
  static async refuseOlderProtocol(db: ChainDb, genesisHash: string): Promise<void> {
    const stored = await db.getGenesis();
    if (stored === undefined || stored === genesisHash) return;
    const version = (await db.getBlock(stored))?.header.version as number | undefined;
    if (version === undefined || version >= PROTOCOL_VERSION) return;
    const release = PROTOCOL_RELEASES[version] ? ` (${PROTOCOL_RELEASES[version]})` : "";
    throw new ChainSpecError(`data dir holds a protocol version ${version} chain${release}; this node runs protocol version ${PROTOCOL_VERSION}: use another --data-dir or remove it`);
  }

  /**
   * Opens the chain on `db`, writing genesis on first use and resuming from the stored head.
   * @throws ChainSpecError when the data dir holds another chain (an older protocol's: see refuseOlderProtocol)
   */
  static async open(opts: ChainOptions, modules: ChainModules): Promise<Chain> {
    const clock = opts.clock ?? systemClock;
    const full: Required<ChainOptions> = {
      maxHeldBlocks: 64,
      maxHeldPerSource: 16,
      holdHorizonMs: HOLD_HORIZON_BLOCKS * opts.spec.params.block_time_ms,
      maxParked: 512,
      maxParkedBytes: MAX_PARKED_BYTES,
      maxParkedBytesPerSource: MAX_PARKED_BYTES_PER_SOURCE,
      forkHorizon: FORK_HORIZON_BLOCKS,
      maxQueuedItems: MAX_QUEUED_BLOCK_ITEMS,
      ...opts,
      clock,
      now: opts.now ?? (() => clock.now()),
    };
    const genesis = genesisBlock(opts.spec);
    await Chain.refuseOlderProtocol(modules.db, genesis.hash);
    const stored = await modules.db.getGenesis();
    if (stored !== undefined && stored !== genesis.hash) {
      throw new ChainSpecError(`data dir holds chain with genesis ${stored}, not ${genesis.hash}: use another --data-dir`);
    }
    if (stored === undefined) {
      const meta = metaOf(genesis, 0n, full.now());
      meta.seen_at = null;
      const alloc = accountsFromAlloc(opts.spec.alloc);
      await modules.db.write([
        { kind: "block", block: genesis },
        { kind: "meta", meta },
        { kind: "canonical", height: 0, hash: genesis.hash },
        { kind: "head", hash: genesis.hash },
        { kind: "finality", hash: genesis.hash, state: genesisFinality(genesis.hash) },
        { kind: "changes", hash: genesis.hash, record: { producer: genesis.header.producer, earned: "0", changes: [], validators: [] } },
        ...[...alloc].map(([address, a]) => ({ kind: "account" as const, address, account: [a.balance.toString(), a.nonce, a.index] as [string, number, number] })),
        ...genesisValidatorRecords(opts.spec).map((r) => ({ kind: "validator" as const, ebid: r.ebid, record: encodeRecord(r) })),
      ]);
      await modules.db.putGenesis(genesis.hash);
    }
    const headHash = (await modules.db.getHead()) ?? genesis.hash;
    const head = await modules.db.getMeta(headHash);
    if (!head) throw new ChainSpecError(`data dir is damaged: head ${headHash} has no metadata`);
    if ((await modules.db.getChanges(head.hash)) === undefined) {
      throw new ChainSpecError("data dir was written by an older vision-node without account state: remove it and sync again");
    }
    const state = await HeadState.load(modules.db);
    const headFinality = head.height === 0 ? genesisFinality(genesis.hash) : await modules.db.getFinality(head.hash);
    if (!headFinality) throw new ChainSpecError(`data dir is damaged: head ${head.hash} has no finality state`);
    // Written whenever they move; until the first move they are the head's (genesis's at first).
    const checkpoints = (await modules.db.getForkChoice()) ?? { finalized: headFinality.finalized, justified: headFinality.justified };
    const chain = new Chain(full, modules.db, modules.logger, head, state, headFinality, checkpoints);
    chain._base = await modules.db.getCheckpointBase();
    chain.log.info({ height: head.height, hash: head.hash, genesis: genesis.hash, base: chain._base?.checkpoint.height }, "Chain opened");
    return chain;
  }

  /**
   * The checkpoint this chain started from and the lowest height above genesis it holds a block at
   * (docs/protocol.md §9.7), or undefined for a chain replayed from genesis. No block between
   * genesis and `window_from` is held.
   */
  get base(): StoredCheckpointBase | undefined {
    return this._base;
  }

  /**
   * The accounts after the canonical block `meta`, in address order, after `after` (exclusive), at
   * most `limit` (docs/protocol.md §9.7, `/data/state_at`): the head's stored accounts with the
   * branch's changes down to `meta` undone, so O(limit + blocks between `meta` and the head). Read
   * again when the head moves meanwhile, so the page is one state's.
   */
  async accountsAt(meta: BlockMeta, after: string | undefined, limit: number): Promise<{ accounts: [string, string, number, number][]; done: boolean }> {
    for (;;) {
      const view = await this.keptStateAt(meta);
      const accounts: [string, string, number, number][] = [];
      let done = true;
      for await (const [address, [balance, nonce, index]] of this.db.accounts(after)) {
        const d = view.diff.get(address);
        if (d === null || (d === undefined && index >= view.size)) continue;
        if (accounts.length >= limit) {
          done = false;
          break;
        }
        accounts.push(d ? [address, d.balance.toString(), d.nonce, d.index] : [address, balance, nonce, index]);
      }
      if (view.current) return { accounts, done };
    }
  }

  /** The validator records after the canonical block `meta` (`/data/state_at`), from the same kept views as `accountsAt`. */
  async recordsAt(meta: BlockMeta): Promise<RegistryView> {
    return (await this.keptStateAt(meta)).registry;
  }

  // The pages of state_at fetches read the same few states: a view per checkpoint (at most
  // STATE_AT_VIEWS, the oldest dropped), kept while the head stays, so requests that alternate
  // between checkpoints do not each undo the blocks above them again.
  // Concurrent pages of one checkpoint wait for the one build.
  private async keptStateAt(meta: BlockMeta): Promise<StateView> {
    const kept = this.stateAtViews.get(meta.hash);
    if (kept) {
      const view = await kept.catch(() => undefined);
      if (view?.current) return view;
      if (this.stateAtViews.get(meta.hash) !== kept) return this.keptStateAt(meta); // rebuilt meanwhile
    }
    const building = this.stateAt(meta);
    this.stateAtViews.delete(meta.hash);
    this.stateAtViews.set(meta.hash, building);
    for (const k of this.stateAtViews.keys()) if (this.stateAtViews.size > STATE_AT_VIEWS) this.stateAtViews.delete(k);
    building.catch(() => {
      if (this.stateAtViews.get(meta.hash) === building) this.stateAtViews.delete(meta.hash);
    });
    return building;
  }

  /** The current tip. */
  get head(): BlockMeta {
    return this._head;
  }

  /** The greatest-height justified checkpoint of the head's branch (docs/protocol.md §5a). */
  get justified(): Checkpoint {
    return this.headFinality.justified;
  }

  /** The greatest-height finalized checkpoint of the head's branch (docs/protocol.md §5a). */
  get finalized(): Checkpoint {
    return this.headFinality.finalized;
  }

  /**
   * The chain's finalized checkpoint (docs/protocol.md §7): the greatest-height `finalized` in the
   * finality state of any stored block. No block off its branch is imported.
   */
  get finalizedCheckpoint(): Checkpoint {
    return this.checkpoints.finalized;
  }

  /**
   * The chain's justified checkpoint (docs/protocol.md §7): the greatest-height `justified` in the
   * finality state of a stored block descending from the finalized checkpoint (ties: the lower
   * hash). The head always descends from it.
   */
  get justifiedCheckpoint(): Checkpoint {
    return this.checkpoints.justified;
  }

  /** The finality state after the head (docs/protocol.md §5a). */
  get headFinalityState(): FinalityState {
    return this.headFinality;
  }

  /** The finality state after a stored block (docs/protocol.md §5a), or undefined for a block not stored. */
  async finalityOf(hash: string): Promise<FinalityState | undefined> {
    const cached = this.finalities.get(hash);
    if (cached) return cached;
    const f = hash === this.genesis.hash ? genesisFinality(hash) : await this.db.getFinality(hash);
    if (f) this.finalities.set(hash, f);
    return f;
  }

  /**
   * The finality state after a child of `parent` carrying `attestations` (docs/protocol.md §5a):
   * what its header's `finality_root` commits to. The attestations must be valid on that branch.
   */
  async previewFinality(parent: BlockMeta, attestations: readonly FfgVote[]): Promise<FinalityState> {
    const parentF = await this.finalityOf(parent.hash);
    if (!parentF) throw new Error(`no finality state for ${parent.hash}`);
    const targets = new Map<string, Checkpoint>();
    for (const t of parentF.votes) targets.set(t.target_hash, { height: t.target_height, hash: t.target_hash });
    for (const a of attestations) if (a.source_height !== a.target_height) targets.set(a.target_hash, { height: a.target_height, hash: a.target_hash });
    const active = new Map<string, readonly string[]>();
    for (const t of targets.values()) active.set(t.hash, await this.activeForCheckpoint(t));
    // Votes by validators slashed in the records after the parent count for nothing (docs/protocol.md §5a).
    const slashed = new Set<string>();
    if (attestations.length > 0) {
      const records = await this.registryAfter(parent);
      for (const a of attestations) if (records.get(a.ebid)?.slashed) slashed.add(a.ebid);
    }
    return applyFinality(parentF, attestations, { interval: this.spec.params.checkpoint_interval, height: parent.height + 1, activeAt: (t) => active.get(t.hash) ?? [], slashed });
  }

  // A(t) (docs/protocol.md §5a): the validators active at epochAt(t.height) in the records after that
  // epoch's anchor on t's branch, the records the pool of that epoch reads (§5).
  private async activeForCheckpoint(t: Checkpoint): Promise<readonly string[]> {
    const cached = this.activeByTarget.get(t.hash);
    if (cached) return cached;
    const meta = await this.getMeta(t.hash);
    // Not stored: no valid block votes for it (import checks targets first), so nobody counts for it.
    if (!meta || meta.height !== t.height) return [];
    const epoch = epochAt(t.height, this.spec.params.epoch_length);
    const registry = await this.anchorRegistry(await this.epochAnchor(epoch, meta));
    const active = activeAt(registry, epoch);
    this.activeByTarget.set(t.hash, active);
    return active;
  }

  /** Metadata of any stored block, or undefined. */
  async getMeta(hash: string): Promise<BlockMeta | undefined> {
    const cached = this.metas.get(hash);
    if (cached) return cached;
    const m = await this.db.getMeta(hash);
    if (m) this.metas.set(hash, m);
    return m;
  }

  /** A stored block's changes record (`d!`: its account and validator record changes), or undefined. */
  changesOf(hash: string): Promise<StoredBlockChanges | undefined> {
    return this.db.getChanges(hash);
  }

  /** A stored block in wire form, or undefined. */
  getBlock(hash: string): Promise<Block | undefined> {
    return this.db.getBlock(hash);
  }

  /**
   * True while a valid child of `parentHash` is being written (it has its `seen_at`; fork choice has
   * not run yet): a miner must not start a job on the height that block fills.
   */
  isStoringChildOf(parentHash: string): boolean {
    return this.storing === parentHash;
  }

  /** Metadata of the canonical block at `height`, or undefined above the tip. */
  async getCanonicalMeta(height: number): Promise<BlockMeta | undefined> {
    if (height > this._head.height || height < 0) return undefined;
    const hash = await this.db.getCanonicalHash(height);
    return hash ? this.getMeta(hash) : undefined;
  }

  /** True when the block is stored (on any branch). */
  async has(hash: string): Promise<boolean> {
    return (await this.getMeta(hash)) !== undefined;
  }

  /**
   * Block hashes of the branch ending at `tip`, by height, for heights in [from, tip.height].
   * Walks parent links, so it is exact on side branches too.
   */
  async branchHashes(tip: BlockMeta, from: number): Promise<Map<number, string>> {
    const out = new Map<number, string>();
    let m: BlockMeta | undefined = tip;
    while (m && m.height >= Math.max(0, from)) {
      out.set(m.height, m.hash);
      if (m.height === 0) break;
      m = await this.getMeta(m.parent_hash);
    }
    return out;
  }

  /**
   * The validator records after `meta` (on its branch): who is bonded, their BLS keys and epochs
   * (docs/protocol.md §5). The same view walk as validation: the head's records with the branch's
   * changes undone and redone, O(blocks between them), never a copy of the registry.
   */
  async registryAfter(meta: BlockMeta): Promise<RegistryView> {
    return (await this.stateAt(meta)).registry;
  }

  /**
   * `validators_root` of the records after `meta` (on its branch): cached per block, the head's
   * kept with the head's records.
   */
  async validatorsRootAfter(meta: BlockMeta): Promise<string> {
    const cached = this.validatorRoots.get(meta.hash);
    if (cached !== undefined) return cached;
    const root = (await this.stateAt(meta)).validatorsRoot();
    this.validatorRoots.set(meta.hash, root);
    return root;
  }

  /**
   * The producer schedule for the child of `parent` (docs/protocol.md §4-§5): seed =
   * seedFromMix(parent.mix, n, epoch_salt); pool = poolForEpoch(e, records, live) where records are
   * those after the epoch's anchor (epochAnchor: the branch's last block of epoch e-2, which agree
   * with the records after the parent on who is active at e and their BLS keys) and live = the
   * producers and attesters of the branch's blocks in livenessWindow(e); winners; and what
   * validation needs besides: those records and the EBIDs active at e.
   * `parent` need not be stored (its ancestors must be): a candidate block's meta will do.
   */
  async scheduleFor(parent: BlockMeta): Promise<Schedule> {
    const cached = this.schedules.get(parent.hash);
    if (cached) return cached;
    const p = this.spec.params;
    const height = parent.height + 1;
    const epoch = epochAt(height, p.epoch_length);
    const anchor = await this.epochAnchor(epoch, parent);
    const registry = await this.anchorRegistry(anchor);
    const pool = await this.poolFor(epoch, anchor, registry);
    const seed = seedFromMix(parent.mix, height, this.salt);
    const schedule: Schedule = { height, epoch, seed, pool, winners: pickWinnerWithRerolls(seed, pool, p.backup_slots), registry, active: activeAt(registry, epoch) };
    this.schedules.set(parent.hash, schedule);
    return schedule;
  }

  // The branch's block at height (e-1)*epoch_length - 1 (genesis for epochs 0 and 1): the last
  // block of epoch e-2, where every input of epoch e's schedule but the seed is fixed (docs/protocol.md
  // §5). The records after it answer "active at e" and give those validators' BLS keys exactly as the
  // records after any later block of the branch would: a bond or unbond included in epoch e-1 or e
  // takes effect at e+1 at the earliest, and a withdraw deletes only a record inactive since before e.
  // Reading them here, not after the parent, is what lets a candidate block that is not stored (a
  // producer's, or a test's variant) be asked about the next height.
  // Every block of the branch between the anchor and the parent has the same anchor for epoch e, so
  // the walk stops at the first one whose anchor is cached: the parent's parent's, for a node that
  // follows its head, so a height costs O(1) reads, not O(epoch_length) (O(height) in epochs 0 and 1).
  private async epochAnchor(epoch: number, parent: BlockMeta): Promise<BlockMeta> {
    const p = this.spec.params;
    const anchorHeight = Math.max(0, livenessWindow(epoch, p.epoch_length, p.pool_window).to);
    let m: BlockMeta | undefined = parent;
    let anchor: BlockMeta | undefined;
    while (m && m.height > anchorHeight) {
      anchor = this.anchors.get(`${epoch}!${m.hash}`);
      if (anchor) break;
      m = await this.getMeta(m.parent_hash);
    }
    anchor ??= m;
    if (!anchor) throw new Error(`branch of ${parent.hash} is missing a block above height ${anchorHeight}`);
    if (parent.height > anchorHeight) this.anchors.set(`${epoch}!${parent.hash}`, anchor);
    return anchor;
  }

  private async anchorRegistry(anchor: BlockMeta): Promise<RegistryReader> {
    const cached = this.anchorRegistries.get(anchor.hash);
    if (cached) return cached;
    const registry = await this.registryAfter(anchor);
    this.anchorRegistries.set(anchor.hash, registry);
    return registry;
  }

  // pool(e) on the branch ending at `anchor` (epochAnchor), cached by e and the anchor: every input is fixed there
  // (docs/protocol.md §5): the liveness window ends at it, the finality floor is read from its
  // finality state, and the records' activity and `slashed` at e were fixed by the blocks of epochs <= e-2.
  private async poolFor(epoch: number, anchor: BlockMeta, registry: RegistryReader): Promise<string[]> {
    const p = this.spec.params;
    const window = livenessWindow(epoch, p.epoch_length, p.pool_window);
    const key = `${epoch}!${anchor.hash}`;
    const cached = this.pools.get(key);
    if (cached) return cached;
    const live = new Set<string>();
    let m: BlockMeta | undefined = anchor;
    while (m && m.height >= window.from && m.height > 0) {
      live.add(m.producer);
      for (const a of m.attesters) live.add(a);
      m = (await this.getMeta(m.parent_hash)) ?? this.pruned(m.height - 1, window.from);
    }
    const pool = poolForEpoch(epoch, registry.all(), live, await this.finalityFloor(anchor));
    this.pools.set(key, pool);
    return pool;
  }

  // L(e) (docs/protocol.md §5): the producers and attesters of the anchor's branch at heights
  // max(1, f - pool_window) .. f, f the anchor's finalized height; the genesis validators for f = 0.
  private async finalityFloor(anchor: BlockMeta): Promise<Set<string>> {
    const f = (await this.finalityOf(anchor.hash))?.finalized.height ?? 0;
    if (f === 0) return new Set(this.spec.validators.map((v) => v.ebid));
    const window = finalityFloorWindow(f, this.spec.params.pool_window);
    const floor = new Set<string>();
    let m: BlockMeta | undefined = await this.ancestorAt(anchor, window.to);
    while (m && m.height >= window.from && m.height > 0) {
      floor.add(m.producer);
      for (const a of m.attesters) floor.add(a);
      m = (await this.getMeta(m.parent_hash)) ?? this.pruned(m.height - 1, window.from);
    }
    return floor;
  }

  /**
   * Offers a block. Validates it fully against its parent's branch, stores it and runs fork choice.
   * A block whose parent is unknown is checked as far as it can be without the parent
   * (`validateDetached`) and parked; one from the near future is held (docs/protocol.md §6.4).
   * @throws BlockError when a consensus rule or a node policy bound (`TOO_FAR_AHEAD`, `TOO_EARLY`
   * for a full held set, `DEEP_FORK`, `BUSY` for a full import queue) refuses it (the block is not stored)
   */
  importBlock(block: Block, from: ImportSource = {}): Promise<ImportOutcome> {
    // Node policy (docs/protocol.md §6.4): blocks from peers and the API wait in memory, parsed,
    // until their turn; a flood of full blocks must not pile up there faster than they are checked.
    // A range sync (it waits for each import) and the node's own blocks (no source) are not bounded.
    if (from.sync || from.source === undefined) return this.queue.add(() => this.importNow(block, from)) as Promise<ImportOutcome>;
    const items = 1 + (block.txs?.length ?? 0) + (block.attestations?.length ?? 0);
    if (this.queuedItems > 0 && this.queuedItems + items > this.opts.maxQueuedItems) {
      return Promise.reject(new BlockError("BUSY", `blocks waiting for import hold ${this.queuedItems} transfers and attestations already, at most ${this.opts.maxQueuedItems}`));
    }
    this.queuedItems += items;
    return this.queue.add(async () => {
      try {
        return await this.importNow(block, from);
      } finally {
        this.queuedItems -= items;
      }
    }) as Promise<ImportOutcome>;
  }

  private async importNow(block: Block, from: ImportSource): Promise<ImportOutcome> {
    if (this.closed) throw new Error("chain is closed");
    this.importStarted = performance.now();
    // Checked before the known-hash shortcut: a header that does not hash to `hash` is never "known".
    if (blockHash(block.header) !== block.hash) throw new BlockError("BAD_HASH", "hash does not match the header");
    const known = await this.getMeta(block.hash);
    if (known) return { status: "known", meta: known };
    if (block.header.height === 0) throw new BlockError("GENESIS_MISMATCH", "a different genesis block");
    const finalized = this.checkpoints.finalized;
    if (block.header.height <= finalized.height) {
      throw new BlockError("FINALITY_CONFLICT", `height ${block.header.height} is at or below the finalized checkpoint ${finalized.height} and the block is not the finalized branch's`);
    }
    const params = this.spec.params;
    const dueIn = block.header.timestamp - params.max_future_drift_ms - this.opts.now();
    if (dueIn > this.opts.holdHorizonMs) {
      throw new BlockError("TOO_FAR_AHEAD", `timestamp ${block.header.timestamp} is due in ${dueIn} ms, past the hold horizon of ${this.opts.holdHorizonMs} ms`);
    }
    const parent = await this.getMeta(block.header.parent_hash);
    if (!parent) {
      validateDetached(block, this.spec, this.domains);
      this.park(block, from.source ?? "unknown");
      return { status: "unknown-parent", parentHash: block.header.parent_hash };
    }
    if (!(await this.descendsFrom(parent, finalized))) {
      throw new BlockError("FINALITY_CONFLICT", `its branch does not contain the finalized checkpoint ${finalized.height} ${finalized.hash}`);
    }
    if (!from.sync && this._head.height - parent.height > this.opts.forkHorizon) {
      const h = block.header;
      const weight = BigInt(parent.total_weight) + blockWeight(h.slot, h.difficulty, h.height, this.spec.consensus);
      const head = this._head;
      const wins = compareTips({ totalWeight: weight, height: h.height, hash: block.hash }, { totalWeight: BigInt(head.total_weight), height: head.height, hash: head.hash }) < 0;
      if (!wins) {
        throw new BlockError("DEEP_FORK", `parent at height ${parent.height} is more than ${this.opts.forkHorizon} blocks below the head ${head.height} and the block does not win fork choice`);
      }
    }
    const schedule = await this.scheduleFor(parent);
    const ancestors = await this.branchHashes(parent, attestationAncestorsFrom(block.header.height, params.attestation_max_age, params.checkpoint_interval));
    const difficulty = this.spec.consensus === "pow" ? await this.expectedDifficultyFor(parent) : undefined;
    const parentFinality = await this.finalityOf(parent.hash);
    if (!parentFinality) throw new Error(`data dir is damaged: block ${parent.hash} has no finality state`);
    validateBlock(block, {
      spec: this.spec,
      domains: this.domains,
      parent: { hash: parent.hash, height: parent.height, timestamp: parent.timestamp, mix: parent.mix },
      schedule,
      ancestors,
      justifiedRecent: parentFinality.justified_recent,
      expectedDifficulty: difficulty,
    });
    // validateBlock verified a non-empty reveal (docs/protocol.md §6.4): count it for the metrics
    if (block.header.randao_reveal !== "") this.emit("revealVerified");
    const exec = await this.execute(parent, block);
    if (exec.stateRoot !== block.header.state_root) throw new BlockError("BAD_ROOT", "state_root mismatch");
    if (exec.validatorsRoot !== block.header.validators_root) throw new BlockError("BAD_ROOT", "validators_root mismatch");
    const finality = await this.previewFinality(parent, block.attestations);
    if (finalityRoot(finality) !== block.header.finality_root) throw new BlockError("BAD_ROOT", "finality_root mismatch");
    const now = this.opts.now();
    if (block.header.timestamp > now + params.max_future_drift_ms) return this.hold(block, now, from.source ?? "unknown");
    this.validatorRoots.set(block.hash, exec.validatorsRoot);
    // From `seen_at` until fork choice has run, a valid child of `parent` is being stored.
    this.storing = parent.hash;
    let outcome: ImportOutcome;
    try {
      outcome = await this.store(block, parent, now, { producer: block.header.producer, earned: BigInt(this.spec.block_reward) + exec.fees, changes: exec.changes, validators: exec.validators }, finality);
    } finally {
      this.storing = undefined;
    }
    await this.unpark(block.hash);
    return outcome;
  }

  private async store(block: Block, parent: BlockMeta, now: number, moved: MovedBlock, finality: FinalityState): Promise<ImportOutcome> {
    const h = block.header;
    const weight = BigInt(parent.total_weight) + blockWeight(h.slot, h.difficulty, h.height, this.spec.consensus);
    const meta = metaOf(block, weight, now);
    const previous = this._head;
    const checkpoints = await this.nextCheckpoints(meta, finality);
    const justified = (checkpoints ?? this.checkpoints).justified;
    // The new head (docs/protocol.md §7): the best tip descending from the justified checkpoint.
    // When that checkpoint left the head's branch, a scan of the blocks above it; else the head or
    // the new block.
    let target: BlockMeta = previous;
    let underJustified = true;
    if (!(await this.descendsFrom(previous, justified))) {
      target = await this.bestTipFrom(justified, meta);
    } else {
      underJustified = meta.hash === justified.hash || (h.height > justified.height && (await this.descendsFrom(parent, justified)));
      if (underJustified && compareTips(tipOf(meta), tipOf(previous)) < 0) target = meta;
    }
    const better = target === meta;
    const writes: ChainWrite[] = [
      { kind: "block", block },
      { kind: "finality", hash: block.hash, state: finality },
      {
        kind: "changes",
        hash: block.hash,
        record: { producer: moved.producer, earned: moved.earned.toString(), changes: encodeChanges(moved.changes), validators: encodeValidatorChanges(moved.validators) },
      },
      ...block.txs.map((tx) => ({ kind: "txIndex" as const, txHash: txHash(tx), blockHash: block.hash })),
    ];
    let move: HeadMove | undefined;
    const evidence = await this.equivocation(block, now);
    for (const record of evidence) writes.push({ kind: "evidence", record });
    if (checkpoints) writes.push({ kind: "forkChoice", checkpoints });
    const updated: BlockMeta[] = [meta];
    let reorgDepth = 0;
    let orphaned: string[] = [];
    let targetFinality = finality;
    if (!better) {
      const competing = target === previous ? await this.db.getCanonicalHash(h.height) : (await this.branchHashes(target, h.height)).get(h.height);
      Object.assign(meta, {
        is_canonical: false,
        is_orphaned: true,
        orphaned_at: now,
        orphan_reason: underJustified ? "fork choice: canonical branch is heavier" : "fork choice: not descending from the justified checkpoint",
        competing_hash: competing ?? null,
      });
    }
    if (target === previous) {
      // the head stays
    } else if (better && parent.hash === previous.hash) {
      writes.push({ kind: "canonical", height: h.height, hash: block.hash }, { kind: "head", hash: block.hash });
      move = this.state.prepareMove([], [moved], h.validators_root);
    } else {
      // Reorg: find the common ancestor, demote the old branch, promote the new one (the new block's,
      // or, when the justified checkpoint left the head's branch, the best tip's under it).
      const newBranch: BlockMeta[] = better ? [meta] : [];
      const oldBranch: BlockMeta[] = [];
      let a: BlockMeta = better ? parent : target;
      let b: BlockMeta = previous;
      while (a.hash !== b.hash) {
        if (a.height >= b.height) {
          newBranch.push(a);
          a = (await this.getMeta(a.parent_hash))!;
        } else {
          oldBranch.push(b);
          b = (await this.getMeta(b.parent_hash))!;
        }
      }
      const newAt = new Map(newBranch.map((m) => [m.height, m.hash]));
      for (const o of oldBranch) {
        const demoted: BlockMeta = {
          ...o,
          is_canonical: false,
          is_orphaned: true,
          orphaned_at: now,
          orphan_reason: "reorg",
          competing_hash: newAt.get(o.height) ?? null,
        };
        updated.push(demoted);
        if (!newAt.has(o.height)) writes.push({ kind: "uncanonical", height: o.height });
      }
      for (const n of newBranch) {
        const promoted: BlockMeta =
          n === meta ? n : { ...n, is_canonical: true, is_orphaned: false, orphaned_at: null, orphan_reason: null, competing_hash: null };
        if (n !== meta) updated.push(promoted);
        writes.push({ kind: "canonical", height: n.height, hash: n.hash });
      }
      writes.push({ kind: "head", hash: target.hash });
      reorgDepth = oldBranch.length;
      orphaned = oldBranch.map((o) => o.hash);
      // State: undo the old branch (newest first), redo the new one (oldest first), from the blocks'
      // changes records only (no block is loaded).
      const movedOf = (m: BlockMeta): Promise<MovedBlock> => (m === meta ? Promise.resolve(moved) : this.state.movedOf(m.hash));
      const targetRoot = better ? h.validators_root : (this.validatorRoots.get(target.hash) ?? (await this.db.getBlock(target.hash))!.header.validators_root);
      if (!better) targetFinality = (await this.finalityOf(target.hash))!;
      move = this.state.prepareMove(await Promise.all(oldBranch.map(movedOf)), await Promise.all([...newBranch].reverse().map(movedOf)), targetRoot);
    }
    for (const m of updated) writes.push({ kind: "meta", meta: m });
    if (move) writes.push(...move.writes);
    if (move) this.state.beginWrite();
    try {
      await this.db.write(writes);
    } catch (e) {
      this.state.endWrite();
      throw e;
    }
    for (const m of updated) this.metas.set(m.hash, m);
    this.finalities.set(block.hash, finality);
    if (checkpoints) {
      if (checkpoints.finalized.height > this.checkpoints.finalized.height) this.log.info({ height: checkpoints.finalized.height, hash: checkpoints.finalized.hash }, "Finalized checkpoint");
      this.checkpoints = checkpoints;
    }
    this.emit("imported", meta, block, (performance.now() - this.importStarted) / 1000);
    if (evidence.length) {
      this.log.warn({ height: h.height, producer: h.producer, block: block.hash, blocks_at_height: evidence[evidence.length - 1]!.index + 1 }, "Equivocation: producer signed two blocks at one height");
      this.emit("equivocation", { producer: h.producer, height: h.height });
    }
    if (target !== previous) {
      this._head = target === meta ? meta : { ...target, is_canonical: true, is_orphaned: false, orphaned_at: null, orphan_reason: null, competing_hash: null };
      this.headFinality = targetFinality;
      move!.commit();
      this.headSeenAt = now;
      if (reorgDepth > 0) {
        this.log.warn({ height: target.height, hash: target.hash, depth: reorgDepth, old_head: previous.hash, justified: justified.height }, "Chain reorg");
      }
      this.emit("head", { head: this._head, previous, reorgDepth, orphaned });
    }
    return { status: "imported", meta, newHead: better, reorgDepth };
  }

  // The store's checkpoints after block `meta` with finality state `f` is stored (docs/protocol.md
  // §7), or undefined when they do not move. The block's branch contains the finalized checkpoint
  // (import refuses others), so a greater `f.finalized` descends from it, and so does a greater
  // `f.justified`. When the finalized checkpoint moves past a justified checkpoint of another branch
  // (which takes conflicting justifications), the justified checkpoint is found again by a scan of
  // the blocks descending from the new finalized checkpoint.
  private async nextCheckpoints(meta: BlockMeta, f: FinalityState): Promise<ForkChoiceCheckpoints | undefined> {
    let { finalized, justified } = this.checkpoints;
    let moved = false;
    if (f.finalized.height > finalized.height) {
      finalized = f.finalized;
      moved = true;
    }
    if (f.justified.height > justified.height || (f.justified.height === justified.height && f.justified.hash < justified.hash)) {
      justified = f.justified;
      moved = true;
    }
    if (!moved) return undefined;
    const j = await this.getMeta(justified.hash);
    if (!j || !(await this.descendsFrom(j, finalized))) {
      justified = f.justified;
      await this.scanFrom(finalized, meta, async (m) => {
        const mj = m === meta ? f.justified : (await this.finalityOf(m.hash))?.justified;
        if (mj && (mj.height > justified.height || (mj.height === justified.height && mj.hash < justified.hash))) justified = mj;
      });
    }
    return { finalized: { ...finalized }, justified: { ...justified } };
  }

  // Whether the stored block `m`'s branch contains the checkpoint `cp`.
  private async descendsFrom(m: BlockMeta, cp: Checkpoint): Promise<boolean> {
    if (m.height < cp.height) return false;
    return (await this.ancestorAt(m, cp.height)).hash === cp.hash;
  }

  // The best tip (compareTips) among the stored blocks descending from the checkpoint `cp` and the
  // block being stored (`adding`, not yet in the store): a scan of the heights above cp, keeping the
  // blocks whose parent was kept at the height below (docs/protocol.md §7).
  private async bestTipFrom(cp: Checkpoint, adding: BlockMeta): Promise<BlockMeta> {
    let best = (await this.getMeta(cp.hash))!;
    await this.scanFrom(cp, adding, (m) => {
      if (compareTips(tipOf(m), tipOf(best)) < 0) best = m;
    });
    return best;
  }

  // Visits every stored block descending from the checkpoint `cp` (not cp itself), and `adding`
  // (the block being stored) when it does, height by height: a block is visited when its parent was
  // at the height below. O(stored blocks above cp).
  private async scanFrom(cp: Checkpoint, adding: BlockMeta, visit: (m: BlockMeta) => void | Promise<void>): Promise<void> {
    let under = new Set([cp.hash]);
    for (let height = cp.height + 1; under.size > 0; height++) {
      const hashes = (await this.db.blocksAtHeight(height)).map((x) => x.hash);
      if (height === adding.height) hashes.push(adding.hash);
      const next = new Set<string>();
      for (const hash of hashes) {
        const m = hash === adding.hash ? adding : await this.getMeta(hash);
        if (!m || !under.has(m.parent_hash)) continue;
        next.add(hash);
        await visit(m);
      }
      under = next;
    }
  }

  // A second valid block by the same producer at the same height is evidence (kept, and the block
  // still takes part in fork choice like any other). One record per block: on the first detection
  // the earlier block's and this one's, after that only this one's, so k blocks cost k records.
  private async equivocation(block: Block, now: number): Promise<EvidenceRecord[]> {
    const h = block.header;
    const same = (await this.db.blocksAtHeight(h.height)).filter((x) => x.producer === h.producer && x.hash !== block.hash);
    if (same.length === 0) return [];
    const record = (hash: string, parent: string, index: number): EvidenceRecord => ({
      height: h.height, producer: h.producer, block_hash: hash, parent_hash: parent, index, detected_at: now,
    });
    const out: EvidenceRecord[] = [];
    if (same.length === 1) {
      const first = await this.getMeta(same[0]!.hash);
      out.push(record(same[0]!.hash, first?.parent_hash ?? "", 0));
    }
    out.push(record(block.hash, h.parent_hash, same.length));
    return out;
  }

  /**
   * Blocks stored at heights [from, to] that are not canonical (lost a fork), with their status:
   * `orphaned_at - seen_at` is how long this node held each as part of a branch it followed or saw.
   */
  async forks(from: number, to: number): Promise<BlockMeta[]> {
    const out: BlockMeta[] = [];
    for (let h = Math.max(1, from); h <= to; h++) {
      for (const { hash } of await this.db.blocksAtHeight(h)) {
        const meta = await this.getMeta(hash);
        if (meta && !meta.is_canonical) out.push(meta);
      }
    }
    return out;
  }

  /** Recorded equivocations, newest height first. */
  listEvidence(limit = 100): Promise<Equivocation[]> {
    return this.db.listEvidence(limit);
  }

  /**
   * Account state after `parent` (on any branch): an overlay on the head's, never a copy, with the
   * accounts of `addresses` loaded for reading. Consistent: rebuilt if the head moved meanwhile;
   * use it before the next await.
   */
  async stateAt(parent: BlockMeta, addresses: Iterable<string> = []): Promise<StateView> {
    const wanted = [...addresses];
    for (;;) {
      await this.state.idle(); // a head move being written: its accounts may be half visible
      const version = this.state.version;
      const view = await (await this.state.at(this._head, parent, (h) => this.getMeta(h))).withAccounts(wanted);
      if (this.state.version === version) return view;
    }
  }

  /** The chain's transaction rules: minimums (`min_tx_fee`, `min_account_balance`) and the registry's. */
  get txRules(): TxRules {
    return (this._txRules ??= txRulesOf(this.spec));
  }

  private async execute(parent: BlockMeta, block: Pick<Block, "txs" | "slashings"> & { header: { producer: string } }): Promise<Execution> {
    const addresses = [block.header.producer, ...block.txs.flatMap(txAddresses)];
    const header = { producer: block.header.producer, height: parent.height + 1 };
    const opts = { chainId: this.spec.chain_id, blockReward: BigInt(this.spec.block_reward), rules: this.txRules, parentValidatorsRoot: this.validatorRoots.get(parent.hash) };
    return executeBlock(await this.stateAt(parent, addresses), { txs: block.txs, slashings: block.slashings, header }, opts);
  }

  /**
   * What a block by `producer` with `txs` and `slashings` (evidence already verified) on `parent`
   * would do: its `stateRoot` and `validatorsRoot` go in the header.
   * @throws BlockError BAD_TX when a transaction cannot apply; NOT_SLASHABLE when an item's
   *   offender has no record or is slashed after the transactions (docs/protocol.md §6.5)
   */
  previewState(parent: BlockMeta, producer: string, txs: Tx[], slashings: readonly SlashingItem[] = []): Promise<Execution> {
    return this.execute(parent, { txs, slashings: [...slashings], header: { producer } });
  }

  /**
   * Where a transaction is on the canonical chain: its block's height and hash, or undefined.
   * (The index lists every stored block that carried it; only a canonical one counts.)
   */
  async findTx(hash: string): Promise<{ height: number; block_hash: string } | undefined> {
    for (const blockHash of await this.db.getTxBlocks(hash)) {
      const meta = await this.getMeta(blockHash);
      if (meta?.is_canonical) return { height: meta.height, block_hash: meta.hash };
    }
    return undefined;
  }

  /** Blocks and rewards (reward plus fees, base units) per producer on the canonical chain. */
  producerTotals(producer?: string): Map<string, ProducerTotals> {
    return this.state.producerTotals(producer);
  }

  /** An account at the head (an empty one when unknown), from the store or its cache. */
  account(address: string): Promise<Account> {
    return this.state.account(address);
  }

  /** The head's state with the accounts of `addresses` loaded (see `stateAt`). */
  headState(addresses: Iterable<string>): Promise<StateView> {
    return this.stateAt(this._head, addresses);
  }

  // Held blocks are due within the hold horizon (checked on entry), so the timer never overflows
  // setTimeout's 2^31-1 ms. When the held set is full, a block due sooner takes the place of the one
  // due last; one source holds at most maxHeldPerSource.
  private hold(block: Block, now: number, source: string): ImportOutcome {
    const dueAt = block.header.timestamp - this.spec.params.max_future_drift_ms;
    if (!this.held.has(block.hash)) {
      let mine = 0;
      let latest: { hash: string; dueAt: number } | undefined;
      for (const [hash, h] of this.held) {
        if (h.source === source) mine++;
        if (!latest || h.dueAt > latest.dueAt) latest = { hash, dueAt: h.dueAt };
      }
      if (mine >= this.opts.maxHeldPerSource) {
        throw new BlockError("TOO_EARLY", `${mine} blocks from the future from this source are held already`);
      }
      if (this.held.size >= this.opts.maxHeldBlocks) {
        if (!latest || latest.dueAt <= dueAt) throw new BlockError("TOO_EARLY", "too many blocks from the future are held already");
        this.opts.clock.clearTimeout(this.held.get(latest.hash)!.timer);
        this.held.delete(latest.hash);
      }
      const timer = this.opts.clock.setTimeout(() => {
        this.held.delete(block.hash);
        this.importBlock(block, { source }).catch((e) => this.log.warn({ hash: block.hash, err: (e as Error).message }, "Held block refused"));
      }, Math.max(0, dueAt - now));
      timer.unref();
      this.held.set(block.hash, { block, timer, source, dueAt });
      this.log.info({ height: block.header.height, hash: block.hash, due_in_ms: dueAt - now }, "Holding block from the future");
    }
    return { status: "held", dueAt };
  }

  // Parked blocks are bounded by count, by bytes in all and by bytes per source. A source over its
  // budget loses its own oldest blocks; over the total, the source holding the most bytes loses its
  // oldest, so one sender cannot push out what the others parked.
  private park(block: Block, source: string): void {
    if (this.parked.has(block.hash)) return;
    const bytes = JSON.stringify(block).length;
    if (bytes > this.opts.maxParkedBytesPerSource) return;
    const entry: Parked = { block, source, bytes };
    this.parked.set(block.hash, entry);
    this.parkedBytes += bytes;
    this.parkedBySource.set(source, (this.parkedBySource.get(source) ?? 0) + bytes);
    while ((this.parkedBySource.get(source) ?? 0) > this.opts.maxParkedBytesPerSource) this.unparkOldest(source);
    while (this.parkedBytes > this.opts.maxParkedBytes || this.parked.size > this.opts.maxParked) {
      let biggest = source;
      for (const [s, b] of this.parkedBySource) if (b > (this.parkedBySource.get(biggest) ?? 0)) biggest = s;
      this.unparkOldest(biggest);
    }
  }

  private unparkOldest(source: string): void {
    for (const [hash, p] of this.parked) {
      if (p.source === source) return this.dropParked(hash);
    }
  }

  private dropParked(hash: string): void {
    const p = this.parked.get(hash);
    if (!p) return;
    this.parked.delete(hash);
    this.parkedBytes -= p.bytes;
    const left = (this.parkedBySource.get(p.source) ?? 0) - p.bytes;
    if (left > 0) this.parkedBySource.set(p.source, left);
    else this.parkedBySource.delete(p.source);
  }

  // Imports parked children of a newly stored block (they were waiting for it).
  private async unpark(parentHash: string): Promise<void> {
    const children = [...this.parked.values()].filter((p) => p.block.header.parent_hash === parentHash);
    for (const { block: child, source } of children) {
      this.dropParked(child.hash);
      try {
        await this.importNow(child, { source });
      } catch (e) {
        this.log.debug({ hash: child.hash, err: (e as Error).message }, "Parked block refused");
      }
    }
  }

  /**
   * Expected PoW difficulty of the child of `parent` on `pow` chains (docs/protocol.md §8): unchanged
   * between retarget heights, memoized by parent hash. Iterative: it walks back to the newest
   * memoized retarget (or the first one) one retarget interval at a time, jumping through the
   * canonical index where the branch is canonical, so a fresh start on a long chain neither
   * recurses nor reads every block.
   */
  async expectedDifficultyFor(parent: BlockMeta): Promise<number> {
    const cached = this.difficulties.get(parent.hash);
    if (cached !== undefined) return cached;
    const p = this.spec.params;
    const interval = p.difficulty_adjustment_interval;
    const height = parent.height + 1;
    // The retarget heights R <= height, newest first, until one whose anchor (block R-1) is memoized.
    const anchors: BlockMeta[] = [];
    let d: number | undefined;
    for (let r = Math.floor(height / interval) * interval; r >= 2 * interval; r -= interval) {
      const anchor = await this.ancestorAt(anchors[anchors.length - 1] ?? parent, r - 1);
      const known = this.difficulties.get(anchor.hash);
      if (known !== undefined) {
        d = known;
        break;
      }
      anchors.push(anchor);
    }
    d ??= p.genesis_difficulty;
    for (const anchor of anchors.reverse()) {
      const start = await this.ancestorAt(anchor, anchor.height - interval);
      d = retarget(d, anchor.timestamp, start.timestamp, p);
      this.difficulties.set(anchor.hash, d);
    }
    this.difficulties.set(parent.hash, d);
    return d;
  }

  // A walk down a branch found no block at `height`: below `needed` that ends the walk (undefined);
  // at or above it the chain started from a checkpoint whose window is too short, which must not
  // pass for a shorter liveness window or floor (a pool other nodes would not compute).
  private pruned(height: number, needed: number): undefined {
    if (height < needed) return undefined;
    throw new Error(`pruned below checkpoint ${this._base?.checkpoint.height ?? "?"}: no block at height ${height} is held`);
  }

  // The block at `height` on the branch ending at `tip` (height <= tip.height): parent links off the
  // canonical chain, the canonical index on it.
  private async ancestorAt(tip: BlockMeta, height: number): Promise<BlockMeta> {
    let m = tip;
    while (m.height > height) {
      if (m.is_canonical) {
        const c = await this.getCanonicalMeta(height);
        if (c) return c;
      }
      const parent = await this.getMeta(m.parent_hash);
      if (!parent) throw new Error(`pruned below checkpoint ${this._base?.checkpoint.height ?? "?"}: no block at height ${m.height - 1} is held`);
      m = parent;
    }
    return m;
  }

  /**
   * Node policy (docs/protocol.md §9.5): whether a stored block is worth relaying. The head is; a
   * side block only while one more block on it could overtake the head, that is while its deficit
   * in total weight is at most what one child can add (2 on Proof-of-Sync chains, a slot-0 block;
   * on `pow` chains the work of a block at its own difficulty). Other side blocks cannot become the
   * head without a branch this node would sync, so relaying them only spreads their cost.
   */
  worthRelaying(meta: BlockMeta): boolean {
    const head = this._head;
    if (meta.hash === head.hash) return true;
    const deficit = BigInt(head.total_weight) - BigInt(meta.total_weight);
    const child = this.spec.consensus === "pow" ? blockWeight(null, meta.difficulty, meta.height + 1, "pow") : 2n;
    return deficit <= child;
  }

  /** Number of blocks held from the future and parked for a parent. */
  get pending(): { held: number; parked: number } {
    return { held: this.held.size, parked: this.parked.size };
  }

  /** Bytes (JSON wire form) of the parked blocks. */
  get parkedBytesTotal(): number {
    return this.parkedBytes;
  }

  /** Waits for queued imports, then stops timers. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.queue.onIdle();
    this.closed = true;
    for (const { timer } of this.held.values()) this.opts.clock.clearTimeout(timer);
    this.held.clear();
    this.parked.clear();
    this.parkedBySource.clear();
    this.parkedBytes = 0;
  }
}

// A stored block as a fork-choice candidate.
function tipOf(m: BlockMeta): { totalWeight: bigint; height: number; hash: string } {
  return { totalWeight: BigInt(m.total_weight), height: m.height, hash: m.hash };
}

/**
 * The metadata of `block` as the chain stores it (canonical, seen `now`), e.g. to ask `scheduleFor`
 * about a child of a block that is not stored.
 */
export function metaOf(block: Block, totalWeight: bigint, now: number): BlockMeta {
  const h = block.header;
  return {
    hash: block.hash,
    height: h.height,
    parent_hash: h.parent_hash,
    timestamp: h.timestamp,
    producer: h.producer,
    slot: h.slot,
    difficulty: h.difficulty,
    state_root: h.state_root,
    mix: h.mix,
    attesters: block.attestations.map((a) => a.ebid),
    total_weight: totalWeight.toString(),
    is_canonical: true,
    is_orphaned: false,
    seen_at: now,
    orphaned_at: null,
    orphan_reason: null,
    competing_hash: null,
  };
}
