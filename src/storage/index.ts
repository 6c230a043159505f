/**
 * Storage: the `Storage` interface and the memory adapter. Being built; today this entry exports
 * its error class, which is the same class as the one every other subpath exports.
 *
 * @example
 * ```ts
 * import { StorageError } from 'nostr-rendezvous/storage'
 * err instanceof StorageError
 * ```
 *
 * @module
 */
export { RendezvousError, StorageError } from '../errors.js'
