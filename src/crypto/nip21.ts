/**
 * NIP-21 `nostr:` URIs: a NIP-19 entity behind the `nostr:` scheme, in links and in note content.
 *
 * See {@link https://github.com/nostr-protocol/nips/blob/master/21.md | NIP-21}.
 *
 * Choices (each covered by a test):
 * - The scheme is matched case-insensitively (RFC 3986 §3.1), so `NOSTR:NPUB1…` from an
 *   upper-case QR code parses. Nothing else is tolerated: no `nostr://`, no surrounding spaces.
 * - An `nsec` is refused everywhere (the NIP excludes it: a URI is for sharing). A refused secret
 *   is wiped before the error is thrown.
 * - {@link findNostrUris} returns at most {@link MAX_NOSTR_URI_MATCHES} matches by default, so a
 *   hostile note cannot make a renderer build an unbounded list; the scan is linear in the text.
 *
 * @module
 */
import { CryptoError } from '../errors.js'
import { wipe } from './bytes.js'
import { type DecodedResult, decode } from './nip19.js'

/** The URI scheme, with its colon. */
export const NOSTR_URI_SCHEME = 'nostr:'

/** Default cap on the matches {@link findNostrUris} returns. */
export const MAX_NOSTR_URI_MATCHES = 1000

/** What a `nostr:` URI can carry: any NIP-19 entity except `nsec`. */
export type NostrUriDecoded = Exclude<DecodedResult, { type: 'nsec' }>

/** A parsed `nostr:` URI. */
export interface NostrUri {
  /** The URI as given. */
  uri: string
  /** The NIP-19 part after the scheme, as given. */
  value: string
  /** The decoded entity. */
  decoded: NostrUriDecoded
}

/** A `nostr:` URI found in text; `text.slice(start, end) === uri`. */
export interface NostrUriMatch extends NostrUri {
  /** Index of the first character of the URI in the text (UTF-16 units). */
  start: number
  /** Index just past the URI. */
  end: number
}

/** Options for {@link findNostrUris}. */
export interface FindNostrUrisOptions {
  /**
   * Stop after this many valid matches.
   * @default 1000
   */
  limit?: number
}

/**
 * A scheme not glued to a preceding letter or digit (so `xnostr:` is not a mention), a prefix of
 * letters, the separator, and bech32 characters. Case-insensitive; mixed case is rejected later
 * by the decoder. The prefix cannot contain `1` and the data part cannot either, so the split is
 * unambiguous and the scan does not backtrack across candidates.
 */
const NOSTR_URI_IN_TEXT = /(?<![0-9a-z])nostr:([a-z]+1[qpzry9x8gf2tvdw0s3jn54khce6mua7l]+)/gi

/**
 * Builds a `nostr:` URI from a NIP-19 string, after checking that it decodes.
 *
 * @param bech32 - an `npub`, `note`, `nprofile`, `nevent` or `naddr` string.
 * @returns `nostr:` followed by the string in lower case.
 * @throws TypeError when `bech32` is not a string; the NIP-19 CryptoError when it does not
 * decode; CryptoError `NIP21_INVALID_URI` when it is an `nsec`.
 * @example
 * ```ts
 * import { nip19, nip21 } from 'nostr-rendezvous/crypto'
 * nip21.encodeNostrUri(nip19.npubEncode(pubkey)) // 'nostr:npub1…'
 * ```
 */
export function encodeNostrUri(bech32: string): string {
  if (typeof bech32 !== 'string') throw new TypeError(`bech32 must be a string, got ${typeof bech32}`)
  refuseSecret(decode(bech32))
  return NOSTR_URI_SCHEME + bech32.toLowerCase()
}

/**
 * Parses a `nostr:` URI.
 *
 * @param uri - the whole URI, e.g. `nostr:npub1…` (scheme in any case).
 * @returns the URI, its NIP-19 part (both as given) and the decoded entity.
 * @throws TypeError when `uri` is not a string; CryptoError `NIP21_INVALID_URI` when the scheme is
 * not `nostr:`, the rest is not a valid NIP-19 string (the NIP-19 error is the `cause`), or it is
 * an `nsec`.
 * @example
 * ```ts
 * import { nip21 } from 'nostr-rendezvous/crypto'
 * const { decoded } = nip21.parseNostrUri('nostr:npub180cvv07tjdrrgpa0j7j7tmnyl2yr6yr7l8j4s3evf6u64th6gkwsyjh6w6')
 * // decoded.type === 'npub'
 * ```
 */
export function parseNostrUri(uri: string): NostrUri {
  if (typeof uri !== 'string') throw new TypeError(`uri must be a string, got ${typeof uri}`)
  if (uri.slice(0, NOSTR_URI_SCHEME.length).toLowerCase() !== NOSTR_URI_SCHEME) {
    throw new CryptoError('NIP21_INVALID_URI', 'Not a nostr: URI')
  }
  const value = uri.slice(NOSTR_URI_SCHEME.length)
  let decoded: DecodedResult
  try {
    decoded = decode(value)
  } catch (cause) {
    const code = cause instanceof CryptoError ? cause.code : undefined
    throw new CryptoError('NIP21_INVALID_URI', 'nostr: URI does not hold a valid NIP-19 entity', { cause, details: code })
  }
  return { uri, value, decoded: refuseSecret(decoded) }
}

/**
 * Finds the valid `nostr:` URIs in text (note content, NIP-27 mentions), in order. Invalid ones
 * and `nsec` are skipped silently. A URI runs to the last bech32 character, so bech32 letters
 * glued to its end make it invalid (and skipped).
 *
 * @param text - the text to scan.
 * @param options - `limit`: the most matches to return (default {@link MAX_NOSTR_URI_MATCHES}).
 * @returns the matches with their positions.
 * @throws TypeError when `text` is not a string; RangeError when `limit` is not a non-negative
 * integer.
 * @example
 * ```ts
 * import { nip21 } from 'nostr-rendezvous/crypto'
 * for (const m of nip21.findNostrUris(event.content)) {
 *   if (m.decoded.type === 'npub') console.log('mentions', m.decoded.data, 'at', m.start)
 * }
 * ```
 */
export function findNostrUris(text: string, options: FindNostrUrisOptions = {}): NostrUriMatch[] {
  if (typeof text !== 'string') throw new TypeError(`text must be a string, got ${typeof text}`)
  const limit = options.limit ?? MAX_NOSTR_URI_MATCHES
  if (!Number.isSafeInteger(limit) || limit < 0) throw new RangeError(`limit must be a non-negative integer, got ${limit}`)
  const matches: NostrUriMatch[] = []
  if (limit === 0) return matches
  for (const m of text.matchAll(NOSTR_URI_IN_TEXT)) {
    let parsed: NostrUri
    try {
      parsed = parseNostrUri(m[0])
    } catch {
      continue
    }
    matches.push({ ...parsed, start: m.index, end: m.index + m[0].length })
    if (matches.length >= limit) break
  }
  return matches
}

/** Throws (after wiping the key) when `decoded` is an nsec. */
function refuseSecret(decoded: DecodedResult): NostrUriDecoded {
  if (decoded.type === 'nsec') {
    wipe(decoded.data)
    throw new CryptoError('NIP21_INVALID_URI', 'nostr: URIs must not carry a secret key (nsec)')
  }
  return decoded
}
