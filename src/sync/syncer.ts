/**
 * The sync engine (docs/protocol.md §9.6, the MinerBlock sync protocol). When a peer is ahead (a
 * higher height, or an unknown tip that its `/data/chain_info` shows to be better by fork choice),
 * it finds the common ancestor with `/data/find_ancestor` (a block locator: tip, tip-1, tip-2,
 * tip-4, ... genesis), then fetches chunks (range, epoch or canonical pages: `SyncStrategy`) spread
 * over every peer that has them, several in flight (`p-queue`), retrying a failed chunk on another
 * peer, and imports them in order, each fully validated. One sync runs at a time; progress is
 * logged and exposed.
 */
import PQueue from "p-queue";
import type { Logger } from "pino";
import type { Chain } from "../chain/chain.ts";
import { BlockError } from "../chain/errors.ts";
import { blockSchema } from "../consensus/wire.ts";
import { compareTips } from "../consensus/forkChoice.ts";
import type { Block } from "../consensus/types.ts";
import type { Peer } from "../p2p/peer.ts";
import { DEFAULT_CHUNK } from "./protocol.ts";
import { EPOCH_LENGTH, epochOf } from "../consensus/params.ts";

/** Collaborators of the syncer. */
export interface SyncerModules {
  chain: Chain;
  /** ready peers to fetch from */
  peers(): Peer[];
  /** records a strike against a peer that sent invalid data */
  penalize(peer: Peer, reason: string): void;
  log: Logger;
}

/**
 * How ranges are asked for (the MinerBlock sync protocol's strategies): `range` (incremental, `/data/miner_block/range`
 * chunks), `epoch` (`/data/miner_block/epoch`, 40 blocks per request, aligned to epochs) or
 * `canonical` (full sync, `/data/miner_block/canonical` pages).
 */
export type SyncStrategy = "range" | "epoch" | "canonical";

/** Sync tuning. */
export interface SyncerOptions {
  strategy: SyncStrategy;
  /** blocks per range request (default 50, cap 1000) */
  chunk: number;
  /** range requests in flight at once */
  parallel: number;
  /** ms before a range request is retried on another peer */
  requestTimeoutMs: number;
  /** tries per chunk before the sync stops */
  attempts: number;
  /** ms a peer's unknown tip may stay unknown before we ask whether its chain is better */
  unknownTipGraceMs: number;
}

export const defaultSyncerOptions: SyncerOptions = {
  strategy: "range",
  chunk: DEFAULT_CHUNK,
  parallel: 4,
  requestTimeoutMs: 10_000,
  attempts: 3,
  unknownTipGraceMs: 1_000,
};

/** Sync progress, for the API (`sync_progress`). Heights in blocks. */
export interface SyncStatus {
  syncing: boolean;
  peer: string | null;
  start_height: number;
  target_height: number;
  imported: number;
  blocks_per_s: number;
}

interface Chunk {
  from: number;
  to: number;
}

/** Pulls missing blocks from peers that are ahead. */
export class Syncer {
  private readonly opts: SyncerOptions;
  private running = false;
  private again?: Peer;
  private status: SyncStatus = { syncing: false, peer: null, start_height: 0, target_height: 0, imported: 0, blocks_per_s: 0 };
  private stopped = false;
  private readonly tipChecks = new Map<Peer, NodeJS.Timeout>();

  constructor(
    private readonly m: SyncerModules,
    opts: Partial<SyncerOptions> = {},
  ) {
    this.opts = { ...defaultSyncerOptions, ...opts };
  }

  /** Current progress. */
  get progress(): SyncStatus {
    return { ...this.status };
  }

