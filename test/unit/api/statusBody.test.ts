// GET /api/mining/status's body cache: rebuilt when the head, the snapshot or the claims change, never otherwise.
import { test } from "node:test";
import assert from "node:assert/strict";
import { statusBodyCache } from "../../../src/api/statusBody.ts";
import { ClaimReceipts } from "../../../src/producer/claims.ts";

function sources() {
  const claims = new ClaimReceipts();
  const m = { chain: { head: { hash: "aa" } }, snapshot: { current: { n: 1 } }, claims };
  let builds = 0;
  const get = statusBodyCache(m as never, async () => ({ head: m.chain.head.hash, snap: m.snapshot.current, claims: claims.recent(10).length, build: ++builds }));
  return { m, claims, get, builds: () => builds };
}

test("the body is built once and then served synchronously until a source changes", async () => {
  const s = sources();
  const first = s.get();
  assert.ok(first instanceof Promise);
  assert.equal(s.get(), first, "a concurrent miss shares the build");
  const body = await first;
  assert.deepEqual(JSON.parse(body), { head: "aa", snap: { n: 1 }, claims: 0, build: 1 });
  assert.equal(s.get(), body);
  assert.equal(s.builds(), 1);

  s.m.chain.head = { hash: "bb" };
  assert.equal(JSON.parse(await s.get()).head, "bb");
  s.m.snapshot.current = { n: 2 };
  assert.deepEqual(JSON.parse(await s.get()).snap, { n: 2 });
  s.claims.record(5, { winner_id: "x", tip_hash: "bb", claimed_at: 1, slot_idx: 0 });
  assert.equal(JSON.parse(await s.get()).claims, 1);
  s.claims.settle(5, "produced", { block_hash: "cc" });
  assert.equal(JSON.parse(await s.get()).build, 5);
  assert.equal(typeof s.get(), "string");
  assert.equal(s.builds(), 5);
});

test("a failed build is not kept", async () => {
  let fail = true;
  const claims = new ClaimReceipts();
  const m = { chain: { head: { hash: "aa" } }, snapshot: { current: {} }, claims };
  const get = statusBodyCache(m as never, async () => {
    if (fail) throw new Error("no schedule");
    return { ok: true };
  });
  await assert.rejects(get() as Promise<string>, /no schedule/);
  fail = false;
  assert.equal(await get(), '{"ok":true}');
});
