/**
 * Writing a local testnet directory (`vision-node testnet init`, and the drills' own testnets):
 * the chain spec, one key per node, a funded faucet key and the node layout. Imports neither the
 * command line nor the process harness, so both can use it.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { writeKeyFile } from "../node/keyfile.ts";
import { normalizeChainSpec } from "../chain/spec.ts";
import { defaultChainParams } from "../consensus/params.ts";

/** Where each node of a testnet listens; stored as DIR/testnet.json. */
export interface TestnetLayout {
  nodes: { name: string; ebid: string; data_dir: string; p2p_port: number; api_port: number }[];
}

/** A node's key as the layout builder needs it: its EBID and BLS public key. */
interface NodeIdentity {
  ebid: string;
  blsPubkey: string;
}

/** Flags of `testnet init` (ports are those of node 1; node i gets base + i - 1). */
export interface TestnetInitFlags {
  nodes: number;
  dir: string;
  blockTimeMs?: number;
  /** further chain params (`--param name=value`); validated with the spec */
  param?: Record<string, number>;
  baseP2pPort: number;
  baseApiPort: number;
  chainId?: string;
  /** "proof-of-sync" (default) or "pow" (docs/protocol.md §8) */
  consensus?: "proof-of-sync" | "pow";
  /** start Proof-of-Sync with no genesis validators: the chain bootstraps on PoW fallback blocks */
  emptyPool?: boolean;
}

/** Faucet balance in `alloc` (base units). */
export const FAUCET_BALANCE = "1000000000000";

/**
 * Writes DIR/chain.json (genesis validators: the N nodes unless `emptyPool` or a pow chain; genesis now), DIR/node-<i>/node.key,
 * DIR/faucet.key (funded in alloc) and DIR/testnet.json.
 * @throws when DIR already holds a testnet
 */
export function testnetInit(f: TestnetInitFlags): TestnetLayout {
  const dir = resolve(f.dir);
  if (existsSync(join(dir, "chain.json"))) throw new Error(`${join(dir, "chain.json")} exists already`);
  mkdirSync(dir, { recursive: true });
  const layout: TestnetLayout = { nodes: [] };
  const identities: NodeIdentity[] = [];
  for (let i = 1; i <= f.nodes; i++) {
    const dataDir = join(dir, `node-${i}`);
    const key = writeKeyFile(join(dataDir, "node.key"));
    identities.push(key);
    layout.nodes.push({ name: `node-${i}`, ebid: key.ebid, data_dir: dataDir, p2p_port: f.baseP2pPort + i - 1, api_port: f.baseApiPort + i - 1 });
  }
  const params: Record<string, number> = { ...(f.param ?? {}), ...(f.blockTimeMs ? { block_time_ms: f.blockTimeMs } : {}) };
  const bond = String(params.min_bond ?? defaultChainParams.min_bond);
  const faucet = writeKeyFile(join(dir, "faucet.key"));
  const spec = normalizeChainSpec({
    chain_id: f.chainId ?? "vision-testnet-local",
    genesis_timestamp: Date.now(),
    consensus: f.consensus ?? "proof-of-sync",
    params,
    validators: f.emptyPool || f.consensus === "pow" ? [] : identities.map((k) => ({ ebid: k.ebid, bls_pubkey: k.blsPubkey, bond })),
    alloc: { [faucet.ebid]: FAUCET_BALANCE },
  });
  writeFileSync(join(dir, "chain.json"), JSON.stringify(spec, null, 2) + "\n");
  writeFileSync(join(dir, "testnet.json"), JSON.stringify(layout, null, 2) + "\n");
  return layout;
}
