// Property: no input to any HTTP route of a real node makes it answer 5xx or stop answering
// (fast-check; the 100,000-case run is `npm run bench -- --only fuzz`).
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { VisionNode } from "../../../src/node/node.ts";
import { extend, makeKeys, makeSpec, silentLog, tempDir } from "../../helpers/fixtures.ts";

const keys = makeKeys(3);
const spec = makeSpec(keys, { alloc: { [keys[0]!.ebid]: "1000" } });
const POST = ["/api/tx", "/submit_block", "/mine_block", "/difficulty/set", "/config/refresh"];
const GET = ["/api/blocks/", "/api/blocks?from=", "/api/blocks?to=", "/api/tx/", "/api/accounts/", "/api/mempool?limit=", "/blockchain?limit=", "/api/evidence?limit=", "/api/blocks/forks?to=", "/api/docs/assets/", "/api/mining/claims?x="];

test("property: random bodies and parameters never get a 5xx from any route", async () => {
  const t = tempDir();
  const node = await VisionNode.init({ dataDir: t.dir, spec, p2p: { host: "127.0.0.1", port: 0 }, apiHost: "127.0.0.1", apiPort: 0, produce: false, mine: false }, silentLog);
  try {
    await extend(node.chain, keys, 2);
    const base = `http://127.0.0.1:${node.apiPort}`;
    const body = fc.oneof(
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc.string({ maxLength: 300 }),
      fc.record({ block: fc.jsonValue() }).map((v) => JSON.stringify(v)),
      fc.record({ miner_address: fc.string(), difficulty: fc.oneof(fc.integer(), fc.double(), fc.constant(null)) }).map((v) => JSON.stringify(v)),
    );
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.constantFrom(...POST), fc.constantFrom(...GET), body, fc.string({ maxLength: 100 }), async (post, p, g, b, s) => {
        const r = post
          ? await fetch(base + p, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${s}` }, body: b })
          : await fetch(base + g + encodeURIComponent(s));
        await r.arrayBuffer();
        assert.ok(r.status < 500, `${post ? `POST ${p} ${b.slice(0, 80)}` : `GET ${g}${s}`} → ${r.status}`);
      }),
      { numRuns: 600 },
    );
    assert.equal((await fetch(`${base}/api/chain/head`)).status, 200, "still answering");
  } finally {
    await node.close();
    t.cleanup();
  }
});
