/**
 * The client facade: one object that wires the relay pool, storage, evidence store, tracker,
 * router and publish queue together, and offers what a client app does all day (feeds, threads,
 * profiles, follows, publishing, private messages, search, the user's relay settings).
 *
 * @module
 */
import type { EventTemplate, NostrEvent } from '../crypto/event.js'
import type { EvidenceStore } from '../outbox/evidence.js'
import type { PublishQueue } from '../outbox/publish-queue.js'
import type { Router } from '../outbox/router.js'
import type { Tracker } from '../outbox/tracker.js'
import type { RelayPool } from '../relay-pool/pool.js'
import type { Storage } from '../storage/types.js'
import { createClientContext } from './context.js'
import { readDms, readLegacyDms, liveDms, sendDm } from './dm.js'
import { liveFeed, readFeed } from './feed.js'
import { parsePerson } from './identifiers.js'
import { editFollows, readFollows, readProfile, updateProfile } from './profile.js'
import { publishEvent } from './publish.js'
import { searchOwnRelays, searchRelay } from './search.js'
import { listAlerts, readRelaySettings, setRelays } from './settings.js'
import { readThread } from './thread.js'
import type { ListsApi } from './lists.js'
import { loadBlockedRelaysFromStorage } from './list-store.js'
import type { ZapsApi } from './zaps.js'
import type { Nip05Api } from './nip05.js'
import { forwardTo, lazy } from './lazy.js'
import { tryParseNip05 } from '../outbox/nip05-identifier.js'
import { createRelayControlApi, type RelayControlApi } from './relay-control.js'
import { createApprovalsApi, type ApprovalsApi } from './approvals.js'
import type {
  ClientAlert,
  ClientOptions,
  DmInbox,
  DmQueryOptions,
  EditOptions,
  FeedOptions,
  FeedPage,
  FollowEntry,
  FollowList,
  LegacyConversation,
  LiveDmOptions,
  LiveDms,
  LiveFeed,
  LiveFeedOptions,
  Profile,
  PublishOptions,
  PublishResult,
  ReadOptions,
  RelaySettings,
  RelaySettingsChange,
  RelaySettingsResult,
  SearchOptions,
  SearchResult,
  SendDmOptions,
  SendDmResult,
  Thread,
  ThreadOptions,
} from './types.js'

/**
 * An outbox-model Nostr client. Created by {@link createClient}; call `close()` when done (it owns
 * sockets and timers). Every method that talks to relays takes an `AbortSignal`; an abort rejects
 * with `CLIENT_ABORTED`, a call on a closed client with `CLIENT_CLOSED`. People may be given as hex,
 * `npub` or `nprofile`; events as hex, `note` or `nevent`.
 */
export interface Client {
  /** The relay pool the client owns (health statistics, NIP-11 documents, raw queries). */
  readonly pool: RelayPool
  /** The storage in use. */
  readonly storage: Storage
  /** Everything known about where people write and read. */
  readonly evidence: EvidenceStore
  /** The relay-list tracker. */
  readonly tracker: Tracker
  /** The router (read plans, publish targets, DM relays). */
  readonly router: Router
  /** The durable publish queue. */
  readonly publishQueue: PublishQueue
  /**
   * Resolves once publishes left unfinished by an earlier run (in the same storage) are sending
   * again. Never rejects: a failure goes to `onError`.
   */
  readonly ready: Promise<void>
  /** NIP-51 lists: follow sets, bookmarks, pins, mutes, relay sets, blocked and search relays. */
  readonly lists: ListsApi
  /** NIP-57 zaps: LNURL-pay, zap requests, receipts. */
  readonly zaps: ZapsApi
  /** NIP-05 identifiers: resolve, verify, relays as evidence. */
  readonly nip05: Nip05Api
  /** Per-relay rank and read / write / advertise / spam-safe flags. */
  readonly relays: RelayControlApi
  /** Remembered answers to "connect to this new relay?" and "AUTH to this relay?". */
  readonly approvals: ApprovalsApi

  /**
   * The user's public key.
   *
   * @returns hex.
   * @throws ClientError `CLIENT_NO_SIGNER` without a signer or `pubkey`; the signer's errors.
   */
  getPublicKey(): Promise<string>

