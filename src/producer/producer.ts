/**
 * The Proof-of-Sync producer loop (the Proof-of-Sync mining spec, docs/protocol.md §6.2). Every
 * `mining_tick_ms` an eligible node computes the schedule for the next height; if it holds slot k
 * it waits until max(T(k), seen + k * claim_timeout_ms) + jitter, cancels if a lower slot's block
 * arrives, re-checks its tip, records a claim receipt, then builds, signs (through slashing
 * protection, §6.6: a height this key signed before is refused), imports and broadcasts.
 */
import type { Logger } from "pino";
import { calculateJitter } from "../consensus/selection.ts";
import { proposeAt, slotOpensAt } from "../consensus/timing.ts";
import type { Chain } from "../chain/chain.ts";
import type { AttestationPool } from "../chain/attestationPool.ts";
import type { Mempool } from "../chain/mempool.ts";
import type { BlockMeta } from "../storage/records.ts";
import type { ClaimReceipts } from "./claims.ts";
import { sealGuarded, type BlockSigningGuard } from "./blockBuilder.ts";
import { buildTemplate, type TemplateModules } from "./template.ts";
import type { Block } from "../consensus/types.ts";
import type { Metrics } from "../metrics/index.ts";
import { sleep, systemClock, type Clock } from "../util/clock.ts";

/** Producer identity and clock. */
export interface ProducerOptions {
  ebid: string;
  secretKey: Uint8Array;
  /** the BLS secret key (32 bytes) that signs this producer's RANDAO reveals (docs/protocol.md §6.4) */
  blsSecretKey?: Uint8Array;
  /** the producer's time and slot timers; default `systemClock` */
  clock?: Clock;
  /** ms since the epoch; default `clock.now` */
  now?: () => number;
  /** resolves after `ms`, or rejects when `signal` aborts; default a timer on `clock` */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** Collaborators of the producer. */
export interface ProducerModules {
  chain: Chain;
  attestations: AttestationPool;
  mempool: Mempool;
  claims: ClaimReceipts;
  isEligible(): boolean;
  /** sends a block we produced to every peer */
  broadcast(block: Block): { sent: number; skipped: number };
  /** slashing protection: the block is signed only through it (docs/protocol.md §6.6) */
  protection: BlockSigningGuard;
  /** the node's evidence pool: its slashable items go in the blocks produced (docs/protocol.md §6.5) */
  evidence?: TemplateModules["evidence"];
  log: Logger;
  metrics?: Pick<Metrics, "miningClaimsTotal" | "miningBlocksProduced">;
}

/** Outcome counters, for the API and benchmarks. */
export interface ProducerStats {
  produced: number;
  superseded: number;
  failed: number;
}

/** The producer service. `start()`/`stop()` are idempotent. */
export class Producer {
  readonly stats: ProducerStats = { produced: 0, superseded: 0, failed: 0 };
  private controller?: AbortController;
  private loop?: Promise<void>;
  private attempted = "";
  private readonly now: () => number;
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;

  constructor(
    private readonly opts: ProducerOptions,
    private readonly m: ProducerModules,
  ) {
    const clock = opts.clock ?? systemClock;
    this.now = opts.now ?? (() => clock.now());
    this.sleep = opts.sleep ?? ((ms, signal) => sleep(clock, ms, signal));
  }

  start(): void {
    if (this.controller) return;
    const controller = new AbortController();
    this.controller = controller;
    this.loop = this.run(controller.signal);
  }

  async stop(): Promise<void> {
    this.controller?.abort();
    await this.loop;
    this.controller = undefined;
    this.loop = undefined;
  }

  private async run(signal: AbortSignal): Promise<void> {
    const tick = this.m.chain.spec.params.mining_tick_ms;
    while (!signal.aborted) {
      try {
        await this.tick(signal);
        await this.sleep(tick, signal);
      } catch (e) {
        if (signal.aborted) break;
        this.m.log.error({ err: (e as Error).message }, "Producer tick failed");
        await this.sleep(tick, signal).catch(() => undefined);
      }
    }
  }

