/**
 * NIP-51 lists: the standard lists (mute 10000, pinned notes 10001, bookmarks 10003, blocked relays
 * 10006, search relays 10007, ...) and the sets (follow sets 30000, relay sets 30002, bookmark sets
 * 30003, ...). A list holds public entries in its tags and private entries in its `content`: the
 * same tags as JSON, encrypted by the author to themselves with NIP-44 (old lists: NIP-04, told
 * apart by the `?iv=` suffix).
 *
 * Editing never loses what it does not understand: a new version is built on the newest copy's
 * tags, in order, with every tag the change does not touch kept as it was, and every private entry
 * not removed kept, in order. When the private part cannot be read (a failed decryption, content
 * that is not a JSON array of tags, another person's list), building a new version is refused with
 * `LIST_PRIVATE_UNREADABLE` rather than overwriting entries nobody could see.
 *
 * The functions here do no I/O: reading and writing private entries goes through the signer given.
 *
 * Spec: https://github.com/nostr-protocol/nips/blob/master/51.md
 *
 * @module
 */
import type { NostrEvent } from '../crypto/event.js'
import type { SignerCipher } from '../crypto/signer.js'
import { OutboxError } from '../errors.js'
import { tryNormalizeRelayUrl } from '../relay-pool/url.js'

// ---- kinds ---------------------------------------------------------------------------------------

/**
 * The NIP-51 list kinds the library knows by name. Any replaceable (10000-19999) or addressable
 * (30000-39999) kind can be read and edited as a list; these are the ones with a meaning here.
 *
 * @example
 * ```ts
 * import { LIST_KINDS } from 'nostr-rendezvous/outbox'
 * LIST_KINDS.mute // 10000
 * ```
 */
export const LIST_KINDS = Object.freeze({
  /** Pubkeys (`p`), hashtags (`t`), words (`word`) and threads (`e`) the user does not want to see. */
  mute: 10000,
  /** Notes (`e`) the user showcases on their profile. */
  pinnedNotes: 10001,
  /** Uncategorised bookmarks: notes (`e`), articles (`a`), hashtags (`t`), URLs (`r`). */
  bookmarks: 10003,
  /** NIP-72 communities (`a`). */
  communities: 10004,
  /** NIP-28 public chats (`e`). */
  publicChats: 10005,
  /** Relays (`relay`) clients should never connect to. */
  blockedRelays: 10006,
  /** Relays (`relay`) to use for NIP-50 search. */
  searchRelays: 10007,
  /** Hashtags (`t`) and interest sets (`a`). */
  interests: 10015,
  /** Preferred emojis (`emoji`) and emoji sets (`a`). */
  emojis: 10030,
  /** Categorised groups of people (`p`), one per `d`. */
  followSet: 30000,
  /** User-defined groups of relays (`relay`), one per `d`. */
  relaySet: 30002,
  /** Labelled bookmark categories (`e`, `a`, `t`, `r`), one per `d`. */
  bookmarkSet: 30003,
  /** Curated articles and notes (`a`, `e`), one per `d`. */
  curationSet: 30004,
  /** People muted for some kinds only (`p`); `d` is the kind. */
  kindMuteSet: 30007,
  /** Interest topics (`t`), one per `d`. */
  interestSet: 30015,
  /** Emoji groups (`emoji`), one per `d`. */
  emojiSet: 30030,
  /** A named set of profiles to follow together (`p`). */
  starterPack: 39089,
} as const)

/**
 * Whether `kind` is a NIP-51 standard list (replaceable: one per person): 10000-19999.
 *
 * @param kind - an event kind.
 * @returns `true` for 10000-19999.
 * @example
 * ```ts
 * import { isStandardListKind } from 'nostr-rendezvous/outbox'
 * isStandardListKind(10000) // true
 * ```
 */
export function isStandardListKind(kind: number): boolean {
  return Number.isSafeInteger(kind) && kind >= 10000 && kind < 20000
}

