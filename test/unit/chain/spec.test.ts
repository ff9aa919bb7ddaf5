// Chain spec `bootnodes`: validated, kept in the normalized spec, left out of the genesis commitment.
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
