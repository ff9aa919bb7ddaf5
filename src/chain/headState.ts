/**
 * The account state and producer totals at the head, and how they move when the head does
 * (docs/protocol.md §7: a reorg undoes the old branch and redoes the new one). Each block's account
 * changes are stored at import (`d!<hash>`), so any branch's state can be rebuilt from the head's.
 */
import type { Block } from "../consensus/types.ts";
import type { ChainDb } from "../storage/chainDb.ts";
import type { BlockMeta, ChainWrite, ProducerTotals } from "../storage/records.ts";
import { applyChanges, decodeChanges, type Account, type AccountChange } from "./state.ts";

/** A block joining or leaving the canonical chain, with its account changes. */
export interface MovedBlock {
  block: Block;
  changes: AccountChange[];
}

/** A prepared head move: writes for the import batch, and `commit()` once the batch is written. */
export interface HeadMove {
  writes: ChainWrite[];
  commit(): void;
}

/** Head account state and producer totals, in memory and in LevelDB. */
export class HeadState {
  private constructor(
    private readonly db: ChainDb,
    private readonly blockReward: bigint,
    private accounts: Map<string, Account>,
    private totals: Map<string, ProducerTotals>,
  ) {}

  /** Loads what the data dir holds. */
  static async load(db: ChainDb, blockReward: bigint): Promise<HeadState> {
    const accounts = new Map<string, Account>();
    for (const [address, [balance, nonce]] of await db.loadAccounts()) accounts.set(address, { balance: BigInt(balance), nonce });
    return new HeadState(db, blockReward, accounts, await db.loadProducerTotals());
  }

  /** An account at the head (an empty one when unknown). */
  account(address: string): Account {
    return this.accounts.get(address) ?? { balance: 0n, nonce: 0 };
  }

  /** Every account at the head. */
  get all(): ReadonlyMap<string, Account> {
    return this.accounts;
  }

  /** Blocks and rewards per producer on the canonical chain (one producer, or all). */
  producerTotals(producer?: string): Map<string, ProducerTotals> {
    if (producer === undefined) return new Map(this.totals);
    const t = this.totals.get(producer);
    return t ? new Map([[producer, t]]) : new Map();
  }

  /** A stored block's account changes. @throws when missing (a damaged data dir) */
  async changesOf(hash: string): Promise<AccountChange[]> {
    const stored = await this.db.getChanges(hash);
    if (!stored) throw new Error(`account changes of ${hash} missing from the database`);
    return decodeChanges(stored);
  }

  /**
   * Accounts after `parent`: the head's, or for another branch the head's with the head branch
   * undone down to the common ancestor and the other branch redone up to `parent`.
   */
  async at(head: BlockMeta, parent: BlockMeta, getMeta: (hash: string) => Promise<BlockMeta | undefined>): Promise<Map<string, Account>> {
    const accounts = new Map(this.accounts);
    let a = head;
    let b = parent;
    const redo: string[] = [];
    while (a.hash !== b.hash) {
      if (a.height >= b.height) {
        applyChanges(accounts, await this.changesOf(a.hash), "undo");
        a = (await getMeta(a.parent_hash))!;
      } else {
        redo.push(b.hash);
        b = (await getMeta(b.parent_hash))!;
      }
    }
    for (const hash of redo.reverse()) applyChanges(accounts, await this.changesOf(hash), "redo");
    return accounts;
  }

  /**
   * Prepares the head moving: `removed` blocks leave the canonical chain (newest first), `added`
   * join it (oldest first). Nothing changes until `commit()`.
   */
  prepareMove(removed: readonly MovedBlock[], added: readonly MovedBlock[]): HeadMove {
    const accounts = new Map(this.accounts);
    for (const r of removed) applyChanges(accounts, r.changes, "undo");
    for (const a of added) applyChanges(accounts, a.changes, "redo");
    const touched = new Set([...removed, ...added].flatMap((m) => m.changes.map((c) => c.address)));
    const writes: ChainWrite[] = [...touched].map((address) => {
      const a = accounts.get(address);
      return { kind: "account" as const, address, account: a ? ([a.balance.toString(), a.nonce] as [string, number]) : null };
    });
    const totals = this.countRewards(added.map((m) => m.block), removed.map((m) => m.block));
    for (const [producer, stats] of totals) writes.push({ kind: "producerStats", producer, stats });
    return {
      writes,
      commit: () => {
        this.accounts = accounts;
        for (const [producer, stats] of totals) this.totals.set(producer, stats);
      },
    };
  }

  // Totals of the producers touched when `added` blocks join the canonical chain and `removed` leave it.
  private countRewards(added: Block[], removed: Block[]): Map<string, ProducerTotals> {
    const out = new Map<string, ProducerTotals>();
    const bump = (b: Block, sign: 1 | -1) => {
      const cur = out.get(b.header.producer) ?? this.totals.get(b.header.producer) ?? { blocks: 0, rewards: "0" };
      const earned = this.blockReward + b.txs.reduce((a, t) => a + BigInt(t.fee), 0n);
      out.set(b.header.producer, { blocks: cur.blocks + sign, rewards: (BigInt(cur.rewards) + BigInt(sign) * earned).toString() });
    };
    for (const b of removed) bump(b, -1);
    for (const b of added) bump(b, 1);
    return out;
  }
}
