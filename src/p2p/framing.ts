/**
 * Newline-delimited JSON framing over WebSocket (docs/protocol.md §9.1): every message
 * is one JSON object followed by `\n`; a WebSocket message may carry several, and one object may
 * span several WebSocket messages. Works on bytes, so a UTF-8 character split across WebSocket
 * messages decodes intact.
 */
import { concatBytes } from "../consensus/encoding.ts";

/** Default cap on one line: 4 MiB. */
export const MAX_LINE_BYTES = 4 * 1024 * 1024;

/** What one chunk yielded: complete lines, and how many over-long lines were dropped. */
export interface DecodeResult {
  lines: string[];
  /** over-long lines discarded in this chunk (each is a strike against the peer) */
  oversized: number;
}

const NL = 0x0a;
const utf8Decoder = new TextDecoder("utf-8", { fatal: false });

/** Splits a byte stream into lines. Empty lines are skipped. */
export class LineDecoder {
  private parts: Uint8Array[] = [];
  private buffered = 0;
  private discarding = false;

  constructor(private readonly maxLineBytes = MAX_LINE_BYTES) {}

  /** Feeds one chunk; returns the lines it completed. */
  push(chunk: Uint8Array): DecodeResult {
    const lines: string[] = [];
    let oversized = 0;
    let start = 0;
    for (let i = chunk.indexOf(NL); i !== -1; i = chunk.indexOf(NL, start)) {
      if (this.discarding) {
        this.discarding = false;
      } else if (this.buffered + (i - start) > this.maxLineBytes) {
        oversized++;
      } else {
        this.parts.push(chunk.subarray(start, i));
        const line = utf8Decoder.decode(concat(this.parts));
        if (line.trim().length > 0) lines.push(line);
      }
      this.parts = [];
      this.buffered = 0;
      start = i + 1;
    }
    if (start < chunk.length && !this.discarding) {
      const rest = chunk.subarray(start);
      if (this.buffered + rest.length > this.maxLineBytes) {
        // Too long already: drop what we have and skip to the next newline.
        oversized++;
        this.parts = [];
        this.buffered = 0;
        this.discarding = true;
      } else {
        this.parts.push(rest.slice());
        this.buffered += rest.length;
      }
    }
    return { lines, oversized };
  }
}

/** Encodes one message as a line. */
export function encodeLine(msg: object): string {
  return JSON.stringify(msg) + "\n";
}

function concat(parts: Uint8Array[]): Uint8Array {
  return parts.length === 1 ? parts[0]! : concatBytes(...parts);
}
