/**
 * Faults of the simulator's network and nodes, beside the adversaries of
 * sim/adversary.ts, all drawn from the run's seed (`deriveSeed(seed, "<label>")` in sim/driver.ts):
 *
 * - **restart** (label "restart"): `restartPlan` picks a fraction of the nodes (never a bootnode,
 *   never a node that crashes for good), a crash time and a downtime for each. The driver closes
 *   the node at its crash time and starts a new `VisionNode` at crash + downtime on the same
 *   in-memory chain store (`ChainDb.reopenMemory`: memory-level keeps its data across a close) and
 *   its slashing protection record (`SimNodeOptions.keepProtection`), so it comes back on its own
 *   data, dials the bootnodes, rediscovers peers and syncs. The report gives each one's catch-up
 *   time: virtual ms from its restart until its head first reaches the network's head (the highest
 *   head of the other live nodes at that moment).
 * - **partition** (no draw): `SimulationFaults.partition` cuts the network model's regions into two
 *   sides from `fromMs` to `toMs` virtual ms after genesis (`NetworkModel.partition` then `heal`).
 *   The report gives, per side, the blocks produced during the cut and the longest stall of the
 *   side's head; whether the sides diverged (different heads at the heal); the deepest reorg from
 *   the heal until every live node holds one head, and how long that took.
 * - **clock skew** (label "clock-skew"): `skewPlan` gives every node a whole-ms offset uniform in
 *   [-maxMs, +maxMs], at most the chain's `max_future_drift_ms` (docs/protocol.md §2.1 and §6: a
 *   block up to that far ahead of the receiver's clock is imported at once, further ahead is held).
 *   A node's clock is a view of the shared VirtualClock: `now()` (block timestamps, slot times, the
 *   future-drift check, slashing protection) reads virtual time plus its offset
 *   (`NodeOptions.clockOffsetMs`), and every timer still fires on the shared clock.
 *
 * `faultReport` turns a run's fault records into the report's `faults` section (pure: the same run
 * gives the same figures).
 */
import { z } from "zod";
import type { Clock, Rng } from "../util/clock.ts";
import type { ChainDb } from "../storage/chainDb.ts";
import { pickIndices, fractionOf } from "./adversary.ts";
import type { SimEvent } from "./summarize.ts";

/** The bootnodes (0 and 1) are never picked for a restart. */
const FIRST_PICKABLE = 2;

/** One planned restart: the node, its crash time (virtual ms after genesis) and how long it stays down (ms). */
export interface RestartPlan {
  node: number;
  crashAtMs: number;
  downMs: number;
}

/**
 * The restarts of a run: `round(fraction x nodes)` nodes of 2..nodes-1 outside `exclude` (the nodes
 * that crash for good), in ascending order, each crashing at a uniform whole ms in [fromMs, toMs)
 * and down for a uniform whole ms in [downMinMs, downMaxMs].
 * @throws RangeError when the fraction is outside [0, 1], there are not enough pickable nodes, or a
 *   window is empty or negative
 */
export function restartPlan(rng: Rng, nodes: number, fraction: number, fromMs: number, toMs: number, downMinMs: number, downMaxMs: number, exclude: readonly number[] = []): RestartPlan[] {
  const k = fractionOf(fraction, nodes, "restart");
  const skip = new Set(exclude);
  const pool: number[] = [];
  for (let i = FIRST_PICKABLE; i < nodes; i++) if (!skip.has(i)) pool.push(i);
  if (k > pool.length) throw new RangeError(`restart ${fraction} of ${nodes} nodes needs ${k}, only ${pool.length} are neither a bootnode nor crashing for good`);
  if (!(toMs >= fromMs && fromMs >= 0)) throw new RangeError(`restart crash window [${fromMs}, ${toMs}) ms is empty or negative`);
  if (!(Number.isFinite(downMinMs) && Number.isFinite(downMaxMs) && downMaxMs >= downMinMs && downMinMs >= 0)) throw new RangeError(`restart downtime ${downMinMs}-${downMaxMs} ms is empty or negative`);
  return pickIndices(rng, 0, pool.length, k).map((j) => ({
    node: pool[j]!,
    crashAtMs: fromMs + Math.floor(rng.next() * (toMs - fromMs)),
    downMs: downMinMs + Math.floor(rng.next() * (downMaxMs - downMinMs + 1)),
  }));
}

/**
 * Every node's clock offset (whole ms), uniform in [-maxMs, +maxMs]; all 0 when maxMs is 0 (no draw).
 * @throws RangeError when maxMs is not a whole number >= 0
 */
