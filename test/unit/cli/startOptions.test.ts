// Precedence of start options: flags > env > config file > defaults, with the source of each value,
// resolved in-process from a parsed `start` command (the CLI itself is exercised in e2e/config).
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { writeFileSync } from "node:fs";
import { Command } from "commander";
import { addStartOptions, p2pOptionsOf, resolveStartOptions } from "../../../src/cli/startOptions.ts";
import { assertP2POptions, defaultP2POptions, resolveP2POptions } from "../../../src/p2p/options.ts";
import { tempDir } from "../../helpers/fixtures.ts";

function resolve(argv: string[], env: Record<string, string> = {}) {
  const cmd = addStartOptions(new Command("start")).exitOverride().configureOutput({ writeErr: () => undefined });
  cmd.parse(argv, { from: "user" });
  return resolveStartOptions(cmd, env);
}

const KEYS = ["apiPort", "produce", "peers", "logLevel", "p2pBanMs"] as const;
const pick = (r: ReturnType<typeof resolve>) => Object.fromEntries(KEYS.map((k) => [k, [r.values[k], r.sources[k]]]));

test("flag beats env beats file beats default, for a number, a boolean, a list and a choice", () => {
  const t = tempDir();
  try {
    const file = join(t.dir, "node.yaml");
    writeFileSync(file, "api_port: 9001\nproduce: false\npeers: [ws://file:1]\nlog_level: warn\np2p_ban_ms: 1000\n");
    assert.deepEqual(pick(resolve([])), {
      apiPort: [8080, "default"], produce: [true, "default"], peers: [[], "default"], logLevel: ["info", "default"], p2pBanMs: [300_000, "default"],
    });
    assert.deepEqual(pick(resolve(["--config", file])), {
      apiPort: [9001, "file"], produce: [false, "file"], peers: [["ws://file:1"], "file"], logLevel: ["warn", "file"], p2pBanMs: [1000, "file"],
    });
    const env = { VISION_API_PORT: "9002", VISION_PRODUCE: "true", VISION_PEERS: "ws://env:1,ws://env:2", VISION_LOG_LEVEL: "error" };
    assert.deepEqual(pick(resolve(["--config", file], env)), {
      apiPort: [9002, "env"], produce: [true, "env"], peers: [["ws://env:1", "ws://env:2"], "env"], logLevel: ["error", "env"], p2pBanMs: [1000, "file"],
    });
    const r = resolve(["--config", file, "--api-port", "9003", "--no-produce", "--peers", "ws://flag:1", "--log-level", "debug"], env);
    assert.deepEqual(pick(r), {
      apiPort: [9003, "flag"], produce: [false, "flag"], peers: [["ws://flag:1"], "flag"], logLevel: ["debug", "flag"], p2pBanMs: [1000, "file"],
    });
    assert.equal(r.configFile, file);
    // On/off options take --x as well as --no-x, so a flag can undo a file's or a variable's "off".
    const on = resolve(["--config", file, "--produce", "--discovery"], { VISION_DISCOVERY: "false" });
    assert.deepEqual([on.values.produce, on.sources.produce, on.values.discovery, on.sources.discovery], [true, "flag", true, "flag"]);
    assert.equal(r.sources.config, "flag");
    // The config file itself may come from the environment; a --config flag beats it.
    assert.equal(resolve([], { VISION_CONFIG: file }).values.apiPort, 9001);
    const other = join(t.dir, "other.toml");
    writeFileSync(other, "api_port = 9004\n");
    assert.equal(resolve(["--config", other], { VISION_CONFIG: file }).values.apiPort, 9004);
  } finally {
    t.cleanup();
  }
});

test("a bad value names its source and key, whatever the source; unknown variables are refused by name", () => {
  const t = tempDir();
  try {
    const file = join(t.dir, "node.yaml");
    writeFileSync(file, "api_port: 70000\n");
    const cases: [string[], Record<string, string>, RegExp][] = [
      [[], { VISION_API_PORT: "http" }, /^env VISION_API_PORT: expected a port number 0\.\.65535$/],
      [[], { VISION_PRODUCE: "off" }, /^env VISION_PRODUCE: expected true or false$/],
      [[], { VISION_PEERS: "ws://a:1,http://b:2" }, /^env VISION_PEERS: "http:\/\/b:2" is not a ws:\/\/host:port address/],
      [["--config", file], {}, /^config .*node\.yaml: api_port: expected a port number 0\.\.65535$/],
      [[], { VISION_CONFIG: file }, /^config .*node\.yaml: api_port: /],
      // A bad variable is refused even when a flag sets the same option: it must not lie in wait.
      [["--api-port", "1"], { VISION_API_PORT: "x" }, /^env VISION_API_PORT: /],
      [[], { VISION_API_PROT: "1" }, /^env VISION_API_PROT: unknown variable \(did you mean VISION_API_PORT\?\)/],
      [[], { VISION_NONSENSE_THING: "1" }, /^env VISION_NONSENSE_THING: unknown variable;/],
      [[], { VISION_ADMIN_TOKEN: "x".repeat(20) }, /^env VISION_ADMIN_TOKEN: admin_token is read from the --config file only$/],
      [[], { VISION_CONFIG: join(t.dir, "missing.yaml") }, /^config .*missing\.yaml: cannot read: ENOENT$/],
    ];
    for (const [argv, env, msg] of cases) assert.throws(() => resolve(argv, env), (e: Error) => e.name === "ConfigError" && msg.test(e.message), JSON.stringify([argv, env]));
    // Other variables are none of the node's business.
    assert.equal(resolve([], { VISIONARY: "1", PATH: "/bin", vision_api_port: "1" }).values.apiPort, 8080);
    // A bad flag is commander's error, with the same expectation.
    assert.throws(() => resolve(["--api-port", "70000"]), /expected a port number 0\.\.65535/);
  } finally {
    t.cleanup();
  }
});

test("every P2P start option reaches the node's P2P options: the served-byte budget by flag, file or default", () => {
  const t = tempDir();
  try {
    const file = join(t.dir, "node.yaml");
    writeFileSync(file, "p2p_served_bytes_burst: 4194304\n");
    const fromDefaults = p2pOptionsOf(resolve([]).values);
    assert.equal(fromDefaults.servedBytesPerSec, defaultP2POptions.servedBytesPerSec);
    assert.equal(fromDefaults.servedBytesBurst, defaultP2POptions.servedBytesBurst);
    const set = p2pOptionsOf(resolve(["--config", file, "--p2p-served-bytes-per-sec", "65536", "--p2p-max-peers", "9", "--p2p-advertise", "ws://node.example.org:7072"]).values);
    assert.deepEqual([set.servedBytesPerSec, set.servedBytesBurst, set.maxPeers, set.advertiseUrl], [65_536, 4_194_304, 9, "ws://node.example.org:7072"]);
    assertP2POptions(resolveP2POptions(set, []));
    assert.throws(() => resolve(["--p2p-served-bytes-burst", "1000"]), /1024/);
  } finally {
    t.cleanup();
  }
});
