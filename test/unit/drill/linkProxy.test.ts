// The drills' link proxy over real TCP: forwards bytes, cut drops and refuses, heal restores.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, connect, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { LinkProxy, ProxyMesh } from "../../../src/drill/linkProxy.ts";

function echoServer(): Promise<{ port: number; close: () => void }> {
  const sockets = new Set<Socket>();
  const s = createServer((c) => {
    sockets.add(c);
    c.pipe(c);
  });
  return new Promise((resolve) =>
    s.listen(0, "127.0.0.1", () => resolve({ port: (s.address() as AddressInfo).port, close: () => (sockets.forEach((x) => x.destroy()), s.close()) })),
  );
}

function roundTrip(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = connect(port, "127.0.0.1", () => c.write(text));
    let got = "";
    c.on("data", (d) => {
      got += d;
      if (got.length >= text.length) {
        c.destroy();
        resolve(got);
      }
    });
    c.on("close", () => resolve(got));
    c.on("error", reject);
  });
}

test("link proxy blackhole holds bytes on open connections until healed", async () => {
  const echo = await echoServer();
  const proxy = new LinkProxy(echo.port);
  const port = await proxy.listen();
  try {
    const c = connect(port, "127.0.0.1");
    await new Promise((r) => c.once("connect", r));
    let got = "";
    c.on("data", (d) => (got += d));
    c.write("one");
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(got, "one");
    proxy.blackhole();
    c.write("two");
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(got, "one", "nothing crosses a blackholed link");
    assert.equal(c.destroyed, false, "and nothing is closed");
    proxy.heal();
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(got, "onetwo", "held bytes flow on after the heal");
    c.destroy();
  } finally {
    await proxy.close();
    echo.close();
  }
});

test("link proxy forwards, cuts (dropping open connections) and heals", async () => {
  const echo = await echoServer();
  const proxy = new LinkProxy(echo.port);
  const port = await proxy.listen();
  try {
    assert.equal(await roundTrip(port, "hello"), "hello");
    const open = connect(port, "127.0.0.1");
    await new Promise((r) => open.once("connect", r));
    const closed = new Promise((r) => open.once("close", r));
    proxy.cut();
    await closed;
    assert.equal(await roundTrip(port, "refused"), "", "new connections are dropped while cut");
    proxy.heal();
    assert.equal(await roundTrip(port, "again"), "again");
  } finally {
    await proxy.close();
    echo.close();
  }
});

test("a proxy mesh splits its nodes into two groups: between() is every link across, in both directions, and nothing inside a group", async () => {
  const mesh = new ProxyMesh();
  const nodes = ["a1", "a2", "b1", "b2", "b3"].map((name, i) => ({ name, p2pPort: 40_000 + i }));
  await mesh.listen(nodes);
  try {
    const across = mesh.between(nodes.slice(0, 2), nodes.slice(2));
    assert.equal(across.length, 2 * 2 * 3);
    assert.equal(new Set(across).size, across.length);
    const inside = new Set([...mesh.between(nodes.slice(0, 1), nodes.slice(1, 2)), ...mesh.between(nodes.slice(2, 3), nodes.slice(3))]);
    assert.ok(across.every((p) => !inside.has(p)));
    // every link of b1 to or from side a is across; its links to b2, b3 are not
    const b1 = new Set(mesh.links(nodes[2]!));
    assert.equal(across.filter((p) => b1.has(p)).length, 4);
  } finally {
    await mesh.close();
  }
});

test("a delayed link proxy holds each direction for its client's delay, in order, and dials upstream from the address chosen for that client", async () => {
  const seen: string[] = [];
  const sockets = new Set<Socket>();
  const echo = createServer((c) => {
    sockets.add(c);
    seen.push(c.remoteAddress ?? "");
    c.pipe(c);
  });
  await new Promise<void>((r) => echo.listen(0, "127.0.0.1", () => r()));
  const delays = new Map([["127.0.0.1", 150]]);
  const proxy = new LinkProxy((echo.address() as AddressInfo).port, { delayMs: (from) => delays.get(from) ?? 0, localAddress: () => "127.0.0.7" });
  const port = await proxy.listen(0, "127.0.0.1");
  try {
    const c = connect(port, "127.0.0.1");
    await new Promise((r) => c.once("connect", r));
    let got = "";
    const arrivals: number[] = [];
    c.on("data", (d) => {
      got += d;
      arrivals.push(performance.now());
    });
    const t0 = performance.now();
    c.write("a");
    await new Promise((r) => setTimeout(r, 20));
    c.write("b");
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(got.length, 0, "nothing is back before one delay each way");
    const deadline = Date.now() + 5000;
    while (got.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(got, "ab", "in order");
    assert.ok(arrivals[0]! - t0 >= 2 * 150 - 5, `round trip ${arrivals[0]! - t0} ms, at least 2 x 150`);
    assert.deepEqual(seen, ["127.0.0.7"], "the server saw the chosen source address");
    assert.equal(proxy.connections, 1);
    proxy.blackhole();
    c.write("c");
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(got, "ab", "a blackholed delayed link holds bytes");
    proxy.heal();
    while (got.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(got, "abc");
    const closed = new Promise((r) => c.once("close", r));
    proxy.cut();
    await closed;
    assert.equal(proxy.connections, 0);
  } finally {
    await proxy.close();
    sockets.forEach((x) => x.destroy());
    echo.close();
  }
});
