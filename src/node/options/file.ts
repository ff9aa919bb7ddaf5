/**
 * The node's config file: YAML (which includes JSON), or TOML when the name ends in `.toml`. Its
 * keys are the start options' lower_snake names (`api_port`, `peers`, `produce`, ...) plus the
 * config-file-only keys `admin_token`, `mining_difficulty` and `mining_delay_ms`; see `table.ts`.
 * An unknown key is an error naming it, so a typo is never silently ignored. Relative paths in the
 * file are relative to the working directory, as on the command line.
 */
import { readFileSync } from "node:fs";
import { parse as parseYaml, YAMLParseError } from "yaml";
import { parse as parseToml, TomlError } from "smol-toml";
import { ConfigError } from "./errors.ts";
import { fileKeyOf, OPTION_NAMES, optionOfFileKey, START_OPTIONS, type OptionName, type StartValues } from "./table.ts";
import { OptionValueError } from "./values.ts";

/** A validated config file: its path and its values by option name. */
export interface ConfigFile {
  path: string;
  values: Partial<StartValues>;
}

/**
 * Reads, parses and validates a config file.
 * @throws ConfigError `config <path>: <key>: <what was expected>`, or naming the unreadable file or the syntax error's line
 */
export function readConfigFile(path: string): ConfigFile {
  let source: string;
  try {
    source = readFileSync(path, "utf8");
  } catch (e) {
    throw new ConfigError(`config ${path}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return { path, values: parseConfigText(source, path) };
}

/**
 * Parses and validates config file text; `path` picks the syntax (`.toml`: TOML, else YAML) and names the file in errors.
 * @throws ConfigError as readConfigFile
 */
export function parseConfigText(source: string, path: string): Partial<StartValues> {
  const doc = parseDocument(source, path);
  if (doc === null || doc === undefined) return {}; // an empty file, or only comments
  if (typeof doc !== "object" || Array.isArray(doc)) throw new ConfigError(`config ${path}: expected a mapping of option keys to values`);
  const values: Partial<Record<OptionName, unknown>> = {};
  for (const [key, raw] of Object.entries(doc as Record<string, unknown>)) {
    const name = optionOfFileKey(key);
    if (!name) throw new ConfigError(`config ${path}: ${key}: unknown key${suggest(key, OPTION_NAMES.filter((n) => !START_OPTIONS[n].notInFile).map(fileKeyOf))}`);
    try {
      values[name] = START_OPTIONS[name].parse(asText(raw, START_OPTIONS[name].list === true));
    } catch (e) {
      if (e instanceof OptionValueError) throw new ConfigError(`config ${path}: ${key}: ${e.message}`);
      throw e;
    }
  }
  return values as Partial<StartValues>;
}

function parseDocument(source: string, path: string): unknown {
  try {
    return path.toLowerCase().endsWith(".toml") ? parseToml(source) : parseYaml(source);
  } catch (e) {
    if (e instanceof TomlError) throw new ConfigError(`config ${path}: ${firstLine(e.message)} at line ${e.line}, column ${e.column}`);
    if (e instanceof YAMLParseError) throw new ConfigError(`config ${path}: ${firstLine(e.message).replace(/:$/, "")}`);
    throw new ConfigError(`config ${path}: ${firstLine((e as Error).message)}`);
  }
}

const firstLine = (s: string) => s.split("\n")[0]!.trim();

// File values become the text a flag would carry, so one parser checks every source alike:
// 8080 -> "8080", false -> "false", ["ws://a:1", "ws://b:2"] -> "ws://a:1,ws://b:2".
function asText(v: unknown, isList: boolean): string {
  if (typeof v === "string") return v;
  if ((typeof v === "number" && Number.isFinite(v)) || typeof v === "boolean") return String(v);
  if (isList && Array.isArray(v)) {
    if (!v.every((x) => typeof x === "string" && !x.includes(","))) throw new OptionValueError("expected a list of strings");
    return v.join(",");
  }
  if (v === null) throw new OptionValueError("expected a value (leave the key out for the default)");
  throw new OptionValueError(isList ? "expected a list of strings" : "expected a single value, not a list or a mapping");
}

/** ` (did you mean x?)` when a known word is within two edits of `word`, else "". */
export function suggest(word: string, known: readonly string[]): string {
  let best: string | undefined;
  let bestD = 3;
  for (const k of known) {
    const d = editDistance(word, k);
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best ? ` (did you mean ${best}?)` : "";
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}
