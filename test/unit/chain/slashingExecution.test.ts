// Executing slashing items (docs/protocol.md §6.5) through the real registry on LevelDB: the
// offender's record becomes slashed with bond 0 and an exit epoch activation_delay_epochs ahead; a
// reorg that undoes the block restores it (stored changes, `v!` records and validators_root); the
// slashed validator stops being active at its exit epoch; its withdraw pays nothing; NOT_SLASHABLE
// for a missing or already slashed record and a second item against one offender in a block.
import { test } from "node:test";
import assert from "node:assert/strict";
import { activeAt, isActive } from "../../../src/consensus/validators.ts";
import { executeBlock, type Execution } from "../../../src/chain/execute.ts";
import { applySlashings, checkSlashings, checkSlashingsDetached } from "../../../src/chain/slashing.ts";
import { HeadState } from "../../../src/chain/headState.ts";
import { StateView, encodeChanges } from "../../../src/chain/state.ts";
import { encodeValidatorChanges } from "../../../src/chain/registry.ts";
import { txRulesOf } from "../../../src/chain/tx.ts";
import { BlockError } from "../../../src/chain/errors.ts";
import type { ChainDb } from "../../../src/storage/chainDb.ts";
import type { SlashingItem } from "../../../src/consensus/slashing.ts";
import type { Tx } from "../../../src/consensus/types.ts";
import { extend, makeKeys, makeSpec, openTestChain, type TestKey } from "../../helpers/fixtures.ts";
import { exitTx } from "../../helpers/validatorTxs.ts";
import { doubleVote, fakeHash, testDomains, vote } from "../../helpers/slashing.ts";

const keys = makeKeys(4);
const [k0, k1, k2, outsider] = keys as [TestKey, TestKey, TestKey, TestKey];
const spec = makeSpec([k0, k1, k2], { alloc: { [k1.ebid]: "500" }, params: { block_time_ms: 2000, epoch_length: 4 } });
const rules = txRulesOf(spec);
const p = spec.params;

/** Executes a block at `height` by k0 with `slashings` and `txs` on `view`. */
async function run(view: StateView, height: number, slashings: SlashingItem[], txs: Tx[] = []): Promise<Execution> {
  const v = await view.withAccounts([k0.ebid, k1.ebid, ...txs.map((t) => t.from)]);
  return executeBlock(v, { txs, slashings, header: { producer: k0.ebid, height } }, { chainId: spec.chain_id, blockReward: 50n, rules });
}

/** Stores `exec` as block `hash`'s changes and moves the head over it, as a block import does. */
async function commit(db: ChainDb, state: HeadState, hash: string, exec: Execution, direction: "redo" | "undo"): Promise<void> {
  const moved = direction === "redo" ? { producer: k0.ebid, earned: 50n, changes: exec.changes, validators: exec.validators } : await state.movedOf(hash);
  const move = direction === "redo" ? state.prepareMove([], [moved]) : state.prepareMove([moved], []);
  const writes = direction === "redo" ? [{ kind: "changes" as const, hash, record: { producer: k0.ebid, earned: "50", changes: encodeChanges(exec.changes), validators: encodeValidatorChanges(exec.validators) } }] : [];
  state.beginWrite();
  await db.write([...writes, ...move.writes]);
  move.commit();
}

