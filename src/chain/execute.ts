/**
 * Block execution (docs/protocol.md §6.5; `state_root` §3.6): the block's transfers in order, then
 * `block_reward` plus every fee to the producer. Pure: writes into an overlay of the parent's
 * state, never into the parent's and never copying it, so a block costs O(touched accounts x log N).
 */
import type { Block } from "../consensus/types.ts";
import { BlockError } from "./errors.ts";
import { TxError, accountOf, applyTx, checkTxStateless, type TxRules } from "./tx.ts";
import type { AccountChange, StateView } from "./state.ts";

/** What a block did to the state. */
export interface Execution {
  /** the state after the block */
  state: StateView;
  changes: AccountChange[];
  stateRoot: string;
  fees: bigint;
}

/**
 * Executes transfers and the reward on `parent` (not mutated).
 * @throws BlockError BAD_TX naming the transaction and the rule it broke
 */
export function executeBlock(
  parent: StateView,
  block: Pick<Block, "txs"> & { header: { producer: string } },
  opts: { chainId: string; blockReward: bigint; rules: TxRules },
): Execution {
  const accounts = parent.child();
  let fees = 0n;
  block.txs.forEach((tx, i) => {
    try {
      checkTxStateless(tx, opts.chainId, opts.rules);
      fees += applyTx(accounts, tx, opts.rules);
    } catch (e) {
      if (e instanceof TxError) throw new BlockError("BAD_TX", `transaction ${i}: ${e.code}: ${e.message}`);
      throw e;
    }
  });
  const producer = accountOf(accounts, block.header.producer);
  accounts.set(block.header.producer, { balance: producer.balance + opts.blockReward + fees, nonce: producer.nonce });
  const changes = accounts.changes();
  const state = parent.moved(changes, "redo");
  return { state, changes, stateRoot: state.root(), fees };
}
