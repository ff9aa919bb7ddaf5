// ed25519 signing through OpenSSL (node:crypto) gives RFC 8032's bytes: the same signatures as
// @noble/ed25519 for any key and object, a key array written since its last use signs as its new
// key, and a key of another length keeps noble's error.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import * as ed from "@noble/ed25519";
import { chainDomains, Domain, ebidOf, sign, signingMessage, verify } from "../../../src/consensus/signatures.ts";
import { toHex } from "../../../src/consensus/encoding.ts";

const domains = chainDomains("cd".repeat(32));

test("sign: byte-identical to @noble/ed25519 (RFC 8032) for any 32-byte key and object, and it verifies", () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.string(), fc.integer())), fc.boolean(), (key, obj, bound) => {
      const domain = bound ? domains.attest : Domain.tx;
      const sig = sign(domain, obj, key);
      assert.equal(sig, toHex(ed.sign(signingMessage(domain, obj), key)));
      assert.ok(verify(domain, obj, sig, ebidOf(key)));
    }),
    { numRuns: 200 },
  );
});

test("sign: a key array written since its last use signs as its new bytes", () => {
  const key = new Uint8Array(32).fill(1);
  const a = sign(Domain.tx, { n: 1 }, key);
  key.fill(2);
  const b = sign(Domain.tx, { n: 1 }, key);
  assert.notEqual(a, b);
  assert.equal(b, toHex(ed.sign(signingMessage(Domain.tx, { n: 1 }), new Uint8Array(32).fill(2))));
});

test("sign: a key that is not 32 bytes throws (noble's error)", () => {
  assert.throws(() => sign(Domain.tx, { n: 1 }, new Uint8Array(31)));
  assert.throws(() => sign(Domain.tx, { n: 1 }, new Uint8Array(64)));
});
