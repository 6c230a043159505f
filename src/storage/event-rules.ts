/**
 * The NIP-01 and NIP-09 rules every storage adapter applies, in one place so adapters agree:
 * which kinds are replaceable or addressable, which of two versions wins, what a deletion
 * removes, and whether an event matches a filter.
 *
 * Storage may not import values from the crypto or relay-pool layers (DESIGN.md: storage takes
 * only types from beside it), so the few lines of shape checking and filter matching it needs
 * live here.
 *
 * @module
 */
import type { NostrEvent } from '../crypto/event.js'
import type { StorageFilter } from './types.js'

const HEX64 = /^[0-9a-f]{64}$/
const HEX128 = /^[0-9a-f]{128}$/

/** How NIP-01 treats a kind when storing it. */
export type KindClass = 'regular' | 'replaceable' | 'ephemeral' | 'addressable'

/**
 * The NIP-01 class of a kind: 0, 3 and 10000-19999 replaceable; 20000-29999 ephemeral;
 * 30000-39999 addressable; everything else regular.
 *
 * @param kind - an event kind.
 * @returns its class.
 * @example
 * ```ts
 * kindClass(10002) // 'replaceable'
 * ```
 */
export function kindClass(kind: number): KindClass {
  if (kind === 0 || kind === 3 || (kind >= 10000 && kind < 20000)) return 'replaceable'
  if (kind >= 20000 && kind < 30000) return 'ephemeral'
  if (kind >= 30000 && kind < 40000) return 'addressable'
  return 'regular'
}

/**
 * Why `value` is not a well-formed event, or `undefined` when it is. Checks the shape only (hex
 * lengths, integer kind and timestamp, `string[][]` tags), not the id or signature.
 *
 * @param value - anything.
 * @returns a short reason, or `undefined`.
 */
export function eventProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'not an object'
  const e = value as Record<string, unknown>
  if (typeof e.id !== 'string' || !HEX64.test(e.id)) return 'id is not 64 lower-case hex'
  if (typeof e.pubkey !== 'string' || !HEX64.test(e.pubkey)) return 'pubkey is not 64 lower-case hex'
  if (typeof e.sig !== 'string' || !HEX128.test(e.sig)) return 'sig is not 128 lower-case hex'
  if (!Number.isSafeInteger(e.kind) || (e.kind as number) < 0 || (e.kind as number) > 65535) return 'kind is not an integer in 0..65535'
  if (!Number.isSafeInteger(e.created_at) || (e.created_at as number) < 0) return 'created_at is not a non-negative integer'
  if (typeof e.content !== 'string') return 'content is not a string'
  if (!Array.isArray(e.tags)) return 'tags is not an array'
  for (const tag of e.tags) {
    if (!Array.isArray(tag) || !tag.every((v) => typeof v === 'string')) return 'a tag is not an array of strings'
  }
  return undefined
}

/**
 * The key under which only one version of a replaceable or addressable event is kept:
 * `kind:pubkey` for replaceable kinds, `kind:pubkey:d` for addressable ones (the `d` tag's value,
 * empty when missing), `undefined` for other kinds.
 *
 * @param event - a well-formed event.
 * @returns the replacement key, or `undefined`.
 */
export function replaceKey(event: NostrEvent): string | undefined {
  const cls = kindClass(event.kind)
  if (cls === 'replaceable') return `${event.kind}:${event.pubkey}`
  if (cls === 'addressable') return `${event.kind}:${event.pubkey}:${dTag(event)}`
  return undefined
}

/** The value of the first `d` tag, or `''`. */
export function dTag(event: NostrEvent): string {
  for (const tag of event.tags) if (tag[0] === 'd') return tag[1] ?? ''
  return ''
}

/**
 * True when `a` should replace `b` (NIP-01): `a` is newer, or as new with the lower id.
 *
 * @param a - the candidate.
 * @param b - the stored version.
 * @returns whether `a` wins.
 */
export function isNewerVersion(a: NostrEvent, b: NostrEvent): boolean {
  return a.created_at > b.created_at || (a.created_at === b.created_at && a.id < b.id)
}

/**
 * Order events newest first: `created_at` descending, then id ascending (deterministic ties).
 *
 * @param a - one event.
 * @param b - another.
 * @returns a comparator result.
 */
export function newestFirst(a: NostrEvent, b: NostrEvent): number {
  return b.created_at - a.created_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
}

