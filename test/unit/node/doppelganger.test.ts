// Doppelganger detection through real nodes (docs/protocol.md §6.6), on real LevelDB and real P2P on
// 127.0.0.1: validator X runs with key K beside a validator P (key K2); a second node Y is started
// with the same key K on a fresh data dir (an operator moving a validator without stopping the old
// one), behind a relay R (a peer keeps one connection per EBID: X and Y meet no common peer).
// Y sees K's new votes (gossip and blocks) with targets above the checkpoint it watched once synced:
// it keeps its votes off for as long as X runs, says so in /api/status and /metrics, and arms only
// after X stopped and a full checkpoint interval passed without another such vote.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { VisionNode, type NodeOptions } from "../../../src/node/node.ts";
import { writeKeyFile } from "../../../src/node/keyfile.ts";
import { makeKeys, makeSpec, silentLog, tempDir } from "../../helpers/fixtures.ts";
import { waitFor } from "../../helpers/net.ts";

const [k, k2, k3] = makeKeys(3, 80);
const spec = makeSpec([k!, k2!], { params: { block_time_ms: 300, claim_timeout_ms: 100, jitter_min_ms: 0, jitter_max_ms: 40, eligible_streak_required: 1, attestation_max_age: 4, checkpoint_interval: 4 } });
const I = spec.params.checkpoint_interval;

test("a second instance of a validator key never arms its votes while the first one runs, shows it, and arms a checkpoint interval after the first stops", async () => {
  const [p, r, x, y] = [tempDir(), tempDir(), tempDir(), tempDir()];
  writeKeyFile(join(p.dir, "node.key"), k2!.secretKey, k2!.blsSecretKey);
  writeKeyFile(join(r.dir, "node.key"), k3!.secretKey, k3!.blsSecretKey);
  writeKeyFile(join(x.dir, "node.key"), k!.secretKey, k!.blsSecretKey);
  writeKeyFile(join(y.dir, "node.key"), k!.secretKey, k!.blsSecretKey);
  const options = (dataDir: string, peers: string[], produce: boolean): NodeOptions => ({
    dataDir, spec, p2p: { host: "127.0.0.1", port: 0, peers }, apiHost: "127.0.0.1", apiPort: 0, produce, mine: false,
  });
  const peer = await VisionNode.init(options(p.dir, [], true), silentLog);
  const peers = [`ws://127.0.0.1:${peer.p2p.port}`];
  const relay = await VisionNode.init(options(r.dir, peers, false), silentLog);
  let first: VisionNode | undefined;
  let second: VisionNode | undefined;
  try {
    first = await VisionNode.init(options(x.dir, peers, true), silentLog);
    await waitFor(() => first!.protection.armed && first!.protection.record.max_target_height >= I, 30_000, "the first instance votes past interval 0");
    // The second instance: not producing (two producers of one key would sign blocks at one height).
    second = await VisionNode.init(options(y.dir, [`ws://127.0.0.1:${relay.p2p.port}`], false), silentLog);
    const dup = second;
    await waitFor(() => dup.protection.armsAt !== undefined || dup.protection.armed, 20_000, "the second instance synced");
    const watchedAt = dup.chain.head.height;
    // Three checkpoint intervals with the first instance voting: never armed, flagged.
    await waitFor(() => dup.chain.head.height >= watchedAt + 3 * I + 1, 30_000, "three intervals later");
    assert.equal(dup.protection.armed, false, "no votes while another instance of the key votes");
    assert.equal(dup.protection.doppelganger, true, "the other instance was seen");
    const status = (await (await fetch(`http://127.0.0.1:${dup.apiPort}/api/status`)).json()) as { slashing_protection: unknown };
    assert.deepEqual(status.slashing_protection, { armed: false, doppelganger: true });
    const metrics = await (await fetch(`http://127.0.0.1:${dup.apiPort}/metrics`)).text();
    assert.match(metrics, /^vision_doppelganger 1$/m);

    // The first instance stops: one clean checkpoint interval later the second arms.
    await first.close();
    const lastTarget = first.protection.record.max_target_height; // the last vote it signed
    first = undefined;
    await waitFor(() => dup.protection.armed, 30_000, "armed after the other instance stopped");
    // its last vote covers heads up to lastTarget + I - 1: arming needs the interval after them
    assert.ok(dup.chain.head.height >= lastTarget + I, `armed at ${dup.chain.head.height}, after the other instance's last target ${lastTarget} and a full interval`);
    assert.equal(dup.protection.doppelganger, false);
  } finally {
    await first?.close();
    await second?.close();
    await relay.close();
    await peer.close();
    for (const t of [p, r, x, y]) t.cleanup();
  }
});
