/**
 * NIP-19 bech32 entities: `npub`, `nsec`, `note` (bare 32-byte keys and ids) and `nprofile`,
 * `nevent`, `naddr` (TLV records with relay hints).
 *
 * See {@link https://github.com/nostr-protocol/nips/blob/master/19.md | NIP-19}.
 *
 * Choices where the NIP is loose (each covered by a test):
 * - Plain bech32 (BIP-173), never bech32m; strings up to {@link MAX_BECH32_LENGTH} (5000)
 *   characters, not BIP-173's 90. Upper-case strings are accepted (QR codes use them), mixed case
 *   is not. The encoders refuse to produce a string the decoder would refuse.
 * - TLV: unknown types, and known types an entity does not use, are ignored. When a single-valued
 *   type (special, author, kind) repeats, the first record wins; relays keep their order.
 * - Relay hints are written as UTF-8 (ASCII is a subset, so ASCII relays are written exactly as the
 *   NIP says). When reading, a relay hint that is not valid UTF-8 is dropped rather than rejecting
 *   the whole entity or inventing U+FFFD characters: a hint is optional, the pointer is not.
 * - The `naddr` identifier (a `d` tag) must be valid UTF-8: a repaired identifier would silently
 *   point at a different event. A leading U+FEFF is kept (the decoder does not eat a "BOM").
 * - `kind` is the full u32 range of the TLV, not NIP-01's 0..65535: this module reads and writes
 *   the format; whether a kind is meaningful is for the caller.
 * - Only the format is checked: a decoded pubkey need not be on the curve, an nsec need not be a
 *   valid scalar (`getPublicKey` tells you).
 * - `nrelay` (deprecated) and `ncryptsec` (NIP-49, see `nip49`) are not handled here and decode
 *   as an unknown prefix.
 *
 * @module
 */
import { bech32 } from '@scure/base'
import { CryptoError } from '../errors.js'
import { assertBytes, bytesToHex, hexToBytes, utf8Encoder, utf8StrictDecoder } from './bytes.js'

/** Longest bech32 string NIP-19 allows ("SHOULD be limited in size to 5000 characters"). */
export const MAX_BECH32_LENGTH = 5000

/** Largest value a single TLV record can hold (its length is one byte). */
export const MAX_TLV_VALUE_LENGTH = 255

/** Largest `kind` the 4-byte TLV can hold. */
const MAX_U32 = 0xffffffff

/** hrp (1+) + separator + checksum (6). */
const MIN_BECH32_LENGTH = 8
const BECH32_ALPHABET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l'
const CHECKSUM_LENGTH = 6

const TLV_SPECIAL = 0
const TLV_RELAY = 1
const TLV_AUTHOR = 2
const TLV_KIND = 3

/** A profile to share: a public key and relays where it is likely found. */
export interface ProfilePointer {
  /** 64 hex characters. */
  pubkey: string
  /** Relay URLs (hints). */
  relays?: string[]
}

/** An event to share: its id and optional hints about where and what it is. */
export interface EventPointer {
  /** 64 hex characters. */
  id: string
  /** Relay URLs (hints). */
  relays?: string[]
  /** The author's public key, 64 hex characters. */
  author?: string
  /** The event kind (u32). */
  kind?: number
}

/** An addressable event coordinate (`kind:pubkey:identifier`) with relay hints. */
export interface AddressPointer {
  /** The `d` tag; the empty string for a normal replaceable event. */
  identifier: string
  /** The author's public key, 64 hex characters. */
  pubkey: string
  /** The event kind (u32). */
  kind: number
  /** Relay URLs (hints). */
  relays?: string[]
}

/** What {@link decode} returns; decoded pointers always carry a `relays` array (maybe empty). */
export type DecodedResult =
  | { type: 'npub'; data: string }
  | { type: 'nsec'; data: Uint8Array }
  | { type: 'note'; data: string }
  | { type: 'nprofile'; data: ProfilePointer & { relays: string[] } }
  | { type: 'nevent'; data: EventPointer & { relays: string[] } }
  | { type: 'naddr'; data: AddressPointer & { relays: string[] } }

