/**
 * Block execution (docs/protocol.md §6.5; `state_root` and `validators_root` §3.6): the block's
 * transactions in order, then its slashing items, then `block_reward` plus every fee to the
 * producer. Pure: writes into an overlay of the parent's state, never into the parent's and never
 * copying it, so a block costs O(touched accounts x log N), plus O(records) for `validators_root`
 * only when it changed a record.
 */
import type { Block } from "../consensus/types.ts";
import { epochAt } from "../consensus/validators.ts";
import { BlockError } from "./errors.ts";
import { MAX_BONDS_PER_BLOCK } from "../consensus/validators.ts";
import { TxError, accountOf, applyTx, checkTxStateless, firstBondOverLimit, type TxRules } from "./tx.ts";
import type { AccountChange, StateView } from "./state.ts";
import type { ValidatorChange } from "./registry.ts";
import type { SlashingItem } from "../consensus/slashing.ts";
import { applySlashings } from "./slashing.ts";

/** What a block did to the state. */
export interface Execution {
  /** the state after the block */
  state: StateView;
  changes: AccountChange[];
  /** the block's validator record changes, ascending by EBID */
  validators: ValidatorChange[];
  stateRoot: string;
  /** `validators_root` of the records after the block (the parent's when no record changed) */
  validatorsRoot: string;
  fees: bigint;
}

/**
 * Executes the transactions, the slashing items (already verified as evidence) and the reward of
 * the block at `header.height` on `parent` (not mutated). `parentValidatorsRoot`, when the caller
 * knows it, spares computing the parent's root for a block that changes no record.
 * @throws BlockError BAD_TX naming the transaction and the rule it broke; NOT_SLASHABLE or
 *   BAD_SLASHING naming the slashing item (chain/slashing.ts)
 */
export function executeBlock(
  parent: StateView,
  block: Pick<Block, "txs"> & { slashings?: readonly SlashingItem[]; header: { producer: string; height: number } },
  opts: { chainId: string; blockReward: bigint; rules: TxRules; parentValidatorsRoot?: string },
): Execution {
  const over = firstBondOverLimit(block.txs);
  if (over >= 0) throw new BlockError("BAD_TX", `transaction ${over}: TOO_MANY_BONDS: more than ${MAX_BONDS_PER_BLOCK} bonds in one block`);
  const epoch = opts.rules.registry ? epochAt(block.header.height, opts.rules.registry.epochLength) : 0;
  const accounts = parent.child();
  let fees = 0n;
  block.txs.forEach((tx, i) => {
    try {
      checkTxStateless(tx, opts.chainId, opts.rules);
      fees += applyTx(accounts, tx, opts.rules, epoch);
    } catch (e) {
      if (e instanceof TxError) throw new BlockError("BAD_TX", `transaction ${i}: ${e.code}: ${e.message}`);
      throw e;
    }
  });
  for (const c of applySlashings(block.slashings ?? [], accounts.registry, epoch, opts.rules.registry)) accounts.registry.set(c.ebid, c.after);
  const producer = accountOf(accounts, block.header.producer);
  accounts.set(block.header.producer, { balance: producer.balance + opts.blockReward + fees, nonce: producer.nonce });
  const changes = accounts.changes();
  const validators = accounts.validatorChanges();
  const state = parent.moved(changes, "redo", validators).at(block.header.height);
  const validatorsRoot = validators.length === 0 ? (opts.parentValidatorsRoot ?? parent.validatorsRoot()) : state.validatorsRoot();
  return { state, changes, validators, stateRoot: state.root(), validatorsRoot, fees };
}