export function skewPlan(rng: Rng, nodes: number, maxMs: number): number[] {
  if (!(Number.isSafeInteger(maxMs) && maxMs >= 0)) throw new RangeError(`clock skew must be a whole number of ms >= 0, got ${maxMs}`);
  if (maxMs === 0) return new Array<number>(nodes).fill(0);
  return Array.from({ length: nodes }, () => rng.int(2 * maxMs + 1) - maxMs);
}

/** The chain's `max_future_drift_ms` (docs/protocol.md §2.1), the bound of an honest clock's skew. */
export function maxFutureDriftMs(params: { max_future_drift_ms: number }): number {
  return params.max_future_drift_ms;
}

/** A region partition: `sides[0]` cut off `sides[1]` from `fromMs` to `toMs` virtual ms after genesis. */
export interface PartitionFault {
  sides: [string[], string[]];
  fromMs: number;
  toMs: number;
}

/**
 * Checks a partition against the run's regions.
 * @throws RangeError for an unknown region, an empty side, a region on both sides, or a window that
 *   is not whole ms with 0 <= fromMs < toMs
 */
export function checkPartition(p: PartitionFault, regions: readonly string[]): void {
  const [a, b] = p.sides;
  if (a.length === 0 || b.length === 0) throw new RangeError("a partition needs regions on both sides");
  for (const r of [...a, ...b]) if (!regions.includes(r)) throw new RangeError(`unknown region "${r}" in the partition (known: ${regions.join(", ")})`);
  for (const r of a) if (b.includes(r)) throw new RangeError(`region "${r}" is on both sides of the partition`);
  if (new Set(a).size !== a.length || new Set(b).size !== b.length) throw new RangeError("a region is named twice on one side of the partition");
  if (!(Number.isSafeInteger(p.fromMs) && Number.isSafeInteger(p.toMs) && p.fromMs >= 0 && p.toMs > p.fromMs)) throw new RangeError(`partition window ${p.fromMs}-${p.toMs} ms must be whole ms with from < to`);
}

/**
 * Parses `--partition <regionsA>/<regionsB>@<fromMs>-<toMs>`: comma-separated region names on each
 * side (`rest` on side B: every region not on side A), virtual ms after genesis; e.g.
 * `us-east,us-west/rest@6000-20000`.
 * @throws RangeError with a one-line reason (bad syntax, or what `checkPartition` refuses)
 */
export function parsePartition(text: string, regions: readonly string[]): PartitionFault {
  const m = /^([a-z0-9,-]+)\/([a-z0-9,-]+)@([0-9]{1,10})-([0-9]{1,10})$/.exec(text);
  if (!m) throw new RangeError(`expected <regionsA>/<regionsB>@<fromMs>-<toMs>, e.g. us-east,us-west/rest@6000-20000 (regions: ${regions.join(", ")})`);
  const a = m[1]!.split(",");
  const b = m[2] === "rest" ? regions.filter((r) => !a.includes(r)) : m[2]!.split(",");
  const p: PartitionFault = { sides: [a, b], fromMs: Number(m[3]), toMs: Number(m[4]) };
  checkPartition(p, regions);
  return p;
}

/**
 * Parses a downtime range `<minMs>-<maxMs>` (whole ms, min <= max).
 * @throws RangeError with a one-line reason
 */
export function parseMsRange(text: string): [number, number] {
  const m = /^([0-9]{1,9})-([0-9]{1,9})$/.exec(text);
  if (!m || Number(m[1]) > Number(m[2])) throw new RangeError("expected <minMs>-<maxMs> with min <= max, e.g. 4000-10000");
  return [Number(m[1]), Number(m[2])];
}

/** What the driver recorded of the faults of a run (virtual ms since the epoch, like the events). */
export interface FaultRun {
  /** each restarted node: when it crashed, restarted (null: the run ended first) and caught up with the network's head (null: never) */
  restarts: { node: number; crashedAtMs: number; restartedAtMs: number | null; caughtUpAtMs: number | null }[];
  /** the partition (its times in ms since the epoch, like the events), its nodes on each side, and whether the run reached its heal */
  partition?: { sides: [string[], string[]]; nodes: [number[], number[]]; fromMs: number; toMs: number; healed: boolean };
  /** the clock skew bound and each node's offset (ms) */
  clockSkew?: { maxMs: number; offsetsMs: number[] };
}

