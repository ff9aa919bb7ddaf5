/**
 * Checkpoint sync (docs/protocol.md §9.7): a node starts from a finalized checkpoint's state instead
 * of replaying the chain from genesis. This module holds the three pure-ish parts of it:
 *
 * - the window: which blocks below the checkpoint a node needs to go on as if it had replayed
 *   (`checkpointWindowFrom`): the pool of the next epoch reads its anchor's records, liveness window
 *   and finality floor, and the finality tallies open at the checkpoint read the records after their
 *   targets' anchors;
 * - the verification of a `/data/state_at` reply (`verifyCheckpointState`): the checkpoint block,
 *   the window's headers by their parent links, each block's body against its header's `tx_root`,
 *   `attestations_root` and `slashings_root`, each block's finality state against its header's
 *   `finality_root`, the accounts and validator records against the checkpoint's `state_root` and
 *   `validators_root`, and every block's account changes by undoing them one by one down the window
 *   against each parent header's roots;
 * - the writes that make a verified state the chain's base in an empty store (`checkpointBaseWrites`).
 *
 * Units: heights in blocks, weights as decimal strings (bigints in memory). Nothing here trusts the
 * serving peer: every value written is checked against a header root or a parent link, but the
 * checkpoint block's `total_weight` (not committed in any header), which is bounded instead.
 */
import { z } from "zod";
import type { Block } from "../consensus/types.ts";
import { blockHash } from "../consensus/hashing.ts";
import { merkleRootOfItems } from "../consensus/merkle.ts";
import { toHex } from "../consensus/encoding.ts";
import { slashingsRoot } from "../consensus/slashing.ts";
import { blockWeight } from "../consensus/forkChoice.ts";
import { checkpointHeight, finalityRoot, genesisFinality, type Checkpoint, type FinalityState } from "../consensus/finality.ts";
import { epochAt, livenessWindow } from "../consensus/validators.ts";
import type { ChainParams } from "../consensus/params.ts";
import { blockSchema, decimalAmount, formatZodError, hex32, hexBlsPubkey, uint } from "../consensus/wire.ts";
import type { BlockMeta, ChainWrite, StoredBlockChanges, StoredCheckpointBase, StoredHeadAccount, StoredValidatorRecord } from "../storage/records.ts";
import { genesisBlock, type ChainSpec } from "./spec.ts";
import { StateTree, leafHash } from "./stateTree.ts";
import { StateView, accountItemHash, decodeChanges, type IndexedAccount, type StateBase } from "./state.ts";
import { HeadRegistry, decodeRecord, decodeValidatorChanges, sameRecord } from "./registry.ts";
import { txHash } from "./tx.ts";

/** Most blocks a `/data/state_at` window may hold (node policy): a client refuses a longer one. */
export const MAX_CHECKPOINT_WINDOW = 16_384;

/** What a node started from a checkpoint keeps about it (`cb` in the store): the checkpoint and the lowest height held above genesis. */
export type CheckpointBase = StoredCheckpointBase;

/**
 * The lowest height of the window below the checkpoint at `height` a node needs (docs/protocol.md
 * §9.7), 1 at least (genesis is always held): the liveness window of the pool of epoch e =
 * epochAt(height + 1) (its anchor, the last block of epoch e-2, and the `pool_window` blocks below
 * it), the anchors of the epochs of the targets the finality tallies may still count at the
 * checkpoint (down to the previous interval's checkpoint), and the finality floor of epoch e's
 * anchor (`pool_window` blocks up to that anchor's finalized height `anchorFinalized`). Later
 * epochs' anchors and floors are higher (finalized heights only grow along a branch), so the window
 * covers every read of the blocks above the checkpoint.
 * @param anchorFinalized `F(anchor(e)).finalized.height`, 0 when the anchor is genesis
 */
