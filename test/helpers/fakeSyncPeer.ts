// A stand-in for a connected peer, for Syncer unit tests: ready, at `chain`'s head, answering each
// request with `answer(path, data, n)` (n counts its requests from 0).
import type { Chain } from "../../src/chain/chain.ts";
import type { ResEnvelope, Peer } from "../../src/p2p/peer.ts";

export function fakeSyncPeer(name: string, chain: Chain, answer: (path: string, data: unknown, n: number) => Promise<ResEnvelope>): Peer {
  let n = 0;
  const p = {
    ebid: name.padEnd(64, "0"),
    remoteAddress: "127.0.0.1",
    state: "ready",
    height: chain.head.height,
    tipHash: chain.head.hash,
    backedHeight: 0,
    claimSince: undefined as number | undefined,
    claimsIgnored: false,
    get usableHeight() {
      return p.height;
    },
    back(h: number) {
      p.backedHeight = Math.max(p.backedHeight, h);
    },
    request: (path: string, data: unknown) => answer(path, data, n++),
  };
  return p as unknown as Peer;
}
