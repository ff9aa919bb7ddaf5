/** What the HTTP API reads: narrow views of the node's services. */
import type { Chain } from "../chain/chain.ts";
import type { PeerManager } from "../p2p/peerManager.ts";
import type { SnapshotUpdater } from "../producer/snapshot.ts";
import type { ClaimReceipts } from "../producer/claims.ts";
import type { Syncer } from "../sync/syncer.ts";
import type { AttestationPool } from "../chain/attestationPool.ts";
import type { AddOutcome, Mempool } from "../chain/mempool.ts";
import type { Block, Tx } from "../consensus/types.ts";
import type { BlockTemplate, PowPlan } from "../producer/template.ts";
import type { Miner } from "../producer/miner.ts";
import type { Metrics } from "../metrics/index.ts";

/** What `POST /submit_block` (the chain-core mining API) made of a block. */
export type SubmitOutcome =
  | { status: "accepted"; height: number; hash: string; total_weight: string; reorg_depth: number; known: boolean }
  | { status: "stale"; height: number; hash: string; tip: { height: number; hash: string } }
  | { status: "need_sync"; parent_hash: string; from_index: number; to_index: number }
  | { status: "held"; due_at: number };

/** The PoW side of the node, as the chain-core mining API needs it. */
export interface MiningApi {
  /** a template on the current tip with `producer` as its producer (nonce 0, unsigned) */
  template(producer: string): Promise<{ template: BlockTemplate; plan: PowPlan }>;
  /** imports a mined block and gossips it when valid; rejects with BlockError */
  submit(block: Block): Promise<SubmitOutcome>;
  settings: {
    /** the config file's `mining_difficulty` (0 when unset) */
    readonly configDifficulty: number;
    readonly difficultyOverride: number | null;
    /** the node's own minimum: the override, else the config's */
    readonly minDifficulty: number;
    readonly delayMs: number;
    setOverride(d: number | null): void;
    /** constant-time check of the admin bearer token */
    checkToken(token: string): boolean;
  };
  /** re-reads the config file; throws (with a message for the operator) when it cannot */
  refreshConfig(): Record<string, { old: unknown; new: unknown }>;
  miner?: Pick<Miner, "stats" | "rates" | "recentJobs">;
  /** mining worker threads */
  workers: number;
  /** hashes tried since start */
  totalHashes(): number;
  /**
   * The EBID the node signs its own blocks with when it produces them (`--produce`: slot blocks,
   * the fallback or a pow chain's blocks), undefined when it produces none: `/mine_block` hands no
   * template to this key (two signers of one key sign two blocks at a height: docs/protocol.md §6.6)
   */
  producingAs?: string;
}

/** The services the API reads; `api` never imports `node/`. */
export interface ApiModules {
  chain: Chain;
  p2p: Pick<PeerManager, "readyPeers" | "health">;
  snapshot: Pick<SnapshotUpdater, "current" | "eligible">;
  claims: ClaimReceipts;
  syncer: Pick<Syncer, "progress">;
  attestations: Pick<AttestationPool, "size">;
  mempool: Pick<Mempool, "size" | "get" | "list">;
  /** accepts a transfer into the mempool (journaled) and gossips it; rejects with TxError */
  submitTx(tx: Tx): Promise<AddOutcome>;
  mining: MiningApi;
  /** Prometheus registry for `GET /metrics` */
  metrics?: Pick<Metrics, "registry" | "exposition">;
  /** this node's EBID */
  ebid: string;
  /** this node's BLS public key (96 hex), when it has one */
  blsPubkey?: string;
  /** ms since the epoch when the node started */
  startedAt: number;
  /** the node's slashing protection (docs/protocol.md §6.6): whether votes are armed (or the head height they arm at), and whether another running instance of its key was seen */
  protection?: { readonly armed: boolean; readonly armsAt: number | undefined; readonly doppelganger: boolean };
}
