// A peer's claimed and backed heights (docs/protocol.md §6.1), over a real WebSocket: hello and
// status only claim; the backing clock starts at the first claim above the backed height and a
// higher claim does not restart it; backing the claim stops the clock and lifts an ignore.
import { test } from "node:test";
import assert from "node:assert/strict";
import { makeKeys } from "../../helpers/fixtures.ts";
import { waitFor } from "../../helpers/net.ts";
import { handshake, manager, sleep } from "./attackKit.ts";

const [me, liar] = makeKeys(2) as [ReturnType<typeof makeKeys>[number], ReturnType<typeof makeKeys>[number]];

test("hello and status claim; back() backs; an ignored peer is usable only up to what it backed", async () => {
  const a = manager(me);
  await a.start();
  try {
    const c = await handshake(`ws://127.0.0.1:${a.port}`, liar, me.ebid, { hello: { height: 50, tip_hash: "ab".repeat(32) } });
    const p = await waitFor(() => a.readyPeers()[0], 3000, "ready");
    assert.equal(p.height, 50);
    assert.equal(p.tipHash, "ab".repeat(32));
    assert.equal(p.backedHeight, 0, "a hello backs nothing but genesis");
    const since = p.claimSince;
    assert.ok(since !== undefined, "a claim above the backed height starts the clock");

    await sleep(20);
    c.send({ type: "status", height: 60, tip_hash: "cd".repeat(32) });
    await waitFor(() => p.height === 60, 3000, "status claim");
    assert.equal(p.claimSince, since, "a higher claim does not restart the clock");
    p.back(55);
    assert.equal(p.backedHeight, 55);
    assert.equal(p.claimSince, since, "backed in part: still pending");
    p.back(60);
    assert.equal(p.claimSince, undefined, "backed in full");

    c.send({ type: "status", height: 1060, tip_hash: "ef".repeat(32) });
    await waitFor(() => p.height === 1060, 3000, "a new claim");
    assert.ok(p.claimSince !== undefined && p.claimSince >= since);
    assert.equal(p.usableHeight, 1060);
    p.claimsIgnored = true; // what the syncer does when the claim times out
    assert.equal(p.usableHeight, 60, "an ignored peer is good only for what it backed");
    p.back(1060);
    assert.equal(p.claimsIgnored, false, "backing the claim lifts the ignore");
    assert.equal(p.strikes, 0, "claims alone are no strike: the syncer decides after the timeout");
  } finally {
    await a.stop();
  }
});
