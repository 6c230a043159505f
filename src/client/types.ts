/**
 * The public types of the client facade ({@link createClient}): its options, and what each of its
 * calls returns. Kept apart from the implementation so each capability module (feed, thread,
 * profile, publish, DMs, search, settings) shares one vocabulary.
 *
 * @module
 */
import type { NostrEvent } from '../crypto/event.js'
import type { Signer } from '../crypto/signer.js'
import type { Rumor } from '../crypto/nip59.js'
import type { PowProgress } from '../crypto/nip13.js'
import type { RelayPoolOptions } from '../relay-pool/pool.js'
import type { RelayReadOutcome } from '../relay-pool/subscription.js'
import type { ProxyTransport, RelayOrigin } from '../relay-pool/types.js'
import type { DeliveryHandle, DeliveryReport, PublishQueueOptions } from '../outbox/publish-queue.js'
import type { Nip05ResolverOptions } from '../outbox/nip05.js'
import type { PublishPlan } from '../outbox/router.js'
import type { ShortReason } from '../outbox/types.js'
import type { Storage } from '../storage/types.js'

// ---- options -------------------------------------------------------------------------------------

/** Options of {@link createClient}. Only `indexerRelays` is required. */
export interface ClientOptions {
  /**
   * Signs, encrypts and decrypts for the user. Without one the client is read-only: publishing,
   * DMs and edits reject with `CLIENT_NO_SIGNER`, and reads need `pubkey` to know who "me" is.
   * @default none
   */
  readonly signer?: Signer
  /**
   * The user's public key (hex) for a read-only client. Ignored when a signer is given.
   * @default the signer's
   */
  readonly pubkey?: string
  /**
   * Where events, relay lists, evidence, relay health and the publish queue are kept. The client
   * does not close a storage it was given.
   * @default memoryStorage()
   */
  readonly storage?: Storage
  /** Relays that collect everyone's relay lists (asked about every person). */
  readonly indexerRelays: readonly string[]
  /**
   * Redundancy k: each followed author is read from this many of their outboxes.
   * @default 2
   */
  readonly perAuthor?: number
  /**
   * Connection budget of a feed read (relays asked in the first round).
   * @default 20
   */
  readonly maxRelays?: number
  /**
   * Options of the relay pool the client creates and owns (connect and AUTH policies, timeouts,
   * WebSocket factory for a proxy, ...). `signer` and `onEventSeen` are the client's.
   * @default {}
   */
  readonly pool?: Omit<RelayPoolOptions, 'signer' | 'onEventSeen'>
  /**
   * Routes every connection of the client through a proxy: each relay WebSocket (the pool's
   * `webSocketFactory` and, when the proxy `reachesOnion`, `onionWebSocketFactory`) and each HTTP
   * request (NIP-11, NIP-05, LNURL). Build one with `socksProxy()` from `nostr-rendezvous/socks`
   * (Node). `.onion` relays are allowed only through a proxy that reaches them. Overrides
   * `fetch` and the pool's WebSocket factories. See `docs/privacy.md`.
   * @default none (direct connections)
   */
  readonly proxy?: ProxyTransport
  /**
   * The `fetch` of the client's HTTP requests (NIP-11, NIP-05, LNURL) when no `proxy` is set.
   * @default globalThis.fetch
   */
  readonly fetch?: typeof fetch
  /**
   * NIP-05 lookups (`client.nip05`): how long answers and failures are cached (in memory and in
   * storage), and each request's time and size limits. See `docs/nip05.md`.
   * @default 6 h for answers, 5 min for failures, 10 s (Tor circuits take a while), 256 KiB
   */
  readonly nip05?: Pick<Nip05ResolverOptions, 'ttlMs' | 'negativeTtlMs' | 'timeoutMs' | 'maxBytes'>
  /**
   * Asked before the client first connects to a relay it has no decision for: no NIP-11 request
   * and no socket before the answer. `'allow'`/`'deny'` are remembered in storage (next runs do not
   * ask again; see `client.approvals`), `'allow-once'`/`'deny-once'` for this client's life only.
   * A callback that throws, rejects or answers anything else means deny-once; one that does not
   * answer holds that relay's reads until their timeout. Never asked about: the `indexerRelays`,
   * relays given rank 1-9 through `client.relays`, the user's own relays (kind 10002 and 10050),
   * and relays the app named as `configured`. A denied relay ends `refused` with message
   * `not-approved` and receives nothing. Replaces `pool.approveConnect`. See `docs/privacy.md`.
   * @default none: every relay the connect policy allows is used
   */
  readonly approveRelay?: (request: RelayApprovalRequest) => ApprovalDecision | Promise<ApprovalDecision>
  /**
   * Asked before the client answers a relay's NIP-42 AUTH challenge (which tells the relay who the
   * user is), unless the pool's `auth` policy already allows that relay. Decisions are remembered
   * as for {@link ClientOptions.approveRelay}. Without it, the pool's `auth` policy alone decides
   * (default: never).
   * @default none
   */
  readonly approveAuth?: (request: AuthApprovalRequest) => ApprovalDecision | Promise<ApprovalDecision>
  /**
   * Spam-safe reading: an event by someone who is neither the user nor followed by the user
   * (newest kind 3), which arrived for a filter that names neither its author nor its id, is
   * accepted only from relays flagged spam-safe (`client.relays`). Gift wraps (kind 1059),
   * NIP-46 messages (24133) and zap receipts (9735) are exempt: what reads them checks them. Off by default: with no relay flagged spam-safe yet, it would hide every mention and
   * reply from strangers. Refused copies are counted in `pool.relayStats(url).eventsNotAdmitted`.
   * @default false
   */
  readonly spamFilter?: boolean
  /**
   * Retry policy of the durable publish queue (attempts, delays, how long finished publishes stay
   * readable, per-relay timeout).
   * @default the queue's: 8 attempts, 2 s doubling to 10 min, kept 7 days
   */
  readonly publishQueue?: Pick<PublishQueueOptions, 'maxAttempts' | 'baseDelayMs' | 'maxDelayMs' | 'retainMs' | 'timeoutMs'>
  /**
   * NIP-13 difficulty mined into every published event unless a call says otherwise (0 = none).
   * @default 0
   */
  readonly powDifficulty?: number
  /**
   * After how long without re-advertising the user's relay list `alerts()` reports
   * `relay-list-stale`, in ms.
   * @default 2_592_000_000 (30 days)
   */
  readonly relayListMaxAgeMs?: number
  /**
   * Called with errors the client survived on its own (a storage write that failed while caching,
   * a listener that threw). Default: `console.error`.
   */
  readonly onError?: (error: unknown) => void
  /**
   * Clock in ms (tests).
   * @default Date.now
   */
  readonly now?: () => number
}

