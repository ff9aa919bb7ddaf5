/**
 * The cost of a validator record change with a large registry: import of a block carrying one
 * unbond (its record changes, so `validators_root` is recomputed over every record) against an
 * empty block (the baseline, in the same run), and the producer's preview of the unbond block, with
 * `validators` genesis validators (default: the largest `max_validators`, 10,000).
 */
import { join } from "node:path";
import { Chain } from "../src/chain/chain.ts";
import { signExit } from "../src/chain/tx.ts";
import { ChainDb } from "../src/storage/chainDb.ts";
import type { Tx } from "../src/consensus/types.ts";
import { blockFor, genesisValidators, makeKeys, makeSpec, silentLog, tempDir, testKey, GENESIS_TS } from "../test/helpers/fixtures.ts";
import { fmt, median } from "./stats.ts";

export async function benchRegistry(validators = 10_000, rounds = 9): Promise<Record<string, number>> {
  const keys = makeKeys(2);
  // distinct seeds: byte 0 marks the bench's keys, bytes 1-2 count them
  const many = Array.from({ length: validators - keys.length }, (_, i) => {
    const seed = new Uint8Array(32);
    seed.set([7, i & 255, i >> 8]);
    return testKey(seed);
  });
  const all = [...keys, ...many];
  const spec = makeSpec(keys, { validators: genesisValidators(all), alloc: Object.fromEntries(many.slice(0, rounds).map((k) => [k.ebid, "100000"])), params: { block_time_ms: 2000, max_validators: 10_000 } });
  const t = tempDir("vision-bench-registry-");
  const db = await ChainDb.open(join(t.dir, "chaindata"));
  const chain = await Chain.open({ spec, now: () => GENESIS_TS + 1e12 }, { db, logger: silentLog });
  const imported = async (txs: Tx[]): Promise<number> => {
    const b = await blockFor(chain, chain.head, all, 0, { txs });
    const t0 = performance.now();
    const r = await chain.importBlock(b);
    const ms = performance.now() - t0;
    if (r.status !== "imported") throw new Error(`bench block not imported: ${r.status}`);
    return ms;
  };
  const empty: number[] = [];
  const unbond: number[] = [];
  const preview: number[] = [];
  try {
    for (let r = 0; r < rounds; r++) {
      empty.push(await imported([]));
      const tx = signExit(many[r]!, "unbond", { chain_id: spec.chain_id, fee: "1", nonce: 0 });
      const t0 = performance.now();
      await chain.previewState(chain.head, keys[0]!.ebid, [tx]);
      preview.push(performance.now() - t0);
      unbond.push(await imported([tx]));
    }
  } finally {
    await chain.close();
    await db.close();
    t.cleanup();
  }
  const e = median(empty);
  const u = median(unbond);
  const p = median(preview);
  console.log(
    `block import with ${validators} validator records, ${rounds} rounds: empty median ${fmt(e, 2)} ms, one unbond median ${fmt(u, 2)} ms (${fmt(u / e)}x); ` +
      `the producer's preview of the unbond block median ${fmt(p, 2)} ms`,
  );
  return { empty_import_median_ms: e, unbond_import_median_ms: u, unbond_preview_median_ms: p, ratio: u / e };
}
