// The liars drill reads a phase's blocks in pages the API serves (at most MAX_API_RANGE heights a
// request): a phase with more blocks than one page must still be measured, not fail with HTTP 400.
// A small HTTP server on 127.0.0.1 stands in for the node's API, with the real limit.
// Its pass rule for production is a binomial floor (mean less three sigma), checked by simulation.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { binomialFloor, watchPhase } from "../../../src/drill/liars.ts";
import { MAX_API_RANGE } from "../../../src/api/routes/blocks.ts";

test("a phase with more blocks than one API page is read page by page", async () => {
  const start = 10;
  const grown = start + 2 * MAX_API_RANGE + 7; // the tip when the phase ends
  let polls = 0;
  const server = createServer((req, res) => {
    const url = new URL(req.url!, "http://x");
    const json = (code: number, body: unknown) => (res.writeHead(code, { "content-type": "application/json" }), res.end(JSON.stringify(body)));
    if (url.pathname === "/api/mining/status") {
      const h = polls++ === 0 ? start : grown;
      return json(200, { eligible: true, sync_state: "AtTip", network_height: h, local_height: h });
    }
    if (url.pathname === "/api/blocks") {
      const from = Number(url.searchParams.get("from"));
      const limit = Number(url.searchParams.get("limit"));
      if (limit < 1 || limit > MAX_API_RANGE) return json(400, { error: `limit must be from 1 to ${MAX_API_RANGE}` });
      const blocks = [];
      for (let h = from; h < from + limit && h <= grown; h++) blocks.push({ hash: `h${h}`, header: { height: h, parent_hash: `h${h - 1}`, timestamp: h * 1000, producer: h % 2 ? "me" : "other", slot: 0 } });
      return json(200, { blocks });
    }
    json(404, {});
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  try {
    const api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const p = await watchPhase({ api, ebid: "me" }, 0, () => undefined);
    assert.equal(p.blocks, grown - start, "every block of the phase");
    let mine = 0;
    for (let h = start + 1; h <= grown; h++) if (h % 2) mine++;
    assert.equal(p.produced, mine, "its own blocks counted");
    assert.equal(p.median_interval_ms, 1000);
  } finally {
    server.close();
  }
});

test("the liars drill's production floor: an honest node's binomial count clears it, a starved one does not", () => {
  // 2,000 honest runs of 300 heights at 1/3 each, from a fixed xorshift stream.
  let x = 0x9e3779b9;
  const rand = () => ((x ^= x << 13), (x ^= x >>> 17), (x ^= x << 5), (x >>> 0) / 2 ** 32);
  const floor = binomialFloor(300, 1 / 3);
  let below = 0;
  for (let run = 0; run < 2000; run++) {
    let k = 0;
    for (let i = 0; i < 300; i++) if (rand() < 1 / 3) k++;
    if (k < floor) below++;
  }
  assert.ok(below <= 10, `${below} of 2000 honest runs fell below ${floor}`);
  assert.ok(50 < floor, `a node that produced half its share (50 of 300) fails: floor ${floor}`);
  assert.equal(binomialFloor(6, 1 / 3), 0, "a short run cannot tell a starved node from an unlucky one");
});
