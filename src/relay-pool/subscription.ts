/**
 * A subscription across several relays: per relay, the filters are split into REQs that fit the
 * relay's limits, each REQ waits for a subscription slot on the relay's connection, incoming
 * events are checked against the filters of the REQ they arrived on, bounded in number before
 * EOSE, authenticated by the pool's intake and delivered once per id. Each relay ends in an
 * outcome (EOSE, timeout, closed with a reason, auth-required, refused, failed, ...), so one dead or
 * hostile relay never stalls the rest.
 *
 * @module
 */

import type { NostrEvent } from '../crypto/event.js'
import { RelayError, type RelayErrorCode } from '../errors.js'
import type { RelayConnection, WireSubscription } from './connection.js'
import { HealthBook, type RelayStats } from './health.js'
import type { EventIntake } from './intake.js'
import { encodeReq } from './messages.js'
import { expectedEventCount, matchFilters, splitFiltersForRelay } from './filters.js'
import { LruSet } from './lru.js'
import type { Filter, MachinePrefix, RelayLimits, RelayOrigin } from './types.js'
import { NEVER_ABORTED } from './abort.js'

/** Where one relay stands in a subscription. */
export type RelayReadStatus =
  /** Still loading stored events. */
  | 'pending'
  /** Sent EOSE for every REQ: stored events are in (live events keep coming unless closed on EOSE). */
  | 'eose'
  /** No EOSE within the timeout. */
  | 'timeout'
  /** The relay closed the subscription (CLOSED); `prefix` and `message` say why. */
  | 'closed'
  /** The relay wants NIP-42 AUTH and the pool may not or could not authenticate. */
  | 'auth-required'
  /** The connect policy refused the relay, or its URL is invalid (`code` says which). */
  | 'refused'
  /** The connection could not be opened (`code` and `message` say why). */
  | 'failed'
  /** The connection dropped before EOSE. */
  | 'disconnected'
  /** The relay sent more events than the filters allow before EOSE; its REQ was closed. */
  | 'flooded'
  /** The caller closed the subscription or aborted before this relay finished. */
  | 'aborted'

/** How one relay answered a subscription. */
export interface RelayReadOutcome {
  /** Normalised relay URL (the input as given when it is not a valid URL). */
  readonly url: string
  /** Where it stands. */
  readonly status: RelayReadStatus
  /** The error code behind `refused`, `failed`, `timeout`, `disconnected`, `auth-required`. */
  readonly code?: RelayErrorCode
  /** The machine-readable prefix of a CLOSED message. */
  readonly prefix?: MachinePrefix
  /** The relay's message (CLOSED) or the failure's. */
  readonly message?: string
  /** Valid, matching events received from this relay (including ones another relay sent first). */
  readonly events: number
  /** Events this relay delivered before any other relay in this subscription. */
  readonly firstSeen: number
  /** Milliseconds from subscribing to EOSE. */
  readonly eoseMs?: number
}

/** Every relay's outcome. */
export interface SubscriptionReport {
  /** One entry per requested relay, in the order given (duplicates after normalisation removed). */
  readonly relays: readonly RelayReadOutcome[]
  /** Distinct events delivered. */
  readonly events: number
}

/** Options of {@link RelayPool.subscribe}. */
export interface SubscribeOptions {
  /** Relays to ask (any spelling; normalised, duplicates merged). */
  readonly relays: readonly string[]
  /** Where the URLs came from; `discovered` (the default) applies the private-address rule. */
  readonly origin?: RelayOrigin
  /** Each distinct valid event, once, with the relay that delivered it first. */
  readonly onEvent?: (event: NostrEvent, relay: string) => void
  /** An already delivered event was also found on another relay ("seen on" evidence). */
  readonly onSeen?: (eventId: string, relay: string) => void
  /** A relay's outcome changed. */
  readonly onRelayStatus?: (outcome: RelayReadOutcome) => void
  /** Every relay reached EOSE or a final outcome (called once). */
  readonly onEose?: (report: SubscriptionReport) => void
  /** Close each relay's REQs as soon as it sends EOSE (a one-shot query). Default false (live). */
  readonly closeOnEose?: boolean
  /** Per-relay time to EOSE, connecting included. Default: the pool's `eoseTimeoutMs`. */
  readonly eoseTimeoutMs?: number
  /** Closes the subscription when aborted. */
  readonly signal?: AbortSignal
  /**
   * On a reconnect, ask for events from `newest seen − resumeSlackSeconds` on instead of from the
   * newest seen. Events dated in the past on purpose need it: NIP-59 gift wraps carry a
   * `created_at` up to two days back, so resuming from the newest wrap's date would skip most wraps
   * sent during the outage (pass `nip59.TIMESTAMP_JITTER_SECONDS`). Copies already delivered are
   * dropped by id. @default 0
   */
  readonly resumeSlackSeconds?: number
}

