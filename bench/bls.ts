/**
 * BLS (protocol version 2's RANDAO reveals): the time of one reveal verification through
 * `src/consensus/bls.ts` (`@chainsafe/blst`, native) against `@noble/curves`' pure-JS bls12-381
 * verifying the same reveals, a blst signature (what a producer spends per block), and the node's
 * ed25519 verification (`node:crypto`, the baseline every transaction pays), all in this run; then
 * a reveal verification as a share of `block_time_ms` 2000 (goal < 5%: a block's import verifies
 * one reveal).
 */
import { bls12_381 } from "@noble/curves/bls12-381.js";
import { blsPublicKeyHex, blsSecretKeyFromIkm, blsSignHex, blsVerify, clearBlsVerifyCache } from "../src/consensus/bls.ts";
import { revealMessage } from "../src/consensus/randao.ts";
import { Domain, clearVerifyCache, sign, verify } from "../src/consensus/signatures.ts";
import { fromHex } from "../src/consensus/encoding.ts";
import { makeKeys } from "../test/helpers/fixtures.ts";
import { goalLine } from "./api.ts";
import { median, fmt } from "./stats.ts";

/** Reveal verification time as a share of a 2000 ms block, at most (%). */
export const REVEAL_VERIFY_GOAL_PCT = 5;

const POP_DST = "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";

/** Median over `passes` passes of the mean ms per call of `fn` over `items`. */
function msPerOp<T>(items: readonly T[], passes: number, fn: (x: T) => void): number {
  const runs: number[] = [];
  for (let r = 0; r < passes; r++) {
    const t0 = performance.now();
    for (const x of items) fn(x);
    runs.push((performance.now() - t0) / items.length);
  }
  return median(runs);
}

function mustHold(ok: boolean): void {
  if (!ok) throw new Error("a valid signature did not verify");
}

export async function benchBls(n = 300): Promise<{ blstVerifyMs: number; nobleVerifyMs: number; blstSignMs: number; ed25519VerifyMs: number }> {
  const sk = blsSecretKeyFromIkm(new Uint8Array(32).fill(1));
  const pk = blsPublicKeyHex(sk);
  const reveals = Array.from({ length: n }, (_, i) => {
    const msg = revealMessage("bench", i + 1);
    return { msg, sig: blsSignHex(sk, msg) };
  });
  // cold: bls.ts caches successful verifications, so each pass starts with an empty cache
  const blstVerifyMs = msPerOp(reveals, 5, (r) => {
    clearBlsVerifyCache();
    mustHold(blsVerify(pk, r.msg, r.sig));
  });
  const noble = bls12_381.longSignatures;
  const pkBytes = fromHex(pk);
  const nobleVerifyMs = msPerOp(reveals.slice(0, 10), 3, (r) => mustHold(noble.verify(fromHex(r.sig), noble.hash(r.msg, POP_DST), pkBytes)));
  const blstSignMs = msPerOp(reveals, 5, (r) => blsSignHex(sk, r.msg));
  // the node's ed25519 path (signing message, node:crypto's OpenSSL verify), its cache emptied first
  const [k] = makeKeys(1);
  const txs = Array.from({ length: 3000 }, (_, i) => {
    const body = { chain_id: "bench", from: k!.ebid, to: k!.ebid, amount: String(i + 1), fee: "1", nonce: i };
    return { body, sig: sign(Domain.tx, body, k!.secretKey) };
  });
  const ed25519VerifyMs = msPerOp([0], 5, () => {
    clearVerifyCache();
    for (const x of txs) mustHold(verify(Domain.tx, x.body, x.sig, k!.ebid));
  }) / txs.length;

  console.log(`\nBLS12-381 (min-pk, POP DST), ms per operation (medians; ${n} reveals, noble over 10):`);
  console.log(`  reveal verify: blst ${fmt(blstVerifyMs, 3)} ms; @noble/curves ${fmt(nobleVerifyMs, 2)} ms; ratio noble/blst ${fmt(nobleVerifyMs / blstVerifyMs, 1)}x`);
  console.log(`  reveal sign (blst): ${fmt(blstSignMs, 3)} ms`);
  console.log(`  baseline ed25519 verify (node:crypto, the node's path): ${fmt(ed25519VerifyMs, 4)} ms; reveal verify / ed25519 verify ${fmt(blstVerifyMs / ed25519VerifyMs, 1)}x`);
  const pct = (100 * blstVerifyMs) / 2000;
  console.log(`  a reveal verify = ${fmt(pct, 3)}% of block_time_ms 2000`);
  console.log(goalLine("reveal verify share of a 2000 ms block", pct, REVEAL_VERIFY_GOAL_PCT, "lower", "%", 3));
  return { blstVerifyMs, nobleVerifyMs, blstSignMs, ed25519VerifyMs };
}