const ms = z.number().finite().min(0);
const count = z.number().int().min(0);
const height = z.number().int().min(0);

/** The report's `faults` section (sim/report.ts); present only when the run had one of these faults. */
export const faultsReportSchema = z.strictObject({
  /**
   * each restarted node: crash and restart (ms after genesis), catch_up_ms from its restart until its
   * head first reached the other live nodes' highest head (null: not within the run)
   */
  restarts: z.array(z.strictObject({ node: count, crashed_at_ms: ms, restarted_at_ms: ms.nullable(), catch_up_ms: ms.nullable() })),
  /** catch-up over the restarted nodes that caught up: the longest (null: none) */
  catch_up_max_ms: ms.nullable(),
  /**
   * the partition: its regions and node count per side, its window (ms after genesis); per side the
   * blocks produced during the cut and the longest ms its head did not move then (from the cut to
   * the heal); diverged: the sides' highest heads differed at the heal; reorg_depth_at_heal: the most
   * blocks a node dropped from the heal until convergence; converged_after_ms: from the heal until
   * every live node held one head (null: not within the run)
   */
  partition: z
    .strictObject({
      sides: z.array(z.strictObject({ regions: z.array(z.string()), nodes: count, blocks_during: count, longest_stall_ms: ms, head_height_at_heal: height })),
      from_ms: ms,
      to_ms: ms,
      healed: z.boolean(),
      diverged: z.boolean(),
      longest_side_stall_ms: ms,
      reorg_depth_at_heal: count,
      reorged_nodes_at_heal: count,
      converged_after_ms: ms.nullable(),
    })
    .nullable(),
  /** every node's clock offset bound and its spread: min and max offset drawn (ms) */
  clock_skew: z.strictObject({ max_ms: count, min_offset_ms: z.number().int(), max_offset_ms: z.number().int(), offsets_ms: z.array(z.number().int()) }).nullable(),
});

/** See {@link faultsReportSchema}. */
export type FaultsReport = z.infer<typeof faultsReportSchema>;

type HeadEvent = Extract<SimEvent, { type: "head" }>;
type ProduceEvent = Extract<SimEvent, { type: "produce" }>;

/**
 * The report's `faults` section from a run's fault records and events (times in ms after `startMs`),
 * or undefined when the run had none of these faults.
 * @param crashed nodes that crashed for good (left out of convergence)
 */
export function faultReport(f: FaultRun | undefined, events: readonly SimEvent[], startMs: number, crashed: ReadonlySet<number>): FaultsReport | undefined {
  if (!f || (f.restarts.length === 0 && !f.partition && !f.clockSkew)) return undefined;
  const rel = (t: number) => Math.round((t - startMs) * 1e4) / 1e4;
  const restarts = f.restarts.map((r) => ({
    node: r.node,
    crashed_at_ms: rel(r.crashedAtMs),
    restarted_at_ms: r.restartedAtMs === null ? null : rel(r.restartedAtMs),
    catch_up_ms: r.restartedAtMs === null || r.caughtUpAtMs === null ? null : r.caughtUpAtMs - r.restartedAtMs,
  }));
  const caught = restarts.flatMap((r) => (r.catch_up_ms === null ? [] : [r.catch_up_ms]));
  const skew = f.clockSkew;
  return {
    restarts,
    catch_up_max_ms: caught.length ? Math.max(...caught) : null,
    partition: f.partition ? partitionFigures(f.partition, f.restarts, events, crashed, rel) : null,
    clock_skew: skew ? { max_ms: skew.maxMs, min_offset_ms: Math.min(...skew.offsetsMs), max_offset_ms: Math.max(...skew.offsetsMs), offsets_ms: skew.offsetsMs } : null,
  };
}

/** Events in time order, equal times in the order given. */
function inTimeOrder<T extends SimEvent>(events: readonly T[]): T[] {
  return events.map((e, i) => [e, i] as const).sort((a, b) => a[0].atMs - b[0].atMs || a[1] - b[1]).map(([e]) => e);
}

