/**
 * The two NIP-46 connection tokens:
 *
 * - `bunker://<remote-signer-pubkey>?relay=wss://…&relay=…&secret=…`, made by a remote signer
 *   (bunker) and pasted into a client;
 * - `nostrconnect://<client-pubkey>?relay=…&secret=…&perms=…&name=…&url=…&image=…`, made by a client
 *   and pasted into (or scanned by) a bunker.
 *
 * Parsing is strict about structure (scheme, key, relays, secret) because a token is how a user
 * hands over trust: a typo should fail with a message that names the bad part, not connect
 * somewhere else. The display hints (`name`, `url`, `image`) are read leniently: junk is dropped.
 *
 * @see https://github.com/nostr-protocol/nips/blob/master/46.md#initiating-a-connection
 * @module
 */
import { isValidPublicKey } from '../crypto/keys.js'
import { CryptoError } from '../errors.js'
import { relayUrlProblem, tryNormalizeRelayUrl } from '../relay-pool/url.js'
import { formatPermissions, normalizePermissions, parsePermissions } from './permissions.js'

/** Longest token accepted (a QR code holds about 3 KB; this leaves room for long relay lists). */
export const MAX_URI_LENGTH = 8192

/** Relays read from one token; a bunker needs two or three. */
export const MAX_URI_RELAYS = 16

/** Longest `secret` accepted. */
export const MAX_SECRET_LENGTH = 256

/** Longest client `name` kept (longer ones are cut). */
export const MAX_NAME_LENGTH = 128

/** Longest client `url` / `image` kept (longer ones are dropped). */
export const MAX_LINK_LENGTH = 2048

/** Where a remote signer listens: what a `bunker://` token carries. */
export interface BunkerPointer {
  /** The remote signer's public key (hex). Not necessarily the user's: ask `get_public_key`. */
  readonly pubkey: string
  /** Relays to send requests to and read responses from (normalised, at least one). */
  readonly relays: readonly string[]
  /** The one-time connection secret, when the bunker gave one. */
  readonly secret?: string
}

/** How a client app names itself to a bunker. Display hints only: unauthenticated. */
export interface ClientMetadata {
  /** The app's name. */
  readonly name?: string
  /** The app's canonical URL (http or https). */
  readonly url?: string
  /** A small image of the app (http or https URL). */
  readonly image?: string
}

/** What a `nostrconnect://` token carries. */
export interface NostrConnectToken {
  /** The client's (disposable) public key, hex. */
  readonly clientPubkey: string
  /** Relays the client listens on (normalised, at least one). */
  readonly relays: readonly string[]
  /** The secret the bunker must send back as the result of its `connect` response. */
  readonly secret: string
  /** Permissions the client asks for (canonical, see `parsePermissions`). */
  readonly perms: readonly string[]
  /** The client's name, URL and image, when given and usable. */
  readonly metadata: ClientMetadata
}

function invalid(details: string): CryptoError {
  return new CryptoError('NIP46_INVALID_URI', 'Invalid NIP-46 connection token', { details })
}

/** A short, printable preview of untrusted text for an error message. */
function preview(text: string): string {
  const cleaned = text.replace(/[\u0000-\u001f\u007f]/g, '?')
  return JSON.stringify(cleaned.length > 60 ? `${cleaned.slice(0, 60)}…` : cleaned)
}

/** What a string that is not a token looks like, without showing any of it (it may be a key). */
function describeInput(text: string): string {
  if (/^n(?:crypt)?sec1/i.test(text)) return 'what looks like a secret key (never paste it into a token)'
  const scheme = /^([a-z][a-z0-9+.-]{0,30}):/i.exec(text)?.[1]
  return scheme !== undefined && !/^[0-9a-f]+$/i.test(scheme) ? `a ${scheme.toLowerCase()}: link` : `${text.length} characters of something else`
}

interface SplitUri {
  readonly pubkey: string
  readonly params: URLSearchParams
}