/** A running subscription. */
export interface Subscription {
  /** The filters as given. */
  readonly filters: readonly Filter[]
  /** Resolves once every relay reached EOSE or a final outcome (or the subscription closed). */
  readonly settled: Promise<SubscriptionReport>
  /** The outcomes so far. */
  report(): SubscriptionReport
  /** Closes every REQ (sending CLOSE where the relay still has it). Idempotent. */
  close(): void
}

/** What a subscription borrows from the pool. Internal. */
export interface SubscriptionServices {
  readonly intake: EventIntake
  readonly eoseTimeoutMs: number
  readonly maxEventsBeyondLimit: number
  readonly maxEventsBeforeEose: number
  readonly deliveredCacheSize: number
  /** Normalises and applies the connect policy: a URL, or an outcome explaining the refusal. */
  admit(url: string, origin: RelayOrigin): { url: string } | { refused: RelayReadOutcome }
  /** The connect gate's answer: known, or the shared pending question (never rejects). */
  approve(url: string, origin: RelayOrigin): boolean | Promise<boolean>
  /** The admission hook for one verified copy (false drops it). */
  admitEvent(event: NostrEvent, url: string, filters: readonly Filter[]): boolean
  connection(url: string): RelayConnection
  stats(url: string): RelayStats
  limitsFor(url: string): Promise<RelayLimits>
  eventSeen(event: NostrEvent, url: string): void
  listenerFailed(error: unknown): void
  forget(subscription: PoolSubscription): void
  now(): number
}

/** Implementation of {@link Subscription}. Internal. */
export class PoolSubscription implements Subscription {
  readonly filters: readonly Filter[]
  readonly settled: Promise<SubscriptionReport>
  readonly #services: SubscriptionServices
  readonly #options: SubscribeOptions
  readonly #reads: RelayRead[] = []
  readonly #delivered: LruSet<string>
  #resolve!: (report: SubscriptionReport) => void
  #settled = false
  #closed = false
  #deliveredCount = 0
  /** Copies handed to the intake and not yet decided: the subscription settles only after them. */
  #undecided = 0
  readonly #onAbort = (): void => this.close()

