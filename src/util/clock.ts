/**
 * Time and randomness as injected collaborators. Every consensus-relevant timer, every reading of
 * the current time and every random choice of the runtime (chain, producer, miner scheduling, sync,
 * P2P, node) goes through a `Clock` and an `Rng` handed in by constructor or options, defaulting to
 * `systemClock` and `systemRng`: production behaviour is Date.now, Node's timers and Math.random.
 * A `VirtualClock` and a `seededRng(seed)` make the same code run on simulated time with
 * reproducible choices (one seed, one event order), with no real wait.
 *
 * Times are ms since the epoch (the virtual clock's epoch is wherever it was started).
 */
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";
import { uniformFloat64 } from "pure-rand/distribution/uniformFloat64";
import { uniformInt } from "pure-rand/distribution/uniformInt";

/**
 * A pending timer. `unref()` lets the process exit while it is pending (Node's semantics on the
 * system clock; a no-op on the virtual clock, which keeps no process alive) and returns the timer.
 */
export interface Timer {
  unref(): Timer;
}

/** Where time comes from: the current time and one-shot and repeating timers (ms). */
export interface Clock {
  /** the current time, ms since the epoch */
  now(): number;
  /** calls `fn` once after `ms` (negative or non-finite as 0, like Node) */
  setTimeout(fn: () => void, ms: number): Timer;
  /** cancels a timer from `setTimeout`; undefined or an already fired/cleared timer is ignored */
  clearTimeout(timer: Timer | undefined): void;
  /** calls `fn` every `ms` (at least 1 ms, like Node) until cleared */
  setInterval(fn: () => void, ms: number): Timer;
  /** cancels a timer from `setInterval`; undefined or an already cleared timer is ignored */
  clearInterval(timer: Timer | undefined): void;
}

/** The real clock: Date.now and Node's timers (their Timeout objects, with `unref`). */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (t) => clearTimeout(t as NodeJS.Timeout | undefined),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (t) => clearInterval(t as NodeJS.Timeout | undefined),
};

