/**
 * Cross-origin access to the API (`--api-cors ORIGINS`): hono's cors middleware, answering only
 * the listed origins (or any origin for `*`). With no origins no CORS header is ever sent, and
 * browsers keep pages of other sites from reading the API. The flag's value is checked where
 * options are parsed (`node/options/values.ts`).
 */
import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";

/** The middleware for `origins`; `*` among them allows any origin. */
export function apiCors(origins: readonly string[]): MiddlewareHandler {
  return cors({
    origin: origins.includes("*") ? "*" : [...origins],
    allowMethods: ["GET", "HEAD", "POST", "OPTIONS"],
    allowHeaders: ["Content-Type", "Authorization"],
    maxAge: 600,
  });
}
