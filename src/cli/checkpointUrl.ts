/**
 * `start --checkpoint` and `--checkpoint-url` (docs/protocol.md §9.7): the checkpoint a new node
 * starts from, given as `HEIGHT:HASH` or read from a trusted node's `GET /api/chain/head`
 * (`finalized`, §10), checked there to be the same chain (its `genesis_hash`).
 */
import { z } from "zod";
import type { Checkpoint } from "../consensus/finality.ts";
import { hex32, uint } from "../consensus/wire.ts";
import { ConfigError } from "../node/options/errors.ts";

/** ms the trusted node's API has to answer. */
const CHECKPOINT_URL_TIMEOUT_MS = 10_000;

/** Bytes of the trusted node's answer read at most (a chain head is well under 1 KiB). */
const CHECKPOINT_URL_MAX_BYTES = 1024 * 1024;

const headSchema = z.object({ genesis_hash: hex32, finalized: z.object({ height: uint, hash: hex32 }) });

/** `HEIGHT:HASH` (already checked by the option parser) as a checkpoint. */
export function checkpointOf(text: string): Checkpoint {
  const [height, hash] = text.split(":");
  return { height: Number(height), hash: hash! };
}

/**
 * The finalized checkpoint of the node whose API is at `url` (`GET <url>/api/chain/head`).
 * @throws ConfigError when it does not answer, answers something else, is on another chain, or has
 *   finalized nothing past genesis yet
 */
export async function checkpointFromUrl(url: string, genesisHash: string): Promise<Checkpoint> {
  const at = `${url.replace(/\/+$/, "")}/api/chain/head`;
  let body: unknown;
  try {
    const r = await fetch(at, { signal: AbortSignal.timeout(CHECKPOINT_URL_TIMEOUT_MS) });
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    body = JSON.parse(await boundedText(r, CHECKPOINT_URL_MAX_BYTES));
  } catch (e) {
    throw new ConfigError(`--checkpoint-url: ${at}: ${(e as Error).message}`);
  }
  const head = headSchema.safeParse(body);
  if (!head.success) throw new ConfigError(`--checkpoint-url: ${at} did not answer a chain head with a finalized checkpoint`);
  if (head.data.genesis_hash !== genesisHash) throw new ConfigError(`--checkpoint-url: ${url} follows another chain (genesis ${head.data.genesis_hash}, not ${genesisHash})`);
  if (head.data.finalized.height === 0) throw new ConfigError(`--checkpoint-url: ${url} has finalized nothing past genesis yet: start without a checkpoint`);
  return head.data.finalized;
}

// The body as text, refused past `max` bytes: a URL streaming without end must not fill memory
// until the timeout.
async function boundedText(r: Response, max: number): Promise<string> {
  if (!r.body) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > max) {
      await r.body.cancel().catch(() => undefined);
      throw new Error(`the answer is more than ${max / (1024 * 1024)} MiB`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}
