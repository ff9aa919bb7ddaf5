/**
 * Finality after a stall (docs/protocol.md §5a, §6.6), on a running 4-validator testnet: two
 * validators are killed (2 of 4 votes: finality stalls while the other two go on producing), then
 * restarted, and the run measures in blocks how long after their return finality moves again.
 *
 * What bounds it: a restarted validator fixes its watched checkpoint `W` (its first synced head's
 * checkpoint) and signs votes from head `W + I` on (§6.6 rule 5: a vote made before its start
 * targets at most `W`); those votes justify `W + I` in the next block, and the votes of heads
 * `W + 2·I ..` justify `W + 2·I` with it as source, which finalizes `W + I` in the block that
 * carries them: at most `2·I + 1` blocks after its first synced head, `I + 1` after it armed (with
 * two of four down, the first of them to arm brings the third vote), when the checkpoint blocks are
 * slot 0; a backup's checkpoint block is voted for once its branch weighs more than 2 (§5 "Who
 * attests": at most two heads later), so `2·I + 3` and `I + 3` at worst. Finality has resumed when
 * every node's finalized height passed the stall (the figures are taken at the first node's).
 * Shared by test/e2e/finalityLiveness.test.ts (a generous bound) and `npm run bench -- --only
 * finality-resume` (the distribution over rounds).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { settled, sleep, up } from "./common.ts";
import type { LocalNet, LocalNode } from "./localnet.ts";
import { getJson } from "../util/http.ts";

/** `/api/chain/head`, the fields the finality drills read. */
export type FinHead = { height: number; hash: string; finalized: { height: number; hash: string }; justified?: { height: number; hash: string } };

/** What one kill-two-and-return round measured; heights in blocks. */
export interface ResumeRound {
  /** the finalized height while two validators were down */
  stalledAt: number;
  /** the head height at which every node was eligible at one tip again (the drills' `settled`) */
  syncedAt: number;
  /**
   * the first synced head of the returned validator that arms first (its slashing protection's wait
   * line): with two of four down, one of them back gives the 3 votes of 4 that finality needs
   */
  firstSyncedHead: number;
  /** the head height from which that validator signs votes (`W + I`) */
  armedFrom: number;
  /** the greatest head height at the first poll that saw a finalized checkpoint above `stalledAt` */
  resumedAt: number;
  /** the finalized height then */
  finalized: number;
}

/** @returns the nodes' heads (`/api/chain/head`) */
export const finHeads = (nodes: readonly LocalNode[]) => Promise.all(nodes.map((n) => getJson<FinHead>(`${n.api}/api/chain/head`)));

/**
 * Polls `nodes` every 250 ms until `done(heads)` holds; `check(heads)` runs at every poll (it
 * throws to fail). @returns the heads that satisfied `done` @throws after `ms`
 */
export async function watchHeads(nodes: readonly LocalNode[], ms: number, what: string, done: (h: FinHead[]) => boolean, check: (h: FinHead[]) => void = () => undefined): Promise<FinHead[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const h = await finHeads(nodes).catch(() => undefined);
    if (h) {
      check(h);
      if (done(h)) return h;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}; last heads ${JSON.stringify(h?.map((x) => [x.height, x.finalized.height]))}`);
    await sleep(250);
  }
}

export const maxOf = (h: FinHead[], f: (x: FinHead) => number) => Math.max(...h.map(f));
export const minOf = (h: FinHead[], f: (x: FinHead) => number) => Math.min(...h.map(f));

/** The last slashing-protection wait line in a node's log: its first synced head and the height votes arm at. */
function waitLine(n: LocalNode): { height: number; until: number } {
  const lines = readFileSync(join(n.dataDir, "node.log"), "utf8").split("\n").filter((l) => l.includes('"until_height"') && l.includes("Slashing protection: no votes until"));
  const last = lines.at(-1);
  if (!last) throw new Error(`${n.name}: no slashing protection wait line in its log`);
  const j = JSON.parse(last) as { height: number; until_height: number };
  return { height: j.height, until: j.until_height };
}

/**
 * Kills `down` (SIGKILL), checks that finality stalls while the others produce `2·I` more blocks
 * (it throws if the finalized height moves), restarts them and waits for finality to move.
 * @param I the chain's checkpoint_interval
 * @throws when finality moves during the stall, or a wait times out
 */
export async function killTwoAndReturn(net: LocalNet, down: readonly LocalNode[], I: number, print: (line: string) => void): Promise<ResumeRound> {
  // every node's head before the kill (a block may land before it): the votes the killed ones cast
  // target at most its checkpoint, and are included within attestation_max_age <= I blocks
  const killedAt = maxOf(await finHeads(net.nodes.filter(up)), (x) => x.height) + 1;
  await Promise.all(down.map((n) => net.kill(n, "SIGKILL")));
  const live = net.nodes.filter(up);
  const settledStall = await watchHeads(live, 90_000, "the votes cast before the kill to be included", (h) => minOf(h, (x) => x.height) >= killedAt + I + 2);
  const stalledAt = maxOf(settledStall, (x) => x.finalized.height);
  const fromHeight = minOf(settledStall, (x) => x.height);
  const stalled = await watchHeads(
    live, 120_000, `${2 * I} more blocks with ${down.length} validators down`,
    (h) => minOf(h, (x) => x.height) >= fromHeight + 2 * I,
    (h) => {
      if (maxOf(h, (x) => x.finalized.height) > stalledAt) throw new Error(`finalized moved past ${stalledAt} with ${down.length} validators down: ${JSON.stringify(h.map((x) => x.finalized))}`);
    },
  );
  print(`stall: finalized ${stalledAt} while the head went from ${fromHeight} to ${minOf(stalled, (x) => x.height)}`);

  for (const n of down) net.start(n);
  await settled(net, 90_000);
  const syncedAt = maxOf(await finHeads(net.nodes), (x) => x.height);
  let seen = "";
  const resumed = await watchHeads(net.nodes, 90_000, "finality to resume", (h) => maxOf(h, (x) => x.finalized.height) > stalledAt, (h) => {
    const now = h.map((x) => `${x.height}/${x.justified?.height}/${x.finalized.height}`).join(" ");
    if (now !== seen) print(`  head/justified/finalized: ${(seen = now)}`);
  });
  const first = down.map(waitLine).sort((a, b) => a.until - b.until || a.height - b.height)[0]!;
  const r: ResumeRound = {
    stalledAt,
    syncedAt,
    firstSyncedHead: first.height,
    armedFrom: first.until,
    resumedAt: maxOf(resumed, (x) => x.height),
    finalized: maxOf(resumed, (x) => x.finalized.height),
  };
  print(
    `resumed: finalized ${r.finalized} at head ${r.resumedAt}: ${r.resumedAt - r.syncedAt} blocks after every node was in sync at ${r.syncedAt}, ` +
      `${r.resumedAt - r.firstSyncedHead} after the returned validators' first synced head ${r.firstSyncedHead} (bound 2·I + 1 = ${2 * I + 1}, ${2 * I + 3} with backups' checkpoint blocks), ` +
      `${r.resumedAt - r.armedFrom} after they armed at ${r.armedFrom} (bound I + 1 = ${I + 1}, ${I + 3} with backups' checkpoint blocks)`,
  );
  // resumed on every node, not on one alone (a node left behind would pass the first poll)
  await watchHeads(net.nodes, 60_000, "every node's finality to resume", (h) => minOf(h, (x) => x.finalized.height) > stalledAt);
  return r;
}
