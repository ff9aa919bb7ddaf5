// MemoryTransport on a VirtualClock: listen and dial by ws:// address with no socket, messages
// delivered in order through the link scheduler, buffered bytes until delivery, the admission
// check, close and terminate propagation, dial failures, and the same event order on every run.
import { test } from "node:test";
import assert from "node:assert/strict";
import { MemoryNetwork, type LinkScheduler } from "../../../src/p2p/memoryTransport.ts";
import type { Connection, ListenOptions, Refusal } from "../../../src/p2p/transport.ts";
import { VirtualClock, seededRng } from "../../../src/util/clock.ts";

const dialOpts = { maxPayloadBytes: 1 << 20, handshakeTimeoutMs: 5000 };

function listenOpts(onConnection: (c: Connection) => void, admit: (remote: string) => Refusal | undefined = () => undefined): ListenOptions {
  return { host: "0.0.0.0", port: 0, maxPayloadBytes: 1 << 20, admit, onConnection, onError: () => undefined, onClose: () => undefined };
}

// Records what a connection reports, as "<name> <event> <detail>" lines.
function record(conn: Connection, name: string, log: string[]): void {
  conn.on("message", (d) => log.push(`${name} message ${d.toString()}`));
  conn.on("pong", () => log.push(`${name} pong`));
  conn.on("close", (code, reason) => log.push(`${name} close ${code} ${reason}`));
  conn.on("error", (e) => log.push(`${name} error ${e.message}`));
}

/**
 * Dials `url` from `net.transport(from)`; resolves with the connection or rejects with the dial
 * error. `onOpen` runs when it opens, before anything it receives (as PeerManager attaches a Peer).
 */
function dial(net: MemoryNetwork, from: string, url: string, o = dialOpts, onOpen: (c: Connection) => void = () => undefined): { result: Promise<Connection> } {
  return {
    result: new Promise((resolve, reject) => net.transport(from).dial(url, o, { open: (c) => (onOpen(c), resolve(c)), error: reject })),
  };
}

test("a dial reaches the listener at its ws:// address, both ends see each other's address, and messages arrive in order only as virtual time moves", async () => {
  const clock = new VirtualClock(1_000);
  const net = new MemoryNetwork({ clock });
  const log: string[] = [];
  const ends: { server?: Connection; client?: Connection } = {};
  const listener = await net.transport("10.0.3.7").listen({
    ...listenOpts((c) => {
      ends.server = c;
      record(c, "server", log);
      c.send("hello from server");
    }),
    port: 30333,
  });
  assert.equal(listener.port, 30333);
  const { result } = dial(net, "10.0.3.8", "ws://10.0.3.7:30333", dialOpts, (c) => {
    ends.client = c;
    record(c, "client", log);
  });
  assert.equal(ends.server === undefined, true, "nothing happens before the clock moves");
  clock.advance(0);
  await result;
  const { server, client } = ends;
  assert.ok(server && client);
  assert.equal(server.remoteAddress, "10.0.3.8", "the listener sees the dialler's address");
  assert.equal(client.remoteAddress, "10.0.3.7", "the dialler sees the address that answered");
  assert.deepEqual(log, ["client message hello from server"], "the server's first frame comes after the dial opened");
  log.length = 0;
  for (let i = 0; i < 5; i++) client.send(`m${i}`);
  assert.equal(client.bufferedAmount, 10, "bytes sent and not yet delivered are buffered");
  assert.deepEqual(log, [], "no delivery without virtual time");
  clock.advance(0);
  assert.equal(client.bufferedAmount, 0);
  assert.deepEqual(log, ["server message m0", "server message m1", "server message m2", "server message m3", "server message m4"]);
});

