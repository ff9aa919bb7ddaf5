/**
 * Unknown query parameters are refused: every route accepts exactly the query parameters
 * `api/openapi.yaml` lists for it, so a misspelt `limt=5` gets a 400 naming it instead of being
 * silently ignored. The document is the single list of parameters; the route test keeps it and
 * the routes in agreement.
 */
import type { MiddlewareHandler } from "hono";
import { badRequest } from "./errors.ts";

type Parameter = { name: string; in: string } | { $ref: string };

interface OpenApiLike {
  paths?: Record<string, Record<string, { parameters?: Parameter[] } | undefined>>;
  components?: { parameters?: Record<string, { name: string; in: string }> };
}

interface RouteQuery {
  method: string;
  pattern: RegExp;
  /** path parameters: routes with fewer win (`/api/blocks/forks` before `/api/blocks/{id}`) */
  params: number;
  allowed: ReadonlySet<string>;
}

const HTTP_METHODS = new Set(["get", "put", "post", "delete", "patch", "head", "options"]);

/** Each operation's accepted query parameters, from the OpenAPI document's paths. */
export function routeQueries(doc: unknown): RouteQuery[] {
  const d = doc as OpenApiLike;
  // Parameters by value, or by reference to #/components/parameters/<name>.
  const resolve = (p: Parameter) => ("$ref" in p ? d.components?.parameters?.[p.$ref.replace("#/components/parameters/", "")] : p);
  const out: RouteQuery[] = [];
  for (const [path, ops] of Object.entries(d.paths ?? {})) {
    const source = path.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{[^}/]+\}/g, "[^/]+");
    for (const [method, op] of Object.entries(ops)) {
      if (!HTTP_METHODS.has(method) || !op) continue;
      out.push({
        method: method.toUpperCase(),
        pattern: new RegExp(`^${source}$`),
        params: (path.match(/\{/g) ?? []).length,
        allowed: new Set((op.parameters ?? []).map(resolve).filter((p) => p?.in === "query").map((p) => p!.name)),
      });
    }
  }
  return out.sort((a, b) => a.params - b.params);
}

/**
 * Middleware refusing query parameters the route does not list.
 * @throws HTTPException 400 "unknown query parameter <name>"
 */
export function strictQuery(doc: unknown): MiddlewareHandler {
  const routes = routeQueries(doc);
  return async (c, next) => {
    // Most requests carry no query: one indexOf and done.
    const q = c.req.url.indexOf("?");
    if (q !== -1 && q < c.req.url.length - 1) {
      const method = c.req.method === "HEAD" ? "GET" : c.req.method;
      const route = routes.find((r) => r.method === method && r.pattern.test(c.req.path));
      if (route) {
        for (const name of new URLSearchParams(c.req.url.slice(q + 1)).keys()) {
          if (!route.allowed.has(name)) {
            const list = [...route.allowed];
            throw badRequest(`unknown query parameter ${JSON.stringify(name).slice(0, 60)}${list.length ? `: this route takes ${list.join(", ")}` : ": this route takes none"}`);
          }
        }
      }
    }
    await next();
  };
}
