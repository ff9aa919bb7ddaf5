// A hostile peer's `peers` messages and advertise_url, over real sockets: what it can make a node
// dial, and whether it can keep a node from dialling honest addresses.
import { test } from "node:test";
import assert from "node:assert/strict";
import { makeKeys } from "../../helpers/fixtures.ts";
import { waitFor } from "../../helpers/net.ts";
import { addressGroup, guardedLookup, mayLearn, scopeOf } from "../../../src/p2p/learn.ts";
import { LEARNED_MAX_FAILURES } from "../../../src/p2p/peerManager.ts";
import { DEAD_GROUP_MS, DeadGroups, learnedPerGroup } from "../../../src/p2p/limits.ts";
import { defaultP2POptions } from "../../../src/p2p/options.ts";
import { freePort, handshake, manager, nonLoopback, recordingLog, sleep, victim } from "./attackKit.ts";

const keys = makeKeys(8);
const remote = nonLoopback("IPv4");
const privateV6 = nonLoopback("IPv6", true);

test("a remote peer cannot make a node dial this machine through a DNS name that resolves to loopback", { skip: remote ? false : "no non-loopback IPv4 address to connect from" }, async () => {
  // "localhost" itself is refused by name; any other name pointing at 127.0.0.1 (here the /etc/hosts
  // entry of this machine's hostname; on the Internet, a public name with an A record of 127.0.0.1)
  // must be refused when it is dialled.
  const { hostname } = await import("node:os");
  const { lookup } = await import("node:dns/promises");
  const name = hostname();
  const resolved = await lookup(name).catch(() => undefined);
  const service = await victim("127.0.0.1");
  const x = manager(keys[0]!);
  await x.start();
  try {
    assert.ok(resolved, `${name} resolves`);
    const m = await handshake(`ws://127.0.0.1:${x.port}`, keys[1]!, keys[0]!.ebid, { localAddress: remote });
    await waitFor(() => x.readyPeers().length === 1, 2000, "the hostile peer is ready");
    assert.equal(x.readyPeers()[0]!.host, remote, "the node sees a remote peer");
    m.send({ type: "peers", peers: [`ws://${name}:${service.port}`, `ws://${name}.:${service.port}`] });
    await sleep(800);
    if (resolved!.address.startsWith("127.") || resolved!.address === "::1") assert.equal(service.hits(), 0, "the local service was dialled");
    m.ws.terminate();
  } finally {
    await x.stop();
    await service.close();
  }
});

test("a remote peer on a public address cannot make a node dial private-network addresses", { skip: remote ? false : "no non-loopback IPv4 address to connect from" }, async () => {
  const rec = recordingLog();
  const x = manager(keys[0]!, { handshakeTimeoutMs: 300 }, undefined, rec.log);
  await x.start();
  const service = privateV6 ? await victim(privateV6) : undefined; // a private address that reaches this machine, when it has one
  try {
    const m = await handshake(`ws://127.0.0.1:${x.port}`, keys[1]!, keys[0]!.ebid, { localAddress: remote });
    await waitFor(() => x.readyPeers().length === 1, 2000, "the hostile peer is ready");
    const targets = ["ws://169.254.169.254:80", "ws://10.255.255.1:6379", "ws://[::ffff:192.168.0.1]:80", ...(service ? [`ws://[${privateV6}]:${service.port}`] : [])];
    m.send({ type: "peers", peers: targets });
    await sleep(1000); // a dial would have failed (refused, or timed out after 300 ms) and been logged by now
    const dialled = rec.entries.filter((e) => typeof e.url === "string" && targets.includes(e.url));
    assert.deepEqual(dialled, [], "private addresses from a public peer were dialled");
    assert.equal(service?.hits() ?? 0, 0);
    m.ws.terminate();
  } finally {
    await x.stop();
    await service?.close();
  }
});

test("a peer that advertises an honest node's address does not keep the node from dialling that honest node", async () => {
  const h = manager(keys[2]!);
  await h.start();
  const honest = `ws://127.0.0.1:${h.port}`;
  const x = manager(keys[0]!);
  await x.start();
  try {
    // The squatter claims the honest node's address as its own, then shares it.
    const m = await handshake(`ws://127.0.0.1:${x.port}`, keys[3]!, keys[0]!.ebid, { hello: { advertise_url: honest } });
    const squatter = await waitFor(() => x.readyPeers().find((p) => p.ebid === keys[3]!.ebid), 2000, "the squatter is ready");
    assert.equal(squatter.listenUrl, honest, "shown as it claims");
    assert.notEqual(squatter.shareUrl, honest, "but not passed on as its address");
    m.send({ type: "peers", peers: [honest] });
    await waitFor(() => x.readyPeers().some((p) => p.ebid === keys[2]!.ebid), 3000, "the node dialled the honest address");
    m.ws.terminate();
  } finally {
    await x.stop();
    await h.stop();
  }
});

