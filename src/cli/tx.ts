/**
 * Transaction commands: `tx send`, `account`, and `load`, a load generator that reports submitted,
 * accepted and included counts. They talk to a node's HTTP API. The validator transactions (bond,
 * unbond, withdraw) are `vision-node validator ...` (cli/validator.ts), built on the helpers here.
 */
import { SingleBar, Presets } from "cli-progress";
import { signTransfer } from "../chain/tx.ts";
import type { Tx } from "../consensus/types.ts";
import { readKeyFile } from "../node/keyfile.ts";

type Json = Record<string, unknown>;

/** A JSON request to a node's API (10 s timeout): the status and the body (`{}` when not JSON). */
export async function api(url: string, init?: RequestInit): Promise<{ status: number; body: Json }> {
  const r = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  return { status: r.status, body: (await r.json().catch(() => ({}))) as Json };
}

/**
 * The chain id (and the spec as `/api/chain/spec` gives it) and the next nonce of `address`: its
 * account's, or past its pending transactions in the mempool.
 * @throws when the node does not answer
 */
export async function chainIdAndNonce(base: string, address: string): Promise<{ chainId: string; nonce: number; spec: Json }> {
  const spec = await api(`${base}/api/chain/spec`);
  const acct = await api(`${base}/api/accounts/${address}`);
  if (spec.status !== 200 || acct.status !== 200) throw new Error(`node at ${base} did not answer (HTTP ${spec.status}/${acct.status})`);
  // Pending transfers of this sender count too, so several sends in a row get consecutive nonces.
  // The mempool is read page by page (next_from) to its end.
  const pending: number[] = [];
  for (let from: number | null = 0; from !== null; ) {
    const pool = await api(`${base}/api/mempool?from=${from}&limit=1000`);
    if (pool.status !== 200) throw new Error(`node at ${base} did not answer /api/mempool (HTTP ${pool.status})`);
    for (const t of (pool.body.txs as Tx[] | undefined) ?? []) if (t.from === address) pending.push(t.nonce);
    from = (pool.body.next_from as number | null | undefined) ?? null;
  }
  return { spec: spec.body, chainId: spec.body.chain_id as string, nonce: Math.max(acct.body.nonce as number, ...pending.map((n) => n + 1)) };
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
  await submit(f.api, signTransfer(key, { chain_id: chainId, to: f.to, amount: f.amount, fee: f.fee, nonce }), nonce);
}

/** Submits a signed transaction; prints its hash and nonce. @throws "refused: <code>: <message>" with the node's reason */
export async function submit(apiUrl: string, tx: Tx, nonce: number): Promise<void> {
  const r = await api(`${apiUrl}/api/tx`, { method: "POST", body: JSON.stringify(tx), headers: { "content-type": "application/json" } });
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
  /** why submissions failed before their retries (error code or network error name) */
  first_try_refusals: Record<string, number>;
}

/**
 * Submits `tps` transfers a second for `duration` seconds from one key (consecutive nonces),
 * resubmits the ones refused (a gap would block every later nonce), then waits up to 60 s for them
 * to be included.
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
  const reasons = new Map<string, number>();
  let lastReason = "";
  const submit = async (tx: Tx): Promise<boolean> => {
    try {
      const r = await api(`${f.api}/api/tx`, { method: "POST", body: JSON.stringify(tx), headers: { "content-type": "application/json" } });
      if (r.status === 200) return true;
      lastReason = String(r.body.error ?? r.status);
    } catch (e) {
      lastReason = (e as Error).name;
    }
    reasons.set(lastReason, (reasons.get(lastReason) ?? 0) + 1);
    return false;
  };
  const failed: Tx[] = [];
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / f.tps;
    if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    const tx = signTransfer(key, { chain_id: chainId, to, amount: "1", fee: "1", nonce: first + i });
    inflight.push(
      submit(tx).then((ok) => {
        if (ok) accepted++;
        else failed.push(tx);
        bar?.update(accepted + failed.length, { accepted, refused: failed.length });
      }),
    );
  }
  await Promise.all(inflight);
  bar?.stop();
  // A refused transfer leaves a nonce gap that blocks every later one: resubmit in nonce order.
  let refused = 0;
  for (const tx of failed.sort((a, b) => a.nonce - b.nonce)) {
    let ok = false;
    // nonce_too_high: the node's pending window is full until blocks include more; wait for them.
    for (let attempt = 0; attempt < 60 && !ok; attempt++) {
      ok = await submit(tx);
      if (!ok && lastReason !== "nonce_too_high" && attempt >= 2) break;
      if (!ok) await new Promise((r) => setTimeout(r, 1000));
    }
    if (ok) accepted++;
    else refused++;
  }
  // Included = the sender's account nonce moved past them.
  const deadline = Date.now() + 60_000;
  let included = 0;
  let lastProgress = Date.now();
  while (Date.now() < deadline) {
    const acct = await api(`${f.api}/api/accounts/${key.ebid}`);
    const now = Math.max(0, (acct.body.nonce as number) - first);
    if (now > included) lastProgress = Date.now();
    included = now;
    if (included >= accepted) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  // Time until the last inclusion seen, so a stall at the end does not dilute the rate.
  const seconds = (lastProgress - started) / 1000;
  return { submitted: total, accepted, refused, included, seconds, included_per_s: included / seconds, first_try_refusals: Object.fromEntries(reasons) };
}
