/**
 * Reading NIP-51 lists for the client, and what the client keeps of the user's own: the newest
 * copy of a person's list from their outboxes and the indexers (sets with their NIP-09 deletions
 * honoured), parsed with the user's signer when the list is theirs (decrypted lists cached by event
 * id), and the user's mute list (10000), blocked relays (10006) and search relays (10007) remembered
 * so feeds can hide what is muted, the relay settings can block relays, and search can find its
 * relays. Internal: the public faces are `client.lists`, the feeds, threads and `client.search`.
 *
 * @module
 */
import type { NostrEvent } from '../crypto/event.js'
import { OutboxError } from '../errors.js'
import { LIST_KINDS, isListSetKind, muteRules, parseList, type ListCipher, type MuteRules, type ParsedList } from '../outbox/lists.js'
import type { Filter } from '../relay-pool/types.js'
import { tryNormalizeRelayUrl } from '../relay-pool/url.js'
import { abortError, type ClientContext, optionalMe } from './context.js'
import { ensureLists } from './publish.js'
import { queryRelays } from './read.js'
import type { RelayQueryReport } from './types.js'

/** The user's own lists that change how the client behaves. */
const BEHAVIOUR_KINDS: readonly number[] = [LIST_KINDS.mute, LIST_KINDS.blockedRelays, LIST_KINDS.searchRelays]
/**
 * How long a network read of one of the user's behaviour lists is trusted before the next use
 * fetches it again (in the background). Mute and relay lists change rarely; an edit made here
 * updates the copy at once.
 */
const OWN_LIST_REFRESH_MS = 3_600_000
/** Parsed (decrypted) lists kept by event id: decrypting through NIP-07 or NIP-46 is a round trip. */
const PARSED_CACHE_SIZE = 64
/** Most relays of an `options.relays` list honoured (caller input, but possibly from an nprofile). */
const MAX_EXTRA_RELAYS = 12
/** Sets of one kind read at most (a person with thousands of sets is not a list anyone reads). */
const MAX_SETS = 500

interface OwnSlot {
  readonly event: NostrEvent
  readonly parsed: ParsedList
}

interface ListState {
  readonly parsed: Map<string, ParsedList>
  /** The newest copy known of the user's behaviour lists, by kind. */
  readonly own: Map<number, OwnSlot>
  /** When each behaviour list was last fetched from the network (ms). */
  readonly fetchedAt: Map<number, number>
  readonly fetching: Map<number, Promise<void>>
}

const states = new WeakMap<ClientContext, ListState>()

/** The list state of a client. @internal */
export function listState(context: ClientContext): ListState {
  let state = states.get(context)
  if (state === undefined) {
    state = { parsed: new Map(), own: new Map(), fetchedAt: new Map(), fetching: new Map() }
    states.set(context, state)
  }
  return state
}


/**
 * The ciphers that read and write the user's private entries, or `undefined` without a signer.
 *
 * @internal
 */
export function cipherOf(context: ClientContext, me: string): ListCipher | undefined {
  const signer = context.signer
  return signer === undefined ? undefined : { pubkey: me, nip44: signer.nip44, nip04: signer.nip04 }
}

/**
 * Parses a list, decrypting it when it is the user's and a signer is there. Readable results are
 * cached by event id; an unreadable one is not (a locked extension may say yes next time).
 *
 * @internal
 */
export async function parseOwnAware(context: ClientContext, event: NostrEvent, me: string | undefined): Promise<ParsedList> {
  const state = listState(context)
  const cached = state.parsed.get(event.id)
  if (cached !== undefined) return cached
  const parsed = await parseList(event, me === event.pubkey ? cipherOf(context, me) : undefined)
  if (parsed.privateState !== 'unreadable') {
    state.parsed.set(event.id, parsed)
    if (state.parsed.size > PARSED_CACHE_SIZE) state.parsed.delete(state.parsed.keys().next().value!)
  }
  return parsed
}

/**
 * Records a list of the user's as known: it becomes the copy the client behaves by when it is
 * newer than the one held (kind 10006 goes to the relay settings as blocked relays).
 *
 * @internal
 */
