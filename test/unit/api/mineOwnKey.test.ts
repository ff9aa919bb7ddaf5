// `POST /mine_block` on real nodes (LevelDB, HTTP on an ephemeral port): a node that produces blocks
// with its key hands no template to that same key. An external miner signing with it would race the
// node for the same heights, and two blocks of one key at one height are slashable
// (docs/protocol.md §6.5, §6.6); the request is refused with 409 naming why. Other keys get their
// template, and so does the node's own key when the node does not produce.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { VisionNode, type NodeOptions } from "../../../src/node/node.ts";
import { writeKeyFile } from "../../../src/node/keyfile.ts";
import { runMiner } from "../../../src/cli/mine.ts";
import { makeKeys, makeSpec, silentLog, tempDir } from "../../helpers/fixtures.ts";

const [own, other] = makeKeys(2, 90);
const spec = makeSpec([own!], { genesis_timestamp: Date.now() - 60_000 });

async function mineBlock(api: string, minerAddress: string) {
  const r = await fetch(`${api}/mine_block`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ miner_address: minerAddress }) });
  return { status: r.status, body: (await r.json()) as Record<string, any> };
}

test("/mine_block refuses a template for the node's own key while the node produces with it, and serves every other case", async () => {
  const [a, b] = [tempDir(), tempDir()];
  writeKeyFile(join(a.dir, "node.key"), own!.secretKey, own!.blsSecretKey);
  writeKeyFile(join(b.dir, "node.key"), own!.secretKey, own!.blsSecretKey);
  const options = (dataDir: string, produce: boolean): NodeOptions => ({ dataDir, spec, p2p: { host: "127.0.0.1", port: 0 }, apiHost: "127.0.0.1", apiPort: 0, produce, mine: false });
  const producing = await VisionNode.init(options(a.dir, true), silentLog);
  const watching = await VisionNode.init(options(b.dir, false), silentLog);
  try {
    const api = `http://127.0.0.1:${producing.apiPort}`;
    const refused = await mineBlock(api, own!.ebid);
    assert.equal(refused.status, 409, JSON.stringify(refused.body));
    assert.equal(refused.body.error, "own_producer");
    assert.match(refused.body.message, new RegExp(`${own!.ebid}.*this node's own key.*produces`));
    assert.equal((await mineBlock(api, other!.ebid)).status, 200, "another key gets its template");
    const served = await mineBlock(`http://127.0.0.1:${watching.apiPort}`, own!.ebid);
    assert.equal(served.status, 200, "a node that does not produce serves its own key");
    assert.equal(served.body.block_template.header.producer, own!.ebid);
  } finally {
    await producing.close();
    await watching.close();
    a.cleanup();
    b.cleanup();
  }
});

test("vision-node mine with the key of the node it mines for, while that node produces: stops at once with the node's reason, instead of retrying", async () => {
  const t = tempDir();
  const keyFile = join(t.dir, "node.key");
  writeKeyFile(keyFile, own!.secretKey, own!.blsSecretKey);
  const node = await VisionNode.init({ dataDir: t.dir, spec, p2p: { host: "127.0.0.1", port: 0 }, apiHost: "127.0.0.1", apiPort: 0, produce: true, mine: false }, silentLog);
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), 5000);
  try {
    const lines: string[] = [];
    await assert.rejects(runMiner({ node: `http://127.0.0.1:${node.apiPort}`, key: keyFile, workers: 1, blocks: 1 }, abort.signal, (l) => lines.push(l)), /own key and the node produces blocks with it/);
    assert.equal(abort.signal.aborted, false, "it stopped on its own");
  } finally {
    clearTimeout(timer);
    await node.close();
    t.cleanup();
  }
});
