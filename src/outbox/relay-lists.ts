/**
 * Relay lists: reading the ones other people publish and building one's own.
 *
 * - NIP-65 kind 10002 (`r` tags with an optional `read`/`write` marker): where a person writes
 *   (their outboxes) and where they read mentions (their inboxes).
 * - NIP-17 kind 10050 (`relay` tags): where a person accepts private messages.
 * - Legacy kind 3 `content`: a JSON map `{ url: { read, write } }` some older clients still write.
 * - NIP-05 `relays`: the `relays[pubkey]` array of a `/.well-known/nostr.json` document.
 * - Relay hints in other events: the relay field of `p`/`e`/`a`/`q` tags (NIP-01, NIP-10, NIP-18)
 *   and the relays inside `nostr:nprofile`/`nevent`/`naddr` mentions (NIP-19, NIP-21).
 *
 * Everything read here comes from the network, so the parsers never throw: they keep what they can
 * use (URLs normalised with the relay pool's rules, duplicates merged) and say how much they
 * dropped. Each output is capped, so a list of ten thousand tags costs a bounded amount of work.
 *
 * The builders take one's own input instead, and refuse what they cannot publish faithfully: an
 * invalid URL throws `OUTBOX_RELAY_URL_INVALID` rather than being left out silently. They keep every
 * tag of the previous list they do not understand, so another client's additions survive an edit.
 *
 * @module
 */
import type { EventTemplate, NostrEvent } from '../crypto/event.js'
import { nowSeconds } from '../crypto/event.js'
import { findNostrUris } from '../crypto/nip21.js'
import { OutboxError } from '../errors.js'
import { relayUrlProblem, tryNormalizeRelayUrl } from '../relay-pool/url.js'
import { isNewerVersion } from '../storage/event-rules.js'

/** Kind of a NIP-65 relay list. */
export const RELAY_LIST_KIND = 10002
/** Kind of a NIP-17 DM relay list. */
export const DM_RELAY_LIST_KIND = 10050
/** Kind of a NIP-02 follow list (whose `content` may carry a legacy relay map). */
export const FOLLOW_LIST_KIND = 3

/**
 * Most relays kept from one list. NIP-65 asks for 2-4 of each kind and real lists average under
 * four, so fifty is generous for people and still bounds what a hostile list can make us track.
 */
export const MAX_RELAY_LIST_ENTRIES = 50

/**
 * Most distinct relay strings normalised per list. Normalising costs a few microseconds; this
 * bounds a list of ten thousand junk tags to a few milliseconds of URL parsing. Entries past it
 * are counted as dropped and the list as truncated.
 */
export const MAX_RELAY_STRINGS_SCANNED = 1000

/** Most hints {@link relayHintsFromEvent} returns for one event. */
export const MAX_HINTS_PER_EVENT = 200

/** Most `nostr:` mentions read from one event's content for hints. */
const MAX_MENTIONS_SCANNED = 100

const HEX64 = /^[0-9a-f]{64}$/

/** Spellings {@link normalizeCached} remembers before it starts over. */
const URL_MEMO_SIZE = 4096
// Real lists name a few hundred relays between them, in a few spellings each: parsing each once
// makes reading ten thousand relay lists several times cheaper. Pure, so safe to share.
const urlMemo = new Map<string, string | null>()

/**
 * `tryNormalizeRelayUrl` with a bounded memo of recent spellings. Internal to the outbox layer.
 *
 * @param raw - anything.
 * @returns the normalised URL, or undefined when `raw` is not a valid relay URL.
 * @internal
 */
export function normalizeCached(raw: unknown): string | undefined {
  if (typeof raw !== 'string') return undefined
  const known = urlMemo.get(raw)
  if (known !== undefined) return known ?? undefined
  if (urlMemo.size >= URL_MEMO_SIZE) urlMemo.clear()
  const url = tryNormalizeRelayUrl(raw)
  urlMemo.set(raw, url ?? null)
  return url
}

/** One relay of a relay list, with its NIP-65 markers merged. */
export interface RelayListEntry {
  /** Normalised relay URL. */
  readonly url: string
  /** The person reads mentions here (an inbox). */
  readonly read: boolean
  /** The person writes here (an outbox). */
  readonly write: boolean
}

