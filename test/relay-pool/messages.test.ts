import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type NostrEvent, finalizeEvent, hexToBytes } from '../../src/crypto/index.js'
import {
  DEFAULT_MAX_RELAY_MESSAGE_BYTES,
  INVALID_MESSAGE_REASONS,
  MAX_AUTH_CHALLENGE_LENGTH,
  MAX_SUBSCRIPTION_ID_LENGTH,
  encodeAuth,
  encodeClose,
  encodeCount,
  encodeEventMessage,
  encodeReq,
  parseMachinePrefix,
  parseRelayMessage,
  utf8ByteLength,
} from '../../src/relay-pool/messages.js'
import { MACHINE_PREFIXES } from '../../src/relay-pool/types.js'

const sk = hexToBytes('01'.repeat(32))
const event: NostrEvent = finalizeEvent({ kind: 1, content: 'hello', tags: [['t', 'nostr']], created_at: 1_700_000_000 }, sk)
const id = event.id
const frame = (...parts: unknown[]): string => JSON.stringify(parts)

/** The `reason` of a rejected frame, or the message type of an accepted one. */
function outcome(data: unknown, maxBytes?: number): string {
  const msg = parseRelayMessage(data, maxBytes)
  return msg.type === 'invalid' ? msg.reason : msg.type
}

