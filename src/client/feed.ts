/**
 * Feeds: one page of some authors' posts, read from each author's outboxes through the router's
 * minimal cover (k relays per author within the connection budget), with one re-plan around the
 * relays that fail, paged by time with a cursor that neither loses nor repeats events of the same
 * second; and a live feed on the same relays. Internal: the public faces are `Client.feed` and
 * `Client.subscribeFeed`.
 *
 * @module
 */
import type { NostrEvent } from '../crypto/event.js'
import { mutedReason, type MuteRules } from '../outbox/lists.js'
import { FOLLOW_LIST_KIND } from '../outbox/relay-lists.js'
import type { ReadPlan } from '../outbox/router.js'
import type { RelaySelection } from '../outbox/types.js'
import { LruSet } from '../relay-pool/lru.js'
import type { RelayReadOutcome, Subscription } from '../relay-pool/subscription.js'
import type { Filter } from '../relay-pool/types.js'
import { abortError, type ClientContext } from './context.js'
import { parsePerson } from './identifiers.js'
import { knownMuteRules, ownMuteRules } from './list-store.js'
import { newestOf, queryRelays, type RelayRequest } from './read.js'
import type {
  AuthorReadReport,
  FeedCursor,
  FeedOptions,
  FeedPage,
  LiveFeed,
  LiveFeedOptions,
  MissingReason,
  QueryReport,
  RelayQueryReport,
} from './types.js'

const HEX64 = /^[0-9a-f]{64}$/
const DEFAULT_KINDS: readonly number[] = [1, 6]
const DEFAULT_LIMIT = 50
/**
 * Event ids a live feed remembers to drop the copies other relays send. Copies of one event arrive
 * within seconds of each other, so the newest ten thousand ids are plenty while keeping a feed
 * that runs for days bounded.
 */
const LIVE_SEEN_IDS = 10_000

// ---- arguments -----------------------------------------------------------------------------------

function positiveInteger(value: unknown, fallback: number, field: string): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number') throw new TypeError(`${field} must be a number`)
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${field} must be a positive integer`)
  return value
}

function timestamp(value: unknown, field: string): number | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'number') throw new TypeError(`${field} must be a number (unix seconds)`)
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${field} must be a non-negative integer (unix seconds)`)
  return value
}

function checkKinds(kinds: unknown): number[] {
  if (kinds === undefined) return [...DEFAULT_KINDS]
  if (!Array.isArray(kinds) || kinds.length === 0) throw new TypeError('kinds must be a non-empty array of event kinds')
  for (const kind of kinds) {
    if (typeof kind !== 'number' || !Number.isSafeInteger(kind) || kind < 0 || kind > 65_535) {
      throw new RangeError('kinds must hold integers from 0 to 65535')
    }
  }
  return [...new Set(kinds as number[])]
}

function checkCursor(cursor: unknown): FeedCursor | undefined {
  if (cursor === undefined) return undefined
  if (cursor === null || typeof cursor !== 'object') throw new TypeError('cursor must be a FeedCursor')
  const { until, seen } = cursor as Partial<FeedCursor>
  const checkedUntil = timestamp(until, 'cursor.until')
  if (checkedUntil === undefined) throw new TypeError('cursor.until must be a number (unix seconds)')
  if (!Array.isArray(seen) || !seen.every((id) => typeof id === 'string' && HEX64.test(id))) {
    throw new TypeError('cursor.seen must be an array of event ids')
  }
  return { until: checkedUntil, seen }
}

function checkListener(value: unknown, field: string): void {
  if (value !== undefined && typeof value !== 'function') throw new TypeError(`${field} must be a function`)
}

function checkMutes(value: unknown): boolean {
  if (value !== undefined && typeof value !== 'boolean') throw new TypeError('mutes must be a boolean')
  return value !== false
}

/**
 * Starts reading the user's mute rules alongside the rest of a read. Never rejects: a failure
 * other than the read's own abort (which the read reports itself) leaves nothing muted.
 */
function startMutes(context: ClientContext, enabled: boolean, signal: AbortSignal): Promise<MuteRules | undefined> {
  if (!enabled) return Promise.resolve(undefined)
  return ownMuteRules(context, signal).catch(() => undefined)
}

/**
 * The authors the caller named, deduplicated in order. An nprofile's relays are a clue to where
 * the person writes: they go to the evidence store as hints (weak and decaying, like any hint).
 */
