// The live dashboard in a real browser (Debian's chromium, headless, driven by playwright-core) on a
// running 3-node testnet: the height advances without a reload, the validator set and this node's
// validator state are shown; a screenshot goes to test-output/.
// Also the stream itself: a view at once, another on the next block, and a client that talks too
// much is closed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import WebSocket from "ws";
import { makeKeys, makeSpec, tempDir } from "../helpers/fixtures.ts";
import { getJson, startMesh, type NodeProc } from "../helpers/nodeProcess.ts";
import { waitFor } from "../helpers/net.ts";

/** The browser the tests drive: $CHROMIUM_PATH, else Debian's (`apt-get install chromium`). */
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const OUT = join(process.cwd(), "test-output");

test("dashboard: rendered in chromium, the height advances live; the stream pushes views and drops chatty clients", async () => {
  const t = tempDir();
  const keys = makeKeys(3);
  const spec = makeSpec(keys, { genesis_timestamp: Date.now(), params: { block_time_ms: 500 } });
  let nodes: NodeProc[] = [];
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] }).catch((e: Error) => {
    throw new Error(`cannot start ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH): ${e.message}`);
  });
  try {
    nodes = await startMesh(t.dir, keys, spec);
    const api = nodes[0]!.api;
    await waitFor(async () => (await getJson(`${api}/api/chain/head`)).height >= 2, 60_000, "height 2");

    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${api}/dashboard`);
    await page.waitForFunction(() => document.getElementById("conn")?.textContent === "live", undefined, { timeout: 10_000 });
    await page.waitForFunction(() => Number(document.getElementById("height")?.textContent) > 0, undefined, { timeout: 10_000 });
    const first = Number(await page.textContent("#height"));
    await page.waitForFunction((h) => Number(document.getElementById("height")?.textContent) >= h + 2, first, { timeout: 20_000 });
    const later = Number(await page.textContent("#height"));
    assert.ok(later >= first + 2, `height went ${first} → ${later} without a reload`);
    assert.ok((await page.locator("#history tr").count()) >= 2, "winner history rows");
    assert.ok((await page.locator("#schedule tr").count()) === 3, "primary and two backups for the next height");
    assert.equal((await page.locator("#peers tr").count()), 2);
    assert.match((await page.textContent("#slots")) ?? "", /primary/);
    // The validator set and this node's own state (the three nodes are genesis validators).
    assert.equal(await page.locator("#validators tr").count(), 3, "one row per validator");
    assert.match((await page.textContent("#myvalidator")) ?? "", /^active/);
    assert.match((await page.textContent("#vcounts")) ?? "", /^3 validators: 3 active, 0 pending, 0 exiting, \d live/);
    assert.match((await page.locator("#validators tr.me").textContent()) ?? "", /this node\s*active/);
    assert.deepEqual(errors, [], "no script errors");
    mkdirSync(OUT, { recursive: true });
    const shot = join(OUT, "dashboard.png");
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(statSync(shot).size > 10_000, `screenshot at ${shot}`);

    // The stream directly: a view at once, a newer one after the next block.
    const ws = new WebSocket(`${api.replace("http", "ws")}/api/mining/stream`);
    const views: { type: string; tip: { height: number }; status: Record<string, unknown>; history: unknown[] }[] = [];
    ws.on("message", (d) => views.push(JSON.parse(String(d))));
    await waitFor(() => views.length >= 1, 5000, "the first view");
    const h0 = views[0]!.tip.height;
    await waitFor(() => views.some((v) => v.tip.height > h0), 10_000, "a view of a newer tip");
    assert.equal(views[0]!.type, "view");
    assert.equal(Object.keys(views[0]!.status).length, 14, "status is /api/mining/status's 14 seed fields");
    const closed = new Promise<number>((r) => ws.once("close", (code) => r(code)));
    ws.send("x".repeat(2048));
    assert.equal(await closed, 1009, "a message over 1 KiB closes the client");
    const refused = await fetch(`${api}/api/mining/stream`);
    assert.notEqual(refused.status, 101);
    assert.equal((await getJson(`${api}/api/chain/head`)).height >= later, true, "the node kept going");
  } finally {
    await browser.close();
    await Promise.all(nodes.map((n) => n.stop()));
    t.cleanup();
  }
});
