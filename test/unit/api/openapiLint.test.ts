// api/openapi.yaml passes a standard OpenAPI linter: Redocly's CLI with its recommended rules
// (redocly.yaml), run exactly as `npm run lint:api` runs it. Any error or warning fails the test.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../../", import.meta.url));

test("api/openapi.yaml passes redocly lint (recommended rules) with no errors and no warnings", () => {
  const r = spawnSync("npm", ["run", "--silent", "lint:api"], { cwd: root, encoding: "utf8", timeout: 120_000 });
  const out = `${r.stdout}\n${r.stderr}`;
  assert.equal(r.status, 0, out);
  // Redocly prints this line only when there is neither an error nor a warning.
  assert.match(out, /Woohoo! Your API description is valid/, out);
  assert.doesNotMatch(out, /\d+ warnings?|\d+ errors?/, out);
});
