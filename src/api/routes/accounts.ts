/** `GET /api/accounts/:address`: an account at the head (balance in base units as a decimal string). */
import { Hono } from "hono";
import type { ApiModules } from "../modules.ts";
import { badRequest } from "../errors.ts";

/** Account route, mounted at /api/accounts. 400 for an address that is not 64 lowercase hex chars. */
export function accountRoutes(m: ApiModules): Hono {
  const app = new Hono();
  app.get("/:address", (c) => {
    const address = c.req.param("address");
    if (!/^[0-9a-f]{64}$/.test(address)) throw badRequest("address must be 64 lowercase hex chars");
    const a = m.chain.account(address);
    return c.json({ address, balance: a.balance.toString(), nonce: a.nonce, height: m.chain.head.height, state_root: m.chain.head.state_root });
  });
  return app;
}
