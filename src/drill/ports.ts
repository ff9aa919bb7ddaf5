/** Finding free local ports for testnets that the drills start on their own. */
import { createServer } from "node:net";

/**
 * A base port with `n` consecutive free ports on 127.0.0.1 (each checked by binding it).
 * @throws when none is found in 50 tries
 */
export async function freePortRange(n: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    const ok = await Promise.all(
      Array.from(
        { length: n },
        (_, i) =>
          new Promise<boolean>((resolve) => {
            const s = createServer().once("error", () => resolve(false));
            s.listen(base + i, "127.0.0.1", () => s.close(() => resolve(true)));
          }),
      ),
    );
    if (ok.every(Boolean)) return base;
  }
  throw new Error("no free port range found");
}
