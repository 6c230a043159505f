/**
 * The user's own per-relay settings: a rank (0 = never use) and read / write / advertise /
 * spam-safe flags, persisted in storage, plus the relays the user blocked (NIP-51 kind 10006).
 * The selector, router and pool gates consult it; `docs/relay-management.md` explains each rule.
 *
 * Persistence: one record per configured relay in the storage's `settings` collection (key
 * `relay-config:relay:<url>`), and one for the blocked-relays list (`relay-config:blocked`). Every
 * {@link RelayConfig.set} is written through before it changes anything in memory, so a failed
 * write leaves the settings as they were; changes run one after another, in call order.
 *
 * @module
 */
import { OutboxError } from '../errors.js'
import { tryNormalizeRelayUrl } from '../relay-pool/url.js'
import type { JsonValue, Storage } from '../storage/types.js'
import { normalizeCached } from './relay-lists.js'

/** Rank given to relays the user has not ranked. 0 = never use; 9 = most preferred. */
export const DEFAULT_RELAY_RANK = 3

/** The highest rank. */
export const MAX_RELAY_RANK = 9

/** Key prefix of the per-relay records in the `settings` collection. */
export const RELAY_CONFIG_RECORD_PREFIX = 'relay-config:relay:'

/** Key of the blocked-relays record in the `settings` collection. */
export const RELAY_CONFIG_BLOCKED_RECORD = 'relay-config:blocked'

/** Most blocked relays kept (a kind 10006 is network input: a huge one must not cost unbounded memory). */
export const MAX_BLOCKED_RELAYS = 2000

/** One relay's settings, defaults filled in. */
export interface RelayPreference {
  /** Normalised relay URL. */
  readonly url: string
  /** 0 = never connect, read, write or advertise; 1-9 = preference (default 3). */
  readonly rank: number
  /** `false`: never read from it; `true`: one of the user's own read relays; unset: as relay lists say. */
  readonly read?: boolean
  /** `false`: never publish to it; `true`: one of the user's own write relays; unset: as relay lists say. */
  readonly write?: boolean
  /** `false`: never send the relay list there; `true`: always; unset: automatic. */
  readonly advertise?: boolean
  /** Events from people the user does not follow are accepted from this relay. */
  readonly spamSafe?: boolean
}

/** A change to one relay's settings; `null` clears a flag back to unset. */
export type RelayPreferenceChange = {
  readonly [K in Exclude<keyof RelayPreference, 'url'>]?: RelayPreference[K] | null
}

/** The per-relay settings store. */
export interface RelayConfig {
  /**
   * One relay's settings (defaults when never set).
   * @throws OutboxError `OUTBOX_RELAY_URL_INVALID` for a URL that is not a relay URL.
   */
  get(url: string): RelayPreference
  /** Every relay with an explicit setting, sorted by URL. */
  all(): RelayPreference[]
  /**
   * Changes one relay's settings and persists them (written before the change shows).
   * @throws OutboxError `OUTBOX_RELAY_URL_INVALID`; TypeError / RangeError for a malformed change;
   * the storage's errors (nothing changed).
   */
  set(url: string, change: RelayPreferenceChange): Promise<RelayPreference>
  /** `true` when the relay must not be used at all: rank 0, or on the blocked-relays list. Never throws. */
  isBlocked(url: string): boolean
  /** `true` when the relay is flagged spam-safe (and not blocked). Never throws. */
  isSpamSafe(url: string): boolean
  /** Replaces the blocked-relays list (the user's NIP-51 kind 10006); invalid URLs are skipped. */
  setBlocked(urls: readonly string[]): void
  /** Loads the persisted settings; the others answer defaults until it resolves. */
  load(): Promise<void>
  /** The blocked-relays list in effect (from {@link RelayConfig.setBlocked} or storage), sorted. */
  blockedList(): string[]
  /** When the relay's settings were last changed (ms, the store's clock), if ever. */
  changedAt(url: string): number | undefined
  /** A number that grows with every change of any setting or of the blocked list (for caches). */
  revision(): number
  /** Calls `listener` after every change; returns the function that removes it. */
  onChange(listener: (change: RelayConfigChange) => void): () => void
  /** Resolves once the latest {@link RelayConfig.load} settled (whether or not it succeeded). */
  loaded(): Promise<void>
  /** Resolves once every load and write started so far settled (before closing the storage). */
  idle(): Promise<void>
}

/** What changed, as {@link RelayConfig.onChange} reports it. */
export type RelayConfigChange =
  | { readonly type: 'relay'; readonly url: string; readonly before: RelayPreference; readonly after: RelayPreference }
  | { readonly type: 'blocked'; readonly added: readonly string[]; readonly removed: readonly string[] }
  | { readonly type: 'loaded' }