/** The NIP-19 prefixes this module reads and writes. */
export type Nip19Type = DecodedResult['type']

/** The `data` of a decoded entity of type `T`. */
export type DecodedData<T extends Nip19Type> = Extract<DecodedResult, { type: T }>['data']

/**
 * Decodes a NIP-19 string.
 *
 * @param str - an `npub`, `nsec`, `note`, `nprofile`, `nevent` or `naddr` string (all lower or
 * all upper case).
 * @returns the type and its data: hex for `npub`/`note`, 32 bytes for `nsec` (wipe them when
 * done), a pointer for the TLV types.
 * @throws TypeError when `str` is not a string. CryptoError `NIP19_INVALID_BECH32` (not bech32,
 * mixed case, over 5000 characters, bad padding), `NIP19_BAD_CHECKSUM`, `NIP19_UNKNOWN_PREFIX`,
 * `NIP19_BAD_LENGTH` (wrong key/id/author/kind size, truncated TLV), `NIP19_MISSING_TLV`, or
 * `NIP19_INVALID_TLV` (an `naddr` identifier that is not UTF-8).
 * @example
 * ```ts
 * import { nip19 } from 'nostr-rendezvous/crypto'
 * const { type, data } = nip19.decode('npub180cvv07tjdrrgpa0j7j7tmnyl2yr6yr7l8j4s3evf6u64th6gkwsyjh6w6')
 * // type === 'npub', data === '3bf0c63fcb93463407af97a5e5ee64fa883d107ef9e558472c4eb9aaaefa459d'
 * ```
 */
export function decode(str: string): DecodedResult {
  const { prefix, bytes } = bech32ToBytes(str)
  switch (prefix) {
    case 'npub':
    case 'note':
      return { type: prefix, data: bytesToHex(fixedLength(bytes, 32, prefix)) }
    case 'nsec':
      return { type: prefix, data: fixedLength(bytes, 32, prefix) }
    case 'nprofile':
      return { type: prefix, data: decodeProfile(parseTlv(bytes)) }
    case 'nevent':
      return { type: prefix, data: decodeEvent(parseTlv(bytes)) }
    case 'naddr':
      return { type: prefix, data: decodeAddress(parseTlv(bytes)) }
    default:
      // The prefix comes from outside but is not secret; it is bounded by the 5000-character limit.
      throw new CryptoError('NIP19_UNKNOWN_PREFIX', 'Unknown NIP-19 prefix', { details: prefix.slice(0, 32) })
  }
}

/**
 * Decodes a NIP-19 string that must be of type `type`.
 *
 * @param str - the NIP-19 string.
 * @param type - the expected type.
 * @returns the decoded data.
 * @throws what {@link decode} throws; CryptoError `NIP19_UNKNOWN_PREFIX` when it is another type.
 * @example
 * ```ts
 * import { nip19 } from 'nostr-rendezvous/crypto'
 * const pointer = nip19.decodeAs(input, 'naddr') // AddressPointer, or throws
 * ```
 */
export function decodeAs<T extends Nip19Type>(str: string, type: T): DecodedData<T> {
  const decoded = decode(str)
  if (decoded.type !== type) {
    if (decoded.type === 'nsec') decoded.data.fill(0)
    throw new CryptoError('NIP19_UNKNOWN_PREFIX', `Expected ${type}, got ${decoded.type}`)
  }
  return decoded.data as DecodedData<T>
}

/**
 * Decodes an `npub` to a hex public key.
 *
 * @param str - the `npub` string.
 * @returns 64 lower-case hex characters.
 * @throws what {@link decodeAs} throws.
 * @example
 * ```ts
 * import { nip19 } from 'nostr-rendezvous/crypto'
 * nip19.decodeNpub('npub180cvv07tjdrrgpa0j7j7tmnyl2yr6yr7l8j4s3evf6u64th6gkwsyjh6w6') // '3bf0c6…'
 * ```
 */
export function decodeNpub(str: string): string {
  return decodeAs(str, 'npub')
}

