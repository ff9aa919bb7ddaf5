// The header (docs/protocol.md §2.3, §3.2): 16 fields, version 3; version 2's validators_root, mix
// and randao_reveal, version 3's finality_root and slashings_root; genesis commits to the genesis
// validators, starts the mix from spec_hash and carries a zero finality_root.
import { test } from "node:test";
import assert from "node:assert/strict";
import { makeKeys, makeSpec, openTestChain } from "../../helpers/fixtures.ts";
import { genesisBlock } from "../../../src/chain/spec.ts";
import { headerSchema } from "../../../src/consensus/wire.ts";
import { genesisMix } from "../../../src/consensus/randao.ts";
import { validatorsRoot } from "../../../src/consensus/validators.ts";
import { EMPTY_ROOT } from "../../../src/chain/spec.ts";

const keys = makeKeys(3);

test("the genesis header is version 3 with validators_root, mix, an empty reveal, a zero finality_root and the empty slashings_root", () => {
  const spec = makeSpec(keys);
  const g = genesisBlock(spec);
  const h = g.header as unknown as Record<string, unknown>;
  assert.equal(Object.keys(h).length, 16);
  assert.equal(h.version, 3);
  assert.equal(h.finality_root, "0".repeat(64));
  assert.equal(h.slashings_root, EMPTY_ROOT);
  assert.equal(h.randao_reveal, "");
  assert.equal(h.mix, genesisMix(g.header.parent_hash));
  const records = spec.validators.map((v) => ({ ebid: v.ebid, bls_pubkey: v.bls_pubkey, bond: BigInt(v.bond), activation_epoch: 0, exit_epoch: null, slashed: false }));
  assert.equal(h.validators_root, validatorsRoot(records));
  assert.notEqual(h.validators_root, EMPTY_ROOT);
  // no validators: the empty root
  assert.equal((genesisBlock(makeSpec([])).header as unknown as Record<string, unknown>).validators_root, EMPTY_ROOT);
  // the validators are committed: another set gives another genesis
  assert.notEqual(genesisBlock(makeSpec(keys.slice(1))).hash, g.hash);
});

test("the header schema takes exactly the 16 fields of version 3", () => {
  const g = genesisBlock(makeSpec(keys)).header as unknown as Record<string, unknown>;
  assert.equal(headerSchema.safeParse(g).success, true);
  assert.equal(headerSchema.safeParse({ ...g, version: 2 }).success, false);
  const { finality_root: _f, slashings_root: _s, ...v2 } = g;
  assert.equal(headerSchema.safeParse({ ...v2, version: 2 }).success, false, "a version 2 header");
  const { mix: _m, ...noMix } = g;
  assert.equal(headerSchema.safeParse(noMix).success, false);
  assert.equal(headerSchema.safeParse({ ...g, randao_reveal: "ab".repeat(96) }).success, true);
  assert.equal(headerSchema.safeParse({ ...g, randao_reveal: "ab".repeat(95) }).success, false);
  assert.equal(headerSchema.safeParse({ ...g, randao_reveal: "AB".repeat(96) }).success, false);
  assert.equal(headerSchema.safeParse({ ...g, mix: "00" }).success, false);
  assert.equal(headerSchema.safeParse({ ...g, extra: 1 }).success, false);
});

test("a block's metadata carries its mix, so selection reads it without loading blocks", async () => {
  const c = await openTestChain(makeSpec(keys));
  try {
    const g = c.chain.genesis.header as unknown as Record<string, unknown>;
    assert.match(String(g.mix), /^[0-9a-f]{64}$/);
    assert.equal((c.chain.head as unknown as Record<string, unknown>).mix, g.mix);
    assert.equal(((await c.db.getMeta(c.chain.genesis.hash)) as unknown as Record<string, unknown>).mix, g.mix);
  } finally {
    await c.destroy();
  }
});
