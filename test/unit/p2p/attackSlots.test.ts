// A hostile peer that opens many connections: what it can take from a node's connection slots.
import { test } from "node:test";
import assert from "node:assert/strict";
import { INBOUND_PER_GROUP, PEER_LOG_LIMIT, outboundReserved } from "../../../src/p2p/limits.ts";
import { inboundKey } from "../../../src/p2p/learn.ts";
import { makeKeys } from "../../helpers/fixtures.ts";
import { waitFor } from "../../helpers/net.ts";
import { connect, freshKey, handshake, manager, nonLoopback, recordingLog, sleep, type Hostile } from "./attackKit.ts";

const keys = makeKeys(8);
const remote = nonLoopback("IPv4");

test("connections held open by a stranger cannot take the slots kept for the node's own dials", async () => {
  const h = manager(keys[2]!);
  await h.start();
  const x = manager(keys[0]!, { maxPeers: 4 });
  await x.start();
  const url = `ws://127.0.0.1:${x.port}`;
  const held: Hostile[] = [];
  try {
    const y = await handshake(url, keys[1]!, keys[0]!.ebid); // an honest inbound peer that knows H
    await waitFor(() => x.readyPeers().length === 1, 2000, "Y ready");
    // The stranger opens connections that never say hello: handshakes, capped apart, take no slot.
    let refused = 0;
    for (let i = 0; i < 3; i++) {
      const c = await connect(url);
      held.push(c);
      const early = await Promise.race([c.closed, new Promise((r) => setTimeout(() => r(undefined), 150))]);
      if (early) refused++;
    }
    assert.equal(refused, 0, "connections in the handshake take no peer slot");
    // Peers that complete the handshake take the inbound slots (maxPeers - reserved = 3); past them, closed.
    for (let i = 0; i < 2; i++) held.push(await handshake(url, freshKey(), keys[0]!.ebid));
    await waitFor(() => x.readyPeers().length === 3, 2000, "three inbound peers ready");
    const extra = await handshake(url, freshKey(), keys[0]!.ebid);
    held.push(extra);
    assert.equal((await extra.closed).reason, "too many peers");
    y.send({ type: "peers", peers: [`ws://127.0.0.1:${h.port}`] });
    await waitFor(() => x.readyPeers().some((p) => p.ebid === keys[2]!.ebid), 3000, "the node dialled the honest address it learned");
    y.ws.terminate();
  } finally {
    for (const c of held) c.ws.terminate();
    await x.stop();
    await h.stop();
  }
});

test("outboundReserved: a quarter of maxPeers, at most 8", () => {
  const cases: [number, number][] = [[1, 0], [3, 0], [4, 1], [8, 2], [50, 8], [10_000, 8]];
  for (const [maxPeers, want] of cases) assert.equal(outboundReserved(maxPeers), want, String(maxPeers));
});

test("a stranger earning bans with fresh keys grows the ban table only to maxBans; the newest bans hold", async () => {
  const x = manager(keys[0]!, { maxStrikes: 1, maxBans: 3, banMs: 60_000 });
  await x.start();
  const url = `ws://127.0.0.1:${x.port}`;
  try {
    const banned = Array.from({ length: 6 }, () => freshKey());
    for (const k of banned) {
      const c = await handshake(url, k, keys[0]!.ebid);
      c.ws.send("{garbage\n");
      assert.match((await c.closed).reason, /banned after 1 strikes/);
    }
    assert.equal(x.health().banned, 3, "the table holds maxBans entries");
    const newest = await handshake(url, banned[5]!, keys[0]!.ebid);
    assert.match((await newest.closed).reason, /banned/);
    // The oldest ban made room; its key is let in again (a stranger had fresh keys anyway).
    const oldest = await handshake(url, banned[0]!, keys[0]!.ebid);
    await waitFor(() => x.readyPeers().some((p) => p.ebid === banned[0]!.ebid), 2000, "the oldest banned key let in");
    oldest.ws.terminate();
  } finally {
    await x.stop();
  }
});

