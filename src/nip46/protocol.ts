/**
 * The NIP-46 wire format: kind 24133 events whose content is a NIP-44 (or, from old peers, NIP-04)
 * encrypted JSON-RPC-like message. Requests are `{ id, method, params }`, responses
 * `{ id, result, error? }`. This module reads and checks the decrypted messages; it never throws on
 * what a peer sent, it returns `undefined` or a reason instead.
 *
 * @see https://github.com/nostr-protocol/nips/blob/master/46.md
 * @module
 */
import { bytesToHex, randomBytes } from '../crypto/bytes.js'

/** The event kind of NIP-46 requests and responses (ephemeral: relays forward, do not store). */
export const NIP46_KIND = 24133

/** The methods NIP-46 defines. */
export const NIP46_METHODS = [
  'connect',
  'sign_event',
  'ping',
  'get_public_key',
  'nip04_encrypt',
  'nip04_decrypt',
  'nip44_encrypt',
  'nip44_decrypt',
  'switch_relays',
  'logout',
] as const

/** One of {@link NIP46_METHODS}. */
export type Nip46Method = (typeof NIP46_METHODS)[number]

/** Longest request id accepted (ids are random strings; ours are 32 hex characters). */
export const MAX_REQUEST_ID_LENGTH = 128

/** Parameters accepted in one request (`connect` has the most: four). */
export const MAX_PARAMS = 8

/**
 * Largest encrypted `content` read from a kind 24133 event, in characters. A signed long-form
 * article fits; anything larger is dropped before it costs a decryption.
 */
export const DEFAULT_MAX_CONTENT_LENGTH = 262_144

/** Longest error text kept from a remote signer (the rest is cut). */
export const MAX_REMOTE_ERROR_LENGTH = 300

/** A decrypted request. */
export interface Nip46Request {
  /** Random request id, echoed in the response. */
  readonly id: string
  /** The method (not necessarily one of {@link NIP46_METHODS}: unknown ones get an error reply). */
  readonly method: string
  /** Positional string parameters. */
  readonly params: readonly string[]
}

/** A decrypted response. */
export interface Nip46Response {
  /** The id of the request it answers. */
  readonly id: string
  /** The result: a string by the NIP (some signers send JSON values directly; kept as sent). */
  readonly result: unknown
  /** The error text, when present and non-empty. */
  readonly error?: string
}

/** The encryption a kind 24133 event's content uses. */
export type CipherScheme = 'nip44' | 'nip04'

/**
 * Which encryption a payload uses: NIP-04 payloads are `base64?iv=base64`, NIP-44 payloads are
 * plain base64 (no `?`).
 *
 * @param content - an event's content.
 * @returns `'nip04'` or `'nip44'`.
 * @example
 * ```ts
 * import { cipherSchemeOf } from 'nostr-rendezvous/nip46'
 * cipherSchemeOf('abc?iv=def') // 'nip04'
 * ```
 */
export function cipherSchemeOf(content: string): CipherScheme {
  return content.includes('?iv=') ? 'nip04' : 'nip44'
}

/**
 * A fresh random request id (16 random bytes, hex): unguessable, so a relay cannot answer a
 * request it has not seen with a forged response id.
 *
 * @returns 32 hex characters.
 * @example
 * ```ts
 * import { newRequestId } from 'nostr-rendezvous/nip46'
 * newRequestId().length // 32
 * ```
 */
export function newRequestId(): string {
  return bytesToHex(randomBytes(16))
}

/**
 * A fresh connection secret (16 random bytes, hex) for a `bunker://` or `nostrconnect://` token.
 *
 * @returns 32 hex characters.
 * @example
 * ```ts
 * import { newSecret } from 'nostr-rendezvous/nip46'
 * const secret = newSecret()
 * ```
 */
export function newSecret(): string {
  return bytesToHex(randomBytes(16))
}

function parseObject(text: string): Record<string, unknown> | undefined {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return undefined
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined
}

function validId(id: unknown): id is string {
  return typeof id === 'string' && id.length > 0 && id.length <= MAX_REQUEST_ID_LENGTH
}

/** What {@link parseRequest} makes of a decrypted text. */
export type ParsedRequest =
  | { readonly ok: true; readonly request: Nip46Request }
  /** The id could be read (so an error can be answered) but the rest is malformed. */
  | { readonly ok: false; readonly id: string; readonly problem: string }
  /** Not even an id: drop it. */
  | undefined

/**
 * Reads a decrypted request. Never throws.
 *
 * @param text - the decrypted content.
 * @returns the request; or the id and what is wrong (answer with an error); or `undefined` when
 * there is no usable id (drop it).
 * @example
 * ```ts
 * import { parseRequest } from 'nostr-rendezvous/nip46'
 * parseRequest('{"id":"1","method":"ping","params":[]}') // { ok: true, request: { id: '1', method: 'ping', params: [] } }
 * ```
 */
export function parseRequest(text: string): ParsedRequest {
  const o = parseObject(text)
  if (o === undefined || !validId(o.id)) return undefined
  const id = o.id
  if (typeof o.method !== 'string' || !/^[a-z0-9_]{1,64}$/.test(o.method)) return { ok: false, id, problem: 'invalid method' }
  // Absent params read as none (some clients omit them for ping and get_public_key).
  const params = o.params === undefined ? [] : o.params
  if (!Array.isArray(params) || params.length > MAX_PARAMS || !params.every((p) => typeof p === 'string')) {
    return { ok: false, id, problem: 'params must be a list of strings' }
  }
  return { ok: true, request: { id, method: o.method, params: [...(params as string[])] } }
}

/**
 * Reads a decrypted response. Never throws. An empty `error` counts as none (as other
 * implementations read it).
 *
 * @param text - the decrypted content.
 * @returns the response, or `undefined` when it is not an object with a usable id.
 * @example
 * ```ts
 * import { parseResponse } from 'nostr-rendezvous/nip46'
 * parseResponse('{"id":"1","result":"pong"}') // { id: '1', result: 'pong' }
 * ```
 */
export function parseResponse(text: string): Nip46Response | undefined {
  const o = parseObject(text)
  if (o === undefined || !validId(o.id)) return undefined
  const error = o.error
  if (error !== undefined && error !== null && typeof error !== 'string') return undefined
  return typeof error === 'string' && error !== '' ? { id: o.id, result: o.result, error } : { id: o.id, result: o.result }
}

/**
 * Text from a remote peer made safe to show or log: control and bidi-override characters replaced, cut to `max`
 * characters.
 *
 * @param text - untrusted text.
 * @param max - the length bound. @default MAX_REMOTE_ERROR_LENGTH
 * @returns printable text of at most `max` characters (plus an ellipsis when cut).
 * @example
 * ```ts
 * import { sanitizeRemoteText } from 'nostr-rendezvous/nip46'
 * sanitizeRemoteText('no\u0000way') // 'no way'
 * ```
 */
export function sanitizeRemoteText(text: string, max = MAX_REMOTE_ERROR_LENGTH): string {
  // Control characters, line separators and bidirectional overrides (which can make a message read
  // differently from what it says).
  const cleaned = text.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028-\u202e\u2066-\u2069]/g, ' ')
  return cleaned.length > max ? `${cleaned.slice(0, max)}…` : cleaned
}
