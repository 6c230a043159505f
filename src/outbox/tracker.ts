/**
 * The relay-list tracker: finds out where people write, read and take private messages, and keeps
 * that knowledge fresh.
 *
 * For each person it fetches the three lists that say so (NIP-65 kind 10002, NIP-17 kind 10050, and
 * the legacy relay map in the `content` of a kind 3 follow list) from two kinds of place at once:
 * the indexer relays the application configured (which collect everyone's lists), and the relays
 * already known for the person (their outboxes according to the evidence), which hold their lists
 * even when no indexer does and are often the first to get a new version. The newest copy of each
 * kind wins (NIP-01: greater `created_at`, then the lower id), wherever it came from; it is applied
 * to the evidence store and, with storage, kept in the event store.
 *
 * Freshness is counted from when a list was fetched, not from its `created_at`: a list written a
 * year ago and fetched a minute ago is fresh. A person is marked fetched only when at least one
 * relay asked about them answered (EOSE), so a fetch that reached nobody is retried at the next
 * call instead of an hour later. With storage, the fetch times and parsed lists are persisted
 * (collection `relay-lists`, one record per person), so a restart does not fetch fresh lists again.
 *
 * Before the user replaces one of their own lists, {@link Tracker.newestOwnList} looks for the
 * newest copy on many relays, so that an edit starts from it and another client's changes are not
 * clobbered. `docs/routing.md` explains the rules.
 *
 * @module
 */
import type { NostrEvent } from '../crypto/event.js'
import { OutboxError, type OutboxErrorCode, RelayError } from '../errors.js'
import type { QueryResult, RelayPool } from '../relay-pool/pool.js'
import type { RelayReadOutcome, RelayReadStatus } from '../relay-pool/subscription.js'
import type { Filter } from '../relay-pool/types.js'
import { isNewerVersion, kindClass } from '../storage/event-rules.js'
import type { JsonValue, Storage } from '../storage/types.js'
import type { EvidenceStore } from './evidence.js'
import {
  DM_RELAY_LIST_KIND,
  FOLLOW_LIST_KIND,
  MAX_RELAY_LIST_ENTRIES,
  RELAY_LIST_KIND,
  newestEvent,
  normalizeCached,
  parseDmRelayList,
  parseKind3Relays,
  parseRelayList,
  ownRelayUrls,
} from './relay-lists.js'
import { relayHealthFactor, scoreRelays } from './scorer.js'
import { readRecordsSkippingCorrupt } from './stored-records.js'

/** The storage collection the tracker persists its per-person records in. */
const COLLECTION = 'relay-lists'

/**
 * Version of the persisted record; records of another version are ignored (and refetched).
 *
 * @example
 * ```ts
 * import { TRACKER_RECORD_VERSION } from 'nostr-rendezvous/outbox'
 * (await storage.getRecord('relay-lists', pubkey))?.v === TRACKER_RECORD_VERSION
 * ```
 */
export const TRACKER_RECORD_VERSION = 1

/**
 * The kinds the tracker fetches for each person: NIP-65 relay list, NIP-17 DM relays, follow list
 * (for its legacy relay map).
 *
 * @example
 * ```ts
 * import { TRACKED_KINDS } from 'nostr-rendezvous/outbox'
 * TRACKED_KINDS // [10002, 10050, 3]
 * ```
 */
export const TRACKED_KINDS: readonly number[] = Object.freeze([RELAY_LIST_KIND, DM_RELAY_LIST_KIND, FOLLOW_LIST_KIND])

const HEX64 = /^[0-9a-f]{64}$/

// ---- public types --------------------------------------------------------------------------------

/** The parts of a relay pool the tracker uses (a `RelayPool` has them all). */
export type TrackerPool = Pick<RelayPool, 'query'> & Partial<Pick<RelayPool, 'relayStats'>>

/** Options of {@link createTracker}. */
export interface TrackerOptions {
  /** The pool that fetches the lists. The tracker never closes it. */
  readonly pool: TrackerPool
  /** Where fetched lists are applied (`applyRelayList`) and known relays are read from. */
  readonly evidence: EvidenceStore
  /**
   * Where the newest list events (event store) and the per-person fetch records (collection
   * `relay-lists`) are kept across restarts. Without it, everything lives in memory.
   * @default none
   */
  readonly storage?: Storage
  /** Relays that collect everyone's lists (asked about every person), as the application chose them. */
  readonly indexerRelays: readonly string[]
  /**
   * How long a fetched list stays fresh, in ms, counted from when it was fetched.
   * @default 3_600_000 (one hour)
   */
  readonly staleAfterMs?: number
  /**
   * Most authors in one filter. Each kind has its own filter, whose `limit` is the number of
   * authors (a replaceable kind has one event per author), so keep it within relays' `max_limit`.
   * @default 250
   */
  readonly authorsPerRequest?: number
  /**
   * Per-relay time to EOSE for the fetches, in ms.
   * @default the pool's `eoseTimeoutMs`
   */
  readonly eoseTimeoutMs?: number
  /**
   * How many of each person's best known outboxes are asked besides the indexers.
   * @default 3
   */
  readonly knownRelaysPerPerson?: number
  /**
   * Most queries in flight at once within one fetch (each query goes to one relay, or to all the
   * indexers): a fetch for thousands of people touches hundreds of relays, and queueing them all
   * on the pool's connection cap would let the last ones time out before they start.
   * @default 8
   */
  readonly maxParallelQueries?: number
  /**
   * Clock in ms (like the relay pool's).
   * @default Date.now
   */
  readonly now?: () => number
}

