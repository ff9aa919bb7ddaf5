/** `GET /api/evidence`: equivocations this node has seen (one producer, two blocks at one height). */
import { Hono } from "hono";
import type { ApiModules } from "../modules.ts";
import { badRequest } from "../errors.ts";

/** Evidence route, mounted at /api/evidence. `?limit=` 1..1000 (default 100), newest height first. */
export function evidenceRoutes(m: ApiModules): Hono {
  const app = new Hono();
  app.get("/", async (c) => {
    const raw = c.req.query("limit") ?? "100";
    if (!/^[0-9]{1,4}$/.test(raw) || Number(raw) < 1 || Number(raw) > 1000) throw badRequest("limit must be a whole number from 1 to 1000");
    return c.json({ evidence: await m.chain.listEvidence(Number(raw)) });
  });
  return app;
}