/**
 * The read-only view of the settings the router and selector need: a {@link RelayConfig} is one.
 */
export type RelayPreferences = Pick<RelayConfig, 'get' | 'isBlocked' | 'all'>

/** Options of {@link createRelayConfig}. */
export interface RelayConfigOptions {
  /**
   * Where the settings persist (records of the `settings` collection).
   * @default none: in memory only
   */
  readonly storage?: Pick<Storage, 'putRecord' | 'deleteRecord' | 'listRecords' | 'getRecord'>
  /**
   * Clock in ms, for {@link RelayConfig.changedAt}.
   * @default Date.now
   */
  readonly now?: () => number
  /**
   * Told about problems the store survives: a stored record that cannot be read (skipped), a
   * failed write of the blocked list (kept in memory), a listener that threw.
   * @default none
   */
  readonly onError?: (error: unknown) => void
}

const CHANGE_KEYS = ['rank', 'read', 'write', 'advertise', 'spamSafe'] as const
type FlagKey = 'read' | 'write' | 'advertise' | 'spamSafe'
const FLAG_KEYS: readonly FlagKey[] = ['read', 'write', 'advertise', 'spamSafe']

/** What is stored per relay: only what differs from the defaults. */
interface Stored {
  rank?: number
  read?: boolean
  write?: boolean
  advertise?: boolean
  spamSafe?: boolean
  changedAt?: number
}

function invalidUrl(field: string, url: unknown): OutboxError {
  const shown = typeof url === 'string' ? JSON.stringify(url.length > 80 ? `${url.slice(0, 80)}…` : url) : typeof url
  return new OutboxError('OUTBOX_RELAY_URL_INVALID', 'Not a relay URL', { details: `${field}: ${shown}` })
}

function normalizeOrThrow(url: unknown, field: string): string {
  if (typeof url !== 'string') throw new TypeError(`${field} must be a string`)
  const normalized = tryNormalizeRelayUrl(url)
  if (normalized === undefined) throw invalidUrl(field, url)
  return normalized
}

/** Checks a change; returns it with only the keys given. */
function checkChange(change: unknown): RelayPreferenceChange {
  if (change === null || typeof change !== 'object' || Array.isArray(change)) throw new TypeError('change must be an object')
  for (const key of Object.keys(change)) {
    if (!(CHANGE_KEYS as readonly string[]).includes(key)) throw new TypeError(`change.${key} is not a relay setting (rank, read, write, advertise, spamSafe)`)
  }
  const { rank } = change as { rank?: unknown }
  if (rank !== undefined && rank !== null) {
    if (typeof rank !== 'number') throw new TypeError(`change.rank must be a number, got ${typeof rank}`)
    if (!Number.isInteger(rank) || rank < 0 || rank > MAX_RELAY_RANK) throw new RangeError(`change.rank must be an integer from 0 to ${MAX_RELAY_RANK}, got ${rank}`)
  }
  for (const key of FLAG_KEYS) {
    const value = (change as Record<string, unknown>)[key]
    if (value !== undefined && value !== null && typeof value !== 'boolean') throw new TypeError(`change.${key} must be a boolean or null, got ${typeof value}`)
  }
  return change as RelayPreferenceChange
}

/** A stored record, or `undefined` when it is not one (junk is skipped, never trusted). */
function readStored(value: JsonValue): Stored | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined
  const out: Stored = {}
  const { rank, changedAt } = value
  if (rank !== undefined) {
    if (typeof rank !== 'number' || !Number.isInteger(rank) || rank < 0 || rank > MAX_RELAY_RANK) return undefined
    out.rank = rank
  }
  for (const key of FLAG_KEYS) {
    const flag = value[key]
    if (flag === undefined) continue
    if (typeof flag !== 'boolean') return undefined
    out[key] = flag
  }
  if (typeof changedAt === 'number' && Number.isFinite(changedAt)) out.changedAt = changedAt
  return out
}

function toPreference(url: string, stored: Stored | undefined): RelayPreference {
  const out: { -readonly [K in keyof RelayPreference]: RelayPreference[K] } = { url, rank: stored?.rank ?? DEFAULT_RELAY_RANK }
  if (stored !== undefined) for (const key of FLAG_KEYS) if (stored[key] !== undefined) out[key] = stored[key]
  return out
}

/** Whether nothing differs from the defaults (then no record is kept). */
function isDefault(stored: Stored): boolean {
  return (stored.rank === undefined || stored.rank === DEFAULT_RELAY_RANK) && FLAG_KEYS.every((key) => stored[key] === undefined)
}

