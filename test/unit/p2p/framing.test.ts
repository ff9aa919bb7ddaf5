import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { LineDecoder, encodeLine } from "../../../src/p2p/framing.ts";
import { parseMessage } from "../../../src/p2p/messages.ts";

const enc = new TextEncoder();

function decodeAll(chunks: Uint8Array[], max?: number): { lines: string[]; oversized: number } {
  const d = new LineDecoder(max);
  const lines: string[] = [];
  let oversized = 0;
  for (const c of chunks) {
    const r = d.push(c);
    lines.push(...r.lines);
    oversized += r.oversized;
  }
  return { lines, oversized };
}

// JSON objects with unicode (multi-byte characters get split across chunks too).
const message = fc.record({
  type: fc.constantFrom("status", "block", "x"),
  text: fc.string({ unit: "grapheme", maxLength: 40 }),
  n: fc.integer(),
}, { noNullPrototype: true });

test("property: any split or concatenation of a message stream decodes to the same messages", () => {
  fc.assert(
    fc.property(fc.array(message, { maxLength: 20 }), fc.array(fc.integer({ min: 0, max: 10_000 }), { maxLength: 30 }), (msgs, cuts) => {
      const bytes = enc.encode(msgs.map(encodeLine).join(""));
      const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
      const chunks: Uint8Array[] = [];
      let prev = 0;
      for (const p of points) {
        chunks.push(bytes.subarray(prev, p));
        prev = p;
      }
      chunks.push(bytes.subarray(prev));
      const { lines, oversized } = decodeAll(chunks);
      assert.equal(oversized, 0);
      assert.deepEqual(lines.map((l) => JSON.parse(l)), msgs);
    }),
    { numRuns: 500 },
  );
});

test("several messages in one chunk, one message over many chunks, blank lines skipped", () => {
  const a = encodeLine({ a: 1 }) + "\n\n" + encodeLine({ b: "ü" });
  assert.deepEqual(decodeAll([enc.encode(a)]).lines, ['{"a":1}', '{"b":"ü"}']);
  const bytes = enc.encode(encodeLine({ long: "€".repeat(50) }));
  assert.deepEqual(decodeAll([...bytes].map((b) => new Uint8Array([b]))).lines.map((l) => JSON.parse(l)), [{ long: "€".repeat(50) }]);
});

test("an over-long line is dropped and counted; the stream recovers at the next newline", () => {
  const big = "x".repeat(100);
  const r = decodeAll([enc.encode(big.slice(0, 60)), enc.encode(big.slice(60) + "\n{\"ok\":1}\n")], 64);
  assert.equal(r.oversized, 1);
  assert.deepEqual(r.lines, ['{"ok":1}']);
  const one = decodeAll([enc.encode(big + "\n" + '{"ok":2}\n')], 64);
  assert.equal(one.oversized, 1);
  assert.deepEqual(one.lines, ['{"ok":2}']);
});

test("parseMessage refuses malformed lines with a reason and accepts valid messages", () => {
  assert.deepEqual(parseMessage("{not json"), { ok: false, reason: "malformed JSON" });
  assert.equal(parseMessage("[1,2]").ok, false);
  assert.equal(parseMessage('{"type":"status","height":-1,"tip_hash":"00"}').ok, false);
  assert.equal(parseMessage('{"type":"nope"}').ok, false);
  const ok = parseMessage(JSON.stringify({ type: "status", height: 3, tip_hash: "a".repeat(64) }));
  assert.ok(ok.ok && ok.msg.type === "status" && ok.msg.height === 3);
});

test("property: parseMessage never throws on arbitrary input", () => {
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.json()), (s) => {
      const r = parseMessage(s);
      assert.equal(typeof r.ok, "boolean");
    }),
    { numRuns: 1000 },
  );
});
