// The chain store over memory-level (ChainDb.openMemory) behaves as over classic-level
// (ChainDb.open): one import scenario (transfers, a reorg and back, finality advancing) run through
// Chain.open on each backend leaves identical heads, state roots, finality states and store
// contents; a memory store writes no file; the test fixtures open a chain over either.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { attestOn, blockFor, makeKeys, makeSpec, openTestChain, silentLog, tempDir, type TestKey } from "../../helpers/fixtures.ts";
import { Chain } from "../../../src/chain/chain.ts";
import { ChainDb, SharedValues } from "../../../src/storage/chainDb.ts";
import { signTransfer, txHash } from "../../../src/chain/tx.ts";
import type { Block, Tx } from "../../../src/consensus/types.ts";
import type { BlockMeta } from "../../../src/storage/records.ts";

const keys = makeKeys(3);
const [payer, payee] = makeKeys(2, 10) as [TestKey, TestKey]; // neither is a producer
const spec = makeSpec(keys, { alloc: { [payer.ebid]: "100000" }, block_reward: "50", params: { block_time_ms: 2000, checkpoint_interval: 4, attestation_max_age: 4 } });
const I = spec.params.checkpoint_interval;
const NOW = () => spec.genesis_timestamp + 10_000_000;

const pay = (nonce: number, amount: string): Tx => signTransfer(payer, { chain_id: spec.chain_id, to: payee.ebid, amount, fee: "5", nonce });

// A block on `parent` in `slot` with a transfer, carrying every validator's honest attestation of the parent.
async function on(chain: Chain, parent: BlockMeta, slot: number, tx: Tx): Promise<Block> {
  const attestations = parent.height === 0 ? [] : await Promise.all(keys.map((k) => attestOn(chain, k, parent.height, parent.hash)));
  return blockFor(chain, parent, keys, slot, { attestations, txs: [tx] });
}

/**
 * The scenario's blocks, in import order, built on a chain over `db`: 2·I + 2 attested blocks with
 * a transfer each (cp(1) finalized), then a backup-slot block a1, a heavier primary sibling b1
 * spending the same nonce (reorg to b1), a2 on a1 (reorg back to a1's branch), two blocks of one
 * producer at the next height (an equivocation), then I + 2 more attested blocks (finality moves on).
 */
async function scenario(db: ChainDb): Promise<Block[]> {
  const chain = await Chain.open({ spec, now: NOW }, { db, logger: silentLog });
  const out: Block[] = [];
  const add = async (b: Block) => {
    assert.equal((await chain.importBlock(b)).status, "imported");
    out.push(b);
    return (await chain.getMeta(b.hash))!;
  };
  let nonce = 0;
  for (let i = 0; i < 2 * I + 2; i++) await add(await on(chain, chain.head, 0, pay(nonce++, "10")));
  const fork = chain.head;
  const a1 = await add(await on(chain, fork, 1, pay(nonce, "100")));
  await add(await on(chain, fork, 0, pay(nonce, "300")));
  await add(await on(chain, a1, 0, pay(nonce + 1, "7")));
  nonce += 2;
  // the primary signs a second block at the next height (an equivocation: evidence is stored)
  const twin = await on(chain, chain.head, 0, pay(nonce, "10"));
  await add(twin);
  const other = await on(chain, (await chain.getMeta(twin.header.parent_hash))!, 0, pay(nonce, "11"));
  await add(other);
  nonce++;
  for (let i = 0; i < I + 2; i++) await add(await on(chain, chain.head, 0, pay(nonce++, "10")));
  await chain.close();
  return out;
}

interface Step {
  status: string;
  head: string;
  height: number;
  stateRoot: string;
  finalized: unknown;
  justified: unknown;
  finality: unknown;
  reorgDepth: number;
}

