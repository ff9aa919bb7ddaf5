/**
 * `vision-node db verify`: checks a stopped node's data dir end to end.
 * 1. Every stored block (any branch) hashes to its key and has metadata that matches its header and
 *    a stored parent one height below.
 * 2. The canonical index runs from genesis to the stored head without gaps, each entry's parent is
 *    the entry below, and every canonical block is marked canonical.
 * 3. Replay: the canonical chain is imported block by block into a fresh chain in a temp dir with
 *    full validation (signatures, schedule, PoW, roots, state_root after execution). The replay must
 *    reach the same head; its account state, validator records and producer totals must equal the
 *    stored ones; every canonical transaction must be in the transaction index.
 * 4. Finality (docs/protocol.md §5a, §7): every canonical block has a stored finality state
 *    (`f!<hash>`) that hashes to its header's `finality_root` (genesis's is the genesis state; a
 *    side block's is checked when stored), and the store's checkpoints (`fc`), when written, name
 *    canonical blocks at checkpoint heights: `finalized` is the greatest `finalized` of the stored
 *    blocks' states, `justified` the greatest `justified` of those descending from it. A record that
 *    does not parse is reported like any other problem.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { ChainDb } from "../storage/chainDb.ts";
import type { BlockMeta } from "../storage/records.ts";
import { blockHash } from "../consensus/hashing.ts";
import { Chain } from "./chain.ts";
import { finalityRoot, genesisFinality, type Checkpoint, type FinalityState } from "../consensus/finality.ts";
import { genesisBlock, type ChainSpec } from "./spec.ts";
import { txHash } from "./tx.ts";

/** What `verifyDataDir` found. */
export interface VerifyReport {
  ok: boolean;
  blocks: number;
  canonical_height: number;
  replayed: number;
  accounts: number;
  tx_index_entries: number;
  seconds: number;
  /** at most 50, each naming the block or key at fault */
  problems: string[];
}

const MAX_PROBLEMS = 50;

/**
 * Verifies the chain database at `<dataDir>/chaindata` against `spec`.
 * @throws Error when the database cannot be opened (missing, or locked by a running node)
 */
