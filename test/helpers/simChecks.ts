// Checks of a simulator run's events shared by the adversary tests (test/unit/sim).
import type { SimulationRun } from "../../src/sim/driver.ts";

/**
 * The heights at which two nodes end the run on different heads (each node's last `head` event):
 * empty when every node converged (nodes at different heights are only behind or ahead).
 */
export function finalHeadsAgree(run: SimulationRun): number[] {
  const last = new Map<number, { height: number; hash: string }>();
  for (const e of run.events) if (e.type === "head") last.set(e.node, { height: e.height, hash: e.hash });
  const byHeight = new Map<number, Set<string>>();
  for (const h of last.values()) byHeight.set(h.height, (byHeight.get(h.height) ?? new Set()).add(h.hash));
  return [...byHeight].filter(([, s]) => s.size > 1).map(([h]) => h);
}

/** Nodes whose finalized checkpoint ever moved down or to another block at a height it had finalized. */
export function finalizedReverted(run: SimulationRun): number[] {
  const at = new Map<number, { height: number; hash: string }>();
  const bad = new Set<number>();
  for (const e of run.events) {
    if (e.type !== "finalize") continue;
    const prev = at.get(e.node);
    if (prev && (e.height < prev.height || (e.height === prev.height && e.hash !== prev.hash))) bad.add(e.node);
    at.set(e.node, { height: e.height, hash: e.hash });
  }
  return [...bad].sort((a, b) => a - b);
}

/**
 * Each node's chain at the end, height -> hash, walked from its last head through the produced
 * blocks' parents (a block no `produce` event names ends the walk: a double-block twin).
 */
function finalChains(run: SimulationRun): Map<number, Map<number, string>> {
  const parentOf = new Map<string, { parent: string; height: number }>();
  for (const e of run.events) if (e.type === "produce") parentOf.set(e.hash, { parent: e.parent, height: e.height });
  const last = new Map<number, string>();
  for (const e of run.events) if (e.type === "head") last.set(e.node, e.hash);
  const out = new Map<number, Map<number, string>>();
  for (const [node, head] of last) {
    const chain = new Map<number, string>();
    for (let h: string | undefined = head, p = parentOf.get(head); p; h = p.parent, p = parentOf.get(h)) chain.set(p.height, h);
    out.set(node, chain);
  }
  return out;
}

/**
 * The heights up to `upTo` at which two nodes' final chains (finalChains) hold different blocks:
 * empty when every node converged on one chain below the last heights still in flight at the end.
 */
export function chainsDisagree(run: SimulationRun, upTo: number): number[] {
  const chains = [...finalChains(run).values()];
  const bad: number[] = [];
  for (let h = 1; h <= upTo; h++) if (new Set(chains.map((c) => c.get(h))).size > 1) bad.push(h);
  return bad;
}
