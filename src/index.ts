/**
 * Rendezvous: an outbox-model Nostr client SDK. The root entry holds the `createClient()` facade,
 * the public types and errors. Each layer also has its own subpath (`nostr-rendezvous/crypto`,
 * `/relay-pool`, `/outbox`, `/storage`).
 *
 * @example
 * ```ts
 * import { createClient } from 'nostr-rendezvous'
 * import { createSecretKeySigner, generateSecretKey } from 'nostr-rendezvous/crypto'
 * const client = createClient({ signer: createSecretKeySigner(generateSecretKey()), indexerRelays: ['wss://purplepag.es'] })
 * const page = await client.feed({ authors: ['npub1...'], limit: 20 })
 * await client.close()
 * ```
 *
 * @module
 */
export {
  type ClientErrorCode,
  type CryptoErrorCode,
  type RendezvousErrorCode,
  type RendezvousErrorOptions,
  ClientError,
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
export { type Client, createClient } from './client/client.js'
export { type EventRef, type PersonRef, parseEventRef, parsePerson } from './client/identifiers.js'
export type {
  AuthorReadReport,
  ClientAlert,
  ClientOptions,
  DmDelivery,
  DmInbox,
  DmQueryOptions,
  EditOptions,
  FeedCursor,
  FeedOptions,
  FeedPage,
  FeedProgress,
  FollowChange,
  FollowEntry,
  FollowList,
  LegacyConversation,
  LegacyDm,
  LiveDmOptions,
  LiveDms,
  LiveFeed,
  LiveFeedOptions,
  MissingReason,
  Profile,
  PublishOptions,
  PublishResult,
  PublishWait,
  QueryReport,
  ReadOptions,
  ReceivedDm,
  RelayQueryReport,
  RelaySettings,
  RelaySettingsChange,
  RelaySettingsResult,
  SearchOptions,
  SearchResult,
  SendDmOptions,
  SendDmResult,
  Thread,
  ThreadNode,
  ThreadOptions,
} from './client/types.js'
