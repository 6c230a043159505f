/**
 * The client's NIP-51 lists: mutes, bookmarks, pinned notes, blocked relays, search relays,
 * follow sets, relay sets, and any other list kind through `get` / `sets` / `edit`. Reads take the
 * newest copy from the person's outboxes and the indexers; edits of the user's lists start from the
 * newest copy found on several relays, keep every tag and private entry they do not change, write
 * private entries with NIP-44 to the user, and run one at a time per list. Internal: the public
 * face is `client.lists`.
 *
 * Spec: https://github.com/nostr-protocol/nips/blob/master/51.md (deletion of sets: NIP-09).
 *
 * @module
 */
import type { NostrEvent } from '../crypto/event.js'
import { decode } from '../crypto/nip19.js'
import { isValidPublicKey } from '../crypto/keys.js'
import { ClientError, isRendezvousError } from '../errors.js'
import {
  LIST_KINDS,
  applyListChange,
  isListSetKind,
  isStandardListKind,
  listTemplate,
  parseList,
  type ListChange,
  type ParsedList,
  type PrivateState,
} from '../outbox/lists.js'
import type { PublishTarget } from '../outbox/publish-queue.js'
import { ownRelayUrls } from '../outbox/relay-lists.js'
import type { PublishPlan } from '../outbox/router.js'
import { tryNormalizeRelayUrl } from '../relay-pool/url.js'
import { abortError, type ClientContext, optionalMe } from './context.js'
import { parseEventRef, parsePerson } from './identifiers.js'
import { cipherOf, findLists, learnOwnList, listState, newestSetDeletion, parseOwnAware, relayValues, setAddress } from './list-store.js'
import { deliver, ensureLists, signTemplate } from './publish.js'
import type { EditOptions, PublishResult, ReadOptions } from './types.js'

// ---- public types --------------------------------------------------------------------------------

/** Options of list reads. */
export interface ListReadOptions extends ReadOptions {
  /** Whose list: hex, `npub` or `nprofile` (its relays are asked too). @default the user */
  readonly person?: string
}

/** Options of list edits. */
export interface ListEditOptions extends EditOptions {
  /**
   * Add the entries privately: encrypted (NIP-44, to the user) in the list's content, where only
   * the user's signer can read them. An entry already there on the other side moves.
   * @default false
   */
  readonly private?: boolean
}

/** One entry of a list. */
export interface ListEntry {
  /** The tag as written (`['p', pubkey]`, `['relay', url]`, ...). */
  readonly tag: readonly string[]
  /** `tag[1]`: the pubkey, hashtag, word, id, address, URL. */
  readonly value: string
  /** Read from the encrypted content (only the owner sees it). */
  readonly private: boolean
}

/** A NIP-51 list as the client reads it. */
export interface UserList {
  readonly kind: number
  /** The owner. */
  readonly pubkey: string
  /** The newest copy found; `undefined` when the person has none (then there are no entries). */
  readonly event: NostrEvent | undefined
  /** A set's `d` identifier. */
  readonly identifier?: string
  readonly title?: string
  readonly description?: string
  readonly image?: string
  /** Every entry: the public ones in tag order, then the private ones in order. Set metadata is not an entry. */
  readonly entries: readonly ListEntry[]
  /**
   * What became of the private part: `none`, `nip44`, `nip04` (read), `plain` (text kept as is),
   * `locked` (someone else's, or no signer), `unreadable` (decryption or parsing failed: edits are
   * refused with `CLIENT_LIST_UNREADABLE`).
   */
  readonly privateState: PrivateState
}

/** The mute list (kind 10000). */
export interface MuteList extends UserList {
  /** Muted people (`p`). */
  readonly people: readonly ListEntry[]
  /** Muted hashtags (`t`). */
  readonly hashtags: readonly ListEntry[]
  /** Muted words (`word`). */
  readonly words: readonly ListEntry[]
  /** Muted threads (`e`). */
  readonly threads: readonly ListEntry[]
}

/** The bookmarks list (kind 10003) or a bookmark set (30003). */
export interface Bookmarks extends UserList {
  /** Bookmarked events (`e`). */
  readonly notes: readonly ListEntry[]
  /** Bookmarked addressable events, e.g. articles (`a`, `kind:pubkey:d`). */
  readonly addresses: readonly ListEntry[]
  /** Bookmarked hashtags (`t`). */
  readonly hashtags: readonly ListEntry[]
  /** Bookmarked web pages (`r`). */
  readonly urls: readonly ListEntry[]
}

/** The pinned notes (kind 10001). */
export interface PinnedNotes extends UserList {
  readonly notes: readonly ListEntry[]
}

/** A list of relays: blocked relays (10006), search relays (10007), a relay set (30002). */
export interface RelayUrlList extends UserList {
  /** The `relay` entries. */
  readonly relays: readonly ListEntry[]
  /** Their URLs, normalised, public then private, each once (invalid ones left out). */
  readonly urls: readonly string[]
}

/** A follow set (kind 30000). */
export interface FollowSet extends UserList {
  readonly identifier: string
  readonly people: readonly ListEntry[]
}

/** A relay set (kind 30002). */
export interface RelaySet extends RelayUrlList {
  readonly identifier: string
}

/** Things to mute or unmute. */
export interface MuteItems {
  /** People: hex, `npub`, `nprofile`. */
  readonly people?: readonly string[]
  /** Hashtags, with or without `#` (stored lower-case). */
  readonly hashtags?: readonly string[]
  /** Words: an event whose content contains one (any case) is hidden. Stored lower-case. */
  readonly words?: readonly string[]
  /** Threads: the root (or any event) as hex id, `note` or `nevent`. */
  readonly threads?: readonly string[]
}