test("a scheduler that delivers out of order: the receiver still gets each connection's frames in the order they were sent", async () => {
  const clock = new VirtualClock(0);
  const rng = seededRng(7);
  // Each frame is delivered after a random 1..50 ms: later frames often overtake earlier ones.
  const scheduler: LinkScheduler = { send: (_from, _to, _bytes, deliver) => void clock.setTimeout(deliver, 1 + rng.int(50)) };
  const net = new MemoryNetwork({ clock, scheduler });
  const got: string[] = [];
  await net.transport("10.0.0.1").listen(listenOpts((c) => c.on("message", (d) => got.push(d.toString()))));
  const { result } = dial(net, "10.0.0.2", "ws://10.0.0.1:30333");
  clock.runUntil(() => false);
  const client = await result;
  const sent = Array.from({ length: 40 }, (_, i) => `f${i}`);
  for (const m of sent) client.send(m);
  clock.runUntil(() => false);
  assert.deepEqual(got, sent);
  assert.equal(client.bufferedAmount, 0);
});

test("the scheduler is told each frame's link and size", async () => {
  const clock = new VirtualClock(0);
  const seen: string[] = [];
  const scheduler: LinkScheduler = {
    send: (from, to, bytes, deliver) => {
      seen.push(`${from}>${to}:${bytes}`);
      clock.setTimeout(deliver, 10);
    },
  };
  const net = new MemoryNetwork({ clock, scheduler });
  await net.transport("10.0.0.1").listen({ ...listenOpts(() => undefined), port: 4000 });
  const { result } = dial(net, "10.0.0.2", "ws://10.0.0.1:4000");
  clock.runUntil(() => false);
  const c = await result;
  seen.length = 0;
  c.send("héllo"); // 6 bytes in UTF-8
  assert.deepEqual(seen, ["10.0.0.2>10.0.0.1:6"]);
});

test("dials fail: an address nobody listens on, an admission refusal (its status), and a handshake timeout", async () => {
  const clock = new VirtualClock(0);
  const net = new MemoryNetwork({ clock });
  const unknown = dial(net, "10.0.0.2", "ws://10.0.0.9:30333");
  clock.runUntil(() => false);
  await assert.rejects(unknown.result, /ECONNREFUSED/);

  const admitted: string[] = [];
  await net.transport("10.0.0.1").listen(listenOpts(() => assert.fail("a refused connection must not open"), (remote) => {
    admitted.push(remote);
    return { status: 403, reason: "address banned" };
  }));
  const refused = dial(net, "10.0.0.2", "ws://10.0.0.1:30333");
  clock.runUntil(() => false);
  await assert.rejects(refused.result, /403/);
  assert.deepEqual(admitted, ["10.0.0.2"], "the check sees the dialler's address before the connection opens");

  // A link slower than the handshake timeout.
  const slow = new MemoryNetwork({ clock, scheduler: { send: (_f, _t, _b, deliver) => void clock.setTimeout(deliver, 10_000) } });
  await slow.transport("10.0.0.1").listen(listenOpts(() => undefined));
  const late = dial(slow, "10.0.0.2", "ws://10.0.0.1:30333", { ...dialOpts, handshakeTimeoutMs: 3000 });
  clock.runUntil(() => false);
  await assert.rejects(late.result, /timed out/);
});

test("a node that dials its own address (learned from a peer) gets a dial error, not a throw, on a network model that has no self-links", async () => {
  const clock = new VirtualClock(0);
  const net = new MemoryNetwork({ clock, scheduler: { send: (from, to, _b, deliver) => (from === to ? assert.fail("a self-link reached the scheduler") : void clock.setTimeout(deliver, 5)) } });
  await net.transport("10.0.0.1").listen(listenOpts(() => assert.fail("a dial to itself must not open")));
  const self = dial(net, "10.0.0.1", "ws://10.0.0.1:30333");
  clock.runUntil(() => false);
  await assert.rejects(self.result, /its own address/);
});

