// Doppelganger detection through a real node (docs/protocol.md §6.6), on real LevelDB and real P2P
// on 127.0.0.1: validator P (key K2) produces beside a watcher; another instance of key K votes on every head P makes
// (the test signs them, one FFG vote per target as slashing protection would, and P gossips them and
// carries them in its blocks). A node Y started with key K on a fresh data dir (an operator moving a
// validator without stopping the old one), with --doppelganger-detection, sees K's votes with targets above the checkpoint it
// watched once synced: it keeps its own votes off for as long as they come, says so in /api/status
// and /metrics, and arms only after they stopped and a full checkpoint interval passed without one.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { VisionNode, type NodeOptions } from "../../../src/node/node.ts";
import { writeKeyFile } from "../../../src/node/keyfile.ts";
import { attestOn, makeKeys, makeSpec, silentLog, tempDir } from "../../helpers/fixtures.ts";
import { waitFor } from "../../helpers/net.ts";
import type { Attestation } from "../../../src/consensus/types.ts";
import type { HeadEvent } from "../../../src/chain/chain.ts";

const [k, k2, k3] = makeKeys(3, 80);
const spec = makeSpec([k!, k2!], { params: { block_time_ms: 300, claim_timeout_ms: 100, jitter_min_ms: 0, jitter_max_ms: 40, eligible_streak_required: 1, attestation_max_age: 4, checkpoint_interval: 4 } });
const I = spec.params.checkpoint_interval;

test("a node whose key votes elsewhere after it started never arms its votes while those votes come, shows it, and arms a checkpoint interval after they stop", async () => {
  const [p, w, y] = [tempDir(), tempDir(), tempDir()];
  writeKeyFile(join(p.dir, "node.key"), k2!.secretKey, k2!.blsSecretKey);
  writeKeyFile(join(w.dir, "node.key"), k3!.secretKey, k3!.blsSecretKey);
  writeKeyFile(join(y.dir, "node.key"), k!.secretKey, k!.blsSecretKey);
  const options = (dataDir: string, peers: string[], produce: boolean): NodeOptions => ({
    dataDir, spec, p2p: { host: "127.0.0.1", port: 0, peers }, apiHost: "127.0.0.1", apiPort: 0, produce, mine: false,
  });
  const peer = await VisionNode.init(options(p.dir, [], true), silentLog);
  // a watcher (no key in the set): a producer needs a peer to count as synced (§6.1)
  const watcher = await VisionNode.init(options(w.dir, [`ws://127.0.0.1:${peer.p2p.port}`], false), silentLog);
  // The other instance of K: a vote for each of P's heads, the first source of a target kept for it.
  let signing = true;
  let lastTarget = 0;
  const sources = new Map<string, { height: number; hash: string }>();
  const onHead = (e: HeadEvent) => {
    if (!signing) return;
    void attestOn(peer.chain, k!, e.head.height, e.head.hash).then((vote: Attestation) => {
      if (!signing) return;
      const key = `${vote.target_height}:${vote.target_hash}`;
      const source = sources.get(key) ?? { height: vote.source_height, hash: vote.source_hash };
      if (source.height !== vote.source_height || source.hash !== vote.source_hash) return; // a double vote: its protection would refuse it
      sources.set(key, source);
      lastTarget = Math.max(lastTarget, vote.target_height);
      peer.attestations.add(vote);
      peer.p2p.broadcast({ type: "attestation", attestation: vote });
    }, () => undefined);
  };
  peer.chain.on("head", onHead);
  let dup: VisionNode | undefined;
  try {
    await waitFor(() => lastTarget >= I, 20_000, "the other instance votes past interval 0");
    dup = await VisionNode.init({ ...options(y.dir, [`ws://127.0.0.1:${peer.p2p.port}`], false), doppelgangerDetection: true }, silentLog);
    const node = dup;
    await waitFor(() => node.protection.armsAt !== undefined || node.protection.armed, 20_000, "the second instance synced");
    const watchedAt = node.chain.head.height;
    // Three checkpoint intervals with the other instance voting: never armed, flagged.
    await waitFor(() => node.chain.head.height >= watchedAt + 3 * I + 1, 30_000, "three intervals later");
    assert.equal(node.protection.armed, false, "no votes while another instance of the key votes");
    assert.equal(node.protection.doppelganger, true, "the other instance was seen");
    const status = (await (await fetch(`http://127.0.0.1:${node.apiPort}/api/status`)).json()) as { slashing_protection: { until_height: number } };
    const { until_height, ...flags } = status.slashing_protection;
    assert.deepEqual(flags, { armed: false, doppelganger: true });
    // (W rises with each target the other instance votes for: the figure is read, not matched)
    assert.ok(until_height > node.chain.head.height - I, `it waits past the other instance's latest target (until ${until_height})`);
    const metrics = await (await fetch(`http://127.0.0.1:${node.apiPort}/metrics`)).text();
    assert.match(metrics, /^vision_doppelganger 1$/m);

    // The other instance stops: a clean checkpoint interval later the node arms.
    signing = false;
    await waitFor(() => node.protection.armed, 30_000, "armed after the other instance stopped");
    // its last vote covers heads up to lastTarget + I - 1: arming needs the interval after them
    assert.ok(node.chain.head.height >= lastTarget + I, `armed at ${node.chain.head.height}, after the other instance's last target ${lastTarget} and a full interval`);
    assert.equal(node.protection.doppelganger, false);
  } finally {
    signing = false;
    await dup?.close();
    await watcher.close();
    await peer.close();
    for (const t of [p, w, y]) t.cleanup();
  }
});
