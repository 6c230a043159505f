/**
 * NIP-01 wire messages: parsing what a relay sends (`EVENT`, `EOSE`, `OK`, `CLOSED`, `NOTICE`,
 * `AUTH`, `COUNT`) and encoding what the client sends (`REQ`, `CLOSE`, `EVENT`, `AUTH`, `COUNT`).
 *
 * The parser is the first thing untrusted relay input meets, so it never throws: every frame comes
 * back either as a typed {@link RelayMessage} or as an {@link InvalidRelayMessage} whose `reason` is
 * one of a closed list the pool counts per relay. Sizes are checked before `JSON.parse`, so a
 * hostile relay cannot make the client parse a huge frame.
 *
 * See [NIP-01](https://github.com/nostr-protocol/nips/blob/master/01.md),
 * [NIP-42](https://github.com/nostr-protocol/nips/blob/master/42.md) (AUTH) and
 * [NIP-45](https://github.com/nostr-protocol/nips/blob/master/45.md) (COUNT).
 *
 * @module
 */
import { isHex, utf8StrictDecoder } from '../crypto/bytes.js'
import { type NostrEvent, eventShapeProblem, pickEventFields } from '../crypto/event.js'
import { type Filter, MACHINE_PREFIXES, type MachinePrefix } from './types.js'

/**
 * Longest subscription id accepted from a relay. NIP-01 says 64 for ids the client chooses; a relay
 * only echoes ours, so this is a loose sanity bound rather than the spec limit.
 */
export const MAX_SUBSCRIPTION_ID_LENGTH = 256

/** Longest NIP-42 challenge accepted from a relay (real relays send a UUID or 32 random bytes). */
export const MAX_AUTH_CHALLENGE_LENGTH = 1024

/**
 * Frame size {@link parseRelayMessage} accepts when the caller passes no limit: large enough for
 * big follow lists and long-form articles, small enough that one frame cannot exhaust memory.
 */
export const DEFAULT_MAX_RELAY_MESSAGE_BYTES = 5 * 1024 * 1024

/** A well-formed message from a relay. `reason` is the human-readable part after the prefix. */
export type RelayMessage =
  | { type: 'EVENT'; subId: string; event: NostrEvent }
  | { type: 'EOSE'; subId: string }
  | { type: 'OK'; eventId: string; accepted: boolean; message: string; prefix: MachinePrefix | undefined; reason: string }
  | { type: 'CLOSED'; subId: string; message: string; prefix: MachinePrefix | undefined; reason: string }
  | { type: 'NOTICE'; message: string }
  | { type: 'AUTH'; challenge: string }
  | { type: 'COUNT'; subId: string; count: number; approximate: boolean }

/**
 * Every reason a relay frame can be rejected for. The pool keeps one counter per reason and relay.
 *
 * - `too-large`: over the size limit (checked before parsing).
 * - `not-text`: neither a string nor UTF-8 bytes (or bytes that are not valid UTF-8).
 * - `not-json`: text that `JSON.parse` rejects.
 * - `not-array`: JSON that is not a non-empty array.
 * - `unknown-type`: the first element is not a relay-to-client message type.
 * - `bad-subscription-id`: `EVENT`/`EOSE`/`CLOSED`/`COUNT` without a non-empty string id of at most
 *   {@link MAX_SUBSCRIPTION_ID_LENGTH} characters.
 * - `bad-event`: an `EVENT` whose event has the wrong shape (detail names the field).
 * - `bad-ok`, `bad-closed`, `bad-notice`, `bad-auth`, `bad-count`: that message type with a missing
 *   or mistyped field.
 *
 * @example
 * ```ts
 * import { INVALID_MESSAGE_REASONS } from 'nostr-rendezvous/relay-pool'
 * const counters = Object.fromEntries(INVALID_MESSAGE_REASONS.map((r) => [r, 0]))
 * ```
 */
export const INVALID_MESSAGE_REASONS = [
  'too-large',
  'not-text',
  'not-json',
  'not-array',
  'unknown-type',
  'bad-subscription-id',
  'bad-event',
  'bad-ok',
  'bad-closed',
  'bad-notice',
  'bad-auth',
  'bad-count',
] as const

/** One of {@link INVALID_MESSAGE_REASONS}. */
export type InvalidMessageReason = (typeof INVALID_MESSAGE_REASONS)[number]

