/**
 * Per-relay health statistics: what the pool observed of each relay (connects, latency, events,
 * bad messages, publish outcomes, the last failure). The outbox scorer reads them to prefer relays
 * that answer and deliver, and to demote relays that misbehave.
 *
 * @module
 */

import type { FailureKind } from './backoff.js'

/** Counters and figures the pool keeps for one relay. Read-only snapshots are handed out. */
export interface RelayStats {
  /** The normalised relay URL. */
  readonly url: string
  /** WebSocket connections attempted. */
  connectAttempts: number
  /** WebSocket connections that opened. */
  connectSuccesses: number
  /** Milliseconds from opening the socket to its `open` event, smoothed (EWMA); undefined before the first connect. */
  connectLatencyMs: number | undefined
  /** Milliseconds from sending a REQ to its EOSE, smoothed (EWMA); undefined before the first EOSE. */
  eoseLatencyMs: number | undefined
  /** EVENT messages received (all of them, before any check). */
  eventsReceived: number
  /** Events this relay was the first to deliver (new ids that passed every check). */
  eventsFirstSeen: number
  /** Events dropped because they did not match the subscription's filters. */
  eventsNotMatchingFilter: number
  /** Events dropped because their signature or id did not verify. */
  eventsBadSignature: number
  /** Events dropped because the relay sent more than the filters' `limit` allows before EOSE. */
  eventsBeyondLimit: number
  /**
   * Valid events the pool's `admitEvent` hook refused from this relay (a spam filter, say). Not a
   * demerit: the relay did nothing wrong.
   */
  eventsNotAdmitted: number
  /** Malformed or oversized messages, by reason (see the parser's reasons). */
  invalidMessages: Record<string, number>
  /** NOTICE messages received. */
  notices: number
  /** Publishes attempted on this relay. */
  publishAttempts: number
  /** Publishes the relay accepted (ok or duplicate). */
  publishAccepted: number
  /** Subscriptions closed by the relay (CLOSED), by machine-readable prefix (`none` when absent). */
  subscriptionsClosed: Record<string, number>
  /** Queries where the relay did not send EOSE in time. */
  eoseTimeouts: number
  /** The last failure and when it happened (ms since the epoch). */
  lastFailure: { kind: FailureKind; at: number; message: string } | undefined
  /**
   * Misbehaviour points: events that did not match the filter, bad signatures, floods, malformed
   * messages. A relay with demerits is ranked lower by the scorer; see {@link isDemoted}.
   */
  demerits: number
  /**
   * While the relay sits in its penalty box, when the pool will try it again (ms since the epoch);
   * `undefined` when it may be tried now. Filled in by the pool's `relayStats()`.
   */
  penaltyUntil?: number | undefined
}

/** Demerits after which a relay counts as demoted. */
export const DEMOTION_THRESHOLD = 3

/**
 * Whether a relay has misbehaved enough to be ranked below well-behaved relays.
 *
 * @param stats The relay's statistics.
 * @returns True once its demerits reach {@link DEMOTION_THRESHOLD}.
 * @example
 * ```ts
 * import { isDemoted } from 'nostr-rendezvous/relay-pool'
 * const demoted = pool.relayStats().filter(isDemoted).map((s) => s.url)
 * ```
 */
export function isDemoted(stats: Pick<RelayStats, 'demerits'>): boolean {
  return stats.demerits >= DEMOTION_THRESHOLD
}

/**
 * The share of publishes a relay accepted, or undefined before the first publish.
 *
 * @param stats The relay's statistics.
 * @returns A number between 0 and 1, or undefined.
 * @example
 * ```ts
 * import { publishAcceptRate } from 'nostr-rendezvous/relay-pool'
 * publishAcceptRate(pool.relayStats('wss://relay.example.com')!) // 0.97
 * ```
 */
export function publishAcceptRate(stats: Pick<RelayStats, 'publishAttempts' | 'publishAccepted'>): number | undefined {
  return stats.publishAttempts === 0 ? undefined : stats.publishAccepted / stats.publishAttempts
}

/** Smoothing for latency averages: recent samples weigh a fifth. */
const EWMA_WEIGHT = 0.2

/** Keeps a {@link RelayStats} record per relay. Internal to the pool. */
export class HealthBook {
  readonly #stats = new Map<string, RelayStats>()

  /** The live record for a relay, created on first use. */
  of(url: string): RelayStats {
    let stats = this.#stats.get(url)
    if (stats === undefined) {
      stats = emptyRelayStats(url)
      this.#stats.set(url, stats)
    }
    return stats
  }

  /** A deep copy of one relay's record, or undefined when the pool never used it. */
  snapshot(url: string): RelayStats | undefined {
    const stats = this.#stats.get(url)
    return stats === undefined ? undefined : copyStats(stats)
  }

  /** Deep copies of every record. */
  snapshots(): RelayStats[] {
    return [...this.#stats.values()].map(copyStats)
  }

  /** Folds a latency sample into a smoothed figure. */
  static smooth(previous: number | undefined, sample: number): number {
    return previous === undefined ? sample : previous + EWMA_WEIGHT * (sample - previous)
  }
}

/**
 * A fresh record for a relay the pool has not used yet: every counter at zero. Handy for scoring
 * tests and for callers that restore statistics from storage.
 *
 * @param url - the normalised relay URL.
 * @returns a new, mutable record.
 * @example
 * ```ts
 * import { emptyRelayStats } from 'nostr-rendezvous/relay-pool'
 * const stats = { ...emptyRelayStats('wss://relay.example.com'), connectAttempts: 3, connectSuccesses: 3 }
 * ```
 */
export function emptyRelayStats(url: string): RelayStats {
  return {
    url,
    connectAttempts: 0,
    connectSuccesses: 0,
    connectLatencyMs: undefined,
    eoseLatencyMs: undefined,
    eventsReceived: 0,
    eventsFirstSeen: 0,
    eventsNotMatchingFilter: 0,
    eventsBadSignature: 0,
    eventsBeyondLimit: 0,
    eventsNotAdmitted: 0,
    invalidMessages: {},
    notices: 0,
    publishAttempts: 0,
    publishAccepted: 0,
    subscriptionsClosed: {},
    eoseTimeouts: 0,
    lastFailure: undefined,
    demerits: 0,
  }
}

function copyStats(stats: RelayStats): RelayStats {
  return {
    ...stats,
    invalidMessages: { ...stats.invalidMessages },
    subscriptionsClosed: { ...stats.subscriptionsClosed },
    lastFailure: stats.lastFailure === undefined ? undefined : { ...stats.lastFailure },
  }
}
