/**
 * NIP-05 on the wire against a local HTTP server: identifiers parsed and refused; documents read
 * strictly; every misbehaviour of a domain (redirect, huge or endless body, lying Content-Length,
 * slow headers, a stalled body, bad JSON, invalid UTF-8, upper-case or npub keys, wrong key, error
 * statuses, a reset) gives its stable code and no crash; the cache (memory, storage across a
 * restart, shorter for failures, shared in-flight fetches, aborts, bounds); and the same answers as
 * nostr-tools' `queryProfile`/`isValid` for the same documents.
 */
import { isValid as ntIsValid, queryProfile as ntQueryProfile, useFetchImplementation } from 'nostr-tools/nip05'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { generateSecretKey, getPublicKey } from '../../src/crypto/keys.js'
import { npubEncode } from '../../src/crypto/nip19.js'
import { OutboxError, RendezvousError } from '../../src/errors.js'
import {
  createNip05Resolver,
  parseNip05,
  readNip05Document,
  resolveNip05,
  tryParseNip05,
  verifyNip05,
  type Nip05ResolverOptions,
} from '../../src/outbox/nip05.js'
import { memoryStorage } from '../../src/storage/memory.js'
import type { JsonValue, Storage } from '../../src/storage/types.js'
import { codeOf, expectRejectionCode } from '../helpers/errors.js'
import { startNip05Server, type Nip05Server } from '../helpers/nip05-server.js'
import { waitFor } from '../helpers/relay-fleet.js'

let server: Nip05Server
const key = (): string => getPublicKey(generateSecretKey())
const BOB = key()
const CAROL = key()
const RELAYS = ['wss://relay.one.example', 'wss://relay.two.example']
let domainSeq = 0
/** A fresh domain per case, so cases never share cached answers or request logs. */
const domain = (label = 'd'): string => `${label}${++domainSeq}.test`

beforeAll(async () => {
  server = await startNip05Server()
})

afterEach(() => {
  // Node's fetch keeps idle connections (and opens a spare one after an abort): the leak check
  // after each test would count them.
  server.dropConnections()
})

afterAll(async () => {
  await server?.close()
})

/** Waits until the server saw every request for `d` end (answered, or given up by the client). */
async function allClosed(d: string): Promise<void> {
  await waitFor(() => server.requestsFor(d).every((r) => r.closed), 2_000, `the requests for ${d} to close`)
}

describe('identifiers', () => {
  it('parses name@domain, _@domain and a bare domain, folding case and trimming', () => {
    expect(parseNip05(' Bob@Example.COM ')).toEqual({
      name: 'bob',
      domain: 'example.com',
      identifier: 'bob@example.com',
      display: 'bob@example.com',
      url: 'https://example.com/.well-known/nostr.json?name=bob',
    })
    const root = parseNip05('_@bob.com')
    expect(root.display).toBe('bob.com')
    expect(root.url).toBe('https://bob.com/.well-known/nostr.json?name=_')
    expect(parseNip05('bob.com')).toEqual(root)
    expect(parseNip05('a.b-c_d@sub.example.co.uk').identifier).toBe('a.b-c_d@sub.example.co.uk')
    // International domains are looked up in their ASCII form.
    expect(parseNip05('bob@bücher.example').domain).toBe('xn--bcher-kva.example')
    expect(parseNip05('bob@xn--bcher-kva.example').url).toBe('https://xn--bcher-kva.example/.well-known/nostr.json?name=bob')
  })

  const malformed: [string, RegExp][] = [
    ['', /empty/],
    ['   ', /empty/],
    ['bob@', /no domain/],
    ['@example.com', /empty name/],
    ['a@b@example.com', /more than one @/],
    ['bob+tag@example.com', /a-z 0-9/],
    ['bób@example.com', /a-z 0-9/],
    ['bob smith@example.com', /a-z 0-9/],
    [`${'a'.repeat(65)}@example.com`, /longer than 64/],
    ['bob@localhost', /without a dot/],
    ['bob@127.0.0.1', /IP address/],
    ['bob@[::1]', /not a host name/],
    ['bob@example.com:8443', /not a host name/],
    ['bob@example.com/path', /not a host name/],
    ['bob@example.com?x=1', /not a host name/],
    ['bob@-example.com', /not a host name/],
    ['bob@example..com', /not a host name/],
    ['bob@example.com.', /not a host name/],
    ['bob@exa_mple.com', /not a host name/],
    ['bob@user:pw@example.com', /more than one @/],
    [`bob@${'a'.repeat(64)}.com`, /not a host name/],
    [`bob@${Array.from({ length: 60 }, () => 'abcd').join('.')}.com`, /longer than 253/],
  ]
  it.each(malformed)('refuses %j with a TypeError naming the problem; tryParseNip05 gives undefined', (input, message) => {
    expect(() => parseNip05(input)).toThrow(TypeError)
    expect(() => parseNip05(input)).toThrow(message)
    expect(tryParseNip05(input)).toBeUndefined()
  })

  it('refuses non-strings: TypeError from parseNip05, undefined from tryParseNip05', () => {
    for (const input of [undefined, null, 42, {}, ['bob@example.com']]) {
      expect(() => parseNip05(input as string)).toThrow(/identifier must be a string/)
      expect(tryParseNip05(input)).toBeUndefined()
    }
  })
})