test("scopeOf and mayLearn: an address is learned only from a peer at least as close as it", () => {
  const scopes: [string, number][] = [
    ["127.0.0.1", 0], ["0.1.2.3", 0], ["::ffff:0.0.0.1", 0], ["localhost", 0],
    ["10.1.2.3", 1], ["172.16.0.1", 1], ["172.31.255.255", 1], ["192.168.1.1", 1], ["100.64.0.1", 1], ["169.254.169.254", 1],
    ["[::ffff:169.254.169.254]", 1], ["::ffff:a9fe:a9fe", 1], ["fd00::2", 1], ["fe80::1", 1], ["224.0.0.1", 1], ["255.255.255.255", 1], ["ff02::1", 1],
    ["172.32.0.1", 2], ["192.0.2.7", 2], ["8.8.8.8", 2], ["2001:db8::1", 2], ["node.example.org", 2], ["vm", 2],
  ];
  for (const [h, want] of scopes) assert.equal(scopeOf(h), want, h);
  const cases: [string, string, boolean][] = [
    ["ws://169.254.169.254:80", "192.0.2.7", false], // a cloud metadata service
    ["ws://10.0.0.5:6379", "203.0.113.9", false],
    ["ws://[fd00::5]:7072", "192.0.2.7", false],
    ["ws://[::ffff:a00:5]:7072", "192.0.2.7", false], // 10.0.0.5, IPv4-mapped
    ["ws://10.0.0.5:7072", "10.0.0.9", true], // a LAN testnet still learns its own addresses
    ["ws://10.0.0.5:7072", "127.0.0.1", true],
    ["ws://127.0.0.1:7072", "10.0.0.9", false],
    ["ws://192.0.2.8:7072", "10.0.0.9", true],
  ];
  for (const [url, sender, want] of cases) assert.equal(mayLearn(url, sender), want, `${url} from ${sender}`);
});

test("guardedLookup drops resolved addresses closer than the sharing peer, in both callback forms", async () => {
  const resolve = (sender: string, all: boolean) =>
    new Promise<{ err: NodeJS.ErrnoException | null; address: unknown }>((r) => guardedLookup(sender)("localhost", { all }, (err, address) => r({ err, address })));
  for (const all of [false, true]) {
    const remoteSender = await resolve("192.0.2.7", all);
    assert.equal(remoteSender.err?.code, "ENOTFOUND", `all: ${all}`);
    assert.match(remoteSender.err!.message, /closer than the peer that shared it/);
    const localSender = await resolve("127.0.0.1", all);
    assert.equal(localSender.err, null);
    const first = all ? (localSender.address as { address: string }[])[0]!.address : (localSender.address as string);
    assert.equal(scopeOf(first), 0);
  }
});

test("a stranger with one address and many ports cannot fill the learned table and crowd out honest addresses", { skip: remote ? false : "no non-loopback IPv4 address to connect from" }, async () => {
  const maxPeers = 8;
  const cap = learnedPerGroup(maxPeers);
  const h = manager(keys[2]!);
  await h.start();
  // The stranger's listeners accept and then say nothing: each dial of them holds a slot until it times out.
  const stalls = await Promise.all(Array.from({ length: maxPeers }, () => victim(remote!, true)));
  const x = manager(keys[0]!, { maxPeers });
  await x.start();
  const url = `ws://127.0.0.1:${x.port}`;
  try {
    const m = await handshake(url, keys[1]!, keys[0]!.ebid, { localAddress: remote });
    await waitFor(() => x.readyPeers().length === 1, 2000, "the stranger is ready");
    m.send({ type: "peers", peers: stalls.map((s) => `ws://${remote}:${s.port}`) });
    await sleep(300);
    const dialled = stalls.filter((s) => s.hits() > 0).length;
    assert.ok(dialled <= cap, `${dialled} of the stranger's addresses dialled, at most ${cap} expected`);
    const y = await handshake(url, keys[3]!, keys[0]!.ebid); // an honest peer on this machine that knows H
    await waitFor(() => x.readyPeers().length === 2, 2000, "Y ready");
    y.send({ type: "peers", peers: [`ws://127.0.0.1:${h.port}`] });
    await waitFor(() => x.readyPeers().some((p) => p.ebid === keys[2]!.ebid), 3000, "the node dialled the honest address");
    m.ws.terminate();
    y.ws.terminate();
  } finally {
    await x.stop();
    await h.stop();
    await Promise.all(stalls.map((s) => s.close()));
  }
});

