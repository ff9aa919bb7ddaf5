/** Errors of the node's configuration. */

/**
 * A configuration value or file that cannot be used. The message names the source and the key
 * (`config node.yaml: api_port: expected a port number 0..65535`, `env VISION_API_PORT: ...`) and is
 * printed as is by the CLI before it exits 1.
 */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}
