// End to end: three real `vision-node start` processes over real WebSockets and LevelDB.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { readFileSync, statSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { startNode, runCli, getJson, type NodeProc } from "../helpers/nodeProcess.ts";
import { rawClient, waitFor } from "../helpers/net.ts";
import { tempDir } from "../helpers/fixtures.ts";
import { epochAt, epochSalt, livenessWindow, pickWinnerWithRerolls, poolForEpoch, seedFromMix } from "../../src/consensus/index.ts";
import type { Block } from "../../src/consensus/types.ts";
import type { ChainSpec } from "../../src/chain/spec.ts";
import { Domain, ebidOf, sign } from "../../src/consensus/signatures.ts";
import { readKeyFile } from "../../src/node/keyfile.ts";
import { PROTOCOL_VERSION } from "../../src/p2p/messages.ts";
import { draftHeader, sealBlock } from "../../src/producer/blockBuilder.ts";

const t = tempDir("vision-e2e-");
const dir = t.dir;
let nodes: NodeProc[] = [];
let spec: ChainSpec;

before(async () => {
  const init = runCli(["testnet", "init", "--nodes", "3", "--dir", dir, "--block-time-ms", "500"]);
  assert.equal(init.status, 0, init.stderr);
  spec = JSON.parse(readFileSync(join(dir, "chain.json"), "utf8"));
  const n1 = await startNode({ dataDir: join(dir, "node-1"), chain: join(dir, "chain.json") });
  const n2 = await startNode({ dataDir: join(dir, "node-2"), chain: join(dir, "chain.json"), peers: [`ws://127.0.0.1:${n1.p2pPort}`] });
  const n3 = await startNode({
    dataDir: join(dir, "node-3"),
    chain: join(dir, "chain.json"),
    peers: [`ws://127.0.0.1:${n1.p2pPort}`, `ws://127.0.0.1:${n2.p2pPort}`],
  });
  nodes = [n1, n2, n3];
});

after(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
  t.cleanup();
});

const height = async (n: NodeProc) => (await getJson(`${n.api}/api/chain/head`)).height as number;

test("testnet init wrote the spec, the node keys (mode 0600) and a funded faucet", () => {
  for (let i = 1; i <= 3; i++) {
    const p = join(dir, `node-${i}`, "node.key");
    assert.equal(statSync(p).mode & 0o777, 0o600);
    assert.ok(spec.validators.some((v) => v.ebid === readKeyFile(p).ebid));
  }
  assert.equal(statSync(join(dir, "faucet.key")).mode & 0o777, 0o600);
  assert.ok(spec.alloc[readKeyFile(join(dir, "faucet.key")).ebid]);
  assert.equal(spec.params.block_time_ms, 500);
});

test("three nodes produce 10 blocks with identical hashes and producer == winners[slot]", async () => {
  await waitFor(async () => (await Promise.all(nodes.map(height))).every((h) => h >= 10), 60_000, "10 blocks on every node");
  const chains = await Promise.all(nodes.map(async (n) => (await getJson(`${n.api}/api/blocks?from=0&limit=11`)).blocks as Block[]));
  for (let h = 0; h <= 10; h++) {
    const hashes = chains.map((c) => c[h]!.hash);
    assert.equal(new Set(hashes).size, 1, `height ${h}: ${hashes.join(" ")}`);
  }
  // Recompute every schedule from the chain data alone (docs/protocol.md §4-§5): the seed from the
  // parent's mix, the pool from the genesis validators (no block changes a record here) and the
  // liveness window of the height's epoch.
  const blocks = chains[0]!;
  const salt = epochSalt(spec.chain_id);
  const records = spec.validators.map((v) => ({ ebid: v.ebid, bls_pubkey: v.bls_pubkey, bond: BigInt(v.bond), activation_epoch: 0, exit_epoch: null, slashed: false }));
  for (let h = 1; h <= 10; h++) {
    const b = blocks[h]!;
    const e = epochAt(h, spec.params.epoch_length);
    const w = livenessWindow(e, spec.params.epoch_length, spec.params.pool_window);
    const live = new Set(blocks.slice(Math.max(1, w.from), Math.max(1, w.to + 1)).flatMap((x) => [x.header.producer, ...x.attestations.map((a) => a.ebid)]));
    const pool = poolForEpoch(e, records, live);
    const winners = pickWinnerWithRerolls(seedFromMix(blocks[h - 1]!.header.mix, h, salt), pool, spec.params.backup_slots);
    assert.notEqual(b.header.slot, null);
    assert.equal(b.header.producer, winners[b.header.slot!], `height ${h}`);
    assert.ok(b.header.timestamp >= blocks[h - 1]!.header.timestamp + 500 + b.header.slot! * 1200, `height ${h} timestamp >= T(slot)`);
  }
  assert.ok(blocks.some((b) => b.attestations.length > 0), "attestations reach blocks");
});

