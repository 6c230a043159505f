/**
 * Fuzzes the relay-message parser with well over 100,000 generated frames: arbitrary text, arbitrary
 * JSON, valid messages of every type, valid messages with one field broken, oversized frames and
 * binary or non-text data. Every frame must come back without throwing, as either a well-typed
 * message or a rejection with a listed reason; where the category fixes the outcome, the exact
 * outcome is asserted. A tally of outcomes must account for every frame fed.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type NostrEvent, bytesToHex, isEventShape, isHex } from '../../src/crypto/index.js'
import {
  INVALID_MESSAGE_REASONS,
  MAX_AUTH_CHALLENGE_LENGTH,
  MAX_SUBSCRIPTION_ID_LENGTH,
  type RelayMessage,
  parseRelayMessage,
} from '../../src/relay-pool/messages.js'
import { MACHINE_PREFIXES } from '../../src/relay-pool/types.js'

const SEED = 42
/** Size limit for most frames: small, so that oversized frames are cheap to make. */
const MAX = 8192
const TYPES = ['EVENT', 'EOSE', 'OK', 'CLOSED', 'NOTICE', 'AUTH', 'COUNT'] as const
/** The rejections a frame of a known type can get once it is a JSON array. */
const REASONS_BY_TYPE: Record<(typeof TYPES)[number], readonly string[]> = {
  EVENT: ['bad-subscription-id', 'bad-event'],
  EOSE: ['bad-subscription-id'],
  OK: ['bad-ok'],
  CLOSED: ['bad-subscription-id', 'bad-closed'],
  NOTICE: ['bad-notice'],
  AUTH: ['bad-auth'],
  COUNT: ['bad-subscription-id', 'bad-count'],
}
const encoder = new TextEncoder()
const frame = (...parts: unknown[]): string => JSON.stringify(parts)

const tally = new Map<string, number>()
let fed = 0

/** Why a parse result is not well-typed, or undefined. Plain checks: `expect` per frame is too slow for 100k frames. */
function shapeProblem(r: RelayMessage | { type: 'invalid'; reason: string; detail?: string }): string | undefined {
  const subIdOk = (s: unknown): boolean => typeof s === 'string' && s.length > 0 && s.length <= MAX_SUBSCRIPTION_ID_LENGTH
  const prefixOk = (p: unknown): boolean => p === undefined || (MACHINE_PREFIXES as readonly unknown[]).includes(p)
  switch (r.type) {
    case 'invalid':
      if (!(INVALID_MESSAGE_REASONS as readonly string[]).includes(r.reason)) return `unknown reason ${r.reason}`
      if (r.detail !== undefined && (typeof r.detail !== 'string' || r.detail.length > 200)) return 'bad detail'
      return undefined
    case 'EVENT':
      if (!subIdOk(r.subId) || !isEventShape(r.event)) return 'bad EVENT'
      return Object.keys(r.event).length === 7 ? undefined : 'extra event keys'
    case 'EOSE':
      return subIdOk(r.subId) ? undefined : 'bad EOSE'
    case 'OK':
      return isHex(r.eventId, 32) && typeof r.accepted === 'boolean' && typeof r.message === 'string' && typeof r.reason === 'string' && prefixOk(r.prefix)
        ? undefined
        : 'bad OK'
    case 'CLOSED':
      return subIdOk(r.subId) && typeof r.message === 'string' && typeof r.reason === 'string' && prefixOk(r.prefix) ? undefined : 'bad CLOSED'
    case 'NOTICE':
      return typeof r.message === 'string' ? undefined : 'bad NOTICE'
    case 'AUTH':
      return typeof r.challenge === 'string' && r.challenge.length <= MAX_AUTH_CHALLENGE_LENGTH ? undefined : 'bad AUTH'
    case 'COUNT':
      return subIdOk(r.subId) && Number.isSafeInteger(r.count) && r.count >= 0 && typeof r.approximate === 'boolean' ? undefined : 'bad COUNT'
    default:
      return `unknown type ${(r as { type: unknown }).type}`
  }
}

