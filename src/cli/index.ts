/**
 * `vision-node` command line: start, testnet init, testnet, sim, keygen. Errors print one line and exit 1.
 */
import { Command, Option } from "commander";
import { collectParam, intIn, parseAddress, parseAmount, parseHttpUrl, parseLogLevel, parsePort } from "./parse.ts";
import { addStartOptions, resolveStartOptions } from "./startOptions.ts";
import { versionLine } from "../version.ts";
import { parseDowntimeFlag, parseFraction, parsePartitionFlag, parsePrivateBranch } from "./simFlags.ts";

const program = new Command("vision-node")
  .description("Vision testnet node: Proof-of-Sync block production with a PoW fallback")
  .version(versionLine(), "-V, --version", "print the version, the git commit and the Node.js version")
  .showHelpAfterError()
  .enablePositionalOptions();

addStartOptions(program.command("start").description("run a node")).action(async (_o, cmd: Command) => (await import("./start.ts")).runStart(resolveStartOptions(cmd)));

const config = program.command("config").description("the node's configuration");
addStartOptions(config.command("dump").description("print the effective start configuration (same options as start) as YAML, with each value's source; secrets hidden"))
  .action(async (_o, cmd: Command) => {
    process.stdout.write((await import("./configDump.ts")).renderConfigDump(resolveStartOptions(cmd)));
  });

const testnet = program
  .command("testnet")
  .description("run a local N-node testnet (initialises DIR first if needed); Ctrl-C stops it")
  .option("--nodes <n>", "number of nodes", intIn(1, 64), 3)
  .option("--dir <dir>", "testnet directory", "./testnet-data")
  .option("--block-time-ms <ms>", "block time for a new testnet", intIn(100, 600_000))
  .option("--base-p2p-port <port>", "P2P port of node 1 (then +1 each)", parsePort, 7072)
  .option("--base-api-port <port>", "API port of node 1 (then +1 each)", parsePort, 8080)
  .addOption(new Option("--consensus <c>", "consensus of a new testnet").choices(["proof-of-sync", "pow"]).default("proof-of-sync"))
  .option("--empty-pool", "a new Proof-of-Sync testnet has no genesis validators (bootstraps on PoW fallback blocks until nodes bond)", false)
  .option("--param <name=value>", "a chain spec param of a new testnet (repeatable)", collectParam)
  .option("--mining-workers <n>", "PoW worker threads per node", intIn(1, 256), 1)
  .addOption(new Option("--log-level <level>", "node log level").argParser(parseLogLevel).default("info"))
  .enablePositionalOptions()
  .action(async (o) => (await import("./testnet.ts")).runTestnet(o));

testnet
  .command("init")
  .description("write DIR/chain.json, DIR/node-<i>/node.key and DIR/faucet.key")
  .requiredOption("--nodes <n>", "number of nodes", intIn(1, 64))
  .requiredOption("--dir <dir>", "testnet directory")
  .option("--block-time-ms <ms>", "block_time_ms of the chain", intIn(100, 600_000))
  .option("--base-p2p-port <port>", "P2P port of node 1 (then +1 each)", parsePort, 7072)
  .option("--base-api-port <port>", "API port of node 1 (then +1 each)", parsePort, 8080)
  .option("--chain-id <id>", "chain_id", "vision-testnet-local")
  .option("--param <name=value>", "a chain spec param (repeatable), e.g. --param jitter_max_ms=100", collectParam)
  .addOption(new Option("--consensus <c>", "chain consensus (docs/protocol.md §8 for pow)").choices(["proof-of-sync", "pow"]).default("proof-of-sync"))
  .option("--empty-pool", "no genesis validators: the chain bootstraps on PoW fallback blocks until nodes bond", false)
  .action(async (o) => (await import("./testnet.ts")).runTestnetInit(o));

const drill = program.command("drill").description("run an operator drill on a local testnet of its own");