export function learnOwnList(context: ClientContext, me: string, parsed: ParsedList): void {
  if (parsed.pubkey !== me || !BEHAVIOUR_KINDS.includes(parsed.kind)) return
  const state = listState(context)
  const held = state.own.get(parsed.kind)
  // The same event parsed again (its private part decrypted since) replaces the copy held.
  if (held !== undefined && held.event.id !== parsed.event.id && !isNewer(parsed.event, held.event)) return
  // ...but never the other way: a signer that cannot decrypt now (locked, offline) must not lift the
  // private mutes and blocks read from this very event before.
  if (held !== undefined && held.event.id === parsed.event.id && !canRead(parsed) && canRead(held.parsed)) return
  state.own.set(parsed.kind, { event: parsed.event, parsed })
  if (parsed.kind === LIST_KINDS.blockedRelays) context.relayConfig.setBlocked(relayValues(parsed))
}

/** Whether a parse holds the list's private entries (or there were none to read). */
function canRead(parsed: ParsedList): boolean {
  return parsed.privateState !== 'unreadable' && parsed.privateState !== 'locked'
}

function isNewer(a: NostrEvent, b: NostrEvent): boolean {
  return a.created_at > b.created_at || (a.created_at === b.created_at && a.id < b.id)
}

/**
 * The relay URLs of a list's `relay` entries, public then private, normalised, each once.
 *
 * @internal
 */
export function relayValues(list: Pick<ParsedList, 'public' | 'private'>): string[] {
  const out: string[] = []
  for (const tag of [...list.public, ...list.private]) {
    if (tag[0] !== 'relay') continue
    const url = tryNormalizeRelayUrl(tag[1])
    if (url !== undefined && !out.includes(url)) out.push(url)
  }
  return out
}

// ---- reading from relays -------------------------------------------------------------------------

/** Normalised extra relays (an nprofile's hints, the caller's), at most a dozen. */
function extraRelays(urls: readonly string[] | undefined): string[] {
  if (urls === undefined) return []
  if (!Array.isArray(urls)) throw new TypeError('options.relays must be an array of relay URLs')
  const out: string[] = []
  for (const url of urls) {
    const normalized = typeof url === 'string' ? tryNormalizeRelayUrl(url) : undefined
    if (normalized !== undefined && !out.includes(normalized) && out.length < MAX_EXTRA_RELAYS) out.push(normalized)
  }
  return out
}

/** Whether the user's relay settings let `url` be read from (not blocked, not `read: false`). */
function readable(context: ClientContext, url: string): boolean {
  try {
    return !context.relayConfig.isBlocked(url) && context.relayConfig.get(url).read !== false
  } catch {
    return false
  }
}

/** What {@link findLists} found. @internal */
export interface FoundLists {
  /** The newest live copy per set identifier (`''` for a standard list), newest first. */
  readonly events: NostrEvent[]
  /** Every relay asked. */
  readonly relays: RelayQueryReport[]
}

/** Options of {@link findLists}. @internal */
export interface FindListsOptions {
  /** Only this set. */
  readonly identifier?: string
  readonly signal: AbortSignal
  /** More relays to ask. */
  readonly relays?: readonly string[]
  /** Also ask the person's inboxes and DM relays (the user's own lists before an edit). */
  readonly broad?: boolean
  /** Fewer relays answering than this throws `TRACKER_UNCONFIRMED`. @default 0 */
  readonly minAnswers?: number
}

/** The coordinate of a set: `kind:pubkey:d`. @internal */
export function setAddress(kind: number, pubkey: string, identifier: string): string {
  return `${kind}:${pubkey}:${identifier}`
}

/**
 * Finds a person's lists of one kind: the relays where they write (and, when `broad`, read and
 * get DMs), the indexers and `relays`, plus storage. For sets, NIP-09 deletions (kind 5 naming the
 * set's coordinate) found alongside hide every version at or before them.
 *
 * @throws ClientError `CLIENT_ABORTED`, `CLIENT_CLOSED`; OutboxError `TRACKER_UNCONFIRMED` when
 * fewer than `minAnswers` relays answered.
 * @internal
 */
