/**
 * `vision-node db verify`: prints what `verifyDataDir` found; exit 1 when anything is wrong.
 * `vision-node db reset-protection`: moves the slashing protection record aside (docs/protocol.md §6.6).
 */
import { resolve } from "node:path";
import { loadChainSpec } from "../chain/spec.ts";
import { verifyDataDir } from "../chain/verify.ts";
import { DEFAULT_CHAIN } from "./start.ts";
import { assertDataDirFree } from "../node/dataDir.ts";
import { PROTECTION_FILE, resetProtection } from "../node/slashingProtection.ts";

/** Flags of `db verify`. */
export interface DbVerifyFlags {
  dataDir: string;
  chain?: string;
  json: boolean;
}

/** Runs the verification and prints the report. @throws DataDirLockedError while a node runs on it, or when the data dir cannot be opened */
export async function runDbVerify(f: DbVerifyFlags): Promise<void> {
  const spec = loadChainSpec(resolve(f.chain ?? DEFAULT_CHAIN));
  assertDataDirFree(resolve(f.dataDir)); // a running node's directory is refused before LevelDB touches it
  const r = await verifyDataDir(resolve(f.dataDir), spec);
  if (f.json) {
    process.stdout.write(JSON.stringify(r, null, 2) + "\n");
  } else {
    process.stdout.write(
      `${r.blocks} blocks stored, canonical height ${r.canonical_height}, ${r.replayed} replayed with full validation, ` +
        `${r.accounts} accounts and ${r.tx_index_entries} index entries checked in ${r.seconds.toFixed(2)} s: ${r.ok ? "OK" : "FAILED"}\n`,
    );
    for (const p of r.problems) process.stdout.write(`  ${p}\n`);
  }
  process.exitCode = r.ok ? 0 : 1;
}

/**
 * Moves `<data-dir>/slashing-protection.json` aside (renamed `.reset-<ms>`), so that the next start
 * writes a new record; prints what it did. Only for a record that is corrupt or another key's, and
 * only when no other copy of the key has signed since: the new record starts empty, and the node
 * then learns its key's blocks and votes from the chain it syncs (and waits a checkpoint before voting).
 * @throws DataDirLockedError while a node runs on the data dir
 */
export function runDbResetProtection(f: { dataDir: string }): void {
  const dir = resolve(f.dataDir);
  assertDataDirFree(dir);
  const aside = resetProtection(dir);
  process.stdout.write(aside ? `moved ${PROTECTION_FILE} to ${aside}; the next start writes a new record\n` : `no ${PROTECTION_FILE} in ${dir}: nothing to reset\n`);
}