/** What a relay-list parser kept and what it dropped. */
export interface RelayList {
  /** Inbox URLs, in list order. */
  readonly read: string[]
  /** Outbox URLs, in list order. */
  readonly write: string[]
  /** Every kept relay once, in list order, with both markers. */
  readonly entries: RelayListEntry[]
  /** Relay entries that did not become a new kept relay: invalid, duplicate or over the cap. */
  readonly dropped: number
  /** True when valid relays were left out because of {@link MAX_RELAY_LIST_ENTRIES}. */
  readonly truncated: boolean
}

/**
 * A relay hint found in an event: where a person or an event may be found, according to whoever
 * wrote the event (a third party, unless it is about themselves).
 */
export interface RelayHint {
  /** Normalised relay URL. */
  readonly url: string
  /** The person the hint is about (the `p` tag, the author of an `e`/`q`/`a` target, a profile). */
  readonly pubkey?: string
  /** The event the hint says is on that relay (`e`/`q` tags, `nevent`). */
  readonly eventId?: string
  /** The `kind:pubkey:d` coordinate the hint says is on that relay (`a`/`q` tags, `naddr`). */
  readonly address?: string
  /** `tag-hint` for tag relay fields, `nip19-hint` for relays inside `nostr:` mentions. */
  readonly source: 'tag-hint' | 'nip19-hint'
}

/** One relay of one's own list, as given to {@link buildRelayListTemplate}. */
export interface RelayListInput {
  /** The relay URL, in any spelling the relay pool's `normalizeRelayUrl` accepts. */
  readonly url: string
  /**
   * Whether the relay is an inbox.
   * @default true
   */
  readonly read?: boolean
  /**
   * Whether the relay is an outbox.
   * @default true
   */
  readonly write?: boolean
}

/** Options of {@link buildRelayListTemplate} and {@link buildDmRelayListTemplate}. */
export interface BuildListOptions {
  /**
   * The newest copy of the list being replaced. Its tags other than the ones the builder writes are
   * kept, in order, and the new list is dated after it so that it wins (NIP-01: newest wins).
   */
  readonly previous?: NostrEvent
  /**
   * `created_at` of the new list, in unix seconds.
   * @default the current time, or one second after `previous` when that is later
   */
  readonly createdAt?: number
}

// ---- parsing -------------------------------------------------------------------------------------

/** Accumulates the relays of one list: normalisation memo, merge of duplicates, caps. */
class ListCollector {
  readonly #entries = new Map<string, { read: boolean; write: boolean }>()
  // Raw string → normalised URL (or null when invalid): repeated spellings cost one parse.
  readonly #memo = new Map<string, string | null>()
  dropped = 0
  truncated = false

  add(raw: unknown, read: boolean, write: boolean): void {
    const url = this.#normalise(raw)
    if (url === undefined) {
      this.dropped++
      return
    }
    const known = this.#entries.get(url)
    if (known !== undefined) {
      known.read ||= read
      known.write ||= write
      this.dropped++
      return
    }
    if (this.#entries.size >= MAX_RELAY_LIST_ENTRIES) {
      this.dropped++
      this.truncated = true
      return
    }
    this.#entries.set(url, { read, write })
  }

  #normalise(raw: unknown): string | undefined {
    if (typeof raw !== 'string') return undefined
    const memo = this.#memo.get(raw)
    if (memo !== undefined) return memo ?? undefined
    if (this.#memo.size >= MAX_RELAY_STRINGS_SCANNED) {
      // Past the scan budget a new string is not looked at; it may have been a valid relay.
      this.truncated = true
      return undefined
    }
    const url = normalizeCached(raw)
    this.#memo.set(raw, url ?? null)
    return url
  }

  urls(): string[] {
    return [...this.#entries.keys()]
  }

  result(): RelayList {
    const entries: RelayListEntry[] = []
    const read: string[] = []
    const write: string[] = []
    for (const [url, markers] of this.#entries) {
      entries.push({ url, read: markers.read, write: markers.write })
      if (markers.read) read.push(url)
      if (markers.write) write.push(url)
    }
    return { read, write, entries, dropped: this.dropped, truncated: this.truncated }
  }
}

function emptyList(): RelayList {
  return { read: [], write: [], entries: [], dropped: 0, truncated: false }
}

