// `vision-node peers`: the table, with each peer's agent, never prints a peer's control characters.
import { test } from "node:test";
import assert from "node:assert/strict";
import { printable, renderPeers } from "../../../src/cli/status.ts";

const row = { ebid: "ab".repeat(32), direction: "inbound", address: "ws://localhost:7072", remote_address: "127.0.0.1", height: 12, connected_at: 1_000, strikes: 0 };

test("the peers table shows the agent last, '-' for an older node without one", () => {
  const out = renderPeers([{ ...row, agent: "vision-node/v0.1.0-5f570e3a/linux-x64/node-20.20.2" }, { ...row, ebid: "cd".repeat(32), address: null, agent: null }], 61_000);
  const lines = out.split("\n");
  assert.match(lines[0]!, /^peer\s+direction\s+height\s+address\s+connected\s+strikes\s+agent$/);
  assert.match(lines[1]!, /^abababababab\s+inbound\s+12\s+ws:\/\/localhost:7072\s+60 s\s+0\s+vision-node\/v0\.1\.0-5f570e3a\/linux-x64\/node-20\.20\.2$/);
  assert.match(lines[2]!, /^cdcdcdcdcdcd\s+inbound\s+12\s+127\.0\.0\.1\s+60 s\s+0\s+-$/);
  assert.equal(renderPeers([]), "no peers");
});

test("control characters from the node's answer never reach the terminal", () => {
  const hostile = { ...row, agent: "evil\u001b[2J\u001b]0;title\u0007\nrow\r\u009b31m\u00e9", address: "ws://x:1\u001b[1A", direction: "in\tbound" };
  const out = renderPeers([hostile], 1_000);
  assert.equal(out.split("\n").length, 2, "no injected line breaks");
  assert.doesNotMatch(out, /[^\x20-\x7e\n]/);
  assert.match(out, /evil\?\[2J\?\]0;title\?\?row\?\?31m\?$/);
  assert.deepEqual(["a\u0000b", "plain ~", ""].map(printable), ["a?b", "plain ~", ""]);
});

test("a height the peer has not backed is shown with what it backed", () => {
  const out = renderPeers([{ ...row, height: 1012, backed_height: 12 }, { ...row, ebid: "cd".repeat(32), backed_height: 12 }], 61_000);
  const lines = out.split("\n");
  assert.match(lines[1]!, /^abababababab\s+inbound\s+1012 \(backed 12\)\s+ws:/);
  assert.match(lines[2]!, /^cdcdcdcdcdcd\s+inbound\s+12\s+ws:/);
});
