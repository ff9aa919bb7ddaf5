/**
 * A token bucket: holds at most `burst` tokens, refills at `perSec` tokens per second, and each
 * taken token allows one event. Starts full. Time comes in as an argument (ms), so the bucket has no
 * clock of its own and a test can drive it exactly.
 */

/** Limits of a token bucket. */
export interface TokenBucketLimits {
  /** tokens added per second (the sustained event rate); >= 0 */
  perSec: number;
  /** capacity, the most events allowed at once; >= 1 */
  burst: number;
}

/** One token bucket (see the module comment). */
export class TokenBucket {
  private tokens: number;
  private at: number;

  /**
   * @param limits refill rate and capacity
   * @param now ms timestamp the bucket starts at (full)
   * @throws RangeError when `perSec` is negative or `burst` is below 1 (or either is not finite)
   */
  constructor(
    private readonly limits: TokenBucketLimits,
    now: number,
  ) {
    if (!(Number.isFinite(limits.perSec) && limits.perSec >= 0)) throw new RangeError(`token bucket perSec must be >= 0, got ${limits.perSec}`);
    if (!(Number.isFinite(limits.burst) && limits.burst >= 1)) throw new RangeError(`token bucket burst must be >= 1, got ${limits.burst}`);
    this.tokens = limits.burst;
    this.at = now;
  }

  /**
   * Refills for the time since the last call and takes one token if there is one.
   * @param now ms timestamp; a time earlier than the last call adds nothing
   * @returns true when the event is allowed, false when the bucket is empty
   */
  take(now: number): boolean {
    if (now > this.at) {
      this.tokens = Math.min(this.limits.burst, this.tokens + ((now - this.at) * this.limits.perSec) / 1000);
      this.at = now;
    }
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Tokens left at the last call (fractional while refilling). */
  get available(): number {
    return this.tokens;
  }
}