export async function verifyDataDir(dataDir: string, spec: ChainSpec, onProgress?: (done: number, total: number) => void): Promise<VerifyReport> {
  const started = performance.now();
  const problems: string[] = [];
  const problem = (p: string) => problems.length < MAX_PROBLEMS && problems.push(p);
  const db = await ChainDb.open(join(dataDir, "chaindata")).catch((e: Error) => {
    throw new Error(`cannot open ${join(dataDir, "chaindata")} (${e.message}); is the node still running?`);
  });
  const report: VerifyReport = { ok: false, blocks: 0, canonical_height: -1, replayed: 0, accounts: 0, tx_index_entries: 0, seconds: 0, problems };
  try {
    const genesis = genesisBlock(spec);
    const storedGenesis = await db.getGenesis();
    if (storedGenesis !== genesis.hash) {
      problem(`genesis ${storedGenesis ?? "(none)"} is not this chain spec's ${genesis.hash}`);
      return report;
    }
    const base = await db.getCheckpointBase();
    if (base) {
      problem(`this data dir started from checkpoint ${base.checkpoint.height}:${base.checkpoint.hash} (docs/protocol.md §9.7) and holds no blocks below height ${base.window_from}: verify replays from genesis and cannot check it`);
      return report;
    }

    // 1. Every stored block; its finality state's checkpoints are kept for 4.
    const states = new Map<string, StoredState>();
    for await (const block of db.blocks()) {
      report.blocks++;
      const h = block.header;
      if (blockHash(h) !== block.hash) problem(`block ${block.hash}: header hashes to ${blockHash(h)}`);
      const meta = await db.getMeta(block.hash);
      if (!meta) {
        problem(`block ${block.hash}: no metadata`);
        continue;
      }
      if (meta.height !== h.height || meta.parent_hash !== h.parent_hash || meta.timestamp !== h.timestamp || meta.producer !== h.producer) {
        problem(`block ${block.hash}: metadata does not match the header`);
      }
      if (h.height > 0) {
        const parent = await db.getMeta(h.parent_hash);
        if (!parent) problem(`block ${block.hash} at ${h.height}: parent ${h.parent_hash} not stored`);
        else if (parent.height !== h.height - 1) problem(`block ${block.hash}: parent at height ${parent.height}, not ${h.height - 1}`);
      }
      const f = await readFinality(db, block.hash, genesis.hash);
      if (f === undefined || typeof f === "string") {
        states.set(block.hash, { height: h.height, parent: h.parent_hash, problem: f });
      } else {
        const ok = h.height === 0 ? f.root === finalityRoot(genesisFinality(genesis.hash)) : f.root === h.finality_root;
        const why = h.height === 0 ? "its finality state is not the genesis state" : `its finality state (f!) hashes to ${f.root}, not the header's finality_root ${h.finality_root}`;
        states.set(block.hash, { height: h.height, parent: h.parent_hash, problem: ok ? undefined : why, ...(ok ? { finalized: f.state.finalized, justified: f.state.justified } : {}) });
      }
    }

    // 2. The canonical index.
    const headHash = await db.getHead();
    const head = headHash ? await db.getMeta(headHash) : undefined;
    if (!head) {
      problem(`head ${headHash ?? "(none)"} has no metadata`);
      return report;
    }
    report.canonical_height = head.height;
    const canonical: string[] = new Array(head.height + 1);
    let expect: string = head.hash;
    for (let height = head.height; height >= 0; height--) {
      const hash = await db.getCanonicalHash(height);
      if (hash !== expect) {
        problem(`canonical index at ${height}: ${hash ?? "(missing)"}, but the chain from the head has ${expect}`);
        return report;
      }
      const meta = (await db.getMeta(hash)) as BlockMeta;
      if (!meta.is_canonical) problem(`block ${hash} at ${height} is in the canonical index but not marked canonical`);
      canonical[height] = hash;
      expect = meta.parent_hash;
    }
    if (canonical[0] !== genesis.hash) problem(`canonical height 0 is ${canonical[0]}, not the genesis block`);
    if ((await db.getCanonicalHash(head.height + 1)) !== undefined) problem(`canonical index continues past the head at ${head.height + 1}`);

    // 4. Finality states and the store's checkpoints.
    checkFinality(states, canonical, genesis.hash, spec.params.checkpoint_interval, await readForkChoice(db), problem);

    // 3. Replay into a fresh chain, with every consensus rule checked again.
    const txIndex = new Set<string>();
    for await (const [tx, block] of db.txIndex()) {
      txIndex.add(`${tx}!${block}`);
      report.tx_index_entries++;
    }
    const tmp = mkdtempSync(join(tmpdir(), "vision-verify-"));
    const replayDb = await ChainDb.open(join(tmp, "chaindata"));
    // Far-future "now": nothing is held as early; timestamps were checked against parents on import.
    const replay = await Chain.open({ spec, now: () => Number.MAX_SAFE_INTEGER / 2 }, { db: replayDb, logger: pino({ level: "silent" }) });
    try {
      for (let height = 1; height <= head.height; height++) {
        const block = await db.getBlock(canonical[height]!);
        if (!block) {
          problem(`canonical block ${canonical[height]} at ${height} is not stored`);
          break;
        }
        try {
          const out = await replay.importBlock(block);
          if (out.status !== "imported" || !out.newHead) {
            problem(`replay of ${block.hash} at ${height}: ${out.status}${out.status === "imported" ? " but not the head" : ""}`);
            break;
          }
        } catch (e) {
          problem(`replay of ${block.hash} at ${height} refused: ${(e as Error).message}`);
          break;
        }
        for (const tx of block.txs) if (!txIndex.has(`${txHash(tx)}!${block.hash}`)) problem(`transaction ${txHash(tx)} in block ${height} is missing from the transaction index`);
        report.replayed++;
        if (height % 200 === 0) onProgress?.(height, head.height);
      }
      onProgress?.(report.replayed, head.height);
      if (report.replayed === head.height) {
        if (replay.head.hash !== head.hash) problem(`replay ended at ${replay.head.hash}, stored head is ${head.hash}`);
        const stored = await db.loadAccounts();
        const replayed = new Map([...(await replayDb.loadAccounts())].map(([a, [balance, nonce, index]]) => [a, { balance: BigInt(balance), nonce, index }]));
        report.accounts = stored.size;
        if (stored.size !== replayed.size) problem(`${stored.size} accounts stored, ${replayed.size} after replay`);
        for (const [address, [balance, nonce, index]] of stored) {
          const a = replayed.get(address);
          if (!a || a.balance.toString() !== balance || a.nonce !== nonce || a.index !== index) {
            problem(`account ${address}: stored ${balance}/${nonce} at leaf ${index}, replayed ${a ? `${a.balance}/${a.nonce} at leaf ${a.index}` : "(none)"}`);
          }
        }
        const storedRecords = new Map((await db.loadValidators()).map((r) => [r.ebid, JSON.stringify(r)]));
        const replayedRecords = new Map((await replayDb.loadValidators()).map((r) => [r.ebid, JSON.stringify(r)]));
        for (const ebid of new Set([...storedRecords.keys(), ...replayedRecords.keys()])) {
          if (storedRecords.get(ebid) !== replayedRecords.get(ebid)) problem(`validator ${ebid}: stored ${storedRecords.get(ebid) ?? "(none)"}, replayed ${replayedRecords.get(ebid) ?? "(none)"}`);
        }
        const totals = await db.loadProducerTotals();
        for (const [producer, t] of replay.producerTotals()) {
          const s = totals.get(producer);
          if (!s || s.blocks !== t.blocks || s.rewards !== t.rewards) problem(`producer ${producer}: stored totals ${JSON.stringify(s ?? null)}, replayed ${JSON.stringify(t)}`);
        }
      }
    } finally {
      await replay.close();
      await replayDb.close();
      rmSync(tmp, { recursive: true, force: true });
    }
    report.ok = problems.length === 0;
    return report;
  } finally {
    report.seconds = (performance.now() - started) / 1000;
    await db.close();
  }
}

