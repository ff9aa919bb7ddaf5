/**
 * The simulation driver: N real `VisionNode`s in one process, on one `VirtualClock`, their P2P
 * traffic through `MemoryTransport`s of one `MemoryNetwork` whose links are a `NetworkModel`
 * (sim/network.ts), their chain stores in memory, no TCP listener. `runSimulation` builds the chain
 * spec and keys from the seed, starts the nodes, drives virtual time until every node's head
 * reaches the target height (or a virtual-time limit), and returns the run's events and traffic
 * counters for `summarize` (sim/summarize.ts).
 *
 * Determinism: every random choice (keys, per-node Rng, the network's jitter and loss) derives from
 * the seed; time moves one clock timer at a time, and between two timers the driver lets the async
 * work they started (storage, crypto, the chain's import queue) run to quiet with `settle()` rounds.
 * Nothing on this path reads the wall clock or Math.random, so one seed gives one event order and
 * one byte-identical report.
 *
 * Topology: nodes 0 and 1 are the bootnodes; every node dials them and peer exchange does the rest
 * (the P2P layer's own discovery, docs/protocol.md §9).
 */
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino, type Logger } from "pino";
import { VisionNode } from "../node/node.ts";
import { MemoryNetwork } from "../p2p/memoryTransport.ts";
import { FrameMemo } from "../p2p/frameMemo.ts";
import { SharedValues } from "../storage/chainDb.ts";
import { freezeDeep } from "../consensus/immutable.ts";
import type { Transport } from "../p2p/transport.ts";
import type { Block } from "../consensus/types.ts";
import type { P2POptions } from "../p2p/options.ts";
import { genesisBlock, normalizeChainSpec, type ChainSpec } from "../chain/spec.ts";
import { chainDomains, ebidOf } from "../consensus/signatures.ts";
import { blsPublicKeyHex, blsSecretKeyFromIkm } from "../consensus/bls.ts";
import { VirtualClock, seededRng, settle } from "../util/clock.ts";
import { DEFAULT_REGIONS, NetworkModel, type NetworkModelOptions, type RegionTable } from "./network.ts";
import type { SimEvent, SimRun } from "./summarize.ts";
import { filterTransport, rewriteTransport, tapTransport } from "./hookedTransport.ts";
import { Equivocation, equivocatorPlan } from "./equivocation.ts";
import { coalitionPlan, crashPlan, silentPlan, stallWindowMs, Withholding, type CrashPlan } from "./adversary.ts";
import { Attacks, type AttackOptions } from "./attacks.ts";
import { checkPartition, FaultState, maxFutureDriftMs, restartPlan, skewPlan, type PartitionFault, type RestartPlan } from "./faults.ts";
import type { ChainDb } from "../storage/chainDb.ts";

/** The simulated chain's genesis time (ms since the epoch): 2026-01-01T00:00:00Z. */
export const SIM_GENESIS_MS = 1_767_225_600_000;

/** The P2P port every simulated node listens on (at its own address). */
const SIM_P2P_PORT = 30333;

