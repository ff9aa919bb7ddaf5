// /api/health on real processes: a node started late against a peer holding many blocks answers
// 206 (syncing) while it catches up and 200 once at the tip; the peer answers 200 throughout. Every
// answer is checked against api/openapi.yaml's Health schema. The holder also runs with --api-cors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { extend, makeKeys, makeSpec, openTestChain, tempDir } from "../helpers/fixtures.ts";
import { startNode, type NodeProc } from "../helpers/nodeProcess.ts";
import { checkResponse } from "../helpers/openapi.ts";

const BLOCKS = 1000; // 20 range chunks: the sync takes long enough to be seen at 206 many times

test(`health: 206 while a late node syncs ${BLOCKS} blocks from its peer, then 200 at the tip`, async () => {
  const t = tempDir();
  const keys = makeKeys(3);
  const spec = makeSpec(keys);
  const specFile = join(t.dir, "chain.json");
  writeFileSync(specFile, JSON.stringify(spec));
  // The holder's chain is written straight into its data dir, then served by a real process.
  const holderDir = join(t.dir, "holder");
  const c = await openTestChain(spec, holderDir);
  await extend(c.chain, keys, BLOCKS);
  await c.close();

  const nodes: NodeProc[] = [];
  try {
    const holder = await startNode({ dataDir: holderDir, chain: specFile, extra: ["--no-produce", "--log-level", "info", "--api-cors", "http://allowed.example"] });
    nodes.push(holder);
    const origin = async (o: string) => (await fetch(`${holder.api}/api/mining/status`, { headers: { origin: o } })).headers.get("access-control-allow-origin");
    assert.equal(await origin("http://allowed.example"), "http://allowed.example", "--api-cors: the allowed origin may read");
    assert.equal(await origin("http://other.example"), null, "--api-cors: another origin gets no header");
    const health = async (n: NodeProc) => {
      const r = await fetch(`${n.api}/api/health`);
      const body = (await checkResponse("GET", `${n.api}/api/health`, r)) as { status: string; chain: { height: number }; sync_progress: { syncing: boolean } };
      return { code: r.status, ...body };
    };
    const first = await health(holder);
    assert.deepEqual([first.code, first.status, first.chain.height], [200, "ok", BLOCKS], "a node alone at its tip is healthy");

    const late = await startNode({ dataDir: join(t.dir, "late"), chain: specFile, peers: [`ws://127.0.0.1:${holder.p2pPort}`], extra: ["--no-produce", "--log-level", "info"] });
    nodes.push(late);
    const seen: { code: number; status: string; height: number }[] = [];
    const deadline = Date.now() + 120_000;
    for (;;) {
      const h = await health(late);
      seen.push({ code: h.code, status: h.status, height: h.chain.height });
      if (h.code === 200 && h.chain.height === BLOCKS) break;
      assert.ok(Date.now() < deadline, `no 200 at height ${BLOCKS} in 120 s: last ${JSON.stringify(seen.at(-1))}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    const syncing = seen.filter((s) => s.code === 206);
    console.log(`# ${syncing.length} answers 206 (syncing), ${seen.length} in all`);
    assert.ok(syncing.length > 0, `206 while syncing: saw ${JSON.stringify(seen.slice(0, 5))}...`);
    assert.ok(syncing.every((s) => s.status === "syncing"));
    assert.ok(syncing.some((s) => s.height < BLOCKS), "206 answered before the tip was reached");
    assert.ok(seen.every((s) => s.code === 200 || s.code === 206), "never 503: P2P stayed up");
    assert.equal((await health(holder)).code, 200, "the holder stays healthy");
  } finally {
    for (const n of nodes.reverse()) await n.stop();
    t.cleanup();
  }
});
