/** Small HTTP client helpers shared by the command line and the drills. */

/** GET a JSON document with a 2 s timeout. @throws on network errors and non-2xx answers */
export async function getJson<T = unknown>(url: string): Promise<T> {
  const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return (await r.json()) as T;
}
