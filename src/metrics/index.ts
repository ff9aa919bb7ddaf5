/**
 * Prometheus metrics (`prom-client`), served at `GET /metrics` (docs/protocol.md §10). The
 * Proof-of-Sync mining spec's five mining metrics keep their names (`mining_blocks_produced` beside
 * the conventional `mining_blocks_produced_total`); the rest follow Prometheus conventions
 * (`vision_` prefix, units in the name, `_total` for counters), and `promtool check metrics` passes.
 * Values the node already holds (height, peers, mempool, sync) are read at scrape time through
 * `collect` callbacks, so nothing on the hot path updates them.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { buildInfo } from "../version.ts";
import { ExpositionCache } from "./exposition.ts";

export { EXPOSITION_MAX_AGE_MS, ExpositionCache } from "./exposition.ts";

/** Traffic direction label. */
export type Direction = "in" | "out";

/** Read at scrape time: views of the node's state. */
export interface MetricSources {
  height(): number;
  /** eligible pool size for the next height (`mining_eligible_nodes`) */
  poolSize(): number;
  /** this node's slot for the next height, -1 when it has none */
  mySlot(): number;
  peers(): number;
  mempoolSize(): number;
  sync(): { syncing: boolean; target_height: number; imported: number };
  /** PoW hashes tried since start */
  powHashes(): number;
  eligible(): boolean;
  /**
   * Heights of the checkpoints the API reports (`api/finality.ts`): `finalized`, the chain's
   * finalized checkpoint (docs/protocol.md §7); `justified`, the chain's justified one (§7).
   */
  finality(): { finalized: number; justified: number };
  /** whether slashing protection saw another running instance of this node's key (docs/protocol.md §6.6); default false */
  doppelganger?(): boolean;
  /** peers in the mesh gossip's mesh (docs/protocol.md §9.5.1); 0 when absent */
  meshPeers?(): number;
}

/** The node's metrics, typed. */
export interface Metrics {
  registry: Registry;
  /** stops the event-loop delay probe (`vision_eventloop_delay_seconds`), if it runs */
  stop(): void;
  /** the registry's text exposition, at most 2 s old, rendered at most once a second (what `GET /metrics` serves) */
  exposition: ExpositionCache;
  miningClaimsTotal: Counter;
  /** counts into `mining_blocks_produced_total` and its original-name twin `mining_blocks_produced` */
  miningBlocksProduced: { inc(blocks?: number): void };
  miningSlotDistribution: Histogram;
  blockImportSeconds: Histogram;
  blocksImportedTotal: Counter;
  reorgsTotal: Counter;
  reorgDepth: Histogram;
  p2pMessagesTotal: Counter<"direction" | "type">;
  p2pBytesTotal: Counter<"direction" | "type">;
  /**
   * Counts one P2P message of `type` and its `bytes` into `p2pMessagesTotal` and `p2pBytesTotal`:
   * tallied in a plain map and added to the two counters when they are read (a scrape, `get()`), so
   * the per-message cost is a map lookup instead of two label hashes.
   */
  countP2P(direction: "in" | "out", type: string, bytes: number): void;
  /** full gossip copies received after the first, by kind (docs/protocol.md §9.5.1) */
  gossipDuplicatesTotal: Counter<"kind">;
  /** gossip ids in `ihave` and `iwant` messages, by control type and direction */
  gossipControlIdsTotal: Counter<"control" | "direction">;
  powBlocksMinedTotal: Counter;
  powJobsTotal: Counter<"outcome">;
  powAbortSeconds: Histogram;
  /** validators active at the epoch of the next height (docs/protocol.md §5), set at each head */
  validatorsActive: Gauge;
  /** of those, the ones in the pool for the next height (active and live), set at each head */
  validatorsLive: Gauge;
  /** RANDAO reveals whose BLS signature verified, in imported blocks (docs/protocol.md §6.4) */
  randaoRevealsVerifiedTotal: Counter;
  /** signatures slashing protection refused, by kind (`block`, `vote`: docs/protocol.md §6.6) */
  slashingProtectionRefusals: Counter<"kind">;
  /** slashing items executed by blocks that joined the canonical chain (docs/protocol.md §6.5), counted at head moves */
  slashingsTotal: Counter;
}

