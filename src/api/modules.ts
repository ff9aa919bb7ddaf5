/** What the HTTP API reads: narrow views of the node's services. */
import type { Chain } from "../chain/chain.ts";
import type { PeerManager } from "../p2p/peerManager.ts";
import type { SnapshotUpdater } from "../producer/snapshot.ts";
import type { ClaimReceipts } from "../producer/claims.ts";
import type { Syncer } from "../sync/syncer.ts";
import type { AttestationPool } from "../chain/attestationPool.ts";
import type { AddOutcome, Mempool } from "../chain/mempool.ts";
import type { Tx } from "../consensus/types.ts";

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
  /** this node's EBID */
  ebid: string;
  /** ms since the epoch when the node started */
  startedAt: number;
}
