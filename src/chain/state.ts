/**
 * Account state and its root (docs/protocol.md §3: `state_root` is an RFC 6962 root over
 * H(JCS([address, balance, nonce])) of every account in ascending address order).
 * A block moves the state by its transfers, then pays its producer `block_reward` plus the fees.
 */
import { merkleRootOfHashes } from "../consensus/merkle.ts";
import { hashJson, toHex } from "../consensus/encoding.ts";
import type { StoredChange } from "../storage/records.ts";

/** One account: balance as a bigint of base units, nonce as the next expected tx nonce. */
export interface Account {
  balance: bigint;
  nonce: number;
}

/** Accounts by address (hex EBID). */
export type Accounts = ReadonlyMap<string, Account>;

/** Builds accounts from a chain spec `alloc` (decimal strings). */
export function accountsFromAlloc(alloc: Readonly<Record<string, string>>): Map<string, Account> {
  const m = new Map<string, Account>();
  for (const [address, balance] of Object.entries(alloc)) m.set(address, { balance: BigInt(balance), nonce: 0 });
  return m;
}

/** `state_root` as hex. */
export function stateRoot(accounts: Accounts): string {
  const addresses = [...accounts.keys()].sort();
  return toHex(
    merkleRootOfHashes(
      addresses.map((a) => {
        const acc = accounts.get(a)!;
        return hashJson([a, acc.balance.toString(), acc.nonce]);
      }),
    ),
  );
}

/** One account's value before and after a block (before null: the account did not exist). */
export interface AccountChange {
  address: string;
  before: Account | null;
  after: Account;
}

/**
 * Applies `changes` to `accounts` (mutated) forwards, or backwards to undo them: the undo/redo of a
 * reorg (docs/protocol.md §7).
 */
export function applyChanges(accounts: Map<string, Account>, changes: readonly AccountChange[], direction: "redo" | "undo"): void {
  if (direction === "redo") {
    for (const c of changes) accounts.set(c.address, c.after);
    return;
  }
  for (let i = changes.length - 1; i >= 0; i--) {
    const c = changes[i]!;
    if (c.before === null) accounts.delete(c.address);
    else accounts.set(c.address, c.before);
  }
}

/** The changes between two account maps, for the addresses in `touched`. */
export function diffAccounts(before: ReadonlyMap<string, Account>, after: ReadonlyMap<string, Account>, touched: Iterable<string>): AccountChange[] {
  const out: AccountChange[] = [];
  for (const address of new Set(touched)) {
    const a = after.get(address);
    if (!a) continue;
    const b = before.get(address) ?? null;
    if (b && b.balance === a.balance && b.nonce === a.nonce) continue;
    out.push({ address, before: b, after: a });
  }
  return out.sort((x, y) => (x.address < y.address ? -1 : 1));
}

/** A block's account changes in their stored form (bigints as decimal strings). */
export function encodeChanges(changes: readonly AccountChange[]): StoredChange[] {
  return changes.map((c) => ({
    address: c.address,
    before: c.before ? [c.before.balance.toString(), c.before.nonce] : null,
    after: [c.after.balance.toString(), c.after.nonce],
  }));
}

/** The inverse of `encodeChanges`. */
export function decodeChanges(stored: readonly StoredChange[]): AccountChange[] {
  return stored.map((c) => ({
    address: c.address,
    before: c.before ? { balance: BigInt(c.before[0]), nonce: c.before[1] } : null,
    after: { balance: BigInt(c.after[0]), nonce: c.after[1] },
  }));
}
