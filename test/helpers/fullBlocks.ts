// A chain of full blocks on real LevelDB: `blocks` blocks of `txsPerBlock` signed transfers each,
// built and imported (fully validated) in-process, for a node process to serve afterwards.
// Transfers are signed with node:crypto (OpenSSL, ~20x faster than @noble/ed25519 here); the
// signatures are the same RFC 8032 bytes, so the chain is valid for any verifier.
import { createPrivateKey, sign as cryptoSign, type KeyObject } from "node:crypto";
import { writeFileSync } from "node:fs";
import { Domain, ebidOf, signingMessage } from "../../src/consensus/signatures.ts";
import type { Tx } from "../../src/consensus/types.ts";
import type { ChainSpec } from "../../src/chain/spec.ts";
import { blockFor, makeKeys, makeSpec, openTestChain, type TestKey } from "./fixtures.ts";

// DER PKCS#8 prefix for a raw 32-byte ed25519 seed (RFC 8410).
const PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

interface Sender {
  ebid: string;
  key: KeyObject;
}

function sender(i: number): Sender {
  const seed = Buffer.alloc(32);
  seed.writeUInt32BE(i + 1, 0);
  seed.fill(0x5a, 4);
  return { ebid: ebidOf(seed), key: createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: "der", type: "pkcs8" }) };
}

function transfer(chainId: string, from: Sender, to: string, nonce: number): Tx {
  const unsigned = { chain_id: chainId, from: from.ebid, to, amount: "1", fee: "1", nonce };
  return { ...unsigned, sig: cryptoSign(null, signingMessage(Domain.tx, unsigned), from.key).toString("hex") };
}

/**
 * Builds the chain into the node data dir `dir` (`dir/chaindata`) and writes its spec to
 * `specFile`. One producer key (seed 1); `txsPerBlock` funded senders each send one transfer per
 * block.
 * @returns the spec, the producer key and the head hash
 */
export async function buildFullChain(dir: string, specFile: string, blocks: number, txsPerBlock: number): Promise<{ spec: ChainSpec; keys: TestKey[]; tipHash: string }> {
  const keys = makeKeys(1);
  const senders = Array.from({ length: txsPerBlock }, (_, i) => sender(i));
  const spec = makeSpec(keys, { alloc: Object.fromEntries(senders.map((s) => [s.ebid, "1000000000"])) });
  writeFileSync(specFile, JSON.stringify(spec));
  const c = await openTestChain(spec, dir);
  try {
    c.clock.now = Date.now();
    const sink = keys[0]!.ebid;
    for (let h = 0; h < blocks; h++) {
      const txs = senders.map((s) => transfer(spec.chain_id, s, sink, h));
      const out = await c.chain.importBlock(await blockFor(c.chain, c.chain.head, keys, 0, { txs }));
      if (out.status !== "imported") throw new Error(`fixture block ${h + 1} not imported: ${out.status}`);
    }
    return { spec, keys, tipHash: c.chain.head.hash };
  } finally {
    await c.close();
  }
}
