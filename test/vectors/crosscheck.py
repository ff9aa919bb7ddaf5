#!/usr/bin/env python3
"""Recomputes every value in test/vectors/*.json from docs/protocol.md alone, in Python.

A second implementation, sharing no code with the node: canonical JSON from the standard
library's json.dumps (sort_keys, compact separators, ensure_ascii=False; byte-identical to
RFC 8785 for objects of strings, safe integers and null with ASCII keys), SHA-256 from hashlib,
ed25519 from the `cryptography` package (OpenSSL's RFC 8032 signer and verifier), HKDF for BLS
KeyGen from hmac. BLS12-381 itself is not in the standard library: randao.json's public keys and
signatures are verified by @noble/curves in vectors.test.ts instead.

Usage: python3 test/vectors/crosscheck.py   (exit 0 and "all vectors agree", or a list of mismatches)
"""
import hashlib
import hmac
import json
import os
import sys

try:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
    from cryptography.hazmat.primitives import serialization
except ImportError:  # signatures are then skipped, and the run says so
    Ed25519PrivateKey = None

# docs/protocol.md §2.1: every chain parameter and its default.
DEFAULT_PARAMS = {
    "block_time_ms": 2000, "mining_tick_ms": 250, "claim_timeout_ms": 1200, "backup_slots": 6,
    "jitter_min_ms": 50, "jitter_max_ms": 400, "max_desync_blocks": 2, "min_ready_peers": 1,
    "eligible_streak_required": 3, "pool_window": 20, "attestation_max_age": 8,
    "max_future_drift_ms": 2000, "fallback_difficulty": 4, "max_block_txs": 500,
    "genesis_difficulty": 2, "target_block_time_ms": 10000, "difficulty_adjustment_interval": 10,
    "max_difficulty_change": 2, "min_difficulty": 1, "max_difficulty": 12,
    "min_tx_fee": 1, "min_account_balance": 10,
    "epoch_length": 20, "min_bond": 1000, "activation_delay_epochs": 2, "unbonding_epochs": 10,
    "max_validators": 1024, "checkpoint_interval": 8,
}

HERE = os.path.dirname(os.path.abspath(__file__))
failures = []
checked = 0


def load(name):
    with open(os.path.join(HERE, name), encoding="utf-8") as f:
        return json.load(f)


def check(what, got, want):
    global checked
    checked += 1
    if got != want:
        failures.append(f"{what}: computed {got!r}, vector says {want!r}")


def H(*parts):
    return hashlib.sha256(b"".join(parts)).digest()


def jcs(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def hash_json(value):
    return H(jcs(value).encode("utf-8"))


def u64le(n):
    return n.to_bytes(8, "little")


def u64(s):
    return int.from_bytes(s[:8], "little")


def without(obj, key):
    return {k: v for k, v in obj.items() if k != key}


def merkle(item_hashes):
    """RFC 6962 section 2.1 over 32-byte item hashes."""
    if not item_hashes:
        return H(b"")
    def root(leaves):
        if len(leaves) == 1:
            return leaves[0]
        k = 1
        while k * 2 < len(leaves):
            k *= 2
        return H(b"\x01", root(leaves[:k]), root(leaves[k:]))
    return root([H(b"\x00", h) for h in item_hashes])


def seal_hash(header):
    return H(jcs(without(header, "nonce")).encode("utf-8"))


def pow_hash(seal, nonce):
    return H(H(seal, u64le(nonce)))


def winners(seed, pool, backup_slots):
    pool = sorted(set(pool))
    want = min(1 + backup_slots, len(pool))
    if want == 0:
        return []
    out = [pool[u64(seed) % len(pool)]]
    i = 0
    while len(out) < want and i < 64:
        w = pool[u64(H(seed, f"reroll{i}".encode())) % len(pool)]
        if w not in out:
            out.append(w)
        i += 1
    for w in pool:
        if len(out) >= want:
            break
        if w not in out:
            out.append(w)
    return out


# docs/protocol.md section 3.3: blocks and attestations (protocol version 3) sign the chain's genesis
# hash between the domain and the object's hash; transactions and hello do not.
CHAIN_BOUND = ("vision-block-v3", "vision-attest-v3")


def signing_input(domain, obj, genesis_hex=None):
    if (domain in CHAIN_BOUND) != (genesis_hex is not None):
        raise ValueError(f"{domain}: a genesis hash exactly for the chain-bound domains")
    genesis = bytes.fromhex(genesis_hex) if genesis_hex is not None else b""
    return domain.encode() + genesis + hash_json(without(obj, "sig"))


def sign(domain, obj, secret_hex, genesis_hex=None):
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(secret_hex))
    return key.sign(signing_input(domain, obj, genesis_hex)).hex()