/** Options of {@link Tracker.ensureRelayLists}. */
export interface EnsureOptions {
  /** Stops waiting; the call rejects with `TRACKER_ABORTED`. A fetch other calls share goes on for them. */
  readonly signal?: AbortSignal
  /**
   * Fetch even the people whose lists are fresh.
   * @default false
   */
  readonly force?: boolean
}

/** How one relay answered the fetches of one {@link Tracker.ensureRelayLists} call. */
export interface TrackerRelayOutcome {
  /** Normalised relay URL. */
  readonly url: string
  /** `eose` when every query to it ended with EOSE, else the first other outcome. */
  readonly status: RelayReadStatus
  /** Queries sent to it. */
  readonly queries: number
  /** People it was asked about. */
  readonly authors: number
  /** Events it delivered. */
  readonly events: number
  /** The error code of a non-`eose` outcome, if any. */
  readonly code?: string
  /** The relay's or the failure's message, if any. */
  readonly message?: string
}

/** What one {@link Tracker.ensureRelayLists} call did. */
export interface TrackerReport {
  /** Distinct pubkeys asked for. */
  readonly requested: number
  /**
   * Of those, the people whose lists were fetched over the network for this call (by it or by a
   * concurrent call it joined) and answered by at least one relay.
   */
  readonly fetched: number
  /** Of the people fetched, how many had each kind found (kind 3: with or without a relay map). */
  readonly found: { readonly relayList: number; readonly dmRelays: number; readonly kind3: number }
  /** Requested pubkeys for which no kind 10002 is known at all (fetched or cached), sorted. */
  readonly missing: string[]
  /** Per relay asked, sorted by URL. */
  readonly relays: TrackerRelayOutcome[]
}

/** What the tracker knows of one person's relays (see {@link Tracker.relayListOf}). */
export interface TrackedRelayList {
  /** Outboxes: from the newest kind 10002, else from the kind 3 relay map, else `[]`. */
  readonly write: string[]
  /** Inboxes, from the same list as `write`. */
  readonly read: string[]
  /** DM relays from the newest kind 10050; `undefined` when no 10050 is known. */
  readonly dm: string[] | undefined
  /** Which list `write` and `read` come from. */
  readonly source: 'nip65' | 'kind3' | 'none'
  /** `created_at` of the kind 10002 applied, in unix seconds. */
  readonly relayListAt?: number
  /** `created_at` of the kind 10050 applied, in unix seconds. */
  readonly dmRelaysAt?: number
  /** When the person's lists were last fetched (ms, the tracker's clock). */
  readonly fetchedAt?: number
}

/** Options of {@link Tracker.newestOwnList}. */
export interface NewestOwnListOptions {
  /** More relays to ask, besides the indexers and the person's own outboxes, inboxes and DM relays. */
  readonly relays?: readonly string[]
  /** Stops waiting; the call rejects with `TRACKER_ABORTED`. */
  readonly signal?: AbortSignal
  /**
   * How many relays must answer (EOSE) before "this is the newest copy" is believed. Fewer throws
   * `TRACKER_UNCONFIRMED`: publishing over a list no relay could show would clobber it.
   * @default 1
   */
  readonly minAnswers?: number
}

/** Options of {@link Tracker.refreshStale}. */
export interface RefreshOptions {
  /** Stops waiting; the call rejects with `TRACKER_ABORTED`. */
  readonly signal?: AbortSignal
}

/** The relay-list tracker. Created by {@link createTracker}. */
export interface Tracker {
  /** The indexer relays, normalised, in the order given. */
  readonly indexerRelays: readonly string[]
  /**
   * Makes sure the lists of `pubkeys` are known and fresh: fetches those never fetched or fetched
   * more than `staleAfterMs` ago (all of them with `force`), from the indexers and from each
   * person's known outboxes, and applies the newest of each kind. Concurrent calls share fetches.
   *
   * @param pubkeys - people (hex).
   * @param options - `signal`, `force`.
   * @returns what was fetched, found and missing, and how each relay answered.
   * @throws TypeError for a malformed pubkey; OutboxError `TRACKER_ABORTED`, `TRACKER_CLOSED`;
   * RelayError `RELAY_POOL_CLOSED`; the storage's errors when persisting fails.
   */
  ensureRelayLists(pubkeys: readonly string[], options?: EnsureOptions): Promise<TrackerReport>
  /**
   * What is known of a person's relays, from the newest lists applied (fetched since start, or read
   * back from storage by an earlier call).
   *
   * @param pubkey - the person (hex).
   * @returns their lists, or `undefined` when the tracker knows nothing about them.
   * @throws TypeError for a malformed pubkey.
   */
  relayListOf(pubkey: string): TrackedRelayList | undefined
  /**
   * Finds the newest copy of one of the user's own replaceable lists before it is overwritten:
   * asks the indexers, the user's outboxes, inboxes and DM relays, and `options.relays`, compares
   * with the stored copy, stores and applies the winner.
   *
   * @param pubkey - the user (hex).
   * @param kind - a replaceable kind: 3, 10002, 10050, 0 or another of 10000-19999.
   * @param options - extra relays, `signal`, `minAnswers`.
   * @returns the newest copy, or `undefined` when no relay (and no storage) has one.
   * @throws TypeError/RangeError for a malformed pubkey, a kind that is not replaceable, or a bad
   * option; OutboxError `OUTBOX_RELAY_URL_INVALID` for an invalid extra relay, `TRACKER_UNCONFIRMED`
   * when fewer than `minAnswers` relays answered, `TRACKER_ABORTED`, `TRACKER_CLOSED`.
   */
  newestOwnList(pubkey: string, kind: 3 | 10002 | 10050 | number, options?: NewestOwnListOptions): Promise<NostrEvent | undefined>
  /**
   * Fetches again every person the tracker holds whose lists are stale.
   *
   * @param options - `signal`.
   * @returns the report of the fetch.
   * @throws as {@link Tracker.ensureRelayLists}.
   */
  refreshStale(options?: RefreshOptions): Promise<TrackerReport>
  /**
   * The people the tracker holds lists or fetch times for, sorted.
   *
   * @returns pubkeys (hex).
   */
  trackedPubkeys(): string[]
  /**
   * Stops every fetch in flight (they reject with `TRACKER_CLOSED`); later calls reject with
   * `TRACKER_CLOSED`. The pool, storage and evidence store are left open. Idempotent.
   *
   * @returns resolves once the fetches in flight have ended.
   */
  close(): Promise<void>
}

