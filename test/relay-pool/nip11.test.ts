import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import fc from 'fast-check'
import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  type RelayInformation,
  RelayInformationCache,
  fetchRelayInformation,
  parseRelayInformation,
  relayInformationUrl,
  relayLimitsFrom,
} from '../../src/relay-pool/nip11.js'
import { DEFAULT_RELAY_LIMITS } from '../../src/relay-pool/types.js'
import { codeOf, expectRejectionCode } from '../helpers/errors.js'

// test/helpers/errors.ts matches CryptoError only; these match RelayError the same way.
/**
 * Records every `setTimeout` made from now on, and whether each was cleared or fired; `live(delay)`
 * lists those of that delay still pending. Counting the process's active timers instead would be
 * blurred by vitest's own. Call `stop()` when done.
 */
function trackTimers() {
  const timers: { delay: number | undefined; done: boolean; handle: unknown }[] = []
  const realSet = globalThis.setTimeout
  const realClear = globalThis.clearTimeout
  const setSpy = vi.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: (...a: unknown[]) => void, delay?: number, ...args: unknown[]) => {
    const record = { delay, done: false, handle: undefined as unknown }
    record.handle = realSet(
      (...a: unknown[]) => {
        record.done = true
        fn(...a)
      },
      delay,
      ...args,
    )
    timers.push(record)
    return record.handle
  }) as typeof setTimeout)
  const clearSpy = vi.spyOn(globalThis, 'clearTimeout').mockImplementation(((handle: unknown) => {
    for (const t of timers) if (t.handle === handle) t.done = true
    realClear(handle as Parameters<typeof clearTimeout>[0])
  }) as typeof clearTimeout)
  return {
    created: (delay: number) => timers.filter((t) => t.delay === delay).length,
    live: (delay?: number) => timers.filter((t) => !t.done && (delay === undefined || t.delay === delay)).length,
    stop: () => {
      setSpy.mockRestore()
      clearSpy.mockRestore()
    },
  }
}

const PUBKEY = '4918eb332a41b71ba9a74b1dc64276cfff592e55107b93baae38af3520e55975'

// nostr.wine's document as printed in NIP-11.
const WINE = {
  contact: 'wino@nostr.wine',
  description: 'A paid nostr relay for wine enthusiasts and everyone else.',
  fees: { admission: [{ amount: 18888000, unit: 'msats' }] },
  icon: 'https://image.nostr.build/30acdce4a81926f386622a07343228ae99fa68d012d54c538c0b2129dffe400c.png',
  limitation: {
    auth_required: false,
    created_at_lower_limit: 94608000,
    created_at_upper_limit: 300,
    max_event_tags: 4000,
    max_limit: 1000,
    max_message_length: 524288,
    max_subid_length: 71,
    max_subscriptions: 50,
    min_pow_difficulty: 0,
    payment_required: true,
    restricted_writes: true,
  },
  name: 'nostr.wine',
  payments_url: 'https://nostr.wine/invoices',
  pubkey: PUBKEY,
  software: 'https://nostr.wine',
  supported_nips: [1, 2, 4, 9, 11, 40, 42, 50, 70, 77],
  terms_of_service: 'https://nostr.wine/terms',
  version: '0.3.3',
}

