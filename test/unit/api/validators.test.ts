// GET /api/validators and /api/validators/:ebid through the real app over a real chain on LevelDB:
// genesis validators, a bond (pending) and an unbond (exiting) carried by blocks, statuses at the
// next height's epoch, pages, the activity index following new heads; P2P and the snapshot are fakes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createApi, type ApiModules } from "../../../src/api/index.ts";
import { Mempool } from "../../../src/chain/mempool.ts";
import { ClaimReceipts } from "../../../src/producer/claims.ts";
import { nextSnapshot } from "../../../src/consensus/eligibility.ts";
import { epochAt } from "../../../src/consensus/validators.ts";
import type { Chain } from "../../../src/chain/chain.ts";
import { attestOn, blockFor, extend, makeKeys, makeSpec, openTestChain } from "../../helpers/fixtures.ts";
import { bondTx, exitTx } from "../../helpers/validatorTxs.ts";

const keys = makeKeys(3);
const [k0, k1, bonder] = keys as [(typeof keys)[number], (typeof keys)[number], (typeof keys)[number]];
const spec = makeSpec([k0, k1], { alloc: { [bonder.ebid]: "100000", [k1.ebid]: "100" }, params: { block_time_ms: 2000, epoch_length: 4 } });

/** The API app over `chain`, with fakes for what these routes do not read. */
function appOver(chain: Chain, over: Partial<ApiModules> = {}) {
  const snap = nextSnapshot(chain.head.height, chain.head.height, chain.head.hash, [chain.head.height], spec.params);
  return createApi({
    mempool: new Mempool(),
    submitTx: () => Promise.reject(new Error("not in this test")),
    chain,
    p2p: { readyPeers: () => [], health: () => ({ listening: true, port: 1, ready_peers: 0, handshaking: 0, banned: 0, server_error: null, dial_failures: 0 }) },
    snapshot: { current: snap, eligible: true },
    claims: new ClaimReceipts(),
    syncer: { progress: { syncing: false, peer: null, start_height: 0, target_height: 0, imported: 0, blocks_per_s: 0 } },
    attestations: { size: 0 },
    ebid: k0.ebid,
    startedAt: Date.now(),
    mining: {
      template: () => Promise.reject(new Error("not in this test")),
      submit: () => Promise.reject(new Error("not in this test")),
      settings: { configDifficulty: 0, difficultyOverride: null, minDifficulty: 0, delayMs: 0, setOverride: () => undefined, checkToken: () => false },
      refreshConfig: () => ({}),
      workers: 1,
      totalHashes: () => 0,
    },
    ...over,
  });
}

// The last canonical height produced by / carrying an attestation of `ebid`, read from the chain.
async function lastActivity(chain: Chain, ebid: string): Promise<{ last_produced: number | null; last_attested: number | null }> {
  let produced: number | null = null;
  let attested: number | null = null;
  for (let h = chain.head.height; h >= 1; h--) {
    const m = (await chain.getCanonicalMeta(h))!;
    if (produced === null && m.producer === ebid) produced = h;
    if (attested === null && m.attesters.includes(ebid)) attested = h;
  }
  return { last_produced: produced, last_attested: attested };
}

