// Conformance: every vector in test/vectors/ (see its README) must reproduce byte for byte.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadVector } from "../../helpers/vectors.ts";
import {
  blockHash, calculateJitter, epochSalt, expectedDifficulty, fromHex, hashJson, headerMeetsPow, jcs,
  merkleRootOfHashes, merkleRootOfItems, pickWinnerWithRerolls, powHash, reroll, sealHash,
  sign, toHex, u64, verify, clearVerifyCache, ebidOf, Domain, defaultChainParams, omit, H, utf8, concatBytes, chainDomains, signingMessage,
} from "../../../src/consensus/index.ts";
import { genesisBlock, genesisCommitment, normalizeChainSpec } from "../../../src/chain/spec.ts";
import { finalityFloorWindow, isActive, livenessWindow, poolForEpoch, validatorItemHash, validatorsRoot, type ValidatorRecord } from "../../../src/consensus/validators.ts";
import { StateTree, leafHash } from "../../../src/chain/stateTree.ts";
import { StateView, accountItemHash, accountsFromAlloc, type AccountChange, type StateBase } from "../../../src/chain/state.ts";
import { executeBlock } from "../../../src/chain/execute.ts";
import { HeadRegistry } from "../../../src/chain/registry.ts";
import { checkTxPop, signBond, signExit, txHash } from "../../../src/chain/tx.ts";
import { blockSchema, txSchema } from "../../../src/consensus/wire.ts";
import { slashingItemHash, slashingsRoot, verifySlashing, votesConflict, type Vote } from "../../../src/consensus/slashing.ts";
import { BlockError } from "../../../src/chain/errors.ts";
import { blsPublicKeyHex, blsSecretKeyFromIkm, blsSignHex, blsVerify } from "../../../src/consensus/bls.ts";
import { genesisMix, nextMix, popMessage, revealMessage, seedFromMix } from "../../../src/consensus/randao.ts";
import { bls12_381 } from "@noble/curves/bls12-381.js";
import { applyFinality, finalityRoot, genesisFinality, type FinalityState } from "../../../src/consensus/finality.ts";

test("jcs.json: canonical bytes and their SHA-256", () => {
  const v = loadVector("jcs.json");
  for (const c of v.cases) {
    assert.equal(jcs(c.value), c.jcs);
    assert.equal(toHex(hashJson(c.value)), c.sha256);
  }
});

test("merkle.json: RFC 6962 roots over item hashes", () => {
  const v = loadVector("merkle.json");
  for (const c of v.cases) {
    assert.equal(toHex(merkleRootOfHashes(c.items.map(fromHex))), c.root, `${c.items.length} items`);
  }
});

test("selection.json: salt, seed from the parent mix, u64, reroll, winners and jitter", () => {
  const v = loadVector("selection.json");
  const p = defaultChainParams;
  for (const c of v.cases) {
    const salt = epochSalt(c.chain_id);
    assert.equal(toHex(salt), c.epoch_salt);
    const seed = seedFromMix(c.parent_mix, c.height, salt);
    assert.equal(toHex(seed), c.seed);
    assert.equal(u64(seed).toString(), c.u64);
    assert.equal(toHex(reroll(seed, 0)), c.reroll_0);
    assert.deepEqual(pickWinnerWithRerolls(seed, c.pool, p.backup_slots), c.winners, `height ${c.height}`);
    for (const [ebid, ms] of Object.entries(c.jitter_ms)) {
      assert.equal(calculateJitter(seed, ebid, p.jitter_min_ms, p.jitter_max_ms), ms);
    }
  }
});