  /**
   * One page of a chronological feed: the authors' relay lists are fetched (when stale), relays
   * are chosen to cover every author k times within the budget, each relay is asked about its
   * authors, relays that fail are re-planned around once, and the events are merged newest first.
   *
   * @param options - authors (default: the user's follows), kinds, limit, `until`/`cursor`, progress.
   * @returns the events, the cursor of the next page, and the per-author, per-relay report.
   * @throws ClientError `CLIENT_ABORTED`, `CLIENT_CLOSED`, `CLIENT_NO_SIGNER` (no authors and no user).
   * @example
   * ```ts
   * const page = await client.feed({ limit: 20 })
   * for (const event of page.events) console.log(event.content)
   * for (const m of page.report.missing) console.log(m.pubkey, 'may be missing posts:', m.reason)
   * const older = await client.feed({ limit: 20, cursor: page.next })
   * ```
   */
  feed(options?: FeedOptions): Promise<FeedPage>

  /**
   * Live updates of a feed: new events from now on, from the same relays a page would use.
   *
   * @param options - authors, kinds, `onEvent`, `onReport`, `signal`.
   * @returns the live feed; `close()` it when done.
   * @throws ClientError `CLIENT_CLOSED`.
   * @example
   * ```ts
   * const live = client.subscribeFeed({ onEvent: (event) => console.log(event.content) })
   * await live.ready
   * // ...
   * live.close()
   * ```
   */
  subscribeFeed(options: LiveFeedOptions): LiveFeed

  /**
   * A thread: the event, its root (NIP-10 markers, else positional `e` tags) and every reply found
   * at the relays where replies go (the authors' inboxes, the relays the events were seen on, the
   * hints in tags), as a tree.
   *
   * @param target - hex id, `note`, `nevent` (its hints are used), or the event itself.
   * @param options - extra relays, the author, limit, `signal`.
   * @returns the thread; `target` is `undefined` when no relay had the event.
   * @throws TypeError for a malformed target; ClientError `CLIENT_ABORTED`, `CLIENT_CLOSED`.
   * @example
   * ```ts
   * const thread = await client.thread('nevent1...')
   * const print = (node, depth = 0) => { console.log(' '.repeat(depth) + node.event.content); node.replies.forEach((r) => print(r, depth + 2)) }
   * if (thread.tree) print(thread.tree)
   * ```
   */
  thread(target: string | NostrEvent, options?: ThreadOptions): Promise<Thread>

  /**
   * A person's profile (newest kind 0 from their outboxes and the indexers).
   *
   * @param person - hex, `npub` or `nprofile`; default the user.
   * @param options - `signal`.
   * @returns the profile, or `undefined` when none was found.
   * @throws TypeError for a malformed person; ClientError `CLIENT_ABORTED`, `CLIENT_CLOSED`.
   * @example
   * ```ts
   * const profile = await client.profile('npub1...')
   * console.log(profile?.name, profile?.about)
   * ```
   */
  profile(person?: string, options?: ReadOptions): Promise<Profile | undefined>

  /**
   * Edits the user's profile without clobbering it: the newest kind 0 is looked for on several
   * relays first, the given fields are changed (`null` removes one), every other field and tag is
   * kept.
   *
   * @param changes - fields to set (`name`, `about`, `picture`, ... or any other) or remove (`null`).
   * @param options - `minAnswers`, `pow`, `signal`.
   * @returns the publish result.
   * @throws ClientError `CLIENT_NO_SIGNER`, `CLIENT_LIST_UNREADABLE` (the newest content is not a
   * JSON object), `CLIENT_ABORTED`, `CLIENT_CLOSED`; OutboxError `TRACKER_UNCONFIRMED`.
   * @example
   * ```ts
   * await client.updateProfile({ about: 'writes about relays', website: null })
   * ```
   */
  updateProfile(changes: Readonly<Record<string, unknown>>, options?: EditOptions): Promise<PublishResult>

  /**
   * A person's follow list (newest kind 3).
   *
   * @param person - hex, `npub` or `nprofile`; default the user.
   * @param options - `signal`.
   * @returns the list (empty with `event: undefined` when none exists).
   * @throws TypeError for a malformed person; ClientError `CLIENT_ABORTED`, `CLIENT_CLOSED`.
   * @example
   * ```ts
   * const { follows } = await client.follows()
   * console.log(follows.length, 'follows')
   * ```
   */
  follows(person?: string, options?: ReadOptions): Promise<FollowList>

