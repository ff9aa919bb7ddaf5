/**
 * The mempool (node policy, docs/protocol.md §6.5; producers build blocks from it, up to
 * max_block_txs transactions). Transactions are kept per sender in nonce order; a pending
 * transaction is replaced by one with the same nonce and a fee at least a tenth higher
 * (`replacementFee`); block building takes, across
 * senders, the highest fee among each sender's next executable transaction, so every sender's
 * nonces stay contiguous. Bounded in size, per sender and in age. `admit` checks a transaction from
 * outside with the signatures verified last, after every cheap check; `readd` takes transactions whose
 * signatures were checked before (a reorg's returned transactions). Bonds, unbonds and withdraws are
 * checked against the head's validator records; a sender has at most one pending of each of them.
 */
import type { Tx } from "../consensus/types.ts";
import { MAX_BONDS_PER_BLOCK, epochAt } from "../consensus/validators.ts";
import type { Account, AccountReader } from "./state.ts";
import type { RegistryView } from "./registry.ts";
import {
  NO_MINIMUMS, TxError, accountOf, checkCreation, checkRegistry, checkTxSignatures, checkTxStateless, isTransfer, txAddresses, txAmounts, txHash, txKind,
  type TxRules,
} from "./tx.ts";

/** The state the mempool checks against: accounts, and the validator records after the block at `height`. */
export type MempoolState = AccountReader & { has?(address: string): boolean; readonly registry?: RegistryView; readonly height?: number };

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

  /** Senders and recipients of pending transactions: the accounts `select` reads. */
  addresses(): string[] {
    const out = new Set<string>();
    for (const [sender, queue] of this.bySender) {
      out.add(sender);
      for (const e of queue.values()) for (const a of txAddresses(e.tx)) out.add(a);
    }
    return [...out];
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
   * Checks a transaction from outside and adds it: chain id, kind, amounts and minimum fee, then
   * the checks of `add` against the head (`head` reads the sender and, for the creation minimum, the
   * recipient; a bond, unbond or withdraw is checked against the head's records at the next
   * height's epoch), and only then the signatures, the costly checks (docs/protocol.md §6.5).
   * @throws TxError as `checkTxStateless`, `checkRegistry`, `add` and `checkTxSignatures`
   */
  admit(tx: Tx, chainId: string, head: MempoolState, rules: TxRules = NO_MINIMUMS): AddOutcome {
    checkTxStateless(tx, chainId, rules);
    let credit = 0n;
    if (isTransfer(tx)) checkCreation(head, tx, txAmounts(tx).amount, rules);
    else {
      if (!head.registry || !rules.registry) throw new TxError("BAD_KIND", `${tx.kind} transactions are not valid on this chain`);
      credit = checkRegistry(head.registry, tx, rules.registry, epochAt((head.height ?? 0) + 1, rules.registry.epochLength)).credit;
    }
    return this.add(tx, accountOf(head, tx.from), () => checkTxSignatures(tx), credit);
  }

  /**
   * Adds a transaction whose signatures were checked before (an orphaned block's, after a reorg)
   * against the head state `head`: its sender's account, and for a withdraw the bond it credits
   * (without it, a withdraw whose fee only the bond covers would be refused).
   * @throws TxError as `add`
   */
  readd(tx: Tx, head: MempoolState): AddOutcome {
    const credit = !isTransfer(tx) && tx.kind === "withdraw" ? (head.registry?.get(tx.from)?.bond ?? 0n) : 0n;
    return this.add(tx, accountOf(head, tx.from), undefined, credit);
  }

  /**
   * Adds a (signature-checked) transaction given its sender's account at the tip; `credit` is what
   * it pays into the sender's balance (a withdraw's bond).
   * @throws TxError: NONCE_TOO_LOW, NONCE_TOO_HIGH (past the per-sender window), INSUFFICIENT_BALANCE
   *   (for this and the sender's earlier pending transactions), FEE_TOO_LOW (a replacement must pay
   *   more), POOL_FULL (and the fee does not beat the cheapest evictable transaction),
   *   ALREADY_BONDED, ALREADY_EXITING, NOT_BONDED (a bond, unbond or withdraw of the sender is pending)
   */
  add(tx: Tx, sender: Account, verify?: () => void, credit = 0n): AddOutcome {
    const hash = txHash(tx);
    const known = this.byHash.get(hash);
    if (known) {
      if (known.tx.sig !== tx.sig) verify?.(); // same transfer, another signature: a forged copy is refused
      return { status: "known", hash };
    }
    const { amount, fee } = txAmounts(tx);
    if (tx.nonce < sender.nonce) throw new TxError("NONCE_TOO_LOW", `nonce ${tx.nonce} already used (next is ${sender.nonce})`);
    if (tx.nonce >= sender.nonce + this.opts.maxPerSender) {
      throw new TxError("NONCE_TOO_HIGH", `nonce ${tx.nonce} is more than ${this.opts.maxPerSender} past the next, ${sender.nonce}`);
    }
    const queue = this.bySender.get(tx.from) ?? new Map<number, Entry>();
    if (!isTransfer(tx)) {
      for (const [n, e] of queue) if (n !== tx.nonce && txKind(e.tx) === tx.kind) throw pendingTwice(tx.kind, n);
    }
    const old = queue.get(tx.nonce);
    if (old && fee < replacementFee(old.fee)) {
      throw new TxError("FEE_TOO_LOW", `a pending transaction has nonce ${tx.nonce} with fee ${old.fee}; a replacement must pay at least ${replacementFee(old.fee)}`);
    }
    // The sender must afford everything pending up to and including this nonce.
    let spend = amount + fee - credit;
    for (const [n, e] of queue) if (n < tx.nonce) spend += e.cost;
    if (sender.balance < spend) throw new TxError("INSUFFICIENT_BALANCE", `balance ${sender.balance} < ${spend} for this and earlier pending transactions`);
    const victim = !old && this.byHash.size >= this.opts.maxSize ? this.victimFor(fee, tx.from) : undefined;
    verify?.(); // last: every cheap refusal above costs no signature verify
    if (victim) this.evict(victim);
    const entry: Entry = { tx, hash, fee, cost: amount + fee - credit, addedAt: this.opts.now() };
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
   * Transactions for a block on the state `accounts` (after the parent, whose `height` it knows), at
   * most `max`: repeatedly the highest-fee next transaction of any sender (ties by hash), each
   * sender's nonces contiguous from its account nonce and within its balance. A bond, unbond or
   * withdraw that could not execute on the parent's records waits, and so do bonds past
   * MAX_BONDS_PER_BLOCK, past `max_validators`, or of a BLS key another bond in the block carries.
   */
  select(max: number, accounts: MempoolState, rules: TxRules = NO_MINIMUMS): Tx[] {
    const readable = (a: string) => accounts.has?.(a) ?? true; // senders that arrived after the state was read wait
    const out: Tx[] = [];
    const cursor = new Map<string, { nonce: number; balance: bigint }>();
    const created = new Set<string>();
    const blsKeys = new Set<string>();
    const registry = accounts.registry;
    const r = rules.registry;
    const epoch = r && accounts.height !== undefined ? epochAt(accounts.height + 1, r.epochLength) : undefined;
    const fits = (e: Entry): boolean => {
      const tx = e.tx;
      if (isTransfer(tx)) {
        // A transfer creating its recipient below the minimum waits (it could not execute).
        return !(e.cost - e.fee < rules.minAccountBalance && !created.has(tx.to) && (!readable(tx.to) || accounts.get(tx.to) === undefined));
      }
      if (!r || !registry) return false;
      if (tx.kind === "bond") {
        if (blsKeys.size >= MAX_BONDS_PER_BLOCK || blsKeys.has(tx.bls_pubkey) || registry.size + blsKeys.size >= r.maxValidators) return false;
      }
      try {
        checkRegistry(registry, tx, r, epoch ?? Number.MAX_SAFE_INTEGER);
        return true;
      } catch {
        return false;
      }
    };
    const head = (sender: string): Entry | undefined => {
      const c = cursor.get(sender)!;
      const e = this.bySender.get(sender)?.get(c.nonce);
      return e && e.cost <= c.balance && fits(e) ? e : undefined;
    };
    const candidates = new Map<string, Entry>();
    for (const sender of this.bySender.keys()) {
      if (!readable(sender)) continue;
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
      if (!fits(best!)) {
        candidates.delete(sender); // a bond that another picked meanwhile made wait
        continue;
      }
      out.push(best!.tx);
      if (isTransfer(best!.tx)) created.add(best!.tx.to);
      else if (best!.tx.kind === "bond") blsKeys.add(best!.tx.bls_pubkey);
      const c = cursor.get(sender)!;
      cursor.set(sender, { nonce: c.nonce + 1, balance: c.balance - best!.cost });
      const next = head(sender);
      if (next) candidates.set(sender, next);
      else candidates.delete(sender);
    }
    return out;
  }

  /** Drops transactions that a block included, or that are now below their sender's nonce. */
  removeIncluded(accounts: MempoolState, senders: Iterable<string>): void {
    for (const sender of senders) {
      const queue = this.bySender.get(sender);
      if (!queue || accounts.has?.(sender) === false) continue;
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
  // Throws POOL_FULL unless there is one; mutates nothing.
  private victimFor(fee: bigint, newcomer: string): Entry {
    let victim: Entry | undefined;
    for (const [sender, queue] of this.bySender) {
      if (sender === newcomer) continue;
      const tail = queue.get(Math.max(...queue.keys()))!;
      if (!victim || tail.fee < victim.fee) victim = tail;
    }
    if (!victim || victim.fee >= fee) throw new TxError("POOL_FULL", `mempool full (${this.opts.maxSize}); pay a fee above ${victim?.fee ?? 0n}`);
    return victim;
  }

  private evict(victim: Entry): void {
    const queue = this.bySender.get(victim.tx.from)!;
    queue.delete(victim.tx.nonce);
    if (queue.size === 0) this.bySender.delete(victim.tx.from);
    this.byHash.delete(victim.hash);
  }
}

// A second pending bond, unbond or withdraw of one sender could not execute after the first.
function pendingTwice(kind: "bond" | "unbond" | "withdraw", nonce: number): TxError {
  const code = kind === "bond" ? "ALREADY_BONDED" : kind === "unbond" ? "ALREADY_EXITING" : "NOT_BONDED";
  return new TxError(code, `a ${kind} of this sender is pending (nonce ${nonce})`);
}

/** How much more a replacement pays, in percent of the pending transfer's fee (rounded up, at least 1 base unit). */
export const REPLACEMENT_BUMP_PERCENT = 10n;

/**
 * The least fee that replaces a pending transfer paying `fee`: a tenth more, at least one unit.
 * Every replacement is a new transfer that every node relays, so a bump of one unit let one funded
 * sender make a relayed transfer per unit of fee it would pay at most once.
 */
export function replacementFee(fee: bigint): bigint {
  const bump = (fee * REPLACEMENT_BUMP_PERCENT + 99n) / 100n;
  return fee + (bump > 0n ? bump : 1n);
}
