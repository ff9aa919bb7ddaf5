// Which peer heights eligibility and the miner count (docs/protocol.md §6.1): backed heights only,
// a serving sync's claim, nothing far below the local tip.
import { test } from "node:test";
import assert from "node:assert/strict";
import { countedHeights, defaultChainParams as p, nextSnapshot, type PeerHeightView } from "../../../src/consensus/index.ts";

const view = (claimed: number, backed: number, serving = false): PeerHeightView => ({ claimed, backed, serving });

test("countedHeights: backed claims count, unbacked ones only up to what they backed", () => {
  const local = 100;
  const cases: [PeerHeightView[], number[]][] = [
    [[view(100, 100), view(101, 101)], [100, 101]],
    // four liars 1,000 ahead that never showed a block: out (their backed height is genesis)
    [[view(100, 100), view(100, 100), view(1100, 0), view(1100, 0), view(1100, 0), view(1100, 0)], [100, 100]],
    // a liar that backed 99 once and now claims 1,099: counted at 99
    [[view(1099, 99)], [99]],
    // a new claim not yet backed (its block in flight): the previous backed height counts
    [[view(101, 100)], [100]],
    // far below (catching up, or claiming 0): out either way
    [[view(0, 0), view(50, 50), view(98, 98)], [98]],
    // the source of a sync that imports valid blocks: its claim counts
    [[view(500, 120, true)], [500]],
  ];
  for (const [views, want] of cases) assert.deepEqual(countedHeights(views, local, p), want, JSON.stringify(views));
});

test("liars 1,000 ahead or at 0 no longer move the snapshot: AtTip and a streak with the honest peers", () => {
  const views = [view(100, 100), view(100, 100), view(1100, 0), view(1100, 0), view(0, 0), view(0, 0)];
  let s = nextSnapshot(0, 100, "h", countedHeights(views, 100, p), p);
  for (let i = 0; i < 2; i++) s = nextSnapshot(s.eligible_streak, 100, "h", countedHeights(views, 100, p), p);
  assert.equal(s.sync_state, "AtTip");
  assert.equal(s.network_height, 100);
  assert.equal(s.ready_peers, 2);
  assert.equal(s.eligible_streak, 3);
  // only liars: no network view, never eligible
  const alone = nextSnapshot(5, 100, "h", countedHeights([view(1100, 0), view(1100, 0)], 100, p), p);
  assert.equal(alone.ready_peers, 0);
  assert.equal(alone.eligible_streak, 0);
});
