// `start --checkpoint` and `--checkpoint-url` at the boundary (docs/protocol.md §9.7): the value
// parsers, and the finalized checkpoint read from a trusted node's API over real HTTP, refused
// when that node follows another chain or has finalized nothing yet.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { checkpointText, httpUrl, OptionValueError } from "../../../src/node/options/values.ts";
import { checkpointFromUrl, checkpointOf } from "../../../src/cli/checkpointUrl.ts";
import { ConfigError } from "../../../src/node/options/errors.ts";

const H = "ab".repeat(32);

test("--checkpoint takes HEIGHT:HASH (height >= 1, 64 hex) and --checkpoint-url an http(s) URL; anything else is refused with what was expected", () => {
  assert.equal(checkpointText(`96:${H.toUpperCase()}`), `96:${H}`);
  assert.deepEqual(checkpointOf(checkpointText(`0096:${H}`)), { height: 96, hash: H });
  for (const [v, msg] of [[`0:${H}`, /height of 1 or more/], [`96:${H.slice(2)}`, /HEIGHT:HASH/], [`x:${H}`, /HEIGHT:HASH/], [H, /HEIGHT:HASH/], [`1.5:${H}`, /HEIGHT:HASH/]] as const) {
    assert.throws(() => checkpointText(v), (e: Error) => e instanceof OptionValueError && msg.test(e.message), v);
  }
  assert.equal(httpUrl("http://10.0.0.5:8080"), "http://10.0.0.5:8080");
  assert.equal(httpUrl("https://node.example/"), "https://node.example/");
  for (const v of ["ws://a:1", "node:8080", "http://u:p@a:1", "ftp://a"]) assert.throws(() => httpUrl(v), OptionValueError, v);
});

test("--checkpoint-url reads the trusted node's finalized checkpoint from GET /api/chain/head, and refuses another chain's or genesis", async () => {
  let body: unknown = { height: 120, hash: "cd".repeat(32), genesis_hash: "11".repeat(32), finalized: { height: 96, hash: H } };
  const server = createServer((req, res) => {
    if (req.url !== "/api/chain/head") return res.writeHead(404).end();
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    assert.deepEqual(await checkpointFromUrl(url, "11".repeat(32)), { height: 96, hash: H });
    await assert.rejects(checkpointFromUrl(url, "22".repeat(32)), (e: Error) => e instanceof ConfigError && /another chain/.test(e.message));
    body = { genesis_hash: "11".repeat(32), finalized: { height: 0, hash: "11".repeat(32) } };
    await assert.rejects(checkpointFromUrl(url, "11".repeat(32)), (e: Error) => e instanceof ConfigError && /nothing past genesis/.test(e.message));
    body = { something: "else" };
    await assert.rejects(checkpointFromUrl(url, "11".repeat(32)), (e: Error) => e instanceof ConfigError && /did not answer a chain head/.test(e.message));
    await assert.rejects(checkpointFromUrl(`${url}/prefix/`, "11".repeat(32)), (e: Error) => e instanceof ConfigError && /prefix\/api\/chain\/head: HTTP 404/.test(e.message));
    await assert.rejects(checkpointFromUrl("http://127.0.0.1:1", "11".repeat(32)), ConfigError);
  } finally {
    server.close();
  }
});

test("--checkpoint-url stops reading a body past 1 MiB (a hostile or wrong URL streaming without end) with one clear error, well before its timeout", async () => {
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  const server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.write('{"pad":"');
    const pump = (): void => {
      while (!res.destroyed && res.write(chunk));
      if (!res.destroyed) res.once("drain", pump);
    };
    pump();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const t0 = Date.now();
  try {
    await assert.rejects(checkpointFromUrl(url, "11".repeat(32)), (e: Error) => e instanceof ConfigError && /more than 1 MiB/.test(e.message) && Date.now() - t0 < 5000);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});
