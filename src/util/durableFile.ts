/**
 * Small files written so that a crash or a power loss leaves either the old file or the whole new
 * one, never a torn or empty one (docs/operations.md "Durability"): the bytes go to a temporary
 * file in the same directory, created with the final mode, which is fsynced and then renamed (or,
 * to refuse an existing file, hard-linked) onto the path; the directory is fsynced last so the new
 * name itself is on disk. The result is a fresh inode: whatever mode or owner an older file at the
 * path had is gone with it.
 */
import { closeSync, fsyncSync, linkSync, openSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { basename, dirname, join } from "node:path";

/** How `writeFileDurably` treats an existing file. */
export interface DurableWriteOptions {
  /** permission bits of the new file (the umask may only clear some); default 0o600 */
  mode?: number;
  /** refuse when `path` exists (EEXIST), atomically; default false: replace it */
  exclusive?: boolean;
}

/**
 * Writes `data` to `path` atomically and durably (see the module doc).
 * @throws the fs error (`EEXIST` with `exclusive` when the path exists); the temporary file is removed
 */
export function writeFileDurably(path: string, data: string | Uint8Array, o: DurableWriteOptions = {}): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  const fd = openSync(tmp, "wx", o.mode ?? 0o600);
  try {
    try {
      writeFileSync(fd, data); // loops until every byte is written (one writeSync may write fewer)
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (o.exclusive) {
      linkSync(tmp, path); // EEXIST when the path exists, with no window where it is half there
      unlinkSync(tmp);
    } else {
      renameSync(tmp, path);
    }
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // already renamed or never created
    }
    throw e;
  }
  fsyncDir(dir);
}

/** Fsyncs a directory so the names created, renamed or removed in it are on disk. A no-op where directories cannot be opened (Windows). */
export function fsyncDir(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, "r");
  } catch {
    return;
  }
  try {
    fsyncSync(fd);
  } catch (e) {
    // some file systems refuse fsync on a directory; the rename is still atomic there
    if (!["EINVAL", "EISDIR", "EPERM", "EBADF"].includes((e as NodeJS.ErrnoException).code ?? "")) throw e;
  } finally {
    closeSync(fd);
  }
}
