// A synthetic simulator run for the report's tests: n nodes, one block a height (a backup's slot
// and a one-block fork now and then), first copies arriving 20-300 ms after production and a
// second copy at some nodes, finality two heights behind. Deterministic arithmetic, no clock.
import type { SimEvent, SimRun } from "../../src/sim/summarize.ts";

const hashOf = (height: number, fork = 0) => (fork ? "f" : "a") + height.toString(16).padStart(63, "0");

/** The run; the producer of height h is validator h mod n, validator 0 is the adversary "withholder", and the last node crashes halfway. */
export function syntheticRun(nodes: number, heights: number): SimRun {
  const events: SimEvent[] = [];
  let at = 0;
  let parent = "0".repeat(64);
  const spread = (b: string, from: number, t0: number, height: number) => {
    for (let node = 0; node < nodes; node++) {
      if (node === from) continue;
      const delay = 20 + ((node * 7919 + height * 104_729) % 281);
      events.push({ type: "deliver", atMs: t0 + delay, node, hash: b });
      if ((node + height) % 3 === 0) events.push({ type: "deliver", atMs: t0 + delay + 40, node, hash: b });
    }
  };
  for (let h = 1; h <= heights; h++) {
    const slot = h % 7 === 0 ? 1 : 0;
    at += 1000 + slot * 1000 + ((h * 37) % 200);
    const producer = h % nodes;
    if (h % 11 === 0) {
      // A fork at h: a block that loses its height, seen by a few nodes that then reorg.
      const lost = hashOf(h, 1);
      events.push({ type: "produce", atMs: at - 300, node: (producer + 1) % nodes, hash: lost, parent, height: h, slot: slot + 1, producer: `v${(producer + 1) % nodes}` });
      for (let k = 2; k <= 3; k++) events.push({ type: "head", atMs: at - 200, node: (producer + k) % nodes, height: h, hash: lost, reorgDepth: 0 });
    }
    const b = hashOf(h);
    events.push({ type: "produce", atMs: at, node: producer, hash: b, parent, height: h, slot, producer: `v${producer}` });
    spread(b, producer, at, h);
    for (let node = 0; node < nodes; node++) {
      const reorged = h % 11 === 0 && (node === (producer + 2) % nodes || node === (producer + 3) % nodes);
      events.push({ type: "head", atMs: at + 300, node, height: h, hash: b, reorgDepth: reorged ? 1 : 0 });
      if (h > 2) events.push({ type: "finalize", atMs: at + 400, node, height: h - 2, hash: hashOf(h - 2) });
    }
    parent = b;
  }
  events.sort((x, y) => x.atMs - y.atMs);
  return {
    nodes,
    heights,
    seed: 1,
    startMs: 0,
    endMs: at + 1000,
    validators: Array.from({ length: nodes }, (_, i) => (i === 0 ? { id: `v${i}`, adversary: "withholder" } : { id: `v${i}` })),
    traffic: Array.from({ length: nodes }, (_, i) => ({ bytesSent: 100_000 + i * 5000, bytesReceived: 90_000 + i * 3000 })),
    events,
    crashed: [{ node: nodes - 1, atMs: Math.floor(at / 2) }],
    stallWindowMs: 10_800,
  };
}
