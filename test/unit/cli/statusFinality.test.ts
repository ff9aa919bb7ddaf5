// `vision-node status` through the real command line against a real node's HTTP API (in-process,
// LevelDB): the finality row gives the finalized checkpoint (the chain's, docs/protocol.md §7), the
// chain's justified one and the finality lag (head height - finalized height, blocks), as
// the API reports them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { BIN } from "../../helpers/nodeProcess.ts";
import { finalityNode, I } from "../../helpers/finalityNode.ts";

/** The real command line, without blocking this process (the node answering it runs here). */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await promisify(execFile)(process.execPath, [BIN, ...args], { encoding: "utf8", timeout: 30_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === "number" ? x.code : -1, stdout: x.stdout ?? "", stderr: x.stderr ?? "" };
  }
}

test("vision-node status: finalized and justified checkpoints and the finality lag, as the API reports them", async () => {
  const f = await finalityNode();
  try {
    const head = await (await fetch(`${f.api}/api/chain/head`)).json();
    const lag = head.height - head.finalized.height;
    assert.equal(lag, I + 1, "the fixture: head 2I+1, finalized cp(1)");
    const s = await cli(["status", "--api", f.api]);
    assert.equal(s.code, 0, s.stderr);
    const row = `finalized ${head.finalized.height} ${head.finalized.hash.slice(0, 12)}, justified ${head.justified.height} ${head.justified.hash.slice(0, 12)}; lag ${lag} blocks`;
    assert.match(s.stdout, new RegExp(`^finality\\s+${row}$`, "m"), s.stdout);
  } finally {
    await f.close();
  }
});
