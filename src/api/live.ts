/**
 * Live mining status over a WebSocket at `/api/mining/stream` (the mining spec's live status
 * updates), on the API's HTTP server. Every client gets a `view` message at once, then on
 * every new tip (at most one per 100 ms) and at least once a second:
 * `{type: "view", at, status (exactly GET /api/mining/status), tip (with the finalized and justified
 * checkpoints as GET /api/chain/head has them: api/finality.ts), my_jitter_ms, history (recent
 * canonical blocks: height, hash, producer, slot, timestamp, txs), slot_distribution, peers, claims,
 * sync_progress, pow (miner counters, or null), validators (the set after the head: epochs, counts,
 * the first VIEW_VALIDATORS records and this node's own, as `GET /api/validators` shows them)}`.
 * Clients send nothing; anything they send is ignored, a message over 1 KiB closes them. Slow readers are skipped, not buffered without bound. A plain GET of the
 * path (no upgrade) answers one view as JSON. Every message is a view (one type): finality moves
 * with a new tip, or (a block stored off the head's branch finalizing a checkpoint) by the next
 * second's view.
 */
import type { Server } from "node:http";
import { WebSocketServer, type WebSocket } from "ws";
import type { ApiModules } from "./modules.ts";
import { miningStatus } from "./routes/mining.ts";
import { calculateJitter } from "../consensus/selection.ts";
import { validatorSet } from "./validators.ts";
import { finalityView } from "./finality.ts";

/** The stream's path. */
export const STREAM_PATH = "/api/mining/stream";
/** Recent blocks in each view (winner history). */
export const HISTORY_BLOCKS = 50;
/** Validators listed in each view (the counts cover every one; `GET /api/validators` pages the rest). */
export const VIEW_VALIDATORS = 100;
const MAX_CLIENTS = 100;
const MAX_BUFFERED_BYTES = 1024 * 1024;
const COALESCE_MS = 100;
const TICK_MS = 1000;

/** One block of the winner history. */
export interface HistoryEntry {
  height: number;
  hash: string;
  producer: string;
  /** 0..6, or null for a PoW block */
  slot: number | null;
  timestamp: number;
  txs: number;
}

/**
 * The last HISTORY_BLOCKS canonical blocks, oldest first, reusing entries of `previous` still
 * canonical (after a reorg the changed tail is re-read).
 */
export async function readHistory(m: Pick<ApiModules, "chain">, previous: readonly HistoryEntry[] = []): Promise<HistoryEntry[]> {
  const top = m.chain.head.height;
  const from = Math.max(1, top - HISTORY_BLOCKS + 1);
  const known = new Map(previous.map((h) => [h.height, h]));
  const next: HistoryEntry[] = [];
  for (let h = from; h <= top; h++) {
    const meta = await m.chain.getCanonicalMeta(h);
    if (!meta) continue;
    const cached = known.get(h);
    if (cached && cached.hash === meta.hash) {
      next.push(cached);
      continue;
    }
    const block = await m.chain.getBlock(meta.hash);
    next.push({ height: h, hash: meta.hash, producer: meta.producer, slot: meta.slot, timestamp: meta.timestamp, txs: block?.txs.length ?? 0 });
  }
  return next;
}

const latestHistory = new WeakMap<Pick<ApiModules, "chain">, { head: string; entries: HistoryEntry[] }>();

/**
 * {@link readHistory} for the plain GET of the stream's path, kept per node with the head it was
 * read at: while the head stays, a request reads nothing; when it moves, only the changed tail is
 * read (not HISTORY_BLOCKS blocks per request).
 */
export async function recentHistory(m: Pick<ApiModules, "chain">): Promise<readonly HistoryEntry[]> {
  const head = m.chain.head.hash; // read before: a head that moves during the read makes the next call read again
  const prev = latestHistory.get(m);
  if (prev?.head === head) return prev.entries;
  const entries = await readHistory(m, prev?.entries);
  latestHistory.set(m, { head, entries });
  return entries;
}

