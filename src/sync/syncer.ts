/**
 * The sync engine (docs/protocol.md §9.6, the MinerBlock sync protocol). When a peer is ahead (a
 * higher height, or an unknown tip that its `/data/chain_info` shows to be better by fork choice),
 * it finds the common ancestor with `/data/find_ancestor` (a block locator: tip, tip-1, tip-2,
 * tip-4, ... genesis), then fetches chunks (range, epoch or canonical pages: `SyncStrategy`) spread
 * over every peer that has them, several in flight (`p-queue`), retrying a failed chunk on another
 * peer, and imports them in order, each fully validated. One sync runs at a time; progress is
 * logged and exposed.
 *
 * It also keeps peers' height claims honest (docs/protocol.md §6.1, §9.6): a claim is backed when
 * the peer's reported tip is held here or the peer served valid blocks up to it; a claim above our
 * head that stays unbacked for `claimBackingMs` is a strike and the peer's claims are ignored until
 * it backs one. A sync attempt toward a claim that imports nothing is not repeated toward the same
 * peer until it backs a new height or `retryAfterMs` pass.
 */
import PQueue from "p-queue";
import type { Logger } from "pino";
import type { Chain } from "../chain/chain.ts";
import { BlockError } from "../chain/errors.ts";
import { blockSchema } from "../consensus/wire.ts";
import { compareTips } from "../consensus/forkChoice.ts";
import type { Block } from "../consensus/types.ts";
import type { Peer } from "../p2p/peer.ts";
import { DEFAULT_CHUNK, MAX_CHUNK, MAX_REPLY_BYTES } from "./protocol.ts";
import { SYNC_EPOCH_LENGTH, syncEpochOf } from "../consensus/params.ts";
import { MAX_BUSY_RETRY_MS, busyRetryMs } from "./busy.ts";
import { sleep, systemClock, type Clock, type Timer } from "../util/clock.ts";

/** Collaborators of the syncer. */
export interface SyncerModules {
  chain: Chain;
  /** ready peers to fetch from */
  peers(): Peer[];
  /** records a strike against a peer that sent invalid data */
  penalize(peer: Peer, reason: string): void;
  log: Logger;
  /** time, the unknown-tip grace timer and busy waits; default `systemClock` */
  clock?: Clock;
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
  /** ms a claimed height above our head may stay unbacked before the peer is struck and ignored */
  claimBackingMs: number;
  /** ms before a sync attempt that imported nothing is tried again toward the same peer */
  retryAfterMs: number;
}

export const defaultSyncerOptions: SyncerOptions = {
  strategy: "range",
  chunk: DEFAULT_CHUNK,
  parallel: 4,
  requestTimeoutMs: 10_000,
  attempts: 3,
  unknownTipGraceMs: 1_000,
  claimBackingMs: 10_000,
  retryAfterMs: 30_000,
};

/** Sync progress, for the API (`sync_progress`). Heights in blocks. */
export interface SyncStatus {
  /**
   * a sync is importing: it has imported valid blocks it did not hold, the last within
   * `requestTimeoutMs` (an attempt that waits on a peer that does not answer, or fetches blocks
   * held here already, is not syncing)
   */
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
  private readonly tipChecks = new Map<Peer, Timer>();
  private readonly clock: Clock;
  /** the peer the running sync targets */
  private source?: Peer;
  /** ms of the running sync's last imported chunk (0: none yet) */
  private lastImportAt = 0;
  /** ms the running sync began (its first chunk may take a while to arrive and import) */
  private attemptAt = 0;
  /** the last claim check skipped because a sync was importing (ms; 0: none), for checkClaims */
  private importingAt = 0;
  /** when the running sync's first chunk was last asked for (ms; 0 before), for checkClaims */
  private firstChunkAskedAt = 0;
  /** the peer the running sync aimed at served one of its chunks */
  private primaryServed = false;
  /** peers asked for the common ancestor now */
  private readonly probing = new Set<Peer>();
  /** peers whose last sync attempt imported nothing: their backed height then, and when */
  private readonly failed = new WeakMap<Peer, { backed: number; at: number }>();

  constructor(
    private readonly m: SyncerModules,
    opts: Partial<SyncerOptions> = {},
  ) {
    this.opts = { ...defaultSyncerOptions, ...opts };
    this.clock = m.clock ?? systemClock;
  }

