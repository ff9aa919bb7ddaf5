import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";

/** The conformance vectors shipped with the repo (`test/vectors/`, described in its README). */
export const vectorsDir = fileURLToPath(new URL("../vectors/", import.meta.url));

/** Reads one conformance vector file from `test/vectors/` (e.g. `"jcs.json"`); throws if it is missing or not JSON. */
export function loadVector<T = any>(name: string): T {
  return JSON.parse(readFileSync(join(vectorsDir, name), "utf8")) as T;
}
