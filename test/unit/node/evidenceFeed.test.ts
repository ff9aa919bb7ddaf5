// The node feeds its evidence pool (docs/protocol.md §6.5, node policy) through the real node on
// LevelDB and real P2P: two conflicting FFG votes of one validator gossiped by a raw peer make a
// `votes` item; two blocks by one producer at one height stored by the chain make a `blocks` item
// (the chain's equivocation event); both are offered to the producer while the offender is
// slashable. A block that executes an item counts in vision_slashings_total when it becomes the head.
import { test } from "node:test";
import assert from "node:assert/strict";
import { attest, blockFor, extend, makeKeys, makeSpec } from "../../helpers/fixtures.ts";
import { waitFor } from "../../helpers/net.ts";
import { loneNode } from "../../helpers/loneNode.ts";
import { fakeHash } from "../../helpers/slashing.ts";

const keys = makeKeys(3);
const spec = makeSpec(keys, { params: { checkpoint_interval: 8 } });
const I = spec.params.checkpoint_interval;

test("gossiped conflicting votes and stored equivocating blocks become evidence; the next block executes it and the metric counts it", async () => {
  const lone = await loneNode(spec);
  const { node, genesis } = lone;
  try {
    await extend(node.chain, keys, I); // head at the first checkpoint, height I
    const head = node.chain.head;
    // the voter is not the next height's primary, who will equivocate (one item per offender)
    const primary = (await node.chain.scheduleFor(head)).winners[0];
    const voter = keys.find((k) => k.ebid !== primary)!;
    const from = await lone.join();
    const g = { height: 0, hash: genesis };
    const one = attest(voter, head.height, head.hash, { source: g, target: { height: I, hash: head.hash } }, genesis);
    const two = attest(voter, head.height, fakeHash(7), { source: g, target: { height: I, hash: fakeHash(7) } }, genesis); // another checkpoint at height I: a double vote
    for (const a of [one, two]) from.ws.send(JSON.stringify({ type: "attestation", attestation: a }) + "\n");
    await waitFor(() => node.evidence.size === 1, 3000, "the double vote held as evidence");

    // two blocks by one producer at one height (slot 0 twice, two timestamps)
    const parent = node.chain.head;
    const a = await blockFor(node.chain, parent, keys, 0);
    const b = await blockFor(node.chain, parent, keys, 0, { timestamp: a.header.timestamp + 1 });
    for (const x of [a, b]) assert.equal((await node.chain.importBlock(x)).status, "imported");
    await waitFor(() => node.evidence.size === 2, 3000, "the equivocation held as evidence");

    const registry = await node.chain.registryAfter(node.chain.head);
    const items = node.evidence.pending(registry);
    assert.deepEqual(items.map((i) => i.kind).sort(), ["blocks", "votes"]);
    const next = await blockFor(node.chain, node.chain.head, keys, 0, { slashings: items });
    assert.equal((await node.chain.importBlock(next)).status, "imported");
    assert.equal(node.chain.head.hash, next.hash);
    await waitFor(async () => (await node.metrics.slashingsTotal.get()).values[0]?.value === 2, 3000, "vision_slashings_total counts the head's two items");
    // kept (a reorg may drop the block) but no longer offered: both offenders are slashed at the head
    assert.deepEqual(node.evidence.pending(await node.chain.registryAfter(node.chain.head)), []);
    from.ws.terminate();
  } finally {
    await lone.close();
  }
});

test("two conflicting votes of one validator for the same head are both checked: the second is evidence, not a copy", async () => {
  const lone = await loneNode(spec);
  const { node, genesis } = lone;
  try {
    await extend(node.chain, keys, 2 * I); // head at the second checkpoint
    const head = node.chain.head;
    const cp = (await node.chain.getCanonicalMeta(I))!;
    const voter = keys[1]!;
    const from = await lone.join();
    const target = { height: 2 * I, hash: head.hash };
    // One head, two sources for one target: a double vote (docs/protocol.md §6.5). Before it, votes
    // that conflict with neither, which must not use up the room the double vote needs: one for the
    // previous target (a height of the previous interval), and the same vote under another height.
    const cross = attest(voter, head.height - 1, head.hash, { source: { height: 0, hash: genesis }, target: { height: I, hash: cp.hash } }, genesis);
    const one = attest(voter, head.height, head.hash, { source: { height: 0, hash: genesis }, target }, genesis);
    const variant = attest(voter, head.height + 1, head.hash, { source: { height: 0, hash: genesis }, target }, genesis);
    const two = attest(voter, head.height, head.hash, { source: { height: I, hash: cp.hash }, target }, genesis);
    for (const a of [cross, one, variant, one, two]) from.ws.send(JSON.stringify({ type: "attestation", attestation: a }) + "\n");
    await waitFor(() => node.evidence.size === 1, 3000, "the double vote for one head held as evidence");
    const [item] = node.evidence.pending(await node.chain.registryAfter(head));
    assert.equal(item?.kind, "votes");
    from.ws.terminate();
  } finally {
    await lone.close();
  }
});

test("a validator that fills its cap per height with one side of a double vote does not hide the other side: it is checked, held as evidence and relayed", async () => {
  const lone = await loneNode(spec);
  const { node, genesis } = lone;
  try {
    await extend(node.chain, keys, 2 * I); // head at the second checkpoint
    const head = node.chain.head;
    const voter = keys[1]!;
    const from = await lone.join();
    const watcher = await lone.join();
    const target = { height: 2 * I, hash: head.hash };
    const source = { height: 0, hash: genesis };
    // One side, under four made-up heads: the most the node holds of one validator at one height.
    const fillers = [1, 2, 3, 4].map((i) => attest(voter, head.height, fakeHash(i), { source, target }, genesis));
    // The other side: another target block at the same target height (a double vote), and a vote
    // that surrounds nothing and conflicts with nothing, also past the cap (ignored, not checked).
    const other = attest(voter, head.height, fakeHash(9), { source, target: { height: 2 * I, hash: fakeHash(9) } }, genesis);
    const harmless = attest(voter, head.height, fakeHash(5), { source, target }, genesis);
    const lines = (xs: typeof fillers) => xs.map((a) => JSON.stringify({ type: "attestation", attestation: a }) + "\n").join("");
    from.ws.send(lines(fillers));
    await waitFor(() => fillers.every((f) => watcher.lines.some((l) => l.includes(f.block_hash))), 3000, "the four fillers relayed");
    from.ws.send(lines([harmless, other]));
    await waitFor(() => node.evidence.size === 1, 3000, "the other side held as evidence past the cap");
    const [item] = node.evidence.pending(await node.chain.registryAfter(head));
    assert.equal(item?.kind, "votes");
    await waitFor(() => watcher.lines.some((l) => l.includes(fakeHash(9))), 3000, "the evidence vote relayed, so other nodes see both sides");
    assert.ok(!watcher.lines.some((l) => l.includes(fakeHash(5))), "a fifth vote that is no evidence is neither checked nor relayed");
    from.ws.terminate();
    watcher.ws.terminate();
  } finally {
    await lone.close();
  }
});
