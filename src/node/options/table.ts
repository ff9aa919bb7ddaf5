/**
 * Every start option in one table. Each row gives the option's flag (`--api-port <port>`), its
 * parser, its default and its help; the rest is derived from its name so the three sources cannot
 * drift apart: the environment variable `VISION_<UPPER_SNAKE>` (`VISION_API_PORT`) and the config
 * file key `<lower_snake>` (`api_port`). The CLI builds its flags, `vision-node config dump` its
 * listing, and `config/file.ts` its accepted keys from this table.
 *
 * Precedence (the CLI applies it): flags > environment > config file > defaults.
 */
import { defaultP2POptions } from "../../p2p/options.ts";
import type { SyncStrategy } from "../../sync/syncer.ts";
import { bool, checkpointText, corsOrigins, host, httpUrl, intIn, ipAddress, list, LOG_LEVELS, oneOf, port, text, token, wsUrl, type ValueParser } from "./values.ts";

/** The effective start configuration, one field per option (undefined: unset, no default). */
export interface StartValues {
  dataDir: string;
  chain?: string;
  config?: string;
  keyFile?: string;
  p2pHost: string;
  p2pPort: number;
  p2pAdvertise?: string;
  /** local IP address our P2P dials leave from */
  p2pDialFrom?: string;
  peers: string[];
  discovery: boolean;
  p2pMaxPeers: number;
  p2pMaxInboundPerAddress: number;
  p2pBanMs: number;
  /** bytes a second of sync replies served to one peer (one address), and the burst on top */
  p2pServedBytesPerSec: number;
  p2pServedBytesBurst: number;
  apiHost: string;
  apiPort: number;
  apiCors: string[];
  metricsHost: string;
  metricsPort?: number;
  logLevel: string;
  /** auto: readable lines on a terminal, JSON lines otherwise */
  logFormat: "auto" | "pretty" | "json";
  produce: boolean;
  mine: boolean;
  miningWorkers?: number;
  syncStrategy: SyncStrategy;
  /** `HEIGHT:HASH` of a finalized checkpoint to start from (docs/protocol.md §9.7) */
  checkpoint?: string;
  /** a trusted node's API whose finalized checkpoint to start from */
  checkpointUrl?: string;
  /** wait one more checkpoint interval after each start, watching for another instance's votes (docs/protocol.md §6.6) */
  doppelgangerDetection: boolean;
  clockOffsetMs?: number;
  adminToken?: string;
  miningDifficulty?: number;
  miningDelayMs?: number;
}

/** When a changed value takes effect: at the next start, or at once on `POST /config/refresh`. */
export type Applies = "restart" | "live";

/** One row of the table. */
export interface StartOption<T> {
  /** the flag with its argument placeholder (`--api-port <port>`), `--no-x` for an on/off option, or null for a config-file-only key */
  flag: string | null;
  help: string;
  parse: ValueParser<T>;
  default?: T;
  /** how the default reads in help and dumps when it is not a plain value (`<data-dir>/node.key`) */
  defaultText?: string;
  /** the value is a list (a YAML/TOML array in a file, comma-separated text elsewhere) */
  list?: boolean;
  /** shown as `<hidden>` in `config dump` and in reload reports */
  secret?: boolean;
  /** not accepted in the config file (the config file's own path) */
  notInFile?: boolean;
  /** testing aid: left out of `--help` */
  hidden?: boolean;
  applies: Applies;
}

/** The table's type: a row for every field of StartValues, with a parser of that field's type. */
export type StartOptionTable = { [K in keyof StartValues]-?: StartOption<NonNullable<StartValues[K]>> };