test("a slashing burns the bond and sets the exit; a reorg away restores the record on LevelDB; inactive from the exit epoch; the withdraw pays 0", async () => {
  const c = await openTestChain(spec);
  try {
    await extend(c.chain, keys, 2);
    await c.chain.close();
    let state = await HeadState.load(c.db);
    const before = state.registry.get(k1.ebid)!;
    const rootBefore = state.registry.root;
    const height = 9; // epoch 2
    const exec = await run(StateView.head(state), height, [doubleVote(k1)]);
    assert.deepEqual(exec.validators, [{ ebid: k1.ebid, before, after: { ...before, bond: 0n, slashed: true, exit_epoch: 2 + p.activation_delay_epochs } }]);
    assert.notEqual(exec.validatorsRoot, rootBefore);

    await commit(c.db, state, fakeHash(1), exec, "redo");
    assert.equal(state.registry.get(k1.ebid)!.slashed, true);
    state = await HeadState.load(c.db); // read back from the v! records
    const slashed = state.registry.get(k1.ebid)!;
    assert.deepEqual(slashed, { ...before, bond: 0n, slashed: true, exit_epoch: 4 });
    assert.equal(state.registry.root, exec.validatorsRoot);

    // active until the exit epoch, not from it; the others stay
    assert.ok(isActive(slashed, 3));
    assert.equal(isActive(slashed, 4), false);
    assert.deepEqual(activeAt(state.registry, 4), [k0.ebid, k2.ebid].sort());

    // already slashed: NOT_SLASHABLE
    await assert.rejects(run(StateView.head(state), height + 1, [doubleVote(k1, 16)]), (e: BlockError) => e.code === "NOT_SLASHABLE" && /already slashed/.test(e.message));

    // the withdraw after the unbonding period pays nothing: only the fee leaves the balance
    const w = await run(StateView.head(state), (4 + p.unbonding_epochs) * p.epoch_length, [], [exitTx("withdraw", k1, spec.chain_id, 0, "5")]);
    const acct = w.changes.find((x) => x.address === k1.ebid)!;
    assert.equal(acct.after.balance, acct.before!.balance - 5n, "only the fee leaves the balance, no bond is credited");
    assert.deepEqual(w.validators, [{ ebid: k1.ebid, before: slashed, after: null }]);
    // withdrawn (deleted): no longer slashable
    const withdrawn = StateView.head(state).moved(w.changes, "redo", w.validators);
    await assert.rejects(run(withdrawn, height + 60, [doubleVote(k1, 24)]), (e: BlockError) => e.code === "NOT_SLASHABLE" && /no validator record/.test(e.message));

    // reorg away: the block's stored changes are undone, the record is back as it was
    await commit(c.db, state, fakeHash(1), exec, "undo");
    assert.deepEqual(state.registry.get(k1.ebid), before);
    state = await HeadState.load(c.db);
    assert.deepEqual(state.registry.get(k1.ebid), before);
    assert.equal(state.registry.root, rootBefore);
  } finally {
    await c.db.close();
  }
});

test("NOT_SLASHABLE: no record, a second item against one offender in a block; a withdraw of a slashed record needs balance >= fee", async () => {
  const c = await openTestChain(spec);
  try {
    const view = await c.chain.stateAt(c.chain.head);
    await assert.rejects(run(view, 1, [doubleVote(outsider)]), (e: BlockError) => e.code === "NOT_SLASHABLE" && /slashing 0/.test(e.message) && /no validator record/.test(e.message));
    await assert.rejects(run(view, 1, [doubleVote(k2), doubleVote(k0), doubleVote(k2, 16)]), (e: BlockError) => e.code === "NOT_SLASHABLE" && /slashing 2/.test(e.message));
    const two = await run(view, 1, [doubleVote(k2), doubleVote(k0)]);
    assert.deepEqual(two.validators.map((v) => [v.ebid, v.after?.slashed]), [[k0.ebid, true], [k2.ebid, true]].sort());
    // k2 (no account: balance 0) cannot pay a withdraw's fee from its burned bond
    const slashedView = view.moved(two.changes, "redo", two.validators);
    const late = (2 + p.activation_delay_epochs + p.unbonding_epochs) * p.epoch_length;
    const w = await slashedView.withAccounts([k2.ebid]);
    assert.throws(() => executeBlock(w, { txs: [exitTx("withdraw", k2, spec.chain_id, 0)], header: { producer: k0.ebid, height: late } }, { chainId: spec.chain_id, blockReward: 50n, rules }), (e: BlockError) => e.code === "BAD_TX" && /INSUFFICIENT_BALANCE/.test(e.message));
  } finally {
    await c.destroy();
  }
});

