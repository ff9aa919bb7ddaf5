// The start option table, its value parsers, the config file reader and the reload of a running
// node's settings: pure functions and temp files, no processes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { readFileSync, writeFileSync } from "node:fs";
import { Command, Option } from "commander";
import { envNameOf, fileKeyOf, OPTION_NAMES, optionOfEnvName, optionOfFileKey, START_OPTIONS, withoutNodeEnv } from "../../../src/node/options/table.ts";
import { bool, corsOrigins, host, intIn, list, OptionValueError, port, token, wsUrl } from "../../../src/node/options/values.ts";
import { parseConfigText, readConfigFile } from "../../../src/node/options/file.ts";
import { ConfigError } from "../../../src/node/options/errors.ts";
import { HIDDEN, NodeSettings } from "../../../src/node/config.ts";
import { tempDir } from "../../helpers/fixtures.ts";

test("every row's flag names its option, and env and file names derive from it", () => {
  for (const name of OPTION_NAMES) {
    const def = START_OPTIONS[name];
    if (def.flag === null) {
      assert.equal(envNameOf(name), null, name);
      continue;
    }
    assert.equal(new Option(def.flag).attributeName(), name, `${def.flag} sets ${name}`);
    assert.equal(optionOfEnvName(envNameOf(name)!), name);
    if (!def.notInFile) assert.equal(optionOfFileKey(fileKeyOf(name)), name);
  }
  assert.equal(envNameOf("apiPort"), "VISION_API_PORT");
  assert.equal(envNameOf("produce"), "VISION_PRODUCE");
  assert.equal(envNameOf("p2pMaxInboundPerAddress"), "VISION_P2P_MAX_INBOUND_PER_ADDRESS");
  assert.equal(fileKeyOf("dataDir"), "data_dir");
  assert.equal(fileKeyOf("miningDelayMs"), "mining_delay_ms");
  assert.equal(optionOfFileKey("config"), undefined, "the config file cannot name another config file");
  assert.equal(envNameOf("config"), "VISION_CONFIG");
  // Nodes the testnet and drills spawn get none of the operator's VISION_* variables.
  assert.deepEqual(withoutNodeEnv({ PATH: "/bin", VISION_CONFIG: "/etc/n.yaml", VISION_KEY_FILE: "k", VISIONARY: "1" }), { PATH: "/bin", VISIONARY: "1" });
  // Defaults pass their own parser (a default that fails its check would be a trap).
  for (const name of OPTION_NAMES) {
    const d = START_OPTIONS[name].default;
    if (d !== undefined) assert.deepEqual(START_OPTIONS[name].parse(Array.isArray(d) ? d.join(",") : String(d)), d, name);
  }
});

test("value parsers accept what they document and refuse the rest with what they expected", () => {
  const ok: [(v: string) => unknown, string, unknown][] = [
    [port, "0", 0],
    [port, "65535", 65535],
    [intIn(-5, 5), "-5", -5],
    [bool, "false", false],
    [bool, "1", true],
    [host, "::1", "::1"],
    [host, "node-1.example.org", "node-1.example.org"],
    [wsUrl, "wss://a.example:443", "wss://a.example:443"],
    [list(wsUrl), "ws://a:1, ws://b:2,", ["ws://a:1", "ws://b:2"]],
    [list(wsUrl), "", []],
    [corsOrigins, "*", ["*"]],
    [corsOrigins, "https://a.example,http://localhost:3000", ["https://a.example", "http://localhost:3000"]],
    [token, "x".repeat(16), "x".repeat(16)],
  ];
  for (const [parse, v, want] of ok) assert.deepEqual(parse(v), want, v);
  const bad: [(v: string) => unknown, string, RegExp][] = [
    [port, "65536", /port number 0\.\.65535/],
    [port, "8080.5", /port number/],
    [intIn(1, 256), "0", /whole number from 1 to 256/],
    [bool, "no", /true or false/],
    [host, "a b", /host name/],
    [wsUrl, "http://a:1", /not a ws:\/\/host:port/],
    [wsUrl, "ws://a", /not a ws:\/\/host:port/],
    [wsUrl, `ws://${"a".repeat(250)}:1`, /not a ws/],
    [corsOrigins, "*,https://a.example", /not an origin/],
    [corsOrigins, "https://a.example/path", /not an origin/],
    [token, "short", /16 to 256/],
  ];
  for (const [parse, v, msg] of bad) assert.throws(() => parse(v), (e: Error) => e instanceof OptionValueError && msg.test(e.message), v);
});