// ---- approvals -----------------------------------------------------------------------------------

/**
 * An answer to an approval question: `'allow'` and `'deny'` are remembered in storage,
 * `'allow-once'` and `'deny-once'` hold for this client's life only.
 */
export type ApprovalDecision = 'allow' | 'deny' | 'allow-once' | 'deny-once'

/** What {@link ClientOptions.approveRelay} is asked about. */
export interface RelayApprovalRequest {
  /** The normalised relay URL. */
  readonly url: string
  /** Where the URL came from (`discovered`: someone else's relay list, a hint, a tag). */
  readonly origin: RelayOrigin
}

/** What {@link ClientOptions.approveAuth} is asked about. */
export interface AuthApprovalRequest {
  /** The normalised relay URL that sent the AUTH challenge. */
  readonly url: string
}

// ---- per-query report ----------------------------------------------------------------------------

/** How one relay answered one read, and whom it was asked about. */
export interface RelayQueryReport extends RelayReadOutcome {
  /** The authors this relay was asked about (sorted); empty for reads not by author. */
  readonly authors: readonly string[]
  /** 1 for the planned relays, 2 for relays asked in the re-plan after failures. */
  readonly round: 1 | 2
}

/**
 * Why an author may be missing posts from a read:
 * - `no-relays`: nothing is known about where they write, so no relay was asked about them (an
 *   author read from every relay known for them, even fewer than k, is not listed);
 * - `budget`: usable relays exist but the connection budget left them out;
 * - `unhealthy`: their relays are in the penalty box or known down;
 * - `blocked`: their other relays are ruled out by the user's relay settings (rank 0, the
 *   blocked-relays list, `read: false`; see `client.relays`);
 * - `relays-failed`: every relay asked about them failed (timeout, refused, closed, ...);
 * - `fewer-relays`: some relay asked about them failed and fewer than k answered: their posts
 *   were read with less redundancy than asked.
 */
