// The checks `promtool check metrics` makes on a text exposition, for CI machines without promtool:
// every family has HELP and TYPE before its samples; counters and only counters end in `_total`;
// `_bucket`/`_count`/`_sum` and the `le`/`quantile` labels belong to histograms and summaries; no
// type name, colon or camelCase in a name; base units (seconds, bytes) spelled out, and a unit is
// the last word of the name (before `_total`).

export interface LintProblem {
  metric: string;
  text: string;
}

/** Unit words that are not base units, with the base unit to use. */
const NON_BASE_UNITS: Record<string, string> = {
  milliseconds: "seconds", microseconds: "seconds", nanoseconds: "seconds", minutes: "seconds", hours: "seconds", days: "seconds", weeks: "seconds",
  kilobytes: "bytes", megabytes: "bytes", gigabytes: "bytes", kibibytes: "bytes", mebibytes: "bytes", gibibytes: "bytes", bits: "bytes",
  celsius: "celsius", // a base unit already, listed so that the unit-position rule knows it
  percent: "ratio",
};
/** Abbreviated units promtool refuses as words of a name. */
const ABBREVIATIONS = new Set(["s", "ms", "us", "ns", "sec", "secs", "hr", "hrs", "b", "kb", "mb", "gb", "tb", "pb", "kib", "mib", "gib"]);
/** Base units: when one is a word of the name, it is the last (before `_total`). */
const BASE_UNITS = new Set(["seconds", "bytes", "ratio", "celsius", "meters", "volts", "amperes", "joules", "grams"]);
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

/** Lints a text exposition; returns every problem found (none for a clean one). */
export function promLint(text: string): LintProblem[] {
  const problems: LintProblem[] = [];
  const help = new Set<string>();
  const type = new Map<string, string>();
  const add = (metric: string, t: string) => problems.push({ metric, text: t });
  const familyOf = (sample: string) => {
    if (type.has(sample)) return sample;
    for (const suffix of ["_bucket", "_count", "_sum"]) {
      const base = sample.slice(0, -suffix.length);
      if (sample.endsWith(suffix) && ["histogram", "summary"].includes(type.get(base) ?? "")) return base;
    }
    return undefined;
  };
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) ?(.*)$/.exec(line);
    if (meta) {
      const [, kind, name, rest] = meta as unknown as [string, string, string, string];
      if (kind === "HELP") {
        if (rest.trim() === "") add(name, "no help text");
        help.add(name);
      } else {
        if (!TYPES.has(rest)) add(name, `unknown type ${rest}`);
        if (type.has(name)) add(name, "second TYPE line");
        type.set(name, rest);
      }
      continue;
    }
    if (line.startsWith("#")) continue;
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)( \d+)?$/.exec(line);
    if (!sample) {
      add(line.slice(0, 40), "unparsable line");
      continue;
    }
    const [, name, labels = ""] = sample as unknown as [string, string, string | undefined];
    const family = familyOf(name);
    if (!family) {
      add(name, "sample without a TYPE line before it");
      continue;
    }
    // Go's ParseFloat, which Prometheus uses, takes NaN and Inf in any case (prom-client writes "Nan").
    if (!Number.isFinite(Number(sample[3])) && !/^([+-]?(inf|infinity)|nan)$/i.test(sample[3]!)) add(name, `bad value ${sample[3]}`);
    const t = type.get(family)!;
    const labelNames = [...labels.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)].map((m) => m[1]!);
    for (const l of labelNames) if (/[a-z][A-Z]/.test(l)) add(family, `label names should be written in 'snake_case' not 'camelCase': ${l}`);
    if (labelNames.includes("le") && !(t === "histogram" && name.endsWith("_bucket"))) add(family, 'non-histogram metrics should not have "le" label');
    if (labelNames.includes("quantile") && t !== "summary") add(family, 'non-summary metrics should not have "quantile" label');
  }
  for (const [name, t] of type) {
    if (!help.has(name)) add(name, "no help text");
    const words = name.split("_");
    if (t === "counter" && !name.endsWith("_total")) add(name, 'counter metrics should have "_total" suffix');
    if (t !== "counter" && t !== "untyped" && name.endsWith("_total")) add(name, 'non-counter metrics should not have "_total" suffix');
    if (t !== "histogram" && t !== "untyped" && name.endsWith("_bucket")) add(name, 'non-histogram metrics should not have "_bucket" suffix');
    if (t !== "histogram" && t !== "summary" && t !== "untyped" && (name.endsWith("_count") || name.endsWith("_sum"))) add(name, "non-histogram and non-summary metrics should not have a _count or _sum suffix");
    for (const typ of TYPES) if (typ !== "untyped" && words.slice(1).includes(typ)) add(name, `metric name should not include type '${typ}'`);
    if (name.includes(":")) add(name, "metric names should not contain ':'");
    if (/[a-z][A-Z]/.test(name)) add(name, "metric names should be written in 'snake_case' not 'camelCase'");
    for (const w of words) {
      if (NON_BASE_UNITS[w] && NON_BASE_UNITS[w] !== w) add(name, `use base unit "${NON_BASE_UNITS[w]}" instead of "${w}"`);
      if (ABBREVIATIONS.has(w)) add(name, `metric names should not contain abbreviated units: ${w}`);
    }
    const unitWords = words.map((w, i) => [w, i] as const).filter(([w]) => BASE_UNITS.has(w));
    const last = name.endsWith("_total") ? words.length - 2 : words.length - 1;
    for (const [w, i] of unitWords) if (i !== last) add(name, `the unit "${w}" should be the last word of the name (before _total)`);
  }
  return problems;
}
