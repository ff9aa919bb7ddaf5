// Grinding is gone (docs/protocol.md §4, §5): no choice a producer makes in its block (nonce,
// timestamp, transfer order, which attestations it carries) changes who wins the next height. The
// seed reads the parent's mix (which the block's fixed reveal moves), the pool reads no recent
// block. Real LevelDB chains; the variants are scheduled as parents without being stored.
import { genesisBlock } from "../../../src/chain/spec.ts";
import { test } from "node:test";
import assert from "node:assert/strict";
import { attestOn, finalityRootOn, blockFor, makeKeys, makeSpec, openTestChain, previewRoots, revealFor, type TestKey } from "../../helpers/fixtures.ts";
import { draftHeader, sealBlock } from "../../../src/producer/blockBuilder.ts";
import { metaOf, type Chain } from "../../../src/chain/chain.ts";
import { signTransfer } from "../../../src/chain/tx.ts";
import { blockHash } from "../../../src/consensus/hashing.ts";
import { slotOpensAt } from "../../../src/consensus/timing.ts";
import type { Attestation, Block, Tx } from "../../../src/consensus/types.ts";
import type { BlockMeta } from "../../../src/storage/records.ts";

const keys = makeKeys(4);
const payers = makeKeys(3, 50);
const L = 5;
const spec = makeSpec(keys, {
  params: { block_time_ms: 2000, epoch_length: L, pool_window: 6, fallback_difficulty: 1, min_tx_fee: 1, min_account_balance: 1 },
  alloc: Object.fromEntries(payers.map((p) => [p.ebid, "1000000"])),
});

/** Winners of the child of `block` (not stored): its meta as the chain would store it. */
async function nextWinners(chain: Chain, block: Block): Promise<string> {
  const meta = metaOf(block, 0n, 0);
  return (await chain.scheduleFor(meta)).winners.join(",");
}

function permutations<T>(xs: T[]): T[][] {
  if (xs.length <= 1) return [xs];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
}

/**
 * `count` variants of the block the primary (slot 0) or, for `fallback`, an active validator would
 * make at height parent + 1: timestamps across the slot, transfer orders, attestation subsets, and
 * for the fallback also nonces. Unsigned where it does not matter (the schedule reads no signature).
 */
async function variants(chain: Chain, parent: BlockMeta, count: number, fallback: boolean): Promise<Block[]> {
  const s = await chain.scheduleFor(parent);
  const producer = fallback ? keys.find((k) => !s.winners.includes(k.ebid)) ?? keys[0]! : keys.find((k) => k.ebid === s.winners[0])!;
  const opens = slotOpensAt(parent.timestamp, fallback ? s.winners.length : 0, spec.params);
  const state = await chain.stateAt(parent, payers.map((p) => p.ebid));
  const txs: Tx[] = payers.map((p) => signTransfer(p, { chain_id: spec.chain_id, to: keys[0]!.ebid, amount: "5", fee: "1", nonce: state.get(p.ebid)?.nonce ?? 0 }));
  const orders = permutations(txs);
  const pool: Attestation[] = await Promise.all(keys.map((k) => attestOn(chain, k, parent.height, parent.hash)));
  const subsets = Array.from({ length: 1 << pool.length }, (_, m) => pool.filter((_, i) => m & (1 << i)));
  const roots = await previewRoots(chain, parent, producer.ebid, txs);
  const reveal = revealFor(chain, s, producer);
  const out: Block[] = [];
  for (let i = 0; out.length < count; i++) {
    const order = orders[i % orders.length]!;
    const attestations = subsets[Math.floor(i / orders.length) % subsets.length]!;
    const timestamp = opens + (Math.floor(i / (orders.length * subsets.length)) % spec.params.claim_timeout_ms);
    const header = draftHeader({
      parent, producer: producer.ebid, slot: fallback ? null : 0, timestamp, attestations, txs: order,
      stateRoot: roots.stateRoot, validatorsRoot: roots.validatorsRoot, finalityRoot: await finalityRootOn(chain, parent, attestations), randaoReveal: reveal,
      difficulty: fallback ? 1 : 0, nonce: fallback ? i : 0,
    });
    out.push({ hash: blockHash(header), header, signature: "", txs: order, attestations, slashings: [] });
  }
  return out;
}

