/**
 * The router: which relays to use for each thing a client does, decided from the person-relay
 * evidence, the scorer, the selector and the relay pool's health statistics.
 *
 * | question | answer |
 * |---|---|
 * | where to read some authors' posts | their outboxes, through the minimal-cover selector |
 * | where mentions of me arrive | all my inboxes (declared), nothing guessed |
 * | where replies to an event are | its author's inboxes plus the relays it was seen on |
 * | where to publish an event | all my outboxes plus the best few inboxes of each person tagged or `nostr:`-mentioned |
 * | where to send someone a private message | their kind 10050 relays only; none → `recipient-not-ready` |
 * | where to advertise my own relay list | my outboxes and inboxes, relays marked "advertise", indexers, then the relays my follows write to most, in batches |
 *
 * With the user's relay settings ({@link RouterOptions.preferences}), every answer honours them: a
 * blocked relay (rank 0 or on the kind 10006 list) is never used, `read: false` is never read from,
 * `write: false` never published to, `read: true` / `write: true` make a relay one of the user's own
 * inboxes / outboxes, `advertise` forces a relay in or out of the relay-list targets, and the rank
 * scales the evidence (`rank / 3`) wherever relays compete. `docs/relay-management.md` has the rules.
 *
 * Every answer is a pure function of what the router is given (the evidence store, the tracker's
 * lists, the pool's statistics and the clock): it opens no connection. Lists come back sorted by
 * URL (batches and targets in a documented order), so the same state gives the same answer. The
 * reasons behind each rule are in `docs/routing.md`.
 *
 * @module
 */
import type { NostrEvent } from '../crypto/event.js'
import { findNostrUris } from '../crypto/nip21.js'
import { isDemoted } from '../relay-pool/health.js'
import type { RelayPool } from '../relay-pool/pool.js'
import type { Storage } from '../storage/types.js'
import type { EvidenceStore, PersonEvidence, RelayEvidence } from './evidence.js'
import type { PublishTarget } from './publish-queue.js'
import { FOLLOW_LIST_KIND, normalizeCached, ownRelayUrls, relayHintsFromEvent } from './relay-lists.js'
import { relayHealthFactor, scoreCandidates, scoreRelays } from './scorer.js'
import type { EvidenceSource } from './scorer.js'
import { DEFAULT_RELAY_RANK, type RelayPreference, type RelayPreferences } from './relay-config.js'
import { replanAfterFailure, selectRelays } from './selector.js'
import type { Tracker } from './tracker.js'
import type { RelaySelection, ScoredRelay } from './types.js'

const HEX64 = /^[0-9a-f]{64}$/

/** Most `nostr:` mentions read from one event's content. */
const MAX_MENTIONS_SCANNED = 200

/** The parts of a relay pool the router reads (a `RelayPool` has them all). */
export type RouterPool = Pick<RelayPool, 'relayStats'> & Partial<Pick<RelayPool, 'relayLimits'>>

/** The parts of a tracker the router reads (a {@link Tracker} has them all). */
export type RouterTracker = Pick<Tracker, 'relayListOf'> & Partial<Pick<Tracker, 'indexerRelays' | 'trackedPubkeys'>>

/** Options of {@link createRouter}. */
export interface RouterOptions {
  /** Everything known about where people write and read. */
  readonly evidence: EvidenceStore
  /**
   * The tracker: the only source of kind 10050 DM relays, and of the indexers and tracked people
   * {@link Router.ownListTargets} advertises to. Without it, every DM recipient is
   * `recipient-not-ready` (`not-fetched`).
   * @default none
   */
  readonly tracker?: RouterTracker
  /**
   * Health statistics (`relayStats`) multiplied into scores; relays in their penalty box are not
   * chosen for reading; `relayLimits` keeps paid and write-restricted relays out of the broad
   * relay-list advertising set.
   * @default none (every relay counts as healthy)
   */
  readonly pool?: RouterPool
  /**
   * Where {@link Router.repliesTo} reads the relays an event was seen on.
   * @default none
   */
  readonly storage?: Pick<Storage, 'seenOn'>
  /**
   * Redundancy k for reading: how many of each author's relays to read from.
   * @default 2
   */
  readonly perAuthor?: number
  /**
   * Connection budget for reading.
   * @default 20
   */
  readonly maxRelays?: number
  /**
   * Most inboxes of one tagged person a publish goes to (best first by evidence and health).
   * NIP-65 says "all", but a person listing ten inboxes would cost ten connections per mention;
   * the best three reach them with room for one dead relay or two.
   * @default 3
   */
  readonly maxInboxesPerPerson?: number
  /**
   * Most tagged or mentioned people whose inboxes a publish goes to; the others are listed in
   * {@link PublishPlan.skipped}.
   * @default 50
   */
  readonly maxTaggedPeople?: number
  /**
   * Clock in ms (like the relay pool's).
   * @default Date.now
   */
  readonly now?: () => number
  /**
   * The user's per-relay settings (a `RelayConfig`), read at every call so a change applies to
   * the next answer: blocked relays and `read: false` are never read from, blocked and `write:
   * false` never published to, `read: true` / `write: true` relays are the user's own inboxes /
   * outboxes, `advertise` decides the relay-list targets, and the rank scales every relay's score
   * by `rank / 3`.
   * @default none (every relay usable at rank 3)
   */
  readonly preferences?: RelayPreferences
}

/** Options of {@link Router.readPlan}. */
export interface ReadPlanOptions {
  /** Relays already connected, reused when coverage is equal. */
  readonly connected?: Iterable<string>
  /** Relays not to read from (besides those in the pool's penalty box). */
  readonly unhealthy?: Iterable<string>
  /**
   * Prefer `connected` relays among equally good choices.
   * @default true when `connected` is given
   */
  readonly preferConnected?: boolean
}