test("a stranger opening connections in a loop is refused before the upgrade once past its group's rate; others are not", { skip: remote ? false : "no non-loopback IPv4 address to connect from" }, async () => {
  const x = manager(keys[0]!);
  await x.start();
  const url = `ws://127.0.0.1:${x.port}`;
  try {
    // Each connection would cost the node a signature on the stranger's hello: open and drop them.
    const tries = INBOUND_PER_GROUP.burst + 40;
    let accepted = 0;
    const errors: string[] = [];
    const t0 = Date.now();
    for (let i = 0; i < tries; i++) {
      try {
        const c = await connect(url, remote);
        accepted++;
        c.ws.terminate();
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
    const slack = Math.ceil((INBOUND_PER_GROUP.perSec * (Date.now() - t0)) / 1000) + 1; // tokens refilled while the loop ran
    assert.ok(accepted >= INBOUND_PER_GROUP.burst && accepted <= INBOUND_PER_GROUP.burst + slack, `${accepted} of ${tries} accepted`);
    assert.ok(errors.length > 0 && errors.every((m) => /429/.test(m)), errors[0]);
    // Another address is not held back by the stranger's rate, and the node still handshakes.
    const honest = await handshake(url, keys[1]!, keys[0]!.ebid);
    await waitFor(() => x.readyPeers().length === 1, 2000, "a peer from another address");
    honest.ws.terminate();
    // The stranger's group gets a new connection as its bucket refills.
    await sleep(1000 / INBOUND_PER_GROUP.perSec + 50);
    (await connect(url, remote)).ws.terminate();
  } finally {
    await x.stop();
  }
});

test("inboundKey: a public IPv6 /64 counts as one address against maxInboundPerAddress (one host holds a whole /64)", () => {
  const cases: [string, string][] = [
    ["2001:db8:1:2::5", "2001:db8:1:2::/64"], ["2001:db8:1:2:ffff::9", "2001:db8:1:2::/64"], ["[2001:db8::1]", "2001:db8:0:0::/64"],
    ["192.0.2.7", "192.0.2.7"], ["::ffff:192.0.2.7", "::ffff:192.0.2.7"], ["127.0.0.1", "127.0.0.1"], ["::1", "::1"],
    ["fd00::2", "fd00::2"], ["fd00::3", "fd00::3"], // private: hosts of one LAN share a /64
  ];
  for (const [remote, want] of cases) assert.equal(inboundKey(remote), want, remote);
});

test("a stranger cycling fresh keys through strikes and bans cannot flood the log: peer event lines are capped and summed up", async () => {
  const rec = recordingLog();
  const x = manager(keys[0]!, { maxStrikes: 3, pingIntervalMs: 100, idleTimeoutMs: 5000 }, undefined, rec.log);
  await x.start();
  const url = `ws://127.0.0.1:${x.port}`;
  const peerLines = () => rec.entries.filter((e) => (e.level as number) >= 30 && /^(Peer|Connection refused)/.test(String(e.msg)) && e.msg !== "Peer log lines suppressed").length;
  try {
    const t0 = Date.now();
    const conns = Math.ceil(PEER_LOG_LIMIT.burst / 4) + 20; // each: connected, 3 strikes, disconnected
    for (let i = 0; i < conns; i += 10) {
      await Promise.all(Array.from({ length: 10 }, async () => {
        const c = await handshake(url, freshKey(), keys[0]!.ebid);
        c.ws.send("{a\n{b\n{c\n");
        await c.closed;
      }));
    }
    const allowed = PEER_LOG_LIMIT.burst + Math.ceil((PEER_LOG_LIMIT.perSec * (Date.now() - t0)) / 1000) + 1;
    assert.ok(peerLines() <= allowed, `${peerLines()} peer lines, at most ${allowed} expected`);
    const summary = await waitFor(() => rec.entries.find((e) => e.msg === "Peer log lines suppressed"), 3000, "the summary line");
    assert.ok((summary.suppressed as number) > 0);
    assert.equal(summary.level, 40);
  } finally {
    await x.stop();
  }
});

test("a stranger holding every inbound slot from one address group makes room for a newcomer from another group", { skip: remote ? false : "no non-loopback IPv4 address to connect from" }, async () => {
  const maxPeers = 8;
  const x = manager(keys[0]!, { maxPeers });
  await x.start();
  const url = `ws://127.0.0.1:${x.port}`;
  const held: Hostile[] = [];
  try {
    const room = maxPeers - outboundReserved(maxPeers);
    for (let i = 0; i < room; i++) held.push(await handshake(url, freshKey(), keys[0]!.ebid, { localAddress: remote })); // fresh keys cost nothing
    await sleep(100);
    const closedAlready = await Promise.all(held.map((c) => Promise.race([c.closed.then(() => true), sleep(50).then(() => false)])));
    assert.deepEqual(closedAlready.filter(Boolean), [], "the stranger's connections all fit");
    const newcomer = await handshake(url, keys[1]!, keys[0]!.ebid); // from this machine: another group
    await waitFor(() => x.readyPeers().some((p) => p.ebid === keys[1]!.ebid), 2000, "the newcomer let in");
    const evicted = await Promise.race(held.map((c) => c.closed));
    assert.match(evicted.reason, /evicted/);
    newcomer.ws.terminate();
  } finally {
    for (const c of held) c.ws.terminate();
    await x.stop();
  }
});
