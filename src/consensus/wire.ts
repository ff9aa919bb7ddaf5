/**
 * Schemas of the wire forms (docs/protocol.md §3): every block, transaction and attestation that
 * arrives from a peer or an HTTP body is parsed with one of these before anything else reads it.
 */
import { z } from "zod";
import { MAX_ATTESTATIONS_PER_BLOCK, MAX_SLASHINGS_PER_BLOCK } from "./params.ts";
import type { Tx } from "./types.ts";

/** 64 lowercase hex chars. */
export const hex32 = z.string().regex(/^[0-9a-f]{64}$/, "expected 64 lowercase hex chars");
/** 128 lowercase hex chars: an ed25519 signature. */
export const hexSig = z.string().regex(/^[0-9a-f]{128}$/, "expected 128 lowercase hex chars");
/** 192 lowercase hex chars: a BLS12-381 G2 signature (a RANDAO reveal, a proof of possession). */
export const hexBlsSig = z.string().regex(/^[0-9a-f]{192}$/, "expected 192 lowercase hex chars");
/** A non-negative safe integer. */
export const uint = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
/** A non-negative integer amount as a decimal string without leading zeros (at most 78 digits). */
export const decimalAmount = z.string().regex(/^(0|[1-9][0-9]{0,77})$/, "expected a non-negative integer as a decimal string");

/** Hard cap on transactions per block accepted from the wire, whatever the spec says. */
// 3,000 transfers with every field at its longest is ~1.66 MiB as a MinerBlock, so any valid block
// fits one sync reply (2 MiB) and one line (4 MiB): docs/protocol.md §9.6.
export const MAX_WIRE_TXS = 3_000;

/** Longest P2P address accepted anywhere: hello `advertise_url`, `peers` entries, chain spec `bootnodes`. */
export const MAX_WS_URL_CHARS = 256;

// scheme://host:port with an optional trailing "/": a DNS name or IPv4 address, or an IPv6 address in brackets.
const LABEL = "[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?";
const WS_URL = new RegExp(`^wss?://(?:${LABEL}(?:\\.${LABEL})*|\\[[0-9A-Fa-f:.]{2,45}\\]):([0-9]{1,5})/?$`);

/**
 * True for a dialable P2P address (docs/protocol.md §9): `ws://host:port` or `wss://host:port`,
 * an explicit port 1..65535, no credentials, path, query or fragment, at most
 * {@link MAX_WS_URL_CHARS} chars.
 */
export function isWsUrl(s: string): boolean {
  if (s.length > MAX_WS_URL_CHARS) return false;
  const m = WS_URL.exec(s);
  if (!m || Number(m[1]) < 1 || Number(m[1]) > 65535) return false;
  try {
    new URL(s);
    return true;
  } catch {
    return false;
  }
}

/** A dialable P2P address, see {@link isWsUrl}. */
export const wsUrl = z.string().refine(isWsUrl, "expected ws://host:port or wss://host:port (port 1-65535, no path, at most 256 chars)");

/** Header: exactly the docs/protocol.md §3 fields (extra fields would change the hash). */
export const headerSchema = z
  .object({
    version: z.literal(3),
    height: uint,
    parent_hash: hex32,
    timestamp: uint,
    producer: hex32,
    slot: z.number().int().min(0).max(64).nullable(),
    difficulty: z.number().int().min(0).max(64),
    nonce: uint,
    tx_root: hex32,
    attestations_root: hex32,
    state_root: hex32,
    validators_root: hex32,
    mix: hex32,
    randao_reveal: z.union([hexBlsSig, z.literal("")]),
    finality_root: hex32,
    slashings_root: hex32,
  })
  .strict();

/** 96 lowercase hex chars: a compressed BLS12-381 G1 public key (validity is checked in execution). */
export const hexBlsPubkey = z.string().regex(/^[0-9a-f]{96}$/, "expected 96 lowercase hex chars");

const chainId = z.string().min(1).max(64);

/** Signed transfer `{chain_id, from, to, amount, fee, nonce, sig}` (docs/protocol.md §3.4). */
export const transferSchema = z
  .object({ chain_id: chainId, from: hex32, to: hex32, amount: decimalAmount, fee: decimalAmount, nonce: uint, sig: hexSig })
  .strict();

