/**
 * Slashing protection (docs/protocol.md §6.6): what the record costs a signer. A new FFG vote is
 * written durably before its signature leaves (a temporary file, fsynced, renamed, the directory
 * fsynced: `SlashingProtection.signVote`), a re-vote with the same FFG data is a comparison, no
 * write; both against the ed25519 signature they guard (`sign`, the node's path), in this run, in a
 * temp dir of the OS's temp folder (a data dir on another disk pays that disk's fsync).
 */
import { tmpdir } from "node:os";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { SlashingProtection, type FfgVote } from "../src/node/slashingProtection.ts";
import { chainDomains, sign } from "../src/consensus/signatures.ts";
import { makeKeys } from "../test/helpers/fixtures.ts";
import { fmt, median, percentile } from "./stats.ts";

const hex = (n: number) => n.toString(16).padStart(64, "0");
const attest = chainDomains(hex(0)).attest;
const vote = (s: number, t: number): FfgVote => ({ source_height: s, source_hash: hex(s), target_height: t, target_hash: hex(t) });

/** Median ms per call of `fn(i)` over `n` single timed calls (and the p99). */
function timed(n: number, fn: (i: number) => void): { median: number; p99: number } {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    fn(i);
    ms.push(performance.now() - t0);
  }
  return { median: median(ms), p99: percentile(ms, 99) };
}

export async function benchProtection(writes = 200, revotes = 20_000): Promise<{ recordMs: number; revoteMs: number; signMs: number }> {
  const dir = mkdtempSync(join(tmpdir(), "vision-bench-protection-"));
  try {
    const [k] = makeKeys(1);
    const p = SlashingProtection.open(dir, k!.ebid, { checkpointInterval: 8 });
    p.noteHead(0, true);
    const body = (v: FfgVote) => ({ ebid: k!.ebid, height: v.target_height + 3, block_hash: hex(v.target_height + 3), ...v });
    const signOnly = timed(2000, (i) => sign(attest, body(vote(8 * i, 8 * i + 8)), k!.secretKey));
    // each call a new target: recorded (write, fsync, rename, directory fsync), then signed
    const record = timed(writes, (i) => {
      const v = vote(8 * i, 8 * i + 8);
      if (p.signVote(v, () => sign(attest, body(v), k!.secretKey)) === undefined) throw new Error("refused");
    });
    // the same FFG data for new heads: the check only (the signature timed apart)
    const last = vote(8 * (writes - 1), 8 * writes);
    const revote = timed(revotes, () => {
      if (p.signVote(last, () => "") === undefined) throw new Error("refused");
    });
    console.log(`\nSlashing protection, ms per signature (medians; ${writes} recorded votes, ${revotes} re-votes, temp dir ${tmpdir()}):`);
    console.log(`  baseline ed25519 sign (the node's attestation path): ${fmt(signOnly.median, 4)} ms`);
    console.log(`  new vote, recorded (fsync) then signed: ${fmt(record.median, 3)} ms (p99 ${fmt(record.p99, 3)} ms); ${fmt(record.median / signOnly.median, 1)}x a bare sign`);
    console.log(`  re-vote check (same FFG data, no write): ${fmt(revote.median * 1000, 2)} µs; ${fmt(revote.median / signOnly.median, 4)}x a bare sign`);
    console.log(`  a recorded vote = ${fmt((100 * record.median) / 2000, 3)}% of block_time_ms 2000 (once per checkpoint interval; re-votes per head)`);
    return { recordMs: record.median, revoteMs: revote.median, signMs: signOnly.median };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
