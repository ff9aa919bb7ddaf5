/**
 * The account state and producer totals at the head, and how they move when the head does
 * (docs/protocol.md §7: a reorg undoes the old branch and redoes the new one). Each block's account
 * changes are stored at import (`d!<hash>`, with its producer and earnings), so any branch's state
 * is the head's plus an overlay of the changes between them: O(changed accounts), never O(N).
 *
 * The head's accounts live in LevelDB (`s!<address>`, with each account's `state_root` leaf index),
 * read through a bounded LRU cache; only the `state_root` tree's levels are in memory (about 64 bytes
 * an account), rebuilt from the stored accounts at open. The head's validator records (`v!<ebid>`,
 * at most `max_validators`) are all in memory, loaded at open, with their `validators_root`.
 */
import { boundedLru } from "../util/lru.ts";
import type { ChainDb } from "../storage/chainDb.ts";
import type { AccountChange } from "./state.ts";
import type { BlockMeta, ChainWrite, ProducerTotals, StoredHeadAccount } from "../storage/records.ts";
import { StateTree, leafHash } from "./stateTree.ts";
import { StateView, accountItemHash, decodeChanges, type Account, type IndexedAccount, type StateBase, type StateStep } from "./state.ts";
import { HeadRegistry, decodeRecord, decodeValidatorChanges, encodeRecord, type ValidatorChange } from "./registry.ts";

/** Head accounts cached (absent ones too): about 200 bytes each, so at most ~20 MiB. */
const CACHED_ACCOUNTS = 100_000;

type Cached = { a: IndexedAccount | null };

/** A block joining or leaving the canonical chain: its producer, reward plus fees, account and record changes. */
export interface MovedBlock {
  producer: string;
  earned: bigint;
  changes: AccountChange[];
  validators: ValidatorChange[];
}

/** A prepared head move: writes for the import batch, and `commit()` once the batch is written. */
export interface HeadMove {
  writes: ChainWrite[];
  commit(): void;
}

/** Head account state (LevelDB behind an LRU cache, the tree in memory) and producer totals. */
export class HeadState implements StateBase {
  private readonly cache = boundedLru<string, Cached>(CACHED_ACCOUNTS);
  private _version = 0;
  private writing: { promise: Promise<void>; resolve: () => void } | undefined;

  private constructor(
    private readonly db: ChainDb,
    readonly tree: StateTree,
    private totals: Map<string, ProducerTotals>,
    private _registry: HeadRegistry,
  ) {}

  /** The head's validator records (replaced by each head move that changes one). */
  get registry(): HeadRegistry {
    return this._registry;
  }

  /**
   * Rebuilds the `state_root` tree from the stored accounts (O(accounts), at open) and loads the
   * totals and the validator records.
   */
  static async load(db: ChainDb): Promise<HeadState> {
    const leaves: Uint8Array[] = [];
    for await (const [address, [balance, nonce, index]] of db.accounts()) {
      leaves[index] = leafHash(accountItemHash(address, { balance: BigInt(balance), nonce }));
    }
    for (let i = 0; i < leaves.length; i++) if (!leaves[i]) throw new Error(`data dir is damaged: no account has state_root leaf ${i}`);
    const registry = HeadRegistry.from((await db.loadValidators()).map(decodeRecord));
    return new HeadState(db, StateTree.from(leaves), await db.loadProducerTotals(), registry);
  }

  /** Leaves of the head's `state_root` list (= accounts). */
  get size(): number {
    return this.tree.size;
  }

  /** Bumped when a head move's batch starts being written and again when it is committed. */
  get version(): number {
    return this._version;
  }

