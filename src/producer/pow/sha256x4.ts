/**
 * The proof-of-work search kernel: `pow_hash` = H(H(seal_hash || u64le(nonce))) (docs/protocol.md §3)
 * for four nonces at once in WebAssembly SIMD (one i32x4 lane per nonce).
 *
 * A try hashes 40 bytes, one 64-byte block, so it costs two SHA-256 compressions. Per template the
 * first 8 rounds of the first compression and its message words W16..W22 depend only on the seal
 * hash and the nonce's high word, so they are precomputed once (`kernel.ts`) and the kernel starts
 * at round 8. Known words of the second block (its padding) are folded at code-generation time.
 *
 * The WebAssembly text is generated here; the build assembles it with `wabt` into
 * `lib/producer/pow/sha256x4.wasm`, which compiled code loads (nothing binary is checked in).
 * Memory layout (little-endian i32 values):
 *   0..31    state a..h after round 7 of the first compression
 *   64..155  message words W0..W22 of the first compression (W8 unused: it holds the nonce)
 * Export `search(base, count, mask) -> i32`: tries nonce low words base, base+1, .., base+count-1
 * (count a multiple of 4, no wrap past 2^32) and returns the offset of the first whose pow_hash's
 * first word ANDed with `mask` is zero, or -1.
 */
import { readFile } from "node:fs/promises";
import { IV, K, KERNEL_FIRST_ROUND, LAST_UNIFORM_WORD, STATE_OFFSET, WORDS_OFFSET } from "./layout.ts";

// A value during code generation: a constant folded here, or a WebAssembly expression
// (`local` when it is a cheap `local.get` that may be repeated).
type Val = { c: number } | { e: string; local?: boolean };

const isC = (v: Val): v is { c: number } => "c" in v;
const vconst = (n: number) => `(v128.const i32x4 ${n >>> 0} ${n >>> 0} ${n >>> 0} ${n >>> 0})`;
const ex = (v: Val) => (isC(v) ? vconst(v.c) : v.e);
const rotr32 = (x: number, n: number) => ((x >>> n) | (x << (32 - n))) >>> 0;

function add(...vs: Val[]): Val {
  let c = 0;
  const es: string[] = [];
  for (const v of vs) if (isC(v)) c = (c + v.c) >>> 0; else es.push(v.e);
  if (es.length === 0) return { c };
  if (c !== 0) es.push(vconst(c));
  return { e: es.reduce((acc, e) => `(i32x4.add ${acc} ${e})`) };
}

function xor(...vs: Val[]): Val {
  let c = 0;
  const es: string[] = [];
  for (const v of vs) if (isC(v)) c = (c ^ v.c) >>> 0; else es.push(v.e);
  if (es.length === 0) return { c };
  if (c !== 0) es.push(vconst(c));
  return { e: es.reduce((acc, e) => `(v128.xor ${acc} ${e})`) };
}

function need(v: Val): string {
  if (isC(v) || !v.local) throw new Error("kernel generator: operand used twice must be a local");
  return v.e;
}

function rotr(v: Val, n: number): Val {
  if (isC(v)) return { c: rotr32(v.c, n) };
  const x = need(v);
  return { e: `(v128.or (i32x4.shr_u ${x} (i32.const ${n})) (i32x4.shl ${x} (i32.const ${32 - n})))` };
}

function shr(v: Val, n: number): Val {
  return isC(v) ? { c: v.c >>> n } : { e: `(i32x4.shr_u ${v.e} (i32.const ${n}))` };
}

// bitselect(a, b, m) = (a & m) | (b & ~m)
function bitselect(a: Val, b: Val, m: Val): Val {
  if (isC(a) && isC(b) && isC(m)) return { c: ((a.c & m.c) | (b.c & ~m.c)) >>> 0 };
  return { e: `(v128.bitselect ${ex(a)} ${ex(b)} ${ex(m)})` };
}

const bigSigma0 = (x: Val) => xor(rotr(x, 2), rotr(x, 13), rotr(x, 22));
const bigSigma1 = (x: Val) => xor(rotr(x, 6), rotr(x, 11), rotr(x, 25));
const smallSigma0 = (x: Val) => xor(rotr(x, 7), rotr(x, 18), shr(x, 3));
const smallSigma1 = (x: Val) => xor(rotr(x, 17), rotr(x, 19), shr(x, 10));

/** Generates function bodies, naming a v128 local for every value used more than once. */
class Emitter {
  readonly lines: string[] = [];
  readonly locals: string[] = [];

  /** Binds a value to a fresh local (constants stay constants). */
  bind(v: Val, name: string): Val {
    if (isC(v) || v.local) return v;
    this.locals.push(name);
    this.lines.push(`(local.set $${name} ${v.e})`);
    return { e: `(local.get $${name})`, local: true };
  }

