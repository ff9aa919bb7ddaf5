// A stranger holding connections that never finish the handshake, from two addresses: they must
// not take the node's peer slots (docs/protocol.md §9.4: handshakes are counted and capped apart).
import { test } from "node:test";
import assert from "node:assert/strict";
import { makeKeys } from "../../helpers/fixtures.ts";
import { waitFor } from "../../helpers/net.ts";
import { connect, handshake, manager, nonLoopback, sleep, type Hostile } from "./attackKit.ts";

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

test("handshakes are capped per address and in all, and a connection that never says hello is closed", { skip: remote ? false : "needs a non-loopback IPv4 address" }, async () => {
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
    assert.equal((await refusedWithin(sixth, 200))?.code, 1013, "in all");
    const silent = await held[0]!.closed;
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
