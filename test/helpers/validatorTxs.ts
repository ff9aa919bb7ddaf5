// Bond, unbond and withdraw transactions signed the way docs/protocol.md §3.4 says, built here from
// the signing primitives (not the node's own signers), so the tests cross-check them.
import { Domain, sign } from "../../src/consensus/signatures.ts";
import { blsPublicKeyHex, blsSignHex } from "../../src/consensus/bls.ts";
import { popMessage } from "../../src/consensus/randao.ts";
import type { Tx } from "../../src/consensus/types.ts";
import type { TestKey } from "./fixtures.ts";

/** A signed bond by `k` of `amount` with its own BLS key (or `bls`), its PoP over `popEbid` (default: k) by `popSigner` (default: the bonded key). */
export function bondTx(
  k: TestKey,
  chainId: string,
  nonce: number,
  o: { amount?: string; fee?: string; bls?: Uint8Array; blsPubkey?: string; popSigner?: Uint8Array; popEbid?: string; pop?: string } = {},
): Tx {
  const blsSecret = o.bls ?? k.blsSecretKey;
  const blsPubkey = o.blsPubkey ?? blsPublicKeyHex(blsSecret);
  const pop = o.pop ?? blsSignHex(o.popSigner ?? blsSecret, popMessage(chainId, o.popEbid ?? k.ebid, blsPubkey));
  const unsigned = { chain_id: chainId, kind: "bond", from: k.ebid, amount: o.amount ?? "1000", fee: o.fee ?? "1", nonce, bls_pubkey: blsPubkey, pop };
  return { ...unsigned, sig: sign(Domain.tx, unsigned, k.secretKey) } as unknown as Tx;
}

/** A signed unbond or withdraw by `k`. */
export function exitTx(kind: "unbond" | "withdraw", k: TestKey, chainId: string, nonce: number, fee = "1"): Tx {
  const unsigned = { chain_id: chainId, kind, from: k.ebid, fee, nonce };
  return { ...unsigned, sig: sign(Domain.tx, unsigned, k.secretKey) } as unknown as Tx;
}
