/**
 * The NIP-01 event model: types, the canonical serialization that defines an event's id, and shape
 * validation with clear errors.
 *
 * Serialization: `JSON.stringify([0, pubkey, created_at, kind, tags, content])`. JSON.stringify
 * produces exactly the seven escapes NIP-01 names (`\n \" \\ \r \t \b \f`), writes every other
 * printable character verbatim (including `/` and non-ASCII), and writes the remaining C0 control
 * characters as `\u00xx`. NIP-01 says "verbatim" for those too, but a raw control byte is not JSON
 * and the deployed implementations (nostr-tools, go-nostr, rust-nostr, strfry) hash the `\u00xx`
 * form, so ids agree with the network this way (the event tests pin both behaviours).
 *
 * @module
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { CryptoError } from '../errors.js'
import { bytesToHex, isHex, utf8Encoder } from './bytes.js'

/** A signed Nostr event (NIP-01). */
export interface NostrEvent {
  /** Lower-case hex sha256 of the serialized event (32 bytes). */
  id: string
  /** Lower-case hex x-only public key of the author (32 bytes). */
  pubkey: string
  /** Unix time in seconds. */
  created_at: number
  /** Integer 0..65535. */
  kind: number
  /** Arrays of strings. */
  tags: string[][]
  /** Arbitrary string. */
  content: string
  /** Lower-case hex BIP-340 signature of the id (64 bytes). */
  sig: string
}

/** What a caller fills in to create an event; `created_at` defaults to now, `tags` to `[]`. */
export interface EventTemplate {
  kind: number
  content: string
  tags?: string[][]
  created_at?: number
}

/** An event with its author and id but no signature (a NIP-59 rumor, a mined event before signing). */
export interface UnsignedEvent {
  id: string
  pubkey: string
  created_at: number
  kind: number
  tags: string[][]
  content: string
}

/** The fields that determine an event's id. */
export type EventIdFields = Pick<NostrEvent, 'pubkey' | 'created_at' | 'kind' | 'tags' | 'content'>

/** Largest kind NIP-01 allows. */
export const MAX_KIND = 65535

/**
 * The current Unix time in whole seconds.
 *
 * @returns seconds since the epoch.
 * @example
 * ```ts
 * import { nowSeconds } from 'nostr-rendezvous/crypto'
 * const created_at = nowSeconds()
 * ```
 */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000)
}

/**
 * The reason `fields` are not a valid id preimage, or `undefined` when they are.
 * Checks kind (integer 0..65535), created_at (non-negative safe integer), tags (`string[][]`),
 * content (string) and pubkey (64 lower-case hex).
 */
function idFieldsProblem(e: Record<string, unknown>): string | undefined {
  if (!isHex(e.pubkey, 32)) return 'pubkey must be 64 lower-case hex characters'
  const { kind, created_at: createdAt, tags, content } = e
  if (typeof kind !== 'number' || !Number.isInteger(kind) || kind < 0 || kind > MAX_KIND) {
    return `kind must be an integer from 0 to ${MAX_KIND}`
  }
  if (typeof createdAt !== 'number' || !Number.isSafeInteger(createdAt) || createdAt < 0) {
    return 'created_at must be a non-negative integer (seconds)'
  }
  if (typeof content !== 'string') return 'content must be a string'
  if (!Array.isArray(tags)) return 'tags must be an array'
  for (let i = 0; i < tags.length; i++) {
    const tag: unknown = tags[i]
    if (!Array.isArray(tag)) return `tags[${i}] must be an array`
    for (let j = 0; j < tag.length; j++) {
      if (typeof tag[j] !== 'string') return `tags[${i}][${j}] must be a string`
    }
  }
  return undefined
}

/**
 * The reason `value` is not a well-formed signed event, or `undefined` when it is. Does not check
 * the id hash or the signature (see `verifyEvent`).
 *
 * @param value - anything (e.g. parsed from a relay message).
 * @returns a message naming the bad field, or `undefined`.
 * @example
 * ```ts
 * import { eventShapeProblem } from 'nostr-rendezvous/crypto'
 * eventShapeProblem({ kind: 1 }) // 'id must be 64 lower-case hex characters'
 * ```
 */
export function eventShapeProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'event must be an object'
  const e = value as Record<string, unknown>
  if (!isHex(e.id, 32)) return 'id must be 64 lower-case hex characters'
  if (!isHex(e.sig, 64)) return 'sig must be 128 lower-case hex characters'
  return idFieldsProblem(e)
}

/**
 * True when `value` has the shape of a signed event (types, hex lengths, kind range). Does not
 * verify the id or signature.
 *
 * @param value - anything.
 * @returns whether it is shaped like a {@link NostrEvent}.
 * @example
 * ```ts
 * import { isEventShape } from 'nostr-rendezvous/crypto'
 * if (isEventShape(JSON.parse(frame)[2])) handle(event)
 * ```
 */
