// Transfer validity and the mempool: tables and properties.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { loadVector } from "../../helpers/vectors.ts";
import { makeKeys, type TestKey } from "../../helpers/fixtures.ts";
import { Domain, sign } from "../../../src/consensus/signatures.ts";
import type { Tx } from "../../../src/consensus/types.ts";
import { txSchema } from "../../../src/consensus/wire.ts";
import { MAX_AMOUNT, TxError, applyTx, checkTxSignature, checkTxStateless, txHash } from "../../../src/chain/tx.ts";
import { Mempool } from "../../../src/chain/mempool.ts";
import type { Account } from "../../../src/chain/state.ts";

const CHAIN = "vision-test";
const keys = makeKeys(4);

function tx(from: TestKey, to: TestKey, nonce: number, amount = "10", fee = "1", chainId = CHAIN): Tx {
  const body = { chain_id: chainId, from: from.ebid, to: to.ebid, amount, fee, nonce };
  return { ...body, sig: sign(Domain.tx, body, from.secretKey) };
}

const code = (c: string) => (e: unknown) => e instanceof TxError && e.code === c;

test("the signatures.json transfer is valid on its chain and hashes as the vector says", () => {
  const v = loadVector("signatures.json");
  assert.doesNotThrow(() => checkTxStateless(v.tx.signed, "vision-testnet-1"));
  assert.equal(txHash(v.tx.signed), v.tx.hash);
});

test("stateless checks: chain id, signature, amount range, minimum fee; the schema refuses negative and fractional amounts", () => {
  const [a, b] = [keys[0]!, keys[1]!];
  assert.throws(() => checkTxStateless(tx(a, b, 0, "10", "1", "other"), CHAIN), code("BAD_CHAIN_ID"));
  assert.throws(() => checkTxSignature({ ...tx(a, b, 0), amount: "11" }), code("BAD_SIGNATURE"));
  assert.doesNotThrow(() => checkTxStateless({ ...tx(a, b, 0), amount: "11" }, CHAIN), "the signature is not a stateless check: it comes last");
  const rules = { minTxFee: 2n, minAccountBalance: 50n };
  assert.throws(() => checkTxStateless(tx(a, b, 0, "10", "1"), CHAIN, rules), code("FEE_BELOW_MINIMUM"));
  assert.doesNotThrow(() => checkTxStateless(tx(a, b, 0, "10", "2"), CHAIN, rules));
  assert.throws(() => checkTxStateless(tx(a, b, 0, "0"), CHAIN), code("BAD_AMOUNT"));
  assert.throws(() => checkTxStateless(tx(a, b, 0, (MAX_AMOUNT + 1n).toString()), CHAIN), code("BAD_AMOUNT"));
  assert.throws(() => checkTxStateless(tx(a, b, 0, "1", (MAX_AMOUNT + 1n).toString()), CHAIN), code("BAD_FEE"));
  assert.doesNotThrow(() => checkTxStateless(tx(a, b, 0, MAX_AMOUNT.toString(), "0"), CHAIN));
  for (const amount of ["-1", "1.5", "1e3", "01", "", " 1", "0x10"]) {
    assert.equal(txSchema.safeParse({ ...tx(a, b, 0), amount }).success, false, amount);
  }
});

test("applyTx: nonce in order, balance covers amount + fee, nothing half-applied", () => {
  const [a, b] = [keys[0]!, keys[1]!];
  const accounts = new Map<string, Account>([[a.ebid, { balance: 100n, nonce: 0 }]]);
  assert.equal(applyTx(accounts, tx(a, b, 0, "60", "5")), 5n);
  assert.deepEqual(accounts.get(a.ebid), { balance: 35n, nonce: 1 });
  assert.deepEqual(accounts.get(b.ebid), { balance: 60n, nonce: 0 });
  const before = structuredClone([...accounts]);
  assert.throws(() => applyTx(accounts, tx(a, b, 0)), code("NONCE_TOO_LOW"));
  assert.throws(() => applyTx(accounts, tx(a, b, 2)), code("NONCE_TOO_HIGH"));
  assert.throws(() => applyTx(accounts, tx(a, b, 1, "35", "1")), code("INSUFFICIENT_BALANCE"));
  assert.deepEqual([...accounts], before);
  // sending to oneself costs only the fee
  assert.equal(applyTx(accounts, tx(a, a, 1, "30", "2")), 2n);
  assert.deepEqual(accounts.get(a.ebid), { balance: 33n, nonce: 2 });
  // the existential minimum binds only a transfer that creates its recipient
  const rules = { minTxFee: 0n, minAccountBalance: 10n };
  const c = keys[2]!;
  assert.throws(() => applyTx(accounts, tx(a, c, 2, "9", "0"), rules), code("AMOUNT_BELOW_MINIMUM"));
  assert.equal(applyTx(accounts, tx(a, b, 2, "1", "0"), rules), 0n, "b exists: any amount");
  assert.equal(applyTx(accounts, tx(a, c, 3, "10", "0"), rules), 0n);
});

