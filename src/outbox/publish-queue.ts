/**
 * The durable publish queue: every publish is written to storage before the first byte goes to a
 * relay, then sent to each target relay and retried with backoff until each target accepts it,
 * rejects it for good, or runs out of attempts. Because the queue lives in storage, a publish
 * interrupted by a crash, a closed tab or a dead network resumes where it stopped
 * ({@link PublishQueue.resume}).
 *
 * Why a queue and not "send and hope": a post that reached none of the author's outboxes is
 * invisible to every outbox-model reader, and a reply that missed the mentioned person's inboxes
 * is never seen by them. The caller must be able to tell "sent" from "still trying" from "failed",
 * at any time, and across restarts.
 *
 * @module
 */
import { type NostrEvent, isEventShape } from '../crypto/event.js'
import { verifyEvent } from '../crypto/signature.js'
import { OutboxError, RelayError, isRendezvousError } from '../errors.js'
import type { PublishOutcome, RelayPool } from '../relay-pool/pool.js'
import { tryNormalizeRelayUrl } from '../relay-pool/url.js'
import type { JsonValue, Storage } from '../storage/types.js'

/**
 * Why a relay is a target of a publish: the author's own outbox, the inbox of a person tagged or
 * mentioned, a DM relay of a recipient, or a relay the caller named. Free-form strings are kept
 * as given.
 */
export type DeliveryReason = 'my-outbox' | 'tagged-inbox' | 'dm-relay' | 'manual' | (string & {})

/**
 * Where one target stands:
 * - `pending`: not delivered yet, attempts remain (includes "never tried yet");
 * - `ok` / `duplicate`: the relay holds the event (final);
 * - `rejected`: the relay refused it for good (`blocked:`, `invalid:`, `restricted:`, `mute:`,
 *   `pow:` — this event's id cannot change, so a PoW demand is final too) (final);
 * - `refused`: our own connect policy will not talk to this relay, or the URL is invalid (final);
 * - `gave-up`: the retry budget ran out (final).
 */
export type TargetStatus = 'pending' | 'ok' | 'duplicate' | 'rejected' | 'refused' | 'gave-up'

/** One relay a publish goes to, and how it went. */
export interface DeliveryTarget {
  /** Normalised relay URL (the input, when it could not be normalised). */
  readonly url: string
  /** Why this relay is a target (several when it is, say, both my outbox and your inbox). */
  readonly reasons: readonly DeliveryReason[]
  readonly status: TargetStatus
  /** Attempts made so far. */
  readonly attempts: number
  /** The relay's last answer (status as the pool reported it, prefix and message). */
  readonly last?: { readonly status: string; readonly prefix?: string; readonly message?: string; readonly at: number }
  /** When the next attempt is due (ms since the epoch), for `pending` targets that were tried. */
  readonly nextAttemptAt?: number
}

/**
 * The state of a publish as a whole:
 * - `pending`: no relay holds the event yet, and some target is still being tried. A publish that
 *   reached no relay is never reported as sent;
 * - `partial`: at least one relay holds it, and some targets are still being tried;
 * - `sent`: every target is final and at least one relay holds it;
 * - `failed`: every target is final and no relay holds it.
 */
export type DeliveryState = 'pending' | 'partial' | 'sent' | 'failed'

/** The delivery report of one publish. */
export interface DeliveryReport {
  readonly eventId: string
  readonly state: DeliveryState
  /** Relays that hold the event (`ok` or `duplicate`). */
  readonly accepted: number
  readonly targets: readonly DeliveryTarget[]
  /** When the publish was queued (ms since the epoch). */
  readonly createdAt: number
  /** Last change (ms since the epoch). */
  readonly updatedAt: number
}

/** A relay to publish to, and why. */
export interface PublishTarget {
  readonly url: string
  readonly reason?: DeliveryReason
}

