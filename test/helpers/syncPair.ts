// Two in-process nodes for sync tests, over real WebSockets and LevelDB: `server` holds a chain of
// `height` blocks (`servers`: that many nodes, each with a copy), `joiner` starts on an empty data
// dir; none produces nor mines, and they are not connected (a test dials when it is ready). All use
// the syncer options given.
import { cpSync } from "node:fs";
import { VisionNode } from "../../src/node/node.ts";
import type { SyncerOptions } from "../../src/sync/syncer.ts";
import { extend, makeKeys, makeSpec, openTestChain, silentLog, tempDir } from "./fixtures.ts";

export async function syncPair(height: number, sync: Partial<SyncerOptions>, o: { servers?: number } = {}) {
  const keys = makeKeys(3);
  const spec = makeSpec(keys);
  const count = o.servers ?? 1;
  const dirs = Array.from({ length: count + 1 }, () => tempDir());
  const opts = (dataDir: string) => ({ dataDir, spec, p2p: { host: "127.0.0.1", port: 0, peers: [] }, apiHost: "127.0.0.1", apiPort: 0, produce: false, mine: false, sync });
  const t = await openTestChain(spec, dirs[0]!.dir);
  await extend(t.chain, keys, height);
  await t.close();
  // More servers hold a copy of the same data dir (the same chain), made while no node has it open.
  for (let i = 1; i < count; i++) cpSync(dirs[0]!.dir, dirs[i]!.dir, { recursive: true });
  const servers: VisionNode[] = [];
  for (let i = 0; i < count; i++) servers.push(await VisionNode.init(opts(dirs[i]!.dir), silentLog));
  const joiner = await VisionNode.init(opts(dirs[count]!.dir), silentLog);
  return {
    spec,
    keys,
    server: servers[0]!,
    servers,
    joiner,
    async close() {
      await joiner.close();
      for (const s of servers) await s.close();
      for (const d of dirs) d.cleanup();
    },
  };
}
