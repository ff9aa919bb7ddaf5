// The miner service over a real chain on LevelDB (pow spec): the miner race report's three fixes.
// The worker pool is a fake here (it answers with a nonce found by the reference pow_hash, after a
// hook runs), so a competing block can land at a chosen moment; the real pool is covered in
// pow.test.ts and e2e.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mayMineFallback, Miner } from "../../../src/producer/miner.ts";
import type { RegistryReader, ValidatorRecord } from "../../../src/consensus/validators.ts";
import { AttestationPool } from "../../../src/chain/attestationPool.ts";
import { Mempool } from "../../../src/chain/mempool.ts";
import { meetsDifficulty, powHash, sealHash } from "../../../src/consensus/hashing.ts";
import { sealBlock } from "../../../src/producer/blockBuilder.ts";
import { buildTemplate } from "../../../src/producer/template.ts";
import type { MinerPool, MineResult } from "../../../src/producer/pow/minerPool.ts";
import type { Block } from "../../../src/consensus/types.ts";
import type { BlockMeta } from "../../../src/storage/records.ts";
import { GENESIS_TS, makeKeys, makeSpec, openTestChain, silentLog } from "../../helpers/fixtures.ts";
import { join } from "node:path";
import { SlashingProtection, type RefusalKind } from "../../../src/node/slashingProtection.ts";

const [me, rival] = makeKeys(2) as [ReturnType<typeof makeKeys>[number], ReturnType<typeof makeKeys>[number]];
const spec = makeSpec([], { consensus: "pow", params: { genesis_difficulty: 2 } });

function firstNonce(seal: Uint8Array, d: number): number {
  for (let n = 0; ; n++) if (meetsDifficulty(powHash(seal, n), d)) return n;
}

/** A pool whose job runs `during` first, then either finds a nonce or reports an abort if abort() was called. */
function fakePool(during: () => Promise<void> = async () => undefined) {
  let aborted = false;
  const pool = {
    size: 1,
    totalHashes: 0,
    aborts: 0,
    async start() {},
    abort() {
      aborted = true;
      pool.aborts++;
    },
    async mine(seal: Uint8Array, d: number): Promise<MineResult> {
      aborted = false;
      await during();
      if (aborted) return { status: "aborted", hashes: 10, elapsedMs: 1, abortLatencyMs: 0.5, wastedHashes: 1 };
      return { status: "found", nonce: firstNonce(seal, d), hashes: 100, elapsedMs: 1 };
    },
  };
  return pool;
}

async function rivalBlock(c: Awaited<ReturnType<typeof openTestChain>>, parent: BlockMeta, difficulty: number): Promise<Block> {
  const t = await buildTemplate({ chain: c.chain, attestations: new AttestationPool(), mempool: new Mempool(), log: silentLog }, parent, {
    producer: rival.ebid, slot: null, timestamp: parent.timestamp + 5, difficulty,
  });
  return sealBlock({ ...t.header, nonce: firstNonce(sealHash(t.header), difficulty) }, t, rival.secretKey, c.chain.genesis.hash);
}

function minerOn(
  c: Awaited<ReturnType<typeof openTestChain>>,
  pool: ReturnType<typeof fakePool>,
  networkHeight = () => -1,
  protection = SlashingProtection.open(join(c.dir, "protection"), me.ebid),
) {
  const sent: Block[] = [];
  const miner = new Miner(
    { ebid: me.ebid, secretKey: me.secretKey, delayMs: () => 0, minDifficulty: () => 0, now: () => c.clock.now, tickMs: 5 },
    {
      chain: c.chain, attestations: new AttestationPool(), mempool: new Mempool(), log: silentLog,
      pool: pool as unknown as MinerPool, canMine: () => true, networkHeight, broadcast: (b) => (sent.push(b), { sent: 1, skipped: 0 }), protection,
    },
  );
  return { miner, sent };
}

test("mines the tip at the expected difficulty, imports and broadcasts; one attempt per parent", async () => {
  const c = await openTestChain(spec);
  try {
    c.clock.now = GENESIS_TS + 1000;
    const { miner, sent } = minerOn(c, fakePool());
    await miner.tick(new AbortController().signal);
    assert.equal(c.chain.head.height, 1);
    assert.equal(c.chain.head.producer, me.ebid);
    assert.equal(sent.length, 1);
    const b = await c.chain.getBlock(c.chain.head.hash);
    assert.equal(b!.header.difficulty, 2);
    assert.ok(b!.header.timestamp > GENESIS_TS);
    assert.deepEqual(miner.recentJobs().map((j) => [j.height, j.outcome]), [[1, "mined"]]);
    c.clock.now += 1000;
    await miner.tick(new AbortController().signal); // the next height, not the same one again
    assert.deepEqual(miner.recentJobs().map((j) => [j.height, j.outcome]), [[1, "mined"], [2, "mined"]]);
    assert.equal(miner.stats.retries, 0);
  } finally {
    await c.destroy();
  }
});

