// The slashing protection record on real files (docs/protocol.md §6.6): EIP-3076 watermarks for
// blocks and FFG votes, the record on disk before the signing callback runs, re-votes without a
// write, observations raising the watermarks, the doppelganger wait, and files that stop a start
// (another EBID, corrupt) never being reset on their own.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import pino from "pino";
import {
  PROTECTION_FILE,
  SlashingProtection,
  SlashingProtectionError,
  ffgVoteOf,
  resetProtection,
  type FfgVote,
  type RefusalKind,
} from "../../../src/node/slashingProtection.ts";
import { makeKeys, tempDir } from "../../helpers/fixtures.ts";

const [k1, k2] = makeKeys(2);
const h = (n: number) => n.toString(16).padStart(64, "0");
const vote = (s: number, t: number, sh = h(s), th = h(t)): FfgVote => ({ source_height: s, source_hash: sh, target_height: t, target_hash: th });
const onDisk = (dir: string) => JSON.parse(readFileSync(join(dir, PROTECTION_FILE), "utf8")) as Record<string, unknown>;

/** A protection record in a temp dir, with its refusals and warn lines collected. */
function opened(o: { interval?: number; detection?: boolean } = {}) {
  const t = tempDir();
  const refusals: RefusalKind[] = [];
  const warns: string[] = [];
  const log = pino(
    { level: "info" },
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        const line = JSON.parse(chunk.toString()) as { level: number; msg: string };
        if (line.level === 40) warns.push(line.msg);
        cb();
      },
    }),
  );
  const open = () => SlashingProtection.open(t.dir, k1!.ebid, { checkpointInterval: o.interval, log, onRefusal: (k) => refusals.push(k), doppelgangerDetection: o.detection ?? true });
  return { t, p: open(), open, refusals, warns };
}

/** Armed for votes: synced at genesis. */
function arm(p: SlashingProtection): SlashingProtection {
  p.noteHead(0, true);
  assert.equal(p.armed, true);
  return p;
}

test("a new record is written at open (0600) and read back at the next open", () => {
  const { t, p, open } = opened();
  try {
    const path = join(t.dir, PROTECTION_FILE);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.deepEqual(onDisk(t.dir), { ebid: k1!.ebid, max_block_height: 0, max_source_height: 0, max_target_height: 0, target: null });
    assert.equal(p.signBlock(7, () => "sig"), "sig");
    assert.equal(open().record.max_block_height, 7);
  } finally {
    t.cleanup();
  }
});

test("blocks: a height is signed once, lower heights never; the height is on disk before the signing callback runs", () => {
  const { t, p, refusals, warns } = opened();
  try {
    const seen: unknown[] = [];
    assert.equal(p.signBlock(5, () => (seen.push(onDisk(t.dir).max_block_height), "b5")), "b5");
    assert.deepEqual(seen, [5], "recorded before signing");
    assert.equal(p.signBlock(5, () => "again"), undefined);
    assert.equal(p.signBlock(5, () => "again"), undefined);
    assert.equal(p.signBlock(3, () => "lower"), undefined);
    assert.equal(p.signBlock(6, () => "b6"), "b6");
    assert.deepEqual(refusals, ["block", "block", "block"], "every refusal counted");
    assert.equal(warns.length, 2, "one warning per (kind, height)");
    assert.match(warns[0]!, /refused to sign a block at height 5/);
    assert.equal(onDisk(t.dir).max_block_height, 6);
  } finally {
    t.cleanup();
  }
});

test("votes: a new target above the watermarks is recorded first; a re-vote with the same FFG data writes nothing; double and surround votes are refused", () => {
  const { t, p, refusals } = opened();
  try {
    arm(p);
    const v = vote(0, 8);
    let before: unknown;
    assert.equal(p.signVote(v, () => ((before = onDisk(t.dir).target), "v8")), "v8");
    assert.deepEqual(before, v, "recorded before signing");
    const { mtimeMs, ino } = statSync(join(t.dir, PROTECTION_FILE));
    assert.equal(p.signVote({ ...v }, () => "again"), "again", "a re-vote for a new head, same FFG data");
    const after = statSync(join(t.dir, PROTECTION_FILE));
    assert.deepEqual([after.mtimeMs, after.ino], [mtimeMs, ino], "no write for a re-vote");
    assert.equal(p.signVote(vote(0, 8, h(0), h(99)), () => "x"), undefined, "double vote: same target height, other hash");
    assert.equal(p.signVote(vote(8, 16), () => "v16"), "v16");
    assert.equal(p.signVote(vote(0, 24), () => "x"), undefined, "surrounds (8, 16): source below the recorded source");
    assert.equal(p.signVote(vote(8, 12), () => "x"), undefined, "target not above the recorded one");
    assert.equal(p.signVote(vote(16, 24), () => "v24"), "v24");
    assert.equal(p.signVote(vote(0, 0, h(1), h(1)), () => "genesis"), "genesis", "the interval-0 genesis vote links nothing");
    assert.deepEqual(refusals, ["vote", "vote", "vote"]);
    assert.deepEqual(onDisk(t.dir), { ebid: k1!.ebid, max_block_height: 0, max_source_height: 16, max_target_height: 24, target: vote(16, 24) });
  } finally {
    t.cleanup();
  }
});