/** Parses one frame, checks the result's types, tallies it and returns the outcome key. */
function feed(data: unknown, maxBytes = MAX): { key: string; result: ReturnType<typeof parseRelayMessage> } {
  let result: ReturnType<typeof parseRelayMessage>
  try {
    result = parseRelayMessage(data, maxBytes)
  } catch (err) {
    throw new Error(`parser threw ${String(err)} for ${describeInput(data)}`)
  }
  const problem = shapeProblem(result)
  if (problem !== undefined) throw new Error(`${problem}: ${JSON.stringify(result).slice(0, 300)} for ${describeInput(data)}`)
  fed++
  const key = result.type === 'invalid' ? result.reason : result.type
  tally.set(key, (tally.get(key) ?? 0) + 1)
  return { key, result }
}

function describeInput(data: unknown): string {
  if (typeof data === 'string') return JSON.stringify(data.slice(0, 300))
  try {
    return String(data).slice(0, 300)
  } catch {
    return typeof data
  }
}

function fail(message: string, data: unknown): never {
  throw new Error(`${message} for ${describeInput(data)}`)
}

/** The outcome a text frame must have when it is not a well-formed array of a known type, else the type. */
function classify(text: string): { exact: string } | { type: (typeof TYPES)[number] } {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return { exact: 'not-json' }
  }
  if (!Array.isArray(parsed) || parsed.length === 0) return { exact: 'not-array' }
  const type = parsed[0]
  return (TYPES as readonly unknown[]).includes(type) ? { type: type as (typeof TYPES)[number] } : { exact: 'unknown-type' }
}

/** Feeds `text` and checks the outcome against {@link classify}. */
function feedClassified(text: string): void {
  const { key } = feed(text)
  if (encoder.encode(text).length > MAX) {
    if (key !== 'too-large') fail(`expected too-large, got ${key}`, text)
    return
  }
  const c = classify(text)
  if ('exact' in c) {
    if (key !== c.exact) fail(`expected ${c.exact}, got ${key}`, text)
  } else if (key !== c.type && !REASONS_BY_TYPE[c.type].includes(key)) fail(`type ${c.type} gave ${key}`, text)
}

/** Samples `total` values of `arb` in chunks (bounded memory), each chunk with its own fixed seed. */
function forEachSample<T>(arb: fc.Arbitrary<T>, total: number, seedOffset: number, fn: (value: T) => void): void {
  const chunk = 5000
  for (let done = 0, i = 0; done < total; done += chunk, i++) {
    for (const value of fc.sample(arb, { seed: SEED + seedOffset * 1000 + i, numRuns: Math.min(chunk, total - done) })) fn(value)
  }
}

// ---- arbitraries ----

const hex = (bytes: number): fc.Arbitrary<string> => fc.uint8Array({ minLength: bytes, maxLength: bytes }).map(bytesToHex)
const text = fc.string({ unit: 'binary', maxLength: 40 })
const subId = fc.string({ unit: 'binary', minLength: 1, maxLength: 64 })
const event: fc.Arbitrary<NostrEvent> = fc.record({
  id: hex(32),
  pubkey: hex(32),
  created_at: fc.integer({ min: 0, max: 2 ** 40 }),
  kind: fc.integer({ min: 0, max: 65535 }),
  tags: fc.array(fc.array(text, { maxLength: 3 }), { maxLength: 3 }),
  content: text,
  sig: hex(64),
})
/** A message string, often with a machine-readable prefix, with its expected split (an independent oracle). */
const message: fc.Arbitrary<{ message: string; prefix: string | undefined; reason: string }> = fc.oneof(
  text.map((m) => {
    const match = /^([a-z-]+):(.*)$/s.exec(m)
    const known = match !== null && (MACHINE_PREFIXES as readonly string[]).includes(match[1] as string)
    return known ? { message: m, prefix: match[1], reason: (match[2] as string).trim() } : { message: m, prefix: undefined, reason: m }
  }),
  fc.tuple(fc.constantFrom(...MACHINE_PREFIXES), fc.constantFrom('', ' ', '  '), text).map(([p, sep, rest]) => ({
    message: `${p}:${sep}${rest}`,
    prefix: p,
    reason: `${sep}${rest}`.trim(),
  })),
  // Near misses: wrong case, leading space, unknown word.
  fc.tuple(fc.constantFrom('Duplicate', ' blocked', 'unsupported', 'pow ', 'AUTH-REQUIRED'), text).map(([p, rest]) => ({
    message: `${p}:${rest}`,
    prefix: undefined,
    reason: `${p}:${rest}`,
  })),
)
/** Trailing elements a relay might add; ignored by the parser. */
const extras = fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 2 })