/**
 * Whether `kind` is a NIP-51 set (addressable: many per person, told apart by `d`): 30000-39999.
 *
 * @param kind - an event kind.
 * @returns `true` for 30000-39999.
 * @example
 * ```ts
 * import { isListSetKind } from 'nostr-rendezvous/outbox'
 * isListSetKind(30000) // true
 * ```
 */
export function isListSetKind(kind: number): boolean {
  return Number.isSafeInteger(kind) && kind >= 30000 && kind < 40000
}

/** Tags of a set that describe it rather than list something (`name` is an older `title`). */
const SET_METADATA: ReadonlySet<string> = new Set(['d', 'title', 'description', 'image', 'name'])

// ---- types ---------------------------------------------------------------------------------------

/** A tag: its name, then its value, then any further fields. */
export type ListTag = readonly string[]

/**
 * What is known of a list's private part:
 * - `none`: the content is empty (no private entries);
 * - `nip44` / `nip04`: decrypted (`private` holds the entries), and which scheme it was written with;
 * - `plain`: the content is text that is not ciphertext (some sets carry notes there): kept as is
 *   by edits that add no private entry;
 * - `locked`: encrypted, and no way to decrypt it here (someone else's list, or no signer given);
 * - `unreadable`: encrypted (or looking so), but decryption failed or the plaintext is not a JSON
 *   array of string arrays.
 */
export type PrivateState = 'none' | 'nip44' | 'nip04' | 'plain' | 'locked' | 'unreadable'

/** A parsed NIP-51 list (standard list or set). */
export interface ParsedList {
  readonly kind: number
  /** The author. */
  readonly pubkey: string
  /** The event read. */
  readonly event: NostrEvent
  /** A set's `d` tag (`''` when a set has none); absent for standard lists. */
  readonly identifier?: string
  /** A set's `title` (or the older `name`). */
  readonly title?: string
  /** A set's `description`. */
  readonly description?: string
  /** A set's `image`. */
  readonly image?: string
  /** Every tag, metadata included, in order (what a new version starts from). */
  readonly tags: readonly ListTag[]
  /** Public entries: the tags that are not set metadata (`d`, `title`, `description`, `image`, `name`), in order. */
  readonly public: readonly ListTag[]
  /** Private entries, decrypted from `content`, in order (empty unless `privateState` is `nip44` or `nip04`). */
  readonly private: readonly ListTag[]
  readonly privateState: PrivateState
}

/**
 * How private entries are read and written: the author's key as a signer's ciphers, and the
 * author's pubkey (lists are encrypted by the author to themselves).
 */
export interface ListCipher {
  /** The list owner's pubkey (hex): only their own lists can be decrypted. */
  readonly pubkey: string
  readonly nip44: SignerCipher
  /** Needed only to read old NIP-04 lists; without it those are `unreadable`. */
  readonly nip04?: SignerCipher
}

/** A change to a list; see {@link applyListChange}. */
export interface ListChange {
  /** Entries to add as public tags (appended; an entry already there stays where it is). */
  readonly add?: readonly ListTag[]
  /** Entries to add as private entries (appended to the private part). */
  readonly addPrivate?: readonly ListTag[]
  /** Entries to remove, public or private, matched by tag name and value (further fields ignored). */
  readonly remove?: readonly ListTag[]
  /** Tag names whose entries are all removed (public and private) before `add`/`addPrivate`: set a list's relays anew. */
  readonly clear?: readonly string[]
  /** A set's title: a string sets it, `null` removes it. */
  readonly title?: string | null
  /** A set's description: a string sets it, `null` removes it. */
  readonly description?: string | null
  /** A set's image URL: a string sets it, `null` removes it. */
  readonly image?: string | null
}

/** The next version of a list, before its private part is encrypted; see {@link listTemplate}. */
export interface ListDraft {
  readonly kind: number
  /** Every public tag, in order. */
  readonly tags: string[][]
  /** Every private entry, in order. */
  readonly private: string[][]
  /** Plain-text content to keep as is (only when there is no private entry). */
  readonly plainContent: string
}

// ---- entries -------------------------------------------------------------------------------------

