// Votes through slashing protection (docs/protocol.md §6.6) in the real node on LevelDB and real
// P2P: a validator whose record says it voted for a far target (as a copy of its key running
// elsewhere would have) signs no vote past interval 0's genesis vote, counts the refusals, and
// the blocks carry none of its votes; its record is not lowered.
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { VisionNode, type NodeOptions } from "../../../src/node/node.ts";
import { writeKeyFile } from "../../../src/node/keyfile.ts";
import { PROTECTION_FILE } from "../../../src/node/slashingProtection.ts";
import { makeKeys, makeSpec, silentLog, tempDir } from "../../helpers/fixtures.ts";
import { waitFor } from "../../helpers/net.ts";

const [validator] = makeKeys(1, 61);
const spec = makeSpec([validator!], { params: { block_time_ms: 300, claim_timeout_ms: 100, jitter_min_ms: 0, jitter_max_ms: 40, eligible_streak_required: 1, attestation_max_age: 4, checkpoint_interval: 4 } });
const I = spec.params.checkpoint_interval;

test("a validator whose protection record holds a later vote signs no conflicting vote: refused, counted, absent from the blocks", async () => {
  const [a, b] = [tempDir(), tempDir()];
  writeKeyFile(join(a.dir, "node.key"), validator!.secretKey, validator!.blsSecretKey);
  const far = 1_000_000;
  writeFileSync(join(a.dir, PROTECTION_FILE), JSON.stringify({ ebid: validator!.ebid, max_block_height: 0, max_source_height: far - I, max_target_height: far, target: null }));
  const options = (dataDir: string, peers: string[], produce: boolean): NodeOptions => ({
    dataDir, spec, p2p: { host: "127.0.0.1", port: 0, peers }, apiHost: "127.0.0.1", apiPort: 0, produce, mine: false,
  });
  const peer = await VisionNode.init(options(b.dir, [], false), silentLog);
  let node: VisionNode | undefined;
  try {
    node = await VisionNode.init(options(a.dir, [`ws://127.0.0.1:${peer.p2p.port}`], true), silentLog);
    const refused = async () => (await node!.metrics.slashingProtectionRefusals.get()).values.find((v) => v.labels.kind === "vote")?.value ?? 0;
    await waitFor(async () => (await refused()) > 0 && peer.chain.head.height >= I + 2, 20_000, "vote refusals counted, and two blocks past the first checkpoint at the peer");
    for (const hash of (await peer.chain.branchHashes(peer.chain.head, 1)).values()) {
      const block = (await peer.chain.getBlock(hash))!;
      for (const v of block.attestations) assert.equal(v.target_height, 0, `block ${block.header.height} carries a vote for target ${v.target_height}`);
    }
    assert.equal(node.protection.record.max_target_height, far, "the record is not lowered");
  } finally {
    await node?.close();
    await peer.close();
    for (const t of [a, b]) t.cleanup();
  }
});