/** Options of {@link createPublishQueue}. */
export interface PublishQueueOptions {
  /** The pool that talks to relays. The queue does not close it. */
  readonly pool: Pick<RelayPool, 'publish'>
  /** Where the queue lives. The queue does not close it. */
  readonly storage: Storage
  /**
   * Attempts per target before it is given up.
   * @default 8
   */
  readonly maxAttempts?: number
  /**
   * Delay before the first retry, in ms; doubled per attempt, with jitter (between half and all of it).
   * @default 2000
   */
  readonly baseDelayMs?: number
  /**
   * Largest delay between attempts, in ms.
   * @default 600_000
   */
  readonly maxDelayMs?: number
  /**
   * How long finished publishes stay readable in storage, in ms; {@link PublishQueue.prune} drops older ones.
   * @default 604_800_000 (7 days)
   */
  readonly retainMs?: number
  /** Per-relay time to OK, passed to the pool. Default: the pool's. */
  readonly timeoutMs?: number
  /**
   * Called when the queue could not persist a change (the publish goes on in memory and the write
   * is retried at the next change).
   */
  readonly onError?: (error: unknown) => void
  /** Clock in ms. @default Date.now */
  readonly now?: () => number
  /** Random source in [0, 1) for jitter. @default Math.random */
  readonly random?: () => number
}

/** A queued publish. */
export interface DeliveryHandle {
  readonly eventId: string
  /** The report as it stands now. */
  report(): DeliveryReport
  /** Resolves when every target is final, or when the queue is closed (with the report then). */
  readonly settled: Promise<DeliveryReport>
}

/** The queue; see {@link createPublishQueue}. */
export interface PublishQueue {
  /**
   * Queue `event` for `targets`: written to storage first (when that fails the promise rejects and
   * nothing is sent), then sent. Publishing an event already queued adds the new targets to it.
   */
  publish(event: NostrEvent, targets: readonly PublishTarget[]): Promise<DeliveryHandle>
  /** The report of a publish, from memory or storage; `undefined` when unknown. */
  report(eventId: string): Promise<DeliveryReport | undefined>
  /** Reports of every publish not yet final, oldest first. */
  pending(): Promise<DeliveryReport[]>
  /**
   * Every publish the queue holds in memory or storage, pending or finished within `retainMs`
   * (by its last change), oldest first: what an application lists to show the user which posts
   * did not reach some relays. Unreadable records are skipped and reported to `onError` as
   * `PUBLISH_QUEUE_CORRUPT`.
   *
   * @returns the reports, by `createdAt` then event id.
   * @throws the storage's errors when the records cannot be listed.
   * @example
   * ```ts
   * const failed = (await queue.reports()).filter((report) => report.state === 'failed')
   * ```
   */
  reports(): Promise<DeliveryReport[]>
  /** Load unfinished publishes from storage and start sending them again. Returns how many. */
  resume(): Promise<number>
  /** Listen to every change of every publish (or one `eventId`). Returns the unsubscribe function. */
  subscribe(listener: (report: DeliveryReport) => void, eventId?: string): () => void
  /** Delete finished publishes older than `retainMs` from storage. Returns how many. */
  prune(): Promise<number>
  /** Stop sending (in-flight attempts are aborted and not counted) and release timers. */
  close(): Promise<void>
}

const COLLECTION = 'publish-queue'
const RECORD_VERSION = 1
const PERMANENT_PREFIXES = new Set(['blocked', 'invalid', 'restricted', 'mute', 'pow'])
const FINAL: ReadonlySet<TargetStatus> = new Set(['ok', 'duplicate', 'rejected', 'refused', 'gave-up'])

interface Entry {
  event: NostrEvent
  targets: DeliveryTarget[]
  createdAt: number
  updatedAt: number
  /** Relays with an attempt in flight. */
  sending: Set<string>
  /** Serialises writes of this entry so an older snapshot never lands after a newer one. */
  writes: Promise<void>
  settle: Array<(report: DeliveryReport) => void>
}

/**
 * Creates a durable publish queue on a relay pool and a storage.
 *
 * @param options - the pool, the storage and the retry policy; see {@link PublishQueueOptions}.
 * @returns a {@link PublishQueue}; call `resume()` once at start-up to continue earlier publishes.
 * @throws RangeError when a numeric option is out of range.
 * @example
 * ```ts
 * import { createPublishQueue } from 'nostr-rendezvous/outbox'
 * import { createRelayPool } from 'nostr-rendezvous/relay-pool'
 * import { memoryStorage } from 'nostr-rendezvous/storage'
 * const queue = createPublishQueue({ pool: createRelayPool(), storage: memoryStorage() })
 * await queue.resume()
 * const handle = await queue.publish(signedEvent, [{ url: 'wss://relay.example.com', reason: 'my-outbox' }])
 * queue.subscribe((report) => console.log(report.state, report.accepted), handle.eventId)
 * ```
 */