export type MissingReason = ShortReason | 'relays-failed' | 'fewer-relays'

/** One author's part in a read. */
export interface AuthorReadReport {
  readonly pubkey: string
  /** Every relay asked about this author, with its final status, in the order asked. */
  readonly relays: ReadonlyArray<{ readonly url: string; readonly status: RelayReadOutcome['status'] }>
  /** Relays that answered (EOSE). */
  readonly answered: number
  /** Events by this author in the result (before trimming to `limit`). */
  readonly events: number
  /** Set when this author may be missing posts. */
  readonly missing?: MissingReason
}

/** The report every read by author returns. */
export interface QueryReport {
  /** Every relay asked, in the order asked. */
  readonly relays: readonly RelayQueryReport[]
  /** One entry per author read, in the order given. */
  readonly authors: readonly AuthorReadReport[]
  /** The authors that may be missing posts, and why (the same as `authors[i].missing`). */
  readonly missing: ReadonlyArray<{ readonly pubkey: string; readonly reason: MissingReason }>
  /** Relays asked in all. */
  readonly connections: number
  /** Milliseconds from the call to the result. */
  readonly ms: number
  /**
   * Events hidden because the user's mute list (NIP-51 kind 10000) names their author, a hashtag,
   * a word or the thread they belong to (0 with `mutes: false`). For a page: among the events
   * that made the page (the page then holds fewer than `limit`); for a live feed: so far.
   */
  readonly muted: number
}

// ---- feeds ---------------------------------------------------------------------------------------

/** Where the next page of a feed starts: strictly older events, plus same-second ones not yet seen. */
export interface FeedCursor {
  /** `created_at` of the oldest event returned. */
  readonly until: number
  /** Ids already returned with `created_at === until`. */
  readonly seen: readonly string[]
}

/** Progress of a feed read, for a progress bar. */
export interface FeedProgress {
  /** Relays finished (any final outcome). */
  readonly relaysDone: number
  /** Relays asked so far (grows when a re-plan adds some). */
  readonly relaysTotal: number
  /** Distinct events so far. */
  readonly events: number
}

/** Options of {@link Client.feed}. */
export interface FeedOptions {
  /**
   * Whose posts. @default the user's follows (their newest kind 3)
   */
  readonly authors?: readonly string[]
  /** @default [1, 6] */
  readonly kinds?: readonly number[]
  /**
   * Most events in the page. A page is also kept within the smallest NIP-11 `max_limit` of the
   * relays asked (less the cursor's same-second ids): a relay that clamps a larger request would
   * otherwise leave holes between pages. @default 50
   */
  readonly limit?: number
  /** Only events at or before this time (unix seconds). Ignored with `cursor`. */
  readonly until?: number
  /** Only events at or after this time (unix seconds). */
  readonly since?: number
  /** Continue from a previous page. */
  readonly cursor?: FeedCursor
  /** Per-relay time to EOSE, in ms. @default the pool's */
  readonly eoseTimeoutMs?: number
  /** Called as relays finish, for a progress bar. */
  readonly onProgress?: (progress: FeedProgress) => void
  /**
   * Hide what the user's mute list (kind 10000, public and private entries) names; the count is
   * in `report.muted`. @default true
   */
  readonly mutes?: boolean
  readonly signal?: AbortSignal
}

