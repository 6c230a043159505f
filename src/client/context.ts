/**
 * What every capability of the client shares: the pool, storage, evidence store, tracker, router
 * and publish queue it wires together, the user's identity, and the helpers each capability needs
 * (abort handling, caching fetched events). Internal: the public face is `createClient`.
 *
 * @module
 */
import { isValidPublicKey } from '../crypto/keys.js'
import type { NostrEvent } from '../crypto/event.js'
import type { Signer } from '../crypto/signer.js'
import { ClientError } from '../errors.js'
import { createEvidenceStore, type EvidenceStore } from '../outbox/evidence.js'
import { createPublishQueue, type PublishQueue } from '../outbox/publish-queue.js'
import { FOLLOW_LIST_KIND } from '../outbox/relay-lists.js'
import { createRelayConfig, type RelayConfig } from '../outbox/relay-config.js'
import { createRouter, type Router } from '../outbox/router.js'
import { createTracker, type Tracker } from '../outbox/tracker.js'
import { createRelayPool, type RelayPool } from '../relay-pool/pool.js'
import { memoryStorage } from '../storage/memory.js'
import type { Storage } from '../storage/types.js'
import type { ClientOptions } from './types.js'
import { createPrivacyGates, type PrivacyGates } from './approvals.js'

/**
 * Kinds whose relays say nothing about where the author posts: profiles and lists are spread
 * broadly (to indexers above all), so finding one on a relay is not "seen" evidence. Lists with a
 * meaning (10002, 10050, kind 3) are applied as lists instead.
 */
function isSeenEvidence(kind: number): boolean {
  return kind !== 0 && kind !== FOLLOW_LIST_KIND && !(kind >= 10000 && kind < 20000)
}

/** The settled options. @internal */
export interface ResolvedClientOptions {
  readonly indexerRelays: readonly string[]
  readonly perAuthor: number
  readonly maxRelays: number
  readonly powDifficulty: number
  readonly relayListMaxAgeMs: number
  /** `ClientOptions.nip05` as given (checked by `client.nip05`'s resolver). */
  readonly nip05: NonNullable<ClientOptions['nip05']>
}

/** The parts every capability module works with. @internal */
export interface ClientContext {
  readonly pool: RelayPool
  readonly storage: Storage
  readonly evidence: EvidenceStore
  readonly tracker: Tracker
  readonly router: Router
  readonly queue: PublishQueue
  /** The user's per-relay rank and flags, and blocked relays. */
  readonly relayConfig: RelayConfig
  /**
   * The `fetch` of every HTTP request the client makes (NIP-05, LNURL, ...): the proxy's when
   * `ClientOptions.proxy` is set, else `ClientOptions.fetch`, else `globalThis.fetch`.
   */
  readonly fetch: typeof fetch
  /** The approval gates, remembered decisions and spam filter wired into the pool. */
  readonly privacy: PrivacyGates
  readonly signer: Signer | undefined
  readonly options: ResolvedClientOptions
  /** Clock in ms. */
  readonly now: () => number
  /** Clock in unix seconds. */
  nowSeconds(): number
  /** The user's pubkey (hex). Rejects with `CLIENT_NO_SIGNER` when neither a signer nor `pubkey` was given. */
  me(): Promise<string>
  /** The signer, or throws `CLIENT_NO_SIGNER` naming `action`. */
  requireSigner(action: string): Signer
  /** Throws `CLIENT_CLOSED` after `close()`. */
  assertOpen(): void
  /**
   * A signal that aborts when `caller` aborts or the client closes. Call `release()` when done so
   * no listener stays on a long-lived caller signal.
   */
  link(caller?: AbortSignal): { signal: AbortSignal; release(): void }
  /**
   * Caches fetched events in storage with the relays each was seen on. Never throws: a failed write
   * is reported to `onError` and the read goes on (the events were already delivered).
   */
  remember(events: readonly NostrEvent[], seenOn?: ReadonlyMap<string, readonly string[]>): Promise<void>
  /** Reports an error the client survived. */
  reportError(error: unknown): void
  /** Ends every long-lived subscription registered with {@link ClientContext.track}. */
  readonly closing: AbortSignal
  /** Registers something to close with the client; returns the function that unregisters it. */
  track(closer: () => void): () => void
  /**
   * Runs `task` after every earlier task with the same `key` has settled. Edits of one of the
   * user's replaceable lists go through here: two edits running at once would both start from the
   * same copy, and the second would silently drop the first's change.
   */
  exclusive<T>(key: string, task: () => Promise<T>): Promise<T>
}

function positiveInteger(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer`)
  return value
}

function nonNegativeInteger(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer`)
  return value
}

/**
 * Builds the shared parts from the client's options.
 *
 * @internal
 */