function givenAuthors(context: ClientContext, authors: unknown): string[] {
  if (!Array.isArray(authors)) throw new TypeError('authors must be an array of pubkeys, npubs or nprofiles')
  const out: string[] = []
  const seen = new Set<string>()
  const at = context.nowSeconds()
  authors.forEach((input: unknown, i) => {
    const person = parsePerson(input as string, `authors[${i}]`)
    for (const url of person.relays) context.evidence.addHint(person.pubkey, url, 'nip19-hint', at)
    if (!seen.has(person.pubkey)) {
      seen.add(person.pubkey)
      out.push(person.pubkey)
    }
  })
  return out
}

// ---- shared steps --------------------------------------------------------------------------------

/** Runs a step that takes the linked signal; an abort surfaces as the client's own error. */
async function guarded<T>(context: ClientContext, signal: AbortSignal, step: () => Promise<T>): Promise<T> {
  if (signal.aborted) throw abortError(context, signal.reason)
  try {
    return await step()
  } catch (error) {
    // The tracker and storage reject with their own abort codes: the caller expects the client's.
    if (signal.aborted) throw abortError(context, error)
    throw error
  }
}

/**
 * The user's follows: the `p` tags of their newest kind 3, which the tracker fetches (with their
 * relay lists) and keeps in storage. Read from storage rather than from profile.ts so a feed needs
 * nothing but the tracker.
 */
async function followsOf(context: ClientContext, signal: AbortSignal): Promise<string[]> {
  const me = await guarded(context, signal, () => context.me())
  await guarded(context, signal, () => context.tracker.ensureRelayLists([me], { signal }))
  const stored = await guarded(context, signal, () =>
    context.storage.queryEvents([{ kinds: [FOLLOW_LIST_KIND], authors: [me], limit: 1 }], { signal }),
  )
  const list = newestOf(stored)
  if (list === undefined) return []
  const out: string[] = []
  const seen = new Set<string>()
  for (const tag of list.tags) {
    // A follow list is network input: junk tags are skipped, never thrown on.
    const pubkey = tag[0] === 'p' ? tag[1] : undefined
    if (typeof pubkey !== 'string' || !HEX64.test(pubkey) || seen.has(pubkey)) continue
    seen.add(pubkey)
    out.push(pubkey)
  }
  return out
}

/** Whether an outcome means the relay will not serve this read (`pending` and `aborted` are neither). */
function isFailure(status: RelayReadOutcome['status']): boolean {
  return status !== 'eose' && status !== 'pending' && status !== 'aborted'
}

/** Why an author may be missing posts, or `undefined` when they were read from k relays or as many as they have. */
function missingReason(
  asked: readonly { readonly status: RelayReadOutcome['status'] }[],
  answered: number,
  k: number,
  short: MissingReason | undefined,
): MissingReason | undefined {
  const failed = asked.filter((r) => isFailure(r.status)).length
  // A failure seen at read time says more than the plan's reason: it is why this read fell short.
  if (failed > 0 && failed === asked.length) return 'relays-failed'
  if (failed > 0 && answered < k) return 'fewer-relays'
  // Fewer known relays than k, every one of them asked and answering: nothing more could be done,
  // and flagging them would bury the authors who really may be missing posts (a third of a
  // typical follow list names a single relay).
  if (short === 'no-relays' && answered > 0) return undefined
  return short
}

/**
 * The per-author report of a read: every relay asked about each author (in the order asked), how
 * many answered, how many of their events came back, and why they may be missing posts.
 */
function buildReport(
  authors: readonly string[],
  relays: readonly RelayQueryReport[],
  selection: RelaySelection | undefined,
  k: number,
  eventsByAuthor: ReadonlyMap<string, number>,
  startedMs: number,
  muted: number,
): QueryReport {
  const askedAbout = new Map<string, { url: string; status: RelayReadOutcome['status'] }[]>()
  for (const relay of relays) {
    for (const author of relay.authors) {
      let list = askedAbout.get(author)
      if (list === undefined) askedAbout.set(author, (list = []))
      list.push({ url: relay.url, status: relay.status })
    }
  }
  const reports: AuthorReadReport[] = []
  const missing: { pubkey: string; reason: MissingReason }[] = []
  for (const pubkey of authors) {
    const asked = askedAbout.get(pubkey) ?? []
    const answered = asked.filter((r) => r.status === 'eose').length
    const reason = missingReason(asked, answered, k, selection?.short.get(pubkey)?.reason)
    reports.push({ pubkey, relays: asked, answered, events: eventsByAuthor.get(pubkey) ?? 0, ...(reason !== undefined && { missing: reason }) })
    if (reason !== undefined) missing.push({ pubkey, reason })
  }
  return {
    relays,
    authors: reports,
    missing,
    connections: new Set(relays.map((r) => r.url)).size,
    ms: Math.round(performance.now() - startedMs),
    muted,
  }
}

