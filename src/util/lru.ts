/**
 * A bounded LRU cache whose storage grows with its entries instead of being allocated for `max` up
 * front. `lru-cache` given `max` allocates two arrays of `max` slots and three typed arrays of `max`
 * integers at construction (about 3 MB and 30 ms for 100,000): paid by every node, every cache, at
 * start, used or not. A simulation of 1,000 nodes in one process holds some 20 such caches per node
 * (about 5 MB a node before any entry). Counting each entry as size 1 against `maxSize` gives the
 * same bound and the same eviction order (least recently used first, on the insert that would pass
 * the bound), with arrays that grow as entries arrive.
 */
import { LRUCache } from "lru-cache";

/** The `lru-cache` options `boundedLru` takes (the bound is its `max` argument). */
export type BoundedLruOptions<K extends {}, V extends {}> = Omit<LRUCache.Options<K, V, unknown>, "max" | "maxSize" | "maxEntrySize" | "sizeCalculation">;

/**
 * An `LRUCache` holding at most `max` entries (the least recently used is evicted first), its
 * storage allocated as entries arrive (see the module docs).
 * @param max entries held at most, a positive integer
 * @param opts further `lru-cache` options (dispose, ttl, ...)
 * @throws RangeError when `max` is not a positive safe integer
 */
export function boundedLru<K extends {}, V extends {}>(max: number, opts: BoundedLruOptions<K, V> = {}): LRUCache<K, V> {
  if (!(Number.isSafeInteger(max) && max >= 1)) throw new RangeError(`an LRU bound must be a positive integer, got ${max}`);
  return new LRUCache<K, V>({ ...opts, maxSize: max, sizeCalculation: entrySize } as LRUCache.Options<K, V, unknown>);
}

const entrySize = (): number => 1;
