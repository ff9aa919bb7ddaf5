// Costs of hostile but well-formed input at the chain, over real LevelDB: equivocation evidence
// written per block (linear bytes), and the expected pow difficulty of a long chain opened fresh
// (no recursion down to genesis), the bounds of the held set, and of the blocks waiting for import.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { makeKeys, makeSpec, openTestChain, previewRoots, silentLog, tempDir } from "../../helpers/fixtures.ts";
import { draftHeader, sealBlock } from "../../../src/producer/blockBuilder.ts";
import { expectedDifficulty, headerMeetsPow } from "../../../src/consensus/index.ts";
import { ChainDb } from "../../../src/storage/chainDb.ts";
import { Chain, MAX_QUEUED_BLOCK_ITEMS } from "../../../src/chain/chain.ts";
import { junkOrphan, transfers } from "../../helpers/junk.ts";
import { genesisBlock } from "../../../src/chain/spec.ts";
import { BlockError } from "../../../src/chain/errors.ts";
import type { BlockMeta, ChainWrite } from "../../../src/storage/records.ts";
import type { Header } from "../../../src/consensus/types.ts";
import { genesisFinality } from "../../../src/consensus/finality.ts";

function mine(h: Header): Header {
  for (let nonce = 0; ; nonce++) {
    const x = { ...h, nonce };
    if (headerMeetsPow(x)) return x;
  }
}

test("equivocation evidence for k blocks by one producer at one height grows linearly in bytes written", async () => {
  // An empty pool: anyone may publish a fallback block at once, so one key can sign many at height 1.
  const keys = makeKeys(1);
  const spec = makeSpec([], { params: { block_time_ms: 1000, fallback_difficulty: 1 } });
  const c = await openTestChain(spec);
  try {
    let evidenceBytes = 0;
    const write = c.db.write.bind(c.db);
    c.db.write = (writes: ChainWrite[]) => {
      for (const w of writes) if (w.kind === "evidence") evidenceBytes += JSON.stringify(w).length;
      return write(writes);
    };
    const parent = c.chain.head;
    const { stateRoot, validatorsRoot, finalityRoot } = await previewRoots(c.chain, parent, keys[0]!.ebid, []);
    const bytesAfter: number[] = [];
    const k = 80;
    for (let i = 0; i < k; i++) {
      const h = mine(draftHeader({ parent, producer: keys[0]!.ebid, slot: null, timestamp: parent.timestamp + 1000 + i, attestations: [], difficulty: 1, stateRoot, validatorsRoot, finalityRoot }));
      const out = await c.chain.importBlock(sealBlock(h, { attestations: [] }, keys[0]!.secretKey, c.chain.genesis.hash));
      assert.equal(out.status, "imported");
      bytesAfter.push(evidenceBytes);
    }
    const [ev] = await c.chain.listEvidence();
    assert.equal(ev!.block_hashes.length, k, "one Equivocation lists every block");
    assert.equal(ev!.parent_hashes.length, k);
    assert.equal(new Set(ev!.block_hashes).size, k);
    // Blocks 2..k/2 against 2..k: linear growth doubles the bytes, a rewritten list quadruples them.
    const half = bytesAfter[k / 2 - 1]!;
    const full = bytesAfter[k - 1]!;
    assert.ok(full <= 2.5 * half, `evidence bytes for ${k} blocks (${full}) at most 2.5x those for ${k / 2} (${half})`);
  } finally {
    await c.destroy();
  }
});

test("the expected difficulty of a 20,000-block pow chain opened fresh is found without recursing to genesis", async () => {
  const keys = makeKeys(1);
  const params = { block_time_ms: 1000, genesis_difficulty: 2, difficulty_adjustment_interval: 100, max_difficulty_change: 2, min_difficulty: 1, max_difficulty: 8, target_block_time_ms: 1000 };
  const spec = makeSpec(keys, { consensus: "pow", validators: [], params });
  const t = tempDir();
  const n = 20_000;
  try {
    // Metadata of a long canonical chain written straight into the store (what a node that ran a
    // long time has), with block spacing that changes so retargets move the difficulty.
    let c = await openTestChain(spec, t.dir);
    const genesis = genesisBlock(spec);
    const ts: number[] = [genesis.header.timestamp];
    let prev = c.chain.head;
    let writes: ChainWrite[] = [];
    for (let h = 1; h <= n; h++) {
      ts.push(ts[h - 1]! + (Math.floor(h / 700) % 3 === 0 ? 300 : 2500));
      const meta: BlockMeta = { ...prev, hash: h.toString(16).padStart(64, "0"), height: h, parent_hash: prev.hash, timestamp: ts[h]!, total_weight: String(h), seen_at: ts[h]! };
      writes.push({ kind: "meta", meta }, { kind: "canonical", height: h, hash: meta.hash });
      if (writes.length >= 4000) {
        await c.db.write(writes);
        writes = [];
      }
      prev = meta;
    }
    writes.push({ kind: "head", hash: prev.hash }, { kind: "changes", hash: prev.hash, record: { producer: prev.producer, earned: "0", changes: [], validators: [] } }, { kind: "finality", hash: prev.hash, state: genesisFinality(genesis.hash) });
    await c.db.write(writes);
    await c.close();

    const db = await ChainDb.open(join(t.dir, "chaindata"));
    const chain = await Chain.open({ spec }, { db, logger: silentLog });
    try {
      assert.equal(chain.head.height, n);
      let depth = 0;
      let maxDepth = 0;
      let reads = 0;
      const own = chain.expectedDifficultyFor.bind(chain);
      chain.expectedDifficultyFor = async (parent: BlockMeta) => {
        maxDepth = Math.max(maxDepth, ++depth);
        try {
          return await own(parent);
        } finally {
          depth--;
        }
      };
      const getMeta = db.getMeta.bind(db);
      db.getMeta = (hash: string) => {
        reads++;
        return getMeta(hash);
      };
      const got = await chain.expectedDifficultyFor(chain.head);
      assert.equal(got, expectedDifficulty(n + 1, (h) => ts[h]!, params), "the retarget rule of docs/protocol.md §8");
      assert.equal(maxDepth, 1, "no recursion: one call, whatever the height");
      const retargets = n / params.difficulty_adjustment_interval;
      assert.ok(reads <= 3 * retargets, `${reads} metadata reads for ${retargets} retargets`);
    } finally {
      await chain.close();
      await db.close();
    }
  } finally {
    t.cleanup();
  }
});