describe('documents', () => {
  it('reads the entry for the name and its relays, ignoring everything else', () => {
    const doc = { names: { bob: BOB, carol: 'junk' }, relays: { [BOB]: [...RELAYS, 'not a url', 42], [CAROL]: 'x' }, other: [1, 2] }
    expect(readNip05Document(doc, 'bob')).toEqual({ pubkey: BOB, relays: RELAYS })
  })

  it('gives no relays when relays is missing or malformed, without failing the identity', () => {
    for (const relays of [undefined, null, 'wss://x.example', [RELAYS], { [BOB]: 'wss://x.example' }, { [BOB.toUpperCase()]: RELAYS }]) {
      expect(readNip05Document({ names: { bob: BOB }, relays }, 'bob')).toEqual({ pubkey: BOB, relays: [] })
    }
  })

  const invalid: [string, unknown, string][] = [
    ['not an object', [1, 2], 'NIP05_INVALID_DOCUMENT'],
    ['null', null, 'NIP05_INVALID_DOCUMENT'],
    ['a string', 'bob', 'NIP05_INVALID_DOCUMENT'],
    ['no names', { relays: {} }, 'NIP05_INVALID_DOCUMENT'],
    ['names an array', { names: [BOB] }, 'NIP05_INVALID_DOCUMENT'],
    ['names a string', { names: BOB }, 'NIP05_INVALID_DOCUMENT'],
    ['upper-case key', { names: { bob: BOB.toUpperCase() } }, 'NIP05_INVALID_DOCUMENT'],
    ['npub', { names: { bob: npubEncode(BOB) } }, 'NIP05_INVALID_DOCUMENT'],
    ['short hex', { names: { bob: BOB.slice(2) } }, 'NIP05_INVALID_DOCUMENT'],
    ['hex off the curve', { names: { bob: 'f'.repeat(64) } }, 'NIP05_INVALID_DOCUMENT'],
    ['a number', { names: { bob: 7 } }, 'NIP05_INVALID_DOCUMENT'],
    ['name missing', { names: { alice: BOB } }, 'NIP05_NOT_FOUND'],
    ['name in another case', { names: { Bob: BOB } }, 'NIP05_NOT_FOUND'],
  ]
  it.each(invalid)('%s: %s', (_label, doc, code) => {
    expect(codeOf(() => readNip05Document(doc, 'bob'))).toBe(code)
  })

  it('looks at own properties only: constructor and __proto__ do not find Object prototype members', () => {
    expect(codeOf(() => readNip05Document({ names: {} }, 'constructor'))).toBe('NIP05_NOT_FOUND')
    expect(codeOf(() => readNip05Document({ names: {} }, '__proto__'))).toBe('NIP05_NOT_FOUND')
    expect(readNip05Document(JSON.parse(`{"names":{"__proto__":"${BOB}"}}`), '__proto__').pubkey).toBe(BOB)
  })
})

