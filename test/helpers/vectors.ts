import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";

/** `../shared` beside the checkout (override with VISION_SHARED). */
export const sharedDir = process.env.VISION_SHARED ?? fileURLToPath(new URL("../../../shared/", import.meta.url));

/** Reads one conformance vector file from `../shared/vectors/`. */
export function loadVector<T = any>(name: string): T {
  return JSON.parse(readFileSync(join(sharedDir, "vectors", name), "utf8")) as T;
}