test("the vote wait without doppelganger detection (the default): votes arm when the head crosses the checkpoint after the watched one", () => {
  const { t, p } = opened({ interval: 8, detection: false });
  try {
    p.noteHead(13, true); // first synced at 13: watched checkpoint 8; every earlier vote targets at most 8
    assert.equal(p.armsAt, 16);
    p.noteHead(15, true);
    assert.equal(p.signVote(vote(8, 16), () => "x"), undefined, "nothing signed while waiting");
    p.noteHead(16, true);
    assert.equal(p.armed, true);
    assert.equal(p.signVote(vote(8, 16), () => "v"), "v");
  } finally {
    t.cleanup();
  }
});

test("with doppelganger detection: no vote until synced and a full checkpoint interval passed after the watched checkpoint", () => {
  const { t, p } = opened({ interval: 8 });
  try {
    p.noteHead(13, false);
    assert.equal(p.signVote(vote(0, 8), () => "x"), undefined);
    assert.equal(p.armsAt, undefined, "nothing watched before the first synced head");
    p.noteHead(13, true); // first synced at 13: watched checkpoint 8, votes for target 16 watched at heads 16..23
    assert.equal(p.armsAt, 24);
    p.noteHead(16, true);
    p.noteHead(23, true);
    assert.equal(p.armed, false);
    assert.equal(p.signVote(vote(8, 16), () => "x"), undefined, "nothing signed while waiting");
    assert.equal(onDisk(t.dir).max_target_height, 0);
    p.noteHead(24, true);
    assert.equal(p.armed, true);
    assert.equal(p.doppelganger, false);
    assert.equal(p.signVote(vote(16, 24), () => "v"), "v");
    // a chain still at genesis arms at once: nothing was signed on it
    const g = opened();
    g.p.noteHead(0, true);
    assert.equal(g.p.armed, true);
    g.t.cleanup();
    // one first synced in interval 0 (only genesis votes exist) arms at the first checkpoint
    const z = opened({ interval: 8 });
    z.p.noteHead(3, true);
    assert.equal(z.p.armsAt, 8);
    z.p.noteHead(8, true);
    assert.equal(z.p.armed, true);
    z.t.cleanup();
  } finally {
    t.cleanup();
  }
});

test("the watched checkpoint covers the record: votes this data dir signed before a restart are not another instance", () => {
  const { t, p, open } = opened({ interval: 8 });
  try {
    arm(p);
    p.signVote(vote(16, 24), () => "v24");
    const again = open(); // restarted; the network's head fell back to 20 meanwhile (or it synced only to 20)
    again.noteHead(20, true);
    assert.equal(again.armsAt, 24 + 16);
    again.observeVote(vote(16, 24)); // its own vote, signed before the restart, seen in a block
    assert.equal(again.doppelganger, false);
  } finally {
    t.cleanup();
  }
});

test("doppelganger detection: a vote of this key above the watched checkpoint holds votes back a full interval after it, with one error line", () => {
  const errors: { msg: string; ebid?: string; target_height?: number }[] = [];
  const t = tempDir();
  const log = pino({ level: "info" }, new Writable({ write(chunk: Buffer, _e, cb) { const l = JSON.parse(chunk.toString()); if (l.level === 50) errors.push(l); cb(); } }));
  try {
    const p = SlashingProtection.open(t.dir, k1!.ebid, { checkpointInterval: 8, log, doppelgangerDetection: true });
    p.noteHead(13, true); // watched 8, arms at 24
    p.observeVote(vote(0, 8)); // old: at or below the watched checkpoint
    assert.equal(p.doppelganger, false);
    p.noteHead(17, true);
    p.observeVote(vote(8, 16)); // made after this process started: another instance runs
    p.observeVote(vote(8, 16)); // the same again (another head): no second line
    assert.equal(p.doppelganger, true);
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.ebid, k1!.ebid);
    assert.equal(errors[0]!.target_height, 16);
    assert.match(errors[0]!.msg, /another instance runs with this key/);
    assert.equal(p.armsAt, 32, "a full interval (heads 24..31) must pass without its votes");
    p.noteHead(24, true);
    assert.equal(p.armed, false);
    assert.equal(p.signVote(vote(16, 24), () => "x"), undefined);
    p.noteHead(25, true);
    p.observeVote(vote(16, 24)); // still running
    assert.equal(errors.length, 2);
    assert.equal(p.armsAt, 40);
    p.noteHead(39, true);
    assert.equal(p.armed, false);
    p.noteHead(40, true); // heads 32..39 passed without a vote for target 32
    assert.equal(p.armed, true);
    assert.equal(p.doppelganger, false);
    assert.equal(p.record.max_target_height, 24, "the other instance's votes raised the watermarks");
    assert.equal(p.signVote(vote(24, 40), () => "v40"), "v40");
  } finally {
    t.cleanup();
  }
});