describe('resolveNip05 on the wire', () => {
  it('asks https://<domain>/.well-known/nostr.json?name=<name> once, with no cookies, and reads key and relays', async () => {
    const d = domain()
    server.serve(d, { names: { bob: BOB, carol: CAROL }, relays: { [BOB]: RELAYS, [CAROL]: ['wss://carol.example/'] } })
    const result = await resolveNip05(`Bob@${d.toUpperCase()}`, { fetch: server.fetch })
    expect(result).toMatchObject({ pubkey: BOB, relays: RELAYS, cached: false, identifier: { identifier: `bob@${d}` } })
    expect(server.fetched.at(-1)).toBe(`https://${d}/.well-known/nostr.json?name=bob`)
    const [request] = server.requestsFor(d)
    expect(server.requestsFor(d)).toHaveLength(1)
    expect(request).toMatchObject({ method: 'GET', path: '/.well-known/nostr.json', query: 'name=bob', name: 'bob' })
    expect(request!.headers.accept).toBe('application/json')
    expect(request!.headers.cookie).toBeUndefined()
  })

  it('resolves the root identifier _@domain, and from a dynamic server that only sends the asked name', async () => {
    const d = domain()
    server.serve(d, { names: { _: BOB, carol: CAROL }, relays: { [BOB]: RELAYS }, dynamic: true })
    expect((await resolveNip05(d, { fetch: server.fetch })).pubkey).toBe(BOB)
    expect((await resolveNip05(`carol@${d}`, { fetch: server.fetch })).relays).toEqual([])
    expect(server.requestsFor(d).map((r) => r.name)).toEqual(['_', 'carol'])
  })

  it('does not need the CORS header in Node (a browser would need it: see docs/nip05.md)', async () => {
    const d = domain()
    server.serve(d, { names: { bob: BOB }, cors: false })
    expect((await resolveNip05(`bob@${d}`, { fetch: server.fetch })).pubkey).toBe(BOB)
    const withCors = domain()
    server.serve(withCors, { names: { bob: BOB } })
    const response = await server.fetch(`https://${withCors}/.well-known/nostr.json?name=bob`)
    expect(response.headers.get('access-control-allow-origin')).toBe('*')
    await response.text()
  })

  it.each([301, 302, 303, 307, 308] as const)('refuses a %i redirect and never asks its target', async (status) => {
    const d = domain()
    server.serve(d, { type: 'redirect', status, location: `${server.origin}/redirected?name=bob`, target: { type: 'document', names: { bob: CAROL } } })
    const error = await expectRejectionCode(resolveNip05(`bob@${d}`, { fetch: server.fetch }), 'NIP05_REDIRECTED')
    expect(error.message).toContain(`HTTP ${status}`)
    expect(server.requestsFor(d).map((r) => r.path)).toEqual(['/.well-known/nostr.json'])
  })

  it('refuses an answer that reached it through a redirect a fetch followed anyway', async () => {
    const d = domain()
    server.serve(d, { type: 'redirect', status: 302, location: `${server.origin}/redirected?name=bob`, target: { type: 'document', names: { bob: CAROL } } })
    const follows: typeof fetch = (input, init) => server.fetch(input, { ...init, redirect: 'follow' })
    await expectRejectionCode(resolveNip05(`bob@${d}`, { fetch: follows }), 'NIP05_REDIRECTED')
    // It did follow: the target was asked, and its answer refused all the same.
    expect(server.requestsFor(d).map((r) => r.path)).toEqual(['/.well-known/nostr.json', '/redirected'])
  })

  it('refuses a body over maxBytes: announced, chunked without a length, or under a lying Content-Length', async () => {
    const honest = domain()
    server.serve(honest, { type: 'huge', bytes: 300_000, contentLength: 'honest' })
    await expectRejectionCode(resolveNip05(`bob@${honest}`, { fetch: server.fetch }), 'NIP05_TOO_LARGE')

    const chunked = domain()
    // Far more than anyone should read: the reader must stop soon after the cap.
    server.serve(chunked, { type: 'huge', bytes: 50_000_000, contentLength: 'absent' })
    const before = server.hugeBytesWritten()
    const error = await expectRejectionCode(resolveNip05(`bob@${chunked}`, { fetch: server.fetch, maxBytes: 64 * 1024 }), 'NIP05_TOO_LARGE')
    expect(error.message).toContain('more than 65536 bytes')
    await allClosed(chunked)
    expect(server.hugeBytesWritten() - before).toBeLessThan(10_000_000)

    // Node's fetch itself stops at a Content-Length smaller than the body: the rest is not JSON.
    const short = domain()
    server.serve(short, { type: 'huge', bytes: 1_000_000, contentLength: 1000 })
    await expectRejectionCode(resolveNip05(`bob@${short}`, { fetch: server.fetch }), 'NIP05_INVALID_DOCUMENT')
    await allClosed(short)

    // A fetch that does not (a proxy's, a browser's service worker) is still capped by counting.
    let pulls = 0
    const lying = (async () =>
      new Response(
        new ReadableStream<Uint8Array>({
          pull(controller) {
            pulls++
            controller.enqueue(new Uint8Array(8192).fill(0x61))
          },
        }),
        { status: 200, headers: { 'content-length': '100' } },
      )) as typeof fetch
    await expectRejectionCode(resolveNip05('bob@liar.example', { fetch: lying, maxBytes: 64 * 1024 }), 'NIP05_TOO_LARGE')
    expect(pulls).toBeLessThan(20)
  })

  it('times out on slow headers and on a body that stalls, leaving no connection open', async () => {
    const slow = domain()
    server.serve(slow, { type: 'slow', delayMs: 5_000, then: { type: 'document', names: { bob: BOB } } })
    const started = Date.now()
    const error = await expectRejectionCode(resolveNip05(`bob@${slow}`, { fetch: server.fetch, timeoutMs: 150 }), 'NIP05_TIMEOUT')
    expect(error.message).toContain('150 ms')
    expect(Date.now() - started).toBeLessThan(2_000)
    const stalled = domain()
    server.serve(stalled, { type: 'stall' })
    await expectRejectionCode(resolveNip05(`bob@${stalled}`, { fetch: server.fetch, timeoutMs: 150 }), 'NIP05_TIMEOUT')
    await allClosed(slow)
    await allClosed(stalled)
  })

  it('gives the stable code for every broken answer', async () => {
    const cases: [string, Parameters<Nip05Server['serve']>[1], string][] = [
      ['bad JSON', { type: 'raw', body: '{"names": {"bob": ' }, 'NIP05_INVALID_DOCUMENT'],
      ['HTML', { type: 'raw', body: '<html>hello</html>', headers: { 'content-type': 'text/html' } }, 'NIP05_INVALID_DOCUMENT'],
      ['empty body', { type: 'raw', body: '' }, 'NIP05_INVALID_DOCUMENT'],
      ['invalid UTF-8', { type: 'raw', body: new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]) }, 'NIP05_INVALID_DOCUMENT'],
      ['a JSON array', { type: 'raw', body: `["${BOB}"]` }, 'NIP05_INVALID_DOCUMENT'],
      ['upper-case key', { names: { bob: BOB.toUpperCase() } }, 'NIP05_INVALID_DOCUMENT'],
      ['npub', { names: { bob: npubEncode(BOB) } }, 'NIP05_INVALID_DOCUMENT'],
      ['names not an object', { type: 'raw', body: '{"names":"bob"}' }, 'NIP05_INVALID_DOCUMENT'],
      ['name missing', { names: { alice: BOB } }, 'NIP05_NOT_FOUND'],
      ['upper-case name key', { names: { BOB: BOB } }, 'NIP05_NOT_FOUND'],
      ['404', { type: 'raw', status: 404, body: 'not found' }, 'NIP05_FETCH_FAILED'],
      ['500 with a valid document', { type: 'raw', status: 500, body: JSON.stringify({ names: { bob: BOB } }) }, 'NIP05_FETCH_FAILED'],
      ['204', { type: 'raw', status: 204, body: '' }, 'NIP05_FETCH_FAILED'],
      ['reset', { type: 'reset' }, 'NIP05_FETCH_FAILED'],
    ]
    for (const [label, behaviour, code] of cases) {
      const d = domain()
      server.serve(d, behaviour)
      const error = await resolveNip05(`bob@${d}`, { fetch: server.fetch }).then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(error, label).toBeInstanceOf(OutboxError)
      expect((error as OutboxError).code, label).toBe(code)
      expect((error as OutboxError).message, label).toContain(d)
    }
  })

  it('a domain that does not resolve, and a fetch that throws at once, are NIP05_FETCH_FAILED', async () => {
    await expectRejectionCode(resolveNip05('bob@nowhere.example', { fetch: server.fetch }), 'NIP05_FETCH_FAILED')
    const throwing = (() => {
      throw new Error('boom')
    }) as unknown as typeof fetch
    const error = await expectRejectionCode(resolveNip05('bob@x.example', { fetch: throwing }), 'NIP05_FETCH_FAILED')
    expect((error.cause as Error).message).toBe('boom')
  })

  it('aborts with NIP05_ABORTED, before and during the request', async () => {
    const d = domain()
    server.serve(d, { type: 'slow', delayMs: 5_000, then: { type: 'document', names: { bob: BOB } } })
    await expectRejectionCode(resolveNip05(`bob@${d}`, { fetch: server.fetch, signal: AbortSignal.abort() }), 'NIP05_ABORTED')
    expect(server.requestsFor(d)).toHaveLength(0)
    const controller = new AbortController()
    const pending = resolveNip05(`bob@${d}`, { fetch: server.fetch, signal: controller.signal })
    await waitFor(() => server.requestsFor(d).length === 1, 2_000, 'the request')
    controller.abort()
    await expectRejectionCode(pending, 'NIP05_ABORTED')
    await allClosed(d)
  })

  it('refuses malformed arguments with TypeError/RangeError before any request', async () => {
    const before = server.fetched.length
    await expect(resolveNip05('not an identifier', { fetch: server.fetch })).rejects.toThrow(TypeError)
    await expect(resolveNip05('bob@x.test', { fetch: 'no' as unknown as typeof fetch })).rejects.toThrow(/fetch must be a function/)
    await expect(resolveNip05('bob@x.test', { fetch: server.fetch, timeoutMs: 0 })).rejects.toThrow(RangeError)
    await expect(resolveNip05('bob@x.test', { fetch: server.fetch, maxBytes: 1.5 })).rejects.toThrow(RangeError)
    await expect(resolveNip05('bob@x.test', { fetch: server.fetch, signal: {} as AbortSignal })).rejects.toThrow(/signal/)
    expect(server.fetched.length).toBe(before)
  })
})

