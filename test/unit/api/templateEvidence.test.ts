// The chain-core mining API's templates carry the node's slashing evidence (docs/protocol.md §6.5,
// §10), as the node's own producer's blocks do: a real node (LevelDB, HTTP on 127.0.0.1) of a
// Proof-of-Sync chain holding a double vote serves a `/mine_block` template with the item, its
// `slashings_root` and roots previewed with it, and the chain's `genesis_hash` to sign for; the
// block mined and signed from it by an active validator, submitted through `/submit_block`,
// imports and slashes the offender.
import { test } from "node:test";
import assert from "node:assert/strict";
import { VisionNode } from "../../../src/node/node.ts";
import { meetsDifficulty, powHash, sealHash } from "../../../src/consensus/hashing.ts";
import { blsSignHex } from "../../../src/consensus/bls.ts";
import { nextMix, revealMessage } from "../../../src/consensus/randao.ts";
import { sealBlock } from "../../../src/producer/blockBuilder.ts";
import type { Header } from "../../../src/consensus/types.ts";
import { makeKeys, makeSpec, silentLog, tempDir, type TestKey } from "../../helpers/fixtures.ts";
import { fakeHash, vote } from "../../helpers/slashing.ts";

const keys = makeKeys(3);
const [miner, offender] = keys as [TestKey, TestKey, TestKey];
const spec = makeSpec(keys, { genesis_timestamp: Date.now() - 60_000, params: { fallback_difficulty: 1, min_ready_peers: 0 } });

async function post(url: string, body: unknown) {
  const r = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: r.status, body: (await r.json()) as Record<string, any> };
}

test("a /mine_block template carries the node's slashing evidence; the block mined from it imports and slashes the offender", async () => {
  const t = tempDir();
  const node = await VisionNode.init({ dataDir: t.dir, spec, p2p: { host: "127.0.0.1", port: 0 }, apiHost: "127.0.0.1", apiPort: 0, produce: false, mine: false, miningWorkers: 1 }, silentLog);
  const api = `http://127.0.0.1:${node.apiPort}`;
  try {
    const genesis = node.chain.genesis.hash;
    // the node saw two conflicting FFG votes by `offender` (as in gossip): a double vote
    node.evidence.noteVote(vote(offender, 0, 8, { genesis }));
    const item = node.evidence.noteVote(vote(offender, 0, 8, { genesis, targetHash: fakeHash(99) }));
    assert.ok(item, "the node holds the evidence");

    const r = await post(`${api}/mine_block`, { miner_address: miner.ebid, client_version: "test" });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const tpl = r.body.block_template;
    assert.deepEqual(tpl.slashings, [item], "the template carries the evidence");
    assert.equal(tpl.genesis_hash, genesis, "the template names the chain its block is signed for");
    // the miner's part (as `vision-node mine` does it): its RANDAO reveal, the nonce, the signature
    let header: Header = tpl.header;
    assert.equal(tpl.reveal_required, true);
    const randao_reveal = blsSignHex(miner.blsSecretKey, revealMessage(spec.chain_id, header.height));
    header = { ...header, randao_reveal, mix: nextMix(header.mix, randao_reveal) };
    const seal = sealHash(header);
    let nonce = 0;
    while (!meetsDifficulty(powHash(seal, nonce), header.difficulty)) nonce++;
    const block = sealBlock({ ...header, nonce }, tpl, miner.secretKey, tpl.genesis_hash);
    const s = await post(`${api}/submit_block`, { block });
    assert.equal(s.body.status, "accepted", JSON.stringify(s.body));
    assert.equal(node.chain.head.hash, block.hash);
    const after = await node.chain.registryAfter(node.chain.head);
    assert.equal(after.get(offender.ebid)!.slashed, true, "the offender is slashed");
    assert.equal(after.get(offender.ebid)!.bond, 0n);
    assert.equal(after.get(miner.ebid)!.slashed, false);
    // slashed at the head: the next template leaves the item out
    const next = await post(`${api}/mine_block`, { miner_address: miner.ebid });
    assert.deepEqual(next.body.block_template.slashings, []);
  } finally {
    await node.close();
    t.cleanup();
  }
});