/** Slots 0..6 and 7 for a PoW (slot null) block. */
export const POW_SLOT_BUCKET = 7;

/** prom-client default metrics left out: gauges with a counter's `_total` suffix. */
export const MISNAMED_DEFAULTS = ["nodejs_active_handles_total", "nodejs_active_requests_total", "nodejs_active_resources_total"];

/**
 * Blocks produced, as the conventional counter `mining_blocks_produced_total` and, under the mining
 * spec's original name, a gauge `mining_blocks_produced` with the same value (a counter must end in
 * `_total`; the original name stays for the dashboards and scripts that know it).
 */
function blocksProduced(r: Registry[]): Metrics["miningBlocksProduced"] {
  let produced = 0;
  const total = new Counter({ name: "mining_blocks_produced_total", help: "Blocks this node produced in its slot (the Proof-of-Sync mining spec's mining_blocks_produced)", registers: r });
  new Gauge({ name: "mining_blocks_produced", help: "Same value as mining_blocks_produced_total, under the mining spec's original name", registers: r, collect() { this.set(produced); } });
  return {
    inc(blocks = 1) {
      produced += blocks;
      total.inc(blocks);
    },
  };
}

/** How often the event-loop delay probe's timer is due (ms). */
export const LOOP_PROBE_MS = 20;

/**
 * `vision_eventloop_delay_seconds`: how late a timer due every LOOP_PROBE_MS fires, a histogram over
 * the process's life. prom-client's `nodejs_eventloop_lag_*` gauges cover one scrape interval each
 * (reset at every scrape), so the p99 over a run (a drill's goal) cannot be read from them; bucket
 * counts read at two times give the delays between them. The timer is unref'd.
 */
function eventLoopProbe(registers: Registry[]): NodeJS.Timeout {
  const delay = new Histogram({
    name: "vision_eventloop_delay_seconds",
    help: `How late a timer due every ${LOOP_PROBE_MS} ms fires: the event loop's delay, over the process's life`,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers,
  });
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    delay.observe(Math.max(0, now - last - LOOP_PROBE_MS) / 1000);
    last = now;
  }, LOOP_PROBE_MS);
  timer.unref();
  return timer;
}

/**
 * Builds the registry with process defaults and every node metric.
 * @param opts.processMetrics prom-client's process defaults (event loop delay, GC, heap, handles);
 *   default true. A simulation of many nodes in one process leaves them out (one set would observe
 *   every node's work, and each set adds its own GC observer and event loop delay timer).
 */
