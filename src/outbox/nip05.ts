/**
 * NIP-05 identifiers (`name@domain`): parsing them, fetching `https://<domain>/.well-known/nostr.json`
 * without trusting it, verifying that it names a given key, and a bounded cache in memory and in
 * storage so a restart does not ask every domain again.
 *
 * What the network sends is checked strictly: redirects are refused (NIP-05 says fetchers must
 * ignore them, and following one would let the domain hand the question to another host), the body
 * is read with a size cap counted as it arrives (`Content-Length` may be absent or a lie), the
 * request has a time limit, and only a `names` object whose entry for the name is a lower-case hex
 * public key is accepted. The document's `relays` are optional: a broken `relays` field gives no
 * relays instead of failing the identity. Every failure is an {@link OutboxError} with a stable
 * `NIP05_*` code; none crashes, none leaves a timer or an unread body behind.
 *
 * A lookup tells the domain's owner who was looked up, from which address and when. Give a proxy's
 * `fetch` (the client does when a SOCKS proxy is set) to keep the address out of it.
 *
 * @see https://github.com/nostr-protocol/nips/blob/master/05.md
 * @module
 */
import { isValidPublicKey } from '../crypto/keys.js'
import { OutboxError, type OutboxErrorCode } from '../errors.js'
import { raceAbort } from '../relay-pool/abort.js'
import { discardBody, readBodyCapped } from '../relay-pool/http.js'
import { LruMap } from '../relay-pool/lru.js'
import type { JsonValue, Storage } from '../storage/types.js'
import { parseNip05Relays } from './relay-lists.js'

import { tryParseNip05, parseNip05, type Nip05Identifier } from './nip05-identifier.js'

export { parseNip05, tryParseNip05, type Nip05Identifier } from './nip05-identifier.js'

// ---- documents -----------------------------------------------------------------------------------

