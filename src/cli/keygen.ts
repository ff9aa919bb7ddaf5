/** `vision-node keygen [--out FILE]`. */
import { ebidOf, randomSecretKey } from "../consensus/signatures.ts";
import { toHex } from "../consensus/encoding.ts";
import { writeKeyFile } from "../node/keyfile.ts";

/** Prints a new key as JSON, or writes it to `out` (mode 0600) and prints its EBID. @throws when `out` exists */
export function runKeygen(o: { out?: string }): void {
  if (o.out) {
    const key = writeKeyFile(o.out);
    process.stdout.write(`${key.ebid}\n`);
    return;
  }
  const sk = randomSecretKey();
  process.stdout.write(JSON.stringify({ ebid: ebidOf(sk), secret_key: toHex(sk) }) + "\n");
}