/** A valid frame and exactly what it must parse to. */
const validMessage: fc.Arbitrary<{ data: string; expected: RelayMessage }> = fc.oneof(
  fc.tuple(subId, event, extras).map(([s, e, x]) => ({ data: frame('EVENT', s, e, ...x), expected: { type: 'EVENT' as const, subId: s, event: e } })),
  fc.tuple(subId, extras).map(([s, x]) => ({ data: frame('EOSE', s, ...x), expected: { type: 'EOSE' as const, subId: s } })),
  fc.tuple(hex(32), fc.boolean(), fc.option(message, { nil: undefined }), extras).map(([id, ok, m, x]) => ({
    data: m === undefined ? frame('OK', id, ok) : frame('OK', id, ok, m.message, ...x),
    expected: { type: 'OK' as const, eventId: id, accepted: ok, message: m?.message ?? '', prefix: m?.prefix as never, reason: m?.reason ?? '' },
  })),
  fc.tuple(subId, fc.option(message, { nil: undefined }), extras).map(([s, m, x]) => ({
    data: m === undefined ? frame('CLOSED', s) : frame('CLOSED', s, m.message, ...x),
    expected: { type: 'CLOSED' as const, subId: s, message: m?.message ?? '', prefix: m?.prefix as never, reason: m?.reason ?? '' },
  })),
  fc.tuple(text, extras).map(([m, x]) => ({ data: frame('NOTICE', m, ...x), expected: { type: 'NOTICE' as const, message: m } })),
  fc.tuple(fc.string({ maxLength: MAX_AUTH_CHALLENGE_LENGTH }), extras).map(([c, x]) => ({
    data: frame('AUTH', c, ...x),
    expected: { type: 'AUTH' as const, challenge: c },
  })),
  fc.tuple(subId, fc.nat({ max: Number.MAX_SAFE_INTEGER }), fc.option(fc.boolean(), { nil: undefined }), extras).map(([s, n, a, x]) => ({
    data: frame('COUNT', s, a === undefined ? { count: n } : { count: n, approximate: a }, ...x),
    expected: { type: 'COUNT' as const, subId: s, count: n, approximate: a === true },
  })),
)

/** JSON values that are not strings. */
const notString = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 3 }), { maxLength: 2 }),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.nat(), { maxKeys: 2 }),
)
const badSubId = fc.oneof(notString, fc.constant(''), fc.string({ minLength: MAX_SUBSCRIPTION_ID_LENGTH + 1, maxLength: 300 }))
const badHex = (bytes: number): fc.Arbitrary<unknown> =>
  fc.oneof(
    hex(bytes - 1),
    hex(bytes).map((h) => `${h}0`),
    hex(bytes).map((h) => `A${h.slice(1)}`),
    hex(bytes).map((h) => `${h.slice(2)}zz`),
    hex(bytes).map((h) => ` ${h.slice(1)}`),
    notString,
  )
const badKind = fc.oneof(fc.constantFrom(-1, 65536, 1.5, '1', null, true), fc.integer({ min: 65536 }), fc.integer({ max: -1 }))
const badCreatedAt = fc.constantFrom(-1, 1.5, '1700000000', null, 2 ** 53, [1])
const badTags = fc.oneof(fc.constantFrom('x', [1], [['t', 1]], ['t'], {}, null, [[null]], [[], 1]), fc.array(fc.nat(), { minLength: 1, maxLength: 2 }))
const badContent = fc.constantFrom(1, null, [], {}, true)
const EVENT_FIELDS = ['id', 'pubkey', 'created_at', 'kind', 'tags', 'content', 'sig'] as const

