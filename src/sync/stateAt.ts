/**
 * `/data/state_at` (docs/protocol.md §9.7): the state at a finalized checkpoint, served over P2P so
 * a node can start from it (`start --checkpoint`), and the client side that fetches it from peers,
 * page by page, and verifies it (chain/checkpoint.ts) before anything is written.
 *
 * Request `{height, hash, cursor}` (cursor null or absent for the first page). A node serves any
 * canonical checkpoint (a height k·I, k >= 1) at or below its store's finalized checkpoint, at most
 * STATE_AT_RECENT_CHECKPOINTS checkpoints below it and at most MAX_STATE_AT_DEPTH blocks below its head, whose window it holds; otherwise it answers
 * `ok: false` with an error naming its finalized checkpoint. Pages come in order: the window's
 * blocks (ascending, cut at MAX_REPLY_BYTES, at least one a page), then the accounts
 * (STATE_AT_ACCOUNTS_PER_PAGE a page, by address), then the validator records
 * (STATE_AT_RECORDS_PER_PAGE a page, by EBID). Cursor forms: `b<height>`, `a<address>` (after it;
 * `a` alone: from the first), `v<ebid>` (after it; `v` alone: from the first).
 */
import { z } from "zod";
import type { Logger } from "pino";
import type { Chain } from "../chain/chain.ts";
import type { ChainSpec } from "../chain/spec.ts";
import type { Checkpoint } from "../consensus/finality.ts";
import { formatZodError, hex32, uint } from "../consensus/wire.ts";
import type { ResEnvelope } from "../p2p/peer.ts";
import { MAX_REPLY_BYTES } from "./protocol.ts";
import { busyRetryMs } from "./busy.ts";
import { sleep, systemClock, type Clock } from "../util/clock.ts";
import { encodeRecord } from "../chain/registry.ts";
import {
  CheckpointError,
  MAX_CHECKPOINT_WINDOW,
  checkpointAnchorHeight,
  checkpointWindowFrom,
  parseStateAtPage,
  verifyCheckpointState,
  type CheckpointState,
  type StateAtBlock,
  type StateAtPage,
  type VerifiedCheckpoint,
} from "../chain/checkpoint.ts";

/** Node policy: a checkpoint more than this many blocks below the head is not served (the undo walk to it costs that many blocks a page). */
export const MAX_STATE_AT_DEPTH = 4096;
/**
 * Node policy: the finalized checkpoint and the this many checkpoints below it are served, no older: every
 * page rebuilds the state at its checkpoint unless kept (the chain keeps one per served checkpoint),
 * and a checkpoint read from a trusted node a few intervals ago is still among them.
 */
export const STATE_AT_RECENT_CHECKPOINTS = 4;
/** Accounts in one page (about 110 bytes each as JSON: about 1 MiB). */
export const STATE_AT_ACCOUNTS_PER_PAGE = 8192;
/** Validator records in one page (about 300 bytes each as JSON: about 0.6 MiB). */
export const STATE_AT_RECORDS_PER_PAGE = 2048;

const stateAtReq = z.object({ height: uint, hash: hex32, cursor: z.string().max(80).nullish() }).strict();

/** Page bounds of `/data/state_at` replies (the defaults are the protocol's; tests page smaller). */
export interface StateAtLimits {
  /** bytes of blocks (their items' JSON) a page holds, at least one block */
  blockBytes: number;
  accounts: number;
  records: number;
}

