/**
 * LevelDB repository of blocks and chain metadata (`classic-level`). One atomic batch per
 * imported block, so a crash leaves either all of a block's writes or none.
 *
 * Keys (utf8): `b!<hash>` block wire form, `m!<hash>` BlockMeta, `c!<height, 16 hex>` canonical
 * hash at a height, `a!<height, 16 hex>!<hash>` every stored block at a height (its producer),
 * `e!<height, 16 hex>!<producer>!<index, 8 hex>` one block of an equivocation (an `EvidenceRecord`;
 * older data dirs may also hold a whole `Equivocation` at `e!<height, 16 hex>!<producer>`),
 * `d!<hash>` the block's account changes (with its producer and earnings), `s!<address>` the
 * account state at the head (with its `state_root` leaf index), `v!<ebid>` the validator record at
 * the head, `t!<tx hash>!<block hash>` blocks carrying a
 * transaction, `f!<hash>` the finality state after the block, `fc` the store's finalized and justified checkpoints, `cb` the checkpoint a node started from (docs/protocol.md §9.7), `r!<producer>` its totals on the canonical chain, `p!<tx hash>` the mempool journal (accepted, not yet included), `head` tip hash,
 * `genesis` genesis hash.
 * Values are JSON.
 *
 * Durability (docs/operations.md "Durability"): with `sync` (the default) every chain batch and
 * every journal write is fsynced before its promise resolves, so what a caller acknowledges after
 * awaiting it survives a power loss, not only a crash of the process. Concurrent writes share
 * fsyncs: LevelDB's writer queue merges the batches waiting behind the one being written into one
 * log write and one sync (group commit).
 *
 * Backends: `open` puts the store in LevelDB on disk (`classic-level`), `openMemory` in the heap
 * (`memory-level`: nothing is written to any file, and everything is gone once closed), for
 * simulations running many nodes in one process. Both are `abstract-level` databases driven
 * through the same calls here, so batches are atomic, iterators read the snapshot taken when they
 * were created, and keys sort the same (every key is ASCII: the memory store keeps them as strings,
 * whose order is then LevelDB's bytewise order); `sync` is meaningless in memory and is false.
 */
import { ClassicLevel, type BatchOptions, type PutOptions } from "classic-level";
import { MemoryLevel } from "memory-level";
import type { AbstractBatchOperation, AbstractLevel } from "abstract-level";
import type { Block, Tx } from "../consensus/types.ts";
import type { BlockMeta, ChainWrite, Equivocation, ForkChoiceCheckpoints, EvidenceRecord, StoredCheckpointBase, ProducerTotals, StoredBlockChanges, StoredHeadAccount, StoredValidatorRecord } from "./records.ts";
import type { FinalityState } from "../consensus/finality.ts";
import { ImmutableMemo } from "../consensus/immutable.ts";

/** A mempool journal operation (`p!<tx hash>`). */
type JournalOp = { type: "put"; key: string; value: Tx } | { type: "del"; key: string };

const hex16 = (h: number) => h.toString(16).padStart(16, "0");
const heightKey = (h: number) => `c!${hex16(h)}`;

/** The database under a ChainDb: either backend, utf8 keys, JSON values. */
type Store = AbstractLevel<string | Buffer | Uint8Array, string, unknown>;

/**
 * One copy of each stored value text for many memory stores in one process (a simulation: every
 * node stores every block). A store given one keeps, for the values of blocks (`b!`), their account
 * changes (`d!`) and finality states (`f!`), the text this table already holds when another store
 * wrote the same text (JSON of the same value), so N nodes' stores hold one string, not N. What is
 * read back is unchanged (the same text parsed). Grows with the distinct texts written; never shrinks.
 */
export class SharedValues {
  private readonly texts = new Map<string, string>();

  /** Distinct texts held. */
  get size(): number {
    return this.texts.size;
  }

  /** The table's copy of `text` (added when it holds none). */
  intern(text: string): string {
    const held = this.texts.get(text);
    if (held !== undefined) return held;
    this.texts.set(text, text);
    return text;
  }
}

/** Key prefixes whose values a memory store shares through `SharedValues` (the same on every node). */
const SHARED_PREFIXES = ["b!", "d!", "f!"];
// The JSON text of a frozen value (a block a simulation's nodes received as one shared copy):
// stringified once for every store that interns it, not once per store.
const jsonText = new ImmutableMemo<string>();

