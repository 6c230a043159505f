/**
 * NIP-11 relay information documents: fetching one over HTTP(S), parsing it without trusting it,
 * turning its `limitation` block into the {@link RelayLimits} the pool shapes requests by, and a
 * bounded cache that asks each relay at most once an hour.
 *
 * A relay's document is input from a stranger: every field is type-checked, wrong-typed fields are
 * dropped (and listed in `issues`), absurd numbers are clamped, and the download is bounded in time
 * and size. Works in browsers and Node alike (global `fetch`, no `node:` imports); the relay must
 * send CORS headers for a browser to read it, as NIP-11 requires.
 *
 * @see https://github.com/nostr-protocol/nips/blob/master/11.md
 * @module
 */
import { RelayError } from '../errors.js'
import { LruMap } from './lru.js'
import { DEFAULT_RELAY_LIMITS, type RelayLimits } from './types.js'
import { raceAbort } from './abort.js'
import { discardBody, readBodyCapped } from './http.js'

/**
 * The `limitation` block of a NIP-11 document, after checking. A field is present only when the
 * relay sent it with the right type and a sensible value.
 */
export interface RelayLimitation {
  /** Bytes of one incoming message, from `[` to `]`. */
  readonly max_message_length?: number
  /** Subscriptions open at once on one connection. */
  readonly max_subscriptions?: number
  /** Filters in one REQ (legacy field, dropped from NIP-11 but still published by some relays). */
  readonly max_filters?: number
  /** The relay clamps each filter's `limit` to this. */
  readonly max_limit?: number
  /** Subscription id length. */
  readonly max_subid_length?: number
  /** Tags in one event. */
  readonly max_event_tags?: number
  /** Characters of one event's `content`. */
  readonly max_content_length?: number
  /** Minimum NIP-13 difficulty of new events. */
  readonly min_pow_difficulty?: number
  /** NIP-42 AUTH before anything else. */
  readonly auth_required?: boolean
  /** Payment before anything else. */
  readonly payment_required?: boolean
  /** Writes need some condition to be met. */
  readonly restricted_writes?: boolean
  /** Oldest accepted `created_at`, as seconds before now. */
  readonly created_at_lower_limit?: number
  /** Newest accepted `created_at`, as seconds after now. */
  readonly created_at_upper_limit?: number
  /** Events returned for a filter without `limit`. */
  readonly default_limit?: number
}

/** Why a field of a NIP-11 document was dropped or changed by {@link parseRelayInformation}. */
export interface RelayInformationIssue {
  /** The field, as a path: `pubkey`, `limitation.max_subscriptions`, `supported_nips[3]`. */
  readonly field: string
  /**
   * `wrong-type` (dropped), `not-an-integer` (dropped), `out-of-range` (below the smallest
   * sensible value: dropped), `clamped` (above the largest sensible value: lowered to it).
   */
  readonly problem: 'wrong-type' | 'not-an-integer' | 'out-of-range' | 'clamped'
}

/** A relay's NIP-11 document after checking: only well-typed fields, plus the document itself. */
export interface RelayInformation {
  /** Display name. */
  readonly name?: string
  /** Plain-text description. */
  readonly description?: string
  /** Banner image URL. */
  readonly banner?: string
  /** Icon URL. */
  readonly icon?: string
  /** Administrator's public key (64-char lower-case hex). */
  readonly pubkey?: string
  /** The relay's own public key (64-char lower-case hex). */
  readonly self?: string
  /** Alternative contact (usually a `mailto:` or `https:` URI). */
  readonly contact?: string
  /** NIPs the relay implements; absent when the relay did not say (not the same as none). */
  readonly supported_nips?: readonly number[]
  /** Relay software (a URL, by the spec; often just a name). */
  readonly software?: string
  /** Software version. */
  readonly version?: string
  /** Terms of service URL. */
  readonly terms_of_service?: string
  /** Where to pay, for paid relays. */
  readonly payments_url?: string
  /** The relay's limits; empty when it published none. */
  readonly limitation: RelayLimitation
  /** Every field dropped or clamped, and why. Empty for a clean document. */
  readonly issues: readonly RelayInformationIssue[]
  /** The document as received (a shallow copy), for fields this type does not cover (`fees`, ...). */
  readonly raw: Readonly<Record<string, unknown>>
}

