// The Node.js versions vision-node runs on, checked by bin/vision-node before anything else loads.
// The floor is what the runtime dependencies declare in their `engines`: @noble/hashes needs
// >= 20.19.0 and lru-cache 20 || >= 22 (21 is not supported). RANGE equals package.json `engines.node`.
// Plain ES5 CommonJS, so that any Node.js can parse it and print the one-line refusal.
"use strict";

/** The supported range, as in package.json `engines.node`. */
var RANGE = "^20.19.0 || >=22";

/** True when `version` ("20.19.0" or "v20.19.0") is in RANGE. */
function supported(version) {
  var m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(String(version));
  if (!m) return false;
  var major = Number(m[1]);
  var minor = Number(m[2]);
  return (major === 20 && minor >= 19) || major >= 22;
}

/** The one line printed on an unsupported Node.js. */
function refusal(version) {
  return "vision-node: Node.js v" + String(version).replace(/^v/, "") + " is not supported; use Node.js " + RANGE + " (20.19 or later, 22, 24)";
}

module.exports = { RANGE: RANGE, supported: supported, refusal: refusal };
