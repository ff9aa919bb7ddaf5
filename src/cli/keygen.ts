/** `vision-node keygen [--out FILE]`. */
import { ebidOf, randomSecretKey } from "../consensus/signatures.ts";
import { toHex } from "../consensus/encoding.ts";
import { writeKeyFile } from "../node/keyfile.ts";

export function runKeygen(o: { out?: string }): void {
  if (o.out) {
    const key = writeKeyFile(o.out);
    process.stdout.write(`${key.ebid}\n`);
    return;
  }
  const sk = randomSecretKey();
  process.stdout.write(JSON.stringify({ ebid: ebidOf(sk), secret_key: toHex(sk) }) + "\n");
}
