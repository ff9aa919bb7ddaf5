/** JSON request bodies, validated at the boundary. */
import type { Context } from "hono";
import type { z } from "zod";
import { badRequest } from "./errors.ts";
import { formatZodError } from "../consensus/wire.ts";

/**
 * Parses the request body as JSON and validates it with `schema`.
 * @throws HTTPException 400 "body is not JSON" or "invalid <what>: <field>: <problem>"
 */
export async function jsonBody<T>(c: Context, schema: z.ZodType<T>, what: string): Promise<T> {
  let raw: unknown;
  try {
    raw = await c.req.json();
  } catch {
    throw badRequest("body is not JSON");
  }
  const r = schema.safeParse(raw);
  if (!r.success) throw badRequest(`invalid ${what}: ${formatZodError(r.error)}`);
  return r.data;
}