function newestFirst(a: NostrEvent, b: NostrEvent): number {
  return b.created_at - a.created_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
}

/**
 * The cursor after a page: strictly older events, plus the events of the oldest second not yet
 * returned. When the page did not move past the previous cursor's second (a page of one second),
 * the ids seen there before are carried over, so a long run of same-second events is still paged
 * through without repeats.
 */
function nextCursor(page: readonly NostrEvent[], previous: FeedCursor | undefined): FeedCursor | undefined {
  const oldest = page[page.length - 1]
  if (oldest === undefined) return undefined
  const ids = page.filter((e) => e.created_at === oldest.created_at).map((e) => e.id)
  const carried = previous !== undefined && previous.until === oldest.created_at ? previous.seen : []
  return { until: oldest.created_at, seen: [...new Set([...carried, ...ids])] }
}

// ---- one page ------------------------------------------------------------------------------------

/**
 * One page of a feed (see `Client.feed`): authors (given, or the user's follows), their relay
 * lists fetched when stale, the router's plan, one request per chosen relay, one re-plan around
 * the relays that failed, merged newest first and trimmed to `limit`.
 *
 * Paging: a relay returns the newest `limit + cursor.seen.length` events at or before `until`
 * (`limit` lowered, when needed, so that this never exceeds a planned relay's `max_limit`), so
 * once the ids already returned are dropped, each relay still gives at least `limit` events or
 * all it has. Any event newer than the page's oldest second is therefore on this page, and the
 * events of that second not on it come back on the next one (`until` is inclusive): every event
 * exactly once.
 *
 * @param context - the client's parts.
 * @param options - see {@link FeedOptions}.
 * @returns the page, the next cursor, and the per-relay, per-author report.
 * @throws TypeError/RangeError for malformed options; ClientError `CLIENT_ABORTED`, `CLIENT_CLOSED`,
 * `CLIENT_NO_SIGNER` (no authors given and no user); the tracker's and storage's other errors.
 * @internal
 */