export function createClientContext(options: ClientOptions): ClientContext & { close(): Promise<void> } {
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object')
  if (!Array.isArray(options.indexerRelays) || !options.indexerRelays.every((u) => typeof u === 'string')) {
    throw new TypeError('indexerRelays must be an array of relay URLs')
  }
  if (options.signer === undefined && options.pubkey !== undefined && !isValidPublicKey(options.pubkey)) {
    throw new TypeError('pubkey must be 64 lower-case hex characters')
  }
  const resolved: ResolvedClientOptions = {
    indexerRelays: [...options.indexerRelays],
    perAuthor: positiveInteger(options.perAuthor, 2, 'perAuthor'),
    maxRelays: positiveInteger(options.maxRelays, 20, 'maxRelays'),
    powDifficulty: nonNegativeInteger(options.powDifficulty, 0, 'powDifficulty'),
    relayListMaxAgeMs: nonNegativeInteger(options.relayListMaxAgeMs, 30 * 24 * 3_600_000, 'relayListMaxAgeMs'),
    nip05: options.nip05 ?? {},
  }
  const now = options.now ?? Date.now
  const nowSeconds = (): number => Math.floor(now() / 1000)
  const reportError = (error: unknown): void => {
    try {
      ;(options.onError ?? console.error)(error)
    } catch {
      // An error handler that throws must not take the client down with it.
    }
  }
  const ownsStorage = options.storage === undefined
  const storage = options.storage ?? memoryStorage()
  const evidence = createEvidenceStore({ storage, now: nowSeconds })
  // Before the pool and router, which consult it. Loaded at once; until then every relay has its
  // defaults (a read or a connect that races the load may still use a blocked relay).
  const relayConfig = createRelayConfig({ storage, now, onError: reportError })
  relayConfig.load().catch(reportError)
  const signer = options.signer
  const proxy = options.proxy
  if (proxy !== undefined && (proxy === null || typeof proxy.webSocketFactory !== 'function' || typeof proxy.fetch !== 'function')) {
    throw new TypeError('proxy must have a webSocketFactory and a fetch')
  }
  // Looked up at call time so a test (or app) that swaps globalThis.fetch later is honoured.
  const fetchImpl: typeof fetch = proxy?.fetch ?? options.fetch ?? ((input, init) => globalThis.fetch(input, init))
  // Approval gates, blocked relays, spam filter: read `context` lazily (built below).
  const privacy = createPrivacyGates(options, () => context)
  const pool = createRelayPool({
    ...options.pool,
    ...privacy.poolOptions,
    // With a proxy, nothing may connect around it: both socket factories and NIP-11 go through it.
    ...(proxy !== undefined && {
      webSocketFactory: proxy.webSocketFactory,
      onionWebSocketFactory: proxy.reachesOnion ? proxy.webSocketFactory : undefined,
      fetch: options.pool?.fetch === false ? false : proxy.fetch,
    }),
    ...(proxy === undefined && options.fetch !== undefined && options.pool?.fetch === undefined && { fetch: options.fetch }),
    ...(signer !== undefined && { signer }),
    now,
    onEventSeen: (event, relay) => {
      if (isSeenEvidence(event.kind)) evidence.observeEvent(event, relay)
    },
    onListenerError: options.pool?.onListenerError ?? reportError,
  })
  // The pool keeps its gate's answers: a relay refused while blocked is asked about anew once unblocked.
  relayConfig.onChange((change) => {
    if (change.type === 'blocked') for (const url of change.removed) pool.forgetApproval(url)
    else if (change.type === 'relay' && change.before.rank === 0 && change.after.rank > 0) pool.forgetApproval(change.url)
  })
  const tracker = createTracker({ pool, evidence, storage, indexerRelays: resolved.indexerRelays, now })
  const router = createRouter({ evidence, tracker, pool, storage, perAuthor: resolved.perAuthor, maxRelays: resolved.maxRelays, now, preferences: relayConfig })
  const queue = createPublishQueue({ ...options.publishQueue, pool, storage, now, onError: reportError })

  const closingController = new AbortController()
  /** The last task queued per `exclusive` key (never rejects). */
  const chains = new Map<string, Promise<void>>()
  const closers = new Set<() => void>()
  let closed = false
  let pubkey: Promise<string> | undefined

  const context: ClientContext & { close(): Promise<void> } = {
    pool,
    storage,
    evidence,
    tracker,
    router,
    queue,
    relayConfig,
    fetch: fetchImpl,
    privacy,
    signer,
    options: resolved,
    now,
    nowSeconds,
    closing: closingController.signal,
    me() {
      if (pubkey === undefined) {
        if (signer !== undefined) {
          pubkey = signer.getPublicKey()
          // A signer that failed once (extension locked) may work the next time: do not cache failure.
          pubkey.catch(() => (pubkey = undefined))
        } else if (options.pubkey !== undefined) {
          pubkey = Promise.resolve(options.pubkey)
        } else {
          return Promise.reject(new ClientError('CLIENT_NO_SIGNER', 'No signer and no pubkey: the client does not know who the user is'))
        }
      }
      return pubkey
    },
    requireSigner(action) {
      if (signer === undefined) throw new ClientError('CLIENT_NO_SIGNER', 'This needs a signer', { details: action })
      return signer
    },
    assertOpen() {
      if (closed) throw new ClientError('CLIENT_CLOSED', 'The client is closed')
    },
    link(caller) {
      const controller = new AbortController()
      const abort = (): void => controller.abort(caller?.aborted ? caller.reason : closingController.signal.reason)
      if (caller?.aborted || closingController.signal.aborted) {
        abort()
        return { signal: controller.signal, release() {} }
      }
      caller?.addEventListener('abort', abort, { once: true })
      closingController.signal.addEventListener('abort', abort, { once: true })
      return {
        signal: controller.signal,
        release() {
          caller?.removeEventListener('abort', abort)
          closingController.signal.removeEventListener('abort', abort)
        },
      }
    },
    async remember(events, seenOn) {
      if (events.length === 0) return
      // A follow-list edit (or a newer list read) reaches the spam filter at once.
      privacy.observe(events)
      try {
        await storage.putEvents(events)
        if (seenOn !== undefined) {
          const byRelay = new Map<string, string[]>()
          for (const event of events) {
            for (const relay of seenOn.get(event.id) ?? []) {
              let ids = byRelay.get(relay)
              if (ids === undefined) byRelay.set(relay, (ids = []))
              ids.push(event.id)
            }
          }
          for (const [relay, ids] of byRelay) await storage.addSeenOn(ids, relay)
        }
      } catch (error) {
        reportError(error)
      }
    },
    reportError,
    exclusive(key, task) {
      const previous = chains.get(key) ?? Promise.resolve()
      const run = previous.then(() => task())
      const tail = run.then(
        () => undefined,
        () => undefined,
      )
      chains.set(key, tail)
      void tail.then(() => {
        if (chains.get(key) === tail) chains.delete(key)
      })
      return run
    },
    track(closer) {
      closers.add(closer)
      return () => closers.delete(closer)
    },
    close() {
      // A second close() waits for the first, which is still flushing evidence and closing storage.
      closing ??= closeNow()
      return closing
    },
  }
  let closing: Promise<void> | undefined
  const closeNow = async (): Promise<void> => {
    closed = true
    closingController.abort(new ClientError('CLIENT_CLOSED', 'The client is closed'))
    for (const closer of [...closers]) {
      try {
        closer()
      } catch (error) {
        reportError(error)
      }
    }
    closers.clear()
    await queue.close()
    await tracker.close()
    try {
      await evidence.flush()
    } catch (error) {
      reportError(error)
    }
    await pool.close()
    // The settings load (and any write of them) must not find the storage closed under it.
    await relayConfig.idle()
    if (ownsStorage) await storage.close()
  }
  return context
}