/** Where to read some authors' posts. */
export interface ReadPlan {
  /** The selector's answer: relays chosen, relays per author, authors left short and why. */
  readonly selection: RelaySelection
  /** The scored outboxes the selection was made from (for `replanAfterFailure`/`updateSelection`). */
  readonly candidates: ReadonlyMap<string, readonly ScoredRelay[]>
  /** The relays left out as unhealthy (given, or in the pool's penalty box), sorted. */
  readonly unhealthy: readonly string[]
  /** Authors about whom nothing at all is known (fetch their relay lists first), sorted. */
  readonly noEvidence: readonly string[]
  /**
   * Candidate relays the user's settings rule out for reading (blocked, rank 0, `read: false`),
   * sorted. Authors left short only because of them are reported `blocked` by the selection.
   */
  readonly blocked: readonly string[]
}

/** Where a declared list came from. */
export type DeclaredSource = 'nip65' | 'kind3' | 'manual' | 'none'

/** A person's inboxes, as {@link Router.mentionsOf} returns them. */
export interface InboxRelays {
  /** The inboxes, sorted. Empty when none is declared. */
  readonly relays: string[]
  /** Whether any inbox is declared; when `false` the caller decides what to do (nothing is guessed). */
  readonly declared: boolean
  /** The list the inboxes come from (manual choices always count). */
  readonly source: DeclaredSource
}

/** Where replies to an event are, as {@link Router.repliesTo} returns them. */
export interface ReplyRelays {
  /** `inboxes` and `seenOn` together, deduplicated, sorted. */
  readonly relays: string[]
  /** The author's inboxes (declared, else the best few the evidence suggests), sorted. */
  readonly inboxes: string[]
  /** The relays the event was seen on, sorted. */
  readonly seenOn: string[]
}

/** Options of {@link Router.repliesTo}. */
export interface RepliesToOptions {
  /** Relays the event is known to be on, besides those in storage. */
  readonly seenOn?: readonly string[]
}

/** Options of {@link Router.publishTargets} and {@link Router.publishPlan}. */
export interface PublishTargetsOptions {
  /**
   * Whose outboxes to publish to.
   * @default event.pubkey
   */
  readonly me?: string
}

/** Where an event goes, with the reasoning behind it. */
export interface PublishPlan {
  /** My outboxes (`my-outbox`) first, then the tagged people's inboxes (`tagged-inbox`), each sorted by URL. */
  readonly targets: PublishTarget[]
  /** My outboxes, sorted. */
  readonly outboxes: string[]
  /** Each tagged or mentioned person (in tag order, then mention order) → the inboxes chosen. */
  readonly inboxes: ReadonlyMap<string, readonly string[]>
  /** Tagged or mentioned people with no known inbox, in order. */
  readonly unreachable: string[]
  /** People past `maxTaggedPeople`, in order. */
  readonly skipped: string[]
  /** True when I have no declared outbox: the event would reach only the tagged people's inboxes. */
  readonly noOutboxes: boolean
  /**
   * Relays the routing would have used (my outboxes, tagged people's inboxes) that the user's
   * settings rule out for publishing (blocked, rank 0, `write: false`), sorted.
   */
  readonly excluded: string[]
}

/** Why a recipient cannot get a NIP-17 message. */
export type NotReadyReason =
  /** The tracker never fetched their lists (or there is no tracker): call `ensureRelayLists` first. */
  | 'not-fetched'
  /** Their lists were fetched and no kind 10050 was found. */
  | 'no-dm-relay-list'
  /** Their kind 10050 names no usable relay. */
  | 'empty-dm-relay-list'
  /** Every relay of their kind 10050 is ruled out by the user's relay settings (blocked, or `write: false` when sending). */
  | 'dm-relays-blocked'

/** The relays to send a private message to, or why there are none. */
export type DmRelays =
  | { readonly status: 'ready'; readonly relays: string[] }
  | { readonly status: 'recipient-not-ready'; readonly reason: NotReadyReason }

/** Options of {@link Router.dmRelays}. */
export interface DmRelaysOptions {
  /**
   * What the relays are for, which decides which of the user's flags apply besides "blocked":
   * `send` leaves out `write: false` relays, `read` leaves out `read: false` ones; `any` only
   * blocked ones.
   * @default 'any'
   */
  readonly purpose?: 'send' | 'read' | 'any'
}

/**
 * Why a relay is a relay-list target:
 * - `always`: the user marked it `advertise: true`;
 * - `my-outbox` / `my-inbox`: the user writes / reads there (their relay list, or `write: true` /
 *   `read: true` in their settings): people who already know the user look there first;
 * - `extra`: the application named it;
 * - `indexer`: an indexer relay, where clients that know nothing about the user look;
 * - `follows-outbox`: many of the people the user follows write there, so the clients of the user's
 *   own followers (who mostly follow the same people) are connected to it already;
 * - `widely-used`: many of the people the client knows write there (when no follows are given).
 */
export type AdvertiseReason = 'always' | 'my-outbox' | 'my-inbox' | 'extra' | 'indexer' | 'follows-outbox' | 'widely-used'

/** One relay the relay list goes to, and why. */
export interface AdvertiseTarget {
  readonly url: string
  /** Every reason that applies, in the order of {@link AdvertiseReason}. */
  readonly reasons: readonly AdvertiseReason[]
  /** For `follows-outbox` / `widely-used`: how many of the people counted write there. */
  readonly usedBy?: number
}

/** Why a relay that would have been a relay-list target was left out. */
export type AdvertiseExclusion = 'blocked' | 'advertise-false' | 'write-false'