test("fix 1: no job for a height a peer already holds", async () => {
  const c = await openTestChain(spec);
  try {
    const { miner } = minerOn(c, fakePool(), () => c.chain.head.height + 1);
    await miner.tick(new AbortController().signal);
    assert.equal(miner.recentJobs().length, 0);
    assert.equal(c.chain.head.height, 0);
  } finally {
    await c.destroy();
  }
});

test("fix 1: no job for a height whose valid block is being written (seen, fork choice not yet run)", async () => {
  const c = await openTestChain(spec);
  try {
    const genesis = c.chain.head;
    c.clock.now = GENESIS_TS + 1000;
    const rb = await rivalBlock(c, genesis, 2);
    // The rival's store is held at its LevelDB write until the miner has ticked (or 300 ms).
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let writing = false;
    const write = c.db.write.bind(c.db);
    c.db.write = async (writes) => {
      if (writes.some((w) => w.kind === "block" && w.block.hash === rb.hash)) {
        writing = true;
        await gate;
      }
      return write(writes);
    };
    const importing = c.chain.importBlock(rb);
    while (!writing) await new Promise((r) => setTimeout(r, 1));
    const { miner } = minerOn(c, fakePool(async () => release()));
    const timer = setTimeout(release, 300);
    await miner.tick(new AbortController().signal);
    release();
    clearTimeout(timer);
    assert.equal((await importing).status, "imported");
    assert.deepEqual(miner.recentJobs(), [], "no job began on the height being filled");
    assert.equal(c.chain.head.hash, rb.hash);
    await miner.tick(new AbortController().signal); // and the next tick mines on the rival's block
    assert.deepEqual(miner.recentJobs().map((j) => [j.parent_hash, j.outcome]), [[rb.hash, "mined"]]);
    assert.equal(miner.stats.filled_height_starts, 0);
  } finally {
    await c.destroy();
  }
});

test("fix 2: a competing block for the height aborts the running job; the next job is on the new tip", async () => {
  const c = await openTestChain(spec);
  try {
    const genesis = c.chain.head;
    const pool = fakePool(async () => {
      if (c.chain.head.hash === genesis.hash) await c.chain.importBlock(await rivalBlock(c, genesis, 2));
    });
    const { miner } = minerOn(c, pool);
    miner.start();
    await new Promise((r) => setTimeout(r, 100));
    c.clock.now += 1000; // the rival's child may now be mined
    await new Promise((r) => setTimeout(r, 100));
    await miner.stop();
    const jobs = miner.recentJobs();
    assert.equal(jobs[0]!.outcome, "aborted");
    assert.equal(jobs[0]!.competing_hash, (await c.chain.getCanonicalMeta(1))!.hash);
    assert.equal(jobs[0]!.abort_latency_ms, 0.5);
    assert.ok(pool.aborts >= 1, "the head change aborted the pool");
    assert.equal(jobs[1]!.parent_hash, jobs[0]!.competing_hash, "then it mined on the rival's block");
    assert.equal(miner.stats.retries, 0);
  } finally {
    await c.destroy();
  }
});

test("fix 3: a mined block that loses fork choice is not retried; the miner moves to the next height", async () => {
  const c = await openTestChain(spec);
  try {
    const genesis = c.chain.head;
    // The rival lands just as our nonce is found, with more work (difficulty 3), so it wins.
    const pool = fakePool(async () => {
      if (c.chain.head.hash === genesis.hash) await c.chain.importBlock(await rivalBlock(c, genesis, 3));
    });
    pool.abort = () => { pool.aborts++; }; // too late to abort: the nonce is already found
    const { miner, sent } = minerOn(c, pool);
    await miner.tick(new AbortController().signal);
    const [job] = miner.recentJobs();
    assert.equal(job!.outcome, "lost");
    assert.equal(miner.stats.lost, 1);
    assert.equal(sent.length, 1, "the valid losing block is still relayed");
    assert.notEqual(c.chain.head.producer, me.ebid);
    const rivalHash = c.chain.head.hash;
    c.clock.now += 1000;
    await miner.tick(new AbortController().signal);
    const jobs = miner.recentJobs();
    assert.equal(jobs.length, 2);
    assert.equal(jobs[1]!.height, 2, "moved on to the next height");
    assert.equal(jobs[1]!.parent_hash, rivalHash, "on the block that won");
    assert.equal(new Set(jobs.map((j) => j.parent_hash)).size, 2, "never the same parent twice");
  } finally {
    await c.destroy();
  }
});

