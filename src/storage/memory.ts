/**
 * The in-memory storage adapter: the default `Storage`, bounded, indexed, gone when the process
 * ends.
 *
 * Events are indexed by author, kind and single-letter tag value, so a query walks the smallest of
 * the candidate sets its filter names instead of every event. Replaceable and addressable events
 * keep one version per coordinate, and NIP-09 deletions are remembered through the stored kind 5
 * events themselves, so a deleted event cannot come back while its deletion is kept.
 *
 * The store is bounded (`maxEvents`). Over the cap it evicts by value to the outbox model: plain
 * events first (oldest `created_at` first), then replaceable and addressable versions (profiles,
 * relay lists: cheap to refetch, but the router needs them), and deletion events last, because
 * they are what keeps deleted events from being resurrected by the next relay that still has them.
 *
 * Memory is most of what this adapter costs (100,000 events are ~80 MB of JavaScript objects), so
 * the bookkeeping around them is kept small (measured with `bench/memory.bench.ts`):
 * - one object per event, holding its fields plus its relays and its place in the eviction heap
 *   (no wrapper object, no per-event list of index keys: they are read back from the tags);
 * - an index entry naming one event holds its id string, not a one-element `Set` (most `e` tag
 *   values are named by one event);
 * - equal strings are kept once: a new event's pubkey, id and single-letter tag values are
 *   replaced by the equal string an already stored event holds (a reply's `e` tag by its target's
 *   id, a `p` tag by that author's pubkey). The strings are found through the indexes and the
 *   events, never through a table of their own, so none outlives the last event naming it;
 * - the relays an event was seen on are one string while there is one.
 *
 * @module
 */
import { StorageError } from '../errors.js'
import type { NostrEvent } from '../crypto/event.js'
import { addressOf, deletionTargets, eventProblem, kindClass, matchesFilter, newestFirst, isNewerVersion } from './event-rules.js'
import { copyJson } from './json.js'
import { RECORD_COLLECTIONS } from './types.js'
import type {
  JsonValue,
  PutEventsOptions,
  PutResult,
  QueryEventsOptions,
  RecordCollection,
  Storage,
  StorageFilter,
} from './types.js'
import { assertFilters, checkCollection, checkKey, checkRelay, checkStrings, throwIfAborted } from './arguments.js'

/** Options of {@link memoryStorage}. */
export interface MemoryStorageOptions {
  /**
   * Most events kept. Storing one more evicts one: the oldest regular event, else the oldest
   * replaceable or addressable version, else the oldest deletion event. A positive integer.
   * @default 50_000
   */
  readonly maxEvents?: number
}

const DEFAULT_MAX_EVENTS = 50_000

/**
 * Relays remembered per event. The scorer wants to know that an event travels through a relay;
 * the twenty-first relay adds little, and a popular event must not grow without bound.
 */
const MAX_SEEN_ON = 20

/** Eviction tiers, evicted in this order. */
const REGULAR = 0
const REPLACEABLE = 1
const DELETION = 2
type Tier = typeof REGULAR | typeof REPLACEABLE | typeof DELETION

/**
 * A stored event: its seven NIP-01 fields (never handed out: reads return copies) and the store's
 * bookkeeping, in one object. Always created by one object literal, so every one has the same
 * shape.
 */
interface Kept {
  readonly id: string
  readonly pubkey: string
  readonly created_at: number
  readonly kind: number
  readonly tags: string[][]
  readonly content: string
  readonly sig: string
  /** Relays it was seen on, in first-seen order: none, one (the usual case) or up to MAX_SEEN_ON. */
  seenOn: string | string[] | undefined
  /** Its position in its tier's eviction heap. */
  heapIndex: number
}

/**
 * Two or more ids filed under one index key, with that key: the string to share for an equal
 * pubkey or tag value (see `#shared`), found without walking the set.
 */
class Ids<K> extends Set<string> {
  readonly key: K
  constructor(key: K, ids: readonly string[]) {
    super(ids)
    this.key = key
  }
}

