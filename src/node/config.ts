/**
 * The node's own configuration file (seed 004's `config.py`, as JSON) and its hot reload
 * (`POST /config/refresh`), plus the admin token that guards seed 004's admin calls.
 *
 * File fields, all optional: `admin_token` (16..256 chars), `mining_difficulty` (the node's own PoW
 * difficulty; it only ever raises the expected one), `mining_delay_ms` (seed 000's race knob: a
 * pause per 4-nonce step per worker), `mining_workers` (threads; applied at start only).
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { z } from "zod";

/** Schema of the config file. Unknown fields are refused, so a typo is an error, not a no-op. */
export const nodeConfigSchema = z.strictObject({
  admin_token: z.string().min(16).max(256).optional(),
  mining_difficulty: z.number().int().min(0).max(64).optional(),
  mining_delay_ms: z.number().int().min(0).max(60_000).optional(),
  mining_workers: z.number().int().min(1).max(256).optional(),
});

/** A parsed config file. */
export type NodeConfig = z.infer<typeof nodeConfigSchema>;

/** A config file that cannot be used. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/**
 * Reads and validates a config file.
 * @throws ConfigError naming the file and the field at fault
 */
export function loadNodeConfig(path: string): NodeConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new ConfigError(`config ${path}: ${(e as Error).message}`);
  }
  const r = nodeConfigSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new ConfigError(`config ${path}: ${i.path.join(".") || "(root)"}: ${i.message}`);
  }
  return r.data;
}

/** One changed field of a refresh, in seed 004's `{old, new}` form. */
export type ConfigChanges = Record<string, { old: unknown; new: unknown }>;

/**
 * The live settings: the config file's values, the `/difficulty/set` override, and the admin token.
 * Without `admin_token` in the file a random token is written to `cookiePath` (mode 0600) at start,
 * as bitcoind does with its cookie file.
 */
export class NodeSettings {
  private config: NodeConfig;
  private override: number | null = null;
  readonly adminToken: string;

  constructor(
    private readonly path: string | undefined,
    cookiePath: string,
  ) {
    this.config = path ? loadNodeConfig(path) : {};
    if (this.config.admin_token) {
      this.adminToken = this.config.admin_token;
    } else {
      this.adminToken = randomBytes(32).toString("hex");
      writeFileSync(cookiePath, this.adminToken + "\n", { mode: 0o600 });
    }
  }

  get values(): Readonly<NodeConfig> {
    return this.config;
  }

  /** The configured mining difficulty (0 when unset). */
  get configDifficulty(): number {
    return this.config.mining_difficulty ?? 0;
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
    return this.config.mining_delay_ms ?? 0;
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
   * Re-reads the config file and applies it; the admin token and worker count keep their
   * start-up values (reported as changed only in the file).
   * @throws ConfigError when there is no file or it is invalid (the old settings stay)
   */
  refresh(): ConfigChanges {
    if (!this.path) throw new ConfigError("this node was started without --config: nothing to reload");
    const next = loadNodeConfig(this.path);
    const changes: ConfigChanges = {};
    for (const key of Object.keys(nodeConfigSchema.shape) as (keyof NodeConfig)[]) {
      if (next[key] !== this.config[key]) changes[key] = key === "admin_token" ? { old: "(hidden)", new: "(hidden, applies at restart)" } : { old: this.config[key] ?? null, new: next[key] ?? null };
    }
    this.config = { ...next, admin_token: this.config.admin_token };
    return changes;
  }
}
