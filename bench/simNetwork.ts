/**
 * The simulator's network model (`src/sim/network.ts`): events per second (a send and its
 * delivery are two events) with 1,000 nodes over the default regions, each sending a 6 KB message
 * (about a block of wire JSON) to 8 fixed peers per round, one round per 2,000 ms of virtual time,
 * with jitter, 1% loss and a download bandwidth on (the model's slowest path). Against the bare
 * VirtualClock scheduling and firing the same number of timers with the same delays (the floor any
 * model on that clock has), in the same run; medians of 3 passes.
 *
 * The simulator's budget is 1,000 nodes x 1,000 heights in 10 minutes: one block gossiped to 8 peers
 * by every node at every height is 8,000,000 messages, whose share of the budget is printed.
 */
import { VirtualClock, seededRng } from "../src/util/clock.ts";
import { NetworkModel } from "../src/sim/network.ts";
import { fmt, median } from "./stats.ts";

const NODES = 1_000;
const PEERS = 8;
const BYTES = 6_000;
const ROUND_MS = 2_000;
const BUDGET_S = 600;
const BUDGET_MESSAGES = NODES * 1_000 * PEERS;

/** Each node's 8 peers: distinct, never itself, from a seeded Rng. */
function peersOf(n: number): number[][] {
  const rng = seededRng(1);
  return Array.from({ length: n }, (_, i) => {
    const set = new Set<number>();
    while (set.size < PEERS) {
      const p = rng.int(n);
      if (p !== i) set.add(p);
    }
    return [...set];
  });
}

/** One pass of the model: events (sends + deliveries) and the wall time they took (ms). */
function passModel(rounds: number, peers: number[][]): { events: number; ms: number; delivered: number } {
  const clock = new VirtualClock();
  const net = new NetworkModel<number>({ clock, rng: seededRng(7), jitter: 0.1, loss: 0.01, uploadBytesPerS: 12_500_000, downloadBytesPerS: 12_500_000 });
  const names = peers.map((_, i) => `n${i}`);
  for (const name of names) net.addNode(name);
  let delivered = 0;
  net.onDeliver(() => delivered++);
  let sends = 0;
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < names.length; i++) {
      for (const p of peers[i]!) {
        net.sendPayload(names[i]!, names[p]!, BYTES, r);
        sends++;
      }
    }
    clock.advance(ROUND_MS);
  }
  clock.runUntil(() => clock.pending === 0);
  return { events: sends + delivered, ms: performance.now() - t0, delivered };
}

/** The floor: the bare clock scheduling and firing as many timers, with delays like the model's. */
function passClock(rounds: number, peers: number[][]): { events: number; ms: number } {
  const clock = new VirtualClock();
  const rng = seededRng(7);
  let fired = 0;
  let scheduled = 0;
  const fire = () => void fired++;
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < peers.length; i++) {
      for (let k = 0; k < peers[i]!.length; k++) {
        clock.setTimeout(fire, 1 + rng.int(150));
        scheduled++;
      }
    }
    clock.advance(ROUND_MS);
  }
  clock.runUntil(() => clock.pending === 0);
  return { events: scheduled + fired, ms: performance.now() - t0 };
}

export async function benchSimNetwork(rounds = 50): Promise<void> {
  console.log(`\n== sim-network: ${NODES} nodes x ${PEERS} peers, ${BYTES} B a message, ${rounds} rounds of ${ROUND_MS} ms (jitter 0.1, loss 0.01, 100 Mbit/s up and down) ==`);
  const peers = peersOf(NODES);
  passModel(5, peers); // warm-up
  passClock(5, peers);
  const model: number[] = [];
  const floor: number[] = [];
  let delivered = 0;
  let events = 0;
  for (let i = 0; i < 3; i++) {
    const m = passModel(rounds, peers);
    const c = passClock(rounds, peers);
    model.push(m.events / (m.ms / 1000));
    floor.push(c.events / (c.ms / 1000));
    delivered = m.delivered;
    events = m.events;
  }
  const perS = median(model);
  const floorPerS = median(floor);
  const messagesPerS = perS / 2;
  const budgetS = BUDGET_MESSAGES / messagesPerS;
  console.log(`model: ${fmt(perS / 1e6, 3)} M events/s (median of 3; ${events} events, ${delivered} of ${rounds * NODES * PEERS} messages delivered)`);
  console.log(`bare VirtualClock, same number of timers: ${fmt(floorPerS / 1e6, 3)} M events/s; model / clock: ${fmt(perS / floorPerS, 2)}x`);
  console.log(`1,000 nodes x 1,000 heights, one block to 8 peers each: ${BUDGET_MESSAGES} messages take ${fmt(budgetS, 1)} s of the model, ${fmt((100 * budgetS) / BUDGET_S, 1)}% of the ${BUDGET_S} s budget`);
  const share = budgetS / BUDGET_S;
  console.log(`goal the network model's block gossip takes at most 10% of the simulator's budget: ${share <= 0.1 ? "met" : "NOT MET"}`);
}
