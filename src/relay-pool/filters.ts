/**
 * NIP-01 filters: validation, matching events against filters, shaping a filter list into REQs that
 * fit a relay's limits, bounding how many events a REQ may return, and time-based paging.
 *
 * Matching is what lets the pool drop events a relay sends that do not match what was asked for,
 * so it follows NIP-01 to the letter: lists match when any value does, tag filters look at the
 * first value of each tag with that name, `since`/`until` are inclusive, and `limit`/`search` do
 * not restrict matching (a relay may interpret NIP-50 search as it likes).
 *
 * See [NIP-01](https://github.com/nostr-protocol/nips/blob/master/01.md) and
 * [NIP-11](https://github.com/nostr-protocol/nips/blob/master/11.md).
 *
 * @module
 */
import { isHex } from '../crypto/bytes.js'
import { MAX_KIND, type NostrEvent } from '../crypto/event.js'
import { RelayError } from '../errors.js'
import { utf8ByteLength } from './messages.js'
import type { Filter, RelayLimits } from './types.js'

const TAG_KEY = /^#[a-zA-Z]$/
/** NIP-01: "The ids, authors, #e and #p filter lists MUST contain exact 64-character lowercase hex values." */
const HEX_TAG_KEYS: ReadonlySet<string> = /* @__PURE__ */ new Set(['#e', '#p'])

const isHex32 = (v: unknown): boolean => isHex(v, 32)
const isKind = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= MAX_KIND
const isString = (v: unknown): boolean => typeof v === 'string'
const isNonNegativeInteger = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0

/** A filter key as it may appear in a message, shortened so a hostile key cannot flood a log. */
function quoteKey(key: string): string {
  return JSON.stringify(key.length > 32 ? `${key.slice(0, 32)}…` : key)
}

function listProblem(key: string, value: unknown, ok: (v: unknown) => boolean, what: string): string | undefined {
  if (!Array.isArray(value)) return `${key} must be an array`
  // NIP-01 lists have "one or more values"; relays disagree on what an empty one means.
  if (value.length === 0) return `${key} must not be empty`
  for (let i = 0; i < value.length; i++) {
    if (!ok(value[i])) return `${key}[${i}] must be ${what}`
  }
  return undefined
}

function fieldProblem(key: string, value: unknown): string | undefined {
  switch (key) {
    case 'ids':
    case 'authors':
      return listProblem(key, value, isHex32, '64 lower-case hex characters')
    case 'kinds':
      return listProblem(key, value, isKind, `an integer from 0 to ${MAX_KIND}`)
    case 'since':
    case 'until':
    case 'limit':
      return isNonNegativeInteger(value) ? undefined : `${key} must be a non-negative integer`
    case 'search':
      return typeof value === 'string' ? undefined : 'search must be a string'
  }
  if (!TAG_KEY.test(key)) return `unknown filter key ${quoteKey(key)}`
  return HEX_TAG_KEYS.has(key)
    ? listProblem(key, value, isHex32, '64 lower-case hex characters')
    : listProblem(key, value, isString, 'a string')
}

/**
 * Why `filter` is not a valid NIP-01 filter, or `undefined` when it is. Keys whose value is
 * `undefined` are ignored (JSON drops them).
 *
 * @param filter - anything.
 * @returns a message naming the bad key, or `undefined`.
 * @example
 * ```ts
 * import { filterProblem } from 'nostr-rendezvous/relay-pool'
 * filterProblem({ kinds: [1], limit: 20 }) // undefined
 * filterProblem({ kinds: [1], '#tag': ['x'] }) // 'unknown filter key "#tag"'
 * ```
 */
export function filterProblem(filter: unknown): string | undefined {
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter)) return 'filter must be an object'
  const f = filter as Record<string, unknown>
  for (const key of Object.keys(f)) {
    const value = f[key]
    if (value === undefined) continue
    const problem = fieldProblem(key, value)
    if (problem !== undefined) return problem
  }
  if (typeof f.since === 'number' && typeof f.until === 'number' && f.since > f.until) return 'since must not be after until'
  return undefined
}