test("doppelganger detection: a block of this key above the record, stamped after the wait began, is the same sign; blocks this process signed are not", () => {
  const t = tempDir();
  let now = 1_000;
  try {
    const p = SlashingProtection.open(t.dir, k1!.ebid, { checkpointInterval: 8, now: () => now, doppelgangerDetection: true });
    const block = (height: number, timestamp: number) => ({ header: { producer: k1!.ebid, height, timestamp }, attestations: [] });
    p.observeChainBlock(block(12, 900)); // synced before the wait: an old block of this key
    p.noteHead(13, true); // the wait begins at 1000
    p.observeChainBlock(block(13, 950)); // above the record but stamped before the wait: made before this process started
    assert.equal(p.doppelganger, false);
    assert.equal(p.signBlock(14, () => "b14"), "b14");
    p.observeChainBlock(block(14, 1_100)); // its own block, imported
    assert.equal(p.doppelganger, false);
    now = 2_000;
    p.observeChainBlock(block(18, 1_900)); // another instance signed 18
    assert.equal(p.doppelganger, true);
    assert.equal(p.armsAt, 32);
    assert.equal(p.mayProposeBlock(18), false);
  } finally {
    t.cleanup();
  }
});

test("observations raise the watermarks (a restored old copy learns from the chain) and reach the disk", () => {
  const { t, p, open } = opened();
  try {
    arm(p);
    assert.equal(p.signBlock(3, () => "b3"), "b3");
    assert.equal(p.observeBlock(9), true);
    assert.equal(p.observeBlock(4), false);
    assert.equal(p.signBlock(9, () => "x"), undefined, "its own block at 9 was seen on the chain");
    assert.equal(p.observeVote(vote(8, 16)), true);
    assert.equal(p.signVote(vote(0, 16, h(0), h(77)), () => "x"), undefined);
    assert.equal(p.signVote(vote(8, 16), () => "same"), "same", "the observed vote is its own: a re-vote");
    assert.equal(p.observeVote(vote(8, 16)), false);
    assert.deepEqual(ffgVoteOf({ ebid: k1!.ebid, height: 3, block_hash: h(3), sig: "" }), undefined, "a v2 attestation carries no FFG vote");
    assert.deepEqual(ffgVoteOf({ ebid: k1!.ebid, ...vote(8, 16) }), vote(8, 16));
    p.flush();
    const again = open().record;
    assert.deepEqual([again.max_block_height, again.max_source_height, again.max_target_height], [9, 8, 16]);
  } finally {
    t.cleanup();
  }
});

test("a record for another EBID or a corrupt one stops the start with one clear error and is left as it was; reset-protection moves it aside", () => {
  const t = tempDir();
  try {
    SlashingProtection.open(t.dir, k2!.ebid).signBlock(4, () => "x");
    const path = join(t.dir, PROTECTION_FILE);
    const other = readFileSync(path, "utf8");
    assert.throws(() => SlashingProtection.open(t.dir, k1!.ebid), (e: Error) => e instanceof SlashingProtectionError && /is for EBID .* not this node's key/.test(e.message) && !e.message.includes("\n"));
    assert.equal(readFileSync(path, "utf8"), other, "not overwritten");
    for (const bad of ["", "{", JSON.stringify({ ...JSON.parse(other), max_block_height: -1 }), JSON.stringify({ ebid: k1!.ebid })]) {
      writeFileSync(path, bad);
      assert.throws(() => SlashingProtection.open(t.dir, k1!.ebid), (e: Error) => e instanceof SlashingProtectionError && /unreadable|corrupt/.test(e.message) && /reset-protection/.test(e.message));
      assert.equal(readFileSync(path, "utf8"), bad, "never reset on its own");
    }
    const aside = resetProtection(t.dir, 1234);
    assert.equal(aside, `${path}.reset-1234`);
    assert.deepEqual(readdirSync(t.dir).filter((f) => f.startsWith(PROTECTION_FILE)), [`${PROTECTION_FILE}.reset-1234`]);
    assert.equal(SlashingProtection.open(t.dir, k1!.ebid).record.max_block_height, 0, "a new record after the explicit reset");
    assert.equal(resetProtection(join(t.dir, "none")), undefined);
  } finally {
    t.cleanup();
  }
});
