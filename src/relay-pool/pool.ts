/**
 * The relay pool: one connection per relay, subscriptions and one-shot queries across many
 * relays, publishing with a result per relay, NIP-42 AUTH, NIP-11 limits, connect policies and
 * per-relay health. Everything the outbox layer needs to talk to relays, and nothing about who
 * posts where.
 *
 * @module
 */

import { isEventShape, type NostrEvent } from '../crypto/event.js'
import { verifyEvent } from '../crypto/signature.js'
import type { Signer } from '../crypto/signer.js'
import { RelayError, type RelayErrorCode } from '../errors.js'
import { RelayBackoff, type BackoffOptions } from './backoff.js'
import { RelayConnection, type OkAnswer } from './connection.js'
import { assertFilters } from './filters.js'
import { HealthBook, type RelayStats } from './health.js'
import { EventIntake } from './intake.js'
import { LruSet } from './lru.js'
import { RelayInformationCache, relayLimitsFrom, type RelayInformation } from './nip11.js'
import { createAuthPolicy, createConnectPolicy, type AuthPolicy, type ConnectCheck, type ConnectPolicyOptions } from './policy.js'
import { createWorkerVerifier, type EventVerifier, type VerifierStats } from './verifier.js'
import {
  errorFields,
  PoolSubscription,
  type RelayReadOutcome,
  type SubscribeOptions,
  type Subscription,
  type SubscriptionServices,
} from './subscription.js'
import { raceAbort } from './abort.js'
import { DEFAULT_RELAY_LIMITS, type Filter, type MachinePrefix, type RelayLimits, type RelayOrigin, type WebSocketFactory } from './types.js'
import { tryNormalizeRelayUrl } from './url.js'
import { defaultWebSocketFactory } from './websocket.js'

/** Options of {@link createRelayPool}. Every bound has a safe default. */
export interface RelayPoolOptions {
  /** Signs NIP-42 AUTH events. Without one the pool never authenticates. */
  readonly signer?: Signer
  /** Which relays may learn who we are through AUTH. Default `'never'`. */
  readonly auth?: AuthPolicy
  /** Allow/deny lists and the private-address rule. */
  readonly connect?: Omit<ConnectPolicyOptions, 'onionProxy'>
  /**
   * Asked once per relay before the pool touches it: no NIP-11 request and no socket before it
   * answers `true`. Concurrent uses of the relay share one pending question, and the answer is
   * kept for the pool's life ({@link RelayPool.forgetApproval} asks again). Anything but `true`
   * (false, a throw, a rejection) is a no: reads and publishes to that relay end `refused` with
   * code `RELAY_REFUSED_BY_POLICY` and message `not-approved`, which is not held against the relay
   * (no penalty box, no health record). A question left unanswered is bounded by each read's
   * `eoseTimeoutMs` (outcome `timeout`) or publish's `timeoutMs`, and by their signals; the answer,
   * when it comes, still applies to later uses.
   * @default none: every relay the connect policy allows is used
   */
  readonly approveConnect?: (url: string, origin: RelayOrigin) => boolean | Promise<boolean>
  /**
   * Checked on every use of a relay (so it may change while the pool runs): `true` refuses it with
   * code `RELAY_REFUSED_BY_POLICY` and message `blocked`, before `approveConnect` is asked. A
   * relay blocked while a live subscription already reads it keeps that subscription until it ends.
   * @default none
   */
  readonly isBlocked?: (url: string) => boolean
  /**
   * Decides, for each verified copy of an event, whether to take it from that relay: `false`
   * drops the copy (counted in the relay's `eventsNotAdmitted`) before de-duplication, so a copy
   * of the same event from another relay is still judged on its own. `filters` are those of the
   * REQ the copy arrived on. A hook that throws refuses the copy (and is reported to
   * `onListenerError`). Runs on the hot path: keep it cheap and synchronous.
   * @default every copy is admitted
   */
  readonly admitEvent?: (event: NostrEvent, relay: string, filters: readonly Filter[]) => boolean
  /** Opens WebSockets (route through a SOCKS proxy, say). Default: `ws` in Node, the browser's own elsewhere. */
  readonly webSocketFactory?: WebSocketFactory
  /** Opens WebSockets to `.onion` relays (through Tor). Without it `.onion` relays are refused. */
  readonly onionWebSocketFactory?: WebSocketFactory
  /** Fetches NIP-11 documents; `false` skips NIP-11 and uses {@link defaultLimits}. Default `globalThis.fetch`. */
  readonly fetch?: typeof fetch | false
  /** Limits assumed for relays that publish none. Default {@link DEFAULT_RELAY_LIMITS}. */
  readonly defaultLimits?: Partial<RelayLimits>
  /** Open (or opening) connections at once. Default 30. */
  readonly maxConnections?: number
  /** Time for a WebSocket to open. Default 10 s. */
  readonly connectTimeoutMs?: number
  /** Per-relay time to EOSE in subscriptions and queries, connecting included. Default 10 s. */
  readonly eoseTimeoutMs?: number
  /** Per-relay time to OK when publishing, connecting included. Default 10 s. */
  readonly publishTimeoutMs?: number
  /** Time for a relay to send an AUTH challenge and answer our AUTH. Default 5 s. */
  readonly authTimeoutMs?: number
  /** Time to wait for a NIP-11 document before using defaults. Default 3 s. */
  readonly relayInformationTimeoutMs?: number
  /** Unused connections close after this long. Default 30 s. */
  readonly idleTimeoutMs?: number
  /** Largest incoming message; bigger ones are dropped and counted. Default 1 MiB. */
  readonly maxMessageBytes?: number
  /** Events a relay may send beyond the filters' `limit` before EOSE. Default 20. */
  readonly maxEventsBeyondLimit?: number
  /** Event copies waiting for one verification batch; more are dropped and counted. Default 50,000. */
  readonly maxPendingVerification?: number
  /** Events any one REQ may bring before EOSE (filters without `limit`). Default 20,000. */
  readonly maxEventsBeforeEose?: number
  /** Verified ids and delivered ids remembered (LRU). Default 100,000. */
  readonly seenCacheSize?: number
  /**
   * Checks event signatures. Default {@link createWorkerVerifier}: batch verification on worker
   * threads (one per core, at most 4), falling back to the main thread where workers cannot run.
   * `createWasmVerifier()` from `nostr-rendezvous/verify-wasm` is faster still. The pool closes it.
   */
  readonly verifier?: EventVerifier
  /** Reconnect backoff and penalty box tuning. */
  readonly backoff?: BackoffOptions
  /** Every valid copy of an event, with the relay it came from, once per (event, relay): "seen on" evidence. */
  readonly onEventSeen?: (event: NostrEvent, relay: string) => void
  /** NOTICE messages from relays. */
  readonly onNotice?: (relay: string, message: string) => void
  /** A listener of yours threw; the pool carried on. Default: `console.error`. */
  readonly onListenerError?: (error: unknown) => void
  /**
   * Clock in ms (tests). Default `Date.now`. Timers still wait real time: a clock that stands
   * still keeps a relay in its penalty box for good.
   */
  readonly now?: () => number
}