type Mutable<T> = { -readonly [P in keyof T]: T[P] }

const STRING_FIELDS = [
  'name',
  'description',
  'banner',
  'icon',
  'contact',
  'software',
  'version',
  'terms_of_service',
  'payments_url',
] as const

type IntegerLimitField = {
  [F in keyof RelayLimitation]-?: RelayLimitation[F] extends number | undefined ? F : never
}[keyof RelayLimitation]
type BooleanLimitField = {
  [F in keyof RelayLimitation]-?: RelayLimitation[F] extends boolean | undefined ? F : never
}[keyof RelayLimitation]

const MIB = 1024 * 1024

// The sensible range of each numeric limit. Below `min` the value is meaningless (several relay
// implementations publish 0 for "no limit"), so it is dropped; above `max` it is lowered, so a
// relay cannot make the pool plan around absurd numbers (a 1 GB message, a million subscriptions).
const INTEGER_LIMITS: Readonly<Record<IntegerLimitField, { min: number; max: number }>> = {
  max_message_length: { min: 1, max: 16 * MIB },
  max_subscriptions: { min: 1, max: 10_000 },
  max_filters: { min: 1, max: 10_000 },
  max_limit: { min: 1, max: 1_000_000 },
  max_subid_length: { min: 1, max: 1_024 },
  max_event_tags: { min: 1, max: 1_000_000 },
  max_content_length: { min: 1, max: 16 * MIB },
  // A difficulty is a count of leading zero bits of a 256-bit id.
  min_pow_difficulty: { min: 0, max: 256 },
  created_at_lower_limit: { min: 0, max: Number.MAX_SAFE_INTEGER },
  created_at_upper_limit: { min: 0, max: Number.MAX_SAFE_INTEGER },
  default_limit: { min: 1, max: 1_000_000 },
}

const BOOLEAN_LIMITS: readonly BooleanLimitField[] = ['auth_required', 'payment_required', 'restricted_writes']

const HEX_KEY_RE = /^[0-9a-f]{64}$/i

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const proto = Object.getPrototypeOf(value) as unknown
  return proto === Object.prototype || proto === null
}

function own(record: Record<string, unknown>, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(record, key) ? record[key] : undefined
}

/**
 * Checks a NIP-11 document. Never trusts a field: wrong-typed fields, negative or fractional
 * numbers, malformed public keys and non-integer NIP numbers are dropped; numeric limits above a
 * sensible maximum are lowered to it. Each such change is listed in `issues`.
 *
 * @param json - the parsed JSON body.
 * @returns the checked document.
 * @throws RelayError `RELAY_INFORMATION_INVALID` when `json` is not a plain object.
 * @example
 * ```ts
 * import { parseRelayInformation } from 'nostr-rendezvous/relay-pool'
 * const info = parseRelayInformation({ name: 'r', limitation: { max_subscriptions: '20', max_limit: 500 } })
 * info.limitation // { max_limit: 500 }
 * info.issues // [{ field: 'limitation.max_subscriptions', problem: 'wrong-type' }]
 * ```
 */
