/**
 * The node's live settings: the config file's values (`options/file.ts`), the `/difficulty/set`
 * override, and the admin token that guards the admin calls (`/difficulty/set`, `/config/refresh`).
 * `POST /config/refresh` re-reads the file: `mining_difficulty` and `mining_delay_ms` apply at once;
 * every other key is validated and reported, and applies at the next start.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import { writeFileSync } from "node:fs";
import { ConfigError } from "./options/errors.ts";
import { readConfigFile } from "./options/file.ts";
import { fileKeyOf, OPTION_NAMES, START_OPTIONS, type StartValues } from "./options/table.ts";

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
 * Without `admin_token` in the file a random token is written to `cookiePath` (mode 0600) at start,
 * as bitcoind does with its cookie file.
 */
export class NodeSettings {
  private config: Partial<StartValues>;
  private override: number | null = null;
  readonly adminToken: string;

  constructor(
    private readonly path: string | undefined,
    cookiePath: string,
  ) {
    this.config = path ? readConfigFile(path).values : {};
    if (this.config.adminToken) {
      this.adminToken = this.config.adminToken;
    } else {
      this.adminToken = randomBytes(32).toString("hex");
      writeFileSync(cookiePath, this.adminToken + "\n", { mode: 0o600 });
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
    const applied: Partial<StartValues> = { ...this.config };
    for (const name of OPTION_NAMES) {
      const def = START_OPTIONS[name];
      const [a, b] = [this.config[name], next[name]];
      if (JSON.stringify(a) === JSON.stringify(b)) continue;
      const shown = (v: unknown) => (v === undefined ? null : def.secret ? HIDDEN : v);
      if (def.applies === "live") {
        changes[fileKeyOf(name)] = { old: shown(a), new: shown(b) };
        (applied as Record<string, unknown>)[name] = b;
      } else {
        changes[fileKeyOf(name)] = { old: shown(a), new: shown(b), applies_at: "restart" };
      }
    }
    this.config = applied;
    return changes;
  }
}