test("signatures.json: keys, tx, attestation and hello_ack signatures", () => {
  const v = loadVector("signatures.json");
  const keys = new Map<string, Uint8Array>();
  for (const k of v.keys) {
    assert.equal(ebidOf(fromHex(k.secret_key)), k.ebid);
    keys.set(k.ebid, fromHex(k.secret_key));
  }
  const tx = v.tx.signed;
  assert.equal(sign(Domain.tx, tx, keys.get(tx.from)!), tx.sig);
  assert.ok(verify(Domain.tx, tx, tx.sig, tx.from));
  assert.equal(toHex(hashJson(omit(tx, "sig"))), v.tx.hash);
  // the vector's "leaf_hash" is the item hash H(JCS(item)) that enters the RFC 6962 leaf
  assert.equal(toHex(hashJson(tx)), v.tx.leaf_hash);
  assert.equal(toHex(merkleRootOfItems([tx])), toHex(merkleRootOfHashes([fromHex(v.tx.leaf_hash)])));
  const at = v.attestation.signed;
  const chain = chainDomains(v.genesis_hash);
  // vision-attest-v3 binds the chain: utf8(domain) || genesis (32 bytes) || H(JCS(obj without sig))
  assert.equal(toHex(signingMessage(chain.attest, at)), v.attestation.signing_input);
  assert.equal(v.attestation.signing_input, toHex(concatBytes(utf8("vision-attest-v3"), fromHex(v.genesis_hash), hashJson(omit(at, "sig")))));
  assert.equal(sign(chain.attest, at, keys.get(at.ebid)!), at.sig);
  assert.ok(verify(chain.attest, at, at.sig, at.ebid));
  assert.equal(verify(chainDomains("cd".repeat(32)).attest, at, at.sig, at.ebid), false, "another chain's attestation");
  assert.equal(toHex(hashJson(at)), v.attestation.leaf_hash);
  const hello = v.hello_ack.object;
  assert.equal(sign(Domain.hello, hello, keys.get(hello.ebid)!), v.hello_ack.sig);
  assert.ok(verify(Domain.hello, hello, v.hello_ack.sig, hello.ebid));
  // the same signature under another domain or key is refused
  assert.equal(verify(Domain.tx, hello, v.hello_ack.sig, hello.ebid), false);
  assert.equal(verify(chain.block, hello, v.hello_ack.sig, hello.ebid), false);
  assert.equal(verify(Domain.hello, hello, v.hello_ack.sig, hello.peer_ebid), false);
});

test("block.json: seal, pow and block hashes, roots and signature", () => {
  const v = loadVector("block.json");
  const b = v.block;
  assert.equal(toHex(sealHash(b.header)), v.seal_hash);
  assert.equal(toHex(powHash(sealHash(b.header), b.header.nonce)), v.pow_hash);
  assert.equal(toHex(powHash(sealHash(b.header), 0)), v.pow_hash_nonce_0);
  assert.ok(headerMeetsPow(b.header));
  assert.equal(headerMeetsPow({ ...b.header, nonce: 0 }), false);
  assert.equal(blockHash(b.header), b.hash);
  assert.equal(toHex(merkleRootOfItems(b.txs)), b.header.tx_root);
  assert.equal(toHex(merkleRootOfItems(b.attestations)), b.header.attestations_root);
  const chain = chainDomains(v.genesis_hash);
  assert.equal(b.header.parent_hash, v.genesis_hash, "a block at height 1: its parent is genesis");
  assert.equal(toHex(signingMessage(chain.block, b.header)), v.signing_input);
  assert.ok(verify(chain.block, b.header, b.signature, b.header.producer));
  assert.equal(verify(chainDomains("cd".repeat(32)).block, b.header, b.signature, b.header.producer), false, "another chain's block");
  // the block's nonce is the first that meets difficulty 2
  const seal = sealHash(b.header);
  for (let n = 0; n < b.header.nonce; n++) assert.ok(!toHex(powHash(seal, n)).startsWith("00"));
  // a version 3 header (16 fields): no reveal on a pow block, the empty list's slashings_root
  assert.equal(b.header.version, 3);
  assert.equal(Object.keys(b.header).length, 16);
  assert.equal(b.header.randao_reveal, "");
  assert.equal(toHex(merkleRootOfItems(b.slashings)), b.header.slashings_root);
  for (const a of b.attestations) assert.ok(verify(chain.attest, a, a.sig, a.ebid), "a vision-attest-v3 attestation");
});

test("block.json slashing_block: a block with one double-vote item parses, its hashes and roots, signatures and the item's evidence", () => {
  const all = loadVector("block.json");
  const v = all.slashing_block;
  const chain = chainDomains(all.genesis_hash);
  const b = blockSchema.parse(v.block);
  assert.equal(blockHash(b.header), b.hash);
  assert.equal(toHex(slashingItemHash(b.slashings[0]!)), v.item_hash);
  assert.equal(slashingsRoot(b.slashings), b.header.slashings_root);
  assert.equal(toHex(merkleRootOfItems(b.slashings)), b.header.slashings_root);
  assert.equal(toHex(signingMessage(chain.block, b.header)), v.signing_input);
  assert.ok(verify(chain.block, b.header, b.signature, b.header.producer));
  const item = b.slashings[0]!;
  assert.equal(item.kind, "votes");
  const [x, y] = [item.a as Vote, item.b as Vote];
  const check = verifySlashing(item, chain);
  assert.ok(check.ok && check.offender === x.ebid, "the item is evidence against its signer");
  assert.equal(verifySlashing(item, chainDomains("cd".repeat(32))).ok, false, "no evidence on another chain");
  assert.equal(votesConflict(x, y), "double vote");
});

