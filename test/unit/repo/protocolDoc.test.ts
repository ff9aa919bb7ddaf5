// docs/protocol.md states constants the code also holds; these tests fail when the two drift apart.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { defaultChainParams } from "../../../src/consensus/params.ts";
import { chainSpecFileSchema } from "../../../src/chain/schemas.ts";
import { messageSchema } from "../../../src/p2p/messages.ts";
import { defaultP2POptions } from "../../../src/p2p/options.ts";
import { ADDRESS_BAN_AFTER, MAX_SERVE_DELAY_MS, INBOUND_PER_GROUP, learnedPerGroup, outboundReserved } from "../../../src/p2p/limits.ts";
import { LEARNED_MAX_FAILURES } from "../../../src/p2p/peerManager.ts";
import { MAX_REPLY_BYTES } from "../../../src/sync/protocol.ts";

const doc = readFileSync(new URL("../../../docs/protocol.md", import.meta.url), "utf8");

/** The text of one `## N.` section (up to the next `## `). */
function section(n: number): string {
  const start = doc.search(new RegExp(`^## ${n}\\. `, "m"));
  assert.ok(start >= 0, `docs/protocol.md has a section ${n}`);
  const next = doc.slice(start + 3).search(/^## /m);
  return next < 0 ? doc.slice(start) : doc.slice(start, start + 3 + next);
}

/** Rows of the markdown table that follows `heading` in `text`: cells, trimmed. */
function tableAfter(text: string, heading: string): string[][] {
  const at = text.indexOf(heading);
  assert.ok(at >= 0, `found ${JSON.stringify(heading)}`);
  const lines = text.slice(at).split("\n");
  const first = lines.findIndex((l) => l.startsWith("|"));
  const rows: string[][] = [];
  for (const l of lines.slice(first)) {
    if (!l.startsWith("|")) break;
    rows.push(l.split("|").slice(1, -1).map((c) => c.trim()));
  }
  return rows.slice(2); // header and separator
}

const ticked = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);

test("§2.1 lists every chain parameter with the code's default, and no other", () => {
  const rows = tableAfter(section(2), "| parameter | default |");
  const documented = new Map<string, number>();
  for (const [names, defaults] of rows) {
    const keys = ticked(names!);
    const values = defaults!.split(", ").map((v) => Number(v.replace(/,/g, "")));
    assert.equal(keys.length, values.length, `row ${names}`);
    keys.forEach((k, i) => documented.set(k, values[i]!));
  }
  assert.deepEqual(Object.fromEntries(documented), { ...defaultChainParams });
});

test("§2.1 lists every chain spec field the schema takes", () => {
  const rows = tableAfter(section(2), "| field | type | required | rule |");
  const fields = rows.map((r) => ticked(r[0]!)[0]);
  assert.deepEqual(fields.sort(), Object.keys(chainSpecFileSchema.shape).sort());
});

test("§9.2 lists every P2P message type", () => {
  const rows = tableAfter(section(9), "| `type` | fields | rules |");
  const types = rows.map((r) => ticked(r[0]!)[0]);
  const inCode = messageSchema.options.map((o) => o.shape.type.value as string);
  assert.deepEqual(types.sort(), inCode.sort());
});

/** Matches `words` in `text` with any run of whitespace (line breaks included) between words. */
function assertSays(text: string, words: string, what: string): void {
  const re = new RegExp(words.split(" ").map((w) => w.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")).join("\\s+"), "i");
  assert.match(text, re, what);
}

test("§9.4 states the code's default limits", () => {
  const text = section(9);
  for (const [type, { perSec, burst }] of Object.entries(defaultP2POptions.typeRateLimits)) {
    assertSays(text, `\`${type}\` ${perSec}/s burst ${burst}`, `${type} limit`);
  }
  const o = defaultP2POptions;
  const mib = (bytes: number) => bytes / 2 ** 20;
  assertSays(text, `(${o.rateLimitPerSec} messages/s, burst ${o.rateLimitBurst})`, "global bucket");
  assertSays(text, `at most ${o.maxPeers} connections`, "max peers");
  assertSays(text, `at most ${o.maxInboundPerAddress} inbound`, "inbound per address");
  assertSays(text, `at ${o.maxStrikes} the peer is closed and its EBID banned for ${o.banMs / 60_000} minutes`, "strikes and ban");
  assertSays(text, `one strike is forgiven per minute`, "strike decay");
  assertSays(text, `after ${ADDRESS_BAN_AFTER} EBID bans from one address`, "address bans");
  assert.equal(o.strikeDecayMs, 60_000, "strike decay");
  assertSays(text, `a WebSocket ping every ${o.pingIntervalMs / 1000} s`, "ping");
  assertSays(text, `for ${o.idleTimeoutMs / 1000} s is terminated`, "idle timeout");
  assertSays(text, `no ready within ${o.handshakeTimeoutMs / 1000} s`, "handshake timeout");
  assertSays(text, `No \`hello\` within ${o.helloTimeoutMs / 1000} s closes it`, "hello timeout");
  assertSays(text, `at most ${o.maxHandshakes} of them at once, and ${o.maxHandshakesPerAddress} from one IP address`, "handshake caps");
  assertSays(text, `longer than ${mib(o.maxLineBytes)} MiB`, "line cap");
  assertSays(text, `over ${mib(o.maxPayloadBytes)} MiB closes`, "payload cap");
  assertSays(text, `more than ${mib(o.maxBufferedBytes)} MiB of unread output`, "slow reader");
  assertSays(text, `past ${mib(4 * o.maxBufferedBytes)} MiB the peer is disconnected`, "slow reader cut");
  assertSays(text, `at most ${o.maxInflightRequests} of one peer's requests`, "in-flight requests");
  assertSays(text, `at most ${o.maxPendingRequests} wait`, "pending requests");
  assertSays(text, `holds at most ${mib(MAX_REPLY_BYTES)} MiB of blocks`, "reply byte cap");
  assertSays(text, `one peer: ${mib(o.servedBytesPerSec)} MiB/s with a burst of ${mib(o.servedBytesBurst)} MiB`, "served byte budget");
  assertSays(text, `more than ${MAX_SERVE_DELAY_MS / 1000} s of debt`, "served byte budget delay");
  assertSays(text, `min(${o.backoffCapMs / 1000} s, ${o.backoffBaseMs / 1000} s × 2^n)`, "backoff");
  assertSays(text, `a connection that stayed up ${o.backoffResetMs / 1000} s`, "backoff reset");
  assertSays(text, `At most ${o.maxBans.toLocaleString("en-US")} bans are kept`, "ban table");
  assertSays(text, `fail ${LEARNED_MAX_FAILURES} times in a row`, "learned address failures");
  assertSays(text, `at most ${INBOUND_PER_GROUP.perSec} new inbound connections a second (burst ${INBOUND_PER_GROUP.burst})`, "inbound rate per group");
  assertSays(text, "a quarter of the limit, at most 8", "outbound reserve");
  for (const n of [1, 4, 20, 32, 33, 50, 1000]) assert.equal(outboundReserved(n), Math.min(8, Math.floor(n / 4)), `reserve of ${n}`);
  assertSays(text, "at most an eighth of the peer limit", "learned per group");
  for (const n of [1, 8, 9, 50]) assert.equal(learnedPerGroup(n), Math.max(1, Math.ceil(n / 8)), `learned per group of ${n}`);
});