/** An event with exactly one field broken (or removed), or not an object at all. */
const badEvent: fc.Arbitrary<unknown> = fc.oneof(
  fc.tuple(event, fc.constantFrom(...EVENT_FIELDS)).map(([e, field]) => {
    const copy: Record<string, unknown> = { ...e }
    delete copy[field]
    return copy
  }),
  fc.tuple(event, badHex(32)).map(([e, v]) => ({ ...e, id: v })),
  fc.tuple(event, badHex(32)).map(([e, v]) => ({ ...e, pubkey: v })),
  fc.tuple(event, badHex(64)).map(([e, v]) => ({ ...e, sig: v })),
  fc.tuple(event, badKind).map(([e, v]) => ({ ...e, kind: v })),
  fc.tuple(event, badCreatedAt).map(([e, v]) => ({ ...e, created_at: v })),
  fc.tuple(event, badTags).map(([e, v]) => ({ ...e, tags: v })),
  fc.tuple(event, badContent).map(([e, v]) => ({ ...e, content: v })),
  fc.constantFrom(null, 'event', 1, [], [{}]),
)
const badCountPayload = fc.oneof(
  notString.filter((v) => typeof v !== 'object' || v === null || Array.isArray(v)),
  fc.constantFrom(-1, 1.5, '3', null, 2 ** 53, true).map((count) => ({ count })),
  fc.constant({}),
  fc.tuple(fc.nat(), fc.constantFrom('yes', 1, null, 0)).map(([count, approximate]) => ({ count, approximate })),
)

