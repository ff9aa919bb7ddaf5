/** CLI argument parsers: each throws InvalidArgumentError with a message naming the flag's rule. */
import { InvalidArgumentError } from "commander";

/** A TCP port, 0..65535 (0 picks a free one). */
export function parsePort(v: string): number {
  if (!/^[0-9]{1,5}$/.test(v) || Number(v) > 65535) throw new InvalidArgumentError("expected a port number 0..65535");
  return Number(v);
}

/** A whole number within [min, max]. */
export function intIn(min: number, max: number): (v: string) => number {
  return (v) => {
    if (!/^[0-9]{1,12}$/.test(v) || Number(v) < min || Number(v) > max) {
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    }
    return Number(v);
  };
}

/** Comma-separated ws://host:port addresses. */
export function parsePeers(v: string): string[] {
  const urls = v.split(",").map((s) => s.trim()).filter(Boolean);
  for (const u of urls) {
    let ok = false;
    try {
      const url = new URL(u);
      ok = (url.protocol === "ws:" || url.protocol === "wss:") && url.hostname !== "" && url.port !== "";
    } catch {
      ok = false;
    }
    if (!ok) throw new InvalidArgumentError(`"${u}" is not a ws://host:port address`);
  }
  return urls;
}

/** A pino log level. */
export function parseLogLevel(v: string): string {
  const levels = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];
  if (!levels.includes(v)) throw new InvalidArgumentError(`expected one of ${levels.join(", ")}`);
  return v;
}

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
