// Two in-process nodes for sync tests, over real WebSockets and LevelDB: `server` holds a chain of
// `height` blocks, `joiner` starts on an empty data dir; neither produces nor mines, and they are
// not connected (a test dials when it is ready). Both use the syncer options given.
import { VisionNode } from "../../src/node/node.ts";
import type { SyncerOptions } from "../../src/sync/syncer.ts";
import { extend, makeKeys, makeSpec, openTestChain, silentLog, tempDir } from "./fixtures.ts";

export async function syncPair(height: number, sync: Partial<SyncerOptions>) {
  const keys = makeKeys(3);
  const spec = makeSpec(keys);
  const dirs = [tempDir(), tempDir()] as const;
  const opts = (dataDir: string) => ({ dataDir, spec, p2p: { host: "127.0.0.1", port: 0, peers: [] }, apiHost: "127.0.0.1", apiPort: 0, produce: false, mine: false, sync });
  const t = await openTestChain(spec, dirs[0].dir);
  await extend(t.chain, keys, height);
  await t.close();
  const server = await VisionNode.init(opts(dirs[0].dir), silentLog);
  const joiner = await VisionNode.init(opts(dirs[1].dir), silentLog);
  return {
    spec,
    server,
    joiner,
    async close() {
      await joiner.close();
      await server.close();
      for (const d of dirs) d.cleanup();
    },
  };
}