/** What a NIP-09 deletion event (kind 5) asks to delete. */
export interface DeletionTargets {
  /** Event ids from `e` tags (only the author's own events are ever deleted). */
  readonly ids: readonly string[]
  /** `kind:pubkey:d` coordinates from `a` tags whose pubkey is the deletion's author. */
  readonly addresses: readonly string[]
}

/**
 * The targets of a kind 5 deletion. Coordinates naming another author are dropped: NIP-09 lets
 * people delete only their own events.
 *
 * @param deletion - a kind 5 event.
 * @returns the ids and coordinates it names.
 */
export function deletionTargets(deletion: NostrEvent): DeletionTargets {
  const ids: string[] = []
  const addresses: string[] = []
  for (const tag of deletion.tags) {
    const value = tag[1]
    if (value === undefined) continue
    if (tag[0] === 'e' && HEX64.test(value)) ids.push(value)
    else if (tag[0] === 'a') {
      const parts = value.split(':')
      if (parts.length >= 3 && parts[1] === deletion.pubkey && /^\d+$/.test(parts[0]!)) {
        addresses.push(`${Number(parts[0])}:${parts[1]}:${parts.slice(2).join(':')}`)
      }
    }
  }
  return { ids, addresses }
}

/**
 * The NIP-33 coordinate (`kind:pubkey:d`) of an addressable or replaceable event, as `a` tags
 * name it; `undefined` for regular and ephemeral kinds.
 *
 * @param event - a well-formed event.
 * @returns the coordinate, or `undefined`.
 */
export function addressOf(event: NostrEvent): string | undefined {
  const cls = kindClass(event.kind)
  if (cls === 'addressable') return `${event.kind}:${event.pubkey}:${dTag(event)}`
  if (cls === 'replaceable') return `${event.kind}:${event.pubkey}:`
  return undefined
}

/**
 * True when `event` matches `filter` (every condition holds; an empty list matches nothing).
 * `limit` is not a condition and is ignored here. `search` matches when the content contains every
 * whitespace-separated word, case-insensitively.
 *
 * @param event - a well-formed event.
 * @param filter - a NIP-01 filter.
 * @returns whether it matches.
 */
export function matchesFilter(event: NostrEvent, filter: StorageFilter): boolean {
  if (filter.ids && !filter.ids.includes(event.id)) return false
  if (filter.authors && !filter.authors.includes(event.pubkey)) return false
  if (filter.kinds && !filter.kinds.includes(event.kind)) return false
  if (filter.since !== undefined && event.created_at < filter.since) return false
  if (filter.until !== undefined && event.created_at > filter.until) return false
  for (const key of Object.keys(filter)) {
    if (key.length !== 2 || key[0] !== '#') continue
    const wanted = filter[key as `#${string}`]
    if (!wanted) continue
    const letter = key[1]
    if (!event.tags.some((t) => t[0] === letter && t[1] !== undefined && wanted.includes(t[1]))) return false
  }
  if (filter.search !== undefined) {
    const content = event.content.toLowerCase()
    for (const word of filter.search.toLowerCase().split(/\s+/)) {
      if (word && !content.includes(word)) return false
    }
  }
  return true
}

/**
 * Why `filter` cannot be used for a query, or `undefined` when it can. Storage rejects filters it
 * cannot honour instead of silently returning everything.
 *
 * @param filter - a value meant as a NIP-01 filter.
 * @returns a short reason, or `undefined`.
 */
export function filterProblem(filter: unknown): string | undefined {
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter)) return 'filter is not an object'
  for (const [key, value] of Object.entries(filter)) {
    if (value === undefined) continue
    if (key === 'ids' || key === 'authors' || (key.length === 2 && key[0] === '#')) {
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) return `${key} is not an array of strings`
    } else if (key === 'kinds') {
      if (!Array.isArray(value) || !value.every((v) => Number.isSafeInteger(v))) return 'kinds is not an array of integers'
    } else if (key === 'since' || key === 'until' || key === 'limit') {
      if (!Number.isSafeInteger(value) || (value as number) < 0) return `${key} is not a non-negative integer`
    } else if (key === 'search') {
      if (typeof value !== 'string') return 'search is not a string'
    } else {
      return `unknown filter field ${JSON.stringify(key.slice(0, 20))}`
    }
  }
  return undefined
}
