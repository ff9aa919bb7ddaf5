/**
 * Node key files (docs/protocol.md §1): JSON `{"ebid": "<hex ed25519 public key>", "secret_key":
 * "<hex 32-byte ed25519 seed>", "bls_secret_key": "<hex 32-byte BLS12-381 secret key>"}`, mode 0600.
 * The ed25519 key is the node's identity (EBID); the BLS key signs its RANDAO reveals and the proof
 * of possession of its bond (protocol version 2). A file written before protocol version 2 has no
 * `bls_secret_key`: it still reads, and `loadOrCreateKey` (node start) adds one to it.
 */
import { existsSync, readFileSync, statSync, mkdirSync, chmodSync, realpathSync } from "node:fs";
import { dirname } from "node:path";
import { ebidOf, randomSecretKey } from "../consensus/signatures.ts";
import { blsPublicKeyHex, blsRandomSecretKey, blsSecretKeyFromIkm } from "../consensus/bls.ts";
import { fromHex, toHex } from "../consensus/encoding.ts";
import { writeFileDurably } from "../util/durableFile.ts";

/** A node's keys: the ed25519 identity and the BLS key of its RANDAO reveals. */
export interface NodeKey {
  /** the ed25519 public key, 64 hex */
  ebid: string;
  /** the 32-byte ed25519 seed */
  secretKey: Uint8Array;
  /** the 32-byte BLS12-381 secret key (big-endian scalar) */
  blsSecretKey: Uint8Array;
  /** its compressed G1 public key, 96 hex */
  blsPubkey: string;
}

/** What a key file holds: a file written before protocol version 2 has no BLS key. */
export type StoredKey = Pick<NodeKey, "ebid" | "secretKey"> & Partial<Pick<NodeKey, "blsSecretKey" | "blsPubkey">>;

/** A key file that cannot be used. */
export class KeyFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KeyFileError";
  }
}

/** The file's JSON text. */
function keyFileText(o: Record<string, unknown>): string {
  return JSON.stringify(o, null, 2) + "\n";
}

/**
 * Writes a new key file (mode 0600), atomically and fsynced (`writeFileDurably`): a crash or power
 * loss leaves no file or the whole key, never an empty one that would lose the identity.
 * @param secretKey the ed25519 seed; a random one by default
 * @param blsSecretKey the BLS secret key; a random one by default (independent of `secretKey`)
 * @throws KeyFileError when the file exists
 */
