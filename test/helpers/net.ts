import { createServer } from "node:net";
import WebSocket from "ws";
import { PROTOCOL_VERSION } from "../../src/p2p/messages.ts";

/** Polls `fn` until it returns a truthy value or `ms` pass. */
export async function waitFor<T>(fn: () => T | Promise<T>, ms = 10_000, what = "condition"): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** `p`, or "hung" when it has not settled within `ms`: a promise that would wait forever fails its test, not the run. */
export function settledWithin<T>(p: Promise<T>, ms: number): Promise<T | "hung"> {
  return Promise.race([p, new Promise<"hung">((r) => setTimeout(() => r("hung"), ms).unref())]);
}

/** A raw WebSocket client that records every line it receives; from `localAddress` when given. */
export async function rawClient(url: string, localAddress?: string): Promise<{ ws: WebSocket; lines: string[]; closed: Promise<{ code: number; reason: string }> }> {
  const ws = new WebSocket(url, localAddress ? { localAddress } : {});
  const lines: string[] = [];
  let buf = "";
  ws.on("message", (d) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf("\n")) !== -1) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() })));
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  return { ws, lines, closed };
}

/**
 * A raw client that completes the signed handshake (docs/protocol.md §9) as `key`.
 * Returns once the hello_ack is sent; the server marks it ready when it verifies the ack.
 */
export async function handshakeClient(
  url: string,
  key: { ebid: string; secretKey: Uint8Array },
  chainId: string,
  genesisHash: string,
  peerEbid: string,
) {
  const { randomBytes } = await import("node:crypto");
  const { Domain, sign } = await import("../../src/consensus/signatures.ts");
  const c = await rawClient(url);
  const nonce = randomBytes(32).toString("hex");
  const helloLine = JSON.stringify({ type: "hello", version: PROTOCOL_VERSION, chain_id: chainId, genesis_hash: genesisHash, ebid: key.ebid, nonce, listen_port: 0, height: 0, tip_hash: genesisHash }) + "\n";
  c.ws.send(helloLine);
  await waitFor(() => c.lines.some((l) => l.includes('"hello"')), 5000, "hello");
  const theirs = JSON.parse(c.lines.find((l) => l.includes('"hello"'))!) as { nonce: string };
  const sig = sign(Domain.hello, { chain_id: chainId, genesis_hash: genesisHash, ebid: key.ebid, peer_ebid: peerEbid, nonce, peer_nonce: theirs.nonce }, key.secretKey);
  const ackLine = JSON.stringify({ type: "hello_ack", sig }) + "\n";
  c.ws.send(ackLine);
  /** the two lines this client sent, for replay tests */
  return { ...c, sent: [helloLine, ackLine] };
}

/** A port that was free on 127.0.0.1 a moment ago (bound, read, closed). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}