test("mempool: nonce window, balance over pending, replacement by a higher fee, fee-priority selection", () => {
  const [a, b, c] = [keys[0]!, keys[1]!, keys[2]!];
  const accA: Account = { balance: 100n, nonce: 3 };
  const pool = new Mempool({ maxPerSender: 4 });
  assert.throws(() => pool.add(tx(a, b, 2), accA), code("NONCE_TOO_LOW"));
  assert.throws(() => pool.add(tx(a, b, 7), accA), code("NONCE_TOO_HIGH"));
  assert.equal(pool.add(tx(a, b, 3, "40", "1"), accA).status, "added");
  assert.equal(pool.add(tx(a, b, 3, "40", "1"), accA).status, "known");
  assert.throws(() => pool.add(tx(a, b, 4, "60", "1"), accA), code("INSUFFICIENT_BALANCE"));
  // same nonce, another transfer, same fee: not a replacement
  assert.throws(() => pool.add(tx(a, c, 3, "40", "1"), accA), code("FEE_TOO_LOW"));
  const r = pool.add(tx(a, c, 3, "40", "5"), accA);
  assert.equal(r.status, "replaced");
  assert.equal(pool.size, 1);
  pool.add(tx(a, b, 4, "10", "9"), accA);
  const accB: Account = { balance: 50n, nonce: 0 };
  pool.add(tx(b, a, 0, "10", "7"), accB);
  pool.add(tx(b, a, 1, "10", "2"), accB);
  const accounts = new Map([[a.ebid, accA], [b.ebid, accB]]);
  const picked = pool.select(10, accounts).map((t) => `${t.from === a.ebid ? "a" : "b"}${t.nonce}:${t.fee}`);
  // a3 (fee 5) must precede a4 (fee 9); b0 (7) beats a3 (5)
  assert.deepEqual(picked, ["b0:7", "a3:5", "a4:9", "b1:2"]);
  assert.deepEqual(pool.select(2, accounts).length, 2);
  // after a block took a3 and b0
  pool.removeIncluded(new Map([[a.ebid, { balance: 55n, nonce: 4 }], [b.ebid, { balance: 33n, nonce: 1 }]]), [a.ebid, b.ebid]);
  assert.equal(pool.size, 2);
});

test("mempool: when full, a higher fee evicts the cheapest tail of another sender; expiry drops old ones", () => {
  let now = 0;
  const pool = new Mempool({ maxSize: 2, maxAgeMs: 1000, now: () => now });
  const rich: Account = { balance: 10_000n, nonce: 0 };
  pool.add(tx(keys[0]!, keys[3]!, 0, "1", "3"), rich);
  pool.add(tx(keys[1]!, keys[3]!, 0, "1", "1"), rich);
  assert.throws(() => pool.add(tx(keys[2]!, keys[3]!, 0, "1", "1"), rich), code("POOL_FULL"));
  now = 500;
  assert.equal(pool.add(tx(keys[2]!, keys[3]!, 0, "1", "2"), rich).status, "added");
  assert.equal(pool.size, 2);
  assert.equal(pool.get(txHash(tx(keys[1]!, keys[3]!, 0, "1", "1"))), undefined, "the fee-1 transaction was evicted");
  now = 1200;
  assert.equal(pool.expire(), 1);
  assert.equal(pool.size, 1);
});

test("property: a selection keeps each sender's nonces contiguous from its account nonce and within its balance", () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ sender: fc.integer({ min: 0, max: 3 }), nonce: fc.integer({ min: 0, max: 6 }), amount: fc.integer({ min: 1, max: 40 }), fee: fc.integer({ min: 0, max: 9 }) }), { maxLength: 30 }),
      fc.array(fc.integer({ min: 0, max: 120 }), { minLength: 4, maxLength: 4 }),
      fc.integer({ min: 1, max: 40 }),
      (txs, balances, max) => {
        const accounts = new Map<string, Account>(keys.map((k, i) => [k.ebid, { balance: BigInt(balances[i]!), nonce: 1 }]));
        const pool = new Mempool();
        for (const t of txs) {
          try {
            pool.add(tx(keys[t.sender]!, keys[(t.sender + 1) % 4]!, t.nonce, String(t.amount), String(t.fee)), accounts.get(keys[t.sender]!.ebid)!);
          } catch (e) {
            if (!(e instanceof TxError)) throw e;
          }
        }
        const picked = pool.select(max, accounts);
        assert.ok(picked.length <= max);
        const state = new Map([...accounts].map(([k, v]) => [k, { ...v }]));
        for (const t of picked) applyTx(state, t); // throws if a nonce is out of order or a balance is short
      },
    ),
    { numRuns: 300 },
  );
});

test("mempool: a replacement pays at least a tenth more, so fee bumps cannot make a new relayed transfer per base unit", () => {
  const [a, b] = [keys[0]!, keys[1]!];
  const pool = new Mempool();
  const acc: Account = { balance: 10_000n, nonce: 0 };
  pool.add(tx(a, b, 0, "10", "100"), acc);
  assert.throws(() => pool.add(tx(a, b, 0, "10", "109"), acc), code("FEE_TOO_LOW"));
  assert.equal(pool.add(tx(a, b, 0, "10", "110"), acc).status, "replaced");
  // Every replacement is a new transfer that every node relays: from fee 110 to 1,000, one per unit
  // of fee was 890 relayed transfers for the price of the last one.
  let replacements = 0;
  for (let fee = 111; fee <= 1000; fee++) {
    try {
      if (pool.add(tx(a, b, 0, "10", String(fee)), acc).status === "replaced") replacements++;
    } catch (e) {
      assert.ok(code("FEE_TOO_LOW")(e));
    }
  }
  assert.ok(replacements <= 25, `${replacements} replacements between fees 111 and 1,000`);
  // A fee of 0 or 1 is still replaced by one a unit higher (a tenth rounds up to 1).
  const low = new Mempool();
  low.add(tx(b, a, 0, "10", "0"), acc);
  assert.equal(low.add(tx(b, a, 0, "10", "1"), acc).status, "replaced");
  assert.equal(low.add(tx(b, a, 0, "10", "2"), acc).status, "replaced");
});
