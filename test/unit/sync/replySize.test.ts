// The block sizes docs/protocol.md §9.6 states next to the reply byte cap, from the wire limits:
// every field at its longest (64-character chain id, 78-digit amounts, 2^53-1 numbers, 128
// attestations), as a MinerBlock in a reply.
import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultChainParams, MAX_ATTESTATIONS_PER_BLOCK } from "../../../src/consensus/params.ts";
import { MAX_WIRE_TXS } from "../../../src/consensus/wire.ts";
import { MAX_REPLY_BYTES } from "../../../src/sync/protocol.ts";
import { defaultP2POptions } from "../../../src/p2p/options.ts";
import { makeSpec } from "../../helpers/fixtures.ts";

const MIB = 2 ** 20;
const h64 = "f".repeat(64);
const sig = "f".repeat(128);
const big = Number.MAX_SAFE_INTEGER;
const tx = { chain_id: "c".repeat(64), from: h64, to: h64, amount: "9".repeat(78), fee: "9".repeat(78), nonce: big, sig };
const att = { ebid: h64, height: big, block_hash: h64, sig };
const header = { version: 2, height: big, parent_hash: h64, timestamp: big, producer: h64, slot: 64, difficulty: 64, nonce: big, tx_root: h64, attestations_root: h64, state_root: h64, validators_root: h64, mix: h64, randao_reveal: "f".repeat(192) };
const status = { epoch: big, is_canonical: true, is_orphaned: false, seen_at: big, orphaned_at: big, orphan_reason: "x".repeat(64), competing_hash: h64 };
const txBytes = JSON.stringify(tx).length + 1;
const base = JSON.stringify({ hash: h64, header, signature: sig, txs: [], attestations: Array(MAX_ATTESTATIONS_PER_BLOCK).fill(att), ...status }).length;
const size = (txs: number) => base + txs * txBytes;

test("§9.6: the largest block under the default max_block_txs is ~0.31 MiB, so a reply holds at least 6", () => {
  const mib = size(defaultChainParams.max_block_txs) / MIB;
  assert.ok(Math.abs(mib - 0.31) < 0.01, `${mib} MiB`);
  assert.ok(Math.floor(MAX_REPLY_BYTES / size(defaultChainParams.max_block_txs)) >= 6);
});

test("§9.6: at the spec's limit of 3,000 transfers a block is ~1.66 MiB, so any valid block fits one reply and one line", () => {
  assert.equal(MAX_WIRE_TXS, 3_000);
  const bytes = size(MAX_WIRE_TXS);
  assert.ok(Math.abs(bytes / MIB - 1.66) < 0.02, `${bytes / MIB} MiB`);
  assert.ok(bytes <= MAX_REPLY_BYTES, "fits one reply");
  assert.ok(bytes <= defaultP2POptions.maxLineBytes - 64 * 1024, "fits one line");
});

test("a chain spec with max_block_txs above the wire limit is refused", () => {
  assert.throws(() => makeSpec([], { params: { max_block_txs: MAX_WIRE_TXS + 1 } }), /max_block_txs must be <= 3000/);
  assert.equal(makeSpec([], { params: { max_block_txs: MAX_WIRE_TXS } }).params.max_block_txs, MAX_WIRE_TXS);
});
