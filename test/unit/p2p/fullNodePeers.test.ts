// Discovery through a full node (docs/protocol.md §9.4), found by the simulator: a node at its peer
// limit refuses an inbound peer (`too many peers`), but first sends it a sample of its peers'
// addresses, so a newcomer that dials only full bootnodes still learns where to go. Three
// PeerManagers over real WebSockets on 127.0.0.1.
import { test } from "node:test";
import assert from "node:assert/strict";
import { makeKeys } from "../../helpers/fixtures.ts";
import { waitFor } from "../../helpers/net.ts";
import { FULL_PEERS_SAMPLE } from "../../../src/p2p/peerManager.ts";
import { handshake, manager, sleep } from "./attackKit.ts";

const keys = makeKeys(4);

test("a full node sends a refused newcomer its peers' addresses before closing; the newcomer dials one and connects", async () => {
  const other = manager(keys[0]!);
  await other.start();
  // maxPeers 1: its own dial of `other` fills it, so every inbound peer is refused.
  const full = manager(keys[1]!, { maxPeers: 1, peers: [`ws://127.0.0.1:${other.port}`] });
  await full.start();
  await waitFor(() => full.readyPeers().length === 1, 3000, "the full node reached the other");
  const newcomer = manager(keys[2]!, { peers: [`ws://127.0.0.1:${full.port}`] });
  try {
    // What the refused peer is told, on the wire.
    const raw = await handshake(`ws://127.0.0.1:${full.port}`, keys[3]!, keys[1]!.ebid);
    const closed = await raw.closed;
    assert.equal(closed.reason, "too many peers");
    const peers = raw.lines.map((l) => JSON.parse(l) as { type: string; peers?: string[] }).find((m) => m.type === "peers");
    assert.deepEqual(peers?.peers, [`ws://127.0.0.1:${other.port}`], "the sample came before the close");

    await newcomer.start();
    await waitFor(() => newcomer.readyPeers().some((p) => p.ebid === keys[0]!.ebid), 5000, "the newcomer reached the other node through the full one");
    assert.ok(!newcomer.readyPeers().some((p) => p.ebid === keys[1]!.ebid), "the full node still refuses it");
  } finally {
    await newcomer.stop();
    await full.stop();
    await other.stop();
  }
});

test("the sample a full node sends is bounded (FULL_PEERS_SAMPLE) and drawn at random", async () => {
  const n = FULL_PEERS_SAMPLE + 8;
  const others = Array.from({ length: n }, (_, i) => manager(makeKeys(1, 100 + i)[0]!));
  for (const o of others) await o.start();
  const full = manager(keys[1]!, { maxPeers: n, peers: others.map((o) => `ws://127.0.0.1:${o.port}`) });
  await full.start();
  try {
    await waitFor(() => full.readyPeers().length === n, 10_000, "the full node reached every other");
    const samples: string[][] = [];
    for (let i = 0; i < 2; i++) {
      const raw = await handshake(`ws://127.0.0.1:${full.port}`, makeKeys(1, 200 + i)[0]!, keys[1]!.ebid);
      await raw.closed;
      samples.push(raw.lines.map((l) => JSON.parse(l) as { type: string; peers?: string[] }).find((m) => m.type === "peers")!.peers!);
      await sleep(10);
    }
    for (const s of samples) {
      assert.equal(s.length, FULL_PEERS_SAMPLE);
      assert.equal(new Set(s).size, s.length);
    }
    assert.notDeepEqual(samples[0], samples[1], "two newcomers get different samples");
  } finally {
    await full.stop();
    for (const o of others) await o.stop();
  }
});
