/**
 * The PoW miner service (docs/protocol.md §6.3 and §8; the miner race report's three fixes; the
 * chain-core mining API's stats). On `pow` chains it mines every height; on Proof-of-Sync chains it
 * mines the `slot: null` fallback once every slot has passed with no block (or at once for an empty
 * pool), and only when it may produce it: when some validator is active at the height's epoch, only
 * an active validator mines the fallback (anyone else's would be invalid); with none, anyone
 * eligible does (the bootstrap of a chain without validators).
 *
 * - Fix 1: a job starts only on the current tip, after re-checking that no block filled its height.
 * - Fix 2: a head change aborts the running job at once (the pool stops its workers within a batch
 *   of a few ms); latency and the hashes tried after the abort are recorded.
 * - Fix 3: each parent gets one attempt. If our block loses fork choice we move on to the next
 *   height; nothing is retried on a filled height.
 *
 * Every block is signed through slashing protection (docs/protocol.md §6.6), on `pow` chains too:
 * no job starts on a height this key already signed, and the seal is refused if one was meanwhile.
 */
import type { HeadEvent } from "../chain/chain.ts";
import type { BlockMeta } from "../storage/records.ts";
import type { Block } from "../consensus/types.ts";
import { sealHash } from "../consensus/hashing.ts";
import { calculateJitter } from "../consensus/selection.ts";
import { proposeAt } from "../consensus/timing.ts";
import { sealGuarded, type BlockSigningGuard } from "./blockBuilder.ts";
import { buildTemplate, powPlan, type TemplateModules } from "./template.ts";
import type { MinerPool } from "./pow/minerPool.ts";
import type { Metrics } from "../metrics/index.ts";
import { epochAt, isActive, type RegistryReader } from "../consensus/validators.ts";
import { sleep, systemClock, type Clock } from "../util/clock.ts";

/** Miner identity, clock and knobs. */
export interface MinerOptions {
  ebid: string;
  secretKey: Uint8Array;
  /** the BLS secret key that signs the RANDAO reveal of a validator's fallback block (docs/protocol.md §6.4) */
  blsSecretKey?: Uint8Array;
  /** pause per 4-nonce step per worker, to provoke races (the miner race report's `mining_delay_ms`); read per job */
  delayMs: () => number;
  /** the node's own mining difficulty on `pow` chains (config or `/difficulty/set`); only raises */
  minDifficulty: () => number;
  /** the miner's time, loop tick and retry timers; default `systemClock` */
  clock?: Clock;
  /** ms since the epoch; default `clock.now` */
  now?: () => number;
  /** loop tick (ms); default the chain's `mining_tick_ms` */
  tickMs?: number;
}

/** Collaborators of the miner. */
export interface MinerModules extends TemplateModules {
  pool: MinerPool;
  /** may this node mine now (in sync, enough live peers, not syncing) */
  canMine(): boolean;
  /**
   * the highest counted height of a live peer (backed heights only, docs/protocol.md §6.1): a
   * height a peer has shown is filled (fix 1); one it only claims is not
   */
  networkHeight(): number;
  /** sends a block we mined to every peer */
  broadcast(block: Block): { sent: number; skipped: number };
  /** slashing protection: every block is signed through it, on any chain (docs/protocol.md §6.6) */
  protection: BlockSigningGuard;
  metrics?: Pick<Metrics, "powJobsTotal" | "powAbortSeconds" | "powBlocksMinedTotal">;
}

/** How one mining job ended. */
export type JobOutcome = "mined" | "aborted" | "lost" | "failed";

