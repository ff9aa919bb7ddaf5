// A real node (LevelDB, HTTP API and metrics listener on 127.0.0.1, ephemeral ports; producing off)
// whose chain is built by the test with every validator's honest votes (docs/protocol.md §5a), with
// checkpoint_interval 4, and left at a fork where the store's finalized checkpoint (§7) is not the
// head branch's:
//
//   1 .. 8 canonical, each carrying the votes for its parent (a transfer at height 2, another at 6);
//   9b     primary (slot 0, weight 2) on 8, no votes: the head; F(9b) = {justified 4, finalized 0}
//   9a     backup (slot 1, weight 1) on 8, carrying the votes for 8: FFG (4, 8) justifies cp(2) = 8
//          and finalizes cp(1) = 4, so the store's finalized checkpoint is 4 and its justified one 8.
//
// `voteOnHead()` then extends the head by a block carrying the votes for it (on 9b: the head branch
// justifies 8 and finalizes 4 as well).
import { VisionNode } from "../../src/node/node.ts";
import { Domain, sign } from "../../src/consensus/signatures.ts";
import type { Block, Tx } from "../../src/consensus/types.ts";
import type { Chain } from "../../src/chain/chain.ts";
import { attestOn, blockFor, makeKeys, makeSpec, silentLog, tempDir, type TestKey } from "./fixtures.ts";

export const keys = makeKeys(3);
export const payer = makeKeys(5)[4]!; // funded, not a validator
export const spec = makeSpec(keys, { alloc: { [payer.ebid]: "1000" }, params: { block_time_ms: 2000, attestation_max_age: 4, checkpoint_interval: 4 } });
export const I = spec.params.checkpoint_interval;

/** A transfer from the payer. */
export function transfer(nonce: number): Tx {
  const body = { chain_id: spec.chain_id, from: payer.ebid, to: keys[0]!.ebid, amount: "10", fee: "1", nonce };
  return { ...body, sig: sign(Domain.tx, body, payer.secretKey) } as Tx;
}

// A block on the head in `slot`, carrying every validator's honest attestation of the head (none for genesis).
async function onHead(chain: Chain, slot = 0, opts: { votes?: boolean; txs?: Tx[] } = {}): Promise<Block> {
  const head = chain.head;
  const attestations = head.height === 0 || opts.votes === false ? [] : await Promise.all(keys.map((k: TestKey) => attestOn(chain, k, head.height, head.hash)));
  return blockFor(chain, head, keys, slot, { attestations, txs: opts.txs });
}

async function imported(chain: Chain, b: Block): Promise<void> {
  const r = await chain.importBlock(b);
  if (r.status !== "imported") throw new Error(`fixture block ${b.header.height} not imported: ${r.status}`);
}

/** Starts the node and builds the fork above; `txs` are the two transfers (in the blocks at heights 2 and 6). */
export async function finalityNode() {
  const dir = tempDir();
  const node = await VisionNode.init(
    { dataDir: dir.dir, spec, p2p: { host: "127.0.0.1", port: 0, peers: [] }, apiHost: "127.0.0.1", apiPort: 0, metricsPort: 0, produce: false, mine: false, sync: {} },
    silentLog,
  );
  try {
    const chain = node.chain;
    const txs = [transfer(0), transfer(1)];
    for (let h = 1; h <= 2 * I; h++) await imported(chain, await onHead(chain, 0, { txs: h === 2 ? [txs[0]!] : h === 6 ? [txs[1]!] : [] }));
    const fork = await onHead(chain, 0, { votes: false });
    const votes = await onHead(chain, 1);
    await imported(chain, fork);
    await imported(chain, votes);
    if (chain.head.hash !== fork.hash) throw new Error("fixture: the primary block without votes should be the head");
    return {
      node,
      api: `http://127.0.0.1:${node.apiPort}`,
      metrics: `http://127.0.0.1:${node.metricsPort}/metrics`,
      txs,
      /** extends the head by a block carrying the votes for it */
      async voteOnHead(): Promise<Block> {
        const b = await onHead(chain, 0);
        await imported(chain, b);
        return b;
      },
      async close() {
        await node.close();
        dir.cleanup();
      },
    };
  } catch (e) {
    await node.close();
    dir.cleanup();
    throw e;
  }
}
