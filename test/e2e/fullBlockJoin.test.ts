// A node joining a chain of full blocks (60 blocks of 500 transfers, ~230 KB each) catches up
// from a peer and agrees with it: range replies are capped by bytes (docs/protocol.md §9.6), so
// no reply outgrows the 4 MiB line cap, and the syncer pages through partial replies (~14 MB in
// two range chunks, of 50 blocks and 10, the first over 11 MB). The server's served-byte burst is
// set to 4 MiB (`--p2p-served-bytes-burst`), well below what it serves, so the budget assertion is
// met by the rate, not by the burst.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { buildFullChain } from "../helpers/fullBlocks.ts";
import { tempDir } from "../helpers/fixtures.ts";
import { getJson, startNode, type NodeProc } from "../helpers/nodeProcess.ts";

const BLOCKS = 60;
const BURST = 4 * 1024 * 1024;
const TXS = 500;

test("a node joining a chain of 60 blocks of 500 transfers catches up from its peer and agrees", async () => {
  const t = tempDir("vision-fullblocks-");
  const nodes: NodeProc[] = [];
  try {
    const specFile = join(t.dir, "chain.json");
    const built = performance.now();
    const { tipHash } = await buildFullChain(join(t.dir, "full"), specFile, BLOCKS, TXS);
    console.log(`# built ${BLOCKS} blocks of ${TXS} transfers in ${((performance.now() - built) / 1000).toFixed(1)} s`);
    const server = await startNode({ dataDir: join(t.dir, "full"), chain: specFile, extra: ["--no-produce", "--log-level", "info", "--p2p-served-bytes-burst", String(BURST)] });
    nodes.push(server);
    const started = performance.now();
    const joiner = await startNode({ dataDir: join(t.dir, "join"), chain: specFile, peers: [`ws://127.0.0.1:${server.p2pPort}`], extra: ["--no-produce", "--log-level", "info"] });
    nodes.push(joiner);
    let head = { height: 0, hash: "" };
    while (performance.now() - started < 120_000) { // generous: the machine may be loaded; the time is printed
      head = await getJson<{ height: number; hash: string }>(`${joiner.api}/api/chain/head`);
      if (head.height >= BLOCKS) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const secs = (performance.now() - started) / 1000;
    console.log(`# joined: height ${head.height}/${BLOCKS} after ${secs.toFixed(1)} s`);
    const stops = joiner.logs.filter((l) => typeof l.msg === "string" && l.msg.startsWith("Sync stopped")).map((l) => l.msg);
    assert.equal(head.height, BLOCKS, `the joining node stopped at height ${head.height}: ${stops.join("; ")}`);
    assert.equal(head.hash, tipHash, "the joining node agrees on the tip");
    const strikes = [...server.logs, ...joiner.logs].filter((l) => l.msg === "Peer sent invalid data").map((l) => l.reason);
    assert.deepEqual(strikes, [], "no strikes between honest peers");
    const refused = server.logs.filter((l) => l.msg === "Request refused: served byte budget spent");
    assert.deepEqual(refused, [], "honest sync at full speed stays within the served-byte budget");
    const metrics = await (await fetch(`${server.api}/metrics`)).text();
    const served = [...metrics.matchAll(/^vision_p2p_bytes_total\{direction="out",[^}]*\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
    console.log(`# served ${(served / 1e6).toFixed(1)} MB against a ${BURST / 1024 / 1024} MiB burst`);
    assert.ok(served > 2 * BURST, `the server served more than twice its burst (${served} bytes), so the rate was what held`);
  } finally {
    for (const n of nodes.reverse()) await n.stop();
    t.cleanup();
  }
});