/**
 * The identity of an entry: its tag name and value, with the value in canonical form for the names
 * where case or spelling does not matter (`t` and `word` lower-cased, `relay` and `r` relay URLs
 * normalised). Two entries with the same key are the same entry.
 *
 * @param tag - a tag.
 * @returns the key, or `undefined` for a tag without a string name and value.
 * @example
 * ```ts
 * import { listEntryKey } from 'nostr-rendezvous/outbox'
 * listEntryKey(['t', 'Nostr']) === listEntryKey(['t', 'nostr']) // true
 * ```
 */
export function listEntryKey(tag: ListTag): string | undefined {
  const [name, value] = tag
  if (typeof name !== 'string' || typeof value !== 'string') return undefined
  let canonical = value
  if (name === 't' || name === 'word') canonical = value.toLowerCase()
  else if (name === 'relay' || name === 'r') canonical = tryNormalizeRelayUrl(value) ?? value
  return `${name}\u0000${canonical}`
}

function checkTag(tag: unknown, field: string): string[] {
  if (!Array.isArray(tag) || tag.length < 2 || !tag.every((v) => typeof v === 'string')) {
    throw new TypeError(`${field} must be a tag: an array of at least two strings`)
  }
  if (tag[0] === '' || tag[1] === '') throw new TypeError(`${field} must have a non-empty name and value`)
  return [...(tag as string[])]
}

function checkTags(tags: unknown, field: string): string[][] {
  if (tags === undefined) return []
  if (!Array.isArray(tags)) throw new TypeError(`${field} must be an array of tags`)
  return tags.map((tag, i) => checkTag(tag, `${field}[${i}]`))
}

/**
 * Appends entries to a tag list: entries already present (same {@link listEntryKey}) stay where they
 * are, unchanged; the others are appended in the order given, each once. Pure.
 *
 * @param tags - the current tags (not modified).
 * @param entries - the entries to add.
 * @returns a new array.
 * @throws TypeError for an entry that is not an array of at least two non-empty strings.
 * @example
 * ```ts
 * import { addListEntries } from 'nostr-rendezvous/outbox'
 * addListEntries([['t', 'nostr']], [['t', 'Nostr'], ['word', 'spam']]) // [['t', 'nostr'], ['word', 'spam']]
 * ```
 */
export function addListEntries(tags: readonly ListTag[], entries: readonly ListTag[]): string[][] {
  const checked = checkTags(entries, 'entries')
  const out = tags.map((tag) => [...tag])
  const present = new Set(out.map(listEntryKey))
  for (const entry of checked) {
    const key = listEntryKey(entry)
    if (present.has(key)) continue
    present.add(key)
    out.push(entry)
  }
  return out
}

/**
 * Removes entries from a tag list, matched by {@link listEntryKey} (every copy). Every other tag is
 * kept, in order. Pure.
 *
 * @param tags - the current tags (not modified).
 * @param entries - the entries to remove (only name and value matter).
 * @returns a new array.
 * @throws TypeError for an entry that is not an array of at least two non-empty strings.
 * @example
 * ```ts
 * import { removeListEntries } from 'nostr-rendezvous/outbox'
 * removeListEntries([['p', 'ab…', 'wss://r.example'], ['t', 'x']], [['p', 'ab…']]) // [['t', 'x']]
 * ```
 */
export function removeListEntries(tags: readonly ListTag[], entries: readonly ListTag[]): string[][] {
  const keys = new Set(checkTags(entries, 'entries').map(listEntryKey))
  return tags.filter((tag) => !keys.has(listEntryKey(tag))).map((tag) => [...tag])
}

// ---- private part --------------------------------------------------------------------------------

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/
/** Shortest NIP-44 v2 payload in base64 (1 + 32 + 34 + 32 bytes). */
const NIP44_MIN_BASE64 = 132

/**
 * How a list's `content` is encoded: empty, NIP-04 (`<base64>?iv=<base64>`), NIP-44 (base64 of at
 * least 132 characters, or a `#`-prefixed payload of a future version), or plain text.
 *
 * @param content - a list event's content.
 * @returns `none`, `nip04`, `nip44` or `plain`.
 * @example
 * ```ts
 * import { privateEncoding } from 'nostr-rendezvous/outbox'
 * privateEncoding('abc?iv=def') // 'nip04'
 * ```
 */
