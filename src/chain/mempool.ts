/**
 * The mempool (node policy, docs/protocol.md §6.5; producers build blocks from it, up to
 * max_block_txs transactions). Transactions are kept per sender in nonce order; a pending
 * transaction is replaced by one with the same nonce and a higher fee; block building takes, across
 * senders, the highest fee among each sender's next executable transaction, so every sender's
 * nonces stay contiguous. Bounded in size, per sender and in age. Callers check signatures
 * (`checkTxStateless`) before `add`.
 */
import type { Tx } from "../consensus/types.ts";
import type { Account } from "./state.ts";
import { TxError, accountOf, checkTxStateless, txAmounts, txHash } from "./tx.ts";

/** Mempool limits. Times in ms. */
export interface MempoolOptions {
  maxSize: number;
  /** pending transactions per sender, and how far past its next nonce it may reach */
  maxPerSender: number;
  maxAgeMs: number;
  now: () => number;
}

export const defaultMempoolOptions: MempoolOptions = { maxSize: 10_000, maxPerSender: 1024, maxAgeMs: 10 * 60_000, now: Date.now };

interface Entry {
  tx: Tx;
  hash: string;
  fee: bigint;
  cost: bigint;
  addedAt: number;
}

/** What `add` did. */
export type AddOutcome = { status: "added" | "replaced" | "known"; hash: string; replaced?: string };

/** Pending transactions by sender and nonce. */
export class Mempool {
  private readonly opts: MempoolOptions;
  private readonly bySender = new Map<string, Map<number, Entry>>();
  private readonly byHash = new Map<string, Entry>();

  constructor(opts: Partial<MempoolOptions> = {}) {
    this.opts = { ...defaultMempoolOptions, ...opts };
  }

  /** Pending transactions. */
  get size(): number {
    return this.byHash.size;
  }

  /** Senders with pending transactions. */
  senders(): string[] {
    return [...this.bySender.keys()];
  }

  /** Up to `limit` pending transactions, by sender then nonce. */
  list(limit: number): Tx[] {
    const out: Tx[] = [];
    for (const queue of this.bySender.values()) {
      for (const n of [...queue.keys()].sort((a, b) => a - b)) {
        if (out.length >= limit) return out;
        out.push(queue.get(n)!.tx);
      }
    }
    return out;
  }

  /** True when `hash` is pending. */
  has(hash: string): boolean {
    return this.byHash.has(hash);
  }

  /** A pending transaction by hash. */
  get(hash: string): Tx | undefined {
    return this.byHash.get(hash)?.tx;
  }

  /**
   * Checks a transaction from outside (signature, chain id, amounts) and adds it.
   * @throws TxError as `checkTxStateless` and `add`
   */
  admit(tx: Tx, chainId: string, sender: Account): AddOutcome {
    checkTxStateless(tx, chainId);
    return this.add(tx, sender);
  }

  /**
   * Adds a (signature-checked) transaction given its sender's account at the tip.
   * @throws TxError: NONCE_TOO_LOW, NONCE_TOO_HIGH (past the per-sender window), INSUFFICIENT_BALANCE
   *   (for this and the sender's earlier pending transactions), FEE_TOO_LOW (a replacement must pay
   *   more), POOL_FULL (and the fee does not beat the cheapest evictable transaction)
   */
  add(tx: Tx, sender: Account): AddOutcome {
    const hash = txHash(tx);
    if (this.byHash.has(hash)) return { status: "known", hash };
    const { amount, fee } = txAmounts(tx);
    if (tx.nonce < sender.nonce) throw new TxError("NONCE_TOO_LOW", `nonce ${tx.nonce} already used (next is ${sender.nonce})`);
    if (tx.nonce >= sender.nonce + this.opts.maxPerSender) {
      throw new TxError("NONCE_TOO_HIGH", `nonce ${tx.nonce} is more than ${this.opts.maxPerSender} past the next, ${sender.nonce}`);
    }
    const queue = this.bySender.get(tx.from) ?? new Map<number, Entry>();
    const old = queue.get(tx.nonce);
    if (old && fee <= old.fee) throw new TxError("FEE_TOO_LOW", `a pending transaction has nonce ${tx.nonce}; a replacement must pay a fee above ${old.fee}`);
    // The sender must afford everything pending up to and including this nonce.
    let spend = amount + fee;
    for (const [n, e] of queue) if (n < tx.nonce) spend += e.cost;
    if (sender.balance < spend) throw new TxError("INSUFFICIENT_BALANCE", `balance ${sender.balance} < ${spend} for this and earlier pending transactions`);
    if (!old && this.byHash.size >= this.opts.maxSize) this.evictFor(fee, tx.from);
    const entry: Entry = { tx, hash, fee, cost: amount + fee, addedAt: this.opts.now() };
    queue.set(tx.nonce, entry);
    this.bySender.set(tx.from, queue);
    this.byHash.set(hash, entry);
    if (old) {
      this.byHash.delete(old.hash);
      return { status: "replaced", hash, replaced: old.hash };
    }
    return { status: "added", hash };
  }