describe('verifyNip05', () => {
  it('verified, mismatch, not-found, unavailable and invalid-identifier verdicts', async () => {
    const d = domain()
    server.serve(d, { names: { bob: BOB, carol: CAROL }, relays: { [BOB]: RELAYS, [CAROL]: RELAYS } })
    const opts = { fetch: server.fetch }
    const ok = await verifyNip05(`bob@${d}`, BOB, opts)
    expect(ok).toMatchObject({ valid: true, reason: 'verified', pubkey: BOB, named: BOB, relays: RELAYS, cached: false })
    expect(ok.identifier?.identifier).toBe(`bob@${d}`)
    // The document names carol for bob@: the key checked is not it, and its relays say nothing of BOB.
    expect(await verifyNip05(`carol@${d}`, BOB, opts)).toMatchObject({ valid: false, reason: 'mismatch', named: CAROL, relays: [] })
    expect(await verifyNip05(`dave@${d}`, BOB, opts)).toMatchObject({ valid: false, reason: 'not-found', code: 'NIP05_NOT_FOUND', relays: [] })
    const redirecting = domain()
    server.serve(redirecting, { type: 'redirect', status: 301, location: `${server.origin}/x` })
    const unavailable = await verifyNip05(`bob@${redirecting}`, BOB, opts)
    expect(unavailable).toMatchObject({ valid: false, reason: 'unavailable', code: 'NIP05_REDIRECTED', relays: [] })
    expect(unavailable.message).toContain('redirect')
    const before = server.fetched.length
    expect(await verifyNip05('bob+x@example.com', BOB, opts)).toEqual({ valid: false, reason: 'invalid-identifier', pubkey: BOB, relays: [] })
    expect(server.fetched.length).toBe(before)
  })

  it('throws for programmer errors and for an abort, never for what the domain did', async () => {
    await expect(verifyNip05('bob@x.test', 'B'.repeat(64), { fetch: server.fetch })).rejects.toThrow(TypeError)
    await expect(verifyNip05(42 as unknown as string, BOB, { fetch: server.fetch })).rejects.toThrow(TypeError)
    await expectRejectionCode(verifyNip05('bob@x.test', BOB, { fetch: server.fetch, signal: AbortSignal.abort() }), 'NIP05_ABORTED')
  })
})