/** What a NIP-05 document says about one name. */
export interface Nip05DocumentEntry {
  /** The public key the document names for the name (lower-case hex). */
  readonly pubkey: string
  /** The document's `relays[pubkey]`, normalised, invalid ones dropped; `[]` when none. */
  readonly relays: readonly string[]
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * Reads what a `/.well-known/nostr.json` document says about `name`: `names[name]` must be a
 * lower-case 64-hex public key on the curve (NIP-05 forbids upper case and `npub`); other entries of
 * `names` are not looked at, so one bad entry of a shared static file does not break the others.
 * `relays` is optional: when it is not an object of arrays, the entry has no relays.
 *
 * @param document - the parsed JSON body.
 * @param name - the local part, as in {@link Nip05Identifier.name}.
 * @returns the key and relays.
 * @throws OutboxError `NIP05_INVALID_DOCUMENT` (not an object, no `names` object, an entry that is
 * not a lower-case hex key), `NIP05_NOT_FOUND` (no entry for the name).
 * @example
 * ```ts
 * import { readNip05Document } from 'nostr-rendezvous/outbox'
 * const { pubkey, relays } = readNip05Document(JSON.parse(body), 'bob')
 * ```
 */
export function readNip05Document(document: unknown, name: string): Nip05DocumentEntry {
  if (typeof name !== 'string') throw new TypeError(`name must be a string, got ${typeof name}`)
  if (!isPlainObject(document)) throw new OutboxError('NIP05_INVALID_DOCUMENT', 'NIP-05 document is not a JSON object')
  const names = Object.hasOwn(document, 'names') ? document.names : undefined
  if (!isPlainObject(names)) throw new OutboxError('NIP05_INVALID_DOCUMENT', 'NIP-05 document has no "names" object')
  // Own properties only: `constructor` or `__proto__` must not find Object's.
  if (!Object.hasOwn(names, name)) throw new OutboxError('NIP05_NOT_FOUND', 'NIP-05 document does not name this identifier', { details: `name: ${name}` })
  const pubkey = names[name]
  if (!isValidPublicKey(pubkey)) {
    throw new OutboxError('NIP05_INVALID_DOCUMENT', 'NIP-05 document names something other than a lower-case hex public key', {
      details: `names.${name}`,
    })
  }
  return { pubkey, relays: parseNip05Relays(document, pubkey) }
}

// ---- fetching ------------------------------------------------------------------------------------

/** Options of {@link resolveNip05} and {@link verifyNip05}. */
export interface Nip05FetchOptions {
  /**
   * The fetch to use: a proxy's (SOCKS/Tor) to keep the user's address from the domain.
   * @default globalThis.fetch
   */
  readonly fetch?: typeof fetch
  /** Aborts the lookup (`NIP05_ABORTED`). */
  readonly signal?: AbortSignal
  /**
   * Time for the whole request, headers and body, in milliseconds.
   * @default 5000
   */
  readonly timeoutMs?: number
  /**
   * Largest body accepted, in bytes (counted as it arrives).
   * @default 262144 (256 KiB)
   */
  readonly maxBytes?: number
}

/** What {@link resolveNip05} found. */
export interface Nip05Resolution extends Nip05DocumentEntry {
  /** The identifier looked up. */
  readonly identifier: Nip05Identifier
  /** When the document was fetched, in milliseconds (older than now when it came from a cache). */
  readonly fetchedAt: number
  /** Whether it came from a cache (memory or storage) rather than a fetch just made. */
  readonly cached: boolean
}

const DEFAULT_TIMEOUT_MS = 5_000
const DEFAULT_MAX_BYTES = 256 * 1024
// setTimeout fires at once for delays past 2^31 - 1 ms.
const MAX_TIMER_MS = 2_147_483_647

function positiveInteger(value: unknown, fallback: number, field: string, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number') throw new TypeError(`${field} must be a number, got ${typeof value}`)
  if (!Number.isSafeInteger(value) || value < 1 || value > max) throw new RangeError(`${field} must be an integer from 1 to ${max}, got ${value}`)
  return value
}

function checkSignal(signal: unknown, field = 'signal'): AbortSignal | undefined {
  if (signal === undefined) return undefined
  if (typeof signal !== 'object' || signal === null || typeof (signal as AbortSignal).addEventListener !== 'function') {
    throw new TypeError(`${field} must be an AbortSignal`)
  }
  return signal as AbortSignal
}

function checkOptions(options: unknown): void {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object')
}

interface FetchSettings {
  readonly fetch: typeof fetch
  readonly timeoutMs: number
  readonly maxBytes: number
}

function fetchSettings(options: { fetch?: unknown; timeoutMs?: unknown; maxBytes?: unknown }): FetchSettings {
  const fetchFn = options.fetch ?? globalThis.fetch
  if (typeof fetchFn !== 'function') throw new TypeError(`fetch must be a function, got ${typeof fetchFn}`)
  return {
    fetch: fetchFn as typeof fetch,
    timeoutMs: positiveInteger(options.timeoutMs, DEFAULT_TIMEOUT_MS, 'timeoutMs', MAX_TIMER_MS),
    maxBytes: positiveInteger(options.maxBytes, DEFAULT_MAX_BYTES, 'maxBytes'),
  }
}

function isRedirect(response: Response): boolean {
  // `opaqueredirect` is what browsers give for `redirect: 'manual'`; Node gives the 3xx itself;
  // `redirected` catches a fetch (a proxy's, a test's) that followed it anyway.
  return response.type === 'opaqueredirect' || (response.status >= 300 && response.status < 400) || response.redirected === true
}

/**
 * Fetches and reads the document for one identifier. `signal` aborts it (`NIP05_ABORTED`); the
 * timeout is its own. Never leaves a timer or an unread body behind.
 */
async function fetchEntry(id: Nip05Identifier, settings: FetchSettings, signal: AbortSignal | undefined): Promise<Nip05DocumentEntry> {
  const where = id.domain
  if (signal?.aborted) throw new OutboxError('NIP05_ABORTED', 'NIP-05 lookup aborted', { details: where, cause: signal.reason })
  // One controller for both the caller's abort and the timeout; which one fired decides the code.
  const controller = new AbortController()
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    controller.abort()
  }, settings.timeoutMs)
  const onAbort = (): void => controller.abort()
  signal?.addEventListener('abort', onAbort, { once: true })
  const classify = (error: unknown): OutboxError => {
    if (timedOut) return new OutboxError('NIP05_TIMEOUT', 'NIP-05 lookup timed out', { details: `${where} after ${settings.timeoutMs} ms`, cause: error })
    if (signal?.aborted) return new OutboxError('NIP05_ABORTED', 'NIP-05 lookup aborted', { details: where, cause: signal.reason })
    if (error instanceof OutboxError) return error
    return new OutboxError('NIP05_FETCH_FAILED', 'NIP-05 document could not be fetched', { details: where, cause: error })
  }
  try {
    let pending: Promise<Response>
    try {
      pending = Promise.resolve(
        settings.fetch(id.url, {
          method: 'GET',
          headers: { Accept: 'application/json' },
          signal: controller.signal,
          // NIP-05: the endpoint must not redirect and fetchers must ignore redirects. 'manual'
          // hands the redirect back instead of following it, and it is refused below.
          redirect: 'manual',
          // No cookies or referrer for the domain: it learns who was looked up, nothing more.
          credentials: 'omit',
          referrerPolicy: 'no-referrer',
        }),
      )
    } catch (error) {
      pending = Promise.reject(error)
    }
    let response: Response
    try {
      response = await raceAbort(pending, controller.signal, () => controller.signal.reason)
    } catch (error) {
      // If a fetch that ignores its signal answers later, its body is released all the same.
      pending.then(discardBody, () => {})
      throw error
    }
    if (isRedirect(response)) {
      discardBody(response)
      throw new OutboxError('NIP05_REDIRECTED', 'NIP-05 endpoint answered with a redirect, which NIP-05 forbids', {
        details: `${where}: HTTP ${response.status}`,
      })
    }
    if (response.status !== 200) {
      discardBody(response)
      throw new OutboxError('NIP05_FETCH_FAILED', 'NIP-05 endpoint refused the request', { details: `${where}: HTTP ${response.status}` })
    }
    const bytes = await readBodyCapped(response, settings.maxBytes, controller.signal, () =>
      new OutboxError('NIP05_TOO_LARGE', 'NIP-05 document is too large', { details: `${where}: more than ${settings.maxBytes} bytes` }),
    )
    let json: unknown
    try {
      json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
    } catch (cause) {
      throw new OutboxError('NIP05_INVALID_DOCUMENT', 'NIP-05 document is not UTF-8 JSON', { details: where, cause })
    }
    try {
      return readNip05Document(json, id.name)
    } catch (error) {
      throw error instanceof OutboxError ? new OutboxError(error.code, error.shortMessage, { details: `${where}: ${error.details ?? id.name}` }) : error
    }
  } catch (error) {
    throw classify(error)
  } finally {
    clearTimeout(timer)
    signal?.removeEventListener('abort', onAbort)
  }
}