  /** Current progress. */
  get progress(): SyncStatus {
    return { ...this.status, syncing: this.serving !== undefined };
  }

  /** The peer a running sync is importing valid blocks from now (its claim counts, §6.1; the last chunk's server), if any. */
  get serving(): Peer | undefined {
    if (!this.status.syncing || this.lastImportAt === 0 || this.clock.now() - this.lastImportAt > this.opts.requestTimeoutMs) return undefined;
    return this.source;
  }

  /**
   * Called whenever a peer's reported tip changes or it connects: backs its claim when its tip is
   * held here, and syncs toward it when it is ahead (unless its claims are ignored, or an attempt
   * toward it failed lately and it has backed nothing since).
   */
  maybeSync(peer: Peer): void {
    if (this.stopped) return;
    if (peer.tipHash === this.m.chain.head.hash) {
      if (peer.height === this.m.chain.head.height) peer.back(peer.height);
      return;
    }
    if (peer.claimSince !== undefined) void this.checkBacking(peer);
    if (peer.claimsIgnored) return;
    // A peer an attempt failed toward lately is not chased again until it backs a new height,
    // whether it claims a greater height or a heavier tip.
    if (this.failedLately(peer)) return;
    if (peer.height > this.m.chain.head.height) return this.begin(peer);
    // Same or lower height but a tip we do not hold: it may be a heavier branch (fork choice is by
    // weight). Give gossip a moment to deliver it, then ask the peer.
    if (peer.tipHash && !this.tipChecks.has(peer)) {
      const timer = this.clock
        .setTimeout(() => {
          this.tipChecks.delete(peer);
          void this.checkUnknownTip(peer);
        }, this.opts.unknownTipGraceMs)
        .unref();
      this.tipChecks.set(peer, timer);
    }
  }

  /**
   * Once a second (the node's heartbeat): every claim above our head that stayed unbacked for
   * `claimBackingMs` is a strike, and that peer's claims are ignored until it backs one. Not while a
   * sync imports: a claim may be honest and waiting for our sync to reach it, and its time unbacked
   * counts from when the import stopped (a tip that moved during a long sync is a few blocks ahead
   * when it ends), not from before the sync.
   */
  checkClaims(now = this.clock.now()): void {
    if (this.stopped) return;
    if (this.serving) {
      this.importingAt = now;
      return;
    }
    const head = this.m.chain.head.height;
    const T = this.opts.requestTimeoutMs;
    // While a sync runs and none of its blocks has imported yet, every claim waits on its first
    // chunk: until a request timeout passes after that chunk was last asked for. Full blocks on a
    // loaded machine may take seconds to arrive and import; the first chunk may have gone to a peer
    // that held it (busy replies, then a timeout; nothing imports before it does) before it goes to
    // the source or another peer; and a source that never serves is struck once the attempt times
    // out. Never past the claim's own deadline plus the longest another peer may hold the chunk plus
    // one more turn, however many attempts a peer makes us begin toward it.
    const firstChunkAsked = this.running && this.lastImportAt === 0 ? Math.max(this.attemptAt, this.firstChunkAskedAt) : undefined;
    for (const p of this.m.peers()) {
      if (p.claimSince === undefined || p.claimsIgnored) continue;
      void this.checkBacking(p);
      const since = Math.max(p.claimSince, this.importingAt);
      if (firstChunkAsked !== undefined) {
        const latest = since + this.opts.claimBackingMs + MAX_BUSY_WAITS * MAX_BUSY_RETRY_MS + T;
        if (now <= Math.min(firstChunkAsked, latest) + T) continue;
      }
      if (p.height <= head || now - since < this.opts.claimBackingMs) continue;
      p.claimsIgnored = true;
      this.m.log.info({ peer: p.ebid?.slice(0, 12), claimed: p.height, backed: p.backedHeight, head }, "Height claim not backed: ignored");
      this.m.penalize(p, `height ${p.height} claimed and not backed for ${Math.round((now - since) / 1000)} s`);
    }
  }

  // The last attempt toward `peer` served nothing of it, within retryAfterMs, and it backed nothing new since.
  private failedLately(peer: Peer): boolean {
    const f = this.failed.get(peer);
    return f !== undefined && peer.backedHeight <= f.backed && this.clock.now() - f.at < this.opts.retryAfterMs;
  }

