/**
 * Equivocating adversaries of the simulator, driven by the simulation driver
 * (sim/driver.ts) and drawn from the run's seed:
 *
 * - **double-block** (an equivocating producer): each block a member produces is also signed a
 *   second time with its header's `timestamp` one ms later (the same height, parent, slot and body:
 *   a different block hash, equally valid), and the member sends the first block to its peers of
 *   even node index and the second to those of odd index. Honest nodes that hold both record the
 *   equivocation (docs/protocol.md §6.4), their evidence pool makes it a `blocks` slashing item and
 *   the next producer that holds it includes it (§6.5); fork choice picks one of the two by the
 *   lower hash (§7, equal weight and height).
 * - **double-vote** (an equivocating attester): each FFG vote a member signs for a target above
 *   genesis is also signed with a conflicting one: the same height and target height, but a head
 *   and target hash of a fork the member invents (`forkHash`), a double vote by §6.5's first rule
 *   (one target height, different target hash). The first goes to the peers of even index, the
 *   second to those of odd index; honest nodes that see both make a `votes` slashing item (§6.5, the
 *   evidence pool's `noteVote`). The conflicting vote names no block of the chain, so no block can
 *   carry it and it counts in no tally: what is measured is that the evidence lands.
 *
 * The node code stays honest: `Equivocation.rewrite` is a hook on a member's outgoing frames
 * (sim/hookedTransport.ts) that swaps the member's own block or vote for its signed twin on the way
 * to half of its peers; the twin is signed with the member's key (its `SimKey`) by the project's
 * own functions (`sealBlock`, `sign` under the chain's `vision-attest-v3` domain), so it is exactly
 * what a modified node would send. Relays by other nodes are untouched (a member's relay of someone
 * else's block or vote passes as it is).
 *
 * Members are never a bootnode (nodes 0 and 1), nor a member of another adversary.
 */
import { createHash } from "node:crypto";
import type { Rng } from "../util/clock.ts";
import type { Attestation, Block } from "../consensus/types.ts";
import { sign, type ChainDomains } from "../consensus/signatures.ts";
import { sealBlock } from "../producer/blockBuilder.ts";
import { encodeLine } from "../p2p/framing.ts";
import type { Chain } from "../chain/chain.ts";
import { fractionOf, pickIndices } from "./adversary.ts";

/** The two equivocating adversaries, by the name the report gives them. */
export type EquivocationKind = "double-block" | "double-vote";

/** The nodes never picked: the bootnodes. */
const FIRST_PICKABLE = 2;
/** Twins remembered per adversary (a member re-sends its block or vote: iwant answers, relays). */
const MAX_TWINS = 4096;

/**
 * The members of an equivocating adversary: `round(fraction x validators)` of the validators
 * 2..validators-1 outside `exclude` (the members of the other adversaries), in ascending order.
 * @throws RangeError when the fraction is outside [0, 1] or there are not enough validators left
 */
export function equivocatorPlan(rng: Rng, validators: number, fraction: number, kind: EquivocationKind, exclude: readonly number[] = []): number[] {
  const k = fractionOf(fraction, validators, kind);
  const skip = new Set(exclude);
  const pool: number[] = [];
  for (let i = FIRST_PICKABLE; i < validators; i++) if (!skip.has(i)) pool.push(i);
  if (k > pool.length) throw new RangeError(`${kind} ${fraction} of ${validators} validators needs ${k}, only ${pool.length} are neither a bootnode nor another adversary's`);
  return pickIndices(rng, 0, pool.length, k).map((j) => pool[j]!);
}

/** The hash a double voter gives the fork it invents in place of `hash` (64 hex; no block has it). */
export function forkHash(hash: string): string {
  return createHash("sha256").update(`vision-sim-fork:${hash}`).digest("hex");
}

/**
 * The second block of an equivocating producer: `block`'s header with `timestamp + 1` ms, signed
 * with `secretKey` for the chain of `genesisHash` (the body is the same). Valid wherever `block` is,
 * with another hash.
 */
export function twinBlock(block: Block, secretKey: Uint8Array, genesisHash: string): Block {
  return sealBlock({ ...block.header, timestamp: block.header.timestamp + 1 }, block, secretKey, genesisHash);
}

/**
 * The conflicting vote of a double voter: `a` with its head and target hashes replaced by
 * `forkHash` of them (same heights, same source), signed with `secretKey` under the chain's attest
 * domain. With `a` it is a double vote (docs/protocol.md §6.5: one target height, another target hash).
 */
export function twinVote(a: Attestation, secretKey: Uint8Array, domains: ChainDomains): Attestation {
  const body = {
    ebid: a.ebid, height: a.height, block_hash: forkHash(a.block_hash),
    source_height: a.source_height, source_hash: a.source_hash, target_height: a.target_height, target_hash: forkHash(a.target_hash),
  };
  return { ...body, sig: sign(domains.attest, body, secretKey) };
}

/** One slashing of a member, as the chain a node holds carries it. */
export interface Slashing {
  node: number;
  /** the height of the canonical block that carries the slashing item */
  height: number;
  /** that block's hash */
  hash: string;
  kind: "blocks" | "votes";
}

/** An equivocating adversary's counters and what the chain did about it. */
export interface EquivocationStats {
  kind: EquivocationKind;
  members: number[];
  /** blocks (double-block) or votes (double-vote) the members signed twice */
  twinned: number;
  /** frames that carried a twin instead of the original */
  framesRewritten: number;
  /** the members' slashings on the observer's canonical chain, by height */
  slashed: Slashing[];
  /** members whose record is `slashed` in the observer's registry after its head */
  slashedAtHead: number[];
}