/**
 * Resolves a NIP-05 identifier to a public key and the relays the document names for it: one GET
 * on `https://<domain>/.well-known/nostr.json?name=<name>`, no cache (see
 * {@link createNip05Resolver} for one). The domain says who the name is; nothing here checks that
 * the person agrees (their profile's `nip05`): see `docs/nip05.md`.
 *
 * @param identifier - `name@domain`, `_@domain` or `domain`.
 * @param options - `fetch`, `signal`, `timeoutMs`, `maxBytes`.
 * @returns the key, the relays and when it was fetched.
 * @throws TypeError for a malformed identifier or option. OutboxError (as a rejection):
 * `NIP05_FETCH_FAILED` (network error, or a status other than 200), `NIP05_REDIRECTED`,
 * `NIP05_TIMEOUT`, `NIP05_TOO_LARGE`, `NIP05_INVALID_DOCUMENT`, `NIP05_NOT_FOUND`, `NIP05_ABORTED`.
 * @example
 * ```ts
 * import { resolveNip05 } from 'nostr-rendezvous/outbox'
 * const { pubkey, relays } = await resolveNip05('bob@example.com', { timeoutMs: 3000 })
 * ```
 */
export async function resolveNip05(identifier: string, options: Nip05FetchOptions = {}): Promise<Nip05Resolution> {
  const id = parseNip05(identifier)
  checkOptions(options)
  const settings = fetchSettings(options)
  const signal = checkSignal(options.signal)
  const entry = await fetchEntry(id, settings, signal)
  return { identifier: id, pubkey: entry.pubkey, relays: entry.relays, fetchedAt: Date.now(), cached: false }
}