/** One page of a feed. */
export interface FeedPage {
  /** Newest first (ties by id), at most `limit`. */
  readonly events: NostrEvent[]
  /**
   * The next page; `undefined` when this page came back short: no relay that answered has anything
   * older. Relays that failed may still hold older posts (their authors are in `report.missing` as
   * `relays-failed` or `fewer-relays`): ask again later to reach them.
   */
  readonly next: FeedCursor | undefined
  readonly report: QueryReport
}

/** Options of {@link Client.subscribeFeed}. */
export interface LiveFeedOptions {
  /** @default the user's follows */
  readonly authors?: readonly string[]
  /** @default [1, 6] */
  readonly kinds?: readonly number[]
  /** Each new event, once. */
  readonly onEvent: (event: NostrEvent, relay: string) => void
  /** The plan's relays changed status (a relay failed and its authors moved). */
  readonly onReport?: (report: QueryReport) => void
  /** Hide what the user's mute list names (edits made meanwhile apply at once). @default true */
  readonly mutes?: boolean
  readonly signal?: AbortSignal
}

/** A live feed; see {@link Client.subscribeFeed}. */
export interface LiveFeed {
  /** Resolves once the plan is made and every relay was asked (not when events arrive). */
  readonly ready: Promise<QueryReport>
  /** The report as it stands. */
  report(): QueryReport
  /** Stops every subscription. Idempotent. */
  close(): void
}

// ---- threads -------------------------------------------------------------------------------------

/** A node of a thread: an event and its direct replies, oldest first. */
export interface ThreadNode {
  readonly event: NostrEvent
  readonly replies: ThreadNode[]
}

/** Options of {@link Client.thread}. */
export interface ThreadOptions {
  /** Relays the event is known to be on (e.g. from an nevent). */
  readonly relays?: readonly string[]
  /** The event's author, when known (an nevent carries it): their outboxes are asked for it. */
  readonly author?: string
  /** Most replies fetched. @default 500 */
  readonly limit?: number
  /**
   * Hide replies the user's mute list names (the target and the root always show); the count is
   * in `Thread.muted`. @default true
   */
  readonly mutes?: boolean
  readonly signal?: AbortSignal
}

/** A thread, as {@link Client.thread} returns it. */
export interface Thread {
  /** The event asked for; `undefined` when no relay had it. */
  readonly target: NostrEvent | undefined
  /** The thread's root (NIP-10 `root` marker, else the first `e` tag); the target when it is the root. */
  readonly root: NostrEvent | undefined
  /** The id of the root, known even when the root event itself was not found. */
  readonly rootId: string
  /** The tree under the root (or under the target when the root was not found). */
  readonly tree: ThreadNode | undefined
  /** Every event of the thread found, by id. */
  readonly events: ReadonlyMap<string, NostrEvent>
  /** Every relay asked. */
  readonly relays: readonly RelayQueryReport[]
  /** Replies hidden by the user's mute list (their own replies hang under the top when shown). */
  readonly muted: number
}

// ---- profiles and follows ------------------------------------------------------------------------

/** A kind 0 profile. */
export interface Profile {
  readonly pubkey: string
  /** The newest kind 0 found. */
  readonly event: NostrEvent
  /** The parsed content; `{}` when the content is not a JSON object. */
  readonly fields: Readonly<Record<string, unknown>>
  readonly name?: string
  readonly displayName?: string
  readonly about?: string
  readonly picture?: string
  readonly nip05?: string
  readonly lud16?: string
}

/** Options of reads of one person's replaceable events. */
export interface ReadOptions {
  /** More relays to ask besides the person's outboxes and the indexers (an nprofile's hints are added by the client). */
  readonly relays?: readonly string[]
  readonly signal?: AbortSignal
}

