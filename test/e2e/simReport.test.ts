// The simulator's HTML report in a real browser (Debian's chromium, headless, driven by
// playwright-core): report.html written to a temp dir opens from disk, loads nothing else, draws its
// three plots without a console error, and its screenshot is a real picture (test-output/sim-report.png).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";
import { summarize } from "../../src/sim/summarize.ts";
import { writeReport } from "../../src/sim/reportHtml.ts";
import { syntheticRun } from "../helpers/simRun.ts";

/** The browser the tests drive: $CHROMIUM_PATH, else Debian's (`apt-get install chromium`). */
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const OUT = join(process.cwd(), "test-output");

test("sim report: report.html from disk draws three plots in chromium, with no request elsewhere and no console error", async () => {
  const dir = mkdtempSync(join(tmpdir(), "vision-sim-report-"));
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] }).catch((e: Error) => {
    throw new Error(`cannot start ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH): ${e.message}`);
  });
  try {
    const report = summarize(syntheticRun(24, 80));
    const files = writeReport(dir, report);
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const errors: string[] = [];
    page.on("console", (m) => void (m.type() === "error" && errors.push(m.text())));
    page.on("pageerror", (e) => errors.push(e.message));
    const requests: string[] = [];
    page.on("request", (r) => requests.push(r.url()));
    const url = pathToFileURL(files.html).href;
    await page.goto(url);
    await page.waitForFunction(() => document.body.dataset.plots === "3", undefined, { timeout: 5000 });

    // Three charts, each a canvas with something drawn on it.
    const inked = await page.evaluate(() =>
      [...document.querySelectorAll<HTMLCanvasElement>(".uplot canvas")].map((c) => {
        const px = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < px.length; i += 4) if (px[i]! > 0) n++;
        return n;
      }),
    );
    assert.equal(inked.length, 3, "one canvas per plot");
    for (const n of inked) assert.ok(n > 500, `a plot with ${n} drawn pixels`);
    assert.match((await page.textContent("#cdf")) ?? "", /95% of nodes/, "the CDF's legend");
    assert.ok((await page.locator("#figures tr").count()) >= 21, "the figures table");
    assert.match((await page.textContent("#figures")) ?? "", /finality safety[^]*none \(\d+ blocks finalized\)/, "the safety row");
    assert.match((await page.textContent("#figures")) ?? "", /0 over 10800 ms/, "the stall window row");
    assert.match((await page.textContent("#figures")) ?? "", /adversary withholder/);
    assert.deepEqual(errors, [], "no console errors");
    assert.deepEqual([...new Set(requests)], [url], "nothing loaded but the file itself");

    // The screenshot: a PNG of some size, decoded by the browser, with more than one colour.
    const shot = await page.screenshot({ fullPage: true });
    mkdirSync(OUT, { recursive: true });
    writeFileSync(join(OUT, "sim-report.png"), shot);
    assert.ok(shot.length > 20_000, `screenshot of ${shot.length} bytes`);
    const viewer = await browser.newPage();
    const colours = await viewer.evaluate(async (b64) => {
      const img = new Image();
      img.src = `data:image/png;base64,${b64}`;
      await img.decode();
      const c = document.createElement("canvas");
      c.width = img.width;
      c.height = img.height;
      const ctx = c.getContext("2d")!;
      ctx.drawImage(img, 0, 0);
      const px = ctx.getImageData(0, 0, c.width, c.height).data;
      const seen = new Set<number>();
      for (let i = 0; i < px.length; i += 4) seen.add((px[i]! << 16) | (px[i + 1]! << 8) | px[i + 2]!);
      return { width: img.width, height: img.height, distinct: seen.size };
    }, shot.toString("base64"));
    assert.ok(colours.width >= 1200 && colours.height > 900, `a full page of ${colours.width}x${colours.height}`);
    assert.ok(colours.distinct >= 8, `${colours.distinct} distinct colours`);
  } finally {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