// ---- state ---------------------------------------------------------------------------------------

/** One applied list: its version and the relays it names. */
interface AppliedList {
  readonly at: number
  readonly id: string
  readonly write: string[]
  readonly read: string[]
}

interface PersonLists {
  fetchedAt?: number
  nip65?: AppliedList
  /** `write` and `read` both hold the DM relays. */
  dm?: AppliedList
  /** Only when the follow list's content held a relay map. */
  kind3?: AppliedList
}

type ListSlot = 'nip65' | 'dm' | 'kind3'

function slotOf(kind: number): ListSlot | undefined {
  if (kind === RELAY_LIST_KIND) return 'nip65'
  if (kind === DM_RELAY_LIST_KIND) return 'dm'
  if (kind === FOLLOW_LIST_KIND) return 'kind3'
  return undefined
}

/** The parsed list of an event, or undefined when it says nothing about relays (kind 3 without map). */
function parsedList(event: NostrEvent): AppliedList | undefined {
  if (event.kind === RELAY_LIST_KIND) {
    const list = parseRelayList(event)
    return { at: event.created_at, id: event.id, write: list.write, read: list.read }
  }
  if (event.kind === DM_RELAY_LIST_KIND) {
    const relays = parseDmRelayList(event)
    return { at: event.created_at, id: event.id, write: relays, read: relays }
  }
  if (event.kind === FOLLOW_LIST_KIND) {
    const list = parseKind3Relays(event)
    return list && { at: event.created_at, id: event.id, write: list.write, read: list.read }
  }
  return undefined
}

function listNewer(a: AppliedList, b: AppliedList | undefined): boolean {
  return b === undefined || a.at > b.at || (a.at === b.at && a.id < b.id)
}

// ---- the persisted record ------------------------------------------------------------------------

function encodeList(list: AppliedList, dm: boolean): JsonValue {
  return dm ? [list.at, list.id, list.write] : [list.at, list.id, list.write, list.read]
}

function encode(person: PersonLists): JsonValue {
  const out: Record<string, JsonValue> = { v: TRACKER_RECORD_VERSION }
  if (person.fetchedAt !== undefined) out.fetchedAt = person.fetchedAt
  if (person.nip65) out.nip65 = encodeList(person.nip65, false)
  if (person.dm) out.dm = encodeList(person.dm, true)
  if (person.kind3) out.kind3 = encodeList(person.kind3, false)
  return out
}

function decodeUrls(value: unknown): string[] | undefined {
  if (!Array.isArray(value) || value.length > MAX_RELAY_LIST_ENTRIES) return undefined
  const out: string[] = []
  for (const url of value) {
    // Written normalised; anything else was not written by this code.
    if (typeof url !== 'string' || normalizeCached(url) !== url) return undefined
    out.push(url)
  }
  return out
}

/** A stored list, `undefined` when absent, `false` when malformed. */
function decodeList(value: unknown, dm: boolean): AppliedList | undefined | false {
  if (value === undefined) return undefined
  if (!Array.isArray(value) || value.length !== (dm ? 3 : 4)) return false
  const [at, id] = value as unknown[]
  if (!Number.isSafeInteger(at) || (at as number) < 0 || typeof id !== 'string' || !HEX64.test(id)) return false
  const write = decodeUrls(value[2])
  const read = dm ? write : decodeUrls(value[3])
  if (write === undefined || read === undefined) return false
  return { at: at as number, id, write, read }
}

/** A stored record as state, or undefined when it is not one this version wrote. */
function decode(value: unknown): PersonLists | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined
  const record = value as Record<string, unknown>
  if (record.v !== TRACKER_RECORD_VERSION) return undefined
  const person: PersonLists = {}
  if (record.fetchedAt !== undefined) {
    if (typeof record.fetchedAt !== 'number' || !Number.isFinite(record.fetchedAt)) return undefined
    person.fetchedAt = record.fetchedAt
  }
  const nip65 = decodeList(record.nip65, false)
  const dm = decodeList(record.dm, true)
  const kind3 = decodeList(record.kind3, false)
  if (nip65 === false || dm === false || kind3 === false) return undefined
  if (nip65) person.nip65 = nip65
  if (dm) person.dm = dm
  if (kind3) person.kind3 = kind3
  return person
}

// ---- helpers -------------------------------------------------------------------------------------

/** OutboxError with a tracker code (listed in `docs/errors.md`). */
function trackerError(code: OutboxErrorCode, message: string, details?: string): OutboxError {
  return new OutboxError(code, message, details === undefined ? {} : { details })
}

function abortedError(): OutboxError {
  return trackerError('TRACKER_ABORTED', 'The tracker call was aborted')
}

function closedError(): OutboxError {
  return trackerError('TRACKER_CLOSED', 'The tracker is closed')
}

function checkPubkey(pubkey: unknown, field: string): asserts pubkey is string {
  if (typeof pubkey !== 'string' || !HEX64.test(pubkey)) throw new TypeError(`${field} must be 64 lower-case hex characters`)
}

