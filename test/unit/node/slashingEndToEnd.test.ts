// Slashing end to end (docs/protocol.md §6.5) through three real validator nodes on LevelDB and
// real P2P on 127.0.0.1, with two more validators driven by the test: one gossips a double vote
// (two FFG votes for one target height), the other signs two fallback blocks at one height and
// sends both. Every node's chain executes a slashing item against each: its record is slashed with
// bond 0, it leaves the pool at its exit epoch, and no honest validator is slashed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { VisionNode, type NodeOptions } from "../../../src/node/node.ts";
import { writeKeyFile } from "../../../src/node/keyfile.ts";
import { checkpointHeight } from "../../../src/consensus/finality.ts";
import { epochAt } from "../../../src/consensus/validators.ts";
import { attest, makeKeys, makeSpec, silentLog, tempDir } from "../../helpers/fixtures.ts";
import { handshakeClient, waitFor } from "../../helpers/net.ts";
import { junkSideBlock } from "../../helpers/junk.ts";
import { fakeHash } from "../../helpers/slashing.ts";

const keys = makeKeys(5, 70);
const [h0, h1, h2, voter, doubler] = keys as [typeof keys[0], typeof keys[0], typeof keys[0], typeof keys[0], typeof keys[0]];
const honest = [h0, h1, h2];
const spec = makeSpec(keys, {
  params: { block_time_ms: 300, claim_timeout_ms: 100, jitter_min_ms: 0, jitter_max_ms: 40, eligible_streak_required: 1, epoch_length: 4, attestation_max_age: 4, checkpoint_interval: 4, fallback_difficulty: 1 },
});
const I = spec.params.checkpoint_interval;

test("a double vote and a double block by two validators are slashed on every node; they leave the pool at their exit epoch; honest validators are not slashed", async () => {
  const dirs = honest.map(() => tempDir());
  const nodes: VisionNode[] = [];
  const clients: { ws: { terminate(): void } }[] = [];
  try {
    for (const [i, k] of honest.entries()) {
      writeKeyFile(join(dirs[i]!.dir, "node.key"), k.secretKey, k.blsSecretKey);
      const opts: NodeOptions = {
        dataDir: dirs[i]!.dir, spec, p2p: { host: "127.0.0.1", port: 0, peers: nodes.map((n) => `ws://127.0.0.1:${n.p2p.port}`) }, apiHost: "127.0.0.1", apiPort: 0, produce: true, mine: false,
      };
      nodes.push(await VisionNode.init(opts, silentLog));
    }
    const [n0] = nodes as [VisionNode];
    await waitFor(() => n0.chain.head.height >= I + 1, 20_000, `height ${I + 1}`);
    const genesis = n0.chain.genesis.hash;

    // the double vote: two votes for target height th, the head's checkpoint and another block
    const head = n0.chain.head;
    const th = checkpointHeight(head.height, I);
    const target = { height: th, hash: (await n0.chain.branchHashes(head, th)).get(th)! };
    const g = { height: 0, hash: genesis };
    const votes = [attest(voter, head.height, head.hash, { source: g, target }, genesis), attest(voter, head.height, fakeHash(9), { source: g, target: { height: th, hash: fakeHash(10) } }, genesis)];
    const c0 = await handshakeClient(`ws://127.0.0.1:${n0.p2p.port}`, voter, spec.chain_id, genesis, n0.key.ebid);
    clients.push(c0);
    for (const v of votes) c0.ws.send(JSON.stringify({ type: "attestation", attestation: v }) + "\n");

    // the double block: two fallback blocks by `doubler` on one parent, sent to every node
    const parent = n0.chain.head;
    const blocks = [await junkSideBlock(n0.chain, parent, doubler, 0), await junkSideBlock(n0.chain, parent, doubler, 1)];
    for (const n of nodes) {
      const c = await handshakeClient(`ws://127.0.0.1:${n.p2p.port}`, doubler, spec.chain_id, genesis, n.key.ebid);
      clients.push(c);
      for (const b of blocks) c.ws.send(JSON.stringify({ type: "block", block: b }) + "\n");
    }

    for (const [i, n] of nodes.entries()) {
      await waitFor(async () => {
        const r = await n.chain.registryAfter(n.chain.head);
        return r.get(voter.ebid)?.slashed && r.get(doubler.ebid)?.slashed;
      }, 20_000, `node ${i}: both offenders slashed at the head`);
      const r = await n.chain.registryAfter(n.chain.head);
      for (const k of [voter, doubler]) assert.equal(r.get(k.ebid)!.bond, 0n, `node ${i}: the offender's bond is burned`);
      for (const k of honest) assert.equal(r.get(k.ebid)!.slashed, false, `node ${i}: honest ${k.ebid.slice(0, 8)} is not slashed`);
    }
    // every node's canonical chain executed the two items
    // (counted as blocks join the canonical chain, after the import the registry read above shows)
    for (const [i, n] of nodes.entries()) {
      await waitFor(async () => ((await n.metrics.slashingsTotal.get()).values[0]?.value ?? 0) >= 2, 10_000, `node ${i}: vision_slashings_total counts both (a reorg's new branch counts again)`);
    }

    // they leave the pool at their exit epoch
    const registry = await n0.chain.registryAfter(n0.chain.head);
    const exits = [voter, doubler].map((k) => registry.get(k.ebid)!.exit_epoch!);
    const last = Math.max(...exits);
    for (const [i, n] of nodes.entries()) {
      // each node's own head (under load one may be a block behind another)
      await waitFor(() => epochAt(n.chain.head.height + 1, spec.params.epoch_length) >= last, 20_000, `node ${i}: epoch ${last}`);
      const pool = (await n.chain.scheduleFor(n.chain.head)).pool;
      assert.ok(!pool.includes(voter.ebid) && !pool.includes(doubler.ebid), "the slashed validators are out of the pool");
      assert.ok(honest.some((k) => pool.includes(k.ebid)), "honest validators remain");
    }
  } finally {
    for (const c of clients) c.ws.terminate();
    for (const n of nodes.reverse()) await n.close();
    for (const d of dirs) d.cleanup();
  }
});