/**
 * Throws unless every filter is valid (see {@link filterProblem}). An empty list is valid.
 *
 * @param filters - the filters to check.
 * @throws RelayError `RELAY_FILTER_INVALID` naming the filter index and key; TypeError when
 *   `filters` is not an array.
 * @example
 * ```ts
 * import { assertFilters } from 'nostr-rendezvous/relay-pool'
 * assertFilters([{ authors: [pubkey], kinds: [1] }])
 * ```
 */
export function assertFilters(filters: readonly Filter[]): void {
  if (!Array.isArray(filters)) throw new TypeError('filters must be an array')
  for (let i = 0; i < filters.length; i++) {
    const problem = filterProblem(filters[i])
    if (problem !== undefined) throw new RelayError('RELAY_FILTER_INVALID', 'Invalid filter', { details: `filters[${i}]: ${problem}` })
  }
}

function hasTag(tags: readonly (readonly string[])[], name: string, values: readonly string[]): boolean {
  for (const tag of tags) {
    if (tag[0] === name && tag.length > 1 && values.includes(tag[1] as string)) return true
  }
  return false
}

/**
 * Whether `event` matches `filter` (NIP-01). `limit` and `search` do not restrict matching.
 * An empty list matches nothing.
 *
 * @param filter - a valid filter.
 * @param event - a shape-checked event.
 * @returns whether every condition of the filter holds.
 * @example
 * ```ts
 * import { matchFilter } from 'nostr-rendezvous/relay-pool'
 * matchFilter({ kinds: [1], '#t': ['nostr'] }, event)
 * ```
 */
export function matchFilter(filter: Filter, event: NostrEvent): boolean {
  if (filter.ids !== undefined && !filter.ids.includes(event.id)) return false
  if (filter.kinds !== undefined && !filter.kinds.includes(event.kind)) return false
  if (filter.authors !== undefined && !filter.authors.includes(event.pubkey)) return false
  if (filter.since !== undefined && event.created_at < filter.since) return false
  if (filter.until !== undefined && event.created_at > filter.until) return false
  for (const key of Object.keys(filter)) {
    if (key.charCodeAt(0) !== 35 /* '#' */) continue
    const values = filter[key as `#${string}`]
    if (values !== undefined && !hasTag(event.tags, key.slice(1), values)) return false
  }
  return true
}

/**
 * Whether `event` matches any of `filters` (the `||` of a REQ's filters).
 *
 * @param filters - valid filters.
 * @param event - a shape-checked event.
 * @returns whether at least one filter matches.
 * @example
 * ```ts
 * import { matchFilters } from 'nostr-rendezvous/relay-pool'
 * if (!matchFilters(subscription.filters, event)) demote(relay)
 * ```
 */
export function matchFilters(filters: readonly Filter[], event: NostrEvent): boolean {
  for (const filter of filters) if (matchFilter(filter, event)) return true
  return false
}

function checkLimit(limits: RelayLimits, field: keyof RelayLimits, min: number): number {
  const value = limits[field]
  if (typeof value !== 'number' || !(value >= min) || !(Number.isInteger(value) || value === Infinity)) {
    throw new RangeError(`limits.${field} must be an integer >= ${min} (or Infinity), got ${String(value)}`)
  }
  return value
}

/** The count caps that chunk a long list; lists not named here are split only to fit the byte budget. */
function countCaps(limits: RelayLimits): [string, number][] {
  return [
    ['ids', checkLimit(limits, 'maxIdsPerFilter', 1)],
    ['authors', checkLimit(limits, 'maxAuthorsPerFilter', 1)],
    ['#e', limits.maxIdsPerFilter],
    ['#p', limits.maxAuthorsPerFilter],
  ]
}

/** A copy without `undefined` values, `limit` clamped to what the relay serves anyway. */
function normalise(filter: Filter, maxLimit: number): Filter {
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(filter)) {
    const value = (filter as Record<string, unknown>)[key]
    if (value !== undefined) out[key] = value
  }
  if (typeof out.limit === 'number' && out.limit > maxLimit) out.limit = maxLimit
  return out as Filter
}

