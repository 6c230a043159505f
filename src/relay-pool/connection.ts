/**
 * One WebSocket connection to one relay: connecting (lazily, with a timeout, behind the global
 * connection cap and the relay's penalty box), a send queue while connecting, parsing every
 * incoming message before use, the per-relay subscription scheduler that keeps within the relay's
 * `max_subscriptions`, NIP-42 AUTH, reconnecting live subscriptions, and closing when idle.
 *
 * The pool owns one `RelayConnection` per normalised URL. Nothing here throws into the WebSocket's
 * callbacks: every failure becomes a state change, a counted statistic, or a rejected promise that
 * somebody awaits.
 *
 * @module
 */

import type { NostrEvent } from '../crypto/event.js'
import type { Signer } from '../crypto/signer.js'
import { RelayError } from '../errors.js'
import { NEVER_ABORTED, raceAbort, withTimeout } from './abort.js'
import type { FailureKind, RelayBackoff } from './backoff.js'
import { HealthBook, type RelayStats } from './health.js'
import { encodeAuth, encodeClose, encodeEventMessage, parseRelayMessage, type RelayMessage } from './messages.js'
import type { MachinePrefix, RelayLimits, RelayOrigin, WebSocketFactory, WebSocketLike } from './types.js'

/** The answer to an EVENT or AUTH message, or why none came. */
export type OkAnswer =
  | { readonly kind: 'ok'; readonly accepted: boolean; readonly prefix: MachinePrefix | undefined; readonly message: string; readonly reason: string }
  | { readonly kind: 'disconnected' }

/**
 * A REQ's worth of filters riding on a connection. The connection grants it a subscription slot
 * (`start`), routes its messages to it, and tells it when the socket goes away.
 */
export interface WireSubscription {
  /** Called when a slot is granted: send the REQ with this subscription id. */
  start(subId: string): void
  /** An EVENT for this subscription (shape-checked, nothing else yet). */
  onEvent(event: NostrEvent): void
  /** EOSE for this subscription. */
  onEose(): void
  /** CLOSED from the relay for this subscription. */
  onClosed(prefix: MachinePrefix | undefined, reason: string, message: string): void
  /**
   * The socket went away (or never opened: `error` says why). Return true to be started again once
   * it reconnects (live subscriptions).
   */
  onDisconnect(error: RelayError): boolean
  /** Who chose the relay for this subscription: a reconnect is admitted and approved as for it. */
  readonly origin?: RelayOrigin
}

/** What the pool lends each connection. */
export interface ConnectionServices {
  readonly url: string
  readonly stats: RelayStats
  readonly backoff: RelayBackoff
  readonly webSocketFactory: WebSocketFactory
  readonly maxMessageBytes: number
  readonly connectTimeoutMs: number
  readonly authTimeoutMs: number
  readonly idleTimeoutMs: number
  readonly signer: Signer | undefined
  /** The relay's current limits (NIP-11 or defaults). */
  limits(): RelayLimits
  /** Fetches the relay's NIP-11 document (bounded in time, never rejects). */
  prepare(signal: AbortSignal): Promise<void>
  /** Waits for a place under the global connection cap. */
  acquireSlot(connection: RelayConnection, signal: AbortSignal): Promise<void>
  /** Gives the place back. */
  releaseSlot(connection: RelayConnection): void
  /**
   * Whether a dropped connection may come back for subscriptions of this origin: the relay is still
   * allowed, not blocked and approved (the app may have withdrawn its yes since). Never rejects.
   */
  reconnectAllowed(origin: RelayOrigin): boolean | Promise<boolean>
  /** Whether the AUTH policy allows authenticating to this relay. */
  authAllowed(): Promise<boolean>
  /** A relay NOTICE, for the app. */
  onNotice(message: string): void
  /** Whether connections should close as soon as they are idle (someone waits for a place under the cap). */
  idleWanted(): boolean
  /** Current time in ms. */
  now(): number
}

type State = 'idle' | 'connecting' | 'open' | 'closed'