test("close and terminate reach the other end after what was sent before them; a closed connection sends nothing", async () => {
  const clock = new VirtualClock(0);
  const net = new MemoryNetwork({ clock });
  const log: string[] = [];
  const servers: Connection[] = [];
  await net.transport("10.0.0.1").listen(listenOpts((c) => {
    servers.push(c);
    record(c, `s${servers.length}`, log);
  }));
  const first = dial(net, "10.0.0.2", "ws://10.0.0.1:30333", dialOpts, (c) => record(c, "c1", log));
  const second = dial(net, "10.0.0.3", "ws://10.0.0.1:30333", dialOpts, (c) => record(c, "c2", log));
  clock.runUntil(() => false);
  const [c1, c2] = [await first.result, await second.result];
  c1.send("last words");
  c1.close(1000, "bye");
  assert.equal(c1.isOpen, false, "closing: no longer open for sending");
  c1.send("after close");
  c2.terminate();
  assert.equal(c2.isOpen, false);
  clock.runUntil(() => false);
  // c2's own close event comes on the clock's next turn, like a destroyed socket's.
  assert.deepEqual(log, ["s1 message last words", "s1 close 1000 bye", "s2 close 1006 ", "c2 close 1006 ", "c1 close 1000 bye"]);
  assert.equal(servers[0]!.isOpen, false);
});

test("ping is answered with a pong; a frame over the receiver's maxPayloadBytes closes the connection (1009)", async () => {
  const clock = new VirtualClock(0);
  const net = new MemoryNetwork({ clock });
  const log: string[] = [];
  await net.transport("10.0.0.1").listen({ ...listenOpts((c) => record(c, "s", log)), maxPayloadBytes: 8 });
  const d = dial(net, "10.0.0.2", "ws://10.0.0.1:30333", dialOpts, (c) => record(c, "c", log));
  clock.runUntil(() => false);
  const c = await d.result;
  c.ping();
  clock.runUntil(() => false);
  assert.deepEqual(log, ["c pong"]);
  c.send("123456789");
  clock.runUntil(() => false);
  assert.ok(log.includes("s error Max payload size exceeded"), log.join("; "));
  assert.ok(log.includes("c close 1009 "), log.join("; "));
});

test("listening: port 0 picks a free port, a taken port is refused, and a closed listener's address refuses dials", async () => {
  const clock = new VirtualClock(0);
  const net = new MemoryNetwork({ clock });
  const t = net.transport("10.0.0.1");
  const a = await t.listen(listenOpts(() => undefined));
  const b = await t.listen(listenOpts(() => undefined));
  assert.notEqual(a.port, b.port);
  await assert.rejects(t.listen({ ...listenOpts(() => undefined), port: a.port }), /EADDRINUSE/);
  assert.ok(net.isListening(`ws://10.0.0.1:${a.port}`));
  await a.close();
  assert.ok(!net.isListening(`ws://10.0.0.1:${a.port}`));
  const d = dial(net, "10.0.0.2", `ws://10.0.0.1:${a.port}`);
  clock.runUntil(() => false);
  await assert.rejects(d.result, /ECONNREFUSED/);
});

test("two runs of the same traffic on fresh networks report the same events in the same order", async () => {
  const run = async () => {
    const clock = new VirtualClock(0);
    const rng = seededRng(42);
    const net = new MemoryNetwork({ clock, scheduler: { send: (_f, _t, bytes, deliver) => void clock.setTimeout(deliver, rng.int(20) + bytes) } });
    const log: string[] = [];
    for (const host of ["10.0.0.1", "10.0.0.2", "10.0.0.3"]) {
      await net.transport(host).listen(listenOpts((c) => {
        record(c, `${host}<${c.remoteAddress}`, log);
        c.send(`welcome ${c.remoteAddress}`);
      }));
    }
    const opened: Connection[] = [];
    for (const from of ["10.0.0.1", "10.0.0.2", "10.0.0.3"]) {
      for (const to of ["10.0.0.1", "10.0.0.2", "10.0.0.3"]) {
        if (from === to) continue;
        net.transport(from).dial(`ws://${to}:30333`, dialOpts, {
          open: (c) => {
            record(c, `${from}>${to}`, log);
            log.push(`${clock.now()} open ${from}>${to}`);
            opened.push(c);
          },
          error: (e) => assert.fail(e),
        });
      }
    }
    clock.runUntil(() => false);
    assert.equal(opened.length, 6);
    opened.forEach((c, i) => c.send(`x${i}`.repeat(i + 1)));
    clock.runUntil(() => false);
    return log;
  };
  const [a, b] = [await run(), await run()];
  assert.ok(a.length > 6);
  assert.deepEqual(a, b);
});
