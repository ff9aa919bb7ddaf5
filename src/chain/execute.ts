/**
 * Block execution (docs/protocol.md §6.5; `state_root` §3.6): the block's transfers in order, then
 * `block_reward` plus every fee to the producer. Pure: works on a copy of the parent's accounts.
 */
import type { Block } from "../consensus/types.ts";
import { BlockError } from "./errors.ts";
import { TxError, accountOf, applyTx, checkTxStateless } from "./tx.ts";
import { diffAccounts, stateRoot, type Account, type AccountChange } from "./state.ts";

/** What a block did to the state. */
export interface Execution {
  accounts: Map<string, Account>;
  changes: AccountChange[];
  stateRoot: string;
  fees: bigint;
}

/**
 * Executes transfers and the reward on `parentAccounts` (not mutated).
 * @throws BlockError BAD_TX naming the transaction and the rule it broke
 */
export function executeBlock(
  parentAccounts: ReadonlyMap<string, Account>,
  block: Pick<Block, "txs"> & { header: { producer: string } },
  opts: { chainId: string; blockReward: bigint },
): Execution {
  const accounts = new Map(parentAccounts);
  let fees = 0n;
  block.txs.forEach((tx, i) => {
    try {
      checkTxStateless(tx, opts.chainId);
      fees += applyTx(accounts, tx);
    } catch (e) {
      if (e instanceof TxError) throw new BlockError("BAD_TX", `transaction ${i}: ${e.code}: ${e.message}`);
      throw e;
    }
  });
  const producer = accountOf(accounts, block.header.producer);
  accounts.set(block.header.producer, { balance: producer.balance + opts.blockReward + fees, nonce: producer.nonce });
  const touched = [block.header.producer, ...block.txs.flatMap((t) => [t.from, t.to])];
  return { accounts, changes: diffAccounts(parentAccounts, accounts, touched), stateRoot: stateRoot(accounts), fees };
}