/** What step 4 keeps of a stored block: its place, and its finality state's checkpoints when the state checked out. */
interface StoredState {
  height: number;
  parent: string;
  /** undefined: no record; a string: why it is wrong */
  problem?: string | undefined;
  finalized?: Checkpoint;
  justified?: Checkpoint;
}

const isCheckpoint = (c: unknown): c is Checkpoint =>
  typeof c === "object" && c !== null && Number.isSafeInteger((c as Checkpoint).height) && (c as Checkpoint).height >= 0 && typeof (c as Checkpoint).hash === "string" && /^[0-9a-f]{64}$/.test((c as Checkpoint).hash);

/**
 * A block's stored finality state with its root, undefined when none is stored, or a string saying
 * why it cannot be used (it does not parse, or has not the state's shape).
 */
async function readFinality(db: ChainDb, hash: string, genesisHash: string): Promise<{ state: FinalityState; root: string } | string | undefined> {
  let f: FinalityState | undefined;
  try {
    f = await db.getFinality(hash);
  } catch (e) {
    return `finality state unreadable (${(e as Error).message})`;
  }
  if (f === undefined) return hash === genesisHash ? "no finality state" : undefined;
  if (typeof f !== "object" || f === null || !isCheckpoint(f.finalized) || !isCheckpoint(f.justified) || !Array.isArray(f.justified_recent) || !Array.isArray(f.votes)) {
    return "finality state unreadable (not a finality state)";
  }
  try {
    return { state: f, root: finalityRoot(f) };
  } catch (e) {
    return `finality state unreadable (${(e as Error).message})`;
  }
}

