/**
 * Person-relay evidence: everything the library has learned about where each person writes and
 * reads, with where each piece came from and when, kept bounded and persisted.
 *
 * Evidence is kept per (person, relay, source) as `lastAt` (unix seconds) and `count` (how many
 * times it was observed, capped at {@link MAX_EVIDENCE_COUNT}). Two kinds of source behave
 * differently (see {@link EvidenceSource}):
 * - declared sources (NIP-65, the legacy kind 3 relay map, NIP-05) are the person's own statement,
 *   so a newer statement replaces the older one as a whole: a relay dropped from a new list loses
 *   that source. An older list arriving late is ignored.
 * - learned sources (events seen on a relay, relay hints in other people's events) accumulate and
 *   decay; the scorer gives them less weight the older they are.
 *
 * A manual choice (the user's "always" or "never" for reading or for mentions) overrides both.
 *
 * Bounds: at most `maxRelaysPerPerson` relays per person, counting learned relays only against it
 * (declared lists are already capped by their parsers, and manual entries are the user's); when a
 * person goes over, the relays with the weakest learned evidence are forgotten first. At most
 * `maxPeople` people are held in memory (least recently used go first; unsaved ones wait for the
 * next {@link EvidenceStore.flush}).
 *
 * Persistence: one JSON record per person in the storage collection `evidence`, keyed by pubkey,
 * written by `flush()` and read by `load()`. Records read back are validated; a corrupt one is
 * dropped, counted, and overwritten at the next flush, never a crash.
 *
 * @module
 */
import type { NostrEvent } from '../crypto/event.js'
import { nowSeconds } from '../crypto/event.js'
import { OutboxError } from '../errors.js'
import { relayUrlProblem, tryNormalizeRelayUrl } from '../relay-pool/url.js'
import { eventProblem } from '../storage/event-rules.js'
import type { JsonValue, Storage } from '../storage/types.js'
import {
  FOLLOW_LIST_KIND,
  MAX_RELAY_LIST_ENTRIES,
  RELAY_LIST_KIND,
  normalizeCached,
  parseKind3Relays,
  parseRelayList,
  relayHintsFromEvent,
} from './relay-lists.js'
import { type EvidenceSource, type scoreRelays, DECLARED_SOURCES, EVIDENCE_SOURCES, evidenceScore } from './scorer.js'
import { readRecordsSkippingCorrupt } from './stored-records.js'

/** Largest `count` kept for one piece of evidence: the scorer's count factor is flat long before. */
export const MAX_EVIDENCE_COUNT = 1000

/** Version of the persisted record format; records of another version are treated as corrupt. */
export const EVIDENCE_RECORD_VERSION = 1

/** The storage collection evidence is persisted in. */
const COLLECTION = 'evidence'

const HEX64 = /^[0-9a-f]{64}$/

/** One source's evidence for one person on one relay. */
export interface SourceEvidence {
  /** When it was last observed or declared, in unix seconds. */
  readonly lastAt: number
  /** How many times it was observed (1 for declared sources), at most {@link MAX_EVIDENCE_COUNT}. */
  readonly count: number
}

/**
 * The user's choice for one relay of one person: `true` to always use it, `false` to never use it,
 * absent for no opinion. `write` is about reading the person's posts there (their outbox), `read`
 * about sending them mentions there (their inbox).
 */
export interface ManualChoice {
  /** For mentions: send them to this relay (`true`) or never (`false`). */
  readonly read?: boolean
  /** For reading the person's posts: read them here (`true`) or never (`false`). */
  readonly write?: boolean
}

/** Everything known about one person on one relay. */
export interface RelayEvidence {
  /** Normalised relay URL. */
  readonly url: string
  /** The evidence per source. */
  readonly sources: Readonly<Partial<Record<EvidenceSource, SourceEvidence>>>
  /** The user's override, if any. */
  readonly manual?: ManualChoice
}

/** Which version of a declared list was applied: its `created_at` and id. */
export interface ListStamp {
  /** The list event's `created_at`. */
  readonly createdAt: number
  /** The list event's id. */
  readonly id: string
}

