// `vision-node sim` from the command line: a small run prints its summary; --json prints the report
// (the same bytes for the same seed) and --report writes report.json (the same bytes) and
// report.html; a crash fault shows in the report; the attacks (liars, Sybils, grinding) show in the
// summary; bad flags (the restart, partition and clock skew faults' too) give one clear error and
// exit 1.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../helpers/fixtures.ts";
import { runCli, runClis } from "../helpers/nodeProcess.ts";
import { parseReport } from "../../src/sim/report.ts";

const SMALL = ["sim", "--nodes", "5", "--heights", "6", "--seed", "9"];

test("sim: a 5-node run prints its summary; --json gives the same report bytes twice and --report writes it with the HTML", () => {
  const text = runCli(SMALL, 120_000);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /^run\s+5 nodes, 5 validators, seed 9: \d+ ms virtual, [\d.]+ s wall, [\d.]+ node-heights\/s/m);
  assert.match(text.stdout, /^heights\s+\d+ of 6; blocks \d+, orphaned \d+$/m);
  assert.match(text.stdout, /^safety\s+ok: no height with two finalized blocks/m);
  assert.match(text.stdout, /^longest stall\s+\d+ ms .*; 0 intervals over the 10800 ms window$/m);
  assert.match(text.stdout, /^propagation\s+to 95% of nodes p50 \d+/m);

  const t = tempDir();
  try {
    const a = runCli([...SMALL, "--json"], 120_000);
    assert.equal(a.status, 0, a.stderr);
    const report = parseReport(JSON.parse(a.stdout));
    assert.equal(report.run.nodes, 5);
    assert.ok(report.heights.produced >= 6);
    assert.match(a.stderr, /sim: [\d.]+ s wall/);
    const dir = join(t.dir, "out");
    const b = runCli([...SMALL, "--json", "--report", dir], 120_000);
    assert.equal(b.status, 0, b.stderr);
    assert.equal(b.stdout, a.stdout, "one seed, one report");
    assert.equal(readFileSync(join(dir, "report.json"), "utf8"), a.stdout);
    assert.match(readFileSync(join(dir, "report.html"), "utf8"), /<title>vision-node simulation: 5 nodes, seed 9<\/title>/);

    const crash = runCli(["sim", "--nodes", "6", "--heights", "6", "--seed", "9", "--crash", "0.2", "--json"], 120_000);
    assert.equal(crash.status, 0, crash.stderr);
    const cr = parseReport(JSON.parse(crash.stdout));
    assert.equal(cr.run.crashed.length, 1);

    const attacked = runCli(["sim", "--nodes", "8", "--heights", "6", "--seed", "9", "--validators", "4", "--liars", "0.25", "--sybil", "10", "--grind", "0.25"], 120_000);
    assert.equal(attacked.status, 0, attacked.stderr);
    assert.match(attacked.stdout, /^liars\s+2 nodes claimed \+1000 blocks/m);
    assert.match(attacked.stdout, /^sybil\s+10 unbonded keys via 2 hosts: \d+ sent, \d+ received by honest nodes, 0 relayed, 0 in blocks/m);
    assert.match(attacked.stdout, /^grind\s+1 members produced \d+ blocks/m);
    assert.match(attacked.stdout, /^bans\s+honest peers 0, adversaries \d+$/m);
  } finally {
    t.cleanup();
  }
});

test("sim: bad flags give one clear error and exit 1, before any simulation", async () => {
  const cases: [string[], RegExp][] = [
    [["sim", "--heights", "5"], /required option '--nodes <n>' not specified/],
    [["sim", "--nodes", "1", "--heights", "5"], /'--nodes <n>' argument '1' is invalid\. expected a whole number from 2 to 100000/],
    [["sim", "--nodes", "4", "--heights", "5", "--crash", "1.5"], /'--crash <fraction>' argument '1.5' is invalid\. expected a fraction from 0 to below 1/],
    [["sim", "--nodes", "4", "--heights", "5", "--withhold", "abc"], /'--withhold <fraction>' argument 'abc' is invalid/],
    [["sim", "--nodes", "4", "--heights", "5", "--validators", "5"], /--validators 5 is more than --nodes 4/],
    [["sim", "--nodes", "4", "--heights", "5", "--crash", "0.9"], /would crash a bootnode/],
    [["sim", "--nodes", "4", "--heights", "5", "--liars", "1.5"], /'--liars <fraction>' argument '1.5' is invalid\. expected a fraction from 0 to below 1/],
    [["sim", "--nodes", "4", "--heights", "5", "--liars", "0.9"], /liars 0.9 of 4 nodes would need a bootnode/],
    [["sim", "--nodes", "4", "--heights", "5", "--liar-ahead", "0"], /'--liar-ahead <blocks>' argument '0' is invalid/],
    [["sim", "--nodes", "4", "--heights", "5", "--sybil", "x"], /'--sybil <keys>' argument 'x' is invalid/],
    [["sim", "--nodes", "4", "--heights", "5", "--sybil", "10"], /2 Sybil hosts need as many nodes that are neither a bootnode nor a validator \(0 are\)/],
    [["sim", "--nodes", "4", "--heights", "5", "--grind", "0.9"], /grind 0.9 of 4 validators would need a bootnode/],
    [["sim", "--nodes", "4", "--heights", "5", "--partition", "us-east/mars@1-2"], /'--partition <a\/b@from-to>' argument 'us-east\/mars@1-2' is invalid\. unknown region "mars"/],
    [["sim", "--nodes", "4", "--heights", "5", "--partition", "us-east,us-west"], /expected <regionsA>\/<regionsB>@<fromMs>-<toMs>/],
    [["sim", "--nodes", "4", "--heights", "5", "--restart-downtime-ms", "5-1"], /expected <minMs>-<maxMs> with min <= max/],
    [["sim", "--nodes", "4", "--heights", "5", "--clock-skew-ms", "2500"], /clock skew 2500 ms is beyond the chain's max_future_drift_ms \(2000 ms\).*--clock-skew-beyond-drift/],
  ];
  const results = await runClis(cases.map(([args]) => args));
  cases.forEach(([args, message], i) => {
    const r = results[i]!;
    assert.equal(r.status, 1, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(" "));
    assert.equal(r.stdout, "", "nothing on stdout");
  });
  const t = tempDir();
  try {
    const r = runCli(["sim", "--nodes", "4", "--heights", "5", "--crash", "0.9", "--report", join(t.dir, "r")], 60_000);
    assert.equal(r.status, 1);
    assert.equal(existsSync(join(t.dir, "r")), false, "no report for a run that never started");
  } finally {
    t.cleanup();
  }
});
