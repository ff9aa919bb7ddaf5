/**
 * Slashing protection (node policy, docs/protocol.md §6.6): the node's durable record of what its
 * key signed, so that it never signs two blocks at one height or two conflicting FFG votes (a
 * double vote or a surround vote, §6.5), not even after a crash, a restart or a restore of an old
 * copy of its data dir. The rules are EIP-3076's low watermarks:
 *
 * - a block at height h is signed only if `h > max_block_height` (then h is recorded);
 * - an FFG vote (s, t) is signed only if `t.height > max_target_height && s.height >=
 *   max_source_height` (then it is recorded as `target`), or if it is identical to the recorded
 *   `target` (a re-vote for a new head with the same FFG data: nothing to write). The genesis vote
 *   of interval 0 (`source = target`, height 0) links nothing and is always allowed;
 * - the record is on disk (a temporary file, fsynced, renamed, the directory fsynced:
 *   `writeFileDurably`) BEFORE the signing callback runs, so a SIGKILL or a power loss after a
 *   signature left the process never leaves a record below it;
 * - `observe*` raises the watermarks to cover this key's blocks and votes seen on the chain or in
 *   gossip (synced after restoring an old data dir copy: the chain carries the later ones);
 * - the vote wait and doppelganger detection: no vote is signed until the node is synced and its
 *   head crossed the checkpoint after `W` (below); with `doppelgangerDetection`, until one full
 *   checkpoint interval passed in which no vote of this key appeared that this process did not sign. When the
 *   node is first synced since start, the watched checkpoint `W` is its head's checkpoint `c`, or
 *   the record's `max_target_height` when that is above (at most `c + I`: this data dir's last votes
 *   before a restart, when it counts as synced a block or two behind the network): votes made
 *   before the start (by this data dir or another copy) target at most `W`. A vote of this key seen while waiting (gossip or a block)
 *   with a target above `W` was made after the start by another running instance of the key: it is
 *   logged (one error line per new target), `doppelganger` is set, and `W` rises to its target.
 *   Votes are armed once the synced head reaches `W + I` (`I` = `checkpoint_interval`): every vote
 *   made before the start targets at most `W`, so none can conflict with a vote for a later target.
 *   With `doppelgangerDetection` they arm at `W + 2·I`: the heads `W + I .. W + 2·I - 1`, whose
 *   votes target `W + I`, passed without another instance's vote. A block of this key above
 *   the record, stamped after the wait began, is the same signal (`W` rises to its checkpoint). A
 *   chain still in interval 0 when the node is first synced (`W = 0`: only genesis votes exist)
 *   arms at `I`, one still at genesis at once.
 *   Blocks themselves do not wait (heights only move with blocks: a chain whose validators all
 *   restart together would never produce again); they rely on the record, on the observe path and
 *   on the producer's own rule that it builds only when synced (§6.1).
 *
 * The file: `<data-dir>/slashing-protection.json`, mode 0600, JSON
 * `{ebid, max_block_height, max_source_height, max_target_height, target}` with `target` null or
 * `{source_height, source_hash, target_height, target_hash}`. A file for another EBID (a key
 * swapped under an old record) or one that does not parse stops the node at start: it is never
 * reset silently (a reset is how double votes happen). `vision-node db reset-protection` moves it
 * aside explicitly (`resetProtection`).
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "pino";
import { z } from "zod";
import { fsyncDir, writeFileDurably } from "../util/durableFile.ts";
import { systemClock, type Clock, type Timer } from "../util/clock.ts";

/** The record's file name in the data dir. */
export const PROTECTION_FILE = "slashing-protection.json";

/** The default `checkpoint_interval` (docs/protocol.md §2.1) until the chain spec carries it. */
export const DEFAULT_CHECKPOINT_INTERVAL = 8;

/** An FFG vote: the (source, target) checkpoint link of an attestation (docs/protocol.md §3.4). */
export interface FfgVote {
  source_height: number;
  /** 64 hex */
  source_hash: string;
  target_height: number;
  /** 64 hex */
  target_hash: string;
}

/** The durable record, as stored (snake_case JSON). Heights are block heights; 0 = nothing signed. */
export interface ProtectionRecord {
  /** the key the record is for, 64 hex */
  ebid: string;
  /** highest block height signed or seen signed by this key */
  max_block_height: number;
  /** highest source height of a vote signed or seen signed by this key */
  max_source_height: number;
  /** highest target height of a vote signed or seen signed by this key */
  max_target_height: number;
  /** the vote at `max_target_height` (re-signed freely), null before the first */
  target: FfgVote | null;
}