describe('parseRelayInformation', () => {
  it('keeps every field of a clean document and reports no issue', () => {
    const info = parseRelayInformation(WINE)
    expect(info.issues).toEqual([])
    expect(info.name).toBe('nostr.wine')
    expect(info.pubkey).toBe(PUBKEY)
    expect(info.contact).toBe('wino@nostr.wine')
    expect(info.supported_nips).toEqual([1, 2, 4, 9, 11, 40, 42, 50, 70, 77])
    expect(info.software).toBe('https://nostr.wine')
    expect(info.version).toBe('0.3.3')
    expect(info.payments_url).toBe('https://nostr.wine/invoices')
    expect(info.terms_of_service).toBe('https://nostr.wine/terms')
    expect(info.limitation).toEqual(WINE.limitation)
    expect(info.raw.fees).toEqual(WINE.fees)
  })

  it('an empty object is a valid, empty document', () => {
    const info = parseRelayInformation({})
    expect(info).toEqual({ limitation: {}, issues: [], raw: {} })
    expect(info.supported_nips).toBeUndefined()
  })

  it.each([
    ['null', null, 'got null'],
    ['an array', [], 'got an array'],
    ['a string', '{"name":"x"}', 'got string'],
    ['a number', 11, 'got number'],
    ['a Date', new Date(0), 'got object'],
    ['a class instance', new (class Doc {})(), 'got object'],
  ])('rejects %s with RELAY_INFORMATION_INVALID', (_label, json, details) => {
    expect(codeOf(() => parseRelayInformation(json))).toBe('RELAY_INFORMATION_INVALID')
    expect(() => parseRelayInformation(json)).toThrow(details)
  })

  it('accepts a null-prototype object', () => {
    const doc = Object.assign(Object.create(null) as Record<string, unknown>, { name: 'np' })
    expect(parseRelayInformation(doc).name).toBe('np')
  })

  it.each([
    // [field path, document, expected value in the result (undefined = dropped), problem]
    ['name', { name: 5 }, undefined, 'wrong-type'],
    ['description', { description: ['x'] }, undefined, 'wrong-type'],
    ['software', { software: null }, undefined, 'wrong-type'],
    ['version', { version: 1.2 }, undefined, 'wrong-type'],
    ['pubkey', { pubkey: 'abc' }, undefined, 'wrong-type'],
    ['pubkey', { pubkey: `${PUBKEY}00` }, undefined, 'wrong-type'],
    ['self', { self: `npub1${'q'.repeat(58)}` }, undefined, 'wrong-type'],
    ['supported_nips', { supported_nips: 'all of them' }, undefined, 'wrong-type'],
    ['limitation', { limitation: [1, 2] }, undefined, 'wrong-type'],
    ['limitation', { limitation: 'none' }, undefined, 'wrong-type'],
  ])('drops a wrong-typed %s', (field, doc, expected, problem) => {
    const info = parseRelayInformation(doc)
    expect((info as unknown as Record<string, unknown>)[field] ?? undefined).toEqual(
      field === 'limitation' ? {} : expected,
    )
    expect(info.issues).toEqual([{ field, problem }])
  })

  it('lower-cases an upper-case hex pubkey and self', () => {
    const info = parseRelayInformation({ pubkey: PUBKEY.toUpperCase(), self: PUBKEY.toUpperCase() })
    expect(info.pubkey).toBe(PUBKEY)
    expect(info.self).toBe(PUBKEY)
    expect(info.issues).toEqual([])
  })

  it('keeps only non-negative integer NIP numbers, once each', () => {
    const info = parseRelayInformation({ supported_nips: [1, '11', 2.5, -1, 1, 42, null, Infinity] })
    expect(info.supported_nips).toEqual([1, 42])
    expect(info.issues).toEqual([
      { field: 'supported_nips[1]', problem: 'wrong-type' },
      { field: 'supported_nips[2]', problem: 'not-an-integer' },
      { field: 'supported_nips[3]', problem: 'out-of-range' },
      { field: 'supported_nips[6]', problem: 'wrong-type' },
      { field: 'supported_nips[7]', problem: 'not-an-integer' },
    ])
  })

  it.each([
    // [limitation field, sent value, kept value (undefined = dropped), problem (undefined = none)]
    ['max_subscriptions', '20', undefined, 'wrong-type'],
    ['max_subscriptions', 0, undefined, 'out-of-range'],
    ['max_subscriptions', -5, undefined, 'out-of-range'],
    ['max_subscriptions', 20.5, undefined, 'not-an-integer'],
    ['max_subscriptions', 1e9, 10_000, 'clamped'],
    ['max_subscriptions', 300, 300, undefined],
    ['max_filters', 1.5, undefined, 'not-an-integer'],
    ['max_filters', 100, 100, undefined],
    ['max_limit', -1, undefined, 'out-of-range'],
    ['max_limit', 5000, 5000, undefined],
    ['max_message_length', 1e12, 16 * 1024 * 1024, 'clamped'],
    ['max_message_length', Infinity, undefined, 'not-an-integer'],
    ['max_message_length', Number.NaN, undefined, 'not-an-integer'],
    ['max_message_length', 16384, 16384, undefined],
    ['max_subid_length', 1_000_000, 1_024, 'clamped'],
    ['max_event_tags', true, undefined, 'wrong-type'],
    ['max_content_length', 8196, 8196, undefined],
    ['min_pow_difficulty', 0, 0, undefined],
    ['min_pow_difficulty', 300, 256, 'clamped'],
    ['min_pow_difficulty', -1, undefined, 'out-of-range'],
    ['created_at_lower_limit', 0, 0, undefined],
    ['created_at_upper_limit', '300', undefined, 'wrong-type'],
    ['default_limit', 0, undefined, 'out-of-range'],
    ['default_limit', 500, 500, undefined],
    ['auth_required', 'true', undefined, 'wrong-type'],
    ['auth_required', 1, undefined, 'wrong-type'],
    ['auth_required', true, true, undefined],
    ['payment_required', false, false, undefined],
    ['restricted_writes', null, undefined, 'wrong-type'],
  ])('limitation.%s = %s', (field, value, kept, problem) => {
    const info = parseRelayInformation({ limitation: { [field]: value } })
    expect((info.limitation as Record<string, unknown>)[field]).toBe(kept)
    expect(info.issues).toEqual(problem ? [{ field: `limitation.${field}`, problem }] : [])
  })

  it('ignores unknown fields but keeps them in raw, as a copy', () => {
    const doc: Record<string, unknown> = { name: 'x', posting_policy: 'https://p', limitation: { max_foo: 3 } }
    const info = parseRelayInformation(doc)
    doc.name = 'changed'
    expect(info.raw).toEqual({ name: 'x', posting_policy: 'https://p', limitation: { max_foo: 3 } })
    expect(info.limitation).toEqual({})
    expect(info.issues).toEqual([])
  })

  it('a __proto__ key from JSON stays data and pollutes nothing', () => {
    const doc = JSON.parse('{"__proto__": {"polluted": true}, "name": "p", "limitation": {"__proto__": {"max_limit": 7}}}')
    const info = parseRelayInformation(doc)
    expect(info.name).toBe('p')
    expect(info.limitation.max_limit).toBeUndefined()
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(Object.getPrototypeOf(info.raw)).toBe(Object.prototype)
  })

  it('inherited properties are not read as fields', () => {
    const doc = Object.create({ name: 'inherited' }) as Record<string, unknown>
    // Not a plain object, so refused outright.
    expect(codeOf(() => parseRelayInformation(doc))).toBe('RELAY_INFORMATION_INVALID')
  })

  it('never throws on a JSON object and every kept limit is in range (fast-check)', () => {
    const limitValue = fc.oneof(
      fc.integer({ min: -10, max: 2 ** 40 }),
      fc.double(),
      fc.string({ maxLength: 4 }),
      fc.boolean(),
      fc.constant(null),
    )
    const limitKeys = [
      'max_message_length',
      'max_subscriptions',
      'max_filters',
      'max_limit',
      'max_subid_length',
      'min_pow_difficulty',
      'auth_required',
    ] as const
    const doc = fc.oneof(
      fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 6 }),
      fc.record(
        {
          name: fc.jsonValue({ maxDepth: 1 }),
          pubkey: fc.oneof(fc.constant(PUBKEY), fc.string({ maxLength: 70 })),
          supported_nips: fc.array(fc.jsonValue({ maxDepth: 0 }), { maxLength: 6 }),
          limitation: fc.dictionary(fc.constantFrom(...limitKeys), limitValue),
        },
        { requiredKeys: [] },
      ),
    )
    fc.assert(
      fc.property(doc, (json) => {
        const info = parseRelayInformation(json)
        const l = info.limitation
        for (const v of [l.max_message_length, l.max_subscriptions, l.max_filters, l.max_limit, l.max_subid_length]) {
          if (v !== undefined) expect(Number.isSafeInteger(v) && v >= 1).toBe(true)
        }
        if (l.min_pow_difficulty !== undefined) expect(l.min_pow_difficulty).toBeLessThanOrEqual(256)
        if (l.auth_required !== undefined) expect(typeof l.auth_required).toBe('boolean')
        if (info.name !== undefined) expect(typeof info.name).toBe('string')
        if (info.pubkey !== undefined) expect(info.pubkey).toMatch(/^[0-9a-f]{64}$/)
        for (const n of info.supported_nips ?? []) expect(Number.isSafeInteger(n) && n >= 0).toBe(true)
        const limits = relayLimitsFrom(info)
        expect(limits.maxAuthorsPerFilter).toBeGreaterThanOrEqual(1)
      }),
      { seed: 42, numRuns: 500 },
    )
  })
})

