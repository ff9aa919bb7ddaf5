// A producer whose BLS key is not the one its validator record holds (a key file replaced or
// regenerated after bonding) would sign reveals every node refuses (BAD_REVEAL, docs/protocol.md
// §6.4): the template refuses to build such a block, naming both keys, instead of handing the
// producer (or the fallback miner, after its proof of work) a block its own chain refuses.
import { test } from "node:test";
import assert from "node:assert/strict";
import { buildTemplate } from "../../../src/producer/template.ts";
import { sealBlock } from "../../../src/producer/blockBuilder.ts";
import { Mempool } from "../../../src/chain/mempool.ts";
import { AttestationPool } from "../../../src/chain/attestationPool.ts";
import { BlockError } from "../../../src/chain/errors.ts";
import { blsPublicKeyHex, blsSecretKeyFromIkm } from "../../../src/consensus/bls.ts";
import { makeKeys, makeSpec, openTestChain, silentLog } from "../../helpers/fixtures.ts";

const keys = makeKeys(2);
const spec = makeSpec(keys);

test("a template for a validator whose BLS key is not its record's is refused with both keys named; with the record's key the block imports", async () => {
  const c = await openTestChain(spec);
  try {
    const m = { chain: c.chain, attestations: new AttestationPool(), mempool: new Mempool(), log: silentLog };
    const parent = c.chain.head;
    const producer = (await c.chain.scheduleFor(parent)).winners[0]!;
    const key = keys.find((k) => k.ebid === producer)!;
    const fields = { producer, slot: 0, timestamp: parent.timestamp + spec.params.block_time_ms, difficulty: 0 };
    const other = blsSecretKeyFromIkm(new Uint8Array(32).fill(99));
    let refused: unknown;
    try {
      const t = await buildTemplate(m, parent, fields, other);
      await c.chain.importBlock(sealBlock(t.header, t, key.secretKey, c.chain.genesis.hash));
    } catch (e) {
      refused = e;
    }
    assert.ok(refused instanceof Error && !(refused instanceof BlockError), `the template refuses, not the chain's import: ${String(refused)}`);
    assert.match(refused.message, new RegExp(blsPublicKeyHex(other).slice(0, 16)));
    assert.match(refused.message, new RegExp(key.blsPubkey.slice(0, 16)));
    const t = await buildTemplate(m, parent, fields, key.blsSecretKey);
    assert.equal((await c.chain.importBlock(sealBlock(t.header, t, key.secretKey, c.chain.genesis.hash))).status, "imported");
  } finally {
    await c.destroy();
  }
});
