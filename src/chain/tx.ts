/**
 * Transaction validity (docs/protocol.md §3.4 wire forms, §6.5 execution): transfers, and the bond,
 * unbond and withdraw of validators. Amounts are exact integers in base units, carried as decimal
 * strings and computed as bigint: no floats, no overflow. Checks run cheapest first: chain id, fee
 * and amounts (stateless), then nonce, balance and the kind's state checks, then the ed25519
 * signature, and a bond's BLS proof of possession last.
 */
import { hashJson, omit, toHex } from "../consensus/encoding.ts";
import { Domain, sign, verify } from "../consensus/signatures.ts";
import { blsSignHex, blsPublicKeyHex, blsVerify, isValidBlsPublicKey } from "../consensus/bls.ts";
import { popMessage } from "../consensus/randao.ts";
import { MAX_BONDS_PER_BLOCK, type ValidatorRecord } from "../consensus/validators.ts";
import type { Bond, Transfer, Tx, TxKind, Unbond, Withdraw } from "../consensus/types.ts";
import type { ChainParams } from "../consensus/params.ts";
import type { ConsensusKind } from "../consensus/forkChoice.ts";
import type { Account, AccountReader } from "./state.ts";
import type { RegistryView } from "./registry.ts";

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
  | "POOL_FULL"
  /** a bond, unbond or withdraw on a `pow` chain */
  | "BAD_KIND"
  /** a bond below `min_bond` */
  | "BOND_TOO_SMALL"
  /** a bond from an EBID that has a record */
  | "ALREADY_BONDED"
  /** a bond from an EBID outside the chain's allowlist */
  | "NOT_ALLOWED"
  /** a bond while `max_validators` records exist */
  | "VALIDATOR_SET_FULL"
  /** more than MAX_BONDS_PER_BLOCK bonds in one block */
  | "TOO_MANY_BONDS"
  /** a bond's `bls_pubkey` is not a valid BLS12-381 public key */
  | "BAD_BLS_KEY"
  /** a bond's `bls_pubkey` is another record's */
  | "BLS_KEY_TAKEN"
  /** a bond's proof of possession does not verify */
  | "BAD_POP"
  /** an unbond or withdraw from an EBID without a record */
  | "NOT_BONDED"
  /** an unbond of a record that has its exit epoch already */
  | "ALREADY_EXITING"
  /** a withdraw before exit_epoch + unbonding_epochs (or of a record not exiting) */
  | "NOT_WITHDRAWABLE";

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

/** Transaction hash: hex(H(JCS(tx without sig))), for every kind. */
export function txHash(tx: Tx): string {
  return toHex(hashJson(omit(tx, "sig")));
}

/** A transaction's kind: its `kind` field, `transfer` without one. */
export function txKind(tx: Tx): TxKind {
  return "kind" in tx ? tx.kind : "transfer";
}

/** True for a transfer (the kind without a `kind` field). */
export function isTransfer(tx: Tx): tx is Transfer {
  return !("kind" in tx);
}

/** The accounts a transaction reads or writes: `from`, and a transfer's `to`. */
export function txAddresses(tx: Tx): string[] {
  return isTransfer(tx) ? [tx.from, tx.to] : [tx.from];
}

/** The amount a transaction moves out of `from` besides its fee: a transfer's or a bond's; 0 for the others. */
export function txAmount(tx: Tx): bigint {
  return isTransfer(tx) || tx.kind === "bond" ? BigInt(tx.amount) : 0n;
}

/** Amount and fee as bigint. @throws TxError when out of range */
export function txAmounts(tx: Tx): { amount: bigint; fee: bigint } {
  const fee = BigInt(tx.fee);
  if (fee > MAX_AMOUNT) throw new TxError("BAD_FEE", `fee must be at most ${MAX_AMOUNT} base units`);
  if (!isTransfer(tx) && tx.kind !== "bond") return { amount: 0n, fee };
  const amount = BigInt(tx.amount);
  if (amount < 1n || amount > MAX_AMOUNT) throw new TxError("BAD_AMOUNT", `amount must be 1..${MAX_AMOUNT} base units`);
  return { amount, fee };
}

/** The chain spec's registry rules (docs/protocol.md §2.1, §6.5). */
export interface RegistryRules {
  /** `min_bond`, base units */
  minBond: bigint;
  maxValidators: number;
  epochLength: number;
  activationDelayEpochs: number;
  unbondingEpochs: number;
  /** the chain's allowlist: only these EBIDs may bond */
  allowlist?: ReadonlySet<string>;
}

