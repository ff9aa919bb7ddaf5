/** `vision-node start`: runs one node until SIGINT/SIGTERM (a second signal forces exit). */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import pino from "pino";
import pinoPretty from "pino-pretty";
import cliProgress from "cli-progress";
import { genesisBlock, loadChainSpec } from "../chain/spec.ts";
import { ConfigError } from "../node/options/errors.ts";
import { checkpointFromUrl, checkpointOf } from "./checkpointUrl.ts";
import { VisionNode } from "../node/node.ts";
import { p2pOptionsOf, type ResolvedStartOptions } from "./startOptions.ts";
import { envNameOf, fileKeyOf, OPTION_NAMES } from "../node/options/table.ts";

/** The chain spec shipped with the node. */
export const DEFAULT_CHAIN = fileURLToPath(new URL("../../chains/testnet.json", import.meta.url));

/**
 * Starts a node with the effective options (flags > env > config file > defaults) and installs
 * signal handlers; resolves once the node runs.
 * @throws ChainSpecError, ConfigError, KeyFileError, DataDirLockedError, or a bind error, which the CLI prints before exiting 1
 */
export async function runStart(resolved: ResolvedStartOptions): Promise<void> {
  const flags = resolved.values;
  const pretty = flags.logFormat === "pretty" || (flags.logFormat === "auto" && process.stdout.isTTY === true);
  const log = pretty
    ? pino(
        { level: flags.logLevel, base: { pid: process.pid } },
        pinoPretty({ colorize: process.stdout.isTTY === true, translateTime: "SYS:HH:MM:ss.l", ignore: "pid,hostname", singleLine: true, sync: true }),
      )
    : pino({ level: flags.logLevel, base: { pid: process.pid } });
  // A stray rejection is a bug to report, not a reason to stop producing; an uncaught exception
  // leaves the process in an unknown state, so it is logged and the node exits.
  process.on("unhandledRejection", (e) => log.error({ err: e instanceof Error ? e.stack : String(e) }, "Unhandled rejection"));
  process.on("uncaughtException", (e) => {
    log.fatal({ err: e.stack }, "Uncaught exception: exiting");
    process.exit(1);
  });
  const fromEnv = OPTION_NAMES.filter((n) => resolved.sources[n] === "env").map(envNameOf);
  const fromFile = OPTION_NAMES.filter((n) => resolved.sources[n] === "file").map(fileKeyOf);
  if (fromEnv.length || resolved.configFile) log.info({ config_file: resolved.configFile, from_env: fromEnv, from_file: fromFile }, "Configuration read");
  const spec = loadChainSpec(resolve(flags.chain ?? DEFAULT_CHAIN));
  if (flags.checkpoint && flags.checkpointUrl) throw new ConfigError("give --checkpoint or --checkpoint-url, not both");
  const checkpoint = flags.checkpoint ? checkpointOf(flags.checkpoint) : flags.checkpointUrl ? await checkpointFromUrl(flags.checkpointUrl, genesisBlock(spec).hash) : undefined;
  if (checkpoint) log.info({ height: checkpoint.height, hash: checkpoint.hash, from: flags.checkpointUrl ?? "--checkpoint" }, "Checkpoint to start from");
  const node = await VisionNode.init(
    {
      dataDir: resolve(flags.dataDir),
      spec,
      p2p: p2pOptionsOf(flags),
      apiHost: flags.apiHost,
      apiPort: flags.apiPort,
      apiCors: flags.apiCors,
      produce: flags.produce,
      mine: flags.mine,
      miningWorkers: flags.miningWorkers,
      clockOffsetMs: flags.clockOffsetMs,
      configFile: flags.config ? resolve(flags.config) : undefined,
      keyFile: flags.keyFile ? resolve(flags.keyFile) : undefined,
      metricsHost: flags.metricsHost,
      metricsPort: flags.metricsPort,
      sync: { strategy: flags.syncStrategy },
      checkpoint,
      doppelgangerDetection: flags.doppelgangerDetection,
    },
    log,
  );
  if (process.stderr.isTTY) showSyncProgress(node);
  let signals = 0;
  const onSignal = (sig: string) => {
    signals++;
    if (signals > 1) {
      log.warn({ signal: sig }, "Second signal: exiting now");
      process.exit(130);
    }
    log.info({ signal: sig }, "Shutting down (send again to force)");
    node.close().then(
      () => process.exit(0),
      (e) => {
        log.error({ err: (e as Error).message }, "Shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => onSignal("SIGINT"));
  process.on("SIGTERM", () => onSignal("SIGTERM"));
}

/** A progress bar on the terminal (stderr) while the node syncs: blocks imported of the gap. */
function showSyncProgress(node: VisionNode): void {
  let bar: cliProgress.SingleBar | undefined;
  const timer = setInterval(() => {
    const p = node.syncer.progress;
    if (p.syncing && p.target_height > p.start_height) {
      if (!bar) {
        bar = new cliProgress.SingleBar(
          { format: "sync [{bar}] {value}/{total} blocks | {rate} blocks/s | eta {eta_formatted}", stream: process.stderr, hideCursor: false },
          cliProgress.Presets.shades_classic,
        );
        bar.start(p.target_height - p.start_height, 0, { rate: 0 });
      }
      bar.setTotal(p.target_height - p.start_height);
      bar.update(Math.min(p.imported, p.target_height - p.start_height), { rate: Math.round(p.blocks_per_s) });
    } else if (bar) {
      bar.update(bar.getTotal());
      bar.stop();
      bar = undefined;
    }
  }, 500);
  timer.unref();
}
