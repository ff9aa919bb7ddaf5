/** Public surface of the pure consensus rules (docs/protocol.md §3-§8). No I/O, no clock. */
export * from "./encoding.ts";
export * from "./merkle.ts";
export * from "./hashing.ts";
export * from "./signatures.ts";
export * from "./selection.ts";
export * from "./randao.ts";
export * from "./validators.ts";
export * from "./eligibility.ts";
export * from "./timing.ts";
export * from "./forkChoice.ts";
export * from "./difficulty.ts";
export * from "./params.ts";
export * from "./types.ts";
export * from "./wire.ts";