  /**
   * Call just before writing a head move's batch, and `endWrite()` once it is committed or failed. A
   * LevelDB read that overlaps the write may see the new accounts before `commit()`: a cache fill or
   * view begun before it is discarded (the version moved), and `idle()` lets a view wait it out.
   */
  beginWrite(): void {
    this._version++;
    if (!this.writing) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.writing = { promise, resolve };
    }
  }

  /** Ends what `beginWrite` began (`commit()` calls it). */
  endWrite(): void {
    this.writing?.resolve();
    this.writing = undefined;
  }

  /** Resolves when no head move is being written. */
  async idle(): Promise<void> {
    while (this.writing) await this.writing.promise;
  }

  /** Head accounts of `addresses` (undefined: absent), through the cache. */
  async load(addresses: Iterable<string>): Promise<Map<string, IndexedAccount | undefined>> {
    const out = new Map<string, IndexedAccount | undefined>();
    const missing: string[] = [];
    for (const a of addresses) {
      const c = this.cache.get(a);
      if (c) out.set(a, c.a ?? undefined);
      else missing.push(a);
    }
    if (missing.length === 0) return out;
    const version = this._version;
    const stored = await this.db.getAccounts(missing);
    missing.forEach((address, i) => {
      const s = stored[i];
      const a = s ? { balance: BigInt(s[0]), nonce: s[1], index: s[2] } : null;
      if (this._version === version) this.cache.set(address, { a }); // a read racing a head move is not cached
      out.set(address, a ?? undefined);
    });
    return out;
  }

  /** An account at the head (an empty one when unknown). */
  async account(address: string): Promise<Account> {
    const a = (await this.load([address])).get(address);
    return a ? { balance: a.balance, nonce: a.nonce } : { balance: 0n, nonce: 0 };
  }

  /** Blocks and rewards per producer on the canonical chain (one producer, or all). */
  producerTotals(producer?: string): Map<string, ProducerTotals> {
    if (producer === undefined) return new Map(this.totals);
    const t = this.totals.get(producer);
    return t ? new Map([[producer, t]]) : new Map();
  }

  /** A stored block's changes record. @throws when missing (a damaged data dir) */
  async movedOf(hash: string): Promise<MovedBlock> {
    const stored = await this.db.getChanges(hash);
    if (!stored) throw new Error(`account changes of ${hash} missing from the database`);
    return { producer: stored.producer, earned: BigInt(stored.earned), changes: decodeChanges(stored.changes), validators: decodeValidatorChanges(stored.validators ?? []) };
  }

  /**
   * The state after `parent`: the head's, or for another branch an overlay of the head branch
   * undone down to the common ancestor and the other branch redone up to `parent` (cost linear in
   * the blocks and accounts on both branches, not in N).
   */
  async at(head: BlockMeta, parent: BlockMeta, getMeta: (hash: string) => Promise<BlockMeta | undefined>): Promise<StateView> {
    const steps: StateStep[] = [];
    let a = head;
    let b = parent;
    const redo: string[] = [];
    while (a.hash !== b.hash) {
      if (a.height >= b.height) {
        const { changes, validators } = await this.movedOf(a.hash);
        steps.push({ changes, validators, direction: "undo" });
        a = (await getMeta(a.parent_hash))!;
      } else {
        redo.push(b.hash);
        b = (await getMeta(b.parent_hash))!;
      }
    }
    for (const hash of redo.reverse()) {
      const { changes, validators } = await this.movedOf(hash);
      steps.push({ changes, validators, direction: "redo" });
    }
    return StateView.head(this).walk(steps).at(parent.height);
  }

  /**
   * Prepares the head moving: `removed` blocks leave the canonical chain (newest first), `added`
   * join it (oldest first). Nothing changes until `commit()`. O(changed accounts x log N), plus
   * O(records) when a record changes. `validatorsRoot`, the new head's (its validated header's),
   * spares recomputing the root of its records.
   */
  prepareMove(removed: readonly MovedBlock[], added: readonly MovedBlock[], validatorsRoot?: string): HeadMove {
    const view = StateView.head(this).walk([
      ...removed.map((r) => ({ changes: r.changes, validators: r.validators, direction: "undo" as const })),
      ...added.map((a) => ({ changes: a.changes, validators: a.validators, direction: "redo" as const })),
    ]);
    const writes: ChainWrite[] = [...view.diff].map(([address, a]) => ({
      kind: "account" as const,
      address,
      account: a ? ([a.balance.toString(), a.nonce, a.index] as StoredHeadAccount) : null,
    }));
    for (const [ebid, r] of view.vdiff) writes.push({ kind: "validator", ebid, record: r && encodeRecord(r) });
    const totals = this.countRewards(added, removed);
    for (const [producer, stats] of totals) writes.push({ kind: "producerStats", producer, stats });
    return {
      writes,
      commit: () => {
        const leaves = new Map<number, Uint8Array>();
        for (const [address, a] of view.diff) {
          this.cache.set(address, { a });
          if (a) leaves.set(a.index, leafHash(accountItemHash(address, a)));
        }
        this.tree.apply({ leaves, size: view.size });
        this._registry = this._registry.applied(view.vdiff, validatorsRoot);
        this._version++;
        this.endWrite();
        for (const [producer, stats] of totals) this.totals.set(producer, stats);
      },
    };
  }

  // Totals of the producers touched when `added` blocks join the canonical chain and `removed` leave it.
  private countRewards(added: readonly MovedBlock[], removed: readonly MovedBlock[]): Map<string, ProducerTotals> {
    const out = new Map<string, ProducerTotals>();
    const bump = (b: MovedBlock, sign: 1 | -1) => {
      const cur = out.get(b.producer) ?? this.totals.get(b.producer) ?? { blocks: 0, rewards: "0" };
      out.set(b.producer, { blocks: cur.blocks + sign, rewards: (BigInt(cur.rewards) + BigInt(sign) * b.earned).toString() });
    };
    for (const b of removed) bump(b, -1);
    for (const b of added) bump(b, 1);
    return out;
  }
}