def verify(domain, obj, sig_hex, ebid, genesis_hex=None):
    key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(ebid))
    try:
        key.verify(bytes.fromhex(sig_hex), signing_input(domain, obj, genesis_hex))
        return True
    except Exception:
        return False


def verify_bytes(ebid, sig_hex, message):
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(ebid)).verify(bytes.fromhex(sig_hex), message)
        return True
    except Exception:
        return False


def ebid_of(secret_hex):
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(secret_hex))
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def execute(accounts, order, producer, txs, v):
    """docs/protocol.md §6.5 on copies: returns (accounts, order) or the (index, code) that fails.
    `order` is the account creation order (§3.6): new accounts are appended when first credited."""
    accounts = dict(accounts)
    order = list(order)
    fees = 0
    min_fee, min_balance = int(v["min_tx_fee"]), int(v["min_account_balance"])

    def credit(address, amount):
        if address not in accounts:
            accounts[address] = (0, 0)
            order.append(address)
        bal, nonce = accounts[address]
        accounts[address] = (bal + amount, nonce)

    for i, t in enumerate(txs):
        amount, fee = int(t["amount"]), int(t["fee"])
        if t["chain_id"] != v["chain_id"]:
            return (i, "BAD_CHAIN_ID")
        if fee < min_fee:
            return (i, "FEE_BELOW_MINIMUM")
        bal, nonce = accounts.get(t["from"], (0, 0))
        if t["nonce"] != nonce:
            return (i, "NONCE_TOO_LOW" if t["nonce"] < nonce else "NONCE_TOO_HIGH")
        if bal < amount + fee:
            return (i, "INSUFFICIENT_BALANCE")
        if t["to"] not in accounts and amount < min_balance:
            return (i, "AMOUNT_BELOW_MINIMUM")
        accounts[t["from"]] = (bal - amount - fee, nonce + 1)
        credit(t["to"], amount)
        fees += fee
    credit(producer, int(v["block_reward"]) + fees)
    return accounts, order


def state_root(accounts, order):
    """docs/protocol.md §3.6: the Merkle root over the accounts in creation order."""
    return merkle([hash_json([a, str(accounts[a][0]), accounts[a][1]]) for a in order]).hex()


def check_state(v):
    accounts = {a: (int(b), 0) for a, b in v["alloc"].items()}
    order = sorted(accounts)
    check("state.json genesis state_root", state_root(accounts, order), v["genesis_state_root"])
    history = []
    for n, step in enumerate(v["steps"]):
        at = f"state.json step {n} ({step['op']})"
        if step["op"] == "undo":
            accounts, order = history.pop()
            check(f"{at} state_root", state_root(accounts, order), step["state_root"])
            continue
        out = execute(accounts, order, step["producer"], step["txs"], v)
        if "error" in step:
            check(f"{at} error", list(out) if isinstance(out[0], int) else "valid", [step["error"]["tx"], step["error"]["code"]])
            continue
        history.append((accounts, order))
        accounts, order = out
        check(f"{at} accounts", [[a, str(accounts[a][0]), accounts[a][1]] for a in order], step["accounts"])
        check(f"{at} state_root", state_root(accounts, order), step["state_root"])
        if Ed25519PrivateKey is not None:
            for t in step["txs"]:
                check(f"{at} tx signature", verify("vision-tx-v1", t, t["sig"], t["from"]), True)


def check_validators(v):
    """docs/protocol.md §5: validators_root over the records ascending by EBID."""
    for c in v["cases"]:
        at = f"validators.json {c['name']}"
        records = sorted(c["records"], key=lambda r: r["ebid"])
        items = [validator_item_hash(r) for r in records]
        check(f"{at} item hashes", [h.hex() for h in items], c["item_hashes"])
        check(f"{at} validators_root", merkle(items).hex(), c["validators_root"])