/** Scheme, key and query of a token, or NIP46_INVALID_URI naming what is wrong. */
function splitUri(input: unknown, scheme: 'bunker' | 'nostrconnect'): SplitUri {
  if (typeof input !== 'string') throw new TypeError(`${scheme}:// token must be a string, got ${typeof input}`)
  const text = input.trim()
  if (text.length > MAX_URI_LENGTH) throw invalid(`longer than ${MAX_URI_LENGTH} characters`)
  const prefix = `${scheme}://`
  if (text.slice(0, prefix.length).toLowerCase() !== prefix) {
    const other = scheme === 'bunker' ? 'nostrconnect://' : 'bunker://'
    const hint = text.toLowerCase().startsWith(other) ? ` (this is a ${other} token)` : ''
    // Never the text itself: what lands in a token field by mistake may be a secret key.
    throw invalid(`expected a ${prefix} token${hint}, got ${describeInput(text)}`)
  }
  if (text.includes('#')) throw invalid('unexpected #fragment')
  const rest = text.slice(prefix.length)
  const q = rest.indexOf('?')
  let key = q === -1 ? rest : rest.slice(0, q)
  if (key.endsWith('/')) key = key.slice(0, -1)
  const who = scheme === 'bunker' ? 'remote signer' : 'client'
  if (/^npub1/i.test(key)) throw invalid(`the ${who} public key must be hex, not an npub`)
  if (/^n(?:crypt)?sec1/i.test(key)) throw invalid(`the ${who} public key must be hex; this looks like a secret key (never paste it into a token)`)
  if (!/^[0-9a-fA-F]{64}$/.test(key)) throw invalid(`the ${who} public key must be 64 hex characters, got ${key.length} characters`)
  const pubkey = key.toLowerCase()
  if (!isValidPublicKey(pubkey)) throw invalid(`the ${who} public key is not a point on secp256k1`)
  let params: URLSearchParams
  try {
    params = new URLSearchParams(q === -1 ? '' : rest.slice(q + 1))
  } catch {
    throw invalid('the query string cannot be read')
  }
  return { pubkey, params }
}

function relaysOf(params: URLSearchParams): string[] {
  const given = params.getAll('relay')
  if (given.length === 0) throw invalid('no relay= parameter: the token must name at least one relay')
  if (given.length > MAX_URI_RELAYS) throw invalid(`more than ${MAX_URI_RELAYS} relays`)
  const relays: string[] = []
  for (const raw of given) {
    const url = tryNormalizeRelayUrl(raw)
    if (url === undefined) throw invalid(`relay ${preview(raw)}: ${relayUrlProblem(raw) ?? 'not a relay URL'}`)
    if (!relays.includes(url)) relays.push(url)
  }
  return relays
}

/** The single value of `name`, or undefined; two values are an error (which one would be meant?). */
function single(params: URLSearchParams, name: string): string | undefined {
  const values = params.getAll(name)
  if (values.length > 1) throw invalid(`${name}= given ${values.length} times`)
  return values[0]
}

function secretProblem(secret: string): string | undefined {
  if (secret.length === 0) return 'secret is empty'
  if (secret.length > MAX_SECRET_LENGTH) return `secret is longer than ${MAX_SECRET_LENGTH} characters`
  if (/[\u0000-\u001f\u007f]/.test(secret)) return 'secret contains control characters'
  return undefined
}

/** An http(s) URL of bounded length, or undefined. */
function httpLink(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_LINK_LENGTH) return undefined
  try {
    const url = new URL(value)
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : undefined
  } catch {
    return undefined
  }
}

/**
 * Client metadata from untrusted input (a token's query, a `connect` request's JSON): the name
 * without control characters and cut to {@link MAX_NAME_LENGTH}, links kept only when they are
 * http(s) URLs. Never throws.
 *
 * @param value - an object with optional `name`, `url`, `image`, or anything else.
 * @returns the usable fields (an empty object when none is).
 * @example
 * ```ts
 * import { sanitizeClientMetadata } from 'nostr-rendezvous/nip46'
 * sanitizeClientMetadata({ name: 'My app', url: 'javascript:alert(1)' }) // { name: 'My app' }
 * ```
 */
