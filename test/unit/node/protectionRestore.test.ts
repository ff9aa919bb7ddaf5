// Slashing protection through the real node (docs/protocol.md §6.6), on real LevelDB and real P2P
// on 127.0.0.1: a validator runs, its data dir is copied, it runs on and signs more blocks, then the
// old copy is restored and the node restarted. Syncing from a peer that holds the later blocks, the
// node sees its own blocks there (the observe path) and raises its record over them before it
// produces again: no height gets a second block from its key (no equivocation evidence anywhere,
// every block it produces after the restore is above what it signed before). Its votes too: after
// the restore it signs none until its head crosses the next checkpoint (the doppelganger wait), and
// none of its votes conflicts with one it signed before (no `votes` evidence at the peer).
import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { VisionNode, type NodeOptions } from "../../../src/node/node.ts";
import { writeKeyFile } from "../../../src/node/keyfile.ts";
import { PROTECTION_FILE } from "../../../src/node/slashingProtection.ts";
import { makeKeys, makeSpec, silentLog, tempDir } from "../../helpers/fixtures.ts";
import { waitFor } from "../../helpers/net.ts";
import { votesConflict, type Vote } from "../../../src/consensus/slashing.ts";

const [validator] = makeKeys(1, 60);
const spec = makeSpec([validator!], { params: { block_time_ms: 300, claim_timeout_ms: 100, jitter_min_ms: 0, jitter_max_ms: 40, eligible_streak_required: 1, attestation_max_age: 4, checkpoint_interval: 4 } });
const I = spec.params.checkpoint_interval;
const recordOnDisk = (dir: string) => JSON.parse(readFileSync(join(dir, PROTECTION_FILE), "utf8")) as { max_block_height: number };

test("a validator restarted on an old copy of its data dir never signs a second block at a height it signed, nor a conflicting vote: the sync shows it its own blocks first", async () => {
  const [a, b, copy] = [tempDir(), tempDir(), tempDir()];
  writeKeyFile(join(a.dir, "node.key"), validator!.secretKey, validator!.blsSecretKey);
  const options = (dataDir: string, peers: string[], produce: boolean): NodeOptions => ({
    dataDir, spec, p2p: { host: "127.0.0.1", port: 0, peers }, apiHost: "127.0.0.1", apiPort: 0, produce, mine: false,
  });
  const peer = await VisionNode.init(options(b.dir, [], false), silentLog);
  const peers = [`ws://127.0.0.1:${peer.p2p.port}`];
  let node: VisionNode | undefined;
  try {
    node = await VisionNode.init(options(a.dir, peers, true), silentLog);
    await waitFor(() => peer.chain.head.height >= 3, 20_000, "three blocks at the peer");
    await node.close();
    cpSync(a.dir, copy.dir, { recursive: true }); // the operator's backup
    const copied = recordOnDisk(copy.dir).max_block_height;
    assert.ok(copied >= 3, `the copy's record covers its blocks (${copied})`);

    node = await VisionNode.init(options(a.dir, peers, true), silentLog);
    await waitFor(() => node!.chain.head.height >= copied + 4 && node!.protection.record.max_target_height > 0, 30_000, "four more blocks and a vote past interval 0");
    await node.close();
    const signed = recordOnDisk(a.dir).max_block_height;
    await waitFor(() => peer.chain.head.height >= signed, 10_000, "the peer holds every block the validator signed");

    rmSync(a.dir, { recursive: true, force: true });
    cpSync(copy.dir, a.dir, { recursive: true }); // the old copy restored
    assert.equal(recordOnDisk(a.dir).max_block_height, copied);
    node = await VisionNode.init(options(a.dir, peers, true), silentLog);
    await waitFor(() => node!.protection.record.max_block_height >= signed, 20_000, "the record raised over the synced own blocks");
    for (let h = copied + 1; h <= signed; h++) assert.equal(node.protection.mayProposeBlock(h), false, `height ${h} is covered`);
    await waitFor(() => node!.chain.head.height >= signed + 2 && node!.producer!.stats.produced >= 2, 20_000, "production resumed above");
    for (const r of node.claims.records()) if (r.outcome === "produced") assert.ok(r.height > signed, `produced ${r.height} after the restore, above ${signed}`);
    await waitFor(() => peer.chain.head.height >= signed + 2, 10_000, "the peer follows");
    assert.deepEqual(await peer.chain.listEvidence(), [], "no equivocation evidence at the peer");
    assert.deepEqual(await node.chain.listEvidence(), [], "none at the validator");
    assert.ok(recordOnDisk(a.dir).max_block_height >= signed + 2, "the record on disk follows what it signs");

    // votes: none for heads between the restore and the next checkpoint, none conflicting, no evidence
    const boundary = (Math.floor(signed / I) + 1) * I; // the node's is at or above it (fixed when it first counts as synced)
    await waitFor(() => node!.protection.armed, 30_000, "armed again");
    const armedAt = node.chain.head.height;
    await waitFor(() => peer.chain.head.height >= armedAt + 2, 20_000, "the peer holds a block with its vote");
    const votes: Vote[] = [];
    for (const hash of (await peer.chain.branchHashes(peer.chain.head, 1)).values()) {
      for (const v of (await peer.chain.getBlock(hash))!.attestations) if (v.ebid === validator!.ebid) votes.push(v);
    }
    assert.ok(votes.some((v) => v.height >= boundary), "it votes again from the checkpoint on");
    for (const v of votes) assert.ok(v.height <= signed || v.height >= boundary, `no vote for head ${v.height} during the doppelganger wait (${signed} .. ${boundary})`);
    for (const [i, x] of votes.entries()) for (const y of votes.slice(i + 1)) assert.equal(votesConflict(x, y), null, `votes for heads ${x.height} and ${y.height} conflict`);
    assert.equal(peer.evidence.size, 0, "no votes evidence at the peer");
  } finally {
    await node?.close();
    await peer.close();
    for (const t of [a, b, copy]) t.cleanup();
  }
});