/** A drill subcommand with the options every drill takes. */
function drillCommand(name: string, description: string, minNodes: number, maxNodes = 16, defaultNodes = 3): Command {
  return drill
    .command(name)
    .description(description)
    .option("--nodes <n>", "number of nodes", intIn(minNodes, maxNodes), defaultNodes)
    .option("--block-time-ms <ms>", "block_time_ms of the drill's chain", intIn(100, 600_000), 2000)
    .option("--param <name=value>", "a chain spec param of the drill's chain (repeatable)", collectParam)
    .option("--dir <dir>", "testnet directory (default: a temp dir, removed afterwards)")
    .option("--keep", "keep the temp dir", false)
    .option("--json", "print the report as JSON", false)
    .addOption(new Option("--log-level <level>", "node log level").argParser(parseLogLevel).default("info"));
}

drillCommand("failover", "SIGKILL the primary of the next height each round; check that the first live backup takes over", 2)
  .option("--rounds <n>", "rounds", intIn(1, 1000), 5)
  .action(async (o) => (await import("../drill/failover.ts")).runDrillFailover(o));

drillCommand("partition", "cut one node's links for --seconds each round (user-space proxies); check it drops out, then catches up and is eligible again", 3)
  .option("--rounds <n>", "rounds", intIn(1, 1000), 1)
  .option("--seconds <s>", "how long a node stays cut off", intIn(1, 3600), 20)
  .addOption(new Option("--mode <m>", "blackhole: links go silent, sockets stay open; cut: links close").choices(["blackhole", "cut"]).default("blackhole"))
  .action(async (o) => (await import("../drill/partition.ts")).runDrillPartition(o));

drillCommand("late-join", "start the last node after the others built --blocks blocks; measure its sync and rejoin", 3)
  .option("--blocks <n>", "blocks before the last node starts", intIn(1, 1_000_000), 300)
  .action(async (o) => (await import("../drill/lateJoin.ts")).runDrillLateJoin(o));

drillCommand("miner-race", "two PoW miners from one genesis with mining_delay_ms set (the miner race report): races, abort latency, wasted hashes, convergence", 2)
  .option("--blocks <n>", "run until both miners hold this height", intIn(1, 100_000), 10)
  .option("--delay-ms <ms>", "mining_delay_ms of both miners (pause per 4-nonce step)", intIn(0, 60_000), 100)
  .option("--difficulty <d>", "the chain's fixed difficulty", intIn(1, 8), 1)
  .action(async (o) => (await import("../drill/minerRace.ts")).runDrillMinerRace(o));

drillCommand("crash", "SIGKILL a node at a random moment each cycle, db verify its data dir, restart it, check nothing it acknowledged was lost", 2)
  .option("--cycles <n>", "kill/restart cycles", intIn(1, 10_000), 50)
  .option("--txs <n>", "transfers submitted to the victim before each kill", intIn(0, 100), 3)
  .action(async (o) => (await import("../drill/crash.ts")).runDrillCrash(o));

drillCommand("soak", "3 nodes under transfer load for --minutes: identical hashes throughout, no failed dials, bounded memory, forks, block interval", 3)
  .option("--minutes <m>", "duration", intIn(1, 24 * 60), 10)
  .option("--tps <n>", "transfers per second offered", intIn(0, 1000), 10)
  .action(async (o) => (await import("../drill/soak.ts")).runDrillSoak(o));

drillCommand("chaos", "random kills, restarts, pauses (SIGSTOP/SIGCONT), partitions (user-space proxies) and clock offsets for --minutes; convergence after each heal", 3)
  .option("--minutes <m>", "duration", intIn(1, 24 * 60), 10)
  .option("--every <s>", "mean seconds between faults", intIn(5, 3600), 20)
  .action(async (o) => (await import("../drill/chaos.ts")).runDrillChaos(o));

drillCommand("liars", "peers claiming a height far above the tip (fresh keys, never serving a block) against the first node: eligibility, Behind, its blocks and the interval, without and with them", 3)
  .option("--liars <n>", "lying connections at once", intIn(1, 64), 4)
  .option("--ahead <n>", "how far above the tip they claim", intIn(1, 1_000_000_000), 1000)
  .option("--seconds <s>", "seconds with liars", intIn(5, 3600), 30)
  .option("--baseline-seconds <s>", "seconds watched before the liars come", intIn(5, 3600), 30)
  .action(async (o) => (await import("../drill/liars.ts")).runDrillLiars(o));

