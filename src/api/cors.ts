/**
 * Cross-origin access to the API (`--api-cors ORIGINS`): hono's cors middleware, answering only
 * the listed origins (or any origin for `*`). With no origins no CORS header is ever sent, and
 * browsers keep pages of other sites from reading the API.
 */
import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import { z } from "zod";

/** One allowed origin: `*`, or `http(s)://host[:port]` exactly as browsers send it (no path, no trailing slash). */
export const corsOriginSchema = z
  .string()
  .regex(/^(\*|https?:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?|https?:\/\/\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?)$/, "an origin is * or http(s)://host[:port], with no path");

/** `--api-cors` as given: a comma-separated list of origins, spaces around commas ignored. */
export const corsListSchema = z
  .string()
  .transform((s) => s.split(",").map((o) => o.trim()).filter((o) => o !== ""))
  .pipe(z.array(corsOriginSchema).max(64));

/** The middleware for `origins`; `*` among them allows any origin. */
export function apiCors(origins: readonly string[]): MiddlewareHandler {
  return cors({
    origin: origins.includes("*") ? "*" : [...origins],
    allowMethods: ["GET", "HEAD", "POST", "OPTIONS"],
    allowHeaders: ["Content-Type", "Authorization"],
    maxAge: 600,
  });
}
