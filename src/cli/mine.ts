/**
 * `vision-node mine`: an external miner for the chain-core mining API. Loop: `POST /mine_block` for
 * the key's EBID, mine the template's seal hash with worker threads, sign the header for the
 * template's chain (its `genesis_hash`: block signatures bind the chain, docs/protocol.md §3.3),
 * `POST /submit_block` with the template's body (transfers, attestations, slashing items). While mining it polls `/api/chain/head`; when the tip moves off the template's
 * parent the job is aborted and a fresh template fetched (stale-template detection). Requests time
 * out after 10 s and are retried with backoff (1 s doubling to 30 s); a refused block is reported,
 * never resubmitted. A run signs at most one block per height (docs/protocol.md §6.6): a template at
 * or below the highest height it signed is skipped until the tip passes it. (That record is the
 * run's, in memory: it is not the node's `slashing-protection.json`, so never mine with a key that a
 * node produces with, and do not restart the miner onto a branch below the height it reached.)
 * Not on `pow` chains, which have no slashing.
 */
import { readKeyFile } from "../node/keyfile.ts";
import { blsSignHex } from "../consensus/bls.ts";
import { nextMix, revealMessage } from "../consensus/randao.ts";
import { MinerPool } from "../producer/pow/minerPool.ts";
import { sealBlock } from "../producer/blockBuilder.ts";
import { sealHash } from "../consensus/hashing.ts";
import type { Attestation, Block, Header, SlashingItem, Tx } from "../consensus/types.ts";

/** Flags of `mine`. */
export interface MineFlags {
  node: string;
  key: string;
  workers?: number;
  /** stop after this many accepted blocks (default: run until Ctrl-C) */
  blocks?: number;
  /** ms between tip polls while mining */
  pollMs?: number;
}

/** A `/mine_block` answer, as this client uses it. */
interface TemplateAnswer {
  block_template: {
    header: Header;
    txs: Tx[];
    attestations: Attestation[];
    slashings: SlashingItem[];
    /** the chain's genesis hash, which the block signature covers */
    genesis_hash: string;
    target_difficulty: number;
    valid_from: number;
    reveal_required?: boolean;
    kind?: "fallback" | "pow";
  };
}

const REQUEST_TIMEOUT_MS = 10_000;

async function call(url: string, init?: RequestInit): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(url, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS), headers: { "content-type": "application/json" } });
  const body = (await r.json().catch(() => ({}))) as Record<string, unknown>;
  return { status: r.status, body };
}

/** Counters of a mining run. */
export interface MineReport {
  accepted: number;
  stale: number;
  refused: number;
  aborted: number;
  hashes: number;
}

/**
 * Runs the external miner until `blocks` are accepted or `signal` aborts.
 * @throws KeyFileError for a bad key file; Error when the node refuses templates for this key
 *   because it produces blocks with it itself (409 `own_producer`, docs/protocol.md §6.6)
 */