/** What to simulate. */
export interface SimulationOptions {
  /** nodes, at least 2 (nodes 0 and 1 are the bootnodes) */
  nodes: number;
  /** the height every node's head must reach */
  heights: number;
  /** any 32-bit integer: keys, node Rngs and the network's draws derive from it */
  seed: number;
  /** how many of the nodes (the first ones) are genesis validators and produce; default all */
  validators?: number;
  /** the spec's block_time_ms; default 2000 */
  blockTimeMs?: number;
  /** the network's regions (nodes take them in turn); default DEFAULT_REGIONS */
  regions?: RegionTable;
  /** the network model's other settings (jitter, loss, bandwidths); loss mode is always "retransmit" */
  network?: Omit<NetworkModelOptions, "clock" | "rng" | "regions" | "lossMode" | "autoAddNodes">;
  /**
   * the nodes' other P2P options (maxPeers bounds the O(nodes²) flood gossip of a full mesh; the two
   * bootnodes take at least every node); host, port and peers are the driver's
   */
  p2p?: Partial<Omit<P2POptions, "host" | "port" | "peers">>;
  /** further chain spec params (docs/protocol.md §2) */
  params?: Record<string, unknown>;
  /** virtual ms after genesis at which the run gives up; default heights x block time x 10 + 60 s */
  maxVirtualMs?: number;
  /**
   * settle() rounds between two clock timers; default 1. One round (a setImmediate turn) runs every
   * promise continuation and nextTick the timer started, and every one those start, to the end; a
   * further round matters only for work that waits on setImmediate itself (memory-level's clear()
   * does, every 500 keys), and each costs a turn of the event loop per timer
   */
  settleRounds?: number;
  /** the nodes' logger; default silent */
  log?: Logger;
  /**
   * one parse per gossip line for all nodes, its message frozen and shared (p2p/frameMemo.ts), so
   * the hashes and signature checks of what it carries run once, and one copy of each stored block's
   * text for all memory stores (SharedValues); default true (false: every node parses, checks and
   * stores its own copy, as separate processes would: the same report, more CPU and memory)
   */
  shareFrames?: boolean;
  /** faults and adversaries (sim/adversary.ts); default none */
  faults?: SimulationFaults;
  /**
   * Called about every `progressEveryMs` of wall time (default 5,000) while the run goes: for a
   * progress line. Wall time decides only when it is called: the run and its report are the same.
   */
  onProgress?: (p: SimulationProgress) => void;
  progressEveryMs?: number;
}

/** Where a run stands, for `onProgress`. */
export interface SimulationProgress {
  /** ms of virtual time since the run's start */
  virtualMs: number;
  /** nodes started so far (all of them once the run is under way) */
  started: number;
  /** nodes waited for whose head is still below the target height */
  below: number;
  /** timers fired so far */
  timers: number;
}

/** Faults and adversaries of a run, all drawn from its seed (sim/adversary.ts; the attacks: sim/attacks.ts). */
export interface SimulationFaults extends AttackOptions {
  /** fraction 0..1 of the nodes (never a bootnode) that crash, each at a random virtual time, for good */
  crash?: number;
  /** [from, to) virtual ms after genesis for the crash times; default 10% to 70% of heights x block time */
  crashWindowMs?: [number, number];
  /** fraction 0..1 of the validators (never a bootnode) in a coalition that withholds its blocks */
  withhold?: number;
  /**
   * ms after its production at which the coalition releases a block no coalition child released;
   * default the block time (a private branch: K - 1 block times, the least time K heights take, K its privateBranchHeights)
   */
  withholdReleaseMs?: number;
  /** fraction 0..1 of the validators (never a bootnode nor a coalition member) that are bonded but never produce nor attest */
  silent?: number;
  /**
   * fraction 0..1 of the validators (never a bootnode nor another adversary's member) that sign each
   * block they produce twice and send one to half their peers, the other to the rest (sim/equivocation.ts)
   */
  doubleBlock?: number;
  /**
   * fraction 0..1 of the validators (never a bootnode nor another adversary's member) that sign a
   * conflicting FFG vote for each vote they sign and send one to half their peers, the other to the rest
   */
  doubleVote?: number;
  /**
   * fraction 0..1 of the validators (never a bootnode) in a coalition that builds a private branch:
   * it withholds its blocks until its withheld chain is `privateBranchHeights` long, then releases it
   * at once (the withholding coalition with a longer chain; not with `withhold`)
   */
  privateBranch?: number;
  /** K: the private branch's length that releases it; default 4, at least 2 */
  privateBranchHeights?: number;
  /** fraction 0..1 of the nodes (never a bootnode nor one that crashes for good) that crash and restart on their own data (sim/faults.ts) */
  restart?: number;
  /** [from, to) virtual ms after genesis for the restarting nodes' crash times; default 10% to 50% of heights x block time */
  restartWindowMs?: [number, number];
  /** [min, max] ms a restarting node stays down; default 2 to 5 block times */
  restartDowntimeMs?: [number, number];
  /** a region partition from `fromMs` to `toMs` virtual ms after genesis, then healed (sim/faults.ts) */
  partition?: PartitionFault;
  /**
   * each node's clock offset bound (ms): offsets uniform in [-clockSkewMs, +clockSkewMs]; default 0. At
   * most the chain's max_future_drift_ms unless `clockSkewBeyondDrift` (sim/faults.ts)
   */
  clockSkewMs?: number;
  /** allow a clockSkewMs above max_future_drift_ms (a run whose point is clocks outside the protocol's bound) */
  clockSkewBeyondDrift?: boolean;
}

