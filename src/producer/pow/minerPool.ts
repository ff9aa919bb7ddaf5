/**
 * Proof-of-work over `worker_threads` (docs/protocol.md §3 and §8), on every core. Each job gets a
 * random starting nonce; worker i scans its own disjoint slice of 0 .. 2^53-1 from there. `abort()`
 * bumps a shared generation word that every worker reads between batches of a few ms, so all of
 * them stop well within 50 ms; the time until the last one stopped and the hashes tried after the
 * abort are measured and returned.
 */
import { randomInt } from "node:crypto";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { fileURLToPath } from "node:url";
import { compileKernel } from "./sha256x4.ts";
import { MAX_NONCE } from "./kernel.ts";
import { CTRL_GENERATION, type JobMessage, type WorkerData, type WorkerReply } from "./protocol.ts";

let workerSource: Promise<URL> | undefined;

/**
 * Where the workers' code comes from. Compiled, it is `worker.js` beside this file (plain JavaScript).
 * From sources (under tsx) `worker.ts` is bundled once per process with esbuild, a dev dependency
 * loaded only then, into one ES module (a data: URL): workers load 20 KB of plain JavaScript, not a
 * TypeScript loader, a few MiB each instead of about 30.
 */
function workerUrl(): Promise<URL> {
  workerSource ??= (async () => {
    if (!import.meta.url.endsWith(".ts")) return new URL("./worker.js", import.meta.url);
    const { buildSync } = await import("esbuild");
    const out = buildSync({
      entryPoints: [fileURLToPath(new URL("./worker.ts", import.meta.url))],
      bundle: true, format: "esm", platform: "node", target: "node20", write: false, logLevel: "silent",
    });
    return new URL("data:text/javascript," + encodeURIComponent(out.outputFiles[0]!.text));
  })();
  return workerSource;
}

/** Miner pool options. */
export interface MinerPoolOptions {
  /** worker threads; default: available parallelism */
  workers?: number;
  /**
   * Terminate the workers after this many ms without a job (ms; default: never). Each worker is a
   * V8 instance of its own (about 12 MiB resident): a Proof-of-Sync node mines only when slots
   * are missed, so it gives them back until the next fallback job, which starts them again.
   */
  idleStopMs?: number;
}

/** How a job ended. Times in ms, hashes counted exactly except `wastedHashes` (estimated per batch). */
export type MineResult =
  | { status: "found"; nonce: number; hashes: number; elapsedMs: number }
  | {
      status: "aborted";
      hashes: number;
      elapsedMs: number;
      /** from `abort()` until the last worker stopped */
      abortLatencyMs: number;
      /** hashes tried after `abort()` (the in-flight batches' share after that moment) */
      wastedHashes: number;
    }
  | { status: "exhausted"; hashes: number; elapsedMs: number };

/** A pool of mining workers. One job at a time; `mine()` again aborts the previous job. */
export class MinerPool {
  readonly size: number;
  private workers: Worker[] = [];
  private starting?: Promise<void>;
  private readonly ctrl = new Int32Array(new SharedArrayBuffer(4));
  private readonly hashes: BigInt64Array;
  private idle: Promise<void> = Promise.resolve();
  private setup: Promise<unknown> = Promise.resolve();
  /** bumped by stop() and retire(): a boot that began before it creates no workers */
  private life = 0;
  /** abort() calls so far: a mine() call that sees it change before its job starts is cancelled */
  private aborts = 0;
  /** mine() calls whose job has not started (or been cancelled) yet */
  private queued = 0;
  private retireTimer?: NodeJS.Timeout;
  private current?: {
    generation: number;
    resolve: (r: MineResult) => void;
    reject: (e: Error) => void;
    startedAt: number;
    hashesAtStart: bigint;
    abortedAt?: number;
    pending: number;
    stops: Extract<WorkerReply, { type: "stopped" }>[];
    found?: number;
  };

  constructor(private readonly opts: MinerPoolOptions = {}) {
    this.size = Math.max(1, Math.floor(opts.workers ?? availableParallelism()));
    this.hashes = new BigInt64Array(new SharedArrayBuffer(8 * this.size));
  }

  /** Hashes tried by all workers since the pool started. */
  get totalHashes(): number {
    let s = 0n;
    for (let i = 0; i < this.size; i++) s += Atomics.load(this.hashes, i);
    return Number(s);
  }

