/**
 * The simulator's protocol attacks, wired into a run by the driver (sim/driver.ts):
 * lying heights (sim/liars.ts), unbonded Sybil attesters (sim/sybil.ts) and grinding
 * (sim/grind.ts). `Attacks` holds the plans drawn from the run's seed (`deriveSeed(seed, "liars" |
 * "sybil" | "grind")`), wraps each node's transport, takes the node's chain events, and collects
 * the counters for the report's `attacks` section, with the bans honest nodes gave each other
 * (every node's closes are watched: a ban names itself in the close reason).
 *
 * The node code stays honest: every attack is a rewrite or filter of an adversary's outgoing
 * frames, or frames the simulator sends beside a node with keys it signs with the project's own
 * signing functions.
 */
import type { VisionNode } from "../node/node.ts";
import type { Transport } from "../p2p/transport.ts";
import type { Block } from "../consensus/types.ts";
import type { BlockMeta } from "../storage/records.ts";
import { nextMix } from "../consensus/randao.ts";
import { checkpointHeight } from "../consensus/finality.ts";
import { seededRng, type Clock } from "../util/clock.ts";
import { hookTransport } from "./hookedTransport.ts";
import { DEFAULT_LIAR_AHEAD, LiarBand, liarPlan, type LiarCounters } from "./liars.ts";
import { DEFAULT_SYBIL_HOSTS, SybilBand, sybilAttestation, sybilHostPlan, type SybilCounters, type SybilKey } from "./sybil.ts";
import { Grinding, grindPlan, type GrindCounters } from "./grind.ts";

/** The attacks of a run (all optional; see the modules). */
export interface AttackOptions {
  /** fraction 0..1 of the nodes (never a bootnode) that lie about their height in hello and status */
  liars?: number;
  /** blocks a liar claims above its real head; default 1000 */
  liarAheadBlocks?: number;
  /** unbonded keys that sign attestations for every head their hosts adopt (0: none) */
  sybil?: number;
  /** nodes (neither a bootnode nor a validator) that gossip the Sybils' attestations; default 2 */
  sybilHosts?: number;
  /** fraction 0..1 of the validators (never a bootnode) in a grinding coalition */
  grind?: number;
}

/** What the attacks did and what honest nodes did about them (the report's `attacks` section). */
export interface AttackCounters {
  liars?: LiarCounters;
  sybil?: SybilCounters & {
    /** the largest attestation pool (attestations held) of an honest node at the end */
    pool_max: number;
    /** Sybil attestations in the canonical blocks of node 0's chain (must be 0) */
    in_blocks: number;
  };
  grind?: GrindCounters;
  /** bans (closes with a "banned" reason) an honest node gave an honest peer, and any node gave an adversary */
  bans: { honest: number; adversary: number };
  /** closes of a connection to or by an adversary, by reason (its first 60 characters, sorted) */
  adversary_closes: Record<string, number>;
}

/** What `Attacks` needs of the run. */
export interface AttackContext {
  seed: number;
  nodes: number;
  validators: number;
  clock: Clock;
  /** node index by address, and each node's address */
  indexOf: ReadonlyMap<string, number>;
  /** key i beyond the nodes' (sim/driver.ts simKey of a seed of the Sybils' own) */
  sybilKey: (j: number) => SybilKey;
  /** the run's derived seed for a label (sim/driver.ts deriveSeed) */
  derive: (label: string) => number;
}

/** The attacks of one run: plans, transport wrappers, chain-event hooks and counters. */
export class Attacks {
  readonly liars?: LiarBand;
  readonly sybil?: SybilBand;
  readonly grinding?: Grinding;
  private readonly adversary = new Set<number>();
  private bans = { honest: 0, adversary: 0 };
  private readonly closes = new Map<string, number>();
  private work: Promise<void> = Promise.resolve();
  /** Sybil attestations signed per head hash (both hosts send the same ones) */
  private readonly signed = new Map<string, object[]>();
  private nodes: readonly VisionNode[] = [];
  private stopped = false;
  private readonly errors: unknown[] = [];