describe('relayLimitsFrom', () => {
  it('no document: the defaults', () => {
    expect(relayLimitsFrom(undefined)).toEqual(DEFAULT_RELAY_LIMITS)
    expect(relayLimitsFrom(parseRelayInformation({ name: 'quiet' }))).toEqual(DEFAULT_RELAY_LIMITS)
  })

  it('each published limit replaces its default, above or below it', () => {
    const limits = relayLimitsFrom(parseRelayInformation(WINE))
    expect(limits).toEqual({
      ...DEFAULT_RELAY_LIMITS,
      maxSubscriptions: 50,
      maxLimit: 1000,
      maxMessageLength: 524288,
      maxSubidLength: 71,
      paymentRequired: true,
      restrictedWrites: true,
    })
    const strict = relayLimitsFrom(
      parseRelayInformation({
        limitation: { max_subscriptions: 300, max_filters: 2, auth_required: true, min_pow_difficulty: 21 },
      }),
    )
    expect(strict.maxSubscriptions).toBe(300)
    expect(strict.maxFilters).toBe(2)
    expect(strict.authRequired).toBe(true)
    expect(strict.minPowDifficulty).toBe(21)
  })

  it('a dropped field does not replace the default', () => {
    const limits = relayLimitsFrom(parseRelayInformation({ limitation: { max_subscriptions: '5', max_limit: 0 } }))
    expect(limits.maxSubscriptions).toBe(DEFAULT_RELAY_LIMITS.maxSubscriptions)
    expect(limits.maxLimit).toBe(DEFAULT_RELAY_LIMITS.maxLimit)
  })

  it.each([
    [65_536, 250], // (65536 - 200) / 67 = 975: the default 250 is smaller
    [16_384, 241],
    [1_000, 11],
    [267, 1],
    [100, 1], // never below 1
  ])('max_message_length %i allows %i authors and ids per filter', (maxMessageLength, perFilter) => {
    const limits = relayLimitsFrom(parseRelayInformation({ limitation: { max_message_length: maxMessageLength } }))
    expect(limits.maxAuthorsPerFilter).toBe(perFilter)
    expect(limits.maxIdsPerFilter).toBe(perFilter)
    expect(limits.maxMessageLength).toBe(maxMessageLength)
  })

  it('takes custom defaults, and bounds their per-filter counts by their message length', () => {
    const defaults = { ...DEFAULT_RELAY_LIMITS, maxSubscriptions: 3, maxMessageLength: 2_000, maxAuthorsPerFilter: 1_000, maxIdsPerFilter: 10 }
    const limits = relayLimitsFrom(undefined, defaults)
    expect(limits.maxSubscriptions).toBe(3)
    expect(limits.maxAuthorsPerFilter).toBe(26) // (2000 - 200) / 67
    expect(limits.maxIdsPerFilter).toBe(10)
  })

  it('a filter of maxAuthorsPerFilter hex keys fits in max_message_length (fast-check)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2_000_000 }), (maxMessageLength) => {
        const limits = relayLimitsFrom(parseRelayInformation({ limitation: { max_message_length: maxMessageLength } }))
        const authors = Array.from({ length: limits.maxAuthorsPerFilter }, () => PUBKEY)
        const req = JSON.stringify(['REQ', 'sub', { authors, kinds: [1, 6], since: 1_700_000_000, limit: 500 }])
        if (limits.maxAuthorsPerFilter > 1) expect(req.length).toBeLessThanOrEqual(maxMessageLength)
        expect(limits.maxAuthorsPerFilter).toBeGreaterThanOrEqual(1)
        expect(limits.maxAuthorsPerFilter).toBeLessThanOrEqual(DEFAULT_RELAY_LIMITS.maxAuthorsPerFilter)
      }),
      { seed: 42, numRuns: 300 },
    )
  })
})