export function privateEncoding(content: string): 'none' | 'nip04' | 'nip44' | 'plain' {
  const text = content.trim()
  if (text === '') return 'none'
  const iv = text.lastIndexOf('?iv=')
  if (iv > 0 && BASE64.test(text.slice(0, iv)) && BASE64.test(text.slice(iv + 4))) return 'nip04'
  if (text.startsWith('#') || (text.length >= NIP44_MIN_BASE64 && BASE64.test(text))) return 'nip44'
  return 'plain'
}

function unreadable(details: string, cause?: unknown): OutboxError {
  return new OutboxError('LIST_PRIVATE_UNREADABLE', 'The private entries of the list cannot be read', { details, ...(cause !== undefined && { cause }) })
}

/**
 * Parses decrypted private entries: a JSON array of arrays of strings, each with a name.
 *
 * @param plaintext - the decrypted content.
 * @returns the entries, in order.
 * @throws OutboxError `LIST_PRIVATE_UNREADABLE` for anything else (nothing is dropped silently).
 * @example
 * ```ts
 * import { parsePrivateEntries } from 'nostr-rendezvous/outbox'
 * parsePrivateEntries('[["p","ab…"]]') // [['p', 'ab…']]
 * ```
 */
export function parsePrivateEntries(plaintext: string): string[][] {
  let value: unknown
  try {
    value = JSON.parse(plaintext)
  } catch (error) {
    throw unreadable('the decrypted content is not JSON', error)
  }
  if (!Array.isArray(value)) throw unreadable('the decrypted content is not a JSON array')
  return value.map((tag: unknown, i) => {
    if (!Array.isArray(tag) || tag.length === 0 || !tag.every((v) => typeof v === 'string')) {
      throw unreadable(`private entry ${i} is not an array of strings`)
    }
    return [...(tag as string[])]
  })
}

/**
 * Decrypts a list's private entries with the owner's ciphers: NIP-04 when the content has the
 * `?iv=` form, NIP-44 otherwise.
 *
 * @param content - the list's content (not empty).
 * @param cipher - the owner's pubkey and ciphers.
 * @returns the entries and the scheme used.
 * @throws OutboxError `LIST_PRIVATE_UNREADABLE` (cause: the signer's or the cipher's error) when
 * decryption fails or the plaintext is not a JSON array of tags.
 * @example
 * ```ts
 * import { decryptPrivateEntries } from 'nostr-rendezvous/outbox'
 * const { entries } = await decryptPrivateEntries(list.content, { pubkey: me, nip44: signer.nip44, nip04: signer.nip04 })
 * ```
 */
export async function decryptPrivateEntries(content: string, cipher: ListCipher): Promise<{ entries: string[][]; scheme: 'nip04' | 'nip44' }> {
  const scheme = privateEncoding(content) === 'nip04' ? 'nip04' : 'nip44'
  const decryptor = scheme === 'nip04' ? cipher.nip04 : cipher.nip44
  if (decryptor === undefined) throw unreadable('no NIP-04 decryption available for an old list')
  let plaintext: string
  try {
    plaintext = await decryptor.decrypt(cipher.pubkey, content.trim())
  } catch (error) {
    throw unreadable(`${scheme === 'nip04' ? 'NIP-04' : 'NIP-44'} decryption failed`, error)
  }
  return { entries: parsePrivateEntries(plaintext), scheme }
}

/**
 * Encrypts private entries for the list: NIP-44 from the owner to themselves (always NIP-44, even
 * when the list was NIP-04 before). No entries give an empty content.
 *
 * @param entries - the private entries.
 * @param cipher - the owner's pubkey and ciphers.
 * @returns the content.
 * @throws the signer's errors.
 * @example
 * ```ts
 * import { encryptPrivateEntries } from 'nostr-rendezvous/outbox'
 * const content = await encryptPrivateEntries([['p', 'ab…']], { pubkey: me, nip44: signer.nip44 })
 * ```
 */