/** The store's checkpoints (`fc`), undefined when never written, or a string saying why they cannot be used. */
async function readForkChoice(db: ChainDb): Promise<{ finalized: Checkpoint; justified: Checkpoint } | string | undefined> {
  let fc: unknown;
  try {
    fc = await db.getForkChoice();
  } catch (e) {
    return `unreadable (${(e as Error).message})`;
  }
  if (fc === undefined) return undefined;
  const c = fc as { finalized?: unknown; justified?: unknown };
  if (typeof fc !== "object" || fc === null || !isCheckpoint(c.finalized) || !isCheckpoint(c.justified)) return "unreadable (not two checkpoints)";
  return { finalized: c.finalized, justified: c.justified };
}

// Step 4 (see the module doc): the stored states against the headers, then `fc` against the states.
function checkFinality(
  states: Map<string, StoredState>,
  canonical: readonly string[],
  genesisHash: string,
  interval: number,
  fc: { finalized: Checkpoint; justified: Checkpoint } | string | undefined,
  problem: (p: string) => void,
): void {
  const canonicalSet = new Set(canonical);
  for (const [hash, st] of states) {
    if (st.problem === undefined && st.finalized === undefined && canonicalSet.has(hash)) problem(`block ${hash} at ${st.height}: no finality state (f!)`);
    else if (st.problem !== undefined) problem(`${hash === genesisHash ? "genesis " : ""}block ${hash} at ${st.height}: ${st.problem}`);
  }
  if (fc === undefined) return; // never moved: the chain reads the head's state
  if (typeof fc === "string") return problem(`fork choice checkpoints (fc) ${fc}`);
  const same = (a: Checkpoint, b: Checkpoint) => a.height === b.height && a.hash === b.hash;
  const named = (what: string, cp: Checkpoint): boolean => {
    if (cp.height % interval !== 0) return (problem(`fork choice ${what} checkpoint ${cp.height} (${cp.hash}) is not at a multiple of checkpoint_interval ${interval}`), false);
    if (canonical[cp.height] !== cp.hash) return (problem(`fork choice ${what} checkpoint ${cp.height} (${cp.hash}) is not the canonical block at that height`), false);
    return true;
  };
  // finalized: the greatest-height finalized checkpoint of any stored state (ties: the first seen stays)
  const finalizedOk = named("finalized", fc.finalized);
  let maxFinalized = 0;
  let finalizedSeen = fc.finalized.height === 0 && fc.finalized.hash === genesisHash;
  for (const st of states.values()) {
    if (!st.finalized) continue;
    maxFinalized = Math.max(maxFinalized, st.finalized.height);
    if (same(st.finalized, fc.finalized)) finalizedSeen = true;
  }
  if (finalizedOk && (fc.finalized.height !== maxFinalized || !finalizedSeen)) {
    problem(`fork choice finalized checkpoint ${fc.finalized.height} (${fc.finalized.hash}): the stored blocks' finality states finalize at most height ${maxFinalized}${finalizedSeen ? "" : ", and none finalizes this block"}`);
  }
  // justified: the greatest-height justified checkpoint of the stored states descending from finalized
  if (!named("justified", fc.justified) || !finalizedOk) return;
  if (fc.justified.height < fc.finalized.height) return problem(`fork choice justified checkpoint ${fc.justified.height} is below the finalized one ${fc.finalized.height}`);
  const under = new Set<string>();
  const from = [...states.entries()].filter(([, st]) => st.height >= fc.finalized.height).sort((a, b) => a[1].height - b[1].height);
  let maxJustified = -1;
  let justifiedSeen = false;
  for (const [hash, st] of from) {
    if (hash !== fc.finalized.hash && !under.has(st.parent)) continue;
    under.add(hash);
    if (!st.justified) continue;
    maxJustified = Math.max(maxJustified, st.justified.height);
    if (same(st.justified, fc.justified)) justifiedSeen = true;
  }
  if (fc.justified.height !== maxJustified || !justifiedSeen) {
    problem(`fork choice justified checkpoint ${fc.justified.height} (${fc.justified.hash}): the finality states of the stored blocks descending from the finalized checkpoint justify up to height ${maxJustified}${justifiedSeen ? "" : ", and none justifies this block"}`);
  }
}
