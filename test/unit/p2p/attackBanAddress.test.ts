// A stranger banned again and again under fresh keys from one address: bans by EBID cost it
// nothing, so the address is scored and banned too (docs/protocol.md §9.4). Connections from this
// machine are never banned by address (local tools and test nodes share it).
import { test } from "node:test";
import assert from "node:assert/strict";
import { makeKeys } from "../../helpers/fixtures.ts";
import { waitFor } from "../../helpers/net.ts";
import { ADDRESS_BAN_AFTER } from "../../../src/p2p/limits.ts";
import { connect, freshKey, handshake, manager, nonLoopback } from "./attackKit.ts";

const keys = makeKeys(2);
const remote = nonLoopback("IPv4");

test("an address whose fresh keys keep earning bans is banned itself; this machine is not", { skip: remote ? false : "needs a non-loopback IPv4 address" }, async () => {
  const x = manager(keys[0]!, { maxStrikes: 1, banMs: 60_000 });
  await x.start();
  const url = `ws://127.0.0.1:${x.port}`;
  const earnBan = async (localAddress?: string) => {
    const c = await handshake(url, freshKey(), keys[0]!.ebid, { localAddress });
    c.ws.send("{garbage\n");
    assert.match((await c.closed).reason, /banned after 1 strikes/);
  };
  try {
    for (let i = 0; i < ADDRESS_BAN_AFTER; i++) await earnBan(remote);
    // A fresh key from the same address: refused before it can do anything.
    const next = await connect(url, remote).catch((e: Error) => e);
    const refused = next instanceof Error ? next.message : (await next.closed).reason;
    assert.match(refused, /banned|403/);
    // This machine earns as many bans and still gets in.
    for (let i = 0; i < ADDRESS_BAN_AFTER; i++) await earnBan();
    const y = await handshake(url, keys[1]!, keys[0]!.ebid);
    await waitFor(() => x.readyPeers().some((p) => p.ebid === keys[1]!.ebid), 2000, "a peer from this machine");
    y.ws.terminate();
  } finally {
    await x.stop();
  }
});
