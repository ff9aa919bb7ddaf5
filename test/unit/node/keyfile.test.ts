// Key files on real temp files: the BLS key written beside the ed25519 one, a file written before
// protocol version 2 upgraded in place on start (atomically, 0600, identity kept), bad BLS keys
// refused with a message naming the field, and the node's start logging the upgrade once.
import { test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, readFileSync, statSync, symlinkSync, writeFileSync, readdirSync, lstatSync } from "node:fs";
import { join } from "node:path";
import pino from "pino";
import { KeyFileError, loadOrCreateKey, readKeyFile, writeKeyFile } from "../../../src/node/keyfile.ts";
import { blsPublicKeyHex, blsSign, blsVerify } from "../../../src/consensus/bls.ts";
import { revealMessage } from "../../../src/consensus/randao.ts";
import { ebidOf } from "../../../src/consensus/signatures.ts";
import { fromHex, toHex } from "../../../src/consensus/encoding.ts";
import { VisionNode } from "../../../src/node/node.ts";
import { makeKeys, makeSpec, tempDir } from "../../helpers/fixtures.ts";

const HEX64 = /^[0-9a-f]{64}$/;
const HEX96 = /^[0-9a-f]{96}$/;
const fileOf = (path: string) => JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;

/** A key file as vision-node 0.2.x wrote it: no BLS key. */
function writeOldKeyFile(path: string, seed: Uint8Array, mode = 0o600): void {
  writeFileSync(path, JSON.stringify({ ebid: ebidOf(seed), secret_key: toHex(seed) }, null, 2) + "\n", { mode });
  chmodSync(path, mode);
}

test("writeKeyFile writes the ed25519 and the BLS secret (0600); readKeyFile gives both keys and the BLS public key", () => {
  const t = tempDir();
  try {
    const path = join(t.dir, "node.key");
    const written = writeKeyFile(path);
    const f = fileOf(path);
    assert.deepEqual(Object.keys(f).sort(), ["bls_secret_key", "ebid", "secret_key"]);
    assert.match(f.bls_secret_key as string, HEX64);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const k = readKeyFile(path);
    assert.equal(k.ebid, written.ebid);
    assert.equal(toHex(k.blsSecretKey!), f.bls_secret_key);
    assert.match(k.blsPubkey!, HEX96);
    assert.equal(k.blsPubkey, blsPublicKeyHex(k.blsSecretKey!));
    assert.equal(written.blsPubkey, k.blsPubkey);
    // the key signs reveals that verify under its public key
    const msg = revealMessage("vision-test", 1);
    assert.ok(blsVerify(k.blsPubkey!, msg, toHex(blsSign(k.blsSecretKey!, msg))));
    // two files, two independent BLS keys
    const other = writeKeyFile(join(t.dir, "other.key"));
    assert.notEqual(other.blsPubkey, written.blsPubkey);
    // a given BLS key is written as given
    const sk = fromHex("11".repeat(32));
    const given = writeKeyFile(join(t.dir, "given.key"), fromHex("22".repeat(32)), sk);
    assert.equal(fileOf(join(t.dir, "given.key")).bls_secret_key, "11".repeat(32));
    assert.equal(given.blsPubkey, blsPublicKeyHex(sk));
  } finally {
    t.cleanup();
  }
});

test("a key file without bls_secret_key still reads (no BLS key) and gets one added on start: same ebid and secret, mode 0600, atomic", () => {
  const t = tempDir();
  try {
    const path = join(t.dir, "node.key");
    const seed = new Uint8Array(32).fill(7);
    writeOldKeyFile(path, seed, 0o644);
    const old = readKeyFile(path);
    assert.equal(old.ebid, ebidOf(seed));
    assert.equal(old.blsSecretKey, undefined);
    assert.equal(old.blsPubkey, undefined);

    const { key, created, blsAdded } = loadOrCreateKey(path);
    assert.equal(created, false);
    assert.equal(blsAdded, true);
    assert.equal(key.ebid, ebidOf(seed));
    assert.deepEqual(key.secretKey, seed);
    const f = fileOf(path);
    assert.equal(f.ebid, ebidOf(seed));
    assert.equal(f.secret_key, toHex(seed));
    assert.equal(f.bls_secret_key, toHex(key.blsSecretKey));
    assert.equal(key.blsPubkey, blsPublicKeyHex(key.blsSecretKey));
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(t.dir), ["node.key"], "no temporary file left beside it");

    // the next start reads the same BLS key and adds nothing
    const again = loadOrCreateKey(path);
    assert.equal(again.blsAdded, false);
    assert.equal(again.key.blsPubkey, key.blsPubkey);
  } finally {
    t.cleanup();
  }
});

test("the upgrade writes through a symlinked key file: the link stays, its target gains the BLS key", () => {
  const t = tempDir();
  try {
    const target = join(t.dir, "real.key");
    const link = join(t.dir, "node.key");
    writeOldKeyFile(target, new Uint8Array(32).fill(8));
    symlinkSync(target, link);
    const { key, blsAdded } = loadOrCreateKey(link);
    assert.equal(blsAdded, true);
    assert.ok(lstatSync(link).isSymbolicLink(), "the link is kept");
    assert.equal(fileOf(target).bls_secret_key, toHex(key.blsSecretKey));
  } finally {
    t.cleanup();
  }
});

