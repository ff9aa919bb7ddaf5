// Free identities buy nothing (docs/protocol.md §5, §9.5): attestations from 200 unbonded keys sent
// to a node over P2P are ignored before any signature check (no strike even for a forged one), not
// stored and not relayed, and a template the node builds carries none of them; a genesis
// validator's attestation is relayed and included. Two raw peers over real WebSockets, a node on
// real LevelDB.
import { test } from "node:test";
import assert from "node:assert/strict";
import { pino } from "pino";
import { buildTemplate } from "../../../src/producer/template.ts";
import { attest, makeKeys, makeSpec, silentLog } from "../../helpers/fixtures.ts";
import { waitFor } from "../../helpers/net.ts";
import { loneNode } from "../../helpers/loneNode.ts";
import { freshKey } from "../p2p/attackKit.ts";

const keys = makeKeys(3);
const spec = makeSpec(keys);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("attestations from 200 unbonded keys are refused on import (before the signature) and not relayed; the pool does not change; a validator's is relayed and included", async () => {
  const warnings: Record<string, unknown>[] = [];
  const log = pino({ level: "warn" }, { write: (l: string) => void warnings.push(JSON.parse(l) as Record<string, unknown>) });
  const lone = await loneNode(spec, log);
  const { node, genesis } = lone;
  try {
    const from = await lone.join();
    const to = await lone.join();
    const relayed = () => to.lines.filter((l) => l.includes('"type":"attestation"')).map((l) => (JSON.parse(l) as { attestation: { ebid: string } }).attestation.ebid);
    const sybils = Array.from({ length: 200 }, () => attest(freshKey(), 0, genesis, genesis));
    for (const a of sybils) from.ws.send(JSON.stringify({ type: "attestation", attestation: a }) + "\n");
    // A forged one from an unbonded key: had its signature been checked, that would be a strike.
    const forged = { ...attest(freshKey(), 0, genesis, genesis), sig: "00".repeat(64) };
    from.ws.send(JSON.stringify({ type: "attestation", attestation: forged }) + "\n");
    const validator = attest(keys[1]!, 0, genesis, genesis);
    from.ws.send(JSON.stringify({ type: "attestation", attestation: validator }) + "\n");
    await waitFor(() => relayed().includes(validator.ebid), 3000, "the validator's attestation relayed");
    await sleep(200);
    assert.deepEqual(relayed(), [validator.ebid], "only the validator's attestation is relayed");
    assert.equal(node.attestations.size, 1, "the pool holds the validator's attestation only");
    assert.equal(node.p2p.readyPeers().length, 2, "the sender is still connected");
    assert.deepEqual(warnings.filter((w) => w.msg === "Peer sent invalid data"), [], "no strike: unbonded keys are ignored quietly");
    const t = await buildTemplate({ chain: node.chain, attestations: node.attestations, mempool: node.mempool, log: silentLog }, node.chain.head, {
      producer: keys[0]!.ebid, slot: 0, timestamp: node.chain.head.timestamp + 1, difficulty: 1,
    });
    assert.deepEqual(t.attestations.map((a) => a.ebid), [validator.ebid], "the block carries the validator's attestation and none of the 200");
    from.ws.terminate();
    to.ws.terminate();
  } finally {
    await lone.close();
  }
});
