/**
 * Bounded least-recently-used collections: {@link LruMap} and {@link LruSet}.
 *
 * The pool keeps several caches fed by relays it does not trust (seen event ids, NIP-11
 * documents, verification results). Each one must stay bounded whatever a relay sends, so each is
 * an LRU with a fixed `maxSize`. Entries may also carry a time to live; expired entries are dropped
 * lazily when touched, never by a timer, so a cache never keeps a process alive and tests need no
 * fake timers (the clock is injected).
 *
 * @module
 */

/** Options of {@link LruMap} and {@link LruSet}. */
export interface LruOptions {
  /** Most entries kept; setting one more evicts the least recently used. A positive integer. */
  maxSize: number
  /**
   * Time to live of entries set without their own, in milliseconds. `Infinity` keeps them until
   * evicted.
   * @default Infinity
   */
  ttlMs?: number
  /**
   * The clock TTLs are measured with, in milliseconds.
   * @default Date.now
   */
  now?: () => number
}

interface Entry<V> {
  value: V
  /** Absolute time at which the entry stops existing; `Infinity` for never. */
  expiresAt: number
}

function normaliseOptions(sizeOrOptions: number | LruOptions): Required<LruOptions> {
  const options = typeof sizeOrOptions === 'number' ? { maxSize: sizeOrOptions } : sizeOrOptions
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`LruMap options must be a number or an object, got ${typeof options}`)
  }
  const { maxSize, ttlMs = Infinity, now = Date.now } = options
  if (typeof maxSize !== 'number') throw new TypeError(`maxSize must be a number, got ${typeof maxSize}`)
  if (!Number.isSafeInteger(maxSize) || maxSize < 1) {
    throw new RangeError(`maxSize must be a positive integer, got ${String(maxSize)}`)
  }
  checkTtl(ttlMs, 'ttlMs')
  if (typeof now !== 'function') throw new TypeError(`now must be a function, got ${typeof now}`)
  return { maxSize, ttlMs, now }
}

function checkTtl(ttlMs: unknown, field: string): asserts ttlMs is number {
  if (typeof ttlMs !== 'number') throw new TypeError(`${field} must be a number, got ${typeof ttlMs}`)
  if (Number.isNaN(ttlMs) || ttlMs < 0) {
    throw new RangeError(`${field} must be a non-negative number of milliseconds, got ${String(ttlMs)}`)
  }
}

/**
 * A map that keeps at most `maxSize` entries, evicting the least recently used. `get` and `set`
 * make an entry the most recently used; `peek` and `has` do not. Entries may expire after a time to
 * live; an expired entry behaves exactly as an absent one.
 *
 * Every operation is O(1), except that after some entry has expired the next `size` or eviction
 * sweeps the expired entries out (O(n), amortised over the entries it drops). Iteration goes from
 * the least to the most recently used entry over a snapshot, so it may mutate the map.
 *
 * @typeParam K - key type (compared with SameValueZero, like `Map`).
 * @typeParam V - value type.
 * @example
 * ```ts
 * import { LruMap } from 'nostr-rendezvous/relay-pool'
 * const cache = new LruMap<string, number>({ maxSize: 2 })
 * cache.set('a', 1).set('b', 2)
 * cache.get('a') // 1, and 'a' is now the most recently used
 * cache.set('c', 3) // evicts 'b'
 * const order = [...cache.keys()] // ['a', 'c']
 * ```
 */
export class LruMap<K, V> implements Iterable<[K, V]> {
  /** Most entries kept. */
  readonly maxSize: number
  /** TTL of entries set without their own (milliseconds; `Infinity` for none). */
  readonly ttlMs: number
  readonly #now: () => number
  // Map iteration order is insertion order: deleting and re-inserting on use keeps the least
  // recently used entry first, which makes eviction O(1).
  readonly #entries = new Map<K, Entry<V>>()
  // A lower bound on the earliest `expiresAt` held. While the clock is before it nothing can have
  // expired, so `size` and eviction need no sweep; a sweep makes the bound exact again.
  #nextExpiry = Infinity