export function sanitizeClientMetadata(value: unknown): ClientMetadata {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return {}
  const v = value as Record<string, unknown>
  const out: { name?: string; url?: string; image?: string } = {}
  if (typeof v.name === 'string') {
    const name = v.name.replace(/[\u0000-\u001f\u007f]/g, ' ').trim().slice(0, MAX_NAME_LENGTH)
    if (name !== '') out.name = name
  }
  const url = httpLink(v.url)
  if (url !== undefined) out.url = url
  const image = httpLink(v.image)
  if (image !== undefined) out.image = image
  return out
}

/**
 * Reads a `bunker://` token.
 *
 * @param uri - the token, as pasted by the user (surrounding spaces ignored).
 * @returns the remote signer's public key, its relays (normalised, duplicates merged) and the
 * secret when there is one.
 * @throws CryptoError `NIP46_INVALID_URI` naming the bad part (scheme, key, relay, secret);
 * TypeError when `uri` is not a string.
 * @example
 * ```ts
 * import { parseBunkerUri } from 'nostr-rendezvous/nip46'
 * const { pubkey, relays, secret } = parseBunkerUri(
 *   'bunker://fa984bd7dbb282f07e16e7ae87b26a2a7b9b90b7246a44771f0cf5ae58018f52?relay=wss%3A%2F%2Frelay.example.com&secret=abc',
 * )
 * ```
 */
export function parseBunkerUri(uri: string): BunkerPointer {
  const { pubkey, params } = splitUri(uri, 'bunker')
  const relays = relaysOf(params)
  const secret = single(params, 'secret')
  if (secret !== undefined) {
    const problem = secretProblem(secret)
    if (problem !== undefined) throw invalid(problem)
  }
  return secret === undefined ? { pubkey, relays } : { pubkey, relays, secret }
}

/**
 * Reads a `nostrconnect://` token (on the bunker's side).
 *
 * @param uri - the token.
 * @returns the client's public key, relays, secret, requested permissions and metadata.
 * @throws CryptoError `NIP46_INVALID_URI` naming the bad part (a `secret` is required);
 * TypeError when `uri` is not a string.
 * @example
 * ```ts
 * import { parseNostrConnectUri } from 'nostr-rendezvous/nip46'
 * const token = parseNostrConnectUri(scannedText)
 * console.log(token.metadata.name, token.perms)
 * ```
 */
export function parseNostrConnectUri(uri: string): NostrConnectToken {
  const { pubkey, params } = splitUri(uri, 'nostrconnect')
  const relays = relaysOf(params)
  const secret = single(params, 'secret')
  if (secret === undefined) throw invalid('no secret= parameter (NIP-46 requires one in nostrconnect:// tokens)')
  const problem = secretProblem(secret)
  if (problem !== undefined) throw invalid(problem)
  const perms = parsePermissions(single(params, 'perms') ?? '')
  const metadata = sanitizeClientMetadata({ name: single(params, 'name'), url: single(params, 'url'), image: single(params, 'image') })
  return { clientPubkey: pubkey, relays, secret, perms, metadata }
}

function assertPubkey(pubkey: unknown, field: string): string {
  if (!isValidPublicKey(pubkey)) throw new TypeError(`${field} must be 64 lower-case hex characters naming a secp256k1 point`)
  return pubkey
}

/** Checks and normalises a relay list given as an option (duplicates merged). @internal */
export function assertRelays(relays: unknown, field: string): string[] {
  if (!Array.isArray(relays) || relays.length === 0) throw new TypeError(`${field} must be a non-empty list of relay URLs`)
  if (relays.length > MAX_URI_RELAYS) throw new RangeError(`${field}: at most ${MAX_URI_RELAYS} relays`)
  const out: string[] = []
  for (const raw of relays) {
    const url = tryNormalizeRelayUrl(raw)
    if (url === undefined) throw new TypeError(`${field}: ${preview(String(raw))} is not a relay URL (${relayUrlProblem(raw) ?? 'invalid'})`)
    if (!out.includes(url)) out.push(url)
  }
  return out
}

/** Checks a secret given as an option. @internal */
export function assertSecret(secret: unknown, field: string): string {
  if (typeof secret !== 'string') throw new TypeError(`${field} must be a string`)
  const problem = secretProblem(secret)
  if (problem !== undefined) throw new RangeError(`${field}: ${problem}`)
  return secret
}

