/**
 * The composition root: builds every service in order and closes them in reverse
 * (producer and sync, API, P2P, chain, then the database last).
 */
import { join } from "node:path";
import { createServer as createHttpServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { getRequestListener } from "@hono/node-server";
import type { Logger } from "pino";
import { boundedLru } from "../util/lru.ts";
import type { Block, Attestation, Tx } from "../consensus/types.ts";
import { Mempool, type AddOutcome } from "../chain/mempool.ts";
import { TxError, txAddresses, txHash, type TxErrorCode } from "../chain/tx.ts";
import { sign, verify } from "../consensus/signatures.ts";
import { votesConflict } from "../consensus/slashing.ts";
import { ChainDb, type SharedValues } from "../storage/chainDb.ts";
import { Chain, type HeadEvent } from "../chain/chain.ts";
import { AttestationPool } from "../chain/attestationPool.ts";
import { BlockError } from "../chain/errors.ts";
import { genesisBlock, type ChainSpec } from "../chain/spec.ts";
import { PeerManager } from "../p2p/peerManager.ts";
import { resolveP2POptions, type P2POptions } from "../p2p/options.ts";
import type { Peer } from "../p2p/peer.ts";
import type { Message, MessageOf } from "../p2p/messages.ts";
import { attestationGossipId } from "../p2p/gossipMessages.ts";
import { Syncer, type SyncerOptions } from "../sync/syncer.ts";
import { handleSyncRequest } from "../sync/protocol.ts";
import { refuseCheckpointOnChain, startFromCheckpoint } from "./checkpointStart.ts";
import { SnapshotUpdater } from "../producer/snapshot.ts";
import { ClaimReceipts } from "../producer/claims.ts";
import { Producer } from "../producer/producer.ts";
import { Miner } from "../producer/miner.ts";
import { MinerPool } from "../producer/pow/minerPool.ts";
import { NodeSettings } from "./config.ts";
import { createMetrics, POW_SLOT_BUCKET, type Metrics } from "../metrics/index.ts";
import type { Schedule } from "../chain/validation.ts";
import { buildTemplate, powPlan } from "../producer/template.ts";
import type { SubmitOutcome } from "../api/modules.ts";
import { attachLiveStream, createApi, finalityView, validatorActivity, withFastPath, type ApiModules, type LiveStream, type RequestListener } from "../api/index.ts";
import { loadOrCreateKey, type NodeKey } from "./keyfile.ts";
import { openDataDir } from "./dataDir.ts";
import { mkdirSync } from "node:fs";
import type { Transport } from "../p2p/transport.ts";
import type { FrameMemo } from "../p2p/frameMemo.ts";
import { startMetricsServer, type MetricsServer } from "./metricsServer.ts";
import { EvidencePool, MAX_REMEMBERED_VOTES } from "./evidencePool.ts";
import { checkpointIntervalOf, SlashingProtection } from "./slashingProtection.ts";
import { buildInfo } from "../version.ts";
import { checkpointHeight, voteSource, type Checkpoint } from "../consensus/finality.ts";
import { checkpointVoteReady } from "../consensus/forkChoice.ts";
import { countedHeights } from "../consensus/eligibility.ts";
import { activeAt, epochAt } from "../consensus/validators.ts";
import type { BlockMeta } from "../storage/records.ts";
import { systemClock, type Clock, type Rng, type Timer } from "../util/clock.ts";

/** Transaction refusals that strike the peer that relayed it: no honest node relays such a transaction. */
const STRIKE_TX_CODES: ReadonlySet<TxErrorCode> = new Set<TxErrorCode>(["BAD_SIGNATURE", "BAD_CHAIN_ID", "BAD_KIND", "BAD_BLS_KEY", "BAD_POP"]);

/** At most one status gossip per this many ms. */
const STATUS_COALESCE_MS = 50;
/** Every node gossips its status at least this often, so silence means trouble. */
const STATUS_HEARTBEAT_MS = 1000;
/** A peer silent for longer does not count towards eligibility (3 missed heartbeats and then some). */
const PEER_LIVE_MS = 5000;
/** PoW workers of a Proof-of-Sync node are terminated after this long without a fallback job (ms). */
const FALLBACK_WORKERS_IDLE_MS = 60_000;

/** Everything a node needs to start. */
export interface NodeOptions {
  dataDir: string;
  spec: ChainSpec;
  p2p: Partial<P2POptions>;
  apiHost: string;
  /** HTTP API port (default 8080, as in the Proof-of-Sync mining spec; 0 picks a free one) */
  apiPort: number;
  /**
   * when false the HTTP API (and its live stream) is built but listens on no port (`apiPort` is then
   * 0): a simulation's nodes open no TCP listener; default true
   */
  apiListen?: boolean;
  /** origins allowed to read the API from a browser (`--api-cors`; `*` for any); none when absent */
  apiCors?: string[];
  /** when false the node validates and relays but never produces (no slots, no PoW, no attestations) */
  produce: boolean;
  /** when false the node never mines PoW (fallback or `pow` chain blocks) but still serves templates */
  mine: boolean;
  /** mining worker threads (default: the config file's, else available parallelism) */
  miningWorkers?: number;
  /** the node's config file (`--config`); see `node/config.ts` */
  configFile?: string;
  /** key file; default `<dataDir>/node.key`, created on first start */
  keyFile?: string;
  /** shifts this node's clock (ms; drills simulate clock skew with it, the drift rule of docs/protocol.md §6) */
  clockOffsetMs?: number;
  /** bind address of the metrics listener (default 127.0.0.1) */
  metricsHost?: string;
  /** port of the metrics listener (`GET /metrics` only); off when undefined, 0 picks a free one */
  metricsPort?: number;
  /** sync tuning (strategy, chunk size, parallel requests) */
  sync?: Partial<SyncerOptions>;
  /**
   * start from this finalized checkpoint's state, fetched from the peers (`--checkpoint`, docs/protocol.md
   * §9.7), instead of replaying from genesis: an empty data dir only
   */
  checkpoint?: Checkpoint;
  /** ms a checkpoint start waits for a peer to serve the state (default CHECKPOINT_FETCH_TIMEOUT_MS) */
  checkpointTimeoutMs?: number;
  /** doppelganger detection after each start (`--doppelganger-detection`, docs/protocol.md §6.6 rule 5); default false */
  doppelgangerDetection?: boolean;
  /**
   * time and timers of the chain, producer, miner, sync, P2P, slashing protection and the node's
   * own heartbeat and status gossip; default `systemClock` (a simulation passes a VirtualClock)
   */
  clock?: Clock;
  /** random choices of the runtime (the dial backoff's jitter); default `systemRng` */
  rng?: Rng;
  /**
   * the network P2P listens and dials on; default WebSockets over TCP (`WsTransport`). A simulation
   * passes a `MemoryNetwork`'s transport (p2p/memoryTransport.ts)
   */
  transport?: Transport;
  /**
   * where the chain store and the slashing protection record live: "level" (default) LevelDB in
   * `<dataDir>/chaindata` and the record's file; "memory" both in memory only, lost at close (simulated
   * nodes: no data dir lock, nothing written there but the key file and admin token)
   */
  store?: "level" | "memory";
  /**
   * simulation only (src/sim/driver.ts runs many nodes in one process); a real node leaves it
   * undefined. See {@link SimNodeOptions}.
   */
  sim?: SimNodeOptions;
}

/**
 * What a simulated node does differently, none of it consensus or P2P behaviour (what it computes is
 * the same; where it is computed once for many nodes, it is a pure result): its key comes from
 * the simulation (no key file is read or written, no admin token file is written: the API does not
 * listen), and its metrics registry has no process-wide default metrics (event loop delay, GC, heap:
 * one process holds every node, and each registry's collectors would observe every GC of all of them).
 */
export interface SimNodeOptions {
  /** the node's key, instead of `keyFile` */
  key: NodeKey;
  /**
   * one parse per line for every node of the simulation (p2p/frameMemo.ts): the messages its peers
   * hand it are deep-frozen and shared with the other nodes, and the hashes and signature checks of
   * what they carry are computed once (consensus/immutable.ts); every node still validates and
   * imports every block itself
   */
  frames?: FrameMemo;
  /** with `store: "memory"`, the stored blocks' texts held once for every node (storage/chainDb.ts SharedValues) */
  values?: SharedValues;
  /**
   * with `store: "memory"`, the closed memory store of this node's previous run (`node.db` after
   * `close`), reopened with what it held instead of a new one: a crashed node restarting on its own
   * data (sim/faults.ts)
   */
  reopen?: ChainDb;
  /**
   * keep the slashing protection record in `<dataDir>` as a node on disk does, though the chain store
   * is in memory: a node the simulation restarts must not sign again what it signed before its crash
   */
  keepProtection?: boolean;
}

/** A running vision-node. */
export class VisionNode {
  private closing?: Promise<void>;
  private statusTimer?: Timer;
  private heartbeat?: Timer;
  /** the clock the node's own timers (heartbeat, status gossip) run on */
  private clock: Clock = systemClock;
  private metricsServer?: MetricsServer;
  private readonly seenBlocks = boundedLru<string, true>(4096);
  private readonly seenAttestations = boundedLru<string, true>(16_384);
  /**
   * `ebid:block_hash:target_height` → the first vote verified for it, or false once a second,
   * conflicting one was checked too: only a vote that conflicts with the held one is worth a
   * signature check (evidence). Keyed by target too: a vote for another target conflicts with
   * neither of a double vote's two, so held first it would hide both.
   */
  private readonly votesPerHead = boundedLru<string, Attestation | false>(16_384);
  /**
   * `ebid:target_height` of the votes checked past the cap of attestations per (ebid, height): only
   * one that is evidence (`EvidencePool.conflicts`) is, once per key.
   */
  private readonly evidenceChecked = boundedLru<string, true>(16_384);
  // the finalized checkpoint whose records last pruned the evidence pool (pruneEvidence)
  private evidencePrunedAt?: string;
  private readonly seenTxs = boundedLru<string, true>(65_536);
  private readonly journaled = new Set<string>();
  /** the mempool updates of head events, chained (see onHead) */
  private mempoolUpdates: Promise<void> = Promise.resolve();
  /** the schedule for the child of the tip, refreshed on each head (metrics and the live stream) */
  nextSchedule?: Schedule;
  /**
   * The live peers' heights that eligibility and the miner count: backed heights only
   * (`countedHeights`, docs/protocol.md §6.1).
   */
  countedPeerHeights: () => number[] = () => [];

  /** The record of what this node's key signed (docs/protocol.md §6.6): every block and vote is signed through it. */
  protection!: SlashingProtection;

  /** Slashing evidence this node found (docs/protocol.md §6.5): its producer includes it while the offender is slashable. */
  evidence!: EvidencePool;

  /** The metrics listener's port, when `metricsPort` was given. */
  get metricsPort(): number | undefined {
    return this.metricsServer?.port;
  }

  private constructor(
    readonly key: NodeKey,
    readonly db: ChainDb,
    readonly chain: Chain,
    readonly attestations: AttestationPool,
    readonly mempool: Mempool,
    readonly p2p: PeerManager,
    readonly syncer: Syncer,
    readonly snapshot: SnapshotUpdater,
    readonly claims: ClaimReceipts,
    readonly producer: Producer | undefined,
    readonly miner: Miner | undefined,
    readonly minerPool: MinerPool,
    readonly settings: NodeSettings,
    readonly metrics: Metrics,
    private readonly live: LiveStream,
    private readonly httpServer: Server,
    readonly apiPort: number,
    private readonly log: Logger,
  ) {}

  /**
   * Opens storage, the chain, P2P, sync, the producer and the API, in that order. A failure
   * closes what already started and rethrows.
   */
  static async init(opts: NodeOptions, log: Logger): Promise<VisionNode> {
    // Checked before anything is written: a bad option leaves the data dir as it was.
    const clock = opts.clock ?? systemClock;
    const p2pOpts = resolveP2POptions(opts.p2p, opts.spec.bootnodes);
    if (!opts.p2p.peers?.length && p2pOpts.peers.length) log.info({ bootnodes: p2pOpts.peers.length }, "No peers configured: dialling the chain spec's bootnodes");
    // The database first: its lock keeps a second node off this data dir before anything is written.
    // In memory the data dir holds only the key file and admin token: no lock, nothing else written.
    if (opts.store === "memory") mkdirSync(opts.dataDir, { recursive: true });
    const db = opts.store === "memory" ? await (opts.sim?.reopen ? opts.sim.reopen.reopenMemory() : ChainDb.openMemory(opts.sim?.values)) : await openDataDir(opts.dataDir);
    const cleanup: (() => Promise<void> | void)[] = [() => db.close()];
    try {
      // An older protocol's data dir is refused before the key file or admin token is touched.
      await Chain.refuseOlderProtocol(db, genesisBlock(opts.spec).hash);
      if (opts.checkpoint) await refuseCheckpointOnChain(db);
      const settings = new NodeSettings(opts.configFile, opts.sim ? undefined : join(opts.dataDir, "admin.token"));
      const keyFile = opts.keyFile ?? join(opts.dataDir, "node.key");
      const { key, created, blsAdded } = opts.sim ? { key: opts.sim.key, created: false, blsAdded: false } : loadOrCreateKey(keyFile);
      if (created) log.warn({ ebid: key.ebid, key_file: keyFile }, "Created a new node key: back it up");
      if (blsAdded) log.warn({ bls_pubkey: key.blsPubkey, key_file: keyFile }, `Node key had no BLS key: added one to ${keyFile} (protocol version 2 validators sign RANDAO reveals with it)`);
      // Before anything can sign: a record that cannot be read, or is another key's, stops the start.
      const protection = SlashingProtection.open(opts.dataDir, key.ebid, {
        checkpointInterval: checkpointIntervalOf(opts.spec.params),
        log: log.child({ module: "protection" }),
        onRefusal: (kind) => metrics.slashingProtectionRefusals.inc({ kind }),
        now: () => clock.now() + (opts.clockOffsetMs ?? 0), // the clock block timestamps are compared with
        clock,
        doppelgangerDetection: opts.doppelgangerDetection ?? false,
        persist: opts.store !== "memory" || opts.sim?.keepProtection === true,
      });
      cleanup.push(() => protection.flush());
      const offset = opts.clockOffsetMs ?? 0;
      const now = () => clock.now() + offset;
      if (offset !== 0) log.warn({ clock_offset_ms: offset }, "Clock offset in effect (testing)");
      if (opts.checkpoint) {
        const identity = { chainId: opts.spec.chain_id, genesisHash: genesisBlock(opts.spec).hash, ebid: key.ebid, secretKey: key.secretKey, agent: buildInfo().agent };
        await startFromCheckpoint(db, opts.spec, opts.checkpoint, { opts: p2pOpts, identity }, log, opts.checkpointTimeoutMs, { clock, rng: opts.rng, transport: opts.transport });
      }
      const chain = await Chain.open({ spec: opts.spec, now, clock }, { db, logger: log.child({ module: "chain" }) });
      cleanup.push(() => chain.close());
      // Votes remembered: four targets' worth of a full validator set at least (every vote within the
      // attestation window names one of two targets), so honest votes cannot push out the one a
      // double vote's other side must meet.
      const evidence = new EvidencePool(chain.domains, { maxVotes: Math.max(MAX_REMEMBERED_VOTES, 4 * opts.spec.params.max_validators) });
      const attestations = new AttestationPool({ epochLength: opts.spec.params.epoch_length });
      const mempool = new Mempool({ now: () => clock.now() });
      const claims = new ClaimReceipts();
      // Read at scrape time; the services below exist by the time anything scrapes.
      const metrics = createMetrics({
        height: () => chain.head.height,
        poolSize: () => node?.nextSchedule?.pool.length ?? 0,
        mySlot: () => node?.nextSchedule?.winners.indexOf(key.ebid) ?? -1,
        peers: () => p2p.readyPeers().length,
        mempoolSize: () => mempool.size,
        sync: () => syncer.progress,
        powHashes: () => minerPool.totalHashes,
        eligible: () => snapshot.eligible,
        finality: () => {
          const f = finalityView(chain); // the checkpoints the API reports
          return { finalized: f.finalized.height, justified: f.justified.height };
        },
        doppelganger: () => protection.doppelganger,
        meshPeers: () => p2p.gossip.meshSize(),
      }, { processMetrics: !opts.sim });
      chain.on("revealVerified", () => metrics.randaoRevealsVerifiedTotal.inc());
      // This key's blocks and votes, wherever they come from (a sync after restoring an old data
      // dir copy brings the later ones), raise the record; the recent canonical blocks at start too.
      chain.on("imported", (_meta, block) => protection.observeChainBlock(block));
      const interval = checkpointIntervalOf(opts.spec.params);
      for (const hash of (await chain.branchHashes(chain.head, chain.head.height - 2 * interval - opts.spec.params.attestation_max_age)).values()) {
        const block = await chain.getBlock(hash);
        if (block) protection.observeChainBlock(block);
      }
      // Evidence (docs/protocol.md §6.5): the chain's equivocation records, and FFG votes that
      // conflict with one seen before (blocks' attestations passed validation: active signers).
      chain.on("equivocation", () => {
        void chain.registryAfter(chain.head).then((registry) => evidence.fromChain(chain, registry)).catch((err) => log.warn({ err: (err as Error).message }, "Reading equivocation evidence failed"));
      });
      chain.on("head", (e) => {
        // slashing items of the blocks that joined the canonical chain with this head move
        const from = e.previous.height - e.reorgDepth + 1;
        if (e.reorgDepth === 0 && e.head.height === from) return countSlashings(e.head.hash);
        void chain.branchHashes(e.head, from).then((hashes) => { for (const h of hashes.values()) countSlashings(h); }, () => undefined);
      });
      // The item counts of recently imported blocks ("imported" comes before its "head"), so a block
      // joining the canonical chain is read back only when it was imported long ago (a deep reorg).
      const slashingCounts = boundedLru<string, number>(4096);
      const countSlashings = (hash: string) => {
        const n = slashingCounts.get(hash);
        if (n !== undefined) return void (n > 0 && metrics.slashingsTotal.inc(n));
        void chain.getBlock(hash).then((b) => b?.slashings.length && metrics.slashingsTotal.inc(b.slashings.length), () => undefined);
      };
      chain.on("imported", (meta, block, seconds) => {
        slashingCounts.set(meta.hash, block.slashings.length);
        attestations.noteBlock(block); // what its branch carries is not selected again there
        for (const a of block.attestations) evidence.noteVote(a);
        // items carried by blocks from elsewhere too (validated on import): should a reorg drop the block, they go in again
        for (const item of block.slashings) evidence.add(item, undefined, true);
        metrics.blockImportSeconds.observe(seconds);
        metrics.blocksImportedTotal.inc();
      });
      // Late-bound: P2P handlers call into the node once it exists.
      let node: VisionNode | undefined;
      const p2p = new PeerManager(
        p2pOpts,
        { chainId: opts.spec.chain_id, genesisHash: chain.genesis.hash, ebid: key.ebid, secretKey: key.secretKey, agent: buildInfo().agent },
        {
          status: () => ({ height: chain.head.height, tip_hash: chain.head.hash }),
          onPeerReady: (p) => node?.onPeerReady(p),
          onMessage: (p, msg) => node?.onMessage(p, msg),
          onRequest: (_p, path, data) => handleSyncRequest(chain, path, data),
          onTraffic: (direction, type, bytes) => metrics.countP2P(direction, type, bytes),
          // an iwant for a block the gossip cache dropped: the store has it (docs/protocol.md §9.5.1)
          gossipBody: async (kind, id) => {
            if (kind !== "block") return undefined;
            const block = await chain.getBlock(id);
            return block ? { type: "block", block } : undefined;
          },
          onGossipDuplicate: (kind) => metrics.gossipDuplicatesTotal.inc({ kind }),
          onGossipControl: (control, direction, ids) => metrics.gossipControlIdsTotal.inc({ control, direction }, ids),
        },
        log.child({ module: "p2p" }),
        // the mesh gossip heartbeat runs on the node's own 1 s heartbeat below: one timer fewer per node
        { clock, rng: opts.rng, transport: opts.transport, externalGossipHeartbeat: true, parse: opts.sim?.frames?.parse },
      );
      const livePeers = () => p2p.readyPeers().filter((p) => clock.now() - p.lastSeen <= PEER_LIVE_MS);
      const syncer = new Syncer(
        { chain, peers: () => p2p.readyPeers(), penalize: (p, r) => p2p.penalize(p, r), log: log.child({ module: "sync" }), clock },
        opts.sync,
      );
      // Only peers heard from lately count: a partition that leaves sockets open (no RST, no FIN)
      // must still make this node ineligible well before keepalive gives up on the connection. And
      // only backed heights count (docs/protocol.md §6.1): a claim nobody has shown moves nothing.
      const peerHeights = () =>
        countedHeights(
          livePeers().map((p) => ({ claimed: p.height, backed: p.backedHeight, serving: p === syncer.serving })),
          chain.head.height,
          opts.spec.params,
        );
      const snapshot = new SnapshotUpdater(
        opts.spec.params,
        { tip: () => chain.head, peerHeights },
        log.child({ module: "mining" }),
        undefined,
        clock,
      );
      const pow = opts.spec.consensus === "pow";
      const producer = opts.produce && !pow
        ? new Producer(
            { ebid: key.ebid, secretKey: key.secretKey, blsSecretKey: key.blsSecretKey, now, clock },
            {
              chain,
              attestations,
              mempool,
              claims,
              isEligible: () => snapshot.eligible,
              broadcast: (b) => p2p.publish("block", b.hash, { type: "block", block: b }, true),
              protection,
              evidence,
              log: log.child({ module: "mining" }),
              metrics,
            },
          )
        : undefined;
      // Proof-of-Sync nodes mine only the fallback: their workers go after a minute without a job.
      const minerPool = new MinerPool({ workers: opts.miningWorkers ?? settings.values.miningWorkers, idleStopMs: pow ? undefined : FALLBACK_WORKERS_IDLE_MS });
      cleanup.push(() => minerPool.stop());
      const miner = opts.produce && opts.mine
        ? new Miner(
            { ebid: key.ebid, secretKey: key.secretKey, blsSecretKey: key.blsSecretKey, delayMs: () => settings.delayMs, minDifficulty: () => settings.minDifficulty, now, clock },
            {
              chain,
              attestations,
              mempool,
              pool: minerPool,
              canMine: () => {
                if (syncer.progress.syncing) return false;
                if (!pow) return snapshot.eligible; // the fallback: an eligible validator, or anyone while none is active (docs/protocol.md §6.3; the miner checks who)
                // pow chains: enough live peers with backed heights, read now (blocks can come faster
                // than the 1 s snapshot); being at the tip is checked per job against them (fix 1).
                return peerHeights().length >= opts.spec.params.min_ready_peers;
              },
              // backed heights only: one peer claiming a height it never shows must not stop mining
              networkHeight: () => Math.max(-1, ...peerHeights()),
              broadcast: (b) => p2p.publish("block", b.hash, { type: "block", block: b }, true),
              protection,
              evidence,
              log: log.child({ module: "miner" }),
              metrics,
            },
          )
        : undefined;
      // On pow chains the workers are ready before mining starts; Proof-of-Sync nodes start them on
      // their first fallback job (the miner waits for them before it starts, so aborts stay prompt).
      if (miner && pow) await minerPool.start();
      await p2p.start();
      cleanup.push(() => p2p.stop());
      // Late-bound like the P2P handlers: the API submits transactions through the node.
      const apiModules: ApiModules = {
        chain, p2p, snapshot, claims, syncer, attestations, mempool, ebid: key.ebid, blsPubkey: key.blsPubkey, startedAt: Date.now(), protection,
        submitTx: (tx) => node!.submitTx(tx),
        metrics,
        mining: {
          template: async (producer) => {
            const parent = chain.head;
            const plan = await powPlan(chain, parent, settings.minDifficulty);
            const fields = { producer, slot: null, timestamp: Math.max(now(), plan.opensAt), difficulty: plan.difficulty };
            // with the evidence pool, as the node's own producer and miner (docs/protocol.md §6.5)
            return { template: await buildTemplate({ chain, attestations, mempool, log, evidence }, parent, fields), plan };
          },
          submit: (block) => node!.submitMinedBlock(block),
          settings,
          refreshConfig: () => {
            const changes = settings.refresh();
            log.info({ changes }, "Configuration reloaded");
            return changes;
          },
          miner,
          workers: minerPool.size,
          totalHashes: () => minerPool.totalHashes,
          producingAs: producer || miner ? key.ebid : undefined,
        },
      };
      const app = createApi(apiModules, { cors: opts.apiCors });
      // The validator activity index (`GET /api/validators`) follows heads from start.
      const activity = validatorActivity(chain);
      cleanup.push(() => activity.close());
      const apiListener = withFastPath(apiModules, { cors: opts.apiCors }, getRequestListener(app.fetch));
      const { server, port } = opts.apiListen === false ? { server: createHttpServer(apiListener), port: 0 } : await listen(apiListener, opts.apiHost, opts.apiPort);
      cleanup.push(() => new Promise<void>((r) => server.close(() => r())));
      const live = attachLiveStream(server, apiModules);
      cleanup.push(() => live.close());
      const metricsServer = opts.metricsPort === undefined ? undefined : await startMetricsServer({ host: opts.metricsHost ?? "127.0.0.1", port: opts.metricsPort }, withFastPath(apiModules, {}, getRequestListener(app.fetch)));
      if (metricsServer) {
        cleanup.push(() => metricsServer.close());
        log.info({ url: `http://${opts.metricsHost ?? "127.0.0.1"}:${metricsServer.port}/metrics` }, "Metrics listening");
      }
      node = new VisionNode(key, db, chain, attestations, mempool, p2p, syncer, snapshot, claims, producer, miner, minerPool, settings, metrics, live, server, port, log);
      node.clock = clock;
      node.metricsServer = metricsServer;
      node.protection = protection;
      node.evidence = evidence;
      // Doppelganger detection (docs/protocol.md §6.6): votes arm once the synced head passed a full
      // checkpoint interval with no vote of this key that this process did not sign (observe path above).
      const synced = () => snapshot.eligible && !syncer.progress.syncing;
      chain.on("head", (e) => protection.noteHead(e.head.height, synced()));
      node.countedPeerHeights = peerHeights;
      chain.on("head", (e) => node!.onHead(e));
      node.nextSchedule = await chain.scheduleFor(chain.head);
      await node.refreshActive(chain.head);
      // What the head's last attestation_max_age blocks carry (imports note it from now on).
      for (const hash of (await chain.branchHashes(chain.head, chain.head.height - opts.spec.params.attestation_max_age + 1)).values()) {
        const block = await chain.getBlock(hash);
        if (block) attestations.noteBlock(block);
      }
      await node.restoreJournal();
      node.heartbeat = clock
        .setInterval(() => {
          node!.scheduleStatus();
          node!.p2p.gossipHeartbeat();
          node!.syncer.checkClaims();
          protection.noteHead(chain.head.height, synced());
          if (node!.mempool.expire() > 0) void node!.trimJournal();
        }, STATUS_HEARTBEAT_MS)
        .unref();
      snapshot.start();
      producer?.start();
      miner?.start();
      const build = buildInfo();
      log.info({ ebid: key.ebid, bls_pubkey: key.blsPubkey, p2p_port: p2p.port, api: `http://${opts.apiHost}:${port}`, height: chain.head.height, version: build.version, commit: build.commit }, "Node started");
      return node;
    } catch (e) {
      for (const c of cleanup.reverse()) await Promise.resolve(c()).catch(() => undefined);
      throw e;
    }
  }

  /** Stops everything in reverse order of `init`. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.log.info("Node stopping");
      await this.producer?.stop();
      await this.miner?.stop();
      await this.minerPool.stop();
      this.protection.flush();
      this.clock.clearTimeout(this.statusTimer);
      this.clock.clearInterval(this.heartbeat);
      this.syncer.stop();
      this.snapshot.stop();
      await this.metricsServer?.close();
      this.metrics.stop();
      this.live.close();
      await new Promise<void>((r) => {
        this.httpServer.close(() => r());
        this.httpServer.closeAllConnections?.();
      });
      await this.p2p.stop();
      await this.mempoolUpdates;
      await this.chain.close();
      await this.db.close();
      this.log.info("Node stopped");
    })();
    return this.closing;
  }

  // Status gossip is coalesced: during a sync the head moves hundreds of times a second, and one
  // status per head would flood every peer (and trip their rate limits).
  private scheduleStatus(): void {
    if (this.statusTimer) return;
    this.statusTimer = this.clock
      .setTimeout(() => {
        this.statusTimer = undefined;
        this.p2p.broadcast({ type: "status", height: this.chain.head.height, tip_hash: this.chain.head.hash });
      }, STATUS_COALESCE_MS)
      .unref();
  }

  private onPeerReady(peer: Peer): void {
    peer.send({ type: "status", height: this.chain.head.height, tip_hash: this.chain.head.hash });
    const others = this.p2p.addressesFor(peer);
    if (others.length) peer.send({ type: "peers", peers: others });
    this.syncer.maybeSync(peer);
  }

  private onMessage(peer: Peer, msg: Message): void {
    switch (msg.type) {
      case "status":
        this.syncer.maybeSync(peer);
        return;
      case "block":
        void this.onBlock(peer, msg.block as Block);
        return;
      case "attestation":
        this.onAttestation(peer, msg.attestation);
        return;
      case "tx":
        this.onTx(peer, msg.tx as Tx);
        return;
    }
  }

  private async onBlock(peer: Peer, block: Block): Promise<void> {
    // The mesh learns who holds it (and counts a duplicate) before any check: gossip ids are claims
    // until the block validates, but a peer sending a bad one is struck below anyway.
    this.p2p.gossipReceived(peer, "block", block.hash);
    if (this.seenBlocks.has(block.hash)) return;
    this.seenBlocks.set(block.hash, true);
    const height = block.header.height;
    try {
      const out = await this.chain.importBlock(block, { source: `peer:${peer.ebid ?? peer.remoteAddress}` });
      if (out.status === "imported" || out.status === "known") {
        // A valid block backs its height (docs/protocol.md §6.1); an unvalidated one only claims it.
        if (height > peer.height) peer.claim(height, block.hash);
        peer.back(height);
        if (out.status === "imported") {
          this.knowAttestations(block);
          // Side blocks that cannot become the head are stored, not relayed (docs/protocol.md §9.5).
          if (out.newHead || this.chain.worthRelaying(out.meta)) this.p2p.publish("block", block.hash, { type: "block", block });
        }
      } else if (out.status === "unknown-parent") {
        if (height > peer.height) peer.claim(height, block.hash);
        this.syncer.maybeSync(peer);
      }
    } catch (e) {
      this.seenBlocks.delete(block.hash);
      // A full import queue is this node's state, not the sender's fault (docs/protocol.md §9.4).
      if (e instanceof BlockError && e.code === "BUSY") this.log.debug({ hash: block.hash, err: e.message }, "Block refused: import queue full");
      else if (e instanceof BlockError) {
        // A forged copy (a real hash on another header or body) must not hide the real block.
        this.p2p.gossipRejected(peer, "block", block.hash);
        this.p2p.penalize(peer, `invalid block: ${e.code}: ${e.message}`);
      }
      else this.log.error({ err: (e as Error).message }, "Block import failed");
    }
  }

  /**
   * Accepts a transfer into the mempool (signature, chain id, amounts, nonce, balance over pending)
   * and gossips it (never back to a peer that sent it: the mesh gossip knows it holds it). Used by
   * `POST /api/tx` and for gossip (`relayed`: it came from a peer; else it is published to every peer).
   * @throws TxError naming the rule it broke
   */
  async submitTx(tx: Tx, relayed = false): Promise<AddOutcome> {
    const out = this.mempool.admit(tx, this.chain.spec.chain_id, await this.chain.headState(txAddresses(tx)), this.chain.txRules);
    this.seenTxs.set(out.hash, true);
    if (out.status !== "known") {
      // Journaled before anyone is told it was accepted: a crash after this loses nothing.
      await this.db.journalTx(out.hash, tx);
      this.journaled.add(out.hash);
      this.p2p.publish("tx", out.hash, { type: "tx", tx }, !relayed);
    }
    return out;
  }

  /**
   * Imports a block mined elsewhere (the chain-core mining API's `POST /submit_block`) and gossips it when it is valid.
   * @throws BlockError naming the rule it broke
   */
  async submitMinedBlock(block: Block): Promise<SubmitOutcome> {
    this.seenBlocks.set(block.hash, true);
    // The API is one more source for the held and parked bounds (docs/protocol.md §6.4).
    const out = await this.chain.importBlock(block, { source: "api" }).catch((e) => {
      this.seenBlocks.delete(block.hash);
      throw e;
    });
    const tip = { height: this.chain.head.height, hash: this.chain.head.hash };
    switch (out.status) {
      case "imported":
        this.knowAttestations(block);
        // Peers run their own fork choice; a side block that cannot become the head is not relayed.
        if (out.newHead || this.chain.worthRelaying(out.meta)) this.p2p.publish("block", block.hash, { type: "block", block }, true);
        if (out.newHead) {
          this.log.info({ height: out.meta.height, hash: block.hash, producer: block.header.producer }, "Accepted submitted block");
          return { status: "accepted", height: out.meta.height, hash: block.hash, total_weight: out.meta.total_weight, reorg_depth: out.reorgDepth, known: false };
        }
        return { status: "stale", height: out.meta.height, hash: block.hash, tip };
      case "known":
        if (out.meta.is_canonical) {
          return { status: "accepted", height: out.meta.height, hash: block.hash, total_weight: out.meta.total_weight, reorg_depth: 0, known: true };
        }
        return { status: "stale", height: out.meta.height, hash: block.hash, tip };
      case "held":
        return { status: "held", due_at: out.dueAt };
      case "unknown-parent":
        for (const p of this.p2p.readyPeers()) this.syncer.maybeSync(p);
        return { status: "need_sync", parent_hash: out.parentHash, from_index: tip.height + 1, to_index: block.header.height - 1 };
    }
  }

  /** Drops journal entries of transactions that left the pool (included, replaced, evicted, expired). */
  private async trimJournal(): Promise<void> {
    const gone = [...this.journaled].filter((h) => !this.mempool.has(h));
    if (gone.length === 0) return;
    for (const h of gone) this.journaled.delete(h);
    await this.db.unjournalTxs(gone);
  }

  /** Re-admits journaled transactions after a restart, in nonce order, against the head state. */
  private async restoreJournal(): Promise<void> {
    const txs = (await this.db.loadJournal()).sort((a, b) => a.nonce - b.nonce);
    const dropped: string[] = [];
    for (const tx of txs) {
      const hash = txHash(tx);
      try {
        this.mempool.admit(tx, this.chain.spec.chain_id, await this.chain.headState(txAddresses(tx)), this.chain.txRules);
        this.journaled.add(hash);
      } catch {
        dropped.push(hash); // included before the restart, or no longer valid
      }
    }
    await this.db.unjournalTxs(dropped);
    if (txs.length) this.log.info({ restored: txs.length - dropped.length, dropped: dropped.length }, "Mempool journal restored");
  }

  private onTx(peer: Peer, tx: Tx): void {
    const hash = txHash(tx);
    this.p2p.gossipReceived(peer, "tx", hash);
    if (this.seenTxs.has(hash)) return;
    this.seenTxs.set(hash, true);
    this.submitTx(tx, true).catch((e) => {
      // A stale nonce or a balance spent meanwhile is normal in gossip; a forged one (a bad
      // signature, or a bond's bad BLS key or proof of possession) is not.
      if (e instanceof TxError && STRIKE_TX_CODES.has(e.code)) {
        // The hash leaves the signature out: a copy with a forged one must not hide the real transfer.
        this.seenTxs.delete(hash);
        this.p2p.gossipRejected(peer, "tx", hash);
        this.p2p.penalize(peer, `invalid transaction: ${e.code}`);
      }
      else if (!(e instanceof TxError)) this.log.warn({ err: (e as Error).message }, "Transaction not journaled");
    });
  }

  // Transactions leave the pool when included; those of orphaned blocks come back (docs/protocol.md §7)
  // and are journaled like a submitted transfer, so a restart after the reorg still has them.
  private async updateMempool(e: HeadEvent): Promise<void> {
    const returned = new Map<string, Tx>();
    // oldest block first, so each sender's transactions come back in nonce order (a withdraw before
    // the transfers its bond pays for)
    const blocks = [];
    for (const hash of [...e.orphaned].reverse()) blocks.push(await this.chain.getBlock(hash));
    // one view of the new head for every sender, not one per transaction
    const head = await this.chain.headState(new Set(blocks.flatMap((b) => (b?.txs ?? []).map((tx) => tx.from))));
    for (const block of blocks) {
      for (const tx of block?.txs ?? []) {
        try {
          const out = this.mempool.readd(tx, head);
          if (out.status !== "known") returned.set(out.hash, tx);
        } catch {
          // included on the new branch too, or no longer affordable
        }
      }
    }
    const senders = this.mempool.senders();
    this.mempool.removeIncluded(await this.chain.headState(senders), senders);
    const kept = [...returned].filter(([h]) => this.mempool.has(h) && !this.journaled.has(h));
    if (kept.length) {
      await this.db.journalTxs(kept);
      for (const [h] of kept) this.journaled.add(h);
    }
    await this.trimJournal();
  }

  private onAttestation(peer: Peer, a: MessageOf<"attestation">["attestation"]): void {
    // Every copy is shown to the mesh by its gossip id (a canonical hash), even one ignored below: it
    // may be the answer to our iwant, and an announcer that delivered must not be struck for it.
    const gossipId = attestationGossipId(a);
    this.p2p.gossipReceived(peer, "attestation", gossipId);
    // Seen by content: a second vote of one validator for the same head with another FFG vote is
    // evidence (a double vote), not a copy.
    if (this.seenAttestations.has(gossipId)) return;
    const head = this.chain.head.height;
    const maxAge = this.chain.spec.params.attestation_max_age;
    if (a.height > head + 1 || a.height + maxAge < head) return; // stale or far ahead: ignore quietly
    // Only validators active at epoch(head) or epoch(head + 1), checked before the signature (a
    // lookup, so unbonded keys cost nothing): others are ignored quietly, not struck (one that just
    // exited is not hostile), not stored and not relayed.
    if (!this.activeNowOrNext(a.ebid)) return;
    // The FFG vote's shape (docs/protocol.md §5), before the signature: an honest node never sends another.
    const fault = this.ffgShapeFault(a);
    if (fault) return this.p2p.penalize(peer, `attestation FFG vote: ${fault}`);
    // A bounded few per (ebid, height) are held and relayed: past them, only a vote that conflicts
    // with one the evidence pool remembers of its voter is checked, once per (ebid, target height),
    // so one side of a double vote filling the cap cannot hide the other side.
    let headKey: string | undefined;
    let held: Attestation | false | undefined;
    const evidenceKey = this.attestations.full(a.ebid, a.height) ? `${a.ebid}:${a.target_height}` : undefined;
    if (evidenceKey !== undefined) {
      if (this.evidenceChecked.has(evidenceKey) || !this.evidence.conflicts(a)) return;
    } else {
      // One vote per (voter, head, target), and one conflicting with it for evidence: no other is
      // checked (a variant that conflicts with nothing held must not use up the room a double vote needs).
      headKey = `${a.ebid}:${a.block_hash}:${a.target_height}`;
      held = this.votesPerHead.get(headKey);
      if (held === false || (held && votesConflict(held, a) === null)) return;
    }
    if (!verify(this.chain.domains.attest, a, a.sig, a.ebid)) {
      // The gossip id leaves the signature out: a copy with a forged one must not hide the real vote.
      this.p2p.gossipRejected(peer, "attestation", gossipId);
      return this.p2p.penalize(peer, "attestation signature invalid");
    }
    this.seenAttestations.set(gossipId, true);
    if (evidenceKey !== undefined) this.evidenceChecked.set(evidenceKey, true);
    if (headKey !== undefined) this.votesPerHead.set(headKey, held ? false : a);
    // A vote that conflicts with one seen before is evidence; one of this node's key (an old copy
    // of this data dir running elsewhere, or a restore) raises the protection record.
    const evidence = this.evidence.noteVote(a);
    if (evidence) this.log.warn({ ebid: a.ebid, target_height: a.target_height }, "Slashing evidence: conflicting FFG votes");
    if (a.ebid === this.key.ebid) this.protection.observeVote({ source_height: a.source_height, source_hash: a.source_hash, target_height: a.target_height, target_hash: a.target_hash });
    // Relay only what is new: not one the pool already holds (seenAttestations is bounded and
    // forgets); and the vote that made new evidence here, so that every node sees both sides (at
    // most once per offender: the evidence pool takes one item per offender).
    if (this.attestations.add(a) || evidence) this.p2p.publish("attestation", gossipId, { type: "attestation", attestation: a });
  }

  /**
   * Gives the attestation pool the validators active at epoch(head) .. epoch(head + 2) from the
   * registry after `head` (activity is fixed two epochs ahead: docs/protocol.md §5), so the gossip
   * check, the attesting decision and the selection are lookups.
   */
  private async refreshActive(head: BlockMeta): Promise<void> {
    const registry = await this.chain.registryAfter(head);
    const L = this.chain.spec.params.epoch_length;
    for (let e = epochAt(head.height, L); e <= epochAt(head.height + 2, L); e++) this.attestations.setActive(e, activeAt(registry, e));
    await this.pruneEvidence();
    // The metrics of the next height: its epoch's active validators, and those of them in its pool.
    const next = epochAt(head.height + 1, L);
    const pool = (await this.chain.scheduleFor(head)).pool;
    if (this.chain.head.hash !== head.hash) return; // a later head's refresh sets them
    this.metrics.validatorsActive.set(this.attestations.activeCount(next) ?? 0);
    this.metrics.validatorsLive.set(pool.filter((ebid) => this.attestations.isActive(ebid, next) === true).length);
  }

  // Drops the evidence against offenders slashed (or withdrawn) at the finalized checkpoint, once
  // per checkpoint: not at the head, since a reorg can undo the head's slashings and make their
  // offenders slashable again (docs/protocol.md §6.5).
  private async pruneEvidence(): Promise<void> {
    const finalized = this.chain.finalizedCheckpoint;
    if (finalized.hash === this.evidencePrunedAt) return;
    const meta = await this.chain.getMeta(finalized.hash);
    if (!meta || finalized.hash !== this.chain.finalizedCheckpoint.hash) return;
    this.evidence.prune(await this.chain.registryAfter(meta));
    this.evidencePrunedAt = finalized.hash;
  }

  // What an attestation's FFG vote must be whatever the branch (docs/protocol.md §5): the target at the
  // checkpoint height of its head; in interval 0 genesis as source and target; else a source at a
  // checkpoint height below the target. Which blocks they name is checked in a block (validation.ts).
  private ffgShapeFault(a: Attestation): string | undefined {
    const I = this.chain.spec.params.checkpoint_interval;
    const g = this.chain.genesis.hash;
    if (a.target_height !== checkpointHeight(a.height, I)) return `target height ${a.target_height} is not the checkpoint of height ${a.height}`;
    if (a.target_height === 0) return a.source_height === 0 && a.source_hash === g && a.target_hash === g ? undefined : "a vote in interval 0 has genesis as source and target";
    if (a.source_height >= a.target_height || a.source_height % I !== 0) return `source height ${a.source_height} is not a checkpoint below the target`;
    return undefined;
  }

  /**
   * The FFG vote for an attestation of `head` (docs/protocol.md §5, node policy): target = the
   * checkpoint of the head's interval on its branch, source = the greatest justified checkpoint of
   * F(head) below it (genesis for both in interval 0); the first vote for a target keeps its
   * source: when the protection record's vote is for this target, its source (another checkpoint
   * at that height gives undefined); a new target only once its block has no sibling that fork
   * choice could prefer (`checkpointVoteReady`: slot 0, descendants weighing its branch past 2, or
   * the interval's last head), else undefined. Whether it may be signed is the record's
   * (`signVote`).
   */
  private async ffgVoteFor(head: BlockMeta): Promise<{ source: Checkpoint; target: Checkpoint } | undefined> {
    const I = this.chain.spec.params.checkpoint_interval;
    const th = checkpointHeight(head.height, I);
    const targetHash = th === head.height ? head.hash : (await this.chain.branchHashes(head, th)).get(th);
    if (targetHash === undefined) return undefined;
    const target = { height: th, hash: targetHash };
    const recorded = this.protection.record.target;
    if (recorded && recorded.target_height === th && th > 0) {
      return recorded.target_hash === targetHash ? { source: { height: recorded.source_height, hash: recorded.source_hash }, target } : undefined;
    }
    // A new target only once no sibling can take its height by fork choice alone (a backup's
    // checkpoint block waits for a child): a vote for a displaced block is spent.
    if (th > this.chain.finalizedCheckpoint.height && head.height < th + I - 1) {
      const cp = th === head.height ? head : await this.chain.getMeta(targetHash);
      const parent = cp && (await this.chain.getMeta(cp.parent_hash));
      if (!cp || (parent && !checkpointVoteReady(cp, BigInt(head.total_weight) - BigInt(parent.total_weight), head.height, I))) return undefined;
    }
    let source: Checkpoint | undefined;
    if (th === 0) source = target;
    else {
      const f = await this.chain.finalityOf(head.hash);
      source = f && voteSource(f.justified_recent, th);
    }
    if (!source) return undefined;
    return { source, target };
  }

  /** Whether `ebid` is a validator active at epoch(head) or epoch(head + 1). */
  private activeNowOrNext(ebid: string): boolean {
    const h = this.chain.head.height;
    const L = this.chain.spec.params.epoch_length;
    return this.attestations.isActive(ebid, epochAt(h, L)) === true || this.attestations.isActive(ebid, epochAt(h + 1, L)) === true;
  }

  // The attestations an imported block carries are known: gossip of them is not relayed again.
  private knowAttestations(block: Block): void {
    for (const a of block.attestations) this.seenAttestations.set(attestationGossipId(a), true);
  }

  private onHead(e: HeadEvent): void {
    const head = e.head;
    this.scheduleStatus();
    // Peers that reported this tip before we held it have now backed their claim.
    for (const p of this.p2p.readyPeers()) if (p.claimSince !== undefined && p.tipHash === head.hash && p.height === head.height) p.back(head.height);
    this.metrics.miningSlotDistribution.observe(head.slot ?? POW_SLOT_BUCKET);
    if (e.reorgDepth > 0) {
      this.metrics.reorgsTotal.inc();
      this.metrics.reorgDepth.observe(e.reorgDepth);
    }
    this.chain.scheduleFor(head).then((s) => (this.nextSchedule = s), () => undefined);
    // Activity first (the attesting decision reads it), then attest if this head is still the head.
    this.refreshActive(head).then(
      () => this.maybeAttest(head).catch((err) => this.closing || this.log.warn({ err: (err as Error).message }, "Attesting failed")),
      (err) => this.log.warn({ err: (err as Error).message }, "Validator registry read failed"),
    );
    // One update at a time, in head order; close() waits for the last before closing the database.
    this.mempoolUpdates = this.mempoolUpdates.then(() => this.updateMempool(e)).catch((err) => this.log.warn({ err: (err as Error).message }, "Mempool update failed"));
    this.attestations.prune(head.height - 2 * this.chain.spec.params.attestation_max_age);
  }

  /**
   * Proof-of-Sync made verifiable: an eligible node attests each new tip it holds (docs/protocol.md
   * §5). Attesting volunteers for slots, so nodes that never produce do not attest, and only a
   * validator active at epoch(head) or epoch(head + 1) attests (pow chains have none).
   */
  private async maybeAttest(head: BlockMeta): Promise<void> {
    if (this.chain.head.hash !== head.hash || this.closing) return;
    if (this.producer && this.snapshot.eligible && !this.syncer.progress.syncing && this.activeNowOrNext(this.key.ebid)) {
      const vote = await this.ffgVoteFor(head);
      if (!vote || this.chain.head.hash !== head.hash || this.closing) return;
      const { source, target } = vote;
      const body = { ebid: this.key.ebid, height: head.height, block_hash: head.hash, source_height: source.height, source_hash: source.hash, target_height: target.height, target_hash: target.hash };
      // through slashing protection (docs/protocol.md §6.6): recorded durably before it is signed;
      // refused (logged, counted) when it would conflict with a vote this key signed or was seen to sign
      const ffg = { source_height: source.height, source_hash: source.hash, target_height: target.height, target_hash: target.hash };
      const a: Attestation | undefined = this.protection.signVote(ffg, () => ({ ...body, sig: sign(this.chain.domains.attest, body, this.key.secretKey) }));
      if (!a) return;
      const gossipId = attestationGossipId(a);
      this.seenAttestations.set(gossipId, true);
      this.attestations.add(a);
      this.p2p.publish("attestation", gossipId, { type: "attestation", attestation: a }, true);
    }
  }
}

function listen(listener: RequestListener, hostname: string, port: number): Promise<{ server: Server; port: number }> {
  return new Promise((resolve, reject) => {
    const server = createHttpServer(listener);
    server.once("error", reject);
    server.listen(port, hostname, () => resolve({ server, port: (server.address() as AddressInfo).port }));
  });
}