/** Options of {@link RelayPool.query}. */
export interface QueryOptions {
  /** Relays to ask. */
  readonly relays: readonly string[]
  /** Where the URLs came from. Default `discovered`. */
  readonly origin?: RelayOrigin
  /** Per-relay time to EOSE. Default: the pool's. */
  readonly eoseTimeoutMs?: number
  /** Abort: the query rejects with `RELAY_ABORTED`. */
  readonly signal?: AbortSignal
}

/** What a query found. */
export interface QueryResult {
  /** Distinct valid events, newest first (ties by id). Not trimmed to `limit`: several relays each contribute. */
  readonly events: NostrEvent[]
  /** For each event id, every relay it was found on, first one first. */
  readonly seenOn: ReadonlyMap<string, readonly string[]>
  /** How each relay answered. */
  readonly relays: readonly RelayReadOutcome[]
}

/** How one relay answered a publish. */
export type PublishStatus =
  | 'ok'
  | 'duplicate'
  | 'rejected'
  | 'auth-required'
  | 'pow-required'
  | 'rate-limited'
  | 'timeout'
  | 'refused'
  | 'failed'
  | 'aborted'

/** One relay's answer to a publish. */
export interface PublishOutcome {
  /** Normalised relay URL (the input when invalid). */
  readonly url: string
  /** What happened. */
  readonly status: PublishStatus
  /** Machine-readable prefix of the relay's OK message, when it gave one. */
  readonly prefix?: MachinePrefix
  /** The relay's message, or the failure's. */
  readonly message?: string
  /** The error code behind `refused`, `failed`, `timeout`, `auth-required`, `aborted`. */
  readonly code?: RelayErrorCode
  /** For `pow-required`: the difficulty the relay named, when it named one. */
  readonly difficulty?: number
  /**
   * When the relay is in its penalty box after this outcome (refused connects, `rate-limited:`),
   * how long until the pool will try it again, in ms. A retrying caller waits at least this long.
   */
  readonly retryAfterMs?: number
}

/** The result of a publish: one outcome per relay. */
export interface PublishReport {
  /** The event's id. */
  readonly eventId: string
  /** One outcome per relay, in the order given (duplicates merged). */
  readonly relays: readonly PublishOutcome[]
  /** Relays that hold the event now (`ok` or `duplicate`). */
  readonly accepted: number
}

/** Options of {@link RelayPool.publish}. */
export interface PublishOptions {
  /** Relays to send to. */
  readonly relays: readonly string[]
  /** Where the URLs came from. Default `discovered`. */
  readonly origin?: RelayOrigin
  /** Per-relay time to OK. Default: the pool's. */
  readonly timeoutMs?: number
  /** Abort: relays that had not answered report `aborted`. */
  readonly signal?: AbortSignal
}

/**
 * Creates a relay pool.
 *
 * @param options Signer, policies, bounds; see {@link RelayPoolOptions}.
 * @returns A {@link RelayPool}. Call `close()` when done: it owns sockets and timers.
 * @example
 * ```ts
 * import { createRelayPool } from 'nostr-rendezvous/relay-pool'
 * const pool = createRelayPool()
 * const { events } = await pool.query([{ kinds: [1], limit: 20 }], { relays: ['wss://relay.example.com'], origin: 'configured' })
 * await pool.close()
 * ```
 */