describe('relayInformationUrl', () => {
  it.each([
    ['wss://relay.example.com', 'https://relay.example.com/'],
    ['wss://Relay.EXAMPLE.com:443/', 'https://relay.example.com/'],
    ['ws://127.0.0.1:7777', 'http://127.0.0.1:7777/'],
    ['ws://localhost:80/path/Sub?x=1#frag', 'http://localhost/path/Sub?x=1'],
    ['wss://relay.example.com:8443/nostr', 'https://relay.example.com:8443/nostr'],
    ['wss://user:pass@relay.example.com', 'https://relay.example.com/'],
    ['ws://[::1]:4000', 'http://[::1]:4000/'],
    ['  wss://relay.example.com  ', 'https://relay.example.com/'],
  ])('%s -> %s', (input, expected) => {
    expect(relayInformationUrl(input)).toBe(expected)
  })

  it.each(['https://relay.example.com', 'relay.example.com', 'wss://', 'ftp://x', '', 'wss://exa mple.com'])(
    'rejects %j with RELAY_URL_INVALID',
    (input) => {
      expect(codeOf(() => relayInformationUrl(input))).toBe('RELAY_URL_INVALID')
    },
  )

  it('rejects a non-string with TypeError', () => {
    expect(() => relayInformationUrl(42 as unknown as string)).toThrow(TypeError)
  })
})

// ---------------------------------------------------------------------------------------------
// On the wire: a real node:http server on 127.0.0.1, port 0.

type Handler = (req: IncomingMessage, res: ServerResponse) => void

const servers: Server[] = []

async function serve(handler: Handler): Promise<{ relayUrl: string; requests: IncomingMessage[]; port: number }> {
  const requests: IncomingMessage[] = []
  const server = createServer((req, res) => {
    requests.push(req)
    handler(req, res)
  })
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return { relayUrl: `ws://127.0.0.1:${port}`, requests, port }
}

