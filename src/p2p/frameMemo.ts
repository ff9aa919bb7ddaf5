/**
 * One parse for every copy of a frame (simulation only): the nodes of a simulation in one process
 * receive the same gossip line many times, one copy per node and link. `FrameMemo.parse` parses a
 * line once (`parseMessage`: JSON, then the message schema) and hands every later copy of the same
 * text the same result, its message deep-frozen (consensus/immutable.ts) so that no node can change
 * what another received, and so that hashes and signature checks of its blocks and attestations are
 * computed once for all nodes. A real node has no use for it (it sees each line once or a few times)
 * and does not get one.
 */
import { freezeDeep } from "../consensus/immutable.ts";
import { parseMessage, type ParseResult } from "./messages.ts";

/** Lines kept by default (the oldest is forgotten first). */
export const FRAME_MEMO_LINES = 8192;

/** A bounded memo of `parseMessage` by exact line text. */
export class FrameMemo {
  private readonly results = new Map<string, ParseResult>();
  /** lines parsed, and copies answered from the memo */
  readonly stats = { parsed: 0, hits: 0 };

  /** @param maxLines lines kept at most (a positive integer); default FRAME_MEMO_LINES */
  constructor(private readonly maxLines = FRAME_MEMO_LINES) {
    if (!(Number.isSafeInteger(maxLines) && maxLines >= 1)) throw new RangeError(`maxLines must be a positive integer, got ${maxLines}`);
  }

  /**
   * `parseMessage(line)`, its message deep-frozen, the same result object for the same text.
   * Never throws (a bad line is a `{ ok: false }` result, as from `parseMessage`).
   */
  readonly parse = (line: string): ParseResult => {
    const hit = this.results.get(line);
    if (hit) {
      this.stats.hits++;
      return hit;
    }
    this.stats.parsed++;
    const r = freezeDeep(parseMessage(line));
    if (this.results.size >= this.maxLines) this.results.delete(this.results.keys().next().value!);
    this.results.set(line, r);
    return r;
  };
}