export async function encryptPrivateEntries(entries: readonly ListTag[], cipher: ListCipher): Promise<string> {
  if (entries.length === 0) return ''
  return cipher.nip44.encrypt(cipher.pubkey, JSON.stringify(entries))
}

// ---- parsing -------------------------------------------------------------------------------------

/** The first string value of a tag named `name`. */
function firstValue(tags: readonly ListTag[], name: string): string | undefined {
  const tag = tags.find((t) => t[0] === name && typeof t[1] === 'string')
  return tag?.[1]
}

/**
 * Reads a list event: metadata, public entries, and the private entries when `cipher` is the
 * author's. Never throws on content: a private part that cannot be read is reported in
 * `privateState` (and makes {@link applyListChange} refuse).
 *
 * @param event - a list event (any kind; tags that are not string arrays are dropped).
 * @param cipher - the author's ciphers, to read private entries.
 * @returns the parsed list.
 * @throws TypeError when `event` is not an object with `tags` and `content`.
 * @example
 * ```ts
 * import { parseList } from 'nostr-rendezvous/outbox'
 * const mutes = await parseList(event, { pubkey: me, nip44: signer.nip44, nip04: signer.nip04 })
 * console.log(mutes.public, mutes.private, mutes.privateState)
 * ```
 */
export async function parseList(event: NostrEvent, cipher?: ListCipher): Promise<ParsedList> {
  if (event === null || typeof event !== 'object' || !Array.isArray(event.tags) || typeof event.content !== 'string') {
    throw new TypeError('event must be a Nostr event')
  }
  // Network input: a tag that is not a string array cannot be a list entry (and NIP-01 forbids it).
  const tags = event.tags.filter((tag): tag is string[] => Array.isArray(tag) && tag.every((v) => typeof v === 'string')).map((tag) => [...tag])
  const isSet = isListSetKind(event.kind)
  let privateEntries: string[][] = []
  let privateState: PrivateState
  const encoding = privateEncoding(event.content)
  if (encoding === 'none' || encoding === 'plain') privateState = encoding
  else if (cipher === undefined || cipher.pubkey !== event.pubkey) privateState = 'locked'
  else {
    try {
      const { entries, scheme } = await decryptPrivateEntries(event.content, cipher)
      privateEntries = entries
      privateState = scheme
    } catch {
      privateState = 'unreadable'
    }
  }
  const title = isSet ? (firstValue(tags, 'title') ?? firstValue(tags, 'name')) : undefined
  const description = isSet ? firstValue(tags, 'description') : undefined
  const image = isSet ? firstValue(tags, 'image') : undefined
  return {
    kind: event.kind,
    pubkey: event.pubkey,
    event,
    ...(isSet && { identifier: firstValue(tags, 'd') ?? '' }),
    ...(title !== undefined && { title }),
    ...(description !== undefined && { description }),
    ...(image !== undefined && { image }),
    tags,
    public: isSet ? tags.filter((tag) => !SET_METADATA.has(tag[0] ?? '')) : tags,
    private: privateEntries,
    privateState,
  }
}

// ---- building ------------------------------------------------------------------------------------

/** Sets, replaces in place or removes one metadata tag of a set. */
function setMetadata(tags: string[][], name: string, value: string | null | undefined): string[][] {
  if (value === undefined) return tags
  if (value !== null && typeof value !== 'string') throw new TypeError(`change.${name} must be a string or null`)
  const at = tags.findIndex((tag) => tag[0] === name)
  if (value === null) return tags.filter((tag) => tag[0] !== name)
  if (at !== -1) {
    // Fields after the value (a language, a size) are kept: only the value is the change.
    const next = [...tags]
    next[at] = [name, value, ...tags[at]!.slice(2)]
    return next
  }
  // Metadata goes after the `d` tag and the other metadata, before the entries.
  let insertAt = 0
  while (insertAt < tags.length && SET_METADATA.has(tags[insertAt]![0] ?? '')) insertAt++
  return [...tags.slice(0, insertAt), [name, value], ...tags.slice(insertAt)]
}

