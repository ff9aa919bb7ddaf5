/** Finding free local ports for testnets that the drills start on their own. */
import { createServer } from "node:net";

/**
 * Where ranges are picked: [10,000, 32,768), below Linux's default ephemeral range
 * (net.ipv4.ip_local_port_range = 32768-60999). A port found free there stays free until the node
 * binds it unless another program binds it by number; inside the ephemeral range any outgoing
 * connection, or any `listen(0)`, of a test running beside this one could take it first (a node of
 * a drill then exits on EADDRINUSE).
 */
const LOW = 10_000;
const HIGH = 32_768;

/**
 * A base port with `n` consecutive free ports on 127.0.0.1 (each checked by binding it), all in
 * [10,000, 32,768).
 * @throws when none is found in 50 tries, or n does not fit the range
 */
export async function freePortRange(n: number): Promise<number> {
  if (!(Number.isInteger(n) && n >= 1 && n < HIGH - LOW)) throw new RangeError(`cannot find ${n} consecutive ports`);
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = LOW + Math.floor(Math.random() * (HIGH - LOW - n));
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