drillCommand(
  "network",
  "N real processes on their own addresses (a network namespace each when root, else 127.0.0.x), joining through two bootnodes, links delayed by user-space proxies; reports agreement, propagation, forks, finality lag, RSS and event-loop delay per node",
  3,
  64,
  32,
)
  .option("--minutes <m>", "how long the network runs once settled", intIn(1, 24 * 60), 5)
  .option("--seconds <s>", "run length in seconds instead of --minutes (short runs)", intIn(5, 24 * 3600))
  .addOption(new Option("--isolation <i>", "netns: a namespace and address per node (root); loopback: 127.0.0.x addresses; auto: netns when possible").choices(["auto", "netns", "loopback"]).default("auto"))
  .addOption(new Option("--latency <l>", "regions: link delays of the simulator's region table; none: no delay").choices(["regions", "none"]).default("regions"))
  .option("--sample-seconds <s>", "seconds between /metrics samples (RSS, event-loop delay, peers)", intIn(1, 600), 10)
  .option("--max-peers <n>", "each node's --p2p-max-peers (default: the node's, 50); below nodes - 1 the mesh is partial", intIn(2, 10_000))
  .action(async (o) => (await import("../drill/network.ts")).runDrillNetwork(o));

program
  .command("sim")
  .description("simulate N nodes in this process on a virtual clock and a latency model (deterministic: one seed, one report); prints the figures")
  .requiredOption("--nodes <n>", "simulated nodes (the first two are the bootnodes)", intIn(2, 100_000))
  .requiredOption("--heights <n>", "run until every live node holds this height", intIn(1, 1_000_000))
  .option("--seed <s>", "seed of every random choice (32-bit integer)", intIn(-2_147_483_648, 2_147_483_647), 1)
  .option("--validators <n>", "genesis validators, the first nodes (default: every node)", intIn(1, 100_000))
  .option("--crash <fraction>", "fraction of nodes that crash at random virtual times (never a bootnode)", parseFraction, 0)
  .option("--withhold <fraction>", "fraction of validators in a coalition that withholds its blocks", parseFraction, 0)
  .option("--withhold-release-ms <ms>", "the coalition releases a block no coalition child released this long after it (default: the block time)", intIn(0, 600_000))
  .option("--silent <fraction>", "fraction of validators that are bonded but never produce nor attest", parseFraction, 0)
  .option("--double-block <fraction>", "fraction of validators that sign each block they produce twice and send one to each half of their peers", parseFraction, 0)
  .option("--double-vote <fraction>", "fraction of validators that sign a conflicting FFG vote for each vote and send one to each half of their peers", parseFraction, 0)
  .option("--private-branch <fraction[:K]>", "fraction of validators in a coalition that withholds a private branch until it is K heights long (default K 4), then releases it at once", parsePrivateBranch)
  .option("--liars <fraction>", "fraction of nodes (never a bootnode) that claim a height --liar-ahead blocks above theirs in hello and status", parseFraction, 0)
  .option("--liar-ahead <blocks>", "blocks a liar claims above its head", intIn(1, 1_000_000_000), 1000)
  .option("--sybil <keys>", "unbonded keys that sign attestations for every head of the Sybil hosts (0: none)", intIn(0, 100_000), 0)
  .option("--sybil-hosts <n>", "nodes (neither a bootnode nor a validator) that gossip the Sybils' attestations", intIn(1, 100_000), 2)
  .option("--grind <fraction>", "fraction of validators in a coalition that withholds each block whose seed does not make a member the next primary", parseFraction, 0)
  .option("--restart <fraction>", "fraction of nodes that crash at random virtual times and restart on their own data (never a bootnode)", parseFraction, 0)
  .option("--restart-downtime-ms <min-max>", "how long a restarting node stays down, drawn per node (default: 2 to 5 block times)", parseDowntimeFlag)
  .option("--partition <a/b@from-to>", "cut regions a from regions b (comma-separated; b may be 'rest') from..to virtual ms after genesis, then heal, e.g. us-east,us-west/rest@6000-20000", parsePartitionFlag)
  .option("--clock-skew-ms <ms>", "offset each node's clock by a random whole ms in [-ms, +ms] (at most max_future_drift_ms)", intIn(0, 600_000), 0)
  .option("--clock-skew-beyond-drift", "allow --clock-skew-ms above the chain's max_future_drift_ms (clocks outside the protocol's bound)", false)
  .option("--block-time-ms <ms>", "block_time_ms of the simulated chain", intIn(100, 600_000), 2000)
  .option("--max-peers <n>", "P2P max peers of every node but the bootnodes (default: the node's)", intIn(1, 10_000))
  .option("--param <name=value>", "a chain spec param of the simulated chain (repeatable)", collectParam)
  .option("--json", "print the report as JSON (the summary line goes to stderr)", false)
  .option("--report <dir>", "also write DIR/report.json and DIR/report.html (plots)")
  .action(async (o) => (await import("./sim.ts")).runSim(o));