test("finality.json: each step's finality state, its JCS text and finality_root from F(0)", () => {
  const v = loadVector("finality.json");
  for (const c of v.cases) {
    let f: FinalityState = genesisFinality(c.genesis_hash);
    assert.deepEqual(f, c.genesis.state);
    assert.equal(finalityRoot(f), c.genesis.root);
    for (const [i, s] of c.steps.entries()) {
      f = applyFinality(f, s.votes, { interval: c.interval, height: s.height, activeAt: () => c.validators, slashed: new Set(s.slashed ?? []) });
      assert.deepEqual(f, s.state, `${c.name}: step ${i} (${s.note})`);
      assert.equal(jcs(f), s.jcs);
      assert.equal(finalityRoot(f), s.root);
      assert.equal(toHex(hashJson(s.state)), s.root);
    }
  }
});

test("pool.json: validator item hashes, validators_root, liveness windows, live sets, finality floors and pool(e)", () => {
  const v = loadVector("pool.json");
  const records: ValidatorRecord[] = v.records.map((r: { bond: string }) => ({ ...r, bond: BigInt(r.bond) }));
  for (const r of records) assert.equal(toHex(validatorItemHash(r)), v.item_hashes[r.ebid]);
  assert.equal(validatorsRoot(records), v.validators_root);
  assert.equal(validatorsRoot([...records].reverse()), v.validators_root, "order of the input does not matter");
  assert.equal(validatorsRoot([]), v.validators_root_empty);
  for (const c of v.epochs) {
    const w = livenessWindow(c.epoch, v.epoch_length, v.pool_window);
    assert.deepEqual(w, c.window, `epoch ${c.epoch}`);
    const live = new Set<string>();
    for (let h = w.from; h <= w.to; h++) for (const x of v.named_per_height[h] ?? []) live.add(x);
    assert.deepEqual([...live].sort(), c.live, `epoch ${c.epoch}`);
    // The finality floor: named up to the anchor's finalized height, or the genesis validators at 0.
    const fw = finalityFloorWindow(c.finalized, v.pool_window);
    const floor = new Set<string>(c.finalized === 0 ? records.filter((r) => isActive(r, 0)).map((r) => r.ebid) : []);
    for (let h = fw.from; h <= fw.to; h++) for (const x of v.named_per_height[h] ?? []) floor.add(x);
    assert.deepEqual([...floor].sort(), c.floor, `epoch ${c.epoch} floor`);
    assert.deepEqual(poolForEpoch(c.epoch, records, live, floor), c.pool, `epoch ${c.epoch}`);
  }
});

test("difficulty.json: expected difficulty at every height", () => {
  const v = loadVector("difficulty.json");
  const ts: number[] = v.timestamps;
  v.expected.forEach((d: number, i: number) => {
    const height = i + 1;
    assert.equal(expectedDifficulty(height, (h) => ts[h]!, v.params), d, `height ${height}`);
  });
});

test("genesis.json: genesis commitment, its hash and the whole genesis block", () => {
  const v = loadVector("genesis.json");
  for (const c of v.cases) {
    const spec = normalizeChainSpec(c.spec);
    assert.equal(jcs(genesisCommitment(spec)), c.normalized_jcs, c.name);
    assert.equal(toHex(hashJson(genesisCommitment(spec))), c.spec_hash, c.name);
    assert.deepEqual(genesisBlock(spec), c.genesis, c.name);
  }
});