  /**
   * Follows people, editing the newest follow list without clobbering it (other tags and the
   * content are kept).
   *
   * @param people - hex, `npub`, `nprofile` or `{ pubkey, relay, petname }`, one or many.
   * @param options - `minAnswers`, `pow`, `signal`.
   * @returns the publish result.
   * @throws as {@link Client.updateProfile}.
   * @example
   * ```ts
   * await client.follow(['npub1...', { pubkey: 'ab…', petname: 'alice' }])
   * ```
   */
  follow(people: string | FollowEntry | ReadonlyArray<string | FollowEntry>, options?: EditOptions): Promise<PublishResult>

  /**
   * Unfollows people (see {@link Client.follow}).
   *
   * @param people - hex, `npub` or `nprofile`, one or many.
   * @param options - `minAnswers`, `pow`, `signal`.
   * @returns the publish result.
   * @throws as {@link Client.updateProfile}.
   * @example
   * ```ts
   * await client.unfollow('npub1...')
   * ```
   */
  unfollow(people: string | readonly string[], options?: EditOptions): Promise<PublishResult>

  /**
   * Signs and publishes an event to the user's outboxes and the inboxes of everyone it tags or
   * mentions, through the durable queue (retried with backoff, resumed after a restart).
   *
   * @param template - kind, content, tags (`created_at` defaults to now).
   * @param options - `pow` difficulty and progress, extra `relays`, how long to `wait`, `signal`
   * (ends the wait only: a queued event is still delivered).
   * @returns the event, its plan and delivery report, and the queue's handle.
   * @throws ClientError `CLIENT_NO_SIGNER`, `CLIENT_NO_TARGETS`, `CLIENT_ABORTED`, `CLIENT_CLOSED`;
   * the signer's errors; the storage's when the queue cannot record the publish (nothing is sent).
   * @example
   * ```ts
   * const { event, report } = await client.publish({ kind: 1, content: 'gm' }, { pow: 16 })
   * console.log(event.id, report.state, `${report.accepted}/${report.targets.length} relays`)
   * ```
   */
  publish(template: EventTemplate, options?: PublishOptions): Promise<PublishResult>

  /**
   * Sends a NIP-17 private message: one gift wrap per recipient, to that recipient's kind 10050
   * relays only, and a copy to the user's own. When any recipient has no usable 10050, nothing is
   * sent to anyone.
   *
   * @param to - one recipient or several (a group chat).
   * @param content - the text.
   * @param options - `subject`, `replyTo`, `signal`.
   * @returns the message and each copy's delivery.
   * @throws ClientError `CLIENT_DM_RECIPIENT_NOT_READY`, `CLIENT_NO_SIGNER`, `CLIENT_ABORTED`, `CLIENT_CLOSED`.
   * @example
   * ```ts
   * const sent = await client.sendDm('npub1...', 'Hola, que tal?')
   * console.log(sent.deliveries.map((d) => `${d.recipient}: ${d.report.state}`))
   * ```
   */
  sendDm(to: string | readonly string[], content: string, options?: SendDmOptions): Promise<SendDmResult>

  /**
   * The user's NIP-17 messages: gift wraps fetched from the user's own kind 10050 relays, opened
   * and checked.
   *
   * @param options - `peer`, `since`, `limit`, `signal`.
   * @returns the messages oldest first and how many wraps could not be opened.
   * @throws ClientError `CLIENT_NO_SIGNER`, `CLIENT_ABORTED`, `CLIENT_CLOSED`.
   * @example
   * ```ts
   * const inbox = await client.dms()
   * for (const m of inbox.messages) console.log(m.sender, m.content)
   * ```
   */
  dms(options?: DmQueryOptions): Promise<DmInbox>

  /**
   * New NIP-17 messages as they arrive at the user's DM relays.
   *
   * @param options - `onMessage`, `signal`.
   * @returns the subscription; `close()` it when done.
   * @throws ClientError `CLIENT_NO_SIGNER`, `CLIENT_CLOSED`.
   * @example
   * ```ts
   * const live = client.subscribeDms({ onMessage: (m) => console.log(m.sender, m.content) })
   * ```
   */
  subscribeDms(options: LiveDmOptions): LiveDms

  /**
   * An old NIP-04 conversation with one person, decrypted (read only: new messages go by NIP-17).
   *
   * @param peer - hex, `npub` or `nprofile`.
   * @param options - `signal`.
   * @returns the messages oldest first.
   * @throws TypeError for a malformed peer; ClientError `CLIENT_NO_SIGNER`, `CLIENT_ABORTED`, `CLIENT_CLOSED`.
   * @example
   * ```ts
   * const old = await client.legacyDms('npub1...')
   * ```
   */
  legacyDms(peer: string, options?: ReadOptions): Promise<LegacyConversation>