/**
 * Decodes an `nsec` to secret key bytes.
 *
 * @param str - the `nsec` string.
 * @returns 32 bytes; wipe them when done.
 * @throws what {@link decodeAs} throws.
 * @example
 * ```ts
 * import { getPublicKey, nip19 } from 'nostr-rendezvous/crypto'
 * const sk = nip19.decodeNsec(pasted)
 * const pubkey = getPublicKey(sk)
 * ```
 */
export function decodeNsec(str: string): Uint8Array {
  return decodeAs(str, 'nsec')
}

/**
 * Decodes a `note` to a hex event id.
 *
 * @param str - the `note` string.
 * @returns 64 lower-case hex characters.
 * @throws what {@link decodeAs} throws.
 * @example
 * ```ts
 * import { nip19 } from 'nostr-rendezvous/crypto'
 * const id = nip19.decodeNote(input)
 * ```
 */
export function decodeNote(str: string): string {
  return decodeAs(str, 'note')
}

/**
 * Decodes an `nprofile`.
 *
 * @param str - the `nprofile` string.
 * @returns the profile pointer, `relays` always present.
 * @throws what {@link decodeAs} throws.
 * @example
 * ```ts
 * import { nip19 } from 'nostr-rendezvous/crypto'
 * const { pubkey, relays } = nip19.decodeNprofile(input)
 * ```
 */
export function decodeNprofile(str: string): DecodedData<'nprofile'> {
  return decodeAs(str, 'nprofile')
}

/**
 * Decodes an `nevent`.
 *
 * @param str - the `nevent` string.
 * @returns the event pointer, `relays` always present, `author`/`kind` when encoded.
 * @throws what {@link decodeAs} throws.
 * @example
 * ```ts
 * import { nip19 } from 'nostr-rendezvous/crypto'
 * const { id, relays, author } = nip19.decodeNevent(input)
 * ```
 */
export function decodeNevent(str: string): DecodedData<'nevent'> {
  return decodeAs(str, 'nevent')
}

/**
 * Decodes an `naddr`.
 *
 * @param str - the `naddr` string.
 * @returns the address pointer, `relays` always present.
 * @throws what {@link decodeAs} throws.
 * @example
 * ```ts
 * import { nip19 } from 'nostr-rendezvous/crypto'
 * const { kind, pubkey, identifier } = nip19.decodeNaddr(input)
 * ```
 */
export function decodeNaddr(str: string): DecodedData<'naddr'> {
  return decodeAs(str, 'naddr')
}

/**
 * Encodes a hex public key as an `npub`.
 *
 * @param pubkey - 64 hex characters.
 * @returns the `npub` string.
 * @throws TypeError/RangeError when `pubkey` is not 32 bytes of hex.
 * @example
 * ```ts
 * import { nip19 } from 'nostr-rendezvous/crypto'
 * nip19.npubEncode('3bf0c63fcb93463407af97a5e5ee64fa883d107ef9e558472c4eb9aaaefa459d')
 * // 'npub180cvv07tjdrrgpa0j7j7tmnyl2yr6yr7l8j4s3evf6u64th6gkwsyjh6w6'
 * ```
 */
export function npubEncode(pubkey: string): string {
  return bytesToBech32('npub', hexToBytes(pubkey, 'pubkey', 32))
}

/**
 * Encodes a secret key as an `nsec`.
 *
 * @param secretKey - 32 bytes.
 * @returns the `nsec` string (a secret: show it only to its owner).
 * @throws TypeError/RangeError when `secretKey` is not 32 bytes.
 * @example
 * ```ts
 * import { generateSecretKey, nip19 } from 'nostr-rendezvous/crypto'
 * const nsec = nip19.nsecEncode(generateSecretKey())
 * ```
 */
export function nsecEncode(secretKey: Uint8Array): string {
  return bytesToBech32('nsec', assertBytes(secretKey, 32, 'secretKey'))
}

/**
 * Encodes a hex event id as a `note`.
 *
 * @param id - 64 hex characters.
 * @returns the `note` string.
 * @throws TypeError/RangeError when `id` is not 32 bytes of hex.
 * @example
 * ```ts
 * import { nip19 } from 'nostr-rendezvous/crypto'
 * const note = nip19.noteEncode(event.id)
 * ```
 */
export function noteEncode(id: string): string {
  return bytesToBech32('note', hexToBytes(id, 'id', 32))
}

