/**
 * Boundary validation of consensus objects (DESIGN.md section 3 wire forms, section 2 chain spec).
 * Everything that arrives from a peer, an HTTP body or a file passes through one of these.
 */
import { z } from "zod";
import { defaultChainParams, MAX_ATTESTATIONS_PER_BLOCK, type ChainParams } from "../consensus/params.ts";

/** 64 lowercase hex chars. */
export const hex32 = z.string().regex(/^[0-9a-f]{64}$/, "expected 64 lowercase hex chars");
/** 128 lowercase hex chars: an ed25519 signature. */
export const hexSig = z.string().regex(/^[0-9a-f]{128}$/, "expected 128 lowercase hex chars");
/** A non-negative safe integer. */
export const uint = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
/** A non-negative integer amount as a decimal string without leading zeros (at most 78 digits). */
export const decimalAmount = z.string().regex(/^(0|[1-9][0-9]{0,77})$/, "expected a non-negative integer as a decimal string");

/** Hard cap on transactions per block accepted from the wire, whatever the spec says. */
export const MAX_WIRE_TXS = 10_000;

/** Header: exactly the DESIGN.md section 3 fields (extra fields would change the hash). */
export const headerSchema = z
  .object({
    version: z.literal(1),
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
  })
  .strict();

/** Signed transfer (DESIGN.md section 3). */
export const txSchema = z
  .object({
    chain_id: z.string().min(1).max(64),
    from: hex32,
    to: hex32,
    amount: decimalAmount,
    fee: decimalAmount,
    nonce: uint,
    sig: hexSig,
  })
  .strict();

/** Attestation `{ebid, height, block_hash, sig}` (DESIGN.md section 5). */
export const attestationSchema = z
  .object({ ebid: hex32, height: uint, block_hash: hex32, sig: hexSig })
  .strict();

/** A block in wire form; extra top-level fields (e.g. MinerBlock status fields) are dropped. */
export const blockSchema = z.object({
  hash: hex32,
  header: headerSchema,
  signature: z.union([hexSig, z.literal("")]),
  txs: z.array(txSchema).max(MAX_WIRE_TXS),
  attestations: z.array(attestationSchema).max(MAX_ATTESTATIONS_PER_BLOCK),
});

const paramShape = Object.fromEntries(
  Object.keys(defaultChainParams).map((k) => [k, z.number().int().min(0).max(1_000_000_000).optional()]),
) as { [K in keyof ChainParams]: z.ZodOptional<z.ZodNumber> };

/** Chain spec as written in a file (DESIGN.md section 2); params may be partial. */
export const chainSpecFileSchema = z
  .object({
    chain_id: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, "chain_id: 1-64 chars of [A-Za-z0-9._-]"),
    genesis_timestamp: uint,
    consensus: z.enum(["proof-of-sync", "pow"]),
    params: z.object(paramShape).strict().optional(),
    initial_pool: z.array(hex32).max(10_000),
    allowlist: z.array(hex32).max(10_000).optional(),
    alloc: z.record(hex32, decimalAmount).optional(),
    block_reward: decimalAmount.optional(),
  })
  .strict();

/** A chain spec as parsed from its file, before defaults. */
export type ChainSpecFile = z.infer<typeof chainSpecFileSchema>;

/** Formats a zod error as one line: `path: message; ...`. */
export function formatZodError(err: z.ZodError): string {
  return err.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join(".") : "(root)"}: ${i.message}`)
    .join("; ");
}
