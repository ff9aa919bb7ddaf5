// `vision-node mine` never signs two blocks at one height in a run (docs/protocol.md §6.6 rule 1):
// on a Proof-of-Sync chain an active validator's fallback blocks are slashable like any other
// (§6.5 `blocks`). A reorg to a heavier branch one block shorter (slot blocks weigh 2, fallbacks 1)
// hands the miner a template at the height it already signed, on another parent. The node here is a
// stand-in for the chain-core API on a real HTTP socket: it serves that sequence of templates.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { runMiner } from "../../../src/cli/mine.ts";
import { writeKeyFile } from "../../../src/node/keyfile.ts";
import { draftHeader } from "../../../src/producer/blockBuilder.ts";
import type { Block } from "../../../src/consensus/types.ts";
import { tempDir } from "../../helpers/fixtures.ts";
import { fakeHash } from "../../helpers/slashing.ts";

test("the external miner does not sign a second block at a height it signed, on another parent", async () => {
  const t = tempDir();
  const keyFile = join(t.dir, "miner.key");
  const key = writeKeyFile(keyFile);
  // heights of the templates served, in order: 5 on parent A, then (a reorg to a shorter heavier
  // branch) 5 on parent B, then 6 on parent B's child
  const plan = [
    { height: 5, parent: fakeHash(1) },
    { height: 5, parent: fakeHash(2) },
    { height: 6, parent: fakeHash(3) },
  ];
  let served = 0;
  let head = plan[0]!.parent;
  const submitted: Block[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const send = (o: unknown, status = 200) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(o));
      if (req.url === "/mine_block") {
        const p = plan[Math.min(served++, plan.length - 1)]!;
        head = p.parent;
        const header = draftHeader({
          parent: { hash: p.parent, height: p.height - 1, mix: fakeHash(9) },
          producer: key.ebid,
          slot: null,
          timestamp: Date.now(),
          attestations: [],
          stateRoot: fakeHash(10),
          validatorsRoot: fakeHash(11),
          finalityRoot: fakeHash(12),
          difficulty: 0,
        });
        return send({ block_template: { header, txs: [], attestations: [], slashings: [], genesis_hash: fakeHash(13), target_difficulty: 0, valid_from: 0, reveal_required: false, kind: "fallback" } });
      }
      if (req.url === "/submit_block") {
        submitted.push((JSON.parse(body) as { block: Block }).block);
        return send({ status: "accepted" });
      }
      if (req.url === "/api/chain/head") return send({ hash: head });
      return send({}, 404);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), 8000);
    const report = await runMiner({ node: url, key: keyFile, workers: 1, blocks: 2, pollMs: 50 }, abort.signal, () => undefined);
    clearTimeout(timer);
    const heights = submitted.map((b) => b.header.height);
    assert.equal(new Set(heights).size, heights.length, `one signed block per height, got heights ${heights.join(", ")}`);
    assert.equal(report.accepted, 2, "it goes on at the next height");
    assert.deepEqual(heights, [5, 6]);
  } finally {
    server.close();
    t.cleanup();
  }
});
