/**
 * The lying-heights adversary of the simulator (the real-process drill of the same attack
 * is drill/liars.ts): a fraction of the nodes, never a bootnode, claim a height `ahead` blocks above
 * their real head, with a tip hash no node holds, in every `hello` and `status` they send
 * (docs/protocol.md §6.1 "Claimed and backed heights", §9.6). Their node code stays honest: the lie
 * is a rewrite of their outgoing frames (sim/hookedTransport.ts); they produce, attest, relay and
 * answer sync requests as any node, so what a sync gets from them is their real chain, never the
 * claimed one.
 *
 * What honest nodes must do (the test, test/unit/sim/liars.test.ts): keep producing, reach every
 * height, not ban an honest peer, and spend little of their sync on liars. `LiarBand` counts, at
 * the honest nodes, the requests they sent to liars (by path) and each one's virtual ms from leaving
 * the honest node to its response arriving (the link's delay both ways included; a request the
 * liar never answered counts until the run's end, and is counted as unanswered).
 */
import { createHash } from "node:crypto";
import type { Rng } from "../util/clock.ts";
import { fractionOf, pickIndices } from "./adversary.ts";

/** How far above its real head a liar claims by default (blocks), as drill/liars.ts. */
export const DEFAULT_LIAR_AHEAD = 1000;

/**
 * The liars of a run: `round(fraction x nodes)` of the nodes 2..nodes-1 (never a bootnode), ascending.
 * @throws RangeError when the fraction is outside [0, 1] or would need a bootnode
 */
export function liarPlan(rng: Rng, nodes: number, fraction: number): number[] {
  const k = fractionOf(fraction, nodes, "liars");
  if (k > nodes - 2) throw new RangeError(`liars ${fraction} of ${nodes} nodes would need a bootnode (at most ${nodes - 2})`);
  return pickIndices(rng, 2, nodes, k);
}

/** A liar's fake tip hash (64 hex): sha256 of the run's seed, the node and the claimed height. */
export function fakeTipHash(seed: number, node: number, height: number): string {
  return createHash("sha256").update(`vision-sim-liar:${seed | 0}:${node}:${height}`).digest("hex");
}

const HELLO = '{"type":"hello"';
const STATUS = '{"type":"status"';

/**
 * A `hello` or `status` frame's text with its `height` raised by `ahead` and its `tip_hash` replaced
 * by `fakeTip(claimed height)`; any other frame unchanged. A hello's height and tip are not under
 * the handshake signature (docs/protocol.md §9.3), so the rewritten hello still completes it.
 */
export function lieFrame(text: string, ahead: number, fakeTip: (height: number) => string): string {
  if (!text.startsWith(HELLO) && !text.startsWith(STATUS)) return text;
  const m = JSON.parse(text) as { height?: unknown; tip_hash?: unknown };
  if (typeof m.height !== "number") return text;
  const claimed = m.height + ahead;
  // a frame is one line (p2p/framing.ts): keep its line end
  const end = /\s*$/.exec(text)![0];
  return `${JSON.stringify({ ...m, height: claimed, tip_hash: fakeTip(claimed) })}${end}`;
}

/** What a band of liars saw, for the report (`attacks.liars`). */
export interface LiarCounters {
  /** liar node indices */
  nodes: number[];
  /** blocks claimed above the real head */
  ahead: number;
  /** hello and status frames rewritten */
  lies: number;
  /** requests that honest nodes sent to liars, in all, and by path */
  requests: number;
  by_path: Record<string, number>;
  /** virtual ms from a request leaving an honest node to a liar's response arriving: the sum over answered requests, and the largest */
  wait_ms_total: number;
  wait_ms_max: number;
  /** requests a liar had not answered when the run ended (closed connections included) */
  unanswered: number;
  /** honest nodes that sent a liar at least one request */
  askers: number;
}

const REQ = '{"type":"req"';
const RES = '{"type":"res"';

/**
 * The liars' frame hooks and counters: `rewrite` for a liar's outgoing frames; at honest nodes,
 * `onSend` for their outgoing frames (a `req` to a liar starts a timer) and `onFrame` for the frames
 * they receive (the liar's `res` with its id stops it).
 */
export class LiarBand {
  private readonly members: ReadonlySet<number>;
  private lies = 0;
  private requests = 0;
  private readonly byPath = new Map<string, number>();
  /** open requests by honest node, liar address and id: when they left */
  private readonly open = new Map<string, number>();
  private readonly askers = new Set<number>();
  private waitTotal = 0;
  private waitMax = 0;

  /**
   * @param nodes liar node indices
   * @param ahead blocks claimed above the real head (>= 1)
   * @param seed the run's seed (the fake tips derive from it)
   * @param now the virtual clock (ms)
   * @param isLiar whether a remote address is a liar's (requests between liars are not counted)
   * @throws RangeError when ahead is not an integer >= 1
   */
  constructor(
    readonly nodes: readonly number[],
    readonly ahead: number,
    private readonly seed: number,
    private readonly now: () => number,
    private readonly isLiar: (remote: string | undefined) => boolean,
  ) {
    if (!(Number.isSafeInteger(ahead) && ahead >= 1)) throw new RangeError(`liars must claim at least 1 block ahead, got ${ahead}`);
    this.members = new Set(nodes);
  }

  isMember(node: number): boolean {
    return this.members.has(node);
  }

  /** Liar `node`'s outgoing frame: a lie for hello and status, any other frame unchanged. */
  rewrite(node: number, text: string): string {
    const out = lieFrame(text, this.ahead, (h) => fakeTipHash(this.seed, node, h));
    if (out !== text) this.lies++;
    return out;
  }

  /** Honest `node` sends `text` to `remote`: a request to a liar is counted and timed. */
  onSend(node: number, remote: string | undefined, text: string): void {
    if (!text.startsWith(REQ) || !this.isLiar(remote)) return;
    const m = JSON.parse(text) as { id?: unknown; path?: unknown };
    this.requests++;
    this.askers.add(node);
    const path = typeof m.path === "string" ? m.path : "?";
    this.byPath.set(path, (this.byPath.get(path) ?? 0) + 1);
    this.open.set(`${node}|${remote}|${String(m.id)}`, this.now());
  }

  /** Honest `node` received a frame from `remote`: a liar's response stops its request's timer. */
  onFrame(node: number, remote: string | undefined, data: Buffer): void {
    if (data.length < RES.length || data.toString("latin1", 0, RES.length) !== RES || !this.isLiar(remote)) return;
    const id = (JSON.parse(data.toString("utf8")) as { id?: unknown }).id;
    const key = `${node}|${remote}|${String(id)}`;
    const at = this.open.get(key);
    if (at === undefined) return;
    this.open.delete(key);
    const ms = this.now() - at;
    this.waitTotal += ms;
    this.waitMax = Math.max(this.waitMax, ms);
  }

  /** The counters so far (paths sorted). */
  counters(): LiarCounters {
    return {
      nodes: [...this.nodes],
      ahead: this.ahead,
      lies: this.lies,
      requests: this.requests,
      by_path: Object.fromEntries([...this.byPath].sort((a, b) => (a[0] < b[0] ? -1 : 1))),
      wait_ms_total: this.waitTotal,
      wait_ms_max: this.waitMax,
      unanswered: this.open.size,
      askers: this.askers.size,
    };
  }
}
