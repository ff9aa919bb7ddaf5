// The chain-core mining API on a real node (LevelDB, HTTP on an ephemeral port) of a pow chain that does
// not mine itself: templates, submitted blocks (accepted, wrong nonce, stale parent, unknown parent),
// and the admin calls with and without the bearer token.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { VisionNode } from "../../../src/node/node.ts";
import { blockHash, meetsDifficulty, powHash, sealHash } from "../../../src/consensus/hashing.ts";
import { sealBlock } from "../../../src/producer/blockBuilder.ts";
import type { Block, Header } from "../../../src/consensus/types.ts";
import { makeKeys, makeSpec, silentLog, tempDir } from "../../helpers/fixtures.ts";

const [miner, other] = makeKeys(2) as [ReturnType<typeof makeKeys>[number], ReturnType<typeof makeKeys>[number]];
const spec = makeSpec([], { consensus: "pow", genesis_timestamp: Date.now() - 60_000, params: { genesis_difficulty: 2, min_ready_peers: 0 } });

function nonceFor(header: Header, ok: boolean): number {
  const seal = sealHash(header);
  for (let n = 0; ; n++) if (meetsDifficulty(powHash(seal, n), header.difficulty) === ok) return n;
}

async function post(url: string, body: unknown, token?: string) {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const r = await fetch(url, { method: "POST", headers, body: JSON.stringify(body) });
  return { status: r.status, body: (await r.json()) as Record<string, any> };
}

async function mined(api: string, key = miner, over: Partial<Header> = {}, valid = true): Promise<Block> {
  const r = await post(`${api}/mine_block`, { miner_address: key.ebid });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const t = r.body.block_template;
  const header: Header = { ...t.header, ...over };
  return sealBlock({ ...header, nonce: nonceFor(header, valid) }, t, key.secretKey, t.genesis_hash);
}

