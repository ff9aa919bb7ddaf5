/**
 * `npm run bench [-- --blocks N] [-- --rounds N] [-- --only import|interval|failover|sync|sync-full|partition|tx|pow|api|fuzz|memory|state|junk|bond|bls|registry|fair-share|protection|slashing|finality|finality-lag|finality-resume|checkpoint|memstore|gossip|sim-network|sim-driver|sim-gossip|sim]` `[-- --checkpoint-blocks N]` `[-- --memstore-blocks N]` `[-- --gossip-nodes N]` `[-- --sim-network-rounds N]` `[-- --sim-driver-nodes N,N,... --sim-driver-heights H --sim-driver-validators V]` `[-- --sim-gossip-nodes N --sim-gossip-max-peers M]` `[-- --sim-nodes N --sim-heights H --sim-max-peers P --sim-runs honest,crash,withhold,silent]` `[-- --state-accounts N]` `[-- --fair-heights N]` `[-- --registry-validators N]` `[-- --memory-idle-minutes N --memory-soak-minutes N --memory-base DIR --api-base DIR]`: prints figures and ratios against
 * baselines measured in the same run.
 */
import { parseArgs } from "node:util";
import { benchBlockImport } from "./blockImport.ts";
import { benchBlockInterval } from "./blockInterval.ts";
import { benchFailover } from "./failover.ts";
import { benchFullBlockSync, benchSync } from "./sync.ts";
import { benchPartition } from "./partition.ts";
import { benchTx } from "./tx.ts";
import { benchPow } from "./pow.ts";
import { benchApi } from "./api.ts";
import { benchFuzz } from "./fuzz.ts";
import { benchMemory } from "./memory.ts";
import { benchState } from "./state.ts";
import { benchBond } from "./bond.ts";
import { benchJunk } from "./junk.ts";
import { benchBls } from "./bls.ts";
import { benchFairShare } from "./fairShare.ts";
import { benchProtection } from "./protection.ts";
import { benchFinalitySize } from "./finalitySize.ts";
import { benchSlashing, benchSlashingImport } from "./slashing.ts";
import { benchRegistry } from "./registry.ts";
import { benchFinality, benchForkChoice } from "./finality.ts";
import { benchCheckpointSync } from "./checkpointSync.ts";
import { benchFinalityResume } from "./finalityResume.ts";
import { benchFinalityLag } from "./finalityLag.ts";
import { benchMemoryStore } from "./memoryStore.ts";
import { benchGossip } from "./gossip.ts";
import { benchSimNetwork } from "./simNetwork.ts";
import { benchSimDriver } from "./simDriver.ts";
import { benchSimGossip } from "./simGossip.ts";
import { benchSim } from "./sim.ts";

const { values } = parseArgs({ options: { blocks: { type: "string", default: "100" }, rounds: { type: "string", default: "20" }, "sync-blocks": { type: "string", default: "10000" }, "fuzz-cases": { type: "string", default: "100000" }, "memory-idle-minutes": { type: "string", default: "2" }, "memory-soak-minutes": { type: "string", default: "3" }, "memory-base": { type: "string" }, "state-accounts": { type: "string", default: "1000000" }, "api-base": { type: "string" }, "fair-heights": { type: "string", default: "5000" }, "registry-validators": { type: "string", default: "10000" }, "checkpoint-blocks": { type: "string", default: "5000" }, "lag-seconds": { type: "string", default: "210" }, "memstore-blocks": { type: "string", default: "500" }, "gossip-nodes": { type: "string", default: "1000" }, "sim-network-rounds": { type: "string", default: "50" }, "sim-driver-nodes": { type: "string", default: "50,200" }, "sim-driver-heights": { type: "string", default: "20" }, "sim-driver-validators": { type: "string" }, "sim-gossip-nodes": { type: "string", default: "50" }, "sim-gossip-max-peers": { type: "string", default: "8" }, "sim-nodes": { type: "string" }, "sim-heights": { type: "string" }, "sim-max-peers": { type: "string" }, "sim-runs": { type: "string" }, only: { type: "string" } } });