/** Where the relay list goes, with the reasoning. */
export interface AdvertisePlan {
  /** The targets, in the order they are sent (see {@link Router.advertisePlan}). */
  readonly targets: readonly AdvertiseTarget[]
  /** {@link AdvertisePlan.targets} cut into batches. */
  readonly batches: string[][]
  /** Relays left out by the user's settings, with why, sorted by URL. */
  readonly excluded: ReadonlyArray<{ readonly url: string; readonly why: AdvertiseExclusion }>
}

/** Options of {@link Router.ownListTargets}. */
export interface OwnListTargetsOptions {
  /** Relays to include right after my own (the application's choice). */
  readonly extraRelays?: readonly string[]
  /**
   * Relays per batch.
   * @default 10
   */
  readonly batchSize?: number
  /**
   * Size of the whole set: my own, the extra and indexer relays always count; widely used relays
   * fill up to this.
   * @default 40
   */
  readonly maxRelays?: number
  /**
   * More people whose outboxes count towards "widely used" (the tracker's people always count).
   * Ignored when `follows` is given.
   */
  readonly people?: readonly string[]
  /**
   * The people the user follows. When given (and not empty), the broad relays are the ones most of
   * them write to (reason `follows-outbox`) instead of the ones most known people write to.
   * @default none
   */
  readonly follows?: readonly string[]
  /**
   * Lowest health (see `relayHealthFactor`) of a widely used relay to be included.
   * @default 0.5
   */
  readonly minHealth?: number
}

/** The router. Created by {@link createRouter}. */
export interface Router {
  /**
   * Where to read `authors`' posts: their outboxes, scored and covered by the selector.
   *
   * @param authors - pubkeys (hex).
   * @param options - connected and unhealthy relays.
   * @returns the selection, its candidates, the unhealthy relays, the authors with no evidence.
   * @throws TypeError for a malformed pubkey or option.
   */
  readPlan(authors: readonly string[], options?: ReadPlanOptions): ReadPlan
  /**
   * Re-plans a read after relays failed: their authors move to their next-best relays.
   *
   * @param plan - the plan in use.
   * @param failed - the relays that failed.
   * @returns the new plan (same candidates, `failed` added to `unhealthy`).
   * @throws TypeError for a malformed argument.
   */
  replanRead(plan: ReadPlan, failed: Iterable<string>): ReadPlan
  /**
   * Where mentions of `me` arrive: every declared inbox (NIP-65 read relays, else the kind 3 relay
   * map's, plus manual "always"; minus manual "never").
   *
   * @param me - the user (hex).
   * @returns the inboxes, and whether any is declared.
   * @throws TypeError for a malformed pubkey.
   */
  mentionsOf(me: string): InboxRelays
  /**
   * Where replies to `event` are: its author's inboxes plus the relays it was seen on.
   *
   * @param event - the event replied to.
   * @param options - relays it is known to be on.
   * @returns the relays, and each part.
   * @throws TypeError for a malformed event; the storage's errors.
   */
  repliesTo(event: NostrEvent, options?: RepliesToOptions): Promise<ReplyRelays>
  /**
   * Where to publish `event`: all my outboxes plus the best inboxes of each tagged or mentioned
   * person.
   *
   * @param event - the event (signed or not; only `pubkey`, `kind`, `tags`, `content` are read).
   * @param options - `me`.
   * @returns the targets, my outboxes first.
   * @throws TypeError for a malformed event or pubkey.
   */
  publishTargets(event: NostrEvent, options?: PublishTargetsOptions): PublishTarget[]
  /**
   * {@link Router.publishTargets} with the reasoning: inboxes per person, who is unreachable or
   * skipped, whether I have outboxes at all.
   *
   * @param event - the event.
   * @param options - `me`.
   * @returns the plan.
   * @throws TypeError for a malformed event or pubkey.
   */
  publishPlan(event: NostrEvent, options?: PublishTargetsOptions): PublishPlan
  /**
   * Where to send `recipient` a NIP-17 message: their kind 10050 relays, and nothing else.
   *
   * Relays the user's settings rule out are left out (see {@link DmRelaysOptions.purpose}); when
   * that leaves none, the answer is `recipient-not-ready` with `dm-relays-blocked`.
   *
   * @param recipient - the recipient (hex).
   * @param options - what the relays are for.
   * @returns `ready` with the relays (sorted), or `recipient-not-ready` with the reason.
   * @throws TypeError for a malformed pubkey or option.
   */
  dmRelays(recipient: string, options?: DmRelaysOptions): DmRelays
  /**
   * Where to advertise my own relay list, in batches to send one after another: my outboxes and
   * inboxes first, then the extra relays, the indexers, and widely used healthy relays.
   *
   * @param me - the user (hex).
   * @param options - extra relays, batch size, set size, people to count.
   * @returns batches of relay URLs; none is empty.
   * @throws TypeError/RangeError for a malformed option; OutboxError `OUTBOX_RELAY_URL_INVALID`
   * for an invalid extra relay.
   */
  ownListTargets(me: string, options?: OwnListTargetsOptions): string[][]
  /**
   * {@link Router.ownListTargets} with the reasoning: each target with why it was chosen, and the
   * relays the user's settings left out. Order: my outboxes and inboxes, the relays marked
   * `advertise: true`, the extra relays, the indexers (each group by URL), then the relays the
   * follows (or the known people) write to, most used first (scaled by rank), healthy and open to
   * writes, up to `maxRelays` in all. Blocked and `advertise: false` relays never appear, nor
   * `write: false` ones unless marked `advertise: true`.
   *
   * @param me - the user (hex).
   * @param options - as {@link Router.ownListTargets}.
   * @returns the plan.
   * @throws as {@link Router.ownListTargets}.
   */
  advertisePlan(me: string, options?: OwnListTargetsOptions): AdvertisePlan
}