  /**
   * Creates an empty map.
   *
   * @param sizeOrOptions - `maxSize`, or the full {@link LruOptions}.
   * @throws TypeError when an option has the wrong type; RangeError when `maxSize` is not a
   * positive integer or `ttlMs` is negative or NaN.
   */
  constructor(sizeOrOptions: number | LruOptions) {
    const { maxSize, ttlMs, now } = normaliseOptions(sizeOrOptions)
    this.maxSize = maxSize
    this.ttlMs = ttlMs
    this.#now = now
  }

  /**
   * Number of live entries.
   *
   * @returns how many entries have neither expired nor been evicted.
   */
  get size(): number {
    this.#sweepIfDue(this.#now())
    return this.#entries.size
  }

  /**
   * The value of `key`, making it the most recently used.
   *
   * @param key - the key.
   * @returns the value, or `undefined` when absent or expired.
   */
  get(key: K): V | undefined {
    const entry = this.#live(key)
    if (!entry) return undefined
    this.#entries.delete(key)
    this.#entries.set(key, entry)
    return entry.value
  }

  /**
   * The value of `key`, leaving its recency unchanged.
   *
   * @param key - the key.
   * @returns the value, or `undefined` when absent or expired.
   */
  peek(key: K): V | undefined {
    return this.#live(key)?.value
  }

  /**
   * Whether `key` has a live entry. Does not change its recency.
   *
   * @param key - the key.
   * @returns `true` when present and not expired.
   */
  has(key: K): boolean {
    return this.#live(key) !== undefined
  }

  /**
   * Sets `key` to `value` as the most recently used entry, evicting the least recently used entry
   * when the map is full. Setting an existing key replaces its value and its expiry.
   *
   * @param key - the key.
   * @param value - the value.
   * @param ttlMs - time to live of this entry in milliseconds (default: the map's `ttlMs`); `0`
   * makes it expire at once.
   * @returns this map.
   * @throws TypeError when `ttlMs` is not a number; RangeError when it is negative or NaN.
   */
  set(key: K, value: V, ttlMs: number = this.ttlMs): this {
    checkTtl(ttlMs, 'ttlMs')
    const now = this.#now()
    const expiresAt = now + ttlMs
    this.#entries.delete(key)
    this.#entries.set(key, { value, expiresAt })
    if (expiresAt < this.#nextExpiry) this.#nextExpiry = expiresAt
    if (this.#entries.size > this.maxSize) {
      // Expired entries go first, so a live entry is evicted only when the map is full of live ones.
      this.#sweepIfDue(now)
      while (this.#entries.size > this.maxSize) this.#evictOldest()
    }
    return this
  }

  /**
   * Removes `key`.
   *
   * @param key - the key.
   * @returns `true` when a live entry was removed.
   */
  delete(key: K): boolean {
    const live = this.#live(key) !== undefined
    this.#entries.delete(key)
    return live
  }

  /** Removes every entry. */
  clear(): void {
    this.#entries.clear()
    this.#nextExpiry = Infinity
  }

  /**
   * Drops every expired entry now (otherwise they go lazily).
   *
   * @returns how many entries were dropped.
   */
  prune(): number {
    return this.#sweep(this.#now())
  }

  /**
   * Live keys from the least to the most recently used.
   *
   * @returns an iterator over a snapshot of the keys.
   */
  keys(): IterableIterator<K> {
    return this.#snapshot()
      .map(([key]) => key)
      [Symbol.iterator]()
  }

  /**
   * Live values from the least to the most recently used.
   *
   * @returns an iterator over a snapshot of the values.
   */
  values(): IterableIterator<V> {
    return this.#snapshot()
      .map(([, value]) => value)
      [Symbol.iterator]()
  }

  /**
   * Live `[key, value]` pairs from the least to the most recently used.
   *
   * @returns an iterator over a snapshot of the entries.
   */
  entries(): IterableIterator<[K, V]> {
    return this.#snapshot()[Symbol.iterator]()
  }

  /**
   * Same as {@link LruMap.entries}.
   *
   * @returns an iterator over a snapshot of the entries.
   */
  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries()
  }

  #live(key: K): Entry<V> | undefined {
    const entry = this.#entries.get(key)
    if (!entry) return undefined
    if (this.#now() >= entry.expiresAt) {
      this.#entries.delete(key)
      return undefined
    }
    return entry
  }

  #snapshot(): [K, V][] {
    this.#sweepIfDue(this.#now())
    const out: [K, V][] = []
    for (const [key, entry] of this.#entries) out.push([key, entry.value])
    return out
  }