afterEach(async () => {
  vi.restoreAllMocks()
  for (const server of servers.splice(0)) {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
})

function json(res: ServerResponse, body: unknown, status = 200): void {
  res.writeHead(status, { 'content-type': 'application/nostr+json', 'access-control-allow-origin': '*' })
  res.end(JSON.stringify(body))
}

describe('fetchRelayInformation on the wire', () => {
  it('GETs the document with Accept: application/nostr+json and parses it', async () => {
    const { relayUrl, requests } = await serve((_req, res) => json(res, WINE))
    const timers = trackTimers()
    const info = await fetchRelayInformation(`${relayUrl}/some/path`, { timeoutMs: 2_345 })
    timers.stop()
    expect(timers.created(2_345)).toBe(1)
    expect(timers.live(2_345)).toBe(0)
    expect(info.name).toBe('nostr.wine')
    expect(info.limitation.max_subscriptions).toBe(50)
    expect(requests).toHaveLength(1)
    expect(requests[0]?.method).toBe('GET')
    expect(requests[0]?.url).toBe('/some/path')
    expect(requests[0]?.headers.accept).toBe('application/nostr+json')
  })

  it('404 -> RELAY_INFORMATION_INVALID naming the status', async () => {
    const { relayUrl } = await serve((_req, res) => {
      res.writeHead(404, { 'content-type': 'text/html' })
      res.end('<h1>Not found</h1>'.repeat(1000))
    })
    const err = await expectRejectionCode(fetchRelayInformation(relayUrl), 'RELAY_INFORMATION_INVALID')
    expect(err.details).toMatch(/HTTP 404/)
  })

  it('a body that is not JSON -> RELAY_INFORMATION_INVALID', async () => {
    const { relayUrl } = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' })
      res.end('<html>Please use a Nostr client</html>')
    })
    const err = await expectRejectionCode(fetchRelayInformation(relayUrl), 'RELAY_INFORMATION_INVALID')
    expect(err.shortMessage).toMatch(/not JSON/)
    expect(err.cause).toBeInstanceOf(SyntaxError)
  })

  it('JSON that is not an object -> RELAY_INFORMATION_INVALID', async () => {
    const { relayUrl } = await serve((_req, res) => json(res, ['name', 'x']))
    const err = await expectRejectionCode(fetchRelayInformation(relayUrl), 'RELAY_INFORMATION_INVALID')
    expect(err.details).toMatch(/got an array/)
  })

  it('a body that is not UTF-8 -> RELAY_INFORMATION_INVALID', async () => {
    const { relayUrl } = await serve((_req, res) => {
      res.writeHead(200)
      res.end(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])) // {"\xff\xfe":1}
    })
    await expectRejectionCode(fetchRelayInformation(relayUrl), 'RELAY_INFORMATION_INVALID')
  })

  it('a huge chunked body (no Content-Length) is cut off at maxBytes', async () => {
    let written = 0
    const { relayUrl } = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.write('{"description":"')
      const chunk = 'x'.repeat(16 * 1024)
      // Up to 4 MiB, stopping as soon as the client goes away.
      const pump = (): void => {
        while (written < 4 * 1024 * 1024 && !res.destroyed) {
          written += chunk.length
          if (!res.write(chunk)) {
            res.once('drain', pump)
            return
          }
        }
        if (!res.destroyed) res.end('"}')
      }
      pump()
    })
    const err = await expectRejectionCode(fetchRelayInformation(relayUrl, { maxBytes: 32 * 1024 }), 'RELAY_INFORMATION_INVALID')
    expect(err.shortMessage).toMatch(/too large/)
    expect(err.details).toMatch(/more than 32768 bytes/)
    expect(written).toBeLessThan(4 * 1024 * 1024)
  })

  it('a Content-Length over maxBytes is refused before reading', async () => {
    const { relayUrl } = await serve((_req, res) => {
      const body = JSON.stringify({ description: 'y'.repeat(100_000) })
      res.writeHead(200, { 'content-length': Buffer.byteLength(body) })
      res.end(body)
    })
    const err = await expectRejectionCode(fetchRelayInformation(relayUrl), 'RELAY_INFORMATION_INVALID')
    expect(err.details).toMatch(/more than 65536 bytes/)
  })

  it('a body just under maxBytes is accepted', async () => {
    const body = JSON.stringify({ description: 'z'.repeat(1_000) })
    const { relayUrl } = await serve((_req, res) => {
      res.writeHead(200)
      res.end(body)
    })
    const info = await fetchRelayInformation(relayUrl, { maxBytes: body.length })
    expect(info.description).toHaveLength(1_000)
  })

  it('a server that never answers -> RELAY_TIMEOUT, and no timer is left', async () => {
    const { relayUrl, requests } = await serve(() => {})
    const timers = trackTimers()
    const started = Date.now()
    const err = await expectRejectionCode(fetchRelayInformation(relayUrl, { timeoutMs: 150 }), 'RELAY_TIMEOUT')
    timers.stop()
    expect(timers.created(150)).toBe(1)
    expect(timers.live(150)).toBe(0)
    expect(Date.now() - started).toBeLessThan(5_000)
    expect(err.details).toMatch(/after 150 ms/)
    expect(requests).toHaveLength(1)
  })

  it('a body that stalls half-way -> RELAY_TIMEOUT', async () => {
    const { relayUrl } = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.write('{"name":')
    })
    await expectRejectionCode(fetchRelayInformation(relayUrl, { timeoutMs: 150 }), 'RELAY_TIMEOUT')
  })

  it('the caller aborting -> RELAY_ABORTED', async () => {
    const { relayUrl, requests } = await serve(() => {})
    const controller = new AbortController()
    const timers = trackTimers()
    const pending = fetchRelayInformation(relayUrl, { signal: controller.signal, timeoutMs: 10_000 })
    // Abort once the request has reached the server (bounded wait).
    for (let i = 0; i < 200 && requests.length === 0; i++) await new Promise((r) => setTimeout(r, 5))
    expect(timers.live(10_000)).toBe(1)
    controller.abort(new Error('user left'))
    const err = await expectRejectionCode(pending, 'RELAY_ABORTED')
    expect((err.cause as Error).message).toBe('user left')
    // The 10 s timeout timer is gone too.
    expect(timers.live(10_000)).toBe(0)
    timers.stop()
  })

  it('an already aborted signal -> RELAY_ABORTED without a request', async () => {
    const { relayUrl, requests } = await serve((_req, res) => json(res, WINE))
    await expectRejectionCode(fetchRelayInformation(relayUrl, { signal: AbortSignal.abort() }), 'RELAY_ABORTED')
    expect(requests).toHaveLength(0)
  })

  it('connection refused -> RELAY_INFORMATION_INVALID with the network error as cause', async () => {
    const { relayUrl } = await serve(() => {})
    const server = servers.pop() as Server
    await new Promise<void>((resolve) => server.close(() => resolve()))
    const err = await expectRejectionCode(fetchRelayInformation(relayUrl), 'RELAY_INFORMATION_INVALID')
    expect(err.cause).toBeInstanceOf(Error)
    expect(err.details).toBe(relayInformationUrl(relayUrl))
  })

  it('redirects are refused unless followRedirects is set', async () => {
    const { relayUrl, requests } = await serve((req, res) => {
      if (req.url === '/moved') json(res, { name: 'moved' })
      else {
        res.writeHead(302, { location: '/moved' })
        res.end()
      }
    })
    await expectRejectionCode(fetchRelayInformation(relayUrl), 'RELAY_INFORMATION_INVALID')
    expect(requests).toHaveLength(1)
    const info = await fetchRelayInformation(relayUrl, { followRedirects: true })
    expect(info.name).toBe('moved')
  })

  it('rejects bad options as programmer errors', async () => {
    await expect(fetchRelayInformation('ws://127.0.0.1:1', { timeoutMs: 0 })).rejects.toThrow(RangeError)
    await expect(fetchRelayInformation('ws://127.0.0.1:1', { timeoutMs: 2 ** 31 })).rejects.toThrow(/timeoutMs/)
    await expect(fetchRelayInformation('ws://127.0.0.1:1', { maxBytes: 1.5 })).rejects.toThrow(/maxBytes/)
    await expect(fetchRelayInformation('ws://127.0.0.1:1', { fetch: 'no' as never })).rejects.toThrow(TypeError)
    await expect(fetchRelayInformation('ws://127.0.0.1:1', { signal: {} as never })).rejects.toThrow(/signal/)
    await expectRejectionCode(fetchRelayInformation('https://127.0.0.1:1'), 'RELAY_URL_INVALID')
  })
})

