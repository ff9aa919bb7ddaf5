/**
 * The simulator's report: what one `vision-node sim` run produced, as typed, validated JSON
 * (snake_case keys like the API; ms of virtual time, bytes, shares in [0, 1]). `summarize`
 * (sim/summarize.ts) computes it from a run's events, `reportJson` writes it, `parseReport` reads
 * it back, and sim/reportHtml.ts renders it with its plots.
 *
 * Every figure is a deterministic function of the run: nearest-rank percentiles over sorted
 * samples, no clock or randomness, numbers rounded to 4 decimals, keys in this schema's order.
 * So one seed gives one byte-identical report.
 */
import { z } from "zod";
import { formatZodError } from "../consensus/wire.ts";
import { faultsReportSchema } from "./faults.ts";

/** A report that does not match the schema (a hand-edited or foreign file, or a simulator bug). */
export class SimReportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SimReportError";
  }
}

const count = z.number().int().min(0);
const ms = z.number().finite().min(0);
const share = z.number().min(0).max(1);
const height = z.number().int().min(0);
const hash = z.string().regex(/^[0-9a-f]{64}$/, "expected 64 lowercase hex chars");
const figure = z.number().finite().nullable();

/** Distribution of a sample (nearest rank); every figure null when the sample is empty. */
export const statsSchema = z.strictObject({ count, min: figure, mean: figure, p50: figure, p90: figure, p95: figure, p99: figure, max: figure });
/** See {@link statsSchema}. */
export type Stats = z.infer<typeof statsSchema>;

/**
 * Quantiles of a sample for a CDF plot: `q` is the grid (0 to 1), each series gives the sample's
 * value at each q (so the CDF is q against it), or is empty when it had no sample.
 */
const cdfSchema = z
  .strictObject({ q: z.array(share), to_50_ms: z.array(ms), to_95_ms: z.array(ms), to_100_ms: z.array(ms), arrival_ms: z.array(ms) })
  .refine((c) => [c.to_50_ms, c.to_95_ms, c.to_100_ms, c.arrival_ms].every((s) => s.length === 0 || s.length === c.q.length), {
    message: "each series has one value per q, or none",
  });