/** A valid frame with one field broken, and the exact reason it must be rejected for. */
const mutatedMessage: fc.Arbitrary<{ data: string; reason: string }> = fc.oneof(
  fc.tuple(badSubId, event).map(([s, e]) => ({ data: frame('EVENT', s, e), reason: 'bad-subscription-id' })),
  fc.tuple(subId, badEvent).map(([s, e]) => ({ data: frame('EVENT', s, e), reason: 'bad-event' })),
  subId.map((s) => ({ data: frame('EVENT', s), reason: 'bad-event' })),
  badSubId.map((s) => ({ data: frame('EOSE', s), reason: 'bad-subscription-id' })),
  fc.constant({ data: frame('EOSE'), reason: 'bad-subscription-id' }),
  fc.tuple(badHex(32), fc.boolean(), text).map(([id, ok, m]) => ({ data: frame('OK', id, ok, m), reason: 'bad-ok' })),
  fc.tuple(hex(32), fc.oneof(notString.filter((v) => typeof v !== 'boolean'), fc.constantFrom('true', 'false')), text).map(([id, ok, m]) => ({
    data: frame('OK', id, ok, m),
    reason: 'bad-ok',
  })),
  fc.tuple(hex(32), fc.boolean(), notString).map(([id, ok, m]) => ({ data: frame('OK', id, ok, m), reason: 'bad-ok' })),
  hex(32).map((id) => ({ data: frame('OK', id), reason: 'bad-ok' })),
  fc.tuple(badSubId, text).map(([s, m]) => ({ data: frame('CLOSED', s, m), reason: 'bad-subscription-id' })),
  fc.tuple(subId, notString).map(([s, m]) => ({ data: frame('CLOSED', s, m), reason: 'bad-closed' })),
  notString.map((m) => ({ data: frame('NOTICE', m), reason: 'bad-notice' })),
  fc.constant({ data: frame('NOTICE'), reason: 'bad-notice' }),
  fc.oneof(notString, fc.string({ minLength: MAX_AUTH_CHALLENGE_LENGTH + 1, maxLength: 1500 })).map((c) => ({ data: frame('AUTH', c), reason: 'bad-auth' })),
  event.map((e) => ({ data: frame('AUTH', e), reason: 'bad-auth' })),
  fc.tuple(badSubId, fc.nat()).map(([s, n]) => ({ data: frame('COUNT', s, { count: n }), reason: 'bad-subscription-id' })),
  fc.tuple(subId, badCountPayload).map(([s, p]) => ({ data: frame('COUNT', s, p), reason: 'bad-count' })),
  // The type itself broken.
  fc.tuple(validMessage, fc.oneof(text.filter((t) => !(TYPES as readonly string[]).includes(t)), notString)).map(([v, type]) => ({
    data: JSON.stringify([type, ...(JSON.parse(v.data) as unknown[]).slice(1)]),
    reason: 'unknown-type',
  })),
  validMessage.map((v) => ({ data: v.data.replace(/^\["([A-Z]+)"/, (_, t: string) => `["${t.toLowerCase()}"`), reason: 'unknown-type' })),
  fc.constantFrom('REQ', 'CLOSE', 'NEG-MSG').map((t) => ({ data: frame(t, 'sub', {}), reason: 'unknown-type' })),
  // The frame's structure broken.
  validMessage.map((v) => ({ data: v.data.slice(0, -1), reason: 'not-json' })),
  validMessage.map((v) => ({ data: `{"m":${v.data}}`, reason: 'not-array' })),
  validMessage.map((v) => ({ data: `${v.data},`, reason: 'not-json' })),
)

/** A NOTICE whose UTF-8 size is near a random limit, in 1-, 2-, 3- and 4-byte characters. */
const nearLimit = fc
  .tuple(
    fc.oneof(
      fc.string({ unit: fc.constantFrom('a', 'é', '€', '😀', '"', '\n'), minLength: 10, maxLength: 400 }),
      // Three bytes per UTF-16 unit: the case where the cheap length bound alone would be wrong.
      fc.string({ unit: fc.constantFrom('€', '\u2028', '\uffff'), minLength: 10, maxLength: 400 }),
    ),
    fc.integer({ min: -4, max: 4 }),
    fc.constantFrom('string', 'bytes', 'arraybuffer'),
  )
  .map(([content, delta, form]) => {
    const data = frame('NOTICE', content)
    const bytes = encoder.encode(data)
    const maxBytes = Math.max(1, bytes.length + delta)
    const wire = form === 'string' ? data : form === 'bytes' ? bytes : bytes.slice().buffer
    return { wire, maxBytes, tooLarge: bytes.length > maxBytes, content }
  })

/** Values a WebSocket `data` field should never hold: not text, not bytes. */
const notText: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constantFrom(null, undefined, Symbol('x'), () => '["EOSE","x"]', new Map(), new Set(), new Date(0), /x/, new Blob(['["EOSE","x"]'])),
  fc.bigInt(),
  fc.object({ maxDepth: 1 }),
  fc.array(fc.string(), { maxLength: 2 }),
  fc.constant(
    new Proxy(
      {},
      {
        getPrototypeOf() {
          throw new Error('hostile')
        },
        get() {
          throw new Error('hostile')
        },
      },
    ),
  ),
)

const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

// ---- the fuzz ----

