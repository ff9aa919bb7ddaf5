/** CLI argument parsers: each throws InvalidArgumentError with a message naming the flag's rule. */
import { InvalidArgumentError } from "commander";
import { intIn as intInValues, LOG_LEVELS, oneOf, OptionValueError, port, type ValueParser } from "../node/options/values.ts";

/** Wraps a start option value parser (`node/options/values.ts`) for commander, so a check is written once. */
export function forCommander<T>(parse: ValueParser<T>): (v: string) => T {
  return (v) => {
    try {
      return parse(v);
    } catch (e) {
      throw e instanceof OptionValueError ? new InvalidArgumentError(e.message) : e;
    }
  };
}

/** A TCP port, 0..65535 (0 picks a free one). */
export const parsePort = forCommander(port);

/** A whole number within [min, max]. */
export function intIn(min: number, max: number): (v: string) => number {
  return forCommander(intInValues(min, max));
}

/** A pino log level. */
export const parseLogLevel = forCommander(oneOf(LOG_LEVELS));

/** One `--param name=value` (a chain spec param, whole number); accumulates into a record. */
export function collectParam(v: string, prev: Record<string, number> = {}): Record<string, number> {
  const m = /^([a-z_]+)=([0-9]{1,10})$/.exec(v);
  if (!m) throw new InvalidArgumentError("expected name=value with a whole number, e.g. jitter_max_ms=100");
  return { ...prev, [m[1]!]: Number(m[2]) };
}

/** An address: 64 lowercase hex chars. */
export function parseAddress(v: string): string {
  if (!/^[0-9a-f]{64}$/.test(v)) throw new InvalidArgumentError("expected an address of 64 lowercase hex chars");
  return v;
}

/** An amount in base units: a non-negative whole number, as a decimal string. */
export function parseAmount(v: string): string {
  if (!/^(0|[1-9][0-9]{0,38})$/.test(v)) throw new InvalidArgumentError("expected a whole number of base units (no sign, no decimals)");
  return v;
}

/** An http:// or https:// base URL (a node's API). */
export function parseHttpUrl(v: string): string {
  let ok = false;
  try {
    const u = new URL(v);
    ok = (u.protocol === "http:" || u.protocol === "https:") && u.hostname !== "";
  } catch {
    ok = false;
  }
  if (!ok) throw new InvalidArgumentError(`"${v}" is not an http(s)://host:port address`);
  return v;
}
