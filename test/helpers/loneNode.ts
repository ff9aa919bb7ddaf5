// A real node on LevelDB in a temp dir, listening on an ephemeral port with no peers of its own,
// that a test joins with raw P2P clients under fresh keys (strangers). Producing and mining off.
import type { Logger } from "pino";
import { VisionNode } from "../../src/node/node.ts";
import type { ChainSpec } from "../../src/chain/spec.ts";
import { ebidOf } from "../../src/consensus/signatures.ts";
import { silentLog, tempDir } from "./fixtures.ts";
import { handshakeClient, waitFor } from "./net.ts";
import { freshKey } from "./junk.ts";

/** Starts the node; `join()` connects one more stranger and waits until the node counts it ready. */
export async function loneNode(spec: ChainSpec, log: Logger = silentLog) {
  const dir = tempDir();
  const node = await VisionNode.init(
    { dataDir: dir.dir, spec, p2p: { host: "127.0.0.1", port: 0, peers: [] }, apiHost: "127.0.0.1", apiPort: 0, produce: false, mine: false, sync: {} },
    log,
  );
  const url = `ws://127.0.0.1:${node.p2p.port}`;
  const genesis = node.chain.genesis.hash;
  let joined = 0;
  return {
    node,
    genesis,
    async join() {
      const k = freshKey();
      const cl = await handshakeClient(url, { ebid: ebidOf(k.secretKey), secretKey: k.secretKey }, spec.chain_id, genesis, node.key.ebid);
      const n = ++joined;
      await waitFor(() => node.p2p.readyPeers().length === n, 3000, `peer ${n} ready`);
      return cl;
    },
    async close() {
      await node.close();
      dir.cleanup();
    },
  };
}