describe('the cache', () => {
  function resolver(extra: Partial<Nip05ResolverOptions> = {}): { nip05: ReturnType<typeof createNip05Resolver>; clock: { ms: number } } {
    const clock = { ms: 1_700_000_000_000 }
    return { nip05: createNip05Resolver({ fetch: server.fetch, now: () => clock.ms, ...extra }), clock }
  }

  it('answers from memory within ttlMs, fetches again after it; one entry serves resolve and verify', async () => {
    const d = domain()
    server.serve(d, { names: { bob: BOB }, relays: { [BOB]: RELAYS } })
    const { nip05, clock } = resolver({ ttlMs: 60_000 })
    expect((await nip05.resolve(`bob@${d}`)).cached).toBe(false)
    clock.ms += 59_000
    expect(await nip05.resolve(`BOB@${d}`)).toMatchObject({ pubkey: BOB, relays: RELAYS, cached: true })
    expect(await nip05.verify(`bob@${d}`, BOB)).toMatchObject({ valid: true, cached: true })
    expect(await nip05.verify(`bob@${d}`, CAROL)).toMatchObject({ valid: false, reason: 'mismatch', cached: true })
    expect(server.requestsFor(d)).toHaveLength(1)
    clock.ms += 2_000
    expect((await nip05.resolve(`bob@${d}`)).cached).toBe(false)
    expect(server.requestsFor(d)).toHaveLength(2)
  })

  it('keeps failures for negativeTtlMs only, rejecting with the same code meanwhile', async () => {
    const d = domain()
    server.serve(d, { names: { alice: BOB } })
    const { nip05, clock } = resolver({ ttlMs: 3_600_000, negativeTtlMs: 10_000 })
    await expectRejectionCode(nip05.resolve(`bob@${d}`), 'NIP05_NOT_FOUND')
    const again = await expectRejectionCode(nip05.resolve(`bob@${d}`), 'NIP05_NOT_FOUND')
    expect(again.message).toContain('cached')
    expect(await nip05.verify(`bob@${d}`, BOB)).toMatchObject({ reason: 'not-found', cached: true })
    expect(server.requestsFor(d)).toHaveLength(1)
    // The domain fixed its document; the failure expires long before a success would.
    server.serve(d, { names: { bob: BOB } })
    clock.ms += 10_001
    expect((await nip05.resolve(`bob@${d}`)).pubkey).toBe(BOB)
    expect(server.requestsFor(d)).toHaveLength(2)
  })

  it('never caches an abort', async () => {
    const d = domain()
    server.serve(d, { type: 'slow', delayMs: 300, then: { type: 'document', names: { bob: BOB } } })
    const { nip05 } = resolver()
    await expectRejectionCode(nip05.resolve(`bob@${d}`, { signal: AbortSignal.timeout(50) }), 'NIP05_ABORTED')
    expect((await nip05.resolve(`bob@${d}`)).pubkey).toBe(BOB)
  })

  it('shares one fetch between lookups at the same time; the last caller to give up stops it', async () => {
    const d = domain()
    server.serve(d, { type: 'slow', delayMs: 200, then: { type: 'document', names: { bob: BOB } } })
    const { nip05 } = resolver()
    const results = await Promise.all([nip05.resolve(`bob@${d}`), nip05.verify(`bob@${d}`, BOB), nip05.resolve(`Bob@${d}`)])
    expect(results.map((r) => ('pubkey' in r ? r.pubkey : undefined))).toEqual([BOB, BOB, BOB])
    expect(server.requestsFor(d)).toHaveLength(1)

    const stalled = domain()
    server.serve(stalled, { type: 'slow', delayMs: 5_000, then: { type: 'document', names: { bob: BOB } } })
    const a = new AbortController()
    const b = new AbortController()
    const first = nip05.resolve(`bob@${stalled}`, { signal: a.signal })
    const second = nip05.resolve(`bob@${stalled}`, { signal: b.signal })
    await waitFor(() => server.requestsFor(stalled).length === 1, 2_000, 'the shared request')
    a.abort()
    await expectRejectionCode(first, 'NIP05_ABORTED')
    // The other caller still waits: the request stays open.
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(server.requestsFor(stalled)[0]!.closed).toBe(false)
    b.abort()
    await expectRejectionCode(second, 'NIP05_ABORTED')
    await allClosed(stalled)
    expect(server.requestsFor(stalled)).toHaveLength(1)
  })

  it('fresh: true skips the cache; forget() drops the entry', async () => {
    const d = domain()
    server.serve(d, { names: { bob: BOB } })
    const storage = memoryStorage()
    const { nip05 } = resolver({ storage })
    await nip05.resolve(`bob@${d}`)
    server.serve(d, { names: { bob: CAROL } })
    expect((await nip05.resolve(`bob@${d}`)).pubkey).toBe(BOB)
    expect(await nip05.resolve(`bob@${d}`, { fresh: true })).toMatchObject({ pubkey: CAROL, cached: false })
    expect((await nip05.resolve(`bob@${d}`)).pubkey).toBe(CAROL)
    await nip05.forget(`bob@${d}`)
    expect(await storage.getRecord('settings', `nip05:bob@${d}`)).toBeUndefined()
    expect((await nip05.resolve(`bob@${d}`)).cached).toBe(false)
    expect(server.requestsFor(d)).toHaveLength(3)
    await storage.close()
  })

  it('survives a restart through storage: a second resolver with the same storage does not fetch', async () => {
    const d = domain()
    server.serve(d, { names: { bob: BOB }, relays: { [BOB]: RELAYS } })
    const missing = domain()
    server.serve(missing, { type: 'raw', status: 404, body: '' })
    const storage = memoryStorage()
    const first = resolver({ storage, ttlMs: 60_000, negativeTtlMs: 5_000 })
    await first.nip05.resolve(`bob@${d}`)
    await expectRejectionCode(first.nip05.resolve(`bob@${missing}`), 'NIP05_FETCH_FAILED')
    expect(await storage.getRecord('settings', `nip05:bob@${d}`)).toEqual({ v: 1, at: first.clock.ms, pubkey: BOB, relays: RELAYS })
    expect(await storage.getRecord('settings', `nip05:bob@${missing}`)).toMatchObject({ v: 1, code: 'NIP05_FETCH_FAILED' })

    const second = resolver({ storage, ttlMs: 60_000, negativeTtlMs: 5_000 })
    second.clock.ms = first.clock.ms + 4_000
    expect(await second.nip05.resolve(`bob@${d}`)).toMatchObject({ pubkey: BOB, relays: RELAYS, cached: true, fetchedAt: first.clock.ms })
    await expectRejectionCode(second.nip05.resolve(`bob@${missing}`), 'NIP05_FETCH_FAILED')
    expect(server.requestsFor(d)).toHaveLength(1)
    expect(server.requestsFor(missing)).toHaveLength(1)
    // Stored entries expire like memory ones: the failure first.
    const third = resolver({ storage, ttlMs: 60_000, negativeTtlMs: 5_000 })
    third.clock.ms = first.clock.ms + 6_000
    await expectRejectionCode(third.nip05.resolve(`bob@${missing}`), 'NIP05_FETCH_FAILED')
    expect(server.requestsFor(missing)).toHaveLength(2)
    expect((await third.nip05.resolve(`bob@${d}`)).cached).toBe(true)
    await storage.close()
  })

  it('ignores (and overwrites) a corrupt stored record, and survives a storage that fails', async () => {
    const d = domain()
    server.serve(d, { names: { bob: BOB } })
    const storage = memoryStorage()
    const junks: JsonValue[] = [{ v: 1, at: 1_700_000_000_000, pubkey: 'B'.repeat(64), relays: [] }, { v: 9 }, 'x', { v: 1, at: -1, code: 'NIP05_NOT_FOUND', message: '' }]
    for (const junk of junks) {
      await storage.putRecord('settings', `nip05:bob@${d}`, junk)
      const { nip05 } = resolver({ storage })
      expect(await nip05.resolve(`bob@${d}`)).toMatchObject({ pubkey: BOB, cached: false })
      expect(await storage.getRecord('settings', `nip05:bob@${d}`)).toMatchObject({ pubkey: BOB })
    }
    await storage.close()

    const errors: unknown[] = []
    const broken = memoryStorage()
    await broken.close()
    const { nip05 } = resolver({ storage: broken, onError: (e) => errors.push(e) })
    expect((await nip05.resolve(`bob@${d}`)).pubkey).toBe(BOB)
    expect(errors.length).toBeGreaterThanOrEqual(2) // the read and the write
    expect(errors.every((e) => e instanceof RendezvousError && e.code === 'STORAGE_CLOSED')).toBe(true)
  })

  it('stays bounded: memory keeps maxEntries, storage is pruned to the newest maxStored', async () => {
    const d = domain()
    const names: Record<string, string> = {}
    for (let i = 0; i < 70; i++) names[`n${i}`] = BOB
    server.serve(d, { names, dynamic: true })
    const storage = memoryStorage()
    const { nip05, clock } = resolver({ storage, maxEntries: 2, maxStored: 10 })
    for (let i = 0; i < 65; i++) {
      clock.ms += 1
      await nip05.resolve(`n${i}@${d}`)
    }
    // The 65th write pruned: the ten newest are left.
    const stored = await storage.listRecords('settings', 'nip05:')
    expect(stored.map(([k]) => k).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `nip05:n${55 + i}@${d}`).sort())
    // Memory holds two: n63 and n64 answer from it; n62 comes from storage (cached, no fetch); n0 is fetched.
    const before = server.requestsFor(d).length
    expect((await nip05.resolve(`n64@${d}`)).cached).toBe(true)
    expect((await nip05.resolve(`n62@${d}`)).cached).toBe(true)
    expect(server.requestsFor(d).length).toBe(before)
    expect((await nip05.resolve(`n0@${d}`)).cached).toBe(false)
    expect(server.requestsFor(d).length).toBe(before + 1)
    await storage.close()
  })

  it("the resolver's signal ends in-flight lookups and nothing is written after", async () => {
    const d = domain()
    server.serve(d, { type: 'slow', delayMs: 5_000, then: { type: 'document', names: { bob: BOB } } })
    const storage = memoryStorage()
    const life = new AbortController()
    const { nip05 } = resolver({ storage, signal: life.signal })
    const pending = nip05.resolve(`bob@${d}`)
    await waitFor(() => server.requestsFor(d).length === 1, 2_000, 'the request')
    life.abort()
    await expectRejectionCode(pending, 'NIP05_ABORTED')
    await expectRejectionCode(nip05.resolve(`bob@${d}`), 'NIP05_ABORTED')
    expect(await storage.listRecords('settings', 'nip05:')).toEqual([])
    await allClosed(d)
    await storage.close()
  })

  it('refuses malformed options', () => {
    expect(() => createNip05Resolver({ ttlMs: -1 })).toThrow(RangeError)
    expect(() => createNip05Resolver({ maxEntries: 0 })).toThrow(RangeError)
    expect(() => createNip05Resolver({ storage: {} as Storage })).toThrow(TypeError)
    expect(() => createNip05Resolver({ now: 5 as unknown as () => number })).toThrow(TypeError)
  })
})