const BLOCK_PREFIX = '{"type":"block",';
const ATTESTATION_PREFIX = '{"type":"attestation",';

/**
 * One equivocating adversary: its members, their keys, and the frame rewrite that sends a twin to
 * half of each member's peers (see the module docs). Deterministic: the twin depends only on the
 * original and the key, the half only on the receiving node's index.
 */
export class Equivocation {
  private readonly memberSet: ReadonlySet<number>;
  /** original gossip line -> the twin's line (itself when it has none), insertion order: the oldest dropped first */
  private readonly twins = new Map<string, string>();
  private rewritten = 0;
  /** the twin blocks' hashes */
  private readonly twinHashes = new Set<string>();
  private signed = 0;

  /**
   * @param members node indices of the members
   * @param keyOf a member's ebid and ed25519 secret key (its SimKey)
   * @param genesisHash the chain's genesis hash (the signing domains are bound to it, docs/protocol.md §3.3)
   * @param domains the chain's signing domains (chainDomains(genesisHash))
   * @param onTwinBlock called once per twin block a member signs, before any copy of it is sent
   */
  constructor(
    readonly kind: EquivocationKind,
    readonly members: readonly number[],
    private readonly keyOf: (node: number) => { ebid: string; secretKey: Uint8Array },
    private readonly genesisHash: string,
    private readonly domains: ChainDomains,
    private readonly onTwinBlock: (node: number, twin: Block) => void = () => {},
  ) {
    this.memberSet = new Set(members);
  }

  isMember(node: number): boolean {
    return this.memberSet.has(node);
  }

  /** Blocks or votes signed twice so far. */
  get twinned(): number {
    return this.signed;
  }

  /** Whether `hash` is a twin block a member signed (its own node imports it later, as a copy from a peer). */
  isTwin(hash: string): boolean {
    return this.twinHashes.has(hash);
  }

  /** Frames that carried a twin. */
  get framesRewritten(): number {
    return this.rewritten;
  }

  /**
   * What member `node` sends to node `to` (undefined: unknown, treated as the first half) in place of
   * `text`: the twin of its own block or vote for a receiver of odd index, else `text` unchanged.
   */
  rewrite(node: number, to: number | undefined, text: string): string {
    if (to === undefined || to % 2 === 0 || !this.memberSet.has(node)) return text;
    const prefix = this.kind === "double-block" ? BLOCK_PREFIX : ATTESTATION_PREFIX;
    if (!text.startsWith(prefix)) return text;
    let twin = this.twins.get(text);
    if (twin === undefined) {
      // another producer's block or voter's vote (a relay) is remembered as its own twin: parsed once
      twin = this.makeTwin(node, text) ?? text;
      if (this.twins.size >= MAX_TWINS) this.twins.delete(this.twins.keys().next().value!);
      this.twins.set(text, twin);
      if (twin !== text) this.signed++;
    }
    if (twin !== text) this.rewritten++;
    return twin;
  }

  private makeTwin(node: number, text: string): string | undefined {
    const key = this.keyOf(node);
    let msg: { block?: Block; attestation?: Attestation };
    try {
      msg = JSON.parse(text) as typeof msg;
    } catch {
      return undefined;
    }
    if (this.kind === "double-block") {
      const b = msg.block;
      if (!b || b.header.producer !== key.ebid || this.twinHashes.has(b.hash)) return undefined; // a relay of another producer's block, or of its own twin
      const twin = twinBlock(b, key.secretKey, this.genesisHash);
      this.twinHashes.add(twin.hash);
      this.onTwinBlock(node, twin);
      return encodeLine({ type: "block", block: twin });
    }
    const a = msg.attestation;
    // a vote of interval 0 has genesis as source and target (its only valid shape): no twin
    if (!a || a.ebid !== key.ebid || a.target_height === 0) return undefined;
    return encodeLine({ type: "attestation", attestation: twinVote(a, key.secretKey, this.domains) });
  }

  /**
   * The adversary's counters, and its members' slashings as `observer`'s chain carries them: the
   * canonical blocks (head down to genesis) whose slashing items name a member, and the members
   * slashed in the registry after its head.
   * @param ebidOf a node's ebid
   */
  async stats(observer: Chain, ebidOf: (node: number) => string): Promise<EquivocationStats> {
    const byEbid = new Map(this.members.map((m) => [ebidOf(m), m]));
    const slashed: Slashing[] = [];
    for (let meta = observer.head; meta.height > 0; ) {
      const block = await observer.getBlock(meta.hash);
      for (const item of block?.slashings ?? []) {
        const offender = item.kind === "blocks" ? item.a.header.producer : item.a.ebid;
        const m = byEbid.get(offender);
        if (m !== undefined) slashed.push({ node: m, height: meta.height, hash: meta.hash, kind: item.kind });
      }
      const parent = await observer.getMeta(meta.parent_hash);
      if (!parent) break;
      meta = parent;
    }
    slashed.sort((a, b) => a.height - b.height || a.node - b.node);
    const registry = await observer.registryAfter(observer.head);
    const slashedAtHead = this.members.filter((m) => registry.get(ebidOf(m))?.slashed === true);
    return { kind: this.kind, members: [...this.members], twinned: this.twinned, framesRewritten: this.rewritten, slashed, slashedAtHead };
  }
}
