// The README's run command, end to end: `vision-node testnet` starts three nodes, prints agreeing
// heights, and stops every node cleanly on Ctrl-C (SIGINT).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { BIN } from "../helpers/nodeProcess.ts";
import { tempDir } from "../helpers/fixtures.ts";
import { freePortRange as freeRange } from "../../src/drill/ports.ts";

test("vision-node testnet: three nodes, agreeing heights, clean stop on SIGINT", async () => {
  const t = tempDir("vision-testnet-cmd-");
  try {
    const p2p = await freeRange(3);
    const api = await freeRange(3);
    const child = spawn(process.execPath, [BIN, "testnet", "--dir", t.dir, "--block-time-ms", "500", "--base-p2p-port", String(p2p), "--base-api-port", String(api)], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const lines: string[] = [];
    const agreed = new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on("line", (l) => {
        lines.push(l);
        if (lines.filter((x) => /all 3 nodes agree/.test(x)).length >= 5) resolve();
      });
      child.once("exit", (code) => reject(new Error(`testnet exited early (${code}): ${lines.join("\n")}`)));
      setTimeout(() => reject(new Error(`no 5 agreeing heights in 40 s:\n${lines.join("\n")}`)), 40_000).unref();
    });
    await agreed;
    const heights = lines.filter((l) => l.startsWith("height")).map((l) => Number(/height\s+(\d+)/.exec(l)![1]));
    assert.deepEqual(heights, heights.map((_, i) => i + 1), "one line per height, in order");
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    child.kill("SIGINT");
    assert.equal(await exited, 0);
    for (let i = 1; i <= 3; i++) {
      const log = readFileSync(join(t.dir, `node-${i}`, "node.log"), "utf8");
      assert.match(log, /"msg":"Node stopped"/, `node-${i} stopped cleanly`);
    }
  } finally {
    t.cleanup();
  }
});