/** The tags of `event` when it is an object of `kind` with a tag array, else undefined. */
function tagsOf(event: unknown, kind: number): unknown[] | undefined {
  if (typeof event !== 'object' || event === null) return undefined
  const e = event as { kind?: unknown; tags?: unknown }
  if (e.kind !== kind || !Array.isArray(e.tags)) return undefined
  return e.tags
}

/** NIP-65 markers: `read`, `write`, or anything else (absent, empty, unknown) meaning both. */
function markersOf(marker: unknown): { read: boolean; write: boolean } {
  const m = typeof marker === 'string' ? marker.trim().toLowerCase() : ''
  if (m === 'read') return { read: true, write: false }
  if (m === 'write') return { read: false, write: true }
  // An unknown marker is treated like none: the relay is listed, and NIP-65's default is both.
  return { read: true, write: true }
}

/**
 * Reads a NIP-65 relay list (kind 10002): the `r` tags, their `read`/`write` markers (none, or an
 * unknown one, means both), URLs normalised, invalid ones dropped, duplicate spellings merged with
 * their markers OR-ed, at most {@link MAX_RELAY_LIST_ENTRIES} kept. Never throws: anything that is not
 * a kind 10002 event with a tag array gives an empty list.
 *
 * @param event - an event from the network (checked here, not trusted).
 * @returns the inboxes (`read`), outboxes (`write`), every entry, and what was dropped.
 * @example
 * ```ts
 * import { parseRelayList } from 'nostr-rendezvous/outbox'
 * const list = parseRelayList(event)
 * list.write // ['wss://relay.example.com', ...] where to read this person's posts
 * ```
 */
export function parseRelayList(event: unknown): RelayList {
  const tags = tagsOf(event, RELAY_LIST_KIND)
  if (tags === undefined) return emptyList()
  const collector = new ListCollector()
  for (const tag of tags) {
    if (!Array.isArray(tag) || tag[0] !== 'r') continue
    const { read, write } = markersOf(tag[2])
    collector.add(tag[1], read, write)
  }
  return collector.result()
}

/**
 * Reads a NIP-17 DM relay list (kind 10050): the URLs of its `relay` tags, normalised, without
 * duplicates, at most {@link MAX_RELAY_LIST_ENTRIES}. Never throws: anything else gives `[]`.
 *
 * An empty result means the person is not ready to receive NIP-17 messages; the router reports
 * that instead of falling back to other relays.
 *
 * @param event - an event from the network.
 * @returns the relays to send this person's gift wraps to, in list order.
 * @example
 * ```ts
 * import { parseDmRelayList } from 'nostr-rendezvous/outbox'
 * const inboxes = parseDmRelayList(event) // ['wss://inbox.example.com']
 * ```
 */
export function parseDmRelayList(event: unknown): string[] {
  const tags = tagsOf(event, DM_RELAY_LIST_KIND)
  if (tags === undefined) return []
  const collector = new ListCollector()
  for (const tag of tags) {
    if (Array.isArray(tag) && tag[0] === 'relay') collector.add(tag[1], true, true)
  }
  return collector.urls()
}

/** `true`, or the string `'true'` some old clients wrote. */
function truthy(value: unknown): boolean {
  return value === true || value === 'true'
}

/**
 * Reads the legacy relay map some clients put in a follow list's `content` (kind 3):
 * `{"wss://r.example": {"read": true, "write": false}, ...}`. A relay whose value is not an object
 * counts as both read and write (it is listed, with no markers, like an unmarked NIP-65 entry); one
 * whose markers are both false is dropped. Never throws.
 *
 * @param event - a kind 3 event from the network.
 * @returns the relay list, or `undefined` when the content holds no relay map at all (empty, not
 * JSON, not a JSON object): most current clients leave it empty, which says nothing about relays.
 * An empty object `{}` is a map with no relays and gives an empty list.
 * @example
 * ```ts
 * import { parseKind3Relays } from 'nostr-rendezvous/outbox'
 * const legacy = parseKind3Relays(followList)
 * if (legacy) console.log('legacy outboxes', legacy.write)
 * ```
 */