/** A relay frame the parser rejected, and why. `detail` never repeats more than a few characters of the frame. */
export interface InvalidRelayMessage {
  type: 'invalid'
  reason: InvalidMessageReason
  detail?: string
}

/**
 * Exact UTF-8 length of `text` in bytes, without encoding it. Lone surrogates count 3 bytes, as
 * `TextEncoder` writes them as U+FFFD.
 *
 * @param text - any string.
 * @returns its length in UTF-8 bytes.
 * @example
 * ```ts
 * import { utf8ByteLength } from 'nostr-rendezvous/relay-pool'
 * utf8ByteLength('é😀') // 6
 * ```
 */
export function utf8ByteLength(text: string): number {
  let bytes = 0
  const n = text.length
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i)
    if (c < 0x80) bytes += 1
    else if (c < 0x800) bytes += 2
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < n) {
      const next = text.charCodeAt(i + 1)
      if (next >= 0xdc00 && next < 0xe000) {
        bytes += 4
        i++
      } else bytes += 3
    } else bytes += 3
  }
  return bytes
}

/**
 * Splits an `OK`/`CLOSED` message into its NIP-01 machine-readable prefix and the human part.
 * The prefix must open the message exactly (`word:`, case-sensitive); an unknown or missing prefix
 * gives `prefix: undefined` and the whole message as `reason`.
 *
 * @param message - the relay's message string.
 * @returns the known prefix, if any, and the rest of the message without surrounding spaces.
 * @example
 * ```ts
 * import { parseMachinePrefix } from 'nostr-rendezvous/relay-pool'
 * parseMachinePrefix('rate-limited: slow down') // { prefix: 'rate-limited', reason: 'slow down' }
 * parseMachinePrefix('Blocked: no') // { prefix: undefined, reason: 'Blocked: no' }
 * ```
 */
export function parseMachinePrefix(message: string): { prefix: MachinePrefix | undefined; reason: string } {
  const colon = message.indexOf(':')
  if (colon > 0) {
    const word = message.slice(0, colon)
    const prefix = MACHINE_PREFIXES.find((p) => p === word)
    if (prefix !== undefined) return { prefix, reason: message.slice(colon + 1).trim() }
  }
  return { prefix: undefined, reason: message }
}

/**
 * Parses one frame from a relay. Never throws for any `data`: malformed frames come back as
 * `{ type: 'invalid', reason }`. Binary frames (`Uint8Array`, `Buffer`, `ArrayBuffer`, other
 * typed-array views) are decoded as strict UTF-8. Lenient where relays commonly are (`OK` without
 * its message, `CLOSED` without its message) and strict on types; extra trailing elements are
 * ignored. The returned event is a fresh object holding only the seven NIP-01 fields.
 *
 * @param data - a WebSocket message's `data`.
 * @param maxBytes - largest accepted frame in UTF-8 bytes, checked before parsing; defaults to
 *   {@link DEFAULT_MAX_RELAY_MESSAGE_BYTES}.
 * @returns the message, or why it was rejected.
 * @throws RangeError when `maxBytes` is not a positive number (a programmer error; never for `data`).
 * @example
 * ```ts
 * import { parseRelayMessage } from 'nostr-rendezvous/relay-pool'
 * const msg = parseRelayMessage('["EOSE","feed"]')
 * if (msg.type === 'EOSE') console.log(msg.subId) // 'feed'
 * if (msg.type === 'invalid') console.log(msg.reason)
 * ```
 */
export function parseRelayMessage(data: unknown, maxBytes: number = DEFAULT_MAX_RELAY_MESSAGE_BYTES): RelayMessage | InvalidRelayMessage {
  if (typeof maxBytes !== 'number' || !(maxBytes > 0)) throw new RangeError(`maxBytes must be a positive number, got ${String(maxBytes)}`)
  const text = frameText(data, maxBytes)
  if (typeof text !== 'string') return text
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return invalid('not-json')
  }
  if (!Array.isArray(parsed) || parsed.length === 0) return invalid('not-array')
  return parseArray(parsed)
}

function invalid(reason: InvalidMessageReason, detail?: string): InvalidRelayMessage {
  return detail === undefined ? { type: 'invalid', reason } : { type: 'invalid', reason, detail }
}