describe('parseRelayMessage: valid messages', () => {
  it('parses EVENT into a fresh event with the seven NIP-01 fields only', () => {
    const withExtra = { ...event, seen: 'x', extra: { deep: [1] } }
    const msg = parseRelayMessage(frame('EVENT', 'sub', withExtra))
    expect(msg).toEqual({ type: 'EVENT', subId: 'sub', event })
    if (msg.type !== 'EVENT') throw new Error('unreachable')
    expect(Object.keys(msg.event)).toEqual(['id', 'pubkey', 'created_at', 'kind', 'tags', 'content', 'sig'])
  })

  it('does not let a __proto__ key in an event reach the prototype', () => {
    const text = frame('EVENT', 'sub', event).replace('{"id"', '{"__proto__":{"polluted":true},"id"')
    const msg = parseRelayMessage(text)
    expect(msg.type).toBe('EVENT')
    if (msg.type !== 'EVENT') throw new Error('unreachable')
    expect(Object.getPrototypeOf(msg.event)).toBe(Object.prototype)
    expect((msg.event as unknown as Record<string, unknown>).polluted).toBeUndefined()
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('parses EOSE, NOTICE and AUTH', () => {
    expect(parseRelayMessage('["EOSE","feed"]')).toEqual({ type: 'EOSE', subId: 'feed' })
    expect(parseRelayMessage('["NOTICE","slow down"]')).toEqual({ type: 'NOTICE', message: 'slow down' })
    expect(parseRelayMessage('["AUTH","challenge-1"]')).toEqual({ type: 'AUTH', challenge: 'challenge-1' })
    expect(parseRelayMessage(frame('AUTH', 'c'.repeat(MAX_AUTH_CHALLENGE_LENGTH)))).toMatchObject({ type: 'AUTH' })
  })

  it('parses OK with its machine-readable prefix, and without the fourth element', () => {
    expect(parseRelayMessage(frame('OK', id, false, 'rate-limited: slow down there chief'))).toEqual({
      type: 'OK',
      eventId: id,
      accepted: false,
      message: 'rate-limited: slow down there chief',
      prefix: 'rate-limited',
      reason: 'slow down there chief',
    })
    expect(parseRelayMessage(frame('OK', id, true))).toEqual({ type: 'OK', eventId: id, accepted: true, message: '', prefix: undefined, reason: '' })
    expect(parseRelayMessage(frame('OK', id, true, 'duplicate: have it'))).toMatchObject({ accepted: true, prefix: 'duplicate', reason: 'have it' })
  })

  it('parses CLOSED with each prefix, an unknown prefix and no message', () => {
    for (const prefix of MACHINE_PREFIXES) {
      expect(parseRelayMessage(frame('CLOSED', 's', `${prefix}: why`))).toEqual({
        type: 'CLOSED',
        subId: 's',
        message: `${prefix}: why`,
        prefix,
        reason: 'why',
      })
    }
    expect(parseRelayMessage(frame('CLOSED', 's', 'unsupported: filter contains unknown elements'))).toMatchObject({
      prefix: undefined,
      reason: 'unsupported: filter contains unknown elements',
    })
    expect(parseRelayMessage(frame('CLOSED', 's'))).toEqual({ type: 'CLOSED', subId: 's', message: '', prefix: undefined, reason: '' })
  })

  it('parses COUNT, with approximate defaulting to false', () => {
    expect(parseRelayMessage(frame('COUNT', 'q', { count: 42 }))).toEqual({ type: 'COUNT', subId: 'q', count: 42, approximate: false })
    expect(parseRelayMessage(frame('COUNT', 'q', { count: 0, approximate: true }))).toEqual({ type: 'COUNT', subId: 'q', count: 0, approximate: true })
  })

  it('ignores extra trailing elements', () => {
    expect(parseRelayMessage(frame('EOSE', 'feed', 'extra', 1))).toEqual({ type: 'EOSE', subId: 'feed' })
    expect(parseRelayMessage(frame('EVENT', 'sub', event, null))).toMatchObject({ type: 'EVENT', event: { id } })
    expect(parseRelayMessage(frame('NOTICE', 'hi', {}))).toEqual({ type: 'NOTICE', message: 'hi' })
  })

  it('accepts subscription ids up to the bound', () => {
    expect(outcome(frame('EOSE', 's'.repeat(MAX_SUBSCRIPTION_ID_LENGTH)))).toBe('EOSE')
    expect(outcome(frame('EOSE', 's'.repeat(MAX_SUBSCRIPTION_ID_LENGTH + 1)))).toBe('bad-subscription-id')
  })
})

describe('parseRelayMessage: rejected messages', () => {
  const cases: [string, unknown, string][] = [
    ['not JSON', '["EOSE","feed"', 'not-json'],
    ['empty text', '', 'not-json'],
    ['a JSON object', '{"type":"EOSE"}', 'not-array'],
    ['an empty array', '[]', 'not-array'],
    ['a JSON string', '"EOSE"', 'not-array'],
    ['a client-only type', frame('REQ', 'sub', {}), 'unknown-type'],
    ['a lower-case type', frame('eose', 'sub'), 'unknown-type'],
    ['a number as type', frame(1, 'sub'), 'unknown-type'],
    ['EOSE without id', frame('EOSE'), 'bad-subscription-id'],
    ['EOSE with an empty id', frame('EOSE', ''), 'bad-subscription-id'],
    ['EOSE with a numeric id', frame('EOSE', 1), 'bad-subscription-id'],
    ['EVENT without event', frame('EVENT', 'sub'), 'bad-event'],
    ['EVENT with an array', frame('EVENT', 'sub', [event]), 'bad-event'],
    ['EVENT with an upper-case id', frame('EVENT', 'sub', { ...event, id: id.toUpperCase() }), 'bad-event'],
    ['EVENT with a fractional kind', frame('EVENT', 'sub', { ...event, kind: 1.5 }), 'bad-event'],
    ['EVENT with a numeric tag value', frame('EVENT', 'sub', { ...event, tags: [['t', 1]] }), 'bad-event'],
    ['EVENT with a bad subscription id', frame('EVENT', 7, event), 'bad-subscription-id'],
    ['OK with a short id', frame('OK', 'abc', true, ''), 'bad-ok'],
    ['OK with a string for accepted', frame('OK', id, 'true', ''), 'bad-ok'],
    ['OK without accepted', frame('OK', id), 'bad-ok'],
    ['OK with a numeric message', frame('OK', id, true, 5), 'bad-ok'],
    ['OK with a null message', frame('OK', id, false, null), 'bad-ok'],
    ['CLOSED with a numeric message', frame('CLOSED', 's', 5), 'bad-closed'],
    ['CLOSED without id', frame('CLOSED'), 'bad-subscription-id'],
    ['NOTICE without message', frame('NOTICE'), 'bad-notice'],
    ['NOTICE with an object', frame('NOTICE', {}), 'bad-notice'],
    ['AUTH without challenge', frame('AUTH'), 'bad-auth'],
    ['AUTH with an event (client form)', frame('AUTH', event), 'bad-auth'],
    ['AUTH with a huge challenge', frame('AUTH', 'c'.repeat(MAX_AUTH_CHALLENGE_LENGTH + 1)), 'bad-auth'],
    ['COUNT with a bare number', frame('COUNT', 'q', 3), 'bad-count'],
    ['COUNT with a negative count', frame('COUNT', 'q', { count: -1 }), 'bad-count'],
    ['COUNT with a fractional count', frame('COUNT', 'q', { count: 1.5 }), 'bad-count'],
    ['COUNT with a string approximate', frame('COUNT', 'q', { count: 1, approximate: 'yes' }), 'bad-count'],
    ['COUNT without id', frame('COUNT', '', { count: 1 }), 'bad-subscription-id'],
  ]
  for (const [name, data, reason] of cases) {
    it(`${name} → ${reason}`, () => {
      expect(outcome(data)).toBe(reason)
    })
  }

  it('names the bad event field in the detail', () => {
    expect(parseRelayMessage(frame('EVENT', 's', { ...event, sig: 'zz' }))).toEqual({
      type: 'invalid',
      reason: 'bad-event',
      detail: 'sig must be 128 lower-case hex characters',
    })
  })

  it('keeps details short when the relay sends long values', () => {
    const msg = parseRelayMessage(frame('X'.repeat(10_000), 'a'))
    expect(msg).toMatchObject({ type: 'invalid', reason: 'unknown-type' })
    if (msg.type !== 'invalid') throw new Error('unreachable')
    expect(msg.detail?.length).toBeLessThan(40)
  })

  it('every reason in INVALID_MESSAGE_REASONS is distinct and reachable from the table above', () => {
    expect(new Set(INVALID_MESSAGE_REASONS).size).toBe(INVALID_MESSAGE_REASONS.length)
    const seen = new Set([...cases.map((c) => c[2]), 'too-large', 'not-text'])
    expect([...INVALID_MESSAGE_REASONS].sort()).toEqual([...seen].sort())
  })
})

describe('parseRelayMessage: frame types and sizes', () => {
  const text = frame('EOSE', 'feed')

  it('decodes UTF-8 binary frames: Buffer, Uint8Array, ArrayBuffer, DataView, a view with an offset', () => {
    const bytes = new TextEncoder().encode(text)
    expect(parseRelayMessage(Buffer.from(text))).toEqual({ type: 'EOSE', subId: 'feed' })
    expect(outcome(bytes)).toBe('EOSE')
    expect(outcome(bytes.buffer)).toBe('EOSE')
    expect(outcome(new DataView(bytes.buffer))).toBe('EOSE')
    const padded = new Uint8Array(bytes.length + 4)
    padded.set(bytes, 2)
    expect(outcome(padded.subarray(2, 2 + bytes.length))).toBe('EOSE')
  })

  it('rejects invalid UTF-8 and values that are not text', () => {
    expect(outcome(new Uint8Array([0x5b, 0xff, 0x5d]))).toBe('not-text')
    for (const value of [undefined, null, 42, true, {}, [text], new Blob([text]), Symbol('x'), () => text]) {
      expect(outcome(value)).toBe('not-text')
    }
  })

  it('rejects a hostile object whose every trap throws', () => {
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error('boom')
        },
        getPrototypeOf() {
          throw new Error('boom')
        },
      },
    )
    expect(outcome(hostile)).toBe('not-text')
  })

  it('checks sizes before parsing, in UTF-8 bytes', () => {
    const ascii = frame('NOTICE', 'x'.repeat(100))
    const n = ascii.length
    expect(outcome(ascii, n)).toBe('NOTICE')
    expect(outcome(ascii, n - 1)).toBe('too-large')
    // 3 bytes per character: the cheap bound fails, the exact count decides.
    const wide = frame('NOTICE', '€'.repeat(100))
    const bytes = utf8ByteLength(wide)
    expect(bytes).toBe(new TextEncoder().encode(wide).length)
    expect(outcome(wide, bytes)).toBe('NOTICE')
    expect(outcome(wide, bytes - 1)).toBe('too-large')
    expect(outcome(new TextEncoder().encode(wide), bytes - 1)).toBe('too-large')
    // An unparseable frame over the limit is reported as too large: JSON.parse never saw it.
    expect(outcome('x'.repeat(101), 100)).toBe('too-large')
  })

  it('rejects a frame over the default limit without parsing it', () => {
    const huge = `["NOTICE","${'x'.repeat(DEFAULT_MAX_RELAY_MESSAGE_BYTES)}"]`
    expect(outcome(huge)).toBe('too-large')
    expect(outcome(huge, Infinity)).toBe('NOTICE')
  })

  it('survives deeply nested JSON', () => {
    const depth = 200_000
    const nested = `[${'['.repeat(depth)}${']'.repeat(depth)}]`
    expect(['not-json', 'unknown-type']).toContain(outcome(nested))
    expect(outcome(`{"a":${'['.repeat(depth)}`)).toBe('not-json')
  })

  it('throws RangeError for a bad maxBytes (a programmer error)', () => {
    expect(() => parseRelayMessage(text, 0)).toThrow(RangeError)
    expect(() => parseRelayMessage(text, Number.NaN)).toThrow(RangeError)
    expect(() => parseRelayMessage(text, '10' as unknown as number)).toThrow(RangeError)
  })
})

