/**
 * `GET /api/mining/status` serialized once per change of what it is made of, not once per request.
 *
 * The status is a function of the head (its schedule), the latest network snapshot (replaced once a
 * second by the snapshot updater) and the claim receipts; the node's EBID never changes. The body is
 * kept with the head hash, the snapshot object and the claims' version read before it was built,
 * and rebuilt when any of them differs, so a response is never staler than those sources
 * themselves. Dashboards and monitors poll this route; a cache hit answers without awaiting anything.
 */
import type { ApiModules } from "./modules.ts";

/** What a status body was built from. */
interface Inputs {
  head: string;
  snap: object;
  claims: number;
}

/**
 * Wraps `build` (the status object) in a cache keyed on its inputs. The returned function gives the
 * JSON text, synchronously when nothing changed since the last build; concurrent misses share one
 * build. A failed build is not cached.
 */
export function statusBodyCache(m: Pick<ApiModules, "chain" | "snapshot" | "claims">, build: () => Promise<unknown>): () => string | Promise<string> {
  let built: (Inputs & { body: string }) | undefined;
  let building: (Inputs & { body: Promise<string> }) | undefined;
  const same = (a: Inputs, b: Inputs) => a.head === b.head && a.snap === b.snap && a.claims === b.claims;
  return () => {
    // Read before building: a source that changes during the build makes the next call rebuild.
    const now: Inputs = { head: m.chain.head.hash, snap: m.snapshot.current, claims: m.claims.version };
    if (built && same(built, now)) return built.body;
    if (building && same(building, now)) return building.body;
    const job = { ...now, body: build().then((s) => JSON.stringify(s)) };
    building = job;
    job.body.then(
      (body) => {
        built = { ...now, body };
        if (building === job) building = undefined;
      },
      () => {
        if (building === job) building = undefined;
      },
    );
    return job.body;
  };
}
