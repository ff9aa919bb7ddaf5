// The live dashboard's finality in a real browser (Debian's chromium, headless, driven by
// playwright-core) on a real node (in-process, LevelDB, HTTP on 127.0.0.1) whose chain the test
// builds: the finalized and justified checkpoints and the finality lag (head height - finalized
// height, blocks) as the API reports them, and the lag following a new head without a reload.
import { test } from "node:test";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { finalityNode, I } from "../helpers/finalityNode.ts";

/** The browser the tests drive: $CHROMIUM_PATH, else Debian's (`apt-get install chromium`). */
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

test("dashboard: finalized and justified checkpoints and the finality lag, live", async () => {
  const f = await finalityNode();
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] }).catch((e: Error) => {
    throw new Error(`cannot start ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH): ${e.message}`);
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${f.api}/dashboard`);
    await page.waitForFunction(() => document.getElementById("conn")?.textContent === "live", undefined, { timeout: 10_000 });
    const head = await (await fetch(`${f.api}/api/chain/head`)).json();
    await page.waitForFunction((h) => document.getElementById("height")?.textContent === String(h), head.height, { timeout: 10_000 });
    assert.equal(await page.textContent("#finality"), `${head.finalized.height} / ${head.justified.height}`);
    assert.equal(await page.textContent("#finalitylag"), `${head.height - head.finalized.height} blocks`);
    assert.equal(head.height - head.finalized.height, I + 1, "the fixture: head 2I+1, finalized cp(1)");

    await f.voteOnHead(); // a new head: the lag grows by one, the head branch justifies cp(2)
    await page.waitForFunction((h) => document.getElementById("height")?.textContent === String(h), head.height + 1, { timeout: 10_000 });
    assert.equal(await page.textContent("#finality"), `${I} / ${2 * I}`);
    assert.equal(await page.textContent("#finalitylag"), `${I + 2} blocks`);
    assert.deepEqual(errors, [], "no script errors");
  } finally {
    await browser.close();
    await f.close();
  }
});
