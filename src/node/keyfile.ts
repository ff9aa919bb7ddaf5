/**
 * Node key files (docs/protocol.md §1): JSON `{"ebid": "<hex public key>", "secret_key": "<hex
 * 32-byte ed25519 seed>"}`, mode 0600.
 */
import { existsSync, readFileSync, statSync, mkdirSync, chmodSync } from "node:fs";
import { dirname } from "node:path";
import { ebidOf, randomSecretKey } from "../consensus/signatures.ts";
import { fromHex, toHex } from "../consensus/encoding.ts";
import { writeFileDurably } from "../util/durableFile.ts";

/** A loaded key. */
export interface NodeKey {
  ebid: string;
  secretKey: Uint8Array;
}

/** A key file that cannot be used. */
export class KeyFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KeyFileError";
  }
}

/**
 * Writes a new key file (mode 0600), atomically and fsynced (`writeFileDurably`): a crash or power
 * loss leaves no file or the whole key, never an empty one that would lose the identity.
 * @throws KeyFileError when the file exists
 */
export function writeKeyFile(path: string, secretKey: Uint8Array = randomSecretKey()): NodeKey {
  const exists = () => new KeyFileError(`${path} exists already; refusing to overwrite a key`);
  if (existsSync(path)) throw exists();
  mkdirSync(dirname(path), { recursive: true });
  const ebid = ebidOf(secretKey);
  try {
    writeFileDurably(path, JSON.stringify({ ebid, secret_key: toHex(secretKey) }, null, 2) + "\n", { mode: 0o600, exclusive: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") throw exists();
    throw e;
  }
  chmodSync(path, 0o600);
  return { ebid, secretKey };
}

/**
 * Reads a key file and checks that its `ebid` matches its secret key.
 * @throws KeyFileError naming what is wrong
 */
export function readKeyFile(path: string): NodeKey {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new KeyFileError(`cannot read key file ${path}: ${(e as Error).message}`);
  }
  const o = raw as { ebid?: unknown; secret_key?: unknown };
  if (typeof o?.secret_key !== "string" || !/^[0-9a-f]{64}$/.test(o.secret_key)) {
    throw new KeyFileError(`key file ${path}: secret_key must be 64 lowercase hex chars`);
  }
  const secretKey = fromHex(o.secret_key);
  const ebid = ebidOf(secretKey);
  if (o.ebid !== undefined && o.ebid !== ebid) throw new KeyFileError(`key file ${path}: ebid does not match secret_key`);
  if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
  return { ebid, secretKey };
}

/** Reads `path`, creating a fresh key there first if it does not exist. */
export function loadOrCreateKey(path: string): { key: NodeKey; created: boolean } {
  if (existsSync(path)) return { key: readKeyFile(path), created: false };
  return { key: writeKeyFile(path), created: true };
}
