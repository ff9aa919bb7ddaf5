// A view of the state read while a head move's batch is being written: LevelDB may already show
// the new accounts before the chain commits the move, so a view begun then must wait for the
// commit instead of mixing the old head with new accounts (the producer's own previewState runs
// outside the import queue; a mixed view gives its block a wrong state_root and loses the slot).
import { test } from "node:test";
import assert from "node:assert/strict";
import { blockFor, makeKeys, makeSpec, openTestChain } from "../../helpers/fixtures.ts";
import { signTransfer } from "../../../src/chain/tx.ts";

test("a view begun while a head move is written waits for its commit: never the old head with new accounts", async () => {
  const keys = makeKeys(3);
  const [producer, sender, newcomer] = keys as [(typeof keys)[0], (typeof keys)[0], (typeof keys)[0]];
  const spec = makeSpec([producer], { alloc: { [sender.ebid]: "1000000" } });
  const c = await openTestChain(spec);
  try {
    await c.chain.importBlock(await blockFor(c.chain, c.chain.head, [producer], 0));
    const parent = c.chain.head;
    // The child creates `newcomer`, an account no one has read yet (so no cache holds it).
    const tx = signTransfer(sender, { chain_id: spec.chain_id, to: newcomer.ebid, amount: "1000", fee: "1", nonce: 0 });
    const child = await blockFor(c.chain, parent, [producer], 0, { txs: [tx] });
    // Hold the import's continuation after LevelDB applied its batch: the gap before commit().
    const write = c.db.write.bind(c.db);
    let applied!: () => void;
    const batchApplied = new Promise<void>((r) => (applied = r));
    // With a large state the LRU cache no longer holds the accounts the block touched; empty it.
    const cache = (c.chain as unknown as { state: { cache: { clear(): void } } }).state.cache;
    c.db.write = async (writes) => {
      cache.clear();
      await write(writes);
      applied();
      await new Promise((r) => setTimeout(r, 100));
    };
    const imported = c.chain.importBlock(child);
    await batchApplied;
    const view = await c.chain.stateAt(parent, [newcomer.ebid, sender.ebid]);
    assert.equal(view.get(newcomer.ebid), undefined, "the newcomer does not exist after `parent`");
    assert.equal(view.get(sender.ebid)!.balance, 1_000_000n);
    await imported;
    assert.equal(c.chain.head.hash, child.hash);
    assert.equal((await c.chain.account(newcomer.ebid)).balance, 1000n);
  } finally {
    await c.destroy();
  }
});