test("finality advances on every node: the same finalized checkpoint, a canonical block at a multiple of the interval, behind the justified one", async () => {
  const I = spec.params.checkpoint_interval;
  type Head = { height: number; finalized: { height: number; hash: string }; justified: { height: number; hash: string } };
  const heads = await waitFor(async () => {
    const hs = (await Promise.all(nodes.map((n) => getJson(`${n.api}/api/chain/head`)))) as Head[];
    return hs.every((h) => h.finalized?.height >= 2 * I) ? hs : undefined;
  }, 60_000, `finalized height >= ${2 * I} on every node`);
  const low = Math.min(...heads.map((h) => h.finalized.height));
  const atLow = await Promise.all(nodes.map(async (n) => (await getJson(`${n.api}/api/blocks/${low}`)).hash as string));
  assert.equal(new Set(atLow).size, 1, "one block at the lowest finalized height on every node");
  for (const h of heads) {
    assert.equal(h.finalized.height % I, 0);
    // Both are the chain's (api/finality.ts): the justified checkpoint is never below the finalized one.
    assert.ok(h.justified.height >= h.finalized.height && h.justified.height % I === 0, `justified ${h.justified.height} at or above finalized ${h.finalized.height}`);
    assert.ok(h.height - h.finalized.height <= 3 * I, `head ${h.height} lags the finalized ${h.finalized.height} by at most ${3 * I}`);
    const f = await getJson(`${nodes[0]!.api}/api/blocks/${h.finalized.height}`);
    assert.equal(f.hash, h.finalized.hash, "the finalized checkpoint is the canonical block there");
  }
});

test("/api/mining/status: seed fields with their types, and the same winner on every node", async () => {
  const types: Record<string, string> = {
    next_height: "number", current_winner: "string", backups: "array", my_node_id: "string", my_slot: "number|null",
    eligible: "boolean", sync_state: "string", local_height: "number", network_height: "number", lag_blocks: "number",
    eligible_pool_size: "number", ready_peers: "number", eligible_streak: "number", recent_claims: "array",
  };
  const typeOf = (v: unknown) => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v);
  const sets = await waitFor(async () => {
    const s = await Promise.all(nodes.map((n) => getJson(`${n.api}/api/mining/status`)));
    return new Set(s.map((x) => x.next_height)).size === 1 ? s : undefined;
  }, 30_000, "statuses at the same next_height");
  for (const s of sets) {
    assert.deepEqual(Object.keys(s).sort(), Object.keys(types).sort());
    for (const [k, ty] of Object.entries(types)) assert.ok(ty.split("|").includes(typeOf(s[k])), `${k}: ${typeOf(s[k])}`);
    assert.equal(s.backups.length, 2);
    assert.equal(s.ready_peers, 2);
    for (const [h, r] of s.recent_claims) {
      assert.equal(typeof h, "number");
      assert.deepEqual(Object.keys(r).sort(), ["claimed_at", "slot_idx", "tip_hash", "winner_id"]);
    }
  }
  assert.equal(new Set(sets.map((s) => s.current_winner)).size, 1, "same current_winner for the same next_height");
  assert.deepEqual(new Set(sets.map((s) => s.my_node_id)).size, 3);
  assert.ok(sets.some((s) => s.recent_claims.length > 0), "someone has claims");
});