const SEND_QUEUE_LIMIT = 1_000
const WS_OPEN = 1

/** One relay connection. Internal to the pool; see the module comment. */
export class RelayConnection {
  readonly url: string
  readonly #services: ConnectionServices
  #state: State = 'idle'
  #socket: WebSocketLike | undefined
  #connecting: Promise<void> | undefined
  #connectAbort: AbortController | undefined
  #sendQueue: string[] = []
  #holdsSlot = false
  #poolClosed = false

  readonly #active = new Map<string, WireSubscription>()
  readonly #waiting: WireSubscription[] = []
  readonly #resumable = new Set<WireSubscription>()
  readonly #okWaiters = new Map<string, Set<(answer: OkAnswer) => void>>()
  #nextSubId = 0

  #challenge: string | undefined
  readonly #challengeWaiters = new Set<() => void>()
  #authenticating: Promise<void> | undefined
  #authenticatedChallenge: string | undefined

  #idleTimer: ReturnType<typeof setTimeout> | undefined
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined
  /** The reconnect's gates are being asked (see #scheduleReconnect). */
  #reconnectPending = false
  #lastUsed: number

  constructor(services: ConnectionServices) {
    this.url = services.url
    this.#services = services
    this.#lastUsed = services.now()
  }

  /** Whether the connection counts against the global cap (open or connecting). */
  get holdsSlot(): boolean {
    return this.#holdsSlot
  }

  /** Whether nothing uses the connection: no subscriptions, no answers awaited. */
  get isIdle(): boolean {
    return (
      this.#active.size === 0 &&
      this.#waiting.length === 0 &&
      this.#resumable.size === 0 &&
      this.#okWaiters.size === 0 &&
      this.#authenticating === undefined
    )
  }

  /** When the connection was last used (ms), for evicting the least recently used idle one. */
  get lastUsed(): number {
    return this.#lastUsed
  }

