/**
 * Rendezvous: an outbox-model Nostr client SDK. The root entry holds the public types and errors;
 * the `createClient()` facade arrives with the client issue. Each layer also has its own subpath
 * (`nostr-rendezvous/crypto`, `/relay-pool`, `/outbox`, `/storage`).
 *
 * @example
 * ```ts
 * import { RendezvousError, finalizeEvent, generateSecretKey } from 'nostr-rendezvous'
 * const event = finalizeEvent({ kind: 1, content: 'gm' }, generateSecretKey())
 * ```
 *
 * @module
 */
export {
  type CryptoErrorCode,
  type RendezvousErrorCode,
  type RendezvousErrorOptions,
  CryptoError,
  ERROR_CODES,
  OutboxError,
  RelayError,
  RendezvousError,
  StorageError,
  isRendezvousError,
} from './errors.js'
export {
  type EventTemplate,
  type NostrEvent,
  type Signer,
  type SignerCipher,
  type UnsignedEvent,
  finalizeEvent,
  generateSecretKey,
  getEventHash,
  getPublicKey,
  verifyEvent,
  verifyEvents,
} from './crypto/index.js'
