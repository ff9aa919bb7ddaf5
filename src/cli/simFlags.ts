/**
 * The parsers of `vision-node sim`'s flags, apart from the simulator (cli/sim.ts), so that the
 * command line loads the simulator only to run it: a bad flag is refused before any of it loads.
 * Each throws commander's InvalidArgumentError with the reason, which commander prints after the
 * flag's name.
 */
import { InvalidArgumentError } from "commander";
import { parseMsRange, parsePartition, type PartitionFault } from "../sim/faults.ts";
import { DEFAULT_REGIONS } from "../sim/network.ts";

/** A fraction in [0, 1) (`--crash 0.1`): a decimal of at most 6 places. */
export function parseFraction(v: string): number {
  if (!/^(0|0?\.[0-9]{1,6})$/.test(v)) throw new InvalidArgumentError("expected a fraction from 0 to below 1, e.g. 0.1");
  return Number(v);
}

/**
 * `--private-branch F[:K]`: a fraction (as `parseFraction`) and the branch length K in heights, an
 * integer 2..64 (default 4).
 * @throws InvalidArgumentError for any other text
 */
export function parsePrivateBranch(v: string): { fraction: number; heights: number } {
  const m = /^([^:]*)(?::([0-9]{1,2}))?$/.exec(v);
  if (!m) throw new InvalidArgumentError("expected FRACTION or FRACTION:K, e.g. 0.2:4 (K: heights of the private branch, 2..64)");
  const fraction = parseFraction(m[1]!);
  const heights = m[2] === undefined ? 4 : Number(m[2]);
  if (heights < 2 || heights > 64) throw new InvalidArgumentError(`the private branch's K must be 2..64 heights, got ${heights}`);
  return { fraction, heights };
}

/** `--partition <regionsA>/<regionsB>@<fromMs>-<toMs>` over the simulator's regions (sim/faults.ts parsePartition). */
export function parsePartitionFlag(v: string): PartitionFault {
  try {
    return parsePartition(v, DEFAULT_REGIONS.regions);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

/** `--restart-downtime-ms <minMs>-<maxMs>` (sim/faults.ts parseMsRange). */
export function parseDowntimeFlag(v: string): [number, number] {
  try {
    return parseMsRange(v);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}