test("hostile P2P input is refused with a logged reason while the node keeps producing", async () => {
  const target = nodes[0]!;
  const url = `ws://127.0.0.1:${target.p2pPort}`;
  const genesis = (await getJson(`${target.api}/api/chain/spec`)).genesis_hash as string;
  const hello = (chainId: string, ebid: string, nonce: string) =>
    JSON.stringify({ type: "hello", version: PROTOCOL_VERSION, chain_id: chainId, genesis_hash: genesis, ebid, nonce, listen_port: 0, height: 0, tip_hash: genesis }) + "\n";
  // a hello for another chain
  const other = await rawClient(url);
  other.ws.send(hello("some-other-chain", "ab".repeat(32), randomBytes(32).toString("hex")));
  assert.match((await other.closed).reason, /another chain/);
  // malformed lines before the handshake
  const junk = await rawClient(url);
  junk.ws.send("\u0000\u0001 not json\n");
  assert.match((await junk.closed).reason, /malformed JSON before handshake/);
  // a full handshake as an outsider, then a block with a bad signature and malformed lines
  const outsider = { secretKey: new Uint8Array(32).fill(99) };
  const ebid = ebidOf(outsider.secretKey);
  const c = await rawClient(url);
  const nonce = randomBytes(32).toString("hex");
  c.ws.send(hello(spec.chain_id, ebid, nonce));
  await waitFor(() => c.lines.length >= 2, 5000, "hello + ack");
  const theirs = JSON.parse(c.lines.find((l) => l.includes('"hello"'))!);
  c.ws.send(JSON.stringify({ type: "hello_ack", sig: sign(Domain.hello, { chain_id: spec.chain_id, genesis_hash: genesis, ebid, peer_ebid: target.ebid, nonce, peer_nonce: theirs.nonce }, outsider.secretKey) }) + "\n");
  await waitFor(() => target.logs.some((l) => l.msg === "Peer connected" && String(l.peer) === ebid.slice(0, 12)), 5000, "outsider connected");
  // A block for the next height by its scheduled primary, correct in every way but signed by the outsider.
  const status = await getJson(`${target.api}/api/mining/status`);
  const parent = await getJson(`${target.api}/api/blocks/${status.next_height - 1}`);
  // (the signature is checked before the block is executed, so its state_root does not matter)
  const forged = sealBlock(
    draftHeader({ parent: { hash: parent.hash, height: parent.header.height, mix: parent.header.mix }, producer: status.current_winner, slot: 0, timestamp: parent.header.timestamp + 500, attestations: [], stateRoot: parent.header.state_root, validatorsRoot: parent.header.validators_root, finalityRoot: parent.header.finality_root }),
    { attestations: [] },
    outsider.secretKey,
    genesis,
  );
  c.ws.send(JSON.stringify({ type: "block", block: forged }) + "\n");
  c.ws.send('{"type":"block","block":{"hash":1}}\n{broken\n');
  await waitFor(() => target.logs.some((l) => l.msg === "Peer sent invalid data" && /invalid block: BAD_SIGNATURE/.test(String(l.reason))), 5000, "invalid block logged");
  await waitFor(() => target.logs.some((l) => l.msg === "Peer sent invalid data" && l.reason === "malformed JSON"), 5000, "malformed line logged");
  assert.ok(target.logs.some((l) => /another chain/.test(String(l.reason))), "wrong chain logged with its reason");
  c.ws.close();
  // still producing and serving
  const before = await height(target);
  await waitFor(async () => (await height(target)) >= before + 2, 20_000, "more blocks");
  const bad = await fetch(`${target.api}/api/blocks/not-a-block`);
  assert.equal(bad.status, 400);
  assert.equal((await bad.json()).error, "bad_request");
});

