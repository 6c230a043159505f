/**
 * The `Storage` contract every adapter implements: an event store with NIP-01 replaceable and
 * addressable rules and NIP-09 deletions, plus keyed records for everything else the library
 * persists (relay lists, person-relay evidence, relay health, NIP-11 documents, the publish queue).
 *
 * The contract is asynchronous even where the adapter is not (SQLite), so that one caller works
 * with every adapter. All adapters pass the same contract suite (`test/storage/contract.ts`); the
 * adapter guide in `docs/storage.md` walks through writing a new one.
 *
 * @module
 */
import type { NostrEvent } from '../crypto/event.js'
import type { Filter } from '../relay-pool/types.js'

/**
 * A value a record may hold: what survives `JSON.stringify`/`JSON.parse` and structured clone
 * alike. Adapters store and return it unchanged (a deep copy, never the caller's object).
 */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }

/**
 * The record collections the library uses. Each is a separate key space; adapters may store them
 * in separate tables or stores.
 * - `relay-lists`: the newest relay-list events and parsed lists per person and kind;
 * - `evidence`: person-relay evidence for the scorer, one record per person;
 * - `relay-health`: per-relay statistics carried across restarts;
 * - `nip11`: cached relay information documents;
 * - `publish-queue`: the durable publish queue, one record per event;
 * - `settings`: small application settings (the user's relay choices, decisions, ...).
 */
export type RecordCollection = 'relay-lists' | 'evidence' | 'relay-health' | 'nip11' | 'publish-queue' | 'settings'

/** Every record collection, in a fixed order. */
export const RECORD_COLLECTIONS: readonly RecordCollection[] = [
  'relay-lists',
  'evidence',
  'relay-health',
  'nip11',
  'publish-queue',
  'settings',
]

/**
 * What happened to one event handed to {@link Storage.putEvents}.
 * - `stored`: new, now queryable (for a replaceable event, it is now the current version; the ids
 *   it displaced are in `replaced`);
 * - `duplicate`: this id was already stored (its seen-on relays were still updated);
 * - `superseded`: a newer version of this replaceable/addressable event is already stored, so this
 *   one was not kept (NIP-01: newest wins, ties to the lowest id);
 * - `deleted`: the author already deleted it (NIP-09), so it was not kept;
 * - `invalid`: not stored: not an event (bad shape), or an ephemeral kind (20000-29999, which
 *   NIP-01 says relays do not store either); `reason` says why. Signatures are not checked here:
 *   the relay pool verifies before anything reaches storage.
 */
export type PutStatus = 'stored' | 'duplicate' | 'superseded' | 'deleted' | 'invalid'

/** The outcome for one event of {@link Storage.putEvents}, in input order. */
export interface PutResult {
  /** The event id (as given; may be malformed when `status` is `invalid`). */
  readonly id: string
  readonly status: PutStatus
  /** Ids of older versions this event displaced, or events this deletion removed. */
  readonly replaced?: readonly string[]
  /** Why the event was `invalid`. */
  readonly reason?: string
}

/** Options of {@link Storage.putEvents}. */
export interface PutEventsOptions {
  /** The normalised relay URL the events were received from, recorded as "seen on". */
  readonly seenOn?: string
}

/**
 * A query filter: a NIP-01 filter. `search` (NIP-50) matches events whose content contains every
 * whitespace-separated word of it, case-insensitively. An empty array in a condition matches
 * nothing. `limit` applies per filter; results across filters are deduplicated.
 */
export type StorageFilter = Filter

/** Options of {@link Storage.queryEvents}. */
export interface QueryEventsOptions {
  /** Stop early; the promise rejects with the signal's reason as a `StorageError`. */
  readonly signal?: AbortSignal
}

/**
 * The storage contract. Events go in through `putEvents` (one batch is one transaction where the
 * backend has them) and come back through `queryEvents`, newest first (`created_at` descending,
 * then id ascending), without duplicates. Everything else is a JSON record in a collection.
 *
 * Adapters throw `StorageError` with a stable code for operational faults: `STORAGE_CLOSED` after
 * `close()`, `STORAGE_UNAVAILABLE` when the backend cannot be opened, `STORAGE_FULL` for a full
 * disk or quota, `STORAGE_CORRUPT` for a row that cannot be decoded, `STORAGE_SCHEMA_TOO_NEW` for a
 * database written by a newer version, `STORAGE_WRITE_FAILED` for any other failed write (the
 * write is rolled back: nothing is half-written).
 */
export interface Storage {
  /** The adapter's name, for logs and reports (`memory`, `sqlite`, `indexeddb`). */
  readonly name: string

  /**
   * Store events with NIP-01 replaceable/addressable rules and NIP-09 deletions (kind 5 events
   * delete the same author's events named by `e` tags, and versions of `a` coordinates up to the
   * deletion's `created_at`; a deleted event put later is refused as `deleted`).
   * @returns one result per input event, in order.
   */
  putEvents(events: readonly NostrEvent[], options?: PutEventsOptions): Promise<PutResult[]>

  /** Events matching any of `filters`, newest first, deduplicated. */
  queryEvents(filters: readonly StorageFilter[], options?: QueryEventsOptions): Promise<NostrEvent[]>

  /** The stored event with this id, if any. */
  getEvent(id: string): Promise<NostrEvent | undefined>

  /** Number of stored events (deletion events included). */
  countEvents(): Promise<number>

  /** Record that `ids` were seen on `relay` (normalised URL). Unknown ids are ignored. */
  addSeenOn(ids: readonly string[], relay: string): Promise<void>

  /** The relays each id was seen on, in first-seen order. Ids never seen map to `[]`. */
  seenOn(ids: readonly string[]): Promise<Map<string, string[]>>

  /** Remove events by id (a local eviction, not a NIP-09 deletion). Returns how many were removed. */
  removeEvents(ids: readonly string[]): Promise<number>

  /** The record stored under `key`, or `undefined`. */
  getRecord(collection: RecordCollection, key: string): Promise<JsonValue | undefined>

  /** Several records at once; missing keys are absent from the map. */
  getRecords(collection: RecordCollection, keys: readonly string[]): Promise<Map<string, JsonValue>>

  /** Store (or replace) records, all in one transaction. */
  putRecords(collection: RecordCollection, entries: ReadonlyArray<readonly [string, JsonValue]>): Promise<void>

  /** Store (or replace) one record. */
  putRecord(collection: RecordCollection, key: string, value: JsonValue): Promise<void>

  /** Delete one record; deleting a missing key is not an error. */
  deleteRecord(collection: RecordCollection, key: string): Promise<void>

  /** Every record in a collection whose key starts with `prefix` (all when omitted), in key order. */
  listRecords(collection: RecordCollection, prefix?: string): Promise<Array<[string, JsonValue]>>

  /** Release the backend. Further calls reject with `STORAGE_CLOSED`. Idempotent. */
  close(): Promise<void>
}