/** The frame as text within `maxBytes`, or why not. */
function frameText(data: unknown, maxBytes: number): string | InvalidRelayMessage {
  if (typeof data === 'string') {
    // Every UTF-16 unit is 1–3 UTF-8 bytes, so the exact count is needed only in between.
    if (data.length * 3 <= maxBytes) return data
    if (data.length > maxBytes || utf8ByteLength(data) > maxBytes) return invalid('too-large', `more than ${maxBytes} bytes`)
    return data
  }
  // A hostile or exotic object (a Proxy, a detached buffer) may throw on inspection.
  try {
    const bytes = asBytes(data)
    if (bytes === undefined) return invalid('not-text', typeof data)
    if (bytes.byteLength > maxBytes) return invalid('too-large', `more than ${maxBytes} bytes`)
    return utf8StrictDecoder.decode(bytes)
  } catch {
    return invalid('not-text', 'binary frame is not UTF-8')
  }
}

function asBytes(data: unknown): Uint8Array | undefined {
  if (typeof data !== 'object' || data === null) return undefined
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
  if (data instanceof ArrayBuffer) return new Uint8Array(data)
  return undefined
}

function isSubId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_SUBSCRIPTION_ID_LENGTH
}

/** A short, printable description of an untrusted value for `detail`. */
function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 24 ? `${value.slice(0, 24)}…` : value)
  if (Array.isArray(value)) return 'array'
  return value === null ? 'null' : typeof value
}

function parseArray(msg: unknown[]): RelayMessage | InvalidRelayMessage {
  switch (msg[0]) {
    case 'EVENT':
      return parseEvent(msg)
    case 'EOSE':
      return isSubId(msg[1]) ? { type: 'EOSE', subId: msg[1] } : invalid('bad-subscription-id', describe(msg[1]))
    case 'OK':
      return parseOk(msg)
    case 'CLOSED':
      return parseClosed(msg)
    case 'NOTICE':
      return typeof msg[1] === 'string' ? { type: 'NOTICE', message: msg[1] } : invalid('bad-notice', describe(msg[1]))
    case 'AUTH':
      return parseAuth(msg[1])
    case 'COUNT':
      return parseCount(msg)
    default:
      return invalid('unknown-type', describe(msg[0]))
  }
}

function parseEvent(msg: unknown[]): RelayMessage | InvalidRelayMessage {
  if (!isSubId(msg[1])) return invalid('bad-subscription-id', describe(msg[1]))
  const raw = msg[2]
  const problem = eventShapeProblem(raw)
  if (problem !== undefined) return invalid('bad-event', problem)
  const e = raw as NostrEvent
  // Copy the seven fields: extra keys (including an own `__proto__`) never reach the caller.
  return { type: 'EVENT', subId: msg[1], event: pickEventFields(e) }
}

/** The message element of OK/CLOSED: missing means '' (common relay shorthand); anything else must be a string. */
function optionalMessage(value: unknown): string | undefined {
  if (value === undefined) return ''
  return typeof value === 'string' ? value : undefined
}

function parseOk(msg: unknown[]): RelayMessage | InvalidRelayMessage {
  const [, eventId, accepted, rawMessage] = msg
  if (!isHex(eventId, 32)) return invalid('bad-ok', `event id ${describe(eventId)}`)
  if (typeof accepted !== 'boolean') return invalid('bad-ok', `accepted ${describe(accepted)}`)
  const message = optionalMessage(rawMessage)
  if (message === undefined) return invalid('bad-ok', `message ${describe(rawMessage)}`)
  return { type: 'OK', eventId, accepted, message, ...parseMachinePrefix(message) }
}

function parseClosed(msg: unknown[]): RelayMessage | InvalidRelayMessage {
  if (!isSubId(msg[1])) return invalid('bad-subscription-id', describe(msg[1]))
  const message = optionalMessage(msg[2])
  if (message === undefined) return invalid('bad-closed', `message ${describe(msg[2])}`)
  return { type: 'CLOSED', subId: msg[1], message, ...parseMachinePrefix(message) }
}

function parseAuth(challenge: unknown): RelayMessage | InvalidRelayMessage {
  if (typeof challenge !== 'string') return invalid('bad-auth', `challenge ${describe(challenge)}`)
  if (challenge.length > MAX_AUTH_CHALLENGE_LENGTH) return invalid('bad-auth', `challenge longer than ${MAX_AUTH_CHALLENGE_LENGTH}`)
  return { type: 'AUTH', challenge }
}