  /**
   * Rounds `from`..63 of one compression, then the feed-forward with `chain`.
   * @param w message words; entries past 15 are computed here as they are needed
   */
  compress(tag: string, state: Val[], w: Val[], from: number, chain: Val[]): Val[] {
    let [a, b, c, d, e, f, g, h] = state as [Val, Val, Val, Val, Val, Val, Val, Val];
    for (let t = from; t < 64; t++) {
      if (w[t] === undefined) {
        w[t] = this.bind(add(smallSigma1(w[t - 2]!), w[t - 7]!, smallSigma0(w[t - 15]!), w[t - 16]!), `${tag}w${t}`);
      }
      // Ch(e, f, g) = bitselect(f, g, e); Maj(a, b, c) = bitselect(c, b, a ^ b)
      const t1 = this.bind(add(h, bigSigma1(e), bitselect(f, g, e), { c: K[t]! }, w[t]!), `${tag}t${t}`);
      const t2 = add(bigSigma0(a), bitselect(c, b, xor(a, b)));
      h = g;
      g = f;
      f = e;
      e = this.bind(add(d, t1), `${tag}e${t}`);
      d = c;
      c = b;
      b = a;
      a = this.bind(add(t1, t2), `${tag}a${t}`);
    }
    return [a, b, c, d, e, f, g, h].map((v, i) => add(v, chain[i]!));
  }
}

/** The kernel's WebAssembly text (see the module comment for its interface). */
export function kernelWat(): string {
  const em = new Emitter();
  const uniform = (name: string, offset: number): Val => {
    em.locals.push(name);
    em.lines.push(`(local.set $${name} (v128.load32_splat offset=${offset} (i32.const 0)))`);
    return { e: `(local.get $${name})`, local: true };
  };
  const prologue: string[] = [];
  // Per-template values, splatted once per call.
  const state = Array.from({ length: 8 }, (_, i) => uniform(`s${i}`, STATE_OFFSET + 4 * i));
  const w1: Val[] = [];
  for (let t = 0; t <= LAST_UNIFORM_WORD; t++) if (t !== 8 && t >= 7) w1[t] = uniform(`u${t}`, WORDS_OFFSET + 4 * t);
  prologue.push(...em.lines.splice(0));

  // Per iteration: W8 = bswap32 of this lane's nonce low word (the nonce is little-endian in the message).
  em.locals.push("n");
  em.lines.push(
    `(local.set $n (i8x16.shuffle 3 2 1 0 7 6 5 4 11 10 9 8 15 14 13 12 ` +
      `(i32x4.add (i32x4.splat (i32.add (local.get $base) (local.get $i))) (v128.const i32x4 0 1 2 3)) (v128.const i32x4 0 0 0 0)))`,
  );
  w1[8] = { e: "(local.get $n)", local: true };
  const mid = em.compress("a", state, w1, KERNEL_FIRST_ROUND, Array.from(IV, (c) => ({ c })));
  const digest1 = mid.map((v, i) => em.bind(v, `d${i}`));
  // Second block: the 32-byte digest, then 0x80, zeros and the bit length 256.
  const w2: Val[] = [...digest1, { c: 0x80000000 }, { c: 0 }, { c: 0 }, { c: 0 }, { c: 0 }, { c: 0 }, { c: 0 }, { c: 256 }];
  const iv = Array.from(IV, (c) => ({ c }) as Val);
  const out = em.compress("b", iv, w2, 0, iv);
  em.locals.push("hit");
  em.lines.push(`(local.set $hit (i32x4.eq (v128.and ${ex(out[0]!)} (local.get $maskv)) (v128.const i32x4 0 0 0 0)))`);
  const body = em.lines;
  const lane = (k: number) =>
    `(if (i32x4.extract_lane ${k} (local.get $hit)) (then (return (i32.add (local.get $i) (i32.const ${k})))))`;

  return `(module
  (memory (export "mem") 1)
  (func (export "search") (param $base i32) (param $count i32) (param $mask i32) (result i32)
    (local $i i32) (local $maskv v128)
    ${em.locals.map((l) => `(local $${l} v128)`).join(" ")}
    ${prologue.join("\n    ")}
    (local.set $maskv (i32x4.splat (local.get $mask)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
        ${body.join("\n        ")}
        (if (v128.any_true (local.get $hit))
          (then ${[0, 1, 2, 3].map(lane).join(" ")}))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $next)))
    (i32.const -1)))
`;
}

/** File name of the assembled kernel, written beside the compiled module by the build (`lib/producer/pow/`). */
export const KERNEL_WASM_FILE = "sha256x4.wasm";

/**
 * Assembles the kernel's text into WebAssembly bytes with `wabt`, a build-time (dev) dependency:
 * called by the build to write {@link KERNEL_WASM_FILE}, and at run time only from sources.
 * @throws Error when `wabt` is not installed or rejects the text
 */
export async function assembleKernel(): Promise<Uint8Array<ArrayBuffer>> {
  const { default: wabtInit } = await import("wabt");
  const wabt = await wabtInit();
  const mod = wabt.parseWat("pow_kernel.wat", kernelWat(), { simd: true });
  try {
    return new Uint8Array(mod.toBinary({}).buffer);
  } finally {
    mod.destroy();
  }
}

let compiled: Promise<WebAssembly.Module> | undefined;

/**
 * Compiles the kernel once per thread. The Module can be posted to workers. Compiled code reads the
 * WebAssembly the build wrote beside it; from sources (under tsx) it is assembled on first use.
 * @throws Error when the built file is missing, or the runtime lacks WebAssembly SIMD (Node 20 has it)
 */
export function compileKernel(): Promise<WebAssembly.Module> {
  compiled ??= (async () => {
    const fromSources = import.meta.url.endsWith(".ts");
    const bytes = fromSources ? await assembleKernel() : new Uint8Array(await readFile(new URL(`./${KERNEL_WASM_FILE}`, import.meta.url)));
    return WebAssembly.compile(bytes);
  })();
  return compiled;
}