const blocks = Number(values.blocks);
if (!Number.isInteger(blocks) || blocks < 5) throw new Error("--blocks must be an integer >= 5");
console.log(`vision-node bench (${new Date().toISOString()}, node ${process.version})`);
if (!values.only || values.only === "import") await benchBlockImport();
if (!values.only || values.only === "interval") await benchBlockInterval(blocks);
if (!values.only || values.only === "failover") await benchFailover(Number(values.rounds));
if (!values.only || values.only === "sync") await benchSync(Number(values["sync-blocks"]));
if (!values.only || values.only === "sync" || values.only === "sync-full") await benchFullBlockSync();
if (!values.only || values.only === "partition") await benchPartition();
if (!values.only || values.only === "tx") await benchTx();
if (!values.only || values.only === "pow") await benchPow();
if (!values.only || values.only === "api") await benchApi({ base: values["api-base"] });
if (!values.only || values.only === "fuzz") await benchFuzz(Number(values["fuzz-cases"]));
if (!values.only || values.only === "memory") await benchMemory({ idleMinutes: Number(values["memory-idle-minutes"]), soakMinutes: Number(values["memory-soak-minutes"]), base: values["memory-base"] });
if (!values.only || values.only === "state") await benchState(Number(values["state-accounts"]));
if (!values.only || values.only === "junk") await benchJunk();
if (!values.only || values.only === "bond") await benchBond(Number(values.rounds) > 0 ? Math.min(Number(values.rounds), 15) : 10);
if (!values.only || values.only === "bls") await benchBls();
if (!values.only || values.only === "registry") await benchRegistry(Number(values["registry-validators"]));
if (!values.only || values.only === "fair-share") await benchFairShare(Number(values["fair-heights"]));
if (!values.only || values.only === "protection") await benchProtection();
if (!values.only || values.only === "slashing") {
  await benchSlashing();
  await benchSlashingImport();
}
if (!values.only || values.only === "finality") {
  await benchFinality();
  await benchFinalitySize();
  await benchForkChoice();
}
if (!values.only || values.only === "finality-lag") await benchFinalityLag(Number(values["lag-seconds"]));
if (!values.only || values.only === "finality-resume") await benchFinalityResume(Number(values.rounds) > 0 ? Math.min(Number(values.rounds), 10) : 5);
if (!values.only || values.only === "checkpoint") await benchCheckpointSync(Number(values["checkpoint-blocks"]));
if (!values.only || values.only === "memstore") await benchMemoryStore(Number(values["memstore-blocks"]));
if (!values.only || values.only === "gossip") await benchGossip(Number(values["gossip-nodes"]));
if (!values.only || values.only === "sim-network") await benchSimNetwork(Number(values["sim-network-rounds"]));
if (!values.only || values.only === "sim-driver") await benchSimDriver(values["sim-driver-nodes"].split(",").map(Number), Number(values["sim-driver-heights"]), values["sim-driver-validators"] === undefined ? undefined : Number(values["sim-driver-validators"]));
if (!values.only || values.only === "sim-gossip") await benchSimGossip(Number(values["sim-gossip-nodes"]), Number(values["sim-gossip-max-peers"]));
if (!values.only || values.only === "sim") {
  const maxPeers = values["sim-max-peers"] ?? process.env.SIM_MAX_PEERS ?? "8";
  await benchSim({
    nodes: Number(values["sim-nodes"] ?? process.env.SIM_NODES ?? 1000),
    heights: Number(values["sim-heights"] ?? process.env.SIM_HEIGHTS ?? 20),
    maxPeers: maxPeers === "default" ? undefined : Number(maxPeers),
    runs: (values["sim-runs"] ?? "honest,crash,withhold").split(","),
  });
}