  /** @throws RangeError for a fraction outside [0, 1], a plan that needs a bootnode, or too few Sybil hosts */
  constructor(
    private readonly ctx: AttackContext,
    o: AttackOptions,
    exclude: ReadonlySet<number> = new Set(),
  ) {
    const node = (remote: string | undefined) => (remote === undefined ? undefined : ctx.indexOf.get(remote));
    if (o.liars) {
      const liars = liarPlan(seededRng(ctx.derive("liars")), ctx.nodes, o.liars);
      this.liars = new LiarBand(liars, o.liarAheadBlocks ?? DEFAULT_LIAR_AHEAD, ctx.seed, () => ctx.clock.now(), (r) => {
        const i = node(r);
        return i !== undefined && this.liars!.isMember(i);
      });
      for (const i of liars) this.adversary.add(i);
    }
    if (o.sybil) {
      if (!(Number.isSafeInteger(o.sybil) && o.sybil >= 1)) throw new RangeError(`sybil keys must be an integer >= 1, got ${o.sybil}`);
      const hosts = sybilHostPlan(seededRng(ctx.derive("sybil")), ctx.nodes, ctx.validators, o.sybilHosts ?? DEFAULT_SYBIL_HOSTS);
      const keys = Array.from({ length: o.sybil }, (_, j) => ctx.sybilKey(j));
      const hostSet = new Set(hosts);
      this.sybil = new SybilBand(keys, hosts, (r) => {
        const i = node(r);
        return i !== undefined && hostSet.has(i);
      });
      for (const i of hosts) this.adversary.add(i);
    }
    if (o.grind) {
      const members = grindPlan(seededRng(ctx.derive("grind")), ctx.validators, o.grind);
      if (members.some((i) => exclude.has(i))) throw new RangeError("the grinding coalition overlaps another adversary's nodes");
      this.grinding = new Grinding(members);
      for (const i of members) this.adversary.add(i);
    }
  }

  /** Whether the run waits for node i's head to reach the target: not a liar's (honest nodes may ban it and cut it off). */
  waitsFor(i: number): boolean {
    return !this.liars?.isMember(i);
  }

  /** Whether node i is one of these attacks' adversaries (liar, Sybil host, grinder). */
  isAdversary(i: number): boolean {
    return this.adversary.has(i);
  }

  /** The adversary name of validator i in the report's validators list, if any. */
  validatorLabel(i: number): string | undefined {
    if (this.grinding?.isMember(i)) return "grind";
    if (this.liars?.isMember(i)) return "liar";
    return undefined;
  }

  /** Node i's transport: its closes watched; a liar's frames rewritten; a grinder's filtered; Sybil frames counted at honest nodes. */
  transport(i: number, t: Transport): Transport {
    const idx = (r: string | undefined) => (r === undefined ? undefined : this.ctx.indexOf.get(r));
    const liar = this.liars?.isMember(i) ? this.liars : undefined;
    const asker = this.liars && !this.adversary.has(i) ? this.liars : undefined;
    const grinder = this.grinding?.isMember(i) ? this.grinding : undefined;
    const sybil = this.sybil && !this.adversary.has(i) ? this.sybil : undefined;
    return hookTransport(t, {
      onClose: (remote, _code, reason) => {
        if (this.stopped) return;
        const j = idx(remote);
        if (this.adversary.has(i) || (j !== undefined && this.adversary.has(j))) {
          const key = reason.slice(0, 60);
          this.closes.set(key, (this.closes.get(key) ?? 0) + 1);
        }
        if (!reason.startsWith("banned")) return;
        if (j !== undefined && this.adversary.has(j)) this.bans.adversary++;
        else if (!this.adversary.has(i)) this.bans.honest++;
      },
      ...(asker || sybil
        ? {
            onFrame: (data: Buffer, remote: string | undefined) => {
              if (asker) asker.onFrame(i, remote, data);
              if (sybil) sybil.onFrame(remote, data);
            },
          }
        : {}),
      ...(grinder ? { allow: (remote: string | undefined, text: string) => grinder.allows(idx(remote), text) } : {}),
      ...(liar ? { rewrite: (_remote: string | undefined, text: string) => liar.rewrite(i, text) } : {}),
      ...(asker
        ? {
            rewrite: (remote: string | undefined, text: string) => {
              asker.onSend(i, remote, text);
              return text;
            },
          }
        : {}),
    });
  }