/** What a refusal was about: the `kind` label of `vision_slashing_protection_refusals_total`. */
export type RefusalKind = "block" | "vote";

/** A record file that cannot be used: the node does not start. */
export class SlashingProtectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SlashingProtectionError";
  }
}

const hex32 = z.string().regex(/^[0-9a-f]{64}$/, "expected 64 lowercase hex chars");
const height = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const voteSchema = z.object({ source_height: height, source_hash: hex32, target_height: height, target_hash: hex32 }).strict();
const recordSchema = z
  .object({ ebid: hex32, max_block_height: height, max_source_height: height, max_target_height: height, target: voteSchema.nullable() })
  .strict();

/** Options of `SlashingProtection.open`. */
export interface SlashingProtectionOptions {
  /** the chain's `checkpoint_interval` (blocks, >= 1); default 8 */
  checkpointInterval?: number;
  log?: Logger;
  /** called once per refusal (the node counts them in `vision_slashing_protection_refusals_total{kind}`) */
  onRefusal?: (kind: RefusalKind) => void;
  /** the wall clock (ms since the epoch) a block's timestamp is compared with; default `clock.now` */
  now?: () => number;
  /** the observation flush's timer and, unless `now` is given, the time; default `systemClock` */
  clock?: Clock;
  /**
   * doppelganger detection (`--doppelganger-detection`, docs/protocol.md §6.6 rule 5): votes arm
   * at `W + 2·I` instead of `W + I`, so a full interval of another instance's votes can show;
   * default false (one interval: the wait that covers a restored old copy's own votes)
   */
  doppelgangerDetection?: boolean;
  /**
   * false keeps the record in memory only: no file is read or written, and every open starts from
   * an empty record (simulated nodes, whose chain store is in memory too); default true
   */
  persist?: boolean;
}

/** What showed another running instance of this key (docs/protocol.md §6.6): its vote's target, or its block's height. */
export type DoppelgangerSign = { kind: "vote"; target_height: number; target_hash: string } | { kind: "block"; height: number };

/** The chain's `checkpoint_interval` (docs/protocol.md §2.1), or the default for a spec without it. */
export function checkpointIntervalOf(params: object): number {
  const v = (params as { checkpoint_interval?: unknown }).checkpoint_interval;
  return typeof v === "number" ? v : DEFAULT_CHECKPOINT_INTERVAL;
}

/** The FFG vote an attestation-shaped object carries, or undefined when it carries none (attestations before protocol version 3). */
export function ffgVoteOf(a: object): FfgVote | undefined {
  const r = voteSchema.safeParse(pickVote(a as Record<string, unknown>));
  return r.success ? r.data : undefined;
}

function pickVote(a: Record<string, unknown>): Record<string, unknown> {
  return { source_height: a.source_height, source_hash: a.source_hash, target_height: a.target_height, target_hash: a.target_hash };
}

const sameVote = (a: FfgVote, b: FfgVote) =>
  a.source_height === b.source_height && a.source_hash === b.source_hash && a.target_height === b.target_height && a.target_hash === b.target_hash;

/** The genesis vote of interval 0 (docs/protocol.md §3.4: `source = target = genesis`): it links nothing and can conflict with nothing. */
const isGenesisVote = (v: FfgVote) => v.target_height === 0 && v.source_height === 0 && v.source_hash === v.target_hash;

/** Refusal warnings remembered (one warn per kind and height); older ones are forgotten. */
const WARNED_KEPT = 1024;
/** Observations are written at most this often (ms): a sync may import many of this key's blocks. */
const OBSERVE_FLUSH_MS = 200;

/** The record of one key in one data dir. Every method is synchronous: no two signers interleave. */
export class SlashingProtection {
  private rec: ProtectionRecord;
  private dirty = false;
  private flushTimer?: Timer;
  private readonly warned = new Set<string>();
  private readonly interval: number;
  /**
   * The watched checkpoint height W (see the module doc): votes of this key targeting at most W may
   * predate this process; set when first synced, raised by each doppelganger sign.
   */
  private watched?: number;
  /** when the wait began (ms since the epoch, `now()`): a block of this key stamped later is new */
  private waitSince = 0;
  private armedFlag = false;
  private doppelgangerFlag = false;
  private readonly clock: Clock;