/** Things to bookmark or unbookmark. */
export interface BookmarkItems {
  /** Events: hex id, `note` or `nevent` (its first relay is kept as a hint). */
  readonly notes?: readonly string[]
  /** Addressable events: `kind:pubkey:d` or `naddr` (its first relay is kept as a hint). */
  readonly addresses?: readonly string[]
  readonly hashtags?: readonly string[]
  /** Web pages: `http(s)://` URLs. */
  readonly urls?: readonly string[]
}

/** Metadata of a set: a string sets, `null` removes, absent leaves as is. */
export interface SetMetadataChange {
  readonly title?: string | null
  readonly description?: string | null
  readonly image?: string | null
}

/** A change of a follow set. */
export interface FollowSetChange extends SetMetadataChange {
  /** People to add: hex, `npub`, `nprofile` (its first relay is kept as a hint). */
  readonly add?: readonly string[]
  readonly remove?: readonly string[]
}

/** A change of a relay set. */
export interface RelaySetChange extends SetMetadataChange {
  readonly add?: readonly string[]
  readonly remove?: readonly string[]
}

/** What an edit of a list returns: the publish result and the list as published. */
export interface ListEditResult extends PublishResult {
  readonly list: UserList
}

/** The client's NIP-51 lists (follow sets, bookmarks, pins, mutes, relay sets, blocked and search relays). */
export interface ListsApi {
  /**
   * Any list: the newest copy of a standard list (10000-19999) or of one set (30000-39999, with
   * `identifier`), from the person's outboxes, the indexers and storage. The user's own lists have
   * their private entries decrypted when a signer is there.
   *
   * @param kind - the list kind.
   * @param options - `person` (default the user), `identifier` (sets), `relays`, `signal`.
   * @returns the list (no entries and `event: undefined` when none exists).
   * @throws TypeError for a kind that is not a list, a set without identifier, a malformed person;
   * ClientError `CLIENT_NO_SIGNER` (no person and no user), `CLIENT_ABORTED`, `CLIENT_CLOSED`.
   * @example
   * ```ts
   * const interests = await client.lists.get(10015)
   * const friends = await client.lists.get(30000, { identifier: 'friends', person: 'npub1...' })
   * ```
   */
  get(kind: number, options?: ListReadOptions & { readonly identifier?: string }): Promise<UserList>
  /**
   * Every set of one kind a person has (newest copy of each `d`), sets deleted by NIP-09 left out.
   *
   * @param kind - a set kind (30000-39999).
   * @param options - `person`, `relays`, `signal`.
   * @returns the sets, newest first.
   * @throws as {@link ListsApi.get}.
   * @example
   * ```ts
   * for (const set of await client.lists.sets(30003)) console.log(set.title, set.entries.length)
   * ```
   */
  sets(kind: number, options?: ListReadOptions): Promise<UserList[]>
  /**
   * Edits one of the user's lists without clobbering it: the newest copy is looked for on the
   * indexers and the user's outboxes, inboxes and DM relays first (`minAnswers` of them must
   * answer), every tag and private entry the change does not touch is kept in order, private
   * entries are written with NIP-44. Edits of one list run one after another.
   *
   * @param kind - the list kind.
   * @param change - entries to add (public or private), remove, clear; set metadata.
   * @param options - `identifier` (sets), `minAnswers`, `pow`, `signal`.
   * @returns the publish result and the list as published.
   * @throws TypeError for a malformed change; ClientError `CLIENT_LIST_UNREADABLE` (the private
   * part of the newest copy cannot be decrypted or parsed: nothing is sent), `CLIENT_NO_SIGNER`,
   * `CLIENT_NO_TARGETS`, `CLIENT_ABORTED`, `CLIENT_CLOSED`; OutboxError `TRACKER_UNCONFIRMED`.
   * @example
   * ```ts
   * await client.lists.edit(10015, { add: [['t', 'nostr']] })
   * await client.lists.edit(30003, { addPrivate: [['e', noteId]], title: 'Read later' }, { identifier: 'later' })
   * ```
   */
  edit(kind: number, change: ListChange, options?: EditOptions & { readonly identifier?: string }): Promise<ListEditResult>
  /**
   * Deletes one of the user's sets with a NIP-09 deletion (kind 5 naming the set's coordinate in
   * an `a` tag, and its kind in `k`), dated no earlier than the newest version found, so relays
   * drop every version. Reads here hide the set from then on.
   *
   * @param kind - a set kind.
   * @param identifier - the set's `d`.
   * @param options - `minAnswers`, `pow`, `signal`.
   * @returns the publish result of the deletion.
   * @throws as {@link ListsApi.edit}.
   * @example
   * ```ts
   * await client.lists.deleteSet(30000, 'old-friends')
   * ```
   */
  deleteSet(kind: number, identifier: string, options?: EditOptions): Promise<PublishResult>