test("addressGroup: a /24, a /48, one private address or name; none on this machine", () => {
  const cases: [string, string | undefined][] = [
    ["127.0.0.1", undefined], ["localhost", undefined], ["[::1]", undefined],
    ["192.0.2.7", "192.0.2.0/24"], ["192.0.2.250", "192.0.2.0/24"], ["::ffff:192.0.2.9", "192.0.2.0/24"], ["[::ffff:c000:209]", "192.0.2.0/24"],
    ["2001:db8:1:2::5", "2001:db8:1::/48"], ["[2001:db8:1:ffff::1]", "2001:db8:1::/48"], ["2001:db8::1", "2001:db8:0::/48"],
    ["10.1.2.3", "10.1.2.3"], ["fd00::2", "fd00::2"], ["node.example.org", "node.example.org"],
  ];
  for (const [host, want] of cases) assert.equal(addressGroup(host), want, host);
  assert.deepEqual([1, 8, 9, 50].map(learnedPerGroup), [1, 1, 2, 7]);
});

test("a learned address whose node hangs up right after the handshake is forgotten like a dead one, not redialled forever", async () => {
  let accepted = 0;
  const rude = manager(keys[4]!, {}, (p) => {
    accepted++;
    p.close("bye"); // a stranger's listener: handshakes, then drops us, again and again
  });
  await rude.start();
  const x = manager(keys[0]!);
  await x.start();
  try {
    const y = await handshake(`ws://127.0.0.1:${x.port}`, keys[3]!, keys[0]!.ebid);
    await waitFor(() => x.readyPeers().length === 1, 2000, "Y ready");
    y.send({ type: "peers", peers: [`ws://127.0.0.1:${rude.port}`] });
    await waitFor(() => accepted >= LEARNED_MAX_FAILURES, 5000, "the learned address dialled");
    await sleep(1000); // backoff is at most 200 ms here: a kept target would have been dialled again
    assert.equal(accepted, LEARNED_MAX_FAILURES, "dials after the address should have been forgotten");
    y.ws.terminate();
  } finally {
    await x.stop();
    await rude.stop();
  }
});

test("a peer's advertise_url is shared with other peers only once the node reached that peer there", async () => {
  const v = await victim("127.0.0.1"); // what the stranger claims to be: any host it wants dialled
  const claimed = `ws://127.0.0.1:${v.port}`;
  const x = manager(keys[0]!, {}, (p) => {
    const addresses = x.addressesFor(p); // what the node tells each new peer
    if (addresses.length) p.send({ type: "peers", peers: addresses });
  });
  await x.start();
  const url = `ws://127.0.0.1:${x.port}`;
  try {
    const m = await handshake(url, keys[1]!, keys[0]!.ebid, { hello: { advertise_url: claimed, listen_port: 0 } });
    await waitFor(() => x.readyPeers().length === 1, 2000, "the stranger is ready");
    await waitFor(() => v.hits() > 0, 3000, "the node checked the claim itself (one learned dial)");
    const c = await handshake(url, keys[3]!, keys[0]!.ebid);
    await waitFor(() => x.readyPeers().length === 2, 2000, "a newcomer is ready");
    await sleep(200);
    const told = c.lines.filter((l) => l.includes('"peers"')).flatMap((l) => (JSON.parse(l) as { peers: string[] }).peers);
    assert.ok(!told.includes(claimed), `the unverified claim was passed on: ${told.join(", ")}`);
    m.ws.terminate();
    c.ws.terminate();

    // An honest node that advertises where it listens is reached there, and then passed on.
    const portA = await freePort();
    const aUrl = `ws://localhost:${portA}`;
    const a = manager(keys[2]!, { port: portA, advertiseUrl: aUrl, peers: [url] });
    await a.start();
    try {
      const seen = await waitFor(() => x.readyPeers().find((p) => p.ebid === keys[2]!.ebid), 5000, "A connected");
      assert.equal(seen.listenUrl, aUrl, "shown at once as the address it advertises");
      await waitFor(() => x.addressesFor().includes(aUrl), 5000, "the node reached A at its advertised address");
      const d = await handshake(url, keys[4]!, keys[0]!.ebid);
      await waitFor(() => d.lines.some((l) => l.includes('"peers"') && l.includes(aUrl)), 5000, "A's advertised address passed on");
      d.ws.terminate();
    } finally {
      await a.stop();
    }
  } finally {
    await x.stop();
    await v.close();
  }
});