export function parseRelayInformation(json: unknown): RelayInformation {
  if (!isPlainObject(json)) {
    const got = json === null ? 'null' : Array.isArray(json) ? 'an array' : typeof json
    throw new RelayError('RELAY_INFORMATION_INVALID', 'Relay information is not a JSON object', { details: `got ${got}` })
  }
  const issues: RelayInformationIssue[] = []
  const info: Mutable<RelayInformation> = { limitation: {}, issues, raw: { ...json } }

  for (const field of STRING_FIELDS) {
    const value = own(json, field)
    if (value === undefined) continue
    if (typeof value === 'string') info[field] = value
    else issues.push({ field, problem: 'wrong-type' })
  }
  for (const field of ['pubkey', 'self'] as const) {
    const value = own(json, field)
    if (value === undefined) continue
    if (typeof value === 'string' && HEX_KEY_RE.test(value)) info[field] = value.toLowerCase()
    else issues.push({ field, problem: 'wrong-type' })
  }
  const nips = own(json, 'supported_nips')
  if (nips !== undefined) {
    if (Array.isArray(nips)) info.supported_nips = parseNips(nips, issues)
    else issues.push({ field: 'supported_nips', problem: 'wrong-type' })
  }
  const limitation = own(json, 'limitation')
  if (limitation !== undefined) {
    if (isPlainObject(limitation)) info.limitation = parseLimitation(limitation, issues)
    else issues.push({ field: 'limitation', problem: 'wrong-type' })
  }
  return info
}

function parseNips(values: readonly unknown[], issues: RelayInformationIssue[]): number[] {
  const nips = new Set<number>()
  values.forEach((value, i) => {
    if (typeof value !== 'number') issues.push({ field: `supported_nips[${i}]`, problem: 'wrong-type' })
    else if (!Number.isSafeInteger(value)) issues.push({ field: `supported_nips[${i}]`, problem: 'not-an-integer' })
    else if (value < 0) issues.push({ field: `supported_nips[${i}]`, problem: 'out-of-range' })
    else nips.add(value)
  })
  return [...nips]
}

function parseLimitation(json: Record<string, unknown>, issues: RelayInformationIssue[]): RelayLimitation {
  const out: Mutable<RelayLimitation> = {}
  for (const [field, range] of Object.entries(INTEGER_LIMITS) as [IntegerLimitField, { min: number; max: number }][]) {
    const value = own(json, field)
    if (value === undefined) continue
    const path = `limitation.${field}`
    if (typeof value !== 'number') issues.push({ field: path, problem: 'wrong-type' })
    else if (!Number.isInteger(value)) issues.push({ field: path, problem: 'not-an-integer' })
    else if (value < range.min) issues.push({ field: path, problem: 'out-of-range' })
    else if (value > range.max) {
      out[field] = range.max
      issues.push({ field: path, problem: 'clamped' })
    } else out[field] = value
  }
  for (const field of BOOLEAN_LIMITS) {
    const value = own(json, field)
    if (value === undefined) continue
    if (typeof value === 'boolean') out[field] = value
    else issues.push({ field: `limitation.${field}`, problem: 'wrong-type' })
  }
  return out
}

// A 64-hex id or pubkey in a filter costs 64 characters, 2 quotes and a comma; 200 bytes are left
// for the rest of the REQ (subscription id, kinds, since/until, limit).
const HEX_ITEM_BYTES = 67
const REQ_OVERHEAD_BYTES = 200

/**
 * The limits to shape requests to one relay by: each limit the relay publishes replaces the
 * default; the per-filter author and id counts are further lowered so that one filter of 64-hex
 * values fits in the relay's `max_message_length` (at least 1).
 *
 * @param info - the relay's checked document, or `undefined` when it has none.
 * @param defaults - the limits assumed for fields the relay does not publish.
 * @returns the effective limits.
 * @example
 * ```ts
 * import { parseRelayInformation, relayLimitsFrom } from 'nostr-rendezvous/relay-pool'
 * const limits = relayLimitsFrom(parseRelayInformation({ limitation: { max_message_length: 16384 } }))
 * limits.maxAuthorsPerFilter // 241: (16384 - 200) / 67
 * limits.maxSubscriptions // 20, the default
 * ```
 */
