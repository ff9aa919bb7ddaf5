/**
 * Parsers of start option values. A value arrives as text from a flag, an environment variable or
 * (converted to text, see `file.ts`) a config file, and goes through the same parser whatever its
 * source, so `--api-port 70000`, `VISION_API_PORT=70000` and `api_port: 70000` fail alike.
 * Each parser throws OptionValueError with a message saying what was expected; the caller adds
 * where the value came from.
 */
import { isIP } from "node:net";
import { isWsUrl, MAX_WS_URL_CHARS } from "../../consensus/wire.ts";

/** A value that does not fit its option. The message says what was expected, not where it came from. */
export class OptionValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OptionValueError";
  }
}

/** Parses the text form of one option value. @throws OptionValueError */
export type ValueParser<T> = (v: string) => T;

/** A non-empty path or name, at most 4096 chars, without control characters. */
export const text: ValueParser<string> = (v) => {
  if (v.length === 0 || v.length > 4096 || /[\u0000-\u001f]/.test(v)) throw new OptionValueError("expected a non-empty value without control characters");
  return v;
};

/** An IPv4 or IPv6 address, no name (a local address to bind a socket to). */
export const ipAddress: ValueParser<string> = (v) => {
  if (isIP(v) === 0) throw new OptionValueError("expected an IPv4 or IPv6 address");
  return v;
};

/** A host name, an IPv4 address or an IPv6 address (what `listen()` accepts as a bind address). */
export const host: ValueParser<string> = (v) => {
  if (!/^[A-Za-z0-9._:%-]{1,253}$/.test(v)) throw new OptionValueError("expected a host name or an IP address");
  return v;
};

/** A TCP port, 0..65535 (0 picks a free one). */
export const port: ValueParser<number> = (v) => {
  if (!/^[0-9]{1,5}$/.test(v) || Number(v) > 65535) throw new OptionValueError("expected a port number 0..65535");
  return Number(v);
};

/** A whole number within [min, max] (negative bounds allowed). */
export function intIn(min: number, max: number): ValueParser<number> {
  return (v) => {
    if (!/^-?[0-9]{1,15}$/.test(v) || Number(v) < min || Number(v) > max) {
      throw new OptionValueError(`expected a whole number from ${min} to ${max}`);
    }
    return Number(v);
  };
}

/** `true` or `false` (also `1` or `0`), for the on/off options such as `produce`. */
export const bool: ValueParser<boolean> = (v) => {
  if (v === "true" || v === "1") return true;
  if (v === "false" || v === "0") return false;
  throw new OptionValueError("expected true or false");
};

/** One of `choices`. */
export function oneOf<const C extends string>(choices: readonly C[]): ValueParser<C> {
  return (v) => {
    if (!(choices as readonly string[]).includes(v)) throw new OptionValueError(`expected one of ${choices.join(", ")}`);
    return v as C;
  };
}

/** pino's log levels. */
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/** A dialable `ws://host:port` or `wss://host:port` address, as `isWsUrl` checks it (docs/protocol.md §9). */
export const wsUrl: ValueParser<string> = (v) => {
  if (!isWsUrl(v)) throw new OptionValueError(`"${v}" is not a ws://host:port address (port 1-65535, no path, at most ${MAX_WS_URL_CHARS} chars)`);
  return v;
};

/** Comma-separated items (blanks dropped), each checked by `item`; an empty text is an empty list. */
export function list<T>(item: ValueParser<T>): ValueParser<T[]> {
  return (v) => v.split(",").map((s) => s.trim()).filter(Boolean).map(item);
}

/** Browser origins allowed to call the API: `*`, or `http(s)://host[:port]` origins. */
export const corsOrigins: ValueParser<string[]> = (v) => {
  const origins = list(text)(v);
  if (origins.length === 1 && origins[0] === "*") return origins;
  for (const o of origins) {
    let ok = false;
    try {
      const u = new URL(o);
      ok = (u.protocol === "http:" || u.protocol === "https:") && u.origin === o;
    } catch {
      ok = false;
    }
    if (!ok) throw new OptionValueError(`"${o}" is not an origin like https://example.org (or use * alone)`);
  }
  return origins;
};

/** A secret token: 16..256 printable ASCII chars. */
export const token: ValueParser<string> = (v) => {
  if (!/^[\x21-\x7e]{16,256}$/.test(v)) throw new OptionValueError("expected 16 to 256 printable characters without spaces");
  return v;
};

/**
 * A checkpoint `HEIGHT:HASH` (`--checkpoint`, docs/protocol.md §9.7): a height of 1 or more, a
 * colon, 64 hex digits; returned as `height:hash` with the hash lowercased.
 */
export const checkpointText: ValueParser<string> = (v) => {
  const m = /^([0-9]{1,15}):([0-9a-fA-F]{64})$/.exec(v.trim());
  if (!m) throw new OptionValueError("expected HEIGHT:HASH (a block height, a colon, 64 hex digits)");
  if (Number(m[1]) < 1) throw new OptionValueError("expected a checkpoint height of 1 or more (height 0 is genesis: start without a checkpoint)");
  return `${Number(m[1])}:${m[2]!.toLowerCase()}`;
};

/** An http:// or https:// URL without credentials, at most 2048 chars (`--checkpoint-url`). */
export const httpUrl: ValueParser<string> = (v) => {
  let u: URL | undefined;
  try {
    u = v.length <= 2048 ? new URL(v) : undefined;
  } catch {
    u = undefined;
  }
  if (!u || (u.protocol !== "http:" && u.protocol !== "https:") || u.username || u.password) {
    throw new OptionValueError(`"${v.slice(0, 80)}" is not an http:// or https:// URL of a node's API (e.g. http://10.0.0.5:8080)`);
  }
  return v;
};