/**
 * Encodes a profile pointer as an `nprofile` (TLV order: pubkey, then relays).
 *
 * @param profile - `pubkey` (hex) and optional `relays`.
 * @returns the `nprofile` string.
 * @throws TypeError/RangeError naming the field: bad hex, a relay that is not a string, has a
 * lone surrogate or is over 255 bytes, or so many relays that the result would pass 5000
 * characters.
 * @example
 * ```ts
 * import { nip19 } from 'nostr-rendezvous/crypto'
 * nip19.nprofileEncode({ pubkey, relays: ['wss://relay.example.com'] }) // 'nprofile1…'
 * ```
 */
export function nprofileEncode(profile: ProfilePointer): string {
  assertObject(profile, 'profile')
  return tlvToBech32('nprofile', [
    [TLV_SPECIAL, hexToBytes(profile.pubkey, 'pubkey', 32), 'pubkey'],
    ...relayRecords(profile.relays),
  ])
}

/**
 * Encodes an event pointer as an `nevent` (TLV order: id, relays, author, kind).
 *
 * @param event - `id` (hex), optional `relays`, `author` (hex) and `kind` (u32).
 * @returns the `nevent` string.
 * @throws TypeError/RangeError naming the field (bad hex, bad kind, bad or too many relays).
 * @example
 * ```ts
 * import { nip19 } from 'nostr-rendezvous/crypto'
 * nip19.neventEncode({ id: event.id, author: event.pubkey, kind: event.kind, relays: ['wss://r.example'] })
 * ```
 */
export function neventEncode(event: EventPointer): string {
  assertObject(event, 'event')
  const records: TlvRecord[] = [[TLV_SPECIAL, hexToBytes(event.id, 'id', 32), 'id'], ...relayRecords(event.relays)]
  if (event.author !== undefined) records.push([TLV_AUTHOR, hexToBytes(event.author, 'author', 32), 'author'])
  if (event.kind !== undefined) records.push([TLV_KIND, u32Bytes(event.kind, 'kind'), 'kind'])
  return tlvToBech32('nevent', records)
}

/**
 * Encodes an addressable event coordinate as an `naddr` (TLV order: identifier, relays, author,
 * kind).
 *
 * @param addr - `identifier` (the `d` tag, may be empty), `pubkey` (hex), `kind` (u32), optional
 * `relays`.
 * @returns the `naddr` string.
 * @throws TypeError/RangeError naming the field (identifier over 255 bytes or with a lone
 * surrogate, bad hex, bad kind, bad or too many relays).
 * @example
 * ```ts
 * import { nip19 } from 'nostr-rendezvous/crypto'
 * nip19.naddrEncode({ kind: 30023, pubkey, identifier: 'my-article', relays: ['wss://r.example'] })
 * ```
 */
export function naddrEncode(addr: AddressPointer): string {
  assertObject(addr, 'addr')
  return tlvToBech32('naddr', [
    [TLV_SPECIAL, textBytes(addr.identifier, 'identifier'), 'identifier'],
    ...relayRecords(addr.relays),
    [TLV_AUTHOR, hexToBytes(addr.pubkey, 'pubkey', 32), 'pubkey'],
    [TLV_KIND, u32Bytes(addr.kind, 'kind'), 'kind'],
  ])
}

// ---------------------------------------------------------------------------------------------
// bech32

/**
 * Splits and checks a bech32 string. Everything @scure/base would reject is checked here first,
 * so that a failure inside `bech32.decode` can only be the checksum; its messages are not a
 * stable API and would otherwise have to be matched.
 */
function bech32ToBytes(str: string): { prefix: string; bytes: Uint8Array } {
  if (typeof str !== 'string') throw new TypeError(`str must be a string, got ${typeof str}`)
  const problem = structureProblem(str)
  if (problem !== undefined) throw new CryptoError('NIP19_INVALID_BECH32', 'Not a valid bech32 string', { details: problem })
  let decoded: { prefix: string; words: number[] }
  try {
    decoded = bech32.decode(str.toLowerCase(), MAX_BECH32_LENGTH)
  } catch {
    // No `cause`: @scure/base puts the whole input in its message, and the input may be an nsec.
    throw new CryptoError('NIP19_BAD_CHECKSUM', 'Bech32 checksum does not match (typo, truncation, or bech32m)')
  }
  try {
    return { prefix: decoded.prefix, bytes: bech32.fromWords(decoded.words) }
  } catch (cause) {
    // Padding errors carry no input data in their message, so the cause is safe to keep.
    throw new CryptoError('NIP19_INVALID_BECH32', 'Bech32 payload has invalid padding', { cause })
  }
}