// ---- verdicts ------------------------------------------------------------------------------------

/**
 * Why a verification came out as it did:
 * - `verified`: the document names this key for the name;
 * - `mismatch`: it names another key (`named`);
 * - `not-found`: it names nobody for the name;
 * - `invalid-identifier`: the identifier is not one (usually a profile's `nip05` field);
 * - `no-identifier`: there was no identifier to check (the client's `verify` of a person whose
 *   profile has none, or who has no profile);
 * - `unavailable`: the document could not be had or read (`code` says why: fetch failed, redirect,
 *   timeout, too large, invalid document). Not proof of anything: try again later.
 */
export type Nip05VerdictReason = 'verified' | 'mismatch' | 'not-found' | 'invalid-identifier' | 'no-identifier' | 'unavailable'

/** The result of a NIP-05 verification. */
export interface Nip05Verdict {
  /** Whether the identifier may be shown for the key. */
  readonly valid: boolean
  /** Why. */
  readonly reason: Nip05VerdictReason
  /** The key checked (hex). */
  readonly pubkey: string
  /** The identifier checked; absent for `invalid-identifier` and `no-identifier`. */
  readonly identifier?: Nip05Identifier
  /** The key the document names for the name (`verified` and `mismatch`). */
  readonly named?: string
  /** The document's relays for the key when `verified`; `[]` otherwise (a mismatched document's relays say nothing about this key). */
  readonly relays: readonly string[]
  /** The `NIP05_*` code for `not-found` and `unavailable`. */
  readonly code?: OutboxErrorCode
  /** The error's message for `unavailable` (no secrets: domain, status, limit). */
  readonly message?: string
  /** When the document (or the failure) was fetched, in milliseconds; absent when nothing was fetched. */
  readonly fetchedAt?: number
  /** Whether the answer came from a cache. */
  readonly cached?: boolean
}

/** A lookup's outcome, as cached: the document's entry, or the code it failed with. */
type Outcome =
  | { readonly ok: true; readonly pubkey: string; readonly relays: readonly string[]; readonly at: number }
  | { readonly ok: false; readonly code: OutboxErrorCode; readonly message: string; readonly at: number }

function verdictFrom(outcome: Outcome, id: Nip05Identifier, pubkey: string, cached: boolean): Nip05Verdict {
  const base = { pubkey, identifier: id, fetchedAt: outcome.at, cached }
  if (outcome.ok) {
    const valid = outcome.pubkey === pubkey
    return { ...base, valid, reason: valid ? 'verified' : 'mismatch', named: outcome.pubkey, relays: valid ? outcome.relays : [] }
  }
  if (outcome.code === 'NIP05_NOT_FOUND') return { ...base, valid: false, reason: 'not-found', relays: [], code: outcome.code }
  return { ...base, valid: false, reason: 'unavailable', relays: [], code: outcome.code, message: outcome.message }
}

/** Turns a failed fetch into a cacheable outcome, or rethrows what must not be cached (aborts, bugs). */
function failure(error: unknown, at: number): Outcome {
  if (error instanceof OutboxError && error.code.startsWith('NIP05_') && error.code !== 'NIP05_ABORTED') {
    return { ok: false, code: error.code, message: error.message, at }
  }
  throw error
}

function checkPubkey(pubkey: unknown): asserts pubkey is string {
  if (!isValidPublicKey(pubkey)) throw new TypeError('pubkey must be a 64-character lower-case hex public key')
}

