// The finality gauges through the real metrics listener (`--metrics-port`) of a real node on
// LevelDB: vision_finalized_height is the chain's finalized checkpoint (docs/protocol.md §7, what the
// API reports as `finalized`), vision_justified_height its justified one (above the head branch's own
// here). vision_slashings_total is exported, from 0.
import { test } from "node:test";
import assert from "node:assert/strict";
import { finalityNode, I } from "../../helpers/finalityNode.ts";
import { waitFor } from "../../helpers/net.ts";

const value = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1]);

test("vision_finalized_height and vision_justified_height follow the checkpoints the API reports; vision_slashings_total is exported", async () => {
  const f = await finalityNode();
  const scrape = async () => {
    const r = await fetch(f.metrics);
    assert.equal(r.status, 200);
    return r.text();
  };
  try {
    // The exposition may be up to 2 s old (metrics/exposition.ts): wait for the chain's values.
    let text = await waitFor(async () => {
      const t = await scrape();
      return value(t, "vision_finalized_height") === I ? t : undefined;
    }, 5000, "vision_finalized_height at the finalized checkpoint");
    assert.match(text, /^# TYPE vision_finalized_height gauge$/m);
    assert.match(text, /^# TYPE vision_justified_height gauge$/m);
    assert.equal(value(text, "vision_justified_height"), f.node.chain.justifiedCheckpoint.height, "the chain's");
    assert.equal(value(text, "vision_justified_height"), 2 * I);
    assert.equal(f.node.chain.justified.height, I, "the fixture: the head branch's own is cp(1)");
    assert.match(text, /^# TYPE vision_slashings_total counter$/m);
    assert.equal(value(text, "vision_slashings_total"), 0);

    await f.voteOnHead(); // the head branch justifies cp(2)
    text = await waitFor(async () => {
      const t = await scrape();
      return value(t, "vision_justified_height") === 2 * I ? t : undefined;
    }, 5000, "vision_justified_height at cp(2)");
    assert.equal(value(text, "vision_finalized_height"), I);
  } finally {
    await f.close();
  }
});