/** Serves one `/data/state_at` page. */
export async function serveStateAt(chain: Chain, data: unknown, limits?: StateAtLimits): Promise<ResEnvelope> {
  // Read here, not at load: protocol.ts (MAX_REPLY_BYTES) imports this module.
  const lim = limits ?? { blockBytes: MAX_REPLY_BYTES, accounts: STATE_AT_ACCOUNTS_PER_PAGE, records: STATE_AT_RECORDS_PER_PAGE };
  const r = stateAtReq.safeParse(data);
  if (!r.success) return { ok: false, data: null, errors: [formatZodError(r.error)] };
  const { height, hash } = r.data;
  const p = chain.spec.params;
  const fin = chain.finalizedCheckpoint;
  const refuse = (why: string): ResEnvelope => ({ ok: false, data: null, errors: [`${why}; the finalized checkpoint here is ${fin.height}:${fin.hash}`] });
  if (height === 0 || height % p.checkpoint_interval !== 0) return refuse(`height ${height} is not a checkpoint height k·${p.checkpoint_interval} (k >= 1)`);
  if (height > fin.height) return refuse(`checkpoint ${height} is not finalized here`);
  const meta = await chain.getCanonicalMeta(height);
  if (!meta || meta.hash !== hash) return refuse(`${hash} is not the block at height ${height} here`);
  if (height < fin.height - STATE_AT_RECENT_CHECKPOINTS * p.checkpoint_interval) return refuse(`checkpoint ${height} is more than ${STATE_AT_RECENT_CHECKPOINTS} checkpoints below the finalized one`);
  if (chain.head.height - height > MAX_STATE_AT_DEPTH) return refuse(`checkpoint ${height} is more than ${MAX_STATE_AT_DEPTH} blocks below the head`);
  const anchorHeight = checkpointAnchorHeight(height, p);
  const anchor = anchorHeight === 0 ? undefined : await chain.getCanonicalMeta(anchorHeight);
  const base = chain.base;
  const pruned = (): ResEnvelope => ({ ok: false, data: null, errors: [`pruned below checkpoint ${base?.checkpoint.height}: blocks below height ${base?.window_from} are not held`] });
  if (anchorHeight > 0 && !anchor) return pruned();
  const anchorFinalized = anchor ? ((await chain.finalityOf(anchor.hash))?.finalized.height ?? 0) : 0;
  const windowFrom = checkpointWindowFrom(height, p, anchorFinalized);
  if (base && windowFrom < base.window_from) return pruned();
  const page: StateAtPage = {
    checkpoint: { height, hash },
    window_from: windowFrom,
    total_weight: meta.total_weight,
    blocks: [],
    accounts: [],
    validators: [],
    next_cursor: null,
  };
  const cursor = r.data.cursor ?? `b${windowFrom}`;
  const bad = (): ResEnvelope => ({ ok: false, data: null, errors: [`bad cursor "${cursor}"`] });
  if (cursor.startsWith("b")) {
    if (!/^b[0-9]{1,15}$/.test(cursor)) return bad();
    const from = Number(cursor.slice(1));
    if (from < windowFrom || from > height) return bad();
    let bytes = 0;
    for (let h = from; h <= height; h++) {
      const m = await chain.getCanonicalMeta(h);
      const block = m && (await chain.getBlock(m.hash));
      const finality = m && (await chain.finalityOf(m.hash));
      if (!m || !block || !finality) return pruned();
      // The window's first block's changes cannot be checked (its parent's header is not sent) but at height 1.
      const changes = h > windowFrom || h === 1 ? ((await chain.changesOf(m.hash)) ?? null) : null;
      const item: StateAtBlock = { block, finality, changes };
      const size = Buffer.byteLength(JSON.stringify(item));
      if (page.blocks.length > 0 && bytes + size > lim.blockBytes) {
        page.next_cursor = `b${h}`;
        break;
      }
      page.blocks.push(item);
      bytes += size;
    }
    page.next_cursor ??= "a";
  } else if (cursor.startsWith("a")) {
    const after = cursor.slice(1);
    if (after !== "" && !/^[0-9a-f]{64}$/.test(after)) return bad();
    const got = await chain.accountsAt(meta, after || undefined, lim.accounts);
    page.accounts = got.accounts;
    page.next_cursor = got.done ? "v" : `a${got.accounts[got.accounts.length - 1]![0]}`;
  } else if (cursor.startsWith("v")) {
    const after = cursor.slice(1);
    if (after !== "" && !/^[0-9a-f]{64}$/.test(after)) return bad();
    const records = (await chain.recordsAt(meta)).all().filter((x) => x.ebid > after);
    page.validators = records.slice(0, lim.records).map(encodeRecord);
    page.next_cursor = records.length > lim.records ? `v${page.validators[page.validators.length - 1]!.ebid}` : null;
  } else {
    return bad();
  }
  return { ok: true, data: page, errors: null };
}

