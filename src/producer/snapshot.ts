/**
 * The network snapshot updater (the Proof-of-Sync mining spec, docs/protocol.md §6.1): once a
 * second it reads the local tip and the live peers' counted heights (what they backed, not what
 * they claim), and keeps the sync state and eligibility streak.
 */
import type { Logger } from "pino";
import type { ChainParams } from "../consensus/params.ts";
import { nextSnapshot, proofOfSyncEligible, type NetworkSnapshot } from "../consensus/eligibility.ts";
import { systemClock, type Clock, type Timer } from "../util/clock.ts";

/** Where the updater reads from. */
export interface SnapshotSources {
  tip(): { height: number; hash: string };
  /** the counted heights of live peers (backed heights only: `countedHeights`, docs/protocol.md §6.1; never our own) */
  peerHeights(): number[];
}

/** Keeps the latest NetworkSnapshot. */
export class SnapshotUpdater {
  private snap: NetworkSnapshot;
  private timer?: Timer;
  private lastLogged = 0;

  constructor(
    private readonly params: ChainParams,
    private readonly sources: SnapshotSources,
    private readonly log: Logger,
    private readonly intervalMs = 1000,
    /** the interval's timer and the log throttle's time */
    private readonly clock: Clock = systemClock,
  ) {
    const tip = sources.tip();
    this.snap = nextSnapshot(0, tip.height, tip.hash, [], params);
  }

  /** The latest snapshot. */
  get current(): NetworkSnapshot {
    return this.snap;
  }

  /** Proof-of-Sync eligibility from the latest snapshot. */
  get eligible(): boolean {
    return proofOfSyncEligible(this.snap, this.params);
  }

  /** Computes one snapshot now (also called by the timer). */
  tick(): NetworkSnapshot {
    const tip = this.sources.tip();
    const prev = this.snap;
    this.snap = nextSnapshot(prev.eligible_streak, tip.height, tip.hash, this.sources.peerHeights(), this.params);
    const s = this.snap;
    const line = { height: s.local_height, lag: s.lag_blocks, peers: s.ready_peers, state: s.sync_state, streak: s.eligible_streak };
    const msg = `Network snapshot: height=${s.local_height}, lag=${s.lag_blocks}, peers=${s.ready_peers}, state=${s.sync_state}, streak=${s.eligible_streak}`;
    // The mining spec logs every tick; at info we log changes of state or eligibility and every 30 s.
    const changed = prev.sync_state !== s.sync_state || proofOfSyncEligible(prev, this.params) !== this.eligible || prev.ready_peers !== s.ready_peers;
    if (changed || this.clock.now() - this.lastLogged >= 30_000) {
      this.lastLogged = this.clock.now();
      this.log.info({ ...line, eligible: this.eligible }, msg);
    } else {
      this.log.debug(line, msg);
    }
    return s;
  }

  start(): void {
    if (this.timer) return;
    this.timer = this.clock.setInterval(() => this.tick(), this.intervalMs).unref();
  }

  stop(): void {
    this.clock.clearInterval(this.timer);
    this.timer = undefined;
  }
}
