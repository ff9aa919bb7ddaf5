// The CLI as a user runs it: real processes, exit codes and messages.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { mkdirSync, readdirSync, writeFileSync, statSync, readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { BIN, runCli, runClis } from "../../helpers/nodeProcess.ts";
import { tempDir } from "../../helpers/fixtures.ts";
import { readKeyFile } from "../../../src/node/keyfile.ts";
import { blsPublicKeyHex } from "../../../src/consensus/bls.ts";
import { ebidOf } from "../../../src/consensus/signatures.ts";
import { fromHex } from "../../../src/consensus/encoding.ts";

test("keygen never prints the secrets unless asked: it writes a 0600 key file with the ed25519 and the BLS key (./node.key by default), prints the EBID, and refuses to overwrite", () => {
  const t = tempDir();
  const cli = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", cwd: t.dir });
  try {
    const r = cli(["keygen"]);
    assert.equal(r.status, 0, r.stderr);
    const file = join(t.dir, "node.key");
    const key = JSON.parse(readFileSync(file, "utf8"));
    assert.equal(r.stdout, `${key.ebid}\n`, "only the EBID on stdout");
    assert.ok(!r.stdout.includes(key.secret_key) && !r.stderr.includes(key.secret_key), "the secret is in the file only");
    assert.match(key.bls_secret_key, /^[0-9a-f]{64}$/, "the BLS secret beside it");
    assert.ok(!r.stdout.includes(key.bls_secret_key) && !r.stderr.includes(key.bls_secret_key), "the BLS secret is in the file only");
    assert.match(r.stderr, /node\.key/);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const again = cli(["keygen"]);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /exists already/);

    const out = join(t.dir, "k.key");
    const w = cli(["keygen", "--out", out]);
    assert.equal(w.status, 0);
    assert.equal(statSync(out).mode & 0o777, 0o600);
    assert.equal(JSON.parse(readFileSync(out, "utf8")).ebid, w.stdout.trim());
    // the node reads the file it wrote: both keys, and the BLS public key keygen names on stderr
    const read = readKeyFile(out);
    assert.equal(read.ebid, w.stdout.trim());
    assert.equal(read.blsPubkey, blsPublicKeyHex(read.blsSecretKey!));
    assert.ok(w.stderr.includes(`bls_pubkey ${read.blsPubkey}`), w.stderr);
    assert.match(cli(["keygen", "--out", out]).stderr, /exists already/);

    // for scripts, on request: the key as JSON on stdout and no file
    const p = cli(["keygen", "--print-secret"]);
    assert.equal(p.status, 0, p.stderr);
    const k = JSON.parse(p.stdout);
    assert.match(k.ebid, /^[0-9a-f]{64}$/);
    assert.match(k.secret_key, /^[0-9a-f]{64}$/);
    assert.match(k.bls_secret_key, /^[0-9a-f]{64}$/);
    assert.equal(k.bls_pubkey, blsPublicKeyHex(fromHex(k.bls_secret_key)));
    assert.equal(k.ebid, ebidOf(fromHex(k.secret_key)));
    const both = cli(["keygen", "--print-secret", "--out", join(t.dir, "x.key")]);
    assert.equal(both.status, 1);
    assert.match(both.stderr, /--print-secret.*--out|--out.*--print-secret/);
  } finally {
    t.cleanup();
  }
});