/** Why `str` is not structurally bech32 (BIP-173, with NIP-19's length limit), or undefined. */
function structureProblem(str: string): string | undefined {
  if (str.length < MIN_BECH32_LENGTH) return `shorter than ${MIN_BECH32_LENGTH} characters`
  if (str.length > MAX_BECH32_LENGTH) return `${str.length} characters, more than ${MAX_BECH32_LENGTH}`
  for (let i = 0; i < str.length; i++) {
    const c = str.charCodeAt(i)
    if (c < 33 || c > 126) return `character ${i} is not printable ASCII`
  }
  const lower = str.toLowerCase()
  if (str !== lower && str !== str.toUpperCase()) return 'mixed case'
  const sep = lower.lastIndexOf('1')
  if (sep < 1) return 'no prefix before a "1" separator'
  if (lower.length - sep - 1 < CHECKSUM_LENGTH) return 'data part shorter than the checksum'
  for (let i = sep + 1; i < lower.length; i++) {
    if (!BECH32_ALPHABET.includes(lower[i]!)) return `character ${i} is not in the bech32 alphabet`
  }
  return undefined
}

function bytesToBech32(prefix: string, bytes: Uint8Array): string {
  const length = prefix.length + 1 + Math.ceil((bytes.length * 8) / 5) + CHECKSUM_LENGTH
  if (length > MAX_BECH32_LENGTH) {
    // Only relays can grow an entity this far (every other record is at most 255 bytes, once).
    throw new RangeError(`relays: the ${prefix} would be ${length} characters, more than the ${MAX_BECH32_LENGTH} NIP-19 allows`)
  }
  return bech32.encode(prefix, bech32.toWords(bytes), MAX_BECH32_LENGTH)
}

// ---------------------------------------------------------------------------------------------
// TLV

/** One record to write: type, value, and the argument it came from (for error messages). */
type TlvRecord = [type: number, value: Uint8Array, field: string]

/** Records by type, in the order they appear. */
type Tlv = Map<number, Uint8Array[]>

function tlvToBech32(prefix: string, records: TlvRecord[]): string {
  let size = 0
  for (const [, value, field] of records) {
    if (value.length > MAX_TLV_VALUE_LENGTH) {
      throw new RangeError(`${field} must be at most ${MAX_TLV_VALUE_LENGTH} bytes encoded, got ${value.length}`)
    }
    size += 2 + value.length
  }
  const out = new Uint8Array(size)
  let at = 0
  for (const [type, value] of records) {
    out[at] = type
    out[at + 1] = value.length
    out.set(value, at + 2)
    at += 2 + value.length
  }
  return bytesToBech32(prefix, out)
}

function parseTlv(bytes: Uint8Array): Tlv {
  const tlv: Tlv = new Map()
  let at = 0
  while (at < bytes.length) {
    if (at + 2 > bytes.length) throw new CryptoError('NIP19_BAD_LENGTH', 'Truncated TLV record', { details: `1 byte left at offset ${at}` })
    const type = bytes[at]!
    const length = bytes[at + 1]!
    const end = at + 2 + length
    if (end > bytes.length) {
      throw new CryptoError('NIP19_BAD_LENGTH', 'Truncated TLV record', {
        details: `type ${type} declares ${length} bytes, ${bytes.length - at - 2} left`,
      })
    }
    const values = tlv.get(type)
    const value = bytes.subarray(at + 2, end)
    if (values) values.push(value)
    else tlv.set(type, [value])
    at = end
  }
  return tlv
}