// Imports `blocks` into a fresh chain over `db`; returns what each import left and the store's contents.
async function replay(db: ChainDb, blocks: readonly Block[]) {
  const chain = await Chain.open({ spec, now: NOW }, { db, logger: silentLog });
  let reorgDepth = 0;
  chain.on("head", (e) => (reorgDepth = Math.max(reorgDepth, e.reorgDepth)));
  const steps: Step[] = [];
  for (const b of blocks) {
    reorgDepth = 0;
    const r = await chain.importBlock(b);
    steps.push({ status: r.status, head: chain.head.hash, height: chain.head.height, stateRoot: chain.head.state_root, finalized: chain.finalized, justified: chain.justified, finality: chain.headFinalityState, reorgDepth });
  }
  // the mempool journal: three put, one taken out
  const journal = [pay(1000, "1"), pay(1001, "1"), pay(1002, "1")];
  await db.journalTxs(journal.map((t) => [txHash(t), t] as const));
  await db.unjournalTxs([txHash(journal[1]!)]);
  const hashes = [chain.genesis.hash, ...blocks.map((b) => b.hash)];
  const contents = {
    head: await db.getHead(),
    genesis: await db.getGenesis(),
    forkChoice: await db.getForkChoice(),
    blocks: await collect(db.blocks()),
    txIndex: await collect(db.txIndex()),
    accounts: [...(await db.loadAccounts())],
    someAccounts: await db.getAccounts([payee.ebid, "0".repeat(64), payer.ebid]),
    accountsAfterPayer: await collect(db.accounts(payer.ebid)),
    validators: await db.loadValidators(),
    producerTotals: [...(await db.loadProducerTotals())],
    journal: (await db.loadJournal()).map(txHash).sort(),
    evidence: await db.listEvidence(10),
    metas: await Promise.all(hashes.map((h) => db.getMeta(h))),
    finality: await Promise.all(hashes.map((h) => db.getFinality(h))),
    changes: await Promise.all(hashes.map((h) => db.getChanges(h))),
    canonical: await Promise.all(hashes.map((_, h) => db.getCanonicalHash(h))),
    atHeight: await Promise.all(hashes.map((_, h) => db.blocksAtHeight(h))),
    txBlocks: await Promise.all(blocks.flatMap((b) => b.txs).map((t) => db.getTxBlocks(txHash(t)))),
  };
  await chain.close();
  return { steps, contents };
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

test("one import scenario (transfers, a reorg and back, finality) on classic-level and on memory-level: identical heads, state roots, finality and store contents", async () => {
  const t = tempDir();
  const source = await ChainDb.openMemory();
  const blocks = await scenario(source);
  await source.close();
  try {
    const level = await ChainDb.open(join(t.dir, "chaindata"), { sync: false });
    const onLevel = await replay(level, blocks);
    await level.close();
    const memory = await ChainDb.openMemory();
    const onMemory = await replay(memory, blocks);
    await memory.close();

    // the scenario does what it says, on both
    assert.ok(onLevel.steps.every((s) => s.status === "imported"));
    assert.ok(onLevel.steps.some((s) => s.reorgDepth >= 1), "a reorg happened");
    assert.ok((onLevel.steps.at(-1)!.finalized as { height: number }).height >= 2 * I, "finality moved past cp(1) after the reorgs");
    assert.ok(onLevel.contents.metas.some((m) => m?.is_canonical === false), "a demoted block is kept");
    assert.equal(onLevel.contents.journal.length, 2);
    assert.equal(onLevel.contents.evidence.length, 1, "the equivocation is recorded");

    assert.deepEqual(onMemory.steps, onLevel.steps, "every import left the same head, state root and finality");
    assert.deepEqual(onMemory.contents, onLevel.contents, "the stores hold the same records, in the same key order");
  } finally {
    t.cleanup();
  }
});

test("memory stores sharing their value texts (SharedValues, a simulation's nodes) read back what an unshared store does; a second store adds no text", async () => {
  const source = await ChainDb.openMemory();
  const blocks = await scenario(source);
  await source.close();
  const plain = await ChainDb.openMemory();
  const want = await replay(plain, blocks);
  await plain.close();
  const shared = new SharedValues();
  const a = await ChainDb.openMemory(shared);
  assert.deepEqual(await replay(a, blocks), want, "the same heads, state roots, finality and records");
  const held = shared.size;
  assert.ok(held >= blocks.length, `one text at least per block (${held} for ${blocks.length} blocks)`);
  const b = await ChainDb.openMemory(shared);
  assert.deepEqual(await replay(b, blocks), want);
  assert.equal(shared.size, held, "the second store's blocks, changes and finality states are the texts the first wrote");
  await a.close();
  await b.close();
});

test("a memory store writes no file, starts empty each time it is opened, and fsyncs nothing", async () => {
  const t = tempDir();
  const cwd = process.cwd();
  process.chdir(t.dir); // a backend writing relative to the working directory would show here
  try {
    const db = await ChainDb.openMemory();
    assert.equal(db.location, undefined);
    assert.equal(db.sync, false);
    const blocks = await scenario(db);
    assert.equal(await db.getHead(), blocks.at(-1)!.hash);
    await db.close();
    assert.deepEqual(readdirSync(t.dir), [], "nothing written");
    const again = await ChainDb.openMemory();
    assert.equal(await again.getHead(), undefined, "a new memory store is empty");
    await again.close();
  } finally {
    process.chdir(cwd);
    t.cleanup();
  }
});

test("openTestChain opens a chain over a memory store (transfers and finality as on LevelDB); LevelDB stays the default", async () => {
  const c = await openTestChain(spec, undefined, { store: "memory" });
  try {
    assert.equal(c.db.location, undefined);
    for (let n = 0; n < 2 * I + 2; n++) await c.chain.importBlock(await on(c.chain, c.chain.head, 0, pay(n, "10")));
    assert.equal(c.chain.head.height, 2 * I + 2);
    assert.equal(c.chain.finalized.height, I);
    assert.deepEqual(await c.chain.account(payee.ebid), { balance: BigInt(10 * (2 * I + 2)), nonce: 0 });
  } finally {
    await c.destroy();
  }
  const level = await openTestChain(spec);
  try {
    assert.equal(level.db.location, join(level.dir, "chaindata"), "the default stays on LevelDB in a temp dir");
  } finally {
    await level.destroy();
  }
});
