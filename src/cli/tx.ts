/**
 * Transaction commands (issue 4): `tx send`, `account`, and `load`, a load generator that reports
 * submitted, accepted and included counts. They talk to a node's HTTP API.
 */
import { SingleBar, Presets } from "cli-progress";
import { Domain, sign } from "../consensus/signatures.ts";
import type { Tx } from "../consensus/types.ts";
import { readKeyFile, type NodeKey } from "../node/keyfile.ts";

type Json = Record<string, unknown>;

async function api(url: string, init?: RequestInit): Promise<{ status: number; body: Json }> {
  const r = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  return { status: r.status, body: (await r.json().catch(() => ({}))) as Json };
}

/** Signs a transfer from `key`. Amounts are base units as decimal strings. */
export function signTransfer(key: NodeKey, body: { chain_id: string; to: string; amount: string; fee: string; nonce: number }): Tx {
  const unsigned = { chain_id: body.chain_id, from: key.ebid, to: body.to, amount: body.amount, fee: body.fee, nonce: body.nonce };
  return { ...unsigned, sig: sign(Domain.tx, unsigned, key.secretKey) };
}

async function chainIdAndNonce(base: string, address: string): Promise<{ chainId: string; nonce: number }> {
  const spec = await api(`${base}/api/chain/spec`);
  const acct = await api(`${base}/api/accounts/${address}`);
  if (spec.status !== 200 || acct.status !== 200) throw new Error(`node at ${base} did not answer (HTTP ${spec.status}/${acct.status})`);
  // Pending transfers of this sender count too, so several sends in a row get consecutive nonces.
  const pool = await api(`${base}/api/mempool?limit=1000`);
  const pending = ((pool.body.txs as Tx[] | undefined) ?? []).filter((t) => t.from === address).map((t) => t.nonce);
  return { chainId: spec.body.chain_id as string, nonce: Math.max(acct.body.nonce as number, ...pending.map((n) => n + 1)) };
}

/** Flags of `tx send`. */
export interface TxSendFlags {
  key: string;
  to: string;
  amount: string;
  fee: string;
  api: string;
}

/** `vision-node tx send`: prints the hash, or the node's reason and exits 1. */
export async function runTxSend(f: TxSendFlags): Promise<void> {
  const key = readKeyFile(f.key);
  const { chainId, nonce } = await chainIdAndNonce(f.api, key.ebid);
  const tx = signTransfer(key, { chain_id: chainId, to: f.to, amount: f.amount, fee: f.fee, nonce });
  const r = await api(`${f.api}/api/tx`, { method: "POST", body: JSON.stringify(tx), headers: { "content-type": "application/json" } });
  if (r.status !== 200) throw new Error(`refused: ${r.body.error ?? r.status}: ${r.body.message ?? ""}`);
  process.stdout.write(`${r.body.hash} (nonce ${nonce}, ${r.body.status})\n`);
}

/** `vision-node account ADDR`. */
export async function runAccount(address: string, f: { api: string }): Promise<void> {
  const r = await api(`${f.api}/api/accounts/${address}`);
  if (r.status !== 200) throw new Error(`${r.body.error ?? r.status}: ${r.body.message ?? ""}`);
  process.stdout.write(JSON.stringify(r.body, null, 2) + "\n");
}

/** Flags of `load`. */
export interface LoadFlags {
  key: string;
  tps: number;
  duration: number;
  api: string;
  to?: string;
}

/** What a load run did. */
export interface LoadReport {
  submitted: number;
  accepted: number;
  refused: number;
  included: number;
  seconds: number;
  included_per_s: number;
}

/**
 * Submits `tps` transfers a second for `duration` seconds from one key (consecutive nonces), then
 * waits up to 60 s for them to be included.
 */
export async function runLoad(f: LoadFlags, progress = process.stderr.isTTY): Promise<LoadReport> {
  const key = readKeyFile(f.key);
  const { chainId, nonce: first } = await chainIdAndNonce(f.api, key.ebid);
  const to = f.to ?? key.ebid;
  const total = f.tps * f.duration;
  const bar = progress ? new SingleBar({ format: "load [{bar}] {value}/{total} submitted | accepted {accepted} | refused {refused}" }, Presets.shades_classic) : undefined;
  bar?.start(total, 0, { accepted: 0, refused: 0 });
  const started = Date.now();
  let accepted = 0;
  let refused = 0;
  let lastAccepted = first - 1;
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / f.tps;
    if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    const tx = signTransfer(key, { chain_id: chainId, to, amount: "1", fee: "1", nonce: first + i });
    inflight.push(
      api(`${f.api}/api/tx`, { method: "POST", body: JSON.stringify(tx), headers: { "content-type": "application/json" } }).then(
        (r) => {
          if (r.status === 200) {
            accepted++;
            lastAccepted = Math.max(lastAccepted, tx.nonce);
          } else refused++;
          bar?.update(accepted + refused, { accepted, refused });
        },
        () => {
          refused++;
        },
      ),
    );
  }
  await Promise.all(inflight);
  bar?.stop();
  // Included = the sender's account nonce moved past them.
  const deadline = Date.now() + 60_000;
  let included = 0;
  while (Date.now() < deadline) {
    const acct = await api(`${f.api}/api/accounts/${key.ebid}`);
    included = Math.max(0, (acct.body.nonce as number) - first);
    if (included >= accepted) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const seconds = (Date.now() - started) / 1000;
  return { submitted: total, accepted, refused, included, seconds, included_per_s: included / seconds };
}