function decodeProfile(tlv: Tlv): ProfilePointer & { relays: string[] } {
  const pubkey = required(tlv, TLV_SPECIAL, 'nprofile pubkey')
  return { pubkey: bytesToHex(fixedLength(pubkey, 32, 'nprofile pubkey')), relays: decodeRelays(tlv) }
}

function decodeEvent(tlv: Tlv): EventPointer & { relays: string[] } {
  const id = required(tlv, TLV_SPECIAL, 'nevent id')
  const pointer: EventPointer & { relays: string[] } = { id: bytesToHex(fixedLength(id, 32, 'nevent id')), relays: decodeRelays(tlv) }
  const author = tlv.get(TLV_AUTHOR)?.[0]
  if (author) pointer.author = bytesToHex(fixedLength(author, 32, 'nevent author'))
  const kind = tlv.get(TLV_KIND)?.[0]
  if (kind) pointer.kind = readU32(fixedLength(kind, 4, 'nevent kind'))
  return pointer
}

function decodeAddress(tlv: Tlv): AddressPointer & { relays: string[] } {
  const identifier = required(tlv, TLV_SPECIAL, 'naddr identifier')
  const pubkey = required(tlv, TLV_AUTHOR, 'naddr author')
  const kind = required(tlv, TLV_KIND, 'naddr kind')
  let text: string
  try {
    text = utf8StrictDecoder.decode(identifier)
  } catch (cause) {
    throw new CryptoError('NIP19_INVALID_TLV', 'naddr identifier is not valid UTF-8', { cause })
  }
  return {
    identifier: text,
    pubkey: bytesToHex(fixedLength(pubkey, 32, 'naddr author')),
    kind: readU32(fixedLength(kind, 4, 'naddr kind')),
    relays: decodeRelays(tlv),
  }
}

function required(tlv: Tlv, type: number, what: string): Uint8Array {
  const value = tlv.get(type)?.[0]
  if (!value) throw new CryptoError('NIP19_MISSING_TLV', `Missing ${what}`, { details: `TLV type ${type}` })
  return value
}

function fixedLength(bytes: Uint8Array, length: number, what: string): Uint8Array {
  if (bytes.length !== length) {
    throw new CryptoError('NIP19_BAD_LENGTH', `${what} must be ${length} bytes`, { details: `got ${bytes.length}` })
  }
  return bytes
}

/** Relay hints in order; ones that are not UTF-8 are dropped (see the module notes). */
function decodeRelays(tlv: Tlv): string[] {
  const relays: string[] = []
  for (const value of tlv.get(TLV_RELAY) ?? []) {
    try {
      relays.push(utf8StrictDecoder.decode(value))
    } catch {
      // An undecodable hint is useless, not fatal.
    }
  }
  return relays
}

function relayRecords(relays: unknown): TlvRecord[] {
  if (relays === undefined) return []
  if (!Array.isArray(relays)) throw new TypeError(`relays must be an array of strings, got ${typeof relays}`)
  return relays.map((relay, i): TlvRecord => [TLV_RELAY, textBytes(relay, `relays[${i}]`), `relays[${i}]`])
}

/** UTF-8 of a string; a lone surrogate would be written as U+FFFD, so it is refused instead. */
function textBytes(value: unknown, field: string): Uint8Array {
  if (typeof value !== 'string') throw new TypeError(`${field} must be a string, got ${typeof value}`)
  if (/\p{Cs}/u.test(value)) throw new TypeError(`${field} contains a lone surrogate (not encodable as UTF-8)`)
  return utf8Encoder.encode(value)
}

function u32Bytes(value: unknown, field: string): Uint8Array {
  if (typeof value !== 'number') throw new TypeError(`${field} must be a number, got ${typeof value}`)
  if (!Number.isInteger(value) || value < 0 || value > MAX_U32) {
    throw new RangeError(`${field} must be an integer from 0 to ${MAX_U32}, got ${value}`)
  }
  const out = new Uint8Array(4)
  new DataView(out.buffer).setUint32(0, value, false)
  return out
}

function readU32(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, false)
}

function assertObject(value: unknown, field: string): void {
  if (typeof value !== 'object' || value === null) {
    throw new TypeError(`${field} must be an object, got ${value === null ? 'null' : typeof value}`)
  }
}
