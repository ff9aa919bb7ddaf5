// The validator metrics of a real node (docs/operations.md): active and live validators for the next
// height, set from the chain at each head, and the RANDAO reveals verified counter fed by the chain's
// `revealVerified` event.
import { test } from "node:test";
import assert from "node:assert/strict";
import { VisionNode } from "../../../src/node/node.ts";
import { makeKeys, makeSpec, silentLog, tempDir } from "../../helpers/fixtures.ts";

const value = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1]);

test("vision_validators_active and _live come from the chain; vision_randao_reveals_verified_total counts the chain's verified reveals", async () => {
  const dir = tempDir();
  const spec = makeSpec(makeKeys(3));
  const node = await VisionNode.init({ dataDir: dir.dir, spec, p2p: { host: "127.0.0.1", port: 0, peers: [] }, apiHost: "127.0.0.1", apiPort: 0, produce: false, mine: false }, silentLog);
  try {
    let text = await node.metrics.registry.metrics();
    assert.equal(value(text, "vision_validators_active"), 3, "the three genesis validators are active at epoch(1)");
    assert.equal(value(text, "vision_validators_live"), 3, "and in the pool for height 1");
    node.chain.emit("revealVerified");
    node.chain.emit("revealVerified");
    text = await node.metrics.registry.metrics();
    assert.equal(value(text, "vision_randao_reveals_verified_total"), 2);
  } finally {
    await node.close();
    dir.cleanup();
  }
});

test("vision_slashing_protection_refusals_total counts the node's record's refusals by kind, from 0", async () => {
  const dir = tempDir();
  const node = await VisionNode.init({ dataDir: dir.dir, spec: makeSpec(makeKeys(3)), p2p: { host: "127.0.0.1", port: 0, peers: [] }, apiHost: "127.0.0.1", apiPort: 0, produce: false, mine: false }, silentLog);
  try {
    const count = (text: string, kind: string) => Number(new RegExp(`^vision_slashing_protection_refusals_total\\{kind="${kind}"\\} (\\S+)$`, "m").exec(text)?.[1]);
    let text = await node.metrics.registry.metrics();
    assert.deepEqual([count(text, "block"), count(text, "vote")], [0, 0]);
    assert.equal(node.protection.signBlock(2, () => "b2"), "b2");
    assert.equal(node.protection.signBlock(2, () => "again"), undefined);
    assert.equal(node.protection.signBlock(1, () => "lower"), undefined);
    text = await node.metrics.registry.metrics();
    assert.deepEqual([count(text, "block"), count(text, "vote")], [2, 0]);
  } finally {
    await node.close();
    dir.cleanup();
  }
});