/** The simulator's report (version 1). */
export const simReportSchema = z.strictObject({
  version: z.literal(1),
  /** crashed: the nodes that crashed (sim/adversary.ts) and when (ms after genesis); they are left out of the canonical vote, propagation and finality lag */
  run: z.strictObject({ nodes: count.min(1), seed: z.number().int(), duration_ms: ms, validators: count, events: count, crashed: z.array(z.strictObject({ node: count, at_ms: ms })) }),
  /** target: the heights asked for; produced: the canonical head's height; blocks: every block produced, orphaned: those off the canonical chain */
  heights: z.strictObject({ target: height, produced: height, blocks: count, orphaned: count }),
  /** agreed: every node's (crashed ones too) last finalized block lies on the canonical chain; the finalized heights are the live nodes' */
  agreement: z.strictObject({ agreed: z.boolean(), finalized_height_min: height, finalized_height_max: height, disagreeing_nodes: z.array(count) }),
  /**
   * finality safety across every node: violations = heights at which two different blocks were
   * finalized (directly, or as an ancestor of a finalized block); the first examples with the nodes
   * behind each; finalized_blocks: distinct blocks finalized directly
   */
  safety: z.strictObject({
    violations: count,
    finalized_blocks: count,
    examples: z.array(z.strictObject({ height, blocks: z.array(z.strictObject({ hash, nodes: z.array(count) })) })),
  }),
  /** count: head changes that dropped blocks (all nodes); deepest: most blocks dropped at once; nodes: nodes that reorged */
  reorgs: z.strictObject({ count, deepest: count, nodes: count }),
  /** canonical blocks by slot (0 = the primary) */
  slots: z.strictObject({ primary_share: share, by_slot: z.array(z.strictObject({ slot: count, blocks: count, share })) }),
  /** ms from a block's production until 50%, 95% and 100% of nodes held it (the producer counts, at 0) */
  propagation: z.strictObject({
    blocks: count,
    /** blocks that never reached every node */
    incomplete: count,
    to_50: statsSchema,
    to_95: statsSchema,
    to_100: statsSchema,
    cdf: cdfSchema,
    per_block: z.array(
      z.strictObject({
        height,
        hash,
        producer: z.string(),
        slot: count,
        produced_at_ms: ms,
        to_50_ms: ms.nullable(),
        to_95_ms: ms.nullable(),
        to_100_ms: ms.nullable(),
      }),
    ),
  }),
  /** copies of a block a node received after its first (its producer: every copy), per (node, block) held */
  duplicates: z.strictObject({ copies: count, per_node_per_block: statsSchema }),
  /** bytes per second of the run's virtual duration, over nodes; per_node: the network's counters */
  bandwidth: z.strictObject({
    sent_bytes_per_s: statsSchema,
    received_bytes_per_s: statsSchema,
    per_node: z.array(z.strictObject({ node: count, bytes_sent: count, bytes_received: count })),
  }),
  /**
   * the longest gap between consecutive canonical blocks' production, and the height that ended it;
   * window_ms: the chain's stall bound (sim/adversary.ts stallWindowMs), over_window: the canonical
   * intervals longer than it (null and 0 when the run did not give one)
   */
  stall: z.strictObject({ longest_ms: ms, at_height: height.nullable(), window_ms: ms.nullable(), over_window: count }),
  /** ms between a canonical block's production and its parent's, by height (from 2) */
  block_intervals: z.strictObject({ stats: statsSchema, by_height: z.array(z.strictObject({ height, ms })) }),
  /** blocks: a canonical block's height minus the finalized height half the nodes held when it was produced */
  finality_lag: z.strictObject({ stats: statsSchema, by_height: z.array(z.strictObject({ height, at_ms: ms, lag: z.number().int() })) }),
  /** each adversary's share of the canonical blocks against its share of the validators */
  adversaries: z.array(z.strictObject({ name: z.string().min(1), validators: count, validator_share: share, blocks: count, production_share: share })),
  /**
   * the protocol attacks of the run (sim/attacks.ts), when it had one: what each adversary did and
   * what honest nodes did about it; absent for a run without one
   */
  attacks: z
    .strictObject({
      /** lying heights (sim/liars.ts): liar nodes, blocks claimed ahead, lies sent; requests honest nodes sent liars, by path; virtual ms waiting on their answers (sum, max); unanswered; honest nodes that asked */
      liars: z
        .strictObject({ nodes: z.array(count), ahead: count, lies: count, requests: count, by_path: z.record(z.string(), count), wait_ms_total: ms, wait_ms_max: ms, unanswered: count, askers: count })
        .optional(),
      /** unbonded Sybil attesters (sim/sybil.ts): keys, hosts, frames sent; received by honest nodes from a host, relayed between honest nodes (0), largest honest pool, Sybil attestations in canonical blocks (0) */
      sybil: z.strictObject({ keys: count, hosts: z.array(count), sent: count, received: count, relayed: count, pool_max: count, in_blocks: count }).optional(),
      /** grinding (sim/grind.ts): members; blocks produced, decided from their seed, published, withheld for good; decisions whose next primary was a member; mixes checked against the reveal; frames dropped */
      grind: z
        .strictObject({ members: z.array(count), produced: count, decided: count, published: count, withheld: count, next_primary_member: count, seeds_checked: count, dropped_frames: count })
        .optional(),
      /** bans (a close whose reason starts "banned") an honest node gave an honest peer (must be 0), and any node gave an adversary */
      bans: z.strictObject({ honest: count, adversary: count }),
      /** closes of connections to or by an adversary, by reason (first 60 characters) */
      adversary_closes: z.record(z.string(), count),
    })
    .optional(),
  /**
   * each equivocating adversary of the run (sim/equivocation.ts), when it had one: its members (node
   * indexes); blocks or votes they signed twice; frames that carried a twin instead of the original;
   * the slashing items on node 0's canonical chain (the offender's node, the carrying block's height
   * and hash, the item's kind); the members slashed in node 0's registry after its head
   */
  slashing: z
    .array(
      z.strictObject({
        kind: z.enum(["double-block", "double-vote"]),
        members: z.array(count),
        twinned: count,
        frames_rewritten: count,
        slashed: z.array(z.strictObject({ node: count, height, hash, kind: z.enum(["blocks", "votes"]) })),
        slashed_at_head: z.array(count),
      }),
    )
    .optional(),
  /** restarts, the partition and clock skew (sim/faults.ts faultsReportSchema); absent when the run had none */
  faults: faultsReportSchema.optional(),
});

/** See {@link simReportSchema}. */
export type SimReport = z.infer<typeof simReportSchema>;

/**
 * A report read from JSON (already parsed).
 * @throws SimReportError with one line naming the first bad fields
 */
export function parseReport(json: unknown): SimReport {
  const r = simReportSchema.safeParse(json);
  if (!r.success) throw new SimReportError(`invalid simulator report: ${formatZodError(r.error)}`);
  return r.data;
}

/**
 * The report as `report.json` text: validated, keys in the schema's order, 2-space indent, a final
 * newline. Equal reports give equal bytes.
 * @throws SimReportError when the report does not match the schema
 */
export function reportJson(report: SimReport): string {
  return `${JSON.stringify(parseReport(report), null, 2)}\n`;
}