/** One entry of a follow list (a `p` tag). */
export interface FollowEntry {
  readonly pubkey: string
  readonly relay?: string
  readonly petname?: string
}

/** A kind 3 follow list. */
export interface FollowList {
  readonly pubkey: string
  /** The newest kind 3 found; `undefined` when none exists. */
  readonly event: NostrEvent | undefined
  /** The `p` tags, in order, duplicates removed. */
  readonly follows: FollowEntry[]
}

/** Options of edits of the user's own replaceable lists. */
export interface EditOptions {
  /**
   * How many relays must answer before the newest copy is believed (see `Tracker.newestOwnList`).
   * @default 1
   */
  readonly minAnswers?: number
  /** Difficulty to mine. @default the client's `powDifficulty` */
  readonly pow?: number
  readonly signal?: AbortSignal
}

// ---- publishing ----------------------------------------------------------------------------------

/** When {@link Client.publish} resolves. */
export type PublishWait =
  /** Once the event is signed, written to the queue and sending has started. */
  | 'queued'
  /** Once every target has answered once (or is final). */
  | 'first-answers'
  /** Once every target is final (retries included: can take minutes). */
  | 'settled'

/** Options of {@link Client.publish}. */
export interface PublishOptions {
  /** NIP-13 difficulty to mine before signing. @default the client's `powDifficulty` */
  readonly pow?: number
  /** Called while mining (hashes so far, rate, expected time left). */
  readonly onPowProgress?: (progress: PowProgress) => void
  /** More relays to send to (reason `manual`). */
  readonly relays?: readonly string[]
  /** @default 'first-answers' */
  readonly wait?: PublishWait
  readonly signal?: AbortSignal
}

/** What {@link Client.publish} returns. */
export interface PublishResult {
  /** The signed event. */
  readonly event: NostrEvent
  /** Where it goes and why. */
  readonly plan: PublishPlan
  /** The delivery report when the call resolved. */
  readonly report: DeliveryReport
  /** The queue's handle: `report()` now, `settled` when every target is final. */
  readonly delivery: DeliveryHandle
}

// ---- private messages ----------------------------------------------------------------------------

/** Options of {@link Client.sendDm}. */
export interface SendDmOptions {
  readonly subject?: string
  /** The message this one answers. */
  readonly replyTo?: { readonly id: string; readonly relay?: string }
  readonly signal?: AbortSignal
}

/** One recipient's copy of a sent message. */
export interface DmDelivery {
  readonly recipient: string
  /** True for the user's own copy (sent to their own DM relays). */
  readonly self: boolean
  /** The recipient's kind 10050 relays the wrap went to. */
  readonly relays: readonly string[]
  readonly report: DeliveryReport
}

/** What {@link Client.sendDm} returns. */
export interface SendDmResult {
  /** The unsigned kind 14 message (its id is what replies name). */
  readonly rumor: Rumor
  readonly deliveries: readonly DmDelivery[]
}

/** A received NIP-17 message. */
export interface ReceivedDm {
  readonly id: string
  readonly sender: string
  /** The chat room: sender and every recipient, sorted. */
  readonly participants: readonly string[]
  readonly content: string
  readonly createdAt: number
  readonly subject?: string
  readonly replyTo?: string
  readonly rumor: Rumor
}

/** Options of {@link Client.dms}. */
export interface DmQueryOptions {
  /** Only messages with this person (in a one-to-one or group room). */
  readonly peer?: string
  /** Gift-wrap timestamps are randomised up to 2 days into the past, so `since` is widened by that. */
  readonly since?: number
  readonly limit?: number
  readonly signal?: AbortSignal
}

/** What {@link Client.dms} returns. */
export interface DmInbox {
  /** Oldest first, deduplicated by rumor id. */
  readonly messages: ReceivedDm[]
  /** Wraps that could not be opened or failed their checks (never thrown: anyone can send junk). */
  readonly undecryptable: number
  readonly relays: readonly RelayQueryReport[]
}