export async function readFeed(context: ClientContext, options: FeedOptions = {}): Promise<FeedPage> {
  const startedMs = performance.now()
  context.assertOpen()
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object')
  const kinds = checkKinds(options.kinds)
  const limit = positiveInteger(options.limit, DEFAULT_LIMIT, 'limit')
  const cursor = checkCursor(options.cursor)
  let until = cursor !== undefined ? cursor.until : timestamp(options.until, 'until')
  const since = timestamp(options.since, 'since')
  const eoseTimeoutMs = options.eoseTimeoutMs === undefined ? undefined : positiveInteger(options.eoseTimeoutMs, 0, 'eoseTimeoutMs')
  checkListener(options.onProgress, 'onProgress')
  const useMutes = checkMutes(options.mutes)
  const given = options.authors === undefined ? undefined : givenAuthors(context, options.authors)

  const { signal, release } = context.link(options.signal)
  try {
    // Read alongside the posts: a first feed of the session fetches the mute list meanwhile.
    const mutes = startMutes(context, useMutes, signal)
    const authors = given ?? (await followsOf(context, signal))
    await guarded(context, signal, () => context.tracker.ensureRelayLists(authors, { signal }))
    const plan = context.router.readPlan(authors)
    const k = plan.selection.perAuthor
    const alreadySeen = new Set(cursor?.seen ?? [])
    // A relay clamps `limit` to its max_limit, and a clamped answer breaks the paging argument
    // above (events older than its last one could be newer than the page's oldest). So a page
    // never asks more than the smallest max_limit of the planned relays allows.
    const maxLimit = Math.min(...[...plan.selection.relays.keys()].map((url) => context.pool.relayLimits(url).maxLimit))
    if (until !== undefined && alreadySeen.size >= maxLimit) {
      // One second holds more events than a relay gives in one answer (a flood of same-second
      // posts): relays have no offset, so the rest of that second cannot be paged to. Move on to
      // the second before rather than end the feed there.
      until -= 1
      alreadySeen.clear()
    }
    const pageLimit = Math.max(1, Math.min(limit, maxLimit - alreadySeen.size))
    const filtersFor = (relayAuthors: readonly string[]): Filter[] => [
      {
        authors: [...relayAuthors],
        kinds,
        // The ids dropped below would otherwise shorten the page (see the paging note above).
        limit: pageLimit + alreadySeen.size,
        ...(until !== undefined && { until }),
        ...(since !== undefined && { since }),
      },
    ]

    let relaysTotal = 0
    let doneBefore = 0
    let eventsBefore = 0
    let lastEvents = 0
    const progress = (done: number, events: number): void => {
      if (options.onProgress === undefined) return
      lastEvents = eventsBefore + events
      try {
        options.onProgress({ relaysDone: doneBefore + done, relaysTotal, events: lastEvents })
      } catch (error) {
        // A progress bar that throws must not fail the read.
        context.reportError(error)
      }
    }

    // Round 1: every relay of the plan, about its own authors.
    const first: RelayRequest[] = [...plan.selection.relays].map(([url, relayAuthors]) => ({ url, filters: filtersFor(relayAuthors), authors: relayAuthors }))
    relaysTotal = first.length
    const round1 = await queryRelays(context, first, { signal, eoseTimeoutMs, round: 1, onRelayDone: progress })

    // Round 2: the relays that did not end with EOSE are re-planned around, once.
    let finalPlan: ReadPlan = plan
    let round2: Awaited<ReturnType<typeof queryRelays>> | undefined
    const failed = round1.relays.filter((r) => r.status !== 'eose').map((r) => r.url)
    if (failed.length > 0) {
      finalPlan = context.router.replanRead(plan, failed)
      const asked = new Set<string>()
      const answered = new Map<string, number>()
      for (const relay of round1.relays) {
        for (const author of relay.authors) {
          asked.add(`${relay.url} ${author}`)
          if (relay.status === 'eose') answered.set(author, (answered.get(author) ?? 0) + 1)
        }
      }
      const second: RelayRequest[] = []
      for (const [url, relayAuthors] of finalPlan.selection.relays) {
        // Only authors who moved here and still lack k answers: the others were read already.
        const fresh = relayAuthors.filter((a) => !asked.has(`${url} ${a}`) && (answered.get(a) ?? 0) < k)
        if (fresh.length > 0) second.push({ url, filters: filtersFor(fresh), authors: fresh })
      }
      if (second.length > 0) {
        doneBefore = first.length
        relaysTotal += second.length
        // Round 2's events are not known to be new until merged: count round 1's until then.
        eventsBefore = round1.events.length
        round2 = await queryRelays(context, second, { signal, eoseTimeoutMs, round: 2, onRelayDone: (done) => progress(done, 0) })
      }
    }

    const byId = new Map<string, NostrEvent>()
    for (const event of [...round1.events, ...(round2?.events ?? [])]) {
      if (!alreadySeen.has(event.id) && !byId.has(event.id)) byId.set(event.id, event)
    }
    const all = [...byId.values()].sort(newestFirst)
    if (round2 !== undefined && options.onProgress !== undefined && all.length !== lastEvents) {
      eventsBefore = 0
      progress(relaysTotal - doneBefore, all.length)
    }
    const eventsByAuthor = new Map<string, number>()
    for (const event of all) eventsByAuthor.set(event.pubkey, (eventsByAuthor.get(event.pubkey) ?? 0) + 1)
    const relays = [...round1.relays, ...(round2?.relays ?? [])]
    // The relays' NIP-11 documents arrive while connecting: a max_limit learnt only now may have
    // clamped an answer, so the page is cut to what every answering relay surely gave in full.
    const answeredCap = Math.min(...relays.filter((r) => r.status === 'eose').map((r) => context.pool.relayLimits(r.url).maxLimit))
    const finalLimit = Math.max(1, Math.min(pageLimit, answeredCap - alreadySeen.size))
    const events = all.slice(0, finalLimit)
    const rules = await mutes
    if (signal.aborted) throw abortError(context, signal.reason)
    // Muted events are dropped after the cursor is set on the whole page: paging stays exact, and
    // the page may come back shorter than `limit` (the report says by how many).
    const visible = rules === undefined ? events : events.filter((event) => mutedReason(event, rules) === undefined)
    return {
      events: visible,
      next: all.length < finalLimit ? undefined : nextCursor(events, cursor),
      report: buildReport(authors, relays, finalPlan.selection, k, eventsByAuthor, startedMs, events.length - visible.length),
    }
  } finally {
    release()
  }
}