  /** Starts the workers (compiling the kernel once) and resolves when all are ready. Idempotent. */
  start(): Promise<void> {
    // A failed boot (a worker that died or was stopped before it was ready) is not kept: the next call boots again.
    if (!this.starting) {
      const booting: Promise<void> = this.boot().catch((e: unknown) => {
        if (this.starting === booting) this.starting = undefined; // not a newer boot's
        throw e;
      });
      this.starting = booting;
    }
    return this.starting;
  }

  // Compiles the kernel and starts the workers; rejects when stop() ran meanwhile or a worker died before it was ready.
  private async boot(): Promise<void> {
    const life = this.life;
    const [module, url] = await Promise.all([compileKernel(), workerUrl()]);
    // stop() (or an idle retire) ran while the kernel compiled: start no worker it cannot see.
    if (life !== this.life) throw new Error("the mining pool stopped while its workers booted");
    const ready: Promise<void>[] = [];
    for (let index = 0; index < this.size; index++) {
      const data: WorkerData = { index, module, ctrl: this.ctrl.buffer as SharedArrayBuffer, hashes: this.hashes.buffer as SharedArrayBuffer };
      const w = new Worker(url, { workerData: data, execArgv: [] }); // no inherited --import tsx: the code is plain JS
      ready.push(
        new Promise<void>((resolve, reject) => {
          const onReady = (m: WorkerReply) => m.type === "ready" && (w.off("message", onReady), resolve());
          w.on("message", onReady);
          w.once("error", reject);
          w.once("exit", (code) => reject(new Error(`miner worker exited (code ${code}) before it was ready`)));
        }),
      );
      w.on("message", (m: WorkerReply) => this.onReply(m));
      w.on("error", (e) => this.lost(w, e));
      w.on("exit", (code) => this.lost(w, new Error(`miner worker exited (code ${code})`)));
      this.workers.push(w);
    }
    await Promise.all(ready);
    if (life !== this.life) throw new Error("the mining pool stopped while its workers booted");
    for (const w of this.workers) w.unref(); // from now on only a running job keeps the process alive
  }

  // A worker died on its own (an error, an out-of-memory abort): its job can never settle, so the
  // job fails, the other workers are terminated, and the next job boots a fresh pool.
  private lost(w: Worker, e: Error): void {
    if (!this.workers.includes(w)) return; // terminated by stop() or retire(), or already handled
    this.life++;
    const ws = this.workers;
    this.workers = [];
    this.starting = undefined;
    for (const other of ws) if (other !== w) void other.terminate();
    this.fail(e);
  }

  /**
   * Mines one seal hash (32 bytes) at `difficulty` (leading zero hex digits of pow_hash). Resolves
   * when a worker finds a nonce, the job is aborted, or every worker's slice is exhausted.
   * @param delayMs pause per 4-nonce step per worker (the node config's `mining_delay_ms`)
   * @throws Error when a worker fails
   */
  mine(seal: Uint8Array, difficulty: number, delayMs = 0): Promise<MineResult> {
    // Calls are serialized up to the point where the job runs, so a second call always aborts the first.
    // An abort() between this call and the job's start cancels it too (the caller's tip moved).
    const ticket = this.aborts;
    this.queued++;
    clearTimeout(this.retireTimer);
    const job = this.setup.then(() => this.begin(seal, difficulty, delayMs, ticket)).finally(() => {
      this.queued--;
      if (!this.current) this.scheduleRetire(); // cancelled before it ran
    });
    this.setup = job.catch(() => undefined);
    return job.then((j) => j.result);
  }

  private async begin(seal: Uint8Array, difficulty: number, delayMs: number, ticket: number): Promise<{ result: Promise<MineResult> }> {
    await this.start();
    this.abortCurrent();
    await this.idle;
    // A worker died meanwhile (lost() emptied the pool): a job posted now would reach no worker.
    if (this.workers.length !== this.size) throw new Error("the mining pool lost a worker; the next job starts them again");
    if (this.aborts !== ticket) return { result: Promise.resolve({ status: "aborted", hashes: 0, elapsedMs: 0, abortLatencyMs: 0, wastedHashes: 0 }) };
    const generation = Atomics.add(this.ctrl, CTRL_GENERATION, 1) + 1;
    const slice = Math.floor(MAX_NONCE / this.size / 4) * 4;
    const offset = randomInt(0, 2 ** 47) * 4; // random start, so that miners do not collide
    let done!: () => void;
    this.idle = new Promise<void>((r) => (done = r));
    const result = new Promise<MineResult>((resolve, reject) => {
      for (const w of this.workers) w.ref();
      const settle = <T,>(f: (v: T) => void) => (v: T) => {
        for (const w of this.workers) w.unref();
        done();
        f(v);
        this.scheduleRetire();
      };
      this.current = {
        generation, resolve: settle(resolve), reject: settle(reject), startedAt: performance.now(), hashesAtStart: BigInt(this.totalHashes),
        pending: this.size, stops: [],
      };
      this.workers.forEach((w, i) => {
        const sliceStart = i * slice;
        const start = sliceStart + (offset % slice);
        const job: JobMessage = { generation, seal, difficulty, start, end: sliceStart + slice, delayMs };
        w.postMessage(job);
      });
    });
    return { result };
  }