test("state.json: state_root in creation order through execution, minimums, and undo (truncation)", async () => {
  const v = loadVector("state.json");
  // The head as the node keeps it: accounts with leaf indices and the incremental tree.
  const accounts = accountsFromAlloc(v.alloc);
  const tree = StateTree.from([...accounts].map(([a, acc]) => leafHash(accountItemHash(a, acc))));
  const base: StateBase = {
    get size() {
      return tree.size;
    },
    tree,
    version: 0,
    load: async (addresses) => new Map([...addresses].map((a) => [a, accounts.get(a)])),
    registry: HeadRegistry.from([]),
  };
  const apply = (view: StateView) => {
    const leaves = new Map<number, Uint8Array>();
    for (const [a, acc] of view.diff) {
      if (acc === null) accounts.delete(a);
      else {
        accounts.set(a, acc);
        leaves.set(acc.index, leafHash(accountItemHash(a, acc)));
      }
    }
    tree.apply({ leaves, size: view.size });
  };
  assert.equal(toHex(tree.root()), v.genesis_state_root);
  const opts = { chainId: v.chain_id, blockReward: BigInt(v.block_reward), rules: { minTxFee: BigInt(v.min_tx_fee), minAccountBalance: BigInt(v.min_account_balance) } };
  const history: AccountChange[][] = [];
  for (const [n, step] of (v.steps as any[]).entries()) {
    if (step.op === "undo") {
      apply(StateView.head(base).moved(history.pop()!, "undo"));
      assert.equal(toHex(tree.root()), step.state_root, `step ${n}`);
      continue;
    }
    const parent = await StateView.head(base).withAccounts([step.producer, ...step.txs.flatMap((t: any) => [t.from, t.to])]);
    const run = () => executeBlock(parent, { txs: step.txs, header: { producer: step.producer, height: n + 1 } }, opts);
    if (step.error) {
      assert.throws(run, (e) => e instanceof BlockError && e.message.startsWith(`transaction ${step.error.tx}: ${step.error.code}:`), `step ${n}`);
      continue;
    }
    const e = run();
    assert.equal(e.stateRoot, step.state_root, `step ${n} candidate root`);
    apply(e.state);
    history.push(e.changes);
    assert.equal(toHex(tree.root()), step.state_root, `step ${n} head root`);
    const listed = [...accounts].sort(([, a], [, b]) => a.index - b.index).map(([a, acc]) => [a, acc.balance.toString(), acc.nonce]);
    assert.deepEqual(listed, step.accounts, `step ${n} accounts in creation order`);
  }
});

test("H concatenates its parts", () => {
  assert.equal(toHex(H(utf8("ab"), utf8("c"))), toHex(H(concatBytes(utf8("a"), utf8("bc")))));
});

test("the verified-signature cache never turns a bad signature good", () => {
  const v = loadVector("signatures.json");
  const tx = v.tx.signed;
  assert.ok(verify(Domain.tx, tx, tx.sig, tx.from)); // now cached
  assert.ok(verify(Domain.tx, tx, tx.sig, tx.from));
  assert.equal(verify(Domain.tx, { ...tx, amount: "1001" }, tx.sig, tx.from), false, "other message, same signature");
  assert.equal(verify(Domain.hello, tx, tx.sig, tx.from), false, "other domain");
  assert.equal(verify(chainDomains(v.genesis_hash).attest, tx, tx.sig, tx.from), false, "a chain-bound domain");
  assert.equal(verify(Domain.tx, tx, tx.sig, v.keys[1].ebid), false, "other signer");
  clearVerifyCache();
  assert.ok(verify(Domain.tx, tx, tx.sig, tx.from));
});

test("validators.json: item hashes and validators_root of 0, 1 and 3 records, one exiting, then one slashed", () => {
  const v = loadVector("validators.json");
  for (const c of v.cases) {
    const records: ValidatorRecord[] = c.records.map((r: any) => ({ ...r, bond: BigInt(r.bond) }));
    const sorted = [...records].sort((a, b) => (a.ebid < b.ebid ? -1 : 1));
    assert.deepEqual(sorted.map((r) => toHex(validatorItemHash(r))), c.item_hashes, c.name);
    assert.equal(validatorsRoot(records), c.validators_root, c.name);
    assert.equal(HeadRegistry.from(records).root, c.validators_root, `${c.name}: the head's cached root`);
  }
});

