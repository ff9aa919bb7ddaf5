/**
 * Values that can never change: frozen, with everything inside them frozen, and registered here by
 * `freezeDeep`. A pure function of such a value (its hash, its signing bytes, whether a signature
 * over it verifies) may keep its result by the value's identity (a WeakMap: nothing is held once the
 * value is gone), because the same object always has the same content. Objects that were not passed
 * through `freezeDeep` are never memoized: a node that freezes nothing (every real node) computes as
 * before. The simulator freezes the messages it parses once for all its nodes (p2p/frameMemo.ts) and
 * its chain spec, so N nodes hash and verify one block or attestation once, not N times.
 * Pure: no I/O, no clock.
 */

const immutable = new WeakSet<object>();

/**
 * Freezes `value` and every object and array inside it, and registers each as immutable.
 * @returns `value` itself (frozen)
 * @throws TypeError when `value` holds a cycle deeper than 256 levels (JSON data has none)
 */
export function freezeDeep<T>(value: T): T {
  freezeInto(value, 0);
  return value;
}

function freezeInto(v: unknown, depth: number): void {
  if (typeof v !== "object" || v === null || immutable.has(v)) return;
  if (depth > 256) throw new TypeError("value nested too deeply to freeze");
  for (const k of Object.keys(v)) freezeInto((v as Record<string, unknown>)[k], depth + 1);
  Object.freeze(v);
  immutable.add(v);
}

/** True when `value` went through `freezeDeep` (so neither it nor anything in it can change). */
export function isImmutable(value: unknown): boolean {
  return typeof value === "object" && value !== null && immutable.has(value);
}

/**
 * A memo of a pure function's result per immutable object: `get(obj, compute)` returns the result
 * kept for `obj`, or computes it (and keeps it when `obj` is immutable). Results are kept by the
 * object's identity (weakly: gone with the object).
 */
export class ImmutableMemo<V> {
  private readonly memo = new WeakMap<object, V>();

  get(obj: unknown, compute: () => V): V {
    if (!isImmutable(obj)) return compute();
    const hit = this.memo.get(obj as object);
    if (hit !== undefined) return hit;
    const v = compute();
    this.memo.set(obj as object, v);
    return v;
  }
}