/** Typed access to the node's LevelDB (or its in-memory stand-in, `openMemory`). */
export class ChainDb {
  private constructor(
    private readonly db: Store,
    /** fsync each chain batch and journal write before it resolves (always false in memory) */
    readonly sync: boolean,
    /** the LevelDB directory, or undefined for a memory store */
    readonly location: string | undefined,
    /** a memory store's shared value texts (see SharedValues) */
    private readonly shared?: SharedValues,
  ) {}

  /**
   * Opens (creating if needed) the database at `path`. `sync: false` (benchmarks' baselines only)
   * leaves writes in the OS page cache: they survive a crash of the process, not a power loss.
   * @throws when LevelDB cannot open it (e.g. locked).
   */
  static async open(path: string, o: { sync?: boolean } = {}): Promise<ChainDb> {
    const db = new ClassicLevel<string, unknown>(path, { valueEncoding: "json" });
    await db.open();
    return new ChainDb(db, o.sync ?? true, path);
  }

  /**
   * Opens a new, empty store held in memory (`memory-level`), with the same behaviour as `open`'s
   * except durability: no file is read or written, and what it holds is lost at `close`.
   * @param shared value texts shared with the other memory stores of the process (see SharedValues)
   */
  static async openMemory(shared?: SharedValues): Promise<ChainDb> {
    const db = new MemoryLevel<string, unknown>({ valueEncoding: "json", storeEncoding: "utf8" });
    await db.open();
    return new ChainDb(db, false, undefined, shared);
  }

  /**
   * The same memory store opened again after `close`, with everything it held (memory-level keeps its
   * data across a close): a simulated node that crashes and restarts on its own data (sim/faults.ts).
   * @throws Error for a store on disk (reopen it with `open` at its location) or one still open
   */
  async reopenMemory(): Promise<ChainDb> {
    if (this.location !== undefined) throw new Error(`reopenMemory: ${this.location} is a store on disk`);
    if (this.db.status !== "closed") throw new Error(`reopenMemory: the store is ${this.db.status}, not closed`);
    await this.db.open();
    return new ChainDb(this.db, false, undefined, this.shared);
  }

  async getBlock(hash: string): Promise<Block | undefined> {
    return (await this.db.get(`b!${hash}`)) as Block | undefined;
  }

  async getMeta(hash: string): Promise<BlockMeta | undefined> {
    return (await this.db.get(`m!${hash}`)) as BlockMeta | undefined;
  }

  async getCanonicalHash(height: number): Promise<string | undefined> {
    return (await this.db.get(heightKey(height))) as string | undefined;
  }

  async getHead(): Promise<string | undefined> {
    return (await this.db.get("head")) as string | undefined;
  }

  /** The finality state after a block (`f!<hash>`, docs/protocol.md §5a), or undefined (not stored, or a data dir from before it). */
  async getFinality(hash: string): Promise<FinalityState | undefined> {
    return (await this.db.get(`f!${hash}`)) as FinalityState | undefined;
  }

  /** The store's finalized and justified checkpoints (`fc`, docs/protocol.md §7), or undefined before the first move. */
  async getForkChoice(): Promise<ForkChoiceCheckpoints | undefined> {
    return (await this.db.get("fc")) as ForkChoiceCheckpoints | undefined;
  }

  /** The checkpoint this store started from (`cb`, docs/protocol.md §9.7), or undefined for a store synced from genesis. */
  async getCheckpointBase(): Promise<StoredCheckpointBase | undefined> {
    return (await this.db.get("cb")) as StoredCheckpointBase | undefined;
  }

  async getGenesis(): Promise<string | undefined> {
    return (await this.db.get("genesis")) as string | undefined;
  }

  async putGenesis(hash: string): Promise<void> {
    const o: PutOptions<string, unknown> = { sync: this.sync }; // LevelDB's fsync; memory-level ignores it
    await this.db.put("genesis", hash, o);
  }

