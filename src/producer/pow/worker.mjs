// Entry of a mining worker thread: Node 20 runs no TypeScript in workers by itself, so this loads
// worker.ts through tsx (the same way bin/vision-node runs the CLI).
import { tsImport } from "tsx/esm/api";

await tsImport("./worker.ts", import.meta.url);