  /**
   * NIP-50 full-text search at one relay, asked only when its NIP-11 document lists NIP-50. Without
   * a relay, the user's search relays (NIP-51 kind 10007, see `client.lists.setSearchRelays`) are
   * tried one after another until one answers.
   *
   * @param relay - the relay URL, or `undefined` for the user's search relays.
   * @param query - the search string.
   * @param options - kinds, limit, `signal`.
   * @returns the events and the relay's answer.
   * @throws ClientError `CLIENT_SEARCH_UNSUPPORTED`, `CLIENT_NO_SEARCH_RELAYS` (no relay named and
   * none in the user's list), `CLIENT_ABORTED`, `CLIENT_CLOSED`.
   * @example
   * ```ts
   * const { events } = await client.search('wss://search.example.com', 'outbox model', { kinds: [1] })
   * const mine = await client.search(undefined, 'outbox model')
   * ```
   */
  search(relay: string | undefined, query: string, options?: SearchOptions): Promise<SearchResult>

  /**
   * The user's own relays: inboxes, outboxes, DM relays, and where the relay list is advertised.
   *
   * @param options - `signal`.
   * @returns the settings (empty lists when none is published).
   * @throws ClientError `CLIENT_NO_SIGNER`, `CLIENT_ABORTED`, `CLIENT_CLOSED`.
   * @example
   * ```ts
   * const { write, read, dm } = await client.relaySettings()
   * ```
   */
  relaySettings(options?: ReadOptions): Promise<RelaySettings>

  /**
   * Changes the user's relays: the newest kind 10002 / 10050 are read first (unknown tags kept),
   * then the new lists are published broadly (see `Router.ownListTargets`).
   *
   * @param change - `read`, `write`, `dm` lists to set, more relays to advertise to. A change that
   * names no list publishes nothing.
   * @param options - `minAnswers`, `pow`, `signal`.
   * @returns the publish result of each list published.
   * @throws ClientError `CLIENT_NO_SIGNER`, `CLIENT_ABORTED`, `CLIENT_CLOSED`; OutboxError
   * `OUTBOX_RELAY_URL_INVALID`, `TRACKER_UNCONFIRMED`.
   * @example
   * ```ts
   * await client.setRelays({ write: ['wss://relay.example.com'], read: ['wss://inbox.example.com'], dm: ['wss://dm.example.com'] })
   * ```
   */
  setRelays(change: RelaySettingsChange, options?: EditOptions): Promise<RelaySettingsResult>

  /**
   * Things that need the user's attention: a relay list not advertised for a long time, publishes
   * that failed on some relays, a follow-list change no relay holds yet. When the user's relay list
   * is stale in the tracker, the indexers are asked for it first.
   *
   * @returns the alerts, most important first.
   * @throws ClientError `CLIENT_CLOSED`.
   * @example
   * ```ts
   * for (const alert of await client.alerts()) console.warn(alert.type)
   * ```
   */
  alerts(): Promise<ClientAlert[]>

  /**
   * Closes every subscription and connection, stops the queue (unfinished publishes stay in
   * storage for the next run), saves the evidence, and closes the storage if the client created
   * it. Idempotent.
   *
   * @returns resolves when everything is closed.
   */
  close(): Promise<void>
}

const toArray = <T>(value: T | readonly T[]): readonly T[] => (Array.isArray(value) ? (value as readonly T[]) : [value as T])

/**
 * Creates an outbox-model Nostr client.
 *
 * @param options - signer, storage, indexer relays, k and budget, pool options; see {@link ClientOptions}.
 * @returns a {@link Client}. Call `close()` when done.
 * @throws TypeError/RangeError for malformed options.
 * @example
 * ```ts
 * import { createClient } from 'nostr-rendezvous'
 * import { createSecretKeySigner, generateSecretKey } from 'nostr-rendezvous/crypto'
 * const client = createClient({
 *   signer: createSecretKeySigner(generateSecretKey()),
 *   indexerRelays: ['wss://purplepag.es', 'wss://relay.nos.social'],
 * })
 * const page = await client.feed({ authors: ['npub1...'], limit: 20 })
 * await client.close()
 * ```
 */