test("a peer dialled by name is judged by the address it answered from: a LAN or container testnet named in --peers still learns its neighbours", async () => {
  // Here the name is this machine's hostname (127.0.0.1 in /etc/hosts) and the neighbour a loopback
  // address; in a container network, a service name and its private neighbours.
  const { hostname } = await import("node:os");
  const h = manager(keys[2]!);
  await h.start();
  const y = manager(keys[1]!, {}, (p) => p.send({ type: "peers", peers: [`ws://127.0.0.1:${h.port}`] }));
  await y.start();
  const x = manager(keys[0]!, { peers: [`ws://${hostname()}:${y.port}`] });
  await x.start();
  try {
    const toY = await waitFor(() => x.readyPeers().find((p) => p.ebid === keys[1]!.ebid), 5000, "X dialled Y by name");
    assert.equal(scopeOf(toY.host), 0, `host ${toY.host}`);
    await waitFor(() => x.readyPeers().some((p) => p.ebid === keys[2]!.ebid), 5000, "X dialled the neighbour Y told it of");
  } finally {
    await x.stop();
    await y.stop();
    await h.stop();
  }
});

test("a stranger feeding fresh dead addresses of one victim group gets them dialled once per hour's quota, not again and again", { skip: remote ? false : "no non-loopback IPv4 address to connect from" }, async () => {
  const rec = recordingLog();
  const x = manager(keys[0]!, {}, undefined, rec.log);
  await x.start();
  const cap = learnedPerGroup(defaultP2POptions.maxPeers);
  // Ports nobody listens on at the victim's address (each dial refused at once).
  const closedPorts = await Promise.all(Array.from({ length: 2 * cap }, async () => {
    const v = await victim(remote!);
    await v.close();
    return v.port;
  }));
  const dials = () => rec.entries.filter((e) => e.msg === "Dial failed").length;
  try {
    const m = await handshake(`ws://127.0.0.1:${x.port}`, keys[1]!, keys[0]!.ebid, { localAddress: remote });
    await waitFor(() => x.readyPeers().length === 1, 2000, "the stranger is ready");
    m.send({ type: "peers", peers: closedPorts.slice(0, cap).map((p) => `ws://${remote}:${p}`) });
    await waitFor(() => rec.entries.filter((e) => e.msg === "Learned address forgotten").length === cap, 5000, "the first batch forgotten");
    const first = dials();
    assert.equal(first, cap * LEARNED_MAX_FAILURES);
    m.send({ type: "peers", peers: closedPorts.slice(cap).map((p) => `ws://${remote}:${p}`) });
    await sleep(1000);
    assert.equal(dials(), first, "fresh addresses in a group whose learned addresses just died were dialled");
    m.ws.terminate();
  } finally {
    await x.stop();
  }
});

test("DeadGroups: a group closes after cap forgotten addresses within the hour and opens when it is over", () => {
  const d = new DeadGroups();
  const t0 = 1_000_000;
  d.record("192.0.2.0/24", t0);
  d.record("192.0.2.0/24", t0 + 10);
  assert.equal(d.closed("192.0.2.0/24", t0 + 20, 3), false);
  d.record("192.0.2.0/24", t0 + 30);
  assert.equal(d.closed("192.0.2.0/24", t0 + 40, 3), true);
  assert.equal(d.closed("198.51.100.0/24", t0 + 40, 3), false, "other groups stay open");
  assert.equal(d.closed("192.0.2.0/24", t0 + DEAD_GROUP_MS, 3), false, "open again after the hour");
  d.record("192.0.2.0/24", t0 + DEAD_GROUP_MS + 1); // a new hour counts from 1
  assert.equal(d.closed("192.0.2.0/24", t0 + DEAD_GROUP_MS + 2, 2), false);
  d.prune(t0 + 3 * DEAD_GROUP_MS);
  assert.equal(d.closed("192.0.2.0/24", t0 + 3 * DEAD_GROUP_MS, 1), false);
});