// ---- live ----------------------------------------------------------------------------------------

/** One relay's live subscription about some authors. */
interface LivePart {
  readonly url: string
  /** Sorted. */
  readonly authors: readonly string[]
  readonly round: 1 | 2
  subscription: Subscription | undefined
  /** Set when the pool refused to open the subscription at all. */
  outcome: RelayReadOutcome | undefined
  /** Its failure was handled (re-planned around). */
  failed: boolean
}

function partReport(part: LivePart): RelayQueryReport {
  const outcome = part.subscription?.report().relays[0] ?? part.outcome ?? { url: part.url, status: 'pending' as const, events: 0, firstSeen: 0 }
  return { ...outcome, authors: part.authors, round: part.round }
}

/**
 * A live feed (see `Client.subscribeFeed`): the plan a page would use, one live subscription per
 * chosen relay from now on, each event delivered once across relays, and the authors of a relay
 * that fails moved to replacement relays.
 *
 * `ready` resolves with the report once every relay of the plan reached EOSE or failed and the
 * failed ones' replacements were asked; it rejects (never unhandled) with `CLIENT_ABORTED` when the
 * feed is closed or its signal aborts before the plan is made, `CLIENT_CLOSED` when the client
 * closes, `CLIENT_NO_SIGNER` without authors or user.
 *
 * @param context - the client's parts.
 * @param options - see {@link LiveFeedOptions}.
 * @returns the live feed.
 * @throws TypeError/RangeError for malformed options; ClientError `CLIENT_CLOSED`.
 * @internal
 */
