// FrameMemo (simulation only): one parse per line text, the same deep-frozen result for every copy,
// the same answers as parseMessage (refusals included), a bounded number of lines kept.
import { test } from "node:test";
import assert from "node:assert/strict";
import { FrameMemo } from "../../../src/p2p/frameMemo.ts";
import { parseMessage } from "../../../src/p2p/messages.ts";
import { isImmutable } from "../../../src/consensus/immutable.ts";

const status = JSON.stringify({ type: "status", height: 3, tip_hash: "ab".repeat(32) });

test("FrameMemo.parse: parseMessage's answer, deep-frozen, one object for every copy of a line", () => {
  const m = new FrameMemo();
  const a = m.parse(status);
  const b = m.parse(String(status.split("").join(""))); // another string object, the same text
  assert.deepEqual(a, parseMessage(status));
  assert.equal(a, b);
  assert.ok(a.ok && isImmutable(a.msg));
  assert.throws(() => ((a as { msg: { height: number } }).msg.height = 4), TypeError);
  assert.deepEqual(m.stats, { parsed: 1, hits: 1 });
  for (const bad of ["{", "[]", JSON.stringify({ type: "status", height: -1, tip_hash: "x" })]) assert.deepEqual(m.parse(bad), parseMessage(bad));
});

test("FrameMemo: at most maxLines lines kept, the oldest forgotten first", () => {
  const m = new FrameMemo(2);
  const line = (h: number) => JSON.stringify({ type: "status", height: h, tip_hash: "ab".repeat(32) });
  const first = m.parse(line(1));
  m.parse(line(2));
  m.parse(line(3));
  assert.notEqual(m.parse(line(1)), first, "line 1 was forgotten: parsed again");
  assert.equal(m.stats.parsed, 4);
  assert.throws(() => new FrameMemo(0), RangeError);
});
