// The chain on a VirtualClock: a block from the future is held on the injected clock's timer and
// imported at its due virtual ms, with no real wait.
import { test } from "node:test";
import assert from "node:assert/strict";
import { VirtualClock, settle } from "../../../src/util/clock.ts";
import { GENESIS_TS, blockFor, makeKeys, makeSpec, openTestChain } from "../../helpers/fixtures.ts";
import { waitFor } from "../../helpers/net.ts";

const keys = makeKeys(3);
const spec = makeSpec(keys);

test("a held block's timer runs on the chain's clock: imported when virtual time reaches its due ms, not before", async () => {
  const clock = new VirtualClock(GENESIS_TS + 10_000_000);
  const t = await openTestChain(spec, undefined, { virtualClock: clock });
  const { chain } = t;
  try {
    assert.equal(chain.headSeenAt, clock.now(), "now comes from the clock");
    const ahead = spec.params.max_future_drift_ms + 5_000;
    const b = await blockFor(chain, chain.head, keys, 0, { timestamp: clock.now() + ahead });
    const r = await chain.importBlock(b);
    assert.equal(r.status, "held");
    const dueAt = (r as { dueAt: number }).dueAt;
    assert.equal(clock.nextAt(), dueAt, "one timer, due when the block is");
    const started = Date.now();
    clock.advance(dueAt - clock.now() - 1);
    await settle();
    assert.equal(chain.head.height, 0, "not before its due ms");
    clock.advance(1);
    await waitFor(() => chain.head.height === 1, 5_000, "the held block imported"); // its import's LevelDB I/O is real
    assert.equal(chain.head.hash, b.hash);
    assert.equal(chain.headSeenAt, dueAt, "seen at the virtual due time");
    assert.ok(Date.now() - started < 4_000, "no real wait for the 5 s hold");
  } finally {
    await t.destroy();
  }
});
