/**
 * `start` options from flags, the environment and the config file, with the precedence
 * flags > env > file > defaults. The flags, the `VISION_*` variables and the file keys all come
 * from one table (`node/options/table.ts`); each value is checked by the same parser whatever its
 * source, and an error names the source and the key (`env VISION_API_PORT: expected a port number
 * 0..65535`, `config node.yaml: peers: ...`). An unknown `VISION_*` variable or file key is an error.
 */
import { Option, type Command } from "commander";
import { forCommander } from "./parse.ts";
import { ConfigError } from "../node/options/errors.ts";
import { readConfigFile, suggest } from "../node/options/file.ts";
import { ENV_PREFIX, envNameOf, fileKeyOf, OPTION_NAMES, optionOfEnvName, START_OPTIONS, type OptionName, type StartValues } from "../node/options/table.ts";
import { OptionValueError, type ValueParser } from "../node/options/values.ts";
import type { P2POptions } from "../p2p/options.ts";

/** Where an effective value came from. */
export type ValueSource = "flag" | "env" | "file" | "default";

/** The effective start configuration and the source of each value. */
export interface ResolvedStartOptions {
  values: StartValues;
  sources: Record<OptionName, ValueSource>;
  /** the config file read, if any (as given) */
  configFile?: string;
}

/** Adds every start option of the table to `cmd` as a flag (with its parser, default and help). */
export function addStartOptions(cmd: Command): Command {
  for (const name of OPTION_NAMES) {
    const def = START_OPTIONS[name];
    if (def.flag === null) continue;
    const help = def.defaultText ? `${def.help} (default: ${def.defaultText})` : def.help;
    const o = new Option(def.flag, help);
    if (!def.flag.startsWith("--no-")) {
      o.argParser(forCommander(def.parse as ValueParser<unknown>));
      if (def.default !== undefined) o.default(def.default, Array.isArray(def.default) ? "none" : undefined);
    }
    if (def.hidden) o.hideHelp();
    cmd.addOption(o);
    // `--produce` too, so a flag can turn back on what a file or variable turned off.
    if (def.flag.startsWith("--no-")) cmd.addOption(new Option(`--${def.flag.slice(5)}`, `the default: overrides ${envNameOf(name)}=false or ${fileKeyOf(name)}: false`));
  }
  const keys = (pick: (n: OptionName) => boolean) => OPTION_NAMES.filter(pick).map(fileKeyOf).join(", ");
  return cmd.addHelpText(
    "after",
    `
Every option can also be set by an environment variable ${ENV_PREFIX}<OPTION> (VISION_API_PORT=8081,
VISION_PEERS=ws://a:7072,ws://b:7072, VISION_PRODUCE=false for --no-produce) or by a key of the
--config file named as the option in lower_snake case (api_port: 8081, produce: false). Flags beat
the environment, which beats the file, which beats the defaults. The file also takes
${keys((n) => START_OPTIONS[n].flag === null)}; POST /config/refresh applies
${keys((n) => START_OPTIONS[n].applies === "live")} at once.`,
  );
}

/**
 * The effective options of a `start` (or `config dump`) command whose flags commander has parsed.
 * @throws ConfigError naming the source and key at fault (an unknown or invalid variable, an unreadable or invalid file)
 */
export function resolveStartOptions(cmd: Command, env: NodeJS.ProcessEnv = process.env): ResolvedStartOptions {
  checkEnvNames(env);
  const fromFlag = (name: OptionName): boolean => START_OPTIONS[name].flag !== null && cmd.getOptionValueSource(name) === "cli";
  const fromEnv = (name: OptionName): unknown => {
    const envName = envNameOf(name);
    const raw = envName ? env[envName] : undefined;
    if (raw === undefined) return undefined;
    try {
      return START_OPTIONS[name].parse(raw);
    } catch (e) {
      if (e instanceof OptionValueError) throw new ConfigError(`env ${envName}: ${e.message}`);
      throw e;
    }
  };
  const configPath = fromFlag("config") ? (cmd.getOptionValue("config") as string) : (fromEnv("config") as string | undefined);
  const file = configPath === undefined ? undefined : readConfigFile(configPath);
  const values: Record<string, unknown> = {};
  const sources = {} as Record<OptionName, ValueSource>;
  for (const name of OPTION_NAMES) {
    const envValue = fromEnv(name); // parsed even when a flag wins, so a bad variable never lies in wait
    if (fromFlag(name)) [values[name], sources[name]] = [cmd.getOptionValue(name), "flag"];
    else if (envValue !== undefined) [values[name], sources[name]] = [envValue, "env"];
    else if (file?.values[name] !== undefined) [values[name], sources[name]] = [file.values[name], "file"];
    else [values[name], sources[name]] = [START_OPTIONS[name].default, "default"];
  }
  return { values: values as unknown as StartValues, sources, configFile: configPath };
}

// A misspelt variable must not silently do nothing.
function checkEnvNames(env: NodeJS.ProcessEnv): void {
  const known = OPTION_NAMES.map(envNameOf).filter((n): n is string => n !== null);
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith(ENV_PREFIX) || optionOfEnvName(name)) continue;
    const fileOnly = OPTION_NAMES.find((n) => START_OPTIONS[n].flag === null && ENV_PREFIX + fileKeyOf(n).toUpperCase() === name);
    if (fileOnly) throw new ConfigError(`env ${name}: ${fileKeyOf(fileOnly)} is read from the --config file only`);
    throw new ConfigError(`env ${name}: unknown variable${suggest(name, known)}; start flag --x-y is read from ${ENV_PREFIX}X_Y`);
  }
}

/** The P2P options a start's values set (the rest keep `defaultP2POptions`). */
export function p2pOptionsOf(v: StartValues): Partial<P2POptions> {
  return {
    host: v.p2pHost,
    port: v.p2pPort,
    peers: v.peers,
    discovery: v.discovery,
    maxPeers: v.p2pMaxPeers,
    maxInboundPerAddress: v.p2pMaxInboundPerAddress,
    banMs: v.p2pBanMs,
    servedBytesPerSec: v.p2pServedBytesPerSec,
    servedBytesBurst: v.p2pServedBytesBurst,
    advertiseUrl: v.p2pAdvertise,
    dialFrom: v.p2pDialFrom,
  };
}