  /** The nodes, once started (the hooks below reach them). */
  start(nodes: readonly VisionNode[]): void {
    this.nodes = nodes;
  }

  /**
   * Node i stored a block it produced (called from the chain's "imported" event, before the
   * node broadcasts it): a grinder's block is held and its fate decided from the next schedule.
   */
  onProduce(i: number, meta: BlockMeta, block: Block): void {
    const g = this.grinding;
    if (!g?.isMember(i) || !g.onProduce(meta.hash, meta.parent_hash)) return;
    const node = this.nodes[i]!;
    this.enqueue(async () => {
      const next = await node.chain.scheduleFor(meta);
      const parent = await node.chain.getMeta(meta.parent_hash);
      const seedMatches = parent !== undefined && nextMix(parent.mix, block.header.randao_reveal) === block.header.mix;
      const primary = next.winners[0];
      const member = primary !== undefined && g.members.some((m) => this.nodes[m]!.key.ebid === primary);
      if (g.decide(meta.hash, member, seedMatches) !== "publish") return;
      for (const p of node.p2p.readyPeers()) {
        const j = p.remoteAddress === undefined ? undefined : this.ctx.indexOf.get(p.remoteAddress);
        if (j === undefined || !g.isMember(j)) p.send({ type: "block", block }, true);
      }
    });
  }

  /** Node i adopted a new head: a Sybil host sends every Sybil key's attestation of it to its peers. */
  onHead(i: number, head: BlockMeta): void {
    const s = this.sybil;
    if (!s?.hosts.includes(i) || head.height === 0) return;
    const node = this.nodes[i]!;
    this.enqueue(async () => {
      let frames = this.signed.get(head.hash);
      if (!frames) {
        const I = node.chain.spec.params.checkpoint_interval;
        const target = checkpointHeight(head.height, I);
        const source = Math.max(0, target - I);
        const branch = await node.chain.branchHashes(head, source);
        const g = node.chain.genesis.hash;
        const t = {
          height: head.height,
          hash: head.hash,
          targetHeight: target,
          targetHash: target === 0 ? g : branch.get(target)!,
          sourceHeight: source,
          sourceHash: source === 0 ? g : branch.get(source)!,
        };
        frames = s.keys.map((k) => ({ type: "attestation", attestation: sybilAttestation(node.chain.domains, k, t) }));
        this.signed.set(head.hash, frames);
      }
      if (this.stopped) return;
      for (const p of node.p2p.readyPeers()) for (const f of frames) if (p.send(f)) s.noteSent(1);
    });
  }

  /**
   * The counters, read from the nodes before they close; later hooks do nothing.
   * @throws the first error an attack's job threw (a simulator bug, not the node's)
   */
  async finish(): Promise<AttackCounters> {
    this.stopped = true;
    await this.work;
    if (this.errors.length) throw this.errors[0];
    const out: AttackCounters = { bans: { ...this.bans }, adversary_closes: Object.fromEntries([...this.closes].sort((a, b) => (a[0] < b[0] ? -1 : 1))) };
    if (this.liars) out.liars = this.liars.counters();
    if (this.grinding) out.grind = this.grinding.counters();
    if (this.sybil) {
      let poolMax = 0;
      this.nodes.forEach((nd, i) => {
        if (!this.adversary.has(i)) poolMax = Math.max(poolMax, nd.attestations.size);
      });
      let inBlocks = 0;
      const chain = this.nodes[0]!.chain;
      for (let m: BlockMeta | undefined = chain.head; m && m.height > 0; m = await chain.getMeta(m.parent_hash)) {
        const b = await chain.getBlock(m.hash);
        for (const a of b?.attestations ?? []) if (this.sybil.has(a.ebid)) inBlocks++;
      }
      out.sybil = { ...this.sybil.counters(), pool_max: poolMax, in_blocks: inBlocks };
    }
    return out;
  }

  // One job after another, in the order the events came; a job's error is kept for finish() to throw.
  private enqueue(job: () => Promise<void>): void {
    this.work = this.work.then(() => (this.stopped ? undefined : job())).catch((e: unknown) => void this.errors.push(e));
  }
}