/** One mining job, as `/api/mining/jobs` and the race drill show it. Times in ms since the epoch. */
export interface MiningJob {
  height: number;
  parent_hash: string;
  difficulty: number;
  kind: "fallback" | "pow";
  started_at: number;
  ended_at: number | null;
  outcome: JobOutcome | null;
  hashes: number;
  block_hash: string | null;
  /** hash of the block that filled the height first (aborted or lost jobs) */
  competing_hash: string | null;
  /** from the head change to every worker stopped (aborted jobs) */
  abort_latency_ms: number | null;
  /** hashes tried after the head change (aborted jobs) */
  wasted_hashes: number | null;
  error: string | null;
}

/** Counters since start. */
export interface MinerStats {
  jobs: number;
  blocks_mined: number;
  /** jobs aborted because another block filled the height (the miner race report's fix 2) */
  aborted: number;
  /** our block imported but another won fork choice at its height (fix 3: we moved on) */
  lost: number;
  failed: number;
  /** jobs started after this node saw a valid block filling their height (0 by construction: a check) */
  filled_height_starts: number;
  /** second jobs on one parent: always 0 by construction, counted as a check */
  retries: number;
  wasted_hashes: number;
}

const JOBS_KEPT = 200;

/**
 * Whether `ebid` may mine the Proof-of-Sync fallback at an epoch (docs/protocol.md §6): when the
 * records (after the parent) hold a validator active at `epoch`, only an active validator may; with
 * none, anyone (the bootstrap).
 */
export function mayMineFallback(registry: RegistryReader, ebid: string, epoch: number): boolean {
  const own = registry.get(ebid);
  if (own && isActive(own, epoch)) return true;
  return !registry.all().some((r) => isActive(r, epoch));
}

/** The miner. `start()`/`stop()` are idempotent. */
export class Miner {
  readonly stats: MinerStats = { jobs: 0, blocks_mined: 0, aborted: 0, lost: 0, failed: 0, filled_height_starts: 0, retries: 0, wasted_hashes: 0 };
  private readonly jobs: MiningJob[] = [];
  private readonly attempted = new Set<string>();
  private controller?: AbortController;
  private loop?: Promise<void>;
  private job?: { parent: string; record: MiningJob };
  private readonly now: () => number;
  private readonly onHead = (e: HeadEvent) => this.headChanged(e);
  private readonly clock: Clock;
  private readonly startedAt: number;

  constructor(
    private readonly opts: MinerOptions,
    private readonly m: MinerModules,
  ) {
    this.clock = opts.clock ?? systemClock;
    this.now = opts.now ?? (() => this.clock.now());
    this.startedAt = this.clock.now();
  }

  /** The last 200 jobs, newest last. */
  recentJobs(limit = JOBS_KEPT): MiningJob[] {
    return this.jobs.slice(-limit);
  }

  /** Hashes per second over the miner's life, and the mined blocks' mean interval (s). */
  rates(): { hash_rate: number; average_block_time: number | null } {
    const secs = Math.max(1, (this.clock.now() - this.startedAt) / 1000);
    const mined = this.jobs.filter((j) => j.outcome === "mined");
    const span = mined.length > 1 ? (mined.at(-1)!.ended_at! - mined[0]!.ended_at!) / 1000 / (mined.length - 1) : null;
    return { hash_rate: this.m.pool.totalHashes / secs, average_block_time: span };
  }

  start(): void {
    if (this.controller) return;
    const controller = new AbortController();
    this.controller = controller;
    this.m.chain.on("head", this.onHead);
    this.loop = this.run(controller.signal);
  }

  async stop(): Promise<void> {
    this.m.chain.off("head", this.onHead);
    this.controller?.abort();
    this.m.pool.abort();
    await this.loop;
    this.controller = undefined;
    this.loop = undefined;
  }

  private async run(signal: AbortSignal): Promise<void> {
    const tick = this.opts.tickMs ?? this.m.chain.spec.params.mining_tick_ms;
    while (!signal.aborted) {
      try {
        await this.tick(signal);
        await sleep(this.clock, tick, signal);
      } catch (e) {
        if (signal.aborted) break;
        this.m.log.error({ err: (e as Error).message }, "Miner tick failed");
        await sleep(this.clock, tick, signal).catch(() => undefined);
      }
    }
  }