/**
 * Turns an abort of a linked signal into the error to throw: the client's own `CLIENT_CLOSED`
 * when it was closed, else `CLIENT_ABORTED`.
 *
 * @internal
 */
export function abortError(context: ClientContext, cause?: unknown): ClientError {
  if (context.closing.aborted) return new ClientError('CLIENT_CLOSED', 'The client is closed', { cause })
  return new ClientError('CLIENT_ABORTED', 'Aborted', { cause })
}

/**
 * The user's pubkey, or `undefined` when the client has no user (no signer and no `pubkey`): for
 * reads that work for anyone and only add the user's own relays when there is a user. Other
 * failures (a locked signer) still reject.
 *
 * @example
 * ```ts
 * const me = await optionalMe(context)
 * const relays = me === undefined ? indexers : [...indexers, ...ownRelays(me)]
 * ```
 * @internal
 */
export async function optionalMe(context: ClientContext): Promise<string | undefined> {
  try {
    return await context.me()
  } catch (error) {
    if (error instanceof ClientError && error.code === 'CLIENT_NO_SIGNER') return undefined
    throw error
  }
}

/**
 * Runs `task` with a signal linked to the caller's and to the client's life, and turns an abort
 * into the client's error ({@link abortError}); `isAbort` names lower-layer errors that are aborts
 * too. The link is released however the task ends.
 *
 * @example
 * ```ts
 * return withLinkedSignal(context, options.signal, (signal) => lookup(name, { signal }), (e) => isRendezvousError(e, 'NIP05_ABORTED'))
 * ```
 * @internal
 */
export async function withLinkedSignal<T>(
  context: ClientContext,
  callerSignal: AbortSignal | undefined,
  task: (signal: AbortSignal) => Promise<T>,
  isAbort?: (error: unknown) => boolean,
): Promise<T> {
  context.assertOpen()
  const { signal, release } = context.link(callerSignal)
  try {
    if (signal.aborted) throw abortError(context, signal.reason)
    return await task(signal)
  } catch (error) {
    if (signal.aborted || context.closing.aborted || isAbort?.(error) === true) throw abortError(context, error)
    throw error
  } finally {
    release()
  }
}

/**
 * The `settings` record where the client remembers its last follow-list edit (`{ eventId,
 * changedAt }`) until a relay holds it, for the `follow-list-unpublished` alert.
 *
 * @internal
 */
export const FOLLOW_EDIT_RECORD = 'client:follow-list-edit'