export function checkpointWindowFrom(height: number, p: Pick<ChainParams, "epoch_length" | "pool_window" | "checkpoint_interval">, anchorFinalized: number): number {
  const L = p.epoch_length;
  const live = livenessWindow(epochAt(height + 1, L), L, p.pool_window);
  const oldestTarget = Math.max(0, checkpointHeight(height + 1, p.checkpoint_interval) - p.checkpoint_interval);
  const targetAnchor = Math.max(0, livenessWindow(epochAt(oldestTarget, L), L, p.pool_window).to);
  let from = Math.min(live.from, Math.max(0, live.to), targetAnchor);
  if (anchorFinalized > 0) from = Math.min(from, anchorFinalized - p.pool_window);
  return Math.max(1, from);
}

/** The height of epoch epochAt(height + 1)'s anchor (docs/protocol.md §5), 0 for genesis. */
export function checkpointAnchorHeight(height: number, p: Pick<ChainParams, "epoch_length" | "pool_window">): number {
  return Math.max(0, livenessWindow(epochAt(height + 1, p.epoch_length), p.epoch_length, p.pool_window).to);
}

/** A refused checkpoint state: the serving peer sent something that does not verify. */
export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CheckpointError";
  }
}

const checkpointSchema = z.object({ height: uint, hash: hex32 }).strict();
const tallySchema = z.object({ source_height: uint, source_hash: hex32, target_height: uint, target_hash: hex32, voters: z.string().regex(/^([0-9a-f]{2})*$/) }).strict();
/** The finality state F (docs/protocol.md §5a) as it travels in a `/data/state_at` reply. */
export const finalityStateSchema = z
  .object({ justified: checkpointSchema, finalized: checkpointSchema, justified_recent: z.array(checkpointSchema).max(16), votes: z.array(tallySchema).max(64) })
  .strict();
const storedAccount = z.tuple([decimalAmount, uint]);
const storedRecordSchema = z
  .object({ ebid: hex32, bls_pubkey: hexBlsPubkey, bond: decimalAmount, activation_epoch: uint, exit_epoch: uint.nullable(), slashed: z.boolean() })
  .strict();
/** A block's stored changes record (`d!`, storage/records.ts) as it travels in a `/data/state_at` reply. */
export const blockChangesSchema = z
  .object({
    producer: hex32,
    earned: decimalAmount,
    changes: z.array(z.object({ address: hex32, index: uint, before: storedAccount.nullable(), after: storedAccount }).strict()),
    validators: z.array(z.object({ ebid: hex32, before: storedRecordSchema.nullable(), after: storedRecordSchema.nullable() }).strict()),
  })
  .strict();

/** One block of the window: the block, the finality state after it, its changes record (null where none is sent). */
export interface StateAtBlock {
  block: Block;
  finality: FinalityState;
  changes: StoredBlockChanges | null;
}

/** One page of a `/data/state_at` reply (docs/protocol.md §9.7). */
export interface StateAtPage {
  checkpoint: Checkpoint;
  window_from: number;
  /** the checkpoint block's cumulative fork-choice weight, decimal string */
  total_weight: string;
  blocks: StateAtBlock[];
  /** accounts at the checkpoint: [address, balance (decimal), nonce, leaf index], ascending by address */
  accounts: StoredHeadAccountRow[];
  /** validator records at the checkpoint, ascending by EBID */
  validators: StoredValidatorRecord[];
  /** what to ask for next; null on the last page */
  next_cursor: string | null;
}

/** An account row: [address, balance as a decimal string, nonce, leaf index]. */
export type StoredHeadAccountRow = [string, string, number, number];

/** Parses one page of a reply. @throws CheckpointError naming the fault */
export const stateAtPageSchema = z
  .object({
    checkpoint: checkpointSchema,
    window_from: uint,
    total_weight: z.string().regex(/^[0-9]{1,80}$/),
    blocks: z.array(z.object({ block: blockSchema, finality: finalityStateSchema, changes: blockChangesSchema.nullable() }).strict()),
    accounts: z.array(z.tuple([hex32, decimalAmount, uint, uint])),
    validators: z.array(storedRecordSchema),
    next_cursor: z.string().max(80).nullable(),
  })
  .strict();