export function relayLimitsFrom(info: RelayInformation | undefined, defaults: RelayLimits = DEFAULT_RELAY_LIMITS): RelayLimits {
  const l: RelayLimitation = info?.limitation ?? {}
  const maxMessageLength = l.max_message_length ?? defaults.maxMessageLength
  const hexItemsThatFit = Math.max(1, Math.floor((maxMessageLength - REQ_OVERHEAD_BYTES) / HEX_ITEM_BYTES))
  return {
    maxSubscriptions: l.max_subscriptions ?? defaults.maxSubscriptions,
    maxFilters: l.max_filters ?? defaults.maxFilters,
    maxLimit: l.max_limit ?? defaults.maxLimit,
    maxMessageLength,
    maxAuthorsPerFilter: Math.min(defaults.maxAuthorsPerFilter, hexItemsThatFit),
    maxIdsPerFilter: Math.min(defaults.maxIdsPerFilter, hexItemsThatFit),
    maxSubidLength: l.max_subid_length ?? defaults.maxSubidLength,
    authRequired: l.auth_required ?? defaults.authRequired,
    paymentRequired: l.payment_required ?? defaults.paymentRequired,
    restrictedWrites: l.restricted_writes ?? defaults.restrictedWrites,
    minPowDifficulty: l.min_pow_difficulty ?? defaults.minPowDifficulty,
  }
}

function shortUrl(url: string): string {
  return url.length > 200 ? `${url.slice(0, 200)}…` : url
}

/**
 * The HTTP(S) URL a relay serves its NIP-11 document on: `ws:` becomes `http:`, `wss:` becomes
 * `https:`, host, port, path and query stay (the host lower-cased and a default port dropped, as
 * URL parsing does); credentials and fragment are dropped. Two spellings of one relay give the same
 * URL, which makes it a cache key.
 *
 * @param relayUrl - a `ws://` or `wss://` relay URL.
 * @returns the document's URL.
 * @throws TypeError when `relayUrl` is not a string; RelayError `RELAY_URL_INVALID` when it does not
 * parse or is not `ws:`/`wss:`.
 * @example
 * ```ts
 * import { relayInformationUrl } from 'nostr-rendezvous/relay-pool'
 * relayInformationUrl('wss://Relay.Example.com:443/nostr') // 'https://relay.example.com/nostr'
 * ```
 */
export function relayInformationUrl(relayUrl: string): string {
  if (typeof relayUrl !== 'string') throw new TypeError(`relayUrl must be a string, got ${typeof relayUrl}`)
  let url: URL
  try {
    url = new URL(relayUrl.trim())
  } catch (cause) {
    throw new RelayError('RELAY_URL_INVALID', 'Relay URL does not parse', { details: shortUrl(relayUrl), cause })
  }
  const scheme = url.protocol === 'wss:' ? 'https:' : url.protocol === 'ws:' ? 'http:' : undefined
  if (scheme === undefined || url.host === '') {
    throw new RelayError('RELAY_URL_INVALID', 'Relay URL must be ws:// or wss:// with a host', { details: shortUrl(relayUrl) })
  }
  return `${scheme}//${url.host}${url.pathname}${url.search}`
}

/** Options of {@link fetchRelayInformation}. */
export interface FetchRelayInformationOptions {
  /**
   * The fetch implementation (inject one to route through a proxy, or in tests).
   * @default globalThis.fetch
   */
  fetch?: typeof fetch
  /** Aborts the request; the promise then rejects with `RELAY_ABORTED`. */
  signal?: AbortSignal
  /**
   * Time for the whole request, headers and body, in milliseconds.
   * @default 3000
   */
  timeoutMs?: number
  /**
   * Largest body accepted, in bytes.
   * @default 65536
   */
  maxBytes?: number
  /**
   * Follow HTTP redirects. Off by default: a relay URL taken from someone else's relay list should
   * not be able to send the request to another host.
   * @default false
   */
  followRedirects?: boolean
}