test("chain-core mining API: template, submit, stale, need_sync, wrong nonce, admin token", async () => {
  const t = tempDir();
  const configFile = join(t.dir, "node.json");
  writeFileSync(configFile, JSON.stringify({ mining_delay_ms: 0 }));
  const node = await VisionNode.init(
    { dataDir: t.dir, spec, p2p: { host: "127.0.0.1", port: 0 }, apiHost: "127.0.0.1", apiPort: 0, produce: true, mine: false, configFile, miningWorkers: 1 },
    silentLog,
  );
  const api = `http://127.0.0.1:${node.apiPort}`;
  try {
    // A template names the requester as producer, nonce 0, the expected difficulty, on the tip.
    const tpl = await post(`${api}/mine_block`, { miner_address: miner.ebid, client_version: "test" });
    assert.equal(tpl.body.status, "template_created");
    const h = tpl.body.block_template.header;
    assert.deepEqual(tpl.body.block_template.slashings, [], "pow chains carry no slashing items");
    assert.equal(tpl.body.block_template.genesis_hash, node.chain.genesis.hash, "the chain the block is signed for");
    assert.equal(h.producer, miner.ebid);
    assert.equal(h.nonce, 0);
    assert.equal(h.slot, null);
    assert.equal(h.parent_hash, node.chain.head.hash);
    assert.equal(tpl.body.target_difficulty, 2);
    assert.equal(tpl.body.mining_metadata.block_reward, "50");

    const a1 = await mined(api);
    const c1 = await mined(api, other, { timestamp: a1.header.timestamp + 1 }); // a rival for height 1
    const ok = await post(`${api}/submit_block`, { block: a1 });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.status, "accepted");
    assert.equal(ok.body.block_index, 1);
    assert.equal(node.chain.head.hash, a1.hash);
    const a2 = await mined(api);
    assert.equal((await post(`${api}/submit_block`, { block: a2 })).body.status, "accepted");

    // The rival at height 1 has less work than the chain through height 2: stale, stored as a fork.
    const stale = await post(`${api}/submit_block`, { block: c1 });
    assert.equal(stale.status, 409);
    assert.equal(stale.body.status, "stale");
    assert.equal(stale.body.tip.hash, a2.hash);

    // A wrong nonce (hash and signature redone, so the PoW is the only fault).
    const bad = await mined(api, miner, {}, false);
    const refused = await post(`${api}/submit_block`, { block: bad });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error, "bad_pow");
    // Difficulty below the expected one, and a tampered header.
    const easy = await mined(api, miner, { difficulty: 1 });
    assert.equal((await post(`${api}/submit_block`, { block: easy })).body.error, "bad_difficulty");
    const tampered = { ...a2, header: { ...a2.header, nonce: a2.header.nonce + 1 } };
    assert.equal((await post(`${api}/submit_block`, { block: tampered })).body.error, "bad_hash");
    const forged = await mined(api);
    assert.equal((await post(`${api}/submit_block`, { block: { ...forged, signature: a2.signature } })).body.error, "bad_signature");
    // Not a block at all.
    assert.equal((await post(`${api}/submit_block`, { block: { hash: "zz" } })).status, 400);
    assert.equal((await post(`${api}/mine_block`, { miner_address: "nope" })).status, 400);

    // A block whose parent this node has never seen: it answers need_sync with the range.
    const orphanHeader: Header = { ...a2.header, height: 7, parent_hash: "ab".repeat(32) };
    const orphan = sealBlock({ ...orphanHeader, nonce: nonceFor(orphanHeader, true) }, { txs: [], attestations: [] }, miner.secretKey, node.chain.genesis.hash);
    assert.equal(orphan.hash, blockHash(orphan.header));
    const needSync = await post(`${api}/submit_block`, { block: orphan });
    assert.equal(needSync.status, 409);
    assert.deepEqual([needSync.body.status, needSync.body.sync], ["need_sync", { from_index: 3, to_index: 6 }]);
    assert.equal(node.chain.head.hash, a2.hash, "nothing refused or parked moved the tip");

    // Read-only chain-core views.
    const status = await (await fetch(`${api}/status`)).json();
    assert.equal(status.blockchain_length, 3);
    const chain = await (await fetch(`${api}/blockchain?from=1&limit=2`)).json();
    assert.deepEqual(chain.chain.map((b: Block) => b.hash), [a1.hash, a2.hash]);
    assert.equal(chain.length, 3);
    assert.equal((await fetch(`${api}/blockchain?limit=0`)).status, 400);
    const pool = await (await fetch(`${api}/transaction_pool`)).json();
    assert.deepEqual([pool.pool_size, pool.total_fees], [0, "0"]);

    // Admin calls: refused without the token or with a wrong one; the cookie file's token works.
    assert.equal((await post(`${api}/difficulty/set`, { difficulty: 3 })).status, 401);
    assert.equal((await post(`${api}/difficulty/set`, { difficulty: 3 }, "wrong-token-wrong-token")).status, 401);
    assert.equal((await post(`${api}/config/refresh`, {})).status, 401);
    const token = readFileSync(join(t.dir, "admin.token"), "utf8").trim();
    const lower = await post(`${api}/difficulty/set`, { difficulty: 1 }, token);
    assert.equal(lower.status, 400, "the node's difficulty may only raise the expected one");
    const raised = await post(`${api}/difficulty/set`, { difficulty: 3, reason: "test" }, token);
    assert.deepEqual([raised.status, raised.body.old_difficulty, raised.body.new_difficulty, raised.body.override_active], [200, 2, 3, true]);
    assert.equal((await post(`${api}/mine_block`, { miner_address: miner.ebid })).body.target_difficulty, 3);
    const detailed = await (await fetch(`${api}/status/detailed`)).json();
    assert.deepEqual(detailed.difficulty_status, {
      genesis_difficulty: 2, config_difficulty: null, current_mining_difficulty: 3, target_difficulty: 2, adjustment_enabled: true, override_active: true,
    });

    // Hot reload: changes are reported; a broken file is refused and the old settings stay.
    writeFileSync(configFile, JSON.stringify({ mining_delay_ms: 25, mining_difficulty: 4 }));
    const refreshed = await post(`${api}/config/refresh`, {}, token);
    assert.equal(refreshed.status, 200);
    assert.deepEqual(refreshed.body.changes, { mining_difficulty: { old: null, new: 4 }, mining_delay_ms: { old: 0, new: 25 } });
    writeFileSync(configFile, JSON.stringify({ mining_delay_ms: -1 }));
    const broken = await post(`${api}/config/refresh`, {}, token);
    assert.equal(broken.status, 400);
    assert.match(broken.body.message, /mining_delay_ms/);
    assert.equal(node.settings.delayMs, 25);
  } finally {
    await node.close();
    t.cleanup();
  }
});