export async function runMiner(f: MineFlags, signal: AbortSignal, print: (line: string) => void): Promise<MineReport> {
  const key = readKeyFile(f.key);
  // The BLS key signs the RANDAO reveal of an active validator's fallback blocks (key files carry
  // `bls_secret_key` from protocol version 2).
  const blsKey = (key as { blsSecretKey?: Uint8Array }).blsSecretKey;
  let chainId: string | undefined;
  const node = f.node.replace(/\/+$/, "");
  const pool = new MinerPool({ workers: f.workers });
  const report: MineReport = { accepted: 0, stale: 0, refused: 0, aborted: 0, hashes: 0 };
  let backoff = 1000;
  // the highest height this run signed a block at, and the last height a template was skipped at
  let signedHeight = -1;
  let skippedAt = -1;
  // set when the node answers 409 own_producer: the run stops with its message
  let ownProducer: string | undefined;
  const pause = (ms: number) => new Promise<void>((r) => { const t = setTimeout(r, ms); signal.addEventListener("abort", () => (clearTimeout(t), r()), { once: true }); });
  await pool.start();
  print(`mining for ${key.ebid} at ${node} with ${pool.size} worker(s)`);
  try {
    while (!signal.aborted && (f.blocks === undefined || report.accepted < f.blocks)) {
      let tpl: TemplateAnswer;
      try {
        const r = await call(`${node}/mine_block`, { method: "POST", body: JSON.stringify({ miner_address: key.ebid, client_version: "vision-node" }) });
        // The node produces blocks with this very key (docs/protocol.md §6.6): no retry helps.
        if (r.status === 409 && r.body.error === "own_producer") ownProducer = String(r.body.message);
        if (r.status !== 200) throw new Error(`template refused: HTTP ${r.status} ${String(r.body.message ?? "")}`);
        tpl = r.body as unknown as TemplateAnswer;
        backoff = 1000;
      } catch (e) {
        if (ownProducer !== undefined) throw new Error(`the node refuses templates for this key: ${ownProducer}`);
        print(`node unreachable (${(e as Error).message}); retrying in ${backoff / 1000} s`);
        await pause(backoff);
        backoff = Math.min(30_000, backoff * 2);
        continue;
      }
      const t = tpl.block_template;
      // protocol version 3 signs blocks for the chain's genesis (docs/protocol.md §3.3): a node that
      // names none runs an older version, whose blocks this miner cannot sign
      if (typeof t.genesis_hash !== "string" || !/^[0-9a-f]{64}$/.test(t.genesis_hash)) throw new Error("the node's template names no genesis_hash: it runs an older protocol version than this miner");
      // Never two blocks at one height (docs/protocol.md §6.6 rule 1): on a Proof-of-Sync chain a
      // validator's fallback blocks are slashable (§6.5), and a reorg to a heavier, shorter branch
      // offers a template at a height already signed, on another parent. Wait for the tip to pass it.
      // (pow chains have no slashing: a miner there may well be the only one to pass it.)
      if (t.kind !== "pow" && t.header.height <= signedHeight) {
        if (skippedAt !== t.header.height) print(`⏸️  Not signing a second block at height ${t.header.height} (signed one there in this run); waiting for the tip to pass it`);
        skippedAt = t.header.height;
        await pause(1000);
        continue;
      }
      // A Proof-of-Sync fallback that opens later: wait for it, then ask again (the tip may move first).
      const wait = t.valid_from - Date.now();
      if (wait > 1000) {
        await pause(Math.min(wait, 5000));
        continue;
      }
      // The template's reveal is "" and its mix the parent's: an active validator's fallback carries
      // its reveal (docs/protocol.md §6.4), which moves the mix, before anything is hashed.
      let header = t.header;
      if (t.reveal_required) {
        if (!blsKey) throw new Error("this chain takes fallback blocks only from active validators with their RANDAO reveal: the key file has no bls_secret_key");
        chainId ??= String((await call(`${node}/api/status`)).body.chain_id);
        const randao_reveal = blsSignHex(blsKey, revealMessage(chainId, header.height));
        header = { ...header, randao_reveal, mix: nextMix(header.mix, randao_reveal) };
      }
      print(`⛏️  Mining block at index ${header.height} (difficulty ${t.target_difficulty})`);
      // Stale-template detection: poll the tip while the workers run.
      const watcher = setInterval(() => {
        call(`${node}/api/chain/head`)
          .then((r) => { if (r.status === 200 && r.body.hash !== header.parent_hash) pool.abort(); })
          .catch(() => undefined);
      }, f.pollMs ?? 250);
      const onAbort = () => pool.abort();
      signal.addEventListener("abort", onAbort, { once: true });
      const result = await pool.mine(sealHash(header), t.target_difficulty).finally(() => {
        clearInterval(watcher);
        signal.removeEventListener("abort", onAbort);
      });
      report.hashes += result.hashes;
      if (result.status !== "found") {
        report.aborted++;
        if (!signal.aborted) print(`⏭️ Template for block ${header.height} went stale, fetching a new one`);
        continue;
      }
      signedHeight = header.height;
      const block: Block = sealBlock({ ...header, nonce: result.nonce }, t, key.secretKey, t.genesis_hash);
      const rate = result.elapsedMs > 0 ? Math.round(result.hashes / (result.elapsedMs / 1000)) : 0;
      try {
        const r = await call(`${node}/submit_block`, { method: "POST", body: JSON.stringify({ block }) });
        if (r.body.status === "accepted") {
          report.accepted++;
          print(`✅ Block ${header.height} accepted: ${block.hash} (${result.hashes} hashes, ${rate} H/s)`);
        } else if (r.body.status === "stale" || r.body.status === "need_sync") {
          report.stale++;
          print(`⏭️ Block ${header.height} ${String(r.body.status)}: ${String(r.body.message)}`);
        } else {
          report.refused++;
          print(`⚠️  Block ${header.height} refused: ${String(r.body.error ?? r.status)}: ${String(r.body.message ?? "")}`);
        }
      } catch (e) {
        print(`submit failed (${(e as Error).message}); fetching a new template`);
      }
    }
  } finally {
    await pool.stop();
  }
  return report;
}
