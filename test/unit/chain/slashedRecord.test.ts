// A validator record's `slashed` flag (docs/protocol.md §3.6): it enters the record's item hash and
// so `validators_root`, survives the stored form (`v!<ebid>` and a block's changes record), starts
// false for genesis validators and bonds, and `GET /api/validators` shows it. Through the real
// registry on LevelDB.
import { test } from "node:test";
import assert from "node:assert/strict";
import { toHex } from "../../../src/consensus/encoding.ts";
import { validatorItemHash, validatorsRoot, type ValidatorRecord } from "../../../src/consensus/validators.ts";
import { decodeRecord, decodeValidatorChanges, encodeRecord, encodeValidatorChanges, sameRecord } from "../../../src/chain/registry.ts";
import { genesisValidatorRecords } from "../../../src/chain/spec.ts";
import { HeadState } from "../../../src/chain/headState.ts";
import { validatorView, validatorActivity } from "../../../src/api/validators.ts";
import { extend, makeKeys, makeSpec, openTestChain } from "../../helpers/fixtures.ts";
import { bondTx } from "../../helpers/validatorTxs.ts";
import { blockFor } from "../../helpers/fixtures.ts";

const keys = makeKeys(3);
const [k0, k1, bonder] = keys as [(typeof keys)[number], (typeof keys)[number], (typeof keys)[number]];

function record(slashed: boolean): ValidatorRecord {
  return { ebid: k0.ebid, bls_pubkey: k0.blsPubkey, bond: 1000n, activation_epoch: 0, exit_epoch: null, slashed };
}

test("slashed enters the item hash H(JCS([ebid, bls_pubkey, bond, activation_epoch, exit_epoch, slashed])) and validators_root", () => {
  const clean = record(false);
  const slashed = { ...record(true), bond: 0n, exit_epoch: 3 };
  assert.notEqual(toHex(validatorItemHash(record(true))), toHex(validatorItemHash(clean)), "only slashed differs");
  assert.notEqual(validatorsRoot([record(true)]), validatorsRoot([clean]));
  assert.equal(sameRecord(record(true), clean), false, "records differing only in slashed are different records");
  for (const r of [clean, slashed]) {
    assert.deepEqual(decodeRecord(encodeRecord(r)), r, "the stored form keeps slashed");
    assert.equal(encodeRecord(r).slashed, r.slashed);
  }
  const changes = [{ ebid: k0.ebid, before: clean, after: slashed }];
  assert.deepEqual(decodeValidatorChanges(encodeValidatorChanges(changes)), changes, "a block's changes record keeps slashed");
});

test("genesis records and bonded records start slashed: false, on LevelDB and after reopening; the API view shows it", async () => {
  const spec = makeSpec([k0, k1], { alloc: { [bonder.ebid]: "100000" }, params: { block_time_ms: 2000, epoch_length: 4 } });
  for (const r of genesisValidatorRecords(spec)) assert.equal(r.slashed, false);
  const c = await openTestChain(spec);
  try {
    await extend(c.chain, keys, 1);
    const bond = bondTx(bonder, spec.chain_id, 0);
    const b = await blockFor(c.chain, c.chain.head, keys, 0, { txs: [bond] });
    assert.equal((await c.chain.importBlock(b)).status, "imported");
    const reg = await c.chain.registryAfter(c.chain.head);
    assert.deepEqual(reg.all().map((r) => r.slashed), [false, false, false]);
    const reloaded = await HeadState.load(c.db);
    assert.deepEqual(reloaded.registry.all(), reg.all(), "the v! records read back equal, slashed included");
    const view = validatorView(reg.get(bonder.ebid)!, 1, spec.params.unbonding_epochs, new Set(), validatorActivity(c.chain));
    assert.equal(view.slashed, false);
    assert.equal(validatorView({ ...reg.get(k0.ebid)!, slashed: true, bond: 0n }, 1, 10, new Set(), validatorActivity(c.chain)).slashed, true);
  } finally {
    await c.destroy();
  }
});