test("bad flags, a bad chain spec and a bad key file exit 1 with a message naming the problem", async () => {
  const t = tempDir();
  try {
    const cases: [string[], RegExp][] = [
      [["start", "--p2p-port", "70000"], /port number/],
      [["start", "--api-port", "abc"], /port number/],
      [["start", "--peers", "http://x:1"], /not a ws:\/\/host:port/],
      [["start", "--log-level", "loud"], /expected one of/],
      [["testnet", "init", "--nodes", "0", "--dir", t.dir], /whole number/],
      [["nonsense"], /unknown command/],
      [["start", "--mining-workers", "0"], /whole number from 1/],
      [["testnet", "init", "--nodes", "1", "--dir", t.dir, "--consensus", "pos"], /Allowed choices are proof-of-sync, pow/],
      [["mine", "--node", "ftp://x", "--key", "k"], /not an http\(s\):\/\/host:port/],
      [["mine", "--node", "http://127.0.0.1:1", "--key", join(t.dir, "missing.key")], /missing\.key/],
      [["drill", "miner-race", "--difficulty", "9"], /whole number from 1 to 8/],
      [["start", "--p2p-dial-from", "node.example.org"], /expected an IPv4 or IPv6 address/],
      [["drill", "network", "--nodes", "65"], /whole number from 3 to 64/],
      [["drill", "network", "--isolation", "docker"], /Allowed choices are auto, netns, loopback/],
    ];
    const results = await runClis(cases.map(([args]) => args));
    cases.forEach(([args, msg], i) => {
      assert.equal(results[i]!.status, 1, args.join(" "));
      assert.match(results[i]!.stderr, msg, args.join(" "));
    });
    const spec = join(t.dir, "bad.json");
    writeFileSync(spec, JSON.stringify({ chain_id: "x", genesis_timestamp: 1, consensus: "proof-of-sync", validators: [{ ebid: "nothex", bls_pubkey: "00", bond: "1" }] }));
    const r = runCli(["start", "--data-dir", join(t.dir, "d"), "--chain", spec, "--p2p-port", "0", "--api-port", "0"]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /invalid chain spec: validators\.0\.ebid/);
    const good = join(t.dir, "good.json");
    writeFileSync(good, JSON.stringify({ chain_id: "x", genesis_timestamp: 1, consensus: "proof-of-sync" }));
    mkdirSync(join(t.dir, "d2"));
    writeFileSync(join(t.dir, "d2", "node.key"), JSON.stringify({ ebid: "ab".repeat(32), secret_key: "01".repeat(32) }));
    const k = runCli(["start", "--data-dir", join(t.dir, "d2"), "--chain", good, "--p2p-port", "0", "--api-port", "0"]);
    assert.equal(k.status, 1);
    assert.match(k.stderr, /ebid does not match secret_key/);
    // A node config file with a bad field stops the start with the field named.
    const config = join(t.dir, "node.json");
    writeFileSync(config, JSON.stringify({ mining_delay_ms: "slow" }));
    const c = runCli(["start", "--data-dir", join(t.dir, "d3"), "--chain", good, "--p2p-port", "0", "--api-port", "0", "--config", config]);
    assert.equal(c.status, 1);
    assert.match(c.stderr, /config .*node\.json: mining_delay_ms: /);
    writeFileSync(config, JSON.stringify({ admin_token: "short" }));
    const c2 = runCli(["start", "--data-dir", join(t.dir, "d3"), "--chain", good, "--p2p-port", "0", "--api-port", "0", "--config", config]);
    assert.equal(c2.status, 1);
    assert.match(c2.stderr, /admin_token/);
  } finally {
    t.cleanup();
  }
});

test("a corrupt slashing protection record stops the start with one line naming it; db reset-protection moves it aside and the next start writes a new one", () => {
  const t = tempDir();
  try {
    const good = join(t.dir, "good.json");
    writeFileSync(good, JSON.stringify({ chain_id: "x", genesis_timestamp: 1, consensus: "proof-of-sync" }));
    const dir = join(t.dir, "d");
    mkdirSync(dir);
    const record = join(dir, "slashing-protection.json");
    writeFileSync(record, '{"ebid": "ab');
    const r = runCli(["start", "--data-dir", dir, "--chain", good, "--p2p-port", "0", "--api-port", "0"]);
    assert.equal(r.status, 1);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /slashing protection record .*slashing-protection\.json is unreadable: .*db reset-protection/);
    assert.equal(readFileSync(record, "utf8"), '{"ebid": "ab', "left as it was");
    const reset = runCli(["db", "reset-protection", "--data-dir", dir]);
    assert.equal(reset.status, 0, reset.stderr);
    assert.match(reset.stdout, /moved slashing-protection\.json to .*slashing-protection\.json\.reset-\d+/);
    assert.equal(readdirSync(dir).filter((f) => f.startsWith("slashing-protection.json.reset-")).length, 1);
    assert.match(runCli(["db", "reset-protection", "--data-dir", dir]).stdout, /nothing to reset/);
  } finally {
    t.cleanup();
  }
});
