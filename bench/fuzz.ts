/**
 * `npm run bench -- --only fuzz [--fuzz-cases N]`: fast-check fuzzing of every input boundary, at
 * least 100,000 cases in all, reporting what it tried and what came back:
 * - the P2P framing decoder (random byte streams cut at random points, with and without newlines,
 *   some over the line cap): never throws, never returns a line over the cap;
 * - the P2P message validator (random JSON values and mutated valid messages): never throws, accepts
 *   only schema-valid messages;
 * - the HTTP API of a real node over 127.0.0.1 (random bodies, JSON and not, to every POST route;
 *   random path segments and query strings to the GET routes): never a 5xx, never a dropped connection,
 *   and the node still answers afterwards.
 */
import fc from "fast-check";
import { join } from "node:path";
import { LineDecoder } from "../src/p2p/framing.ts";
import { parseMessage } from "../src/p2p/messages.ts";
import { VisionNode } from "../src/node/node.ts";
import { extend, makeKeys, makeSpec, silentLog, tempDir } from "../test/helpers/fixtures.ts";
import { fmt } from "./stats.ts";

const POST_ROUTES = ["/api/tx", "/submit_block", "/mine_block", "/difficulty/set", "/config/refresh"];
const GET_ROUTES = ["/api/blocks/", "/api/blocks?from=", "/api/tx/", "/api/accounts/", "/api/mempool?limit=", "/blockchain?from=", "/api/evidence?limit=", "/api/blocks/forks?from=", "/api/docs/assets/"];

function validMessage(): fc.Arbitrary<unknown> {
  const hex = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((b) => Buffer.from(b).toString("hex"));
  return fc.oneof(
    fc.record({ type: fc.constant("status"), height: fc.nat(), tip_hash: hex(32) }),
    fc.record({ type: fc.constant("attestation"), attestation: fc.record({ ebid: hex(32), height: fc.nat(), block_hash: hex(32), sig: hex(64) }) }),
    fc.record({ type: fc.constant("req"), id: fc.nat(), path: fc.constantFrom("/data/chain_info", "/data/miner_block/range", "/x"), data: fc.jsonValue() }),
    fc.record({ type: fc.constant("peers"), peers: fc.array(fc.webUrl(), { maxLength: 3 }) }),
  );
}

/** Mutates a value: drops, retypes or adds a field, or swaps in a random JSON value. */
function mutated(): fc.Arbitrary<unknown> {
  return fc.tuple(validMessage(), fc.string(), fc.jsonValue(), fc.nat(3)).map(([m, key, v, how]) => {
    const o = { ...(m as Record<string, unknown>) };
    const keys = Object.keys(o);
    if (how === 0 && keys.length) delete o[keys[key.length % keys.length]!];
    else if (how === 1 && keys.length) o[keys[key.length % keys.length]!] = v;
    else if (how === 2) o[key] = v;
    else return v;
    return o;
  });
}

export async function benchFuzz(cases = 100_000): Promise<void> {
  console.log(`\n## Fuzzing the input boundaries (${cases} cases planned)`);
  const per = { framing: Math.round(cases * 0.4), messages: Math.round(cases * 0.4), http: cases - 2 * Math.round(cases * 0.4) };

  // 1. Framing.
  let lines = 0;
  let oversized = 0;
  let t0 = performance.now();
  fc.assert(
    // Chunks of random bytes with about one newline in ten, so lines of every length occur.
    fc.property(fc.array(fc.array(fc.oneof({ weight: 1, arbitrary: fc.constant(10) }, { weight: 9, arbitrary: fc.nat(255) }), { maxLength: 300 }).map((a) => Uint8Array.from(a)), { maxLength: 20 }), fc.nat(200), (chunks, cap) => {
      const d = new LineDecoder(cap + 8);
      for (const c of chunks) {
        const r = d.push(c);
        lines += r.lines.length;
        oversized += r.oversized;
        // Each raw byte decodes to at most one UTF-16 unit (U+FFFD for an invalid one), so a line within the
        // byte cap is at most that many units long.
        for (const l of r.lines) if (l.length > cap + 8) throw new Error("line over the cap returned");
      }
    }),
    { numRuns: per.framing },
  );
  console.log(`framing decoder: ${per.framing} random streams, ${lines} lines out, ${oversized} over-cap lines dropped, 0 throws (${fmt((performance.now() - t0) / 1000, 1)} s)`);

  // 2. Message validator.
  const reasons = new Map<string, number>();
  let accepted = 0;
  t0 = performance.now();
  fc.assert(
    fc.property(fc.oneof(validMessage(), mutated(), fc.jsonValue(), fc.string()), (v) => {
      const r = parseMessage(typeof v === "string" && Math.random() < 0.5 ? v : JSON.stringify(v) ?? "null");
      if (r.ok) accepted++;
      else {
        const k = r.reason.split(":")[0]!;
        reasons.set(k, (reasons.get(k) ?? 0) + 1);
      }
    }),
    { numRuns: per.messages },
  );
  console.log(`message validator: ${per.messages} inputs, ${accepted} accepted, refused: ${[...reasons].map(([k, n]) => `${k} ${n}`).join(", ")}; 0 throws (${fmt((performance.now() - t0) / 1000, 1)} s)`);

  // 3. HTTP routes of a real node.
  const t = tempDir("vision-fuzz-");
  const keys = makeKeys(3);
  const spec = makeSpec(keys, { alloc: { [keys[0]!.ebid]: "1000" } });
  const node = await VisionNode.init(
    { dataDir: join(t.dir, "node"), spec, p2p: { host: "127.0.0.1", port: 0 }, apiHost: "127.0.0.1", apiPort: 0, produce: false, mine: false },
    silentLog,
  );
  const statuses = new Map<number, number>();
  t0 = performance.now();
  try {
    await extend(node.chain, keys, 3);
    const base = `http://127.0.0.1:${node.apiPort}`;
    const body = fc.oneof(fc.jsonValue().map((v) => JSON.stringify(v)), fc.string({ maxLength: 200 }), mutated().map((v) => JSON.stringify(v) ?? ""), fc.constant("{".repeat(1000)));
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.constantFrom(...POST_ROUTES), fc.constantFrom(...GET_ROUTES), body, fc.string({ maxLength: 80 }), async (post, route, getRoute, b, segment) => {
        const r = post
          ? await fetch(base + route, { method: "POST", headers: { "content-type": "application/json", authorization: "Bearer " + segment }, body: b })
          : await fetch(base + getRoute + encodeURIComponent(segment));
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        await r.arrayBuffer();
        if (r.status >= 500) throw new Error(`${post ? "POST " + route : "GET " + getRoute + segment} → ${r.status}`);
      }),
      { numRuns: per.http },
    );
    const alive = await fetch(`${base}/api/chain/head`);
    if (!alive.ok) throw new Error("the node stopped answering");
  } finally {
    await node.close();
    t.cleanup();
  }
  console.log(
    `HTTP API (real node, 127.0.0.1): ${per.http} requests to ${POST_ROUTES.length} POST and ${GET_ROUTES.length} GET routes; ` +
      `statuses ${[...statuses].sort(([a], [b]) => a - b).map(([s, n]) => `${s}: ${n}`).join(", ")}; 0 server errors, node still answering (${fmt((performance.now() - t0) / 1000, 1)} s)`,
  );
  console.log(`total: ${per.framing + per.messages + per.http} cases`);
}