/**
 * Builds the next version of a list from its newest copy (or from nothing): `clear`, then
 * `remove`, then `add` / `addPrivate`. Every tag the change does not touch stays, in order; every
 * private entry not removed stays, in order. An entry added on one side (public or private) leaves
 * the other side: adding a public entry privately moves it. A set keeps its `d` tag (one is put
 * first when building from nothing). Pure apart from the checks.
 *
 * @param previous - the newest copy, parsed (with the owner's cipher), or `undefined` for a new list.
 * @param change - what to change.
 * @param target - the kind and, for a set, its identifier (`d`).
 * @returns the draft: public tags, private entries, plain content kept.
 * @throws TypeError for a malformed change, a set without identifier, or a `previous` of another
 * kind or set; OutboxError `LIST_PRIVATE_UNREADABLE` when the previous private part could not be
 * read (`locked` or `unreadable`: rebuilding would drop it), or when private entries would replace
 * plain-text content.
 * @example
 * ```ts
 * import { applyListChange, listTemplate, parseList } from 'nostr-rendezvous/outbox'
 * const previous = await parseList(newest, cipher)
 * const draft = applyListChange(previous, { addPrivate: [['p', spammer]] }, { kind: 10000 })
 * const template = await listTemplate(draft, cipher) // { kind, tags, content }
 * ```
 */
export function applyListChange(previous: ParsedList | undefined, change: ListChange, target: { readonly kind: number; readonly identifier?: string }): ListDraft {
  if (change === null || typeof change !== 'object') throw new TypeError('change must be an object')
  const { kind } = target
  if (!isStandardListKind(kind) && !isListSetKind(kind)) throw new RangeError('kind must be a list kind (10000-19999) or a set kind (30000-39999)')
  const isSet = isListSetKind(kind)
  if (isSet && typeof target.identifier !== 'string') throw new TypeError('identifier must be a string for a set')
  if (previous !== undefined) {
    if (previous.kind !== kind) throw new TypeError('previous must be a list of the same kind')
    if (isSet && previous.identifier !== target.identifier) throw new TypeError('previous must be the set with the same identifier')
  }
  const add = checkTags(change.add, 'change.add')
  const addPrivate = checkTags(change.addPrivate, 'change.addPrivate')
  const remove = checkTags(change.remove, 'change.remove')
  if (change.clear !== undefined && (!Array.isArray(change.clear) || !change.clear.every((n) => typeof n === 'string' && n !== ''))) {
    throw new TypeError('change.clear must be an array of tag names')
  }
  const clear = new Set(change.clear ?? [])
  for (const name of clear) if (isSet && SET_METADATA.has(name)) throw new TypeError(`change.clear cannot name the set metadata tag "${name}"`)
  for (const [field, tags] of [['add', add], ['addPrivate', addPrivate], ['remove', remove]] as const) {
    for (const tag of tags) if (isSet && SET_METADATA.has(tag[0]!)) throw new TypeError(`change.${field} cannot hold the set metadata tag "${tag[0]}"`)
  }

  const state = previous?.privateState ?? 'none'
  if (state === 'locked' || state === 'unreadable') {
    throw unreadable(state === 'locked' ? 'the private part is encrypted and cannot be decrypted here' : 'the private part could not be decrypted or parsed')
  }
  let tags = previous === undefined ? (isSet ? [['d', target.identifier!]] : []) : previous.tags.map((tag) => [...tag])
  let privateEntries = previous?.private.map((tag) => [...tag]) ?? []
  const plainContent = state === 'plain' ? previous!.event.content : ''

  const cleared = (tag: readonly string[]): boolean => clear.has(tag[0] ?? '') && !(isSet && SET_METADATA.has(tag[0] ?? ''))
  tags = tags.filter((tag) => !cleared(tag))
  privateEntries = privateEntries.filter((tag) => !cleared(tag))
  // An entry goes to one side only: adding it publicly takes it out of the private part and back.
  tags = removeListEntries(tags, [...remove, ...addPrivate])
  privateEntries = removeListEntries(privateEntries, [...remove, ...add])
  tags = addListEntries(tags, add)
  privateEntries = addListEntries(privateEntries, addPrivate)
  if (isSet) {
    tags = setMetadata(tags, 'title', change.title)
    tags = setMetadata(tags, 'description', change.description)
    tags = setMetadata(tags, 'image', change.image)
  }
  if (privateEntries.length > 0 && plainContent.trim() !== '') {
    throw unreadable('the content holds plain text: private entries would replace it')
  }
  return { kind, tags, private: privateEntries, plainContent }
}