  /** Applies every write atomically. */
  async write(writes: readonly ChainWrite[]): Promise<void> {
    const ops = writes.map((w) => {
      switch (w.kind) {
        case "block":
          return [
            { type: "put" as const, key: `b!${w.block.hash}`, value: w.block },
            { type: "put" as const, key: `a!${hex16(w.block.header.height)}!${w.block.hash}`, value: w.block.header.producer },
          ];
        case "changes":
          return { type: "put" as const, key: `d!${w.hash}`, value: w.record };
        case "producerStats":
          return { type: "put" as const, key: `r!${w.producer}`, value: w.stats };
        case "txIndex":
          return { type: "put" as const, key: `t!${w.txHash}!${w.blockHash}`, value: 1 };
        case "account":
          return w.account === null ? { type: "del" as const, key: `s!${w.address}` } : { type: "put" as const, key: `s!${w.address}`, value: w.account };
        case "validator":
          return w.record === null ? { type: "del" as const, key: `v!${w.ebid}` } : { type: "put" as const, key: `v!${w.ebid}`, value: w.record };
        case "finality":
          return { type: "put" as const, key: `f!${w.hash}`, value: w.state };
        case "evidence":
          return { type: "put" as const, key: `e!${hex16(w.record.height)}!${w.record.producer}!${w.record.index.toString(16).padStart(8, "0")}`, value: w.record };
        case "meta":
          return { type: "put" as const, key: `m!${w.meta.hash}`, value: w.meta };
        case "canonical":
          return { type: "put" as const, key: heightKey(w.height), value: w.hash };
        case "uncanonical":
          return { type: "del" as const, key: heightKey(w.height) };
        case "head":
          return { type: "put" as const, key: "head", value: w.hash };
        case "forkChoice":
          return { type: "put" as const, key: "fc", value: w.checkpoints };
        case "checkpointBase":
          return { type: "put" as const, key: "cb", value: w.base };
        case "genesisHash":
          return { type: "put" as const, key: "genesis", value: w.hash };
      }
    });
    const o: BatchOptions<unknown, unknown> = { sync: this.sync };
    const flat: { type: "put" | "del"; key: string; value?: unknown; valueEncoding?: string }[] = ops.flat();
    // JSON text, as the store's json encoding would write it, held once for every store sharing it
    const shared = this.shared;
    if (shared) {
      for (let i = 0; i < flat.length; i++) {
        const op = flat[i]!;
        if (op.type === "put" && SHARED_PREFIXES.includes(op.key.slice(0, 2))) flat[i] = { ...op, value: shared.intern(jsonText.get(op.value, () => JSON.stringify(op.value))), valueEncoding: "utf8" };
      }
    }
    await this.db.batch<unknown>(flat as AbstractBatchOperation<Store, unknown, unknown>[], o);
  }

  /** A block's account changes (stored at import), or undefined. */
  async getChanges(hash: string): Promise<StoredBlockChanges | undefined> {
    return (await this.db.get(`d!${hash}`)) as StoredBlockChanges | undefined;
  }

  /** Accounts at the head, in the order asked (undefined: absent). */
  async getAccounts(addresses: readonly string[]): Promise<(StoredHeadAccount | undefined)[]> {
    return (await this.db.getMany(addresses.map((a) => `s!${a}`))) as (StoredHeadAccount | undefined)[];
  }

  /** Every account at the head as [address, [balance, nonce, leaf index]], in address order (those after `after` when given). */
  async *accounts(after?: string): AsyncGenerator<[string, StoredHeadAccount]> {
    const range = after === undefined ? { gte: "s!", lt: "s!~" } : { gt: `s!${after}`, lt: "s!~" };
    for await (const [key, value] of this.db.iterator(range)) yield [key.slice(2), value as StoredHeadAccount];
  }

  /** Every validator record at the head, ascending by EBID. O(records): read once at open. */
  async loadValidators(): Promise<StoredValidatorRecord[]> {
    const out: StoredValidatorRecord[] = [];
    for await (const value of this.db.values({ gte: "v!", lt: "v!~" })) out.push(value as StoredValidatorRecord);
    return out;
  }

  /** Hashes of the stored blocks (any branch) that carry transaction `txHash`. */
  async getTxBlocks(txHash: string): Promise<string[]> {
    const prefix = `t!${txHash}!`;
    const out: string[] = [];
    for await (const key of this.db.keys({ gte: prefix, lt: `${prefix}~` })) out.push(key.slice(prefix.length));
    return out;
  }

  /** Every producer's totals on the canonical chain. */
  async loadProducerTotals(): Promise<Map<string, ProducerTotals>> {
    const out = new Map<string, ProducerTotals>();
    for await (const [key, value] of this.db.iterator({ gte: "r!", lt: "r!~" })) out.set(key.slice(2), value as ProducerTotals);
    return out;
  }

  /** Journals an accepted transaction, fsynced (awaited before the API answers, so neither a crash nor a power loss loses it). */
  async journalTx(hash: string, tx: Tx): Promise<void> {
    await this.journalTxs([[hash, tx]]);
  }

