/**
 * The unbonded Sybil attesters of the simulator: `count` keys that are not bonded (never
 * in the chain spec's validators) sign well-formed attestations with FFG votes for every head their
 * host nodes adopt, with the project's real signing (consensus/signatures.ts `sign` under the
 * chain's attest domain), and the hosts gossip them to all their peers. The hosts are a few nodes,
 * never a bootnode nor a validator, whose node code stays honest: the Sybil traffic is sent beside
 * it by the simulator.
 *
 * docs/protocol.md §5: "keys without a bond cannot enter the pool at all, however many of them
 * sign: their attestations make a block invalid, and nodes neither relay them nor include them";
 * a node drops an attestation of a key that is not active before its signature check (a lookup).
 * So they must carry no weight (finality and the canonical chain as in an honest run), be dropped
 * by the first honest node that gets them (no honest node relays one), stay out of every pool and
 * block, and cost no honest peer a ban. `SybilBand` counts what honest nodes received of them.
 */
import type { Attestation } from "../consensus/types.ts";
import { sign, type ChainDomains } from "../consensus/signatures.ts";
import type { Rng } from "../util/clock.ts";
import { pickIndices } from "./adversary.ts";

/** Sybil host nodes by default: two, so their traffic reaches honest nodes over more than one path. */
export const DEFAULT_SYBIL_HOSTS = 2;

/**
 * The Sybil hosts: `hosts` of the non-validator nodes validators..nodes-1 (never a bootnode), ascending.
 * @throws RangeError when there are fewer non-validator, non-bootnode nodes than hosts
 */
export function sybilHostPlan(rng: Rng, nodes: number, validators: number, hosts: number): number[] {
  const from = Math.max(2, validators);
  if (!(Number.isSafeInteger(hosts) && hosts >= 1 && hosts <= nodes - from)) {
    throw new RangeError(`${hosts} Sybil hosts need as many nodes that are neither a bootnode nor a validator (${Math.max(0, nodes - from)} are)`);
  }
  return pickIndices(rng, from, nodes, hosts);
}

/** One Sybil key: an ed25519 secret key and its EBID (simKey of a seed of its own, beyond the nodes'). */
export interface SybilKey {
  ebid: string;
  secretKey: Uint8Array;
}

/** A head the Sybils vote for, with its branch's checkpoints (docs/protocol.md §5a). */
export interface SybilVoteTarget {
  height: number;
  hash: string;
  /** the checkpoint of the head's interval: floor(height / I) x I, and its block on the head's branch */
  targetHeight: number;
  targetHash: string;
  /** the checkpoint one interval below (genesis as both in interval 0) */
  sourceHeight: number;
  sourceHash: string;
}

/**
 * A well-formed attestation of `key` for `t`: the FFG vote shape an honest node checks (§5: target
 * at the head's checkpoint, source a checkpoint below it, genesis for both in interval 0), signed
 * with the chain's attest domain.
 */
export function sybilAttestation(domains: ChainDomains, key: SybilKey, t: SybilVoteTarget): Attestation {
  const body = {
    ebid: key.ebid,
    height: t.height,
    block_hash: t.hash,
    source_height: t.sourceHeight,
    source_hash: t.sourceHash,
    target_height: t.targetHeight,
    target_hash: t.targetHash,
  };
  return { ...body, sig: sign(domains.attest, body, key.secretKey) };
}

/** What honest nodes got of the Sybils' attestations, for the report (`attacks.sybil`). */
export interface SybilCounters {
  /** unbonded keys */
  keys: number;
  /** host node indices */
  hosts: number[];
  /** attestation frames the hosts sent */
  sent: number;
  /** Sybil attestation frames honest nodes received from a host */
  received: number;
  /** Sybil attestation frames an honest node received from another honest node (a relay: must be 0) */
  relayed: number;
}

const ATTESTATION = '{"type":"attestation"';

/** The Sybils' keys and counters. */
export class SybilBand {
  private readonly ebids: ReadonlySet<string>;
  private sent = 0;
  private received = 0;
  private relayed = 0;

  /**
   * @param keys the unbonded keys
   * @param hosts host node indices
   * @param isHost whether a remote address is a host's
   */
  constructor(
    readonly keys: readonly SybilKey[],
    readonly hosts: readonly number[],
    private readonly isHost: (remote: string | undefined) => boolean,
  ) {
    this.ebids = new Set(keys.map((k) => k.ebid));
  }

  /** Whether `ebid` is a Sybil key's. */
  has(ebid: string): boolean {
    return this.ebids.has(ebid);
  }

  /** `frames` attestation frames sent by a host. */
  noteSent(frames: number): void {
    this.sent += frames;
  }

  /** A frame an honest node received from `remote`: a Sybil attestation from a host, or relayed by an honest node. */
  onFrame(remote: string | undefined, data: Buffer): void {
    if (data.length < ATTESTATION.length || data.toString("latin1", 0, ATTESTATION.length) !== ATTESTATION) return;
    const ebid = (JSON.parse(data.toString("utf8")) as { attestation?: { ebid?: unknown } }).attestation?.ebid;
    if (typeof ebid !== "string" || !this.ebids.has(ebid)) return;
    if (this.isHost(remote)) this.received++;
    else this.relayed++;
  }

  counters(): SybilCounters {
    return { keys: this.keys.length, hosts: [...this.hosts], sent: this.sent, received: this.received, relayed: this.relayed };
  }
}