  /**
   * Opens the socket unless it is open; concurrent callers share one attempt. Rejects with
   * `RELAY_CONNECTION_FAILED` (refused, closed, or in the penalty box), `RELAY_TIMEOUT`,
   * `RELAY_ABORTED` or `RELAY_POOL_CLOSED`.
   */
  async open(signal: AbortSignal): Promise<void> {
    this.#touch()
    if (this.#poolClosed) throw new RelayError('RELAY_POOL_CLOSED', 'The relay pool is closed', { details: this.url })
    if (this.#state === 'open') return
    if (this.#connecting === undefined) {
      const backoff = this.#services.backoff
      if (backoff.isBoxed()) {
        const error = new RelayError('RELAY_CONNECTION_FAILED', 'Relay is in its penalty box after recent failures', {
          details: `${this.url} (retry in ${Math.ceil(backoff.remainingMs() / 1000)} s)`,
        })
        this.#failWaiters(error)
        this.#scheduleReconnect()
        throw error
      }
      const attempt = this.#connect()
      this.#connecting = attempt
      attempt.then(
        () => {
          this.#connecting = undefined
        },
        () => {
          this.#connecting = undefined
        },
      )
    }
    await raceAbort(this.#connecting, signal, () => aborted(this.url))
  }

  async #connect(): Promise<void> {
    const services = this.#services
    const controller = new AbortController()
    this.#connectAbort = controller
    this.#state = 'connecting'
    let lostWhilePreparing = false
    try {
      await services.acquireSlot(this, controller.signal)
      this.#holdsSlot = true
      // close() may have run while this attempt waited for a place under the cap.
      if (controller.signal.aborted) throw new RelayError('RELAY_ABORTED', 'Connecting was aborted', { details: this.url })
      const started = services.now()
      services.stats.connectAttempts += 1
      const opening = this.#openSocket(controller.signal)
      const socket = this.#socket
      await Promise.all([opening, services.prepare(controller.signal)])
      if (controller.signal.aborted) throw new RelayError('RELAY_ABORTED', 'Connecting was aborted', { details: this.url })
      if (socket === undefined || this.#socket !== socket) {
        // The socket opened and closed again while the NIP-11 document was loading; its close
        // was handled (and recorded) already.
        lostWhilePreparing = true
        throw new RelayError('RELAY_CONNECTION_FAILED', 'Relay closed the connection right after opening it', { details: this.url })
      }
      services.stats.connectSuccesses += 1
      services.stats.connectLatencyMs = HealthBook.smooth(services.stats.connectLatencyMs, services.now() - started)
      this.#state = 'open'
      this.#provenHealthy = false
      // A cap learned from "too many subscriptions" belongs to the old socket's load.
      this.#learnedCap = undefined
      this.#flushSendQueue()
      this.#resumeSubscriptions()
      this.#pump()
      this.#scheduleIdleCheck()
    } catch (error) {
      // Stop the NIP-11 fetch too when the socket failed first.
      controller.abort()
      this.#dropSocket()
      this.#state = this.#poolClosed ? 'closed' : 'idle'
      this.#sendQueue = []
      if (!this.#poolClosed && !lostWhilePreparing && !(error instanceof RelayError && error.code === 'RELAY_ABORTED')) {
        const kind: FailureKind = error instanceof RelayError && error.code === 'RELAY_TIMEOUT' ? 'connect-timeout' : 'connect-refused'
        this.#recordFailure(kind, error instanceof Error ? error.message : String(error))
      }
      this.#failWaiters(asRelayError(error, this.url))
      this.#scheduleReconnect()
      throw error
    } finally {
      if (this.#connectAbort === controller) this.#connectAbort = undefined
    }
  }

  #openSocket(signal: AbortSignal): Promise<void> {
    const services = this.#services
    return new Promise<void>((resolve, reject) => {
      if (signal.aborted) {
        reject(new RelayError('RELAY_ABORTED', 'Connecting was aborted', { details: this.url }))
        return
      }
      let socket: WebSocketLike
      try {
        socket = services.webSocketFactory(this.url)
      } catch (cause) {
        reject(new RelayError('RELAY_CONNECTION_FAILED', 'Could not open a WebSocket', { details: this.url, cause }))
        return
      }
      this.#socket = socket
      let settled = false
      let opened = false
      const finish = (error?: RelayError): void => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        signal.removeEventListener('abort', onAbort)
        if (error === undefined) resolve()
        else reject(error)
      }
      const timer = setTimeout(() => {
        finish(new RelayError('RELAY_TIMEOUT', 'Relay did not accept the connection in time', { details: this.url }))
      }, services.connectTimeoutMs)
      const onAbort = (): void => {
        finish(new RelayError('RELAY_ABORTED', 'Connecting was aborted', { details: this.url }))
      }
      signal.addEventListener('abort', onAbort, { once: true })
      socket.onopen = () => {
        opened = true
        finish()
      }
      socket.onerror = (event) => {
        // `ws` reports a frame over maxPayload as an error, then closes the socket (1009).
        if (isOversizeError(event)) this.#oversized = true
        // A proxy's own error (`RELAY_PROXY_FAILED: host-unreachable`, ...) says more than ours.
        const cause = (event as { error?: unknown } | null)?.error
        if (cause instanceof RelayError && cause.code !== 'RELAY_ABORTED') {
          finish(new RelayError(cause.code, cause.shortMessage, { details: `${this.url}: ${cause.details ?? ''}`, cause }))
          return
        }
        finish(new RelayError('RELAY_CONNECTION_FAILED', 'WebSocket error while connecting', { details: this.url }))
      }
      socket.onclose = (event) => {
        if (!settled) {
          finish(new RelayError('RELAY_CONNECTION_FAILED', 'Relay closed the connection while connecting', { details: `${this.url} (code ${String(event?.code ?? '?')})` }))
        } else if (opened) {
          this.#onSocketClosed(socket)
        }
        // Else the attempt failed already (an error event comes before its close): that failure
        // is the one reported and recorded, once.
      }
      socket.onmessage = (event) => {
        if (this.#socket === socket) this.#onMessage(event.data)
      }
    })
  }

  /** Sends now if open, queues while connecting; false when neither (the caller decides what that means). */
  send(text: string): boolean {
    this.#touch()
    if (this.#state === 'open' && this.#socket !== undefined && this.#socket.readyState === WS_OPEN) {
      try {
        this.#socket.send(text)
        return true
      } catch {
        return false
      }
    }
    if (this.#state === 'connecting' && this.#sendQueue.length < SEND_QUEUE_LIMIT) {
      this.#sendQueue.push(text)
      return true
    }
    return false
  }

  #flushSendQueue(): void {
    const queue = this.#sendQueue
    this.#sendQueue = []
    for (const text of queue) this.send(text)
  }

  // ---- subscriptions ------------------------------------------------------------------------

  /** Asks for a subscription slot; `start` runs when one is free and the socket is open. */
  addSubscription(subscription: WireSubscription): void {
    this.#touch()
    this.#cancelIdle()
    this.#waiting.push(subscription)
    this.warmUp()
    this.#pump()
  }

  /**
   * Starts connecting unless open or connecting already. Failures reach the waiting subscriptions
   * through `onDisconnect`, so nothing needs to await this.
   */
  warmUp(): void {
    if (this.#state === 'open' || this.#connecting !== undefined) return
    if (this.#poolClosed) {
      this.#failWaiters(new RelayError('RELAY_POOL_CLOSED', 'The relay pool is closed', { details: this.url }))
      return
    }
    this.open(NEVER_ABORTED).catch(() => {
      // Reported to the waiting subscriptions and recorded in the backoff already.
    })
  }

  /**
   * Removes a subscription (on EOSE of a one-shot query, on close, on CLOSED): sends CLOSE when it
   * is still open on the relay's side and frees its slot for the next one waiting.
   */
  removeSubscription(subscription: WireSubscription, sendClose: boolean): void {
    const waitingIndex = this.#waiting.indexOf(subscription)
    if (waitingIndex >= 0) this.#waiting.splice(waitingIndex, 1)
    this.#resumable.delete(subscription)
    if (this.#resumable.size === 0 && this.#reconnectTimer !== undefined) {
      // Nobody is left to resume: do not reconnect for nothing.
      clearTimeout(this.#reconnectTimer)
      this.#reconnectTimer = undefined
    }
    for (const [subId, active] of this.#active) {
      if (active !== subscription) continue
      this.#active.delete(subId)
      if (sendClose) this.send(encodeClose(subId))
    }
    this.#pump()
    this.#scheduleIdleCheck()
  }

  #learnedCap: number | undefined
  #oversized = false
  /** Whether this socket has answered something (EOSE or OK): only then is the backoff reset. */
  #provenHealthy = false
  readonly #requeued = new WeakSet<WireSubscription>()

  #cap(): number {
    const published = this.#services.limits().maxSubscriptions
    return this.#learnedCap === undefined ? published : Math.min(published, this.#learnedCap)
  }

  #pump(): void {
    if (this.#state !== 'open') return
    while (this.#waiting.length > 0 && this.#active.size < this.#cap()) {
      const next = this.#waiting.shift() as WireSubscription
      this.#nextSubId += 1
      const subId = `rz${this.#nextSubId.toString(36)}`
      this.#active.set(subId, next)
      try {
        next.start(subId)
      } catch {
        this.#active.delete(subId)
      }
    }
  }

  #resumeSubscriptions(): void {
    const resumable = [...this.#resumable]
    this.#resumable.clear()
    this.#waiting.unshift(...resumable)
  }

  // ---- publishing and AUTH --------------------------------------------------------------------

  /**
   * Sends an EVENT and waits for its OK. Resolves with the answer, or `disconnected` when the
   * socket went away first; rejects with `RELAY_TIMEOUT` or `RELAY_ABORTED`.
   */
  sendEvent(event: NostrEvent, timeoutMs: number, signal: AbortSignal): Promise<OkAnswer> {
    return this.#sendAndAwaitOk(event.id, encodeEventMessage(event), timeoutMs, signal)
  }

  #sendAndAwaitOk(id: string, text: string, timeoutMs: number, signal: AbortSignal): Promise<OkAnswer> {
    this.#cancelIdle()
    return new Promise<OkAnswer>((resolve, reject) => {
      let waiters = this.#okWaiters.get(id)
      if (waiters === undefined) {
        waiters = new Set()
        this.#okWaiters.set(id, waiters)
      }
      const set = waiters
      const done = (): void => {
        clearTimeout(timer)
        signal.removeEventListener('abort', onAbort)
        set.delete(waiter)
        if (set.size === 0 && this.#okWaiters.get(id) === set) this.#okWaiters.delete(id)
        this.#scheduleIdleCheck()
      }
      const waiter = (answer: OkAnswer): void => {
        done()
        resolve(answer)
      }
      const timer = setTimeout(() => {
        done()
        reject(new RelayError('RELAY_TIMEOUT', 'Relay did not answer OK in time', { details: this.url }))
      }, timeoutMs)
      const onAbort = (): void => {
        done()
        reject(new RelayError('RELAY_ABORTED', 'Aborted while waiting for OK', { details: this.url }))
      }
      set.add(waiter)
      if (signal.aborted) {
        onAbort()
        return
      }
      signal.addEventListener('abort', onAbort, { once: true })
      if (!this.send(text)) waiter({ kind: 'disconnected' })
    })
  }

  /**
   * Authenticates with NIP-42 (once per challenge; concurrent callers share it). Rejects with
   * `RELAY_AUTH_FAILED` when the policy forbids it, there is no signer, the signer refuses or the
   * relay says no; `RELAY_TIMEOUT` when no challenge or answer comes.
   */
  async authenticate(signal: AbortSignal): Promise<void> {
    if (this.#challenge !== undefined && this.#authenticatedChallenge === this.#challenge) return
    if (this.#authenticating === undefined) {
      // The attempt is shared, so it must not hang on one caller's signal: it runs on its own,
      // bounded by authTimeoutMs at every step, and each caller may leave early.
      const attempt = this.#authenticate(NEVER_ABORTED)
      this.#authenticating = attempt
      const clear = (): void => {
        if (this.#authenticating === attempt) this.#authenticating = undefined
        this.#scheduleIdleCheck()
      }
      attempt.then(clear, clear)
    }
    await raceAbort(this.#authenticating, signal, () => aborted(this.url))
  }

  async #authenticate(signal: AbortSignal): Promise<void> {
    const services = this.#services
    const signer = services.signer
    if (signer === undefined) {
      throw new RelayError('RELAY_AUTH_FAILED', 'Relay wants AUTH but the pool has no signer', { details: this.url })
    }
    if (!(await services.authAllowed())) {
      throw new RelayError('RELAY_AUTH_FAILED', 'The AUTH policy does not allow authenticating to this relay', { details: this.url })
    }
    const challenge = await this.#waitForChallenge(signal)
    let auth: NostrEvent
    try {
      auth = await withTimeout(signer.signEvent({
        kind: 22242,
        created_at: Math.floor(services.now() / 1000),
        tags: [
          ['relay', this.url],
          ['challenge', challenge],
        ],
        content: '',
      }), services.authTimeoutMs)
    } catch (cause) {
      this.#recordFailure('auth', 'signer refused AUTH')
      throw new RelayError('RELAY_AUTH_FAILED', 'The signer did not sign the AUTH event', { details: this.url, cause })
    }
    const answer = await this.#sendAndAwaitOk(auth.id, encodeAuth(auth), services.authTimeoutMs, signal)
    if (answer.kind === 'disconnected') {
      throw new RelayError('RELAY_CONNECTION_FAILED', 'Connection lost during AUTH', { details: this.url })
    }
    if (!answer.accepted) {
      this.#recordFailure('auth', answer.message)
      throw new RelayError('RELAY_AUTH_FAILED', 'Relay rejected AUTH', { details: `${this.url}: ${answer.message}` })
    }
    this.#authenticatedChallenge = challenge
  }

  #waitForChallenge(signal: AbortSignal): Promise<string> {
    if (this.#challenge !== undefined) return Promise.resolve(this.#challenge)
    return new Promise<string>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer)
        signal.removeEventListener('abort', onAbort)
        this.#challengeWaiters.delete(onChallenge)
      }
      const onChallenge = (): void => {
        done()
        if (this.#challenge === undefined) reject(new RelayError('RELAY_CONNECTION_FAILED', 'Connection lost before AUTH', { details: this.url }))
        else resolve(this.#challenge)
      }
      const timer = setTimeout(() => {
        done()
        reject(new RelayError('RELAY_TIMEOUT', 'Relay asked for AUTH but sent no challenge', { details: this.url }))
      }, this.#services.authTimeoutMs)
      const onAbort = (): void => {
        done()
        reject(new RelayError('RELAY_ABORTED', 'Aborted while waiting for an AUTH challenge', { details: this.url }))
      }
      if (signal.aborted) {
        onAbort()
        return
      }
      signal.addEventListener('abort', onAbort, { once: true })
      this.#challengeWaiters.add(onChallenge)
    })
  }

  // ---- incoming -------------------------------------------------------------------------------

  #onMessage(data: unknown): void {
    this.#touch()
    const services = this.#services
    const message = parseRelayMessage(data, services.maxMessageBytes)
    if (message.type === 'invalid') {
      this.countInvalid(message.reason)
      return
    }
    this.#dispatch(message)
  }

  /** Counts a bad message by reason; malformed traffic is a demerit. */
  countInvalid(reason: string): void {
    const stats = this.#services.stats
    stats.invalidMessages[reason] = (stats.invalidMessages[reason] ?? 0) + 1
    stats.demerits += 1
  }

  #dispatch(message: RelayMessage): void {
    const stats = this.#services.stats
    switch (message.type) {
      case 'EVENT': {
        const target = this.#active.get(message.subId)
        stats.eventsReceived += 1
        // Events for a subscription we already closed are normal (they cross the CLOSE on the wire).
        if (target === undefined) {
          stats.invalidMessages['unknown-subscription'] = (stats.invalidMessages['unknown-subscription'] ?? 0) + 1
          return
        }
        target.onEvent(message.event)
        return
      }
      case 'EOSE':
        this.#markHealthy()
        this.#active.get(message.subId)?.onEose()
        return
      case 'CLOSED': {
        const target = this.#active.get(message.subId)
        if (target === undefined) return
        const key = message.prefix ?? 'none'
        stats.subscriptionsClosed[key] = (stats.subscriptionsClosed[key] ?? 0) + 1
        // The relay's side is closed already: free the slot without sending CLOSE.
        this.#active.delete(message.subId)
        if (message.prefix !== 'auth-required' && looksLikeSubscriptionLimit(message.reason) && !this.#requeued.has(target)) {
          // The relay has less room than it published (or than our default): learn its real cap
          // and put the REQ back in line, once.
          this.#requeued.add(target)
          this.#learnedCap = Math.max(1, Math.min(this.#cap(), this.#active.size))
          this.#waiting.unshift(target)
        } else {
          target.onClosed(message.prefix, message.reason, message.message)
        }
        this.#pump()
        this.#scheduleIdleCheck()
        return
      }
      case 'OK': {
        this.#markHealthy()
        const waiters = this.#okWaiters.get(message.eventId)
        if (waiters === undefined) return
        const answer: OkAnswer = { kind: 'ok', accepted: message.accepted, prefix: message.prefix, message: message.message, reason: message.reason }
        for (const waiter of [...waiters]) waiter(answer)
        return
      }
      case 'AUTH':
        this.#challenge = message.challenge
        for (const waiter of [...this.#challengeWaiters]) waiter()
        return
      case 'NOTICE':
        stats.notices += 1
        this.#services.onNotice(message.message)
        return
      case 'COUNT':
        return
    }
  }

  // ---- closing and reconnecting -----------------------------------------------------------------

  #onSocketClosed(socket: WebSocketLike): void {
    if (this.#socket !== socket) return
    const oversized = this.#oversized
    this.#oversized = false
    this.#dropSocket()
    this.#state = this.#poolClosed ? 'closed' : 'idle'
    if (oversized) {
      // The relay sent a frame larger than we accept: the socket had to go (a frame cannot be
      // skipped unread). Count it like any oversized message and treat it as a protocol breach.
      this.countInvalid('too-large')
      if (!this.#poolClosed) this.#recordFailure('protocol', 'message over maxMessageBytes')
    } else if (!this.#poolClosed) {
      this.#recordFailure('closed-unexpectedly', 'connection closed')
    }
    this.#failWaiters(new RelayError('RELAY_CONNECTION_FAILED', 'Relay closed the connection', { details: this.url }))
    this.#scheduleReconnect()
  }

  /** Tells everyone on this socket it is gone, and keeps the live subscriptions for a reconnect. */
  #failWaiters(error: RelayError): void {
    const everyone = [...this.#active.values(), ...this.#waiting]
    this.#active.clear()
    this.#waiting.length = 0
    for (const subscription of everyone) {
      let resume = false
      try {
        resume = subscription.onDisconnect(error)
      } catch {
        resume = false
      }
      if (resume && !this.#poolClosed) this.#resumable.add(subscription)
    }
    for (const waiters of [...this.#okWaiters.values()]) {
      for (const waiter of [...waiters]) waiter({ kind: 'disconnected' })
    }
    this.#challenge = undefined
    this.#authenticatedChallenge = undefined
    for (const waiter of [...this.#challengeWaiters]) waiter()
  }

  #scheduleReconnect(): void {
    if (this.#poolClosed || this.#resumable.size === 0 || this.#reconnectTimer !== undefined || this.#reconnectPending) return
    const delay = Math.max(0, this.#services.backoff.remainingMs())
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined
      if (this.#resumable.size === 0 || this.#poolClosed) return
      // The gates again, as for a new subscription: the relay may have been blocked or its approval
      // withdrawn while the socket was up. Guarded so a question pending meanwhile is asked once.
      this.#reconnectPending = true
      this.#gateResumable().then((anyLeft) => {
        this.#reconnectPending = false
        if (!anyLeft || this.#resumable.size === 0 || this.#poolClosed) return
        const controller = new AbortController()
        this.open(controller.signal).catch(() => {
          // A failed reconnect is recorded in the backoff; try again after its delay.
          this.#scheduleReconnect()
        })
      })
    }, delay)
  }

  /** Drops the resumable subscriptions whose origin may no longer reach the relay; true when some remain. */
  async #gateResumable(): Promise<boolean> {
    const byOrigin = new Map<RelayOrigin, WireSubscription[]>()
    for (const subscription of this.#resumable) {
      const origin = subscription.origin ?? 'discovered'
      byOrigin.set(origin, [...(byOrigin.get(origin) ?? []), subscription])
    }
    // The app's own choices first: their answer is what a shared, per-relay approval remembers.
    const origins = [...byOrigin.keys()].sort((a, b) => (a === 'configured' ? -1 : b === 'configured' ? 1 : 0))
    for (const origin of origins) {
      let allowed: boolean
      try {
        allowed = (await this.#services.reconnectAllowed(origin)) === true
      } catch {
        allowed = false
      }
      if (allowed) continue
      const refused = new RelayError('RELAY_REFUSED_BY_POLICY', 'Not reconnecting: the relay is no longer allowed', { details: this.url })
      for (const subscription of byOrigin.get(origin) ?? []) {
        this.#resumable.delete(subscription)
        try {
          subscription.onDisconnect(refused)
        } catch {
          // A subscription's bookkeeping failing must not keep the relay alive.
        }
      }
    }
    return this.#resumable.size > 0
  }

  #scheduleIdleCheck(): void {
    if (this.#state !== 'open' || !this.isIdle || this.#idleTimer !== undefined || this.#poolClosed) return
    // Another relay may be waiting for a place under the connection cap: give this one up now.
    if (this.#services.idleWanted()) {
      this.close()
      return
    }
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined
      if (this.isIdle) this.close()
    }, this.#services.idleTimeoutMs)
  }

  #cancelIdle(): void {
    if (this.#idleTimer !== undefined) {
      clearTimeout(this.#idleTimer)
      this.#idleTimer = undefined
    }
  }

  /** The relay answered on this socket: it works, so the reconnect backoff starts over. */
  #markHealthy(): void {
    if (this.#provenHealthy) return
    this.#provenHealthy = true
    this.#services.backoff.recordSuccess()
  }

  #touch(): void {
    this.#lastUsed = this.#services.now()
  }

  #recordFailure(kind: FailureKind, message: string): void {
    const services = this.#services
    services.backoff.recordFailure(kind)
    services.stats.lastFailure = { kind, at: services.now(), message }
  }

  /** Records a failure seen by a caller (a rate limit in an OK, say) in the backoff and stats. */
  recordFailure(kind: FailureKind, message: string): void {
    this.#recordFailure(kind, message)
  }

  /** Closes the socket on purpose (idle, evicted); live subscriptions would reconnect later. */
  close(): void {
    this.#cancelIdle()
    if (this.#reconnectTimer !== undefined) {
      clearTimeout(this.#reconnectTimer)
      this.#reconnectTimer = undefined
    }
    this.#connectAbort?.abort()
    if (this.#socket !== undefined) {
      this.#dropSocket()
      this.#state = this.#poolClosed ? 'closed' : 'idle'
      const reason = this.#poolClosed
        ? new RelayError('RELAY_POOL_CLOSED', 'The relay pool is closed', { details: this.url })
        : new RelayError('RELAY_CONNECTION_FAILED', 'Connection closed', { details: this.url })
      this.#failWaiters(reason)
      this.#scheduleReconnect()
    }
  }

  /** Closes for good: the pool is closing. */
  shutdown(): void {
    this.#poolClosed = true
    this.#resumable.clear()
    this.close()
    this.#state = 'closed'
  }

  #dropSocket(): void {
    const socket = this.#socket
    this.#socket = undefined
    if (socket !== undefined) {
      socket.onopen = null
      socket.onmessage = null
      // A no-op, not null: `ws` throws an 'error' event that nobody listens to (terminating a
      // socket that is still connecting emits one).
      socket.onerror = ignore
      socket.onclose = null
      closeSocket(socket)
    }
    if (this.#holdsSlot) {
      this.#holdsSlot = false
      this.#services.releaseSlot(this)
    }
  }
}

function ignore(): void {}

function aborted(url: string): RelayError {
  return new RelayError('RELAY_ABORTED', 'Aborted', { details: url })
}

/** Whether a CLOSED reason says the relay has no room for another subscription. */
function looksLikeSubscriptionLimit(reason: string): boolean {
  return /too many|max(imum)?[ _-]*(concurrent )?subscriptions|subscription limit|limit of \d+ subscriptions/i.test(reason)
}

function isOversizeError(event: unknown): boolean {
  const error = (event as { error?: { code?: unknown }; message?: unknown } | null)?.error
  return error?.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'
}

function asRelayError(error: unknown, url: string): RelayError {
  if (error instanceof RelayError) return error
  return new RelayError('RELAY_CONNECTION_FAILED', 'Connection failed', { details: url, cause: error })
}

/** Closes a socket in any state without throwing; `ws` sockets are destroyed outright. */
function closeSocket(socket: WebSocketLike): void {
  try {
    const terminate = (socket as { terminate?: () => void }).terminate
    if (typeof terminate === 'function') terminate.call(socket)
    else if (socket.readyState < 2) socket.close(1000)
  } catch {
    // Closing an already-broken socket can throw in some implementations; it is gone either way.
  }
}