const DEFAULT_TIMEOUT_MS = 3_000
const DEFAULT_MAX_BYTES = 64 * 1024
// setTimeout fires at once for delays past 2^31 - 1 ms.
const MAX_TIMER_MS = 2_147_483_647

function checkPositiveInteger(value: unknown, field: string, max: number): number {
  if (typeof value !== 'number') throw new TypeError(`${field} must be a number, got ${typeof value}`)
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new RangeError(`${field} must be an integer from 1 to ${max}, got ${String(value)}`)
  }
  return value
}

function tooLarge(url: string, maxBytes: number): RelayError {
  return new RelayError('RELAY_INFORMATION_INVALID', 'Relay information document is too large', {
    details: `${url}: more than ${maxBytes} bytes`,
  })
}

/**
 * Fetches and checks a relay's NIP-11 document: a GET on the relay's HTTP(S) URL with
 * `Accept: application/nostr+json`, bounded in time and size. No timer outlives the call, and the
 * response body is always read to the end or cancelled.
 *
 * @param relayUrl - the relay's `ws://` or `wss://` URL.
 * @param options - see {@link FetchRelayInformationOptions}.
 * @returns the checked document.
 * @throws TypeError/RangeError for bad arguments. RelayError (as a rejection): `RELAY_URL_INVALID`
 * for a bad relay URL; `RELAY_TIMEOUT` when `timeoutMs` passed; `RELAY_ABORTED` when `signal`
 * aborted; `RELAY_INFORMATION_INVALID` for a network error (with `cause`), a non-2xx status, a body
 * over `maxBytes`, a body that is not UTF-8 JSON, or JSON that is not an object.
 * @example
 * ```ts
 * import { fetchRelayInformation, relayLimitsFrom } from 'nostr-rendezvous/relay-pool'
 * const info = await fetchRelayInformation('wss://relay.example.com', { timeoutMs: 2000 })
 * const limits = relayLimitsFrom(info)
 * ```
 */
export async function fetchRelayInformation(relayUrl: string, options: FetchRelayInformationOptions = {}): Promise<RelayInformation> {
  const url = relayInformationUrl(relayUrl)
  const fetchFn = options.fetch ?? globalThis.fetch
  if (typeof fetchFn !== 'function') throw new TypeError(`fetch must be a function, got ${typeof fetchFn}`)
  const timeoutMs = checkPositiveInteger(options.timeoutMs ?? DEFAULT_TIMEOUT_MS, 'timeoutMs', MAX_TIMER_MS)
  const maxBytes = checkPositiveInteger(options.maxBytes ?? DEFAULT_MAX_BYTES, 'maxBytes', Number.MAX_SAFE_INTEGER)
  const callerSignal = options.signal
  if (callerSignal !== undefined && typeof callerSignal?.addEventListener !== 'function') {
    throw new TypeError('signal must be an AbortSignal')
  }
  if (callerSignal?.aborted) {
    throw new RelayError('RELAY_ABORTED', 'Relay information request aborted', { details: url, cause: callerSignal.reason })
  }

  // One controller for both the caller's abort and the timeout; which one fired decides the code.
  const controller = new AbortController()
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    controller.abort()
  }, timeoutMs)
  const onCallerAbort = (): void => controller.abort()
  callerSignal?.addEventListener('abort', onCallerAbort, { once: true })

  const classify = (err: unknown): RelayError => {
    if (err instanceof RelayError) return err
    if (timedOut) {
      return new RelayError('RELAY_TIMEOUT', 'Relay information request timed out', { details: `${url} after ${timeoutMs} ms`, cause: err })
    }
    if (callerSignal?.aborted) {
      return new RelayError('RELAY_ABORTED', 'Relay information request aborted', { details: url, cause: callerSignal.reason })
    }
    return new RelayError('RELAY_INFORMATION_INVALID', 'Relay information request failed', { details: url, cause: err })
  }

  try {
    let pending: Promise<Response>
    try {
      pending = Promise.resolve(
        fetchFn(url, {
          method: 'GET',
          headers: { Accept: 'application/nostr+json' },
          signal: controller.signal,
          redirect: options.followRedirects ? 'follow' : 'error',
          credentials: 'omit',
        }),
      )
    } catch (err) {
      pending = Promise.reject(err)
    }
    let response: Response
    try {
      response = await raceAbort(pending, controller.signal, () => controller.signal.reason)
    } catch (err) {
      // If a fetch that ignores its signal answers later, its body is released all the same.
      pending.then(discardBody, () => {})
      throw err
    }
    if (!response.ok) {
      discardBody(response)
      throw new RelayError('RELAY_INFORMATION_INVALID', 'Relay information request was refused', {
        details: `${url}: HTTP ${response.status}`,
      })
    }
    const bytes = await readBodyCapped(response, maxBytes, controller.signal, () => tooLarge(url, maxBytes))
    let json: unknown
    try {
      json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
    } catch (cause) {
      throw new RelayError('RELAY_INFORMATION_INVALID', 'Relay information is not JSON', { details: url, cause })
    }
    try {
      return parseRelayInformation(json)
    } catch (err) {
      throw err instanceof RelayError
        ? new RelayError(err.code, err.shortMessage, { details: `${url}: ${err.details ?? ''}`, cause: err.cause })
        : err
    }
  } catch (err) {
    throw classify(err)
  } finally {
    clearTimeout(timer)
    callerSignal?.removeEventListener('abort', onCallerAbort)
  }
}

