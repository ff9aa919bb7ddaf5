/**
 * The simulator's figures from a run's raw events: `summarize(run)` gives the {@link SimReport}.
 * Pure and deterministic: times are the virtual clock's ms, percentiles are nearest rank over
 * sorted samples (the drills' definition), ties are broken by hash or node index, and every
 * number is rounded to 4 decimals; the events' order matters only between equal times.
 */
import type { SimReport, Stats } from "./report.ts";
import type { AttackCounters } from "./attacks.ts";
import type { EquivocationStats } from "./equivocation.ts";
import { faultReport, type FaultRun } from "./faults.ts";

/**
 * What the simulator records (node: index 0..nodes-1, atMs: virtual ms):
 * - `produce`: a node produced a block (it holds it from then on);
 * - `deliver`: a copy of a block message reached a node (every copy: the first is its arrival, the
 *   others are duplicates);
 * - `head`: a node's head changed; `reorgDepth` blocks of its old branch were dropped (0: an extension);
 * - `finalize`: a node's finalized checkpoint moved.
 */
export type SimEvent =
  | { type: "produce"; atMs: number; node: number; hash: string; parent: string; height: number; slot: number; producer: string }
  | { type: "deliver"; atMs: number; node: number; hash: string }
  | { type: "head"; atMs: number; node: number; height: number; hash: string; reorgDepth: number }
  | { type: "finalize"; atMs: number; node: number; height: number; hash: string };

/** One run: its parameters, validators (by id, an adversary's name when it is one), per-node network counters and events. */
export interface SimRun {
  nodes: number;
  /** the heights asked for */
  heights: number;
  seed: number;
  startMs: number;
  endMs: number;
  validators: { id: string; adversary?: string }[];
  /** index = node */
  traffic: { bytesSent: number; bytesReceived: number }[];
  events: SimEvent[];
  /** nodes that crashed (sim/adversary.ts), when: they are left out of the canonical vote, propagation and finality lag */
  crashed?: { node: number; atMs: number }[];
  /** the chain's stall bound (ms, sim/adversary.ts stallWindowMs): the report counts the canonical intervals above it */
  stallWindowMs?: number;
  /** the protocol attacks' counters (sim/attacks.ts), copied to the report's `attacks` */
  attacks?: AttackCounters;
  /** restarts, the partition and clock skew (sim/faults.ts): the report's `faults` section */
  faults?: FaultRun;
  /** each equivocating adversary's counters and its members' slashings on node 0's chain (sim/equivocation.ts): the report's `slashing` */
  equivocation?: readonly EquivocationStats[];
}

/** Points of a CDF grid: q = 0, 0.01, ..., 1. */
export const CDF_POINTS = 101;

/** x rounded to 4 decimals (never -0). */
export function round(x: number): number {
  return Math.round(x * 1e4) / 1e4 || 0;
}

/** Nearest-rank percentile p (0..100) of an ascending sample; null when empty. */
export function nearestRank(sorted: ArrayLike<number>, p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p * sorted.length) / 100) - 1))]!;
}

/** The sample's value at q = i/(points-1) for i = 0..points-1 (nearest rank), rounded; [] when empty. */
export function cdf(samples: Iterable<number>, points = CDF_POINTS): { q: number; ms: number }[] {
  const s = Float64Array.from(samples).sort();
  if (s.length === 0) return [];
  return Array.from({ length: points }, (_, i) => ({
    q: round(i / (points - 1)),
    ms: round(s[Math.min(s.length - 1, Math.max(0, Math.ceil((i * s.length) / (points - 1)) - 1))]!),
  }));
}

/** Count, min, mean, p50/90/95/99 and max of a sample, rounded. */
export function stats(samples: Iterable<number>): Stats {
  const s = Float64Array.from(samples).sort();
  const at = (p: number) => (s.length ? round(nearestRank(s, p)!) : null);
  let sum = 0;
  for (const x of s) sum += x;
  return { count: s.length, min: at(0), mean: s.length ? round(sum / s.length) : null, p50: at(50), p90: at(90), p95: at(95), p99: at(99), max: at(100) };
}

