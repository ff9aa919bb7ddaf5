/**
 * Transfer validity (docs/protocol.md §3 wire form `{chain_id, from, to, amount, fee, nonce,
 * sig}`, §6.5 execution). Amounts are exact integers in base units, carried as decimal strings and
 * computed as bigint: no floats, no overflow.
 */
import { hashJson, omit, toHex } from "../consensus/encoding.ts";
import { Domain, sign, verify } from "../consensus/signatures.ts";
import type { Tx } from "../consensus/types.ts";
import type { Account } from "./state.ts";

/** Largest amount or fee: 2^128 - 1 base units. */
export const MAX_AMOUNT = 2n ** 128n - 1n;

/** Why a transaction was refused. */
export type TxErrorCode =
  | "BAD_CHAIN_ID"
  | "BAD_SIGNATURE"
  | "BAD_AMOUNT"
  | "BAD_FEE"
  | "NONCE_TOO_LOW"
  | "NONCE_TOO_HIGH"
  | "INSUFFICIENT_BALANCE"
  | "FEE_TOO_LOW"
  | "POOL_FULL";

/** A transaction that cannot be accepted; `code` says why, `message` says it for a person. */
export class TxError extends Error {
  constructor(
    readonly code: TxErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "TxError";
  }
}

/** Transaction hash: hex(H(JCS(tx without sig))). */
export function txHash(tx: Tx): string {
  return toHex(hashJson(omit(tx, "sig")));
}

/** Amount and fee of a transfer as bigint. @throws TxError when out of range */
export function txAmounts(tx: Tx): { amount: bigint; fee: bigint } {
  const amount = BigInt(tx.amount);
  const fee = BigInt(tx.fee);
  if (amount < 1n || amount > MAX_AMOUNT) throw new TxError("BAD_AMOUNT", `amount must be 1..${MAX_AMOUNT} base units`);
  if (fee > MAX_AMOUNT) throw new TxError("BAD_FEE", `fee must be at most ${MAX_AMOUNT} base units`);
  return { amount, fee };
}

/**
 * Checks everything that does not depend on state: chain id, amounts, and the signature by `from`
 * (the one verifier, `node:crypto`). The wire schema has already checked the shape.
 * @throws TxError
 */
export function checkTxStateless(tx: Tx, chainId: string): void {
  if (tx.chain_id !== chainId) throw new TxError("BAD_CHAIN_ID", `chain_id ${JSON.stringify(tx.chain_id)} is not ${chainId}`);
  txAmounts(tx);
  if (!verify(Domain.tx, tx, tx.sig, tx.from)) throw new TxError("BAD_SIGNATURE", "signature does not verify for from");
}

/** The account of `address`, or an empty one. */
export function accountOf(accounts: ReadonlyMap<string, Account>, address: string): Account {
  return accounts.get(address) ?? { balance: 0n, nonce: 0 };
}

/**
 * Applies a transfer to `accounts` (mutated): nonce must be the sender's next, balance must cover
 * amount + fee. Returns the fee, which goes to the block's producer.
 * @throws TxError, leaving `accounts` untouched
 */
export function applyTx(accounts: Map<string, Account>, tx: Tx): bigint {
  const { amount, fee } = txAmounts(tx);
  const from = accountOf(accounts, tx.from);
  if (tx.nonce < from.nonce) throw new TxError("NONCE_TOO_LOW", `nonce ${tx.nonce} already used (next is ${from.nonce})`);
  if (tx.nonce > from.nonce) throw new TxError("NONCE_TOO_HIGH", `nonce ${tx.nonce} is ahead of the next, ${from.nonce}`);
  if (from.balance < amount + fee) throw new TxError("INSUFFICIENT_BALANCE", `balance ${from.balance} < amount + fee ${amount + fee}`);
  accounts.set(tx.from, { balance: from.balance - amount - fee, nonce: from.nonce + 1 });
  const to = accountOf(accounts, tx.to);
  accounts.set(tx.to, { balance: to.balance + amount, nonce: to.nonce });
  return fee;
}

/**
 * Signs a transfer from `key` (its EBID is the sender) over the wire form without `sig`
 * (docs/protocol.md §3). Amounts are base units as decimal strings; nothing is validated here.
 */
export function signTransfer(
  key: { ebid: string; secretKey: Uint8Array },
  body: { chain_id: string; to: string; amount: string; fee: string; nonce: number },
): Tx {
  const unsigned = { chain_id: body.chain_id, from: key.ebid, to: body.to, amount: body.amount, fee: body.fee, nonce: body.nonce };
  return { ...unsigned, sig: sign(Domain.tx, unsigned, key.secretKey) };
}