/** A peer that answers requests (p2p/peer.ts `Peer`). */
export interface StateAtSource {
  request(path: string, data: unknown, timeoutMs?: number): Promise<ResEnvelope>;
}

/** `busy` replies waited out in one fetch before the peer counts as not serving. */
export const MAX_STATE_AT_BUSY_WAITS = 200;

/**
 * `busy` replies in a row (no page between them) after which a fetch leaves the peer for the next
 * one: a budget that paces pages frees up after the wait it names, a peer that never serves does not.
 */
export const MAX_STATE_AT_BUSY_STREAK = 5;

/** Most pages one fetch reads from a peer: the window's blocks, then accounts and records (a bound against a peer that pages forever). */
export const MAX_STATE_AT_PAGES = 4096;

/**
 * Node policy: most accounts one fetch collects (about 110 bytes each as JSON, at most about 200
 * with every field at its longest: 110 to 200 MB). A state past it is refused as no peer's fault.
 */
export const MAX_STATE_AT_ACCOUNTS = 1_000_000;
/** Node policy: most validator records one fetch collects (about 300 bytes each as JSON: about 20 MB). */
export const MAX_STATE_AT_RECORDS = 65_536;
/**
 * Node policy: most bytes of window blocks (their items' JSON, as the server measures them) one
 * fetch collects: 1 GiB, about 2,500 blocks of `max_block_txs` 500 transfers (an honest window is
 * about `pool_window + 2·epoch_length` blocks).
 */
export const MAX_STATE_AT_BLOCK_BYTES = 1024 * 1024 * 1024;

/** Where a fetch stands between pages: the part it reads and the last key of each part. */
interface PageOrder {
  /** 0 blocks, 1 accounts, 2 validator records (the part the next page must carry) */
  part: number;
  /** the height the next block must have */
  nextHeight: number;
  lastAddress: string;
  lastEbid: string;
  blockBytes: number;
}

const PARTS = ["blocks", "accounts", "validators"] as const;

/**
 * Checks one page as it arrives (docs/protocol.md §9.7) against the bounds the server pages by and
 * the order of the parts, so a peer cannot make the node collect more than those bounds allow
 * before the state is verified. Advances `o`.
 * @throws CheckpointError for a page over its bound or out of order (strike the peer);
 *   StateAtRefused when the state passes a node-policy cap (no one's provable fault)
 */
function checkPage(checkpoint: Checkpoint, page: StateAtPage, o: PageOrder, total: { accounts: number; records: number }): void {
  const fail = (m: string): never => {
    throw new CheckpointError(`state_at page ${m}`);
  };
  const part = PARTS[o.part]!;
  for (const other of PARTS) if (other !== part && page[other].length > 0) fail(`out of order: it carries ${other} where ${part} come next (blocks, then accounts, then validators)`);
  const next = page.next_cursor;
  if (o.part === 0) {
    if (page.blocks.length === 0) fail("carries no block (at least one a page)");
    let bytes = 0;
    for (const item of page.blocks) {
      if (item.block.header.height !== o.nextHeight) fail(`out of order: block at height ${item.block.header.height} where ${o.nextHeight} comes next`);
      o.nextHeight++;
      bytes += Buffer.byteLength(JSON.stringify(item));
    }
    if (page.blocks.length > 1 && bytes > MAX_REPLY_BYTES) fail(`holds ${bytes} bytes of ${page.blocks.length} blocks, more than ${MAX_REPLY_BYTES} (more than one block a page)`);
    o.blockBytes += bytes;
    if (o.blockBytes > MAX_STATE_AT_BLOCK_BYTES) throw new StateAtRefused(`state_at window blocks pass ${MAX_STATE_AT_BLOCK_BYTES} bytes (node policy MAX_STATE_AT_BLOCK_BYTES)`);
    const last = o.nextHeight > checkpoint.height;
    if (last ? next !== "a" : next !== `b${o.nextHeight}`) fail(`out of order: next_cursor ${JSON.stringify(next)} after block ${o.nextHeight - 1} (checkpoint ${checkpoint.height})`);
    if (last) o.part = 1;
  } else if (o.part === 1) {
    const n = page.accounts.length;
    if (n > STATE_AT_ACCOUNTS_PER_PAGE) fail(`holds ${n} accounts, more than ${STATE_AT_ACCOUNTS_PER_PAGE} accounts a page`);
    for (const [address] of page.accounts) {
      if (address <= o.lastAddress) fail(`out of order: account ${address} after ${o.lastAddress || "none"}`);
      o.lastAddress = address;
    }
    total.accounts += n;
    if (total.accounts > MAX_STATE_AT_ACCOUNTS) throw new StateAtRefused(`state_at: the state holds more than ${MAX_STATE_AT_ACCOUNTS} accounts (node policy MAX_STATE_AT_ACCOUNTS)`);
    if (next === "v") o.part = 2;
    else if (n === 0 || next !== `a${o.lastAddress}`) fail(`out of order: next_cursor ${JSON.stringify(next)} after ${n} accounts`);
  } else {
    const n = page.validators.length;
    if (n > STATE_AT_RECORDS_PER_PAGE) fail(`holds ${n} validator records, more than ${STATE_AT_RECORDS_PER_PAGE} records a page`);
    for (const { ebid } of page.validators) {
      if (ebid <= o.lastEbid) fail(`out of order: validator record ${ebid} after ${o.lastEbid || "none"}`);
      o.lastEbid = ebid;
    }
    total.records += n;
    if (total.records > MAX_STATE_AT_RECORDS) throw new StateAtRefused(`state_at: the state holds more than ${MAX_STATE_AT_RECORDS} validator records (node policy MAX_STATE_AT_RECORDS)`);
    if (next !== null && (n === 0 || next !== `v${o.lastEbid}`)) fail(`out of order: next_cursor ${JSON.stringify(next)} after ${n} validator records`);
  }
}