export function createClient(options: ClientOptions): Client {
  const context = createClientContext(options)
  const ready = context.queue.resume().then(
    () => undefined,
    (error: unknown) => context.reportError(error),
  )
  /** The person named (or the user), and read options carrying an nprofile's relay hints. */
  const person = async (input: string | undefined, field: string, readOptions: ReadOptions): Promise<[string, ReadOptions]> => {
    if (input === undefined) return [await context.me(), readOptions]
    const { pubkey, relays } = parsePerson(input, field)
    if (relays.length === 0) return [pubkey, readOptions]
    // The hints are evidence too: the tracker asks them for the person's relay lists.
    const at = context.nowSeconds()
    for (const url of relays) context.evidence.addHint(pubkey, url, 'nip19-hint', at)
    return [pubkey, { ...readOptions, relays: [...(readOptions.relays ?? []), ...relays] }]
  }
  // Loaded on first use (see lazy.ts): most apps never zap or look up a NIP-05 identifier, and
  // editing lists is rare next to reading feeds (feeds apply mutes through list-store.ts, up front).
  // The user's blocked relays are honoured from the start: storage is read now, never the network.
  loadBlockedRelaysFromStorage(context)
  const lists = lazy(() => import('./lists.js').then((module) => module.createListsApi(context)))
  const zaps = lazy(() => import('./zaps.js').then((module) => module.createZapsApi(context)))
  const nip05 = lazy(() => import('./nip05.js').then((module) => module.createNip05Api(context)))
  return {
    pool: context.pool,
    storage: context.storage,
    evidence: context.evidence,
    tracker: context.tracker,
    router: context.router,
    publishQueue: context.queue,
    ready,
    lists: forwardTo(lists, [
      'get',
      'sets',
      'edit',
      'deleteSet',
      'mutes',
      'mute',
      'unmute',
      'bookmarks',
      'bookmark',
      'unbookmark',
      'pins',
      'pin',
      'unpin',
      'blockedRelays',
      'blockRelays',
      'unblockRelays',
      'searchRelays',
      'setSearchRelays',
      'followSets',
      'followSet',
      'editFollowSet',
      'deleteFollowSet',
      'relaySets',
      'relaySet',
      'editRelaySet',
      'deleteRelaySet',
    ]),
    zaps: {
      zap: (...args) => zaps().then((api) => api.zap(...args)),
      receipts: (...args) => zaps().then((api) => api.receipts(...args)),
      payEndpoint: (...args) => zaps().then((api) => api.payEndpoint(...args)),
    },
    nip05: {
      parse: (identifier) => tryParseNip05(identifier),
      resolve: (...args) => nip05().then((api) => api.resolve(...args)),
      verify: (...args) => nip05().then((api) => api.verify(...args)),
      profileVerified: (...args) => nip05().then((api) => api.profileVerified(...args)),
    },
    relays: createRelayControlApi(context),
    approvals: createApprovalsApi(context),
    getPublicKey: () => context.me(),
    feed: (feedOptions = {}) => readFeed(context, feedOptions),
    subscribeFeed: (liveOptions) => liveFeed(context, liveOptions),
    thread: (target, threadOptions = {}) => readThread(context, target, threadOptions),
    profile: async (input, readOptions = {}) => readProfile(context, ...(await person(input, 'person', readOptions))),
    updateProfile: (changes, editOptions = {}) => updateProfile(context, changes, editOptions),
    follows: async (input, readOptions = {}) => readFollows(context, ...(await person(input, 'person', readOptions))),
    follow: (people, editOptions = {}) => editFollows(context, { add: toArray(people) }, editOptions),
    unfollow: (people, editOptions = {}) => editFollows(context, { remove: toArray(people) }, editOptions),
    publish: (template, publishOptions = {}) => publishEvent(context, template, publishOptions),
    sendDm: (to, content, dmOptions = {}) => sendDm(context, toArray(to), content, dmOptions),
    dms: (dmOptions = {}) => readDms(context, dmOptions),
    subscribeDms: (liveOptions) => liveDms(context, liveOptions),
    legacyDms: (peer, readOptions = {}) => readLegacyDms(context, peer, readOptions),
    search: (relay, query, searchOptions = {}) =>
      relay === undefined ? searchOwnRelays(context, query, searchOptions) : searchRelay(context, relay, query, searchOptions),
    relaySettings: (readOptions = {}) => readRelaySettings(context, readOptions),
    setRelays: (change, editOptions = {}) => setRelays(context, change, editOptions),
    alerts: () => listAlerts(context),
    close: async () => {
      await ready
      await context.close()
    },
  }
}