/** The ids filed under one index key: a single id as itself (no one-element Set), more in an `Ids`. */
type Entry<K> = string | Ids<K>

/** The tags of events without any, shared (stored events are never changed in place). */
const NO_TAGS: string[][] = Object.freeze([]) as unknown as string[][]

/**
 * Create an in-memory {@link Storage}. Every method is asynchronous (it returns a promise and never
 * throws synchronously), so code written against it works unchanged with the persistent adapters.
 *
 * Ephemeral kinds (20000-29999) are never stored: `putEvents` reports them `invalid` with the
 * reason `ephemeral kinds are not stored`. Records are deep-copied in and out; a record value that
 * is not JSON (a function, a `Map`, `NaN`, `undefined` inside) rejects with a `TypeError` naming
 * the key.
 *
 * @param options - the event cap.
 * @returns a storage that lives as long as the object does.
 * @throws TypeError or RangeError when `maxEvents` is not a positive integer.
 * @example
 * ```ts
 * import { memoryStorage } from 'nostr-rendezvous/storage'
 * const storage = memoryStorage({ maxEvents: 10_000 })
 * const [result] = await storage.putEvents([event], { seenOn: 'wss://relay.example.com' })
 * result.status // 'stored'
 * const notes = await storage.queryEvents([{ kinds: [1], authors: [event.pubkey], limit: 20 }])
 * ```
 */
export function memoryStorage(options: MemoryStorageOptions = {}): Storage {
  if (typeof options !== 'object' || options === null) throw new TypeError('memoryStorage options must be an object')
  const maxEvents = options.maxEvents ?? DEFAULT_MAX_EVENTS
  if (typeof maxEvents !== 'number') throw new TypeError(`maxEvents must be a number, got ${typeof maxEvents}`)
  if (!Number.isSafeInteger(maxEvents) || maxEvents < 1) {
    throw new RangeError(`maxEvents must be a positive integer, got ${String(maxEvents)}`)
  }
  return new MemoryStore(maxEvents)
}

class MemoryStore implements Storage {
  readonly name = 'memory'
  #closed = false
  readonly #maxEvents: number
  readonly #events = new Map<string, Kept>()
  readonly #byAuthor = new Map<string, Entry<string>>()
  readonly #byKind = new Map<number, Entry<number>>()
  /** Tag letter → tag value → ids of the events with such a tag. */
  readonly #byTag = new Map<string, Map<string, Entry<string>>>()
  /** Coordinate (`kind:pubkey:d`) → id of the one version kept. */
  readonly #current = new Map<string, string>()
  /** Target id → ids of stored deletions naming it (the author is checked on use). */
  readonly #deletedIds = new Map<string, Entry<string>>()
  /** Coordinate → ids of stored deletions naming it (coordinates carry the author already). */
  readonly #deletedAddresses = new Map<string, Entry<string>>()
  /** One heap per tier, each holding exactly the stored events of that tier. */
  readonly #evictionQueues: [EvictionHeap, EvictionHeap, EvictionHeap] = [new EvictionHeap(), new EvictionHeap(), new EvictionHeap()]
  readonly #records = new Map<RecordCollection, Map<string, JsonValue>>(RECORD_COLLECTIONS.map((c) => [c, new Map()]))

  constructor(maxEvents: number) {
    this.#maxEvents = maxEvents
  }

