// An attestation's FFG vote must have the shape docs/protocol.md §3.4 gives (§9.5): a validator's
// attestation whose target is not its head's checkpoint height, or that links a non-genesis source
// in interval 0, is refused before its signature (the sender is struck), not held and not relayed;
// a well-formed one is. Two raw peers over real WebSockets, a node on real LevelDB.
import { test } from "node:test";
import assert from "node:assert/strict";
import { pino } from "pino";
import { attest, makeKeys, makeSpec } from "../../helpers/fixtures.ts";
import { waitFor } from "../../helpers/net.ts";
import { loneNode } from "../../helpers/loneNode.ts";

const keys = makeKeys(3);
const spec = makeSpec(keys);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("a validator's attestation with a malformed FFG vote is struck before its signature and neither held nor relayed; a well-formed one is relayed", async () => {
  const warnings: Record<string, unknown>[] = [];
  const log = pino({ level: "warn" }, { write: (l: string) => void warnings.push(JSON.parse(l) as Record<string, unknown>) });
  const lone = await loneNode(spec, log);
  const { node, genesis } = lone;
  try {
    const from = await lone.join();
    const to = await lone.join();
    const relayed = () => to.lines.filter((l) => l.includes('"type":"attestation"')).map((l) => (JSON.parse(l) as { attestation: { ebid: string } }).attestation.ebid);
    const g = { height: 0, hash: genesis };
    const other = { height: 0, hash: "cd".repeat(32) };
    // Interval 0 (height 0): the target must be genesis at height 0, with genesis as the source too.
    const badTarget = attest(keys[1]!, 0, genesis, { source: g, target: { height: 8, hash: genesis } }, genesis);
    const badSource = { ...attest(keys[2]!, 0, genesis, { source: other, target: g }, genesis), sig: "00".repeat(64) }; // its signature is never looked at
    for (const a of [badTarget, badSource]) from.ws.send(JSON.stringify({ type: "attestation", attestation: a }) + "\n");
    await waitFor(() => warnings.filter((w) => w.msg === "Peer sent invalid data" && /FFG vote/.test(String(w.reason))).length === 2, 3000, "two strikes naming the FFG vote");
    assert.ok(!warnings.some((w) => /signature/.test(String(w.reason))), "refused before the signature check");
    assert.equal(node.attestations.size, 0, "neither is held");
    const good = attest(keys[1]!, 0, genesis, genesis);
    from.ws.send(JSON.stringify({ type: "attestation", attestation: good }) + "\n");
    await waitFor(() => relayed().includes(good.ebid), 3000, "the well-formed attestation relayed");
    await sleep(100);
    assert.deepEqual(relayed(), [good.ebid]);
    from.ws.terminate();
    to.ws.terminate();
  } finally {
    await lone.close();
  }
});