  /**
   * The mute list (kind 10000): people, hashtags, words, threads. Feeds and threads hide what it
   * names (see `FeedOptions.mutes`).
   *
   * @param options - `person`, `relays`, `signal`.
   * @returns the list.
   * @throws as {@link ListsApi.get}.
   * @example
   * ```ts
   * const { people, words } = await client.lists.mutes()
   * ```
   */
  mutes(options?: ListReadOptions): Promise<MuteList>
  /**
   * Mutes people, hashtags, words or threads (appended; already muted ones stay).
   *
   * @param items - what to mute.
   * @param options - `private` (hide the entries from everyone else), `minAnswers`, `pow`, `signal`.
   * @returns the publish result and the list as published.
   * @throws as {@link ListsApi.edit}.
   * @example
   * ```ts
   * await client.lists.mute({ people: ['npub1...'], words: ['giveaway'] }, { private: true })
   * ```
   */
  mute(items: MuteItems, options?: ListEditOptions): Promise<ListEditResult>
  /**
   * Unmutes (public or private entries alike).
   *
   * @param items - what to unmute.
   * @param options - `minAnswers`, `pow`, `signal`.
   * @returns the publish result and the list as published.
   * @throws as {@link ListsApi.edit}.
   * @example
   * ```ts
   * await client.lists.unmute({ hashtags: ['bitcoin'] })
   * ```
   */
  unmute(items: MuteItems, options?: EditOptions): Promise<ListEditResult>

  /**
   * The bookmarks (kind 10003).
   *
   * @param options - `person`, `relays`, `signal`.
   * @returns the list.
   * @throws as {@link ListsApi.get}.
   * @example
   * ```ts
   * const { notes, addresses } = await client.lists.bookmarks()
   * ```
   */
  bookmarks(options?: ListReadOptions): Promise<Bookmarks>
  /**
   * Bookmarks events, articles, hashtags or web pages.
   *
   * @param items - what to bookmark.
   * @param options - `private`, `minAnswers`, `pow`, `signal`.
   * @returns the publish result and the list as published.
   * @throws as {@link ListsApi.edit}.
   * @example
   * ```ts
   * await client.lists.bookmark({ notes: ['nevent1...'] }, { private: true })
   * ```
   */
  bookmark(items: BookmarkItems, options?: ListEditOptions): Promise<ListEditResult>
  /**
   * Removes bookmarks.
   *
   * @param items - what to remove.
   * @param options - `minAnswers`, `pow`, `signal`.
   * @returns the publish result and the list as published.
   * @throws as {@link ListsApi.edit}.
   * @example
   * ```ts
   * await client.lists.unbookmark({ notes: ['note1...'] })
   * ```
   */
  unbookmark(items: BookmarkItems, options?: EditOptions): Promise<ListEditResult>

  /**
   * The pinned notes (kind 10001), shown on a profile.
   *
   * @param options - `person`, `relays`, `signal`.
   * @returns the list.
   * @throws as {@link ListsApi.get}.
   * @example
   * ```ts
   * const { notes } = await client.lists.pins({ person: 'npub1...' })
   * ```
   */
  pins(options?: ListReadOptions): Promise<PinnedNotes>
  /**
   * Pins notes.
   *
   * @param notes - hex ids, `note` or `nevent`.
   * @param options - `private`, `minAnswers`, `pow`, `signal`.
   * @returns the publish result and the list as published.
   * @throws as {@link ListsApi.edit}.
   * @example
   * ```ts
   * await client.lists.pin('note1...')
   * ```
   */
  pin(notes: string | readonly string[], options?: ListEditOptions): Promise<ListEditResult>
  /**
   * Unpins notes.
   *
   * @param notes - hex ids, `note` or `nevent`.
   * @param options - `minAnswers`, `pow`, `signal`.
   * @returns the publish result and the list as published.
   * @throws as {@link ListsApi.edit}.
   * @example
   * ```ts
   * await client.lists.unpin('note1...')
   * ```
   */
  unpin(notes: string | readonly string[], options?: EditOptions): Promise<ListEditResult>

  /**
   * The blocked relays (kind 10006). Reading the user's own also applies them to the relay
   * settings (`client.relays`), which keep the router and pool away from them.
   *
   * @param options - `person`, `relays`, `signal`.
   * @returns the list.
   * @throws as {@link ListsApi.get}.
   * @example
   * ```ts
   * const { urls } = await client.lists.blockedRelays()
   * ```
   */
  blockedRelays(options?: ListReadOptions): Promise<RelayUrlList>
  /**
   * Blocks relays: the client stops using them at once, and the list is published.
   *
   * @param urls - relay URLs.
   * @param options - `private`, `minAnswers`, `pow`, `signal`.
   * @returns the publish result and the list as published.
   * @throws OutboxError `OUTBOX_RELAY_URL_INVALID`; as {@link ListsApi.edit}.
   * @example
   * ```ts
   * await client.lists.blockRelays('wss://spam.example.com', { private: true })
   * ```
   */
  blockRelays(urls: string | readonly string[], options?: ListEditOptions): Promise<ListEditResult>
  /**
   * Unblocks relays.
   *
   * @param urls - relay URLs.
   * @param options - `minAnswers`, `pow`, `signal`.
   * @returns the publish result and the list as published.
   * @throws as {@link ListsApi.blockRelays}.
   * @example
   * ```ts
   * await client.lists.unblockRelays('wss://relay.example.com')
   * ```
   */
  unblockRelays(urls: string | readonly string[], options?: EditOptions): Promise<ListEditResult>

  /**
   * The search relays (kind 10007), where `client.search(undefined, query)` searches.
   *
   * @param options - `person`, `relays`, `signal`.
   * @returns the list.
   * @throws as {@link ListsApi.get}.
   * @example
   * ```ts
   * const { urls } = await client.lists.searchRelays()
   * ```
   */
  searchRelays(options?: ListReadOptions): Promise<RelayUrlList>
  /**
   * Replaces the search relays (every `relay` entry, public and private, gives way to `urls`, in
   * order; other tags are kept).
   *
   * @param urls - relay URLs, most preferred first.
   * @param options - `private`, `minAnswers`, `pow`, `signal`.
   * @returns the publish result and the list as published.
   * @throws as {@link ListsApi.blockRelays}.
   * @example
   * ```ts
   * await client.lists.setSearchRelays(['wss://search.example.com'])
   * ```
   */
  setSearchRelays(urls: readonly string[], options?: ListEditOptions): Promise<ListEditResult>