def check_transactions(v):
    """docs/protocol.md §3.4: bond, unbond and withdraw; their hashes, item hashes and signatures
    (the bond's BLS proof of possession is checked by the TypeScript test: no BLS in the stdlib)."""
    fields = {
        "bond": ["chain_id", "kind", "from", "amount", "fee", "nonce", "bls_pubkey", "pop", "sig"],
        "unbond": ["chain_id", "kind", "from", "fee", "nonce", "sig"],
        "withdraw": ["chain_id", "kind", "from", "fee", "nonce", "sig"],
    }
    t = v["bond"]["signed"]
    msg = b"vision-pop-v2" + hash_json({"bls_pubkey": t["bls_pubkey"], "chain_id": t["chain_id"], "ebid": t["from"]})
    check("transactions.json pop_message", msg.hex(), v["pop_message"])
    keys = {k["ebid"]: k["secret_key"] for k in v["keys"]}
    for kind, names in fields.items():
        tx = v[kind]["signed"]
        check(f"transactions.json {kind} fields", sorted(tx), sorted(names))
        check(f"transactions.json {kind} kind", tx["kind"], kind)
        check(f"transactions.json {kind} hash", hash_json(without(tx, "sig")).hex(), v[kind]["hash"])
        check(f"transactions.json {kind} item hash", hash_json(tx).hex(), v[kind]["item_hash"])
        if Ed25519PrivateKey is not None:
            check(f"transactions.json {kind} sig", sign("vision-tx-v1", tx, keys[tx["from"]]), tx["sig"])
            check(f"transactions.json {kind} ebid", ebid_of(keys[tx["from"]]), tx["from"])


BLS_R = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001  # BLS12-381 group order


def bls_keygen(ikm):
    """KeyGen of draft-irtf-cfrg-bls-signature-05 section 2.3 (key_info empty), HKDF-SHA-256 by hand."""
    salt = b"BLS-SIG-KEYGEN-SALT-"
    while True:
        salt = H(salt)
        prk = hmac.new(salt, ikm + b"\x00", hashlib.sha256).digest()
        okm, block, i = b"", b"", 1
        while len(okm) < 48:
            block = hmac.new(prk, block + b"\x00\x30" + bytes([i]), hashlib.sha256).digest()
            okm += block
            i += 1
        sk = int.from_bytes(okm[:48], "big") % BLS_R
        if sk != 0:
            return sk.to_bytes(32, "big")


def check_randao(v):
    """docs/protocol.md section 3.3 and 4 (protocol version 2): what needs no BLS arithmetic. Python's
    standard library has no BLS12-381, so the public keys, reveals and proofs are checked for form and
    consistency here; vectors.test.ts verifies them with @noble/curves, a second implementation."""
    chain = v["chain_id"]
    reveal_of = {}
    for n, k in enumerate(v["keys"]):
        at = f"randao.json key {n}"
        check(f"{at} secret_key (KeyGen of the ikm)", bls_keygen(bytes.fromhex(k["ikm"])).hex(), k["secret_key"])
        check(f"{at} public_key form", len(k["public_key"]) == 96 and k["public_key"] == k["public_key"].lower(), True)
        for r in k["reveals"]:
            msg = b"vision-randao-v2" + hash_json({"chain_id": chain, "height": r["height"]})
            check(f"{at} reveal message at height {r['height']}", msg.hex(), r["message"])
            check(f"{at} reveal form at height {r['height']}", len(r["reveal"]) == 192 and r["reveal"] == r["reveal"].lower(), True)
            reveal_of[(n, r["height"])] = r["reveal"]
        pop = k["pop"]
        msg = b"vision-pop-v2" + hash_json({"bls_pubkey": k["public_key"], "chain_id": chain, "ebid": pop["ebid"]})
        check(f"{at} pop message", msg.hex(), pop["message"])
        check(f"{at} pop form", len(pop["pop"]) == 192, True)
        if Ed25519PrivateKey is not None:
            check(f"{at} pop ebid (the ed25519 key of the same seed)", ebid_of(k["ikm"]), pop["ebid"])
    m = v["mix_chain"]
    salt = H(chain.encode(), b"mining-epoch-v1")
    check("randao.json epoch_salt", salt.hex(), m["epoch_salt"])
    mix = H(b"vision-mix-v2", bytes.fromhex(m["spec_hash"]))
    check("randao.json genesis_mix", mix.hex(), m["genesis_mix"])
    for st in m["steps"]:
        at = f"randao.json mix chain height {st['height']}"
        check(f"{at} seed", H(mix, u64le(st["height"]), salt).hex(), st["seed"])
        if st["reveal"] == "":
            check(f"{at} producer", st["producer_key"], None)
        else:
            check(f"{at} reveal is its producer's for the height", reveal_of.get((st["producer_key"], st["height"])), st["reveal"])
            mix = H(mix, H(bytes.fromhex(st["reveal"])))
        check(f"{at} mix", mix.hex(), st["mix"])
    check("randao.json next_seed", H(mix, u64le(len(m["steps"]) + 1), salt).hex(), m["next_seed"])


