/**
 * Block templates: an unsigned header on a parent with the mempool's transfers and the pooled
 * attestations (docs/protocol.md §3, §5, §6 and §8). Used by the Proof-of-Sync producer, the PoW
 * miner and the chain-core mining API's `POST /mine_block`.
 */
import type { Logger } from "pino";
import type { Chain } from "../chain/chain.ts";
import type { Execution } from "../chain/execute.ts";
import type { AttestationPool } from "../chain/attestationPool.ts";
import type { Mempool } from "../chain/mempool.ts";
import type { BlockMeta } from "../storage/records.ts";
import type { Attestation, Header, SlashingItem, Tx } from "../consensus/types.ts";
import type { EvidencePool } from "../node/evidencePool.ts";
import { slotOpensAt } from "../consensus/timing.ts";
import { draftHeader } from "./blockBuilder.ts";
import { attestationAncestorsFrom, ffgVoteFault, mustReveal } from "../chain/validation.ts";
import { finalityRoot } from "../consensus/finality.ts";
import { slashingOffender } from "../consensus/slashing.ts";
import { blsPublicKeyHex, blsSignHex } from "../consensus/bls.ts";
import { revealMessage } from "../consensus/randao.ts";

/** Where a template's contents come from. */
export interface TemplateModules {
  chain: Chain;
  attestations: AttestationPool;
  mempool: Mempool;
  log: Logger;
  /** the node's evidence pool (docs/protocol.md §6.5): its items whose offender is slashable go in the block; none when absent */
  evidence?: Pick<EvidencePool, "pending">;
}

/** A header ready to seal (nonce 0, unsigned) with its body. */
export interface BlockTemplate {
  header: Header;
  txs: Tx[];
  attestations: Attestation[];
  slashings: SlashingItem[];
}

/** When and how hard a PoW block on `parent` may be mined. Times in ms since the epoch. */
export interface PowPlan {
  /** earliest valid timestamp */
  opensAt: number;
  difficulty: number;
  /** Proof-of-Sync fallback (slot null after every slot, docs/protocol.md §6) or a `pow` chain block */
  kind: "fallback" | "pow";
  /** winners scheduled for the height (empty on `pow` chains and for an empty pool) */
  winners: string[];
  /** the height's mining seed (fallback jitter); absent on `pow` chains */
  seed?: Uint8Array;
  /** whether the block must carry its producer's RANDAO reveal (docs/protocol.md §6.4): an active validator exists */
  mustReveal: boolean;
}

/**
 * The PoW plan for the child of `parent`: on `pow` chains the expected difficulty (raised by
 * `minDifficulty` when higher) from parent.timestamp + 1; on Proof-of-Sync chains the fallback at
 * `fallback_difficulty` from T(len(winners)), or T(0) for an empty pool.
 */
export async function powPlan(chain: Chain, parent: BlockMeta, minDifficulty = 0): Promise<PowPlan> {
  const p = chain.spec.params;
  if (chain.spec.consensus === "pow") {
    const expected = await chain.expectedDifficultyFor(parent);
    return { opensAt: parent.timestamp + 1, difficulty: Math.max(expected, minDifficulty), kind: "pow", winners: [], mustReveal: false };
  }
  const schedule = await chain.scheduleFor(parent);
  const { winners, seed } = schedule;
  return { opensAt: slotOpensAt(parent.timestamp, winners.length, p), difficulty: Math.max(p.fallback_difficulty, minDifficulty), kind: "fallback", winners, seed, mustReveal: mustReveal(chain.spec, schedule) };
}

/**
 * Builds a template on `parent` for `producer`: the mempool's best executable transfers (none if
 * they fail to execute), attestations for the branch, the evidence pool's slashing items, the resulting state and validators roots,
 * and the RANDAO reveal (docs/protocol.md §6.4): signed with `blsSecretKey` over
 * revealMessage(chain_id, n) when the block must reveal and the key is given; "" otherwise (the
 * chain-core API's templates: the miner fills in its reveal and the mix before hashing).
 * @param timestamp ms; the caller keeps it at or after the slot's or plan's opening
 * @param blsSecretKey the producer's BLS secret key (32 bytes)
 */