/** A NIP-04 message of an old conversation. */
export interface LegacyDm {
  readonly event: NostrEvent
  readonly sender: string
  readonly recipient: string
  readonly content: string
}

/** What {@link Client.legacyDms} returns. */
export interface LegacyConversation {
  /** Oldest first. */
  readonly messages: LegacyDm[]
  readonly undecryptable: number
  readonly relays: readonly RelayQueryReport[]
}

/** Options of {@link Client.subscribeDms}. */
export interface LiveDmOptions {
  /** Each new message, once (a listener that throws is reported to `onError`). */
  readonly onMessage: (message: ReceivedDm) => void
  readonly signal?: AbortSignal
}

// ---- search --------------------------------------------------------------------------------------

/** Options of {@link Client.search}. */
export interface SearchOptions {
  readonly kinds?: readonly number[]
  /** @default 20 */
  readonly limit?: number
  readonly signal?: AbortSignal
}

/** What {@link Client.search} returns. */
export interface SearchResult {
  readonly events: NostrEvent[]
  /** The relay whose answer `events` is. */
  readonly relay: RelayReadOutcome
  /**
   * Every relay asked, in order: the one named, or the user's search relays (kind 10007) tried
   * one after another until one answered (those without NIP-50 are skipped unasked).
   */
  readonly relays: readonly RelayReadOutcome[]
}

// ---- relay settings and alerts -------------------------------------------------------------------

/** The user's own relays, as published. */
export interface RelaySettings {
  /** Inboxes (10002 `read`). */
  readonly read: string[]
  /** Outboxes (10002 `write`). */
  readonly write: string[]
  /** DM relays (10050). */
  readonly dm: string[]
  /** Where the relay list is advertised, in batches (see `Router.ownListTargets`). */
  readonly advertiseTo: string[][]
  readonly relayList: NostrEvent | undefined
  readonly dmRelayList: NostrEvent | undefined
}

/** A change of the user's relays; lists not given are left as they are. */
export interface RelaySettingsChange {
  readonly read?: readonly string[]
  readonly write?: readonly string[]
  readonly dm?: readonly string[]
  /** More relays to advertise the lists to. */
  readonly advertiseTo?: readonly string[]
}

/** What {@link Client.setRelays} published. */
export interface RelaySettingsResult {
  readonly relayList?: PublishResult
  readonly dmRelayList?: PublishResult
}

/** Something that needs the user's attention. */
export type ClientAlert =
  | {
      /** The relay list was never published, or not re-advertised for longer than `relayListMaxAgeMs`. */
      readonly type: 'relay-list-stale'
      /** When it was last published (unix seconds), if ever. */
      readonly publishedAt?: number
    }
  | {
      /** A publish failed on some or all of its relays. */
      readonly type: 'publish-incomplete'
      readonly eventId: string
      readonly kind: number
      readonly state: DeliveryReport['state']
      /** The relays that do not hold it and will not be retried. */
      readonly failedRelays: readonly string[]
    }
  | {
      /** The follow list was changed here but no relay holds the change yet. */
      readonly type: 'follow-list-unpublished'
      readonly eventId: string
      /** When the change was made (ms). */
      readonly changedAt: number
    }

/** A live subscription to the user's NIP-17 messages; see {@link Client.subscribeDms}. */
export interface LiveDms {
  /** Resolves once the user's DM relays were asked. */
  readonly ready: Promise<void>
  /** Stops. Idempotent. */
  close(): void
}

/** A change of the user's follow list; see {@link Client.follow} and {@link Client.unfollow}. */
export interface FollowChange {
  /** People to add (kept where they are when already followed; a new relay hint or petname replaces the old). */
  readonly add?: ReadonlyArray<string | FollowEntry>
  /** People to remove. */
  readonly remove?: readonly string[]
}