describe('parseRelayMessage fuzz (fixed seed)', () => {
  it('arbitrary text: never throws, and non-JSON is not-json', () => {
    const arb = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 60 }),
      fc.string({ unit: 'grapheme', maxLength: 30 }),
      fc.string({ unit: fc.constantFrom('[', ']', '"', ',', '{', '}', ':', 'E', 'OK', '1', 'null', ' ', '\\'), maxLength: 20 }),
    )
    forEachSample(arb, 15_000, 1, feedClassified)
    expect(tally.get('not-json')).toBeGreaterThan(10_000)
  })

  it('arbitrary JSON and known types with random tails: exact class, or a reason of that type', () => {
    forEachSample(fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? 'null'), 15_000, 2, feedClassified)
    const tail = fc.tuple(fc.constantFrom(...TYPES), fc.array(fc.oneof(fc.jsonValue({ maxDepth: 2 }), subId, hex(32), fc.boolean()), { maxLength: 4 }))
    forEachSample(tail.map(([t, rest]) => frame(t, ...rest)), 12_000, 3, feedClassified)
    expect(tally.get('not-array')).toBeGreaterThan(5000)
    expect(tally.get('unknown-type')).toBeGreaterThan(1000)
  })

  it('valid messages of every type parse to exactly what was sent', () => {
    let count = 0
    forEachSample(validMessage, 20_000, 4, ({ data, expected }) => {
      const { result } = feed(data)
      count++
      expect.soft(result, data.slice(0, 200)).toEqual(expected)
    })
    expect(count).toBe(20_000)
    for (const type of TYPES) expect(tally.get(type), type).toBeGreaterThan(1000)
  })

  it('valid messages with one field broken are rejected for exactly that reason', () => {
    forEachSample(mutatedMessage, 25_000, 5, ({ data, reason }) => {
      const { key, result } = feed(data)
      if (key !== reason) fail(`expected ${reason}, got ${key} (${JSON.stringify(result).slice(0, 200)})`, data)
    })
  })

  it('frames near or over the size limit: too-large exactly when over, in UTF-8 bytes', () => {
    forEachSample(nearLimit, 8000, 6, ({ wire, maxBytes, tooLarge, content }) => {
      const { key, result } = feed(wire, maxBytes)
      if (tooLarge) {
        if (key !== 'too-large') fail(`expected too-large at ${maxBytes}, got ${key}`, wire)
      } else if (result.type !== 'NOTICE' || result.message !== content) fail(`expected the NOTICE back at ${maxBytes}, got ${key}`, wire)
    })
    // A few frames many times the default limit, text and binary; rejected before parsing.
    const huge = `["NOTICE","${'x'.repeat(6 * 1024 * 1024)}"]`
    expect(feed(huge, undefined).key).toBe('too-large')
    expect(feed(`${huge.slice(0, -2)}`, undefined).key).toBe('too-large')
    expect(feed(Buffer.from(huge), undefined).key).toBe('too-large')
    expect(feed('€'.repeat(2 * 1024 * 1024), undefined).key).toBe('too-large')
  })

  it('binary frames parse like their text; invalid UTF-8 and non-text values are not-text', () => {
    forEachSample(validMessage, 4000, 7, ({ data, expected }) => {
      const bytes = encoder.encode(data)
      const form = fed % 3
      const wire = form === 0 ? bytes : form === 1 ? Buffer.from(bytes) : bytes.slice().buffer
      expect.soft(feed(wire).result).toEqual(expected)
    })
    forEachSample(fc.uint8Array({ maxLength: 48 }), 4000, 8, (bytes) => {
      const { key, result } = feed(bytes)
      let decoded: string
      try {
        decoded = strictDecoder.decode(bytes)
      } catch {
        if (key !== 'not-text') fail(`expected not-text, got ${key}`, bytes)
        return
      }
      expect.soft(result).toEqual(parseRelayMessage(decoded, MAX))
    })
    forEachSample(notText, 4000, 9, (value) => {
      const { key } = feed(value)
      if (key !== 'not-text') fail(`expected not-text, got ${key}`, value)
    })
  })

  it('deep nesting and __proto__ keys neither throw nor pollute', () => {
    for (const depth of [1000, 100_000, 1_000_000]) {
      const nested = `${'['.repeat(depth)}${']'.repeat(depth)}`
      expect(['not-json', 'unknown-type']).toContain(feed(nested, 4 * depth).key)
    }
    const polluting = '["EVENT","s",{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}}}]'
    expect(feed(polluting).key).toBe('bad-event')
    expect(feed('["COUNT","s",{"__proto__":{"count":1},"count":2}]').result).toEqual({ type: 'COUNT', subId: 's', count: 2, approximate: false })
    expect(feed('["COUNT","s",{"__proto__":{"count":1}}]').key).toBe('bad-count')
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('the tally accounts for every frame, with every reason and type seen', () => {
    const sum = [...tally.values()].reduce((a, b) => a + b, 0)
    expect(sum).toBe(fed)
    expect(fed).toBeGreaterThanOrEqual(100_000)
    const known = new Set<string>([...INVALID_MESSAGE_REASONS, ...TYPES])
    for (const key of tally.keys()) expect(known.has(key), key).toBe(true)
    for (const key of known) expect(tally.get(key) ?? 0, key).toBeGreaterThan(0)
  })
})
