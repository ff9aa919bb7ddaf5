/**
 * One pagination style for every list route of the node's own API: the request gives `from` (where
 * the page starts, default 0) and `limit` (how many, default and maximum per route); the reply
 * echoes `from` and `limit` and gives `next_from`, the `from` of the next page, or null when there
 * is none. What `from` counts depends on the list's order, documented per route in
 * `api/openapi.yaml`: a height for chain lists (oldest first), a 0-based position for lists of
 * recent records (newest first) and for the mempool and peers.
 */
import type { Context } from "hono";
import { badRequest } from "./errors.ts";

/** A page request, validated. */
export interface PageQuery {
  from: number;
  limit: number;
}

/** What a paginated reply adds to its list. */
export interface PageReply {
  from: number;
  limit: number;
  /** the next page's `from`, or null at the end */
  next_from: number | null;
}

/** Per-route limits of `limit`. */
export interface PageOptions {
  /** `limit` when the request gives none */
  defaultLimit: number;
  /** the largest `limit` accepted */
  maxLimit: number;
}

/** Largest `from` accepted: any height or position the node can hold, still a safe integer. */
const MAX_FROM = 1e15;

/**
 * Reads a non-negative whole number from the query.
 * @throws HTTPException 400 "<name> must be a whole number"
 */
export function uintParam(c: Context, name: string): number | undefined {
  const v = c.req.query(name);
  if (v === undefined) return undefined;
  if (!/^[0-9]{1,15}$/.test(v) || Number(v) > MAX_FROM) throw badRequest(`${name} must be a whole number`);
  return Number(v);
}

/**
 * Reads `from` and `limit`.
 * @throws HTTPException 400 naming the bad parameter, or "limit must be from 1 to <max>"
 */
export function pageQuery(c: Context, o: PageOptions): PageQuery {
  const from = uintParam(c, "from") ?? 0;
  const limit = uintParam(c, "limit") ?? o.defaultLimit;
  if (limit < 1 || limit > o.maxLimit) throw badRequest(`limit must be from 1 to ${o.maxLimit}`);
  return { from, limit };
}

/** The page of `items` (the whole list in its order, or at least its first `from + limit + 1` items) at `q`. */
export function pageOf<T>(items: readonly T[], q: PageQuery): { items: T[] } & PageReply {
  const end = q.from + q.limit;
  return { items: items.slice(q.from, end), from: q.from, limit: q.limit, next_from: items.length > end ? end : null };
}