  /**
   * Transactions for a block, at most `max`: repeatedly the highest-fee next transaction of any
   * sender (ties by hash), each sender's nonces contiguous from its account nonce and within its
   * balance.
   */
  select(max: number, accounts: ReadonlyMap<string, Account>): Tx[] {
    const out: Tx[] = [];
    const cursor = new Map<string, { nonce: number; balance: bigint }>();
    const head = (sender: string): Entry | undefined => {
      const c = cursor.get(sender)!;
      const e = this.bySender.get(sender)?.get(c.nonce);
      return e && e.cost <= c.balance ? e : undefined;
    };
    const candidates = new Map<string, Entry>();
    for (const sender of this.bySender.keys()) {
      const acc = accountOf(accounts, sender);
      cursor.set(sender, { nonce: acc.nonce, balance: acc.balance });
      const e = head(sender);
      if (e) candidates.set(sender, e);
    }
    while (out.length < max && candidates.size > 0) {
      let best: Entry | undefined;
      for (const e of candidates.values()) {
        if (!best || e.fee > best.fee || (e.fee === best.fee && e.hash < best.hash)) best = e;
      }
      const sender = best!.tx.from;
      out.push(best!.tx);
      const c = cursor.get(sender)!;
      cursor.set(sender, { nonce: c.nonce + 1, balance: c.balance - best!.cost });
      const next = head(sender);
      if (next) candidates.set(sender, next);
      else candidates.delete(sender);
    }
    return out;
  }

  /** Drops transactions that a block included, or that are now below their sender's nonce. */
  removeIncluded(accounts: ReadonlyMap<string, Account>, senders: Iterable<string>): void {
    for (const sender of senders) {
      const queue = this.bySender.get(sender);
      if (!queue) continue;
      const next = accountOf(accounts, sender).nonce;
      for (const [n, e] of queue) {
        if (n < next) {
          queue.delete(n);
          this.byHash.delete(e.hash);
        }
      }
      if (queue.size === 0) this.bySender.delete(sender);
    }
  }

  /** Drops transactions older than `maxAgeMs`, with every later nonce of their sender. Returns how many. */
  expire(): number {
    const cutoff = this.opts.now() - this.opts.maxAgeMs;
    let dropped = 0;
    for (const [sender, queue] of this.bySender) {
      const nonces = [...queue.keys()].sort((a, b) => a - b);
      const firstOld = nonces.find((n) => queue.get(n)!.addedAt < cutoff);
      if (firstOld === undefined) continue;
      for (const n of nonces) {
        if (n < firstOld) continue;
        this.byHash.delete(queue.get(n)!.hash);
        queue.delete(n);
        dropped++;
      }
      if (queue.size === 0) this.bySender.delete(sender);
    }
    return dropped;
  }

  // Full pool: evict the cheapest tail of another sender (its highest nonce, so no sender gets a
  // gap), if the newcomer pays more.
  private evictFor(fee: bigint, newcomer: string): void {
    let victim: Entry | undefined;
    for (const [sender, queue] of this.bySender) {
      if (sender === newcomer) continue;
      const tail = queue.get(Math.max(...queue.keys()))!;
      if (!victim || tail.fee < victim.fee) victim = tail;
    }
    if (!victim || victim.fee >= fee) throw new TxError("POOL_FULL", `mempool full (${this.opts.maxSize}); pay a fee above ${victim?.fee ?? 0n}`);
    const queue = this.bySender.get(victim.tx.from)!;
    queue.delete(victim.tx.nonce);
    if (queue.size === 0) this.bySender.delete(victim.tx.from);
    this.byHash.delete(victim.hash);
  }
}
