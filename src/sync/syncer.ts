/**
 * Range sync (DESIGN.md section 9): when a peer reports a height above ours, fetch its canonical
 * blocks in chunks with `/data/miner_block/range` and import each (fully validated). When the first
 * block's parent is unknown we are on another branch: step back, doubling, until the ranges
 * connect. One sync runs at a time.
 */
import type { Logger } from "pino";
import type { Chain } from "../chain/chain.ts";
import { BlockError } from "../chain/errors.ts";
import { blockSchema } from "../consensus/wire.ts";
import type { Block } from "../consensus/types.ts";
import type { Peer } from "../p2p/peer.ts";
import { DEFAULT_CHUNK } from "./protocol.ts";

/** Collaborators of the syncer. */
export interface SyncerModules {
  chain: Chain;
  /** records a strike against a peer that sent invalid data */
  penalize(peer: Peer, reason: string): void;
  log: Logger;
}

/** Sync progress, for the API. */
export interface SyncStatus {
  syncing: boolean;
  peer: string | null;
  target_height: number;
  imported: number;
}

/** Pulls missing blocks from peers that are ahead. */
export class Syncer {
  private running = false;
  private again?: Peer;
  private status: SyncStatus = { syncing: false, peer: null, target_height: 0, imported: 0 };
  private stopped = false;

  constructor(
    private readonly m: SyncerModules,
    private readonly chunk = DEFAULT_CHUNK,
  ) {}

  /** Current progress. */
  get progress(): SyncStatus {
    return { ...this.status };
  }

  /** Called whenever a peer's reported height may exceed ours. */
  maybeSync(peer: Peer): void {
    if (this.stopped || peer.height <= this.m.chain.head.height) return;
    if (this.running) {
      if (!this.again || peer.height > this.again.height) this.again = peer;
      return;
    }
    this.running = true;
    void this.run(peer).finally(() => {
      this.running = false;
      const next = this.again;
      this.again = undefined;
      if (next && next.state === "ready") this.maybeSync(next);
    });
  }

  stop(): void {
    this.stopped = true;
  }

  private async run(peer: Peer): Promise<void> {
    const { chain, log } = this.m;
    let cursor = chain.head.height + 1;
    let lookback = 0;
    this.status = { syncing: true, peer: peer.ebid ?? null, target_height: peer.height, imported: 0 };
    const started = Date.now();
    try {
      for (let rounds = 0; rounds < 100_000 && !this.stopped && peer.state === "ready"; rounds++) {
        if (cursor > peer.height) break;
        this.status.target_height = peer.height;
        const res = await peer.request("/data/miner_block/range", { from_index: cursor, to_index: peer.height, max_chunk_size: this.chunk });
        if (!res.ok) {
          log.debug({ peer: peer.ebid?.slice(0, 12), errors: res.errors }, "Range request failed");
          return;
        }
        const blocks = this.parseBlocks(peer, res.data);
        if (!blocks || blocks.length === 0) return;
        const first = blocks[0]!;
        if (!(await chain.has(first.header.parent_hash))) {
          if (cursor <= 1) return this.m.penalize(peer, "range does not connect to genesis");
          lookback = lookback ? lookback * 2 : 8;
          cursor = Math.max(1, cursor - lookback);
          log.info({ peer: peer.ebid?.slice(0, 12), cursor }, "Sync: peer is on another branch, stepping back");
          continue;
        }
        for (const b of blocks) {
          try {
            const out = await chain.importBlock(b);
            if (out.status === "imported") this.status.imported++;
          } catch (e) {
            if (e instanceof BlockError) return this.m.penalize(peer, `invalid block in range: ${e.code}: ${e.message}`);
            throw e;
          }
        }
        cursor = blocks[blocks.length - 1]!.header.height + 1;
      }
    } finally {
      if (this.status.imported > 0) {
        const secs = (Date.now() - started) / 1000;
        log.info(
          { imported: this.status.imported, height: chain.head.height, seconds: secs, blocks_per_s: Math.round(this.status.imported / Math.max(secs, 0.001)) },
          "Sync finished",
        );
      }
      this.status = { ...this.status, syncing: false };
    }
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