/** The chain spec's transaction rules (docs/protocol.md §2.1, §6.5); amounts in base units. */
export interface TxRules {
  /** `min_tx_fee`: the least fee a transaction may carry */
  minTxFee: bigint;
  /** `min_account_balance`: the least amount of a transfer that creates its recipient */
  minAccountBalance: bigint;
  /** the registry's rules; absent on `pow` chains, where bond, unbond and withdraw are refused */
  registry?: RegistryRules;
}

/** No minimums and no registry (unit tests of the transfer rules). */
export const NO_MINIMUMS: TxRules = { minTxFee: 0n, minAccountBalance: 0n };

/** The rules of a chain spec. */
export function txRulesOf(spec: { params: ChainParams; consensus: ConsensusKind; allowlist?: readonly string[] }): TxRules {
  const p = spec.params;
  const rules: TxRules = { minTxFee: BigInt(p.min_tx_fee), minAccountBalance: BigInt(p.min_account_balance) };
  if (spec.consensus === "proof-of-sync") {
    rules.registry = {
      minBond: BigInt(p.min_bond),
      maxValidators: p.max_validators,
      epochLength: p.epoch_length,
      activationDelayEpochs: p.activation_delay_epochs,
      unbondingEpochs: p.unbonding_epochs,
      ...(spec.allowlist ? { allowlist: new Set(spec.allowlist) } : {}),
    };
  }
  return rules;
}

/**
 * Checks what needs neither state nor a signature verify: chain id, kind, amounts, the minimum fee
 * and bond. The wire schema has already checked the shape.
 * @throws TxError
 */
export function checkTxStateless(tx: Tx, chainId: string, rules: TxRules = NO_MINIMUMS): void {
  if (tx.chain_id !== chainId) throw new TxError("BAD_CHAIN_ID", `chain_id ${JSON.stringify(tx.chain_id)} is not ${chainId}`);
  if (!isTransfer(tx) && !rules.registry) throw new TxError("BAD_KIND", `${tx.kind} transactions are not valid on this chain (no validators on pow chains)`);
  const { amount, fee } = txAmounts(tx);
  if (fee < rules.minTxFee) throw new TxError("FEE_BELOW_MINIMUM", `fee ${fee} is below the chain's min_tx_fee ${rules.minTxFee}`);
  if (!isTransfer(tx) && tx.kind === "bond" && amount < rules.registry!.minBond) {
    throw new TxError("BOND_TOO_SMALL", `bond ${amount} is below the chain's min_bond ${rules.registry!.minBond}`);
  }
}

/** The signature by `from` (the one verifier, `node:crypto`). @throws TxError BAD_SIGNATURE */
export function checkTxSignature(tx: Tx): void {
  if (!verify(Domain.tx, tx, tx.sig, tx.from)) throw new TxError("BAD_SIGNATURE", "signature does not verify for from");
}

/**
 * A bond's BLS checks, the costliest, last: `bls_pubkey` is a valid key and `pop` its signature
 * over `popMessage(chain_id, from, bls_pubkey)`. Nothing for the other kinds.
 * @throws TxError BAD_BLS_KEY, BAD_POP
 */
export function checkTxPop(tx: Tx): void {
  if (isTransfer(tx) || tx.kind !== "bond") return;
  // blsVerify refuses an invalid key too; the key is checked on its own only to name the failure.
  if (blsVerify(tx.bls_pubkey, popMessage(tx.chain_id, tx.from, tx.bls_pubkey), tx.pop)) return;
  if (!isValidBlsPublicKey(tx.bls_pubkey)) throw new TxError("BAD_BLS_KEY", "bls_pubkey is not a valid BLS12-381 public key");
  throw new TxError("BAD_POP", "pop is not bls_pubkey's signature over the proof-of-possession message for from");
}

/** The signatures, ed25519 then BLS. @throws TxError BAD_SIGNATURE, BAD_BLS_KEY, BAD_POP */
export function checkTxSignatures(tx: Tx): void {
  checkTxSignature(tx);
  checkTxPop(tx);
}

/** The account of `address`, or an empty one. */
export function accountOf(accounts: AccountReader, address: string): Account {
  return accounts.get(address) ?? { balance: 0n, nonce: 0 };
}

/**
 * Checks a transaction's nonce and that the balance covers amount + fee (a withdraw: that balance +
 * bond covers the fee), and for a transfer that one creating its recipient carries at least
 * `min_account_balance`. Returns amount and fee.
 * @throws TxError
 */