test("the exit epoch: min(exit_epoch, max(e + activation_delay_epochs, activation_epoch)); BAD_SLASHING on pow chains and past 8 items", () => {
  const reg = (records: { ebid: string; activation_epoch: number; exit_epoch: number | null }[]) => {
    const full = records.map((r) => ({ ...r, bls_pubkey: "", bond: 1000n, slashed: false }));
    return { get: (e: string) => full.find((r) => r.ebid === e), all: () => full, size: full.length, blsKeyOwner: () => undefined };
  };
  const r = rules.registry!;
  const after = (rec: { activation_epoch: number; exit_epoch: number | null }, epoch: number) => applySlashings([doubleVote(k0)], reg([{ ebid: k0.ebid, ...rec }]), epoch, r)[0]!.after!;
  assert.equal(after({ activation_epoch: 0, exit_epoch: null }, 5).exit_epoch, 5 + p.activation_delay_epochs, "active: exits activation_delay_epochs ahead");
  assert.equal(after({ activation_epoch: 0, exit_epoch: 6 }, 5).exit_epoch, 6, "unbonding with an earlier exit keeps it");
  assert.equal(after({ activation_epoch: 0, exit_epoch: 3 }, 5).exit_epoch, 3, "exited, not withdrawn: keeps its exit");
  assert.equal(after({ activation_epoch: 9, exit_epoch: null }, 5).exit_epoch, 9, "pending: exits at activation, never active");
  assert.equal(after({ activation_epoch: 0, exit_epoch: null }, 5).bond, 0n);
  assert.throws(() => applySlashings([doubleVote(k0)], reg([{ ebid: k0.ebid, activation_epoch: 0, exit_epoch: null }]), 5, undefined), (e: BlockError) => e.code === "BAD_SLASHING" && /pow/.test(e.message));
  const many = Array.from({ length: 9 }, (_, i) => doubleVote(k0, 8 * (i + 1)));
  assert.throws(() => applySlashings(many, reg([]), 5, r), (e: BlockError) => e.code === "BAD_SLASHING" && /at most 8/.test(e.message));
  assert.deepEqual(applySlashings([], reg([]), 5, undefined), [], "no items: nothing, on any chain");
});

test("the checks before execution: BAD_SLASHING for a pow chain, more than 8 items, or an item that is no evidence (named by its index)", () => {
  assert.doesNotThrow(() => checkSlashingsDetached([], "pow"));
  assert.doesNotThrow(() => checkSlashingsDetached([doubleVote(k0)], "proof-of-sync"));
  assert.throws(() => checkSlashingsDetached([doubleVote(k0)], "pow"), (e: BlockError) => e.code === "BAD_SLASHING" && /pow/.test(e.message));
  const nine = Array.from({ length: 9 }, (_, i) => doubleVote(keys[i % 4]!, 8 * (i + 1)));
  assert.throws(() => checkSlashingsDetached(nine, "proof-of-sync"), (e: BlockError) => e.code === "BAD_SLASHING" && /at most 8/.test(e.message));
  assert.doesNotThrow(() => checkSlashings([doubleVote(k0), doubleVote(k1)], testDomains));
  const reVote: SlashingItem = { kind: "votes", a: vote(k1, 0, 8), b: vote(k1, 0, 8, { head: 9 }) };
  assert.throws(() => checkSlashings([doubleVote(k0), reVote], testDomains), (e: BlockError) => e.code === "BAD_SLASHING" && /^slashing 1: votes not conflicting/.test(e.message));
  const forged: SlashingItem = { kind: "votes", a: vote(k1, 0, 8), b: vote(k1, 0, 8, { targetHash: fakeHash(77), signer: k2 }) };
  assert.throws(() => checkSlashings([forged], testDomains), (e: BlockError) => e.code === "BAD_SLASHING" && /slashing 0: vote b: bad signature/.test(e.message));
});
