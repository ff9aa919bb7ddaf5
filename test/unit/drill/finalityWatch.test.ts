// The drills' finality watch: at every sample, the finalized checkpoints any node ever reported
// must lie on one chain, and the finality lag is recorded. Small HTTP servers on 127.0.0.1 stand
// in for the nodes' APIs (`/api/chain/head`, `/api/blocks/<height>`), read through the real fetch path.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FinalityWatch, percentile } from "../../../src/drill/finalityWatch.ts";
import { outcome } from "../../../src/drill/common.ts";
import type { LocalNet, LocalNode } from "../../../src/drill/localnet.ts";

const hash = (c: string) => c.repeat(64);

/** A fake node: its head, its finalized checkpoint and its canonical chain (height -> hash). */
interface FakeNode {
  name: string;
  api: string;
  height: number;
  finalized: { height: number; hash: string };
  chain: Map<number, string>;
  down: boolean;
  server: Server;
}

async function fakeNode(name: string, chain: Record<number, string>, height: number, finalizedHeight: number): Promise<FakeNode> {
  const n = { name, api: "", height, chain: new Map(Object.entries(chain).map(([h, x]) => [Number(h), x])), down: false } as FakeNode;
  n.finalized = { height: finalizedHeight, hash: n.chain.get(finalizedHeight)! };
  n.server = createServer((req, res) => {
    const json = (code: number, body: unknown) => (res.writeHead(code, { "content-type": "application/json" }), res.end(JSON.stringify(body)));
    if (n.down) return json(503, { error: "down" });
    const url = new URL(req.url!, "http://x");
    if (url.pathname === "/api/chain/head") return json(200, { height: n.height, hash: hash("f"), finalized: n.finalized, justified: n.finalized });
    if (url.pathname === "/api/blocks" || url.pathname === "/api/blocks/forks") {
      const from = Number(url.searchParams.get("from"));
      const limit = Number(url.searchParams.get("limit"));
      const blocks = [];
      for (let h = from; h < from + limit; h++) blocks.push({ hash: n.chain.get(h) ?? hash("e"), header: { height: h } });
      return json(200, url.pathname.endsWith("forks") ? { forks: [] } : { blocks });
    }
    const m = /^\/api\/blocks\/(\d+)$/.exec(url.pathname);
    if (m && n.chain.has(Number(m[1]))) return json(200, { hash: n.chain.get(Number(m[1])) });
    json(404, { error: "not found" });
  });
  await new Promise<void>((r) => n.server.listen(0, "127.0.0.1", r));
  n.api = `http://127.0.0.1:${(n.server.address() as AddressInfo).port}`;
  return n;
}

async function withNodes(make: () => Promise<FakeNode[]>, body: (nodes: FakeNode[]) => Promise<void>): Promise<void> {
  const nodes = await make();
  try {
    await body(nodes);
  } finally {
    for (const n of nodes) n.server.close();
  }
}

test("two different finalized blocks at one height are a conflict", () =>
  withNodes(
    async () => [await fakeNode("node-1", { 0: hash("0"), 8: hash("a") }, 12, 8), await fakeNode("node-2", { 0: hash("0"), 8: hash("b") }, 11, 8)],
    async (nodes) => {
      const w = new FinalityWatch();
      await w.sample(nodes);
      const s = w.summary();
      assert.equal(s.agree, false);
      assert.match(s.conflicts[0]!, /node-2 finalized bbbbbbbbbbbb at height 8, node-1 finalized aaaaaaaaaaaa there/);
      assert.deepEqual([s.lag_median, s.lag_max], [3, 4]);
    },
  ));

test("a finalized block off the branch of another node's higher finalized block is a conflict", () =>
  withNodes(
    async () => [
      await fakeNode("node-1", { 0: hash("0"), 8: hash("a") }, 10, 8),
      await fakeNode("node-2", { 0: hash("0"), 8: hash("b"), 16: hash("c") }, 18, 16),
    ],
    async (nodes) => {
      const w = new FinalityWatch();
      await w.sample(nodes);
      const s = w.summary();
      assert.equal(s.agree, false);
      assert.match(s.conflicts[0]!, /node-1 finalized aaaaaaaaaaaa at height 8, but node-2 finalized cccccccccccc at height 16 on a branch whose block at 8 is bbbbbbbbbbbb/);
    },
  ));