/** Every start option. Row order is the order of `--help` and `config dump`. */
export const START_OPTIONS: StartOptionTable = {
  dataDir: { flag: "--data-dir <dir>", help: "data directory (chain database, node.key, admin.token)", parse: text, default: "./vision-data", applies: "restart" },
  chain: { flag: "--chain <file>", help: "chain spec JSON", parse: text, defaultText: "the shipped testnet spec", applies: "restart" },
  config: { flag: "--config <file>", help: "config file, YAML (or JSON), or TOML when it ends in .toml: any option below by its lower_snake name", parse: text, notInFile: true, applies: "restart" },
  keyFile: { flag: "--key-file <file>", help: "node key file (created with a new key when missing)", parse: text, defaultText: "<data-dir>/node.key", applies: "restart" },
  p2pHost: { flag: "--p2p-host <host>", help: "P2P bind address", parse: host, default: "0.0.0.0", applies: "restart" },
  p2pPort: { flag: "--p2p-port <port>", help: "P2P WebSocket port", parse: port, default: defaultP2POptions.port, applies: "restart" },
  p2pAdvertise: { flag: "--p2p-advertise <url>", help: "ws://host:port peers should dial to reach this node (behind NAT or in a container)", parse: wsUrl, applies: "restart" },
  p2pDialFrom: { flag: "--p2p-dial-from <ip>", help: "local IP address the node's outgoing P2P connections leave from (a host with several addresses; peers see it as ours)", parse: ipAddress, defaultText: "the system's choice", applies: "restart" },
  peers: { flag: "--peers <urls>", help: "comma-separated ws://host:port peers to keep connected", parse: list(wsUrl), default: [], list: true, applies: "restart" },
  discovery: { flag: "--no-discovery", help: "dial only --peers, not addresses learned from peers", parse: bool, default: true, applies: "restart" },
  p2pMaxPeers: { flag: "--p2p-max-peers <n>", help: "most connected peers", parse: intIn(1, 10_000), default: defaultP2POptions.maxPeers, applies: "restart" },
  p2pMaxInboundPerAddress: { flag: "--p2p-max-inbound-per-address <n>", help: "most inbound connections from one IP address", parse: intIn(1, 10_000), default: defaultP2POptions.maxInboundPerAddress, applies: "restart" },
  p2pBanMs: { flag: "--p2p-ban-ms <ms>", help: "how long a misbehaving peer stays banned", parse: intIn(0, 30 * 24 * 3_600_000), default: defaultP2POptions.banMs, applies: "restart" },
  p2pServedBytesPerSec: { flag: "--p2p-served-bytes-per-sec <n>", help: "bytes a second of sync replies served to one peer address (docs/protocol.md §9.6)", parse: intIn(1024, 4096 * 1024 * 1024), default: defaultP2POptions.servedBytesPerSec, applies: "restart" },
  p2pServedBytesBurst: { flag: "--p2p-served-bytes-burst <n>", help: "bytes of sync replies one peer address may take at once, above the rate", parse: intIn(1024, 4096 * 1024 * 1024), default: defaultP2POptions.servedBytesBurst, applies: "restart" },
  apiHost: { flag: "--api-host <host>", help: "HTTP API bind address", parse: host, default: "127.0.0.1", applies: "restart" },
  apiPort: { flag: "--api-port <port>", help: "HTTP API port", parse: port, default: 8080, applies: "restart" },
  apiCors: { flag: "--api-cors <origins>", help: "comma-separated browser origins allowed to call the API, or *", parse: corsOrigins, default: [], list: true, applies: "restart" },
  metricsHost: { flag: "--metrics-host <host>", help: "bind address of the metrics listener", parse: host, default: "127.0.0.1", applies: "restart" },
  metricsPort: { flag: "--metrics-port <port>", help: "serve GET /metrics on this port too (0 picks a free one)", parse: port, defaultText: "off", applies: "restart" },
  logLevel: { flag: "--log-level <level>", help: LOG_LEVELS.join("|"), parse: oneOf(LOG_LEVELS), default: "info", applies: "restart" },
  logFormat: { flag: "--log-format <format>", help: "pretty: readable lines; json: one JSON object per line; auto: pretty on a terminal", parse: oneOf(["auto", "pretty", "json"]), default: "auto", applies: "restart" },
  produce: { flag: "--no-produce", help: "validate and relay blocks but never produce (no slots, no PoW, no attestations)", parse: bool, default: true, applies: "restart" },
  mine: { flag: "--no-mine", help: "never mine PoW (the fallback, or every block of a pow chain); still serve /mine_block templates", parse: bool, default: true, applies: "restart" },
  miningWorkers: { flag: "--mining-workers <n>", help: "PoW worker threads", parse: intIn(1, 256), defaultText: "all cores", applies: "restart" },
  syncStrategy: { flag: "--sync-strategy <strategy>", help: "how to ask peers for missing blocks: range|epoch|canonical", parse: oneOf(["range", "epoch", "canonical"]), default: "range", applies: "restart" },
  checkpoint: { flag: "--checkpoint <height:hash>", help: "on an empty data dir: start from this finalized checkpoint, its state fetched from the peers and checked against it, instead of replaying from genesis", parse: checkpointText, notInFile: true, applies: "restart" },
  checkpointUrl: { flag: "--checkpoint-url <url>", help: "like --checkpoint, with the finalized checkpoint of the trusted node whose API is at this http(s) URL", parse: httpUrl, notInFile: true, applies: "restart" },
  doppelgangerDetection: { flag: "--doppelganger-detection <bool>", help: "after each start, vote only after one more checkpoint interval with no vote of this key that this node did not sign (costs an interval of votes per restart)", parse: bool, default: false, applies: "restart" },
  clockOffsetMs: { flag: "--clock-offset-ms <ms>", help: "shift this node's clock (testing clock skew; drills use it)", parse: intIn(-9_999_999, 9_999_999), defaultText: "0", hidden: true, applies: "restart" },
  adminToken: { flag: null, help: "bearer token of the admin calls (/difficulty/set, /config/refresh)", parse: token, defaultText: "a random token in <data-dir>/admin.token", secret: true, applies: "restart" },
  miningDifficulty: { flag: null, help: "this node's own minimum PoW difficulty (only ever raises the chain's)", parse: intIn(0, 64), defaultText: "0", applies: "live" },
  miningDelayMs: { flag: null, help: "pause per 4-nonce step of each PoW worker (slows a miner down for race tests)", parse: intIn(0, 60_000), defaultText: "0", applies: "live" },
};

