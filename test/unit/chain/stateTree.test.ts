// The incremental `state_root` tree (docs/protocol.md §3.6) against RFC 6962 roots computed from
// scratch over the leaf list, for random updates, appends and truncations; its cost bound; and a
// chain whose head root equals the from-scratch root over its accounts in creation order.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { H, toHex } from "../../../src/consensus/encoding.ts";
import { merkleRootOfHashes } from "../../../src/consensus/merkle.ts";
import { StateTree, leafHash } from "../../../src/chain/stateTree.ts";
import { accountItemHash, stateRoot } from "../../../src/chain/state.ts";
import { signTransfer } from "../../../src/chain/tx.ts";
import { blockFor, makeKeys, makeSpec, openTestChain } from "../../helpers/fixtures.ts";

const item = (n: number) => H(new Uint8Array([n & 255, (n >> 8) & 255, 7]));

type Op = { kind: "set"; at: number; value: number } | { kind: "append"; values: number[] } | { kind: "truncate"; to: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("set" as const), at: fc.nat(), value: fc.nat(65535) }),
  fc.record({ kind: fc.constant("append" as const), values: fc.array(fc.nat(65535), { maxLength: 40 }) }),
  fc.record({ kind: fc.constant("truncate" as const), to: fc.nat() }),
);

test("rootWith and apply equal the from-scratch RFC 6962 root for random updates, appends and truncations", () => {
  fc.assert(
    fc.property(fc.array(fc.nat(65535), { maxLength: 70 }), fc.array(fc.array(opArb, { maxLength: 4 }), { maxLength: 12 }), (start, batches) => {
      let items = start.map(item);
      const tree = StateTree.from(items.map(leafHash));
      for (const batch of batches) {
        // One batch = one block's overlay: several ops on a candidate list, checked before and after apply.
        const next = [...items];
        const leaves = new Map<number, Uint8Array>();
        for (const op of batch) {
          if (op.kind === "set" && next.length > 0) {
            const i = op.at % next.length;
            next[i] = item(op.value);
            leaves.set(i, leafHash(next[i]!));
          } else if (op.kind === "append") {
            for (const v of op.values) {
              leaves.set(next.length, leafHash(item(v)));
              next.push(item(v));
            }
          } else if (op.kind === "truncate") {
            next.length = Math.min(next.length, op.to % (next.length + 1));
          }
        }
        const expected = toHex(merkleRootOfHashes(next));
        assert.equal(toHex(tree.rootWith({ leaves, size: next.length })), expected, "candidate root");
        assert.equal(toHex(tree.root()), toHex(merkleRootOfHashes(items)), "rootWith does not move the head");
        tree.apply({ leaves, size: next.length });
        assert.equal(toHex(tree.root()), expected, "applied root");
        items = next;
      }
    }),
    { numRuns: 300 },
  );
});

test("a block's root costs O(changed x log N) hashes, not O(N)", () => {
  const n = 1 << 16;
  const tree = StateTree.from(Array.from({ length: n }, (_, i) => leafHash(item(i))));
  const logN = Math.ceil(Math.log2(n)) + 1;
  for (const changed of [0, 1, 3, 20]) {
    const leaves = new Map<number, Uint8Array>();
    for (let k = 0; k < changed; k++) leaves.set((k * 7919) % n, leafHash(item(k + 1)));
    leaves.set(n, leafHash(item(99))); // the producer's new account
    tree.rootWith({ leaves, size: n + 1 });
    assert.ok(tree.lastHashes <= 2 * (changed + 2) * logN, `${changed} changed leaves cost ${tree.lastHashes} hashes (N = ${n})`);
  }
});

test("a chain's state_root after transfers creating accounts is the from-scratch root in creation order", async () => {
  const keys = makeKeys(4);
  const payer = makeKeys(6)[5]!;
  const spec = makeSpec(keys, { alloc: { [payer.ebid]: "100000", ["f".repeat(64)]: "5" } });
  const c = await openTestChain(spec);
  try {
    const recipients = ["e".repeat(64), "0".repeat(63) + "1", "a".repeat(64)]; // created out of address order
    let nonce = 0;
    for (let round = 0; round < 3; round++) {
      const txs = recipients.map((to) => signTransfer(payer, { chain_id: spec.chain_id, to, amount: String(100 + round), fee: "1", nonce: nonce++ }));
      await c.chain.importBlock(await blockFor(c.chain, c.chain.head, keys, 0, { txs }));
    }
    const accounts = new Map([...(await c.db.loadAccounts())].map(([a, [balance, nonce, index]]) => [a, { balance: BigInt(balance), nonce, index }]));
    assert.equal(c.chain.head.state_root, stateRoot(accounts));
    const byIndex = [...accounts].sort(([, a], [, b]) => a.index - b.index);
    assert.deepEqual(byIndex.slice(0, 2).map(([a]) => a), [payer.ebid, "f".repeat(64)].sort(), "the alloc first, in address order");
    assert.deepEqual(byIndex.slice(2, 5).map(([a]) => a), recipients, "then recipients in the order they were first credited");
    assert.equal(toHex(merkleRootOfHashes(byIndex.map(([a, acc]) => accountItemHash(a, acc)))), c.chain.head.state_root);
  } finally {
    await c.destroy();
  }
});

test("building and importing a block on a chain of 10,000 accounts hashes O(changed x log N) tree nodes", async () => {
  const keys = makeKeys(4);
  const payer = makeKeys(6)[5]!;
  const alloc: Record<string, string> = { [payer.ebid]: "100000" };
  for (let i = 0; i < 10_000; i++) alloc[i.toString(16).padStart(64, "0")] = "100";
  const spec = makeSpec(keys, { alloc });
  const c = await openTestChain(spec);
  try {
    const n = Object.keys(alloc).length;
    const txs = ["e".repeat(64), (5).toString(16).padStart(64, "0"), "a".repeat(64)].map((to, nonce) =>
      signTransfer(payer, { chain_id: spec.chain_id, to, amount: "100", fee: "1", nonce }),
    );
    const changed = 1 + txs.length + 1; // payer, recipients, producer
    const bound = 2 * (changed + 1) * (Math.ceil(Math.log2(n)) + 1);
    const block = await blockFor(c.chain, c.chain.head, keys, 0, { txs });
    const tree = (await c.chain.stateAt(c.chain.head)).base.tree;
    assert.ok(tree.lastHashes > 0 && tree.lastHashes <= bound, `building: ${tree.lastHashes} hashes, bound ${bound} (N = ${n})`);
    await c.chain.importBlock(block);
    assert.equal(c.chain.head.hash, block.hash);
    assert.ok(tree.lastHashes <= bound, `importing and moving the head: ${tree.lastHashes} hashes, bound ${bound}`);
  } finally {
    await c.destroy();
  }
});
