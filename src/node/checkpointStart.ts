/**
 * `start --checkpoint HEIGHT:HASH` (docs/protocol.md §9.7): on an empty data dir, fetches the state
 * at the checkpoint from the configured peers (or the chain spec's bootnodes) over a short-lived P2P
 * service, verifies it and writes it as the chain's base in one batch. The chain then opens on it
 * (head = the checkpoint, which is also the store's finalized checkpoint, so fork choice refuses any
 * history without it) and syncs forward as usual.
 */
import type { Logger } from "pino";
import type { ChainDb } from "../storage/chainDb.ts";
import { ChainSpecError } from "../chain/errors.ts";
import { genesisBlock, type ChainSpec } from "../chain/spec.ts";
import { checkpointBaseWrites } from "../chain/checkpoint.ts";
import type { Checkpoint } from "../consensus/finality.ts";
import { PeerManager } from "../p2p/peerManager.ts";
import type { Transport } from "../p2p/transport.ts";
import type { P2POptions } from "../p2p/options.ts";
import type { LocalIdentity } from "../p2p/peer.ts";
import { fetchCheckpointState } from "../sync/stateAt.ts";
import type { Clock, Rng } from "../util/clock.ts";

/** How long a checkpoint start waits for a peer to serve the state (ms) unless told otherwise. */
export const CHECKPOINT_FETCH_TIMEOUT_MS = 60_000;

/**
 * Refuses `--checkpoint` on a data dir that holds a chain, with one line; reads only.
 * @throws ChainSpecError
 */
export async function refuseCheckpointOnChain(db: ChainDb): Promise<void> {
  if ((await db.getGenesis()) !== undefined) {
    throw new ChainSpecError(`--checkpoint needs an empty data dir; this one holds a chain already: start without --checkpoint, or use another --data-dir`);
  }
}

/**
 * Fetches, verifies and writes the state at `checkpoint` into the empty store `db`.
 * @throws ChainSpecError when the store holds a chain already, on a `pow` chain (it never
 *   finalizes), or when no peer served a state that verifies within `timeoutMs`
 */
export async function startFromCheckpoint(
  db: ChainDb,
  spec: ChainSpec,
  checkpoint: Checkpoint,
  p2p: { opts: P2POptions; identity: Omit<LocalIdentity, "listenPort"> },
  log: Logger,
  timeoutMs = CHECKPOINT_FETCH_TIMEOUT_MS,
  /** the fetch's clock (deadline, pauses, P2P timers), the dialler's randomness and the P2P transport; default the system's and WebSockets */
  runtime: { clock?: Clock; rng?: Rng; transport?: Transport } = {},
): Promise<void> {
  await refuseCheckpointOnChain(db);
  if (spec.consensus === "pow") throw new ChainSpecError("--checkpoint: a pow chain has no finalized checkpoints to start from");
  if (checkpoint.height % spec.params.checkpoint_interval !== 0) {
    throw new ChainSpecError(`--checkpoint: height ${checkpoint.height} is not a checkpoint height (a multiple of checkpoint_interval ${spec.params.checkpoint_interval})`);
  }
  if (p2p.opts.peers.length === 0) throw new ChainSpecError("--checkpoint: no peers to fetch the checkpoint's state from (give --peers, or a chain spec with bootnodes)");
  log.info({ height: checkpoint.height, hash: checkpoint.hash }, "Starting from a checkpoint: fetching its state from peers");
  const genesisHash = genesisBlock(spec).hash;
  // Its own listener on a free loopback port (the node's P2P port is bound after the chain opens),
  // dialling the configured peers only: nothing learned here outlives it.
  const pm = new PeerManager(
    { ...p2p.opts, host: "127.0.0.1", port: 0, advertiseUrl: undefined, discovery: false },
    p2p.identity,
    {
      status: () => ({ height: 0, tip_hash: genesisHash }),
      onPeerReady: () => undefined,
      onMessage: () => undefined,
      onRequest: async () => ({ ok: false, data: null, errors: ["starting from a checkpoint: nothing to serve yet"] }),
    },
    log.child({ module: "p2p-checkpoint" }),
    runtime,
  );
  await pm.start();
  try {
    const verified = await fetchCheckpointState(spec, checkpoint, { peers: () => pm.readyPeers(), penalize: (p, r) => pm.penalize(p, r), log }, { timeoutMs, clock: runtime.clock });
    await db.write(checkpointBaseWrites(spec, verified));
    log.info({ height: checkpoint.height, hash: checkpoint.hash, window_from: verified.window_from }, "Checkpoint state written: the chain starts from it");
  } catch (e) {
    throw new ChainSpecError(`--checkpoint: ${(e as Error).message}`);
  } finally {
    await pm.stop();
  }
}