export function createPublishQueue(options: PublishQueueOptions): PublishQueue {
  const maxAttempts = positiveInteger(options.maxAttempts ?? 8, 'maxAttempts')
  const baseDelayMs = positiveInteger(options.baseDelayMs ?? 2000, 'baseDelayMs')
  const maxDelayMs = positiveInteger(options.maxDelayMs ?? 600_000, 'maxDelayMs')
  const retainMs = positiveInteger(options.retainMs ?? 7 * 24 * 3600_000, 'retainMs')
  const now = options.now ?? Date.now
  const random = options.random ?? Math.random
  const { pool, storage } = options
  const entries = new Map<string, Entry>()
  const listeners = new Set<{ fn: (report: DeliveryReport) => void; eventId: string | undefined }>()
  const inFlight = new Set<Promise<void>>()
  /** Publishes of a new event whose first write is in flight, so a second call joins the first. */
  const creating = new Map<string, Promise<unknown>>()
  /** The attempts in flight, aborted together by close(). */
  const attemptControllers = new Set<AbortController>()
  let timer: ReturnType<typeof setTimeout> | undefined
  let timerAt = Infinity
  let closed = false

  const reportOf = (entry: Entry): DeliveryReport => buildReport(entry.event.id, entry.targets, entry.createdAt, entry.updatedAt)

  function emit(entry: Entry): void {
    const report = reportOf(entry)
    for (const listener of listeners) {
      if (listener.eventId !== undefined && listener.eventId !== entry.event.id) continue
      try {
        listener.fn(report)
      } catch (err) {
        options.onError?.(err)
      }
    }
    if (report.state === 'sent' || report.state === 'failed') {
      for (const resolve of entry.settle.splice(0)) resolve(report)
    }
  }

  function persist(entry: Entry): Promise<void> {
    const record = recordOf(entry.event, entry.targets, entry.createdAt, entry.updatedAt)
    entry.writes = entry.writes.then(() => storage.putRecord(COLLECTION, entry.event.id, record)).catch((err) => {
      options.onError?.(err)
    })
    return entry.writes
  }

  function schedule(): void {
    if (closed) return
    let earliest = Infinity
    for (const entry of entries.values()) {
      for (const target of entry.targets) {
        if (target.status === 'pending' && !entry.sending.has(target.url)) earliest = Math.min(earliest, target.nextAttemptAt ?? 0)
      }
    }
    if (earliest === Infinity) {
      if (timer) clearTimeout(timer)
      timer = undefined
      timerAt = Infinity
      return
    }
    if (timer && timerAt <= earliest) return
    if (timer) clearTimeout(timer)
    timerAt = earliest
    timer = setTimeout(() => {
      timer = undefined
      timerAt = Infinity
      runDue()
    }, Math.max(0, earliest - now()))
  }

  function runDue(): void {
    if (closed) return
    const t = now()
    for (const entry of entries.values()) {
      for (const target of entry.targets) {
        if (target.status !== 'pending' || entry.sending.has(target.url) || (target.nextAttemptAt ?? 0) > t) continue
        track(attempt(entry, target.url))
      }
    }
    schedule()
  }

  function track(work: Promise<void>): void {
    inFlight.add(work)
    void work.finally(() => inFlight.delete(work))
  }

  /**
   * One attempt at one relay. Relays are tried separately, not in one pool call, so that a fast
   * relay's OK is recorded at once instead of waiting for the slowest relay's timeout.
   */
  async function attempt(entry: Entry, url: string): Promise<void> {
    entry.sending.add(url)
    // Each attempt gets its own signal, aborted by close(): sharing the queue's one signal would put
    // one listener per attempt on it, and a publish to more than 10 relays would make Node warn.
    const own = new AbortController()
    attemptControllers.add(own)
    if (closed) own.abort()
    let outcome: PublishOutcome
    try {
      const report = await pool.publish(entry.event, {
        relays: [url],
        signal: own.signal,
        ...(options.timeoutMs !== undefined && { timeoutMs: options.timeoutMs }),
      })
      outcome = report.relays[0] ?? { url, status: 'failed', message: 'the pool reported nothing' }
    } catch (err) {
      // The pool refused the whole call (closed pool, aborted): nothing reached the relay.
      const ours = closed || isRendezvousError(err, 'RELAY_ABORTED') || isRendezvousError(err, 'RELAY_POOL_CLOSED')
      outcome = { url, status: ours ? 'aborted' : 'failed', message: errorMessage(err) }
    } finally {
      entry.sending.delete(url)
      attemptControllers.delete(own)
    }
    if (closed) return
    const at = now()
    entry.targets = entry.targets.map((target) => (target.url === url && target.status === 'pending' ? applyOutcome(target, outcome, at) : target))
    entry.updatedAt = at
    await persist(entry)
    emit(entry)
    schedule()
  }

  function applyOutcome(target: DeliveryTarget, outcome: PublishOutcome, at: number): DeliveryTarget {
    // An attempt cut short on our side (closing, the pool shut down) does not count against the
    // relay, but still waits before the next one so a closed pool cannot spin the queue.
    if (outcome.status === 'aborted') return { ...target, nextAttemptAt: at + baseDelayMs }
    const attempts = target.attempts + 1
    const last = {
      status: outcome.status,
      ...(outcome.prefix !== undefined && { prefix: outcome.prefix }),
      ...(outcome.message !== undefined && { message: outcome.message.slice(0, 300) }),
      at,
    }
    const base = { url: target.url, reasons: target.reasons, attempts, last }
    const status = finalStatus(outcome)
    if (status) return { ...base, status }
    if (attempts >= maxAttempts) return { ...base, status: 'gave-up' }
    const cap = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempts - 1))
    // Never sooner than the pool will talk to the relay again: an attempt inside its penalty box
    // would fail at once and burn the budget.
    const delay = Math.max(Math.round(cap * (0.5 + random() / 2)), outcome.retryAfterMs ?? 0)
    return { ...base, status: 'pending', nextAttemptAt: at + delay }
  }

  function adopt(event: NostrEvent, targets: DeliveryTarget[], createdAt: number, updatedAt: number): Entry {
    const entry: Entry = { event, targets, createdAt, updatedAt, sending: new Set(), writes: Promise.resolve(), settle: [] }
    entries.set(event.id, entry)
    return entry
  }

  function handleOf(entry: Entry): DeliveryHandle {
    const current = reportOf(entry)
    const settled =
      current.state === 'sent' || current.state === 'failed'
        ? Promise.resolve(current)
        : new Promise<DeliveryReport>((resolve) => entry.settle.push(resolve))
    return { eventId: entry.event.id, report: () => reportOf(entry), settled }
  }

  function assertOpen(): void {
    if (closed) throw new OutboxError('PUBLISH_QUEUE_CLOSED', 'The publish queue is closed')
  }

  return {
    async publish(event, targets) {
      assertOpen()
      if (!Array.isArray(targets)) throw new TypeError('targets: expected an array of { url, reason }')
      // Checked here, not left to the pool: a bad event would otherwise burn every retry.
      if (!verifyEvent(event)) {
        throw new RelayError('RELAY_EVENT_INVALID', 'Refusing to queue an event that does not verify', {
          details: `id ${String((event as { id?: unknown } | null)?.id).slice(0, 64)}`,
        })
      }
      const racing = creating.get(event.id)
      if (racing) await racing.catch(() => undefined)
      const t = now()
      const existing = entries.get(event.id)
      const merged = mergeTargets(existing?.targets ?? [], targets)
      const createdAt = existing?.createdAt ?? t
      // Written before the first byte goes out: when this write fails, nothing is sent. Chained
      // behind earlier writes of the same event so an older snapshot never lands last.
      const write = (existing?.writes ?? Promise.resolve()).then(() =>
        storage.putRecord(COLLECTION, event.id, recordOf(event, mergeTargets(existing?.targets ?? [], targets), createdAt, t)),
      )
      if (existing) existing.writes = write.catch(() => undefined)
      else creating.set(event.id, write)
      try {
        await write
      } finally {
        if (creating.get(event.id) === write) creating.delete(event.id)
      }
      assertOpen()
      const entry = existing ?? adopt(event, merged, createdAt, t)
      // Merge again: an attempt may have finished while the write was in flight.
      entry.targets = existing ? mergeTargets(existing.targets, targets) : merged
      entry.updatedAt = t
      emit(entry)
      runDue()
      return handleOf(entry)
    },

    async report(eventId) {
      const entry = entries.get(eventId)
      if (entry) return reportOf(entry)
      const record = await storage.getRecord(COLLECTION, eventId)
      const parsed = record === undefined ? undefined : fromRecord(record)
      return parsed && buildReport(parsed.event.id, parsed.targets, parsed.createdAt, parsed.updatedAt)
    },

    async pending() {
      const reports: DeliveryReport[] = []
      const seen = new Set<string>()
      for (const entry of entries.values()) {
        seen.add(entry.event.id)
        const report = reportOf(entry)
        if (report.state === 'pending' || report.state === 'partial') reports.push(report)
      }
      for (const [key, value] of await storage.listRecords(COLLECTION)) {
        if (seen.has(key)) continue
        const parsed = fromRecord(value)
        if (!parsed) continue
        const report = buildReport(parsed.event.id, parsed.targets, parsed.createdAt, parsed.updatedAt)
        if (report.state === 'pending' || report.state === 'partial') reports.push(report)
      }
      return reports.sort(oldestFirst)
    },

    async reports() {
      const cutoff = now() - retainMs
      // Finished publishes past retention are as good as pruned, whether or not prune() ran.
      const keep = (report: DeliveryReport): boolean =>
        report.state === 'pending' || report.state === 'partial' || report.updatedAt > cutoff
      const reports: DeliveryReport[] = []
      const seen = new Set<string>()
      for (const entry of entries.values()) {
        seen.add(entry.event.id)
        const report = reportOf(entry)
        if (keep(report)) reports.push(report)
      }
      for (const [key, value] of await storage.listRecords(COLLECTION)) {
        if (seen.has(key)) continue
        const parsed = fromRecord(value)
        if (!parsed || parsed.event.id !== key) {
          options.onError?.(new OutboxError('PUBLISH_QUEUE_CORRUPT', 'Skipped an unreadable publish-queue record', { details: key.slice(0, 80) }))
          continue
        }
        const report = buildReport(parsed.event.id, parsed.targets, parsed.createdAt, parsed.updatedAt)
        if (keep(report)) reports.push(report)
      }
      return reports.sort(oldestFirst)
    },

    async resume() {
      assertOpen()
      let resumed = 0
      for (const [key, value] of await storage.listRecords(COLLECTION)) {
        const parsed = fromRecord(value)
        if (!parsed || parsed.event.id !== key) {
          options.onError?.(new OutboxError('PUBLISH_QUEUE_CORRUPT', 'Skipped an unreadable publish-queue record', { details: key.slice(0, 80) }))
          continue
        }
        if (entries.has(key) || !parsed.targets.some((target) => target.status === 'pending')) continue
        // After a restart every unfinished target is due now: the wait we were in is long gone or
        // was cut short by a crash.
        const targets = parsed.targets.map((target) => (target.status === 'pending' ? withoutDue(target) : target))
        adopt(parsed.event, targets, parsed.createdAt, parsed.updatedAt)
        resumed += 1
      }
      runDue()
      return resumed
    },

    subscribe(listener, eventId) {
      const entry = { fn: listener, eventId }
      listeners.add(entry)
      return () => {
        listeners.delete(entry)
      }
    },

    async prune() {
      const cutoff = now() - retainMs
      let removed = 0
      for (const [key, value] of await storage.listRecords(COLLECTION)) {
        const parsed = fromRecord(value)
        const finished = parsed && parsed.targets.every((target) => FINAL.has(target.status))
        // Unreadable records are kept: they may be someone's unsent post in a newer format.
        if (!parsed || !finished || parsed.updatedAt > cutoff) continue
        await storage.deleteRecord(COLLECTION, key)
        entries.delete(key)
        removed += 1
      }
      return removed
    },

    async close() {
      if (closed) return
      closed = true
      if (timer) clearTimeout(timer)
      timer = undefined
      for (const controller of attemptControllers) controller.abort()
      await Promise.allSettled([...inFlight])
      await Promise.allSettled([...entries.values()].map((entry) => entry.writes))
      for (const entry of entries.values()) {
        const report = reportOf(entry)
        for (const resolve of entry.settle.splice(0)) resolve(report)
      }
    },
  }
}