  /**
   * Every follow set (kind 30000) of a person.
   *
   * @param options - `person`, `relays`, `signal`.
   * @returns the sets, newest first.
   * @throws as {@link ListsApi.get}.
   * @example
   * ```ts
   * for (const set of await client.lists.followSets()) console.log(set.identifier, set.people.length)
   * ```
   */
  followSets(options?: ListReadOptions): Promise<FollowSet[]>
  /**
   * One follow set.
   *
   * @param identifier - its `d`.
   * @param options - `person`, `relays`, `signal`.
   * @returns the set, or `undefined` when there is none (or it was deleted).
   * @throws as {@link ListsApi.get}.
   * @example
   * ```ts
   * const devs = await client.lists.followSet('devs')
   * const page = await client.feed({ authors: devs?.people.map((p) => p.value) ?? [] })
   * ```
   */
  followSet(identifier: string, options?: ListReadOptions): Promise<FollowSet | undefined>
  /**
   * Creates or edits a follow set.
   *
   * @param identifier - its `d`.
   * @param change - people to add and remove, title, description, image.
   * @param options - `private`, `minAnswers`, `pow`, `signal`.
   * @returns the publish result and the set as published.
   * @throws as {@link ListsApi.edit}.
   * @example
   * ```ts
   * await client.lists.editFollowSet('devs', { add: ['npub1...'], title: 'Developers' })
   * ```
   */
  editFollowSet(identifier: string, change: FollowSetChange, options?: ListEditOptions): Promise<ListEditResult>
  /**
   * Deletes a follow set (NIP-09).
   *
   * @param identifier - its `d`.
   * @param options - `minAnswers`, `pow`, `signal`.
   * @returns the publish result of the deletion.
   * @throws as {@link ListsApi.deleteSet}.
   * @example
   * ```ts
   * await client.lists.deleteFollowSet('devs')
   * ```
   */
  deleteFollowSet(identifier: string, options?: EditOptions): Promise<PublishResult>

  /**
   * Every relay set (kind 30002) of a person.
   *
   * @param options - `person`, `relays`, `signal`.
   * @returns the sets, newest first.
   * @throws as {@link ListsApi.get}.
   * @example
   * ```ts
   * const sets = await client.lists.relaySets()
   * ```
   */
  relaySets(options?: ListReadOptions): Promise<RelaySet[]>
  /**
   * One relay set.
   *
   * @param identifier - its `d`.
   * @param options - `person`, `relays`, `signal`.
   * @returns the set, or `undefined`.
   * @throws as {@link ListsApi.get}.
   * @example
   * ```ts
   * const home = await client.lists.relaySet('home')
   * ```
   */
  relaySet(identifier: string, options?: ListReadOptions): Promise<RelaySet | undefined>
  /**
   * Creates or edits a relay set.
   *
   * @param identifier - its `d`.
   * @param change - relays to add and remove, title, description, image.
   * @param options - `private`, `minAnswers`, `pow`, `signal`.
   * @returns the publish result and the set as published.
   * @throws OutboxError `OUTBOX_RELAY_URL_INVALID`; as {@link ListsApi.edit}.
   * @example
   * ```ts
   * await client.lists.editRelaySet('home', { add: ['wss://relay.example.com'], title: 'Home' })
   * ```
   */
  editRelaySet(identifier: string, change: RelaySetChange, options?: ListEditOptions): Promise<ListEditResult>
  /**
   * Deletes a relay set (NIP-09).
   *
   * @param identifier - its `d`.
   * @param options - `minAnswers`, `pow`, `signal`.
   * @returns the publish result of the deletion.
   * @throws as {@link ListsApi.deleteSet}.
   * @example
   * ```ts
   * await client.lists.deleteRelaySet('home')
   * ```
   */
  deleteRelaySet(identifier: string, options?: EditOptions): Promise<PublishResult>
}

// ---- checks and entry building -------------------------------------------------------------------

function checkObject(value: unknown, field: string): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new TypeError(`${field} must be an object`)
}

function checkKind(kind: unknown): number {
  if (typeof kind !== 'number' || (!isStandardListKind(kind) && !isListSetKind(kind))) {
    throw new TypeError('kind must be a NIP-51 list kind (10000-19999) or set kind (30000-39999)')
  }
  return kind
}

function checkIdentifier(kind: number, identifier: unknown): string | undefined {
  if (!isListSetKind(kind)) {
    if (identifier !== undefined) throw new TypeError('identifier is only for sets (kinds 30000-39999)')
    return undefined
  }
  if (typeof identifier !== 'string') throw new TypeError('identifier must be a string (the set\'s "d" tag)')
  return identifier
}

function strings(value: unknown, field: string): string[] {
  if (value === undefined) return []
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw new TypeError(`${field} must be an array of strings`)
  return value as string[]
}

const toArray = <T>(value: T | readonly T[]): readonly T[] => (Array.isArray(value) ? (value as readonly T[]) : [value as T])

function firstRelay(relays: readonly string[]): string | undefined {
  return relays.map((url) => tryNormalizeRelayUrl(url)).find((url) => url !== undefined)
}