def validator_item_hash(r):
    """docs/protocol.md §3.6: H(JCS([ebid, bls_pubkey, bond, activation_epoch, exit_epoch, slashed])); slashed a JSON boolean."""
    if not isinstance(r["slashed"], bool):
        raise ValueError(f"record {r['ebid'][:8]}: slashed must be a boolean")
    return hash_json([r["ebid"], r["bls_pubkey"], r["bond"], r["activation_epoch"], r["exit_epoch"], r["slashed"]])


def validators_root(records):
    """docs/protocol.md §3.2: RFC 6962 root over the records' item hashes in ascending EBID order."""
    return merkle([validator_item_hash(r) for r in sorted(records, key=lambda r: r["ebid"])]).hex()


def check_pool(v):
    """docs/protocol.md §5: liveness windows, live sets, finality floors and pool(e) over validator records."""
    L, W, records = v["epoch_length"], v["pool_window"], v["records"]
    for r in records:
        check(f"pool.json item hash {r['ebid'][:8]}", validator_item_hash(r).hex(), v["item_hashes"][r["ebid"]])
    check("pool.json validators_root", validators_root(records), v["validators_root"])
    check("pool.json validators_root of none", validators_root([]), v["validators_root_empty"])
    for c in v["epochs"]:
        e = c["epoch"]
        s = (e - 1) * L
        window = {"from": max(1, s - W), "to": s - 1}
        check(f"pool.json epoch {e} window", window, c["window"])
        live = sorted({x for h in range(window["from"], window["to"] + 1) for x in v["named_per_height"].get(str(h), [])})
        check(f"pool.json epoch {e} live", live, c["live"])
        active = [r for r in records if r["activation_epoch"] <= e and (r["exit_epoch"] is None or e < r["exit_epoch"])]
        # The finality floor L(e): named at heights max(1, f - W) .. f for the anchor's finalized
        # height f; the validators active at epoch 0 (the genesis validators) for f = 0.
        f = c["finalized"]
        if f > max(0, (e - 1) * L - 1):
            raise ValueError(f"pool.json epoch {e}: finalized {f} above the anchor")
        if f == 0:
            floor = sorted({r["ebid"] for r in records if r["activation_epoch"] <= 0 and (r["exit_epoch"] is None or r["exit_epoch"] > 0)})
        else:
            floor = sorted({x for h in range(max(1, f - W), f + 1) for x in v["named_per_height"].get(str(h), [])})
        check(f"pool.json epoch {e} floor", floor, c["floor"])
        pool = sorted({r["ebid"] for r in active if not r["slashed"] and (r["activation_epoch"] >= e - 1 or r["ebid"] in live or r["ebid"] in floor)})
        check(f"pool.json epoch {e} pool", pool, c["pool"])


