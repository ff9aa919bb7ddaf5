// Which addresses from a `peers` message may be learned: local ones only from a local peer.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Connection } from "../../../src/p2p/transport.ts";
import { isLocalHost, mayLearn } from "../../../src/p2p/learn.ts";
import { Peer } from "../../../src/p2p/peer.ts";
import { defaultP2POptions } from "../../../src/p2p/options.ts";
import { PROTOCOL_VERSION } from "../../../src/p2p/messages.ts";

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

test("a peer's dialable address: its advertise_url, unless that points at this machine and the peer is not on it", () => {
  const fakeConn = { on: () => undefined } as unknown as Connection;
  const me = { chainId: "c1", genesisHash: "11".repeat(32), ebid: "22".repeat(32), secretKey: new Uint8Array(32), listenPort: 1 };
  const events = { onReady() {}, onMessage() {}, onStrike() {}, onClose() {} };
  const peer = (direction: "inbound" | "outbound", remote: string, advertise_url: string | undefined, dialUrl?: string) => {
    const p = new Peer(fakeConn, direction, remote, me, defaultP2POptions, events, dialUrl);
    p.hello = { type: "hello", version: PROTOCOL_VERSION, chain_id: "c1", genesis_hash: "11".repeat(32), ebid: "33".repeat(32), nonce: "44".repeat(32), listen_port: 7072, height: 0, tip_hash: "11".repeat(32), advertise_url };
    return p;
  };
  const cases: [Peer, string][] = [
    [peer("inbound", "192.0.2.7", "wss://node.example.org:443"), "wss://node.example.org:443"],
    [peer("inbound", "192.0.2.7", "ws://localhost:7072"), "ws://192.0.2.7:7072"],
    [peer("inbound", "fd00::7", "ws://[::1]:7072"), "ws://[fd00::7]:7072"],
    [peer("inbound", "127.0.0.1", "ws://localhost:7072"), "ws://localhost:7072"],
    [peer("inbound", "192.0.2.7", undefined), "ws://192.0.2.7:7072"],
    [peer("outbound", "ws://192.0.2.7:9000", "ws://node.example.org:7072", "ws://192.0.2.7:9000"), "ws://node.example.org:7072"],
    [peer("outbound", "ws://192.0.2.7:9000", "ws://127.0.0.1:7072", "ws://192.0.2.7:9000"), "ws://192.0.2.7:9000"],
  ];
  for (const [p, want] of cases) assert.equal(p.listenUrl, want, `${p.direction} ${p.remoteAddress} ${p.hello!.advertise_url}`);
});
