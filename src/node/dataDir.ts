/**
 * The data directory's lock. The node opens its LevelDB (`<data-dir>/chaindata`) before it writes
 * anything else (admin.token, node.key), so LevelDB's own lock (an fcntl lock on `chaindata/LOCK`,
 * released by the OS when the process dies, however it dies) keeps a second node off the
 * directory. LevelDB rotates its text log (`chaindata/LOG`) before it takes that lock, so on Linux
 * the holder is first looked up in /proc/locks and a held directory is refused without opening
 * anything: not a byte changes. Elsewhere LevelDB's refusal is the guard (only its LOG rotates).
 */
import { mkdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { ChainDb } from "../storage/chainDb.ts";

/** Another process holds the data directory. */
export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number | undefined,
  ) {
    super(`data dir ${dataDir} is in use by another vision-node${pid !== undefined ? ` (pid ${pid})` : ""}`);
    this.name = "DataDirLockedError";
  }
}

/**
 * Creates `dataDir` if needed and opens its chain database, which locks the directory.
 * @throws DataDirLockedError when another process has it open (nothing in the directory is changed); other LevelDB errors as they come
 */
export async function openDataDir(dataDir: string): Promise<ChainDb> {
  mkdirSync(dataDir, { recursive: true });
  assertDataDirFree(dataDir);
  const path = join(dataDir, "chaindata");
  try {
    return await ChainDb.open(path);
  } catch (e) {
    if ((e as { cause?: { code?: string } }).cause?.code === "LEVEL_LOCKED") throw new DataDirLockedError(dataDir, lockHolder(join(path, "LOCK")));
    throw e;
  }
}

/**
 * Refuses a data dir that a running node holds, without touching it (on Linux; elsewhere it
 * passes and LevelDB's own lock refuses the open).
 * @throws DataDirLockedError
 */
export function assertDataDirFree(dataDir: string): void {
  const held = lockHolder(join(dataDir, "chaindata", "LOCK"));
  if (held !== undefined) throw new DataDirLockedError(dataDir, held);
}

/**
 * The pid holding an fcntl lock on `file`, from Linux's /proc/locks (`1: POSIX ADVISORY WRITE <pid>
 * <major>:<minor>:<inode> 0 EOF`); undefined when the file does not exist, nobody holds it, or
 * the platform has no /proc/locks.
 */
export function lockHolder(file: string): number | undefined {
  try {
    const st = statSync(file);
    const dev = `${hex2(Number((BigInt(st.dev) >> 8n) & 0xfffn))}:${hex2(Number((BigInt(st.dev) & 0xffn) | ((BigInt(st.dev) >> 12n) & 0xfff00n)))}`;
    for (const line of readFileSync("/proc/locks", "utf8").split("\n")) {
      const f = line.trim().split(/\s+/);
      if (f[1] === "POSIX" && f[5] === `${dev}:${st.ino}`) return Number(f[4]);
    }
  } catch {
    // not Linux, or the file went away: the message goes without a pid
  }
  return undefined;
}

const hex2 = (n: number) => n.toString(16).padStart(2, "0");
