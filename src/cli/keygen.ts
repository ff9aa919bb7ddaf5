/**
 * `vision-node keygen [--out FILE | --print-secret]`: a new node key (docs/protocol.md §1): the
 * ed25519 identity (EBID) and the BLS12-381 key that signs the node's RANDAO reveals and bond.
 * The secrets go to a key file (mode 0600, `./node.key` unless `--out` names another, never
 * overwritten) and only the EBID is printed on stdout (the BLS public key on stderr), so no secret
 * lands in a terminal's scrollback, a shell log or CI output. `--print-secret` prints the key as
 * JSON instead, for scripts that store it themselves.
 */
import { ebidOf, randomSecretKey } from "../consensus/signatures.ts";
import { blsPublicKeyHex, blsRandomSecretKey } from "../consensus/bls.ts";
import { toHex } from "../consensus/encoding.ts";
import { writeKeyFile } from "../node/keyfile.ts";

/** The key file `keygen` writes without `--out`: the name the node looks for in its data dir. */
export const DEFAULT_KEY_FILE = "node.key";

/**
 * Writes a new key to `out` (default `./node.key`) and prints its EBID, with the file's path and
 * the BLS public key on stderr; with `printSecret`, prints `{"ebid", "secret_key",
 * "bls_secret_key", "bls_pubkey"}` and writes nothing.
 * @throws KeyFileError when the file exists; Error when both `out` and `printSecret` are given
 */
export function runKeygen(o: { out?: string; printSecret?: boolean }): void {
  if (o.printSecret) {
    if (o.out !== undefined) throw new Error("keygen: --print-secret prints the key instead of writing it; drop --out or --print-secret");
    const sk = randomSecretKey();
    const bls = blsRandomSecretKey();
    process.stdout.write(JSON.stringify({ ebid: ebidOf(sk), secret_key: toHex(sk), bls_secret_key: toHex(bls), bls_pubkey: blsPublicKeyHex(bls) }) + "\n");
    return;
  }
  const out = o.out ?? DEFAULT_KEY_FILE;
  const key = writeKeyFile(out);
  process.stderr.write(`secret key written to ${out} (mode 0600)\nbls_pubkey ${key.blsPubkey}\n`);
  process.stdout.write(`${key.ebid}\n`);
}