  async putEvents(events: readonly NostrEvent[], options: PutEventsOptions = {}): Promise<PutResult[]> {
    this.#checkOpen()
    if (!Array.isArray(events)) throw new TypeError('events must be an array')
    const relay = options.seenOn
    if (relay !== undefined) checkRelay(relay, 'seenOn')
    return events.map((event) => this.#putOne(event, relay))
  }

  async queryEvents(filters: readonly StorageFilter[], options: QueryEventsOptions = {}): Promise<NostrEvent[]> {
    this.#checkOpen()
    assertFilters(filters)
    const { signal } = options
    const found = new Map<string, Kept>()
    for (const filter of filters) {
      throwIfAborted(signal)
      for (const event of this.#queryOne(filter)) found.set(event.id, event)
    }
    throwIfAborted(signal)
    return [...found.values()].sort(newestFirst).map(copyEvent)
  }

  async getEvent(id: string): Promise<NostrEvent | undefined> {
    this.#checkOpen()
    if (typeof id !== 'string') throw new TypeError(`id must be a string, got ${typeof id}`)
    const event = this.#events.get(id)
    return event && copyEvent(event)
  }

  async countEvents(): Promise<number> {
    this.#checkOpen()
    return this.#events.size
  }

  async addSeenOn(ids: readonly string[], relay: string): Promise<void> {
    this.#checkOpen()
    checkStrings(ids, 'ids')
    checkRelay(relay, 'relay')
    for (const id of ids) {
      const event = this.#events.get(id)
      if (event) addRelay(event, relay)
    }
  }

  async seenOn(ids: readonly string[]): Promise<Map<string, string[]>> {
    this.#checkOpen()
    checkStrings(ids, 'ids')
    return new Map(ids.map((id) => [id, relaysOf(this.#events.get(id))]))
  }

  async removeEvents(ids: readonly string[]): Promise<number> {
    this.#checkOpen()
    checkStrings(ids, 'ids')
    let removed = 0
    for (const id of ids) if (this.#remove(id)) removed++
    return removed
  }

  async getRecord(collection: RecordCollection, key: string): Promise<JsonValue | undefined> {
    const records = this.#collection(collection)
    checkKey(key)
    const value = records.get(key)
    return value === undefined ? undefined : copyJson(value, key)
  }

  async getRecords(collection: RecordCollection, keys: readonly string[]): Promise<Map<string, JsonValue>> {
    const records = this.#collection(collection)
    if (!Array.isArray(keys)) throw new TypeError('keys must be an array')
    for (const key of keys) checkKey(key)
    const out = new Map<string, JsonValue>()
    for (const key of keys) {
      const value = records.get(key)
      if (value !== undefined) out.set(key, copyJson(value, key))
    }
    return out
  }

  async putRecords(collection: RecordCollection, entries: ReadonlyArray<readonly [string, JsonValue]>): Promise<void> {
    const records = this.#collection(collection)
    if (!Array.isArray(entries)) throw new TypeError('entries must be an array of [key, value] pairs')
    // Copy (and so check) everything before writing anything: all or nothing, like a transaction.
    const copies = entries.map((entry): [string, JsonValue] => {
      if (!Array.isArray(entry) || entry.length !== 2) throw new TypeError('entries must be an array of [key, value] pairs')
      checkKey(entry[0])
      return [entry[0], copyJson(entry[1], entry[0])]
    })
    for (const [key, value] of copies) records.set(key, value)
  }

  async putRecord(collection: RecordCollection, key: string, value: JsonValue): Promise<void> {
    const records = this.#collection(collection)
    checkKey(key)
    records.set(key, copyJson(value, key))
  }

  async deleteRecord(collection: RecordCollection, key: string): Promise<void> {
    const records = this.#collection(collection)
    checkKey(key)
    records.delete(key)
  }

  async listRecords(collection: RecordCollection, prefix = ''): Promise<Array<[string, JsonValue]>> {
    const records = this.#collection(collection)
    if (typeof prefix !== 'string') throw new TypeError(`prefix must be a string, got ${typeof prefix}`)
    const keys = [...records.keys()].filter((k) => k.startsWith(prefix)).sort(compareKeys)
    return keys.map((key) => [key, copyJson(records.get(key)!, key)])
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#events.clear()
    this.#byAuthor.clear()
    this.#byKind.clear()
    this.#byTag.clear()
    this.#current.clear()
    this.#deletedIds.clear()
    this.#deletedAddresses.clear()
    this.#records.clear()
    for (const queue of this.#evictionQueues) queue.clear()
  }

  #checkOpen(): void {
    if (this.#closed) throw new StorageError('STORAGE_CLOSED', 'Storage is closed', { details: 'memory' })
  }

  #collection(collection: RecordCollection): Map<string, JsonValue> {
    this.#checkOpen()
    checkCollection(collection)
    return this.#records.get(collection)!
  }

  #putOne(input: unknown, relay: string | undefined): PutResult {
    const problem = eventProblem(input)
    const id = typeof (input as { id?: unknown } | null)?.id === 'string' ? (input as { id: string }).id : ''
    if (problem) return { id, status: 'invalid', reason: problem }
    // NIP-01: relays do not store ephemeral events. The event is well-formed, but nothing was kept,
    // so it is reported with the one status that says "not stored, and never will be".
    if (kindClass((input as NostrEvent).kind) === 'ephemeral') return { id, status: 'invalid', reason: 'ephemeral kinds are not stored' }

    const existing = this.#events.get(id)
    if (existing) {
      if (relay !== undefined) addRelay(existing, relay)
      return { id, status: 'duplicate' }
    }
    const event = this.#copyIn(input as NostrEvent, relay)
    const address = addressOf(event)
    if (this.#isDeleted(event, address)) return { id, status: 'deleted' }

    const replaced: string[] = []
    if (address !== undefined) {
      const currentId = this.#current.get(address)
      const current = currentId === undefined ? undefined : this.#events.get(currentId)
      if (current) {
        if (!isNewerVersion(event, current)) return { id, status: 'superseded' }
        this.#remove(current.id)
        replaced.push(current.id)
      }
    }
    const tier = tierOf(event)
    this.#insert(event, tier, address)
    if (tier === DELETION) replaced.push(...this.#applyDeletion(event))
    this.#evictOverCap()
    return replaced.length > 0 ? { id, status: 'stored', replaced } : { id, status: 'stored' }
  }

  /**
   * The store's own copy of a well-formed event, its strings shared with the stored events where
   * they are equal (see `#shared`).
   */
  #copyIn(event: NostrEvent, relay: string | undefined): Kept {
    const tags =
      event.tags.length === 0
        ? NO_TAGS
        : event.tags.map((tag) => {
            const copy = [...tag]
            const letter = copy[0]
            const value = copy[1]
            if (letter?.length === 1 && value !== undefined) copy[1] = this.#shared(letter, value)
            return copy
          })
    return {
      id: this.#shared('e', event.id),
      pubkey: this.#shared('p', event.pubkey),
      created_at: event.created_at,
      kind: event.kind,
      tags,
      content: event.content,
      sig: event.sig,
      seenOn: relay,
      heapIndex: -1,
    }
  }

  /**
   * A string equal to `value` that a stored event already holds, else `value` itself: as the
   * value of a `letter` tag, or for `e` as an event's id and for `p` as an author's pubkey. Ids,
   * pubkeys and `e`/`p` values are 64-character strings that a stream of replies and reactions
   * repeats many times; each copy kept would cost ~80 bytes (V8 shares only very short strings
   * parsed from JSON). The string is found through the indexes (a key there means a stored event
   * holds it), never a table of its own, so a string lives exactly as long as some stored event
   * or index entry holds it and the store stays bounded by its events. Constant time: a key named
   * by several events is kept on its `Ids`; one named once is read from that event.
   */
  #shared(letter: string, value: string): string {
    if (letter === 'e') {
      const target = this.#events.get(value)
      if (target) return target.id
    } else if (letter === 'p') {
      const ids = this.#byAuthor.get(value)
      if (ids !== undefined) return typeof ids === 'string' ? this.#events.get(ids)!.pubkey : ids.key
    }
    const ids = this.#byTag.get(letter)?.get(value)
    if (ids === undefined) return value
    if (typeof ids !== 'string') return ids.key
    for (const tag of this.#events.get(ids)!.tags) {
      const held = tag[1]
      if (held === value && tag[0] === letter) return held
    }
    return value
  }

  /** Whether a kept deletion by the event's author names it (by id, or by coordinate and time). */
  #isDeleted(event: Kept, address: string | undefined): boolean {
    if (event.kind === 5) return false // NIP-09: a deletion of a deletion has no effect
    const byId = this.#deletedIds.get(event.id)
    if (byId !== undefined) {
      for (const deletionId of idsOf(byId)) {
        if (this.#events.get(deletionId)?.pubkey === event.pubkey) return true
      }
    }
    if (address === undefined) return false
    const byAddress = this.#deletedAddresses.get(address)
    if (byAddress !== undefined) {
      for (const deletionId of idsOf(byAddress)) {
        const deletion = this.#events.get(deletionId)
        if (deletion && deletion.created_at >= event.created_at) return true
      }
    }
    return false
  }

  /** Remove what a just-stored deletion names, and remember it so the targets stay out. */
  #applyDeletion(deletion: Kept): string[] {
    const removed: string[] = []
    const { ids, addresses } = deletionTargets(deletion)
    for (const target of ids) {
      addToIndex(this.#deletedIds, target, deletion.id)
      const stored = this.#events.get(target)
      // NIP-09: only the author's own events, and a deletion of a deletion has no effect.
      if (stored && stored.pubkey === deletion.pubkey && tierOf(stored) !== DELETION && this.#remove(target)) removed.push(target)
    }
    for (const address of addresses) {
      addToIndex(this.#deletedAddresses, address, deletion.id)
      const currentId = this.#current.get(address)
      const stored = currentId === undefined ? undefined : this.#events.get(currentId)
      if (stored && stored.created_at <= deletion.created_at && this.#remove(stored.id)) removed.push(stored.id)
    }
    return removed
  }

  #insert(event: Kept, tier: Tier, address: string | undefined): void {
    const { id } = event
    this.#events.set(id, event)
    addToIndex(this.#byAuthor, event.pubkey, id)
    addToIndex(this.#byKind, event.kind, id)
    for (const tag of event.tags) {
      const letter = tag[0]
      const value = tag[1]
      if (letter?.length !== 1 || value === undefined) continue
      let values = this.#byTag.get(letter)
      if (!values) this.#byTag.set(letter, (values = new Map()))
      addToIndex(values, value, id) // a repeated tag files the id once: adding is idempotent
    }
    if (address !== undefined) this.#current.set(address, id)
    this.#evictionQueues[tier].push(event)
  }

  /** Drop an event and every index entry pointing at it. Returns whether it was there. */
  #remove(id: string): boolean {
    const event = this.#events.get(id)
    if (!event) return false
    this.#events.delete(id)
    removeFromIndex(this.#byAuthor, event.pubkey, id)
    removeFromIndex(this.#byKind, event.kind, id)
    // The index keys are read back from the tags (the same rule as #insert) instead of being kept.
    for (const tag of event.tags) {
      const letter = tag[0]
      const value = tag[1]
      if (letter?.length !== 1 || value === undefined) continue
      const values = this.#byTag.get(letter)
      if (!values) continue
      removeFromIndex(values, value, id)
      if (values.size === 0) this.#byTag.delete(letter)
    }
    const tier = tierOf(event)
    if (tier === REPLACEABLE) {
      const address = addressOf(event)
      if (address !== undefined && this.#current.get(address) === id) this.#current.delete(address)
    } else if (tier === DELETION) {
      // A deletion that is gone no longer guards its targets (the same as in a store rebuilt from
      // the events it holds).
      const { ids, addresses } = deletionTargets(event)
      for (const target of ids) removeFromIndex(this.#deletedIds, target, id)
      for (const address of addresses) removeFromIndex(this.#deletedAddresses, address, id)
    }
    this.#evictionQueues[tier].remove(event)
    return true
  }

  #evictOverCap(): void {
    const [regular, replaceable, deletions] = this.#evictionQueues
    while (this.#events.size > this.#maxEvents) {
      // The heaps hold exactly the stored events, so the first non-empty one has the victim.
      const oldest = regular.peek() ?? replaceable.peek() ?? deletions.peek()
      if (!oldest) return // unreachable while the store holds events; never loop forever
      this.#remove(oldest.id)
    }
  }

  /** The events one filter matches, with its limit applied (not yet copied). */
  #queryOne(filter: StorageFilter): Kept[] {
    if (filter.limit === 0) return []
    const plan = this.#plan(filter)
    if (plan === 'none') return []
    const matches: Kept[] = []
    if (plan === 'all') {
      for (const event of this.#events.values()) if (matchesFilter(event, filter)) matches.push(event)
    } else {
      // The driving condition holds for every candidate; check the others only.
      const rest: StorageFilter = { ...filter, [plan.key]: undefined }
      const seen = plan.disjoint ? undefined : new Set<string>()
      for (const entry of plan.sets) {
        for (const id of idsOf(entry)) {
          if (seen) {
            if (seen.has(id)) continue
            seen.add(id)
          }
          const event = this.#events.get(id)!
          if (matchesFilter(event, rest)) matches.push(event)
        }
      }
    }
    return newest(matches, filter.limit)
  }

  /**
   * Which index to walk for a filter: the condition whose candidate sets are smallest in total.
   * `none` when a condition is an empty list or names nothing stored; `all` when the filter has no
   * indexed condition.
   */
  #plan(filter: StorageFilter): 'none' | 'all' | { key: string; sets: Array<Entry<unknown> | string[]>; disjoint: boolean } {
    let best: { key: string; sets: Array<Entry<unknown> | string[]>; disjoint: boolean; size: number } | undefined
    const consider = (key: string, sets: Array<Entry<unknown> | string[]>, size: number, disjoint: boolean): void => {
      if (!best || size < best.size) best = { key, sets, disjoint, size }
    }
    if (filter.ids) {
      const ids = filter.ids.filter((id) => this.#events.has(id))
      consider('ids', [ids], ids.length, false)
    }
    if (filter.authors) consider('authors', ...lookup(this.#byAuthor, new Set(filter.authors)), true)
    if (filter.kinds) consider('kinds', ...lookup(this.#byKind, new Set(filter.kinds)), true)
    for (const key of Object.keys(filter)) {
      const values = filter[key as `#${string}`]
      if (key.length !== 2 || key[0] !== '#' || !values) continue
      consider(key, ...lookup(this.#byTag.get(key[1]!), new Set(values)), false)
    }
    if (!best) return 'all'
    if (best.size === 0) return 'none'
    return best
  }
}

/** The index entries under `keys`, and how many ids they hold together. */
function lookup<K>(index: Map<K, Entry<K>> | undefined, keys: Set<K>): [Entry<K>[], number] {
  const entries: Entry<K>[] = []
  let size = 0
  if (index === undefined) return [entries, size]
  for (const key of keys) {
    const ids = index.get(key)
    if (ids !== undefined) {
      entries.push(ids)
      size += typeof ids === 'string' ? 1 : ids.size
    }
  }
  return [entries, size]
}

/**
 * The newest `limit` events (all when `limit` is undefined), newest first. A bounded insertion
 * keeps `limit` small queries over many matches at O(n log limit) instead of sorting everything.
 */
function newest(events: Kept[], limit: number | undefined): Kept[] {
  if (limit === undefined || limit * 8 >= events.length) return events.sort(newestFirst).slice(0, limit)
  const top: Kept[] = []
  for (const event of events) {
    if (top.length === limit && newestFirst(event, top[limit - 1]!) >= 0) continue
    let lo = 0
    let hi = top.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (newestFirst(top[mid]!, event) <= 0) lo = mid + 1
      else hi = mid
    }
    top.splice(lo, 0, event)
    if (top.length > limit) top.pop()
  }
  return top
}

function tierOf(event: Kept): Tier {
  if (event.kind === 5) return DELETION
  const cls = kindClass(event.kind)
  return cls === 'replaceable' || cls === 'addressable' ? REPLACEABLE : REGULAR
}

/** The ids of an entry, to walk (a string is iterable too: never walk an entry directly). */
function idsOf(entry: Entry<unknown> | string[]): Iterable<string> {
  return typeof entry === 'string' ? [entry] : entry
}

function addToIndex<K>(index: Map<K, Entry<K>>, key: K, id: string): void {
  const ids = index.get(key)
  if (ids === undefined) index.set(key, id)
  else if (typeof ids !== 'string') ids.add(id)
  else if (ids !== id) index.set(key, new Ids(key, [ids, id]))
}

function removeFromIndex<K>(index: Map<K, Entry<K>>, key: K, id: string): void {
  const ids = index.get(key)
  if (ids === undefined) return
  if (typeof ids === 'string') {
    if (ids === id) index.delete(key)
    return
  }
  ids.delete(id)
  // Back to a plain id at one left: an entry keeps costing what it names, not what it once named.
  // (V8 compacts a set's table as it shrinks, so taking its one id here walks no long run of holes.)
  if (ids.size === 1) index.set(key, ids.values().next().value as string)
  else if (ids.size === 0) index.delete(key)
}

function addRelay(event: Kept, relay: string): void {
  const seen = event.seenOn
  if (seen === undefined) event.seenOn = relay
  else if (typeof seen === 'string') {
    if (seen !== relay) event.seenOn = [seen, relay]
  } else if (seen.length < MAX_SEEN_ON && !seen.includes(relay)) seen.push(relay)
}

/** A fresh array of the relays an event was seen on (none for an unknown event). */
function relaysOf(event: Kept | undefined): string[] {
  const seen = event?.seenOn
  return seen === undefined ? [] : typeof seen === 'string' ? [seen] : [...seen]
}

/** A plain copy of the seven NIP-01 fields: what every read hands out. */
function copyEvent(event: NostrEvent): NostrEvent {
  return {
    id: event.id,
    pubkey: event.pubkey,
    created_at: event.created_at,
    kind: event.kind,
    tags: event.tags.map((tag) => [...tag]),
    content: event.content,
    sig: event.sig,
  }
}

/**
 * Record key order: JavaScript string order (UTF-16 code units), which is also IndexedDB's key
 * order, so every adapter lists records the same way.
 */
function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/**
 * A binary min-heap of stored events: oldest `created_at` first, ties to the id listed last by
 * queries. Each event knows its own position (`heapIndex`), so a removed event leaves the heap at
 * once: the heap holds exactly the live events of its tier, 4 bytes each, and never needs
 * compacting.
 */
class EvictionHeap {
  #items: Kept[] = []

  get size(): number {
    return this.#items.length
  }

  /** The event to evict first, if any. */
  peek(): Kept | undefined {
    return this.#items[0]
  }

  push(event: Kept): void {
    this.#items.push(event)
    this.#up(this.#items.length - 1)
  }

  /** Take out an event that is in this heap. */
  remove(event: Kept): void {
    const items = this.#items
    const at = event.heapIndex
    const last = items.pop()!
    event.heapIndex = -1
    if (last === event) return
    items[at] = last
    if (this.#up(at) === at) this.#down(at)
  }

  clear(): void {
    this.#items = []
  }

  /** Move the event at `i` towards the root while it comes first; returns where it settled. */
  #up(i: number): number {
    const items = this.#items
    const event = items[i]!
    while (i > 0) {
      const parent = (i - 1) >> 1
      const above = items[parent]!
      if (!evictedBefore(event, above)) break
      items[i] = above
      above.heapIndex = i
      i = parent
    }
    items[i] = event
    event.heapIndex = i
    return i
  }

  #down(i: number): void {
    const items = this.#items
    const n = items.length
    const event = items[i]!
    for (;;) {
      let child = 2 * i + 1
      if (child >= n) break
      if (child + 1 < n && evictedBefore(items[child + 1]!, items[child]!)) child++
      const below = items[child]!
      if (!evictedBefore(below, event)) break
      items[i] = below
      below.heapIndex = i
      i = child
    }
    items[i] = event
    event.heapIndex = i
  }
}

function evictedBefore(a: Kept, b: Kept): boolean {
  return a.created_at < b.created_at || (a.created_at === b.created_at && a.id > b.id)
}
