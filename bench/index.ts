/**
 * `npm run bench [-- --blocks N] [-- --only import|interval]`: prints figures and ratios against
 * baselines measured in the same run.
 */
import { parseArgs } from "node:util";
import { benchBlockImport } from "./blockImport.ts";
import { benchBlockInterval } from "./blockInterval.ts";

const { values } = parseArgs({ options: { blocks: { type: "string", default: "100" }, only: { type: "string" } } });
const blocks = Number(values.blocks);
if (!Number.isInteger(blocks) || blocks < 5) throw new Error("--blocks must be an integer >= 5");
console.log(`vision-node bench (${new Date().toISOString()}, node ${process.version})`);
if (!values.only || values.only === "import") await benchBlockImport();
if (!values.only || values.only === "interval") await benchBlockInterval(blocks);