  // Fix 2: the moment the tip moves off our job's parent, the job is dead.
  private headChanged(e: HeadEvent): void {
    const job = this.job;
    if (!job || e.head.hash === job.parent) return;
    if (job.record.competing_hash === null && e.head.height === job.record.height) {
      job.record.competing_hash = e.head.hash;
      // The competing block was seen before this job started: a start on a filled height.
      if (e.head.seen_at !== null && e.head.seen_at < job.record.started_at) this.stats.filled_height_starts++;
    }
    this.m.pool.abort();
  }

  /** One miner tick: plan, wait for the opening, mine one job. Exposed for tests. */
  async tick(signal: AbortSignal): Promise<void> {
    if (!this.m.canMine()) return;
    const { chain } = this.m;
    const parent = chain.head;
    if (this.attempted.has(parent.hash)) return;
    if (this.m.networkHeight() > parent.height) return; // a peer holds this height: sync, do not mine it
    // This key signed a block at this height or above (before a restart, or seen on the chain): no
    // PoW is spent on a block slashing protection would refuse to sign (docs/protocol.md §6.6).
    if (!this.m.protection.mayProposeBlock(parent.height + 1)) return;
    if (chain.spec.consensus !== "pow") {
      // Only an active validator's fallback is valid while any validator is active: others do not start.
      const epoch = epochAt(parent.height + 1, chain.spec.params.epoch_length);
      if (!mayMineFallback(await chain.registryAfter(parent), this.opts.ebid, epoch)) return;
    }
    const plan = await powPlan(chain, parent, this.opts.minDifficulty());
    // The fallback opens at T(len(winners)), anchored like the slots (docs/protocol.md §6): after a
    // stall, when every T(k) is past, the scheduled producers still get their turns (seen + k *
    // claim_timeout_ms) before anyone mines; our jitter keeps eligible miners from starting at once.
    const p = chain.spec.params;
    const startAt =
      plan.seed !== undefined
        ? proposeAt(parent.timestamp, chain.headSeenAt, plan.winners.length, calculateJitter(plan.seed, this.opts.ebid, p.jitter_min_ms, p.jitter_max_ms), p)
        : plan.opensAt;
    if (this.now() < startAt) return;
    if (!this.mayStartOn(parent)) return;
    if (signal.aborted) return;
    if (this.jobs.some((j) => j.parent_hash === parent.hash && j.outcome !== "failed")) this.stats.retries++;
    this.attempted.add(parent.hash);
    if (this.attempted.size > 4096) this.attempted.delete(this.attempted.values().next().value!);
    const outcome = await this.mineOn(parent, plan.difficulty, Math.max(this.now(), plan.opensAt), plan.kind);
    // A failure (not a lost race) may be retried on the same parent after a pause; a job that never
    // started (its height filled meanwhile) on the next tick, should that block not become the tip.
    if (outcome === "failed") this.clock.setTimeout(() => this.attempted.delete(parent.hash), 1000).unref();
    if (outcome === "not-started") this.attempted.delete(parent.hash);
  }

  // Fix 1: never start on a height already filled. The tip must still be our parent, and no valid
  // child of it may be in the middle of its import (seen, written, fork choice not yet run).
  private mayStartOn(parent: BlockMeta): boolean {
    return this.m.chain.head.hash === parent.hash && !this.m.chain.isStoringChildOf(parent.hash);
  }