export function writeKeyFile(path: string, secretKey: Uint8Array = randomSecretKey(), blsSecretKey: Uint8Array = blsRandomSecretKey()): NodeKey {
  const exists = () => new KeyFileError(`${path} exists already; refusing to overwrite a key`);
  if (existsSync(path)) throw exists();
  mkdirSync(dirname(path), { recursive: true });
  const key = { ebid: ebidOf(secretKey), secretKey, blsSecretKey, blsPubkey: blsPublicKeyHex(blsSecretKey) };
  try {
    const text = keyFileText({ ebid: key.ebid, secret_key: toHex(secretKey), bls_secret_key: toHex(blsSecretKey) });
    writeFileDurably(path, text, { mode: 0o600, exclusive: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") throw exists();
    throw e;
  }
  chmodSync(path, 0o600);
  return key;
}

/** Parses and checks a key file; `raw` is its JSON object as read. */
function parseKeyFile(path: string): { raw: Record<string, unknown>; key: StoredKey } {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new KeyFileError(`cannot read key file ${path}: ${(e as Error).message}`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new KeyFileError(`key file ${path}: expected a JSON object`);
  const o = raw as { ebid?: unknown; secret_key?: unknown; bls_secret_key?: unknown; bls_pubkey?: unknown };
  if (typeof o.secret_key !== "string" || !/^[0-9a-f]{64}$/.test(o.secret_key)) {
    throw new KeyFileError(`key file ${path}: secret_key must be 64 lowercase hex chars`);
  }
  const secretKey = fromHex(o.secret_key);
  const ebid = ebidOf(secretKey);
  if (o.ebid !== undefined && o.ebid !== ebid) throw new KeyFileError(`key file ${path}: ebid does not match secret_key`);
  const key: StoredKey = { ebid, secretKey };
  if (o.bls_secret_key !== undefined) {
    if (typeof o.bls_secret_key !== "string" || !/^[0-9a-f]{64}$/.test(o.bls_secret_key)) {
      throw new KeyFileError(`key file ${path}: bls_secret_key must be 64 lowercase hex chars`);
    }
    key.blsSecretKey = fromHex(o.bls_secret_key);
    try {
      key.blsPubkey = blsPublicKeyHex(key.blsSecretKey);
    } catch {
      throw new KeyFileError(`key file ${path}: bls_secret_key is not a valid BLS12-381 secret key (it must be a nonzero number below the group order)`);
    }
  }
  // `keygen --print-secret` gives bls_pubkey too: a file storing it must not name another key (nor
  // one it lacks the secret of: the key added on start would be another).
  if (o.bls_pubkey !== undefined && o.bls_pubkey !== key.blsPubkey) {
    throw new KeyFileError(`key file ${path}: bls_pubkey ${key.blsSecretKey ? "does not match bls_secret_key" : "given without bls_secret_key"}`);
  }
  return { raw: raw as Record<string, unknown>, key };
}

/**
 * Reads a key file and checks that its `ebid` matches its secret key and, when it has one, that
 * `bls_secret_key` is a valid BLS secret key (and a stored `bls_pubkey` its public key). Tightens
 * a looser mode to 0600.
 * @returns the keys; `blsSecretKey`/`blsPubkey` absent for a file without `bls_secret_key`
 * @throws KeyFileError naming what is wrong
 */
export function readKeyFile(path: string): StoredKey {
  const { key } = parseKeyFile(path);
  if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
  return key;
}

/**
 * The key a node starts with. Reads `path`, creating a fresh key there first if it does not exist.
 * A file without `bls_secret_key` (written before protocol version 2) gets one added, derived from
 * its ed25519 secret (`blsSecretKeyFromIkm`, so two starts racing on the file add the same key): the
 * file is replaced atomically (`writeFileDurably`: a temporary file holding the old fields and
 * the new key, fsynced, renamed onto the path, mode 0600), so a crash leaves the old file or the new
 * one, never one without the ed25519 secret. Through a symlink, its target is replaced.
 * @returns the key; `created` when the file was written, `blsAdded` when a BLS key was added to it
 * @throws KeyFileError when the file is bad or the BLS key cannot be written
 */
export function loadOrCreateKey(path: string): { key: NodeKey; created: boolean; blsAdded: boolean } {
  if (!existsSync(path)) return { key: writeKeyFile(path), created: true, blsAdded: false };
  const { raw, key } = parseKeyFile(path);
  if (key.blsSecretKey && key.blsPubkey) {
    if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
    return { key: { ...key, blsSecretKey: key.blsSecretKey, blsPubkey: key.blsPubkey }, created: false, blsAdded: false };
  }
  // Derived from the ed25519 secret (EIP-2333 KeyGen over it), not random: two starts racing on
  // one old file (two processes, or a node and a CLI command) add the same key, so neither runs with
  // a key that the other's rename took off the disk.
  const blsSecretKey = blsSecretKeyFromIkm(key.secretKey);
  const target = realpathSync(path);
  try {
    writeFileDurably(target, keyFileText({ ...raw, ebid: key.ebid, bls_secret_key: toHex(blsSecretKey) }), { mode: 0o600 });
    chmodSync(target, 0o600);
  } catch (e) {
    throw new KeyFileError(
      `key file ${path} has no bls_secret_key and adding one failed: ${(e as Error).message} ` +
        "(make the file and its directory writable for one start, or add a bls_secret_key: `vision-node keygen --print-secret` prints one)",
    );
  }
  return { key: { ...key, blsSecretKey, blsPubkey: blsPublicKeyHex(blsSecretKey) }, created: false, blsAdded: true };
}