function byString(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** Normalised, deduplicated, sorted URLs of a blocked list; invalid entries skipped, size bounded. */
function blockedSet(urls: readonly unknown[]): Set<string> {
  const out = new Set<string>()
  for (const raw of urls) {
    const url = normalizeCached(raw)
    if (url !== undefined) out.add(url)
    if (out.size >= MAX_BLOCKED_RELAYS) break
  }
  return out
}

class PersistedRelayConfig implements RelayConfig {
  readonly #storage: RelayConfigOptions['storage']
  readonly #now: () => number
  readonly #onError: (error: unknown) => void
  /** Normalised URL -> what differs from the defaults. */
  #settings = new Map<string, Stored>()
  #blocked = new Set<string>()
  /** Set when `setBlocked` ran after the running load started: the load must not undo it. */
  #blockedSince = 0
  #revision = 0
  readonly #listeners = new Set<(change: RelayConfigChange) => void>()
  /** Writes and loads, one after another (never rejects). */
  #chain: Promise<void> = Promise.resolve()
  #lastLoad: Promise<void> = Promise.resolve()

  constructor(options: RelayConfigOptions) {
    if (options === null || typeof options !== 'object') throw new TypeError('options must be an object')
    const { storage, now = Date.now, onError } = options
    if (storage !== undefined && (storage === null || typeof storage !== 'object' || typeof storage.putRecord !== 'function' || typeof storage.listRecords !== 'function')) {
      throw new TypeError('storage must be a Storage')
    }
    if (typeof now !== 'function') throw new TypeError('now must be a function')
    if (onError !== undefined && typeof onError !== 'function') throw new TypeError('onError must be a function')
    this.#storage = storage
    this.#now = now
    this.#onError = (error) => {
      try {
        onError?.(error)
      } catch {
        // A reporter that throws must not break the settings.
      }
    }
  }

  /** The normalised URL, or `undefined`; memoised (the router asks about the same relays all the time). */
  #lookup(url: string): string | undefined {
    return this.#settings.has(url) || this.#blocked.has(url) ? url : normalizeCached(url)
  }

  get(url: string): RelayPreference {
    if (typeof url !== 'string') throw new TypeError('url must be a string')
    const normalized = this.#lookup(url)
    if (normalized === undefined) throw invalidUrl('url', url)
    return toPreference(normalized, this.#settings.get(normalized))
  }

  all(): RelayPreference[] {
    return [...this.#settings.keys()].sort(byString).map((url) => toPreference(url, this.#settings.get(url)))
  }

  changedAt(url: string): number | undefined {
    const normalized = this.#lookup(url)
    return normalized === undefined ? undefined : this.#settings.get(normalized)?.changedAt
  }

  isBlocked(url: string): boolean {
    if (typeof url !== 'string') return false
    const normalized = this.#lookup(url)
    if (normalized === undefined) return false
    return this.#blocked.has(normalized) || this.#settings.get(normalized)?.rank === 0
  }

  isSpamSafe(url: string): boolean {
    if (typeof url !== 'string') return false
    const normalized = this.#lookup(url)
    if (normalized === undefined || this.#blocked.has(normalized)) return false
    const stored = this.#settings.get(normalized)
    return stored !== undefined && stored.rank !== 0 && stored.spamSafe === true
  }

  blockedList(): string[] {
    return [...this.#blocked].sort(byString)
  }

  revision(): number {
    return this.#revision
  }

  onChange(listener: (change: RelayConfigChange) => void): () => void {
    if (typeof listener !== 'function') throw new TypeError('listener must be a function')
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  loaded(): Promise<void> {
    return this.#lastLoad
  }

  idle(): Promise<void> {
    return this.#chain
  }

  #changed(change: RelayConfigChange): void {
    this.#revision++
    for (const listener of [...this.#listeners]) {
      try {
        listener(change)
      } catch (error) {
        this.#onError(error)
      }
    }
  }

  /** Runs `task` after every earlier write or load settled. */
  #queue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(task)
    this.#chain = run.then(
      () => undefined,
      () => undefined,
    )
    return run
  }

  set(url: string, change: RelayPreferenceChange): Promise<RelayPreference> {
    // Checked before queueing: a bad argument throws at the call, not later.
    const normalized = normalizeOrThrow(url, 'url')
    const checked = checkChange(change)
    return this.#queue(async () => {
      const before = this.#settings.get(normalized)
      const next: Stored = { ...before }
      delete next.changedAt
      for (const key of CHANGE_KEYS) {
        const value = checked[key]
        if (value === null) delete next[key]
        else if (value !== undefined) (next as Record<string, unknown>)[key] = value
      }
      if (next.rank === DEFAULT_RELAY_RANK) delete next.rank
      const nothingSet = isDefault(next)
      if (!nothingSet) next.changedAt = this.#now()
      // Written first: if storage refuses, memory keeps the old settings (no half-written state).
      if (this.#storage !== undefined) {
        if (nothingSet) await this.#storage.deleteRecord('settings', RELAY_CONFIG_RECORD_PREFIX + normalized)
        else await this.#storage.putRecord('settings', RELAY_CONFIG_RECORD_PREFIX + normalized, next as unknown as JsonValue)
      }
      if (nothingSet) this.#settings.delete(normalized)
      else this.#settings.set(normalized, next)
      const after = toPreference(normalized, nothingSet ? undefined : next)
      this.#changed({ type: 'relay', url: normalized, before: toPreference(normalized, before), after })
      return after
    })
  }

  setBlocked(urls: readonly string[]): void {
    if (!Array.isArray(urls)) throw new TypeError('urls must be an array of relay URLs')
    const next = blockedSet(urls)
    const added = [...next].filter((url) => !this.#blocked.has(url)).sort(byString)
    const removed = [...this.#blocked].filter((url) => !next.has(url)).sort(byString)
    this.#blockedSince++
    if (added.length === 0 && removed.length === 0) return
    this.#blocked = next
    this.#changed({ type: 'blocked', added, removed })
    const storage = this.#storage
    if (storage === undefined) return
    const list = [...next].sort(byString)
    // Written behind: the list is the user's kind 10006, read again from relays, so a failed write
    // only costs the head start it gives the next launch.
    void this.#queue(() => storage.putRecord('settings', RELAY_CONFIG_BLOCKED_RECORD, list)).catch(this.#onError)
  }

  load(): Promise<void> {
    const startedAt = this.#blockedSince
    const run = this.#queue(async () => {
      const storage = this.#storage
      if (storage === undefined) return
      const records = await storage.listRecords('settings', RELAY_CONFIG_RECORD_PREFIX)
      const blockedRecord = await storage.getRecord('settings', RELAY_CONFIG_BLOCKED_RECORD)
      const settings = new Map<string, Stored>()
      for (const [key, value] of records) {
        const url = tryNormalizeRelayUrl(key.slice(RELAY_CONFIG_RECORD_PREFIX.length))
        const stored = readStored(value)
        if (url === undefined || stored === undefined) {
          this.#onError(new OutboxError('OUTBOX_RELAY_CONFIG_CORRUPT', 'A stored relay setting could not be read; it is ignored', { details: key }))
          continue
        }
        if (!isDefault(stored)) settings.set(url, stored)
      }
      this.#settings = settings
      // A list set while loading is newer than the stored one.
      if (this.#blockedSince === startedAt && blockedRecord !== undefined) {
        if (Array.isArray(blockedRecord)) this.#blocked = blockedSet(blockedRecord)
        else this.#onError(new OutboxError('OUTBOX_RELAY_CONFIG_CORRUPT', 'The stored blocked-relays list could not be read; it is ignored', { details: RELAY_CONFIG_BLOCKED_RECORD }))
      }
      this.#changed({ type: 'loaded' })
    })
    this.#lastLoad = run.then(
      () => undefined,
      () => undefined,
    )
    return run
  }
}

