/**
 * Account state and its root (DESIGN.md section 3: `state_root` is an RFC 6962 root over
 * H(JCS([address, balance, nonce])) of every account in ascending address order).
 * Transfers and rewards arrive with issue 4; until then blocks carry no transactions and the
 * state is the genesis `alloc`.
 */
import { merkleRootOfHashes } from "../consensus/merkle.ts";
import { hashJson, toHex } from "../consensus/encoding.ts";

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
