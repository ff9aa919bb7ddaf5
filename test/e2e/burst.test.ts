// A burst of 1,000 transfers to one node, which is SIGKILLed and restarted in the middle of it:
// every transfer the node accepted (HTTP 200) is included, none lost; the client resubmits the ones
// that failed while the node was down, and in the end all 1,000 are included on every node.
// (Accepted transfers also spread by gossip; test/unit/sync/journal.test.ts checks the journal alone.)
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { startNode, runCli, getJson, type NodeProc } from "../helpers/nodeProcess.ts";
import { tempDir } from "../helpers/fixtures.ts";
import { waitFor } from "../helpers/net.ts";
import { readKeyFile } from "../../src/node/keyfile.ts";
import { signTransfer } from "../../src/chain/tx.ts";
import type { ChainSpec } from "../../src/chain/spec.ts";

const t = tempDir("vision-burst-");
let nodes: NodeProc[] = [];
after(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
  t.cleanup();
});

test("1,000 transfers, receiving node killed mid-burst: none accepted is lost, all are included", async () => {
  const dir = t.dir;
  const init = runCli(["testnet", "init", "--nodes", "3", "--dir", dir, "--block-time-ms", "500"]);
  assert.equal(init.status, 0, init.stderr);
  const chain = join(dir, "chain.json");
  const spec = JSON.parse(readFileSync(chain, "utf8")) as ChainSpec;
  const n1 = await startNode({ dataDir: join(dir, "node-1"), chain });
  const n2 = await startNode({ dataDir: join(dir, "node-2"), chain, peers: [`ws://127.0.0.1:${n1.p2pPort}`] });
  const n3 = await startNode({ dataDir: join(dir, "node-3"), chain, peers: [`ws://127.0.0.1:${n1.p2pPort}`, `ws://127.0.0.1:${n2.p2pPort}`] });
  nodes = [n1, n2, n3];
  await waitFor(async () => (await getJson(`${n1.api}/api/chain/head`)).height >= 2, 30_000, "production");
  const faucet = readKeyFile(join(dir, "faucet.key"));
  const txs = Array.from({ length: 1000 }, (_, nonce) => signTransfer(faucet, { chain_id: spec.chain_id, to: n3.ebid, amount: String(spec.params.min_account_balance), fee: "1", nonce }));
  const accepted = new Set<number>();
  const failed: number[] = [];
  let target = n2;
  const submit = async (i: number) => {
    try {
      const r = await fetch(`${target.api}/api/tx`, { method: "POST", body: JSON.stringify(txs[i]) });
      if (r.status === 200) accepted.add(i);
      else failed.push(i);
    } catch {
      failed.push(i);
    }
  };
  // First half in order, 10 in flight; then the crash; then the rest.
  for (let i = 0; i < 500; i += 10) await Promise.all(Array.from({ length: 10 }, (_, k) => submit(i + k)));
  const acceptedBeforeCrash = accepted.size;
  await n2.stop("SIGKILL");
  const restarted = await startNode({ dataDir: join(dir, "node-2"), chain, peers: [`ws://127.0.0.1:${n1.p2pPort}`, `ws://127.0.0.1:${n3.p2pPort}`] });
  nodes[1] = restarted;
  target = restarted;
  for (let i = 500; i < 1000; i += 10) await Promise.all(Array.from({ length: 10 }, (_, k) => submit(i + k)));
  // The client resubmits what failed (in nonce order), as a wallet would.
  for (const i of failed.sort((a, b) => a - b)) await submit(i);
  assert.equal(accepted.size, 1000, `accepted ${accepted.size}`);
  await waitFor(async () => (await getJson(`${n1.api}/api/accounts/${faucet.ebid}`)).nonce === 1000, 90_000, "all 1,000 included");
  const heights = await Promise.all(nodes.map(async (n) => (await getJson(`${n.api}/api/chain/head`)).height as number));
  const h = Math.min(...heights);
  await waitFor(async () => {
    const accts = await Promise.all(nodes.map((n) => getJson(`${n.api}/api/accounts/${faucet.ebid}`)));
    return accts.every((a) => a.nonce === 1000 && a.balance === accts[0].balance);
  }, 30_000, "every node agrees on the faucet account");
  // Height h was a tip a moment ago, where two backups' blocks may still compete; fork choice
  // settles it within a few blocks, after which every node holds the same state at h.
  let roots: string[] = [];
  await waitFor(async () => {
    roots = await Promise.all(nodes.map(async (n) => (await getJson(`${n.api}/api/blocks/${h}`)).header.state_root as string));
    return new Set(roots).size === 1;
  }, 30_000, `one state root at height ${h}`).catch((e: Error) => assert.fail(`${e.message}: ${roots.join(", ")}`));
  assert.ok(acceptedBeforeCrash >= 400, `accepted before the crash: ${acceptedBeforeCrash}`);
});
