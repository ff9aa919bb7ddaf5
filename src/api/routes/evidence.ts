/** `GET /api/evidence`: equivocations this node has seen (one producer, two blocks at one height). */
import { Hono } from "hono";
import type { ApiModules } from "../modules.ts";
import { pageOf, pageQuery } from "../page.ts";

/**
 * Evidence route, mounted at /api/evidence: newest height first, paginated by position (`from`
 * 0 = the newest; `limit` 1..1000, default 100; see `api/page.ts`).
 */
export function evidenceRoutes(m: ApiModules): Hono {
  const app = new Hono();
  app.get("/", async (c) => {
    const q = pageQuery(c, { defaultLimit: 100, maxLimit: 1000 });
    // One more than the page, to know whether another follows.
    const { items, ...page } = pageOf(await m.chain.listEvidence(q.from + q.limit + 1), q);
    return c.json({ evidence: items, ...page });
  });
  return app;
}
