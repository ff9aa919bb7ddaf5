/**
 * The drills' finality watch (docs/protocol.md §5a, §7): while a drill runs, every node's head and
 * finalized checkpoint are sampled (`/api/chain/head`), the finality lag (head height - finalized
 * height, in blocks) is recorded, and at every sample the finalized checkpoints any node ever
 * reported must lie on one chain: two different finalized blocks at one height, or a finalized
 * block that is not on the branch of another node's higher finalized block, is a conflict.
 *
 * How the one-chain check stays cheap: every reported checkpoint goes in a map height -> hash. A
 * height already in the map must carry the same hash. A new height is checked against its
 * neighbours in the map only (the greatest height below it and the least above it), by asking a
 * node that reported the higher one for its canonical block at the lower height (a node's blocks at
 * or below its finalized checkpoint never change). By induction every pair of adjacent entries,
 * hence every pair of entries, lies on one branch. A check whose node is down waits for the next sample.
 */
import { getJson } from "../util/http.ts";

/** A checkpoint `{height, hash}` as the API returns it (docs/protocol.md §5a). */
export type Checkpoint = { height: number; hash: string };

/** A node the watch samples: its name (for messages) and API base URL. */
export type Watched = { name: string; api: string };

/** What the watch reports. Lags in blocks. */
export interface FinalitySummary {
  /** sampling rounds */
  samples: number;
  /** head height - finalized height over every node and sample (null before any sample) */
  lag_median: number | null;
  lag_p90: number | null;
  lag_max: number | null;
  /** the greatest finalized height any node reported */
  finalized_height: number;
  /** distinct finalized checkpoints reported */
  checkpoints: number;
  /** neighbour checks still waiting for a node to answer */
  unchecked: number;
  /** every conflict found, in words */
  conflicts: string[];
  /** no conflict found */
  agree: boolean;
}

/** Reads `api`'s canonical block hash at `height`. @throws when the node does not answer */
export type BlockAt = (api: string, height: number) => Promise<string>;

const defaultBlockAt: BlockAt = async (api, height) => (await getJson<{ hash: string }>(`${api}/api/blocks/${height}`)).hash;
const short = (h: string) => h.slice(0, 12);

/** Sorted-array percentile (nearest rank), null when empty. */
export function percentile(xs: readonly number[], p: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/** The finality watch of one drill. */
export class FinalityWatch {
  private readonly byHeight = new Map<number, { hash: string; reporters: Map<string, string> }>();
  /** pairs (low, high) of adjacent map heights still to check on a reporter of `high` */
  private pending: { low: number; high: number }[] = [];
  private readonly lags: number[] = [];
  private readonly conflicts: string[] = [];
  private samples = 0;
  private loop?: Promise<void>;
  private stopped = false;
  private round: Promise<void> = Promise.resolve();

  constructor(private readonly blockAt: BlockAt = defaultBlockAt) {}

  /**
   * Feeds one node's head as sampled; records its lag and checks its finalized checkpoint.
   * A head without `finalized` (an older node) is ignored.
   */
  async observe(node: Watched, head: { height: number; finalized?: Checkpoint }): Promise<void> {
    const f = head.finalized;
    if (!f) return;
    this.lags.push(head.height - f.height);
    const known = this.byHeight.get(f.height);
    if (known) {
      if (known.hash !== f.hash) {
        const [who] = known.reporters.keys();
        this.conflict(`${node.name} finalized ${short(f.hash)} at height ${f.height}, ${who} finalized ${short(known.hash)} there`);
      } else known.reporters.set(node.name, node.api);
      return;
    }
    this.byHeight.set(f.height, { hash: f.hash, reporters: new Map([[node.name, node.api]]) });
    const heights = [...this.byHeight.keys()].sort((a, b) => a - b);
    const i = heights.indexOf(f.height);
    if (i > 0) this.pending.push({ low: heights[i - 1]!, high: f.height });
    if (i < heights.length - 1) this.pending.push({ low: f.height, high: heights[i + 1]! });
    await this.checkPending();
  }

  /** Samples every node once (a node that does not answer within 2 s is skipped) and checks; one round at a time. */
  sample(nodes: readonly Watched[]): Promise<void> {
    const run = this.round.then(() => this.sampleNow(nodes));
    this.round = run.catch(() => undefined);
    return run;
  }

  private async sampleNow(nodes: readonly Watched[]): Promise<void> {
    const heads = await Promise.allSettled(nodes.map((n) => getJson<{ height: number; finalized?: Checkpoint }>(`${n.api}/api/chain/head`)));
    this.samples++;
    for (let i = 0; i < nodes.length; i++) {
      const h = heads[i]!;
      if (h.status === "fulfilled") await this.observe(nodes[i]!, h.value);
    }
    await this.checkPending();
  }

  /** Samples `nodes()` every `everyMs` in the background until `stop()`. */
  start(nodes: () => readonly Watched[], everyMs = 1000): void {
    if (this.loop) return;
    this.loop = (async () => {
      while (!this.stopped) {
        const t = Date.now();
        await this.sample(nodes()).catch(() => undefined);
        const wait = everyMs - (Date.now() - t);
        if (wait > 0 && !this.stopped) await new Promise((r) => setTimeout(r, wait));
      }
    })();
  }

  /** Stops the background sampling (after its current round) and returns the summary. */
  async stop(): Promise<FinalitySummary> {
    this.stopped = true;
    await this.loop;
    return this.summary();
  }

  /** The figures so far. */
  summary(): FinalitySummary {
    return {
      samples: this.samples,
      lag_median: percentile(this.lags, 50),
      lag_p90: percentile(this.lags, 90),
      lag_max: this.lags.length ? Math.max(...this.lags) : null,
      finalized_height: Math.max(0, ...this.byHeight.keys()),
      checkpoints: this.byHeight.size,
      unchecked: this.pending.length,
      conflicts: [...this.conflicts],
      agree: this.conflicts.length === 0,
    };
  }

  private conflict(msg: string): void {
    if (!this.conflicts.includes(msg)) this.conflicts.push(msg);
  }

  // Each pending pair is asked of the high entry's reporters in turn; kept when none answers.
  private async checkPending(): Promise<void> {
    const left: { low: number; high: number }[] = [];
    for (const pair of this.pending) {
      const low = this.byHeight.get(pair.low)!;
      const high = this.byHeight.get(pair.high)!;
      let done = false;
      for (const [name, api] of high.reporters) {
        const hash = await this.blockAt(api, pair.low).catch(() => undefined);
        if (hash === undefined) continue;
        done = true;
        if (hash !== low.hash) {
          const [who] = low.reporters.keys();
          this.conflict(
            `${who} finalized ${short(low.hash)} at height ${pair.low}, but ${name} finalized ${short(high.hash)} at height ${pair.high} ` +
              `on a branch whose block at ${pair.low} is ${short(hash)}`,
          );
        }
        break;
      }
      if (!done) left.push(pair);
    }
    this.pending = left;
  }
}

/** One line for a drill's report. */
export function finalityLine(s: FinalitySummary): string {
  return (
    `finality: lag median ${s.lag_median ?? "-"} p90 ${s.lag_p90 ?? "-"} max ${s.lag_max ?? "-"} blocks over ${s.samples} samples; ` +
    `finalized height ${s.finalized_height} (${s.checkpoints} checkpoints seen); finalized blocks agree on every node at every sample: ` +
    (s.agree ? "yes" : `NO (${s.conflicts.join("; ")})`)
  );
}