function finalStatus(outcome: PublishOutcome): TargetStatus | undefined {
  switch (outcome.status) {
    case 'ok':
      return 'ok'
    case 'duplicate':
      return 'duplicate'
    case 'refused':
      return 'refused'
    case 'pow-required':
      return 'rejected'
    case 'rejected':
      return outcome.prefix !== undefined && PERMANENT_PREFIXES.has(outcome.prefix) ? 'rejected' : undefined
    default:
      return undefined
  }
}

function oldestFirst(a: DeliveryReport, b: DeliveryReport): number {
  return a.createdAt - b.createdAt || (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0)
}

function mergeTargets(existing: readonly DeliveryTarget[], added: readonly PublishTarget[]): DeliveryTarget[] {
  const byUrl = new Map(existing.map((target) => [target.url, target]))
  for (const input of added) {
    if (!input || typeof input.url !== 'string') throw new TypeError('targets: each target needs a url string')
    const url = tryNormalizeRelayUrl(input.url)
    const key = url ?? input.url
    const reason = input.reason ?? 'manual'
    const known = byUrl.get(key)
    if (known) {
      if (!known.reasons.includes(reason)) byUrl.set(key, { ...known, reasons: [...known.reasons, reason] })
      continue
    }
    byUrl.set(
      key,
      url
        ? { url, reasons: [reason], status: 'pending', attempts: 0 }
        : { url: key, reasons: [reason], status: 'refused', attempts: 0, last: { status: 'refused', message: 'not a relay URL', at: 0 } },
    )
  }
  return [...byUrl.values()]
}

