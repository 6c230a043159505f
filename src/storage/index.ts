/**
 * Storage: the {@link Storage} contract every adapter implements, the default bounded
 * {@link memoryStorage} adapter, and the NIP-01/NIP-09 rules adapters share. Adapters that need a
 * driver live on their own subpaths so this entry never loads one: `nostr-rendezvous/storage/sqlite`
 * (Node, better-sqlite3) and `nostr-rendezvous/storage/indexeddb` (browsers, idb-keyval).
 *
 * @example
 * ```ts
 * import { memoryStorage } from 'nostr-rendezvous/storage'
 * const storage = memoryStorage({ maxEvents: 10_000 })
 * await storage.putEvents([event], { seenOn: 'wss://relay.example.com' })
 * const notes = await storage.queryEvents([{ kinds: [1], authors: [event.pubkey], limit: 20 }])
 * ```
 *
 * @module
 */
export { RendezvousError, StorageError, type StorageErrorCode } from '../errors.js'
export { type MemoryStorageOptions, memoryStorage } from './memory.js'
export {
  type DeletionTargets,
  addressOf,
  deletionTargets,
  filterProblem,
  isNewerVersion,
  matchesFilter,
  newestFirst,
  replaceKey,
} from './event-rules.js'
export {
  type JsonValue,
  type PutEventsOptions,
  type PutResult,
  type PutStatus,
  type QueryEventsOptions,
  type RecordCollection,
  type Storage,
  type StorageFilter,
  RECORD_COLLECTIONS,
} from './types.js'
