/**
 * The outbox layer: relay lists (NIP-65 10002, NIP-17 10050, legacy kind 3 content, NIP-05), the
 * person-relay evidence store and scorer, the minimal-cover relay selector, the router, the
 * tracker that keeps relay lists fresh, and the durable publish queue.
 *
 * @example
 * ```ts
 * import { createEvidenceStore, scoreCandidates, selectRelays } from 'nostr-rendezvous/outbox'
 * const evidence = createEvidenceStore()
 * for (const list of relayListEvents) evidence.applyRelayList(list)
 * const candidates = scoreCandidates(follows.map((pk) => evidence.evidenceFor(pk)), { purpose: 'outbox', now: Math.floor(Date.now() / 1000) })
 * const plan = selectRelays({ candidates, perAuthor: 2, maxRelays: 20 })
 * ```
 *
 * @module
 */
export { OutboxError, type OutboxErrorCode, RendezvousError } from '../errors.js'
export {
  type BuildListOptions,
  type RelayHint,
  type RelayList,
  type RelayListEntry,
  type RelayListInput,
  DM_RELAY_LIST_KIND,
  FOLLOW_LIST_KIND,
  MAX_HINTS_PER_EVENT,
  MAX_RELAY_LIST_ENTRIES,
  MAX_RELAY_STRINGS_SCANNED,
  RELAY_LIST_KIND,
  buildDmRelayListTemplate,
  buildRelayListTemplate,
  newestEvent,
  parseDmRelayList,
  parseKind3Relays,
  parseNip05Relays,
  parseRelayList,
  relayHintsFromEvent,
} from './relay-lists.js'
export {
  type ApplyResult,
  type DeclaredLists,
  type EvidenceStore,
  type EvidenceStoreOptions,
  type EvidenceStoreStats,
  type ListStamp,
  type LoadResult,
  type ManualChoice,
  type ManualInput,
  type PersonEvidence,
  type RelayEvidence,
  type SourceEvidence,
  EVIDENCE_RECORD_VERSION,
  MAX_EVIDENCE_COUNT,
  createEvidenceStore,
} from './evidence.js'
export {
  type EvidenceSource,
  type HealthOptions,
  type ScoreOptions,
  type ScoringConfig,
  type ScoringPurpose,
  DECLARED_SOURCES,
  DEFAULT_SCORING,
  EVIDENCE_SOURCES,
  LEARNED_SOURCES,
  NEUTRAL_HEALTH,
  PENALISED_HEALTH,
  countFactor,
  decayFactor,
  evidenceScore,
  isDeclaredSource,
  relayHealthFactor,
  scoreCandidates,
  scoreRelays,
} from './scorer.js'
export {
  type DeliveryHandle,
  type DeliveryReason,
  type DeliveryReport,
  type DeliveryState,
  type DeliveryTarget,
  type PublishQueue,
  type PublishQueueOptions,
  type PublishTarget,
  type TargetStatus,
  createPublishQueue,
} from './publish-queue.js'
export {
  type CoverSelection,
  type SelectRelaysOptions,
  type UpdateSelectionOptions,
  MAX_CANDIDATES_PER_AUTHOR,
  replanAfterFailure,
  selectRelays,
  updateSelection,
} from './selector.js'
export {
  type EnsureOptions,
  type NewestOwnListOptions,
  type RefreshOptions,
  type TrackedRelayList,
  type Tracker,
  type TrackerOptions,
  type TrackerPool,
  type TrackerRelayOutcome,
  type TrackerReport,
  TRACKED_KINDS,
  TRACKER_RECORD_VERSION,
  createTracker,
} from './tracker.js'
export {
  type AdvertiseExclusion,
  type AdvertisePlan,
  type AdvertiseReason,
  type AdvertiseTarget,
  type DeclaredSource,
  type DmRelays,
  type DmRelaysOptions,
  type InboxRelays,
  type NotReadyReason,
  type OwnListTargetsOptions,
  type PublishPlan,
  type PublishTargetsOptions,
  type ReadPlan,
  type ReadPlanOptions,
  type RepliesToOptions,
  type ReplyRelays,
  type Router,
  type RouterOptions,
  type RouterPool,
  type RouterTracker,
  createRouter,
} from './router.js'
export {
  type Nip05DocumentEntry,
  type Nip05FetchOptions,
  type Nip05Identifier,
  type Nip05LookupOptions,
  type Nip05Resolution,
  type Nip05Resolver,
  type Nip05ResolverOptions,
  type Nip05Verdict,
  type Nip05VerdictReason,
  createNip05Resolver,
  parseNip05,
  readNip05Document,
  resolveNip05,
  tryParseNip05,
  verifyNip05,
} from './nip05.js'
export {
  type ListChange,
  type ListCipher,
  type ListDraft,
  type ListTag,
  type MuteReason,
  type MuteRules,
  type ParsedList,
  type PrivateState,
  LIST_KINDS,
  addListEntries,
  applyListChange,
  decryptPrivateEntries,
  encryptPrivateEntries,
  isListSetKind,
  isMuteRulesEmpty,
  isStandardListKind,
  listEntryKey,
  listTemplate,
  muteRules,
  mutedReason,
  parseList,
  parsePrivateEntries,
  privateEncoding,
  removeListEntries,
} from './lists.js'
export type { Candidates, RelaySelection, ScoredRelay, ShortAuthor, ShortReason } from './types.js'
export {
  type RelayConfig,
  type RelayConfigChange,
  type RelayConfigOptions,
  type RelayPreference,
  type RelayPreferenceChange,
  type RelayPreferences,
  DEFAULT_RELAY_RANK,
  MAX_RELAY_RANK,
  createRelayConfig,
  rankFactor,
} from './relay-config.js'
