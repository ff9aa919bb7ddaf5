/**
 * Execution of a block's slashing items (docs/protocol.md §6.5, consensus): after the
 * transactions, before the reward, each item's offender loses its whole bond (burned: set to 0,
 * credited to nobody), is marked `slashed`, and exits `activation_delay_epochs` after the block's
 * epoch at the latest (never before its activation), so the pool of every epoch whose inputs are
 * settled stays as it was (§5). Whether an item is evidence at all (conflict, signatures) is
 * checked before execution by `verifySlashing` (consensus/slashing.ts).
 */
import { MAX_SLASHINGS_PER_BLOCK, slashingOffender, verifySlashing, type SlashingItem } from "../consensus/slashing.ts";
import type { ConsensusKind } from "../consensus/forkChoice.ts";
import type { ChainDomains } from "../consensus/signatures.ts";
import type { ValidatorRecord } from "../consensus/validators.ts";
import { BlockError } from "./errors.ts";
import type { RegistryView, ValidatorChange } from "./registry.ts";
import type { RegistryRules } from "./tx.ts";

/**
 * The rules on a block's slashing items that need no parent (docs/protocol.md §6.4 rule 11, §6.5):
 * at most MAX_SLASHINGS_PER_BLOCK, none on `pow` chains. Cheap: for the checks before parking.
 * @throws BlockError BAD_SLASHING
 */
export function checkSlashingsDetached(items: readonly SlashingItem[], consensus: ConsensusKind): void {
  if (items.length === 0) return;
  if (consensus === "pow") throw new BlockError("BAD_SLASHING", "slashing items are not valid on pow chains");
  if (items.length > MAX_SLASHINGS_PER_BLOCK) throw new BlockError("BAD_SLASHING", `${items.length} slashing items: at most ${MAX_SLASHINGS_PER_BLOCK} per block`);
}

/**
 * Each item is evidence (`verifySlashing`: one signer, a conflict, valid signatures), in block
 * order, on the chain of `domains` (its genesis hash, docs/protocol.md §3.3); up to two ed25519
 * verifications an item. Run with the attestations, before execution.
 * @throws BlockError BAD_SLASHING naming the item and the rule
 */
export function checkSlashings(items: readonly SlashingItem[], domains: ChainDomains): void {
  items.forEach((item, i) => {
    const r = verifySlashing(item, domains);
    if (!r.ok) throw new BlockError("BAD_SLASHING", `slashing ${i}: ${r.message}`);
  });
}

/**
 * The record of a validator slashed at `epoch`: `bond: 0`, `slashed: true`, `exit_epoch =
 * min(exit_epoch ?? ∞, max(epoch + activation_delay_epochs, activation_epoch))`.
 */
export function slashedRecord(r: ValidatorRecord, epoch: number, activationDelayEpochs: number): ValidatorRecord {
  const exit = Math.max(epoch + activationDelayEpochs, r.activation_epoch);
  return { ...r, bond: 0n, slashed: true, exit_epoch: r.exit_epoch === null ? exit : Math.min(r.exit_epoch, exit) };
}

/**
 * The record changes of a block's slashing items at block epoch `epoch`, over `registry` (the
 * records after the block's transactions; not mutated), in item order: one per item, `before` as
 * `registry` holds it. The caller writes each `after` into the block's overlay, whose changes then
 * undo and redo with the block's on a reorg, like a bond's or an unbond's.
 * @param rules the chain's registry rules; undefined on `pow` chains, where any item is invalid
 * @throws BlockError BAD_SLASHING (a `pow` chain, more than MAX_SLASHINGS_PER_BLOCK items),
 *   NOT_SLASHABLE (the offender has no record, or it is slashed, by an earlier block or an earlier
 *   item of this one), naming the item's index
 */
export function applySlashings(items: readonly SlashingItem[], registry: RegistryView, epoch: number, rules: RegistryRules | undefined): ValidatorChange[] {
  if (items.length === 0) return [];
  if (!rules) throw new BlockError("BAD_SLASHING", "slashing items are not valid on pow chains");
  if (items.length > MAX_SLASHINGS_PER_BLOCK) throw new BlockError("BAD_SLASHING", `${items.length} slashing items: at most ${MAX_SLASHINGS_PER_BLOCK} per block`);
  const done = new Map<string, number>();
  return items.map((item, i) => {
    const ebid = slashingOffender(item);
    const earlier = done.get(ebid);
    if (earlier !== undefined) throw new BlockError("NOT_SLASHABLE", `slashing ${i}: ${ebid} is already slashed by slashing ${earlier} of this block`);
    const before = registry.get(ebid);
    if (!before) throw new BlockError("NOT_SLASHABLE", `slashing ${i}: ${ebid} has no validator record`);
    if (before.slashed) throw new BlockError("NOT_SLASHABLE", `slashing ${i}: ${ebid} is already slashed`);
    done.set(ebid, i);
    return { ebid, before, after: slashedRecord(before, epoch, rules.activationDelayEpochs) };
  });
}