/** A StartValues field name. */
export type OptionName = keyof StartValues;

/** Every option name, in table order. */
export const OPTION_NAMES = Object.keys(START_OPTIONS) as OptionName[];

/** Prefix of the environment variables the node reads; `start` refuses any other variable with it. */
export const ENV_PREFIX = "VISION_";

/**
 * `env` without the node's variables, for processes that must be configured by their flags alone
 * (the nodes of `vision-node testnet` and the drills: an operator's VISION_CONFIG or VISION_KEY_FILE
 * must not reach them).
 */
export function withoutNodeEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith(ENV_PREFIX)));
}

const snake = (name: string) => name.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase());

/** The config file key of an option: `apiPort` -> `api_port`. */
export function fileKeyOf(name: OptionName): string {
  return snake(name);
}

/** The environment variable of an option: `apiPort` -> `VISION_API_PORT`; null for config-file-only keys. */
export function envNameOf(name: OptionName): string | null {
  return START_OPTIONS[name].flag === null ? null : ENV_PREFIX + snake(name).toUpperCase();
}

/** The option a config file key names, if any. */
export function optionOfFileKey(key: string): OptionName | undefined {
  return OPTION_NAMES.find((n) => fileKeyOf(n) === key && !START_OPTIONS[n].notInFile);
}

/** The option an environment variable names, if any (config-file-only keys have none). */
export function optionOfEnvName(env: string): OptionName | undefined {
  return OPTION_NAMES.find((n) => envNameOf(n) === env);
}