  private constructor(
    readonly path: string,
    rec: ProtectionRecord,
    private readonly o: SlashingProtectionOptions,
  ) {
    this.rec = rec;
    this.clock = o.clock ?? systemClock;
    this.interval = o.checkpointInterval ?? DEFAULT_CHECKPOINT_INTERVAL;
    if (!Number.isInteger(this.interval) || this.interval < 1) throw new RangeError(`checkpoint_interval must be a positive integer, got ${this.interval}`);
  }

  /**
   * Opens (or creates, mode 0600) `<dataDir>/slashing-protection.json` for `ebid` (with `persist:
   * false`, a new record in memory only).
   * @throws SlashingProtectionError when the file cannot be read or parsed, or is for another EBID
   */
  static open(dataDir: string, ebid: string, o: SlashingProtectionOptions = {}): SlashingProtection {
    const path = join(dataDir, PROTECTION_FILE);
    if (o.persist === false) return new SlashingProtection(path, { ebid, max_block_height: 0, max_source_height: 0, max_target_height: 0, target: null }, o);
    removeStaleTemps(dataDir);
    const reset = `(it is never reset on its own: move it aside with \`vision-node db reset-protection --data-dir ${dataDir}\` only if no other copy of this key has signed since it was written)`;
    if (!existsSync(path)) {
      mkdirSync(dataDir, { recursive: true });
      const rec: ProtectionRecord = { ebid, max_block_height: 0, max_source_height: 0, max_target_height: 0, target: null };
      const p = new SlashingProtection(path, rec, o);
      p.write(rec);
      return p;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(path, "utf8"));
    } catch (e) {
      throw new SlashingProtectionError(`slashing protection record ${path} is unreadable: ${(e as Error).message} ${reset}`);
    }
    const parsed = recordSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new SlashingProtectionError(`slashing protection record ${path} is corrupt: ${issue.path.join(".") || "(root)"}: ${issue.message} ${reset}`);
    }
    if (parsed.data.ebid !== ebid) {
      throw new SlashingProtectionError(
        `slashing protection record ${path} is for EBID ${parsed.data.ebid}, not this node's key ${ebid}: a key swapped under an old record ` +
          `(move the record with its key, never run two copies of a key) ${reset}`,
      );
    }
    if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
    return new SlashingProtection(path, parsed.data, o);
  }

  /** A copy of the record as it is in memory (observations may not be on disk yet: `flush`). */
  get record(): ProtectionRecord {
    return structuredClone(this.rec);
  }

  /** Whether votes may be signed: the doppelganger wait is over (see the module doc). */
  get armed(): boolean {
    return this.armedFlag;
  }

  /**
   * Whether another running instance of this key was seen during the wait (a vote or block of this
   * key this process did not sign, made after it started): set at each sign, cleared once votes arm.
   */
  get doppelganger(): boolean {
    return this.doppelgangerFlag;
  }

  /** The head height at which votes arm if no further sign appears, or undefined before the node is first synced (and once armed). */
  get armsAt(): number | undefined {
    if (this.armedFlag || this.watched === undefined) return undefined;
    // A chain still in interval 0 carries only genesis votes (they link nothing): its first real
    // target is I, which the node may sign as it starts with the others.
    return this.watched === 0 ? this.interval : this.watched + (this.o.doppelgangerDetection ? 2 : 1) * this.interval;
  }

  /** Whether a block at `height` may be signed now. */
  mayProposeBlock(height: number): boolean {
    return height > this.rec.max_block_height;
  }

  /**
   * Signs a block at `height` if the record allows it: records the height durably, then calls
   * `sign` and returns its result; undefined when refused (warned once per height, counted).
   * @throws the fs error when the record cannot be written (nothing is signed then)
   */
  signBlock<T>(height: number, sign: () => T): T | undefined {
    if (!this.mayProposeBlock(height)) {
      this.refuse("block", height, { max_block_height: this.rec.max_block_height }, `already signed a block at height ${this.rec.max_block_height} or above`);
      return undefined;
    }
    this.write({ ...this.rec, max_block_height: height });
    return sign();
  }

  /** `"new"` when `v` may be signed and must be recorded, `"same"` when it is the recorded vote (or the genesis vote), false when refused. */
  checkVote(v: FfgVote): "new" | "same" | false {
    if (isGenesisVote(v) || (this.rec.target !== null && sameVote(v, this.rec.target))) return "same";
    if (v.source_height > v.target_height) return false;
    return v.target_height > this.rec.max_target_height && v.source_height >= this.rec.max_source_height ? "new" : false;
  }

  /**
   * Signs an FFG vote if the doppelganger wait is over and the record allows it: a new vote is
   * recorded durably before `sign` runs; a re-vote with the recorded FFG data writes nothing.
   * @returns `sign()`'s result, or undefined when refused or still waiting
   * @throws the fs error when the record cannot be written (nothing is signed then)
   */
  signVote<T>(v: FfgVote, sign: () => T): T | undefined {
    if (!this.armedFlag) return undefined; // the wait is logged once when it starts (noteHead)
    const ok = this.checkVote(v);
    if (ok === false) {
      this.refuse("vote", v.target_height, { source_height: v.source_height, max_source_height: this.rec.max_source_height, max_target_height: this.rec.max_target_height }, "it would conflict with a recorded vote");
      return undefined;
    }
    if (ok === "new") this.write({ ...this.rec, max_source_height: v.source_height, max_target_height: v.target_height, target: { ...v } });
    return sign();
  }

  /** Raises `max_block_height` to a block of this key seen on the chain or in gossip. @returns whether it rose */
  observeBlock(height: number): boolean {
    if (height <= this.rec.max_block_height) return false;
    this.rec = { ...this.rec, max_block_height: height };
    this.scheduleFlush();
    return true;
  }

  /**
   * Raises the vote watermarks to a vote of this key seen on the chain or in gossip (its signature
   * checked by the caller); during the wait, a target above the watched checkpoint is a
   * doppelganger sign. @returns whether the watermarks rose
   */
  observeVote(v: FfgVote): boolean {
    if (isGenesisVote(v)) return false;
    if (this.waiting && v.target_height > this.watched!) this.sign({ kind: "vote", target_height: v.target_height, target_hash: v.target_hash }, v.target_height);
    const r = this.rec;
    const next = { ...r };
    if (v.target_height > r.max_target_height) {
      next.max_target_height = v.target_height;
      next.target = { ...v };
    }
    if (v.source_height > r.max_source_height) next.max_source_height = v.source_height;
    if (next.max_target_height === r.max_target_height && next.max_source_height === r.max_source_height) return false;
    this.rec = next;
    this.scheduleFlush();
    return true;
  }

  /**
   * Observes a block stored from anywhere (gossip, sync, the API, this node): raises the watermarks
   * to it when this key produced it and to the FFG votes of this key's attestations it carries.
   */
  observeChainBlock(block: { header: { producer: string; height: number; timestamp?: number }; attestations: readonly object[] }): void {
    const ebid = this.rec.ebid;
    const h = block.header;
    if (h.producer === ebid) {
      // This process records a block before signing it: one above the record, stamped after the
      // wait began, was signed by another instance running now.
      if (this.waiting && h.height > this.rec.max_block_height && (h.timestamp ?? 0) >= this.waitSince) {
        this.sign({ kind: "block", height: h.height }, Math.floor(h.height / this.interval) * this.interval);
      }
      this.observeBlock(h.height);
    }
    for (const a of block.attestations) {
      if ((a as { ebid?: unknown }).ebid !== ebid) continue;
      const v = ffgVoteOf(a);
      if (v) this.observeVote(v);
    }
  }

  /**
   * Doppelganger detection: called with each new head and the node's sync state (and every few
   * seconds). The first synced call fixes the watched checkpoint W (the head's checkpoint c, or the
   * record's `max_target_height` when above, at most c + I); votes are armed once a synced head reaches
   * `W + 2·checkpoint_interval` (W rises with each doppelganger sign). A chain still at genesis arms
   * at once (nothing was signed on it yet).
   */
  noteHead(height: number, synced: boolean): void {
    if (this.armedFlag || !synced) return;
    if (this.watched === undefined) {
      if (height === 0) return this.arm(height);
      // This data dir's own last votes (the record) may target the checkpoint after the head's when
      // it counts as synced a block or two behind the network; a record further ahead is no clock.
      const cp = Math.floor(height / this.interval) * this.interval;
      this.watched = Math.max(cp, Math.min(this.rec.max_target_height, cp + this.interval));
      this.waitSince = this.o.now ? this.o.now() : this.clock.now();
      this.o.log?.info(
        { height, watched_checkpoint: this.watched, until_height: this.armsAt },
        this.o.doppelgangerDetection
          ? `Slashing protection: no votes until the head reaches ${this.armsAt} with no vote of this key above checkpoint ${this.watched} that this process did not sign (doppelganger detection)`
          : `Slashing protection: no votes until the head reaches ${this.armsAt}, past checkpoint ${this.watched} (votes made before this start target at most it)`,
      );
    }
    if (height >= this.armsAt!) this.arm(height);
  }

  private get waiting(): boolean {
    return !this.armedFlag && this.watched !== undefined;
  }

  private arm(height: number): void {
    this.armedFlag = true;
    this.doppelgangerFlag = false;
    this.o.log?.info({ height }, "Slashing protection: armed, votes are signed from now on");
  }

  // Another instance of this key runs: keep waiting, a full interval past the checkpoint it was seen at.
  private sign(what: DoppelgangerSign, checkpoint: number): void {
    const fresh = !this.doppelgangerFlag || checkpoint > this.watched!; // one error line per checkpoint it shows at
    this.watched = Math.max(this.watched!, checkpoint);
    this.doppelgangerFlag = true;
    if (!fresh) return;
    const seen = what.kind === "vote" ? `a vote with target ${what.target_height} (${what.target_hash})` : `a block at height ${what.height}`;
    this.o.log?.error(
      { ebid: this.rec.ebid, ...what, until_height: this.armsAt },
      `Doppelganger: ${seen} signed by this node's key ${this.rec.ebid} after this process started, not by it: another instance runs with this key. ` +
        `No votes until the head reaches ${this.armsAt} without another; stop the other instance`,
    );
  }

  /** Writes observations not yet on disk. Called on close; a no-op when nothing is pending. */
  flush(): void {
    this.clock.clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.dirty) this.write(this.rec);
  }

  private scheduleFlush(): void {
    this.dirty = true;
    if (this.flushTimer) return;
    this.flushTimer = this.clock
      .setTimeout(() => {
        this.flushTimer = undefined;
        try {
          this.flush();
        } catch (e) {
          this.o.log?.error({ err: (e as Error).message, path: this.path }, "Slashing protection record not written");
        }
      }, OBSERVE_FLUSH_MS)
      .unref();
  }

  // The new record goes to disk first; memory follows only once it is there.
  private write(next: ProtectionRecord): void {
    if (this.o.persist !== false) writeFileDurably(this.path, JSON.stringify(next, null, 2) + "\n", { mode: 0o600 });
    this.rec = next;
    this.dirty = false;
  }

  private refuse(kind: RefusalKind, height: number, fields: Record<string, number>, why: string): void {
    this.o.onRefusal?.(kind);
    const key = `${kind}:${height}`;
    if (this.warned.has(key)) return;
    if (this.warned.size >= WARNED_KEPT) this.warned.clear();
    this.warned.add(key);
    this.o.log?.warn({ kind, height, ...fields }, `Slashing protection refused to sign a ${kind} at height ${height}: ${why}`);
  }
}