export function isEventShape(value: unknown): value is NostrEvent {
  return eventShapeProblem(value) === undefined
}

/**
 * Throws unless `value` has the shape of a signed event.
 *
 * @param value - anything.
 * @throws CryptoError `INVALID_EVENT` naming the bad field.
 * @example
 * ```ts
 * import { assertEventShape } from 'nostr-rendezvous/crypto'
 * assertEventShape(untrusted) // throws CryptoError INVALID_EVENT if malformed
 * ```
 */
export function assertEventShape(value: unknown): asserts value is NostrEvent {
  const problem = eventShapeProblem(value)
  if (problem) throw new CryptoError('INVALID_EVENT', 'Malformed event', { details: problem })
}

/**
 * The NIP-01 serialization whose sha256 is the event id.
 *
 * @param event - pubkey, created_at, kind, tags, content.
 * @returns the canonical JSON string.
 * @throws CryptoError `INVALID_EVENT` when a field has the wrong type.
 * @example
 * ```ts
 * import { serializeEvent } from 'nostr-rendezvous/crypto'
 * serializeEvent({ pubkey: 'ab'.repeat(32), created_at: 1, kind: 1, tags: [], content: 'hi' })
 * // '[0,"abab…",1,1,[],"hi"]'
 * ```
 */
export function serializeEvent(event: EventIdFields): string {
  const problem = idFieldsProblem(event as unknown as Record<string, unknown>)
  if (problem) throw new CryptoError('INVALID_EVENT', 'Malformed event', { details: problem })
  return JSON.stringify([0, event.pubkey, event.created_at, event.kind, event.tags, event.content])
}

/**
 * Same as getEventHash, without the shape check (callers have checked).
 * @internal
 */
export function hashSerialized(event: EventIdFields): string {
  return bytesToHex(
    sha256(utf8Encoder.encode(JSON.stringify([0, event.pubkey, event.created_at, event.kind, event.tags, event.content]))),
  )
}

/**
 * The event id: lower-case hex sha256 of {@link serializeEvent}.
 *
 * @param event - pubkey, created_at, kind, tags, content.
 * @returns 64 hex characters.
 * @throws CryptoError `INVALID_EVENT` when a field has the wrong type.
 * @example
 * ```ts
 * import { getEventHash } from 'nostr-rendezvous/crypto'
 * const id = getEventHash({ pubkey, created_at: 1700000000, kind: 1, tags: [], content: 'gm' })
 * ```
 */
export function getEventHash(event: EventIdFields): string {
  return bytesToHex(sha256(utf8Encoder.encode(serializeEvent(event))))
}

/**
 * A new event object holding only the seven NIP-01 fields of `event`. Anything else on the object
 * (extension properties, an own `__proto__` key from `JSON.parse`) stays behind, so what a relay or
 * an extension handed over never carries surprises further in.
 *
 * @param event - an event whose shape is already checked.
 * @returns a plain object with `id`, `pubkey`, `created_at`, `kind`, `tags`, `content`, `sig`.
 * @example
 * ```ts
 * import { isEventShape, pickEventFields } from 'nostr-rendezvous/crypto'
 * if (isEventShape(untrusted)) keep(pickEventFields(untrusted))
 * ```
 */
export function pickEventFields(event: NostrEvent): NostrEvent {
  return {
    id: event.id,
    pubkey: event.pubkey,
    created_at: event.created_at,
    kind: event.kind,
    tags: event.tags,
    content: event.content,
    sig: event.sig,
  }
}

/**
 * A deep copy of a tag list (arrays copied, strings shared). Values that are not arrays are kept as
 * they are, so shape validation still reports them.
 *
 * @param tags - the tags to copy.
 * @returns a new array of new arrays.
 * @example
 * ```ts
 * import { copyTags } from 'nostr-rendezvous/crypto'
 * const tags = copyTags(template.tags ?? [])
 * ```
 */
export function copyTags(tags: string[][]): string[][] {
  return Array.isArray(tags) ? tags.map((tag) => (Array.isArray(tag) ? [...tag] : tag)) : tags
}

/**
 * NIP-01 kind ranges. Replaceable: 0, 3, 10000–19999. Ephemeral: 20000–29999. Addressable:
 * 30000–39999. Everything else is regular.
 *
 * @param kind - an event kind.
 * @returns the range it belongs to.
 * @example
 * ```ts
 * import { kindClass } from 'nostr-rendezvous/crypto'
 * kindClass(10002) // 'replaceable'
 * ```
 */
export function kindClass(kind: number): 'regular' | 'replaceable' | 'ephemeral' | 'addressable' {
  if (kind === 0 || kind === 3 || (kind >= 10000 && kind < 20000)) return 'replaceable'
  if (kind >= 20000 && kind < 30000) return 'ephemeral'
  if (kind >= 30000 && kind < 40000) return 'addressable'
  return 'regular'
}
