// Checks real HTTP responses against api/openapi.yaml: the operation (method and path template), the
// status code and media type it documents, and the response schema (JSON Schema 2020-12, as in
// OpenAPI 3.1) with ajv. Every check is recorded, so a test can tell which operations it covered.
import assert from "node:assert/strict";
import { Ajv2020 } from "ajv/dist/2020.js";
import { openApiDocument } from "../../src/api/routes/docs.ts";

type Json = Record<string, any>;

const doc = openApiDocument() as Json;
const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addSchema(doc, "openapi");

/** JSON Pointer escaping (RFC 6901). */
const esc = (s: string) => s.replace(/~/g, "~0").replace(/\//g, "~1");

interface Operation {
  method: string;
  template: string;
  pattern: RegExp;
  params: number;
}

/** Every documented operation, literal paths before templated ones. */
export const operations: Operation[] = Object.entries(doc.paths as Json)
  .flatMap(([template, ops]) =>
    Object.keys(ops as Json).map((method) => ({
      method: method.toUpperCase(),
      template,
      pattern: new RegExp(`^${template.replace(/[.]/g, "\\.").replace(/\{[^}]+\}/g, "[^/]+")}$`),
      params: (template.match(/\{/g) ?? []).length,
    })),
  )
  .sort((a, b) => a.params - b.params);

/** `METHOD template status` of every response checked so far. */
export const covered = new Set<string>();

/** The operation a request goes to. @throws AssertionError when none is documented */
export function operationFor(method: string, path: string): Operation {
  const op = operations.find((o) => o.method === method && o.pattern.test(path));
  assert.ok(op, `${method} ${path} is not in api/openapi.yaml`);
  return op;
}

/**
 * Validates one response. Returns its body (parsed JSON, or text).
 * @throws AssertionError when the status or media type is undocumented or the body breaks the schema
 */
export async function checkResponse(method: string, url: string, res: Response): Promise<unknown> {
  const path = new URL(url).pathname;
  const op = operationFor(method, path);
  const where = `${method} ${path} → ${res.status}`;
  const opPointer = `/paths/${esc(op.template)}/${method.toLowerCase()}`;
  let responsePointer = `${opPointer}/responses/${res.status}`;
  let response = doc.paths[op.template][method.toLowerCase()].responses?.[String(res.status)];
  assert.ok(response, `${where}: status not documented`);
  if (response.$ref) {
    responsePointer = (response.$ref as string).slice(1);
    response = responsePointer.split("/").slice(1).reduce((o: Json, k) => o[k.replace(/~1/g, "/").replace(/~0/g, "~")], doc);
  }
  const mediaType = (res.headers.get("content-type") ?? "").split(";")[0]!.trim();
  const content = response.content as Json | undefined;
  assert.ok(content?.[mediaType], `${where}: media type ${mediaType || "(none)"} not documented (${Object.keys(content ?? {}).join(", ") || "no content"})`);
  const text = await res.text();
  const body = mediaType === "application/json" ? JSON.parse(text) : text;
  const validate = ajv.getSchema(`openapi#${responsePointer}/content/${esc(mediaType)}/schema`);
  assert.ok(validate, `${where}: no schema`);
  if (!validate(body)) {
    assert.fail(`${where}: the body breaks its schema: ${ajv.errorsText(validate.errors, { separator: "; " })}\n${text.slice(0, 600)}`);
  }
  covered.add(`${op.method} ${op.template} ${res.status}`);
  return body;
}

/** Sends a request and checks the response; `expect` is the status the test means to provoke. */
export async function call(base: string, method: string, path: string, expect: number, init: { body?: unknown; token?: string; headers?: Record<string, string> } = {}): Promise<any> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.body !== undefined) headers["content-type"] = "application/json";
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  const res = await fetch(base + path, { method, headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
  assert.equal(res.status, expect, `${method} ${path}`);
  return checkResponse(method, base + path, res);
}

/** A validator for one component schema (`#/components/schemas/<name>`). */
export function componentSchema(name: string): (value: unknown) => boolean {
  const v = ajv.getSchema(`openapi#/components/schemas/${name}`);
  assert.ok(v, `no schema ${name}`);
  return (value) => v(value) as boolean;
}