/** `list` cut into `parts` consecutive pieces whose sizes differ by at most one. */
function balancedChunks<T>(list: readonly T[], parts: number): T[][] {
  const chunks: T[][] = []
  const size = Math.floor(list.length / parts)
  const extra = list.length % parts
  let start = 0
  for (let i = 0; i < parts; i++) {
    const end = start + size + (i < extra ? 1 : 0)
    chunks.push(list.slice(start, end))
    start = end
  }
  return chunks
}

function withList(filter: Filter, key: string, list: readonly unknown[]): Filter {
  return { ...filter, [key]: list } as Filter
}

/**
 * Chunks the one list that overflows its cap the most. Chunking a single list keeps the union
 * exact with no duplicates; chunking two would multiply the REQs (a cross product).
 */
function chunkByCount(filter: Filter, caps: [string, number][]): Filter[] {
  let worst: { key: string; list: readonly unknown[]; parts: number; ratio: number } | undefined
  for (const [key, cap] of caps) {
    const list = (filter as Record<string, unknown>)[key]
    if (!Array.isArray(list) || list.length <= cap) continue
    const ratio = list.length / cap
    if (worst === undefined || ratio > worst.ratio) worst = { key, list, parts: Math.ceil(ratio), ratio }
  }
  if (worst === undefined) return [filter]
  const { key, list, parts } = worst
  return balancedChunks(list, parts).map((chunk) => withList(filter, key, chunk))
}

function jsonBytes(value: unknown): number {
  return utf8ByteLength(JSON.stringify(value))
}

/**
 * Halves the list with the most bytes until each piece fits `room` bytes. Throws when a piece
 * cannot shrink further (no list left with two values): a long `search` or many long tag values.
 */
function fitBytes(filter: Filter, room: number, index: number, out: Filter[], maxMessageLength: number): void {
  const size = jsonBytes(filter)
  if (size <= room) {
    out.push(filter)
    return
  }
  let best: { key: string; list: readonly unknown[]; bytes: number } | undefined
  for (const key of Object.keys(filter)) {
    const list = (filter as Record<string, unknown>)[key]
    if (!Array.isArray(list) || list.length < 2) continue
    const bytes = jsonBytes(list)
    if (best === undefined || bytes > best.bytes) best = { key, list, bytes }
  }
  if (best === undefined) {
    throw new RelayError('RELAY_FILTER_INVALID', 'Filter too large for the relay', {
      details: `filters[${index}] needs more than ${maxMessageLength} bytes in one REQ even after splitting`,
    })
  }
  for (const half of balancedChunks(best.list, 2)) fitBytes(withList(filter, best.key, half), room, index, out, maxMessageLength)
}

/**
 * Shapes `filters` into REQs that fit a relay's limits, without losing a condition: the events
 * matched by the union of the returned groups are exactly those the input matched. Each group is
 * one REQ with at most `maxFilters` filters and at most `maxMessageLength` bytes (given a
 * subscription id of `subIdLength` ASCII characters); `limit`s are clamped to `maxLimit`; `ids`,
 * `authors`, `#e` and `#p` lists longer than `maxIdsPerFilter`/`maxAuthorsPerFilter` are chunked
 * (only the most overflowing list of a filter); filters still too long are split further. The
 * output is deterministic and keeps the input order.
 *
 * Chunking a filter with a `limit` gives each chunk that `limit`, so the relay may return more
 * events in total than the one filter would have.
 *
 * @param filters - valid filters.
 * @param limits - the relay's limits (e.g. `DEFAULT_RELAY_LIMITS`).
 * @param subIdLength - length of the subscription id that will be used; defaults to 64.
 * @returns one array of filters per REQ to send; `[]` for no filters.
 * @throws RelayError `RELAY_FILTER_INVALID` when a filter is invalid or cannot fit one REQ even
 *   alone; RangeError when `limits` or `subIdLength` are out of range.
 * @example
 * ```ts
 * import { DEFAULT_RELAY_LIMITS, encodeReq, splitFiltersForRelay } from 'nostr-rendezvous/relay-pool'
 * const groups = splitFiltersForRelay([{ authors: follows, kinds: [1], limit: 1000 }], DEFAULT_RELAY_LIMITS)
 * groups.forEach((group, i) => ws.send(encodeReq(`feed:${i}`, group)))
 * ```
 */
