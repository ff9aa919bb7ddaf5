/**
 * `GET /api/accounts/:address`: an account at the head (balance in base units as a decimal string,
 * rewards earned and blocks produced on the canonical chain), and `GET /api/rewards`.
 */
import { Hono } from "hono";
import type { ApiModules } from "../modules.ts";
import { badRequest } from "../errors.ts";
import { pageOf, pageQuery } from "../page.ts";

/** Account route, mounted at /api/accounts. 400 for an address that is not 64 lowercase hex chars. */
export function accountRoutes(m: ApiModules): Hono {
  const app = new Hono();
  app.get("/:address", async (c) => {
    const address = c.req.param("address");
    if (!/^[0-9a-f]{64}$/.test(address)) throw badRequest("address must be 64 lowercase hex chars");
    const a = await m.chain.account(address);
    const t = m.chain.producerTotals(address).get(address);
    return c.json({
      address,
      balance: a.balance.toString(),
      nonce: a.nonce,
      rewards_earned: t?.rewards ?? "0",
      blocks_produced: t?.blocks ?? 0,
      height: m.chain.head.height,
      state_root: m.chain.head.state_root,
    });
  });
  return app;
}

/**
 * `GET /api/rewards`: reward distribution per producer on the canonical chain, most blocks first
 * (then by EBID), paginated by position (`limit` 1..1000, default 100; see `api/page.ts`).
 */
export function rewardRoutes(m: ApiModules): Hono {
  const app = new Hono();
  app.get("/", (c) => {
    const producers = [...m.chain.producerTotals()]
      .map(([producer, t]) => ({ producer, blocks_produced: t.blocks, rewards_earned: t.rewards }))
      .filter((p) => p.blocks_produced > 0)
      .sort((a, b) => b.blocks_produced - a.blocks_produced || (a.producer < b.producer ? -1 : 1));
    const { items, ...page } = pageOf(producers, pageQuery(c, { defaultLimit: 100, maxLimit: 1000 }));
    return c.json({ height: m.chain.head.height, block_reward: m.chain.spec.block_reward, producers: items, ...page });
  });
  return app;
}