describe('the same answers as nostr-tools (queryProfile, isValid)', () => {
  it('for the same documents', async () => {
    useFetchImplementation(server.fetch)
    const cases: [string, Parameters<Nip05Server['serve']>[1]][] = [
      ['plain', { names: { bob: BOB } }],
      ['with relays', { names: { bob: BOB }, relays: { [BOB]: RELAYS } }],
      ['root', { names: { _: BOB }, relays: { [BOB]: RELAYS } }],
      ['other key', { names: { bob: CAROL }, relays: { [CAROL]: RELAYS } }],
      ['name missing', { names: { alice: BOB } }],
      ['upper-case key', { names: { bob: BOB.toUpperCase() } }],
      ['redirect', { type: 'redirect', status: 302, location: `${server.origin}/redirected?name=bob`, target: { type: 'document', names: { bob: BOB } } }],
      ['404', { type: 'raw', status: 404, body: JSON.stringify({ names: { bob: BOB } }) }],
      ['bad JSON', { type: 'raw', body: '{"names":' }],
      ['names not an object', { type: 'raw', body: '{"names":"bob"}' }],
    ]
    for (const [label, behaviour] of cases) {
      const d = domain('nt')
      server.serve(d, behaviour)
      const id = label === 'root' ? `_@${d}` : `bob@${d}`
      const theirs = await ntQueryProfile(id)
      const ours = await resolveNip05(id, { fetch: server.fetch }).then(
        (r) => r,
        (e: unknown) => {
          if (!(e instanceof OutboxError)) throw e
          return undefined
        },
      )
      if (ours === undefined) {
        // We refuse; nostr-tools either refuses too, or (upper-case key) returns a key that no
        // lower-case pubkey can equal, so isValid agrees below.
        if (label === 'upper-case key') expect(theirs?.pubkey, label).toBe(BOB.toUpperCase())
        else expect(theirs, label).toBeNull()
      } else {
        expect(theirs?.pubkey, label).toBe(ours.pubkey)
        expect(theirs?.relays ?? [], label).toEqual(ours.relays)
      }
      for (const pubkey of [BOB, CAROL]) {
        const verdict = await verifyNip05(id, pubkey, { fetch: server.fetch })
        expect(await ntIsValid(pubkey, id as `${string}@${string}`), `${label} ${pubkey === BOB ? 'bob' : 'carol'}`).toBe(verdict.valid)
      }
    }
  })
})
