/**
 * Boundary validation of the chain spec file (docs/protocol.md §2). Wire-form schemas live in
 * `consensus/wire.ts`.
 */
import { z } from "zod";
import { defaultChainParams, type ChainParams } from "../consensus/params.ts";
import { decimalAmount, hex32, uint, wsUrl } from "../consensus/wire.ts";

export { formatZodError } from "../consensus/wire.ts";

const paramShape = Object.fromEntries(
  Object.keys(defaultChainParams).map((k) => [k, z.number().int().min(0).max(1_000_000_000).optional()]),
) as { [K in keyof ChainParams]: z.ZodOptional<z.ZodNumber> };

/** Chain spec as written in a file (docs/protocol.md §2); params may be partial. */
export const chainSpecFileSchema = z
  .object({
    chain_id: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, "chain_id: 1-64 chars of [A-Za-z0-9._-]"),
    genesis_timestamp: uint,
    consensus: z.enum(["proof-of-sync", "pow"]),
    params: z.object(paramShape).strict().optional(),
    /** genesis validators (docs/protocol.md §2, §5); their bonds are minted at genesis */
    validators: z
      .array(
        z
          .object({
            ebid: hex32,
            bls_pubkey: z.string().regex(/^[0-9a-f]{96}$/, "bls_pubkey: 96 lowercase hex chars (a compressed BLS12-381 G1 key)"),
            bond: decimalAmount,
          })
          .strict(),
      )
      .max(10_000)
      .optional(),
    allowlist: z.array(hex32).max(10_000).optional(),
    alloc: z.record(hex32, decimalAmount).optional(),
    block_reward: decimalAmount.optional(),
    /** P2P addresses a node dials when it has no configured peers; not part of the genesis commitment */
    bootnodes: z.array(wsUrl).max(32, "at most 32 entries").optional(),
  })
  .strict();

/** A chain spec as parsed from its file, before defaults. */
export type ChainSpecFile = z.infer<typeof chainSpecFileSchema>;