const tx = program.command("tx").description("transactions");
tx.command("send")
  .description("sign a transfer with --key and submit it (the nonce comes from the node)")
  .requiredOption("--key <file>", "key file of the sender")
  .requiredOption("--to <address>", "recipient (64 hex chars)", parseAddress)
  .requiredOption("--amount <n>", "amount in base units", parseAmount)
  .option("--fee <n>", "fee in base units", parseAmount, "1")
  .option("--api <url>", "node API", "http://127.0.0.1:8080")
  .action(async (o) => (await import("./tx.ts")).runTxSend(o));

const validator = program.command("validator").description("a validator's bond, exit and withdrawal, and the validator set (docs/protocol.md §5)");
validator
  .command("bond")
  .description("bond --amount (default: the chain's min_bond) from --key's EBID with its BLS key: it becomes a validator activation_delay_epochs after inclusion")
  .requiredOption("--key <file>", "key file of the validator (with its BLS key)")
  .option("--amount <n>", "bond in base units (default: the chain's min_bond)", parseAmount)
  .option("--fee <n>", "fee in base units", parseAmount, "1")
  .option("--api <url>", "node API", parseHttpUrl, "http://127.0.0.1:8080")
  .action(async (o) => (await import("./validator.ts")).runValidatorBond(o));
for (const [kind, what] of [["unbond", "start --key's validator exit (effective activation_delay_epochs after inclusion)"], ["withdraw", "withdraw --key's bond once unbonding_epochs have passed since its exit epoch"]] as const) {
  validator
    .command(kind)
    .description(what)
    .requiredOption("--key <file>", "key file of the validator")
    .option("--fee <n>", "fee in base units", parseAmount, "1")
    .option("--api <url>", "node API", parseHttpUrl, "http://127.0.0.1:8080")
    .action(async (o) => (await import("./validator.ts")).runValidatorExit(kind, o));
}
validator
  .command("status")
  .description("one validator's state (EBID, else --key's), or with neither every validator; then the epoch and the set's counts")
  .argument("[ebid]", "the validator's EBID (64 hex chars)", parseAddress)
  .option("--key <file>", "key file whose EBID to show")
  .option("--api <url>", "node API", parseHttpUrl, "http://127.0.0.1:8080")
  .action(async (ebid: string | undefined, o) => (await import("./validator.ts")).runValidatorStatus({ ...o, ebid }));

program
  .command("account <address>")
  .description("balance, nonce, rewards earned and blocks produced of an address")
  .option("--api <url>", "node API", "http://127.0.0.1:8080")
  .action(async (address, o) => (await import("./tx.ts")).runAccount(parseAddress(address), o));

