/** `busy` replies of the request/response protocol (docs/protocol.md §9.6), read by every client of it. */

/** The longest wait a `busy` reply can make a client take before it asks again (ms). */
export const MAX_BUSY_RETRY_MS = 5_000;

/**
 * The ms to wait before asking again after a `busy` reply (docs/protocol.md §9.6): the `retry in N
 * ms` it names (at most 5 s), 250 ms for other busy replies; undefined for any other error.
 */
export function busyRetryMs(errors: unknown): number | undefined {
  const first = Array.isArray(errors) ? errors[0] : undefined;
  if (typeof first !== "string" || !first.startsWith("busy:")) return undefined;
  const m = /retry in (\d+) ms/.exec(first);
  return m ? Math.min(MAX_BUSY_RETRY_MS, Number(m[1])) : 250;
}