/**
 * Resolves after `ms` on `clock`, or rejects with the signal's reason (an AbortError like
 * node:timers/promises) when `signal` aborts first. `unref`: the wait does not keep the process alive.
 */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal, opts: { unref?: boolean } = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const aborted = () => signal!.reason ?? new DOMException("The operation was aborted", "AbortError");
    if (signal?.aborted) return reject(abortError(aborted()));
    const onAbort = () => {
      clock.clearTimeout(timer);
      reject(abortError(aborted()));
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    if (opts.unref) timer.unref();
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

// node:timers/promises rejects with an AbortError carrying the reason as its cause.
function abortError(reason: unknown): Error {
  const e = new Error("The operation was aborted", { cause: reason });
  e.name = "AbortError";
  (e as Error & { code: string }).code = "ABORT_ERR";
  return e;
}

/** One virtual timer. */
class VirtualTimer implements Timer {
  cleared = false;
  constructor(
    readonly fn: () => void,
    public at: number,
    /** scheduling order, the tie-break between timers due at the same ms */
    public seq: number,
    /** the period of an interval; undefined for a one-shot timer */
    readonly every: number | undefined,
  ) {}
  unref(): Timer {
    return this;
  }
}

/**
 * A deterministic discrete-event clock. Time moves only by `advance`, `runUntil` or `next`; timers
 * fire in order of due time, and timers due at the same ms in the order they were scheduled (an
 * interval's next run is scheduled when its current run fires). A timer scheduled while another
 * fires, due within the advanced span, fires in the same call. Nothing uses real timers.
 * Callbacks run synchronously; a callback's promise continuations run only once the caller awaits
 * (see `settle`).
 */
export class VirtualClock implements Clock {
  private t: number;
  private seq = 0;
  // A binary min-heap on (due time, scheduling order); a cleared timer stays in it until it reaches
  // the top (lazy deletion), so scheduling and clearing cost O(log n) with many nodes' timers.
  private readonly heap = new DueHeap<VirtualTimer>();
  private live = 0;

  /** @param startMs the virtual time at start (ms since the epoch); default 0 */
  constructor(startMs = 0) {
    if (!Number.isFinite(startMs)) throw new RangeError(`VirtualClock start must be finite, got ${startMs}`);
    this.t = startMs;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    return this.schedule(fn, delay(ms, 0), undefined);
  }

  clearTimeout(timer: Timer | undefined): void {
    if (timer instanceof VirtualTimer) this.cancel(timer);
  }

  setInterval(fn: () => void, ms: number): Timer {
    const every = delay(ms, 1);
    return this.schedule(fn, every, every);
  }

  clearInterval(timer: Timer | undefined): void {
    if (timer instanceof VirtualTimer) this.cancel(timer);
  }

  /** Timers pending (intervals count once). */
  get pending(): number {
    return this.live;
  }

  /** The due time of the earliest pending timer, or undefined when none is pending. */
  nextAt(): number | undefined {
    return this.top()?.at;
  }

  /**
   * Moves time to the earliest pending timer and fires it (one timer).
   * @returns false when no timer is pending (time does not move)
   */
  next(): boolean {
    const timer = this.top();
    if (!timer) return false;
    this.heap.pop();
    this.t = Math.max(this.t, timer.at);
    if (timer.every !== undefined) {
      timer.at = this.t + timer.every;
      timer.seq = this.seq++;
      this.heap.push(timer);
    } else {
      timer.cleared = true;
      this.live--;
    }
    timer.fn();
    return true;
  }

  /**
   * Fires, in order, every timer due within the next `ms` (including ones scheduled meanwhile),
   * then sets the time to now + ms.
   * @throws RangeError when `ms` is negative or not finite
   */
  advance(ms: number): void {
    if (!(Number.isFinite(ms) && ms >= 0)) throw new RangeError(`advance needs a finite ms >= 0, got ${ms}`);
    const until = this.t + ms;
    for (let top = this.top(); top !== undefined && top.at <= until; top = this.top()) this.next();
    this.t = until;
  }

  /**
   * Fires timers in order until `stop` holds: a number is a span of ms from now (as `advance`); a
   * predicate is checked before each timer, and the run also stops when no timer is pending.
   * @param maxEvents guard against a predicate that never holds with an interval pending
   * @returns whether a predicate held (always true for a span)
   * @throws Error when `maxEvents` timers fired and the predicate still does not hold
   */
  runUntil(stop: number | (() => boolean), maxEvents = 1_000_000): boolean {
    if (typeof stop === "number") {
      this.advance(stop);
      return true;
    }
    for (let i = 0; ; i++) {
      if (stop()) return true;
      if (i >= maxEvents) throw new Error(`VirtualClock.runUntil: predicate still false after ${maxEvents} timers (at ${this.t} ms)`);
      if (!this.next()) return stop();
    }
  }

  private schedule(fn: () => void, ms: number, every: number | undefined): Timer {
    const timer = new VirtualTimer(fn, this.t + ms, this.seq++, every);
    this.heap.push(timer);
    this.live++;
    return timer;
  }

  private cancel(timer: VirtualTimer): void {
    if (timer.cleared) return;
    timer.cleared = true;
    this.live--;
  }

  // The earliest live timer, dropping cleared ones above it.
  private top(): VirtualTimer | undefined {
    while (this.heap.length > 0 && this.heap.peek()!.cleared) this.heap.pop();
    return this.heap.peek();
  }
}

// Node's timer delays: non-finite or below `min` becomes `min`.
function delay(ms: number, min: number): number {
  return Number.isFinite(ms) && ms > min ? ms : min;
}

/**
 * Lets pending promise continuations run: resolves after the microtask queue and one macrotask turn
 * (a real `setImmediate`, no time passes on any clock). For driving async code on a VirtualClock:
 * fire timers, then `await settle()` so what they resolved proceeds.
 */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A source of random choices. */
export interface Rng {
  /** a number in [0, 1) */
  next(): number;
  /**
   * an integer in [0, n)
   * @throws RangeError when `n` is not a positive safe integer
   */
  int(n: number): number;
}

function checkBound(n: number): void {
  if (!(Number.isSafeInteger(n) && n >= 1)) throw new RangeError(`Rng.int needs a positive safe integer, got ${n}`);
}

/** The production source: Math.random (not for secrets: those use node:crypto directly). */
export const systemRng: Rng = {
  next: () => Math.random(),
  int(n) {
    checkBound(n);
    return Math.floor(Math.random() * n);
  },
};

/**
 * A seeded source (pure-rand's xoroshiro128+): one seed always gives the same sequence.
 * @param seed any 32-bit integer (other numbers are truncated to one, as pure-rand does)
 */
export function seededRng(seed: number): Rng {
  const gen = xoroshiro128plus(seed | 0);
  return {
    next: () => uniformFloat64(gen),
    int(n) {
      checkBound(n);
      return uniformInt(gen, 0, n - 1);
    },
  };
}

/**
 * A binary min-heap of events ordered by due time `at` (ms), then by `seq` (the order they were
 * scheduled in): the queue of the VirtualClock and of the simulator's network model. O(log n) push
 * and pop; equal times come out in scheduling order, so a run never depends on object identity.
 */
export class DueHeap<T extends { at: number; seq: number }> {
  private readonly h: T[] = [];

  get length(): number {
    return this.h.length;
  }

  /** The earliest event, or undefined when empty. */
  peek(): T | undefined {
    return this.h[0];
  }

  push(x: T): void {
    const h = this.h;
    // sift up: parents later than x move down into the hole, then x takes it
    let i = h.length;
    h.push(x);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = h[parent]!;
      if (!earlier(x, p)) break;
      h[i] = p;
      i = parent;
    }
    h[i] = x;
  }

  /** Removes the earliest event. @returns it, or undefined when empty */
  pop(): T | undefined {
    const h = this.h;
    const top = h[0];
    const last = h.pop();
    const n = h.length;
    if (n === 0 || last === undefined) return top;
    // sift down: the earlier child moves up into the hole until `last` fits there
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && earlier(h[r]!, h[l]!) ? r : l;
      const child = h[c]!;
      if (!earlier(child, last)) break;
      h[i] = child;
      i = c;
    }
    h[i] = last;
    return top;
  }
}

function earlier(a: { at: number; seq: number }, b: { at: number; seq: number }): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