/**
 * Creates the per-relay settings store: ranks and flags persisted in `storage`, and the blocked
 * relays. Call {@link RelayConfig.load} once to read what an earlier run saved (the client does).
 *
 * @param options - storage, clock, error reporter.
 * @returns the store.
 * @throws TypeError for a malformed option.
 * @example
 * ```ts
 * import { createRelayConfig } from 'nostr-rendezvous/outbox'
 * const config = createRelayConfig({ storage })
 * await config.load()
 * await config.set('wss://paid.example', { rank: 8, spamSafe: true })
 * await config.set('wss://spammy.example', { rank: 0 }) // never used again
 * config.isBlocked('wss://spammy.example') // true
 * ```
 */
export function createRelayConfig(options: RelayConfigOptions = {}): RelayConfig {
  return new PersistedRelayConfig(options)
}

/**
 * The factor a relay's rank puts on its scores: rank / 3, so the default rank changes nothing, 9
 * triples a relay's weight and 1 divides it by three. 0 is not a factor but "never use".
 *
 * @param rank - an integer 0-9.
 * @returns the factor.
 * @example
 * ```ts
 * import { rankFactor } from 'nostr-rendezvous/outbox'
 * rankFactor(3) // 1
 * rankFactor(9) // 3
 * ```
 */
export function rankFactor(rank: number): number {
  return rank / DEFAULT_RELAY_RANK
}