export function createRelayPool(options: RelayPoolOptions = {}): RelayPool {
  return new RelayPool(options)
}

interface Settings {
  readonly maxConnections: number
  readonly connectTimeoutMs: number
  readonly eoseTimeoutMs: number
  readonly publishTimeoutMs: number
  readonly authTimeoutMs: number
  readonly relayInformationTimeoutMs: number
  readonly idleTimeoutMs: number
  readonly maxMessageBytes: number
  readonly maxEventsBeyondLimit: number
  readonly maxEventsBeforeEose: number
  readonly seenCacheSize: number
}

/**
 * A pool of relay connections. Create it with {@link createRelayPool}.
 *
 * @example
 * ```ts
 * import { createRelayPool } from 'nostr-rendezvous/relay-pool'
 * const pool = createRelayPool({ signer, auth: ['wss://paid.example.com'] })
 * const sub = pool.subscribe([{ kinds: [1], authors: [alice] }], {
 *   relays: aliceOutboxes,
 *   onEvent: (event, relay) => show(event),
 * })
 * // later
 * sub.close()
 * await pool.close()
 * ```
 */
export class RelayPool {
  readonly #options: RelayPoolOptions
  readonly #settings: Settings
  readonly #defaultLimits: RelayLimits
  readonly #connectCheck: ConnectCheck
  readonly #authCheck: (url: string) => Promise<boolean>
  readonly #health = new HealthBook()
  readonly #backoffs = new Map<string, RelayBackoff>()
  readonly #connections = new Map<string, RelayConnection>()
  readonly #subscriptions = new Set<PoolSubscription>()
  readonly #intake: EventIntake
  readonly #verifier: EventVerifier
  readonly #seenPairs: LruSet<string>
  readonly #information: RelayInformationCache | undefined
  /** NIP-11 goes through `globalThis.fetch` (no `fetch` option): not a proxy's. */
  readonly #defaultFetch: boolean
  readonly #now: () => number
  /** `approveConnect` answers by relay: a boolean once known, the shared question while pending. */
  readonly #approvals = new Map<string, boolean | Promise<boolean>>()
  #openSlots = 0
  /** Aborted by close(): stops NIP-11 fetches nobody else stops. */
  readonly #closing = new AbortController()
  readonly #slotWaiters: Array<{ resolve: () => void; reject: (error: RelayError) => void }> = []
  #closed = false

