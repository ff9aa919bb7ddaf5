// Immutable values (freezeDeep) and the pure results kept by their identity: a frozen value's hash,
// Merkle root, signature check and genesis block are computed once and equal the fresh computation;
// values not frozen are never memoized; results handed out cannot change the kept one.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { freezeDeep, isImmutable } from "../../../src/consensus/immutable.ts";
import { hashJson, toHex } from "../../../src/consensus/encoding.ts";
import { merkleRootOfItems } from "../../../src/consensus/merkle.ts";
import { chainDomains, sign, verify } from "../../../src/consensus/signatures.ts";
import { genesisBlock } from "../../../src/chain/spec.ts";
import { makeKeys, makeSpec } from "../../helpers/fixtures.ts";

const json = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: "small" }, fc.string(), fc.integer(), fc.boolean(), fc.constant(null), fc.array(tie("value"), { maxLength: 4 }), fc.dictionary(fc.string({ maxLength: 6 }), tie("value"), { maxKeys: 4 })),
})).value;

test("freezeDeep: the value and everything in it is frozen and registered; other values are not", () => {
  const v = freezeDeep({ a: [{ b: 1 }], c: { d: "x" } });
  assert.ok(isImmutable(v) && isImmutable(v.a) && isImmutable(v.a[0]) && isImmutable(v.c));
  assert.throws(() => ((v.a[0] as { b: number }).b = 2), TypeError);
  assert.ok(!isImmutable({ a: 1 }));
  assert.ok(!isImmutable(Object.freeze({ a: 1 })), "frozen by hand is not registered (its insides may change)");
  assert.ok(!isImmutable("s") && !isImmutable(null));
});

test("hashJson and merkleRootOfItems of a frozen value equal the fresh computation, every call; a result written to does not change the next", () => {
  fc.assert(
    fc.property(fc.array(json, { maxLength: 5 }), (items) => {
      const want = toHex(merkleRootOfItems(structuredClone(items)));
      const wantHash = toHex(hashJson(structuredClone(items)));
      const frozen = freezeDeep(structuredClone(items));
      for (let i = 0; i < 2; i++) {
        const root = merkleRootOfItems(frozen);
        assert.equal(toHex(root), want);
        root.fill(0);
        const h = hashJson(frozen);
        assert.equal(toHex(h), wantHash);
        h.fill(0);
      }
    }),
  );
});

test("verify of a frozen object: the same answer as a fresh check, for the signature and key it was asked with each time", () => {
  const [k0, k1] = makeKeys(2);
  const d = chainDomains("ef".repeat(32));
  const body = { ebid: k0!.ebid, height: 5, block_hash: "ab".repeat(32) };
  const a = freezeDeep({ ...body, sig: sign(d.attest, body, k0!.secretKey) });
  assert.equal(verify(d.attest, a, a.sig, a.ebid), true);
  assert.equal(verify(d.attest, a, a.sig, a.ebid), true);
  assert.equal(verify(d.attest, a, a.sig, k1!.ebid), false, "another key: checked, not the kept answer");
  assert.equal(verify(d.block, a, a.sig, a.ebid), false, "another domain");
  const forged = freezeDeep({ ...body, height: 6, sig: a.sig });
  assert.equal(verify(d.attest, forged, forged.sig, forged.ebid), false);
  assert.equal(verify(d.attest, forged, forged.sig, forged.ebid), false);
});

test("genesisBlock of a frozen spec: the fresh block's content, one frozen object for every call", () => {
  const spec = makeSpec(makeKeys(3));
  const fresh = genesisBlock(spec);
  const frozenSpec = freezeDeep(structuredClone(spec));
  const g = genesisBlock(frozenSpec);
  assert.deepEqual(g, fresh);
  assert.equal(genesisBlock(frozenSpec), g);
  assert.ok(isImmutable(g));
  assert.notEqual(genesisBlock(spec), fresh, "a spec not frozen builds its block on each call");
});
