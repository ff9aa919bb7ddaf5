/**
 * Bonded validators and the per-epoch pool (docs/protocol.md §5, consensus). Pure functions over
 * validator records; the chain keeps the records in its state (one per bonded EBID) and supplies
 * the branch's blocks for liveness.
 *
 * Why the pool of epoch e reads only blocks below the first height of epoch e-1 and records whose
 * activity at e is fixed two epochs ahead: the producer of a block at height m knows its own future
 * reveals, so it knows the seed of the next height. Were pool(m+1) to depend on block m's
 * attestations, it could try attestation subsets against a seed it already knows. Here every
 * input of pool(e) is fixed by the end of epoch e-2, and the seeds of epoch e depend on the
 * reveals of all of epoch e-1's producers, none of which exist yet: no choice of a block reaches
 * a seed its producer can predict.
 */
import { merkleRootOfHashes } from "./merkle.ts";
import { hashJson, toHex } from "./encoding.ts";

/** One bonded validator (docs/protocol.md §5). */
export interface ValidatorRecord {
  /** the validator's EBID (its ed25519 key: it signs blocks and attestations) */
  ebid: string;
  /** its BLS12-381 public key (96 hex), which signs its RANDAO reveals */
  bls_pubkey: string;
  /** bonded base units */
  bond: bigint;
  /** first epoch in which it is active */
  activation_epoch: number;
  /** first epoch in which it is no longer active (null: not unbonding) */
  exit_epoch: number | null;
  /** true once a slashing item against it executed (docs/protocol.md §6.5): its bond is then 0 */
  slashed: boolean;
}

/** What a validator is at an epoch (the API's `status`). */
export type ValidatorStatus = "pending" | "active" | "exiting" | "exited" | "withdrawable";

/** At most this many bond transactions in one block (each costs a BLS verification). */
export const MAX_BONDS_PER_BLOCK = 16;

/** epoch(h) = floor(h / epoch_length). */
export function epochAt(height: number, epochLength: number): number {
  return Math.floor(height / epochLength);
}

/** First height of `epoch`. */
export function epochStart(epoch: number, epochLength: number): number {
  return epoch * epochLength;
}

/** activation_epoch <= e and (exit_epoch is null or e < exit_epoch). */
export function isActive(r: ValidatorRecord, epoch: number): boolean {
  return r.activation_epoch <= epoch && (r.exit_epoch === null || epoch < r.exit_epoch);
}

/** The record's status at `epoch`; `withdrawable` from exit_epoch + unbonding_epochs on. */
export function statusAt(r: ValidatorRecord, epoch: number, unbondingEpochs: number): ValidatorStatus {
  if (epoch < r.activation_epoch) return "pending";
  if (r.exit_epoch === null) return "active";
  if (epoch < r.exit_epoch) return "exiting";
  return epoch >= r.exit_epoch + unbondingEpochs ? "withdrawable" : "exited";
}

/**
 * Item hash of a record (docs/protocol.md §3.6): H(JCS([ebid, bls_pubkey, bond as a decimal string,
 * activation_epoch, exit_epoch, slashed])).
 */
export function validatorItemHash(r: ValidatorRecord): Uint8Array {
  return hashJson([r.ebid, r.bls_pubkey, r.bond.toString(), r.activation_epoch, r.exit_epoch, r.slashed]);
}

/**
 * `validators_root`: the RFC 6962 root (docs/protocol.md §3.5) over the records' item hashes in
 * ascending EBID order; H("") for none. `itemHash` may be a cached `validatorItemHash`.
 */
export function validatorsRoot(records: Iterable<ValidatorRecord>, itemHash: (r: ValidatorRecord) => Uint8Array = validatorItemHash): string {
  const sorted = [...records].sort((a, b) => (a.ebid < b.ebid ? -1 : a.ebid > b.ebid ? 1 : 0));
  return toHex(merkleRootOfHashes(sorted.map(itemHash)));
}

/**
 * The heights whose producers and attesters are live for the pool of `epoch`: the `poolWindow`
 * blocks below the first height S of epoch - 1, genesis excluded: [max(1, S - poolWindow), S - 1].
 * Empty (from > to) for epochs 0 and 1.
 */
export function livenessWindow(epoch: number, epochLength: number, poolWindow: number): { from: number; to: number } {
  const s = (epoch - 1) * epochLength;
  return { from: Math.max(1, s - poolWindow), to: s - 1 };
}

/**
 * The heights of the finality floor L(e) (docs/protocol.md §5): the `poolWindow` blocks up to the
 * finalized checkpoint at height `finalized` of the epoch's anchor, genesis excluded:
 * [max(1, finalized - poolWindow), finalized]. Empty (from > to) for `finalized = 0`, where the
 * floor is the genesis validators instead.
 */
export function finalityFloorWindow(finalized: number, poolWindow: number): { from: number; to: number } {
  return { from: Math.max(1, finalized - poolWindow), to: finalized === 0 ? 0 : finalized };
}

/**
 * pool(e) (docs/protocol.md §5): the EBIDs, ascending, of the records active at `epoch` and not
 * `slashed` that are live (produced or attested in the liveness window, `live`), or were activated
 * at epoch - 1 or later (a validator gets its first epochs to prove itself; genesis validators are
 * activated at 0, so they make the pool of epochs 0 and 1), or are in the finality floor `floor`
 * (L(e): live at the anchor's finalized checkpoint, or the genesis validators while it is genesis).
 */
export function poolForEpoch(epoch: number, records: Iterable<ValidatorRecord>, live: ReadonlySet<string>, floor: ReadonlySet<string> = new Set()): string[] {
  const out: string[] = [];
  for (const r of records) {
    if (!isActive(r, epoch) || r.slashed) continue;
    if (r.activation_epoch >= epoch - 1 || live.has(r.ebid) || floor.has(r.ebid)) out.push(r.ebid);
  }
  return [...new Set(out)].sort();
}

/** Read access to the validator records of one state (the head's, or a block's on any branch). */
export interface RegistryReader {
  get(ebid: string): ValidatorRecord | undefined;
  /** every record, ascending by EBID */
  all(): ValidatorRecord[];
  readonly size: number;
}

/** The EBIDs of the records active at `epoch`, ascending. */
export function activeAt(registry: RegistryReader, epoch: number): string[] {
  return registry.all().filter((r) => isActive(r, epoch)).map((r) => r.ebid);
}