  /** Called whenever a peer's reported tip changes or it connects. */
  maybeSync(peer: Peer): void {
    if (this.stopped || peer.tipHash === this.m.chain.head.hash) return;
    if (peer.height > this.m.chain.head.height) return this.begin(peer);
    // Same or lower height but a tip we do not hold: it may be a heavier branch (fork choice is by
    // weight). Give gossip a moment to deliver it, then ask the peer.
    if (peer.tipHash && !this.tipChecks.has(peer)) {
      const timer = setTimeout(() => {
        this.tipChecks.delete(peer);
        void this.checkUnknownTip(peer);
      }, this.opts.unknownTipGraceMs);
      timer.unref();
      this.tipChecks.set(peer, timer);
    }
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.tipChecks.values()) clearTimeout(t);
    this.tipChecks.clear();
  }

  private async checkUnknownTip(peer: Peer): Promise<void> {
    if (this.stopped || peer.state !== "ready" || (await this.m.chain.has(peer.tipHash))) return;
    const res = await peer.request("/data/chain_info", null, this.opts.requestTimeoutMs);
    const info = res.data as { height?: unknown; tip_hash?: unknown; total_weight?: unknown } | null;
    if (!res.ok || !info || typeof info.height !== "number" || typeof info.tip_hash !== "string" || typeof info.total_weight !== "string" || !/^[0-9]{1,80}$/.test(info.total_weight)) return;
    const head = this.m.chain.head;
    const better =
      compareTips(
        { totalWeight: BigInt(info.total_weight), height: info.height, hash: info.tip_hash },
        { totalWeight: BigInt(head.total_weight), height: head.height, hash: head.hash },
      ) < 0;
    if (better) {
      this.m.log.info({ peer: peer.ebid?.slice(0, 12), height: info.height, total_weight: info.total_weight }, "Peer holds a heavier branch");
      this.begin(peer);
    }
  }

  private begin(peer: Peer): void {
    if (this.running) {
      if (!this.again || peer.height > this.again.height) this.again = peer;
      return;
    }
    this.running = true;
    void this.run(peer)
      .catch((e) => this.m.log.warn({ err: (e as Error).message }, "Sync failed"))
      .finally(() => {
        this.running = false;
        const next = this.again;
        this.again = undefined;
        if (next && next.state === "ready") this.maybeSync(next);
      });
  }

  private async run(peer: Peer): Promise<void> {
    const { chain, log } = this.m;
    const ancestor = await this.commonAncestor(peer);
    if (ancestor === undefined) return;
    const target = peer.height;
    if (target <= ancestor) return;
    const started = Date.now();
    this.status = { syncing: true, peer: peer.ebid ?? null, start_height: ancestor, target_height: target, imported: 0, blocks_per_s: 0 };
    log.info({ peer: peer.ebid?.slice(0, 12), from: ancestor + 1, to: target }, "Sync started");
    const chunks = this.plan(ancestor + 1, target);
    const queue = new PQueue({ concurrency: this.opts.parallel });
    const pending = new Map<number, Promise<{ blocks: Block[]; source: Peer } | undefined>>();
    const window = this.opts.parallel * 2;
    let next = 0;
    let lastLog = Date.now();
    let prevHash = (await chain.getCanonicalMeta(ancestor))?.hash;
    try {
      for (let i = 0; i < chunks.length && !this.stopped; i++) {
        while (next < chunks.length && next < i + window) {
          const c = chunks[next]!;
          pending.set(next, this.fetchChunk(queue, c, peer));
          next++;
        }
        const got = await pending.get(i)!;
        pending.delete(i);
        if (!got) {
          log.warn({ from: chunks[i]!.from, to: chunks[i]!.to }, "Sync stopped: no peer served the range");
          return;
        }
        // The chunks must chain onto each other: a peer on another branch cannot splice in.
        if (got.blocks[0]!.header.parent_hash !== prevHash) {
          log.info({ height: chunks[i]!.from }, "Sync stopped: range does not connect (peers on different branches)");
          return;
        }
        for (const b of got.blocks) {
          try {
            const out = await chain.importBlock(b, { source: `peer:${got.source.ebid ?? got.source.remoteAddress}`, sync: true });
            if (out.status === "imported") this.status.imported++;
          } catch (e) {
            if (e instanceof BlockError) return this.m.penalize(got.source, `invalid block in range: ${e.code}: ${e.message}`);
            throw e;
          }
        }
        prevHash = got.blocks[got.blocks.length - 1]!.hash;
        const secs = (Date.now() - started) / 1000;
        this.status.blocks_per_s = Math.round(this.status.imported / Math.max(secs, 0.001));
        if (Date.now() - lastLog >= 2000) {
          lastLog = Date.now();
          log.info({ height: chain.head.height, target, blocks_per_s: this.status.blocks_per_s }, `Sync progress: ${chain.head.height}/${target}`);
        }
      }
    } finally {
      queue.clear();
      const secs = (Date.now() - started) / 1000;
      log.info(
        { imported: this.status.imported, height: chain.head.height, seconds: secs, blocks_per_s: Math.round(this.status.imported / Math.max(secs, 0.001)) },
        "Sync finished",
      );
      this.status = { ...this.status, syncing: false };
    }
  }

  // Heights [from, to] cut into requests: fixed-size chunks, or whole epochs for `epoch`.
  private plan(from: number, to: number): Chunk[] {
    const chunks: Chunk[] = [];
    for (let f = from; f <= to; ) {
      const end = this.opts.strategy === "epoch" ? (epochOf(f) + 1) * EPOCH_LENGTH - 1 : f + this.opts.chunk - 1;
      chunks.push({ from: f, to: Math.min(to, end) });
      f = Math.min(to, end) + 1;
    }
    return chunks;
  }

  private requestFor(c: Chunk): { path: string; data: unknown } {
    switch (this.opts.strategy) {
      case "epoch":
        return { path: "/data/miner_block/epoch", data: { epoch: epochOf(c.from) } };
      case "canonical":
        return { path: "/data/miner_block/canonical", data: { from_index: c.from, limit: c.to - c.from + 1 } };
      default:
        return { path: "/data/miner_block/range", data: { from_index: c.from, to_index: c.to, max_chunk_size: this.opts.chunk } };
    }
  }

  // Locator: our canonical hashes at tip, tip-1, tip-2, tip-4, ... and genesis; the peer answers
  // with the first one on its canonical chain.
  private async commonAncestor(peer: Peer): Promise<number | undefined> {
    const { chain } = this.m;
    const head = chain.head.height;
    if (head === 0) return 0;
    const hashes: string[] = [];
    for (let step = 1, h = head; h > 0 && hashes.length < 255; h -= step, step = hashes.length >= 8 ? step * 2 : 1) {
      const meta = await chain.getCanonicalMeta(h);
      if (meta) hashes.push(meta.hash);
    }
    hashes.push(chain.genesis.hash);
    const res = await peer.request("/data/find_ancestor", { hashes }, this.opts.requestTimeoutMs);
    if (!res.ok) return undefined;
    const d = res.data as { hash?: unknown; height?: unknown } | null;
    if (d === null) {
      this.m.penalize(peer, "no common ancestor, not even genesis");
      return undefined;
    }
    if (typeof d.height !== "number" || typeof d.hash !== "string" || (await chain.getMeta(d.hash))?.height !== d.height) {
      this.m.penalize(peer, "find_ancestor answered a block we did not ask about");
      return undefined;
    }
    return d.height;
  }

  // Fetches one chunk, preferring `primary`, then any other peer that reports the height; each try
  // goes through the shared queue so at most `parallel` requests are in flight.
  private async fetchChunk(queue: PQueue, c: Chunk, primary: Peer): Promise<{ blocks: Block[]; source: Peer } | undefined> {
    const tried = new Set<Peer>();
    for (let attempt = 0; attempt < this.opts.attempts; attempt++) {
      const candidates = [primary, ...this.m.peers().filter((p) => p !== primary)].filter(
        (p) => p.state === "ready" && p.height >= c.to && !tried.has(p),
      );
      // spread chunks over peers: rotate by chunk start
      const source = candidates.length ? candidates[(c.from / this.opts.chunk + attempt) % candidates.length | 0]! : undefined;
      if (!source) return undefined;
      tried.add(source);
      const req = this.requestFor(c);
      const res = await queue.add(() => source.request(req.path, req.data, this.opts.requestTimeoutMs));
      if (!res?.ok) continue;
      // an epoch reply may start before the chunk (we already hold those blocks)
      const blocks = this.parseBlocks(source, res.data)?.filter((b) => b.header.height >= c.from && b.header.height <= c.to);
      if (!blocks) continue;
      const contiguous = blocks.length === c.to - c.from + 1 && blocks.every((b, i) => b.header.height === c.from + i && (i === 0 || b.header.parent_hash === blocks[i - 1]!.hash));
      if (!contiguous) {
        this.m.penalize(source, "range reply is not the contiguous range asked for");
        continue;
      }
      return { blocks, source };
    }
    return undefined;
  }

  private parseBlocks(peer: Peer, data: unknown): Block[] | undefined {
    const raw = (data as { blocks?: unknown } | null)?.blocks;
    if (!Array.isArray(raw)) {
      this.m.penalize(peer, "range reply without blocks");
      return undefined;
    }
    const out: Block[] = [];
    for (const r of raw) {
      const p = blockSchema.safeParse(r);
      if (!p.success) {
        this.m.penalize(peer, "malformed block in range reply");
        return undefined;
      }
      out.push(p.data as Block);
    }
    return out;
  }
}