/**
 * Removes temporary files of record writes that a crash cut short (`writeFileDurably` names them
 * `.slashing-protection.json.<pid>.<random>.tmp`; the record itself is whole either way). The data
 * dir's lock keeps any other writer away, so none of them is being written.
 */
function removeStaleTemps(dataDir: string): void {
  let names: string[];
  try {
    names = readdirSync(dataDir);
  } catch {
    return; // no data dir yet
  }
  for (const name of names) {
    if (!name.startsWith(`.${PROTECTION_FILE}.`) || !name.endsWith(".tmp")) continue;
    try {
      unlinkSync(join(dataDir, name));
    } catch {
      // gone meanwhile
    }
  }
}

/**
 * Moves the record aside (`slashing-protection.json.reset-<ms since the epoch>`) so that the next
 * start writes a new one: `vision-node db reset-protection`. Only for a record that is corrupt or
 * belongs to another key, and only when no other copy of the key has signed since it was written.
 * @returns the new name of the old file, or undefined when there was none
 */
export function resetProtection(dataDir: string, now = Date.now()): string | undefined {
  const path = join(dataDir, PROTECTION_FILE);
  if (!existsSync(path)) return undefined;
  const aside = `${path}.reset-${now}`;
  renameSync(path, aside);
  fsyncDir(dataDir);
  return aside;
}