export async function findLists(context: ClientContext, pubkey: string, kind: number, options: FindListsOptions): Promise<FoundLists> {
  const { signal } = options
  if (signal.aborted) throw abortError(context, signal.reason)
  await ensureLists(context, [pubkey], signal)
  const tracked = context.tracker.relayListOf(pubkey)
  const own = options.broad === true ? [...(tracked?.write ?? []), ...(tracked?.read ?? []), ...(tracked?.dm ?? [])] : (tracked?.write ?? [])
  // The user's settings rule relays out of reads too: blocked (or rank 0), and `read: false` — except
  // before an edit (`broad`): a write-only relay of the user's may hold the newest copy, and missing
  // it would clobber it.
  const usable = options.broad === true ? (url: string): boolean => !context.relayConfig.isBlocked(url) : (url: string): boolean => readable(context, url)
  const relays = [...new Set([...own, ...context.tracker.indexerRelays, ...extraRelays(options.relays)])].filter(usable)
  const isSet = isListSetKind(kind)
  const listFilter: Filter = {
    kinds: [kind],
    authors: [pubkey],
    ...(options.identifier !== undefined && { '#d': [options.identifier] }),
    ...(isSet ? { limit: options.identifier === undefined ? MAX_SETS : 1 } : { limit: 1 }),
  }
  const filters: Filter[] = [listFilter]
  if (isSet) {
    filters.push(
      options.identifier !== undefined
        ? { kinds: [5], authors: [pubkey], '#a': [setAddress(kind, pubkey, options.identifier)] }
        : { kinds: [5], authors: [pubkey], '#k': [String(kind)] },
    )
  }
  const result = relays.length === 0 ? undefined : await queryRelays(context, relays.map((url) => ({ url, filters, authors: [pubkey] })), { signal })
  const answers = result?.relays.filter((r) => r.status === 'eose').length ?? 0
  if (answers < (options.minAnswers ?? 0)) {
    throw new OutboxError('TRACKER_UNCONFIRMED', 'Too few relays answered to be sure this is the newest copy of the list', {
      details: `${answers} of ${relays.length} answered, ${options.minAnswers} needed`,
    })
  }
  let stored: NostrEvent[] = []
  try {
    // Storage keeps the deletions it has seen: a relay that missed one must not bring the set back.
    stored = await context.storage.queryEvents([{ kinds: [kind], authors: [pubkey], ...(options.identifier !== undefined && { '#d': [options.identifier] }) }, ...filters.slice(1)])
  } catch (error) {
    // A broken cache only means relying on what the relays said.
    context.reportError(error)
  }
  const all = [...(result?.events ?? []), ...stored]
  const deletions = all.filter((e) => e.kind === 5 && e.pubkey === pubkey)
  const newest = new Map<string, NostrEvent>()
  for (const event of all) {
    if (event.kind !== kind || event.pubkey !== pubkey) continue
    const d = isSet ? (event.tags.find((t) => t[0] === 'd')?.[1] ?? '') : ''
    if (options.identifier !== undefined && d !== options.identifier) continue
    const address = setAddress(kind, pubkey, d)
    // NIP-09: a deletion by coordinate removes every version up to its own time.
    if (isSet && deletions.some((del) => del.created_at >= event.created_at && del.tags.some((t) => t[0] === 'a' && t[1] === address))) continue
    const held = newest.get(d)
    if (held === undefined || isNewer(event, held)) newest.set(d, event)
  }
  const events = [...newest.values()].sort((a, b) => b.created_at - a.created_at || (a.id < b.id ? -1 : 1))
  return { events, relays: result?.relays ?? [] }
}

/**
 * The time of the newest deletion (kind 5) of a set in storage (0 when none): a new version must
 * come after it, or relays that honour the deletion would drop it.
 *
 * @internal
 */
export async function newestSetDeletion(context: ClientContext, address: string): Promise<number> {
  const pubkey = address.split(':')[1]!
  try {
    const deletions = await context.storage.queryEvents([{ kinds: [5], authors: [pubkey], '#a': [address] }])
    return Math.max(0, ...deletions.map((e) => e.created_at))
  } catch (error) {
    context.reportError(error)
    return 0
  }
}

// ---- the user's behaviour lists ------------------------------------------------------------------

/** Awaits `promise`, or rejects with the client's abort error when `signal` aborts first. */
async function untilAborted<T>(context: ClientContext, promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) throw abortError(context, signal.reason)
  let onAbort: (() => void) | undefined
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => signal.addEventListener('abort', (onAbort = () => reject(abortError(context, signal.reason))), { once: true }))])
  } finally {
    if (onAbort !== undefined) signal.removeEventListener('abort', onAbort)
  }
}

/** Fetches one of the user's behaviour lists from the network, once at a time; failures are reported. */
function fetchOwn(context: ClientContext, me: string, kind: number): Promise<void> {
  const state = listState(context)
  let running = state.fetching.get(kind)
  if (running !== undefined) return running
  running = (async () => {
    // Shared by every caller, so tied to the client's life rather than to one caller's signal.
    const { signal, release } = context.link()
    try {
      const found = await findLists(context, me, kind, { signal })
      // Fetched only when some relay answered (or there is none to ask): after an outage the next
      // use asks again rather than going an hour without the list.
      if (found.relays.length === 0 || found.relays.some((r) => r.status === 'eose')) state.fetchedAt.set(kind, context.now())
      const newest = found.events[0]
      if (newest !== undefined) learnOwnList(context, me, await parseOwnAware(context, newest, me))
    } catch (error) {
      if (!context.closing.aborted) context.reportError(error)
    } finally {
      release()
      state.fetching.delete(kind)
    }
  })()
  state.fetching.set(kind, running)
  return running
}