/** Extends the chain by `n` primary blocks, each carrying every validator's attestation of its parent (as honest nodes attest). */
async function extend(chain: Chain, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const parent = chain.head;
    const b = await blockFor(chain, parent, keys, 0, { attestations: await Promise.all(keys.map((k) => attestOn(chain, k, parent.height, parent.hash))) });
    assert.equal((await chain.importBlock(b)).status, "imported");
  }
}

function signed(b: Block, key: TestKey): Block {
  return sealBlock(b.header, b, key.secretKey, genesisBlock(spec).hash);
}

test("grinding is gone: 10,000 variants of a block (timestamp, transfer order, attestations, nonce) give one winners(n+1), mid-epoch and at an epoch boundary", async () => {
  const c = await openTestChain(spec);
  try {
    await extend(c.chain, 2 * L + 1); // height 11: the child (12) is mid-epoch 2
    const started = performance.now();
    for (const [label, fallback, count] of [["slot block", false, 7000], ["fallback block", true, 3000]] as const) {
      const parent = c.chain.head;
      const vs = await variants(c.chain, parent, count, fallback);
      assert.equal(new Set(vs.map((v) => v.hash)).size, count, "distinct blocks");
      const outcomes = new Set<string>();
      for (const v of vs) outcomes.add(await nextWinners(c.chain, v));
      assert.equal(outcomes.size, 1, `${label}: ${outcomes.size} different schedules for height ${parent.height + 2}`);
      // the variants are real blocks: two of them, signed, import on the same parent
      const producer = keys.find((k) => k.ebid === vs[0]!.header.producer)!;
      for (const v of [vs[1]!, vs[vs.length - 1]!]) {
        if (fallback) {
          let h = v.header;
          while (!(await import("../../../src/consensus/hashing.ts")).headerMeetsPow(h)) h = { ...h, nonce: h.nonce + 1 };
          v.header = h;
        }
        assert.equal((await c.chain.importBlock(signed(v, producer))).status, "imported", label);
      }
    }
    // At an epoch boundary: n + 1 is the first height of an epoch.
    while ((c.chain.head.height + 2) % L !== 0) await extend(c.chain, 1);
    const parent = c.chain.head;
    const vs = await variants(c.chain, parent, 10_000, false);
    const outcomes = new Set<string>();
    for (const v of vs) outcomes.add(await nextWinners(c.chain, v));
    assert.equal(outcomes.size, 1, `epoch boundary: ${outcomes.size} different schedules for height ${parent.height + 2}`);
    // Generous (about 10 s on a quiet 2-core machine; a loaded one, three test processes on two
    // cores, took 23 s): the bound only catches a schedule that got costly to compute per block.
    const secs = (performance.now() - started) / 1000;
    assert.ok(secs < 90, `20,000 variants took ${secs.toFixed(1)} s`);
  } finally {
    await c.destroy();
  }
});

test("the old attack no longer works: trying 100 variants per block, the producer is the next primary no more often than its pool share", async () => {
  const c = await openTestChain(spec);
  try {
    await extend(c.chain, L);
    const heights = 40;
    let captured = 0;
    for (let i = 0; i < heights; i++) {
      const parent = c.chain.head;
      const vs = await variants(c.chain, parent, 100, false);
      const me = vs[0]!.header.producer;
      const primaries = new Set<string>();
      for (const v of vs) primaries.add((await c.chain.scheduleFor(metaOf(v, 0n, 0))).winners[0]!);
      assert.equal(primaries.size, 1, "no variant moves the next primary");
      if (primaries.has(me)) captured++;
      await extend(c.chain, 1);
    }
    // pool share 1/4: 10 of 40 expected (P(more than 20) < 0.001); under v1's block-hash seed 100
    // tries found a winning variant at nearly every height (1 - (3/4)^100)
    assert.equal((await c.chain.scheduleFor(c.chain.head)).pool.length, keys.length);
    assert.ok(captured <= heights / 2, `captured ${captured} of ${heights} next slots`);
  } finally {
    await c.destroy();
  }
});