  constructor(filters: readonly Filter[], options: SubscribeOptions, services: SubscriptionServices) {
    this.filters = filters
    this.#options = options
    this.#services = services
    this.#delivered = new LruSet(services.deliveredCacheSize)
    this.settled = new Promise((resolve) => {
      this.#resolve = resolve
    })
    const seen = new Set<string>()
    for (const input of options.relays) {
      const admitted = services.admit(input, options.origin ?? 'discovered')
      const key = 'url' in admitted ? admitted.url : admitted.refused.url
      if (seen.has(key)) continue
      seen.add(key)
      const read = new RelayRead(this, key, 'refused' in admitted ? admitted.refused : undefined)
      this.#reads.push(read)
    }
    if (options.signal?.aborted === true) {
      this.close()
      return
    }
    options.signal?.addEventListener('abort', this.#onAbort, { once: true })
    for (const read of this.#reads) read.begin()
    this.#checkSettled()
  }

  get services(): SubscriptionServices {
    return this.#services
  }

  get options(): SubscribeOptions {
    return this.#options
  }

  get closed(): boolean {
    return this.#closed
  }

  report(): SubscriptionReport {
    return { relays: this.#reads.map((read) => read.outcome()), events: this.#deliveredCount }
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#options.signal?.removeEventListener('abort', this.#onAbort)
    for (const read of this.#reads) read.stop()
    this.#services.forget(this)
    this.#settle()
  }

  /** A valid copy of an event arrived from a relay. */
  accept(event: NostrEvent, read: RelayRead): boolean {
    if (this.#closed) return false
    this.#services.eventSeen(event, read.url)
    if (this.#delivered.has(event.id)) {
      this.#call(() => this.#options.onSeen?.(event.id, read.url))
      return false
    }
    this.#delivered.add(event.id)
    this.#deliveredCount += 1
    this.#call(() => this.#options.onEvent?.(event, read.url))
    return true
  }

  /** A copy went to the intake (its verdict may come after the relay's outcome is known). */
  copySubmitted(): void {
    this.#undecided += 1
  }

  /** A copy was decided; the last one may let the subscription settle. */
  copyDecided(): void {
    this.#undecided -= 1
    if (this.#undecided === 0) this.#checkSettled()
  }

  statusChanged(read: RelayRead): void {
    this.#call(() => this.#options.onRelayStatus?.(read.outcome()))
    this.#checkSettled()
  }

  #checkSettled(): void {
    if (this.#settled || this.#undecided > 0 || this.#reads.some((read) => read.status === 'pending')) return
    this.#settle()
  }

  #settle(): void {
    if (this.#settled) return
    this.#settled = true
    const report = this.report()
    this.#call(() => this.#options.onEose?.(report))
    this.#resolve(report)
  }

  #call(listener: () => void): void {
    try {
      listener()
    } catch (error) {
      this.#services.listenerFailed(error)
    }
  }
}

/** One relay's part of a subscription. Internal. */
class RelayRead {
  readonly url: string
  readonly #subscription: PoolSubscription
  #outcome: { status: RelayReadStatus; code?: RelayErrorCode; prefix?: MachinePrefix; message?: string; eoseMs?: number }
  #events = 0
  #firstSeen = 0
  #reqs: RelayReq[] = []
  #timer: ReturnType<typeof setTimeout> | undefined
  #startedAt = 0
  #stopped = false
  /** Waiting for the connect gate's answer: nothing has touched the relay yet. */
  #awaitingApproval = false

  constructor(subscription: PoolSubscription, url: string, refused: RelayReadOutcome | undefined) {
    this.#subscription = subscription
    this.url = url
    this.#outcome = refused === undefined ? { status: 'pending' } : { ...refused }
  }

  get status(): RelayReadStatus {
    return this.#outcome.status
  }

  get subscription(): PoolSubscription {
    return this.#subscription
  }

  outcome(): RelayReadOutcome {
    return { url: this.url, ...this.#outcome, events: this.#events, firstSeen: this.#firstSeen }
  }

  begin(): void {
    if (this.#outcome.status !== 'pending') return
    const services = this.#subscription.services
    this.#startedAt = services.now()
    const timeout = this.#subscription.options.eoseTimeoutMs ?? services.eoseTimeoutMs
    this.#timer = setTimeout(() => this.#timedOut(), timeout)
    const approval = services.approve(this.url, this.#subscription.options.origin ?? 'discovered')
    if (approval === true) this.#connect()
    else if (approval === false) this.finish('refused', NOT_APPROVED)
    else {
      this.#awaitingApproval = true
      void approval.then((approved) => {
        this.#awaitingApproval = false
        if (this.#stopped) return
        if (approved) this.#connect()
        else this.finish('refused', NOT_APPROVED)
      })
    }
  }

  /** Past the connect gate: connect, fetch the limits, send the REQs. */
  #connect(): void {
    const services = this.#subscription.services
    const connection = services.connection(this.url)
    // Connect while the relay's NIP-11 limits are fetched; plan the REQs once the limits are known.
    connection.warmUp()
    services.limitsFor(this.url).then(
      (limits) => this.#plan(connection, limits),
      (error: unknown) => this.finish('failed', errorFields(error)),
    )
  }

  #plan(connection: RelayConnection, limits: RelayLimits): void {
    if (this.#stopped) return
    let groups: Filter[][]
    try {
      groups = splitFiltersForRelay(this.#subscription.filters, limits)
    } catch (error) {
      this.finish('refused', errorFields(error))
      return
    }
    this.#reqs = groups.map((filters) => new RelayReq(this, connection, filters))
    if (this.#reqs.length === 0) {
      this.finish('eose', {})
      return
    }
    for (const req of this.#reqs) connection.addSubscription(req)
  }

  /** A REQ reached EOSE; the relay is done once all of them have. */
  reqEose(): void {
    if (this.#outcome.status !== 'pending') return
    if (!this.#reqs.every((req) => req.eosed)) return
    const services = this.#subscription.services
    const elapsed = services.now() - this.#startedAt
    const stats = services.stats(this.url)
    stats.eoseLatencyMs = HealthBook.smooth(stats.eoseLatencyMs, elapsed)
    this.finish('eose', { eoseMs: elapsed })
    if (this.#subscription.options.closeOnEose === true) this.stop()
  }

  delivered(first: boolean): void {
    this.#events += 1
    if (first) this.#firstSeen += 1
  }

  /** Moves to a final outcome (only from `pending`) and tells the subscription. */
  finish(status: RelayReadStatus, fields: { code?: RelayErrorCode; prefix?: MachinePrefix; message?: string; eoseMs?: number }): void {
    if (this.#outcome.status !== 'pending') return
    this.#clearTimer()
    this.#outcome = { status, ...fields }
    this.#subscription.statusChanged(this)
  }

  /** The whole relay's part ends: every REQ leaves the connection. */
  stop(): void {
    this.#stopped = true
    this.#clearTimer()
    for (const req of this.#reqs) req.remove()
    if (this.#outcome.status === 'pending') {
      this.#outcome = { status: 'aborted' }
      this.#subscription.statusChanged(this)
    }
  }

  #timedOut(): void {
    this.#timer = undefined
    if (this.#outcome.status !== 'pending') return
    if (this.#awaitingApproval) {
      // Nobody answered the connect gate: not the relay's fault, so nothing is recorded against it.
      // A live subscription goes on waiting; the relay is read once (if) the answer is yes.
      this.finish('timeout', { code: 'RELAY_TIMEOUT', message: 'connect approval not answered in time' })
      if (this.#subscription.options.closeOnEose === true) this.stop()
      return
    }
    this.#subscription.services.stats(this.url).eoseTimeouts += 1
    this.finish('timeout', { code: 'RELAY_TIMEOUT', message: 'no EOSE in time' })
    // A one-shot query gives up on the relay; a live subscription keeps its REQs open.
    if (this.#subscription.options.closeOnEose === true) this.stop()
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer)
      this.#timer = undefined
    }
  }
}

/** One REQ on one connection: a {@link WireSubscription}. Internal. */
class RelayReq implements WireSubscription {
  readonly #read: RelayRead
  readonly #connection: RelayConnection
  readonly #filters: readonly Filter[]
  #sent: readonly Filter[]
  eosed = false
  #beforeEose = 0
  #pending = 0
  #deferred: (() => void) | undefined
  #newestSeen: number | undefined
  #authTried = false
  #removed = false
  #started = false
  #everEosed = false

  constructor(read: RelayRead, connection: RelayConnection, filters: readonly Filter[]) {
    this.#read = read
    this.#connection = connection
    this.#filters = filters
    this.#sent = filters
  }

  start(subId: string): void {
    if (this.#removed) return
    if (this.#newestSeen !== undefined && this.#everEosed) {
      // Resuming after a reconnect: ask only for what is newer than what this relay already gave.
      // (Before EOSE, stored events come newest first, so `since` would skip older ones not yet
      // received: then the original filters are sent again and duplicates are dropped by id.)
      const slack = this.#read.subscription.options.resumeSlackSeconds ?? 0
      const since = Math.max(0, this.#newestSeen - slack)
      this.#sent = this.#filters.map((filter) => {
        const { limit: _limit, ...rest } = filter
        return { ...rest, since: Math.max(filter.since ?? 0, since) }
      })
    }
    this.#started = true
    this.eosed = false
    this.#beforeEose = 0
    this.#connection.send(encodeReq(subId, this.#sent))
  }

  onEvent(event: NostrEvent): void {
    if (this.#removed) return
    const services = this.#read.subscription.services
    const stats = services.stats(this.#read.url)
    if (!matchFilters(this.#sent, event)) {
      stats.eventsNotMatchingFilter += 1
      stats.demerits += 1
      return
    }
    if (!this.eosed) {
      this.#beforeEose += 1
      const allowed = Math.min(expectedEventCount(this.#sent) + services.maxEventsBeyondLimit, services.maxEventsBeforeEose)
      if (this.#beforeEose > allowed) {
        stats.eventsBeyondLimit += 1
        if (this.#beforeEose === allowed + 1) {
          stats.demerits += 1
          // Stop the flood now (CLOSE); report once the copies already taken in are decided.
          this.remove()
          this.#whenDrained(() => this.#read.finish('flooded', { message: `more than ${allowed} events before EOSE` }))
        }
        return
      }
    }
    this.#pending += 1
    const subscription = this.#read.subscription
    subscription.copySubmitted()
    services.intake.submit(event, (verdict, firstVerification) => {
      this.#pending -= 1
      if (verdict === 'valid') {
        // Clamped to the clock: one event dated in the future would otherwise move the resume
        // point past every honest event sent while the connection was down.
        const at = Math.min(event.created_at, Math.floor(services.now() / 1000))
        if (this.#newestSeen === undefined || at > this.#newestSeen) this.#newestSeen = at
        if (firstVerification) stats.eventsFirstSeen += 1
        if (!services.admitEvent(event, this.#read.url, this.#filters)) {
          // Judged per copy, before de-duplication: the same event may still come from a relay
          // the hook trusts.
          stats.eventsNotAdmitted += 1
        } else {
          // Copies decided after the REQ left (flood cut-off) were received in good standing.
          const first = this.#read.subscription.accept(event, this.#read)
          if (!this.#read.subscription.closed) this.#read.delivered(first)
        }
      } else if (verdict === 'invalid') {
        stats.eventsBadSignature += 1
        stats.demerits += 1
      } else {
        stats.invalidMessages['intake-overflow'] = (stats.invalidMessages['intake-overflow'] ?? 0) + 1
      }
      if (this.#pending === 0 && this.#deferred !== undefined) {
        const run = this.#deferred
        this.#deferred = undefined
        run()
      }
      subscription.copyDecided()
    }, this.#read.url)
  }

  onEose(): void {
    if (this.#removed) return
    this.#whenDrained(() => {
      this.eosed = true
      this.#everEosed = true
      this.#read.reqEose()
    })
  }

  onClosed(prefix: MachinePrefix | undefined, reason: string, message: string): void {
    if (this.#removed) return
    this.#whenDrained(() => this.#closedByRelay(prefix, reason, message))
  }

  #closedByRelay(prefix: MachinePrefix | undefined, reason: string, message: string): void {
    if (prefix === 'auth-required' && !this.#authTried) {
      this.#authTried = true
      const signal = this.#read.subscription.options.signal ?? NEVER_ABORTED
      this.#connection.authenticate(signal).then(
        () => {
          if (!this.#removed) this.#connection.addSubscription(this)
        },
        (error: unknown) => {
          this.#removed = true
          this.#read.finish('auth-required', { ...errorFields(error), prefix, message })
        },
      )
      return
    }
    this.#removed = true
    if (prefix === 'auth-required') {
      this.#read.finish('auth-required', { code: 'RELAY_AUTH_FAILED', prefix, message })
      return
    }
    if (prefix === 'rate-limited') this.#connection.recordFailure('rate-limited', reason)
    this.#read.finish('closed', { prefix, message })
  }

  get origin(): RelayOrigin {
    return this.#read.subscription.options.origin ?? 'discovered'
  }

  onDisconnect(error: RelayError): boolean {
    if (this.#removed) return false
    const subscription = this.#read.subscription
    const live = subscription.options.closeOnEose !== true && !subscription.closed
    this.#read.finish(this.#started ? 'disconnected' : 'failed', errorFields(error))
    if (!live) this.#removed = true
    return live
  }

  /** Runs `action` once every copy of this REQ in the intake has been decided, keeping order. */
  #whenDrained(action: () => void): void {
    if (this.#pending === 0) action()
    else {
      const previous = this.#deferred
      this.#deferred = previous === undefined ? action : () => {
        previous()
        action()
      }
    }
  }

  remove(): void {
    if (this.#removed) return
    this.#removed = true
    this.#connection.removeSubscription(this, true)
  }
}


/** The outcome fields of a relay the connect gate refused. */
const NOT_APPROVED = Object.freeze({ code: 'RELAY_REFUSED_BY_POLICY', message: 'not-approved' } as const)

/** The code and message of a failure, for an outcome. Internal. */
export function errorFields(error: unknown): { code?: RelayErrorCode; message?: string } {
  if (error instanceof RelayError) return { code: error.code as RelayErrorCode, message: error.message }
  return { message: error instanceof Error ? error.message : String(error) }
}
