/**
 * When to try a relay again after it failed: exponential backoff with full jitter, plus a fixed
 * "penalty box" whose length depends on how the relay failed.
 *
 * Full jitter (a random delay between 0 and the exponential cap) spreads the reconnects of many
 * clients after a relay restarts, instead of having them all return at the same instant. The
 * penalty adds a floor for failures that retrying soon cannot fix: a relay that said
 * `rate-limited:` or refused us by policy is left alone for a while whatever the jitter drew.
 *
 * {@link RelayBackoff} holds no timer: it only computes times, and the pool schedules.
 *
 * @module
 */

/**
 * Every way a relay can fail, each with its own penalty (see {@link DEFAULT_PENALTY_MS}):
 * - `connect-refused`: the TCP/TLS/WebSocket handshake was refused or failed at once;
 * - `connect-timeout`: the handshake did not finish in time;
 * - `closed-unexpectedly`: an open connection dropped without us closing it;
 * - `protocol`: the relay sent messages that break NIP-01 (malformed, oversized, non-matching
 *   events, bad signatures);
 * - `auth`: NIP-42 authentication was needed and failed or was not allowed;
 * - `rate-limited`: the relay said `rate-limited:`;
 * - `policy`: the relay refused us (`blocked:`, `restricted:`, payment required).
 *
 * @example
 * ```ts
 * import { FAILURE_KINDS } from 'nostr-rendezvous/relay-pool'
 * FAILURE_KINDS.includes('rate-limited') // true
 * ```
 */
export const FAILURE_KINDS = [
  'connect-refused',
  'connect-timeout',
  'closed-unexpectedly',
  'protocol',
  'auth',
  'rate-limited',
  'policy',
] as const

/** One of {@link FAILURE_KINDS}. */
export type FailureKind = (typeof FAILURE_KINDS)[number]

/**
 * Fixed time in the penalty box per failure kind, in milliseconds, added to the jittered delay.
 * A dropped connection is usually transient (no penalty); a refused connect suggests a relay that
 * is down (a few seconds); a relay that breaks the protocol, wants AUTH we cannot give, asks us to
 * slow down or refuses us outright will not change its mind soon (30 s to 5 min).
 *
 * @example
 * ```ts
 * import { DEFAULT_PENALTY_MS } from 'nostr-rendezvous/relay-pool'
 * DEFAULT_PENALTY_MS['rate-limited'] // 30_000
 * ```
 */
export const DEFAULT_PENALTY_MS: Readonly<Record<FailureKind, number>> = Object.freeze({
  'connect-refused': 5_000,
  'connect-timeout': 10_000,
  'closed-unexpectedly': 0,
  protocol: 60_000,
  auth: 120_000,
  'rate-limited': 30_000,
  policy: 300_000,
})

/** Options of {@link RelayBackoff}. */
export interface BackoffOptions {
  /**
   * Cap of the jittered delay after the first failure, in milliseconds.
   * @default 1000
   */
  baseMs?: number
  /**
   * Largest cap of the jittered delay, in milliseconds (the penalty comes on top).
   * @default 300_000
   */
  maxMs?: number
  /**
   * Growth of the cap per consecutive failure (at least 1).
   * @default 2
   */
  multiplier?: number
  /**
   * Penalty per failure kind in milliseconds; kinds not given keep {@link DEFAULT_PENALTY_MS}.
   * @default DEFAULT_PENALTY_MS
   */
  penaltyMs?: Partial<Record<FailureKind, number>>
  /**
   * Source of uniform numbers in [0, 1) for the jitter.
   * @default Math.random
   */
  random?: () => number
  /**
   * Clock in milliseconds.
   * @default Date.now
   */
  now?: () => number
}

/** The most recent failure recorded by a {@link RelayBackoff}. */
export interface FailureRecord {
  /** How the relay failed. */
  readonly kind: FailureKind
  /** When, by the backoff's clock (milliseconds). */
  readonly at: number
}

function checkMs(value: unknown, field: string, min: number): number {
  if (typeof value !== 'number') throw new TypeError(`${field} must be a number, got ${typeof value}`)
  if (!Number.isFinite(value) || value < min) {
    throw new RangeError(`${field} must be a finite number >= ${min}, got ${String(value)}`)
  }
  return value
}

function checkFunction<T>(value: T, field: string): T {
  if (typeof value !== 'function') throw new TypeError(`${field} must be a function, got ${typeof value}`)
  return value
}

function checkKind(kind: unknown): asserts kind is FailureKind {
  if (!(FAILURE_KINDS as readonly unknown[]).includes(kind)) {
    throw new TypeError(`kind must be one of ${FAILURE_KINDS.join(', ')}, got ${String(kind)}`)
  }
}

function resolvePenalties(given: BackoffOptions['penaltyMs']): Record<FailureKind, number> {
  const penalties = { ...DEFAULT_PENALTY_MS }
  if (given === undefined) return penalties
  if (typeof given !== 'object' || given === null) {
    throw new TypeError(`penaltyMs must be an object, got ${given === null ? 'null' : typeof given}`)
  }
  for (const [kind, ms] of Object.entries(given)) {
    checkKind(kind)
    if (ms !== undefined) penalties[kind] = checkMs(ms, `penaltyMs['${kind}']`, 0)
  }
  return penalties
}