/** A run's result: what `summarize` reads, and whether every node reached the target height. */
export interface SimulationRun extends SimRun {
  /** every node's head reached `heights` before the virtual-time limit (crashed nodes and liars, sim/liars.ts, are not waited for) */
  reached: boolean;
  /** clock timers fired */
  timers: number;
  /** each node's ready peers at the end (the topology discovery built) */
  peers: number[];
  /** the withholding (or private-branch) coalition's counters, when there is one */
  withholding?: { members: number; released: number; droppedFrames: number; stillWithheld: number };
}

/** One simulated validator key: an ed25519 seed and its BLS key, as the node's key file holds them. */
export interface SimKey {
  ebid: string;
  secretKey: Uint8Array;
  blsSecretKey: Uint8Array;
  blsPubkey: string;
}

/** A 32-bit integer derived from the run's seed and a label (sha256, its first 4 bytes). */
export function deriveSeed(seed: number, label: string): number {
  return createHash("sha256").update(`vision-sim:${seed | 0}:${label}`).digest().readInt32BE(0);
}

/** Node i's key: its ed25519 seed is sha256 of the run's seed and i; its BLS key derives from that. */
export function simKey(seed: number, i: number): SimKey {
  const secretKey = new Uint8Array(createHash("sha256").update(`vision-sim-key:${seed | 0}:${i}`).digest());
  const blsSecretKey = blsSecretKeyFromIkm(secretKey);
  return { ebid: ebidOf(secretKey), secretKey, blsSecretKey, blsPubkey: blsPublicKeyHex(blsSecretKey) };
}

/** Node i's address on the memory network: 10.x.y.z from i + 1. */
export function simAddress(i: number): string {
  const k = i + 1;
  return `10.${(k >> 16) & 255}.${(k >> 8) & 255}.${k & 255}`;
}

/** The simulated chain's spec: the validators' keys bonded at genesis. */
export function simSpec(keys: readonly SimKey[], blockTimeMs: number, params: Record<string, unknown> = {}): ChainSpec {
  return normalizeChainSpec({
    chain_id: "vision-sim",
    genesis_timestamp: SIM_GENESIS_MS,
    consensus: "proof-of-sync",
    params: { block_time_ms: blockTimeMs, ...params },
    validators: keys.map((k) => ({ ebid: k.ebid, bls_pubkey: k.blsPubkey, bond: "1000" })),
    alloc: {},
  });
}

const BLOCK_PREFIX = Buffer.from('{"type":"block"');
const BLOCK_HASH_PREFIX = '{"type":"block","block":{"hash":"';

/**
 * The block hash of a `block` gossip frame (docs/protocol.md §9.5), or undefined for any other
 * frame. The P2P layer writes the block's `hash` first; another key order is parsed in full.
 */