/** The verdict for an identifier that does not parse, or `undefined` to go on. */
function unparsed(identifier: unknown, pubkey: string): { verdict: Nip05Verdict } | { id: Nip05Identifier } {
  if (typeof identifier !== 'string') throw new TypeError(`identifier must be a string, got ${typeof identifier}`)
  const id = tryParseNip05(identifier)
  return id === undefined ? { verdict: { valid: false, reason: 'invalid-identifier', pubkey, relays: [] } } : { id }
}

/**
 * Checks that a NIP-05 identifier names `pubkey`: one fetch, no cache (see
 * {@link createNip05Resolver}). Failures of the domain are verdicts, not errors: a profile's
 * `nip05` is network input, so a malformed one is `invalid-identifier` rather than a throw.
 *
 * @param identifier - the identifier (usually a profile's `nip05`).
 * @param pubkey - the key it should name (hex).
 * @param options - `fetch`, `signal`, `timeoutMs`, `maxBytes`.
 * @returns the verdict; `valid` only for `verified`.
 * @throws TypeError for a non-string identifier, a malformed pubkey or option; OutboxError
 * `NIP05_ABORTED` when `signal` aborts.
 * @example
 * ```ts
 * import { verifyNip05 } from 'nostr-rendezvous/outbox'
 * const verdict = await verifyNip05(profile.nip05, profile.pubkey)
 * if (verdict.valid) showBadge(verdict.identifier.display)
 * ```
 */
export async function verifyNip05(identifier: string, pubkey: string, options: Nip05FetchOptions = {}): Promise<Nip05Verdict> {
  checkPubkey(pubkey)
  checkOptions(options)
  const settings = fetchSettings(options)
  const signal = checkSignal(options.signal)
  const parsed = unparsed(identifier, pubkey)
  if ('verdict' in parsed) return parsed.verdict
  let outcome: Outcome
  try {
    const entry = await fetchEntry(parsed.id, settings, signal)
    outcome = { ok: true, ...entry, at: Date.now() }
  } catch (error) {
    outcome = failure(error, Date.now())
  }
  return verdictFrom(outcome, parsed.id, pubkey, false)
}

// ---- the cache -----------------------------------------------------------------------------------

/** Options of {@link createNip05Resolver}. */
export interface Nip05ResolverOptions {
  /**
   * The fetch to use (a proxy's to keep the user's address from the domains).
   * @default globalThis.fetch
   */
  readonly fetch?: typeof fetch
  /**
   * Where answers are kept across restarts: records `nip05:<name>@<domain>` in the `settings`
   * collection. Without it the cache lives in memory only.
   * @default none
   */
  readonly storage?: Storage
  /**
   * Clock in milliseconds.
   * @default Date.now
   */
  readonly now?: () => number
  /**
   * How long a document's answer is trusted, in milliseconds.
   * @default 21_600_000 (6 hours)
   */
  readonly ttlMs?: number
  /**
   * How long a failure (not found, unreachable, redirect, bad document) is remembered, so a broken
   * domain is not asked on every render, in milliseconds.
   * @default 300_000 (5 minutes)
   */
  readonly negativeTtlMs?: number
  /**
   * Most identifiers held in memory (least recently used go first).
   * @default 1000
   */
  readonly maxEntries?: number
  /**
   * Most records kept in storage; the oldest beyond it, and expired ones, are deleted from time to
   * time.
   * @default 1000
   */
  readonly maxStored?: number
  /**
   * Per-request time limit in milliseconds.
   * @default 5000
   */
  readonly timeoutMs?: number
  /**
   * Per-request size limit in bytes.
   * @default 262144
   */
  readonly maxBytes?: number
  /**
   * Ends the resolver's life: in-flight fetches are aborted and nothing more is written.
   * @default none
   */
  readonly signal?: AbortSignal
  /**
   * Told about storage errors the resolver survived (a lookup still answers from the network).
   * @default ignore them
   */
  readonly onError?: (error: unknown) => void
}

/** Options of one lookup through a {@link Nip05Resolver}. */
export interface Nip05LookupOptions {
  /** Stops waiting (`NIP05_ABORTED`); the fetch goes on while another caller waits for it. */
  readonly signal?: AbortSignal
  /** Skip the cache and fetch now (the answer then replaces the cached one). @default false */
  readonly fresh?: boolean
}