test("GET /api/validators: records with status at the next epoch, bond, epochs, pool and activity; pages; one by EBID; this node's in /api/status and the live view", async () => {
  const c = await openTestChain(spec);
  try {
    const b = await extend(c.chain, keys, 2);
    const app = appOver(c.chain);
    // The index follows the head from here: later blocks show up in the activity.
    assert.equal((await app.request("/api/validators")).status, 200);
    const withAttestation = await blockFor(c.chain, c.chain.head, keys, 0, { attestations: [await attestOn(c.chain, k1, 2, b[1]!.hash)], txs: [bondTx(bonder, spec.chain_id, 0)] });
    assert.equal((await c.chain.importBlock(withAttestation)).status, "imported");
    const unbond = await blockFor(c.chain, c.chain.head, keys, 0, { txs: [exitTx("unbond", k1, spec.chain_id, 0)] });
    assert.equal((await c.chain.importBlock(unbond)).status, "imported");
    await extend(c.chain, keys, 1);

    const res = await app.request("/api/validators");
    assert.equal(res.status, 200);
    const body = await res.json();
    const head = c.chain.head;
    const p = c.chain.spec.params;
    const next = epochAt(head.height + 1, p.epoch_length);
    assert.deepEqual([body.height, body.epoch, body.next_epoch, body.epoch_length], [head.height, epochAt(head.height, p.epoch_length), next, p.epoch_length]);
    const registry = await c.chain.registryAfter(head);
    const pool = (await c.chain.scheduleFor(head)).pool;
    assert.deepEqual(body.validators.map((v: { ebid: string }) => v.ebid), registry.all().map((r) => r.ebid), "every record, ascending by EBID");
    const byEbid = new Map(body.validators.map((v: { ebid: string }) => [v.ebid, v]));
    for (const r of registry.all()) {
      const v = byEbid.get(r.ebid) as Record<string, unknown>;
      assert.deepEqual(v, {
        ebid: r.ebid,
        bls_pubkey: r.bls_pubkey,
        bond: r.bond.toString(),
        status: v.status,
        activation_epoch: r.activation_epoch,
        exit_epoch: r.exit_epoch,
        withdrawable_epoch: r.exit_epoch === null ? null : r.exit_epoch + p.unbonding_epochs,
        slashed: r.slashed,
        in_pool: pool.includes(r.ebid),
        ...(await lastActivity(c.chain, r.ebid)),
      });
    }
    const bonded = byEbid.get(bonder.ebid) as Record<string, unknown>;
    assert.equal(bonded.status, "pending", "bonded this epoch: pending until activation_delay_epochs later");
    assert.ok((bonded.activation_epoch as number) > next);
    assert.equal((byEbid.get(k1.ebid) as Record<string, unknown>).status, "exiting", "unbonded: active until its exit epoch");
    assert.equal((byEbid.get(k0.ebid) as Record<string, unknown>).status, "active");
    assert.notEqual((byEbid.get(k1.ebid) as Record<string, unknown>).last_attested, null, "its attestation was carried");
    const live = body.validators.filter((v: { in_pool: boolean }) => v.in_pool).length;
    assert.deepEqual(body.counts, { total: 3, active: 1, pending: 1, exiting: 1, exited: 0, withdrawable: 0, live });

    // Pages of one walk the whole set with no gap or duplicate; the counts stay the whole set's.
    const seen: string[] = [];
    for (let from: number | null = 0; from !== null; ) {
      const page = await (await app.request(`/api/validators?from=${from}&limit=1`)).json();
      assert.ok(page.validators.length <= 1);
      assert.equal(page.counts.total, 3);
      seen.push(...page.validators.map((v: { ebid: string }) => v.ebid));
      from = page.next_from;
    }
    assert.deepEqual(seen, body.validators.map((v: { ebid: string }) => v.ebid));
    assert.equal((await app.request("/api/validators?limit=0")).status, 400);
    assert.equal((await app.request("/api/validators?epoch=1")).status, 400);

    const one = await (await app.request(`/api/validators/${bonder.ebid}`)).json();
    assert.deepEqual(one, { height: head.height, epoch: body.epoch, next_epoch: next, epoch_length: p.epoch_length, validator: bonded });
    const unknown = await app.request(`/api/validators/${"ab".repeat(32)}`);
    assert.equal(unknown.status, 404);
    assert.equal((await unknown.json()).error, "not_found");
    assert.equal((await app.request("/api/validators/xyz")).status, 400);

    // This node's own record in /api/status and in the live view (null when it has none).
    for (const [ebid, expected] of [[bonder.ebid, bonded], [k0.ebid, byEbid.get(k0.ebid)], ["cd".repeat(32), null]] as const) {
      const own = appOver(c.chain, { ebid });
      assert.deepEqual((await (await own.request("/api/status")).json()).validator, expected, ebid);
      const view = await (await own.request("/api/mining/stream")).json();
      assert.deepEqual(view.validators, { height: head.height, epoch: body.epoch, next_epoch: next, epoch_length: p.epoch_length, counts: body.counts, list: body.validators, me: expected });
    }
  } finally {
    await c.destroy();
  }
});

test("the activity index follows the canonical chain through reorgs and keeps what left its window", async () => {
  const c = await openTestChain(spec);
  try {
    await extend(c.chain, keys, 2);
    const { ValidatorActivity } = await import("../../../src/api/validators.ts");
    const small = new ValidatorActivity(c.chain, 2); // the last 2 heights block by block, older ones summed up
    const large = new ValidatorActivity(c.chain, 100);
    const fork = (await c.chain.getCanonicalMeta(1))!;
    const b = await extend(c.chain, keys, 2);
    const withAttestation = await blockFor(c.chain, c.chain.head, keys, 0, { attestations: [await attestOn(c.chain, k1, b[1]!.header.height, b[1]!.hash)] });
    await c.chain.importBlock(withAttestation);
    await Promise.all([small.settled(), large.settled()]);
    for (const k of [k0, k1]) {
      assert.deepEqual(small.of(k.ebid), await lastActivity(c.chain, k.ebid), `before the reorg, small window: ${k.ebid}`);
      assert.deepEqual(large.of(k.ebid), await lastActivity(c.chain, k.ebid), `before the reorg: ${k.ebid}`);
    }

    // A heavier branch from height 1 made of backup blocks (weight 1 each, against 2 a primary):
    // a reorg whose blocks replace the indexed ones, deeper than the small window.
    let parent = fork;
    for (let i = 0; i < 10; i++) {
      // both validators attest on it, so both stay live in its pools whoever its seeds make produce
      const attestations = await Promise.all([k0, k1].map((k) => attestOn(c.chain, k, parent.height, parent.hash)));
      const blk = await blockFor(c.chain, parent, keys, 1, { attestations });
      await c.chain.importBlock(blk);
      parent = (await c.chain.getMeta(blk.hash))!;
    }
    assert.equal(c.chain.head.hash, parent.hash, "the branch won fork choice");
    await Promise.all([small.settled(), large.settled()]);
    for (const k of [k0, k1]) {
      assert.deepEqual(large.of(k.ebid), await lastActivity(c.chain, k.ebid), `after the reorg: ${k.ebid}`);
      // Deeper than its window: only the window's blocks count, never the orphaned branch's.
      const all = await lastActivity(c.chain, k.ebid);
      const inWindow = (h: number | null) => (h !== null && h > c.chain.head.height - 2 ? h : null);
      assert.deepEqual(small.of(k.ebid), { last_produced: inWindow(all.last_produced), last_attested: inWindow(all.last_attested) }, `after the reorg, small window: ${k.ebid}`);
    }
    small.close();
    large.close();
  } finally {
    await c.destroy();
  }
});
