// "Recorded before released" under SIGKILL, on real processes and real files (docs/protocol.md
// §6.6): a child process signs blocks and FFG votes in a loop through SlashingProtection (the
// compiled lib/, as the node runs it), printing each signature only after the record call
// returned, and is SIGKILLed at a random moment, 50 times. After every kill the record must open
// (whole, parseable, this key's) and its watermarks must cover every signature the child printed;
// the next child carries on from the record. The signatures printed must be valid.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { SlashingProtection, PROTECTION_FILE } from "../../../src/node/slashingProtection.ts";
import { chainDomains, verify } from "../../../src/consensus/signatures.ts";
import { toHex } from "../../../src/consensus/encoding.ts";
import { makeKeys, tempDir } from "../../helpers/fixtures.ts";

const LIB = fileURLToPath(new URL("../../../lib/", import.meta.url));
const KILLS = 50;
const PARALLEL = 5;
const [key] = makeKeys(1, 70);
// the chain the child signs for (signatures bind the chain: docs/protocol.md §3.3)
const GENESIS = "c5".repeat(32);

// The child: argv = [data dir, ebid, secret key hex]. Prints `block H SIG` / `vote T S SIG` lines.
const CHILD = `
import { writeSync } from "node:fs";
const { SlashingProtection } = await import(${JSON.stringify(LIB + "node/slashingProtection.js")});
const { chainDomains, sign } = await import(${JSON.stringify(LIB + "consensus/signatures.js")});
const domains = chainDomains(${JSON.stringify(GENESIS)});
const [dir, ebid, secret] = process.argv.slice(1);
const sk = Uint8Array.from(Buffer.from(secret, "hex"));
const h = (n) => n.toString(16).padStart(64, "0");
const p = SlashingProtection.open(dir, ebid, { checkpointInterval: 8 });
p.noteHead(0, true);
let { max_block_height: b, max_target_height: t } = p.record;
for (;;) {
  b += 1;
  const header = { height: b, producer: ebid };
  const bs = p.signBlock(b, () => sign(domains.block, header, sk));
  if (bs === undefined) process.exit(2);
  writeSync(1, "block " + b + " " + bs + "\\n");
  const vote = { source_height: t, source_hash: h(t), target_height: t + 8, target_hash: h(t + 8) };
  const vs = p.signVote(vote, () => sign(domains.attest, vote, sk));
  if (vs === undefined) process.exit(3);
  writeSync(1, "vote " + vote.target_height + " " + vote.source_height + " " + vs + "\\n");
  if (p.signVote({ ...vote }, () => "re-vote") !== "re-vote") process.exit(4);
  t += 8;
}
`;

const hex = (n: number) => n.toString(16).padStart(64, "0");

/** One child life: runs until it printed a few lines, then a random few ms more, then SIGKILL. Returns its complete lines. */
function runAndKill(dir: string): Promise<{ lines: string[]; code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", CHILD, dir, key!.ebid, toHex(key!.secretKey)], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    let armed = false;
    const waitLines = 1 + Math.floor(Math.random() * 20);
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      if (!armed && out.split("\n").length > waitLines) {
        armed = true;
        setTimeout(() => child.kill("SIGKILL"), Math.random() * 15);
      }
    });
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      if (signal !== "SIGKILL") return reject(new Error(`child exited ${code} ${signal}: ${err}`));
      const lines = out.split("\n");
      lines.pop(); // an unfinished line (none: each is one write) or ""
      resolve({ lines, code, signal });
    });
  });
}

test(`SIGKILL at random moments, ${KILLS} times: the record is whole and covers every signature the signer released`, async (t) => {
  const dirs = Array.from({ length: PARALLEL }, () => tempDir());
  let uncovered = 0;
  let printed = 0;
  let maxBlock = 0;
  try {
    await Promise.all(
      dirs.map(async ({ dir }) => {
        for (let i = 0; i < KILLS / PARALLEL; i++) {
          const { lines } = await runAndKill(dir);
          // what a start after the crash reads: it must open, and cover what left the process
          const rec = SlashingProtection.open(dir, key!.ebid).record;
          assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith(".tmp")), [], "a cut-short write's temporary file is removed at open");
          for (const line of lines) {
            const [kind, a, b, sig] = line.split(" ");
            printed++;
            if (kind === "block") {
              if (Number(a) > rec.max_block_height) uncovered++;
              if (printed % 25 === 0) assert.ok(verify(chainDomains(GENESIS).block, { height: Number(a), producer: key!.ebid }, b!, key!.ebid), "a valid block signature");
              maxBlock = Math.max(maxBlock, Number(a));
            } else {
              assert.equal(kind, "vote", line);
              if (Number(a) > rec.max_target_height) uncovered++;
              const vote = { source_height: Number(b), source_hash: hex(Number(b)), target_height: Number(a), target_hash: hex(Number(a)) };
              if (printed % 25 === 1) assert.ok(verify(chainDomains(GENESIS).attest, vote, sig!, key!.ebid), "a valid vote signature");
            }
          }
        }
      }),
    );
    t.diagnostic(`kills ${KILLS}, signatures released ${printed}, uncovered ${uncovered}`);
    assert.equal(uncovered, 0);
    assert.ok(printed >= KILLS, "every child signed before it was killed");
    assert.ok(maxBlock >= KILLS / PARALLEL, "each child carried on from the record");
    for (const { dir } of dirs) assert.ok(readdirSync(dir).includes(PROTECTION_FILE));
  } finally {
    for (const d of dirs) d.cleanup();
  }
});