/** A NIP-05 resolver with a cache; see {@link createNip05Resolver}. */
export interface Nip05Resolver {
  /**
   * {@link resolveNip05} through the cache. A cached failure rejects with its code again until it
   * expires.
   *
   * @param identifier - `name@domain`, `_@domain` or `domain`.
   * @param options - `signal`, `fresh`.
   * @returns the key and relays (`cached` says whether a fetch was made).
   * @throws as {@link resolveNip05}.
   */
  resolve(identifier: string, options?: Nip05LookupOptions): Promise<Nip05Resolution>
  /**
   * {@link verifyNip05} through the cache.
   *
   * @param identifier - the identifier.
   * @param pubkey - the key it should name (hex).
   * @param options - `signal`, `fresh`.
   * @returns the verdict.
   * @throws as {@link verifyNip05}.
   */
  verify(identifier: string, pubkey: string, options?: Nip05LookupOptions): Promise<Nip05Verdict>
  /**
   * Forgets what is cached for an identifier, in memory and in storage.
   *
   * @param identifier - the identifier.
   * @throws TypeError for a malformed identifier; the storage's errors.
   */
  forget(identifier: string): Promise<void>
}

/** Prefix of the storage records. */
const RECORD_PREFIX = 'nip05:'
/** Version of a stored record; others are ignored and overwritten. */
const RECORD_VERSION = 1
/** Storage is pruned on the first write and every this many writes after, so it stays near `maxStored`. */
const PRUNE_EVERY = 64
const CACHEABLE_FAILURES: ReadonlySet<string> = new Set([
  'NIP05_FETCH_FAILED',
  'NIP05_REDIRECTED',
  'NIP05_TIMEOUT',
  'NIP05_TOO_LARGE',
  'NIP05_INVALID_DOCUMENT',
  'NIP05_NOT_FOUND',
])

function encodeOutcome(outcome: Outcome): JsonValue {
  return outcome.ok
    ? { v: RECORD_VERSION, at: outcome.at, pubkey: outcome.pubkey, relays: [...outcome.relays] }
    : { v: RECORD_VERSION, at: outcome.at, code: outcome.code, message: outcome.message }
}

/** A stored record back as an outcome; anything malformed is `undefined` (and gets overwritten). */
function decodeOutcome(value: unknown): Outcome | undefined {
  if (!isPlainObject(value) || value.v !== RECORD_VERSION) return undefined
  const at = value.at
  if (typeof at !== 'number' || !Number.isSafeInteger(at) || at < 0) return undefined
  if (typeof value.code === 'string') {
    if (!CACHEABLE_FAILURES.has(value.code) || typeof value.message !== 'string') return undefined
    return { ok: false, code: value.code as OutboxErrorCode, message: value.message, at }
  }
  if (typeof value.pubkey !== 'string' || !/^[0-9a-f]{64}$/.test(value.pubkey)) return undefined
  if (!Array.isArray(value.relays) || !value.relays.every((url) => typeof url === 'string')) return undefined
  return { ok: true, pubkey: value.pubkey, relays: value.relays as string[], at }
}

/** A lookup under way, shared by the callers asking for the same identifier. */
interface InFlight {
  readonly promise: Promise<{ outcome: Outcome; fetched: boolean }>
  readonly controller: AbortController
  waiters: number
}

class Resolver implements Nip05Resolver {
  readonly #settings: FetchSettings
  readonly #storage: Storage | undefined
  readonly #now: () => number
  readonly #ttlMs: number
  readonly #negativeTtlMs: number
  readonly #maxStored: number
  readonly #life: AbortSignal | undefined
  readonly #onError: (error: unknown) => void
  readonly #memory: LruMap<string, Outcome>
  readonly #inFlight = new Map<string, InFlight>()
  #writes = 0