/**
 * Fetches the whole state at `checkpoint` from one peer, page by page, and verifies it, giving up
 * at `deadline` (ms since the epoch on `clock`; each request also times out after `timeoutMs`). Each page is
 * checked as it arrives (`checkPage`): what one fetch holds before the state is verified is bounded
 * by MAX_STATE_AT_BLOCK_BYTES, MAX_STATE_AT_ACCOUNTS and MAX_STATE_AT_RECORDS.
 * @throws CheckpointError when the peer sends something malformed, over a page bound, out of order
 *   or that does not verify (strike it); StateAtRefused when it answers `ok: false` or not at all,
 *   or the state passes a node-policy cap (no strike: it may have moved on)
 */
export async function fetchStateAt(
  spec: ChainSpec,
  checkpoint: Checkpoint,
  peer: StateAtSource,
  timeoutMs = 30_000,
  deadline = Infinity,
  clock: Clock = systemClock,
): Promise<VerifiedCheckpoint> {
  const state: CheckpointState = { checkpoint, window_from: 0, total_weight: "0", blocks: [], accounts: [], validators: [] };
  let cursor: string | null = null;
  let busyWaits = 0;
  let busyStreak = 0;
  const order: PageOrder = { part: 0, nextHeight: 0, lastAddress: "", lastEbid: "", blockBytes: 0 };
  const total = { accounts: 0, records: 0 };
  // A peer answering busy or slowly, page after page, must not hold the start past its deadline.
  const left = (): number => {
    const ms = deadline - clock.now();
    if (ms <= 0) throw new StateAtRefused("state_at took longer than the checkpoint fetch's timeout");
    return ms;
  };
  for (let pages = 0; ; pages++) {
    if (pages >= MAX_STATE_AT_PAGES) throw new CheckpointError(`state_at took more than ${MAX_STATE_AT_PAGES} pages`);
    const res = await peer.request("/data/state_at", { height: checkpoint.height, hash: checkpoint.hash, cursor }, Math.min(timeoutMs, left()));
    // A peer's served-byte budget (docs/protocol.md §9.6) paces a large state: wait as it says and ask again.
    const wait = res.ok ? undefined : busyRetryMs(res.errors);
    busyStreak = wait === undefined ? 0 : busyStreak + 1;
    if (busyStreak > MAX_STATE_AT_BUSY_STREAK) throw new StateAtRefused(`state_at: ${busyStreak} busy replies in a row`);
    if (wait !== undefined && busyWaits++ < MAX_STATE_AT_BUSY_WAITS) {
      await sleep(clock, Math.min(wait, left()));
      pages--;
      continue;
    }
    if (!res.ok) throw new StateAtRefused(Array.isArray(res.errors) && typeof res.errors[0] === "string" ? res.errors[0] : "refused");
    const page = parseStateAtPage(res.data);
    if (pages === 0) {
      Object.assign(state, { window_from: page.window_from, total_weight: page.total_weight });
      if (page.window_from < 1 || page.window_from > checkpoint.height || checkpoint.height - page.window_from + 1 > MAX_CHECKPOINT_WINDOW) {
        throw new CheckpointError(`state_at window from ${page.window_from} to ${checkpoint.height}: not 1 to ${MAX_CHECKPOINT_WINDOW} blocks`);
      }
      order.nextHeight = page.window_from;
    }
    if (page.checkpoint.height !== checkpoint.height || page.checkpoint.hash !== checkpoint.hash || page.window_from !== state.window_from || page.total_weight !== state.total_weight) {
      throw new CheckpointError("state_at pages disagree on the checkpoint, the window or the weight");
    }
    checkPage(checkpoint, page, order, total);
    state.blocks.push(...page.blocks);
    state.accounts.push(...page.accounts);
    state.validators.push(...page.validators);
    left();
    if (state.blocks.length > MAX_CHECKPOINT_WINDOW) throw new CheckpointError(`state_at window holds more than ${MAX_CHECKPOINT_WINDOW} blocks`);
    if (page.next_cursor === null) break;
    if (page.next_cursor === cursor) throw new CheckpointError("state_at cursor does not move");
    cursor = page.next_cursor;
  }
  return verifyCheckpointState(spec, checkpoint, state);
}

