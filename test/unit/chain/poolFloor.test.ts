// The pool's finality floor (docs/protocol.md §5) over real LevelDB: the validators live at the
// finalized checkpoint of the epoch's anchor (the genesis validators while it is genesis) stay in
// the pool of every branch that contains that checkpoint, however long they stay silent there.
import { test } from "node:test";
import assert from "node:assert/strict";
import { attestOn, blockFor, makeKeys, makeSpec, openTestChain, type TestKey } from "../../helpers/fixtures.ts";
import type { Chain } from "../../../src/chain/chain.ts";
import type { BlockMeta } from "../../../src/storage/records.ts";

const keys = makeKeys(4);
const spec = makeSpec(keys, { params: { block_time_ms: 2000, epoch_length: 8, pool_window: 8 } });
const L = spec.params.epoch_length;

// Imports a block on `parent` by the first online winner, carrying the online voters' attestations of `parent`.
async function step(chain: Chain, parent: BlockMeta, online: TestKey[], voters: TestKey[] = online): Promise<BlockMeta> {
  const schedule = await chain.scheduleFor(parent);
  const slot = schedule.winners.findIndex((w) => online.some((k) => k.ebid === w));
  assert.ok(slot >= 0, `an online validator wins a slot at ${parent.height + 1}`);
  const attestations = parent.height === 0 ? [] : await Promise.all(voters.map((k) => attestOn(chain, k, parent.height, parent.hash)));
  const b = await blockFor(chain, parent, keys, slot, { attestations });
  assert.equal((await chain.importBlock(b)).status, "imported");
  return (await chain.getMeta(b.hash))!;
}

test("while finality stays at genesis the genesis validators stay in the pool; a silent one leaves only once the finalized checkpoint's window passes it", async () => {
  const c = await openTestChain(spec);
  try {
    const silent = keys[3]!;
    // Two of four online: nothing is justified, so the floor stays the genesis validators.
    let tip = c.chain.head;
    for (let n = 1; n <= 5 * L; n++) tip = await step(c.chain, tip, keys.slice(0, 2));
    assert.equal(c.chain.finalized.height, 0);
    assert.ok((await c.chain.scheduleFor(tip)).pool.includes(silent.ebid), "a silent genesis validator is kept by the floor");
    // Three of four online: finality moves past the silent validator's (empty) record of liveness,
    // and after the window it leaves the pool.
    for (let n = 1; n <= 5 * L; n++) tip = await step(c.chain, tip, keys.slice(0, 3));
    assert.ok(c.chain.finalized.height > 0);
    assert.deepEqual((await c.chain.scheduleFor(tip)).pool, keys.slice(0, 3).map((k) => k.ebid).sort());
  } finally {
    await c.destroy();
  }
});
