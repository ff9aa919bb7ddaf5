// The files a node keeps beside its database, on a real data dir: admin.token is rewritten each
// start as a fresh 0600 file of the node's user, whatever was there before.
import { test } from "node:test";
import assert from "node:assert/strict";
import { chownSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { VisionNode } from "../../../src/node/node.ts";
import { makeKeys, makeSpec, silentLog, tempDir } from "../../helpers/fixtures.ts";

const spec = makeSpec(makeKeys(3));

test("an existing admin.token with looser permissions or another owner is replaced by a 0600 file of the node's user", async () => {
  const t = tempDir();
  const token = join(t.dir, "admin.token");
  writeFileSync(token, "an old token\n", { mode: 0o644 });
  // as root (CI containers) the file can also belong to someone else, as after a `sudo` start
  const asRoot = process.getuid?.() === 0;
  if (asRoot) chownSync(token, 65534, 65534);
  const node = await VisionNode.init({ dataDir: t.dir, spec, p2p: { host: "127.0.0.1", port: 0 }, apiHost: "127.0.0.1", apiPort: 0, produce: false, mine: false }, silentLog);
  try {
    const st = statSync(token);
    assert.equal((st.mode & 0o777).toString(8), "600");
    if (asRoot) assert.equal(st.uid, 0);
    assert.equal(readFileSync(token, "utf8"), node.settings.adminToken + "\n");
    assert.deepEqual(readdirSync(t.dir).filter((f) => f.endsWith(".tmp")), [], "no temporary file left behind");
  } finally {
    await node.close();
    t.cleanup();
  }
});
