/**
 * The node's live settings: the config file's values (`options/file.ts`), the `/difficulty/set`
 * override, and the admin token that guards the admin calls (`/difficulty/set`, `/config/refresh`).
 * `POST /config/refresh` re-reads the file: `mining_difficulty` and `mining_delay_ms` apply at once;
 * every other key is validated and reported, and applies at the next start.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import { ConfigError } from "./options/errors.ts";
import { readConfigFile } from "./options/file.ts";
import { fileKeyOf, OPTION_NAMES, START_OPTIONS, type StartValues } from "./options/table.ts";
import { writeFileDurably } from "../util/durableFile.ts";

export { ConfigError } from "./options/errors.ts";

/** The changed keys of a refresh, each in `POST /config/refresh`'s `{old, new}` form. */
export type ConfigChanges = Record<string, ConfigChange>;

/** A changed key: old and new values (null when unset; `<hidden>` for secrets), and `applies_at: "restart"` unless it applied at once. */
export interface ConfigChange {
  old: unknown;
  new: unknown;
  applies_at?: "restart";
}

/** How a secret reads in reports and dumps. */
export const HIDDEN = "<hidden>";

/**
 * The live settings: the config file's values, the `/difficulty/set` override, and the admin token.
 * Without `admin_token` in the file a random token is written to `cookiePath` at start (kept in memory
 * only when there is no `cookiePath`: a simulated node, whose API does not listen), as bitcoind
 * does with its cookie file: a new file (mode 0600, the node's user) renamed over the old one, so an
 * existing file with looser permissions or another owner never holds the new token (the old token
 * it held is void from this start on), and a power loss leaves the old or the new file whole.
 */
export class NodeSettings {
  /** the values in effect: the file's at start, with the live keys of the last reload */
  private config: Partial<StartValues>;
  /** the file as last read, so a reload reports what changed in it since */
  private lastRead: Partial<StartValues>;
  private override: number | null = null;
  readonly adminToken: string;

  constructor(
    private readonly path: string | undefined,
    cookiePath: string | undefined,
  ) {
    this.config = path ? readConfigFile(path).values : {};
    this.lastRead = this.config;
    if (this.config.adminToken) {
      this.adminToken = this.config.adminToken;
    } else {
      this.adminToken = randomBytes(32).toString("hex");
      if (cookiePath !== undefined) writeFileDurably(cookiePath, this.adminToken + "\n", { mode: 0o600 });
    }
  }

  /** The config file's values (empty without a file). */
  get values(): Readonly<Partial<StartValues>> {
    return this.config;
  }

  /** The configured mining difficulty (0 when unset). */
  get configDifficulty(): number {
    return this.config.miningDifficulty ?? 0;
  }

  /** The `/difficulty/set` override, or null. */
  get difficultyOverride(): number | null {
    return this.override;
  }

  /** The node's own minimum mining difficulty: the override when set, else the config's. */
  get minDifficulty(): number {
    return this.override ?? this.configDifficulty;
  }

  get delayMs(): number {
    return this.config.miningDelayMs ?? 0;
  }

  /** Sets or (with null) clears the override. The caller checks it against the expected difficulty. */
  setOverride(d: number | null): void {
    this.override = d;
  }

  /** True when `token` is the admin token (constant-time). */
  checkToken(token: string): boolean {
    const a = Buffer.from(token);
    const b = Buffer.from(this.adminToken);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  /**
   * Re-reads the config file and applies its live keys (`mining_difficulty`, `mining_delay_ms`);
   * other keys, the admin token included, are validated and reported with `applies_at: "restart"`.
   * @throws ConfigError when there is no file or it is invalid (the old settings stay)
   */
  refresh(): ConfigChanges {
    if (!this.path) throw new ConfigError("this node was started without --config: nothing to reload");
    const next = readConfigFile(this.path).values;
    const changes: ConfigChanges = {};
    for (const name of OPTION_NAMES) {
      const def = START_OPTIONS[name];
      const [a, b] = [this.lastRead[name], next[name]];
      if (JSON.stringify(a) === JSON.stringify(b)) continue;
      const shown = (v: unknown) => (v === undefined ? null : def.secret ? HIDDEN : v);
      changes[fileKeyOf(name)] = def.applies === "live" ? { old: shown(a), new: shown(b) } : { old: shown(a), new: shown(b), applies_at: "restart" };
    }
    this.lastRead = next;
    const live = Object.fromEntries(OPTION_NAMES.filter((n) => START_OPTIONS[n].applies === "live").map((n) => [n, next[n]]));
    this.config = { ...this.config, ...live };
    return changes;
  }
}
