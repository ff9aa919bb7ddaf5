/** Small HTTP client helpers shared by the command line and the drills. */

/**
 * GET a JSON document.
 * @param timeoutMs how long to wait for the whole answer (ms); default 2000
 * @throws on network errors, a timeout and non-2xx answers
 */
export async function getJson<T = unknown>(url: string, timeoutMs = 2000): Promise<T> {
  const r = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return (await r.json()) as T;
}

/**
 * getJson, tried again on failure: up to `tries` times, waiting 500 ms x the attempt number between
 * two. For reads whose loss would cost a whole run (a drill's final report): a node of a loaded
 * machine may miss one timeout.
 * @throws the last attempt's error
 */
export async function getJsonRetry<T = unknown>(url: string, o: { tries?: number; timeoutMs?: number } = {}): Promise<T> {
  const tries = o.tries ?? 5;
  for (let i = 1; ; i++) {
    try {
      return await getJson<T>(url, o.timeoutMs);
    } catch (e) {
      if (i >= tries) throw e;
      await new Promise((r) => setTimeout(r, 500 * i));
    }
  }
}