test("config files: YAML, JSON and TOML give the same values; wrong values and unknown keys name the file and key", () => {
  const want = { apiPort: 9000, peers: ["ws://a:1", "ws://b:2"], produce: false, miningDelayMs: 5, adminToken: "t".repeat(20) };
  const yaml = "api_port: 9000\npeers: [ws://a:1, ws://b:2]\nproduce: false\nmining_delay_ms: 5\nadmin_token: tttttttttttttttttttt\n";
  const json = JSON.stringify({ api_port: 9000, peers: "ws://a:1,ws://b:2", produce: false, mining_delay_ms: 5, admin_token: "t".repeat(20) });
  const toml = 'api_port = 9000\npeers = ["ws://a:1", "ws://b:2"]\nproduce = false\nmining_delay_ms = 5\nadmin_token = "tttttttttttttttttttt"\n';
  assert.deepEqual(parseConfigText(yaml, "n.yaml"), want);
  assert.deepEqual(parseConfigText(json, "n.json"), want);
  assert.deepEqual(parseConfigText(toml, "n.toml"), want);
  assert.deepEqual(parseConfigText("# nothing set\n", "n.yaml"), {});
  const bad: [string, string, RegExp][] = [
    ["api_prot: 1\n", "node.yaml", /^config node\.yaml: api_prot: unknown key \(did you mean api_port\?\)$/],
    ["wibble = 1\n", "node.toml", /^config node\.toml: wibble: unknown key$/],
    ["config: other.yaml\n", "node.yaml", /config: unknown key/],
    ["api_port: 70000\n", "node.yaml", /^config node\.yaml: api_port: expected a port number 0\.\.65535$/],
    ["api_port = 70000\n", "node.toml", /^config node\.toml: api_port: expected a port number/],
    ["produce: no\n", "node.yaml", /^config node\.yaml: produce: expected true or false$/],
    ["peers: [ws://a:1, 5]\n", "node.yaml", /peers: expected a list of strings/],
    ["api_port: [1]\n", "node.yaml", /api_port: expected a single value/],
    ["chain:\n", "node.yaml", /chain: expected a value/],
    ["- api_port\n", "node.yaml", /expected a mapping/],
    ["api_port: 1\napi_port: 2\n", "node.yaml", /^config node\.yaml: Map keys must be unique at line 2, column 1$/],
    ["api_port = \n", "node.toml", /^config node\.toml: .* at line 1, column \d+$/],
  ];
  for (const [text, path, msg] of bad) {
    assert.throws(() => parseConfigText(text, path), (e: Error) => e instanceof ConfigError && msg.test(e.message) && !e.message.includes("\n"), text);
  }
  assert.throws(() => readConfigFile("/nonexistent/node.yaml"), /config \/nonexistent\/node\.yaml: cannot read: ENOENT/);
});

test("a reload applies the live mining keys and reports the others as applying at restart, secrets hidden", () => {
  const t = tempDir();
  try {
    const file = join(t.dir, "node.yaml");
    writeFileSync(file, "mining_delay_ms: 0\napi_port: 9000\nadmin_token: aaaaaaaaaaaaaaaaaaaa\n");
    const s = new NodeSettings(file, join(t.dir, "admin.token"));
    assert.equal(s.adminToken, "a".repeat(20));
    writeFileSync(file, "mining_delay_ms: 25\nmining_difficulty: 4\napi_port: 9001\nadmin_token: bbbbbbbbbbbbbbbbbbbb\npeers: [ws://a:1]\n");
    assert.deepEqual(s.refresh(), {
      mining_delay_ms: { old: 0, new: 25 },
      mining_difficulty: { old: null, new: 4 },
      api_port: { old: 9000, new: 9001, applies_at: "restart" },
      admin_token: { old: HIDDEN, new: HIDDEN, applies_at: "restart" },
      peers: { old: null, new: ["ws://a:1"], applies_at: "restart" },
    });
    assert.equal(s.delayMs, 25);
    assert.equal(s.configDifficulty, 4);
    assert.ok(s.checkToken("a".repeat(20)), "the admin token keeps its start-up value");
    assert.deepEqual(s.refresh(), {}, "nothing changed since");
    writeFileSync(file, "mining_delay_ms: 7\napi_port: oops\n");
    assert.throws(() => s.refresh(), /api_port: expected a port number/, "a restart key is validated too");
    assert.equal(s.delayMs, 25, "a refused file changes nothing");
    // Without admin_token the token is a random one written for the operator (mode 0600).
    const cookie = new NodeSettings(undefined, join(t.dir, "cookie"));
    assert.equal(readFileSync(join(t.dir, "cookie"), "utf8").trim(), cookie.adminToken);
    assert.throws(() => cookie.refresh(), /started without --config/);
  } finally {
    t.cleanup();
  }
});

test("the table's flags parse with commander as the CLI builds them (negatable booleans default true)", () => {
  const cmd = new Command().exitOverride();
  cmd.addOption(new Option(START_OPTIONS.produce.flag!));
  cmd.parse(["--no-produce"], { from: "user" });
  assert.equal(cmd.getOptionValue("produce"), false);
  assert.equal(cmd.getOptionValueSource("produce"), "cli");
});
