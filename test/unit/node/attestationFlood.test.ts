// One bonded validator signing attestations for made-up block hashes at one height: each would be
// signature-checked, held and relayed to every peer, without bound until the height is pruned.
// The pool holds at most MAX_ATTESTATIONS_PER_EBID_HEIGHT per (ebid, height) and the node checks
// that bound before the signature, relaying no more. Two raw peers over real WebSockets, a node on
// real LevelDB.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { MAX_ATTESTATIONS_PER_EBID_HEIGHT } from "../../../src/chain/attestationPool.ts";
import { attest, makeKeys, makeSpec } from "../../helpers/fixtures.ts";
import { waitFor } from "../../helpers/net.ts";
import { loneNode } from "../../helpers/loneNode.ts";

const keys = makeKeys(3);
const spec = makeSpec(keys);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("a validator's attestations for 200 made-up blocks at one height: the pool holds and relays a bounded few; another validator's still gets through", async () => {
  const lone = await loneNode(spec);
  const { node, genesis } = lone;
  try {
    const from = await lone.join();
    const to = await lone.join();
    const relayed = () => to.lines.filter((l) => l.includes('"type":"attestation"')).length;
    await waitFor(() => node.attestations.isActive(keys[1]!.ebid, 0) === true, 3000, "active set known");
    for (let i = 0; i < 200; i++) from.ws.send(JSON.stringify({ type: "attestation", attestation: attest(keys[1]!, 0, randomBytes(32).toString("hex"), genesis) }) + "\n");
    const honest = attest(keys[2]!, 0, genesis, genesis);
    from.ws.send(JSON.stringify({ type: "attestation", attestation: honest }) + "\n");
    await waitFor(() => to.lines.some((l) => l.includes(honest.ebid)), 3000, "the other validator's attestation relayed");
    await sleep(200);
    assert.ok(node.attestations.size <= MAX_ATTESTATIONS_PER_EBID_HEIGHT + 1, `pool holds ${node.attestations.size}`);
    assert.ok(relayed() <= MAX_ATTESTATIONS_PER_EBID_HEIGHT + 1, `relayed ${relayed()}`);
    from.ws.terminate();
    to.ws.terminate();
  } finally {
    await lone.close();
  }
});