/** A Proof-of-Sync chain whose genesis validators are `validators`; the clock far past every slot of height 1. */
async function posChainWith(validators: ReturnType<typeof makeKeys>) {
  const c = await openTestChain(makeSpec(validators));
  c.clock.now += 3_600_000;
  return c;
}

test("fallback (Proof-of-Sync): with an active validator, only an active validator starts the job; with none, anyone eligible mines (bootstrap)", async () => {
  // an outsider: some validator is active at epoch(1), and it is not one of them
  const outsider = await posChainWith([rival]);
  try {
    const { miner } = minerOn(outsider, fakePool());
    await miner.tick(new AbortController().signal);
    assert.deepEqual(miner.recentJobs(), [], "no fallback job for a node that is not an active validator");
    assert.equal(outsider.chain.head.height, 0);
  } finally {
    await outsider.destroy();
  }
  // an active validator mines the fallback once every slot has passed
  const validator = await posChainWith([me, rival]);
  try {
    const { miner } = minerOn(validator, fakePool());
    await miner.tick(new AbortController().signal);
    assert.deepEqual(miner.recentJobs().map((j) => [j.height, j.kind]), [[1, "fallback"]]);
  } finally {
    await validator.destroy();
  }
  // no validator at all: the bootstrap, anyone eligible mines
  const bootstrap = await posChainWith([]);
  try {
    const { miner } = minerOn(bootstrap, fakePool());
    await miner.tick(new AbortController().signal);
    assert.deepEqual(miner.recentJobs().map((j) => [j.height, j.kind]), [[1, "fallback"]]);
  } finally {
    await bootstrap.destroy();
  }
});

test("mayMineFallback: an active validator may; a pending, exited or unknown key may not while another is active; anyone when none is active", () => {
  const rec = (ebid: string, activation_epoch: number, exit_epoch: number | null): ValidatorRecord => ({ ebid, bls_pubkey: "", bond: 1000n, activation_epoch, exit_epoch, slashed: false });
  const reg = (...rs: ValidatorRecord[]): RegistryReader => ({ get: (e) => rs.find((r) => r.ebid === e), all: () => rs, size: rs.length });
  const r = reg(rec("a", 0, null), rec("p", 5, null), rec("x", 0, 3));
  assert.equal(mayMineFallback(r, "a", 4), true, "active");
  assert.equal(mayMineFallback(r, "p", 4), false, "pending until epoch 5");
  assert.equal(mayMineFallback(r, "p", 5), true, "active from its activation epoch");
  assert.equal(mayMineFallback(r, "x", 2), true, "exiting, still active before exit_epoch");
  assert.equal(mayMineFallback(r, "x", 3), false, "exited");
  assert.equal(mayMineFallback(r, "stranger", 4), false);
  assert.equal(mayMineFallback(reg(rec("p", 5, null), rec("x", 0, 3)), "stranger", 4), true, "no validator active at epoch 4: the bootstrap");
  assert.equal(mayMineFallback(reg(), "stranger", 0), true, "no validators at all");
});

test("slashing protection on a pow chain: no job on a height this key signed, and a seal refused when the height was signed while the job ran", async () => {
  const c = await openTestChain(spec);
  try {
    c.clock.now = GENESIS_TS + 1000;
    const refusals: RefusalKind[] = [];
    const protection = SlashingProtection.open(join(c.dir, "protection"), me.ebid, { onRefusal: (k) => refusals.push(k) });
    protection.observeBlock(1); // its block at height 1, from before a restore of an old data dir copy
    const idle = minerOn(c, fakePool(), () => -1, protection);
    await idle.miner.tick(new AbortController().signal);
    assert.deepEqual(idle.miner.recentJobs(), [], "no PoW spent on a block it may not sign");
    assert.equal(c.chain.head.height, 0);
    // the record rises while the job runs (its own block at 2 seen in a sync): the seal is refused
    await c.chain.importBlock(await rivalBlock(c, c.chain.head, 2));
    const racing = minerOn(c, fakePool(async () => void protection.observeBlock(2)), () => -1, protection);
    await racing.miner.tick(new AbortController().signal);
    assert.deepEqual(racing.miner.recentJobs().map((j) => [j.height, j.outcome]), [[2, "failed"]]);
    assert.match(racing.miner.recentJobs()[0]!.error ?? "", /slashing protection refused a block at height 2/);
    assert.deepEqual(racing.sent, []);
    assert.deepEqual(refusals, ["block"]);
    // above the record: mined and recorded
    c.clock.now += 1000;
    const ok = minerOn(c, fakePool(), () => -1, protection);
    await c.chain.importBlock(await rivalBlock(c, c.chain.head, 2));
    await ok.miner.tick(new AbortController().signal);
    assert.equal(ok.sent.length, 1);
    assert.equal(protection.record.max_block_height, ok.sent[0]!.header.height);
  } finally {
    await c.destroy();
  }
});