/** Options of {@link RelayInformationCache}. */
export interface RelayInformationCacheOptions {
  /**
   * The fetch implementation.
   * @default globalThis.fetch
   */
  fetch?: typeof fetch
  /**
   * Clock in milliseconds.
   * @default Date.now
   */
  now?: () => number
  /**
   * How long a fetched document is kept, in milliseconds.
   * @default 3_600_000 (1 hour)
   */
  ttlMs?: number
  /**
   * How long a failed fetch (no document, not JSON, timeout) is remembered, so a relay without
   * NIP-11 is not asked again on every connect, in milliseconds.
   * @default 300_000 (5 minutes)
   */
  negativeTtlMs?: number
  /**
   * Most relays remembered; the least recently used is forgotten first.
   * @default 1000
   */
  maxEntries?: number
  /**
   * Per-request time limit, as in {@link FetchRelayInformationOptions}.
   * @default 3000
   */
  timeoutMs?: number
  /**
   * Per-request size limit, as in {@link FetchRelayInformationOptions}.
   * @default 65536
   */
  maxBytes?: number
  /**
   * As in {@link FetchRelayInformationOptions}.
   * @default false
   */
  followRedirects?: boolean
}

type CacheEntry = { readonly info: RelayInformation } | { readonly error: RelayError }

interface Flight {
  readonly promise: Promise<RelayInformation>
  readonly controller: AbortController
  waiters: number
  settled: boolean
}

// Failures that say something about the relay; an abort says something about the caller.
const REMEMBERED_FAILURES: readonly string[] = ['RELAY_INFORMATION_INVALID', 'RELAY_TIMEOUT']

/**
 * NIP-11 documents by relay, fetched on demand. Keys are {@link relayInformationUrl}s, so
 * `wss://Relay.example.com:443` and `wss://relay.example.com/` share one entry. Documents are kept
 * for `ttlMs` and failures for `negativeTtlMs`; at most `maxEntries` relays are remembered.
 * Concurrent `get`s of one relay share one request, which is aborted only when every caller has
 * aborted. Holds no timer of its own.
 *
 * @example
 * ```ts
 * import { RelayInformationCache, relayLimitsFrom } from 'nostr-rendezvous/relay-pool'
 * const nip11 = new RelayInformationCache()
 * const info = await nip11.get('wss://relay.example.com').catch(() => undefined)
 * const limits = relayLimitsFrom(info)
 * ```
 */