function checkPubkeys(pubkeys: unknown): string[] {
  if (!Array.isArray(pubkeys)) throw new TypeError('pubkeys must be an array')
  pubkeys.forEach((p, i) => checkPubkey(p, `pubkeys[${i}]`))
  return [...new Set(pubkeys as string[])]
}

function positiveInt(value: unknown, field: string, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number') throw new TypeError(`${field} must be a number, got ${typeof value}`)
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${field} must be a positive integer, got ${value}`)
  return value
}

function checkSignal(signal: unknown): AbortSignal | undefined {
  if (signal === undefined) return undefined
  if (typeof signal !== 'object' || signal === null || typeof (signal as AbortSignal).aborted !== 'boolean') {
    throw new TypeError('signal must be an AbortSignal')
  }
  return signal as AbortSignal
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

function byString(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** Runs `tasks` with at most `limit` at once; resolves when all have settled. */
async function runLimited(tasks: readonly (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const task = tasks[next++]!
      await task()
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker))
}

/** One filter per kind, each limited to one event per author (replaceable kinds). */
function filtersFor(authors: readonly string[]): Filter[] {
  return TRACKED_KINDS.map((kind) => ({ kinds: [kind], authors: [...authors], limit: authors.length }))
}

// ---- fetching ------------------------------------------------------------------------------------

/** One query of a fetch: some authors, asked of some relays. */
interface PlannedQuery {
  readonly relays: string[]
  readonly authors: string[]
  readonly origin: 'configured' | 'discovered'
}

/** What one shared fetch produced. */
interface FetchResult {
  /** People at least one relay answered for. */
  readonly answered: ReadonlySet<string>
  /** Per fetched person, which kinds were found. */
  readonly found: ReadonlyMap<string, { relayList: boolean; dmRelays: boolean; kind3: boolean }>
  /** Every relay outcome, per query. */
  readonly outcomes: readonly { outcome: RelayReadOutcome; authors: number }[]
}

/** The state of one fetch across its queries. */
interface FetchRun {
  /** `kind:pubkey` → the newest copy seen. */
  readonly newest: Map<string, NostrEvent>
  readonly answered: Set<string>
  readonly outcomes: { outcome: RelayReadOutcome; authors: number }[]
  failure: unknown
}

/** Folds one query's result into the fetch: newest copy per kind and person, who was answered. */
function collect(result: QueryResult, query: PlannedQuery, run: FetchRun): void {
  const asked = new Set(query.authors)
  for (const event of result.events) {
    // The pool matched the filters already; this keeps a misbehaving pool from widening the set.
    if (!asked.has(event.pubkey) || slotOf(event.kind) === undefined) continue
    const key = `${event.kind}:${event.pubkey}`
    const known = run.newest.get(key)
    if (known === undefined || isNewerVersion(event, known)) run.newest.set(key, event)
  }
  let anyAnswer = false
  for (const outcome of result.relays) {
    run.outcomes.push({ outcome, authors: query.authors.length })
    if (outcome.status === 'eose') anyAnswer = true
  }
  if (anyAnswer) for (const pubkey of query.authors) run.answered.add(pubkey)
}

/** A fetch in flight, shared by every call that waits on one of its people. */
interface Batch {
  readonly promise: Promise<FetchResult>
  readonly controller: AbortController
  waiters: number
  done: boolean
}

class RelayListTracker implements Tracker {
  readonly indexerRelays: readonly string[]
  readonly #pool: TrackerPool
  readonly #evidence: EvidenceStore
  readonly #storage: Storage | undefined
  readonly #staleAfterMs: number
  readonly #authorsPerRequest: number
  readonly #eoseTimeoutMs: number | undefined
  readonly #knownRelaysPerPerson: number
  readonly #maxParallel: number
  readonly #clock: () => number
  readonly #people = new Map<string, PersonLists>()
  /** People whose stored record has been read (or who need none: no storage). */
  readonly #loaded = new Set<string>()
  readonly #loading = new Map<string, Promise<void>>()
  readonly #inflight = new Map<string, Batch>()
  readonly #batches = new Set<Batch>()
  readonly #closing = new AbortController()

  constructor(options: TrackerOptions) {
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object')
    const { pool, evidence, storage, now = Date.now } = options
    if (typeof pool !== 'object' || pool === null || typeof pool.query !== 'function') throw new TypeError('pool must be a RelayPool')
    if (typeof evidence !== 'object' || evidence === null || typeof evidence.applyRelayList !== 'function') {
      throw new TypeError('evidence must be an EvidenceStore')
    }
    if (storage !== undefined && (typeof storage !== 'object' || storage === null || typeof storage.getRecords !== 'function')) {
      throw new TypeError('storage must be a Storage')
    }
    if (typeof now !== 'function') throw new TypeError('now must be a function')
    const stale = options.staleAfterMs ?? 3_600_000
    if (typeof stale !== 'number' || !(stale >= 0) || !Number.isFinite(stale)) {
      throw new RangeError(`staleAfterMs must be a non-negative finite number, got ${String(stale)}`)
    }
    this.#pool = pool
    this.#evidence = evidence
    this.#storage = storage
    this.indexerRelays = Object.freeze(ownRelayUrls(options.indexerRelays, 'indexerRelays'))
    this.#staleAfterMs = stale
    this.#authorsPerRequest = positiveInt(options.authorsPerRequest, 'authorsPerRequest', 250)
    this.#eoseTimeoutMs = options.eoseTimeoutMs === undefined ? undefined : positiveInt(options.eoseTimeoutMs, 'eoseTimeoutMs', 1)
    this.#knownRelaysPerPerson = options.knownRelaysPerPerson === 0 ? 0 : positiveInt(options.knownRelaysPerPerson, 'knownRelaysPerPerson', 3)
    this.#maxParallel = positiveInt(options.maxParallelQueries, 'maxParallelQueries', 8)
    this.#clock = now
  }

  #now(): number {
    const t = this.#clock()
    return Number.isFinite(t) ? t : Date.now()
  }

  #assertOpen(): void {
    if (this.#closing.signal.aborted) throw closedError()
  }

  // ---- ensureRelayLists --------------------------------------------------------------------------

  async ensureRelayLists(pubkeys: readonly string[], options: EnsureOptions = {}): Promise<TrackerReport> {
    const unique = checkPubkeys(pubkeys)
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object')
    const signal = checkSignal(options.signal)
    this.#assertOpen()
    if (signal?.aborted) throw abortedError()
    await this.#load(unique)
    await this.#evidence.load(unique)
    this.#assertOpen()
    if (signal?.aborted) throw abortedError()
    // From here to the batch registration nothing awaits, so concurrent calls see each other's fetches.
    const now = this.#now()
    const batches = new Set<Batch>()
    const toFetch: string[] = []
    for (const pubkey of unique) {
      const running = this.#inflight.get(pubkey)
      if (running !== undefined) batches.add(running)
      else if (options.force === true || !this.#isFresh(pubkey, now)) toFetch.push(pubkey)
    }
    if (toFetch.length > 0) batches.add(this.#startBatch(toFetch))
    const results = await this.#join([...batches], signal)
    return this.#report(unique, results)
  }

  #isFresh(pubkey: string, now: number): boolean {
    const fetchedAt = this.#people.get(pubkey)?.fetchedAt
    return fetchedAt !== undefined && now - fetchedAt < this.#staleAfterMs
  }

  #startBatch(pubkeys: string[]): Batch {
    const controller = new AbortController()
    const onClose = (): void => controller.abort()
    this.#closing.signal.addEventListener('abort', onClose, { once: true })
    const batch: Batch = {
      promise: this.#fetch(pubkeys, controller.signal),
      controller,
      waiters: 0,
      done: false,
    }
    // Every waiter may have left; the rejection must not go unhandled.
    batch.promise.catch(() => undefined)
    for (const pubkey of pubkeys) this.#inflight.set(pubkey, batch)
    this.#batches.add(batch)
    void batch.promise
      .catch(() => undefined)
      .then(() => {
        batch.done = true
        this.#batches.delete(batch)
        this.#closing.signal.removeEventListener('abort', onClose)
        for (const pubkey of pubkeys) if (this.#inflight.get(pubkey) === batch) this.#inflight.delete(pubkey)
      })
    return batch
  }

  /**
   * Waits for `batches`. When `signal` aborts, this call leaves at once, and a batch every waiter
   * has left is stopped.
   */
  async #join(batches: readonly Batch[], signal: AbortSignal | undefined): Promise<FetchResult[]> {
    if (batches.length === 0) return []
    for (const batch of batches) batch.waiters++
    let left = false
    const leave = (aborting: boolean): void => {
      if (left) return
      left = true
      for (const batch of batches) {
        batch.waiters--
        if (aborting && batch.waiters === 0 && !batch.done) batch.controller.abort()
      }
    }
    let onAbort: (() => void) | undefined
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => {
        leave(true)
        reject(abortedError())
      }
      signal?.addEventListener('abort', onAbort, { once: true })
    })
    try {
      return await Promise.race([Promise.all(batches.map((b) => b.promise)), aborted])
    } finally {
      if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort)
      leave(false)
    }
  }

  /** The first queries of a fetch: every author to the indexers, and each to their best known outboxes. */
  #plan(pubkeys: readonly string[], asked: Map<string, Set<string>>): PlannedQuery[] {
    const sorted = [...pubkeys].sort(byString)
    const queries: PlannedQuery[] = []
    if (this.indexerRelays.length > 0) {
      for (const authors of chunk(sorted, this.#authorsPerRequest)) queries.push({ relays: [...this.indexerRelays], authors, origin: 'configured' })
      for (const pubkey of sorted) asked.set(pubkey, new Set(this.indexerRelays))
    }
    return [...queries, ...this.#planKnown(sorted, asked)]
  }

  /**
   * Queries to each person's best known outboxes not asked yet in this fetch, grouped by relay so
   * that one REQ asks a relay about all the people it is known for.
   */
  #planKnown(sorted: readonly string[], asked: Map<string, Set<string>>): PlannedQuery[] {
    const byRelay = new Map<string, string[]>()
    for (const pubkey of sorted) {
      let done = asked.get(pubkey)
      if (done === undefined) asked.set(pubkey, (done = new Set()))
      for (const url of this.#knownOutboxes(pubkey)) {
        if (done.has(url)) continue
        done.add(url)
        let authors = byRelay.get(url)
        if (authors === undefined) byRelay.set(url, (authors = []))
        authors.push(pubkey)
      }
    }
    const queries: PlannedQuery[] = []
    for (const url of [...byRelay.keys()].sort(byString)) {
      for (const authors of chunk(byRelay.get(url)!, this.#authorsPerRequest)) queries.push({ relays: [url], authors, origin: 'discovered' })
    }
    return queries
  }

  /** The person's best outboxes by the evidence and the relays' health, boxed relays left out. */
  #knownOutboxes(pubkey: string): string[] {
    if (this.#knownRelaysPerPerson === 0) return []
    const nowMs = this.#now()
    const nowSec = Math.floor(nowMs / 1000)
    const stats = this.#pool.relayStats?.bind(this.#pool)
    const scored = scoreRelays(this.#evidence.evidenceFor(pubkey), {
      purpose: 'outbox',
      now: nowSec,
      ...(stats && { health: (url: string) => relayHealthFactor(stats(url), nowSec) }),
    })
    const out: string[] = []
    for (const { url, weight } of scored) {
      if (out.length >= this.#knownRelaysPerPerson) break
      if (weight <= 0) continue
      const penaltyUntil = stats?.(url)?.penaltyUntil
      if (penaltyUntil !== undefined && penaltyUntil > nowMs) continue
      out.push(url)
    }
    return out
  }

  /**
   * One fetch, in two rounds: the indexers and the known outboxes first; then, for people whose
   * outboxes that round revealed or changed (a first list, or a newer one naming new relays), those
   * outboxes too, since a person's own relays may hold a newer list than any indexer.
   */
  async #fetch(pubkeys: readonly string[], signal: AbortSignal): Promise<FetchResult> {
    const run: FetchRun = { newest: new Map(), answered: new Set(), outcomes: [], failure: undefined }
    const asked = new Map<string, Set<string>>()
    await this.#runQueries(this.#plan(pubkeys, asked), signal, run)
    if (!signal.aborted && run.failure === undefined) {
      // True facts whatever happens next; applying them now lets the evidence name the outboxes.
      for (const event of run.newest.values()) this.#applyEvent(event)
      await this.#runQueries(this.#planKnown([...pubkeys].sort(byString), asked), signal, run)
    }
    if (this.#closing.signal.aborted) throw closedError()
    if (signal.aborted) throw abortedError()
    if (run.failure !== undefined) throw run.failure
    return this.#applyFetch(pubkeys, run)
  }

  async #runQueries(queries: readonly PlannedQuery[], signal: AbortSignal, run: FetchRun): Promise<void> {
    const tasks = queries.map((query) => async (): Promise<void> => {
      if (signal.aborted || run.failure !== undefined) return
      let result: QueryResult
      try {
        result = await this.#pool.query(filtersFor(query.authors), {
          relays: query.relays,
          origin: query.origin,
          signal,
          ...(this.#eoseTimeoutMs !== undefined && { eoseTimeoutMs: this.#eoseTimeoutMs }),
        })
      } catch (error) {
        if (!(signal.aborted && error instanceof RelayError && error.code === 'RELAY_ABORTED')) run.failure ??= error
        return
      }
      collect(result, query, run)
    })
    await runLimited(tasks, this.#maxParallel)
  }

  async #applyFetch(pubkeys: readonly string[], run: FetchRun): Promise<FetchResult> {
    const { newest, answered, outcomes } = run
    const now = this.#now()
    const found = new Map<string, { relayList: boolean; dmRelays: boolean; kind3: boolean }>()
    const events: NostrEvent[] = []
    const changed: string[] = []
    for (const pubkey of pubkeys) {
      const relayList = newest.get(`${RELAY_LIST_KIND}:${pubkey}`)
      const dm = newest.get(`${DM_RELAY_LIST_KIND}:${pubkey}`)
      const kind3 = newest.get(`${FOLLOW_LIST_KIND}:${pubkey}`)
      for (const event of [relayList, dm, kind3]) {
        if (event === undefined) continue
        events.push(event)
        this.#applyEvent(event)
      }
      if (relayList || dm || kind3 || answered.has(pubkey)) changed.push(pubkey)
      if (!answered.has(pubkey)) continue
      found.set(pubkey, { relayList: relayList !== undefined, dmRelays: dm !== undefined, kind3: kind3 !== undefined })
      this.#person(pubkey).fetchedAt = now
    }
    await this.#persist(events, changed)
    return { answered, found, outcomes }
  }

  #person(pubkey: string): PersonLists {
    let person = this.#people.get(pubkey)
    if (person === undefined) this.#people.set(pubkey, (person = {}))
    return person
  }

  /** Applies a list event to the tracker's state and the evidence store (each keeps the newest). */
  #applyEvent(event: NostrEvent): void {
    const slot = slotOf(event.kind)
    if (slot === undefined) return
    if (slot !== 'dm') this.#evidence.applyRelayList(event)
    const list = parsedList(event)
    if (list === undefined) return
    const person = this.#person(event.pubkey)
    if (listNewer(list, person[slot])) person[slot] = list
  }

  async #persist(events: readonly NostrEvent[], pubkeys: readonly string[]): Promise<void> {
    const storage = this.#storage
    if (storage === undefined) return
    if (events.length > 0) await storage.putEvents(events)
    if (pubkeys.length > 0) {
      await storage.putRecords(
        COLLECTION,
        pubkeys.map((pubkey) => [pubkey, encode(this.#person(pubkey))] as const),
      )
    }
  }

  // ---- loading -----------------------------------------------------------------------------------

  /** Reads the stored records of people not loaded yet (once per person, shared by concurrent calls). */
  async #load(pubkeys: readonly string[]): Promise<void> {
    const storage = this.#storage
    if (storage === undefined) return
    const waits: Promise<void>[] = []
    const wanted: string[] = []
    for (const pubkey of pubkeys) {
      if (this.#loaded.has(pubkey)) continue
      const loading = this.#loading.get(pubkey)
      if (loading !== undefined) waits.push(loading)
      else wanted.push(pubkey)
    }
    if (wanted.length > 0) {
      const run = this.#read(storage, wanted).finally(() => {
        for (const pubkey of wanted) this.#loading.delete(pubkey)
      })
      for (const pubkey of wanted) this.#loading.set(pubkey, run)
      waits.push(run)
    }
    await Promise.all(waits)
  }

  async #read(storage: Storage, pubkeys: readonly string[]): Promise<void> {
    // A corrupt record is as good as none: the person is fetched again and the record rewritten.
    const { records } = await readRecordsSkippingCorrupt(storage, COLLECTION, pubkeys)
    const reapply: string[] = []
    for (const pubkey of pubkeys) {
      this.#loaded.add(pubkey)
      const raw = records.get(pubkey)
      // A record this version cannot read is ignored: the person is simply fetched again.
      const stored = raw === undefined ? undefined : decode(raw)
      if (stored === undefined) continue
      const person = this.#person(pubkey)
      if (stored.fetchedAt !== undefined) person.fetchedAt = Math.max(person.fetchedAt ?? -Infinity, stored.fetchedAt)
      for (const slot of ['nip65', 'dm', 'kind3'] as const) {
        const list = stored[slot]
        if (list !== undefined && listNewer(list, person[slot])) person[slot] = list
      }
      if (stored.nip65 !== undefined || stored.kind3 !== undefined) reapply.push(pubkey)
    }
    await this.#reapply(storage, reapply)
  }

  /**
   * Applies the stored list events of people whose records were just read, so an evidence store
   * without storage of its own (or one that lost a flush) learns them again without a fetch.
   */
  async #reapply(storage: Storage, pubkeys: readonly string[]): Promise<void> {
    if (pubkeys.length === 0) return
    await this.#evidence.load(pubkeys)
    const needed = pubkeys.filter((pubkey) => {
      const lists = this.#evidence.evidenceFor(pubkey).lists
      const mine = this.#people.get(pubkey)
      return (mine?.nip65 !== undefined && lists.nip65?.id !== mine.nip65.id) || (mine?.kind3 !== undefined && lists.kind3?.id !== mine.kind3.id)
    })
    for (const authors of chunk(needed, this.#authorsPerRequest)) {
      const events = await storage.queryEvents([{ kinds: [RELAY_LIST_KIND, FOLLOW_LIST_KIND], authors }])
      for (const event of events) this.#evidence.applyRelayList(event)
    }
  }

  // ---- reading -----------------------------------------------------------------------------------

  relayListOf(pubkey: string): TrackedRelayList | undefined {
    checkPubkey(pubkey, 'pubkey')
    const person = this.#people.get(pubkey)
    if (person === undefined) return undefined
    const main = person.nip65 ?? person.kind3
    return {
      write: [...(main?.write ?? [])],
      read: [...(main?.read ?? [])],
      dm: person.dm && [...person.dm.write],
      source: person.nip65 ? 'nip65' : person.kind3 ? 'kind3' : 'none',
      ...(person.nip65 && { relayListAt: person.nip65.at }),
      ...(person.dm && { dmRelaysAt: person.dm.at }),
      ...(person.fetchedAt !== undefined && { fetchedAt: person.fetchedAt }),
    }
  }

  trackedPubkeys(): string[] {
    return [...this.#people.keys()].sort(byString)
  }

  // ---- the user's own lists ----------------------------------------------------------------------

  async newestOwnList(pubkey: string, kind: number, options: NewestOwnListOptions = {}): Promise<NostrEvent | undefined> {
    checkPubkey(pubkey, 'pubkey')
    if (!Number.isSafeInteger(kind) || kind < 0 || kind > 65535 || kindClass(kind) !== 'replaceable') {
      throw new RangeError(`kind must be a replaceable kind (0, 3 or 10000-19999), got ${String(kind)}`)
    }
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object')
    const signal = checkSignal(options.signal)
    const extra = options.relays === undefined ? [] : ownRelayUrls(options.relays, 'options.relays')
    const minAnswers = options.minAnswers === 0 ? 0 : positiveInt(options.minAnswers, 'options.minAnswers', 1)
    this.#assertOpen()
    if (signal?.aborted) throw abortedError()
    await this.#load([pubkey])
    await this.#evidence.load([pubkey])
    const asked = new Set<string>()
    const found: NostrEvent[] = []
    const outcomes: RelayReadOutcome[] = []
    // Two rounds: a copy found in the first may name relays (a new outbox) that hold a newer one.
    for (let round = 0; round < 2; round++) {
      const relays = [...new Set([...this.indexerRelays, ...extra, ...this.#ownRelays(pubkey)])].filter((url) => !asked.has(url)).sort(byString)
      if (relays.length === 0) break
      for (const url of relays) asked.add(url)
      const result = await this.#queryOwn(pubkey, kind, relays, signal)
      outcomes.push(...result.relays)
      const network = result.events.filter((e) => e.kind === kind && e.pubkey === pubkey)
      found.push(...network)
      const best = newestEvent(network)
      if (best !== undefined) this.#applyEvent(best)
    }
    const answers = outcomes.filter((r) => r.status === 'eose').length
    if (answers < minAnswers) {
      const statuses = outcomes.map((r) => `${r.url}: ${r.status}`).join(', ')
      throw trackerError(
        'TRACKER_UNCONFIRMED',
        'Too few relays answered to be sure this is the newest copy of the list',
        `${answers} of ${asked.size} answered, ${minAnswers} needed${statuses ? `; ${statuses}` : ''}`,
      )
    }
    const local = this.#storage ? await this.#storage.queryEvents([{ kinds: [kind], authors: [pubkey] }]) : []
    const newest = newestEvent([...found, ...local])
    if (newest === undefined) return undefined
    this.#applyEvent(newest)
    await this.#persist([newest], slotOf(kind) === undefined ? [] : [pubkey])
    return newest
  }

  async #queryOwn(pubkey: string, kind: number, relays: string[], signal: AbortSignal | undefined): Promise<QueryResult> {
    const combined = combineSignals(signal, this.#closing.signal)
    try {
      return await this.#pool.query([{ kinds: [kind], authors: [pubkey], limit: 1 }], {
        relays,
        // The user's own relays and the ones the application named: private addresses allowed.
        origin: 'configured',
        signal: combined.signal,
        ...(this.#eoseTimeoutMs !== undefined && { eoseTimeoutMs: this.#eoseTimeoutMs }),
      })
    } catch (error) {
      if (this.#closing.signal.aborted) throw closedError()
      if (signal?.aborted) throw abortedError()
      throw error
    } finally {
      combined.dispose()
    }
  }

  /** Every relay the user is known to use: outboxes, inboxes and DM relays, declared or manual. */
  #ownRelays(pubkey: string): string[] {
    const out = new Set<string>()
    const person = this.#people.get(pubkey)
    for (const list of [person?.nip65, person?.kind3, person?.dm]) {
      if (list) for (const url of [...list.write, ...list.read]) out.add(url)
    }
    for (const relay of this.#evidence.evidenceFor(pubkey).relays) {
      const s = relay.sources
      const declared = s['nip65-read'] || s['nip65-write'] || s['kind3-read'] || s['kind3-write'] || s.nip05
      if (declared || relay.manual?.read === true || relay.manual?.write === true) out.add(relay.url)
    }
    return [...out]
  }

  // ---- refreshing and closing -------------------------------------------------------------------

  async refreshStale(options: RefreshOptions = {}): Promise<TrackerReport> {
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object')
    const now = this.#now()
    const stale = [...this.#people.keys()].filter((pubkey) => !this.#isFresh(pubkey, now)).sort(byString)
    return this.ensureRelayLists(stale, options.signal === undefined ? {} : { signal: options.signal })
  }

  async close(): Promise<void> {
    this.#closing.abort()
    await Promise.all([...this.#batches].map((batch) => batch.promise.catch(() => undefined)))
  }

  // ---- reporting ---------------------------------------------------------------------------------

  #report(requested: readonly string[], results: readonly FetchResult[]): TrackerReport {
    const found = { relayList: 0, dmRelays: 0, kind3: 0 }
    let fetched = 0
    for (const pubkey of requested) {
      const result = results.find((r) => r.found.has(pubkey))
      const kinds = result?.found.get(pubkey)
      if (kinds === undefined) continue
      fetched++
      if (kinds.relayList) found.relayList++
      if (kinds.dmRelays) found.dmRelays++
      if (kinds.kind3) found.kind3++
    }
    const missing = requested.filter((pubkey) => this.#people.get(pubkey)?.nip65 === undefined).sort(byString)
    return { requested: requested.length, fetched, found, missing, relays: summarise(results.flatMap((r) => r.outcomes)) }
  }
}

/** Merges per-query outcomes into one line per relay, sorted by URL. */
function summarise(outcomes: readonly { outcome: RelayReadOutcome; authors: number }[]): TrackerRelayOutcome[] {
  const byUrl = new Map<string, { status: RelayReadStatus; queries: number; authors: number; events: number; code?: string; message?: string }>()
  for (const { outcome, authors } of outcomes) {
    let entry = byUrl.get(outcome.url)
    if (entry === undefined) byUrl.set(outcome.url, (entry = { status: outcome.status, queries: 0, authors: 0, events: 0 }))
    entry.queries++
    entry.authors += authors
    entry.events += outcome.events
    if (entry.status === 'eose' && outcome.status !== 'eose') entry.status = outcome.status
    if (entry.code === undefined && outcome.code !== undefined) entry.code = outcome.code
    if (entry.message === undefined && outcome.message !== undefined) entry.message = outcome.message
  }
  return [...byUrl.keys()].sort(byString).map((url) => ({ url, ...byUrl.get(url)! }))
}

/** A signal that aborts when either input does; `dispose` removes the listeners. */
function combineSignals(a: AbortSignal | undefined, b: AbortSignal): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController()
  const onAbort = (): void => controller.abort()
  if (a?.aborted || b.aborted) controller.abort()
  a?.addEventListener('abort', onAbort, { once: true })
  b.addEventListener('abort', onAbort, { once: true })
  return {
    signal: controller.signal,
    dispose: () => {
      a?.removeEventListener('abort', onAbort)
      b.removeEventListener('abort', onAbort)
    },
  }
}

/**
 * Creates a relay-list tracker on top of a relay pool and an evidence store.
 *
 * Call {@link Tracker.ensureRelayLists} with the people about to be read (follows, thread
 * participants) before routing; it returns at once for people fetched within `staleAfterMs`. Call
 * {@link Tracker.refreshStale} from time to time, and {@link Tracker.newestOwnList} before
 * replacing one of the user's own lists. The tracker does not flush the evidence store.
 *
 * @param options - pool, evidence store, indexer relays, optional storage, freshness and batching.
 * @returns a new tracker.
 * @throws TypeError/RangeError for a malformed option; OutboxError `OUTBOX_RELAY_URL_INVALID` for an
 * invalid indexer URL.
 * @example
 * ```ts
 * import { createEvidenceStore, createTracker } from 'nostr-rendezvous/outbox'
 * import { createRelayPool } from 'nostr-rendezvous/relay-pool'
 * import { memoryStorage } from 'nostr-rendezvous/storage'
 * const storage = memoryStorage()
 * const pool = createRelayPool()
 * const evidence = createEvidenceStore({ storage })
 * const tracker = createTracker({ pool, evidence, storage, indexerRelays: ['wss://purplepag.es'] })
 * const report = await tracker.ensureRelayLists(follows)
 * console.log(report.missing.length, 'follows have no relay list')
 * tracker.relayListOf(follows[0])?.write // their outboxes
 * ```
 */
export function createTracker(options: TrackerOptions): Tracker {
  return new RelayListTracker(options)
}
