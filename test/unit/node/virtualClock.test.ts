// A node on an injected VirtualClock, in-process over real sockets and LevelDB: the heartbeat,
// the eligibility snapshot and the peers' liveness follow virtual time only (a real second moves
// nothing; one virtual second does).
import { test } from "node:test";
import assert from "node:assert/strict";
import { VisionNode, type NodeOptions } from "../../../src/node/node.ts";
import { VirtualClock, seededRng, settle } from "../../../src/util/clock.ts";
import { GENESIS_TS, makeKeys, makeSpec, silentLog, tempDir } from "../../helpers/fixtures.ts";
import { waitFor } from "../../helpers/net.ts";

const keys = makeKeys(2);
const spec = makeSpec(keys);

test("two nodes on one VirtualClock: the snapshot counts the peer only once virtual time moves a heartbeat on", async () => {
  const clock = new VirtualClock(GENESIS_TS + 1_000_000);
  const dirs = [tempDir(), tempDir()];
  const opts = (dataDir: string, peers: string[] = []): NodeOptions => ({
    dataDir, spec, p2p: { host: "127.0.0.1", port: 0, peers }, apiHost: "127.0.0.1", apiPort: 0, produce: false, mine: false, clock, rng: seededRng(1),
  });
  const a = await VisionNode.init(opts(dirs[0]!.dir), silentLog);
  let b: VisionNode | undefined;
  try {
    b = await VisionNode.init(opts(dirs[1]!.dir, [`ws://127.0.0.1:${a.p2p.port}`]), silentLog);
    const peer = await waitFor(() => b!.p2p.readyPeers()[0], 5000, "B connected to A");
    assert.equal(peer.connectedAt, clock.now(), "the peer's times are the node's clock");
    await new Promise((r) => setTimeout(r, 1_200)); // a real second and more: no timer of the node runs on it
    assert.equal(b.snapshot.current.ready_peers, 0, "no snapshot tick without virtual time");
    clock.advance(1_000);
    await settle();
    assert.equal(b.snapshot.current.ready_peers, 1, "one virtual second: the snapshot counts A");
    assert.equal(a.snapshot.current.ready_peers, 1);
  } finally {
    await b?.close();
    await a.close();
    for (const d of dirs) d.cleanup();
  }
});
