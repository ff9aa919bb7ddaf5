/**
 * API documentation: `api/openapi.yaml` as JSON at `GET /api/openapi.json`, and a Swagger UI page
 * at `GET /api/docs` whose scripts and styles come from the `swagger-ui-dist` package (served here,
 * no CDN: nodes often run without internet access).
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { Hono } from "hono";
import { parse } from "yaml";
import { notFound } from "../errors.ts";

/** Where the OpenAPI document lives in the package. */
export const OPENAPI_FILE = fileURLToPath(new URL("../../../api/openapi.yaml", import.meta.url));

/** Files of swagger-ui-dist the docs page loads. */
const ASSETS = new Map<string, string>([
  ["swagger-ui.css", "text/css; charset=utf-8"],
  ["swagger-ui-bundle.js", "text/javascript; charset=utf-8"],
  ["swagger-ui-standalone-preset.js", "text/javascript; charset=utf-8"],
]);

let spec: unknown;

/** The OpenAPI document, parsed once. @throws when the YAML is invalid (a packaging bug) */
export function openApiDocument(): unknown {
  spec ??= parse(readFileSync(OPENAPI_FILE, "utf8"));
  return spec;
}

const page = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>vision-node API</title>
<link rel="stylesheet" href="/api/docs/assets/swagger-ui.css"></head>
<body><div id="docs"></div>
<script src="/api/docs/assets/swagger-ui-bundle.js"></script>
<script src="/api/docs/assets/swagger-ui-standalone-preset.js"></script>
<script>window.ui = SwaggerUIBundle({ url: "/api/openapi.json", dom_id: "#docs", presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset], layout: "StandaloneLayout" });</script>
</body></html>`;

/** Docs routes, mounted at /api. */
export function docsRoutes(): Hono {
  const app = new Hono();
  // Resolved, not required: the package's main module evaluates the whole browser bundle
  // (+40 MiB RSS, +12 MiB heap in a node that never runs it).
  const dist = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
  app.get("/openapi.json", (c) => c.json(openApiDocument()));
  app.get("/docs", (c) => c.html(page));
  app.get("/docs/assets/:file", (c) => {
    const file = c.req.param("file");
    const type = ASSETS.get(file); // a Map: "toString" and friends are not assets (found by bench/fuzz)
    if (!type) throw notFound(`no asset ${file}`);
    return c.body(readFileSync(join(dist, file)), 200, { "content-type": type, "cache-control": "public, max-age=86400" });
  });
  return app;
}