export class RelayInformationCache {
  readonly #entries: LruMap<string, CacheEntry>
  readonly #inFlight = new Map<string, Flight>()
  readonly #fetch: typeof fetch | undefined
  readonly #ttlMs: number
  readonly #negativeTtlMs: number
  readonly #timeoutMs: number | undefined
  readonly #maxBytes: number | undefined
  readonly #followRedirects: boolean

  /**
   * Creates an empty cache.
   *
   * @param options - see {@link RelayInformationCacheOptions}.
   * @throws TypeError/RangeError for a bad option.
   */
  constructor(options: RelayInformationCacheOptions = {}) {
    if (options.fetch !== undefined && typeof options.fetch !== 'function') {
      throw new TypeError(`fetch must be a function, got ${typeof options.fetch}`)
    }
    this.#fetch = options.fetch
    this.#ttlMs = checkTtl(options.ttlMs ?? 3_600_000, 'ttlMs')
    this.#negativeTtlMs = checkTtl(options.negativeTtlMs ?? 300_000, 'negativeTtlMs')
    if (options.timeoutMs !== undefined) checkPositiveInteger(options.timeoutMs, 'timeoutMs', MAX_TIMER_MS)
    if (options.maxBytes !== undefined) checkPositiveInteger(options.maxBytes, 'maxBytes', Number.MAX_SAFE_INTEGER)
    this.#timeoutMs = options.timeoutMs
    this.#maxBytes = options.maxBytes
    this.#followRedirects = options.followRedirects ?? false
    this.#entries = new LruMap({ maxSize: options.maxEntries ?? 1_000, now: options.now ?? Date.now })
  }

  /**
   * Number of relays remembered (documents and failures).
   *
   * @returns the count of live entries.
   */
  get size(): number {
    return this.#entries.size
  }

  /**
   * The relay's document: from the cache, from a request already running for it, or from a new
   * request.
   *
   * @param relayUrl - the relay's `ws://` or `wss://` URL.
   * @param options - `signal` stops this caller's wait (the shared request goes on while others
   * wait for it).
   * @returns the checked document.
   * @throws (as a rejection) RelayError `RELAY_URL_INVALID`, `RELAY_ABORTED`, or — fresh or
   * remembered for `negativeTtlMs` — `RELAY_TIMEOUT` / `RELAY_INFORMATION_INVALID` as
   * {@link fetchRelayInformation} raises them.
   */
  async get(relayUrl: string, options: { signal?: AbortSignal } = {}): Promise<RelayInformation> {
    const key = relayInformationUrl(relayUrl)
    const { signal } = options
    if (signal?.aborted) throw aborted(key, signal)
    const cached = this.#entries.get(key)
    if (cached) {
      if ('info' in cached) return cached.info
      throw cached.error
    }
    const flight = this.#inFlight.get(key) ?? this.#start(key)
    return this.#wait(key, flight, signal)
  }

  /**
   * The cached document, without fetching.
   *
   * @param relayUrl - the relay's URL.
   * @returns the document, or `undefined` when none is cached (or the URL is invalid).
   */
  peek(relayUrl: string): RelayInformation | undefined {
    const key = safeKey(relayUrl)
    const entry = key === undefined ? undefined : this.#entries.peek(key)
    return entry && 'info' in entry ? entry.info : undefined
  }