// ---- helpers -------------------------------------------------------------------------------------

function checkPubkey(pubkey: unknown, field: string): asserts pubkey is string {
  if (typeof pubkey !== 'string' || !HEX64.test(pubkey)) throw new TypeError(`${field} must be 64 lower-case hex characters`)
}

function checkEvent(event: unknown): asserts event is NostrEvent {
  if (typeof event !== 'object' || event === null) throw new TypeError('event must be an object')
  const e = event as Partial<NostrEvent>
  checkPubkey(e.pubkey, 'event.pubkey')
  if (!Array.isArray(e.tags)) throw new TypeError('event.tags must be an array')
  if (typeof e.content !== 'string') throw new TypeError('event.content must be a string')
  if (!Number.isSafeInteger(e.kind)) throw new TypeError('event.kind must be an integer')
}

function positiveInt(value: unknown, field: string, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number') throw new TypeError(`${field} must be a number, got ${typeof value}`)
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${field} must be a positive integer, got ${value}`)
  return value
}

function byString(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function sortedUnique(urls: Iterable<string>): string[] {
  return [...new Set(urls)].sort(byString)
}

function urlSet(urls: Iterable<string> | undefined, field: string): Set<string> {
  const out = new Set<string>()
  if (urls === undefined) return out
  if (typeof (urls as Iterable<string>)[Symbol.iterator] !== 'function') throw new TypeError(`${field} must be an iterable of relay URLs`)
  for (const raw of urls) {
    if (typeof raw !== 'string') throw new TypeError(`${field} must hold strings`)
    out.add(normalizeCached(raw) ?? raw)
  }
  return out
}

/** Relay lists of follow lists and NIP-51 lists name members, not people being addressed. */
function addressesTaggedPeople(kind: number): boolean {
  return kind !== FOLLOW_LIST_KIND && !(kind >= 10000 && kind < 20000) && !PEOPLE_SET_KINDS.has(kind)
}

/**
 * NIP-51 sets whose `p` tags list people rather than address them (follow sets, kind-mute sets,
 * and sets that may hold people): publishing one must not notify everyone in it. Other addressable
 * kinds (articles, 30023) do mention the people they tag.
 *
 * @internal
 */
export const PEOPLE_SET_KINDS: ReadonlySet<number> = new Set([30000, 30002, 30003, 30004, 30005, 30007, 30015, 30030, 30063])

/** The user's relay settings as one call reads them (see `#settingsLookup`). */
interface Settings {
  /** The relay's settings and whether it is blocked (rank 0 or on the blocked list). */
  of(url: string): RelayPreference & { readonly blocked: boolean }
  /** Not blocked and not `read: false`. */
  canRead(url: string): boolean
  /** Not blocked and not `write: false`. */
  canWrite(url: string): boolean
  /** The rank, 0 when blocked. */
  rank(url: string): number
  /** The factor the rank puts on scores: rank / 3. */
  factor(url: string): number
  /** The relays with the flag set to `true`, not blocked. */
  marked(flag: 'read' | 'write' | 'advertise'): string[]
}

const ADVERTISE_REASONS: readonly AdvertiseReason[] = ['always', 'my-outbox', 'my-inbox', 'extra', 'indexer', 'follows-outbox', 'widely-used']

const DECLARED_FOR: Readonly<Record<'read' | 'write', { nip65: EvidenceSource; kind3: EvidenceSource }>> = {
  read: { nip65: 'nip65-read', kind3: 'kind3-read' },
  write: { nip65: 'nip65-write', kind3: 'kind3-write' },
}

// ---- the router ----------------------------------------------------------------------------------

class OutboxRouter implements Router {
  readonly #evidence: EvidenceStore
  readonly #tracker: RouterTracker | undefined
  readonly #pool: RouterPool | undefined
  readonly #storage: Pick<Storage, 'seenOn'> | undefined
  readonly #perAuthor: number
  readonly #maxRelays: number
  readonly #maxInboxes: number
  readonly #maxTagged: number
  readonly #clock: () => number
  readonly #preferences: RelayPreferences | undefined

  constructor(options: RouterOptions) {
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object')
    const { evidence, tracker, pool, storage, now = Date.now } = options
    if (typeof evidence !== 'object' || evidence === null || typeof evidence.evidenceFor !== 'function') {
      throw new TypeError('evidence must be an EvidenceStore')
    }
    if (tracker !== undefined && (typeof tracker !== 'object' || tracker === null || typeof tracker.relayListOf !== 'function')) {
      throw new TypeError('tracker must be a Tracker')
    }
    if (pool !== undefined && (typeof pool !== 'object' || pool === null || typeof pool.relayStats !== 'function')) {
      throw new TypeError('pool must be a RelayPool')
    }
    if (storage !== undefined && (typeof storage !== 'object' || storage === null || typeof storage.seenOn !== 'function')) {
      throw new TypeError('storage must be a Storage')
    }
    if (typeof now !== 'function') throw new TypeError('now must be a function')
    const { preferences } = options
    if (
      preferences !== undefined &&
      (typeof preferences !== 'object' || preferences === null || typeof preferences.get !== 'function' || typeof preferences.isBlocked !== 'function' || typeof preferences.all !== 'function')
    ) {
      throw new TypeError('preferences must be a RelayConfig (get, isBlocked, all)')
    }
    this.#preferences = preferences
    this.#evidence = evidence
    this.#tracker = tracker
    this.#pool = pool
    this.#storage = storage
    this.#perAuthor = positiveInt(options.perAuthor, 'perAuthor', 2)
    this.#maxRelays = positiveInt(options.maxRelays, 'maxRelays', 20)
    this.#maxInboxes = positiveInt(options.maxInboxesPerPerson, 'maxInboxesPerPerson', 3)
    this.#maxTagged = positiveInt(options.maxTaggedPeople, 'maxTaggedPeople', 50)
    this.#clock = now
  }

  #nowMs(): number {
    const t = this.#clock()
    return Number.isFinite(t) ? t : Date.now()
  }

  /** Health of each relay for one call, asked of the pool once per URL. */
  #healthLookup(nowMs: number): ((url: string) => number) | undefined {
    const pool = this.#pool
    if (pool === undefined) return undefined
    const nowSec = Math.floor(nowMs / 1000)
    return (url) => relayHealthFactor(pool.relayStats(url), nowSec)
  }

  #isBoxed(url: string, nowMs: number): boolean {
    const until = this.#pool?.relayStats(url)?.penaltyUntil
    return until !== undefined && until > nowMs
  }

  // ---- the user's relay settings -------------------------------------------------------------------

  /**
   * The user's settings of the relays one call looks at: asked once per URL (many people share a
   * few big relays). A URL the settings cannot read counts as unconfigured.
   */
  #settingsLookup(): Settings {
    const preferences = this.#preferences
    const memo = new Map<string, RelayPreference & { blocked: boolean }>()
    const of = (url: string): RelayPreference & { blocked: boolean } => {
      let pref = memo.get(url)
      if (pref === undefined) {
        try {
          pref = preferences === undefined ? { url, rank: DEFAULT_RELAY_RANK, blocked: false } : { ...preferences.get(url), blocked: preferences.isBlocked(url) }
        } catch {
          pref = { url, rank: DEFAULT_RELAY_RANK, blocked: false }
        }
        memo.set(url, pref)
      }
      return pref
    }
    return {
      of,
      canRead: (url) => {
        const pref = of(url)
        return !pref.blocked && pref.read !== false
      },
      canWrite: (url) => {
        const pref = of(url)
        return !pref.blocked && pref.write !== false
      },
      rank: (url) => (of(url).blocked ? 0 : of(url).rank),
      factor: (url) => {
        const rank = of(url).rank
        return rank === DEFAULT_RELAY_RANK ? 1 : rank / DEFAULT_RELAY_RANK
      },
      marked: (flag) => {
        if (preferences === undefined) return []
        return preferences
          .all()
          .filter((pref) => pref[flag] === true && !of(pref.url).blocked)
          .map((pref) => pref.url)
      },
    }
  }

  // ---- reading -----------------------------------------------------------------------------------

  readPlan(authors: readonly string[], options: ReadPlanOptions = {}): ReadPlan {
    if (!Array.isArray(authors)) throw new TypeError('authors must be an array')
    authors.forEach((p, i) => checkPubkey(p, `authors[${i}]`))
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object')
    const unique = [...new Set(authors)].sort(byString)
    const nowMs = this.#nowMs()
    const people = unique.map((pubkey) => this.#evidence.evidenceFor(pubkey))
    const health = this.#healthLookup(nowMs)
    const candidates = scoreCandidates(people, { purpose: 'outbox', now: Math.floor(nowMs / 1000), ...(health && { health }) })
    const unhealthy = urlSet(options.unhealthy, 'options.unhealthy')
    if (this.#pool !== undefined) {
      const seen = new Set<string>()
      for (const relays of candidates.values()) {
        for (const { url } of relays) {
          if (seen.has(url)) continue
          seen.add(url)
          if (this.#isBoxed(url, nowMs)) unhealthy.add(url)
        }
      }
    }
    const connected = options.connected === undefined ? undefined : urlSet(options.connected, 'options.connected')
    const { blocked, rank } = this.#readExclusions(candidates)
    const selection = selectRelays({
      candidates,
      perAuthor: this.#perAuthor,
      maxRelays: this.#maxRelays,
      unhealthy,
      blocked,
      rank,
      ...(connected && { connected, preferConnected: options.preferConnected ?? true }),
    })
    const noEvidence = people.filter((p) => p.relays.length === 0).map((p) => p.pubkey)
    return { selection, candidates, unhealthy: sortedUnique(unhealthy), noEvidence, blocked: sortedUnique(blocked) }
  }

  /**
   * The candidates the user's settings rule out for reading, and the rank of each, as of now: a
   * plan's candidates are the raw scores, so a re-plan applies the settings of its own time.
   */
  #readExclusions(candidates: ReadonlyMap<string, readonly ScoredRelay[]>): { blocked: Set<string>; rank: (url: string) => number } {
    const settings = this.#settingsLookup()
    const blocked = new Set<string>()
    if (this.#preferences !== undefined) {
      for (const relays of candidates.values()) for (const { url } of relays) if (!settings.canRead(url)) blocked.add(url)
    }
    return { blocked, rank: settings.rank }
  }

  replanRead(plan: ReadPlan, failed: Iterable<string>): ReadPlan {
    if (typeof plan !== 'object' || plan === null || !(plan.candidates instanceof Map)) throw new TypeError('plan must be a ReadPlan')
    const failedSet = urlSet(failed, 'failed')
    const unhealthy = new Set([...plan.unhealthy, ...failedSet])
    // The settings may have changed since the plan was made: a relay blocked meanwhile is not kept
    // (the selector keeps only usable relays of the previous selection) and its authors move; the
    // ranks of now decide the replacements.
    const { blocked, rank } = this.#readExclusions(plan.candidates)
    const selection = replanAfterFailure(plan.selection, failedSet, {
      candidates: plan.candidates,
      perAuthor: plan.selection.perAuthor,
      maxRelays: plan.selection.maxRelays,
      unhealthy,
      blocked,
      rank,
    })
    return { selection, candidates: plan.candidates, unhealthy: sortedUnique(unhealthy), noEvidence: plan.noEvidence, blocked: sortedUnique(blocked) }
  }

  // ---- declared lists ----------------------------------------------------------------------------

  /**
   * A person's declared relays of one marker: NIP-65 when a NIP-65 list is known (from the
   * evidence, else the tracker), else the kind 3 relay map; manual "always" added, "never" removed.
   */
  #declared(pubkey: string, marker: 'read' | 'write'): { relays: string[]; source: DeclaredSource } {
    const person = this.#evidence.evidenceFor(pubkey)
    const sources = DECLARED_FOR[marker]
    const out = new Set<string>()
    const never = new Set<string>()
    let manual = false
    let source: DeclaredSource = 'none'
    const tracked = this.#tracker?.relayListOf(pubkey)
    const useNip65 = person.lists.nip65 !== undefined
    const useTracked = !useNip65 && tracked !== undefined && tracked.source === 'nip65'
    const useKind3 = !useNip65 && !useTracked && person.lists.kind3 !== undefined
    if (useNip65) source = 'nip65'
    else if (useTracked) source = 'nip65'
    else if (useKind3) source = 'kind3'
    for (const relay of person.relays) {
      const choice = relay.manual?.[marker]
      if (choice === false) {
        never.add(relay.url)
        continue
      }
      if (choice === true) {
        manual = true
        out.add(relay.url)
      } else if (useNip65 ? relay.sources[sources.nip65] : useKind3 && relay.sources[sources.kind3]) out.add(relay.url)
    }
    if (useTracked) for (const url of tracked[marker]) if (!never.has(url)) out.add(url)
    if (source === 'none' && manual) source = 'manual'
    return { relays: sortedUnique(out), source }
  }

  mentionsOf(me: string): InboxRelays {
    checkPubkey(me, 'me')
    const settings = this.#settingsLookup()
    const { relays: declared, source } = this.#declared(me, 'read')
    // `read: true` relays are the user's own inboxes too, whatever the published list says.
    const relays = sortedUnique([...declared, ...settings.marked('read')]).filter(settings.canRead)
    return { relays, declared: relays.length > 0, source: source === 'none' && relays.length > 0 ? 'manual' : source }
  }

  /**
   * Up to `cap` inboxes of a person that `usable` allows: the declared ones ranked by score (health
   * and the user's rank included), or, when none is declared, the best the other evidence suggests
   * (NIP-05, hints, `extra`). `excluded`: the relays that would have been chosen but `usable` refused.
   */
  #inboxesOf(
    pubkey: string,
    extra: readonly RelayEvidence[],
    nowMs: number,
    cap: number,
    settings: Settings,
    usable: (url: string) => boolean,
  ): { chosen: string[]; excluded: string[] } {
    const declared = this.#declared(pubkey, 'read').relays
    const health = this.#healthLookup(nowMs)
    const scored = scoreRelays(mergeEvidence(this.#evidence.evidenceFor(pubkey), extra), {
      purpose: 'inbox',
      now: Math.floor(nowMs / 1000),
      ...(health && { health }),
    })
    const weight = new Map(scored.map((r) => [r.url, r.weight * settings.factor(r.url)]))
    // Declared inboxes the evidence lacks (a list only the tracker holds) go last, by URL.
    const order = (url: string): number => weight.get(url) ?? -1
    const ranked = (declared.length > 0 ? [...declared] : scored.filter((r) => r.weight > 0).map((r) => r.url)).sort(
      (a, b) => order(b) - order(a) || byString(a, b),
    )
    const chosen: string[] = []
    const excluded: string[] = []
    for (const url of ranked) {
      if (chosen.length >= cap) break
      if (usable(url)) chosen.push(url)
      else excluded.push(url)
    }
    return { chosen, excluded }
  }

  async repliesTo(event: NostrEvent, options: RepliesToOptions = {}): Promise<ReplyRelays> {
    checkEvent(event)
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object')
    const given = options.seenOn ?? []
    if (!Array.isArray(given)) throw new TypeError('options.seenOn must be an array')
    const settings = this.#settingsLookup()
    const seen = new Set<string>()
    for (const raw of given) {
      const url = normalizeCached(raw)
      if (url !== undefined) seen.add(url)
    }
    if (this.#storage !== undefined && typeof event.id === 'string') {
      const stored = await this.#storage.seenOn([event.id])
      for (const raw of stored.get(event.id) ?? []) {
        const url = normalizeCached(raw)
        if (url !== undefined) seen.add(url)
      }
    }
    const declared = this.#declared(event.pubkey, 'read').relays
    const inboxes =
      declared.length > 0
        ? declared.filter(settings.canRead)
        : sortedUnique(this.#inboxesOf(event.pubkey, [], this.#nowMs(), this.#maxInboxes, settings, settings.canRead).chosen)
    const seenOn = sortedUnique([...seen].filter(settings.canRead))
    return { relays: sortedUnique([...inboxes, ...seenOn]), inboxes, seenOn }
  }

  // ---- publishing --------------------------------------------------------------------------------

  publishTargets(event: NostrEvent, options: PublishTargetsOptions = {}): PublishTarget[] {
    return this.publishPlan(event, options).targets
  }

  publishPlan(event: NostrEvent, options: PublishTargetsOptions = {}): PublishPlan {
    checkEvent(event)
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object')
    const me = options.me ?? event.pubkey
    checkPubkey(me, 'options.me')
    const nowMs = this.#nowMs()
    const settings = this.#settingsLookup()
    // `write: true` relays are the user's own outboxes too; blocked and `write: false` are never targets.
    const wanted = sortedUnique([...this.#declared(me, 'write').relays, ...settings.marked('write')])
    const outboxes = wanted.filter(settings.canWrite)
    const excluded = new Set(wanted.filter((url) => !settings.canWrite(url)))
    const people = addressesTaggedPeople(event.kind) ? taggedPeople(event).filter((p) => p !== me) : []
    const addressed = people.slice(0, this.#maxTagged)
    const skipped = people.slice(this.#maxTagged)
    // Hints in this very event (p-tag relay fields, nprofile relays) count as evidence for it.
    const hints = new Map<string, RelayEvidence[]>()
    const at = Math.min(Number.isSafeInteger(event.created_at) ? event.created_at : 0, Math.floor(nowMs / 1000))
    for (const hint of relayHintsFromEvent(event)) {
      if (hint.pubkey === undefined || hint.eventId !== undefined || hint.address !== undefined) continue
      let list = hints.get(hint.pubkey)
      if (list === undefined) hints.set(hint.pubkey, (list = []))
      list.push({ url: hint.url, sources: { [hint.source]: { lastAt: at, count: 1 } } })
    }
    const inboxes = new Map<string, string[]>()
    const unreachable: string[] = []
    for (const pubkey of addressed) {
      const { chosen, excluded: left } = this.#inboxesOf(pubkey, hints.get(pubkey) ?? [], nowMs, this.#maxInboxes, settings, settings.canWrite)
      for (const url of left) excluded.add(url)
      inboxes.set(pubkey, chosen)
      if (chosen.length === 0) unreachable.push(pubkey)
    }
    const targets: PublishTarget[] = outboxes.map((url) => ({ url, reason: 'my-outbox' }))
    const mine = new Set(outboxes)
    const tagged = sortedUnique([...inboxes.values()].flat()).filter((url) => !mine.has(url))
    for (const url of tagged) targets.push({ url, reason: 'tagged-inbox' })
    return { targets, outboxes, inboxes, unreachable, skipped, noOutboxes: outboxes.length === 0, excluded: sortedUnique(excluded) }
  }

  // ---- private messages --------------------------------------------------------------------------

  dmRelays(recipient: string, options: DmRelaysOptions = {}): DmRelays {
    checkPubkey(recipient, 'recipient')
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object')
    const purpose = options.purpose ?? 'any'
    if (purpose !== 'send' && purpose !== 'read' && purpose !== 'any') throw new TypeError("options.purpose must be 'send', 'read' or 'any'")
    const list = this.#tracker?.relayListOf(recipient)
    // Strict by NIP-17: only the recipient's kind 10050 says where they take private messages.
    if (list === undefined || (list.dm === undefined && list.fetchedAt === undefined)) return { status: 'recipient-not-ready', reason: 'not-fetched' }
    if (list.dm === undefined) return { status: 'recipient-not-ready', reason: 'no-dm-relay-list' }
    if (list.dm.length === 0) return { status: 'recipient-not-ready', reason: 'empty-dm-relay-list' }
    const settings = this.#settingsLookup()
    const usable = purpose === 'send' ? settings.canWrite : purpose === 'read' ? settings.canRead : (url: string) => !settings.of(url).blocked
    // Never a fallback either when the user ruled their relays out: the message would sit where the
    // recipient did not choose.
    const relays = sortedUnique(list.dm).filter(usable)
    if (relays.length === 0) return { status: 'recipient-not-ready', reason: 'dm-relays-blocked' }
    return { status: 'ready', relays }
  }

  // ---- my own relay list -------------------------------------------------------------------------

  ownListTargets(me: string, options: OwnListTargetsOptions = {}): string[][] {
    return this.advertisePlan(me, options).batches
  }

  advertisePlan(me: string, options: OwnListTargetsOptions = {}): AdvertisePlan {
    checkPubkey(me, 'me')
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object')
    const batchSize = positiveInt(options.batchSize, 'options.batchSize', 10)
    const maxRelays = positiveInt(options.maxRelays, 'options.maxRelays', 40)
    const minHealth = options.minHealth ?? 0.5
    if (typeof minHealth !== 'number' || !(minHealth >= 0 && minHealth <= 1)) throw new RangeError(`options.minHealth must be in [0, 1], got ${String(minHealth)}`)
    const extra = ownRelayUrls(options.extraRelays ?? [], 'options.extraRelays')
    const people = options.people ?? []
    if (!Array.isArray(people)) throw new TypeError('options.people must be an array')
    people.forEach((p, i) => checkPubkey(p, `options.people[${i}]`))
    const follows = options.follows ?? []
    if (!Array.isArray(follows)) throw new TypeError('options.follows must be an array')
    follows.forEach((p, i) => checkPubkey(p, `options.follows[${i}]`))

    const settings = this.#settingsLookup()
    const why = (url: string): AdvertiseExclusion | undefined => {
      const pref = settings.of(url)
      if (pref.blocked) return 'blocked'
      if (pref.advertise === false) return 'advertise-false'
      // "Never publish there" holds for the relay list too, unless the user marked it to advertise.
      if (pref.write === false && pref.advertise !== true) return 'write-false'
      return undefined
    }
    const reasons = new Map<string, Set<AdvertiseReason>>()
    const usedBy = new Map<string, number>()
    const excluded = new Map<string, AdvertiseExclusion>()
    const add = (url: string, reason: AdvertiseReason): void => {
      const exclusion = why(url)
      if (exclusion !== undefined) {
        excluded.set(url, exclusion)
        return
      }
      let set = reasons.get(url)
      if (set === undefined) reasons.set(url, (set = new Set()))
      set.add(reason)
    }
    const outboxes = new Set([...this.#declared(me, 'write').relays, ...settings.marked('write')])
    const inboxes = new Set([...this.#declared(me, 'read').relays, ...settings.marked('read')])
    for (const url of sortedUnique([...outboxes, ...inboxes])) {
      if (outboxes.has(url)) add(url, 'my-outbox')
      if (inboxes.has(url)) add(url, 'my-inbox')
    }
    for (const url of sortedUnique(settings.marked('advertise'))) add(url, 'always')
    for (const url of sortedUnique(extra)) add(url, 'extra')
    for (const url of sortedUnique(this.#tracker?.indexerRelays ?? [])) add(url, 'indexer')
    // The broad part: cut at `maxRelays` in all; the parts above are never cut.
    const byFollows = follows.length > 0
    const counted = byFollows ? follows : [...(this.#tracker?.trackedPubkeys?.() ?? []), ...people]
    for (const [url, count] of this.#mostUsed(me, counted, minHealth, settings)) {
      if (!reasons.has(url) && reasons.size >= maxRelays) continue
      const before = excluded.size
      add(url, byFollows ? 'follows-outbox' : 'widely-used')
      if (excluded.size === before) usedBy.set(url, count)
    }
    const targets: AdvertiseTarget[] = [...reasons].map(([url, set]) => {
      const list = ADVERTISE_REASONS.filter((reason) => set.has(reason))
      const count = usedBy.get(url)
      return count === undefined ? { url, reasons: list } : { url, reasons: list, usedBy: count }
    })
    const batches: string[][] = []
    for (let i = 0; i < targets.length; i += batchSize) batches.push(targets.slice(i, i + batchSize).map((t) => t.url))
    return {
      targets,
      batches,
      excluded: [...excluded].sort(([a], [b]) => byString(a, b)).map(([url, exclusion]) => ({ url, why: exclusion })),
    }
  }

  /**
   * Relays by how many of `people` write there, most first (scaled by the user's rank, then by
   * count, then URL), healthy and open to writes.
   */
  #mostUsed(me: string, people: readonly string[], minHealth: number, settings: Settings): Array<[string, number]> {
    const unique = new Set(people)
    unique.delete(me)
    const counts = new Map<string, number>()
    for (const pubkey of unique) {
      for (const url of this.#declared(pubkey, 'write').relays) counts.set(url, (counts.get(url) ?? 0) + 1)
    }
    const nowMs = this.#nowMs()
    const nowSec = Math.floor(nowMs / 1000)
    const pool = this.#pool
    const usable = [...counts.keys()].filter((url) => {
      if (pool === undefined) return true
      const stats = pool.relayStats(url)
      if (stats !== undefined && isDemoted(stats)) return false
      if (relayHealthFactor(stats, nowSec) < minHealth) return false
      const limits = pool.relayLimits?.(url)
      // A relay that takes only its members' or paying users' events would refuse the list.
      return !(limits && (limits.paymentRequired || limits.restrictedWrites))
    })
    const score = (url: string): number => counts.get(url)! * settings.factor(url)
    return usable.sort((a, b) => score(b) - score(a) || counts.get(b)! - counts.get(a)! || byString(a, b)).map((url) => [url, counts.get(url)!])
  }
}

/** The person's relays plus `extra` evidence, merged per URL (extra sources added, counts summed). */
function mergeEvidence(person: PersonEvidence, extra: readonly RelayEvidence[]): RelayEvidence[] {
  if (extra.length === 0) return [...person.relays]
  const byUrl = new Map<string, RelayEvidence>()
  for (const relay of person.relays) byUrl.set(relay.url, relay)
  for (const add of extra) {
    const known = byUrl.get(add.url)
    if (known === undefined) {
      byUrl.set(add.url, add)
      continue
    }
    const sources = { ...known.sources }
    for (const [source, e] of Object.entries(add.sources) as [EvidenceSource, { lastAt: number; count: number }][]) {
      const mine = sources[source]
      sources[source] = mine ? { lastAt: Math.max(mine.lastAt, e.lastAt), count: mine.count + e.count } : e
    }
    byUrl.set(add.url, known.manual === undefined ? { url: add.url, sources } : { url: add.url, sources, manual: known.manual })
  }
  return [...byUrl.values()]
}

/** People an event addresses: `p` tags in order, then `nostr:npub`/`nprofile` mentions, each once. */
function taggedPeople(event: NostrEvent): string[] {
  const out = new Set<string>()
  for (const tag of event.tags) {
    if (Array.isArray(tag) && tag[0] === 'p' && typeof tag[1] === 'string' && HEX64.test(tag[1])) out.add(tag[1])
  }
  if (/nostr:n(?:pub|profile)1/i.test(event.content)) {
    for (const { decoded } of findNostrUris(event.content, { limit: MAX_MENTIONS_SCANNED })) {
      if (decoded.type === 'npub') out.add(decoded.data)
      else if (decoded.type === 'nprofile') out.add(decoded.data.pubkey)
    }
  }
  return [...out]
}

/**
 * Creates a router: the outbox model's answer to "which relays?" for reading, mentions, replies,
 * publishing, private messages and advertising one's own relay list.
 *
 * @param options - the evidence store, and optionally the tracker, pool, storage, limits and clock.
 * @returns a new router.
 * @throws TypeError/RangeError for a malformed option.
 * @example
 * ```ts
 * import { createRouter } from 'nostr-rendezvous/outbox'
 * const router = createRouter({ evidence, tracker, pool, storage })
 * await tracker.ensureRelayLists(follows)
 * const { selection } = router.readPlan(follows)
 * for (const [relay, authors] of selection.relays) pool.subscribe([{ kinds: [1], authors: [...authors] }], { relays: [relay] })
 * const dm = router.dmRelays(bob)
 * if (dm.status === 'recipient-not-ready') console.log('Bob cannot receive private messages yet:', dm.reason)
 * ```
 */
export function createRouter(options: RouterOptions): Router {
  return new OutboxRouter(options)
}