/** Bond `{chain_id, kind: "bond", from, amount, fee, nonce, bls_pubkey, pop, sig}` (docs/protocol.md §3.4). */
export const bondSchema = z
  .object({
    chain_id: chainId,
    kind: z.literal("bond"),
    from: hex32,
    amount: decimalAmount,
    fee: decimalAmount,
    nonce: uint,
    bls_pubkey: hexBlsPubkey,
    pop: hexBlsSig,
    sig: hexSig,
  })
  .strict();

/** Unbond `{chain_id, kind: "unbond", from, fee, nonce, sig}` (docs/protocol.md §3.4). */
export const unbondSchema = z.object({ chain_id: chainId, kind: z.literal("unbond"), from: hex32, fee: decimalAmount, nonce: uint, sig: hexSig }).strict();

/** Withdraw `{chain_id, kind: "withdraw", from, fee, nonce, sig}` (docs/protocol.md §3.4). */
export const withdrawSchema = z.object({ chain_id: chainId, kind: z.literal("withdraw"), from: hex32, fee: decimalAmount, nonce: uint, sig: hexSig }).strict();

const kindSchemas = { bond: bondSchema, unbond: unbondSchema, withdraw: withdrawSchema } as const;

/**
 * Any signed transaction (docs/protocol.md §3.4): an object without `kind` is a transfer, one with
 * `kind` the exact field set of that kind; extra or missing fields are refused (they would change
 * the hash).
 */
export const txSchema = z.unknown().transform((v, ctx): Tx => {
  const kind = v !== null && typeof v === "object" && !Array.isArray(v) ? (v as { kind?: unknown }).kind : undefined;
  const schema = kind === undefined ? transferSchema : typeof kind === "string" && Object.hasOwn(kindSchemas, kind) ? kindSchemas[kind as keyof typeof kindSchemas] : undefined;
  if (!schema) {
    ctx.addIssue({ code: "custom", path: ["kind"], message: 'expected "bond", "unbond" or "withdraw" (a transfer has no kind)' });
    return z.NEVER;
  }
  const r = schema.safeParse(v);
  if (r.success) return r.data as Tx;
  for (const i of r.error.issues) ctx.addIssue({ code: "custom", path: i.path, message: i.message });
  return z.NEVER;
});

/**
 * Attestation `{ebid, height, block_hash, source_height, source_hash, target_height, target_hash,
 * sig}` (docs/protocol.md §3.4). That the heights are checkpoints is a validity rule (§5), not the schema's.
 */
export const attestationSchema = z
  .object({ ebid: hex32, height: uint, block_hash: hex32, source_height: uint, source_hash: hex32, target_height: uint, target_hash: hex32, sig: hexSig })
  .strict();

/**
 * An FFG vote as slashing evidence carries it (docs/protocol.md §6.5): the fields of a protocol
 * version 3 attestation, `{ebid, height, block_hash, source_height, source_hash, target_height,
 * target_hash, sig}`; whether the heights are checkpoint heights is not a schema rule.
 */
export const voteSchema = z
  .object({ ebid: hex32, height: uint, block_hash: hex32, source_height: uint, source_hash: hex32, target_height: uint, target_hash: hex32, sig: hexSig })
  .strict();

/** A header with its producer's signature, `{header, signature}` (docs/protocol.md §6.5 `blocks` evidence). */
export const signedHeaderSchema = z.object({ header: headerSchema, signature: hexSig }).strict();

/**
 * A slashing item (docs/protocol.md §6.5): `{kind: "votes", a, b}` with two votes, or `{kind:
 * "blocks", a, b}` with two signed headers; exactly these fields. Here, beside the block schema
 * that carries them, so that neither imports the other's module in a cycle.
 */
export const slashingItemSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("votes"), a: voteSchema, b: voteSchema }).strict(),
  z.object({ kind: z.literal("blocks"), a: signedHeaderSchema, b: signedHeaderSchema }).strict(),
]);

/** A block in wire form; extra top-level fields (e.g. MinerBlock status fields) are dropped. */
export const blockSchema = z.object({
  hash: hex32,
  header: headerSchema,
  signature: z.union([hexSig, z.literal("")]),
  txs: z.array(txSchema).max(MAX_WIRE_TXS),
  attestations: z.array(attestationSchema).max(MAX_ATTESTATIONS_PER_BLOCK),
  slashings: z.array(slashingItemSchema).max(MAX_SLASHINGS_PER_BLOCK),
});

/** Formats a zod error as one line: `path: message; ...`. */
export function formatZodError(err: z.ZodError): string {
  return err.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join(".") : "(root)"}: ${i.message}`)
    .join("; ");
}