test("the held set keeps at most its size and per-source share, preferring blocks due sooner", async () => {
  const keys = makeKeys(1);
  const spec = makeSpec([], { params: { block_time_ms: 1000, fallback_difficulty: 1 } });
  const t = tempDir();
  const db = await ChainDb.open(join(t.dir, "chaindata"));
  const clock = { now: spec.genesis_timestamp + 10_000_000 };
  const chain = await Chain.open({ spec, now: () => clock.now, maxHeldBlocks: 4, maxHeldPerSource: 2 }, { db, logger: silentLog });
  try {
    const parent = chain.head;
    const { stateRoot, validatorsRoot, finalityRoot } = await previewRoots(chain, parent, keys[0]!.ebid, []);
    const due = (ms: number) => {
      const h = mine(draftHeader({ parent, producer: keys[0]!.ebid, slot: null, timestamp: clock.now + spec.params.max_future_drift_ms + ms, attestations: [], difficulty: 1, stateRoot, validatorsRoot, finalityRoot }));
      return sealBlock(h, { attestations: [] }, keys[0]!.secretKey, chain.genesis.hash);
    };
    const tooEarly = (e: unknown) => e instanceof BlockError && e.code === "TOO_EARLY";
    assert.equal((await chain.importBlock(due(3000), { source: "a" })).status, "held");
    assert.equal((await chain.importBlock(due(3001), { source: "a" })).status, "held");
    await assert.rejects(chain.importBlock(due(100), { source: "a" }), tooEarly, "a third from one source");
    assert.equal((await chain.importBlock(due(3002), { source: "b" })).status, "held");
    assert.equal((await chain.importBlock(due(3003), { source: "c" })).status, "held");
    await assert.rejects(chain.importBlock(due(3500), { source: "d" }), tooEarly, "full, and due later than all held");
    assert.equal((await chain.importBlock(due(100), { source: "d" })).status, "held", "due sooner: takes the place of the one due last");
    assert.equal(chain.pending.held, 4);
    await assert.rejects(chain.importBlock(due(4 * spec.params.block_time_ms + 1), { source: "e" }), (e) => e instanceof BlockError && e.code === "TOO_FAR_AHEAD");
  } finally {
    await chain.close();
    await db.close();
    t.cleanup();
  }
});

test("blocks waiting for import from peers are bounded: a flood of full blocks offered at once is refused past the queue budget (BUSY), sync and own blocks are not", async () => {
  const keys = makeKeys(2);
  const spec = makeSpec(keys, { params: { block_time_ms: 500 } });
  const c = await openTestChain(spec);
  c.clock.now = Date.now() + 60_000; // junk blocks carry the wall clock's time
  try {
    const txs = transfers(spec, spec.params.max_block_txs);
    // Full blocks on unknown parents, offered without waiting: each would sit in the import queue.
    const n = Math.ceil((2 * MAX_QUEUED_BLOCK_ITEMS) / txs.length) + 2;
    const flood = Array.from({ length: n }, () => junkOrphan(keys[0]!, txs, 5, c.chain.genesis.hash));
    const outcomes = await Promise.allSettled(flood.map((b, i) => c.chain.importBlock(b, { source: `peer:${i % 4}` })));
    const busy = outcomes.filter((o) => o.status === "rejected" && (o.reason as BlockError).code === "BUSY").length;
    const parked = outcomes.filter((o) => o.status === "fulfilled" && o.value.status === "unknown-parent").length;
    assert.equal(busy + parked, n, "every block was parked or refused BUSY");
    assert.ok(busy > 0, `${busy} of ${n} full blocks offered at once refused BUSY`);
    assert.ok(parked * txs.length <= MAX_QUEUED_BLOCK_ITEMS + txs.length, `${parked} full blocks were queued at once, past the budget of ${MAX_QUEUED_BLOCK_ITEMS} items`);
    // A range sync and the node's own blocks wait their turn whatever the queue holds.
    const more = Array.from({ length: n }, () => junkOrphan(keys[0]!, txs, 5, c.chain.genesis.hash));
    const sync = await Promise.allSettled([...flood, ...more].map((b) => c.chain.importBlock(b, { source: "peer:s", sync: true })));
    assert.equal(sync.filter((o) => o.status === "rejected").length, 0, "sync blocks are never refused BUSY");
    const own = await Promise.allSettled(more.map((b) => c.chain.importBlock(b)));
    assert.equal(own.filter((o) => o.status === "rejected").length, 0, "the node's own blocks are never refused BUSY");
  } finally {
    await c.destroy();
  }
});