export function createMetrics(src: MetricSources, opts: { processMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  const processMetrics = opts.processMetrics ?? true;
  if (processMetrics) collectDefaultMetrics({ register: registry });
  // prom-client's handle/request/resource totals are gauges named like counters (promtool refuses
  // them); the same counts by type stay in nodejs_active_handles, _requests and _resources.
  for (const name of MISNAMED_DEFAULTS) registry.removeSingleMetric(name);
  const r = [registry];
  const probe = processMetrics ? eventLoopProbe(r) : undefined;
  const build = buildInfo();
  new Gauge({ name: "vision_build_info", help: "Always 1; the labels say which build runs (commit \"unknown\" when not built from a checkout)", labelNames: ["version", "commit", "node_version"], registers: r })
    .set({ version: build.version, commit: build.commit ?? "unknown", node_version: build.nodeVersion }, 1);
  new Gauge({ name: "mining_eligible_nodes", help: "Eligible pool size for the next height (Proof-of-Sync mining spec)", registers: r, collect() { this.set(src.poolSize()); } });
  new Gauge({ name: "mining_my_slot", help: "This node's slot for the next height: 0 = primary, -1 = none (Proof-of-Sync mining spec)", registers: r, collect() { this.set(src.mySlot()); } });
  new Gauge({ name: "vision_eligible", help: "1 when this node is Proof-of-Sync eligible", registers: r, collect() { this.set(src.eligible() ? 1 : 0); } });
  new Gauge({ name: "vision_chain_height", help: "Height of the tip (blocks)", registers: r, collect() { this.set(src.height()); } });
  new Gauge({ name: "vision_finalized_height", help: "Height of the chain's finalized checkpoint: nothing at or below it is ever reverted (blocks)", registers: r, collect() { this.set(src.finality().finalized); } });
  new Gauge({ name: "vision_justified_height", help: "Height of the chain's justified checkpoint (blocks; docs/protocol.md §7)", registers: r, collect() { this.set(src.finality().justified); } });
  new Gauge({
    name: "vision_doppelganger", help: "1 while slashing protection holds votes back because another running instance of this node's key was seen (docs/protocol.md §6.6)", registers: r,
    collect() { this.set(src.doppelganger?.() ? 1 : 0); },
  });
  new Gauge({ name: "vision_peers", help: "Peers with a completed handshake", registers: r, collect() { this.set(src.peers()); } });
  new Gauge({ name: "vision_mempool_size", help: "Pending transfers in the mempool", registers: r, collect() { this.set(src.mempoolSize()); } });
  new Gauge({ name: "vision_sync_syncing", help: "1 while a sync runs", registers: r, collect() { this.set(src.sync().syncing ? 1 : 0); } });
  new Gauge({ name: "vision_sync_target_height", help: "Height the running or last sync aimed at (blocks)", registers: r, collect() { this.set(src.sync().target_height); } });
  new Gauge({ name: "vision_sync_imported_blocks", help: "Blocks imported by the running or last sync", registers: r, collect() { this.set(src.sync().imported); } });
  new Counter({ name: "vision_pow_hashes_total", help: "PoW hashes tried by this node's workers", registers: r, collect() { this.reset(); this.inc(src.powHashes()); } });
  let last: { at: number; hashes: number } | undefined; // first read at the first scrape
  new Gauge({
    name: "vision_pow_hash_rate", help: "PoW hashes per second since the previous scrape", registers: r,
    collect() {
      const now = { at: performance.now(), hashes: src.powHashes() };
      this.set(last && now.at > last.at ? ((now.hashes - last.hashes) * 1000) / (now.at - last.at) : 0);
      last = now;
    },
  });
  const powJobsTotal = new Counter({ name: "vision_pow_jobs_total", help: "PoW jobs by outcome (mined, aborted, lost, failed)", labelNames: ["outcome"], registers: r });
  for (const outcome of ["mined", "aborted", "lost", "failed"]) powJobsTotal.inc({ outcome }, 0); // series exist before the first job
  new Gauge({ name: "vision_gossip_mesh_peers", help: "Peers in this node's gossip mesh: they get every block, attestation and transfer in full (docs/protocol.md §9.5.1)", registers: r, collect() { this.set(src.meshPeers?.() ?? 0); } });
  const gossipDuplicatesTotal = new Counter({ name: "vision_gossip_duplicates_total", help: "Full gossip copies received after the first, by kind", labelNames: ["kind"], registers: r });
  for (const kind of ["block", "attestation", "tx"]) gossipDuplicatesTotal.inc({ kind }, 0);
  const gossipControlIdsTotal = new Counter({ name: "vision_gossip_control_ids_total", help: "Gossip ids in ihave (announced) and iwant (asked for) messages, by direction", labelNames: ["control", "direction"], registers: r });
  for (const control of ["ihave", "iwant"]) for (const direction of ["in", "out"]) gossipControlIdsTotal.inc({ control, direction }, 0);
  const slashingProtectionRefusals = new Counter({
    name: "vision_slashing_protection_refusals_total", help: "Blocks and votes slashing protection refused to sign (they would conflict with what this key signed)", labelNames: ["kind"], registers: r,
  });
  for (const kind of ["block", "vote"]) slashingProtectionRefusals.inc({ kind }, 0);
  // P2P messages and bytes counted since the last read of either counter (countP2P), by direction and type
  const p2pTally = new Map<string, { labels: { direction: string; type: string }; messages: number; bytes: number }>();
  const flushP2P = () => {
    for (const t of p2pTally.values()) {
      if (t.messages === 0) continue;
      p2pMessagesTotal.inc(t.labels, t.messages);
      p2pBytesTotal.inc(t.labels, t.bytes);
      t.messages = 0;
      t.bytes = 0;
    }
  };
  const p2pMessagesTotal = new Counter({ name: "vision_p2p_messages_total", help: "P2P messages by direction and type", labelNames: ["direction", "type"], registers: r, collect: flushP2P });
  const p2pBytesTotal = new Counter({ name: "vision_p2p_bytes_total", help: "P2P bytes by direction and message type", labelNames: ["direction", "type"], registers: r, collect: flushP2P });
  return {
    stop: () => clearInterval(probe),
    registry,
    exposition: new ExpositionCache(registry),
    powJobsTotal,
    slashingProtectionRefusals,
    gossipDuplicatesTotal,
    gossipControlIdsTotal,
    slashingsTotal: new Counter({ name: "vision_slashings_total", help: "Slashing items executed by blocks as they joined the canonical chain (a reorg's new branch counts again)", registers: r }),
    miningClaimsTotal: new Counter({ name: "mining_claims_total", help: "Claim receipts recorded: slots this node set out to produce (Proof-of-Sync mining spec)", registers: r }),
    miningBlocksProduced: blocksProduced(r),
    miningSlotDistribution: new Histogram({
      name: "mining_slot_distribution", help: "Slot that produced each canonical block: 0 = primary, 1..6 backups, 7 = PoW (Proof-of-Sync mining spec)",
      buckets: [0, 1, 2, 3, 4, 5, 6, POW_SLOT_BUCKET], registers: r,
    }),
    blockImportSeconds: new Histogram({ name: "vision_block_import_seconds", help: "Validation, execution and storage of one block", buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1], registers: r }),
    blocksImportedTotal: new Counter({ name: "vision_blocks_imported_total", help: "Blocks imported (any branch)", registers: r }),
    reorgsTotal: new Counter({ name: "vision_reorgs_total", help: "Head changes that left the old branch", registers: r }),
    reorgDepth: new Histogram({ name: "vision_reorg_depth_blocks", help: "Blocks orphaned by each reorg", buckets: [1, 2, 3, 5, 10, 20, 50], registers: r }),
    p2pMessagesTotal,
    p2pBytesTotal,
    countP2P(direction, type, bytes) {
      const key = `${direction} ${type}`;
      const t = p2pTally.get(key);
      if (t) {
        t.messages++;
        t.bytes += bytes;
      } else p2pTally.set(key, { labels: { direction, type }, messages: 1, bytes });
    },
    powBlocksMinedTotal: new Counter({ name: "vision_pow_blocks_mined_total", help: "PoW blocks this node mined that became the tip", registers: r }),
    powAbortSeconds: new Histogram({ name: "vision_pow_abort_seconds", help: "From a competing block to every worker stopped", buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1], registers: r }),
    validatorsActive: new Gauge({ name: "vision_validators_active", help: "Validators active at the epoch of the next height", registers: r }),
    validatorsLive: new Gauge({ name: "vision_validators_live", help: "Active validators in the pool for the next height (produced or attested in the liveness window, or newly active)", registers: r }),
    randaoRevealsVerifiedTotal: new Counter({ name: "vision_randao_reveals_verified_total", help: "RANDAO reveals whose BLS signature verified in blocks this node validated", registers: r }),
  };
}