export function checkTxState(accounts: AccountReader, tx: Tx, rules: TxRules = NO_MINIMUMS, credit = 0n): { amount: bigint; fee: bigint } {
  const { amount, fee } = txAmounts(tx);
  const from = accountOf(accounts, tx.from);
  if (tx.nonce < from.nonce) throw new TxError("NONCE_TOO_LOW", `nonce ${tx.nonce} already used (next is ${from.nonce})`);
  if (tx.nonce > from.nonce) throw new TxError("NONCE_TOO_HIGH", `nonce ${tx.nonce} is ahead of the next, ${from.nonce}`);
  if (from.balance + credit < amount + fee) throw new TxError("INSUFFICIENT_BALANCE", `balance ${from.balance} < amount + fee ${amount + fee}`);
  if (isTransfer(tx)) checkCreation(accounts, tx, amount, rules);
  return { amount, fee };
}

/** A transfer that creates its recipient must carry at least `min_account_balance`. @throws TxError */
export function checkCreation(accounts: AccountReader, tx: Transfer, amount: bigint, rules: TxRules): void {
  if (amount < rules.minAccountBalance && accounts.get(tx.to) === undefined) {
    throw new TxError("AMOUNT_BELOW_MINIMUM", `amount ${amount} would create account ${tx.to} below the chain's min_account_balance ${rules.minAccountBalance}`);
  }
}

/**
 * The record checks of a bond, unbond or withdraw executed at `epoch` against `registry` (cheap:
 * no signature). Returns the record the transaction leaves (null: deleted) and, for a withdraw,
 * the bond it credits. Nothing for a transfer.
 * @throws TxError ALREADY_BONDED, NOT_ALLOWED, VALIDATOR_SET_FULL, BLS_KEY_TAKEN, NOT_BONDED,
 *   ALREADY_EXITING, NOT_WITHDRAWABLE
 */
export function checkRegistry(registry: RegistryView, tx: Bond | Unbond | Withdraw, rules: RegistryRules, epoch: number): { record: ValidatorRecord | null; credit: bigint } {
  const record = registry.get(tx.from);
  switch (tx.kind) {
    case "bond": {
      if (record) throw new TxError("ALREADY_BONDED", `${tx.from} has a validator record already`);
      if (rules.allowlist && !rules.allowlist.has(tx.from)) throw new TxError("NOT_ALLOWED", `${tx.from} is not in the chain's allowlist`);
      if (registry.size >= rules.maxValidators) throw new TxError("VALIDATOR_SET_FULL", `the registry holds max_validators (${rules.maxValidators}) records`);
      if (registry.blsKeyOwner(tx.bls_pubkey) !== undefined) throw new TxError("BLS_KEY_TAKEN", "bls_pubkey belongs to another validator record");
      const activation = epoch + rules.activationDelayEpochs;
      return { record: { ebid: tx.from, bls_pubkey: tx.bls_pubkey, bond: BigInt(tx.amount), activation_epoch: activation, exit_epoch: null, slashed: false }, credit: 0n };
    }
    case "unbond": {
      if (!record) throw new TxError("NOT_BONDED", `${tx.from} has no validator record`);
      if (record.exit_epoch !== null) throw new TxError("ALREADY_EXITING", `${tx.from} exits at epoch ${record.exit_epoch} already`);
      return { record: { ...record, exit_epoch: Math.max(epoch + rules.activationDelayEpochs, record.activation_epoch) }, credit: 0n };
    }
    case "withdraw": {
      if (!record) throw new TxError("NOT_BONDED", `${tx.from} has no validator record`);
      if (record.exit_epoch === null) throw new TxError("NOT_WITHDRAWABLE", `${tx.from} has not unbonded`);
      const from = record.exit_epoch + rules.unbondingEpochs;
      if (epoch < from) throw new TxError("NOT_WITHDRAWABLE", `the bond of ${tx.from} is withdrawable from epoch ${from}, not ${epoch}`);
      return { record: null, credit: withdrawCredit(record) };
    }
  }
}

/** What a withdraw of `record` credits: its bond, 0 for a slashed record (bond burned, docs/protocol.md §6.5) or none. */
export function withdrawCredit(record: ValidatorRecord | undefined): bigint {
  return record && !record.slashed ? record.bond : 0n;
}

