/**
 * `GET /api/validators` and `GET /api/validators/:ebid` (docs/protocol.md §5, §10): the validator
 * records after the head, each with its status at the next height's epoch, whether it is in that
 * epoch's pool and its recent activity (see `api/validators.ts`; activity older than the indexed
 * window is not shown).
 */
import { Hono } from "hono";
import type { ApiModules } from "../modules.ts";
import { badRequest, notFound } from "../errors.ts";
import { pageOf, pageQuery } from "../page.ts";
import { validatorSet } from "../validators.ts";

/**
 * Validator routes, mounted at /api/validators. The list goes by EBID ascending, paginated by
 * position (`limit` 1..1000, default 100; see `api/page.ts`); the epoch, `epoch_length` and the
 * counts cover the whole set. 400 for a malformed EBID or page, 404 for an EBID without a record.
 */
export function validatorRoutes(m: ApiModules): Hono {
  const app = new Hono();
  app.get("/", async (c) => {
    const q = pageQuery(c, { defaultLimit: 100, maxLimit: 1000 });
    const { validators, ...set } = await validatorSet(m.chain);
    const { items, ...page } = pageOf(validators, q);
    return c.json({ ...set, validators: items, ...page });
  });
  app.get("/:ebid", async (c) => {
    const ebid = c.req.param("ebid");
    if (!/^[0-9a-f]{64}$/.test(ebid)) throw badRequest("ebid must be 64 lowercase hex chars");
    const set = await validatorSet(m.chain);
    const v = set.validators.find((x) => x.ebid === ebid);
    if (!v) throw notFound(`${ebid} is not a validator (no bond record)`);
    return c.json({ height: set.height, epoch: set.epoch, next_epoch: set.next_epoch, epoch_length: set.epoch_length, validator: v });
  });
  return app;
}
