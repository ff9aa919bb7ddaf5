/**
 * `vision-node validator bond|unbond|withdraw|status` (docs/protocol.md §3.4, §5, §6.5): the
 * validator's transactions, signed with the key file's keys (the ed25519 key signs the
 * transaction, the BLS key its bond's proof of possession) and submitted through a node's API like
 * `tx send`; and the validator set as `GET /api/validators` shows it.
 */
import { signBond, signExit } from "../chain/tx.ts";
import { readKeyFile } from "../node/keyfile.ts";
import { api, chainIdAndNonce, submit } from "./tx.ts";
import { table } from "./status.ts";
import type { ValidatorSet, ValidatorView } from "../api/validators.ts";

/** A validator as `GET /api/validators` shows it (the API's own view type). */
export type ValidatorRow = ValidatorView;

/** The set's epochs and counts, as `GET /api/validators` gives them. */
export type ValidatorSetHead = Pick<ValidatorSet, "height" | "epoch" | "next_epoch" | "counts">;

/** Flags of `validator bond`. */
export interface BondFlags {
  key: string;
  /** base units; default: the chain's min_bond */
  amount?: string;
  fee: string;
  api: string;
}

/**
 * `vision-node validator bond`: bonds `amount` (default: the chain's `min_bond`, from
 * `/api/chain/spec`) from the key file's EBID with the key file's BLS key; prints the hash.
 * @throws for a key file without a BLS key (before anything is sent), and "refused: <code>: ..."
 * with the node's reason
 */
export async function runValidatorBond(f: BondFlags): Promise<void> {
  const key = readKeyFile(f.key);
  if (!key.blsSecretKey) {
    throw new Error(`key file ${f.key} has no BLS key (bls_secret_key): start the node once with it (it adds one) or make a new key with vision-node keygen`);
  }
  const { chainId, nonce, spec } = await chainIdAndNonce(f.api, key.ebid);
  const minBond = (spec.params as { min_bond?: unknown } | undefined)?.min_bond;
  const amount = f.amount ?? (typeof minBond === "number" ? String(minBond) : undefined);
  if (amount === undefined) throw new Error(`node at ${f.api} gave no params.min_bond in /api/chain/spec: give --amount`);
  await submit(f.api, signBond({ ebid: key.ebid, secretKey: key.secretKey, blsSecretKey: key.blsSecretKey }, { chain_id: chainId, amount, fee: f.fee, nonce }), nonce);
}

/** `vision-node validator unbond` and `validator withdraw`: prints the hash. @throws "refused: <code>: ..." with the node's reason */
export async function runValidatorExit(kind: "unbond" | "withdraw", f: { key: string; fee: string; api: string }): Promise<void> {
  const key = readKeyFile(f.key);
  const { chainId, nonce } = await chainIdAndNonce(f.api, key.ebid);
  await submit(f.api, signExit(key, kind, { chain_id: chainId, fee: f.fee, nonce }), nonce);
}

/**
 * A validator's state in a few words: "not bonded", "pending until epoch E", "active",
 * "exiting at epoch E", "exited, withdrawable at epoch E", "withdrawable since epoch E".
 */
export function validatorState(v: Pick<ValidatorRow, "status" | "activation_epoch" | "exit_epoch" | "withdrawable_epoch"> | null): string {
  if (!v) return "not bonded";
  switch (v.status) {
    case "pending":
      return `pending until epoch ${v.activation_epoch}`;
    case "active":
      return "active";
    case "exiting":
      return `exiting at epoch ${v.exit_epoch}`;
    case "exited":
      return `exited, withdrawable at epoch ${v.withdrawable_epoch}`;
    case "withdrawable":
      return `withdrawable since epoch ${v.withdrawable_epoch}`;
  }
}

/** The set's one-line summary: epochs and counts. */
export function setSummary(s: ValidatorSetHead): string {
  const c = s.counts;
  return `epoch ${s.epoch} (next height: epoch ${s.next_epoch}), validators ${c.total}: active ${c.active}, pending ${c.pending}, exiting ${c.exiting}, live ${c.live}`;
}

const height = (h: number | null) => (h === null ? "-" : String(h));

/** One validator's lines for `validator status EBID`. */
export function renderValidator(ebid: string, v: ValidatorRow | null): string {
  if (!v) return `${ebid}: not bonded`;
  return [
    `${ebid}: ${validatorState(v)}`,
    table([
      ["bond", v.bond],
      ["bls_pubkey", v.bls_pubkey],
      ["activation epoch", String(v.activation_epoch)],
      ["exit epoch", v.exit_epoch === null ? "-" : String(v.exit_epoch)],
      ["withdrawable epoch", v.withdrawable_epoch === null ? "-" : String(v.withdrawable_epoch)],
      ["slashed", v.slashed ? "yes (bond burned)" : "no"],
      ["in pool", v.in_pool ? "yes" : "no"],
      ["last produced", height(v.last_produced)],
      ["last attested", height(v.last_attested)],
    ]),
  ].join("\n");
}

/** The table of `validator status` without an EBID. */
export function renderValidators(rows: readonly ValidatorRow[]): string {
  if (rows.length === 0) return "no validators";
  return table([
    ["ebid", "status", "bond", "in pool", "last produced", "last attested"],
    ...rows.map((v) => [v.ebid, validatorState(v), v.bond, v.in_pool ? "yes" : "no", height(v.last_produced), height(v.last_attested)]),
  ]);
}

/** Flags of `validator status`. */
export interface StatusFlags {
  /** whose status: default the key file's EBID, else every validator */
  ebid?: string;
  key?: string;
  api: string;
}

/**
 * `vision-node validator status [EBID]`: one validator (EBID, else `--key`'s EBID) or, with neither,
 * every validator (every page of `/api/validators`); then the set's summary line.
 * @throws when the node does not answer
 */
export async function runValidatorStatus(f: StatusFlags): Promise<void> {
  const base = f.api.replace(/\/+$/, "");
  const ebid = f.ebid ?? (f.key ? readKeyFile(f.key).ebid : undefined);
  const get = async (path: string, ok: number[] = [200]) => {
    const r = await api(`${base}${path}`);
    if (!ok.includes(r.status)) throw new Error(`node at ${base} answered ${path} with HTTP ${r.status}: ${r.body.message ?? ""}`);
    return r;
  };
  const lines: string[] = [];
  let head: ValidatorSetHead;
  if (ebid !== undefined) {
    const one = await get(`/api/validators/${ebid}`, [200, 404]);
    lines.push(renderValidator(ebid, one.status === 200 ? (one.body.validator as ValidatorRow) : null));
    head = (await get("/api/validators?limit=1")).body as unknown as ValidatorSetHead;
  } else {
    const rows: ValidatorRow[] = [];
    let first: ValidatorSetHead | undefined;
    for (let from: number | null = 0; from !== null; ) {
      const page = (await get(`/api/validators?from=${from}&limit=1000`)).body as unknown as ValidatorSetHead & { validators: ValidatorRow[]; next_from: number | null };
      first ??= page;
      rows.push(...page.validators);
      from = page.next_from;
    }
    lines.push(renderValidators(rows));
    head = first!;
  }
  lines.push(setSummary(head));
  process.stdout.write(lines.join("\n") + "\n");
}