  /**
   * Stores a document obtained elsewhere (e.g. loaded from storage). A request already running for
   * the relay still answers its callers but no longer writes to the cache.
   *
   * @param relayUrl - the relay's URL.
   * @param info - the checked document.
   * @param ttlMs - how long to keep it (default: the cache's `ttlMs`).
   * @throws RelayError `RELAY_URL_INVALID` for a bad URL; TypeError when `info` is not an object.
   */
  set(relayUrl: string, info: RelayInformation, ttlMs: number = this.#ttlMs): void {
    const key = relayInformationUrl(relayUrl)
    if (typeof info !== 'object' || info === null) throw new TypeError('info must be a RelayInformation object')
    this.#inFlight.delete(key)
    this.#entries.set(key, { info }, checkTtl(ttlMs, 'ttlMs'))
  }

  /**
   * Forgets a relay's document or failure, so the next `get` asks again.
   *
   * @param relayUrl - the relay's URL.
   * @returns `true` when something was forgotten.
   */
  delete(relayUrl: string): boolean {
    const key = safeKey(relayUrl)
    if (key === undefined) return false
    const hadFlight = this.#inFlight.delete(key)
    return this.#entries.delete(key) || hadFlight
  }

  /** Forgets everything (requests running go on for their callers). */
  clear(): void {
    this.#inFlight.clear()
    this.#entries.clear()
  }

  #start(key: string): Flight {
    const controller = new AbortController()
    const request = fetchRelayInformation(key.replace(/^http/, 'ws'), {
      ...(this.#fetch && { fetch: this.#fetch }),
      signal: controller.signal,
      ...(this.#timeoutMs !== undefined && { timeoutMs: this.#timeoutMs }),
      ...(this.#maxBytes !== undefined && { maxBytes: this.#maxBytes }),
      followRedirects: this.#followRedirects,
    })
    const flight: Flight = {
      controller,
      waiters: 0,
      settled: false,
      promise: request.then(
        (info) => {
          flight.settled = true
          if (this.#inFlight.get(key) === flight) {
            this.#inFlight.delete(key)
            this.#entries.set(key, { info }, this.#ttlMs)
          }
          return info
        },
        (err: unknown) => {
          flight.settled = true
          if (this.#inFlight.get(key) === flight) {
            this.#inFlight.delete(key)
            if (err instanceof RelayError && REMEMBERED_FAILURES.includes(err.code)) {
              this.#entries.set(key, { error: err }, this.#negativeTtlMs)
            }
          }
          throw err
        },
      ),
    }
    // Every waiter may have left; the rejection is still observed here.
    flight.promise.catch(() => {})
    this.#inFlight.set(key, flight)
    return flight
  }

  #wait(key: string, flight: Flight, signal: AbortSignal | undefined): Promise<RelayInformation> {
    flight.waiters++
    return new Promise<RelayInformation>((resolve, reject) => {
      let done = false
      const onAbort = (): void => {
        if (done) return
        done = true
        flight.waiters--
        if (flight.waiters === 0 && !flight.settled) {
          // Nobody wants the answer any more: stop the request, and let the next caller start anew.
          if (this.#inFlight.get(key) === flight) this.#inFlight.delete(key)
          flight.controller.abort()
        }
        reject(aborted(key, signal))
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      const finish = (): boolean => {
        if (done) return false
        done = true
        flight.waiters--
        signal?.removeEventListener('abort', onAbort)
        return true
      }
      flight.promise.then(
        (info) => {
          if (finish()) resolve(info)
        },
        (err: unknown) => {
          if (finish()) reject(err)
        },
      )
    })
  }
}

function aborted(url: string, signal: AbortSignal | undefined): RelayError {
  return new RelayError('RELAY_ABORTED', 'Relay information request aborted', { details: url, cause: signal?.reason })
}

function safeKey(relayUrl: string): string | undefined {
  try {
    return relayInformationUrl(relayUrl)
  } catch {
    return undefined
  }
}

function checkTtl(value: unknown, field: string): number {
  if (typeof value !== 'number') throw new TypeError(`${field} must be a number, got ${typeof value}`)
  if (Number.isNaN(value) || value < 0) throw new RangeError(`${field} must be a non-negative number, got ${String(value)}`)
  return value
}