/** The declared lists applied for a person. */
export interface DeclaredLists {
  /** The NIP-65 list (kind 10002) the `nip65-*` evidence comes from. */
  readonly nip65?: ListStamp
  /** The follow list (kind 3) whose content map the `kind3-*` evidence comes from. */
  readonly kind3?: ListStamp
  /** When the NIP-05 relays were fetched (unix seconds). */
  readonly nip05?: number
}

/** A snapshot of everything known about one person's relays. */
export interface PersonEvidence {
  /** The person's public key (hex). */
  readonly pubkey: string
  /** Their relays, sorted by URL. */
  readonly relays: readonly RelayEvidence[]
  /** The declared lists applied. */
  readonly lists: DeclaredLists
}

/**
 * What applying a list did: `applied`; `stale` when an as new or newer version was already applied
 * (NIP-01 order: `created_at`, then the lower id); `ignored` when it is not a relay list (wrong kind,
 * malformed, or a follow list whose content holds no relay map).
 */
export type ApplyResult = 'applied' | 'stale' | 'ignored'

/** A manual choice to set: `true`/`false` set it, `null` clears it, absent leaves it as it is. */
export interface ManualInput {
  /** The choice for mentions. */
  readonly read?: boolean | null
  /** The choice for reading the person's posts. */
  readonly write?: boolean | null
}

/** What {@link EvidenceStore.load} found. */
export interface LoadResult {
  /** Records read and accepted. */
  readonly loaded: number
  /** Records dropped because they were corrupt. */
  readonly corrupt: number
}

/** Counters of an {@link EvidenceStore}. */
export interface EvidenceStoreStats {
  /** People held in memory (including unsaved ones waiting for a flush). */
  readonly people: number
  /** People with changes not yet flushed. */
  readonly dirty: number
  /** Corrupt records dropped since the store was created. */
  readonly corruptRecords: number
}

/** Options of {@link createEvidenceStore}. */
export interface EvidenceStoreOptions {
  /**
   * Where evidence is persisted (collection `evidence`). Without it evidence lives in memory only.
   * @default none
   */
  readonly storage?: Storage
  /**
   * Most relays kept per person; learned-only relays over it are forgotten, weakest first.
   * @default 40
   */
  readonly maxRelaysPerPerson?: number
  /**
   * Most people held in memory; the least recently used are dropped (after being saved).
   * @default 20000
   */
  readonly maxPeople?: number
  /**
   * Clock in unix seconds. Evidence dated in the future is clamped to it.
   * @default () => Math.floor(Date.now() / 1000)
   */
  readonly now?: () => number
}

/**
 * The evidence store: feed it what is learned, read it back per person for the scorer. Created by
 * {@link createEvidenceStore}.
 */