/** Builds the view every client receives (and a plain GET of the stream's path answers). */
export async function liveView(m: ApiModules, history: readonly HistoryEntry[]): Promise<Record<string, unknown>> {
  const status = await miningStatus(m);
  const head = m.chain.head;
  const set = await validatorSet(m.chain);
  const schedule = await m.chain.scheduleFor(head);
  const p = m.chain.spec.params;
  const distribution: Record<string, number> = {};
  for (const b of history) {
    const k = b.slot === null ? "pow" : String(b.slot);
    distribution[k] = (distribution[k] ?? 0) + 1;
  }
  return {
    type: "view",
    at: Date.now(),
    consensus: m.chain.spec.consensus,
    status,
    tip: { height: head.height, hash: head.hash, timestamp: head.timestamp, producer: head.producer, slot: head.slot, ...finalityView(m.chain) },
    my_jitter_ms: calculateJitter(schedule.seed, m.ebid, p.jitter_min_ms, p.jitter_max_ms),
    history,
    slot_distribution: distribution,
    peers: m.p2p.readyPeers().map((x) => ({ ebid: x.ebid, direction: x.direction, height: x.height, address: x.listenUrl ?? null })),
    claims: m.claims.records(10),
    sync_progress: m.syncer.progress,
    pow: m.mining.miner ? { ...m.mining.miner.stats, hash_rate: Math.round(m.mining.miner.rates().hash_rate) } : null,
    validators: {
      height: set.height,
      epoch: set.epoch,
      next_epoch: set.next_epoch,
      epoch_length: set.epoch_length,
      counts: set.counts,
      list: set.validators.slice(0, VIEW_VALIDATORS),
      me: set.validators.find((v) => v.ebid === m.ebid) ?? null,
    },
  };
}

/** The running stream; `close()` ends every client. */
export interface LiveStream {
  clients(): number;
  close(): void;
}

/** Serves the stream on `server`'s upgrade requests to STREAM_PATH; other upgrades are refused. */
export function attachLiveStream(server: Server, m: ApiModules): LiveStream {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024, perMessageDeflate: false });
  const history: HistoryEntry[] = [];
  let timer: NodeJS.Timeout | undefined;
  let sending = false;

  const refreshHistory = async () => {
    const next = await readHistory(m, history);
    history.splice(0, history.length, ...next);
  };

  const send = (ws: WebSocket, text: string) => {
    if (ws.readyState === ws.OPEN && ws.bufferedAmount <= MAX_BUFFERED_BYTES) ws.send(text);
  };
  const push = async () => {
    if (sending || wss.clients.size === 0) return;
    sending = true;
    try {
      await refreshHistory();
      const text = JSON.stringify(await liveView(m, history));
      for (const ws of wss.clients) send(ws, text);
    } catch {
      // the chain is closing; the next tick tries again
    } finally {
      sending = false;
    }
  };
  const schedule = () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      void push();
    }, COALESCE_MS);
    timer.unref();
  };
  const onHead = () => schedule();
  m.chain.on("head", onHead);
  const tick = setInterval(() => void push(), TICK_MS);
  tick.unref();

  const onUpgrade = (req: import("node:http").IncomingMessage, socket: import("node:stream").Duplex, head: Buffer) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    if (path !== STREAM_PATH || wss.clients.size >= MAX_CLIENTS) {
      socket.end(`HTTP/1.1 ${path !== STREAM_PATH ? "404 Not Found" : "503 Service Unavailable"}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on("message", () => undefined); // clients only listen
      ws.on("error", () => ws.terminate());
      refreshHistory()
        .then(() => liveView(m, history))
        .then((v) => send(ws, JSON.stringify(v)))
        .catch(() => ws.close(1011, "view unavailable"));
    });
  };
  server.on("upgrade", onUpgrade);
  return {
    clients: () => wss.clients.size,
    close() {
      clearInterval(tick);
      clearTimeout(timer);
      m.chain.off("head", onHead);
      server.off("upgrade", onUpgrade);
      for (const ws of wss.clients) ws.terminate();
      wss.close();
    },
  };
}
