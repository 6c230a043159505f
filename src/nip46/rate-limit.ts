/**
 * A token bucket: `burst` events at once, then `perSecond` on average. Used by both NIP-46 sides to
 * bound the work a flood of kind 24133 events can cause (each costs a signature check, an ECDH and,
 * for a bunker, a signature of the answer).
 *
 * @module
 */

/** A rate bound: `burst` events at once, then `perSecond` on average (a token bucket). */
export interface RateLimit {
  /** Events allowed at once. */
  readonly burst: number
  /** Events allowed per second on average. */
  readonly perSecond: number
}

/** Checks a {@link RateLimit} given as an option. */
export function assertRateLimit(limit: RateLimit, field: string): RateLimit {
  if (typeof limit !== 'object' || limit === null) throw new TypeError(`${field} must be { burst, perSecond }`)
  if (!(Number.isInteger(limit.burst) && limit.burst > 0)) throw new RangeError(`${field}.burst must be a positive integer`)
  if (!(typeof limit.perSecond === 'number' && limit.perSecond > 0 && Number.isFinite(limit.perSecond))) {
    throw new RangeError(`${field}.perSecond must be a positive number`)
  }
  return limit
}

/** A token bucket on a millisecond clock. */
export class TokenBucket {
  readonly #limit: RateLimit
  readonly #now: () => number
  #tokens: number
  #at: number

  constructor(limit: RateLimit, now: () => number) {
    this.#limit = limit
    this.#now = now
    this.#tokens = limit.burst
    this.#at = now()
  }

  /** Takes one token; false when the bucket is empty (the event should be dropped). */
  take(): boolean {
    const now = this.#now()
    const elapsed = Math.max(0, now - this.#at)
    this.#at = now
    this.#tokens = Math.min(this.#limit.burst, this.#tokens + (elapsed * this.#limit.perSecond) / 1000)
    if (this.#tokens < 1) return false
    this.#tokens -= 1
    return true
  }
}