export interface EvidenceStore {
  /**
   * Applies a person's NIP-65 list (kind 10002) or the relay map of their follow list (kind 3),
   * replacing the evidence of the older version, unless an as new or newer one was applied.
   *
   * @param event - the list, from the network (a malformed one is `ignored`, never thrown on).
   * @returns `applied`, `stale` or `ignored`.
   */
  applyRelayList(event: NostrEvent): ApplyResult
  /**
   * Replaces a person's NIP-05 relays, unless relays fetched later were applied already.
   *
   * @param pubkey - the person (hex).
   * @param relays - the document's `relays[pubkey]` (see `parseNip05Relays`); invalid URLs are skipped.
   * @param at - when the document was fetched, unix seconds.
   * @returns `applied` or `stale`.
   * @throws TypeError for a malformed pubkey, array or time.
   */
  applyNip05(pubkey: string, relays: readonly string[], at: number): ApplyResult
  /**
   * Records a relay hint about a person (see `relayHintsFromEvent`).
   *
   * @param pubkey - the person the hint is about.
   * @param url - the hinted relay.
   * @param source - `nip19-hint` or `tag-hint`.
   * @param at - when the hint was written (the event's `created_at`); the future is clamped to now.
   * @returns whether it was kept: invalid input is skipped, and a hint weaker than everything else
   * known about an already full person is forgotten at once.
   * @throws TypeError for an unknown source.
   */
  addHint(pubkey: string, url: string, source: 'nip19-hint' | 'tag-hint', at: number): boolean
  /**
   * Records that an event by `pubkey` was received from `url` (wire it to the pool's `onEventSeen`).
   *
   * @param pubkey - the event's author.
   * @param url - the relay it came from.
   * @param at - the event's `created_at`; the future is clamped to now.
   * @returns whether it was kept (invalid input is skipped).
   */
  addSeen(pubkey: string, url: string, at: number): boolean
  /**
   * `addSeen` for the event's author plus `addHint` for every hint it carries about a person.
   *
   * @param event - an event received from `relay`.
   * @param relay - the relay it came from.
   * @returns how many pieces of evidence were kept.
   */
  observeEvent(event: NostrEvent, relay: string): number
  /**
   * Sets or clears the user's choice for one relay of one person.
   *
   * @param pubkey - the person.
   * @param url - the relay.
   * @param choice - `write` (reading their posts) and/or `read` (mentions): `true` always use,
   * `false` never use, `null` clear, absent unchanged.
   * @throws OutboxError `OUTBOX_RELAY_URL_INVALID` for an invalid URL; TypeError for a malformed
   * pubkey or choice.
   */
  setManual(pubkey: string, url: string, choice: ManualInput): void
  /**
   * A snapshot of what is known about a person, for {@link scoreRelays}.
   *
   * @param pubkey - the person.
   * @returns their evidence (no relays when nothing is known or they were not loaded).
   * @throws TypeError for a malformed pubkey.
   */
  evidenceFor(pubkey: string): PersonEvidence
  /**
   * Whether anything about the person is held in memory.
   *
   * @param pubkey - the person.
   * @returns `true` when they are in memory.
   */
  has(pubkey: string): boolean
  /**
   * Reads people's records from storage, merging them with what was learned meanwhile. People
   * already loaded are skipped; without storage this does nothing.
   *
   * @param pubkeys - the people about to be scored.
   * @returns how many records were read and how many were corrupt (and dropped).
   * @throws TypeError for a malformed pubkey; the storage's errors other than `STORAGE_CORRUPT`.
   */
  load(pubkeys: readonly string[]): Promise<LoadResult>
  /**
   * Writes every changed person to storage in one batch; on failure the changes stay for the next
   * flush. Flushes run one at a time.
   *
   * @returns how many records were written.
   * @throws the storage's errors (`STORAGE_WRITE_FAILED`, `STORAGE_FULL`, `STORAGE_CLOSED`, ...).
   */
  flush(): Promise<number>
  /**
   * Counters.
   *
   * @returns people in memory, unsaved people, corrupt records dropped.
   */
  stats(): EvidenceStoreStats
}

// ---- internal state --------------------------------------------------------------------------------

interface SourceState {
  lastAt: number
  count: number
}

interface RelayState {
  sources: Partial<Record<EvidenceSource, SourceState>>
  manual: { read?: boolean; write?: boolean } | undefined
}

interface PersonState {
  lists: { nip65?: ListStamp; kind3?: ListStamp; nip05?: number }
  relays: Map<string, RelayState>
  /** Whether the stored record (if any) has been merged in, so a flush cannot clobber it. */
  loaded: boolean
}

/** A declared list and the sources it provides. */
type ListName = 'nip65' | 'kind3'
const LIST_SOURCES: Readonly<Record<ListName, readonly [EvidenceSource, EvidenceSource]>> = {
  nip65: ['nip65-read', 'nip65-write'],
  kind3: ['kind3-read', 'kind3-write'],
}
const DECLARED = new Set<string>(DECLARED_SOURCES)
const KNOWN = new Set<string>(EVIDENCE_SOURCES)

function newPerson(loaded: boolean): PersonState {
  return { lists: {}, relays: new Map(), loaded }
}

function isEmptyRelay(relay: RelayState): boolean {
  return relay.manual === undefined && Object.keys(relay.sources).length === 0
}

function isLearnedOnly(relay: RelayState): boolean {
  if (relay.manual !== undefined) return false
  for (const source of Object.keys(relay.sources)) if (DECLARED.has(source)) return false
  return true
}

function relayOf(person: PersonState, url: string): RelayState {
  let relay = person.relays.get(url)
  if (relay === undefined) {
    relay = { sources: {}, manual: undefined }
    person.relays.set(url, relay)
  }
  return relay
}

/**
 * Replaces every relay's `sources` with `fresh` (url → the sources it now has), dated `at`, and
 * drops relays left with nothing.
 */
