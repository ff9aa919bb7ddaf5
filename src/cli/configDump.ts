/**
 * `vision-node config dump`: the effective start configuration as YAML, each value followed by a
 * comment naming its source (`# flag`, `# env VISION_API_PORT`, `# file node.yaml`, `# default`).
 * Secrets read `<hidden>`; unset options without a default, and the config file's own path, are
 * comment lines. Without its comments the output is a valid config file.
 */
import { stringify } from "yaml";
import { HIDDEN } from "../node/config.ts";
import { envNameOf, fileKeyOf, OPTION_NAMES, START_OPTIONS } from "../node/options/table.ts";
import type { ResolvedStartOptions } from "./startOptions.ts";

/** Renders `r` as YAML with sources. */
export function renderConfigDump(r: ResolvedStartOptions): string {
  const lines = ["# vision-node effective configuration (flags > env > file > defaults); the source follows each value"];
  for (const name of OPTION_NAMES) {
    const def = START_OPTIONS[name];
    const key = fileKeyOf(name);
    const value = r.values[name];
    const source = { flag: `flag ${def.flag?.split(" ")[0]}`, env: `env ${envNameOf(name)}`, file: `file ${r.configFile}`, default: "default" }[r.sources[name]];
    if (value === undefined) {
      lines.push(`# ${key}: unset${def.defaultText ? ` (${def.defaultText})` : ""}`);
    } else if (def.notInFile) {
      lines.push(`# ${key}: ${yamlValue(value)}  # ${source}`);
    } else {
      lines.push(`${key}: ${yamlValue(def.secret ? HIDDEN : value)}  # ${source}`);
    }
  }
  return lines.join("\n") + "\n";
}

const yamlValue = (v: unknown) => stringify(v, { collectionStyle: "flow", lineWidth: 0 }).trimEnd();
