/**
 * Wire shapes of the mesh gossip control messages (docs/protocol.md §9.5): `graft`, `prune`,
 * `ihave`, `iwant`. They are sent only to a peer whose `hello` carried `gossip: 1`; a peer without it
 * is flooded as before and never sees them. Part of `messageSchema` (messages.ts, §9.2): a line
 * that breaks these shapes is invalid like any other (a strike).
 */
import { z } from "zod";
import { formatZodError, hex32 } from "../consensus/wire.ts";
import { hashJson, omit, toHex } from "../consensus/encoding.ts";
import { ImmutableMemo } from "../consensus/immutable.ts";
import type { Attestation } from "../consensus/types.ts";

/** At most this many ids in one `ihave` or `iwant` (docs/protocol.md §9.5). */
export const MAX_GOSSIP_IDS = 64;
/** The longest `prune` backoff a sender may ask for, ms (docs/protocol.md §9.5). */
export const MAX_PRUNE_BACKOFF_MS = 600_000;

/** What a gossip id names: a block hash, a transfer hash, or an attestation id (docs/protocol.md §9.5). */
export const gossipKindSchema = z.enum(["block", "tx", "attestation"]);
/** The kind of a gossiped message. */
export type GossipKind = z.infer<typeof gossipKindSchema>;

const ids = z.array(hex32).min(1).max(MAX_GOSSIP_IDS);

/** The mesh gossip version this node speaks, sent as `gossip` in its hello (docs/protocol.md §9.5.1). */
export const GOSSIP_VERSION = 1;

/** `graft` (no fields): the sender added the receiver to its mesh. */
export const graftSchema = z.object({ type: z.literal("graft") });
/** `prune`: the sender removed the receiver from its mesh; `backoff_ms` 0..600000 before it may graft again. */
export const pruneSchema = z.object({ type: z.literal("prune"), backoff_ms: z.number().int().min(0).max(MAX_PRUNE_BACKOFF_MS) });
/** `ihave`: 1..64 gossip ids of one kind the sender will serve once each on `iwant`. */
export const ihaveSchema = z.object({ type: z.literal("ihave"), kind: gossipKindSchema, ids });
/** `iwant`: 1..64 gossip ids of one kind the receiver announced to the sender. */
export const iwantSchema = z.object({ type: z.literal("iwant"), kind: gossipKindSchema, ids });

/** The four control messages, by `type`. */
export const gossipMessageSchema = z.discriminatedUnion("type", [graftSchema, pruneSchema, ihaveSchema, iwantSchema]);

/** Whether a message `type` is one of the four control messages. */
export function isGossipControl(type: string): type is GossipMessage["type"] {
  return type === "graft" || type === "prune" || type === "ihave" || type === "iwant";
}

/** A parsed control message. */
export type GossipMessage = z.infer<typeof gossipMessageSchema>;

/** Checks a decoded JSON object as a control message; the reason is our words, safe to log. */
export function parseGossipMessage(raw: unknown): { ok: true; msg: GossipMessage } | { ok: false; reason: string } {
  const r = gossipMessageSchema.safeParse(raw);
  return r.success ? { ok: true, msg: r.data } : { ok: false, reason: `invalid message: ${formatZodError(r.error)}` };
}

/**
 * An attestation's gossip id (docs/protocol.md §9.5): `hex(H(JCS(attestation without sig)))`, 64
 * hex, as a transfer's transaction hash. (A block's is its hash, a transfer's its transaction hash.)
 * Kept per frozen attestation (consensus/immutable.ts): a simulation's nodes, which receive one
 * frozen copy per line (p2p/frameMemo.ts), hash it once; any other attestation is hashed on each call.
 */
export function attestationGossipId(attestation: Attestation): string {
  return gossipIdMemo.get(attestation, () => toHex(hashJson(omit(attestation, "sig"))));
}

const gossipIdMemo = new ImmutableMemo<string>();