/** Parses one page. @throws CheckpointError when it does not fit the schema */
export function parseStateAtPage(data: unknown): StateAtPage {
  const r = stateAtPageSchema.safeParse(data);
  if (!r.success) throw new CheckpointError(`malformed state_at page: ${formatZodError(r.error)}`);
  return r.data as unknown as StateAtPage;
}

/** The pages of one peer's reply, joined: a page's fields without its cursor. */
export type CheckpointState = Omit<StateAtPage, "next_cursor">;

/** A checkpoint state that verified: what `checkpointBaseWrites` writes. */
export interface VerifiedCheckpoint extends CheckpointState {
  /** the cumulative weight of each window block, in `blocks` order */
  weights: bigint[];
}

/**
 * Verifies a checkpoint state (docs/protocol.md §9.7) for `checkpoint` on the chain of `spec`.
 * Cost: O(window blocks + accounts) hashes, plus O(changes x log accounts) for the undo walk.
 * @throws CheckpointError naming the first fault (the caller strikes the peer that sent it)
 */
export async function verifyCheckpointState(spec: ChainSpec, checkpoint: Checkpoint, s: CheckpointState): Promise<VerifiedCheckpoint> {
  const p = spec.params;
  const genesis = genesisBlock(spec);
  const fail = (m: string): never => {
    throw new CheckpointError(m);
  };
  if (s.checkpoint.height !== checkpoint.height || s.checkpoint.hash !== checkpoint.hash) fail(`the reply is for checkpoint ${s.checkpoint.height}:${s.checkpoint.hash}, not the one asked for`);
  const n = s.blocks.length;
  if (n === 0) fail("the reply holds no blocks");
  if (n > MAX_CHECKPOINT_WINDOW) fail(`the window holds ${n} blocks, more than ${MAX_CHECKPOINT_WINDOW}`);
  if (s.window_from < 1 || s.window_from + n - 1 !== checkpoint.height) fail(`the window's ${n} blocks from height ${s.window_from} do not end at the checkpoint height ${checkpoint.height}`);
  // Headers: heights, hashes, parent links, the checkpoint at the top; finality states by their roots.
  for (let i = 0; i < n; i++) {
    const { block, finality } = s.blocks[i]!;
    const h = block.header;
    if (h.height !== s.window_from + i) fail(`window block ${i} is at height ${h.height}, not ${s.window_from + i}`);
    if (blockHash(h) !== block.hash) fail(`block at height ${h.height}: hash does not match the header`);
    const parent = i === 0 ? (h.height === 1 ? genesis.hash : undefined) : s.blocks[i - 1]!.block.hash;
    if (parent !== undefined && h.parent_hash !== parent) fail(`block at height ${h.height} does not link to the block below it`);
    if (finalityRoot(finality) !== h.finality_root) fail(`finality state of the block at height ${h.height} does not match its finality_root`);
    // The body is stored as this block's (its attesters feed the pools' liveness, the API and sync serve it): the header's roots commit to it.
    if (toHex(merkleRootOfItems(block.txs)) !== h.tx_root) fail(`block at height ${h.height}: transactions do not match its tx_root`);
    if (toHex(merkleRootOfItems(block.attestations)) !== h.attestations_root) fail(`block at height ${h.height}: attestations do not match its attestations_root`);
    if (slashingsRoot(block.slashings) !== h.slashings_root) fail(`block at height ${h.height}: slashings do not match its slashings_root`);
  }
  const top = s.blocks[n - 1]!.block;
  if (top.hash !== checkpoint.hash) fail(`the block at height ${checkpoint.height} is ${top.hash}, not the checkpoint`);
  // The window is long enough for everything the blocks above the checkpoint read.
  const anchorHeight = checkpointAnchorHeight(checkpoint.height, p);
  if (anchorHeight > 0 && anchorHeight < s.window_from) fail(`the window starts at ${s.window_from}, above the next epoch's anchor at ${anchorHeight}`);
  const anchorFinalized = anchorHeight === 0 ? 0 : s.blocks[anchorHeight - s.window_from]!.finality.finalized.height;
  const needed = checkpointWindowFrom(checkpoint.height, p, anchorFinalized);
  if (s.window_from > needed) fail(`the window starts at ${s.window_from}; the blocks above the checkpoint read down to ${needed}`);
  // Accounts against state_root; records against validators_root.
  const accounts = new Map<string, IndexedAccount>();
  const leaves: Uint8Array[] = [];
  let prev = "";
  for (const [address, balance, nonce, index] of s.accounts) {
    if (address <= prev) fail("accounts are not in ascending address order without repeats");
    prev = address;
    if (index >= s.accounts.length || leaves[index]) fail(`account ${address}: leaf index ${index} repeated or past the account count`);
    const a = { balance: BigInt(balance), nonce, index };
    accounts.set(address, a);
    leaves[index] = leafHash(accountItemHash(address, a));
  }
  const tree = StateTree.from(leaves);
  if (toHexRoot(tree) !== top.header.state_root) fail("accounts do not match the checkpoint's state_root");
  let prevEbid = "";
  for (const r of s.validators) {
    if (r.ebid <= prevEbid) fail("validator records are not in ascending EBID order without repeats");
    prevEbid = r.ebid;
  }
  const registry = HeadRegistry.from(s.validators.map(decodeRecord));
  if (registry.root !== top.header.validators_root) fail("validator records do not match the checkpoint's validators_root");
  // Changes records: undo each block's, from the checkpoint down, against its parent's header roots.
  const base: StateBase = {
    size: tree.size,
    tree,
    version: 0,
    registry,
    load: async (addresses) => new Map([...addresses].map((a) => [a, accounts.get(a)])),
  };
  let view = StateView.head(base);
  for (let i = n - 1; i >= 0; i--) {
    const { block, changes } = s.blocks[i]!;
    const parentHeader = i > 0 ? s.blocks[i - 1]!.block.header : block.header.height === 1 ? genesis.header : undefined;
    if (!parentHeader) {
      if (changes !== null) fail(`the window's first block (height ${block.header.height}) carries changes it cannot be checked against`);
      continue;
    }
    if (!changes) fail(`block at height ${block.header.height} has no changes record`);
    if (changes!.producer !== block.header.producer) fail(`changes record of the block at height ${block.header.height} names another producer`);
    const ch = decodeChanges(changes!.changes);
    const vch = decodeValidatorChanges(changes!.validators);
    // As execution records them (BlockOverlay.changes): each account once, only accounts the block
    // changed; else a no-op entry would pass the undo and stand in the stored history.
    const named = new Set<string>();
    for (const c of ch) {
      if (named.has(c.address)) fail(`changes record of the block at height ${block.header.height} names account ${c.address} twice`);
      named.add(c.address);
      if (c.before && c.before.balance === c.after.balance && c.before.nonce === c.after.nonce) fail(`changes record of the block at height ${block.header.height} names account ${c.address} unchanged`);
    }
    view = await view.withAccounts(ch.map((c) => c.address));
    for (const c of ch) {
      const cur = view.get(c.address);
      if (!cur || cur.index !== c.index || cur.balance !== c.after.balance || cur.nonce !== c.after.nonce) fail(`changes record of the block at height ${block.header.height}: account ${c.address} is not as it says after the block`);
    }
    for (const v of vch) if (!sameRecord(view.registry.get(v.ebid), v.after)) fail(`changes record of the block at height ${block.header.height}: record ${v.ebid} is not as it says after the block`);
    view = view.moved(ch, "undo", vch);
    if (view.root() !== parentHeader.state_root || view.validatorsRoot() !== parentHeader.validators_root) {
      fail(`changes record of the block at height ${block.header.height} does not lead to its parent's state_root and validators_root`);
    }
  }
  // Weights: the checkpoint's, then each block's parent's; every block weighs 1 or 2 (docs/protocol.md §7).
  const weights: bigint[] = new Array<bigint>(n);
  let w = BigInt(s.total_weight);
  for (let i = n - 1; i >= 0; i--) {
    weights[i] = w;
    const h = s.blocks[i]!.block.header;
    w -= blockWeight(h.slot, h.difficulty, h.height, spec.consensus);
  }
  const below = BigInt(s.window_from - 1);
  if (w < below || (spec.consensus !== "pow" && w > 2n * below)) fail(`total_weight ${s.total_weight} cannot be the weight of a chain of ${checkpoint.height} blocks`);
  return { ...s, weights };
}

