// A stranger holding connections that never finish the handshake, from two addresses: they must
// not take the node's peer slots (docs/protocol.md §9.4: handshakes are counted and capped apart).
import { test } from "node:test";
import assert from "node:assert/strict";
import { PROTOCOL_VERSION } from "../../../src/p2p/messages.ts";
import { makeKeys } from "../../helpers/fixtures.ts";
import { waitFor } from "../../helpers/net.ts";
import { connect, freshKey, handshake, manager, nonLoopback, sleep, type Hostile } from "./attackKit.ts";

const keys = makeKeys(3);
const remote = nonLoopback("IPv4");

test("silent connections from two addresses cannot keep an honest peer out", { skip: remote ? false : "needs a non-loopback IPv4 address" }, async () => {
  const x = manager(keys[0]!, { maxPeers: 10 }); // 8 inbound slots
  await x.start();
  const url = `ws://127.0.0.1:${x.port}`;
  const held: Hostile[] = [];
  try {
    // Two addresses, four silent connections each: as many as the inbound slots, evenly spread so
    // no address group has more to give up than the newcomer's.
    for (let i = 0; i < 4; i++) held.push(await connect(url), await connect(url, remote));
    await sleep(100);
    const honest = await handshake(url, keys[1]!, keys[0]!.ebid);
    await waitFor(() => x.readyPeers().some((p) => p.ebid === keys[1]!.ebid), 2000, "the honest peer ready");
    honest.ws.terminate();
  } finally {
    for (const c of held) c.ws.terminate();
    await x.stop();
  }
});

test("handshakes are capped per address and in all (the oldest of the biggest group gives way), and a connection that never says hello is closed", { skip: remote ? false : "needs a non-loopback IPv4 address" }, async () => {
  const x = manager(keys[0]!, { maxHandshakesPerAddress: 3, maxHandshakes: 5, helloTimeoutMs: 400 });
  await x.start();
  const url = `ws://127.0.0.1:${x.port}`;
  const held: Hostile[] = [];
  const refusedWithin = async (c: Hostile, ms: number) => Promise.race([c.closed, sleep(ms).then(() => undefined)]);
  try {
    for (let i = 0; i < 3; i++) held.push(await connect(url, remote));
    const fourth = await connect(url, remote);
    held.push(fourth);
    assert.deepEqual(await refusedWithin(fourth, 200), { code: 1013, reason: "too many handshakes in progress" }, "per address");
    held.push(await connect(url), await connect(url));
    const sixth = await connect(url);
    held.push(sixth);
    // In all: the oldest handshake of the group holding the most (the three from `remote`) gives way.
    assert.equal(await refusedWithin(sixth, 200), undefined, "the sixth is let in");
    assert.match((await refusedWithin(held[0]!, 200))?.reason ?? "", /evicted: too many handshakes/, "in all");
    const silent = await held[1]!.closed;
    assert.match(silent.reason, /hello timeout/);
    await waitFor(() => x.health().handshaking === 0, 1000, "every silent connection closed by the hello timeout");
    const y = await handshake(url, keys[1]!, keys[0]!.ebid, { localAddress: remote });
    await waitFor(() => x.readyPeers().length === 1, 2000, "a peer that says hello gets in afterwards");
    y.ws.terminate();
  } finally {
    for (const c of held) c.ws.terminate();
    await x.stop();
  }
});

test("handshakes a stranger holds open from a few addresses cannot keep an honest newcomer out: the oldest gives way", async () => {
  // Four loopback addresses, two handshakes each (the per-address cap), every one saying hello and
  // never acking: all 8 handshake places taken, each held for the whole handshake timeout.
  const x = manager(keys[0]!, { maxHandshakesPerAddress: 2, maxHandshakes: 8, handshakeTimeoutMs: 30_000 });
  await x.start();
  const url = `ws://127.0.0.1:${x.port}`;
  const held: Hostile[] = [];
  try {
    for (const addr of ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"]) {
      for (let i = 0; i < 2; i++) {
        const c = await connect(url, addr);
        c.send({ type: "hello", version: PROTOCOL_VERSION, chain_id: "c1", genesis_hash: "11".repeat(32), ebid: freshKey().ebid, nonce: "ab".repeat(32), listen_port: 0, height: 0, tip_hash: "11".repeat(32) });
        held.push(c);
      }
    }
    await waitFor(() => x.health().handshaking === 8, 2000, "eight handshakes held");
    const honest = await handshake(url, keys[1]!, keys[0]!.ebid).catch((e: Error) => e);
    assert.ok(!(honest instanceof Error), `the honest newcomer was let in to handshake: ${String(honest)}`);
    await waitFor(() => x.readyPeers().some((p) => p.ebid === keys[1]!.ebid), 2000, "the honest newcomer ready");
    const first = await Promise.race([held[0]!.closed, sleep(500).then(() => undefined)]);
    assert.match(first?.reason ?? "", /evicted: too many handshakes/, "the oldest held handshake gave way");
    honest.ws.terminate();
  } finally {
    for (const c of held) c.ws.terminate();
    await x.stop();
  }
});