export function splitFiltersForRelay(filters: readonly Filter[], limits: RelayLimits, subIdLength = 64): Filter[][] {
  if (!Number.isSafeInteger(subIdLength) || subIdLength < 1) throw new RangeError(`subIdLength must be a positive integer, got ${String(subIdLength)}`)
  const maxFilters = checkLimit(limits, 'maxFilters', 1)
  const maxLimit = checkLimit(limits, 'maxLimit', 0)
  const maxMessageLength = checkLimit(limits, 'maxMessageLength', 1)
  const caps = countCaps(limits)
  assertFilters(filters)

  // `["REQ","<subId>"]`, plus a comma and the JSON of each filter.
  const envelope = jsonBytes(['REQ', 'x'.repeat(subIdLength)])
  const room = maxMessageLength - envelope - 1
  const pieces: Filter[] = []
  filters.forEach((filter, index) => {
    for (const chunk of chunkByCount(normalise(filter, maxLimit), caps)) fitBytes(chunk, room, index, pieces, maxMessageLength)
  })

  const groups: Filter[][] = []
  let group: Filter[] = []
  let bytes = envelope
  for (const piece of pieces) {
    const size = 1 + jsonBytes(piece)
    if (group.length > 0 && (group.length >= maxFilters || bytes + size > maxMessageLength)) {
      groups.push(group)
      group = []
      bytes = envelope
    }
    group.push(piece)
    bytes += size
  }
  if (group.length > 0) groups.push(group)
  return groups
}

/**
 * The most events `filters` can return before EOSE: the sum over filters of `limit`, and of the
 * number of `ids` for a filter that names ids. `Infinity` when some filter has neither.
 *
 * @param filters - the filters of one REQ.
 * @returns an upper bound on stored events a well-behaved relay sends.
 * @example
 * ```ts
 * import { expectedEventCount } from 'nostr-rendezvous/relay-pool'
 * expectedEventCount([{ kinds: [1], limit: 20 }, { ids: [a, b] }]) // 22
 * ```
 */
export function expectedEventCount(filters: readonly Filter[]): number {
  if (!Array.isArray(filters)) throw new TypeError('filters must be an array')
  let total = 0
  for (const filter of filters) {
    let bound = filter.limit ?? Infinity
    if (filter.ids !== undefined) bound = Math.min(bound, filter.ids.length)
    total += Math.max(0, bound)
  }
  return total
}

/**
 * The filters for "load more": each with `until = oldestSeen` (inclusive, so events in the same
 * second as the oldest one seen are not lost; the caller dedupes), keeping an earlier `until`,
 * and without the filters whose `since` is after `oldestSeen` (they have nothing older to give).
 *
 * @param filters - the filters of the query being paged.
 * @param oldestSeen - `created_at` of the oldest event received so far.
 * @returns the next page's filters (possibly empty).
 * @throws RangeError when `oldestSeen` is not a non-negative integer.
 * @example
 * ```ts
 * import { pageFilters } from 'nostr-rendezvous/relay-pool'
 * const next = pageFilters([{ kinds: [1], limit: 50 }], oldest.created_at)
 * ```
 */
export function pageFilters(filters: readonly Filter[], oldestSeen: number): Filter[] {
  if (!Array.isArray(filters)) throw new TypeError('filters must be an array')
  if (!isNonNegativeInteger(oldestSeen)) throw new RangeError(`oldestSeen must be a non-negative integer, got ${String(oldestSeen)}`)
  const out: Filter[] = []
  for (const filter of filters) {
    if (filter.since !== undefined && filter.since > oldestSeen) continue
    out.push({ ...filter, until: filter.until === undefined ? oldestSeen : Math.min(filter.until, oldestSeen) })
  }
  return out
}