function toHexRoot(tree: StateTree): string {
  return Buffer.from(tree.root()).toString("hex");
}

/**
 * The writes that make a verified checkpoint state the base of an empty store: genesis (its block,
 * metadata and finality state, not its accounts), the window's blocks, metadata (canonical, never
 * seen live), finality states and changes records, the accounts and validator records at the
 * checkpoint, the checkpoint as head and as the store's finalized and justified checkpoint, and the
 * base record `cb`. One batch: a crash leaves an empty store or a whole base.
 */
export function checkpointBaseWrites(spec: ChainSpec, v: VerifiedCheckpoint): ChainWrite[] {
  const genesis = genesisBlock(spec);
  const meta = (b: Block, weight: bigint): BlockMeta => ({
    hash: b.hash,
    height: b.header.height,
    parent_hash: b.header.parent_hash,
    timestamp: b.header.timestamp,
    producer: b.header.producer,
    slot: b.header.slot,
    difficulty: b.header.difficulty,
    state_root: b.header.state_root,
    mix: b.header.mix,
    attesters: b.attestations.map((a) => a.ebid),
    total_weight: weight.toString(),
    is_canonical: true,
    is_orphaned: false,
    seen_at: null,
    orphaned_at: null,
    orphan_reason: null,
    competing_hash: null,
  });
  const writes: ChainWrite[] = [
    { kind: "block", block: genesis },
    { kind: "meta", meta: meta(genesis, 0n) },
    { kind: "canonical", height: 0, hash: genesis.hash },
    { kind: "finality", hash: genesis.hash, state: genesisFinality(genesis.hash) },
  ];
  v.blocks.forEach(({ block, finality, changes }, i) => {
    writes.push(
      { kind: "block", block },
      { kind: "meta", meta: meta(block, v.weights[i]!) },
      { kind: "canonical", height: block.header.height, hash: block.hash },
      { kind: "finality", hash: block.hash, state: finality },
      ...block.txs.map((tx) => ({ kind: "txIndex" as const, txHash: txHash(tx), blockHash: block.hash })),
    );
    if (changes) writes.push({ kind: "changes", hash: block.hash, record: changes });
  });
  for (const [address, balance, nonce, index] of v.accounts) writes.push({ kind: "account", address, account: [balance, nonce, index] as StoredHeadAccount });
  for (const r of v.validators) writes.push({ kind: "validator", ebid: r.ebid, record: r });
  const cp = { ...v.checkpoint };
  writes.push(
    { kind: "head", hash: cp.hash },
    { kind: "forkChoice", checkpoints: { finalized: { ...cp }, justified: { ...cp } } },
    { kind: "checkpointBase", base: { checkpoint: cp, window_from: v.window_from } },
    { kind: "genesisHash", hash: genesis.hash },
  );
  return writes;
}

/**
 * Parses `HEIGHT:HASH` (the `--checkpoint` flag): a positive height and 64 hex (lowercased).
 * @returns the checkpoint, or a message saying what was expected
 */
export function parseCheckpoint(v: string): Checkpoint | string {
  const m = /^([0-9]{1,15}):([0-9a-fA-F]{64})$/.exec(v.trim());
  if (!m) return "expected HEIGHT:HASH (a block height, a colon, 64 hex digits)";
  const height = Number(m[1]);
  if (height < 1) return "the checkpoint height must be 1 or more (height 0 is genesis: start without --checkpoint)";
  return { height, hash: m[2]!.toLowerCase() };
}
