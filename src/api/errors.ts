/** HTTP error mapping: every failure leaves as `{error, message}` JSON. */
import { HTTPException } from "hono/http-exception";
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";

/** A 400 with a message naming the bad parameter. */
export function badRequest(message: string): HTTPException {
  return new HTTPException(400, { message });
}

/** A 404 for a missing resource. */
export function notFound(message: string): HTTPException {
  return new HTTPException(404, { message });
}

const names: Record<number, string> = { 400: "bad_request", 401: "unauthorized", 404: "not_found", 405: "method_not_allowed", 500: "internal_error" };

/** `app.onError` handler. */
export function onError(err: Error, c: Context): Response {
  if (err instanceof HTTPException) {
    // Middleware such as bearerAuth builds its own JSON response (with WWW-Authenticate): keep it.
    if (err.res) return err.getResponse();
    const status = err.status as ContentfulStatusCode;
    return c.json({ error: names[status] ?? "error", message: err.message }, status);
  }
  return c.json({ error: "internal_error", message: "internal error" }, 500);
}
