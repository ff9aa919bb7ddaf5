// VisionNodes in one process with no P2P socket: each on a MemoryTransport of one MemoryNetwork,
// on one VirtualClock, its chain store in memory. Two validators handshake, become eligible and
// produce blocks as virtual time moves; a third node joins later and syncs their chain. The only
// TCP listeners the nodes open are their HTTP APIs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { VisionNode, type NodeOptions } from "../../../src/node/node.ts";
import { writeKeyFile } from "../../../src/node/keyfile.ts";
import { MemoryNetwork } from "../../../src/p2p/memoryTransport.ts";
import { VirtualClock, seededRng, settle } from "../../../src/util/clock.ts";
import { GENESIS_TS, makeKeys, makeSpec, silentLog, tempDir } from "../../helpers/fixtures.ts";

const keys = makeKeys(3);
const spec = makeSpec(keys.slice(0, 2));

// TCP listeners of this process (the HTTP APIs; a WebSocket P2P server would be one more per node).
const tcpListeners = () => process.getActiveResourcesInfo().filter((r) => r === "TCPServerWrap").length;

/**
 * Fires the clock's timers one at a time, letting the async work each one starts (storage, crypto)
 * finish before the next, until `done` holds.
 * @throws when `maxMs` of virtual time pass first
 */
async function drive(clock: VirtualClock, done: () => boolean, maxMs: number, what: string): Promise<void> {
  const end = clock.now() + maxMs;
  for (;;) {
    for (let i = 0; i < 3; i++) await settle();
    if (done()) return;
    const at = clock.nextAt();
    if (at === undefined || at > end) throw new Error(`${what}: not reached within ${maxMs} virtual ms (at ${clock.now() - GENESIS_TS} ms after genesis)`);
    clock.next();
  }
}

test("three nodes on a MemoryNetwork and one VirtualClock: handshake, produce and sync blocks with no P2P socket", async () => {
  const clock = new VirtualClock(GENESIS_TS + 1_000);
  const net = new MemoryNetwork({ clock });
  const dirs = [tempDir(), tempDir(), tempDir()];
  const nodes: VisionNode[] = [];
  const listenersBefore = tcpListeners();
  const opts = (i: number, peers: string[], produce: boolean): NodeOptions => {
    const keyFile = join(dirs[i]!.dir, "node.key");
    writeKeyFile(keyFile, keys[i]!.secretKey, keys[i]!.blsSecretKey);
    return {
      // a data dir not made yet: the node makes it (and writes only its admin token there)
      dataDir: join(dirs[i]!.dir, "node"), keyFile, spec, apiHost: "127.0.0.1", apiPort: 0, produce, mine: false,
      p2p: { host: "0.0.0.0", port: 30333, peers },
      clock, rng: seededRng(i + 1), store: "memory", transport: net.transport(`10.0.0.${i + 1}`),
    };
  };
  try {
    const a = await VisionNode.init(opts(0, [], true), silentLog);
    nodes.push(a);
    const b = await VisionNode.init(opts(1, ["ws://10.0.0.1:30333"], true), silentLog);
    nodes.push(b);
    assert.equal(a.p2p.port, 30333, "the P2P port is the memory address's");
    assert.ok(net.isListening("ws://10.0.0.1:30333") && net.isListening("ws://10.0.0.2:30333"));
    assert.equal(tcpListeners() - listenersBefore, 2, "one TCP listener per node: its API, no P2P server");

    await drive(clock, () => a.p2p.readyPeers().length === 1 && b.p2p.readyPeers().length === 1, 10_000, "a and b connected");
    assert.equal(b.p2p.readyPeers()[0]!.ebid, keys[0]!.ebid);
    assert.equal(a.p2p.readyPeers()[0]!.host, "10.0.0.2", "a sees b's memory address");

    await drive(clock, () => a.chain.head.height >= 6 && b.chain.head.height >= 6, 120_000, "a and b produce 6 blocks");
    const producers = new Set<string>();
    for (let h = 1; h <= 6; h++) {
      const ma = await a.chain.getCanonicalMeta(h);
      assert.equal(ma?.hash, (await b.chain.getCanonicalMeta(h))?.hash, `a and b agree at ${h}`);
      producers.add(ma!.producer);
    }
    assert.equal(producers.size, 2, "both validators produced");

    const c = await VisionNode.init(opts(2, ["ws://10.0.0.2:30333"], false), silentLog);
    nodes.push(c);
    const target = a.chain.head.height;
    await drive(clock, () => c.chain.head.height >= target, 60_000, "c synced");
    assert.equal((await c.chain.getCanonicalMeta(target))?.hash, (await a.chain.getCanonicalMeta(target))?.hash);
    assert.deepEqual(readdirSync(join(dirs[0]!.dir, "node")).sort(), ["admin.token"], "no chain data or protection record on disk");
    assert.equal(tcpListeners() - listenersBefore, 3);
  } finally {
    for (const n of nodes.reverse()) await n.close();
    for (const d of dirs) d.cleanup();
  }
});