/**
 * The newest copy of one of the user's behaviour lists (10000, 10006, 10007): fetched from the
 * network on first use in this client (the caller waits), again in the background once the last
 * fetch is an hour old; storage is looked at every time (lists read or published elsewhere in the
 * client land there). `undefined` when the client has no user or the user has no such list.
 *
 * @throws ClientError `CLIENT_ABORTED`, `CLIENT_CLOSED` (only from `signal`); nothing else: a
 * failed fetch or storage read is reported and what is known is used.
 * @internal
 */
export async function ownList(context: ClientContext, kind: number, signal: AbortSignal): Promise<ParsedList | undefined> {
  const me = await optionalMe(context).catch((error: unknown) => {
    context.reportError(error)
    return undefined
  })
  if (me === undefined) return undefined
  const state = listState(context)
  const fetchedAt = state.fetchedAt.get(kind)
  if (fetchedAt === undefined) await untilAborted(context, fetchOwn(context, me, kind), signal)
  else if (context.now() - fetchedAt > OWN_LIST_REFRESH_MS) void fetchOwn(context, me, kind)
  try {
    const stored = await context.storage.queryEvents([{ kinds: [kind], authors: [me], limit: 1 }])
    const newest = stored.find((e) => e.kind === kind && e.pubkey === me)
    const held = state.own.get(kind)
    if (newest !== undefined && (held === undefined || isNewer(newest, held.event))) learnOwnList(context, me, await parseOwnAware(context, newest, me))
  } catch (error) {
    if (signal.aborted || context.closing.aborted) throw abortError(context, error)
    context.reportError(error)
  }
  return state.own.get(kind)?.parsed
}

/**
 * The user's mute rules (public and, with a signer, private entries of their newest kind 10000).
 *
 * @internal
 */
export async function ownMuteRules(context: ClientContext, signal: AbortSignal): Promise<MuteRules> {
  await ownList(context, LIST_KINDS.mute, signal)
  return knownMuteRules(context)
}

/** The rules of the mute list held, built once per list version (a live feed asks per event). */
const rulesCache = new WeakMap<ParsedList, MuteRules>()
const NO_MUTES: MuteRules = /* @__PURE__ */ muteRules(undefined)

/**
 * The mute rules as last known, without waiting (for live feeds, which check each event as it
 * arrives and must pick up an edit made meanwhile).
 *
 * @internal
 */
export function knownMuteRules(context: ClientContext): MuteRules {
  const parsed = listState(context).own.get(LIST_KINDS.mute)?.parsed
  if (parsed === undefined) return NO_MUTES
  let rules = rulesCache.get(parsed)
  if (rules === undefined) rulesCache.set(parsed, (rules = muteRules(parsed)))
  return rules
}

/**
 * Loads the user's blocked relays (kind 10006) from storage when the client starts, and applies
 * them to the relay settings. Never from the network: that happens when a list call, a feed or an
 * edit needs it. Failures go to `onError`.
 *
 * @internal
 */
export function loadBlockedRelaysFromStorage(context: ClientContext): void {
  void (async () => {
    const me = await optionalMe(context)
    if (me === undefined || context.closing.aborted) return
    const stored = await context.storage.queryEvents([{ kinds: [LIST_KINDS.blockedRelays], authors: [me], limit: 1 }])
    const newest = stored.find((e) => e.kind === LIST_KINDS.blockedRelays && e.pubkey === me)
    if (newest === undefined) return
    const state = listState(context)
    const publicOnly = await parseList(newest)
    // Public entries at once (unless something at least as new is known already); the private
    // ones once the signer has decrypted them, which may take a prompt.
    if (!state.own.has(LIST_KINDS.blockedRelays)) learnOwnList(context, me, publicOnly)
    if (publicOnly.privateState !== 'locked') return
    const full = await parseOwnAware(context, newest, me)
    if (full.privateState === 'unreadable') {
      context.reportError(new OutboxError('LIST_PRIVATE_UNREADABLE', 'The private entries of the list cannot be read', { details: `blocked relays (kind 10006) ${newest.id}` }))
    } else learnOwnList(context, me, full)
  })().catch((error: unknown) => {
    if (!context.closing.aborted) context.reportError(error)
  })
}
