/**
 * Reading the outbox layer's own records back from storage without letting one damaged row stop
 * the rest. Internal to the outbox layer.
 *
 * @module
 */
import { isRendezvousError } from '../errors.js'
import type { JsonValue, RecordCollection, Storage } from '../storage/types.js'

/**
 * Records by key. When the batch read hits an undecodable row (`STORAGE_CORRUPT`), it reads key by
 * key to isolate the damaged ones, which come back in `corrupt`; any other error is thrown.
 *
 * @internal
 */
export async function readRecordsSkippingCorrupt(
  storage: Storage,
  collection: RecordCollection,
  keys: readonly string[],
): Promise<{ records: Map<string, JsonValue>; corrupt: Set<string> }> {
  try {
    return { records: await storage.getRecords(collection, keys), corrupt: new Set() }
  } catch (error) {
    if (!isRendezvousError(error, 'STORAGE_CORRUPT')) throw error
  }
  const records = new Map<string, JsonValue>()
  const corrupt = new Set<string>()
  for (const key of keys) {
    try {
      const value = await storage.getRecord(collection, key)
      if (value !== undefined) records.set(key, value)
    } catch (error) {
      if (!isRendezvousError(error, 'STORAGE_CORRUPT')) throw error
      corrupt.add(key)
    }
  }
  return { records, corrupt }
}