function partitionFigures(
  p: NonNullable<FaultRun["partition"]>,
  restarts: FaultRun["restarts"],
  events: readonly SimEvent[],
  crashed: ReadonlySet<number>,
  rel: (t: number) => number,
): NonNullable<FaultsReport["partition"]> {
  const sideOf = new Map<number, number>();
  p.nodes.forEach((nodes, s) => nodes.forEach((i) => sideOf.set(i, s)));
  const heads = inTimeOrder(events.filter((e): e is HeadEvent => e.type === "head"));
  const produced = events.filter((e): e is ProduceEvent => e.type === "produce");
  const down = (node: number, t: number) => crashed.has(node) || restarts.some((r) => r.node === node && r.crashedAtMs <= t && (r.restartedAtMs === null || t < r.restartedAtMs));

  // Per side: blocks produced during the cut, and the longest time its highest head did not rise.
  const sides = p.nodes.map((nodes, s) => {
    const during = produced.filter((e) => sideOf.get(e.node) === s && e.atMs >= p.fromMs && e.atMs < p.toMs).length;
    let top = -1;
    let last = p.fromMs;
    let longest = 0;
    let topHash = "";
    for (const e of heads) {
      if (sideOf.get(e.node) !== s || e.atMs > p.toMs) continue;
      if (e.height > top || (e.height === top && e.hash < topHash)) {
        if (e.height > top && e.atMs >= p.fromMs) {
          longest = Math.max(longest, e.atMs - last);
          last = e.atMs;
        }
        top = e.height;
        topHash = e.hash;
      }
    }
    const end = p.healed ? p.toMs : Math.max(last, ...heads.map((e) => e.atMs));
    longest = Math.max(longest, end - last);
    return { regions: p.sides[s]!, nodes: nodes.length, blocks_during: during, longest_stall_ms: longest, head_height_at_heal: Math.max(0, top), topHash };
  });

  // From the heal: the deepest reorg until every live node holds one head.
  const current = new Map<number, string>();
  let converged: number | null = null;
  let deepest = 0;
  const reorged = new Set<number>();
  for (const e of heads) {
    current.set(e.node, e.hash);
    if (!p.healed || e.atMs < p.toMs || converged !== null) continue;
    if (e.reorgDepth > 0) {
      deepest = Math.max(deepest, e.reorgDepth);
      reorged.add(e.node);
    }
    let all = true;
    for (const [node, hash] of current) {
      if (hash !== e.hash && !down(node, e.atMs)) {
        all = false;
        break;
      }
    }
    if (all) converged = e.atMs - p.toMs;
  }
  return {
    sides: sides.map(({ topHash: _, ...s }) => s),
    from_ms: rel(p.fromMs),
    to_ms: rel(p.toMs),
    healed: p.healed,
    diverged: sides[0]!.topHash !== sides[1]!.topHash && sides.every((s) => s.blocks_during > 0),
    longest_side_stall_ms: Math.max(...sides.map((s) => s.longest_stall_ms)),
    reorg_depth_at_heal: deepest,
    reorged_nodes_at_heal: reorged.size,
    converged_after_ms: converged,
  };
}

/** What `FaultState.schedule` needs of the driver. */
export interface FaultHooks {
  /** node i's running VisionNode */
  node(i: number): { close(): Promise<void>; readonly db: ChainDb };
  /** starts node i again on its closed memory store, and puts it in the driver's place of the old one */
  restart(i: number, reopen: ChainDb): Promise<void>;
  /** node i went down (the driver stops waiting for its head) */
  down(i: number): void;
  /** whether the run still records (a fault timer firing after the end does nothing) */
  recording(): boolean;
}

/**
 * The driver's state of the restart, partition and clock skew faults of one run (sim/driver.ts owns
 * the nodes; this owns the timers, who is down, the catch-up times and the heal).
 */
export class FaultState {
  private readonly planned = new Map<number, RestartPlan>();
  private readonly downSet = new Set<number>();
  private readonly record = new Map<number, { node: number; crashedAtMs: number; restartedAtMs: number | null; caughtUpAtMs: number | null }>();
  private healed = false;
  /** the run's genesis time (ms since the epoch), set by `schedule` */
  private startMs = 0;
  private sideNodes: [number[], number[]] = [[], []];
  /** every restart chained, oldest first; never rejects (a failure is kept in `error`) */
  restarting: Promise<void> = Promise.resolve();
  /** the first restart that failed to start its node */
  error: unknown;

  /**
   * @param plan the restarts (restartPlan)
   * @param offsets each node's clock offset (skewPlan), already given to the nodes
   * @param partition the partition, already checked (checkPartition)
   * @param skewMs the skew bound offsets were drawn in
   * @param regionOf each node's region (by index)
   */
  constructor(
    plan: readonly RestartPlan[],
    private readonly offsets: readonly number[],
    private readonly partition: PartitionFault | undefined,
    private readonly skewMs: number,
    regionOf: readonly string[],
  ) {
    for (const r of plan) this.planned.set(r.node, r);
    if (partition) this.sideNodes = [0, 1].map((s) => regionOf.flatMap((r, i) => (partition.sides[s]!.includes(r) ? [i] : []))) as [number[], number[]];
  }