describe('fetchRelayInformation with a scripted fetch', () => {
  it('times out even when fetch ignores its signal, and cancels the late body', async () => {
    let cancelled = false
    let answer: ((r: Response) => void) | undefined
    const fetch = (() =>
      new Promise<Response>((resolve) => {
        answer = resolve
      })) as typeof globalThis.fetch
    const timers = trackTimers()
    await expectRejectionCode(fetchRelayInformation('wss://relay.example.com', { fetch, timeoutMs: 50 }), 'RELAY_TIMEOUT')
    timers.stop()
    expect(timers.created(50)).toBe(1)
    expect(timers.live()).toBe(0)
    const body = new ReadableStream<Uint8Array>({
      cancel() {
        cancelled = true
      },
    })
    answer?.(new Response(body))
    for (let i = 0; i < 10 && !cancelled; i++) await new Promise((r) => setImmediate(r))
    expect(cancelled).toBe(true)
  })

  it('times out when the body never delivers, and cancels it', async () => {
    let cancelled = false
    const body = new ReadableStream<Uint8Array>({
      pull: () => new Promise(() => {}),
      cancel() {
        cancelled = true
      },
    })
    const fetch = (async () => new Response(body)) as typeof globalThis.fetch
    await expectRejectionCode(fetchRelayInformation('wss://relay.example.com', { fetch, timeoutMs: 50 }), 'RELAY_TIMEOUT')
    expect(cancelled).toBe(true)
  })

  it('cancels the body of a non-2xx answer', async () => {
    let cancelled = false
    const body = new ReadableStream<Uint8Array>({
      cancel() {
        cancelled = true
      },
    })
    const fetch = (async () => new Response(body, { status: 503 })) as typeof globalThis.fetch
    const err = await expectRejectionCode(fetchRelayInformation('wss://relay.example.com', { fetch }), 'RELAY_INFORMATION_INVALID')
    expect(err.details).toBe('https://relay.example.com/: HTTP 503')
    expect(cancelled).toBe(true)
  })

  it('a fetch that throws synchronously -> RELAY_INFORMATION_INVALID with cause', async () => {
    const boom = new TypeError('no network here')
    const fetch = (() => {
      throw boom
    }) as typeof globalThis.fetch
    const err = await expectRejectionCode(fetchRelayInformation('wss://relay.example.com', { fetch }), 'RELAY_INFORMATION_INVALID')
    expect(err.cause).toBe(boom)
  })

  it('an empty body (204) is not a document', async () => {
    const fetch = (async () => new Response(null, { status: 204 })) as typeof globalThis.fetch
    await expectRejectionCode(fetchRelayInformation('wss://relay.example.com', { fetch }), 'RELAY_INFORMATION_INVALID')
  })

  it.each([
    ['a document', () => new Response('{"name":"ok"}'), undefined],
    ['HTTP 500', () => new Response('x', { status: 500 }), 'RELAY_INFORMATION_INVALID'],
    ['not JSON', () => new Response('<html>'), 'RELAY_INFORMATION_INVALID'],
    ['too large', () => new Response('x'.repeat(70_000)), 'RELAY_INFORMATION_INVALID'],
    ['a rejected fetch', () => Promise.reject(new TypeError('fetch failed')), 'RELAY_INFORMATION_INVALID'],
  ])('leaves no timer behind after %s', async (_label, answer, code) => {
    const fetch = (async () => answer()) as typeof globalThis.fetch
    const timers = trackTimers()
    const result = fetchRelayInformation('wss://relay.example.com', { fetch, timeoutMs: 1_234 })
    if (code) await expectRejectionCode(result, code)
    else expect((await result).name).toBe('ok')
    timers.stop()
    expect(timers.created(1_234)).toBe(1)
    expect(timers.live()).toBe(0)
  })

  it('passes the https URL, the header, the signal and no credentials', async () => {
    const seen: { url: string; init: RequestInit | undefined }[] = []
    const fetch = (async (url: string, init?: RequestInit) => {
      seen.push({ url, init })
      return new Response('{"name":"ok"}')
    }) as typeof globalThis.fetch
    expect((await fetchRelayInformation('wss://R.example.com/x', { fetch })).name).toBe('ok')
    expect(seen[0]?.url).toBe('https://r.example.com/x')
    expect(seen[0]?.init?.headers).toEqual({ Accept: 'application/nostr+json' })
    expect(seen[0]?.init?.redirect).toBe('error')
    expect(seen[0]?.init?.credentials).toBe('omit')
    expect(seen[0]?.init?.signal).toBeInstanceOf(AbortSignal)
    expect(seen[0]?.init?.signal?.aborted).toBe(false)
  })
})