/**
 * The reconnect schedule of one relay. After the n-th consecutive failure the relay may be tried
 * again after `random() * min(maxMs, baseMs * multiplier^(n-1))` plus the failure kind's penalty.
 *
 * A success (`recordSuccess`) resets the failure count, so the next failure starts again from
 * `baseMs`, and clears the jittered part of the wait — but an active penalty stays until it runs
 * out: a relay that said `rate-limited:` a moment ago still wants us to wait, even if one request
 * got through since. A new failure never shortens an earlier wait. `reset()` forgets everything.
 *
 * Deterministic with injected `random` and `now`; holds no timers.
 *
 * @example
 * ```ts
 * import { RelayBackoff } from 'nostr-rendezvous/relay-pool'
 * const backoff = new RelayBackoff({ baseMs: 500 })
 * const waitMs = backoff.recordFailure('connect-refused') // 5000 to 5500
 * if (!backoff.isBoxed()) reconnect()
 * backoff.recordSuccess() // after a good connect
 * ```
 */
export class RelayBackoff {
  readonly #baseMs: number
  readonly #maxMs: number
  readonly #multiplier: number
  readonly #penalties: Readonly<Record<FailureKind, number>>
  readonly #random: () => number
  readonly #now: () => number
  #failures = 0
  #retryAt = 0
  #penaltyUntil = 0
  #lastFailure: FailureRecord | undefined

  /**
   * Creates the schedule of one relay, with no failure recorded.
   *
   * @param options - see {@link BackoffOptions}.
   * @throws TypeError when an option has the wrong type or `penaltyMs` names an unknown kind;
   * RangeError when a number is negative or not finite, `baseMs` is 0, `maxMs < baseMs` or
   * `multiplier < 1`.
   */
  constructor(options: BackoffOptions = {}) {
    this.#baseMs = checkMs(options.baseMs ?? 1_000, 'baseMs', 1)
    this.#maxMs = checkMs(options.maxMs ?? 300_000, 'maxMs', this.#baseMs)
    this.#multiplier = checkMs(options.multiplier ?? 2, 'multiplier', 1)
    this.#penalties = Object.freeze(resolvePenalties(options.penaltyMs))
    this.#random = checkFunction(options.random ?? Math.random, 'random')
    this.#now = checkFunction(options.now ?? Date.now, 'now')
  }

  /** Consecutive failures since the last success or reset. */
  get failures(): number {
    return this.#failures
  }

  /** The most recent failure (kept across successes, for health reports), if any. */
  get lastFailure(): FailureRecord | undefined {
    return this.#lastFailure
  }

  /**
   * Records a failure and computes when the relay may be tried again.
   *
   * @param kind - how the relay failed.
   * @returns milliseconds from now until the relay may be tried again: at most `maxMs` plus the
   * largest penalty still running.
   * @throws TypeError when `kind` is not one of {@link FAILURE_KINDS}.
   */
  recordFailure(kind: FailureKind): number {
    checkKind(kind)
    const now = this.#now()
    this.#failures++
    this.#lastFailure = { kind, at: now }
    const penaltyUntil = now + this.#penalties[kind]
    const retryAt = penaltyUntil + this.#jitteredDelay()
    this.#penaltyUntil = Math.max(this.#penaltyUntil, penaltyUntil)
    this.#retryAt = Math.max(this.#retryAt, retryAt)
    return this.#retryAt - now
  }

  /**
   * Records a success: the failure count goes back to 0 and the jittered wait is cleared; an active
   * penalty keeps running.
   */
  recordSuccess(): void {
    this.#failures = 0
    this.#retryAt = this.#penaltyUntil
  }

  /** Forgets every failure and penalty, e.g. when the user asks to reconnect now. */
  reset(): void {
    this.#failures = 0
    this.#retryAt = 0
    this.#penaltyUntil = 0
    this.#lastFailure = undefined
  }

  /**
   * When the relay may be tried again.
   *
   * @returns a timestamp by the backoff's clock (milliseconds); in the past, or 0, when it may be
   * tried now.
   */
  retryAt(): number {
    return this.#retryAt
  }

  /**
   * Whether the relay must not be tried yet.
   *
   * @returns `true` while the clock is before {@link RelayBackoff.retryAt}.
   */
  isBoxed(): boolean {
    return this.#now() < this.#retryAt
  }

  /**
   * Time left before the relay may be tried again.
   *
   * @returns milliseconds, 0 when it may be tried now.
   */
  remainingMs(): number {
    return Math.max(0, this.#retryAt - this.#now())
  }

  #jitteredDelay(): number {
    // The exponent is capped so the power stays finite however long a relay keeps failing.
    const exponent = Math.min(this.#failures - 1, 1_000)
    const grown = this.#baseMs * this.#multiplier ** exponent
    const cap = Number.isFinite(grown) ? Math.min(this.#maxMs, grown) : this.#maxMs
    return Math.floor(clampUnit(this.#random()) * cap)
  }
}

/** A random draw forced into [0, 1], so a broken `random` cannot push the delay past its cap. */
function clampUnit(x: number): number {
  if (!(x > 0)) return 0
  return x < 1 ? x : 1
}