export function liveFeed(context: ClientContext, options: LiveFeedOptions): LiveFeed {
  const startedMs = performance.now()
  context.assertOpen()
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object')
  if (typeof options.onEvent !== 'function') throw new TypeError('onEvent must be a function')
  checkListener(options.onReport, 'onReport')
  const kinds = checkKinds(options.kinds)
  const useMutes = checkMutes(options.mutes)
  const given = options.authors === undefined ? undefined : givenAuthors(context, options.authors)

  // close() must stop the start-up work too (the follow list and relay-list fetches), not only the
  // subscriptions: it aborts this, which the linked signal follows.
  const stopper = new AbortController()
  const { signal, release } = context.link(options.signal === undefined ? stopper.signal : AbortSignal.any([options.signal, stopper.signal]))
  let closed = false
  let authors: readonly string[] = given ?? []
  let plan: ReadPlan | undefined
  const since = context.nowSeconds()
  const parts: LivePart[] = []
  const pairs = new Set<string>()
  const seenIds = new LruSet<string>(LIVE_SEEN_IDS)
  const eventsByAuthor = new Map<string, number>()
  const failedQueue = new Set<string>()
  let replanning: Promise<void> | undefined
  let muted = 0

  const report = (): QueryReport =>
    buildReport(authors, parts.map(partReport), plan?.selection, plan?.selection.perAuthor ?? context.options.perAuthor, eventsByAuthor, startedMs, muted)

  const close = (): void => {
    if (closed) return
    closed = true
    untrack()
    signal.removeEventListener('abort', close)
    stopper.abort()
    release()
    unlisten()
    for (const part of parts) part.subscription?.close()
  }
  const untrack = context.track(close)
  signal.addEventListener('abort', close, { once: true })
  // A relay the user blocks (or stops reading from) while the feed runs is left at once, and its
  // authors move to their next relays, as for a relay that failed (the re-plan applies the new
  // settings). Other changes (a rank, an unblock) wait for the next plan: no connection churn.
  const unlisten = context.relayConfig.onChange(() => {
    for (const part of parts) {
      if (part.failed) continue
      let readable = true
      try {
        readable = !context.relayConfig.isBlocked(part.url) && context.relayConfig.get(part.url).read !== false
      } catch {
        // Parts hold normalised URLs; an unreadable one keeps its subscription.
      }
      if (!readable) relayFailed(part)
    }
  })

  const deliver = (event: NostrEvent, relay: string): void => {
    if (closed || !seenIds.addIfAbsent(event.id)) return
    eventsByAuthor.set(event.pubkey, (eventsByAuthor.get(event.pubkey) ?? 0) + 1)
    void context.remember([event], new Map([[event.id, [relay]]]))
    // The rules held now: a mute made while the feed runs applies to the next event.
    if (useMutes && mutedReason(event, knownMuteRules(context)) !== undefined) {
      muted += 1
      return
    }
    try {
      options.onEvent(event, relay)
    } catch (error) {
      context.reportError(error)
    }
  }

  const replan = (): void => {
    replanning = undefined
    if (closed || plan === undefined || failedQueue.size === 0) return
    const failed = [...failedQueue]
    failedQueue.clear()
    // The re-plan drops a failed relay for every author: its other parts go too, or the pool would
    // keep reconnecting to it for as long as the feed lives.
    for (const part of parts) if (failed.includes(part.url)) part.subscription?.close()
    try {
      plan = context.router.replanRead(plan, failed)
    } catch (error) {
      context.reportError(error)
      return
    }
    const answered = new Map<string, number>()
    for (const part of parts) {
      if (part.failed || failed.includes(part.url) || partReport(part).status !== 'eose') continue
      for (const author of part.authors) answered.set(author, (answered.get(author) ?? 0) + 1)
    }
    const k = plan.selection.perAuthor
    for (const [url, relayAuthors] of plan.selection.relays) {
      const fresh = relayAuthors.filter((a) => !pairs.has(`${url} ${a}`) && (answered.get(a) ?? 0) < k)
      if (fresh.length > 0) open(url, fresh, 2)
    }
    if (options.onReport !== undefined) {
      try {
        options.onReport(report())
      } catch (error) {
        context.reportError(error)
      }
    }
  }

  const relayFailed = (part: LivePart): void => {
    if (part.failed || closed) return
    part.failed = true
    failedQueue.add(part.url)
    // Relays failing together (a dead batch) are re-planned around in one go.
    replanning ??= Promise.resolve().then(replan)
  }

  const open = (url: string, relayAuthors: readonly string[], round: 1 | 2): void => {
    const part: LivePart = { url, authors: [...relayAuthors].sort(), round, subscription: undefined, outcome: undefined, failed: false }
    parts.push(part)
    for (const author of relayAuthors) pairs.add(`${url} ${author}`)
    try {
      // No signal here: `close` ends every part on abort, and one listener per relay on the linked
      // signal would pile up past Node's warning threshold on a big plan.
      part.subscription = context.pool.subscribe([{ authors: [...relayAuthors], kinds, since }], {
        relays: [url],
        onEvent: deliver,
        onRelayStatus: (outcome) => {
          if (isFailure(outcome.status)) relayFailed(part)
        },
      })
    } catch (error) {
      if (closed || signal.aborted) return
      context.reportError(error)
      part.outcome = { url, status: 'failed', message: error instanceof Error ? error.message : String(error), events: 0, firstSeen: 0 }
    }
    // A relay the connect policy refuses is final at once, without a status callback.
    if (isFailure(partReport(part).status)) relayFailed(part)
  }

  const ready = (async (): Promise<QueryReport> => {
    try {
      if (closed) throw abortError(context, signal.reason)
      // Known before the first event can arrive (subscriptions open below).
      const mutes = startMutes(context, useMutes, signal)
      authors = given ?? (await followsOf(context, signal))
      await guarded(context, signal, () => context.tracker.ensureRelayLists(authors, { signal }))
      if (closed) throw abortError(context, signal.reason)
      await mutes
      if (closed) throw abortError(context, signal.reason)
      plan = context.router.readPlan(authors)
      // `since` stays the time of the call: posts made while the lists were fetched are "new" too.
      for (const [url, relayAuthors] of plan.selection.relays) open(url, relayAuthors, 1)
      await Promise.all(parts.filter((p) => p.round === 1).map((p) => p.subscription?.settled))
      // Failures of round 1 are re-planned in a microtask: the replacements are asked before `ready`.
      while (replanning !== undefined) await replanning
      return report()
    } catch (error) {
      close()
      throw error
    }
  })()
  // Nobody has to await `ready`: a rejection of it must never surface as unhandled.
  ready.catch(() => undefined)
  if (signal.aborted) close()

  return { ready, report, close }
}