  private async mineOn(parent: BlockMeta, difficulty: number, timestamp: number, kind: "fallback" | "pow"): Promise<JobOutcome | "not-started"> {
    const { chain, log } = this.m;
    const height = parent.height + 1;
    const template = await buildTemplate(this.m, parent, { producer: this.opts.ebid, slot: null, timestamp, difficulty }, this.opts.blsSecretKey);
    // Checked again after the template's awaits, in the same turn as the job's start time is taken.
    if (!this.mayStartOn(parent)) return "not-started";
    const record: MiningJob = {
      height, parent_hash: parent.hash, difficulty, kind, started_at: this.now(), ended_at: null, outcome: null, hashes: 0,
      block_hash: null, competing_hash: null, abort_latency_ms: null, wasted_hashes: null, error: null,
    };
    this.jobs.push(record);
    if (this.jobs.length > JOBS_KEPT) this.jobs.shift();
    this.stats.jobs++;
    this.job = { parent: parent.hash, record };
    log.info({ height, difficulty, kind }, `⛏️  Mining block at index ${height}...`);
    try {
      // Workers boot on first use (Proof-of-Sync nodes may never need them); the tip may have
      // moved meanwhile or while the template was built: then do not start at all.
      await this.m.pool.start();
      // (stop() may have run meanwhile: its abort came before this job, so nothing would cancel it)
      if (chain.head.hash !== parent.hash || this.controller?.signal.aborted) return this.end(record, "aborted", { abort_latency_ms: 0, wasted_hashes: 0 });
      const result = await this.m.pool.mine(sealHash(template.header), difficulty, this.opts.delayMs());
      record.hashes = result.hashes;
      if (result.status === "aborted") {
        this.stats.wasted_hashes += result.wastedHashes;
        log.info(
          { height, competing: record.competing_hash, abort_ms: +result.abortLatencyMs.toFixed(2), wasted: result.wastedHashes },
          `⏭️ Block ${height} mined by another node, advancing`,
        );
        return this.end(record, "aborted", { abort_latency_ms: result.abortLatencyMs, wasted_hashes: result.wastedHashes });
      }
      if (result.status === "exhausted") throw new Error("nonce space exhausted");
      const block = sealGuarded(this.m.protection, { ...template.header, nonce: result.nonce }, template, this.opts.secretKey, chain.genesis.hash);
      const outcome = await chain.importBlock(block);
      if (outcome.status !== "imported") throw new Error(`own block not imported (${outcome.status})`);
      if (!outcome.newHead) {
        // Fix 3: another block won fork choice at this height; move on, never retry it.
        const winner = (await chain.getCanonicalMeta(height))?.hash ?? null;
        log.info({ height, hash: block.hash, winner }, `⏭️ Block ${height} lost fork choice to ${winner?.slice(0, 12)}, advancing`);
        this.m.broadcast(block); // still valid: peers may prefer it
        return this.end(record, "lost", { block_hash: block.hash, competing_hash: winner });
      }
      const { sent } = this.m.broadcast(block);
      this.stats.blocks_mined++;
      log.info({ height, hash: block.hash, hashes: result.hashes, ms: Math.round(result.elapsedMs), sent }, `✅ Successfully mined and gossipped block ${height}`);
      return this.end(record, "mined", { block_hash: block.hash });
    } catch (e) {
      log.warn({ height, err: (e as Error).message }, `⚠️  Failed to mine block ${height} (${(e as Error).message})`);
      return this.end(record, "failed", { error: (e as Error).message });
    } finally {
      if (this.job?.record === record) this.job = undefined;
    }
  }

  private end(record: MiningJob, outcome: JobOutcome, fields: Partial<MiningJob>): JobOutcome {
    Object.assign(record, fields, { outcome, ended_at: this.now() });
    this.m.metrics?.powJobsTotal.inc({ outcome });
    if (outcome === "mined") this.m.metrics?.powBlocksMinedTotal.inc();
    if (outcome === "aborted" && record.abort_latency_ms) this.m.metrics?.powAbortSeconds.observe(record.abort_latency_ms / 1000);
    if (outcome === "aborted") this.stats.aborted++;
    else if (outcome === "lost") this.stats.lost++;
    else if (outcome === "failed") this.stats.failed++;
    return outcome;
  }
}
