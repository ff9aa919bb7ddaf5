/**
 * `vision-node status` and `vision-node peers`: readable tables of `/api/mining/status` (with the
 * tip and its finality from `/api/chain/head`, this node's validator state from `/api/status` and
 * the set's counts from `/api/validators`) and
 * `/api/peers` for a terminal. `status --watch` redraws every second until Ctrl-C and keeps
 * trying while the node is unreachable.
 */
import { getJson } from "../util/http.ts";
import { validatorState, type ValidatorRow, type ValidatorSetHead } from "./validator.ts";

/** Flags of `status`. */
export interface StatusFlags {
  api: string;
  watch: boolean;
  /** ms between redraws with --watch */
  interval: number;
}

type MiningStatus = {
  next_height: number; current_winner: string | null; backups: string[]; my_node_id: string; my_slot: number | null;
  eligible: boolean; sync_state: string; local_height: number; network_height: number; lag_blocks: number;
  eligible_pool_size: number; ready_peers: number; eligible_streak: number;
  recent_claims: [number, { winner_id: string; tip_hash: string; claimed_at: number; slot_idx: number }][];
};
type Checkpoint = { height: number; hash: string };
/** `/api/chain/head`; `finalized` and `justified` are absent from nodes before protocol version 3. */
type Head = { height: number; hash: string; timestamp: number; producer: string; slot: number | null; finalized?: Checkpoint; justified?: Checkpoint };
type PeerRow = { ebid: string; direction: string; address: string | null; remote_address: string; height: number; backed_height?: number; connected_at: number; strikes: number; agent?: string | null };

const short = (h: string | null | undefined) => (h ? h.slice(0, 12) : "-");

/** Pads columns to their widest cell. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  ")).join("\n");
}

/** This node's validator record (null: not bonded) and the set's epochs and counts. */
export interface ValidatorLine {
  me: ValidatorRow | null;
  set: ValidatorSetHead;
}

/** The status screen's validator line: this node's state, then the epoch and the set's counts. */
export function validatorLine(v: ValidatorLine): string {
  const c = v.set.counts;
  const me = validatorState(v.me) + (v.me?.in_pool ? ", in pool" : "");
  return `${me}  epoch ${v.set.epoch}; validators ${c.total}: active ${c.active}, pending ${c.pending}, exiting ${c.exiting}, live ${c.live}`;
}

/**
 * The status screen's finality row: the finalized checkpoint (the chain's, docs/protocol.md §7), the
 * chain's justified one, and the finality lag (head height - finalized height, blocks).
 */
export function finalityLine(head: Head): string {
  if (!head.finalized || !head.justified) return "- (the node reports no checkpoints)";
  const lag = head.height - head.finalized.height;
  return `finalized ${head.finalized.height} ${short(head.finalized.hash)}, justified ${head.justified.height} ${short(head.justified.hash)}; lag ${lag} block${lag === 1 ? "" : "s"}`;
}

/** The status screen, from the node's answers. */
export function renderStatus(api: string, s: MiningStatus, head: Head, validators: ValidatorLine, now = Date.now()): string {
  const who = (e: string | null) => (e === null ? "-" : e === s.my_node_id ? `${short(e)} (this node)` : short(e));
  const lines = [
    `vision-node ${short(s.my_node_id)} at ${api}`,
    "",
    table([
      ["tip", `height ${head.height}  ${short(head.hash)}  ${head.slot === null ? "PoW" : `slot ${head.slot}`} by ${who(head.producer)}, ${Math.max(0, Math.round((now - head.timestamp) / 1000))} s ago`],
      ["finality", finalityLine(head)],
      ["sync", `${s.sync_state}  local ${s.local_height}, network ${s.network_height}, lag ${s.lag_blocks}`],
      ["eligible", `${s.eligible ? "yes" : "no"}  streak ${s.eligible_streak}, ready peers ${s.ready_peers}`],
      ["next height", `${s.next_height}  pool ${s.eligible_pool_size}`],
      ["primary", who(s.current_winner)],
      ["backups", s.backups.length ? s.backups.map((b, i) => `${i + 1}:${who(b)}`).join("  ") : "-"],
      ["my slot", s.my_slot === null ? "none" : s.my_slot === 0 ? "0 (primary)" : `${s.my_slot} (backup)`],
      ["validator", validatorLine(validators)],
    ]),
    "",
  ];
  if (s.recent_claims.length) {
    lines.push("recent claims", table([["height", "slot", "tip", "claimed"], ...s.recent_claims.map(([h, c]) => [String(h), String(c.slot_idx), short(c.tip_hash), new Date(c.claimed_at).toISOString()])]));
  } else {
    lines.push("recent claims: none");
  }
  return lines.join("\n");
}

/** Prints the status once, or redraws it with --watch. @throws when the node cannot be reached (without --watch) */
export async function runStatus(f: StatusFlags): Promise<void> {
  const api = f.api.replace(/\/+$/, "");
  const once = async () => {
    const [s, head, node, set] = await Promise.all([
      getJson<MiningStatus>(`${api}/api/mining/status`),
      getJson<Head>(`${api}/api/chain/head`),
      getJson<{ validator: ValidatorRow | null }>(`${api}/api/status`),
      getJson<ValidatorSetHead>(`${api}/api/validators?limit=1`),
    ]);
    return renderStatus(api, s, head, { me: node.validator, set });
  };
  if (!f.watch) {
    process.stdout.write((await once()) + "\n");
    return;
  }
  const tty = process.stdout.isTTY;
  for (;;) {
    let screen: string;
    try {
      screen = await once();
    } catch (e) {
      screen = `${api}: ${(e as Error).message} (retrying)`;
    }
    process.stdout.write((tty ? "\x1b[H\x1b[2J" : "\n") + screen + "\n");
    await new Promise((r) => setTimeout(r, f.interval));
  }
}

/**
 * Anything a peer told the node, made safe for a terminal: characters outside printable ASCII
 * (escape sequences, newlines) become "?".
 */
export function printable(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, "?");
}

/** A peer's height as claimed, with what it backed when that is less (docs/protocol.md §6.1). */
function heightCell(p: PeerRow): string {
  return p.backed_height !== undefined && p.backed_height < p.height ? `${p.height} (backed ${p.backed_height})` : String(p.height);
}

/** The peers table: one row per peer, the agent last (it may contain spaces). */
export function renderPeers(peers: PeerRow[], now = Date.now()): string {
  if (peers.length === 0) return "no peers";
  const rows = peers.map((p) =>
    [short(p.ebid), p.direction, heightCell(p), p.address ?? p.remote_address, `${Math.round((now - p.connected_at) / 1000)} s`, String(p.strikes), p.agent ?? "-"].map((c) => printable(String(c))),
  );
  return table([["peer", "direction", "height", "address", "connected", "strikes", "agent"], ...rows]);
}

/** Prints every page of `/api/peers` as a table. @throws when the node cannot be reached */
export async function runPeers(f: { api: string }): Promise<void> {
  const api = f.api.replace(/\/+$/, "");
  const peers: PeerRow[] = [];
  for (let from: number | null = 0, pages = 0; from !== null && pages < 100; pages++) {
    const page: { peers: PeerRow[]; next_from?: number | null } = await getJson(`${api}/api/peers?from=${from}&limit=1000`);
    peers.push(...page.peers);
    from = page.next_from ?? null;
  }
  process.stdout.write(renderPeers(peers) + "\n");
}
