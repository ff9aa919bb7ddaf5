/**
 * Transfer validity (docs/protocol.md §3 wire form `{chain_id, from, to, amount, fee, nonce,
 * sig}`, §6.5 execution). Amounts are exact integers in base units, carried as decimal strings and
 * computed as bigint: no floats, no overflow.
 */
import { hashJson, omit, toHex } from "../consensus/encoding.ts";
import { Domain, sign, verify } from "../consensus/signatures.ts";
import type { Tx } from "../consensus/types.ts";
import type { Account, AccountReader } from "./state.ts";

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
  | "FEE_BELOW_MINIMUM"
  | "AMOUNT_BELOW_MINIMUM"
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

/** The chain spec's transfer minimums (docs/protocol.md §2.1, §6.5), in base units. */
export interface TxRules {
  /** `min_tx_fee`: the least fee a transfer may carry */
  minTxFee: bigint;
  /** `min_account_balance`: the least amount of a transfer that creates its recipient */
  minAccountBalance: bigint;
}

/** No minimums (unit tests of the other rules). */
export const NO_MINIMUMS: TxRules = { minTxFee: 0n, minAccountBalance: 0n };

/** The minimums of a chain spec's params. */
export function txRulesOf(params: { min_tx_fee: number; min_account_balance: number }): TxRules {
  return { minTxFee: BigInt(params.min_tx_fee), minAccountBalance: BigInt(params.min_account_balance) };
}

/**
 * Checks what needs neither state nor a signature verify: chain id, amounts, the minimum fee. The
 * wire schema has already checked the shape. The signature is checked last (`checkTxSignature`),
 * after the cheap state checks, so a flood of stale transfers costs no verify.
 * @throws TxError
 */
export function checkTxStateless(tx: Tx, chainId: string, rules: TxRules = NO_MINIMUMS): void {
  if (tx.chain_id !== chainId) throw new TxError("BAD_CHAIN_ID", `chain_id ${JSON.stringify(tx.chain_id)} is not ${chainId}`);
  const { fee } = txAmounts(tx);
  if (fee < rules.minTxFee) throw new TxError("FEE_BELOW_MINIMUM", `fee ${fee} is below the chain's min_tx_fee ${rules.minTxFee}`);
}

/** The signature by `from` (the one verifier, `node:crypto`). @throws TxError BAD_SIGNATURE */
export function checkTxSignature(tx: Tx): void {
  if (!verify(Domain.tx, tx, tx.sig, tx.from)) throw new TxError("BAD_SIGNATURE", "signature does not verify for from");
}

/** The account of `address`, or an empty one. */
export function accountOf(accounts: AccountReader, address: string): Account {
  return accounts.get(address) ?? { balance: 0n, nonce: 0 };
}

/**
 * Checks a transfer against the state: nonce must be the sender's next, balance must cover
 * amount + fee, and a transfer that creates its recipient must carry at least
 * `min_account_balance`. Returns amount and fee.
 * @throws TxError
 */
export function checkTxState(accounts: AccountReader, tx: Tx, rules: TxRules = NO_MINIMUMS): { amount: bigint; fee: bigint } {
  const { amount, fee } = txAmounts(tx);
  const from = accountOf(accounts, tx.from);
  if (tx.nonce < from.nonce) throw new TxError("NONCE_TOO_LOW", `nonce ${tx.nonce} already used (next is ${from.nonce})`);
  if (tx.nonce > from.nonce) throw new TxError("NONCE_TOO_HIGH", `nonce ${tx.nonce} is ahead of the next, ${from.nonce}`);
  if (from.balance < amount + fee) throw new TxError("INSUFFICIENT_BALANCE", `balance ${from.balance} < amount + fee ${amount + fee}`);
  checkCreation(accounts, tx, amount, rules);
  return { amount, fee };
}

/** A transfer that creates its recipient must carry at least `min_account_balance`. @throws TxError */
export function checkCreation(accounts: AccountReader, tx: Tx, amount: bigint, rules: TxRules): void {
  if (amount < rules.minAccountBalance && accounts.get(tx.to) === undefined) {
    throw new TxError("AMOUNT_BELOW_MINIMUM", `amount ${amount} would create account ${tx.to} below the chain's min_account_balance ${rules.minAccountBalance}`);
  }
}

/**
 * Applies a transfer to `accounts` (mutated) after `checkTxState` and then the signature (last,
 * the costly check). Returns the fee, which goes to the block's producer.
 * @throws TxError, leaving `accounts` untouched
 */
export function applyTx(accounts: AccountReader & { set(address: string, a: Account): unknown }, tx: Tx, rules: TxRules = NO_MINIMUMS): bigint {
  const { amount, fee } = checkTxState(accounts, tx, rules);
  checkTxSignature(tx);
  const from = accountOf(accounts, tx.from);
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