describe('parseMachinePrefix', () => {
  it('recognises each NIP-01 prefix and auth-required', () => {
    for (const prefix of MACHINE_PREFIXES) {
      expect(parseMachinePrefix(`${prefix}: reason here`)).toEqual({ prefix, reason: 'reason here' })
      expect(parseMachinePrefix(`${prefix}:`)).toEqual({ prefix, reason: '' })
    }
    expect(parseMachinePrefix('auth-required: we only serve members')).toEqual({ prefix: 'auth-required', reason: 'we only serve members' })
  })

  it('is case-sensitive, anchored at the start, and leaves unknown prefixes alone', () => {
    const untouched = ['Blocked: no', ' blocked: no', 'blocked no', 'unsupported: x', 'rate-limited', '', ':x', 'http://x: y', 'pow : 3']
    for (const message of untouched) expect(parseMachinePrefix(message)).toEqual({ prefix: undefined, reason: message })
  })

  it('keeps colons inside the human part', () => {
    expect(parseMachinePrefix('blocked: see https://relay.example: register')).toEqual({ prefix: 'blocked', reason: 'see https://relay.example: register' })
  })
})

describe('utf8ByteLength', () => {
  const encoder = new TextEncoder()
  const anyUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c))

  it('agrees with TextEncoder, lone surrogates included', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: anyUnit }), fc.string({ unit: 'grapheme' })), (s) => {
        expect(utf8ByteLength(s)).toBe(encoder.encode(s).length)
      }),
      { seed: 42, numRuns: 2000 },
    )
  })

  it('counts each width', () => {
    expect(utf8ByteLength('')).toBe(0)
    expect(utf8ByteLength('a')).toBe(1)
    expect(utf8ByteLength('é')).toBe(2)
    expect(utf8ByteLength('€')).toBe(3)
    expect(utf8ByteLength('😀')).toBe(4)
    expect(utf8ByteLength('\ud800')).toBe(3)
    expect(utf8ByteLength('\udc00\ud800')).toBe(6)
  })
})