  /**
   * Prefer {@link createRelayPool}.
   *
   * @param options See {@link RelayPoolOptions}.
   */
  constructor(options: RelayPoolOptions = {}) {
    this.#options = options
    this.#now = options.now ?? Date.now
    this.#settings = {
      maxConnections: positiveInteger(options.maxConnections, 30, 'maxConnections'),
      connectTimeoutMs: positiveInteger(options.connectTimeoutMs, 10_000, 'connectTimeoutMs'),
      eoseTimeoutMs: positiveInteger(options.eoseTimeoutMs, 10_000, 'eoseTimeoutMs'),
      publishTimeoutMs: positiveInteger(options.publishTimeoutMs, 10_000, 'publishTimeoutMs'),
      authTimeoutMs: positiveInteger(options.authTimeoutMs, 5_000, 'authTimeoutMs'),
      relayInformationTimeoutMs: positiveInteger(options.relayInformationTimeoutMs, 3_000, 'relayInformationTimeoutMs'),
      idleTimeoutMs: positiveInteger(options.idleTimeoutMs, 30_000, 'idleTimeoutMs'),
      maxMessageBytes: positiveInteger(options.maxMessageBytes, 1 << 20, 'maxMessageBytes'),
      maxEventsBeyondLimit: nonNegativeInteger(options.maxEventsBeyondLimit, 20, 'maxEventsBeyondLimit'),
      maxEventsBeforeEose: positiveInteger(options.maxEventsBeforeEose, 20_000, 'maxEventsBeforeEose'),
      seenCacheSize: positiveInteger(options.seenCacheSize, 100_000, 'seenCacheSize'),
    }
    this.#defaultLimits = { ...DEFAULT_RELAY_LIMITS, ...options.defaultLimits }
    this.#connectCheck = createConnectPolicy({ ...options.connect, onionProxy: options.onionWebSocketFactory !== undefined })
    this.#authCheck = createAuthPolicy(options.auth)
    this.#verifier = options.verifier ?? createWorkerVerifier()
    this.#intake = new EventIntake({
      verifiedCacheSize: this.#settings.seenCacheSize,
      maxPending: positiveInteger(options.maxPendingVerification, 50_000, 'maxPendingVerification'),
      verifier: this.#verifier,
    })
    this.#seenPairs = new LruSet(this.#settings.seenCacheSize)
    // The default fetch resolves names locally: never for a .onion relay (see #nip11Allowed).
    this.#defaultFetch = options.fetch === undefined
    const fetchImpl = options.fetch === false ? undefined : (options.fetch ?? globalThis.fetch)
    this.#information =
      fetchImpl === undefined
        ? undefined
        : new RelayInformationCache({ fetch: fetchImpl, timeoutMs: this.#settings.relayInformationTimeoutMs, now: this.#now })
  }

  /**
   * Opens a subscription on several relays. Live by default: after EOSE, new events keep coming
   * and the REQs survive reconnects (resuming from the newest event each relay gave).
   *
   * @param filters NIP-01 filters (checked; split per relay to fit its limits).
   * @param options Relays, listeners, `closeOnEose`, timeout, signal.
   * @returns The {@link Subscription}; `settled` resolves when every relay reached EOSE or an outcome.
   * @throws RelayError `RELAY_FILTER_INVALID` for a malformed filter; `RELAY_POOL_CLOSED`.
   * @example
   * ```ts
   * const sub = pool.subscribe([{ kinds: [1], '#p': [me] }], {
   *   relays: myInboxes,
   *   onEvent: (event) => notify(event),
   *   onEose: (report) => console.log(report.relays.map((r) => `${r.url}: ${r.status}`)),
   * })
   * ```
   */
  subscribe(filters: readonly Filter[], options: SubscribeOptions): Subscription {
    this.#assertOpen()
    if (!Array.isArray(filters) || filters.length === 0) throw new TypeError('filters must be a non-empty array')
    if (options.eoseTimeoutMs !== undefined) positiveInteger(options.eoseTimeoutMs, 0, 'eoseTimeoutMs')
    assertFilters(filters)
    const copies = filters.map((filter) => ({ ...filter }))
    const subscription = new PoolSubscription(copies, options, this.#subscriptionServices())
    if (!subscription.closed) this.#subscriptions.add(subscription)
    return subscription
  }

  /**
   * Fetches stored events from several relays and resolves once every relay sent EOSE or reached
   * an outcome (timeout, closed, failed, ...). One dead relay costs at most `eoseTimeoutMs`.
   *
   * @param filters NIP-01 filters.
   * @param options Relays, timeout, signal.
   * @returns Events (deduplicated, verified, newest first), where each was seen, and per-relay outcomes.
   * @throws RelayError `RELAY_FILTER_INVALID`, `RELAY_ABORTED`, `RELAY_POOL_CLOSED`.
   * @example
   * ```ts
   * const { events, relays } = await pool.query([{ kinds: [0], authors: [alice] }], { relays: indexers, origin: 'configured' })
   * ```
   */
  async query(filters: readonly Filter[], options: QueryOptions): Promise<QueryResult> {
    const events = new Map<string, NostrEvent>()
    const seenOn = new Map<string, string[]>()
    const subscription = this.subscribe(filters, {
      relays: options.relays,
      ...(options.origin !== undefined && { origin: options.origin }),
      ...(options.eoseTimeoutMs !== undefined && { eoseTimeoutMs: options.eoseTimeoutMs }),
      ...(options.signal !== undefined && { signal: options.signal }),
      closeOnEose: true,
      onEvent: (event, relay) => {
        events.set(event.id, event)
        seenOn.set(event.id, [relay])
      },
      onSeen: (id, relay) => {
        const relays = seenOn.get(id)
        if (relays !== undefined && !relays.includes(relay)) relays.push(relay)
      },
    })
    const report = await subscription.settled
    subscription.close()
    if (options.signal?.aborted === true) {
      throw new RelayError('RELAY_ABORTED', 'The query was aborted')
    }
    if (this.#closed) throw new RelayError('RELAY_POOL_CLOSED', 'The relay pool closed during the query')
    const sorted = [...events.values()].sort((a, b) => b.created_at - a.created_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    return { events: sorted, seenOn, relays: report.relays }
  }

  /**
   * Sends a signed event to several relays and reports each relay's answer. A relay that wants
   * AUTH gets it (when the AUTH policy allows that relay) and the event once more; a relay that
   * rate-limits us is left alone for a while.
   *
   * @param event A signed event (checked: shape, id and signature).
   * @param options Relays, timeout, signal.
   * @returns A {@link PublishReport}; never rejects because of one relay.
   * @throws RelayError `RELAY_EVENT_INVALID` for an event that does not verify; `RELAY_POOL_CLOSED`.
   * @example
   * ```ts
   * const report = await pool.publish(event, { relays: myOutboxes, origin: 'configured' })
   * if (report.accepted === 0) console.warn(report.relays)
   * ```
   */
  async publish(event: NostrEvent, options: PublishOptions): Promise<PublishReport> {
    this.#assertOpen()
    if (options.timeoutMs !== undefined) positiveInteger(options.timeoutMs, 0, 'timeoutMs')
    if (!isEventShape(event) || !verifyEvent(event)) {
      throw new RelayError('RELAY_EVENT_INVALID', 'Refusing to publish an event that does not verify', {
        details: `id ${String((event as { id?: unknown } | null)?.id).slice(0, 64)}`,
      })
    }
    const targets = new Map<string, Promise<PublishOutcome>>()
    for (const input of options.relays) {
      const admitted = this.#admit(input, options.origin ?? 'discovered')
      if ('refused' in admitted) {
        const { url, code, message } = admitted.refused
        if (!targets.has(url)) targets.set(url, Promise.resolve({ url, status: 'refused', ...(code && { code }), ...(message && { message }) }))
        continue
      }
      if (targets.has(admitted.url)) continue
      targets.set(admitted.url, this.#publishTo(admitted.url, event, options))
    }
    const relays = await Promise.all(targets.values())
    return {
      eventId: event.id,
      relays,
      accepted: relays.filter((outcome) => outcome.status === 'ok' || outcome.status === 'duplicate').length,
    }
  }

  async #publishTo(url: string, event: NostrEvent, options: PublishOptions): Promise<PublishOutcome> {
    const deadline = new AbortController()
    let timedOut = false
    const timeoutMs = options.timeoutMs ?? this.#settings.publishTimeoutMs
    const timer = setTimeout(() => {
      timedOut = true
      deadline.abort()
    }, timeoutMs)
    const onCallerAbort = (): void => deadline.abort()
    if (options.signal?.aborted === true) deadline.abort()
    options.signal?.addEventListener('abort', onCallerAbort, { once: true })
    const signal = deadline.signal
    try {
      // Asked before anything touches the relay; a no is not the relay's failure, so no stats.
      const approval = this.#approval(url, options.origin ?? 'discovered')
      const approved = approval === true || (approval !== false && (await raceAbort(approval, signal, () => new RelayError('RELAY_ABORTED', 'Aborted'))))
      if (!approved) return { url, status: 'refused', code: 'RELAY_REFUSED_BY_POLICY', message: 'not-approved' }
      const stats = this.#health.of(url)
      stats.publishAttempts += 1
      const backoff = this.#backoff(url)
      // Checked before connecting: the penalty box would otherwise report a plain failure.
      if (backoff.lastFailure?.kind === 'rate-limited' && backoff.isBoxed()) {
        const retryAfterMs = backoff.remainingMs()
        return { url, status: 'rate-limited', code: 'RELAY_CONNECTION_FAILED', message: `rate-limited; retry in ${Math.ceil(retryAfterMs / 1000)} s`, retryAfterMs }
      }
      const connection = this.#connection(url)
      await connection.open(signal)
      let answer = await connection.sendEvent(event, timeoutMs, signal)
      if (answer.kind === 'ok' && !answer.accepted && answer.prefix === 'auth-required') {
        try {
          await connection.authenticate(signal)
        } catch (error) {
          if (error instanceof RelayError && (error.code === 'RELAY_ABORTED' || error.code === 'RELAY_TIMEOUT')) throw error
          if (this.#closed) return { url, status: 'aborted', code: 'RELAY_POOL_CLOSED', message: 'the pool closed' }
          const { code } = errorFields(error)
          return { url, status: 'auth-required', prefix: 'auth-required', message: answer.message, ...(code !== undefined && { code }) }
        }
        answer = await connection.sendEvent(event, timeoutMs, signal)
      }
      if (answer.kind === 'disconnected' && this.#closed) return { url, status: 'aborted', code: 'RELAY_POOL_CLOSED', message: 'the pool closed' }
      const outcome = classifyOk(url, answer)
      if (outcome.status === 'ok' || outcome.status === 'duplicate') this.#health.of(url).publishAccepted += 1
      if (outcome.status === 'rate-limited') {
        connection.recordFailure('rate-limited', outcome.message ?? '')
        return { ...outcome, ...boxedFor(this.#backoff(url)) }
      }
      return outcome
    } catch (error) {
      if (timedOut) {
        const message = this.#approvals.get(url) instanceof Promise ? 'connect approval not answered in time' : 'no OK in time'
        return { url, status: 'timeout', code: 'RELAY_TIMEOUT', message }
      }
      if (this.#closed) return { url, status: 'aborted', code: 'RELAY_POOL_CLOSED', message: 'the pool closed' }
      if (deadline.signal.aborted) return { url, status: 'aborted', code: 'RELAY_ABORTED' }
      return { url, status: 'failed', ...errorFields(error), ...boxedFor(this.#backoff(url)) }
    } finally {
      clearTimeout(timer)
      options.signal?.removeEventListener('abort', onCallerAbort)
    }
  }

  /**
   * The statistics of one relay, or undefined when the pool never used it.
   *
   * @param url A relay URL (any spelling).
   * @returns A snapshot copy.
   * @example
   * ```ts
   * pool.relayStats('wss://relay.example.com')?.eventsNotMatchingFilter
   * ```
   */
  relayStats(url: string): RelayStats | undefined {
    const normalized = tryNormalizeRelayUrl(url)
    const stats = normalized === undefined ? undefined : this.#health.snapshot(normalized)
    return stats && this.#withPenalty(stats)
  }

  /** The snapshot with `penaltyUntil` filled in from the relay's backoff. */
  #withPenalty(stats: RelayStats): RelayStats {
    const backoff = this.#backoffs.get(stats.url)
    if (backoff?.isBoxed()) stats.penaltyUntil = backoff.retryAt()
    return stats
  }

  /**
   * The statistics of every relay the pool used.
   *
   * @returns Snapshot copies.
   * @example
   * ```ts
   * const slow = pool.allRelayStats().filter((s) => (s.eoseLatencyMs ?? 0) > 2000)
   * ```
   */
  allRelayStats(): RelayStats[] {
    return this.#health.snapshots().map((stats) => this.#withPenalty(stats))
  }

  /**
   * A relay's NIP-11 document (cached), or undefined when it has none or NIP-11 is off.
   *
   * @param url A relay URL.
   * @param options `signal` stops waiting (the answer is then undefined); `origin` (default
   *   `configured`) for the connect policy and the `approveConnect` gate, which apply as they do to
   *   a connection: a refused relay gets no request and the answer is undefined.
   * @returns The parsed document.
   * @throws RelayError `RELAY_URL_INVALID`.
   * @example
   * ```ts
   * const info = await pool.relayInformation('wss://relay.example.com')
   * info?.supported_nips?.includes(50)
   * ```
   */
  async relayInformation(url: string, options: { signal?: AbortSignal; origin?: RelayOrigin } = {}): Promise<RelayInformation | undefined> {
    const normalized = tryNormalizeRelayUrl(url)
    if (normalized === undefined) throw new RelayError('RELAY_URL_INVALID', 'Not a relay URL', { details: String(url).slice(0, 200) })
    if (this.#information === undefined || !this.#nip11Allowed(normalized)) return undefined
    // The same gates as a connection: an HTTP request tells the relay as much as a socket does.
    if ('refused' in this.#admit(normalized, options.origin ?? 'configured')) return undefined
    try {
      const approval = this.#approval(normalized, options.origin ?? 'configured')
      if (approval === false) return undefined
      if (approval !== true) {
        const signal = options.signal ?? this.#closing.signal
        if (!(await raceAbort(approval, signal, () => new RelayError('RELAY_ABORTED', 'Aborted')))) return undefined
      }
      return await this.#information.get(normalized, options.signal === undefined ? {} : { signal: options.signal })
    } catch {
      return undefined
    }
  }

  /**
   * Forgets the `approveConnect` answer for one relay (or every relay), so its next use asks again.
   * Call it when the app's answer changed (the user revoked or granted a relay). Connections
   * already open stay open until idle.
   *
   * @param url A relay URL (any spelling); all relays when omitted.
   * @example
   * ```ts
   * pool.forgetApproval('wss://relay.example.com')
   * ```
   */
  forgetApproval(url?: string): void {
    if (url === undefined) {
      this.#approvals.clear()
      return
    }
    const normalized = tryNormalizeRelayUrl(url)
    if (normalized !== undefined) this.#approvals.delete(normalized)
  }

  /**
   * The limits the pool currently applies to a relay (its NIP-11 document's, or the defaults).
   *
   * @param url A relay URL.
   * @returns The limits.
   * @example
   * ```ts
   * pool.relayLimits('wss://relay.example.com').maxSubscriptions // 20
   * ```
   */
  relayLimits(url: string): RelayLimits {
    const normalized = tryNormalizeRelayUrl(url)
    const info = normalized === undefined ? undefined : this.#information?.peek(normalized)
    return relayLimitsFrom(info, this.#defaultLimits)
  }

  /**
   * Connections open or opening right now.
   *
   * @returns A count, never more than `maxConnections`.
   * @example
   * ```ts
   * pool.connectionCount() // 3
   * ```
   */
  connectionCount(): number {
    return this.#openSlots
  }

  /**
   * Closes every subscription and connection and stops every timer. Operations in flight end with
   * `aborted`/`RELAY_POOL_CLOSED`. Idempotent.
   *
   * @returns Resolves once everything is let go.
   * @example
   * ```ts
   * await pool.close()
   * ```
   */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#closing.abort()
    for (const subscription of [...this.#subscriptions]) subscription.close()
    this.#subscriptions.clear()
    for (const connection of this.#connections.values()) connection.shutdown()
    this.#intake.close()
    for (const waiter of this.#slotWaiters.splice(0)) waiter.reject(new RelayError('RELAY_POOL_CLOSED', 'The relay pool is closed'))
    await this.#verifier.close()
  }

  /**
   * What the signature verifier is doing: backend, workers running, and why it runs on the main
   * thread if it does.
   *
   * @returns A snapshot.
   * @example
   * ```ts
   * const { mode, fallbackReason } = pool.verifierStats()
   * if (mode === 'main-thread') console.warn('verifying on the main thread:', fallbackReason)
   * ```
   */
  verifierStats(): VerifierStats {
    return this.#verifier.stats()
  }

  // ---- internals ------------------------------------------------------------------------------

  #assertOpen(): void {
    if (this.#closed) throw new RelayError('RELAY_POOL_CLOSED', 'The relay pool is closed')
  }

  #admit(input: string, origin: RelayOrigin): { url: string } | { refused: RelayReadOutcome } {
    const url = tryNormalizeRelayUrl(input)
    if (url === undefined) {
      const shown = typeof input === 'string' ? input.slice(0, 200) : String(input)
      return { refused: { url: shown, status: 'refused', code: 'RELAY_URL_INVALID', message: 'not a relay URL', events: 0, firstSeen: 0 } }
    }
    const decision = this.#connectCheck(url, origin)
    if (!decision.allowed) {
      return { refused: { url, status: 'refused', code: 'RELAY_REFUSED_BY_POLICY', message: decision.reason, events: 0, firstSeen: 0 } }
    }
    if (this.#isBlocked(url)) {
      return { refused: { url, status: 'refused', code: 'RELAY_REFUSED_BY_POLICY', message: 'blocked', events: 0, firstSeen: 0 } }
    }
    return { url }
  }

  #isBlocked(url: string): boolean {
    const hook = this.#options.isBlocked
    if (hook === undefined) return false
    try {
      return hook(url) === true
    } catch (error) {
      // A hook that fails cannot vouch for the relay: refuse it.
      this.#listenerFailed(error)
      return true
    }
  }

  /**
   * The `approveConnect` answer for a relay: `true`/`false` when known (or when there is no gate),
   * else the pending question, shared by every use. Never rejects.
   */
  #approval(url: string, origin: RelayOrigin): boolean | Promise<boolean> {
    const gate = this.#options.approveConnect
    if (gate === undefined) return true
    const known = this.#approvals.get(url)
    if (known !== undefined) return known
    let answer: unknown
    try {
      answer = gate(url, origin)
    } catch {
      answer = false
    }
    if (!(answer instanceof Promise) && (answer === null || typeof answer !== 'object' || typeof (answer as { then?: unknown }).then !== 'function')) {
      const approved = answer === true
      this.#approvals.set(url, approved)
      return approved
    }
    const pending = Promise.resolve(answer as PromiseLike<unknown>).then(
      (value) => value === true,
      () => false,
    )
    this.#approvals.set(url, pending)
    void pending.then((approved) => {
      // Unless forgotten (or asked anew) meanwhile, the answer replaces the question.
      if (this.#approvals.get(url) === pending) this.#approvals.set(url, approved)
    })
    return pending
  }

  /** Runs the `admitEvent` hook; a hook that throws refuses the copy. */
  #admitEvent(event: NostrEvent, url: string, filters: readonly Filter[]): boolean {
    const hook = this.#options.admitEvent
    if (hook === undefined) return true
    try {
      return hook(event, url, filters) !== false
    } catch (error) {
      this.#listenerFailed(error)
      return false
    }
  }

  #backoff(url: string): RelayBackoff {
    let backoff = this.#backoffs.get(url)
    if (backoff === undefined) {
      backoff = new RelayBackoff({ ...this.#options.backoff, now: this.#options.backoff?.now ?? this.#now })
      this.#backoffs.set(url, backoff)
    }
    return backoff
  }

  #connection(url: string): RelayConnection {
    let connection = this.#connections.get(url)
    if (connection !== undefined) return connection
    const settings = this.#settings
    const chosen =
      isOnionUrl(url) && this.#options.onionWebSocketFactory !== undefined
        ? this.#options.onionWebSocketFactory
        : (this.#options.webSocketFactory ?? defaultWebSocketFactory(settings.maxMessageBytes))
    // Every factory learns the frame cap, so a proxied socket is bounded like the default one.
    const factory: WebSocketFactory = (target) => chosen(target, { maxPayloadBytes: settings.maxMessageBytes })
    connection = new RelayConnection({
      url,
      stats: this.#health.of(url),
      backoff: this.#backoff(url),
      webSocketFactory: factory,
      maxMessageBytes: settings.maxMessageBytes,
      connectTimeoutMs: settings.connectTimeoutMs,
      authTimeoutMs: settings.authTimeoutMs,
      idleTimeoutMs: settings.idleTimeoutMs,
      signer: this.#options.signer,
      limits: () => this.relayLimits(url),
      prepare: async (signal) => {
        await this.#limitsFor(url, signal)
      },
      acquireSlot: (conn, signal) => this.#acquireSlot(conn, signal),
      releaseSlot: () => this.#releaseSlot(),
      reconnectAllowed: (origin) => (this.#closed || 'refused' in this.#admit(url, origin) ? false : this.#approval(url, origin)),
      authAllowed: () => this.#authCheck(url),
      onNotice: (message) => this.#call(() => this.#options.onNotice?.(url, message)),
      idleWanted: () => this.#slotWaiters.length > 0,
      now: this.#now,
    })
    this.#connections.set(url, connection)
    return connection
  }

  /**
   * Whether the relay's NIP-11 document may be fetched: not for a `.onion` relay through the default
   * fetch, which would ask the local resolver for the onion name (a DNS leak; it cannot reach the
   * relay anyway). A `fetch` given in the options (a proxy's) is used for every relay.
   */
  #nip11Allowed(url: string): boolean {
    return !(this.#defaultFetch && isOnionUrl(url))
  }

  async #limitsFor(url: string, signal: AbortSignal = this.#closing.signal): Promise<RelayLimits> {
    if (this.#information !== undefined && this.#nip11Allowed(url)) {
      try {
        await this.#information.get(url, { signal })
      } catch {
        // No document (or a bad one): the defaults apply.
      }
    }
    return this.relayLimits(url)
  }

  #acquireSlot(connection: RelayConnection, signal: AbortSignal): Promise<void> {
    if (this.#closed) return Promise.reject(new RelayError('RELAY_POOL_CLOSED', 'The relay pool is closed'))
    if (this.#openSlots < this.#settings.maxConnections) {
      this.#openSlots += 1
      return Promise.resolve()
    }
    // At the cap: make room by closing the least recently used idle connection, else wait.
    const idle = [...this.#connections.values()]
      .filter((candidate) => candidate !== connection && candidate.holdsSlot && candidate.isIdle)
      .sort((a, b) => a.lastUsed - b.lastUsed)[0]
    if (idle !== undefined) {
      idle.close()
      if (this.#openSlots < this.#settings.maxConnections) {
        this.#openSlots += 1
        return Promise.resolve()
      }
    }
    return new Promise<void>((resolve, reject) => {
      const waiter = {
        resolve: () => {
          signal.removeEventListener('abort', onAbort)
          resolve()
        },
        reject: (error: RelayError) => {
          signal.removeEventListener('abort', onAbort)
          reject(error)
        },
      }
      const onAbort = (): void => {
        const index = this.#slotWaiters.indexOf(waiter)
        if (index >= 0) this.#slotWaiters.splice(index, 1)
        reject(new RelayError('RELAY_ABORTED', 'Aborted while waiting for a free connection', { details: connection.url }))
      }
      signal.addEventListener('abort', onAbort, { once: true })
      this.#slotWaiters.push(waiter)
    })
  }

  #releaseSlot(): void {
    const next = this.#slotWaiters.shift()
    // The slot passes straight to the next waiter, so the count stays the same.
    if (next !== undefined) next.resolve()
    else this.#openSlots = Math.max(0, this.#openSlots - 1)
  }

  #subscriptionServices(): SubscriptionServices {
    const settings = this.#settings
    return {
      intake: this.#intake,
      eoseTimeoutMs: settings.eoseTimeoutMs,
      maxEventsBeyondLimit: settings.maxEventsBeyondLimit,
      maxEventsBeforeEose: settings.maxEventsBeforeEose,
      deliveredCacheSize: settings.seenCacheSize,
      admit: (url, origin) => this.#admit(url, origin),
      approve: (url, origin) => this.#approval(url, origin),
      admitEvent: (event, url, filters) => this.#admitEvent(event, url, filters),
      connection: (url) => this.#connection(url),
      stats: (url) => this.#health.of(url),
      limitsFor: (url) => this.#limitsFor(url),
      eventSeen: (event, url) => this.#eventSeen(event, url),
      listenerFailed: (error) => this.#listenerFailed(error),
      forget: (subscription) => this.#subscriptions.delete(subscription),
      now: this.#now,
    }
  }

  #eventSeen(event: NostrEvent, url: string): void {
    const listener = this.#options.onEventSeen
    if (listener === undefined) return
    const key = event.id + url
    if (this.#seenPairs.has(key)) return
    this.#seenPairs.add(key)
    this.#call(() => listener(event, url))
  }

  #call(listener: () => void): void {
    try {
      listener()
    } catch (error) {
      this.#listenerFailed(error)
    }
  }

  #listenerFailed(error: unknown): void {
    const report = this.#options.onListenerError
    if (report !== undefined) {
      try {
        report(error)
      } catch {
        // The error reporter itself failed; nothing sensible is left to do.
      }
      return
    }
    console.error('nostr-rendezvous: a relay-pool listener threw', error)
  }
}

function classifyOk(url: string, answer: OkAnswer): PublishOutcome {
  if (answer.kind === 'disconnected') {
    return { url, status: 'failed', code: 'RELAY_CONNECTION_FAILED', message: 'connection lost before OK' }
  }
  const base = { url, ...(answer.prefix !== undefined && { prefix: answer.prefix }), message: answer.message }
  if (answer.accepted) return { ...base, status: answer.prefix === 'duplicate' ? 'duplicate' : 'ok' }
  switch (answer.prefix) {
    case 'duplicate':
      return { ...base, status: 'duplicate' }
    case 'auth-required':
      return { ...base, status: 'auth-required', code: 'RELAY_AUTH_FAILED' }
    case 'pow': {
      const difficulty = /\d+/.exec(answer.reason)
      return { ...base, status: 'pow-required', ...(difficulty && { difficulty: Number(difficulty[0]) }) }
    }
    case 'rate-limited':
      return { ...base, status: 'rate-limited' }
    default:
      return { ...base, status: 'rejected' }
  }
}

function positiveInteger(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback
  // Timers take at most 2^31 - 1 ms; a larger value would fire at once.
  if (!Number.isSafeInteger(value) || value < 1 || value > MAX_TIMER_MS) throw new RangeError(`${name} must be an integer from 1 to ${MAX_TIMER_MS}`)
  return value
}

const MAX_TIMER_MS = 2_147_483_647

function nonNegativeInteger(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer`)
  return value
}

/** `{ retryAfterMs }` while the relay sits in its penalty box, else nothing. */
function boxedFor(backoff: RelayBackoff): { retryAfterMs?: number } {
  return backoff.isBoxed() ? { retryAfterMs: backoff.remainingMs() } : {}
}

/** Whether a normalised relay URL names a Tor onion service. */
function isOnionUrl(url: string): boolean {
  return /\.onion(?::\d+)?(?:\/|$)/.test(url.replace(/^wss?:\/\//, ''))
}