function parseCount(msg: unknown[]): RelayMessage | InvalidRelayMessage {
  if (!isSubId(msg[1])) return invalid('bad-subscription-id', describe(msg[1]))
  const body = msg[2]
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return invalid('bad-count', `payload ${describe(body)}`)
  const { count, approximate } = body as { count?: unknown; approximate?: unknown }
  if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0) return invalid('bad-count', `count ${describe(count)}`)
  if (approximate !== undefined && typeof approximate !== 'boolean') return invalid('bad-count', `approximate ${describe(approximate)}`)
  return { type: 'COUNT', subId: msg[1], count, approximate: approximate === true }
}

function checkSubId(subId: string): void {
  if (typeof subId !== 'string') throw new TypeError(`subId must be a string, got ${typeof subId}`)
  if (subId.length === 0) throw new RangeError('subId must not be empty')
}

function checkFilters(filters: readonly Filter[]): void {
  if (!Array.isArray(filters)) throw new TypeError('filters must be an array')
}

/**
 * Encodes a `REQ`. Filters are written as given; shape them first with `splitFiltersForRelay`.
 *
 * @param subId - the subscription id (non-empty).
 * @param filters - the filters of this REQ.
 * @returns the JSON text to send.
 * @throws TypeError/RangeError when `subId` is not a non-empty string or `filters` is not an array.
 * @example
 * ```ts
 * import { encodeReq } from 'nostr-rendezvous/relay-pool'
 * ws.send(encodeReq('feed', [{ kinds: [1], limit: 20 }])) // '["REQ","feed",{"kinds":[1],"limit":20}]'
 * ```
 */
export function encodeReq(subId: string, filters: readonly Filter[]): string {
  checkSubId(subId)
  checkFilters(filters)
  return JSON.stringify(['REQ', subId, ...filters])
}

/**
 * Encodes a NIP-45 `COUNT` request.
 *
 * @param subId - the query id (non-empty).
 * @param filters - the filters to count.
 * @returns the JSON text to send.
 * @throws TypeError/RangeError when `subId` is not a non-empty string or `filters` is not an array.
 * @example
 * ```ts
 * import { encodeCount } from 'nostr-rendezvous/relay-pool'
 * ws.send(encodeCount('followers', [{ kinds: [3], '#p': [pubkey] }]))
 * ```
 */
export function encodeCount(subId: string, filters: readonly Filter[]): string {
  checkSubId(subId)
  checkFilters(filters)
  return JSON.stringify(['COUNT', subId, ...filters])
}

/**
 * Encodes a `CLOSE`.
 *
 * @param subId - the subscription to end.
 * @returns the JSON text to send.
 * @throws TypeError/RangeError when `subId` is not a non-empty string.
 * @example
 * ```ts
 * import { encodeClose } from 'nostr-rendezvous/relay-pool'
 * ws.send(encodeClose('feed')) // '["CLOSE","feed"]'
 * ```
 */
export function encodeClose(subId: string): string {
  checkSubId(subId)
  return JSON.stringify(['CLOSE', subId])
}

/** Only the NIP-01 fields, in their usual order: extra properties a caller attached are not sent. */
function wireEvent(event: NostrEvent): NostrEvent {
  if (typeof event !== 'object' || event === null) throw new TypeError('event must be an object')
  const { id, pubkey, created_at, kind, tags, content, sig } = event
  return { id, pubkey, created_at, kind, tags, content, sig }
}

/**
 * Encodes an `EVENT` for publishing. Only the seven NIP-01 fields are written.
 *
 * @param event - a signed event.
 * @returns the JSON text to send.
 * @throws TypeError when `event` is not an object.
 * @example
 * ```ts
 * import { encodeEventMessage } from 'nostr-rendezvous/relay-pool'
 * import { finalizeEvent } from 'nostr-rendezvous/crypto'
 * ws.send(encodeEventMessage(finalizeEvent({ kind: 1, content: 'gm' }, sk)))
 * ```
 */
export function encodeEventMessage(event: NostrEvent): string {
  return JSON.stringify(['EVENT', wireEvent(event)])
}

/**
 * Encodes a NIP-42 `AUTH` reply carrying a signed kind 22242 event.
 *
 * @param event - the signed auth event.
 * @returns the JSON text to send.
 * @throws TypeError when `event` is not an object.
 * @example
 * ```ts
 * import { encodeAuth } from 'nostr-rendezvous/relay-pool'
 * ws.send(encodeAuth(await signer.signEvent({ kind: 22242, content: '', tags: [['relay', url], ['challenge', challenge]] })))
 * ```
 */
export function encodeAuth(event: NostrEvent): string {
  return JSON.stringify(['AUTH', wireEvent(event)])
}