/**
 * Turns a draft into an event template: the private entries encrypted with NIP-44 to the owner,
 * or the plain content kept, or an empty content.
 *
 * @param draft - from {@link applyListChange}.
 * @param cipher - the owner's ciphers (needed only when there are private entries).
 * @returns `{ kind, tags, content }` to sign.
 * @throws TypeError when private entries need encrypting and no cipher is given; the signer's errors.
 * @example
 * ```ts
 * import { listTemplate } from 'nostr-rendezvous/outbox'
 * const template = await listTemplate(draft, { pubkey: me, nip44: signer.nip44 })
 * ```
 */
export async function listTemplate(draft: ListDraft, cipher?: ListCipher): Promise<{ kind: number; tags: string[][]; content: string }> {
  let content = draft.plainContent
  if (draft.private.length > 0) {
    if (cipher === undefined) throw new TypeError('cipher is needed to write private entries')
    content = await encryptPrivateEntries(draft.private, cipher)
  }
  return { kind: draft.kind, tags: draft.tags.map((tag) => [...tag]), content }
}

// ---- mutes ---------------------------------------------------------------------------------------

/** What a mute list hides, in the form a filter uses. */
export interface MuteRules {
  /** Muted pubkeys (`p`). */
  readonly pubkeys: ReadonlySet<string>
  /** Muted hashtags (`t`), lower-case. */
  readonly hashtags: ReadonlySet<string>
  /** Muted words (`word`), lower-case. */
  readonly words: readonly string[]
  /** Muted threads (`e`): event ids. */
  readonly threads: ReadonlySet<string>
}

/** Why an event is hidden by a mute list. */
export type MuteReason = 'author' | 'hashtag' | 'word' | 'thread'

/**
 * The rules of a mute list: its public and private entries together.
 *
 * @param list - a parsed kind 10000 (or `undefined`: nothing muted).
 * @returns the rules.
 * @example
 * ```ts
 * import { muteRules, mutedReason } from 'nostr-rendezvous/outbox'
 * const rules = muteRules(await parseList(muteEvent, cipher))
 * const visible = events.filter((e) => mutedReason(e, rules) === undefined)
 * ```
 */
export function muteRules(list: Pick<ParsedList, 'public' | 'private'> | undefined): MuteRules {
  const pubkeys = new Set<string>()
  const hashtags = new Set<string>()
  const words = new Set<string>()
  const threads = new Set<string>()
  for (const [name, value] of [...(list?.public ?? []), ...(list?.private ?? [])]) {
    if (typeof value !== 'string' || value === '') continue
    if (name === 'p') pubkeys.add(value.toLowerCase())
    else if (name === 't') hashtags.add(value.toLowerCase())
    else if (name === 'word') words.add(value.toLowerCase())
    else if (name === 'e') threads.add(value.toLowerCase())
  }
  return { pubkeys, hashtags, words: [...words], threads }
}

/**
 * Whether a mute list has nothing in it.
 *
 * @param rules - from {@link muteRules}.
 * @returns `true` when nothing is muted.
 * @example
 * ```ts
 * import { isMuteRulesEmpty, muteRules } from 'nostr-rendezvous/outbox'
 * isMuteRulesEmpty(muteRules(undefined)) // true
 * ```
 */
export function isMuteRulesEmpty(rules: MuteRules): boolean {
  return rules.pubkeys.size === 0 && rules.hashtags.size === 0 && rules.words.length === 0 && rules.threads.size === 0
}

/** The ids of the thread an event belongs to: its NIP-10 root and parent (marked, else first and last `e`). */
function threadIds(event: NostrEvent): string[] {
  const eTags = event.tags.filter((tag) => Array.isArray(tag) && tag[0] === 'e' && typeof tag[1] === 'string')
  if (eTags.length === 0) return []
  const marked = eTags.filter((tag) => tag[3] === 'root' || tag[3] === 'reply')
  if (marked.length > 0) return marked.map((tag) => tag[1]!)
  if (eTags.some((tag) => tag[3] === 'mention')) return []
  return [eTags[0]![1]!, eTags[eTags.length - 1]![1]!]
}

