/**
 * Unknown query parameters are refused: a misspelt `limt=5` gets a 400 naming it instead of being
 * silently ignored. ROUTE_QUERY lists the parameters of the routes that take any; every other
 * route takes none. `api/openapi.yaml` documents the same lists (a test keeps the two equal).
 */
import type { MiddlewareHandler } from "hono";
import { badRequest } from "./errors.ts";

/** Query parameters per route (`METHOD path`, Hono path syntax); routes not listed take none. */
export const ROUTE_QUERY: Readonly<Record<string, readonly string[]>> = {
  "GET /api/mining/claims": ["from", "limit"],
  "GET /api/mining/jobs": ["from", "limit"],
  "GET /api/blocks": ["from", "limit", "to"],
  "GET /api/blocks/forks": ["from", "limit", "to"],
  "GET /api/evidence": ["from", "limit"],
  "GET /api/peers": ["from", "limit"],
  "GET /api/rewards": ["from", "limit"],
  "GET /api/mempool": ["from", "limit"],
  "GET /api/validators": ["from", "limit"],
  "GET /blockchain": ["from", "limit"],
};

interface Route {
  method: string;
  pattern: RegExp;
  allowed: readonly string[];
}

/** The app's routes as patterns, literal paths before ones with parameters (`/api/blocks/forks` before `/api/blocks/:id`). */
function compile(routes: readonly { method: string; path: string }[]): Route[] {
  return routes
    .filter((r) => r.method !== "ALL")
    .map((r) => ({
      method: r.method,
      params: (r.path.match(/:/g) ?? []).length,
      pattern: new RegExp(`^${r.path.replace(/[.+?^$()|[\]\\]/g, "\\$&").replace(/:[^/]+/g, "[^/]+")}/?$`),
      allowed: ROUTE_QUERY[`${r.method} ${r.path}`] ?? [],
    }))
    .sort((a, b) => a.params - b.params);
}

/**
 * Middleware refusing query parameters the route does not take. `routes` is read at the first
 * request with a query (the app's routes are all registered by then); unknown paths pass through
 * to the app's 404.
 * @throws HTTPException 400 "unknown query parameter <name>: this route takes ..."
 */
export function strictQuery(routes: () => readonly { method: string; path: string }[]): MiddlewareHandler {
  let compiled: Route[] | undefined;
  return async (c, next) => {
    // Most requests carry no query: one indexOf and done.
    const url = c.req.url;
    const q = url.indexOf("?");
    if (q !== -1 && q < url.length - 1) {
      compiled ??= compile(routes());
      const method = c.req.method === "HEAD" ? "GET" : c.req.method;
      const path = c.req.path;
      const route = compiled.find((r) => r.method === method && r.pattern.test(path));
      if (route) {
        for (const name of new URLSearchParams(url.slice(q + 1)).keys()) {
          if (!route.allowed.includes(name)) {
            const takes = route.allowed.length ? `this route takes ${route.allowed.join(", ")}` : "this route takes none";
            throw badRequest(`unknown query parameter ${JSON.stringify(name).slice(0, 60)}: ${takes}`);
          }
        }
      }
    }
    await next();
  };
}