interface BlockRec {
  hash: string;
  parent: string;
  height: number;
  slot: number;
  producer: string;
  node: number;
  atMs: number;
  /** first arrival per node (NaN: never) */
  arrival: Float64Array;
  /** copies delivered per node */
  copies: Uint32Array;
}

/** Events in time order, equal times in the order given. */
function timeOrder<T extends SimEvent>(events: T[]): T[] {
  return events.map((e, i) => [e, i] as const).sort((a, b) => a[0].atMs - b[0].atMs || a[1] - b[1]).map(([e]) => e);
}

/** Hash order for ties, so no figure depends on Map or event order. */
const byHash = (a: { hash: string }, b: { hash: string }) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0);

/**
 * The report of a run. The canonical chain is the one ending at the head most nodes hold at the end
 * (ties: the higher, then the lower hash), or at the highest block when no node reported a head.
 * @throws RangeError when an event names a node outside 0..nodes-1, the traffic counters are not one
 *   per node, or the run ends before it starts
 */
export function summarize(run: SimRun): SimReport {
  const n = run.nodes;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`a run of ${n} nodes`);
  if (run.traffic.length !== n) throw new RangeError(`traffic counters for ${run.traffic.length} nodes in a run of ${n}`);
  if (!(run.endMs >= run.startMs)) throw new RangeError(`the run ends (${run.endMs} ms) before it starts (${run.startMs} ms)`);
  const blocks = new Map<string, BlockRec>();
  const heads: Extract<SimEvent, { type: "head" }>[] = [];
  const finals: Extract<SimEvent, { type: "finalize" }>[] = [];
  const delivers: Extract<SimEvent, { type: "deliver" }>[] = [];
  for (const e of run.events) {
    if (!Number.isInteger(e.node) || e.node < 0 || e.node >= n) throw new RangeError(`event ${e.type} at ${e.atMs} ms names node ${e.node} of ${n}`);
    if (e.type === "produce") {
      if (blocks.has(e.hash)) continue;
      const arrival = new Float64Array(n).fill(Number.NaN);
      arrival[e.node] = e.atMs;
      const { hash, parent, height, slot, producer, node, atMs } = e;
      blocks.set(e.hash, { hash, parent, height, slot, producer, node, atMs, arrival, copies: new Uint32Array(n) });
    } else if (e.type === "deliver") delivers.push(e);
    else if (e.type === "head") heads.push(e);
    else finals.push(e);
  }
  for (const d of delivers) {
    const b = blocks.get(d.hash);
    if (!b) continue;
    b.copies[d.node]!++;
    const a = b.arrival[d.node]!;
    if (!(a <= d.atMs)) b.arrival[d.node] = d.atMs;
  }
  const all = [...blocks.values()].sort((a, b) => a.height - b.height || a.atMs - b.atMs || byHash(a, b));

  // Nodes that crashed are out of the canonical vote, the propagation population and the finality lag.
  const crashed = new Set((run.crashed ?? []).map((c) => c.node));
  const live: number[] = [];
  for (let node = 0; node < n; node++) if (!crashed.has(node)) live.push(node);
  if (live.length === 0) throw new RangeError(`every node of ${n} crashed`);

  // The canonical chain, from its head back to the first block whose parent was not produced in the run.
  const lastHead = new Map<number, string>();
  for (const e of timeOrder(heads)) if (!crashed.has(e.node)) lastHead.set(e.node, e.hash);
  const votes = new Map<string, number>();
  for (const hh of lastHead.values()) votes.set(hh, (votes.get(hh) ?? 0) + 1);
  const candidates = [...votes].map(([hash, v]) => ({ hash, v, height: blocks.get(hash)?.height ?? -1 }));
  candidates.sort((a, b) => b.v - a.v || b.height - a.height || byHash(a, b));
  let tip = candidates[0] ? blocks.get(candidates[0].hash) : undefined;
  if (!tip) for (const b of all) if (!tip || b.height > tip.height) tip = b;
  const canonical: BlockRec[] = [];
  for (let b = tip; b; b = blocks.get(b.parent)) canonical.push(b);
  canonical.reverse();
  const onCanonical = new Set(canonical.map((b) => b.hash));

  // Agreement: each node's last finalized block is on the canonical chain (or the chain's tip is its ancestor).
  const lastFinal = new Map<number, { height: number; hash: string }>();
  for (const e of timeOrder(finals)) lastFinal.set(e.node, e);
  const extendsTip = (hash: string) => {
    for (let b = blocks.get(hash); b; b = blocks.get(b.parent)) if (b === tip) return true;
    return false;
  };
  const disagreeing: number[] = [];
  const finalizedHeights: number[] = [];
  for (let node = 0; node < n; node++) {
    const f = lastFinal.get(node);
    if (!crashed.has(node)) finalizedHeights.push(f?.height ?? 0);
    if (f && f.height > 0 && !onCanonical.has(f.hash) && !extendsTip(f.hash)) disagreeing.push(node);
  }

  // Reorgs.
  const reorgs = heads.filter((e) => e.reorgDepth > 0);

  // Slots and adversaries, over canonical blocks.
  const bySlot = new Map<number, number>();
  for (const b of canonical) bySlot.set(b.slot, (bySlot.get(b.slot) ?? 0) + 1);
  const shareOf = (k: number, of: number) => (of === 0 ? 0 : round(k / of));
  const slots = [...bySlot].sort((a, b) => a[0] - b[0]).map(([slot, k]) => ({ slot, blocks: k, share: shareOf(k, canonical.length) }));
  const adversaryOf = new Map(run.validators.filter((v) => v.adversary).map((v) => [v.id, v.adversary!]));
  const names = [...new Set(adversaryOf.values())].sort();
  const adversaries = names.map((name) => {
    const validators = run.validators.filter((v) => v.adversary === name).length;
    const produced = canonical.filter((b) => adversaryOf.get(b.producer) === name).length;
    return { name, validators, validator_share: shareOf(validators, run.validators.length), blocks: produced, production_share: shareOf(produced, canonical.length) };
  });

  // Propagation and duplicates, over every block produced.
  const nl = live.length;
  const need = [Math.ceil((50 * nl) / 100), Math.ceil((95 * nl) / 100), nl] as const;
  const arrivals: number[] = [];
  const dupes: number[] = [];
  let copies = 0;
  const perBlock = all.map((b) => {
    const delays: number[] = [];
    for (let node = 0; node < n; node++) {
      const a = b.arrival[node]!;
      if (Number.isNaN(a)) continue;
      if (!crashed.has(node)) {
        delays.push(a - b.atMs);
        if (node !== b.node) arrivals.push(a - b.atMs);
      }
      const extra = b.copies[node]! - (node === b.node ? 0 : 1);
      dupes.push(extra);
      copies += extra;
    }
    delays.sort((x, y) => x - y);
    const reach = (k: number) => (delays.length >= k ? round(delays[k - 1]!) : null);
    return { height: b.height, hash: b.hash, producer: b.producer, slot: b.slot, produced_at_ms: round(b.atMs - run.startMs), to_50_ms: reach(need[0]), to_95_ms: reach(need[1]), to_100_ms: reach(need[2]) };
  });
  const reached = (k: "to_50_ms" | "to_95_ms" | "to_100_ms") => perBlock.flatMap((b) => (b[k] === null ? [] : [b[k]]));
  const curves = { to_50_ms: cdf(reached("to_50_ms")), to_95_ms: cdf(reached("to_95_ms")), to_100_ms: cdf(reached("to_100_ms")), arrival_ms: cdf(arrivals) };
  const grid = Array.from({ length: CDF_POINTS }, (_, i) => round(i / (CDF_POINTS - 1)));

  // Bandwidth over the run's virtual duration.
  const seconds = (run.endMs - run.startMs) / 1000;
  const perS = (bytes: number) => (seconds > 0 ? bytes / seconds : 0);

  // Intervals, stall and finality lag, over canonical blocks.
  const intervals = canonical.slice(1).map((b, i) => ({ height: b.height, ms: round(b.atMs - canonical[i]!.atMs) }));
  let longest: { longest_ms: number; at_height: number | null } = { longest_ms: 0, at_height: null };
  for (const x of intervals) if (x.ms > longest.longest_ms) longest = { longest_ms: x.ms, at_height: x.height };
  const window = run.stallWindowMs ?? null;
  const stall = { ...longest, window_ms: window, over_window: window === null ? 0 : intervals.filter((x) => x.ms > window).length };
  const finalized = new Int32Array(n);
  const finalsInOrder = timeOrder(finals);
  let fi = 0;
  const lags = [...canonical]
    .sort((a, b) => a.atMs - b.atMs || a.height - b.height)
    .map((b) => {
      for (; fi < finalsInOrder.length && finalsInOrder[fi]!.atMs <= b.atMs; fi++) finalized[finalsInOrder[fi]!.node] = finalsInOrder[fi]!.height;
      const desc = Int32Array.from(live, (node) => finalized[node]!).sort().reverse();
      return { height: b.height, at_ms: round(b.atMs - run.startMs), lag: b.height - desc[Math.ceil(nl / 2) - 1]! };
    })
    .sort((a, b) => a.height - b.height);

  const faults = faultReport(run.faults, run.events, run.startMs, crashed);
  return {
    version: 1,
    run: { nodes: n, seed: run.seed, duration_ms: round(run.endMs - run.startMs), validators: run.validators.length, events: run.events.length, crashed: (run.crashed ?? []).map((c) => ({ node: c.node, at_ms: round(c.atMs - run.startMs) })) },
    heights: { target: run.heights, produced: tip?.height ?? 0, blocks: all.length, orphaned: all.length - canonical.length },
    agreement: {
      agreed: disagreeing.length === 0,
      finalized_height_min: finalizedHeights.reduce((m, x) => Math.min(m, x)),
      finalized_height_max: finalizedHeights.reduce((m, x) => Math.max(m, x)),
      disagreeing_nodes: disagreeing,
    },
    safety: finalitySafety(finals, blocks),
    reorgs: { count: reorgs.length, deepest: reorgs.reduce((m, e) => Math.max(m, e.reorgDepth), 0), nodes: new Set(reorgs.map((e) => e.node)).size },
    slots: { primary_share: shareOf(bySlot.get(0) ?? 0, canonical.length), by_slot: slots },
    propagation: {
      blocks: all.length,
      incomplete: perBlock.filter((b) => b.to_100_ms === null).length,
      to_50: stats(reached("to_50_ms")),
      to_95: stats(reached("to_95_ms")),
      to_100: stats(reached("to_100_ms")),
      cdf: {
        q: grid,
        to_50_ms: curves.to_50_ms.map((p) => p.ms),
        to_95_ms: curves.to_95_ms.map((p) => p.ms),
        to_100_ms: curves.to_100_ms.map((p) => p.ms),
        arrival_ms: curves.arrival_ms.map((p) => p.ms),
      },
      per_block: perBlock,
    },
    duplicates: { copies, per_node_per_block: stats(dupes) },
    bandwidth: {
      sent_bytes_per_s: stats(run.traffic.map((t) => perS(t.bytesSent))),
      received_bytes_per_s: stats(run.traffic.map((t) => perS(t.bytesReceived))),
      per_node: run.traffic.map((t, node) => ({ node, bytes_sent: t.bytesSent, bytes_received: t.bytesReceived })),
    },
    stall,
    block_intervals: { stats: stats(intervals.map((x) => x.ms)), by_height: intervals },
    finality_lag: { stats: stats(lags.map((x) => x.lag)), by_height: lags },
    adversaries,
    ...(run.attacks ? { attacks: run.attacks } : {}),
    ...(run.equivocation?.length
      ? {
          slashing: run.equivocation.map((e) => ({
            kind: e.kind,
            members: [...e.members],
            twinned: e.twinned,
            frames_rewritten: e.framesRewritten,
            slashed: e.slashed.map((x) => ({ node: x.node, height: x.height, hash: x.hash, kind: x.kind })),
            slashed_at_head: [...e.slashedAtHead],
          })),
        }
      : {}),
    ...(faults ? { faults } : {}),
  };
}