  /** Whether node i is planned to restart (it keeps its slashing protection record). */
  restarts(i: number): boolean {
    return this.planned.has(i);
  }

  /** Whether node i is between its crash and its restart. */
  isDown(i: number): boolean {
    return this.downSet.has(i);
  }

  /** Sets the crash, restart, cut and heal timers on the clock (times after `startMs`). */
  schedule(clock: Clock, startMs: number, model: { partition(a: readonly string[], b: readonly string[]): void; heal(): void }, hooks: FaultHooks): void {
    this.startMs = startMs;
    for (const r of this.planned.values()) {
      clock.setTimeout(() => {
        if (!hooks.recording()) return;
        const node = hooks.node(r.node);
        this.downSet.add(r.node);
        this.record.set(r.node, { node: r.node, crashedAtMs: clock.now(), restartedAtMs: null, caughtUpAtMs: null });
        hooks.down(r.node);
        const closed = node.close().catch((e: unknown) => void (this.error ??= e));
        clock.setTimeout(() => {
          if (!hooks.recording()) return;
          this.restarting = this.restarting.then(async () => {
            await closed;
            if (!hooks.recording() || this.error !== undefined) return;
            await hooks.restart(r.node, node.db).catch((e: unknown) => void (this.error ??= e));
          });
        }, r.downMs);
      }, startMs + r.crashAtMs - clock.now());
    }
    const p = this.partition;
    if (p) {
      clock.setTimeout(() => hooks.recording() && model.partition(p.sides[0], p.sides[1]), startMs + p.fromMs - clock.now());
      clock.setTimeout(() => {
        if (!hooks.recording()) return;
        model.heal();
        this.healed = true;
      }, startMs + p.toMs - clock.now());
    }
  }

  /** A restarted node is up again (its head at `height`): it may already hold the network's head. */
  onRestarted(i: number, nowMs: number, height: number, liveHeight: (j: number) => number | undefined): void {
    this.downSet.delete(i);
    const rec = this.record.get(i);
    if (!rec) return;
    rec.restartedAtMs = nowMs;
    this.onHead(i, height, nowMs, liveHeight);
  }

  /** Node i's head moved to `height`: a restarted node catches up when it reaches the other live nodes' highest head. */
  onHead(i: number, height: number, nowMs: number, liveHeight: (j: number) => number | undefined): void {
    const rec = this.record.get(i);
    if (!rec || rec.restartedAtMs === null || rec.caughtUpAtMs !== null) return;
    let top = 0;
    for (let j = 0; j < this.offsets.length; j++) if (j !== i) top = Math.max(top, liveHeight(j) ?? 0);
    if (height >= top) rec.caughtUpAtMs = nowMs;
  }

  /**
   * Whether the faults let the run end: every planned restart happened and caught up, and a partition
   * healed with every live node on one head (`liveHead`: node j's head hash, undefined while down).
   */
  settled(liveHead: (j: number) => string | undefined): boolean {
    for (const r of this.planned.keys()) if (this.record.get(r)?.caughtUpAtMs == null) return false;
    if (!this.partition) return true;
    if (!this.healed) return false;
    let head: string | undefined;
    for (let j = 0; j < this.offsets.length; j++) {
      const h = liveHead(j);
      if (h === undefined) continue;
      if (head !== undefined && h !== head) return false;
      head = h;
    }
    return true;
  }

  /** The run's fault records for `SimRun.faults`, or nothing when it had none of these faults. */
  run(): { faults?: FaultRun } {
    if (this.planned.size === 0 && !this.partition && this.skewMs === 0) return {};
    const p = this.partition;
    return {
      faults: {
        restarts: [...this.planned.keys()].sort((a, b) => a - b).flatMap((i) => {
          const r = this.record.get(i);
          return r ? [{ ...r }] : [];
        }),
        ...(p ? { partition: { sides: p.sides, nodes: this.sideNodes, fromMs: this.startMs + p.fromMs, toMs: this.startMs + p.toMs, healed: this.healed } } : {}),
        ...(this.skewMs > 0 ? { clockSkew: { maxMs: this.skewMs, offsetsMs: [...this.offsets] } } : {}),
      },
    };
  }
}