  /** Stops the current job (if any) at once, and any `mine()` call not started yet; they resolve `aborted`. */
  abort(): void {
    this.aborts++;
    this.abortCurrent();
  }

  private abortCurrent(): void {
    const cur = this.current;
    if (!cur || cur.abortedAt !== undefined || cur.found !== undefined) return;
    cur.abortedAt = performance.timeOrigin + performance.now();
    this.bump();
  }

  /** Workers running now (0 before the first job and after an idle stop). */
  get running(): number {
    return this.workers.length;
  }

  private scheduleRetire(): void {
    if (this.opts.idleStopMs === undefined) return;
    clearTimeout(this.retireTimer);
    this.retireTimer = setTimeout(() => void this.retire(), this.opts.idleStopMs);
    this.retireTimer.unref();
  }

  /** Terminates idle workers; the next job starts new ones (`start()` runs again). */
  private async retire(): Promise<void> {
    if (this.current || this.queued > 0 || this.workers.length === 0) return;
    this.life++;
    const ws = this.workers;
    this.workers = [];
    this.starting = undefined;
    await Promise.all(ws.map((w) => w.terminate()));
  }

  /** Terminates the workers; a running job resolves as aborted. */
  async stop(): Promise<void> {
    clearTimeout(this.retireTimer);
    this.abort();
    this.life++;
    const ws = this.workers;
    this.workers = [];
    this.starting = undefined;
    await Promise.all(ws.map((w) => w.terminate()));
    this.settleAborted();
  }

  private bump(): void {
    Atomics.add(this.ctrl, CTRL_GENERATION, 1);
    Atomics.notify(this.ctrl, CTRL_GENERATION);
  }

  private onReply(m: WorkerReply): void {
    const cur = this.current;
    if (!cur || m.generation !== cur.generation) return;
    switch (m.type) {
      case "found":
        if (cur.abortedAt === undefined) {
          cur.found = m.nonce;
          this.bump(); // the others stop; their "stopped" replies are ignored
          this.current = undefined;
          cur.resolve({ status: "found", nonce: m.nonce, hashes: this.jobHashes(cur), elapsedMs: performance.now() - cur.startedAt });
          return;
        }
        // Found after the abort (the reply crossed it): this worker has stopped too, without a
        // "stopped" reply of its own. Not counting it would leave the job, and its caller, waiting forever.
        if (--cur.pending === 0) this.settleAborted();
        return;
      case "stopped":
        cur.stops.push(m);
        if (--cur.pending === 0) this.settleAborted();
        return;
      case "exhausted":
        if (--cur.pending > 0) return;
        if (cur.abortedAt !== undefined) return this.settleAborted();
        this.current = undefined;
        cur.resolve({ status: "exhausted", hashes: this.jobHashes(cur), elapsedMs: performance.now() - cur.startedAt });
        return;
      case "error":
        this.fail(new Error(`miner worker ${m.index}: ${m.message}`));
        return;
      case "ready":
        return;
    }
  }

  private settleAborted(): void {
    const cur = this.current;
    if (!cur) return;
    this.current = undefined;
    const abortedAt = cur.abortedAt ?? performance.timeOrigin + performance.now();
    let wasted = 0;
    let lastStop = abortedAt;
    for (const s of cur.stops) {
      lastStop = Math.max(lastStop, s.stoppedAt);
      const b = s.lastBatch;
      if (b.end > abortedAt && b.end > b.start) wasted += (b.count * (b.end - Math.max(b.start, abortedAt))) / (b.end - b.start);
    }
    cur.resolve({
      status: "aborted",
      hashes: this.jobHashes(cur),
      elapsedMs: performance.now() - cur.startedAt,
      abortLatencyMs: lastStop - abortedAt,
      wastedHashes: Math.round(wasted),
    });
  }

  private jobHashes(cur: NonNullable<MinerPool["current"]>): number {
    return Number(BigInt(this.totalHashes) - cur.hashesAtStart);
  }

  private fail(e: Error): void {
    const cur = this.current;
    this.current = undefined;
    this.bump();
    cur?.reject(e);
  }
}