export function parseKind3Relays(event: unknown): RelayList | undefined {
  if (tagsOf(event, FOLLOW_LIST_KIND) === undefined) return undefined
  const content = (event as { content?: unknown }).content
  if (typeof content !== 'string' || !content.trimStart().startsWith('{')) return undefined
  let map: unknown
  try {
    map = JSON.parse(content)
  } catch {
    return undefined
  }
  if (typeof map !== 'object' || map === null || Array.isArray(map)) return undefined
  const collector = new ListCollector()
  for (const [url, markers] of Object.entries(map as Record<string, unknown>)) {
    if (typeof markers !== 'object' || markers === null || Array.isArray(markers)) {
      collector.add(url, true, true)
      continue
    }
    const m = markers as { read?: unknown; write?: unknown }
    const read = truthy(m.read)
    const write = truthy(m.write)
    if (read || write) collector.add(url, read, write)
    else collector.dropped++
  }
  return collector.result()
}

/**
 * Reads the relays a NIP-05 document gives for one person: `relays[pubkey]`, normalised, without
 * duplicates, at most {@link MAX_RELAY_LIST_ENTRIES}. Never throws.
 *
 * @param document - the `/.well-known/nostr.json` body, parsed or as text.
 * @param pubkey - the person's public key (hex).
 * @returns their relays, or `[]` when the document names none (or is not a document).
 * @example
 * ```ts
 * import { parseNip05Relays } from 'nostr-rendezvous/outbox'
 * const body = await (await fetch('https://example.com/.well-known/nostr.json?name=bob')).json()
 * const relays = parseNip05Relays(body, bobPubkey)
 * ```
 */
export function parseNip05Relays(document: unknown, pubkey: string): string[] {
  let doc = document
  if (typeof doc === 'string') {
    try {
      doc = JSON.parse(doc)
    } catch {
      return []
    }
  }
  if (typeof doc !== 'object' || doc === null || typeof pubkey !== 'string') return []
  const relays = (doc as { relays?: unknown }).relays
  if (typeof relays !== 'object' || relays === null || Array.isArray(relays)) return []
  const byKey = relays as Record<string, unknown>
  // NIP-05 keys are lower-case hex; a server that wrote upper case still means the same key.
  const list = Object.hasOwn(byKey, pubkey) ? byKey[pubkey] : byKey[pubkey.toLowerCase()]
  if (!Array.isArray(list)) return []
  const collector = new ListCollector()
  for (const url of list) collector.add(url, true, true)
  return collector.urls()
}

// ---- picking among copies ----------------------------------------------------------------------

/** Whether `value` has what {@link newestEvent} compares. */
function comparable(value: unknown): value is NostrEvent {
  if (typeof value !== 'object' || value === null) return false
  const e = value as { created_at?: unknown; id?: unknown }
  return Number.isSafeInteger(e.created_at) && typeof e.id === 'string'
}

/**
 * The newest of several copies of a replaceable event: the greatest `created_at`, ties broken by
 * the lowest id (NIP-01). Entries that are not events are skipped.
 *
 * @param events - copies fetched from several relays (possibly of different versions).
 * @returns the winner, or `undefined` when there is none.
 * @example
 * ```ts
 * import { newestEvent } from 'nostr-rendezvous/outbox'
 * const current = newestEvent(await pool.query([{ kinds: [10002], authors: [me] }], { relays }))
 * ```
 */
export function newestEvent<E extends NostrEvent>(events: Iterable<E>): E | undefined {
  let best: E | undefined
  for (const event of events) {
    if (!comparable(event)) continue
    if (best === undefined || isNewerVersion(event, best)) best = event
  }
  return best
}

// ---- hints ---------------------------------------------------------------------------------------

/** Collects hints once each, up to the cap. */
class HintCollector {
  readonly hints: RelayHint[] = []
  readonly #seen = new Set<string>()

  get full(): boolean {
    return this.hints.length >= MAX_HINTS_PER_EVENT
  }