test("finalized blocks on one chain agree, across samples and heights; lag is head - finalized", () =>
  withNodes(
    async () => [
      await fakeNode("node-1", { 0: hash("0"), 8: hash("a") }, 10, 8),
      await fakeNode("node-2", { 0: hash("0"), 8: hash("a"), 16: hash("c") }, 18, 16),
    ],
    async (nodes) => {
      const w = new FinalityWatch();
      await w.sample(nodes);
      nodes[0]!.chain.set(16, hash("c"));
      nodes[0]!.finalized = { height: 16, hash: hash("c") };
      nodes[0]!.height = 19;
      await w.sample(nodes);
      const s = w.summary();
      assert.equal(s.agree, true, s.conflicts.join("; "));
      assert.equal(s.samples, 2);
      assert.equal(s.finalized_height, 16);
      assert.equal(s.checkpoints, 2);
      assert.equal(s.unchecked, 0);
      assert.deepEqual([s.lag_median, s.lag_max], [2, 3]);
    },
  ));

test("a conflict with a checkpoint seen at an earlier sample is found although its reporter moved on", () =>
  withNodes(
    async () => [await fakeNode("node-1", { 0: hash("0"), 8: hash("a") }, 9, 8), await fakeNode("node-2", { 0: hash("0") }, 5, 0)],
    async (nodes) => {
      const w = new FinalityWatch();
      await w.sample(nodes);
      nodes[0]!.down = true;
      nodes[1]!.chain.set(8, hash("b"));
      nodes[1]!.finalized = { height: 8, hash: hash("b") };
      await w.sample(nodes);
      assert.equal(w.summary().agree, false);
    },
  ));

test("a check whose node is down waits for a later sample", () =>
  withNodes(
    async () => [
      await fakeNode("node-1", { 0: hash("0"), 8: hash("x"), 16: hash("c") }, 17, 16),
      await fakeNode("node-2", { 0: hash("0"), 8: hash("a") }, 9, 0),
    ],
    async (nodes) => {
      const w = new FinalityWatch();
      await w.sample(nodes);
      nodes[0]!.down = true;
      nodes[1]!.finalized = { height: 8, hash: hash("a") };
      await w.sample(nodes);
      assert.equal(w.summary().unchecked, 1, "(8, 16) waits for node-1");
      assert.equal(w.summary().agree, true);
      nodes[0]!.down = false;
      await w.sample(nodes);
      assert.equal(w.summary().unchecked, 0);
      assert.equal(w.summary().agree, false, "node-1's branch holds another block at 8");
    },
  ));

test("a drill's outcome carries the conflict, so the drill fails", () =>
  withNodes(
    async () => [await fakeNode("node-1", { 0: hash("0"), 1: hash("1"), 8: hash("a") }, 1, 8), await fakeNode("node-2", { 0: hash("0"), 1: hash("1"), 8: hash("b") }, 1, 8)],
    async (nodes) => {
      const dir = mkdtempSync(join(tmpdir(), "vision-finality-watch-"));
      try {
        // both "nodes" read one empty node.log (no reorgs) and run (a stand-in process)
        writeFileSync(join(dir, "node.log"), "");
        const local = nodes.map((n) => ({ name: n.name, api: n.api, ebid: n.name, dataDir: dir, p2pPort: 0, apiPort: 0, proc: { exitCode: null, signalCode: null } }) as unknown as LocalNode);
        const net = { nodes: local } as unknown as LocalNet;
        const o = await outcome({ net, finality: new FinalityWatch() }, () => undefined);
        assert.equal(o.agree, true, "their canonical blocks at 1 agree");
        assert.equal(o.finality.agree, false);
        assert.equal(o.finality.conflicts.length, 1);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  ));

test("percentile is the nearest rank", () => {
  assert.equal(percentile([], 50), null);
  assert.equal(percentile([5, 1, 3], 50), 3);
  assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90), 9);
});
