// Which addresses from a `peers` message may be learned: local ones only from a local peer.
import { test } from "node:test";
import assert from "node:assert/strict";
import { isLocalHost, mayLearn } from "../../../src/p2p/learn.ts";

test("isLocalHost: loopback, unspecified and localhost names in every spelling", () => {
  const local = ["localhost", "LOCALHOST", "db.localhost", "127.0.0.1", "127.255.0.9", "0.0.0.0", "::1", "[::1]", "0:0:0:0:0:0:0:1", "::", "[::]", "::ffff:127.0.0.1", "[::ffff:7f00:1]", "::ffff:0.0.0.0"];
  const remote = ["192.0.2.1", "10.0.0.1", "172.17.0.2", "128.0.0.1", "fd00::2", "::2", "1::", "example.org", "localhost.example.org", "::ffff:192.0.2.1"];
  for (const h of local) assert.equal(isLocalHost(h), true, h);
  for (const h of remote) assert.equal(isLocalHost(h), false, h);
});

test("mayLearn: a remote peer cannot point us at this machine; a local one can; remote addresses from anyone", () => {
  const cases: [string, string, boolean][] = [
    ["ws://127.0.0.1:7072", "192.0.2.7", false],
    ["ws://localhost:22", "192.0.2.7", false],
    ["ws://[::1]:7072", "fd00::9", false],
    ["ws://0.0.0.0:7072", "192.0.2.7", false],
    ["ws://127.1:7072", "192.0.2.7", false], // URL parsing turns 127.1 into 127.0.0.1
    ["ws://2130706433:7072", "192.0.2.7", false], // and a decimal address too
    ["ws://0x7f000001:7072", "192.0.2.7", false],
    ["ws://127.0.0.1:7072", "127.0.0.1", true],
    ["ws://localhost:7072", "::ffff:127.0.0.1", true],
    ["ws://127.0.0.1:7072", "localhost", true],
    ["ws://192.0.2.8:7072", "192.0.2.7", true],
    ["wss://node.example.org:443", "192.0.2.7", true],
    ["ws://192.0.2.8:7072", "127.0.0.1", true],
  ];
  for (const [url, sender, want] of cases) assert.equal(mayLearn(url, sender), want, `${url} from ${sender}`);
});