program
  .command("load")
  .description("submit --tps transfers a second for --duration seconds and report submitted, accepted and included")
  .requiredOption("--key <file>", "key file of the sender (e.g. testnet-data/faucet.key)")
  .option("--tps <n>", "transfers per second", intIn(1, 10_000), 50)
  .option("--duration <s>", "seconds", intIn(1, 3600), 10)
  .option("--to <address>", "recipient (default: the sender itself)", parseAddress)
  .option("--api <url>", "node API", "http://127.0.0.1:8080")
  .action(async (o) => {
    const r = await (await import("./tx.ts")).runLoad(o);
    process.stdout.write(
      `submitted ${r.submitted}, accepted ${r.accepted}, refused ${r.refused}, included ${r.included} in ${r.seconds.toFixed(1)} s (${r.included_per_s.toFixed(1)} included/s)` +
        (Object.keys(r.first_try_refusals).length ? `; first-try refusals ${JSON.stringify(r.first_try_refusals)}` : "") +
        "\n",
    );
    if (r.included < r.accepted) process.exitCode = 1;
  });

const db = program.command("db").description("data dir maintenance (the node must be stopped)");
db.command("verify")
  .description("re-hash every block, check parent links and the canonical index, replay the chain with full validation and compare the state")
  .requiredOption("--data-dir <dir>", "the node's data directory")
  .option("--chain <file>", "chain spec JSON (default: the shipped testnet spec)")
  .option("--json", "print the report as JSON", false)
  .action(async (o) => (await import("./db.ts")).runDbVerify(o));
db.command("reset-protection")
  .description("move the slashing protection record (slashing-protection.json) aside when it is corrupt or another key's; only if no other copy of the key signed since")
  .requiredOption("--data-dir <dir>", "the node's data directory")
  .action(async (o) => (await import("./db.ts")).runDbResetProtection(o));

program
  .command("status")
  .description("a readable table of /api/mining/status: tip, sync, eligibility, the next height's schedule, this node's validator state and the set's counts, claims")
  .option("--api <url>", "node API", parseHttpUrl, "http://127.0.0.1:8080")
  .option("--watch", "redraw every --interval ms until Ctrl-C", false)
  .option("--interval <ms>", "redraw interval with --watch", intIn(100, 60_000), 1000)
  .action(async (o) => (await import("./status.ts")).runStatus(o));

program
  .command("peers")
  .description("the node's peers: EBID, direction, height (and the backed height when lower), address, time connected, strikes")
  .option("--api <url>", "node API", parseHttpUrl, "http://127.0.0.1:8080")
  .action(async (o) => (await import("./status.ts")).runPeers(o));

program
  .command("mine")
  .description("external PoW miner: templates from --node's /mine_block, blocks to /submit_block (the chain-core mining API)")
  .requiredOption("--node <url>", "node API, e.g. http://127.0.0.1:8080", parseHttpUrl)
  .requiredOption("--key <file>", "key file: its EBID is the blocks' producer and gets the rewards")
  .option("--workers <n>", "worker threads (default: all cores)", intIn(1, 256))
  .option("--blocks <n>", "stop after this many accepted blocks", intIn(1, 1_000_000))
  .action(async (o) => {
    const abort = new AbortController();
    let signals = 0;
    const onSignal = () => (++signals > 1 ? process.exit(130) : abort.abort());
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    const r = await (await import("./mine.ts")).runMiner(o, abort.signal, (line) => process.stdout.write(line + "\n"));
    process.stdout.write(`accepted ${r.accepted}, stale ${r.stale}, refused ${r.refused}, aborted ${r.aborted}, hashes ${r.hashes}\n`);
    if (r.refused > 0) process.exitCode = 1;
  });

program
  .command("keygen")
  .description("create a node key (ed25519 identity and BLS key): writes the key file (mode 0600, never overwritten) and prints its EBID")
  .option("--out <file>", "key file to write (default: ./node.key)")
  .option("--print-secret", "print the key as JSON {ebid, secret_key, bls_secret_key, bls_pubkey} instead of writing a file (for scripts)")
  .action(async (o) => (await import("./keygen.ts")).runKeygen(o));

try {
  await program.parseAsync(process.argv);
} catch (e) {
  process.stderr.write(`vision-node: ${(e as Error).message}\n`);
  process.exit(1);
}
