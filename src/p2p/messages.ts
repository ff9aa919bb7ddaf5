/**
 * P2P message schemas (docs/protocol.md §9.2). Every line from a peer is parsed here; anything that
 * does not match is a strike, never a crash.
 */
import { z } from "zod";
import { attestationSchema, blockSchema, formatZodError, hex32, hexSig, txSchema, uint, wsUrl } from "../consensus/wire.ts";
import { AGENT_MAX_CHARS, PRINTABLE_ASCII } from "../version.ts";
import { graftSchema, ihaveSchema, iwantSchema, pruneSchema } from "./gossipMessages.ts";

/** P2P protocol version carried in `hello` (docs/protocol.md §9.3); a peer of another version is refused. */
export { PROTOCOL_VERSION } from "../version.ts";

const port = z.number().int().min(0).max(65535);

/**
 * A hello's `agent` (docs/protocol.md §9): 1..128 chars of printable ASCII. Informative only: shown
 * to operators, never used in any decision.
 */
export const agentSchema = z.string().refine((s) => s.length <= AGENT_MAX_CHARS && PRINTABLE_ASCII.test(s), `expected 1 to ${AGENT_MAX_CHARS} printable ASCII chars`);

/**
 * `hello` (docs/protocol.md §9.2, §9.3). `agent` and `advertise_url` are optional on receipt, so
 * older nodes that send neither still connect; a present but bad value refuses the hello.
 */
export const helloSchema = z.object({
  type: z.literal("hello"),
  version: z.number().int(),
  chain_id: z.string().max(64),
  genesis_hash: hex32,
  ebid: hex32,
  nonce: hex32,
  listen_port: port,
  height: uint,
  tip_hash: hex32,
  agent: agentSchema.optional(),
  /** where the sender accepts connections, when its operator said (`--p2p-advertise`) */
  advertise_url: wsUrl.optional(),
  /** the mesh gossip version the sender speaks (docs/protocol.md §9.5.1); absent: flood it */
  gossip: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
});

/** Every P2P message, by `type`. */
export const messageSchema = z.discriminatedUnion("type", [
  helloSchema,
  z.object({ type: z.literal("hello_ack"), sig: hexSig }),
  z.object({ type: z.literal("status"), height: uint, tip_hash: hex32 }),
  z.object({ type: z.literal("block"), block: blockSchema }),
  z.object({ type: z.literal("attestation"), attestation: attestationSchema }),
  z.object({ type: z.literal("tx"), tx: txSchema }),
  z.object({ type: z.literal("peers"), peers: z.array(z.string().max(256)).max(100) }),
  z.object({
    type: z.literal("req"),
    id: z.union([uint, z.string().max(64)]),
    path: z.string().max(128),
    data: z.unknown().optional(),
  }),
  z.object({
    type: z.literal("res"),
    id: z.union([uint, z.string().max(64)]),
    ok: z.boolean(),
    data: z.unknown().optional(),
    errors: z.unknown().optional(),
  }),
  // mesh gossip control (docs/protocol.md §9.5.1): ids 1..MAX_GOSSIP_IDS of 64 hex each
  graftSchema,
  pruneSchema,
  ihaveSchema,
  iwantSchema,
]);

/** Any valid P2P message. */
export type Message = z.infer<typeof messageSchema>;
/** A parsed `hello`. */
export type HelloMessage = z.infer<typeof helloSchema>;
/** The message with a given `type`. */
export type MessageOf<T extends Message["type"]> = Extract<Message, { type: T }>;

/** Parse result: a message, or the reason it was refused (our words, safe to log). */
export type ParseResult = { ok: true; msg: Message } | { ok: false; reason: string };

/** Parses one line into a message. */
export function parseMessage(line: string): ParseResult {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return { ok: false, reason: "malformed JSON" };
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return { ok: false, reason: "not a JSON object" };
  const r = messageSchema.safeParse(raw);
  if (!r.success) return { ok: false, reason: `invalid message: ${formatZodError(r.error)}` };
  return { ok: true, msg: r.data };
}