// ---------------------------------------------------------------------------------------------

/** A fetch the test answers by hand, recording each call. */
function scriptedFetch() {
  const calls: { url: string; signal: AbortSignal; answer: (r: Response) => void; fail: (e: unknown) => void }[] = []
  const fetch = ((url: string, init?: RequestInit) =>
    new Promise<Response>((resolve, reject) => {
      const signal = init?.signal as AbortSignal
      calls.push({ url, signal, answer: resolve, fail: reject })
      signal.addEventListener('abort', () => reject(signal.reason), { once: true })
    })) as typeof globalThis.fetch
  return { fetch, calls }
}

const ok = (doc: unknown): Response => new Response(JSON.stringify(doc))

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r))
}

describe('RelayInformationCache', () => {
  it('concurrent gets of one relay share one request; spellings of one URL share one entry', async () => {
    const { fetch, calls } = scriptedFetch()
    const cache = new RelayInformationCache({ fetch })
    const a = cache.get('wss://Relay.Example.com:443')
    const b = cache.get('wss://relay.example.com/')
    await settle()
    expect(calls).toHaveLength(1)
    expect(calls[0]?.url).toBe('https://relay.example.com/')
    calls[0]?.answer(ok({ name: 'shared' }))
    const [ia, ib] = await Promise.all([a, b])
    expect(ia.name).toBe('shared')
    expect(ib).toBe(ia)
    expect(cache.peek('wss://relay.example.com')).toBe(ia)
    expect(await cache.get('wss://relay.example.com')).toBe(ia)
    expect(calls).toHaveLength(1)
  })

  it('keeps a document for ttlMs, then asks again', async () => {
    let t = 0
    const { fetch, calls } = scriptedFetch()
    const cache = new RelayInformationCache({ fetch, now: () => t })
    const first = cache.get('wss://r.example.com')
    await settle()
    calls[0]?.answer(ok({ name: 'v1' }))
    expect((await first).name).toBe('v1')
    t = 3_600_000 - 1
    expect((await cache.get('wss://r.example.com')).name).toBe('v1')
    t = 3_600_000
    expect(cache.peek('wss://r.example.com')).toBeUndefined()
    const second = cache.get('wss://r.example.com')
    await settle()
    expect(calls).toHaveLength(2)
    calls[1]?.answer(ok({ name: 'v2' }))
    expect((await second).name).toBe('v2')
  })

  it('remembers a failure for negativeTtlMs, then asks again', async () => {
    let t = 0
    const { fetch, calls } = scriptedFetch()
    const cache = new RelayInformationCache({ fetch, now: () => t, negativeTtlMs: 60_000 })
    const first = cache.get('wss://no-nip11.example.com')
    await settle()
    calls[0]?.answer(new Response('nope', { status: 404 }))
    const err = await expectRejectionCode(first, 'RELAY_INFORMATION_INVALID')
    t = 59_999
    expect(await expectRejectionCode(cache.get('wss://no-nip11.example.com'), 'RELAY_INFORMATION_INVALID')).toBe(err)
    expect(calls).toHaveLength(1)
    expect(cache.peek('wss://no-nip11.example.com')).toBeUndefined()
    t = 60_000
    const again = cache.get('wss://no-nip11.example.com')
    await settle()
    expect(calls).toHaveLength(2)
    calls[1]?.answer(ok({ name: 'now it has one' }))
    expect((await again).name).toBe('now it has one')
  })

  it('a timeout is remembered as a failure too', async () => {
    const { fetch, calls } = scriptedFetch()
    const cache = new RelayInformationCache({ fetch, timeoutMs: 30 })
    await expectRejectionCode(cache.get('wss://slow.example.com'), 'RELAY_TIMEOUT')
    await expectRejectionCode(cache.get('wss://slow.example.com'), 'RELAY_TIMEOUT')
    expect(calls).toHaveLength(1)
    expect(cache.size).toBe(1)
  })

  it('one caller aborting leaves the shared request running for the others', async () => {
    const { fetch, calls } = scriptedFetch()
    const cache = new RelayInformationCache({ fetch })
    const leaving = new AbortController()
    const a = cache.get('wss://r.example.com', { signal: leaving.signal })
    const b = cache.get('wss://r.example.com')
    await settle()
    leaving.abort()
    await expectRejectionCode(a, 'RELAY_ABORTED')
    expect(calls[0]?.signal.aborted).toBe(false)
    calls[0]?.answer(ok({ name: 'still wanted' }))
    expect((await b).name).toBe('still wanted')
  })

  it('when every caller aborts, the request is aborted and nothing is remembered', async () => {
    const { fetch, calls } = scriptedFetch()
    const cache = new RelayInformationCache({ fetch })
    const c1 = new AbortController()
    const c2 = new AbortController()
    const a = cache.get('wss://r.example.com', { signal: c1.signal })
    const b = cache.get('wss://r.example.com', { signal: c2.signal })
    await settle()
    c1.abort()
    expect(calls[0]?.signal.aborted).toBe(false)
    c2.abort()
    // A new caller right away starts a fresh request instead of joining the aborted one.
    const c = cache.get('wss://r.example.com')
    await expectRejectionCode(a, 'RELAY_ABORTED')
    await expectRejectionCode(b, 'RELAY_ABORTED')
    expect(calls[0]?.signal.aborted).toBe(true)
    await settle()
    expect(calls).toHaveLength(2)
    calls[1]?.answer(ok({ name: 'fresh' }))
    expect((await c).name).toBe('fresh')
    expect(cache.size).toBe(1)
  })

  it('an already aborted signal rejects at once, even for a cached relay', async () => {
    const { fetch, calls } = scriptedFetch()
    const cache = new RelayInformationCache({ fetch })
    cache.set('wss://r.example.com', parseRelayInformation({ name: 'stored' }))
    await expectRejectionCode(cache.get('wss://r.example.com', { signal: AbortSignal.abort() }), 'RELAY_ABORTED')
    expect(calls).toHaveLength(0)
  })

  it('set, peek, delete and clear; set wins over a request already running', async () => {
    const { fetch, calls } = scriptedFetch()
    const cache = new RelayInformationCache({ fetch })
    const pending = cache.get('wss://r.example.com')
    await settle()
    const stored = parseRelayInformation({ name: 'from storage' })
    cache.set('wss://r.example.com', stored)
    calls[0]?.answer(ok({ name: 'from the wire' }))
    expect((await pending).name).toBe('from the wire') // its caller gets its answer…
    expect(cache.peek('wss://r.example.com')).toBe(stored) // …but the cache keeps what was set
    expect(cache.peek('not a url')).toBeUndefined()
    expect(cache.delete('wss://r.example.com')).toBe(true)
    expect(cache.delete('wss://r.example.com')).toBe(false)
    expect(cache.delete('not a url')).toBe(false)
    cache.set('wss://a.example.com', stored)
    cache.set('wss://b.example.com', stored, 10)
    expect(cache.size).toBe(2)
    cache.clear()
    expect(cache.size).toBe(0)
    expect(codeOf(() => cache.set('https://x.example.com', stored))).toBe('RELAY_URL_INVALID')
    expect(() => cache.set('wss://x.example.com', null as unknown as RelayInformation)).toThrow(TypeError)
  })

  it('is bounded by maxEntries, forgetting the least recently used relay', async () => {
    const cache = new RelayInformationCache({ maxEntries: 2, fetch: scriptedFetch().fetch })
    const info = parseRelayInformation({})
    cache.set('wss://a.example.com', info)
    cache.set('wss://b.example.com', info)
    await cache.get('wss://a.example.com') // a is now the most recent
    cache.set('wss://c.example.com', info)
    expect(cache.peek('wss://b.example.com')).toBeUndefined()
    expect(cache.peek('wss://a.example.com')).toBe(info)
    expect(cache.size).toBe(2)
  })

  it('an invalid relay URL rejects with RELAY_URL_INVALID and fetches nothing', async () => {
    const { fetch, calls } = scriptedFetch()
    const cache = new RelayInformationCache({ fetch })
    await expectRejectionCode(cache.get('https://relay.example.com'), 'RELAY_URL_INVALID')
    expect(calls).toHaveLength(0)
  })

  it('validates its options', () => {
    expect(() => new RelayInformationCache({ ttlMs: -1 })).toThrow(RangeError)
    expect(() => new RelayInformationCache({ negativeTtlMs: '5' as never })).toThrow(TypeError)
    expect(() => new RelayInformationCache({ maxEntries: 0 })).toThrow(RangeError)
    expect(() => new RelayInformationCache({ timeoutMs: 0 })).toThrow(RangeError)
    expect(() => new RelayInformationCache({ maxBytes: -1 })).toThrow(RangeError)
    expect(() => new RelayInformationCache({ fetch: 3 as never })).toThrow(TypeError)
  })

  it('works against a real server: one request for many callers', async () => {
    const { relayUrl, requests } = await serve((_req, res) => setTimeout(() => json(res, WINE), 20))
    const cache = new RelayInformationCache()
    const results = await Promise.all(Array.from({ length: 5 }, () => cache.get(relayUrl)))
    expect(new Set(results).size).toBe(1)
    expect(results[0]?.name).toBe('nostr.wine')
    expect(requests).toHaveLength(1)
  })
})