/** A peer refused or did not answer a `/data/state_at` request (not a fault: it may not hold that checkpoint). */
export class StateAtRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StateAtRefused";
  }
}

/** What fetching a checkpoint's state reads of the P2P layer. */
export interface CheckpointFetchModules<P extends StateAtSource> {
  /** peers ready now */
  peers(): P[];
  /** strikes a peer that served a state that does not verify */
  penalize(peer: P, reason: string): void;
  log: Logger;
}

/**
 * Asks ready peers, one after another, for the state at `checkpoint` until one serves a state that
 * verifies; a peer whose state does not verify is struck and not asked again; a peer that refuses
 * is asked again after a while (it may finalize the checkpoint later). Waits for peers, and for the
 * pages of the one being asked, until `timeoutMs` has passed.
 * @throws CheckpointError naming the last refusals when no peer served it in time
 */
export async function fetchCheckpointState<P extends StateAtSource>(
  spec: ChainSpec,
  checkpoint: Checkpoint,
  m: CheckpointFetchModules<P>,
  o: { timeoutMs: number; retryMs?: number; clock?: Clock },
): Promise<VerifiedCheckpoint> {
  const clock = o.clock ?? systemClock;
  const deadline = clock.now() + o.timeoutMs;
  const struck = new Set<P>();
  const errors = new Map<P, string>();
  for (;;) {
    for (const peer of m.peers()) {
      if (struck.has(peer)) continue;
      try {
        const v = await fetchStateAt(spec, checkpoint, peer, undefined, deadline, clock);
        m.log.info({ height: checkpoint.height, hash: checkpoint.hash, window_from: v.window_from, accounts: v.accounts.length, validators: v.validators.length }, "Checkpoint state verified");
        return v;
      } catch (e) {
        const msg = (e as Error).message;
        errors.set(peer, msg);
        if (e instanceof CheckpointError) {
          struck.add(peer);
          m.penalize(peer, `state_at: ${msg}`);
          m.log.warn({ err: msg }, "Checkpoint state refused: trying another peer");
        } else {
          m.log.info({ err: msg }, "A peer did not serve the checkpoint state");
        }
      }
      if (clock.now() > deadline) break;
    }
    if (clock.now() > deadline) break;
    await sleep(clock, o.retryMs ?? 500);
  }
  const last = [...errors.values()].slice(-3);
  throw new CheckpointError(`no peer served the state at checkpoint ${checkpoint.height}:${checkpoint.hash} within ${Math.round(o.timeoutMs / 1000)} s${last.length ? ` (${last.join("; ")})` : " (no peer was ready)"}`);
}