  #evictOldest(): void {
    const oldest = this.#entries.keys().next()
    if (!oldest.done) this.#entries.delete(oldest.value)
  }

  #sweepIfDue(now: number): void {
    if (now >= this.#nextExpiry) this.#sweep(now)
  }

  #sweep(now: number): number {
    let dropped = 0
    let next = Infinity
    for (const [key, entry] of this.#entries) {
      if (now >= entry.expiresAt) {
        this.#entries.delete(key)
        dropped++
      } else if (entry.expiresAt < next) {
        next = entry.expiresAt
      }
    }
    this.#nextExpiry = next
    return dropped
  }
}

/**
 * A set that keeps at most `maxSize` keys, forgetting the least recently used — the pool's record
 * of event ids already seen. A thin wrapper over {@link LruMap}; `add` makes a key the most recently
 * used, `has` does not.
 *
 * @typeParam K - key type.
 * @example
 * ```ts
 * import { LruSet } from 'nostr-rendezvous/relay-pool'
 * const seen = new LruSet<string>(10_000)
 * seen.addIfAbsent('5c83da77af1dec6d7289834998ad7aafbd9e2191396d75ec3cc27f5a77226f36') // true
 * seen.addIfAbsent('5c83da77af1dec6d7289834998ad7aafbd9e2191396d75ec3cc27f5a77226f36') // false: a copy
 * ```
 */
export class LruSet<K> implements Iterable<K> {
  readonly #map: LruMap<K, true>

  /**
   * Creates an empty set.
   *
   * @param sizeOrOptions - `maxSize`, or the full {@link LruOptions}.
   * @throws TypeError when an option has the wrong type; RangeError when `maxSize` is not a
   * positive integer or `ttlMs` is negative or NaN.
   */
  constructor(sizeOrOptions: number | LruOptions) {
    this.#map = new LruMap(sizeOrOptions)
  }

  /** Most keys kept. */
  get maxSize(): number {
    return this.#map.maxSize
  }

  /**
   * Number of live keys.
   *
   * @returns how many keys have neither expired nor been evicted.
   */
  get size(): number {
    return this.#map.size
  }

  /**
   * Adds `key` (or refreshes it) as the most recently used, with a fresh expiry.
   *
   * @param key - the key.
   * @param ttlMs - time to live of this key in milliseconds (default: the set's `ttlMs`).
   * @returns this set.
   * @throws TypeError when `ttlMs` is not a number; RangeError when it is negative or NaN.
   */
  add(key: K, ttlMs?: number): this {
    this.#map.set(key, true, ttlMs)
    return this
  }

  /**
   * Adds `key` unless it is already present — the deduplication step in one call. A key already
   * present becomes the most recently used but keeps its expiry.
   *
   * @param key - the key.
   * @param ttlMs - time to live when the key is added (default: the set's `ttlMs`).
   * @returns `true` when the key was added, `false` when it was already there.
   * @throws TypeError when `ttlMs` is not a number; RangeError when it is negative or NaN.
   */
  addIfAbsent(key: K, ttlMs?: number): boolean {
    if (ttlMs !== undefined) checkTtl(ttlMs, 'ttlMs')
    if (this.#map.get(key) !== undefined) return false
    this.#map.set(key, true, ttlMs)
    return true
  }

  /**
   * Whether `key` is present. Does not change its recency.
   *
   * @param key - the key.
   * @returns `true` when present and not expired.
   */
  has(key: K): boolean {
    return this.#map.has(key)
  }

  /**
   * Removes `key`.
   *
   * @param key - the key.
   * @returns `true` when a live key was removed.
   */
  delete(key: K): boolean {
    return this.#map.delete(key)
  }

  /** Removes every key. */
  clear(): void {
    this.#map.clear()
  }

  /**
   * Live keys from the least to the most recently used.
   *
   * @returns an iterator over a snapshot of the keys.
   */
  keys(): IterableIterator<K> {
    return this.#map.keys()
  }

  /**
   * Same as {@link LruSet.keys}.
   *
   * @returns an iterator over a snapshot of the keys.
   */
  [Symbol.iterator](): IterableIterator<K> {
    return this.#map.keys()
  }
}