function buildReport(eventId: string, targets: readonly DeliveryTarget[], createdAt: number, updatedAt: number): DeliveryReport {
  const accepted = targets.filter((target) => target.status === 'ok' || target.status === 'duplicate').length
  const open = targets.some((target) => target.status === 'pending')
  const state: DeliveryState = open ? (accepted > 0 ? 'partial' : 'pending') : accepted > 0 ? 'sent' : 'failed'
  return { eventId, state, accepted, targets: targets.map((target) => ({ ...target })), createdAt, updatedAt }
}

function withoutDue(target: DeliveryTarget): DeliveryTarget {
  const { nextAttemptAt: _dropped, ...rest } = target
  void _dropped
  return rest
}

function recordOf(event: NostrEvent, targets: readonly DeliveryTarget[], createdAt: number, updatedAt: number): JsonValue {
  return JSON.parse(JSON.stringify({ v: RECORD_VERSION, event, targets, createdAt, updatedAt })) as JsonValue
}

const TARGET_STATUSES: ReadonlySet<string> = new Set(['pending', 'ok', 'duplicate', 'rejected', 'refused', 'gave-up'])

/** A stored record back into its parts, or `undefined` when it is not one of ours. */
function fromRecord(value: JsonValue): { event: NostrEvent; targets: DeliveryTarget[]; createdAt: number; updatedAt: number } | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined
  const { v, event, targets, createdAt, updatedAt } = value as Record<string, JsonValue>
  if (v !== RECORD_VERSION || !isEventShape(event) || !Array.isArray(targets)) return undefined
  if (typeof createdAt !== 'number' || typeof updatedAt !== 'number') return undefined
  const parsed: DeliveryTarget[] = []
  for (const target of targets) {
    if (typeof target !== 'object' || target === null || Array.isArray(target)) return undefined
    const { url, reasons, status, attempts } = target as Record<string, JsonValue>
    if (typeof url !== 'string' || typeof status !== 'string' || !TARGET_STATUSES.has(status)) return undefined
    if (!Array.isArray(reasons) || !reasons.every((r) => typeof r === 'string') || typeof attempts !== 'number') return undefined
    parsed.push(target as unknown as DeliveryTarget)
  }
  return { event: event as unknown as NostrEvent, targets: parsed, createdAt, updatedAt }
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name}: expected a positive integer, got ${String(value)}`)
  return value
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message.slice(0, 300) : 'unknown error'
}
