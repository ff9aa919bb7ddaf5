// Slashing protection on an injected VirtualClock, on real files: an observation reaches the disk
// when the flush delay has passed on the clock, not before, with no real wait.
import { test } from "node:test";
import assert from "node:assert/strict";
import { SlashingProtection } from "../../../src/node/slashingProtection.ts";
import { VirtualClock } from "../../../src/util/clock.ts";
import { makeKeys, tempDir } from "../../helpers/fixtures.ts";

const [k1] = makeKeys(1);

test("an observed block is written when the flush timer fires on the virtual clock", () => {
  const t = tempDir();
  try {
    const clock = new VirtualClock(5_000);
    const p = SlashingProtection.open(t.dir, k1!.ebid, { checkpointInterval: 8, clock });
    const onDisk = () => SlashingProtection.open(t.dir, k1!.ebid, { checkpointInterval: 8 }).record.max_block_height;
    const before = onDisk();
    assert.equal(p.observeBlock(9), true);
    assert.equal(clock.pending, 1, "the flush waits on the virtual clock");
    clock.advance(clock.nextAt()! - clock.now() - 1);
    assert.equal(onDisk(), before, "not written before the flush delay");
    clock.advance(1);
    assert.equal(onDisk(), 9);
    assert.equal(clock.pending, 0);
  } finally {
    t.cleanup();
  }
});