  add(rawUrl: unknown, about: Omit<RelayHint, 'url' | 'source'>, source: RelayHint['source']): void {
    if (this.full || typeof rawUrl !== 'string' || rawUrl === '') return
    if (about.pubkey === undefined && about.eventId === undefined && about.address === undefined) return
    const url = normalizeCached(rawUrl)
    if (url === undefined) return
    const key = `${source} ${url} ${about.pubkey ?? ''} ${about.eventId ?? ''} ${about.address ?? ''}`
    if (this.#seen.has(key)) return
    this.#seen.add(key)
    this.hints.push({ url, ...about, source })
  }
}

function hexKey(value: unknown): string | undefined {
  return typeof value === 'string' && HEX64.test(value) ? value : undefined
}

/** A `kind:pubkey:d` coordinate and its author, or undefined when malformed. */
function coordinate(value: unknown): { address: string; pubkey: string } | undefined {
  if (typeof value !== 'string') return undefined
  const first = value.indexOf(':')
  const second = value.indexOf(':', first + 1)
  if (first <= 0 || second < 0) return undefined
  const kind = value.slice(0, first)
  const pubkey = value.slice(first + 1, second)
  if (!/^\d{1,5}$/.test(kind) || Number(kind) > 65535 || !HEX64.test(pubkey)) return undefined
  return { address: value, pubkey }
}

function omitUndefined<T extends object>(value: T): T {
  for (const key of Object.keys(value) as (keyof T)[]) if (value[key] === undefined) delete value[key]
  return value
}

function tagHint(tag: readonly unknown[], hints: HintCollector): void {
  const [name, value, relay] = tag
  switch (name) {
    case 'p': {
      const pubkey = hexKey(value)
      if (pubkey) hints.add(relay, { pubkey }, 'tag-hint')
      return
    }
    case 'e': {
      // NIP-10: ["e", id, relay, marker, author]; the author makes it a hint about a person too.
      const eventId = hexKey(value)
      if (eventId) hints.add(relay, omitUndefined({ eventId, pubkey: hexKey(tag[4]) }), 'tag-hint')
      return
    }
    case 'a': {
      const coord = coordinate(value)
      if (coord) hints.add(relay, coord, 'tag-hint')
      return
    }
    case 'q': {
      // NIP-18: ["q", id-or-address, relay, author-of-a-regular-event].
      const eventId = hexKey(value)
      if (eventId) hints.add(relay, omitUndefined({ eventId, pubkey: hexKey(tag[3]) }), 'tag-hint')
      else {
        const coord = coordinate(value)
        if (coord) hints.add(relay, coord, 'tag-hint')
      }
      return
    }
  }
}

function mentionHints(content: string, hints: HintCollector): void {
  // Only text that names a pointer with relays is worth the bech32 decoding.
  if (!/nostr:n(?:profile|event|addr)1/i.test(content)) return
  let matches: ReturnType<typeof findNostrUris>
  try {
    matches = findNostrUris(content, { limit: MAX_MENTIONS_SCANNED })
  } catch {
    return
  }
  for (const { decoded } of matches) {
    if (hints.full) return
    if (decoded.type === 'nprofile') {
      for (const url of decoded.data.relays) hints.add(url, { pubkey: decoded.data.pubkey }, 'nip19-hint')
    } else if (decoded.type === 'nevent') {
      const about = omitUndefined({ eventId: decoded.data.id, pubkey: decoded.data.author })
      for (const url of decoded.data.relays) hints.add(url, about, 'nip19-hint')
    } else if (decoded.type === 'naddr') {
      const { kind, pubkey, identifier } = decoded.data
      for (const url of decoded.data.relays) hints.add(url, { address: `${kind}:${pubkey}:${identifier}`, pubkey }, 'nip19-hint')
    }
  }
}

/**
 * The relay hints an event carries about other people and events: the relay field of `p`, `e`,
 * `a` and `q` tags, and the relays inside `nostr:nprofile`, `nevent` and `naddr` mentions in the
 * content. A `p` hint is about that person; an `e`/`q` hint says where that event is and, when the
 * tag names the event's author, is about the author too; an `a` hint is about the coordinate's
 * author. URLs are normalised; invalid ones, empty relay fields and duplicates are skipped; at most
 * {@link MAX_HINTS_PER_EVENT} are returned. Never throws.
 *
 * Anyone can write a hint about anyone, so the scorer counts them as weak evidence that decays.
 *
 * @param event - an event from the network.
 * @returns the hints, tags first (in tag order), then mentions.
 * @example
 * ```ts
 * import { relayHintsFromEvent } from 'nostr-rendezvous/outbox'
 * for (const hint of relayHintsFromEvent(note)) {
 *   if (hint.pubkey) store.addHint(hint.pubkey, hint.url, hint.source, note.created_at)
 * }
 * ```
 */
export function relayHintsFromEvent(event: unknown): RelayHint[] {
  if (typeof event !== 'object' || event === null) return []
  const { tags, content } = event as { tags?: unknown; content?: unknown }
  const hints = new HintCollector()
  if (Array.isArray(tags)) {
    for (const tag of tags) {
      if (hints.full) break
      if (Array.isArray(tag) && tag.length >= 3) tagHint(tag, hints)
    }
  }
  if (typeof content === 'string' && !hints.full) mentionHints(content, hints)
  return hints.hints
}

// ---- building one's own lists -----------------------------------------------------------------

/**
 * Normalises relay URLs the user or the application gave (not network input), deduplicated in
 * order.
 *
 * @internal Shared by the router and the tracker; not part of the public API.
 * @param urls - the URLs.
 * @param field - the option's name, for error messages.
 * @returns the normalised URLs.
 * @throws OutboxError `OUTBOX_RELAY_URL_INVALID` naming the entry; TypeError when not an array of strings.
 */
export function ownRelayUrls(urls: unknown, field: string): string[] {
  if (!Array.isArray(urls)) throw new TypeError(`${field} must be an array of relay URLs`)
  return [...new Set(urls.map((raw: unknown, i) => ownUrl(raw, `${field}[${i}]`)))]
}

/** Normalises one of the user's own URLs, or throws `OUTBOX_RELAY_URL_INVALID` naming it. */
function ownUrl(input: unknown, field: string): string {
  if (typeof input !== 'string') throw new TypeError(`${field} must be a string, got ${typeof input}`)
  const url = tryNormalizeRelayUrl(input)
  if (url === undefined) {
    throw new OutboxError('OUTBOX_RELAY_URL_INVALID', 'Relay URL is not valid', {
      details: `${field}: ${relayUrlProblem(input) ?? 'invalid'}`,
    })
  }
  return url
}

function checkPrevious(previous: unknown, kind: number): NostrEvent | undefined {
  if (previous === undefined) return undefined
  if (typeof previous !== 'object' || previous === null) throw new TypeError('previous must be an event')
  const p = previous as NostrEvent
  if (p.kind !== kind) throw new RangeError(`previous must be a kind ${kind} event, got kind ${String(p.kind)}`)
  if (!Array.isArray(p.tags)) throw new TypeError('previous.tags must be an array')
  if (!Number.isSafeInteger(p.created_at)) throw new TypeError('previous.created_at must be an integer')
  return p
}

function createdAtFor(options: BuildListOptions, previous: NostrEvent | undefined): number {
  if (options.createdAt !== undefined) {
    if (!Number.isSafeInteger(options.createdAt) || options.createdAt < 0) {
      throw new RangeError(`createdAt must be a non-negative integer, got ${String(options.createdAt)}`)
    }
    return options.createdAt
  }
  // A list dated no later than the copy it replaces would lose to it everywhere (NIP-01).
  return previous === undefined ? nowSeconds() : Math.max(nowSeconds(), previous.created_at + 1)
}

/** `previous`'s tags with the ones named `replaced` swapped for `fresh`, at the first one's place. */
function spliceTags(previous: NostrEvent | undefined, replaced: string, fresh: string[][]): string[][] {
  if (previous === undefined) return fresh
  const out: string[][] = []
  let placed = false
  for (const tag of previous.tags) {
    if (!Array.isArray(tag)) continue
    if (tag[0] === replaced) {
      if (!placed) out.push(...fresh)
      placed = true
      continue
    }
    out.push(tag.map(String))
  }
  if (!placed) out.push(...fresh)
  return out
}

function checkOptions(options: unknown): BuildListOptions {
  if (options === undefined) return {}
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object')
  return options as BuildListOptions
}

/**
 * Builds one's own NIP-65 relay list (kind 10002) to sign and publish. The `r` tags are written
 * from `entries` (normalised, duplicates merged, marker omitted when both); every other tag of
 * `previous` is kept in its order, and the `r` tags take the place of the first old one. Dated
 * after `previous`, so it replaces it.
 *
 * Before overwriting, fetch the newest copy from several relays (see {@link newestEvent}) and pass
 * it as `previous`, so that tags and relays another client added are not lost.
 *
 * @param entries - the relays, each read and/or write (both by default).
 * @param options - `previous` and `createdAt`.
 * @returns an unsigned template, ready for a signer.
 * @throws OutboxError `OUTBOX_RELAY_URL_INVALID` when a URL is not a valid relay URL (the details
 * name the entry); TypeError/RangeError for a malformed argument, an entry that is neither read nor
 * write, more than {@link MAX_RELAY_LIST_ENTRIES} relays, or a `previous` of another kind.
 * @example
 * ```ts
 * import { buildRelayListTemplate } from 'nostr-rendezvous/outbox'
 * const template = buildRelayListTemplate(
 *   [{ url: 'wss://relay.example.com' }, { url: 'wss://inbox.example.com', write: false }],
 *   { previous: newestCopy },
 * )
 * const signed = await signer.signEvent(template)
 * ```
 */
export function buildRelayListTemplate(entries: readonly RelayListInput[], options?: BuildListOptions): EventTemplate {
  if (!Array.isArray(entries)) throw new TypeError('entries must be an array')
  const opts = checkOptions(options)
  const previous = checkPrevious(opts.previous, RELAY_LIST_KIND)
  const merged = new Map<string, { read: boolean; write: boolean }>()
  entries.forEach((entry: RelayListInput, i) => {
    if (typeof entry !== 'object' || entry === null) throw new TypeError(`entries[${i}] must be an object`)
    const url = ownUrl(entry.url, `entries[${i}].url`)
    const read = entry.read ?? true
    const write = entry.write ?? true
    if (typeof read !== 'boolean' || typeof write !== 'boolean') throw new TypeError(`entries[${i}].read/write must be booleans`)
    if (!read && !write) throw new RangeError(`entries[${i}] must be read, write or both`)
    const known = merged.get(url)
    if (known) {
      known.read ||= read
      known.write ||= write
    } else merged.set(url, { read, write })
  })
  if (merged.size > MAX_RELAY_LIST_ENTRIES) {
    throw new RangeError(`entries must name at most ${MAX_RELAY_LIST_ENTRIES} relays, got ${merged.size}`)
  }
  const rTags = [...merged].map(([url, m]) => (m.read && m.write ? ['r', url] : ['r', url, m.read ? 'read' : 'write']))
  return {
    kind: RELAY_LIST_KIND,
    content: previous?.content ?? '',
    tags: spliceTags(previous, 'r', rTags),
    created_at: createdAtFor(opts, previous),
  }
}

/**
 * Builds one's own NIP-17 DM relay list (kind 10050): one `relay` tag per URL (normalised,
 * duplicates removed), every other tag of `previous` kept in order. NIP-17 advises 1-3 relays.
 *
 * @param urls - the relays to receive private messages on.
 * @param options - `previous` and `createdAt`.
 * @returns an unsigned template, ready for a signer.
 * @throws OutboxError `OUTBOX_RELAY_URL_INVALID` for an invalid URL; TypeError/RangeError for a
 * malformed argument, too many relays, or a `previous` of another kind.
 * @example
 * ```ts
 * import { buildDmRelayListTemplate } from 'nostr-rendezvous/outbox'
 * const template = buildDmRelayListTemplate(['wss://inbox.example.com'], { previous })
 * ```
 */
export function buildDmRelayListTemplate(urls: readonly string[], options?: BuildListOptions): EventTemplate {
  if (!Array.isArray(urls)) throw new TypeError('urls must be an array')
  const opts = checkOptions(options)
  const previous = checkPrevious(opts.previous, DM_RELAY_LIST_KIND)
  const unique = [...new Set(urls.map((url: unknown, i) => ownUrl(url, `urls[${i}]`)))]
  if (unique.length > MAX_RELAY_LIST_ENTRIES) {
    throw new RangeError(`urls must name at most ${MAX_RELAY_LIST_ENTRIES} relays, got ${unique.length}`)
  }
  return {
    kind: DM_RELAY_LIST_KIND,
    content: previous?.content ?? '',
    tags: spliceTags(
      previous,
      'relay',
      unique.map((url) => ['relay', url]),
    ),
    created_at: createdAtFor(opts, previous),
  }
}
