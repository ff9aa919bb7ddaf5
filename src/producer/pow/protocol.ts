/**
 * Messages and shared memory between the miner pool and its worker threads.
 */

/** Index of the job generation word in the shared control array; bumping it aborts every worker. */
export const CTRL_GENERATION = 0;
/** A worker sizes its batches to take about this long, so an abort lands within one batch (ms). */
export const BATCH_TARGET_MS = 4;

/** What each worker gets at start. */
export interface WorkerData {
  index: number;
  module: WebAssembly.Module;
  /** Int32Array: [CTRL_GENERATION] */
  ctrl: SharedArrayBuffer;
  /** BigInt64Array: hashes tried, one slot per worker */
  hashes: SharedArrayBuffer;
}

/** One mining job for one worker: nonces start .. end - 1 (multiples of 4). */
export interface JobMessage {
  generation: number;
  seal: Uint8Array;
  difficulty: number;
  start: number;
  end: number;
  /** pause after every 4-nonce step (the node config's `mining_delay_ms`); 0 for full speed */
  delayMs: number;
}

/** Replies from a worker. Times are ms since the Unix epoch, with sub-ms precision. */
export type WorkerReply =
  | { type: "ready"; generation: 0; index: number }
  | { type: "found"; generation: number; index: number; nonce: number }
  | {
      type: "stopped";
      generation: number;
      index: number;
      stoppedAt: number;
      /** the batch in flight when the generation changed */
      lastBatch: { start: number; end: number; count: number };
    }
  | { type: "exhausted"; generation: number; index: number }
  | { type: "error"; generation: number; index: number; message: string };