  /** One producer tick: decide, wait for our slot, produce. Exposed for tests. */
  async tick(signal: AbortSignal): Promise<void> {
    if (!this.m.isEligible()) return;
    const { chain, log } = this.m;
    const parent = chain.head;
    if (this.attempted === parent.hash) return;
    this.attempted = parent.hash;
    const height = parent.height + 1;
    const schedule = await chain.scheduleFor(parent);
    const slot = schedule.winners.indexOf(this.opts.ebid);
    if (slot === -1) return;
    const p = chain.spec.params;
    const jitter = calculateJitter(schedule.seed, this.opts.ebid, p.jitter_min_ms, p.jitter_max_ms);
    const at = proposeAt(parent.timestamp, chain.headSeenAt, slot, jitter, p);
    const waitMs = Math.max(0, at - this.now());
    if (slot === 0) log.info({ height, slot, wait_ms: waitMs }, `🏆 I am PRIMARY winner for height ${height} (waiting ${waitMs}ms)`);
    else log.info({ height, slot, wait_ms: waitMs }, `🎫 I am backup #${slot} for height ${height} (waiting ${waitMs}ms)`);

    // Wait for our slot in short steps so a lower slot's block cancels the wait.
    while (this.now() < at) {
      await this.sleep(Math.min(p.mining_tick_ms, at - this.now()), signal);
      const cancel = this.cancelReason(parent, slot);
      if (cancel) {
        log.info({ height, slot, reason: cancel }, `⏭️ Height ${height} already produced by someone else`);
        return;
      }
    }
    const cancel = this.cancelReason(parent, slot);
    if (cancel) {
      log.info({ height, slot, reason: cancel }, `⏭️ Height ${height} already produced by someone else`);
      return;
    }
    this.m.claims.record(height, { winner_id: this.opts.ebid, tip_hash: parent.hash, claimed_at: this.now(), slot_idx: slot });
    this.m.metrics?.miningClaimsTotal.inc();
    try {
      log.info({ height, slot }, `📦 Proposing block for height ${height}`);
      const block = await this.build(parent, slot);
      log.info(
        { height, hash: block.hash, txs: block.txs.length, attestations: block.attestations.length },
        `✅ Block ${height} created: ${block.txs.length} txs, hash: ${block.hash}`,
      );
      const outcome = await chain.importBlock(block);
      if (outcome.status !== "imported") throw new Error(`own block not imported (${outcome.status})`);
      const { sent, skipped } = this.m.broadcast(block);
      log.info({ height, sent, skipped }, `📡 Block ${height} broadcast: ${sent} success, ${skipped} failed`);
      this.m.claims.settle(height, "produced", { block_hash: block.hash });
      this.stats.produced++;
      this.m.metrics?.miningBlocksProduced.inc();
      log.info({ height, hash: block.hash, slot }, `✨ Successfully produced block ${height}`);
    } catch (e) {
      this.stats.failed++;
      this.m.claims.settle(height, "failed", { error: (e as Error).message });
      log.warn({ height, err: (e as Error).message }, `⚠️ Failed to produce block ${height}: ${(e as Error).message}`);
    }
  }

  // A valid block at our height from a lower slot, or a tip that moved elsewhere, ends the wait.
  private cancelReason(parent: BlockMeta, slot: number): string | undefined {
    const head = this.m.chain.head;
    if (head.hash === parent.hash) return undefined;
    if (head.parent_hash === parent.hash && head.height === parent.height + 1) {
      if (head.slot !== null && head.slot < slot) {
        this.stats.superseded++;
        return `slot ${head.slot} produced ${head.hash.slice(0, 12)}`;
      }
      return undefined; // a higher slot or PoW block does not cancel a lower slot (docs/protocol.md §6)
    }
    this.stats.superseded++;
    return `tip changed to ${head.hash.slice(0, 12)} at height ${head.height}`;
  }

  private async build(parent: BlockMeta, slot: number): Promise<Block> {
    const p = this.m.chain.spec.params;
    const timestamp = Math.max(this.now(), slotOpensAt(parent.timestamp, slot, p));
    const t = await buildTemplate(this.m, parent, { producer: this.opts.ebid, slot, timestamp, difficulty: 0 }, this.opts.blsSecretKey);
    return sealGuarded(this.m.protection, t.header, t, this.opts.secretKey, this.m.chain.genesis.hash);
  }
}