export async function buildTemplate(
  m: TemplateModules,
  parent: BlockMeta,
  fields: { producer: string; slot: number | null; timestamp: number; difficulty: number },
  blsSecretKey?: Uint8Array,
): Promise<BlockTemplate> {
  const { chain } = m;
  const p = chain.spec.params;
  const height = parent.height + 1;
  const ancestors = await chain.branchHashes(parent, attestationAncestorsFrom(height, p.attestation_max_age, p.checkpoint_interval));
  let txs: Tx[] = m.mempool.select(p.max_block_txs, await chain.stateAt(parent, m.mempool.addresses()), chain.txRules);
  // Evidence whose offender is slashable after the parent, except an offender withdrawing in this
  // very block: its record is gone after the transactions (NOT_SLASHABLE, docs/protocol.md §6.5).
  const withdrawing = new Set(txs.filter((t) => "kind" in t && t.kind === "withdraw").map((t) => t.from));
  let slashings: SlashingItem[] = m.evidence && chain.spec.consensus !== "pow" ? m.evidence.pending(await chain.registryAfter(parent)).filter((i) => !withdrawing.has(slashingOffender(i))) : [];
  let exec: Execution;
  try {
    exec = await chain.previewState(parent, fields.producer, txs, slashings);
  } catch (e) {
    // The mempool only offers executable transfers and the pool slashable offenders; if something still fails, produce without them.
    m.log.warn({ err: (e as Error).message }, "Mempool selection or evidence did not execute; building an empty block");
    txs = [];
    slashings = [];
    exec = await chain.previewState(parent, fields.producer, txs);
  }
  const stateRoot = exec.stateRoot;
  const validatorsRoot = exec.validatorsRoot;
  // Only validators active at the epoch may attest in a block, and only with an FFG vote valid on
  // this branch (docs/protocol.md §5): whatever the pool holds, the template carries no other, so
  // the producer's own block is never BAD_ATTESTATION. Selection filters by this branch's set (not
  // the pool's last-set one), so none of the 128 places goes to an attestation dropped afterwards.
  const schedule = await chain.scheduleFor(parent);
  const active = new Set(schedule.active);
  const parentFinality = await chain.finalityOf(parent.hash);
  if (!parentFinality) throw new Error(`no finality state for the parent ${parent.hash}`);
  const justifiedRecent = parentFinality.justified_recent;
  const attestations = m.attestations.select(
    height,
    ancestors,
    p.attestation_max_age,
    (ebid) => active.has(ebid),
    (a) => ffgVoteFault(a, p.checkpoint_interval, ancestors, justifiedRecent) === undefined,
  );
  const finality = await chain.previewFinality(parent, attestations);
  let randaoReveal = "";
  if (blsSecretKey && mustReveal(chain.spec, schedule)) {
    // A reveal under another key than the record's is BAD_REVEAL on every node (a key file replaced
    // after bonding): refuse here rather than hand the producer, or the miner after its PoW, such a block.
    const own = blsPublicKeyHex(blsSecretKey);
    const bonded = schedule.registry.get(fields.producer)?.bls_pubkey;
    if (bonded !== undefined && bonded !== own) {
      throw new Error(`this node's BLS key ${own.slice(0, 16)}… is not the one the validator record of ${fields.producer.slice(0, 12)}… holds (${bonded.slice(0, 16)}…): its RANDAO reveals would be refused; start with the key file it bonded with`);
    }
    randaoReveal = blsSignHex(blsSecretKey, revealMessage(chain.spec.chain_id, height));
  }
  const header = draftHeader({ parent, ...fields, attestations, txs, slashings, stateRoot, validatorsRoot, finalityRoot: finalityRoot(finality), randaoReveal, nonce: 0 });
  return { header, txs, attestations, slashings };
}
