/**
 * The relay pool: connections, subscriptions and publishing, with NIP-11 limits, NIP-42 AUTH,
 * connect policies and per-relay health. See `docs/relay-pool.md` for the design.
 *
 * @example
 * ```ts
 * import { createRelayPool } from 'nostr-rendezvous/relay-pool'
 * const pool = createRelayPool()
 * const { events, relays } = await pool.query([{ kinds: [1], limit: 20 }], {
 *   relays: ['wss://relay.example.com'],
 *   origin: 'configured',
 * })
 * await pool.close()
 * ```
 *
 * @module
 */
export { RelayError, RendezvousError } from '../errors.js'
export {
  createRelayPool,
  RelayPool,
  type PublishOptions,
  type PublishOutcome,
  type PublishReport,
  type PublishStatus,
  type QueryOptions,
  type QueryResult,
  type RelayPoolOptions,
} from './pool.js'
export type {
  RelayReadOutcome,
  RelayReadStatus,
  SubscribeOptions,
  Subscription,
  SubscriptionReport,
} from './subscription.js'
export {
  DEFAULT_RELAY_LIMITS,
  MACHINE_PREFIXES,
  type Filter,
  type MachinePrefix,
  type ProxyTransport,
  type RelayLimits,
  type RelayOrigin,
  type WebSocketFactory,
  type WebSocketFactoryOptions,
  type WebSocketLike,
} from './types.js'
export { DEMOTION_THRESHOLD, emptyRelayStats, isDemoted, publishAcceptRate, type RelayStats } from './health.js'
export { defaultWebSocketFactory } from './websocket.js'
export {
  createMainThreadVerifier,
  createWorkerVerifier,
  type EventVerifier,
  type VerifierStats,
  type VerifyBatch,
  type VerifyHint,
  type WorkerVerifierOptions,
} from './verifier.js'
export {
  type InvalidMessageReason,
  type InvalidRelayMessage,
  type RelayMessage,
  DEFAULT_MAX_RELAY_MESSAGE_BYTES,
  INVALID_MESSAGE_REASONS,
  MAX_AUTH_CHALLENGE_LENGTH,
  MAX_SUBSCRIPTION_ID_LENGTH,
  encodeAuth,
  encodeClose,
  encodeCount,
  encodeEventMessage,
  encodeReq,
  parseMachinePrefix,
  parseRelayMessage,
  utf8ByteLength,
} from './messages.js'
export {
  assertFilters,
  expectedEventCount,
  filterProblem,
  matchFilter,
  matchFilters,
  pageFilters,
  splitFiltersForRelay,
} from './filters.js'
export { type LruOptions, LruMap, LruSet } from './lru.js'
export { type BackoffOptions, type FailureKind, type FailureRecord, DEFAULT_PENALTY_MS, FAILURE_KINDS, RelayBackoff } from './backoff.js'
export {
  type FetchRelayInformationOptions,
  type RelayInformation,
  type RelayInformationCacheOptions,
  type RelayInformationIssue,
  type RelayLimitation,
  RelayInformationCache,
  fetchRelayInformation,
  parseRelayInformation,
  relayInformationUrl,
  relayLimitsFrom,
} from './nip11.js'
export { MAX_RELAY_URL_LENGTH, type RelayHostKind, normalizeRelayUrl, relayHostKind, relayUrlProblem, tryNormalizeRelayUrl } from './url.js'
export {
  type AuthCheck,
  type AuthPolicy,
  type ConnectCheck,
  type ConnectDecision,
  type ConnectPolicyOptions,
  type ConnectRefusalReason,
  createAuthPolicy,
  createConnectPolicy,
} from './policy.js'
