/**
 * Argument checks every adapter makes at its edge, in one place so that all adapters refuse the
 * same inputs with the same errors: a wrong type is a programmer error (`TypeError` naming the
 * field), an unusable filter or an aborted query an operational one (`StorageError`).
 *
 * @module
 */
import { StorageError } from '../errors.js'
import { filterProblem } from './event-rules.js'
import { RECORD_COLLECTIONS, type RecordCollection } from './types.js'

/** Throws `STORAGE_FILTER_INVALID` naming the first filter that cannot be used. */
export function assertFilters(filters: unknown): void {
  if (!Array.isArray(filters)) throw new TypeError('filters must be an array')
  filters.forEach((filter, i) => {
    const problem = filterProblem(filter)
    if (problem) throw new StorageError('STORAGE_FILTER_INVALID', 'Invalid query filter', { details: `filter ${i}: ${problem}` })
  })
}

/** Throws `STORAGE_ABORTED` when the caller's signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new StorageError('STORAGE_ABORTED', 'Query aborted', { cause: signal.reason })
}

/** A relay URL handed to `putEvents({ seenOn })` or `addSeenOn`. */
export function checkRelay(relay: unknown, field: string): void {
  if (typeof relay !== 'string' || relay === '') throw new TypeError(`${field} must be a non-empty relay URL string`)
}

/** A record key. */
export function checkKey(key: unknown, field = 'record key'): asserts key is string {
  if (typeof key !== 'string') throw new TypeError(`${field} must be a string, got ${typeof key}`)
}

/** A list of ids or keys. */
export function checkStrings(values: unknown, field: string): void {
  if (!Array.isArray(values) || !values.every((v) => typeof v === 'string')) throw new TypeError(`${field} must be an array of strings`)
}

/** One of {@link RECORD_COLLECTIONS}. */
export function checkCollection(collection: unknown): asserts collection is RecordCollection {
  if (typeof collection !== 'string' || !(RECORD_COLLECTIONS as readonly string[]).includes(collection)) {
    throw new TypeError(`collection must be one of ${RECORD_COLLECTIONS.join(', ')}, got ${String(collection)}`)
  }
}