function replaceDeclared(person: PersonState, sources: readonly EvidenceSource[], fresh: ReadonlyMap<string, readonly EvidenceSource[]>, at: number): void {
  for (const [url, relay] of person.relays) {
    for (const source of sources) delete relay.sources[source]
    if (!fresh.has(url) && isEmptyRelay(relay)) person.relays.delete(url)
  }
  for (const [url, given] of fresh) {
    const relay = relayOf(person, url)
    for (const source of given) relay.sources[source] = { lastAt: at, count: 1 }
  }
}

function toView(url: string, relay: RelayState): RelayEvidence {
  const sources: Partial<Record<EvidenceSource, SourceEvidence>> = {}
  for (const [source, e] of Object.entries(relay.sources) as [EvidenceSource, SourceState][]) sources[source] = { lastAt: e.lastAt, count: e.count }
  return relay.manual === undefined ? { url, sources } : { url, sources, manual: { ...relay.manual } }
}

function byUrl(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

// ---- the persisted record ---------------------------------------------------------------------

function encode(person: PersonState): JsonValue {
  const lists: Record<string, JsonValue> = {}
  if (person.lists.nip65) lists.nip65 = [person.lists.nip65.createdAt, person.lists.nip65.id]
  if (person.lists.kind3) lists.kind3 = [person.lists.kind3.createdAt, person.lists.kind3.id]
  if (person.lists.nip05 !== undefined) lists.nip05 = person.lists.nip05
  const relays: Record<string, JsonValue> = {}
  for (const url of [...person.relays.keys()].sort(byUrl)) {
    const relay = person.relays.get(url)!
    const s: Record<string, JsonValue> = {}
    for (const [source, e] of Object.entries(relay.sources) as [string, SourceState][]) s[source] = [e.lastAt, e.count]
    const entry: Record<string, JsonValue> = { s }
    if (relay.manual !== undefined) entry.m = { ...relay.manual }
    relays[url] = entry
  }
  return { v: EVIDENCE_RECORD_VERSION, lists, relays }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isTimestamp(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0
}

function decodeStamp(value: unknown): ListStamp | undefined | false {
  if (value === undefined) return undefined
  if (!Array.isArray(value) || value.length !== 2 || !isTimestamp(value[0]) || typeof value[1] !== 'string' || !HEX64.test(value[1])) return false
  return { createdAt: value[0], id: value[1] }
}

function decodeRelay(value: unknown): RelayState | undefined {
  if (!isPlainObject(value) || !isPlainObject(value.s)) return undefined
  const sources: Partial<Record<EvidenceSource, SourceState>> = {}
  for (const [source, e] of Object.entries(value.s)) {
    if (!KNOWN.has(source) || !Array.isArray(e) || e.length !== 2 || !isTimestamp(e[0])) return undefined
    const count = e[1]
    if (!Number.isSafeInteger(count) || count < 1 || count > MAX_EVIDENCE_COUNT) return undefined
    sources[source as EvidenceSource] = { lastAt: e[0], count }
  }
  let manual: RelayState['manual']
  if (value.m !== undefined) {
    if (!isPlainObject(value.m)) return undefined
    const { read, write } = value.m
    if ((read !== undefined && typeof read !== 'boolean') || (write !== undefined && typeof write !== 'boolean')) return undefined
    if (read === undefined && write === undefined) return undefined
    manual = {}
    if (read !== undefined) manual.read = read
    if (write !== undefined) manual.write = write
  }
  const relay: RelayState = { sources, manual }
  return isEmptyRelay(relay) ? undefined : relay
}

/** A stored record turned back into state, or undefined when it is not one this code wrote. */
function decode(value: unknown): PersonState | undefined {
  if (!isPlainObject(value) || value.v !== EVIDENCE_RECORD_VERSION || !isPlainObject(value.lists) || !isPlainObject(value.relays)) return undefined
  const person = newPerson(true)
  const nip65 = decodeStamp(value.lists.nip65)
  const kind3 = decodeStamp(value.lists.kind3)
  if (nip65 === false || kind3 === false) return undefined
  if (nip65) person.lists.nip65 = nip65
  if (kind3) person.lists.kind3 = kind3
  if (value.lists.nip05 !== undefined) {
    if (!isTimestamp(value.lists.nip05)) return undefined
    person.lists.nip05 = value.lists.nip05
  }
  for (const [url, raw] of Object.entries(value.relays)) {
    if (tryNormalizeRelayUrl(url) !== url) return undefined
    const relay = decodeRelay(raw)
    if (relay === undefined) return undefined
    // Declared evidence without the list it came from cannot be replaced correctly later.
    const s = relay.sources
    if ((s['nip65-read'] || s['nip65-write']) && !nip65) return undefined
    if ((s['kind3-read'] || s['kind3-write']) && !kind3) return undefined
    if (s.nip05 && person.lists.nip05 === undefined) return undefined
    person.relays.set(url, relay)
  }
  return person
}

function stampNewer(a: ListStamp, b: ListStamp): boolean {
  return a.createdAt > b.createdAt || (a.createdAt === b.createdAt && a.id < b.id)
}

/** Folds a stored record into state learned since start-up; the newer declaration of each list wins. */
function merge(current: PersonState, stored: PersonState): void {
  for (const name of ['nip65', 'kind3'] as const) {
    const theirs = stored.lists[name]
    const ours = current.lists[name]
    if (theirs === undefined || (ours !== undefined && !stampNewer(theirs, ours))) continue
    const fresh = new Map<string, EvidenceSource[]>()
    for (const [url, relay] of stored.relays) {
      const given = LIST_SOURCES[name].filter((source) => relay.sources[source] !== undefined)
      if (given.length > 0) fresh.set(url, given)
    }
    replaceDeclared(current, LIST_SOURCES[name], fresh, 0)
    // replaceDeclared dated them 0: copy the stored dates instead.
    for (const [url, given] of fresh) for (const source of given) current.relays.get(url)!.sources[source] = { ...stored.relays.get(url)!.sources[source]! }
    current.lists[name] = theirs
  }
  if (stored.lists.nip05 !== undefined && (current.lists.nip05 === undefined || stored.lists.nip05 > current.lists.nip05)) {
    const fresh = new Map<string, EvidenceSource[]>()
    for (const [url, relay] of stored.relays) if (relay.sources.nip05) fresh.set(url, ['nip05'])
    replaceDeclared(current, ['nip05'], fresh, stored.lists.nip05)
    current.lists.nip05 = stored.lists.nip05
  }
  for (const [url, relay] of stored.relays) {
    for (const [source, e] of Object.entries(relay.sources) as [EvidenceSource, SourceState][]) {
      if (DECLARED.has(source)) continue
      const target = relayOf(current, url)
      const mine = target.sources[source]
      // Max, not sum: the same sighting may be in both (saved, then seen again before loading).
      target.sources[source] = mine ? { lastAt: Math.max(mine.lastAt, e.lastAt), count: Math.max(mine.count, e.count) } : { ...e }
    }
    if (relay.manual !== undefined) {
      const target = relayOf(current, url)
      target.manual ??= { ...relay.manual }
    }
  }
}

// ---- the store ------------------------------------------------------------------------------------

function checkPubkey(pubkey: unknown, field = 'pubkey'): asserts pubkey is string {
  if (typeof pubkey !== 'string' || !HEX64.test(pubkey)) throw new TypeError(`${field} must be 64 lower-case hex characters`)
}

function positiveInt(value: unknown, field: string, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number') throw new TypeError(`${field} must be a number, got ${typeof value}`)
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${field} must be a positive integer, got ${value}`)
  return value
}

class Store implements EvidenceStore {
  readonly #storage: Storage | undefined
  readonly #maxRelays: number
  readonly #maxPeople: number
  readonly #clock: () => number
  // Insertion order is recency order: a touched person is deleted and set again.
  readonly #people = new Map<string, PersonState>()
  // People pushed out of memory before their changes were saved; written by the next flush.
  readonly #evicted = new Map<string, PersonState>()
  readonly #dirty = new Set<string>()
  #corrupt = 0
  #flushing: Promise<unknown> = Promise.resolve()

  constructor(options: EvidenceStoreOptions) {
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object')
    const { storage, now = nowSeconds } = options
    if (storage !== undefined && (typeof storage !== 'object' || storage === null || typeof storage.getRecords !== 'function')) {
      throw new TypeError('storage must be a Storage')
    }
    if (typeof now !== 'function') throw new TypeError('now must be a function')
    this.#storage = storage
    this.#maxRelays = positiveInt(options.maxRelaysPerPerson, 'maxRelaysPerPerson', 40)
    this.#maxPeople = positiveInt(options.maxPeople, 'maxPeople', 20_000)
    this.#clock = now
  }

  #now(): number {
    const t = this.#clock()
    return Number.isFinite(t) ? Math.floor(t) : nowSeconds()
  }

  /** A time from the network as a stored timestamp: an integer in [0, now]. */
  #clampAt(at: number): number {
    return Math.min(Math.max(0, Math.floor(at)), this.#now())
  }

  #peek(pubkey: string): PersonState | undefined {
    return this.#people.get(pubkey) ?? this.#evicted.get(pubkey)
  }

  /** The person's state as the most recently used, created when absent. */
  #touch(pubkey: string): PersonState {
    let person = this.#people.get(pubkey)
    if (person !== undefined) {
      this.#people.delete(pubkey)
    } else {
      person = this.#evicted.get(pubkey) ?? newPerson(this.#storage === undefined)
      this.#evicted.delete(pubkey)
    }
    this.#insert(pubkey, person)
    return person
  }

  #insert(pubkey: string, person: PersonState): void {
    this.#people.set(pubkey, person)
    while (this.#people.size > this.#maxPeople) {
      const oldest = this.#people.keys().next().value as string
      const state = this.#people.get(oldest)!
      this.#people.delete(oldest)
      if (this.#dirty.has(oldest)) this.#evicted.set(oldest, state)
    }
  }

  #changed(pubkey: string, person: PersonState): void {
    this.#enforceBound(person)
    if (this.#storage !== undefined) this.#dirty.add(pubkey)
  }

  /** Forgets the weakest learned-only relays until the person is within the bound. */
  #enforceBound(person: PersonState): void {
    if (person.relays.size <= this.#maxRelays) return
    const now = this.#now()
    const candidates: { url: string; strength: number }[] = []
    for (const [url, relay] of person.relays) {
      if (!isLearnedOnly(relay)) continue
      const view = { url, sources: relay.sources }
      candidates.push({ url, strength: Math.max(evidenceScore(view, 'outbox', now), evidenceScore(view, 'inbox', now)) })
    }
    candidates.sort((a, b) => a.strength - b.strength || byUrl(a.url, b.url))
    let excess = person.relays.size - this.#maxRelays
    for (const { url } of candidates) {
      if (excess-- <= 0) break
      person.relays.delete(url)
    }
  }

  applyRelayList(event: NostrEvent): ApplyResult {
    if (eventProblem(event) !== undefined) return 'ignored'
    let name: ListName
    let entries: readonly { url: string; read: boolean; write: boolean }[]
    if (event.kind === RELAY_LIST_KIND) {
      name = 'nip65'
      entries = parseRelayList(event).entries
    } else if (event.kind === FOLLOW_LIST_KIND) {
      const legacy = parseKind3Relays(event)
      if (legacy === undefined) return 'ignored'
      name = 'kind3'
      entries = legacy.entries
    } else return 'ignored'
    const stamp: ListStamp = { createdAt: event.created_at, id: event.id }
    const previous = this.#peek(event.pubkey)?.lists[name]
    if (previous !== undefined && !stampNewer(stamp, previous)) return 'stale'
    const person = this.#touch(event.pubkey)
    const [readSource, writeSource] = LIST_SOURCES[name]
    const fresh = new Map<string, EvidenceSource[]>()
    for (const e of entries) fresh.set(e.url, [...(e.read ? [readSource] : []), ...(e.write ? [writeSource] : [])])
    replaceDeclared(person, LIST_SOURCES[name], fresh, this.#clampAt(event.created_at))
    person.lists[name] = stamp
    this.#changed(event.pubkey, person)
    return 'applied'
  }

  applyNip05(pubkey: string, relays: readonly string[], at: number): ApplyResult {
    checkPubkey(pubkey)
    if (!Array.isArray(relays)) throw new TypeError('relays must be an array')
    if (typeof at !== 'number' || !Number.isFinite(at)) throw new TypeError('at must be a finite number of unix seconds')
    const stamp = this.#clampAt(at)
    const previous = this.#peek(pubkey)?.lists.nip05
    if (previous !== undefined && stamp < previous) return 'stale'
    const fresh = new Map<string, EvidenceSource[]>()
    for (const raw of relays) {
      if (fresh.size >= MAX_RELAY_LIST_ENTRIES) break
      const url = normalizeCached(raw)
      if (url !== undefined) fresh.set(url, ['nip05'])
    }
    const person = this.#touch(pubkey)
    replaceDeclared(person, ['nip05'], fresh, stamp)
    person.lists.nip05 = stamp
    this.#changed(pubkey, person)
    return 'applied'
  }

  #learn(pubkey: unknown, rawUrl: unknown, source: EvidenceSource, at: unknown): boolean {
    if (typeof pubkey !== 'string' || !HEX64.test(pubkey)) return false
    if (typeof at !== 'number' || !Number.isFinite(at)) return false
    const url = normalizeCached(rawUrl)
    if (url === undefined) return false
    const person = this.#touch(pubkey)
    const relay = relayOf(person, url)
    const when = this.#clampAt(at)
    const known = relay.sources[source]
    relay.sources[source] = known
      ? { lastAt: Math.max(known.lastAt, when), count: Math.min(MAX_EVIDENCE_COUNT, known.count + 1) }
      : { lastAt: when, count: 1 }
    this.#changed(pubkey, person)
    // The new relay may have been the weakest, and forgotten at once.
    return person.relays.has(url)
  }

  addHint(pubkey: string, url: string, source: 'nip19-hint' | 'tag-hint', at: number): boolean {
    if (source !== 'nip19-hint' && source !== 'tag-hint') throw new TypeError(`source must be 'nip19-hint' or 'tag-hint', got ${String(source)}`)
    return this.#learn(pubkey, url, source, at)
  }

  addSeen(pubkey: string, url: string, at: number): boolean {
    return this.#learn(pubkey, url, 'seen', at)
  }

  observeEvent(event: NostrEvent, relay: string): number {
    if (typeof event !== 'object' || event === null) return 0
    let kept = this.addSeen(event.pubkey, relay, event.created_at) ? 1 : 0
    for (const hint of relayHintsFromEvent(event)) {
      if (hint.pubkey !== undefined && this.#learn(hint.pubkey, hint.url, hint.source, event.created_at)) kept++
    }
    return kept
  }

  setManual(pubkey: string, url: string, choice: ManualInput): void {
    checkPubkey(pubkey)
    if (typeof url !== 'string') throw new TypeError(`url must be a string, got ${typeof url}`)
    if (typeof choice !== 'object' || choice === null) throw new TypeError('choice must be an object')
    for (const key of ['read', 'write'] as const) {
      const v = choice[key]
      if (v !== undefined && v !== null && typeof v !== 'boolean') throw new TypeError(`choice.${key} must be a boolean, null or undefined`)
    }
    const normalized = tryNormalizeRelayUrl(url)
    if (normalized === undefined) {
      throw new OutboxError('OUTBOX_RELAY_URL_INVALID', 'Relay URL is not valid', { details: `url: ${relayUrlProblem(url) ?? 'invalid'}` })
    }
    const person = this.#touch(pubkey)
    const relay = relayOf(person, normalized)
    const manual = { ...relay.manual }
    for (const key of ['read', 'write'] as const) {
      const v = choice[key]
      if (v === null) delete manual[key]
      else if (v !== undefined) manual[key] = v
    }
    relay.manual = manual.read === undefined && manual.write === undefined ? undefined : manual
    if (isEmptyRelay(relay)) person.relays.delete(normalized)
    this.#changed(pubkey, person)
  }

  evidenceFor(pubkey: string): PersonEvidence {
    checkPubkey(pubkey)
    const person = this.#people.has(pubkey) || this.#evicted.has(pubkey) ? this.#touch(pubkey) : undefined
    if (person === undefined) return { pubkey, relays: [], lists: {} }
    const relays = [...person.relays.keys()].sort(byUrl).map((url) => toView(url, person.relays.get(url)!))
    return { pubkey, relays, lists: { ...person.lists } }
  }

  has(pubkey: string): boolean {
    return this.#peek(pubkey) !== undefined
  }

  async load(pubkeys: readonly string[]): Promise<LoadResult> {
    if (!Array.isArray(pubkeys)) throw new TypeError('pubkeys must be an array')
    pubkeys.forEach((p, i) => checkPubkey(p, `pubkeys[${i}]`))
    const storage = this.#storage
    if (storage === undefined) return { loaded: 0, corrupt: 0 }
    const wanted = [...new Set(pubkeys)].filter((p) => !(this.#peek(p)?.loaded ?? false))
    if (wanted.length === 0) return { loaded: 0, corrupt: 0 }
    const { records, corrupt: unreadable } = await readRecordsSkippingCorrupt(storage, COLLECTION, wanted)
    let loaded = 0
    let corrupt = unreadable.size
    for (const pubkey of wanted) {
      const current = this.#peek(pubkey)
      // Another load finished first while this one waited.
      if (current?.loaded) continue
      const raw = records.get(pubkey)
      const stored = raw === undefined ? undefined : decode(raw)
      const bad = unreadable.has(pubkey) || (raw !== undefined && stored === undefined)
      if (raw !== undefined && stored === undefined) corrupt++
      if (stored !== undefined) loaded++
      const person = current ?? newPerson(true)
      if (stored !== undefined) merge(person, stored)
      person.loaded = true
      if (current === undefined) this.#insert(pubkey, person)
      this.#enforceBound(person)
      // A corrupt record is overwritten with what is known now, so it is not read again.
      if (bad) this.#dirty.add(pubkey)
    }
    this.#corrupt += corrupt
    return { loaded, corrupt }
  }

  flush(): Promise<number> {
    // One flush at a time, so an older snapshot never lands after a newer one.
    const run = this.#flushing.then(
      () => this.#flush(),
      () => this.#flush(),
    )
    this.#flushing = run.catch(() => undefined)
    return run
  }

  async #flush(): Promise<number> {
    const storage = this.#storage
    if (storage === undefined || this.#dirty.size === 0) return 0
    // Merge what is stored first, or the write would replace it with a partial picture.
    const unloaded = [...this.#dirty].filter((p) => !(this.#peek(p)?.loaded ?? true))
    if (unloaded.length > 0) await this.load(unloaded)
    const batch = [...this.#dirty]
    const entries: [string, JsonValue][] = []
    for (const pubkey of batch) {
      const person = this.#peek(pubkey)
      if (person !== undefined) entries.push([pubkey, encode(person)])
    }
    this.#dirty.clear()
    try {
      await storage.putRecords(COLLECTION, entries)
    } catch (error) {
      for (const pubkey of batch) this.#dirty.add(pubkey)
      throw error
    }
    for (const pubkey of batch) if (!this.#dirty.has(pubkey)) this.#evicted.delete(pubkey)
    return entries.length
  }

  stats(): EvidenceStoreStats {
    return { people: this.#people.size + this.#evicted.size, dirty: this.#dirty.size, corruptRecords: this.#corrupt }
  }
}

/**
 * Creates an evidence store, in memory or persisted through a `Storage` adapter.
 *
 * Feed it relay lists (`applyRelayList`, `applyNip05`), what the pool sees (`observeEvent` from the
 * pool's `onEventSeen`), and the user's choices (`setManual`); read one person's evidence with
 * `evidenceFor` and score it with `scoreRelays`. With storage, call `load` for the people about to
 * be scored and `flush` from time to time (and before closing).
 *
 * @param options - storage, bounds and clock.
 * @returns a new store.
 * @throws TypeError/RangeError for a malformed option.
 * @example
 * ```ts
 * import { createEvidenceStore, scoreRelays } from 'nostr-rendezvous/outbox'
 * import { memoryStorage } from 'nostr-rendezvous/storage'
 * const store = createEvidenceStore({ storage: memoryStorage() })
 * await store.load([alice])
 * store.applyRelayList(aliceRelayList)
 * const outboxes = scoreRelays(store.evidenceFor(alice), { purpose: 'outbox', now: Math.floor(Date.now() / 1000) })
 * await store.flush()
 * ```
 */
export function createEvidenceStore(options: EvidenceStoreOptions = {}): EvidenceStore {
  return new Store(options)
}
