// api/openapi.yaml against the routes the app really has, both ways; and the docs it serves.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createApi, type ApiModules } from "../../../src/api/index.ts";
import { openApiDocument } from "../../../src/api/routes/docs.ts";
import { LIVE_ROUTES } from "../../../src/api/index.ts";

// Route registration reads no module; requests below only touch the docs routes.
const app = createApi({} as ApiModules);
const norm = (path: string) => path.replace(/:[A-Za-z_]+/g, "{}").replace(/\{[A-Za-z_]+\}/g, "{}");

test("every route the app serves is in api/openapi.yaml, and every path there is served", () => {
  const served = new Set(app.routes.filter((r) => r.method !== "ALL").map((r) => `${r.method} ${norm(r.path)}`));
  for (const r of LIVE_ROUTES) served.add(`GET ${norm(r)}`); // served outside Hono (WebSocket upgrade)
  const doc = openApiDocument() as { paths: Record<string, Record<string, unknown>> };
  const described = new Set<string>();
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const method of Object.keys(ops)) described.add(`${method.toUpperCase()} ${norm(path)}`);
  }
  const undocumented = [...served].filter((r) => !described.has(r));
  const unserved = [...described].filter((r) => !served.has(r));
  assert.deepEqual(undocumented, [], "routes missing from api/openapi.yaml");
  assert.deepEqual(unserved, [], "api/openapi.yaml describes routes the node does not serve");
});

test("the docs: /api/openapi.json, the Swagger UI page and its assets, served locally", async () => {
  const spec = await app.request("/api/openapi.json");
  assert.equal(spec.status, 200);
  assert.equal((await spec.json()).openapi, "3.0.3");
  const page = await app.request("/api/docs");
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.match(html, /swagger-ui-bundle\.js/);
  for (const src of html.matchAll(/(?:href|src)="(\/api\/docs\/assets\/[^"]+)"/g)) {
    const r = await app.request(src[1]!);
    assert.equal(r.status, 200, src[1]);
    assert.ok((await r.arrayBuffer()).byteLength > 1000);
  }
  assert.equal((await app.request("/api/docs/assets/..%2Fpackage.json")).status, 404);
  assert.equal((await app.request("/api/docs/assets/index.html")).status, 404);
  assert.equal((await app.request("/api/docs/assets/toString")).status, 404, "no prototype keys");
  assert.equal((await app.request("/api/docs/assets/__proto__")).status, 404);
});