test("a bad bls_secret_key is refused with a KeyFileError naming it, and the file is left as it was", () => {
  const t = tempDir();
  try {
    const seed = new Uint8Array(32).fill(9);
    const r = "73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001"; // the group order
    const cases: [unknown, RegExp][] = [
      ["AB".repeat(32), /bls_secret_key must be 64 lowercase hex/],
      ["ab".repeat(31), /bls_secret_key must be 64 lowercase hex/],
      [42, /bls_secret_key must be 64 lowercase hex/],
      [null, /bls_secret_key must be 64 lowercase hex/],
      ["00".repeat(32), /bls_secret_key is not a valid BLS12-381 secret key/],
      [r, /bls_secret_key is not a valid BLS12-381 secret key/],
      ["ff".repeat(32), /bls_secret_key is not a valid BLS12-381 secret key/],
    ];
    for (const [i, [bad, msg]] of cases.entries()) {
      const path = join(t.dir, `bad${i}.key`);
      const text = JSON.stringify({ ebid: ebidOf(seed), secret_key: toHex(seed), bls_secret_key: bad });
      writeFileSync(path, text, { mode: 0o600 });
      for (const read of [() => readKeyFile(path), () => loadOrCreateKey(path)]) {
        assert.throws(read, (e) => e instanceof KeyFileError && msg.test(e.message) && e.message.includes(path), `case ${i}: ${String(bad)}`);
      }
      assert.equal(readFileSync(path, "utf8"), text, "left as it was");
    }
  } finally {
    t.cleanup();
  }
});

test("a key file whose bls_pubkey (as keygen --print-secret gives it) is not its bls_secret_key's is refused, like a mismatched ebid", () => {
  const t = tempDir();
  try {
    const [a, b] = makeKeys(2) as [ReturnType<typeof makeKeys>[number], ReturnType<typeof makeKeys>[number]];
    const fields = (pub: string) => ({ ebid: a.ebid, secret_key: toHex(a.secretKey), bls_secret_key: toHex(a.blsSecretKey), bls_pubkey: pub });
    const good = join(t.dir, "good.key");
    writeFileSync(good, JSON.stringify(fields(a.blsPubkey)), { mode: 0o600 });
    assert.equal(readKeyFile(good).blsPubkey, a.blsPubkey, "a matching bls_pubkey reads");
    const mixed = join(t.dir, "mixed.key");
    writeFileSync(mixed, JSON.stringify(fields(b.blsPubkey)), { mode: 0o600 }); // fields of two keys pasted together
    for (const read of [() => readKeyFile(mixed), () => loadOrCreateKey(mixed)]) {
      assert.throws(read, (e) => e instanceof KeyFileError && /bls_pubkey does not match bls_secret_key/.test(e.message) && e.message.includes(mixed));
    }
    const half = join(t.dir, "half.key");
    const { bls_secret_key: _, ...noSecret } = fields(a.blsPubkey);
    writeFileSync(half, JSON.stringify(noSecret), { mode: 0o600 });
    assert.throws(() => loadOrCreateKey(half), /bls_pubkey given without bls_secret_key/, "not upgraded to a key that is not the named one");
  } finally {
    t.cleanup();
  }
});

test("node start: an old key file gains a BLS key with one warn line; the start log carries bls_pubkey", async () => {
  const t = tempDir();
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: "info" }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  const keyFile = join(t.dir, "node.key");
  const seed = new Uint8Array(32).fill(10);
  writeOldKeyFile(keyFile, seed);
  const spec = makeSpec(makeKeys(2));
  const node = await VisionNode.init(
    { dataDir: join(t.dir, "data"), keyFile, spec, p2p: { host: "127.0.0.1", port: 0 }, apiHost: "127.0.0.1", apiPort: 0, produce: false, mine: false },
    log,
  );
  try {
    const bls = fileOf(keyFile).bls_secret_key as string;
    assert.match(bls, HEX64);
    const pub = blsPublicKeyHex(fromHex(bls));
    const warns = lines.filter((l) => l.level === 40 && /BLS/.test(String(l.msg)));
    assert.equal(warns.length, 1, JSON.stringify(warns));
    assert.match(String(warns[0]!.msg), new RegExp(`no BLS key: added one to ${keyFile.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
    assert.equal(warns[0]!.bls_pubkey, pub);
    const started = lines.find((l) => l.msg === "Node started")!;
    assert.equal(started.ebid, ebidOf(seed));
    assert.equal(started.bls_pubkey, pub);
    assert.equal(node.key.blsPubkey, pub);
    const status = (await (await fetch(`http://127.0.0.1:${node.apiPort}/api/status`)).json()) as Record<string, unknown>;
    assert.deepEqual([status.ebid, status.bls_pubkey], [ebidOf(seed), pub]);
  } finally {
    await node.close();
    t.cleanup();
  }
});