describe('encoders', () => {
  it('encode REQ, COUNT and CLOSE exactly', () => {
    expect(encodeReq('feed', [{ kinds: [1], limit: 20 }, { '#t': ['x'] }])).toBe('["REQ","feed",{"kinds":[1],"limit":20},{"#t":["x"]}]')
    expect(encodeCount('q', [{ kinds: [3] }])).toBe('["COUNT","q",{"kinds":[3]}]')
    expect(encodeClose('feed')).toBe('["CLOSE","feed"]')
  })

  it('drops undefined filter keys', () => {
    expect(encodeReq('s', [{ kinds: [1], since: undefined }])).toBe('["REQ","s",{"kinds":[1]}]')
  })

  it('encode EVENT and AUTH with the seven NIP-01 fields only', () => {
    const decorated = Object.assign({ seenOn: ['wss://a'] }, event)
    const sent = JSON.parse(encodeEventMessage(decorated)) as unknown[]
    expect(sent).toEqual(['EVENT', event])
    expect(Object.keys(sent[1] as object)).toEqual(['id', 'pubkey', 'created_at', 'kind', 'tags', 'content', 'sig'])
    expect(JSON.parse(encodeAuth(decorated))).toEqual(['AUTH', event])
  })

  it('round-trips the relay echo of an encoded event', () => {
    const [, sent] = JSON.parse(encodeEventMessage(event)) as [string, NostrEvent]
    expect(parseRelayMessage(frame('EVENT', 'sub', sent))).toEqual({ type: 'EVENT', subId: 'sub', event })
  })

  it('throw TypeError/RangeError for programmer errors', () => {
    expect(() => encodeReq('', [])).toThrow(RangeError)
    expect(() => encodeClose(1 as unknown as string)).toThrow(TypeError)
    expect(() => encodeReq('s', {} as unknown as [])).toThrow(TypeError)
    expect(() => encodeCount('', [])).toThrow(RangeError)
    expect(() => encodeEventMessage(null as unknown as NostrEvent)).toThrow(TypeError)
  })
})