export function blockFrameHash(data: Buffer): string | undefined {
  if (data.length < 100 || data.compare(BLOCK_PREFIX, 0, BLOCK_PREFIX.length, 0, BLOCK_PREFIX.length) !== 0) return undefined;
  const head = data.toString("latin1", 0, BLOCK_HASH_PREFIX.length + 64);
  if (head.startsWith(BLOCK_HASH_PREFIX)) return head.slice(BLOCK_HASH_PREFIX.length);
  try {
    const hash = (JSON.parse(data.toString("utf8")) as { block?: { hash?: unknown } }).block?.hash;
    return typeof hash === "string" ? hash : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs one simulation (see the module docs) and closes every node.
 * @throws RangeError for fewer than 2 nodes, a height below 1, or validators outside 1..nodes;
 *   a node that fails to start rethrows its error (the nodes already started are closed)
 */
export async function runSimulation(o: SimulationOptions): Promise<SimulationRun> {
  const n = o.nodes;
  if (!(Number.isSafeInteger(n) && n >= 2)) throw new RangeError(`a simulation needs at least 2 nodes, got ${n}`);
  if (!(Number.isSafeInteger(o.heights) && o.heights >= 1)) throw new RangeError(`heights must be an integer >= 1, got ${o.heights}`);
  if (!Number.isSafeInteger(o.seed)) throw new RangeError(`seed must be an integer, got ${o.seed}`);
  const v = o.validators ?? n;
  if (!(Number.isSafeInteger(v) && v >= 1 && v <= n)) throw new RangeError(`validators must be 1..${n}, got ${v}`);
  const blockTimeMs = o.blockTimeMs ?? 2000;
  const maxMs = o.maxVirtualMs ?? o.heights * blockTimeMs * 10 + 60_000;
  if (o.faults?.partition && o.faults.partition.toMs >= maxMs) throw new RangeError(`the partition heals at ${o.faults.partition.toMs} ms, after the run's limit of ${maxMs} ms`);
  const rounds = o.settleRounds ?? 1;
  const log = o.log ?? pino({ level: "silent" });

  const keys = Array.from({ length: n }, (_, i) => simKey(o.seed, i));
  // frozen: every node reads the one spec, and its genesis block is built once (consensus/immutable.ts)
  const spec = freezeDeep(simSpec(keys.slice(0, v), blockTimeMs, o.params));
  const frames = o.shareFrames === false ? undefined : new FrameMemo();
  const values = o.shareFrames === false ? undefined : new SharedValues();
  const adv = planFaults(o, n, v, blockTimeMs, spec.params, (o.regions ?? DEFAULT_REGIONS).regions);
  const startMs = SIM_GENESIS_MS;
  const clock = new VirtualClock(startMs);
  const model = new NetworkModel({ ...o.network, clock, rng: seededRng(deriveSeed(o.seed, "network")), regions: o.regions, lossMode: "retransmit" });
  const net = new MemoryNetwork({ clock, scheduler: model });
  const addresses = keys.map((_, i) => simAddress(i));
  for (const a of addresses) model.addNode(a);
  const fault = new FaultState(adv.restarts, adv.offsets, adv.partition, o.faults?.clockSkewMs ?? 0, addresses.map((a) => model.regionOf(a)));
  const url = (i: number) => `ws://${addresses[i]}:${SIM_P2P_PORT}`;
  const indexOf = new Map(addresses.map((a, i) => [a, i]));

  const events: SimEvent[] = [];
  /** per node, the blocks a gossip frame brought (a block stored without one came by sync) */
  const delivered = keys.map(() => new Set<string>());
  /** the nodes whose head is below `heights` (every node at start: its head is genesis) */
  const below = new Set<number>(keys.map((_, i) => i));
  let recording = true;
  let releasing: Promise<void> = Promise.resolve();
  const dir = mkdtempSync(join(tmpdir(), "vision-sim-"));
  const nodes: VisionNode[] = [];
  let timers = 0;
  /** virtual ms at which each crashed node crashed */
  const crashedAt = new Map<number, number>();
  const withholding = adv.coalition.length
    ? new Withholding(adv.coalition, clock, o.faults?.withholdReleaseMs ?? (adv.chainLength - 1) * blockTimeMs, (hash) => releaseWithheld(hash), adv.chainLength)
    : undefined;
  const genesisHash = genesisBlock(spec).hash;
  const equivocations = (
    [
      ["double-block", adv.doubleBlock],
      ["double-vote", adv.doubleVote],
    ] as const
  ).flatMap(([kind, members]) => (members.length ? [new Equivocation(kind, members, (i) => keys[i]!, genesisHash, chainDomains(genesisHash), (i, twin) => recordTwin(i, twin))] : []));
  const attacks = hasAttacks(o.faults)
    ? new Attacks(
        { seed: o.seed, nodes: n, validators: v, clock, indexOf, sybilKey: (j) => simKey(deriveSeed(o.seed, "sybil-keys"), j), derive: (label) => deriveSeed(o.seed, label) },
        o.faults!,
        new Set([...adv.coalition, ...adv.silent, ...adv.doubleBlock, ...adv.doubleVote]),
      )
    : undefined;
  attacks?.start(nodes);
  for (let i = 0; i < n; i++) if (attacks && !attacks.waitsFor(i)) below.delete(i);
  const progressEveryMs = o.progressEveryMs ?? 5_000;
  let lastProgress = performance.now();
  const progress = () => {
    if (!o.onProgress || performance.now() - lastProgress < progressEveryMs) return;
    lastProgress = performance.now();
    o.onProgress({ virtualMs: clock.now() - startMs, started: nodes.length, below: below.size, timers });
  };
  try {
    for (let i = 0; i < n; i++) {
      nodes.push(await startNode(i));
      progress();
    }

    scheduleCrashes(adv.crashes);
    fault.schedule(clock, startMs, model, {
      node: (i) => nodes[i]!,
      restart: async (i, reopen) => void (nodes[i] = await startNode(i, reopen)),
      down: (i) => below.delete(i), // not waited for while down; startNode adds it back
      recording: () => recording,
    });

    // One timer at a time, the async work it started run to quiet before the next.
    // the nodes whose head is below the target, kept by their head events (not a walk over every node per timer)
    // a liar (sim/liars.ts) is neither waited for nor asked to hold the one head: honest nodes may cut it off
    const done = () => below.size === 0 && fault.settled((j) => (off(j) || attacks?.waitsFor(j) === false ? undefined : nodes[j]!.chain.head.hash));
    let reached = false;
    for (;;) {
      for (let r = 0; r < rounds; r++) await settle();
      if (done()) {
        reached = true;
        break;
      }
      const at = clock.nextAt();
      if (at === undefined || at > startMs + maxMs) break;
      clock.next();
      timers++;
      if ((timers & 1023) === 0) progress();
    }
    recording = false;
    if (fault.error) throw fault.error;
    const endMs = clock.now();
    // node 0 is a bootnode: never an adversary, never crashed
    const equivocation = await Promise.all(equivocations.map((e) => e.stats(nodes[0]!.chain, (i) => keys[i]!.ebid)));
    const attackCounters = await attacks?.finish();
    const traffic = model.traffic().map((t) => ({ bytesSent: t.bytesSent, bytesReceived: t.bytesReceived }));
    return {
      nodes: n, heights: o.heights, seed: o.seed, startMs, endMs,
      validators: keys.slice(0, v).map((k, i) => {
        const adversary = withholding?.isMember(i)
          ? adv.coalitionName
          : adv.silent.includes(i)
            ? "silent"
            : (equivocations.find((e) => e.isMember(i))?.kind ?? attacks?.validatorLabel(i) ?? (crashedAt.has(i) ? "crash" : undefined));
        return adversary ? { id: k.ebid, adversary } : { id: k.ebid };
      }),
      traffic, events, reached, timers, peers: nodes.map((nd) => nd.p2p.readyPeers().length),
      crashed: [...crashedAt].sort((a, b) => a[0] - b[0]).map(([node, atMs]) => ({ node, atMs })),
      ...fault.run(),
      stallWindowMs: stallWindowMs(spec.params),
      ...(withholding ? { withholding: { members: adv.coalition.length, released: withholding.released.length, droppedFrames: withholding.dropped, stillWithheld: withholding.holding } } : {}),
      ...(equivocation.length ? { equivocation } : {}),
      ...(attackCounters ? { attacks: attackCounters } : {}),
    };
  } finally {
    recording = false;
    await fault.restarting;
    await closeAll(nodes, clock);
    rmSync(dir, { recursive: true, force: true });
  }

  /**
   * Starts node i (again, on its closed memory store `reopen`, for a restart): its options, transport
   * tap and event recording. A restarting node keeps its slashing protection record in its data dir.
   */
  async function startNode(i: number, reopen?: ChainDb): Promise<VisionNode> {
    const k = keys[i]!;
    const restarts = fault.restarts(i);
    const node = await VisionNode.init(
      {
        dataDir: join(dir, `node${i}`), spec, sim: { key: { ebid: k.ebid, secretKey: k.secretKey, blsSecretKey: k.blsSecretKey, blsPubkey: k.blsPubkey }, frames, values, ...(reopen ? { reopen } : {}), ...(restarts ? { keepProtection: true } : {}) }, apiHost: "127.0.0.1", apiPort: 0, apiListen: false, produce: i < v && !adv.silent.includes(i), mine: false, miningWorkers: 1,
        // A full node refuses a dial before any peer exchange: the bootnodes have inbound room for every
        // node (past the at most 8 slots kept for their own dials), so none is left without addresses.
        p2p: { ...o.p2p, ...(i < 2 && o.p2p?.maxPeers !== undefined ? { maxPeers: Math.max(o.p2p.maxPeers, n + 8) } : {}), host: "0.0.0.0", port: SIM_P2P_PORT, peers: [...[0, 1].filter((b) => b !== i), ...coalitionPeers(adv.coalition, i)].map(url) },
        clock, rng: seededRng(deriveSeed(o.seed, reopen ? `node:${i}:restart` : `node:${i}`)), store: "memory",
        ...(adv.offsets[i] ? { clockOffsetMs: adv.offsets[i] } : {}),
        transport: tapTransport(attackTransport(equivocationTransport(withholdingTransport(net.transport(addresses[i]!), i), i), i), (data) => {
          const hash = recording && !off(i) ? blockFrameHash(data) : undefined;
          if (hash === undefined) return;
          delivered[i]!.add(hash);
          events.push({ type: "deliver", atMs: clock.now(), node: i, hash });
        }),
      },
      log.child({ node: i }),
    );
    record(node, i);
    if (reopen) {
      if (node.chain.head.height < o.heights && attacks?.waitsFor(i) !== false) below.add(i);
      fault.onRestarted(i, clock.now(), node.chain.head.height, liveHeight);
    }
    return node;
  }

  /** Node j's head height, or undefined while it is down. */
  function liveHeight(j: number): number | undefined {
    return off(j) ? undefined : nodes[j]!.chain.head.height;
  }

  /** Whether node i is down: crashed for good, or between a crash and its restart. */
  function off(i: number): boolean {
    return crashedAt.has(i) || fault.isDown(i);
  }

  // The node's chain events as SimEvents: its own block's store is a `produce`; another block
  // stored with no gossip copy delivered (a sync brought it) is a `deliver` then. Gossip copies are
  // `deliver`s from the transport tap, every copy (the summary counts the duplicates). A fallback
  // (PoW) block has no slot: it counts as slot 0 (the nodes here do not mine, so none is produced).
  function record(node: VisionNode, i: number): void {
    const ebid = keys[i]!.ebid;
    let finalized = node.chain.finalizedCheckpoint.hash;
    const checkFinalized = () => {
      const f = node.chain.finalizedCheckpoint;
      if (f.hash === finalized) return;
      finalized = f.hash;
      events.push({ type: "finalize", atMs: clock.now(), node: i, height: f.height, hash: f.hash });
    };
    node.chain.on("imported", (meta, block) => {
      if (!recording || off(i)) return;
      if (meta.producer === ebid && equivocations.some((e) => e.isTwin(meta.hash))) {
        // an equivocator's twin block, back from a peer: its produce event was recorded when it was signed
        delivered[i]!.add(meta.hash);
      } else if (meta.producer === ebid) {
        // Before the producer broadcasts it (the chain emits "imported" within importBlock).
        if (withholding?.isMember(i)) withholding.onProduce(i, meta.hash, meta.parent_hash);
        attacks?.onProduce(i, meta, block);
        events.push({ type: "produce", atMs: clock.now(), node: i, hash: meta.hash, parent: meta.parent_hash, height: meta.height, slot: meta.slot ?? 0, producer: meta.producer });
      } else if (!delivered[i]!.has(meta.hash)) {
        delivered[i]!.add(meta.hash);
        events.push({ type: "deliver", atMs: clock.now(), node: i, hash: meta.hash });
      }
      checkFinalized();
    });
    node.chain.on("head", (e) => {
      if (e.head.height >= o.heights) below.delete(i);
      else if (!off(i) && attacks?.waitsFor(i) !== false) below.add(i);
      if (!recording || off(i)) return;
      fault.onHead(i, e.head.height, clock.now(), liveHeight);
      events.push({ type: "head", atMs: clock.now(), node: i, height: e.head.height, hash: e.head.hash, reorgDepth: e.reorgDepth });
      attacks?.onHead(i, e.head);
      checkFinalized();
    });
  }

  // ---- Faults and adversaries (sim/adversary.ts, sim/equivocation.ts) ----

  /** An equivocator signed a twin block (sim/equivocation.ts): its production, before any copy is sent. */
  function recordTwin(i: number, twin: Block): void {
    if (!recording || off(i)) return;
    const h = twin.header;
    events.push({ type: "produce", atMs: clock.now(), node: i, hash: twin.hash, parent: h.parent_hash, height: h.height, slot: h.slot ?? 0, producer: h.producer });
  }

  /** Node i's transport: a coalition member's outgoing frames pass the withholding filter. */
  function withholdingTransport(t: Transport, i: number): Transport {
    if (!withholding?.isMember(i)) return t;
    return filterTransport(t, (remote, text) => withholding.allows(remote === undefined ? undefined : indexOf.get(remote), text));
  }

  /** Node i's transport: an equivocator's outgoing frames carry its twin block or vote to half its peers. */
  function equivocationTransport(t: Transport, i: number): Transport {
    const e = equivocations.find((x) => x.isMember(i));
    if (!e) return t;
    return rewriteTransport(t, (remote, text) => e.rewrite(i, remote === undefined ? undefined : indexOf.get(remote), text));
  }

  /** Node i's transport as the attacks need it (sim/attacks.ts): unchanged without attacks. */
  function attackTransport(t: Transport, i: number): Transport {
    return attacks ? attacks.transport(i, t) : t;
  }

  /** Each planned crash as a clock timer: the node stops recording and closes (its links close with it). */
  function scheduleCrashes(plan: readonly CrashPlan[]): void {
    for (const c of plan) {
      clock.setTimeout(() => {
        if (!recording) return;
        crashedAt.set(c.node, clock.now());
        below.delete(c.node); // a crashed node's head is not waited for
        void nodes[c.node]!.close().catch(() => undefined); // closeAll awaits the same close and reports its error
      }, startMs + c.afterMs - clock.now());
    }
  }

  /**
   * A released block: every live coalition member that holds it sends it to its peers outside the
   * coalition, as its producer's broadcast would have. Releases run one after another, oldest first.
   */
  function releaseWithheld(hash: string): void {
    releasing = releasing.then(async () => {
      for (const i of adv.coalition) {
        if (off(i) || !recording) continue;
        const node = nodes[i]!;
        const block = await node.chain.getBlock(hash);
        if (!block) continue;
        for (const p of node.p2p.readyPeers()) {
          const j = indexOf.get(p.remoteAddress);
          if (j === undefined || !withholding!.isMember(j)) p.send({ type: "block", block }, true);
        }
      }
    });
  }
}

/** The run's faults, from its seed. */
interface FaultPlan {
  /** nodes that crash and restart on their own data */
  restarts: RestartPlan[];
  /** each node's clock offset (ms) */
  offsets: number[];
  partition?: PartitionFault;
  crashes: CrashPlan[];
  /** the withholding or private-branch coalition */
  coalition: number[];
  /** its adversary name */
  coalitionName: "withhold" | "private-branch";
  /** the withheld chain length that releases it (2 for withhold) */
  chainLength: number;
  silent: number[];
  doubleBlock: number[];
  doubleVote: number[];
}

/**
 * The run's crash plan, coalition, silent validators, equivocators, restarts, clock offsets and
 * partition, from its seed (each its own
 * deriveSeed label, so adding one adversary leaves the others' picks as they were).
 * @throws RangeError for both withhold and privateBranch, a privateBranchHeights below 2, more members
 * than validators left, restart with liars, a clock skew beyond max_future_drift_ms (unless allowed) or an
 * unknown partition region
 */
function planFaults(o: SimulationOptions, n: number, v: number, blockTimeMs: number, params: { max_future_drift_ms: number }, regions: readonly string[]): FaultPlan {
  const f = o.faults ?? {};
  const span = o.heights * blockTimeMs;
  const [from, to] = f.crashWindowMs ?? [Math.floor(span * 0.1), Math.floor(span * 0.7)];
  const crashes = f.crash ? crashPlan(seededRng(deriveSeed(o.seed, "crash")), n, f.crash, from, to) : [];
  if (f.withhold && f.privateBranch) throw new RangeError("withhold and private-branch are one coalition: give one of them");
  // A restart waits for the node to catch up with the head, which a liar that honest nodes banned never does.
  if (f.restart && f.liars) throw new RangeError("restart and liars cannot be combined: a restarted liar that honest nodes ban never catches up");
  const chainLength = f.privateBranch ? (f.privateBranchHeights ?? 4) : 2;
  if (!(Number.isSafeInteger(chainLength) && chainLength >= 2)) throw new RangeError(`a private branch must be an integer >= 2 heights, got ${f.privateBranchHeights}`);
  const coalition = f.withhold
    ? coalitionPlan(seededRng(deriveSeed(o.seed, "withhold")), v, f.withhold)
    : f.privateBranch
      ? coalitionPlan(seededRng(deriveSeed(o.seed, "private-branch")), v, f.privateBranch)
      : [];
  const silent = f.silent ? silentPlan(seededRng(deriveSeed(o.seed, "silent")), v, f.silent, coalition) : [];
  const doubleBlock = f.doubleBlock ? equivocatorPlan(seededRng(deriveSeed(o.seed, "double-block")), v, f.doubleBlock, "double-block", [...coalition, ...silent]) : [];
  const doubleVote = f.doubleVote ? equivocatorPlan(seededRng(deriveSeed(o.seed, "double-vote")), v, f.doubleVote, "double-vote", [...coalition, ...silent, ...doubleBlock]) : [];
  const [rFrom, rTo] = f.restartWindowMs ?? [Math.floor(span * 0.1), Math.floor(span * 0.5)];
  const [downMin, downMax] = f.restartDowntimeMs ?? [2 * blockTimeMs, 5 * blockTimeMs];
  const restarts = f.restart ? restartPlan(seededRng(deriveSeed(o.seed, "restart")), n, f.restart, rFrom, rTo, downMin, downMax, crashes.map((c) => c.node)) : [];
  const skew = f.clockSkewMs ?? 0;
  const drift = maxFutureDriftMs(params);
  if (skew > drift && !f.clockSkewBeyondDrift) throw new RangeError(`clock skew ${skew} ms is beyond the chain's max_future_drift_ms (${drift} ms); allow it explicitly: clockSkewBeyondDrift, --clock-skew-beyond-drift`);
  const offsets = skewPlan(seededRng(deriveSeed(o.seed, "clock-skew")), n, skew);
  if (f.partition) checkPartition(f.partition, regions);
  return {
    crashes, coalition, coalitionName: f.privateBranch ? "private-branch" : "withhold", chainLength, silent, doubleBlock, doubleVote,
    restarts, offsets, ...(f.partition ? { partition: f.partition } : {}),
  };
}

/** Whether the faults ask for any of sim/attacks.ts's attacks. */
function hasAttacks(f: SimulationFaults | undefined): boolean {
  return !!(f && (f.liars || f.sybil || f.grind));
}

/** The coalition members a member dials besides the bootnodes: the next 3 in coalition order (a private ring). */
function coalitionPeers(coalition: readonly number[], i: number): number[] {
  const at = coalition.indexOf(i);
  if (at < 0 || coalition.length < 2) return [];
  const k = Math.min(3, coalition.length - 1);
  return Array.from({ length: k }, (_, d) => coalition[(at + 1 + d) % coalition.length]!);
}

/**
 * Closes every node, in reverse order of start, firing clock timers while a close waits on one
 * (a closing handshake travels the memory network).
 */
async function closeAll(nodes: VisionNode[], clock: VirtualClock): Promise<void> {
  let pending = nodes.length;
  const errors: unknown[] = [];
  for (const node of [...nodes].reverse()) {
    void node.close().then(
      () => pending--,
      (e: unknown) => {
        errors.push(e);
        pending--;
      },
    );
  }
  for (let i = 0; pending > 0 && i < 100_000; i++) {
    await settle();
    if (pending > 0) clock.next();
  }
  if (errors.length) throw errors[0];
}
