// Chain spec: `bootnodes` (validated, kept in the normalized spec, left out of the genesis commitment) and genesis validators.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { genesisBlock, genesisCommitment, normalizeChainSpec } from "../../../src/chain/spec.ts";
import { ChainSpecError } from "../../../src/chain/errors.ts";
import { jcs } from "../../../src/consensus/encoding.ts";
import { genesisValidators, makeKeys } from "../../helpers/fixtures.ts";

const keys = makeKeys(2);
const base = {
  chain_id: "vision-bootnodes",
  genesis_timestamp: 1_767_225_600_000,
  consensus: "proof-of-sync",
  validators: genesisValidators(keys),
};

test("the same spec with and without bootnodes has the same genesis hash; bootnodes stay in the spec", () => {
  const plain = normalizeChainSpec(base);
  const withBoot = normalizeChainSpec({ ...base, bootnodes: ["ws://boot-1.example.org:7072", "wss://[2001:db8::1]:443", "ws://boot-1.example.org:7072"] });
  const other = normalizeChainSpec({ ...base, bootnodes: ["ws://10.0.0.9:7072"] });
  assert.equal(plain.bootnodes, undefined);
  assert.deepEqual(withBoot.bootnodes, ["ws://boot-1.example.org:7072", "wss://[2001:db8::1]:443"], "deduplicated, order kept");
  assert.equal(genesisBlock(withBoot).hash, genesisBlock(plain).hash);
  assert.equal(genesisBlock(other).hash, genesisBlock(plain).hash);
  assert.equal(jcs(genesisCommitment(withBoot)), jcs(plain));
  assert.ok(!("bootnodes" in genesisCommitment(withBoot)));
  assert.equal(normalizeChainSpec({ ...base, bootnodes: [] }).bootnodes, undefined, "an empty list is no list");
  // Anything else in the spec still changes the genesis.
  assert.notEqual(genesisBlock(normalizeChainSpec({ ...base, block_reward: "51" })).hash, genesisBlock(plain).hash);
});

test("the genesis vectors (one lists bootnodes) hash as pinned", () => {
  const v = JSON.parse(readFileSync(new URL("../../vectors/genesis.json", import.meta.url), "utf8")) as {
    cases: { name: string; spec: unknown; normalized_jcs: string; genesis: { hash: string } }[];
  };
  assert.ok(v.cases.some((c) => "bootnodes" in (c.spec as object)), "a vector with bootnodes");
  for (const c of v.cases) {
    const spec = normalizeChainSpec(c.spec);
    assert.equal(jcs(genesisCommitment(spec)), c.normalized_jcs, c.name);
    assert.equal(genesisBlock(spec).hash, c.genesis.hash, c.name);
  }
});

test("bad bootnodes are a ChainSpecError naming the entry", () => {
  const bad: [unknown, RegExp][] = [
    ["ws://boot.example.org:7072", /bootnodes: .*expected array/],
    [["http://boot.example.org:7072"], /bootnodes\.0: expected ws:\/\/host:port/],
    [["ws://boot.example.org"], /bootnodes\.0: expected ws:\/\/host:port/],
    [["ws://ok:1", "ws://boot.example.org:7072/path"], /bootnodes\.1: expected ws:\/\/host:port/],
    [["ws://boot.example.org:0"], /bootnodes\.0/],
    [["ws://user:pw@boot.example.org:1"], /bootnodes\.0/],
    [["ws://boot\n.example.org:1"], /bootnodes\.0/],
    [[`ws://${"a".repeat(60)}.${"b".repeat(60)}.${"c".repeat(60)}.${"d".repeat(60)}.example:1`], /bootnodes\.0/],
    [[7072], /bootnodes\.0/],
    [Array.from({ length: 33 }, (_, i) => `ws://10.0.0.${i}:7072`), /bootnodes: at most 32 entries/],
  ];
  for (const [bootnodes, re] of bad) {
    assert.throws(() => normalizeChainSpec({ ...base, bootnodes }), (e) => e instanceof ChainSpecError && re.test(e.message) && !e.message.includes("\n"), JSON.stringify(bootnodes).slice(0, 80));
  }
  assert.equal(normalizeChainSpec({ ...base, bootnodes: Array.from({ length: 32 }, (_, i) => `ws://10.0.0.${i}:7072`) }).bootnodes!.length, 32);
});

test("genesis validators and the registry parameters: each bad entry is a ChainSpecError naming it; the list is sorted by EBID", () => {
  const three = makeKeys(3, 20);
  const v = genesisValidators(three);
  const who = (i: number) => three[i]!.ebid.slice(0, 12);
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ initial_pool: [] }, /initial_pool was replaced by validators/],
    [{ validators: [v[0], v[0]] }, new RegExp(`${who(0)}… is listed twice`)],
    [{ validators: [v[0], { ...v[1], bls_pubkey: v[0]!.bls_pubkey }] }, /bls_pubkey is another validator's/],
    [{ validators: [{ ...v[0], bond: "999" }] }, /bond 999 below params\.min_bond \(1000\)/],
    [{ validators: [{ ...v[0], bond: (2n ** 128n).toString() }] }, /bond must be below 2\^128/],
    [{ validators: [{ ...v[0], bls_pubkey: `c0${"0".repeat(94)}` }] }, /not a valid BLS12-381 G1 public key/], // the identity
    [{ validators: [{ ...v[0], bls_pubkey: "11".repeat(48) }] }, /not a valid BLS12-381 G1 public key/],
    [{ validators: [{ ...v[0], bls_pubkey: v[0]!.bls_pubkey.toUpperCase() }] }, /validators\.0\.bls_pubkey/],
    [{ validators: v, allowlist: [three[0]!.ebid, three[2]!.ebid] }, new RegExp(`${who(1)}… is not in the allowlist`)],
    [{ validators: v, consensus: "pow" }, /pow chains have no validators/],
    [{ validators: v, params: { max_validators: 2 } }, /3 entries, more than params\.max_validators \(2\)/],
    [{ params: { activation_delay_epochs: 1 } }, /activation_delay_epochs must be >= 2/],
    [{ params: { epoch_length: 0 } }, /epoch_length must be >= 1/],
    [{ params: { unbonding_epochs: 0 } }, /unbonding_epochs must be >= 1/],
    [{ params: { min_bond: 0 } }, /min_bond must be >= 1/],
    [{ params: { max_validators: 0 } }, /max_validators must be 1\.\.10000/],
    [{ params: { max_validators: 10_001 } }, /max_validators must be 1\.\.10000/],
  ];
  for (const [over, re] of bad) {
    assert.throws(() => normalizeChainSpec({ ...base, ...over }), (e) => e instanceof ChainSpecError && re.test(e.message), JSON.stringify(over).slice(0, 80));
  }
  const ok = normalizeChainSpec({ ...base, validators: [v[2], v[0], v[1]], allowlist: three.map((k) => k.ebid) });
  assert.deepEqual(ok.validators.map((x) => x.ebid), three.map((k) => k.ebid).sort());
  assert.equal(genesisBlock(ok).hash, genesisBlock(normalizeChainSpec({ ...base, validators: v, allowlist: three.map((k) => k.ebid) })).hash, "the order listed does not matter");
  assert.deepEqual(normalizeChainSpec({ ...base, validators: undefined }).validators, [], "absent means none");
});