/** Examples of conflicting heights kept in the report. */
const SAFETY_EXAMPLES = 5;

/**
 * Finality safety over every node: a finalized block makes its ancestors final too, so for every
 * height, the blocks finalized there by any node, directly or as an ancestor of a finalized block
 * (walked through the blocks produced in the run), must be one. A violation is a height with more
 * than one; each example names the blocks and the nodes that finalized each (directly, or a
 * descendant of it). Each block is walked once (a walk stops at a block already marked).
 */
function finalitySafety(
  finals: readonly Extract<SimEvent, { type: "finalize" }>[],
  blocks: ReadonlyMap<string, BlockRec>,
): SimReport["safety"] {
  const direct = new Map<string, { height: number; nodes: Set<number> }>();
  for (const f of finals) {
    const d = direct.get(f.hash) ?? { height: f.height, nodes: new Set<number>() };
    d.nodes.add(f.node);
    direct.set(f.hash, d);
  }
  const order = [...direct].sort((a, b) => b[1].height - a[1].height || byHash({ hash: a[0] }, { hash: b[0] }));
  const atHeight = new Map<number, Set<string>>();
  const marked = new Set<string>();
  const mark = (height: number, hash: string) => {
    let set = atHeight.get(height);
    if (!set) atHeight.set(height, (set = new Set()));
    set.add(hash);
    marked.add(hash);
  };
  for (const [hash, d] of order) {
    if (marked.has(hash)) continue;
    mark(d.height, hash);
    for (let b = blocks.get(blocks.get(hash)?.parent ?? ""); b && !marked.has(b.hash); b = blocks.get(b.parent)) mark(b.height, b.hash);
  }
  const conflicts = [...atHeight].filter(([, hashes]) => hashes.size > 1).sort((a, b) => a[0] - b[0]).slice(0, SAFETY_EXAMPLES);
  // The nodes behind each example block: those that finalized it or a descendant of it.
  const behind = new Map<string, Set<number>>();
  const wanted = new Set(conflicts.flatMap(([, hashes]) => [...hashes]));
  const lowest = conflicts.length ? conflicts[0]![0] : Infinity;
  for (const [hash, d] of order) {
    for (let b: BlockRec | { hash: string; height: number; parent: string } | undefined = blocks.get(hash) ?? { hash, height: d.height, parent: "" }; b && b.height >= lowest; b = blocks.get(b.parent)) {
      if (!wanted.has(b.hash)) continue;
      let set = behind.get(b.hash);
      if (!set) behind.set(b.hash, (set = new Set()));
      for (const x of d.nodes) set.add(x);
    }
  }
  return {
    violations: [...atHeight.values()].filter((hashes) => hashes.size > 1).length,
    finalized_blocks: direct.size,
    examples: conflicts.map(([height, hashes]) => ({
      height,
      blocks: [...hashes].sort().map((hash) => ({ hash, nodes: [...(behind.get(hash) ?? [])].sort((a, b) => a - b) })),
    })),
  };
}