test("transactions.json: bond, unbond and withdraw parse, hash, sign and (the bond) prove possession as pinned", () => {
  const v = loadVector("transactions.json");
  for (const k of v.keys) {
    assert.equal(ebidOf(fromHex(k.secret_key)), k.ebid);
    assert.equal(toHex(blsSecretKeyFromIkm(fromHex(k.secret_key))), k.bls_secret_key);
    assert.equal(blsPublicKeyHex(fromHex(k.bls_secret_key)), k.bls_pubkey);
  }
  const bond = v.bond.signed;
  assert.equal(toHex(popMessage(bond.chain_id, bond.from, bond.bls_pubkey)), v.pop_message);
  assert.ok(blsVerify(bond.bls_pubkey, fromHex(v.pop_message), bond.pop), "the PoP verifies");
  assert.doesNotThrow(() => checkTxPop(bond));
  const key = v.keys.find((k: any) => k.ebid === bond.from);
  const signer = { ebid: key.ebid, secretKey: fromHex(key.secret_key), blsSecretKey: fromHex(key.bls_secret_key) };
  assert.deepEqual(signBond(signer, { chain_id: bond.chain_id, amount: bond.amount, fee: bond.fee, nonce: bond.nonce }), bond);
  for (const kind of ["bond", "unbond", "withdraw"] as const) {
    const c = v[kind];
    assert.deepEqual(txSchema.parse(c.signed), c.signed, kind);
    assert.equal(txHash(c.signed), c.hash, kind);
    assert.equal(toHex(hashJson(c.signed)), c.item_hash, kind);
    assert.ok(verify(Domain.tx, c.signed, c.signed.sig, c.signed.from), kind);
    if (kind !== "bond") assert.deepEqual(signExit(signer, kind, { chain_id: c.signed.chain_id, fee: c.signed.fee, nonce: c.signed.nonce }), c.signed);
  }
});

test("randao.json: BLS keys from IKM, reveals and proofs of possession (verified by blst and by @noble/curves), the mix chain and its seeds", () => {
  const v = loadVector("randao.json");
  const POP_DST = "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";
  const noble = bls12_381.longSignatures;
  const nobleVerify = (pk: string, msg: Uint8Array, sig: string) => noble.verify(fromHex(sig), noble.hash(msg, POP_DST), fromHex(pk));
  const publicKeys: string[] = [];
  for (const k of v.keys) {
    const sk = blsSecretKeyFromIkm(fromHex(k.ikm));
    assert.equal(toHex(sk), k.secret_key);
    assert.equal(blsPublicKeyHex(sk), k.public_key);
    assert.equal(noble.getPublicKey(sk).toHex(true), k.public_key, "noble derives the same public key");
    publicKeys.push(k.public_key);
    for (const r of k.reveals) {
      const msg = revealMessage(v.chain_id, r.height);
      assert.equal(toHex(msg), r.message);
      assert.equal(blsSignHex(sk, msg), r.reveal);
      assert.ok(blsVerify(k.public_key, msg, r.reveal));
      assert.ok(nobleVerify(k.public_key, msg, r.reveal), `noble verifies the reveal at height ${r.height}`);
      assert.equal(blsVerify(k.public_key, revealMessage(v.chain_id, r.height + 1), r.reveal), false, "not a reveal for another height");
    }
    // the test keys' convention: the BLS IKM is the ed25519 seed of the EBID the proof binds
    assert.equal(k.pop.ebid, ebidOf(fromHex(k.ikm)));
    const msg = popMessage(v.chain_id, k.pop.ebid, k.public_key);
    assert.equal(toHex(msg), k.pop.message);
    assert.equal(blsSignHex(sk, msg), k.pop.pop);
    assert.ok(blsVerify(k.public_key, msg, k.pop.pop));
    assert.ok(nobleVerify(k.public_key, msg, k.pop.pop), "noble verifies the proof of possession");
    assert.equal(blsVerify(k.public_key, popMessage(v.chain_id, v.keys[0].pop.ebid === k.pop.ebid ? v.keys[1].pop.ebid : v.keys[0].pop.ebid, k.public_key), k.pop.pop), false, "not a proof for another EBID");
  }
  const m = v.mix_chain;
  const salt = epochSalt(v.chain_id);
  assert.equal(toHex(salt), m.epoch_salt);
  assert.equal(genesisMix(m.spec_hash), m.genesis_mix);
  let mix: string = m.genesis_mix;
  for (const s of m.steps) {
    assert.equal(toHex(seedFromMix(mix, s.height, salt)), s.seed, `seed at height ${s.height}`);
    if (s.reveal === "") assert.equal(s.producer_key, null);
    else assert.ok(blsVerify(publicKeys[s.producer_key]!, revealMessage(v.chain_id, s.height), s.reveal), `the reveal at height ${s.height} is its producer's`);
    mix = nextMix(mix, s.reveal);
    assert.equal(mix, s.mix, `mix at height ${s.height}`);
  }
  assert.equal(toHex(seedFromMix(mix, m.steps.length + 1, salt)), m.next_seed);
});