test("transfers from the faucet submitted to one node are included, and every node agrees on balances", async () => {
  const faucet = readKeyFile(join(dir, "faucet.key"));
  const to = nodes.map((n) => n.ebid);
  const hashes: string[] = [];
  for (let nonce = 0; nonce < 6; nonce++) {
    const body = { chain_id: spec.chain_id, from: faucet.ebid, to: to[nonce % 3]!, amount: String(1000 + nonce), fee: "2", nonce };
    const r = await fetch(`${nodes[0]!.api}/api/tx`, { method: "POST", body: JSON.stringify({ ...body, sig: sign(Domain.tx, body, faucet.secretKey) }) });
    assert.equal(r.status, 200, await r.clone().text());
    hashes.push((await r.json()).hash);
  }
  // nonce reuse is refused with the reason
  const dup = { chain_id: spec.chain_id, from: faucet.ebid, to: to[0]!, amount: "1", fee: "2", nonce: 0 };
  const refused = await fetch(`${nodes[0]!.api}/api/tx`, { method: "POST", body: JSON.stringify({ ...dup, sig: sign(Domain.tx, dup, faucet.secretKey) }) });
  assert.equal(refused.status, 400);
  const included = await waitFor(async () => {
    const st = await Promise.all(hashes.map((h) => getJson(`${nodes[2]!.api}/api/tx/${h}`)));
    return st.every((x) => x.status === "included" || x.status === "finalized") ? st : undefined;
  }, 30_000, "all transfers included (seen from another node)");
  const top = Math.max(...included.map((x) => x.height as number));
  await waitFor(async () => (await Promise.all(nodes.map(height))).every((h) => h >= top), 20_000, "every node past the last transfer");
  const spent = 6n * 2n + [0, 1, 2, 3, 4, 5].reduce((a, n) => a + 1000n + BigInt(n), 0n);
  for (const n of nodes) {
    const acc = await getJson(`${n.api}/api/accounts/${faucet.ebid}`);
    assert.equal(BigInt(acc.balance), BigInt(spec.alloc[faucet.ebid]!) - spent, n.ebid);
    assert.equal(acc.nonce, 6);
  }
  const roots = await Promise.all(nodes.map(async (n) => (await getJson(`${n.api}/api/blocks/${top}`)).header.state_root));
  assert.equal(new Set(roots).size, 1, "same state_root at the same height");
});

test("CLI: tx send, account and a load run whose transfers are all included", () => {
  const faucetFile = join(dir, "faucet.key");
  const api = nodes[1]!.api;
  const to = nodes[0]!.ebid;
  const sent = runCli(["tx", "send", "--key", faucetFile, "--to", to, "--amount", "5", "--api", api]);
  assert.equal(sent.status, 0, sent.stderr);
  assert.match(sent.stdout, /^[0-9a-f]{64} \(nonce \d+, added\)/);
  const bad = runCli(["tx", "send", "--key", faucetFile, "--to", to, "--amount", "1.5", "--api", api]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /whole number of base units/);
  const broke = runCli(["tx", "send", "--key", faucetFile, "--to", to, "--amount", "99999999999999999999", "--api", api]);
  assert.equal(broke.status, 1);
  assert.match(broke.stderr, /insufficient_balance/);
  const load = runCli(["load", "--key", faucetFile, "--tps", "40", "--duration", "3", "--api", api], 120_000);
  assert.equal(load.status, 0, load.stderr + load.stdout);
  const m = /submitted (\d+), accepted (\d+), refused (\d+), included (\d+)/.exec(load.stdout)!;
  assert.deepEqual([m[1], m[2], m[3], m[4]], ["120", "120", "0", "120"], load.stdout);
  const acct = runCli(["account", nodes[0]!.ebid, "--api", api]);
  assert.equal(acct.status, 0);
  const a = JSON.parse(acct.stdout);
  assert.ok(BigInt(a.balance) > 0n && a.blocks_produced >= 0 && typeof a.rewards_earned === "string");
});

test("a stopped node restarts from its data dir, catches up and rejoins", async () => {
  const n3 = nodes[2]!;
  assert.equal(await n3.stop(), 0, "graceful exit code 0");
  const others = nodes.slice(0, 2);
  const hBefore = await height(others[0]!);
  await waitFor(async () => (await height(others[0]!)) >= hBefore + 3, 30_000, "the other two continue");
  const restarted = await startNode({
    dataDir: join(dir, "node-3"),
    chain: join(dir, "chain.json"),
    peers: others.map((n) => `ws://127.0.0.1:${n.p2pPort}`),
  });
  nodes[2] = restarted;
  const opened = restarted.logs.find((l) => l.msg === "Chain opened")!;
  assert.ok((opened.height as number) >= 10, `resumed from stored height ${opened.height}`);
  await waitFor(async () => {
    const hs = await Promise.all(nodes.map(height));
    return hs[2]! >= hs[0]! - 1 && hs[2]! > (opened.height as number);
  }, 30_000, "restarted node caught up");
  const h = (await height(restarted)) - 1;
  const hashes = await Promise.all(nodes.map(async (n) => (await getJson(`${n.api}/api/blocks/${h}`)).hash));
  assert.equal(new Set(hashes).size, 1);
  await waitFor(async () => (await getJson(`${restarted.api}/api/mining/status`)).eligible === true, 20_000, "eligible again");
});
