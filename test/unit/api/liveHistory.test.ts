// The plain GET of /api/mining/stream reads its history once per head, not HISTORY_BLOCKS blocks per request.
import { test } from "node:test";
import assert from "node:assert/strict";
import { HISTORY_BLOCKS, recentHistory } from "../../../src/api/live.ts";

function fakeChain(height: number) {
  const hashAt = (h: number, fork = "") => `${fork}h${h}`;
  let fork = "";
  let reads = 0;
  const chain = {
    head: { height, hash: hashAt(height) },
    async getCanonicalMeta(h: number) {
      return h <= chain.head.height ? { hash: hashAt(h, h === chain.head.height ? fork : ""), producer: "p", slot: 0, timestamp: h } : undefined;
    },
    async getBlock() {
      reads++;
      return { txs: [] };
    },
  };
  return { m: { chain } as never, chain, reads: () => reads, reorgTip: (f: string) => ((fork = f), (chain.head = { height: chain.head.height, hash: hashAt(chain.head.height, f) })) };
}

test("while the head stays, a request reads no block; when it moves, only the new tail is read", async () => {
  const c = fakeChain(200);
  const first = await recentHistory(c.m);
  assert.equal(first.length, HISTORY_BLOCKS);
  assert.equal(c.reads(), HISTORY_BLOCKS);
  for (let i = 0; i < 5; i++) assert.equal(await recentHistory(c.m), first);
  assert.equal(c.reads(), HISTORY_BLOCKS, "no block read again for the same head");

  c.chain.head = { height: 202, hash: "h202" };
  const next = await recentHistory(c.m);
  assert.deepEqual(next.map((e) => e.height).slice(-2), [201, 202]);
  assert.equal(c.reads(), HISTORY_BLOCKS + 2, "only the two new blocks are read");

  c.reorgTip("x");
  assert.equal((await recentHistory(c.m)).at(-1)!.hash, "xh202");
  assert.equal(c.reads(), HISTORY_BLOCKS + 3, "a replaced tip is read again");
});