def finality_step(f, votes, interval, height, members, slashed=()):
    """docs/protocol.md section 5a: F(n) = finality(F(n-1), block n), with A(t) = members for every target;
    a vote by an EBID in `slashed` (slashed in the records after the parent) sets no bit."""
    f = json.loads(json.dumps(f))  # a deep copy
    tallies = f["votes"]
    for a in votes:
        if a["source_height"] == a["target_height"]:
            continue
        key = (a["source_height"], a["source_hash"], a["target_height"], a["target_hash"])
        t = next((t for t in tallies if (t["source_height"], t["source_hash"], t["target_height"], t["target_hash"]) == key), None)
        if t is None:
            t = {"source_height": key[0], "source_hash": key[1], "target_height": key[2], "target_hash": key[3],
                 "voters": "00" * ((len(members) + 7) // 8)}
            tallies.append(t)
        if a["ebid"] in members and a["ebid"] not in slashed:
            i = members.index(a["ebid"])
            bits = bytearray(bytes.fromhex(t["voters"]))
            bits[i >> 3] |= 1 << (i & 7)
            t["voters"] = bits.hex()
    tallies.sort(key=lambda t: (t["target_height"], t["source_height"]))
    recent = f["justified_recent"]
    for t in tallies:
        votes_for = sum(bin(b).count("1") for b in bytes.fromhex(t["voters"]))
        if len(members) == 0 or not 3 * votes_for > 2 * len(members):
            continue
        cp = {"height": t["target_height"], "hash": t["target_hash"]}
        if cp not in recent:
            recent.append(cp)
            recent.sort(key=lambda c: c["height"])
        if t["target_height"] == t["source_height"] + interval and t["source_height"] > f["finalized"]["height"]:
            f["finalized"] = {"height": t["source_height"], "hash": t["source_hash"]}
    f["justified"] = dict(recent[-1])
    f["justified_recent"] = [c for c in recent if c["height"] >= f["finalized"]["height"]][-4:]
    low = ((height + 1) // interval - 1) * interval
    f["votes"] = [t for t in tallies if t["target_height"] >= low]
    return f


def check_finality(v):
    """docs/protocol.md section 5a: every step of every case from F(0), its JCS text and finality_root."""
    for c in v["cases"]:
        at = f"finality.json {c['name'][:40]}"
        g = {"height": 0, "hash": c["genesis_hash"]}
        f = {"justified": dict(g), "finalized": dict(g), "justified_recent": [dict(g)], "votes": []}
        check(f"{at} genesis state", f, c["genesis"]["state"])
        check(f"{at} genesis root", hash_json(f).hex(), c["genesis"]["root"])
        members = sorted(c["validators"])
        check(f"{at} validators ascending", members, c["validators"])
        for i, step in enumerate(c["steps"]):
            f = finality_step(f, step["votes"], c["interval"], step["height"], members, step.get("slashed", []))
            check(f"{at} step {i} state", f, step["state"])
            check(f"{at} step {i} jcs", jcs(f), step["jcs"])
            check(f"{at} step {i} root", hash_json(f).hex(), step["root"])


def main():
    v = load("jcs.json")
    for i, c in enumerate(v["cases"]):
        check(f"jcs.json case {i} text", jcs(c["value"]), c["jcs"])
        check(f"jcs.json case {i} sha256", hash_json(c["value"]).hex(), c["sha256"])

    v = load("merkle.json")
    for c in v["cases"]:
        check(f"merkle.json {len(c['items'])} items", merkle([bytes.fromhex(x) for x in c["items"]]).hex(), c["root"])

    v = load("selection.json")
    jitter_min, jitter_max, backup_slots = 50, 400, 6
    for c in v["cases"]:
        at = f"selection.json height {c['height']}"
        salt = H(c["chain_id"].encode(), b"mining-epoch-v1")
        check(f"{at} epoch_salt", salt.hex(), c["epoch_salt"])
        seed = H(bytes.fromhex(c["parent_mix"]), u64le(c["height"]), salt)
        check(f"{at} seed", seed.hex(), c["seed"])
        check(f"{at} u64", str(u64(seed)), c["u64"])
        check(f"{at} reroll_0", H(seed, b"reroll0").hex(), c["reroll_0"])
        check(f"{at} winners", winners(seed, c["pool"], backup_slots), c["winners"])
        for ebid, ms in c["jitter_ms"].items():
            got = u64(H(seed, ebid.encode())) % (jitter_max - jitter_min) + jitter_min
            check(f"{at} jitter {ebid[:8]}", got, ms)

    v = load("difficulty.json")
    p, ts = v["params"], v["timestamps"]
    interval = p["difficulty_adjustment_interval"]
    for i, want in enumerate(v["expected"]):
        n = i + 1
        d = p["genesis_difficulty"]
        for h in range(2 * interval, n + 1, interval):
            r = (ts[h - 1] - ts[h - 1 - interval]) / (interval * p["target_block_time_ms"])
            if r < 0.5:
                d += p["max_difficulty_change"]
            elif r < 0.75:
                d += 1
            elif r > 2.0:
                d -= p["max_difficulty_change"]
            elif r > 1.5:
                d -= 1
            d = min(p["max_difficulty"], max(p["min_difficulty"], d))
        check(f"difficulty.json height {n}", d, want)

    v = load("genesis.json")
    for c in v["cases"]:
        at = f"genesis.json {c['name']}"
        raw = c["spec"]
        norm = {
            "chain_id": raw["chain_id"],
            "genesis_timestamp": raw["genesis_timestamp"],
            "consensus": raw["consensus"],
            "params": {**DEFAULT_PARAMS, **raw.get("params", {})},
            "validators": sorted(raw.get("validators", []), key=lambda v: v["ebid"]),
            "alloc": raw.get("alloc", {}),
            "block_reward": raw.get("block_reward", "50"),
        }
        if "allowlist" in raw:
            norm["allowlist"] = sorted(set(raw["allowlist"]))
        check(f"{at} normalized_jcs", jcs(norm), c["normalized_jcs"])
        spec_hash = hash_json(norm).hex()
        check(f"{at} spec_hash", spec_hash, c["spec_hash"])
        empty = H(b"").hex()
        state = merkle([hash_json([a, b, 0]) for a, b in sorted(norm["alloc"].items())]).hex()
        records = [{**v, "activation_epoch": 0, "exit_epoch": None, "slashed": False} for v in norm["validators"]]
        header = {"version": 3, "height": 0, "parent_hash": spec_hash, "timestamp": norm["genesis_timestamp"],
                  "producer": "0" * 64, "slot": None, "difficulty": 0, "nonce": 0,
                  "tx_root": empty, "attestations_root": empty, "state_root": state,
                  "validators_root": validators_root(records),
                  "mix": H(b"vision-mix-v2", bytes.fromhex(spec_hash)).hex(), "randao_reveal": "",
                  "finality_root": "0" * 64, "slashings_root": empty}
        check(f"{at} genesis header", header, c["genesis"]["header"])
        check(f"{at} genesis hash", hash_json(header).hex(), c["genesis"]["hash"])

    v = load("state.json")
    check_state(v)

    check_randao(load("randao.json"))
    check_pool(load("pool.json"))

    v = load("block.json")
    b = v["block"]
    seal = seal_hash(b["header"])
    check("block.json seal_hash", seal.hex(), v["seal_hash"])
    check("block.json pow_hash", pow_hash(seal, b["header"]["nonce"]).hex(), v["pow_hash"])
    check("block.json pow_hash_nonce_0", pow_hash(seal, 0).hex(), v["pow_hash_nonce_0"])
    first = next(n for n in range(1 << 20) if pow_hash(seal, n).hex().startswith("0" * b["header"]["difficulty"]))
    check("block.json first nonce meeting the difficulty", first, b["header"]["nonce"])
    check("block.json hash", hash_json(b["header"]).hex(), b["hash"])
    check("block.json tx_root", merkle([hash_json(t) for t in b["txs"]]).hex(), b["header"]["tx_root"])
    check("block.json attestations_root", merkle([hash_json(a) for a in b["attestations"]]).hex(), b["header"]["attestations_root"])
    check("block.json slashings_root", merkle([hash_json(x) for x in b["slashings"]]).hex(), b["header"]["slashings_root"])
    check("block.json header fields", sorted(b["header"]), sorted(["version", "height", "parent_hash", "timestamp", "producer", "slot", "difficulty", "nonce", "tx_root", "attestations_root", "state_root", "validators_root", "mix", "randao_reveal", "finality_root", "slashings_root"]))
    sb = v["slashing_block"]["block"]
    item = sb["slashings"][0]
    check("block.json slashing_block hash", hash_json(sb["header"]).hex(), sb["hash"])
    check("block.json slashing_block item_hash", hash_json(item).hex(), v["slashing_block"]["item_hash"])
    check("block.json slashing_block slashings_root", merkle([hash_json(x) for x in sb["slashings"]]).hex(), sb["header"]["slashings_root"])
    check("block.json slashing_block item fields", (item["kind"], sorted(item), sorted(item["a"]) == sorted(item["b"])), ("votes", ["a", "b", "kind"], True))
    va, vb = item["a"], item["b"]
    check("block.json slashing_block double vote", (va["ebid"] == vb["ebid"], va["target_height"] == vb["target_height"], (va["source_height"], va["source_hash"], va["target_hash"]) != (vb["source_height"], vb["source_hash"], vb["target_hash"])), (True, True, True))

    s = load("signatures.json")
    tx, at = s["tx"]["signed"], s["attestation"]["signed"]
    check("signatures.json tx hash", hash_json(without(tx, "sig")).hex(), s["tx"]["hash"])
    check("signatures.json tx item hash (leaf_hash)", hash_json(tx).hex(), s["tx"]["leaf_hash"])
    check("signatures.json attestation item hash (leaf_hash)", hash_json(at).hex(), s["attestation"]["leaf_hash"])
    g, bg = s["genesis_hash"], v["genesis_hash"]
    check("signatures.json attestation signing_input", signing_input("vision-attest-v3", at, g).hex(), s["attestation"]["signing_input"])
    check("block.json signing_input", signing_input("vision-block-v3", b["header"], bg).hex(), v["signing_input"])
    check("block.json slashing_block signing_input", signing_input("vision-block-v3", sb["header"], bg).hex(), v["slashing_block"]["signing_input"])
    check("block.json genesis is the block's parent (height 1)", (b["header"]["height"], b["header"]["parent_hash"]), (1, bg))
    if Ed25519PrivateKey is None:
        print("cryptography is not installed: ed25519 checks skipped")
    else:
        keys = {}
        for k in s["keys"]:
            check(f"signatures.json ebid of {k['secret_key'][:8]}", ebid_of(k["secret_key"]), k["ebid"])
            keys[k["ebid"]] = k["secret_key"]
        check("signatures.json tx sig", sign("vision-tx-v1", tx, keys[tx["from"]]), tx["sig"])
        check("signatures.json attestation sig", sign("vision-attest-v3", at, keys[at["ebid"]], g), at["sig"])
        other = "cd" * 32
        check("signatures.json attestation on another chain (genesis)", verify("vision-attest-v3", at, at["sig"], at["ebid"], other), False)
        check("signatures.json attestation over the unbound bytes (no genesis)", verify_bytes(at["ebid"], at["sig"], b"vision-attest-v3" + hash_json(without(at, "sig"))), False)
        hello = s["hello_ack"]["object"]
        check("signatures.json hello_ack sig", sign("vision-hello-v1", hello, keys[hello["ebid"]]), s["hello_ack"]["sig"])
        check("signatures.json hello_ack under another domain", verify("vision-tx-v1", hello, s["hello_ack"]["sig"], hello["ebid"]), False)
        check("block.json block signature", verify("vision-block-v3", b["header"], b["signature"], b["header"]["producer"], bg), True)
        check("block.json block signature on another chain (genesis)", verify("vision-block-v3", b["header"], b["signature"], b["header"]["producer"], other), False)
        for t in b["txs"]:
            check("block.json tx signature", verify("vision-tx-v1", t, t["sig"], t["from"]), True)
        for a in b["attestations"]:
            check("block.json attestation signature", verify("vision-attest-v3", a, a["sig"], a["ebid"], bg), True)
        check("block.json slashing_block signature", verify("vision-block-v3", sb["header"], sb["signature"], sb["header"]["producer"], bg), True)
        for x in (va, vb):
            check("block.json slashing_block vote signature", verify("vision-attest-v3", x, x["sig"], x["ebid"], bg), True)
            check("block.json slashing_block vote on another chain: no evidence there", verify("vision-attest-v3", x, x["sig"], x["ebid"], other), False)

    check_validators(load("validators.json"))
    check_transactions(load("transactions.json"))
    check_finality(load("finality.json"))

    if failures:
        print("\n".join(failures))
        print(f"{len(failures)} of {checked} checks disagree")
        sys.exit(1)
    print(f"all vectors agree ({checked} checks)")


if __name__ == "__main__":
    main()