/** What `applyTx` writes: accounts, and for bonds, unbonds and withdraws the validator records. */
export interface TxState extends AccountReader {
  set(address: string, a: Account): unknown;
  readonly registry?: RegistryView & { set(ebid: string, r: ValidatorRecord | null): void };
}

/**
 * Applies a transaction to `state` (mutated) at block epoch `epoch`: the state checks, the kind's
 * record checks, then the ed25519 signature and a bond's PoP (last, the costly checks). Returns the
 * fee, which goes to the block's producer.
 * @throws TxError, leaving `state` untouched
 */
export function applyTx(state: TxState, tx: Tx, rules: TxRules = NO_MINIMUMS, epoch = 0): bigint {
  if (isTransfer(tx)) {
    const { amount, fee } = checkTxState(state, tx, rules);
    checkTxSignature(tx);
    const from = accountOf(state, tx.from);
    state.set(tx.from, { balance: from.balance - amount - fee, nonce: from.nonce + 1 });
    const to = accountOf(state, tx.to);
    state.set(tx.to, { balance: to.balance + amount, nonce: to.nonce });
    return fee;
  }
  if (!rules.registry || !state.registry) throw new TxError("BAD_KIND", `${tx.kind} transactions are not valid on this chain`);
  const { amount, fee } = checkTxState(state, tx, rules, tx.kind === "withdraw" ? withdrawCredit(state.registry.get(tx.from)) : 0n);
  const { record, credit } = checkRegistry(state.registry, tx, rules.registry, epoch);
  checkTxSignatures(tx);
  const from = accountOf(state, tx.from);
  state.set(tx.from, { balance: from.balance - amount - fee + credit, nonce: from.nonce + 1 });
  state.registry.set(tx.from, record);
  return fee;
}

/**
 * The block rule on bonds (docs/protocol.md §6.5): at most MAX_BONDS_PER_BLOCK of them, each
 * costing a BLS verification. Cheap, so it runs before any transaction executes. Returns the index
 * of the first bond over the limit, or -1.
 */
export function firstBondOverLimit(txs: readonly Tx[]): number {
  let bonds = 0;
  for (let i = 0; i < txs.length; i++) {
    const tx = txs[i]!;
    if (!isTransfer(tx) && tx.kind === "bond" && ++bonds > MAX_BONDS_PER_BLOCK) return i;
  }
  return -1;
}

/**
 * Signs a transfer from `key` (its EBID is the sender) over the wire form without `sig`
 * (docs/protocol.md §3.4). Amounts are base units as decimal strings; nothing is validated here.
 */
export function signTransfer(
  key: { ebid: string; secretKey: Uint8Array },
  body: { chain_id: string; to: string; amount: string; fee: string; nonce: number },
): Transfer {
  const unsigned = { chain_id: body.chain_id, from: key.ebid, to: body.to, amount: body.amount, fee: body.fee, nonce: body.nonce };
  return { ...unsigned, sig: sign(Domain.tx, unsigned, key.secretKey) };
}

/**
 * Signs a bond of `amount` by `key` with its BLS key `blsSecretKey`: the proof of possession over
 * `popMessage(chain_id, ebid, bls_pubkey)`, then the ed25519 signature over the rest
 * (docs/protocol.md §3.4).
 */
export function signBond(
  key: { ebid: string; secretKey: Uint8Array; blsSecretKey: Uint8Array },
  body: { chain_id: string; amount: string; fee: string; nonce: number },
): Bond {
  const bls_pubkey = blsPublicKeyHex(key.blsSecretKey);
  const pop = blsSignHex(key.blsSecretKey, popMessage(body.chain_id, key.ebid, bls_pubkey));
  const unsigned = { chain_id: body.chain_id, kind: "bond" as const, from: key.ebid, amount: body.amount, fee: body.fee, nonce: body.nonce, bls_pubkey, pop };
  return { ...unsigned, sig: sign(Domain.tx, unsigned, key.secretKey) };
}

/** Signs an unbond or a withdraw by `key` (docs/protocol.md §3.4). */
export function signExit<K extends "unbond" | "withdraw">(
  key: { ebid: string; secretKey: Uint8Array },
  kind: K,
  body: { chain_id: string; fee: string; nonce: number },
): K extends "unbond" ? Unbond : Withdraw {
  const unsigned = { chain_id: body.chain_id, kind, from: key.ebid, fee: body.fee, nonce: body.nonce };
  return { ...unsigned, sig: sign(Domain.tx, unsigned, key.secretKey) } as unknown as K extends "unbond" ? Unbond : Withdraw;
}