  /** Journals transactions in one batch, fsynced (see `journalTx`). */
  async journalTxs(entries: readonly (readonly [hash: string, tx: Tx])[]): Promise<void> {
    const o: BatchOptions<string, Tx> = { sync: this.sync };
    if (entries.length) await this.db.batch(entries.map(([h, tx]): JournalOp => ({ type: "put", key: `p!${h}`, value: tx })), o);
  }

  /**
   * Removes transactions from the journal. Not fsynced: an entry a power loss brings back is
   * dropped at restore. The caller removes only entries whose `journalTx` has resolved.
   */
  async unjournalTxs(hashes: readonly string[]): Promise<void> {
    if (hashes.length) await this.db.batch(hashes.map((h): JournalOp => ({ type: "del", key: `p!${h}` })));
  }

  /** Every journaled transaction. */
  async loadJournal(): Promise<Tx[]> {
    const out: Tx[] = [];
    for await (const value of this.db.values({ gte: "p!", lt: "p!~" })) out.push(value as Tx);
    return out;
  }

  /** The head's account state: address -> [balance, nonce, leaf index]. O(accounts): for open and verify. */
  async loadAccounts(): Promise<Map<string, StoredHeadAccount>> {
    const out = new Map<string, StoredHeadAccount>();
    for await (const [address, account] of this.accounts()) out.set(address, account);
    return out;
  }

  /** Every stored block at `height` (any branch) with its producer. */
  async blocksAtHeight(height: number): Promise<{ hash: string; producer: string }[]> {
    const prefix = `a!${hex16(height)}!`;
    const out: { hash: string; producer: string }[] = [];
    for await (const [key, value] of this.db.iterator({ gte: prefix, lt: `${prefix}~` })) {
      out.push({ hash: key.slice(prefix.length), producer: value as string });
    }
    return out;
  }

  /**
   * The most recent equivocations, newest height first: the per-block records of each (height,
   * producer) joined into one `Equivocation`, blocks in the order this node stored them.
   */
  async listEvidence(limit: number): Promise<Equivocation[]> {
    const out: Equivocation[] = [];
    let group: { key: string; legacy?: Equivocation; records: EvidenceRecord[] } | undefined;
    const flush = () => {
      if (group) out.push(joinEvidence(group.legacy, group.records.reverse()));
      group = undefined;
    };
    for await (const [key, value] of this.db.iterator({ gte: "e!", lt: "e!~", reverse: true })) {
      const [, height, producer] = key.split("!");
      const groupKey = `${height}!${producer}`;
      if (group?.key !== groupKey) {
        flush();
        if (out.length >= limit) break;
        group = { key: groupKey, records: [] };
      }
      const v = value as EvidenceRecord | Equivocation;
      if ("block_hashes" in v) group!.legacy = v;
      else group!.records.push(v);
    }
    if (out.length < limit) flush();
    return out;
  }

  /** Every stored block (any branch), in key order. */
  async *blocks(): AsyncGenerator<Block> {
    for await (const value of this.db.values({ gte: "b!", lt: "b!~" })) yield value as Block;
  }

  /** Every transaction-index entry as [txHash, blockHash]. */
  async *txIndex(): AsyncGenerator<[string, string]> {
    for await (const key of this.db.keys({ gte: "t!", lt: "t!~" })) {
      const [, tx, block] = key.split("!");
      yield [tx!, block!];
    }
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

// One Equivocation from a group's records (oldest first), after a whole record of an older data dir.
function joinEvidence(legacy: Equivocation | undefined, records: EvidenceRecord[]): Equivocation {
  const block_hashes = [...(legacy?.block_hashes ?? [])];
  const parent_hashes = [...(legacy?.parent_hashes ?? [])];
  const seen = new Set(block_hashes); // a producer may sign many blocks at one height: no O(k^2) scan
  for (const r of records) {
    if (seen.has(r.block_hash)) continue;
    seen.add(r.block_hash);
    block_hashes.push(r.block_hash);
    parent_hashes.push(r.parent_hash);
  }
  const first = records[0]!;
  return {
    height: legacy?.height ?? first.height,
    producer: legacy?.producer ?? first.producer,
    block_hashes,
    parent_hashes,
    detected_at: legacy?.detected_at ?? records.reduce((t, r) => Math.min(t, r.detected_at), Infinity),
  };
}
