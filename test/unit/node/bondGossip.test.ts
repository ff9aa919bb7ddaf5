// A bond's proof of possession costs a BLS verification: over P2P, a bond whose PoP does not verify
// is a strike (like a bad transaction signature),
// and a bond refused by a cheap check (the sender already bonded) costs no verification and no
// strike. A raw peer over a real WebSocket, a node on real LevelDB.
import { test } from "node:test";
import assert from "node:assert/strict";
import { pino } from "pino";
import { makeKeys, makeSpec } from "../../helpers/fixtures.ts";
import { bondTx } from "../../helpers/validatorTxs.ts";
import { waitFor } from "../../helpers/net.ts";
import { loneNode } from "../../helpers/loneNode.ts";
import { blsSecretKeyFromIkm } from "../../../src/consensus/bls.ts";

const keys = makeKeys(4);
const alloc = Object.fromEntries(keys.map((k) => [k.ebid, "100000"]));
const spec = makeSpec(keys.slice(0, 2), { alloc });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("gossip: a bond with a bad proof of possession is a strike; a valid one is pooled; an already bonded sender's bond is refused quietly", async () => {
  const warnings: Record<string, unknown>[] = [];
  const log = pino({ level: "warn" }, { write: (l: string) => void warnings.push(JSON.parse(l) as Record<string, unknown>) });
  const lone = await loneNode(spec, log);
  const { node } = lone;
  try {
    const from = await lone.join();
    const strikes = () => warnings.filter((w) => w.msg === "Peer sent invalid data");
    const send = (tx: unknown) => from.ws.send(JSON.stringify({ type: "tx", tx }) + "\n");
    // an already bonded sender (a genesis validator): ALREADY_BONDED before any signature, no strike
    send(bondTx(keys[0]!, spec.chain_id, 0));
    await sleep(200);
    assert.deepEqual(strikes(), []);
    // a PoP by another key than bls_pubkey's: BAD_POP, a strike
    send(bondTx(keys[2]!, spec.chain_id, 0, { popSigner: blsSecretKeyFromIkm(new Uint8Array(32).fill(77)) }));
    await waitFor(() => strikes().length === 1, 3000, "a strike for the bad PoP");
    assert.match(String(strikes()[0]!.reason), /BAD_POP/);
    assert.equal(node.mempool.size, 0);
    // a valid bond is pooled
    const good = bondTx(keys[3]!, spec.chain_id, 0);
    send(good);
    await waitFor(() => node.mempool.size === 1, 3000, "the valid bond pooled");
    assert.equal(strikes().length, 1);
    from.ws.terminate();
  } finally {
    await lone.close();
  }
});