function personTag(input: string, field: string, withHint: boolean): string[] {
  const person = parsePerson(input, field)
  const relay = withHint ? firstRelay(person.relays) : undefined
  return relay === undefined ? ['p', person.pubkey] : ['p', person.pubkey, relay]
}

function eventTag(input: string, field: string, withHint: boolean): string[] {
  const ref = parseEventRef(input, field)
  const relay = withHint ? firstRelay(ref.relays) : undefined
  return relay === undefined ? ['e', ref.id] : ['e', ref.id, relay]
}

function hashtagTag(input: string, field: string): string[] {
  const tag = input.trim().replace(/^#/, '').toLowerCase()
  if (tag === '' || /\s/.test(tag)) throw new TypeError(`${field} must be a hashtag (one word)`)
  return ['t', tag]
}

function wordTag(input: string, field: string): string[] {
  const word = input.trim().toLowerCase()
  if (word === '') throw new TypeError(`${field} must be a non-empty word`)
  return ['word', word]
}

function addressTag(input: string, field: string, withHint: boolean): string[] {
  const text = input.trim().replace(/^nostr:/, '')
  if (text.startsWith('naddr1')) {
    let decoded
    try {
      decoded = decode(text)
    } catch (error) {
      throw new TypeError(`${field} is not a valid naddr`, { cause: error })
    }
    if (decoded.type !== 'naddr') throw new TypeError(`${field} must be an naddr or kind:pubkey:d`)
    const { kind, pubkey, identifier, relays } = decoded.data
    const relay = withHint ? firstRelay(relays) : undefined
    const coordinate = `${kind}:${pubkey}:${identifier}`
    return relay === undefined ? ['a', coordinate] : ['a', coordinate, relay]
  }
  const match = /^(\d{1,5}):([0-9a-f]{64}):(.*)$/s.exec(text)
  if (match === null || Number(match[1]) > 65535 || !isValidPublicKey(match[2])) throw new TypeError(`${field} must be an naddr or kind:pubkey:d`)
  return ['a', text]
}

function urlTag(input: string, field: string): string[] {
  let url: URL
  try {
    url = new URL(input.trim())
  } catch (error) {
    throw new TypeError(`${field} must be an http(s) URL`, { cause: error })
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`${field} must be an http(s) URL`)
  return ['r', url.href]
}

function relayTags(urls: unknown, field: string): string[][] {
  return ownRelayUrls(urls, field).map((url) => ['relay', url])
}

function muteTags(items: MuteItems, withHints: boolean): string[][] {
  checkObject(items, 'items')
  return [
    ...strings(items.people, 'items.people').map((p, i) => personTag(p, `items.people[${i}]`, false)),
    ...strings(items.hashtags, 'items.hashtags').map((t, i) => hashtagTag(t, `items.hashtags[${i}]`)),
    ...strings(items.words, 'items.words').map((w, i) => wordTag(w, `items.words[${i}]`)),
    ...strings(items.threads, 'items.threads').map((e, i) => eventTag(e, `items.threads[${i}]`, withHints)),
  ]
}

function bookmarkTags(items: BookmarkItems, withHints: boolean): string[][] {
  checkObject(items, 'items')
  return [
    ...strings(items.notes, 'items.notes').map((e, i) => eventTag(e, `items.notes[${i}]`, withHints)),
    ...strings(items.addresses, 'items.addresses').map((a, i) => addressTag(a, `items.addresses[${i}]`, withHints)),
    ...strings(items.hashtags, 'items.hashtags').map((t, i) => hashtagTag(t, `items.hashtags[${i}]`)),
    ...strings(items.urls, 'items.urls').map((u, i) => urlTag(u, `items.urls[${i}]`)),
  ]
}

function checkEditOptions(options: ListEditOptions): void {
  checkObject(options, 'options')
  if (options.private !== undefined && typeof options.private !== 'boolean') throw new TypeError('options.private must be a boolean')
}

/** An addition, public or private as the options say. */
function additions(tags: string[][], options: ListEditOptions): Pick<ListChange, 'add' | 'addPrivate'> {
  return options.private === true ? { addPrivate: tags } : { add: tags }
}

function metadata(change: SetMetadataChange): SetMetadataChange {
  return {
    ...(change.title !== undefined && { title: change.title }),
    ...(change.description !== undefined && { description: change.description }),
    ...(change.image !== undefined && { image: change.image }),
  }
}

// ---- views ---------------------------------------------------------------------------------------

function toView(kind: number, pubkey: string, identifier: string | undefined, parsed: ParsedList | undefined): UserList {
  const entry = (isPrivate: boolean) => (tag: readonly string[]): ListEntry => ({ tag, value: tag[1] ?? '', private: isPrivate })
  return {
    kind,
    pubkey,
    event: parsed?.event,
    ...(identifier !== undefined && { identifier }),
    ...(parsed?.title !== undefined && { title: parsed.title }),
    ...(parsed?.description !== undefined && { description: parsed.description }),
    ...(parsed?.image !== undefined && { image: parsed.image }),
    entries: [...(parsed?.public ?? []).map(entry(false)), ...(parsed?.private ?? []).map(entry(true))],
    privateState: parsed?.privateState ?? 'none',
  }
}

const named = (list: UserList, name: string): ListEntry[] => list.entries.filter((e) => e.tag[0] === name)

function muteView(list: UserList): MuteList {
  return { ...list, people: named(list, 'p'), hashtags: named(list, 't'), words: named(list, 'word'), threads: named(list, 'e') }
}

function bookmarksView(list: UserList): Bookmarks {
  return { ...list, notes: named(list, 'e'), addresses: named(list, 'a'), hashtags: named(list, 't'), urls: named(list, 'r') }
}

function relaysView(list: UserList): RelayUrlList {
  const relays = named(list, 'relay')
  const urls: string[] = []
  for (const entry of relays) {
    const url = tryNormalizeRelayUrl(entry.value)
    if (url !== undefined && !urls.includes(url)) urls.push(url)
  }
  return { ...list, relays, urls }
}

function followSetView(list: UserList): FollowSet {
  return { ...list, identifier: list.identifier ?? '', people: named(list, 'p') }
}

function relaySetView(list: UserList): RelaySet {
  return { ...relaysView(list), identifier: list.identifier ?? '' }
}

// ---- reading -------------------------------------------------------------------------------------

/** The person a read is about (default the user) and the relays their nprofile named. */
async function whose(context: ClientContext, options: ListReadOptions): Promise<{ pubkey: string; relays: string[] }> {
  checkObject(options, 'options')
  if (options.person === undefined) return { pubkey: await context.me(), relays: [...(options.relays ?? [])] }
  const { pubkey, relays } = parsePerson(options.person, 'options.person')
  const at = context.nowSeconds()
  // An nprofile's hints are evidence too: the tracker asks them for the person's relay lists.
  for (const url of relays) context.evidence.addHint(pubkey, url, 'nip19-hint', at)
  return { pubkey, relays: [...(options.relays ?? []), ...relays] }
}


async function readLists(context: ClientContext, kind: number, identifier: string | undefined, all: boolean, options: ListReadOptions): Promise<UserList[]> {
  context.assertOpen()
  const { pubkey, relays } = await whose(context, options)
  const { signal, release } = context.link(options.signal)
  try {
    const found = await findLists(context, pubkey, kind, { signal, relays, ...(identifier !== undefined && { identifier }) })
    const me = await optionalMe(context)
    const events = all ? found.events : found.events.slice(0, 1)
    const lists: UserList[] = []
    for (const event of events) {
      if (signal.aborted) throw abortError(context, signal.reason)
      const parsed = await parseOwnAware(context, event, me)
      if (me !== undefined) learnOwnList(context, me, parsed)
      lists.push(toView(kind, pubkey, isListSetKind(kind) ? (parsed.identifier ?? '') : undefined, parsed))
    }
    if (!all && lists.length === 0) lists.push(toView(kind, pubkey, identifier, undefined))
    return lists
  } finally {
    release()
  }
}

async function readOne(context: ClientContext, kind: number, identifier: string | undefined, options: ListReadOptions): Promise<UserList> {
  return (await readLists(context, kind, identifier, false, options))[0]!
}

// ---- editing -------------------------------------------------------------------------------------

/** Where the user's lists go: their outboxes (`my-outbox`), then the indexers not blocked nor `write: false` (`indexer`). */
function listTargets(context: ClientContext, kind: number, me: string): { plan: PublishPlan; targets: PublishTarget[] } {
  // Planned without the list's tags: a follow set's `p` tags are members, not people to notify.
  const probe = { id: '0'.repeat(64), sig: '0'.repeat(128), pubkey: me, kind, content: '', tags: [], created_at: context.nowSeconds() }
  const plan = context.router.publishPlan(probe, { me })
  const targets: PublishTarget[] = [...plan.targets]
  const taken = new Set(targets.map((t) => t.url))
  for (const url of context.tracker.indexerRelays) {
    if (taken.has(url) || !writable(context, url)) continue
    taken.add(url)
    targets.push({ url, reason: 'indexer' })
  }
  return { plan, targets }
}

/** Whether the user's relay settings let anything be published to `url` (not blocked, not `write: false`). */
function writable(context: ClientContext, url: string): boolean {
  try {
    return !context.relayConfig.isBlocked(url) && context.relayConfig.get(url).write !== false
  } catch {
    // Not a relay URL the settings know how to read: not one to publish to either.
    return false
  }
}

function noTargets(): ClientError {
  return new ClientError('CLIENT_NO_TARGETS', 'Nowhere to publish: the user has no outbox relays and no indexer relay is set', {
    details: 'set relays with setRelays() or give indexerRelays',
  })
}

function editKey(kind: number, identifier: string | undefined): string {
  // The same key profile.ts uses for replaceable kinds: every edit of one list, one at a time.
  return identifier === undefined ? `own-list:${kind}` : `own-list:${kind}:${identifier}`
}

/** The newest copy of one of the user's lists, looked for broadly before it is replaced. */
async function newestOwn(
  context: ClientContext,
  me: string,
  kind: number,
  identifier: string | undefined,
  options: EditOptions,
  signal: AbortSignal,
): Promise<NostrEvent | undefined> {
  try {
    if (identifier === undefined) {
      return await context.tracker.newestOwnList(me, kind, { signal, ...(options.minAnswers !== undefined && { minAnswers: options.minAnswers }) })
    }
    const minAnswers = options.minAnswers ?? 1
    if (!Number.isSafeInteger(minAnswers) || minAnswers < 0) throw new RangeError('options.minAnswers must be a non-negative integer')
    const found = await findLists(context, me, kind, { identifier, signal, broad: true, minAnswers })
    return found.events[0]
  } catch (error) {
    if (signal.aborted || context.closing.aborted) throw abortError(context, error)
    throw error
  }
}

async function editList(
  context: ClientContext,
  kind: number,
  identifier: string | undefined,
  change: ListChange,
  options: EditOptions,
  action: string,
): Promise<ListEditResult> {
  checkObject(options, 'options')
  checkObject(change, 'change')
  // A malformed change fails here, before any network work.
  applyListChange(undefined, change, { kind, ...(identifier !== undefined && { identifier }) })
  return context.exclusive(editKey(kind, identifier), async () => {
    context.assertOpen()
    context.requireSigner(action)
    const me = await context.me()
    const cipher = cipherOf(context, me)!
    const { signal, release } = context.link(options.signal)
    try {
      if (signal.aborted) throw abortError(context, signal.reason)
      await ensureLists(context, [me], signal)
      if (listTargets(context, kind, me).targets.length === 0) throw noTargets()
      const previousEvent = await newestOwn(context, me, kind, identifier, options, signal)
      const previous = previousEvent === undefined ? undefined : await parseOwnAware(context, previousEvent, me)
      let draft
      try {
        draft = applyListChange(previous, change, { kind, ...(identifier !== undefined && { identifier }) })
      } catch (error) {
        if (!isRendezvousError(error, 'LIST_PRIVATE_UNREADABLE')) throw error
        throw new ClientError('CLIENT_LIST_UNREADABLE', 'The private entries of the newest copy cannot be read: editing it would lose them', {
          cause: error,
          details: `kind ${kind}${identifier === undefined ? '' : ` "${identifier}"`}, event ${previousEvent?.id ?? '?'}: ${error.details ?? ''}`,
        })
      }
      const template = await listTemplate(draft, cipher)
      // Strictly after the copy replaced (relays keep the newer of two, and the same second would
      // leave it to the ids), and after any deletion of the set (else relays honouring it drop this).
      const deletedAt = identifier === undefined ? 0 : await newestSetDeletion(context, setAddress(kind, me, identifier))
      const createdAt = Math.max(context.nowSeconds(), previous === undefined ? 0 : previous.event.created_at + 1, deletedAt === 0 ? 0 : deletedAt + 1)
      const event = await signTemplate(context, { ...template, created_at: createdAt }, { pow: options.pow, signal: options.signal })
      // Known without decrypting again (a NIP-07 or NIP-46 signer would be asked once more).
      const parsed: ParsedList = {
        ...(await parseList({ ...event, content: '' })),
        event,
        private: draft.private,
        privateState: draft.private.length > 0 ? 'nip44' : draft.plainContent.trim() !== '' ? 'plain' : 'none',
      }
      const learn = (): void => {
        listState(context).parsed.set(event.id, parsed)
        learnOwnList(context, me, parsed)
      }
      // Blocking takes effect before the list is sent: the new list must not go to a relay it blocks.
      const blocking = kind === LIST_KINDS.blockedRelays
      if (blocking) context.relayConfig.setBlocked(relayValues(parsed))
      const { plan, targets } = listTargets(context, kind, me)
      let sent
      try {
        sent = await deliver(context, event, targets, 'first-answers', options.signal)
      } catch (error) {
        // An abort ends the wait only: the list is queued and will be delivered.
        if (isRendezvousError(error, 'CLIENT_ABORTED')) learn()
        // Not queued: the list in force is still the one held.
        else if (blocking) context.relayConfig.setBlocked(previous === undefined ? [] : relayValues(previous))
        throw error
      }
      const { report, delivery } = sent
      learn()
      return { event, plan, report, delivery, list: toView(kind, me, identifier, parsed) }
    } finally {
      release()
    }
  })
}

async function deleteSet(context: ClientContext, kind: number, identifier: string, options: EditOptions): Promise<PublishResult> {
  checkObject(options, 'options')
  return context.exclusive(editKey(kind, identifier), async () => {
    context.assertOpen()
    context.requireSigner('deleting a list')
    const me = await context.me()
    const { signal, release } = context.link(options.signal)
    try {
      if (signal.aborted) throw abortError(context, signal.reason)
      await ensureLists(context, [me], signal)
      if (listTargets(context, kind, me).targets.length === 0) throw noTargets()
      const newest = await newestOwn(context, me, kind, identifier, options, signal)
      const address = setAddress(kind, me, identifier)
      // NIP-09: the deletion removes every version up to its own time, so it may not be older than
      // the newest one (which an edit made this second may have dated a little ahead).
      const createdAt = Math.max(context.nowSeconds(), newest?.created_at ?? 0)
      const event = await signTemplate(context, { kind: 5, content: '', tags: [['a', address], ['k', String(kind)]], created_at: createdAt }, options)
      const { plan, targets } = listTargets(context, kind, me)
      const { report, delivery } = await deliver(context, event, targets, 'first-answers', options.signal)
      return { event, plan, report, delivery }
    } finally {
      release()
    }
  })
}

// ---- the API -------------------------------------------------------------------------------------

/** @internal */
export function createListsApi(context: ClientContext): ListsApi {
  const get = (kind: number, identifier: string | undefined, options: ListReadOptions = {}): Promise<UserList> => readOne(context, kind, identifier, options)
  const edit = (kind: number, change: ListChange, options: EditOptions & { readonly identifier?: string }, action: string): Promise<ListEditResult> => {
    checkObject(options, 'options')
    const identifier = checkIdentifier(kind, options.identifier)
    const { identifier: _ignored, ...rest } = options
    return editList(context, kind, identifier, change, rest as EditOptions, action)
  }
  const setRead = async <T>(kind: number, identifier: string, options: ListReadOptions, view: (list: UserList) => T): Promise<T | undefined> => {
    checkIdentifier(kind, identifier)
    const list = await get(kind, identifier, options)
    return list.event === undefined ? undefined : view(list)
  }
  return {
    get: async (kind, options = {}) => {
      checkKind(kind)
      checkObject(options, 'options')
      const { identifier, ...rest } = options
      return get(kind, checkIdentifier(kind, identifier), rest)
    },
    sets: async (kind, options = {}) => {
      if (!isListSetKind(checkKind(kind))) throw new TypeError('kind must be a set kind (30000-39999)')
      return readLists(context, kind, undefined, true, options)
    },
    edit: async (kind, change, options = {}) => edit(checkKind(kind), change, options, 'editing a list'),
    deleteSet: async (kind, identifier, options = {}) => {
      if (!isListSetKind(checkKind(kind))) throw new TypeError('kind must be a set kind (30000-39999)')
      return deleteSet(context, kind, checkIdentifier(kind, identifier)!, options)
    },

    mutes: async (options = {}) => muteView(await get(LIST_KINDS.mute, undefined, options)),
    mute: async (items, options = {}) => {
      checkEditOptions(options)
      return edit(LIST_KINDS.mute, additions(muteTags(items, false), options), stripPrivate(options), 'muting')
    },
    unmute: async (items, options = {}) => edit(LIST_KINDS.mute, { remove: muteTags(items, false) }, options, 'unmuting'),

    bookmarks: async (options = {}) => bookmarksView(await get(LIST_KINDS.bookmarks, undefined, options)),
    bookmark: async (items, options = {}) => {
      checkEditOptions(options)
      return edit(LIST_KINDS.bookmarks, additions(bookmarkTags(items, true), options), stripPrivate(options), 'bookmarking')
    },
    unbookmark: async (items, options = {}) => edit(LIST_KINDS.bookmarks, { remove: bookmarkTags(items, false) }, options, 'removing bookmarks'),

    pins: async (options = {}) => pinsView(await get(LIST_KINDS.pinnedNotes, undefined, options)),
    pin: async (notes, options = {}) => {
      checkEditOptions(options)
      const tags = strings(toArray(notes), 'notes').map((n, i) => eventTag(n, `notes[${i}]`, true))
      return edit(LIST_KINDS.pinnedNotes, additions(tags, options), stripPrivate(options), 'pinning')
    },
    unpin: async (notes, options = {}) => {
      const tags = strings(toArray(notes), 'notes').map((n, i) => eventTag(n, `notes[${i}]`, false))
      return edit(LIST_KINDS.pinnedNotes, { remove: tags }, options, 'unpinning')
    },

    blockedRelays: async (options = {}) => relaysView(await get(LIST_KINDS.blockedRelays, undefined, options)),
    blockRelays: async (urls, options = {}) => {
      checkEditOptions(options)
      return edit(LIST_KINDS.blockedRelays, additions(relayTags(toArray(urls), 'urls'), options), stripPrivate(options), 'blocking relays')
    },
    unblockRelays: async (urls, options = {}) => edit(LIST_KINDS.blockedRelays, { remove: relayTags(toArray(urls), 'urls') }, options, 'unblocking relays'),

    searchRelays: async (options = {}) => relaysView(await get(LIST_KINDS.searchRelays, undefined, options)),
    setSearchRelays: async (urls, options = {}) => {
      checkEditOptions(options)
      return edit(LIST_KINDS.searchRelays, { clear: ['relay'], ...additions(relayTags(urls, 'urls'), options) }, stripPrivate(options), 'setting search relays')
    },

    followSets: async (options = {}) => (await readLists(context, LIST_KINDS.followSet, undefined, true, options)).map(followSetView),
    followSet: async (identifier, options = {}) => setRead(LIST_KINDS.followSet, identifier, options, followSetView),
    editFollowSet: async (identifier, change, options = {}) => {
      checkEditOptions(options)
      checkObject(change, 'change')
      const add = strings(change.add, 'change.add').map((p, i) => personTag(p, `change.add[${i}]`, true))
      const remove = strings(change.remove, 'change.remove').map((p, i) => personTag(p, `change.remove[${i}]`, false))
      return edit(LIST_KINDS.followSet, { ...additions(add, options), remove, ...metadata(change) }, { ...stripPrivate(options), identifier }, 'editing a follow set')
    },
    deleteFollowSet: async (identifier, options = {}) => deleteSet(context, LIST_KINDS.followSet, checkIdentifier(LIST_KINDS.followSet, identifier)!, options),

    relaySets: async (options = {}) => (await readLists(context, LIST_KINDS.relaySet, undefined, true, options)).map(relaySetView),
    relaySet: async (identifier, options = {}) => setRead(LIST_KINDS.relaySet, identifier, options, relaySetView),
    editRelaySet: async (identifier, change, options = {}) => {
      checkEditOptions(options)
      checkObject(change, 'change')
      const add = relayTags(change.add ?? [], 'change.add')
      const remove = relayTags(change.remove ?? [], 'change.remove')
      return edit(LIST_KINDS.relaySet, { ...additions(add, options), remove, ...metadata(change) }, { ...stripPrivate(options), identifier }, 'editing a relay set')
    },
    deleteRelaySet: async (identifier, options = {}) => deleteSet(context, LIST_KINDS.relaySet, checkIdentifier(LIST_KINDS.relaySet, identifier)!, options),
  }
}

function pinsView(list: UserList): PinnedNotes {
  return { ...list, notes: named(list, 'e') }
}

/** The edit options without `private` (which only decides where additions go). */
function stripPrivate(options: ListEditOptions): EditOptions {
  const { private: _private, ...rest } = options
  return rest
}
