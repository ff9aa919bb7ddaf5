/**
 * A proof-of-work searcher for one thread: loads a template (seal hash and the nonce's high word)
 * into the SIMD kernel (`sha256x4.ts`) and scans nonce ranges. docs/protocol.md §3.
 */
import { IV, K, KERNEL_FIRST_ROUND, LAST_UNIFORM_WORD, STATE_OFFSET, WORDS_OFFSET } from "./layout.ts";

/** Nonces are JSON safe integers (docs/protocol.md §3): 0 .. 2^53-1. */
export const MAX_NONCE = Number.MAX_SAFE_INTEGER;
const TWO32 = 2 ** 32;

const rotr = (x: number, n: number) => (x >>> n) | (x << (32 - n));
const bswap32 = (x: number) => (((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24)) >>> 0;

/**
 * The mask the kernel ANDs with pow_hash's first 32-bit word: its top 4 * difficulty bits (all of
 * them from difficulty 8 up, where a found nonce is re-checked in full by the caller).
 */
export function difficultyMask(difficulty: number): number {
  if (difficulty <= 0) return 0;
  if (difficulty >= 8) return 0xffffffff;
  return (0xffffffff << (32 - 4 * difficulty)) >>> 0;
}

/** The per-template inputs of the kernel: state after round 7 and message words W0..W22. */
export function precompute(seal: Uint8Array, nonceHigh: number): { state: Uint32Array; words: Uint32Array } {
  if (seal.length !== 32) throw new RangeError("seal hash must be 32 bytes");
  const w = new Uint32Array(LAST_UNIFORM_WORD + 1);
  const dv = new DataView(seal.buffer, seal.byteOffset, 32);
  for (let t = 0; t < 8; t++) w[t] = dv.getUint32(4 * t, false);
  w[9] = bswap32(nonceHigh);
  w[10] = 0x80000000;
  w[15] = 320; // 40 bytes in bits
  const s0 = (x: number) => rotr(x, 7) ^ rotr(x, 18) ^ (x >>> 3);
  const s1 = (x: number) => rotr(x, 17) ^ rotr(x, 19) ^ (x >>> 10);
  for (let t = 16; t <= LAST_UNIFORM_WORD; t++) w[t] = s1(w[t - 2]!) + w[t - 7]! + s0(w[t - 15]!) + w[t - 16]!; // W8 is not among them
  let [a, b, c, d, e, f, g, h] = IV as unknown as number[] as [number, number, number, number, number, number, number, number];
  for (let t = 0; t < KERNEL_FIRST_ROUND; t++) {
    const t1 = (h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[t]! + w[t]!) | 0;
    const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  return { state: Uint32Array.from([a, b, c, d, e, f, g, h]), words: w };
}

/** Searches nonces of one template with the compiled kernel. Not thread-safe: one per thread. */
export class PowSearcher {
  private readonly search: (base: number, count: number, mask: number) => number;
  private readonly mem: DataView;
  private seal?: Uint8Array;
  private high = -1;

  constructor(module: WebAssembly.Module) {
    const instance = new WebAssembly.Instance(module, {});
    const exp = instance.exports as { search: (b: number, c: number, m: number) => number; mem: WebAssembly.Memory };
    this.search = exp.search;
    this.mem = new DataView(exp.mem.buffer);
  }

  /** Sets the seal hash (32 bytes) of the header being mined. */
  setTemplate(seal: Uint8Array): void {
    this.seal = Uint8Array.from(seal);
    this.high = -1;
  }

  /**
   * Tries nonces `start` .. `start + count - 1` and returns the first whose pow_hash passes
   * `difficultyMask(difficulty)`, or -1. Exact for difficulty <= 8; above that the caller
   * re-checks a found nonce with `meetsDifficulty` and searches on. The kernel takes four nonces
   * per step, so `start` and `count` must be multiples of 4 (then no step crosses a 2^32 boundary).
   * @throws RangeError when they are not, or the range leaves 0 .. 2^53-1
   */
  scan(start: number, count: number, difficulty: number): number {
    if (!this.seal) throw new Error("no template set");
    if (!Number.isSafeInteger(start) || start < 0 || start % 4 !== 0 || !Number.isSafeInteger(count) || count < 0 || count % 4 !== 0) {
      throw new RangeError("nonce range must start and have a length at multiples of 4");
    }
    if (start + count - 1 > MAX_NONCE) throw new RangeError("nonce range beyond 2^53-1");
    const mask = difficultyMask(difficulty);
    let pos = start;
    let left = count;
    while (left > 0) {
      const high = Math.floor(pos / TWO32);
      const low = pos - high * TWO32;
      if (high !== this.high) this.load(high);
      const step = Math.min(left, TWO32 - low);
      const found = this.search(low | 0, step | 0, mask | 0);
      if (found >= 0) return pos + found;
      pos += step;
      left -= step;
    }
    return -1;
  }

  private load(high: number): void {
    const { state, words } = precompute(this.seal!, high);
    for (let i = 0; i < 8; i++) this.mem.setUint32(STATE_OFFSET + 4 * i, state[i]!, true);
    for (let t = 0; t < words.length; t++) this.mem.setUint32(WORDS_OFFSET + 4 * t, words[t]!, true);
    this.high = high;
  }
}
