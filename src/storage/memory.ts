/**
 * The in-memory storage adapter: the default `Storage`, bounded, indexed, gone when the process
 * ends.
 *
 * Events are indexed by author, kind and `letter:value` for single-letter tags, so a query walks
 * the smallest of the candidate sets its filter names instead of every event. Replaceable and
 * addressable events keep one version per coordinate, and NIP-09 deletions are remembered through
 * the stored kind 5 events themselves, so a deleted event cannot come back while its deletion is
 * kept.
 *
 * The store is bounded (`maxEvents`). Over the cap it evicts by value to the outbox model: plain
 * events first (oldest `created_at` first), then replaceable and addressable versions (profiles,
 * relay lists: cheap to refetch, but the router needs them), and deletion events last, because
 * they are what keeps deleted events from being resurrected by the next relay that still has them.
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

interface Stored {
  readonly event: NostrEvent
  readonly tier: Tier
  /** Index keys (`letter:value`) this event is filed under, deduplicated. */
  readonly tagKeys: readonly string[]
  /** The coordinate for replaceable and addressable events. */
  readonly address: string | undefined
  readonly seenOn: string[]
}

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
  readonly #events = new Map<string, Stored>()
  readonly #byAuthor = new Map<string, Set<string>>()
  readonly #byKind = new Map<number, Set<string>>()
  readonly #byTag = new Map<string, Set<string>>()
  /** Coordinate (`kind:pubkey:d`) → id of the one version kept. */
  readonly #current = new Map<string, string>()
  /** Target id → ids of stored deletions naming it (the author is checked on use). */
  readonly #deletedIds = new Map<string, Set<string>>()
  /** Coordinate → ids of stored deletions naming it (coordinates carry the author already). */
  readonly #deletedAddresses = new Map<string, Set<string>>()
  readonly #evictionQueues: [EvictionHeap, EvictionHeap, EvictionHeap] = [new EvictionHeap(), new EvictionHeap(), new EvictionHeap()]
  readonly #tierCounts: [number, number, number] = [0, 0, 0]
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
    const found = new Map<string, NostrEvent>()
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
    const stored = this.#events.get(id)
    return stored && copyEvent(stored.event)
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
      const stored = this.#events.get(id)
      if (stored) addRelay(stored.seenOn, relay)
    }
  }

  async seenOn(ids: readonly string[]): Promise<Map<string, string[]>> {
    this.#checkOpen()
    checkStrings(ids, 'ids')
    return new Map(ids.map((id) => [id, [...(this.#events.get(id)?.seenOn ?? [])]]))
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
    const event = copyEvent(input as NostrEvent)
    const cls = kindClass(event.kind)
    // NIP-01: relays do not store ephemeral events. The event is well-formed, but nothing was kept,
    // so it is reported with the one status that says "not stored, and never will be".
    if (cls === 'ephemeral') return { id, status: 'invalid', reason: 'ephemeral kinds are not stored' }

    const existing = this.#events.get(id)
    if (existing) {
      if (relay !== undefined) addRelay(existing.seenOn, relay)
      return { id, status: 'duplicate' }
    }
    const address = addressOf(event)
    if (this.#isDeleted(event, address)) return { id, status: 'deleted' }

    const replaced: string[] = []
    if (address !== undefined) {
      const currentId = this.#current.get(address)
      const current = currentId === undefined ? undefined : this.#events.get(currentId)
      if (current) {
        if (!isNewerVersion(event, current.event)) return { id, status: 'superseded' }
        this.#remove(current.event.id)
        replaced.push(current.event.id)
      }
    }
    const tier: Tier = event.kind === 5 ? DELETION : address !== undefined ? REPLACEABLE : REGULAR
    this.#insert(event, tier, address, relay)
    if (tier === DELETION) replaced.push(...this.#applyDeletion(event))
    this.#evictOverCap()
    return replaced.length > 0 ? { id, status: 'stored', replaced } : { id, status: 'stored' }
  }

  /** Whether a kept deletion by the event's author names it (by id, or by coordinate and time). */
  #isDeleted(event: NostrEvent, address: string | undefined): boolean {
    if (event.kind === 5) return false // NIP-09: a deletion of a deletion has no effect
    for (const deletionId of this.#deletedIds.get(event.id) ?? []) {
      if (this.#events.get(deletionId)?.event.pubkey === event.pubkey) return true
    }
    if (address === undefined) return false
    for (const deletionId of this.#deletedAddresses.get(address) ?? []) {
      const deletion = this.#events.get(deletionId)?.event
      if (deletion && deletion.created_at >= event.created_at) return true
    }
    return false
  }

  /** Remove what a just-stored deletion names, and remember it so the targets stay out. */
  #applyDeletion(deletion: NostrEvent): string[] {
    const removed: string[] = []
    const { ids, addresses } = deletionTargets(deletion)
    for (const target of ids) {
      addToIndex(this.#deletedIds, target, deletion.id)
      const stored = this.#events.get(target)
      // NIP-09: only the author's own events, and a deletion of a deletion has no effect.
      if (stored && stored.event.pubkey === deletion.pubkey && stored.tier !== DELETION && this.#remove(target)) removed.push(target)
    }
    for (const address of addresses) {
      addToIndex(this.#deletedAddresses, address, deletion.id)
      const currentId = this.#current.get(address)
      const stored = currentId === undefined ? undefined : this.#events.get(currentId)
      if (stored && stored.event.created_at <= deletion.created_at && this.#remove(stored.event.id)) removed.push(stored.event.id)
    }
    return removed
  }

  #insert(event: NostrEvent, tier: Tier, address: string | undefined, relay: string | undefined): void {
    const tagKeys = [...new Set(event.tags.filter((t) => t[0]?.length === 1 && t[1] !== undefined).map((t) => `${t[0]}:${t[1]}`))]
    const stored: Stored = { event, tier, tagKeys, address, seenOn: relay === undefined ? [] : [relay] }
    this.#events.set(event.id, stored)
    addToIndex(this.#byAuthor, event.pubkey, event.id)
    addToIndex(this.#byKind, event.kind, event.id)
    for (const key of tagKeys) addToIndex(this.#byTag, key, event.id)
    if (address !== undefined) this.#current.set(address, event.id)
    this.#tierCounts[tier]++
    const queue = this.#evictionQueues[tier]
    queue.push(event.created_at, event.id)
    // Entries of removed events stay in the heap until popped; rebuild before they dominate it.
    if (queue.size > 2 * this.#tierCounts[tier] + 1024) {
      queue.rebuild([...this.#events.values()].filter((s) => s.tier === tier).map((s) => s.event))
    }
  }

  /** Drop an event and every index entry pointing at it. Returns whether it was there. */
  #remove(id: string): boolean {
    const stored = this.#events.get(id)
    if (!stored) return false
    const { event } = stored
    this.#events.delete(id)
    removeFromIndex(this.#byAuthor, event.pubkey, id)
    removeFromIndex(this.#byKind, event.kind, id)
    for (const key of stored.tagKeys) removeFromIndex(this.#byTag, key, id)
    if (stored.address !== undefined && this.#current.get(stored.address) === id) this.#current.delete(stored.address)
    if (stored.tier === DELETION) {
      // A deletion that is gone no longer guards its targets (the same as in a store rebuilt from
      // the events it holds).
      const { ids, addresses } = deletionTargets(event)
      for (const target of ids) removeFromIndex(this.#deletedIds, target, id)
      for (const address of addresses) removeFromIndex(this.#deletedAddresses, address, id)
    }
    this.#tierCounts[stored.tier]--
    return true
  }

  #evictOverCap(): void {
    while (this.#events.size > this.#maxEvents) {
      let evicted = false
      for (const tier of [REGULAR, REPLACEABLE, DELETION] as const) {
        const queue = this.#evictionQueues[tier]
        for (let entry = queue.pop(); entry; entry = queue.pop()) {
          const stored = this.#events.get(entry.id)
          // Skip stale entries: removed events, or an id reused by a different (synthetic) event.
          if (stored?.tier === tier && stored.event.created_at === entry.createdAt) {
            this.#remove(entry.id)
            evicted = true
            break
          }
        }
        if (evicted) break
      }
      if (!evicted) return // unreachable while the heaps hold every live event; never loop forever
    }
  }

  /** The events one filter matches, with its limit applied (not yet copied). */
  #queryOne(filter: StorageFilter): NostrEvent[] {
    if (filter.limit === 0) return []
    const plan = this.#plan(filter)
    if (plan === 'none') return []
    const matches: NostrEvent[] = []
    if (plan === 'all') {
      for (const stored of this.#events.values()) if (matchesFilter(stored.event, filter)) matches.push(stored.event)
    } else {
      // The driving condition holds for every candidate; check the others only.
      const rest: StorageFilter = { ...filter, [plan.key]: undefined }
      const seen = plan.disjoint ? undefined : new Set<string>()
      for (const ids of plan.sets) {
        for (const id of ids) {
          if (seen) {
            if (seen.has(id)) continue
            seen.add(id)
          }
          const event = this.#events.get(id)!.event
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
  #plan(filter: StorageFilter): 'none' | 'all' | { key: string; sets: Iterable<string>[]; disjoint: boolean } {
    let best: { key: string; sets: Iterable<string>[]; disjoint: boolean; size: number } | undefined
    const consider = (key: string, sets: Iterable<string>[], size: number, disjoint: boolean): void => {
      if (!best || size < best.size) best = { key, sets, disjoint, size }
    }
    if (filter.ids) {
      const ids = filter.ids.filter((id) => this.#events.has(id))
      consider('ids', [ids], ids.length, false)
    }
    if (filter.authors) consider('authors', ...this.#lookup(this.#byAuthor, new Set(filter.authors)), true)
    if (filter.kinds) consider('kinds', ...this.#lookup(this.#byKind, new Set(filter.kinds)), true)
    for (const key of Object.keys(filter)) {
      const values = filter[key as `#${string}`]
      if (key.length !== 2 || key[0] !== '#' || !values) continue
      const letter = key[1]!
      consider(key, ...this.#lookup(this.#byTag, new Set(values.map((v) => `${letter}:${v}`))), false)
    }
    if (!best) return 'all'
    if (best.size === 0) return 'none'
    return best
  }

  #lookup<K>(index: Map<K, Set<string>>, keys: Set<K>): [Set<string>[], number] {
    const sets: Set<string>[] = []
    let size = 0
    for (const key of keys) {
      const ids = index.get(key)
      if (ids) {
        sets.push(ids)
        size += ids.size
      }
    }
    return [sets, size]
  }
}

/**
 * The newest `limit` events (all when `limit` is undefined), newest first. A bounded insertion
 * keeps `limit` small queries over many matches at O(n log limit) instead of sorting everything.
 */
function newest(events: NostrEvent[], limit: number | undefined): NostrEvent[] {
  if (limit === undefined || limit * 8 >= events.length) return events.sort(newestFirst).slice(0, limit)
  const top: NostrEvent[] = []
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

function addToIndex<K>(index: Map<K, Set<string>>, key: K, id: string): void {
  const ids = index.get(key)
  if (ids) ids.add(id)
  else index.set(key, new Set([id]))
}

function removeFromIndex<K>(index: Map<K, Set<string>>, key: K, id: string): void {
  const ids = index.get(key)
  if (!ids) return
  ids.delete(id)
  if (ids.size === 0) index.delete(key)
}

function addRelay(seenOn: string[], relay: string): void {
  if (seenOn.length < MAX_SEEN_ON && !seenOn.includes(relay)) seenOn.push(relay)
}

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

/** A binary min-heap of (created_at, id): oldest first, ties to the id listed last by queries. */
class EvictionHeap {
  #items: Array<{ createdAt: number; id: string }> = []

  get size(): number {
    return this.#items.length
  }

  push(createdAt: number, id: string): void {
    const items = this.#items
    items.push({ createdAt, id })
    let i = items.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.#before(i, parent)) break
      this.#swap(i, parent)
      i = parent
    }
  }

  pop(): { createdAt: number; id: string } | undefined {
    const items = this.#items
    const top = items[0]
    const last = items.pop()
    if (top === undefined || last === undefined || items.length === 0) return top
    items[0] = last
    let i = 0
    for (;;) {
      const left = 2 * i + 1
      const right = left + 1
      let smallest = i
      if (left < items.length && this.#before(left, smallest)) smallest = left
      if (right < items.length && this.#before(right, smallest)) smallest = right
      if (smallest === i) return top
      this.#swap(i, smallest)
      i = smallest
    }
  }

  rebuild(events: readonly NostrEvent[]): void {
    this.#items = []
    for (const e of events) this.push(e.created_at, e.id)
  }

  clear(): void {
    this.#items = []
  }

  #before(a: number, b: number): boolean {
    const x = this.#items[a]!
    const y = this.#items[b]!
    return x.createdAt < y.createdAt || (x.createdAt === y.createdAt && x.id > y.id)
  }

  #swap(a: number, b: number): void {
    const items = this.#items
    const t = items[a]!
    items[a] = items[b]!
    items[b] = t
  }
}