  // A claim is backed when its tip is a block held here at the claimed height (imported from anyone).
  private async checkBacking(peer: Peer): Promise<void> {
    const { height, tipHash } = peer;
    const meta = tipHash ? await this.m.chain.getMeta(tipHash) : undefined;
    if (meta && meta.height === height) peer.back(height);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.tipChecks.values()) this.clock.clearTimeout(t);
    this.tipChecks.clear();
  }

  private async checkUnknownTip(peer: Peer): Promise<void> {
    if (this.stopped || peer.state !== "ready" || this.failedLately(peer) || (await this.m.chain.has(peer.tipHash))) return;
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

  // The common ancestor is asked of each peer on its own (one probe per peer at a time), so a peer
  // that never answers holds nothing; the first answer starts the one fetch, which runs alone.
  private begin(peer: Peer): void {
    if (this.running) {
      if (!this.again || peer.height > this.again.height) this.again = peer;
      return;
    }
    if (this.probing.has(peer)) return;
    this.probing.add(peer);
    const backed = peer.backedHeight;
    void this.commonAncestor(peer)
      .then((ancestor) => {
        if (ancestor === undefined) {
          this.failed.set(peer, { backed, at: this.clock.now() }); // not asked again on its next status
          return;
        }
        if (this.running) return this.begin(peer); // another peer's fetch started meanwhile: queued
        this.fetchFrom(peer, ancestor, backed);
      })
      .catch((e) => this.m.log.warn({ err: (e as Error).message }, "Sync failed"))
      .finally(() => this.probing.delete(peer));
  }

  private fetchFrom(peer: Peer, ancestor: number, backed: number): void {
    this.running = true;
    this.source = peer;
    this.lastImportAt = 0;
    this.attemptAt = this.clock.now();
    this.firstChunkAskedAt = 0;
    this.primaryServed = false;
    void this.run(peer, ancestor)
      .catch((e) => this.m.log.warn({ err: (e as Error).message }, "Sync failed"))
      .finally(() => {
        // An attempt this peer served nothing of is not repeated toward it on its next status (the
        // chunks may have come from others: its claim still went unshown).
        if (!this.primaryServed) this.failed.set(peer, { backed, at: this.clock.now() });
        else this.failed.delete(peer);
        this.running = false;
        this.source = undefined;
        const next = this.again;
        this.again = undefined;
        if (next && next.state === "ready") this.maybeSync(next);
      });
  }

  private async run(peer: Peer, ancestor: number): Promise<void> {
    const { chain, log } = this.m;
    const target = peer.height;
    if (target <= ancestor) return;
    const started = this.clock.now();
    this.status = { syncing: true, peer: peer.ebid ?? null, start_height: ancestor, target_height: target, imported: 0, blocks_per_s: 0 };
    log.info({ peer: peer.ebid?.slice(0, 12), from: ancestor + 1, to: target }, "Sync started");
    const chunks = this.plan(ancestor + 1, target);
    const queue = new PQueue({ concurrency: this.opts.parallel });
    const pending = new Map<number, Promise<{ blocks: Block[]; source: Peer } | undefined>>();
    // Peers (but the one we sync toward) that failed a request of this sync: no further chunk is
    // asked of them, so a peer that claims the heights and never serves costs one request a sync.
    const unhelpful = new Set<Peer>();
    const window = this.opts.parallel * 2;
    let next = 0;
    let lastLog = this.clock.now();
    let prevHash = (await chain.getCanonicalMeta(ancestor))?.hash;
    try {
      for (let i = 0; i < chunks.length && !this.stopped; i++) {
        while (next < chunks.length && next < i + window) {
          const c = chunks[next]!;
          pending.set(next, this.fetchChunk(queue, c, peer, unhelpful, next === 0));
          next++;
        }
        let got = await pending.get(i)!;
        pending.delete(i);
        // A chunk from a peer other than the one we sync toward that does not chain on, or holds an
        // invalid block (struck), is asked again of the peer we sync toward alone, and the other peer
        // is left out for the rest of the sync: it may be on another branch, or a liar claiming our
        // target's heights, and must not stop the sync. Once a chunk, so that its attempts and busy
        // waits stay bounded (peers in turn cannot hold it).
        for (;;) {
          if (!got) {
            log.warn({ from: chunks[i]!.from, to: chunks[i]!.to }, "Sync stopped: no peer served the range");
            return;
          }
          // The chunks must chain onto each other: a peer on another branch cannot splice in.
          if (got.blocks[0]!.header.parent_hash !== prevHash) {
            if (got.source === peer) {
              log.info({ height: chunks[i]!.from }, "Sync stopped: range does not connect (peers on different branches)");
              return;
            }
          } else {
            const bad = await this.importChunk(got);
            if (!bad) break;
            this.m.penalize(got.source, `invalid block in range: ${bad.code}: ${bad.message}`);
            if (got.source === peer) return;
          }
          unhelpful.add(got.source);
          got = await this.fetchChunk(queue, chunks[i]!, peer, unhelpful, i === 0, true);
        }
        prevHash = got.blocks[got.blocks.length - 1]!.hash;
        // Valid blocks up to here: the serving peer backed these heights. Only blocks we did not
        // hold (above) make the sync importing (`syncing`, which pauses attestations and mining)
        // from that peer (its claim is the one that counts now, not the target's): a peer that
        // answers a heavier tip with an ancestor far below must not pause us while we fetch blocks
        // we hold.
        got.source.back(got.blocks[got.blocks.length - 1]!.header.height);
        if (got.source === peer) this.primaryServed = true;
        const secs = (this.clock.now() - started) / 1000;
        this.status.blocks_per_s = Math.round(this.status.imported / Math.max(secs, 0.001));
        if (this.clock.now() - lastLog >= 2000) {
          lastLog = this.clock.now();
          log.info({ height: chain.head.height, target, blocks_per_s: this.status.blocks_per_s }, `Sync progress: ${chain.head.height}/${target}`);
        }
      }
    } finally {
      queue.clear();
      const secs = (this.clock.now() - started) / 1000;
      log.info(
        { imported: this.status.imported, height: chain.head.height, seconds: secs, blocks_per_s: Math.round(this.status.imported / Math.max(secs, 0.001)) },
        "Sync finished",
      );
      this.status = { ...this.status, syncing: false };
    }
  }

  // Imports a fetched chunk's blocks in order; the first invalid one's error ends it (those before stay).
  private async importChunk(got: { blocks: Block[]; source: Peer }): Promise<BlockError | undefined> {
    for (const b of got.blocks) {
      try {
        const out = await this.m.chain.importBlock(b, { source: `peer:${got.source.ebid ?? got.source.remoteAddress}`, sync: true });
        if (out.status === "imported") {
          this.status.imported++;
          // Progress per block, not per chunk: a chunk of full blocks on a busy machine may take
          // longer to import than the claim backing timeout, and its server must not be struck
          // meanwhile (a block valid on our branch backs its server's heights up to it).
          this.source = got.source;
          this.lastImportAt = this.clock.now();
        }
      } catch (e) {
        if (e instanceof BlockError) return e;
        throw e;
      }
    }
    return undefined;
  }

  // Heights [from, to] cut into requests: fixed-size chunks, or whole epochs for `epoch`.
  private plan(from: number, to: number): Chunk[] {
    const chunks: Chunk[] = [];
    for (let f = from; f <= to; ) {
      const end = this.opts.strategy === "epoch" ? (syncEpochOf(f) + 1) * SYNC_EPOCH_LENGTH - 1 : f + this.opts.chunk - 1;
      chunks.push({ from: f, to: Math.min(to, end) });
      f = Math.min(to, end) + 1;
    }
    return chunks;
  }

  private requestFor(c: Chunk): { path: string; data: unknown } {
    switch (this.opts.strategy) {
      case "epoch":
        return { path: "/data/miner_block/epoch", data: { epoch: syncEpochOf(c.from) } };
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
    // A chain started from a checkpoint holds nothing below it, and its branch is final there: a
    // peer whose canonical chain leaves it out has nothing this node can import.
    const base = chain.base?.checkpoint;
    if (base && d.height < base.height) {
      this.m.log.info({ peer: peer.ebid?.slice(0, 12), ancestor: d.height, checkpoint: base.height }, "Peer's chain does not contain our checkpoint: not syncing from it");
      return undefined;
    }
    return d.height;
  }

  // Fetches one chunk from the peers that report its heights (the first try rotates over them to
  // spread the load, a retry goes to `primary`, the peer the sync targets, first); each request
  // goes through the shared queue so at most `parallel` are in flight. A peer that fails a request
  // (no answer, a refusal, a bad reply) joins `unhelpful` and is asked for no other chunk of this
  // sync: peers that claim the heights and never serve cannot fail the chunks (3 tries each) of a
  // sync an honest peer serves. A reply may hold only the first part of what was asked (replies are
  // capped by bytes, docs/protocol.md §9.6): the rest is asked of the same peer with range requests
  // from the next height; a chunk another peer takes over is asked of it whole. `onlyPrimary`: asked
  // of `primary` alone (a chunk another peer served that did not chain on, or was invalid).
  private async fetchChunk(queue: PQueue, c: Chunk, primary: Peer, unhelpful: Set<Peer>, first = false, onlyPrimary = false): Promise<{ blocks: Block[]; source: Peer } | undefined> {
    const tried = new Set<Peer>();
    const blocks: Block[] = [];
    // Busy waits of the chunk: the peers other than the primary share five (so peers in turn hold
    // it no longer than one could), and the primary has its own five (a peer that used the shared
    // ones up does not leave the peer we sync toward none).
    let sharedWaits = 0;
    let primaryWaits = 0;
    let source: Peer | undefined;
    for (let attempt = 0; attempt < this.opts.attempts && blocks.length <= c.to - c.from; attempt++) {
      const candidates = [primary, ...(onlyPrimary ? [] : this.m.peers().filter((p) => p !== primary))].filter(
        (p) => p.state === "ready" && p.usableHeight >= c.to && !tried.has(p) && !unhelpful.has(p),
      );
      // spread chunks over peers (rotate by chunk start); a retry asks the sync's peer first
      const retryPrimary = attempt > 0 && candidates[0] === primary;
      source = candidates.length ? candidates[retryPrimary ? 0 : (c.from / this.opts.chunk + attempt) % candidates.length | 0]! : undefined;
      if (!source) return undefined;
      tried.add(source);
      const failed = (p: Peer) => p !== primary && unhelpful.add(p);
      // Each peer serves the whole chunk: what an earlier one served in part may be another branch,
      // and the chunk's blocks are credited to (or blamed on) the one peer that sent them.
      blocks.length = 0;
      // busy waits this peer was given in this attempt
      let mine = 0;
      // The strategy's own request first; continuations (after a partial reply) are ranges.
      let req = this.requestFor(c);
      // The last reply's blocks and their bytes when the byte cap cut it (has_more before the chunk's end), else undefined.
      let cut: { blocks: number; bytes: number } | undefined;
      while (blocks.length <= c.to - c.from) {
        const from = c.from + blocks.length;
        const peer = source;
        // The first chunk's requests (and its retries after busy waits) go before the others' in
        // the queue: nothing imports before it, and every claim's grace waits on it.
        const res = await queue.add(
          () => {
            if (first) this.firstChunkAskedAt = this.clock.now();
            return peer.request(req.path, req.data, this.opts.requestTimeoutMs);
          },
          { priority: first ? 1 : 0 },
        );
        if (!res?.ok) {
          // A peer that is busy (its served-byte budget, or requests in flight) is asked again after
          // the wait it names, a few times, before the chunk moves on to another peer.
          const wait = busyRetryMs(res?.errors);
          if (wait !== undefined && (peer === primary ? primaryWaits : sharedWaits) < MAX_BUSY_WAITS) {
            if (peer === primary) primaryWaits++;
            else sharedWaits++;
            mine++;
            await sleep(this.clock, wait);
            continue;
          }
          // Failed, or busy past waits it was given itself: no other chunk of this sync is asked of
          // it (a peer that answered busy to every request held each chunk it was given for the
          // five waits). One that others left no waits only moves the chunk on.
          if (wait === undefined || mine > 0) failed(peer);
          break;
        }
        // an epoch reply may start before the chunk (we already hold those blocks)
        const parsed = this.parseBlocks(source, res.data);
        if (!parsed) {
          failed(peer);
          break;
        }
        const got = parsed.filter((b) => b.header.height >= from && b.header.height <= c.to);
        const prev = blocks[blocks.length - 1];
        const contiguous = got.every((b, i) => b.header.height === from + i && (i === 0 || b.header.parent_hash === got[i - 1]!.hash));
        const whole = got.length === c.to - from + 1;
        const hasMore = (res.data as { has_more?: unknown }).has_more === true;
        if (!contiguous || (!whole && !hasMore)) {
          this.m.penalize(source, "range reply is not the contiguous range asked for");
          failed(peer);
          break;
        }
        // A continuation that does not join the blocks before it: the server's chain moved between
        // the two replies (a reorg at its tip), which an honest server does too; no strike.
        if (prev && got.length > 0 && got[0]!.header.parent_hash !== prev.hash) {
          failed(peer);
          break;
        }
        // A reply is cut only when its next block would take it past the byte cap (docs/protocol.md
        // §9.6): one cut sooner (a block a reply, each just inside the request timeout) would hold
        // the chunk for up to chunk × timeout. This reply's first block is the cut one's next. The
        // chunk moves on without a strike: a peer can hold it as long by not answering, and the
        // check counts blocks as parsed (what a peer cannot pad), a little under the server's count.
        if (cut && got.length > 0) {
          const next = blockBytes(got[0]!);
          if (cut.bytes + next + (cut.blocks + 1) * MAX_STATUS_FIELDS_BYTES <= MAX_REPLY_BYTES) {
            this.m.log.debug({ peer: source.ebid?.slice(0, 12), blocks: cut.blocks, bytes: cut.bytes, next }, "Sync: a reply was cut before the byte cap; the chunk moves on");
            failed(peer);
            break;
          }
        }
        // The blocks the cut reply's server counted: one a height from the request's first height
        // (an epoch reply starts at its epoch) to the chunk's end; got is non-empty, so the next
        // reply starts right after them.
        cut = !whole && hasMore && got.length > 0 ? cutBlocks(parsed, requestStart(req, from), c.to) : undefined;
        // Only an epoch reply cut before our chunk starts may hold nothing new: go on with a range.
        if (got.length === 0 && req.path !== "/data/miner_block/epoch") {
          failed(peer);
          break;
        }
        blocks.push(...got);
        req = this.rangeRequest(c.from + blocks.length, c.to);
      }
    }
    return blocks.length === c.to - c.from + 1 ? { blocks, source: source! } : undefined;
  }

  private rangeRequest(from: number, to: number): { path: string; data: unknown } {
    return { path: "/data/miner_block/range", data: { from_index: from, to_index: to, max_chunk_size: Math.min(MAX_CHUNK, to - from + 1) } };
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

/**
 * Bytes a server may count for a block's MinerBlock status fields (docs/protocol.md §9.6: epoch,
 * is_canonical, is_orphaned, seen_at, orphaned_at, orphan_reason, competing_hash), which a parsed
 * block no longer holds: the cut check allows this much per block.
 */
const MAX_STATUS_FIELDS_BYTES = 512;

/** The UTF-8 bytes of a parsed block's JSON (its wire fields only: unknown ones were dropped by the schema). */
function blockBytes(b: Block): number {
  return Buffer.byteLength(JSON.stringify(b));
}

/** The first height a block-carrying request asks for: an epoch's first height, else `from_index`. */
function requestStart(req: { path: string; data: unknown }, from: number): number {
  return req.path === "/data/miner_block/epoch" ? (req.data as { epoch: number }).epoch * SYNC_EPOCH_LENGTH : from;
}

/** A cut reply's blocks in [start, end], one per height (a repeated height is not counted twice), and their bytes. */
function cutBlocks(blocks: readonly Block[], start: number, end: number): { blocks: number; bytes: number } {
  const heights = new Set<number>();
  let bytes = 0;
  for (const b of blocks) {
    const h = b.header.height;
    if (h < start || h > end || heights.has(h)) continue;
    heights.add(h);
    bytes += blockBytes(b);
  }
  return { blocks: heights.size, bytes };
}

/** Busy replies waited out per chunk: shared by the peers other than the primary, and as many again for the primary. */
export const MAX_BUSY_WAITS = 5;

export { busyRetryMs } from "./busy.ts";