  constructor(options: Nip05ResolverOptions) {
    checkOptions(options)
    this.#settings = fetchSettings(options)
    const { storage, now = Date.now, onError = () => {} } = options
    if (storage !== undefined && (typeof storage !== 'object' || storage === null || typeof storage.getRecord !== 'function')) {
      throw new TypeError('storage must be a Storage')
    }
    if (typeof now !== 'function') throw new TypeError('now must be a function')
    if (typeof onError !== 'function') throw new TypeError('onError must be a function')
    this.#storage = storage
    this.#now = now
    this.#onError = onError
    this.#ttlMs = positiveInteger(options.ttlMs, 6 * 3_600_000, 'ttlMs')
    this.#negativeTtlMs = positiveInteger(options.negativeTtlMs, 300_000, 'negativeTtlMs')
    this.#maxStored = positiveInteger(options.maxStored, 1000, 'maxStored')
    this.#life = checkSignal(options.signal)
    this.#memory = new LruMap({ maxSize: positiveInteger(options.maxEntries, 1000, 'maxEntries'), now })
  }

  #ttl(outcome: Outcome): number {
    return outcome.ok ? this.#ttlMs : this.#negativeTtlMs
  }

  /** How long `outcome` stays fresh from now: 0 when expired (or dated in the future: a clock jump). */
  #remaining(outcome: Outcome): number {
    const age = this.#now() - outcome.at
    return age < 0 ? 0 : Math.max(0, this.#ttl(outcome) - age)
  }

  async resolve(identifier: string, options: Nip05LookupOptions = {}): Promise<Nip05Resolution> {
    const id = parseNip05(identifier)
    const { outcome, cached } = await this.#lookup(id, options)
    if (!outcome.ok) {
      throw new OutboxError(outcome.code, cached ? 'NIP-05 lookup failed recently (cached)' : 'NIP-05 lookup failed', { details: outcome.message })
    }
    return { identifier: id, pubkey: outcome.pubkey, relays: outcome.relays, fetchedAt: outcome.at, cached }
  }

  async verify(identifier: string, pubkey: string, options: Nip05LookupOptions = {}): Promise<Nip05Verdict> {
    checkPubkey(pubkey)
    const parsed = unparsed(identifier, pubkey)
    if ('verdict' in parsed) {
      checkOptions(options)
      return parsed.verdict
    }
    const { outcome, cached } = await this.#lookup(parsed.id, options)
    return verdictFrom(outcome, parsed.id, pubkey, cached)
  }

  async forget(identifier: string): Promise<void> {
    const id = parseNip05(identifier)
    this.#memory.delete(id.identifier)
    await this.#storage?.deleteRecord('settings', RECORD_PREFIX + id.identifier)
  }

  async #lookup(id: Nip05Identifier, options: Nip05LookupOptions): Promise<{ outcome: Outcome; cached: boolean }> {
    checkOptions(options)
    const signal = checkSignal(options.signal)
    if (options.fresh !== undefined && typeof options.fresh !== 'boolean') throw new TypeError('options.fresh must be a boolean')
    const fresh = options.fresh === true
    const aborted = (): OutboxError => new OutboxError('NIP05_ABORTED', 'NIP-05 lookup aborted', { details: id.domain, cause: signal?.reason })
    if (signal?.aborted) throw aborted()
    if (this.#life?.aborted) throw new OutboxError('NIP05_ABORTED', 'NIP-05 resolver is closed', { details: id.domain })
    if (!fresh) {
      const known = this.#memory.get(id.identifier)
      if (known !== undefined && this.#remaining(known) > 0) return { outcome: known, cached: true }
    }
    const key = id.identifier
    let flight = fresh ? undefined : this.#inFlight.get(key)
    if (flight === undefined) flight = this.#start(id, fresh)
    const current = flight
    current.waiters++
    try {
      const { outcome, fetched } = await (signal === undefined ? current.promise : raceAbort(current.promise, signal, aborted))
      // A fetch joined after it started is a fresh answer too: only storage and memory are caches.
      return { outcome, cached: !fetched }
    } finally {
      // The last one waiting gave up: nobody wants the answer, so the fetch stops.
      if (--current.waiters === 0 && signal?.aborted) {
        current.controller.abort()
        if (this.#inFlight.get(key) === current) this.#inFlight.delete(key)
      }
    }
  }

  #start(id: Nip05Identifier, fresh: boolean): InFlight {
    const key = id.identifier
    const controller = new AbortController()
    // The resolver's end stops every fetch; the listener goes when the fetch is done.
    const life = this.#life
    const onEnd = (): void => controller.abort()
    life?.addEventListener('abort', onEnd, { once: true })
    const promise = this.#load(id, fresh, controller.signal).finally(() => {
      life?.removeEventListener('abort', onEnd)
      if (this.#inFlight.get(key) === flight) this.#inFlight.delete(key)
    })
    // Handled here so a lookup every caller gave up on cannot become an unhandled rejection.
    promise.catch(() => {})
    const flight: InFlight = { promise, controller, waiters: 0 }
    // A `fresh` lookup is not shared: a caller joining it would skip the cache it asked for.
    if (!fresh) this.#inFlight.set(key, flight)
    return flight
  }

  /** The stored answer when still fresh, else a fetch; the result is cached in memory and storage. */
  async #load(id: Nip05Identifier, fresh: boolean, signal: AbortSignal): Promise<{ outcome: Outcome; fetched: boolean }> {
    const key = RECORD_PREFIX + id.identifier
    if (!fresh && this.#storage !== undefined) {
      let stored: Outcome | undefined
      try {
        stored = decodeOutcome(await this.#storage.getRecord('settings', key))
      } catch (error) {
        // A broken cache only means asking the domain again.
        this.#onError(error)
      }
      if (stored !== undefined && this.#remaining(stored) > 0) {
        this.#memory.set(id.identifier, stored, this.#remaining(stored))
        return { outcome: stored, fetched: false }
      }
    }
    let outcome: Outcome
    try {
      const entry = await fetchEntry(id, this.#settings, signal)
      outcome = { ok: true, pubkey: entry.pubkey, relays: entry.relays, at: this.#now() }
    } catch (error) {
      outcome = failure(error, this.#now())
    }
    this.#memory.set(id.identifier, outcome, this.#ttl(outcome))
    if (this.#storage !== undefined && !this.#life?.aborted) await this.#persist(key, outcome)
    return { outcome, fetched: true }
  }

  async #persist(key: string, outcome: Outcome): Promise<void> {
    const storage = this.#storage!
    try {
      await storage.putRecord('settings', key, encodeOutcome(outcome))
      if (this.#writes++ % PRUNE_EVERY === 0) await this.#prune(storage)
    } catch (error) {
      this.#onError(error)
    }
  }

  /** Deletes expired records and the oldest beyond `maxStored`. */
  async #prune(storage: Storage): Promise<void> {
    const records = await storage.listRecords('settings', RECORD_PREFIX)
    const live: { key: string; at: number }[] = []
    const doomed: string[] = []
    for (const [key, value] of records) {
      const outcome = decodeOutcome(value)
      if (outcome === undefined || this.#remaining(outcome) === 0) doomed.push(key)
      else live.push({ key, at: outcome.at })
    }
    live.sort((a, b) => b.at - a.at || (a.key < b.key ? -1 : 1))
    for (const { key } of live.slice(this.#maxStored)) doomed.push(key)
    for (const key of doomed) await storage.deleteRecord('settings', key)
  }
}

/**
 * Creates a NIP-05 resolver with a cache: answers are kept in memory (bounded, least recently
 * used first) and, with `storage`, in the `settings` collection so a restart does not ask every
 * domain again. Failures are cached for a shorter time. Lookups of one identifier at the same time
 * share one fetch.
 *
 * @param options - fetch, storage, clock, lifetimes and limits.
 * @returns the resolver.
 * @throws TypeError/RangeError for a malformed option.
 * @example
 * ```ts
 * import { createNip05Resolver } from 'nostr-rendezvous/outbox'
 * import { memoryStorage } from 'nostr-rendezvous/storage'
 * const nip05 = createNip05Resolver({ storage: memoryStorage() })
 * const verdict = await nip05.verify('bob@example.com', bobPubkey)
 * ```
 */
export function createNip05Resolver(options: Nip05ResolverOptions = {}): Nip05Resolver {
  return new Resolver(options)
}
