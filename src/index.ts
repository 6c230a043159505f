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
export type { AdvertiseTargetsOptions, RelayControlApi, RelayRow, RelayTableOptions } from './client/relay-control.js'
export type { ApprovalKind, ApprovalsApi, RememberedApproval } from './client/approvals.js'
export type { Nip05Api, Nip05Lookup, Nip05ResolveOptions, Nip05VerifyOptions, PersonNip05Verdict } from './client/nip05.js'
export type { InvalidZap, ValidZap, ZapInvoice, ZapOptions, ZapReceipts, ZapReceiptsOptions, ZapTarget, ZapsApi } from './client/zaps.js'
export type { LnurlPayEndpoint, LnurlRequestOptions, ZapInvoiceResponse } from './client/lnurl.js'
export type { Bolt11Invoice, Bolt11Network } from './crypto/bolt11.js'
export type { ZapProblem, ZapProblemCode, ZapReceiptVerdict, ZapRequest, ZapRequestVerdict } from './crypto/nip57.js'
export type { Nip05Identifier, Nip05Resolution, Nip05Verdict, Nip05VerdictReason, Nip05DocumentEntry } from './outbox/nip05.js'
export type {
  BookmarkItems,
  Bookmarks,
  FollowSet,
  FollowSetChange,
  ListEditOptions,
  ListEditResult,
  ListEntry,
  ListReadOptions,
  ListsApi,
  MuteItems,
  MuteList,
  PinnedNotes,
  RelaySet,
  RelaySetChange,
  RelayUrlList,
  SetMetadataChange,
  UserList,
} from './client/lists.js'
export { type ListChange, type PrivateState, LIST_KINDS } from './outbox/lists.js'
export type {
  ApprovalDecision,
  AuthApprovalRequest,
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
  RelayApprovalRequest,
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
// NIP-46 remote signing: a remote signer to pass as `signer`, and a bunker serving other apps.
// The full set (token parsers, permissions, wire helpers) is on `nostr-rendezvous/nip46`.
export {
  type ApprovalRequest as BunkerApprovalRequest,
  type Bunker,
  type BunkerOptions,
  type BunkerSession,
  type NostrConnectOptions,
  type NostrConnectSession,
  type RemoteSigner,
  type RemoteSignerOptions,
  connectBunker,
  createBunker,
  startNostrConnect,
} from './nip46/index.js'