/**
 * Checks client metadata given as an option: `name` a string of at most {@link MAX_NAME_LENGTH}
 * characters, `url` and `image` http(s) URLs. @internal
 */
export function assertClientMetadata(metadata: unknown, field: string): ClientMetadata {
  if (typeof metadata !== 'object' || metadata === null) throw new TypeError(`${field} must be an object`)
  const m = metadata as Record<string, unknown>
  const out: { name?: string; url?: string; image?: string } = {}
  if (m.name !== undefined) {
    if (typeof m.name !== 'string' || m.name.length > MAX_NAME_LENGTH) throw new TypeError(`${field}.name must be a string of at most ${MAX_NAME_LENGTH} characters`)
    out.name = m.name
  }
  for (const key of ['url', 'image'] as const) {
    const value = m[key]
    if (value === undefined) continue
    if (typeof value !== 'string' || httpLink(value) === undefined) throw new TypeError(`${field}.${key} must be an http(s) URL of at most ${MAX_LINK_LENGTH} characters`)
    out[key] = value
  }
  return out
}

/**
 * Percent-encoding that other parsers accept: URLSearchParams writes a space as `+` and leaves `*`
 * bare, which nostr-tools' bunker regex (`[?/\w:.=&%-]`) refuses.
 */
function queryString(params: URLSearchParams): string {
  return params.toString().replace(/\+/g, '%20').replace(/\*/g, '%2A')
}

/**
 * Writes a `bunker://` token (relay URLs percent-encoded, as other implementations write them).
 *
 * @param pointer - the remote signer's public key, relays and optional secret.
 * @returns the token.
 * @throws TypeError/RangeError naming the bad field.
 * @example
 * ```ts
 * import { buildBunkerUri } from 'nostr-rendezvous/nip46'
 * buildBunkerUri({ pubkey: bunkerPubkey, relays: ['wss://relay.example.com'], secret: 'a1b2c3' })
 * ```
 */
export function buildBunkerUri(pointer: BunkerPointer): string {
  const pubkey = assertPubkey(pointer?.pubkey, 'pubkey')
  const params = new URLSearchParams()
  for (const relay of assertRelays(pointer.relays, 'relays')) params.append('relay', relay)
  if (pointer.secret !== undefined) params.append('secret', assertSecret(pointer.secret, 'secret'))
  return `bunker://${pubkey}?${queryString(params)}`
}

/** What {@link buildNostrConnectUri} needs. */
export interface NostrConnectUriParams extends ClientMetadata {
  /** The client's public key (hex). */
  readonly clientPubkey: string
  /** Relays the client listens on. */
  readonly relays: readonly string[]
  /** A fresh random secret the bunker must send back. */
  readonly secret: string
  /** Permissions to ask for (string or list). */
  readonly perms?: string | readonly string[]
}

/**
 * Writes a `nostrconnect://` token.
 *
 * @param params - client public key, relays, secret, and optionally permissions, name, url, image.
 * @returns the token.
 * @throws TypeError/RangeError naming the bad field (a `url`/`image` must be an http(s) URL).
 * @example
 * ```ts
 * import { buildNostrConnectUri } from 'nostr-rendezvous/nip46'
 * const uri = buildNostrConnectUri({
 *   clientPubkey, relays: ['wss://relay.example.com'], secret: 'x7f3k9', perms: ['sign_event:1'], name: 'My app',
 * })
 * ```
 */
export function buildNostrConnectUri(params: NostrConnectUriParams): string {
  const clientPubkey = assertPubkey(params?.clientPubkey, 'clientPubkey')
  const query = new URLSearchParams()
  for (const relay of assertRelays(params.relays, 'relays')) query.append('relay', relay)
  query.append('secret', assertSecret(params.secret, 'secret'))
  const perms = params.perms === undefined ? [] : normalizePermissions(params.perms, 'perms')
  if (perms.length > 0) query.append('perms', formatPermissions(perms))
  const metadata = assertClientMetadata({ name: params.name, url: params.url, image: params.image }, 'params')
  for (const field of ['name', 'url', 'image'] as const) {
    const value = metadata[field]
    if (value !== undefined) query.append(field, value)
  }
  return `nostrconnect://${clientPubkey}?${queryString(query)}`
}