/** A letter or digit: what a word is made of. */
const WORD_CHAR = /[\p{L}\p{N}\p{M}]/u
/** Scripts written without spaces between words: there a muted word can only be found as a substring. */
const NO_SPACES = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}]/u

/** Whether `a` and `b`, side by side, are parts of one word (so a match between them is inside a word). */
function joined(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return false
  return WORD_CHAR.test(a) && WORD_CHAR.test(b) && !NO_SPACES.test(a) && !NO_SPACES.test(b)
}

/**
 * Whether `text` holds `word` as a whole word (or phrase): muting "ass" must not hide "class", nor
 * "eth" hide "something". Both are lower-case already.
 */
function containsWord(text: string, word: string): boolean {
  const first = charAt(word, 0)
  const last = charBefore(word, word.length)
  // Bounded: each round moves past the previous match.
  for (let at = text.indexOf(word); at !== -1; at = text.indexOf(word, at + 1)) {
    if (!joined(charBefore(text, at), first) && !joined(last, charAt(text, at + word.length))) return true
  }
  return false
}

/** The whole character (code point) starting at `index`, or `undefined` past the end. */
function charAt(text: string, index: number): string | undefined {
  return index >= text.length ? undefined : String.fromCodePoint(text.codePointAt(index)!)
}

/** The whole character (code point) ending just before `index`, or `undefined` at the start. */
function charBefore(text: string, index: number): string | undefined {
  if (index <= 0) return undefined
  const low = text.charCodeAt(index - 1)
  const start = index >= 2 && low >= 0xdc00 && low <= 0xdfff ? index - 2 : index - 1
  return String.fromCodePoint(text.codePointAt(start)!)
}

/**
 * Why `event` is hidden by the mute rules, or `undefined` when it is not: its author is muted (or,
 * for a repost, the reposted author named in its `p` tag), it carries a muted hashtag, its content
 * contains a muted word as a whole word or phrase (case-insensitive; "ass" does not hide "class";
 * in Chinese, Japanese, Thai and other scripts without spaces, anywhere), or it is, or belongs to (NIP-10 root or parent), a
 * muted thread. Mentions (`e` tags marked `mention`) do not count.
 *
 * @param event - the event.
 * @param rules - from {@link muteRules}.
 * @returns the reason, or `undefined`.
 * @example
 * ```ts
 * import { mutedReason, muteRules } from 'nostr-rendezvous/outbox'
 * mutedReason(note, muteRules({ public: [['word', 'crypto']], private: [] })) // 'word' when the note says "Crypto"
 * ```
 */
export function mutedReason(event: NostrEvent, rules: MuteRules): MuteReason | undefined {
  if (rules.pubkeys.has(event.pubkey)) return 'author'
  const isRepost = event.kind === 6 || event.kind === 16
  for (const tag of event.tags) {
    if (!Array.isArray(tag) || typeof tag[1] !== 'string') continue
    if (tag[0] === 't' && rules.hashtags.has(tag[1].toLowerCase())) return 'hashtag'
    if (isRepost && tag[0] === 'p' && rules.pubkeys.has(tag[1])) return 'author'
  }
  if (rules.words.length > 0 && typeof event.content === 'string' && event.content !== '') {
    const text = event.content.toLowerCase()
    if (rules.words.some((word) => containsWord(text, word))) return 'word'
  }
  if (rules.threads.size > 0) {
    if (rules.threads.has(event.id)) return 'thread'
    // A repost's `e` tag names the note reposted: muting a thread hides its reposts too.
    const ids = isRepost ? event.tags.filter((t) => Array.isArray(t) && t[0] === 'e' && typeof t[1] === 'string').map((t) => t[1]!) : threadIds(event)
    if (ids.some((id) => rules.threads.has(id))) return 'thread'
  }
  return undefined
}
