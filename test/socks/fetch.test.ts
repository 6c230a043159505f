/**
 * The proxy's `fetch` against local HTTP and HTTPS servers reachable only through the test SOCKS
 * server (their names resolve nowhere else): methods, headers, bodies, the three redirect modes,
 * the response size cap, aborts, and network failures with their proxy error as `cause`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RelayError } from '../../src/errors.js'
import type { ProxyTransport } from '../../src/relay-pool/types.js'
import { socksProxy } from '../../src/socks/index.js'
import { startSocksServer, startTap, TEST_TLS, type TestSocksServer, type TestTap } from '../helpers/socks-server.js'

let web: Server
let socks: TestSocksServer
let tlsTap: TestTap
let proxy: ProxyTransport
const requests: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: string }> = []
const pending: ServerResponse[] = []

function route(req: IncomingMessage, res: ServerResponse, body: string): void {
  const url = new URL(req.url ?? '/', 'http://web.test')
  switch (url.pathname) {
    case '/json':
      res.writeHead(200, { 'content-type': 'application/json', 'x-seen-header': String(req.headers['x-custom'] ?? '') }).end(JSON.stringify({ ok: true, query: url.search }))
      return
    case '/echo':
      res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'text/plain' }).end(body)
      return
    case '/redirect':
      res.writeHead(302, { location: '/json?from=redirect' }).end()
      return
    case '/big': {
      // Chunked (no Content-Length): the only bound is the client's own count.
      res.writeHead(200, { 'content-type': 'text/plain' })
      const chunk = 'x'.repeat(16_384)
      for (let i = 0; i < 64; i++) res.write(chunk)
      res.end()
      return
    }
    case '/lying-length':
      // Declares 5 bytes and sends more: the parser stops at the declared length.
      res.socket?.end('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello and a lot more')
      return
    case '/no-content':
      res.writeHead(204).end()
      return
    case '/stall':
      pending.push(res)
      return
    default:
      res.writeHead(404).end('not found')
  }
}

beforeAll(async () => {
  web = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk: Buffer) => (body += chunk.toString()))
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body })
      route(req, res, body)
    })
  })
  await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve))
  const webPort = (web.address() as { port: number }).port
  tlsTap = await startTap(webPort, { tls: true })
  socks = await startSocksServer({ hosts: { 'web.test': webPort, 'names.test': tlsTap.port } })
  proxy = socksProxy({ host: '127.0.0.1', port: socks.port, timeoutMs: 2_000, maxResponseBytes: 100_000, tls: { ca: TEST_TLS.cert } })
})

afterAll(async () => {
  for (const res of pending) res.destroy()
  await socks.close()
  await tlsTap.close()
  await new Promise<void>((resolve) => web.close(() => resolve()))
})

describe('socksProxy().fetch', () => {
  it('GET with headers, through the proxy, JSON body', async () => {
    const before = socks.connects.length
    const response = await proxy.fetch('http://web.test/json?name=bob', { headers: { 'X-Custom': 'yes', Accept: 'application/json' } })
    expect(response.status).toBe(200)
    expect(response.headers.get('x-seen-header')).toBe('yes')
    expect(response.url).toBe('http://web.test/json?name=bob')
    expect(await response.json()).toEqual({ ok: true, query: '?name=bob' })
    expect(socks.connects.slice(before)).toEqual([expect.objectContaining({ host: 'web.test', port: 80, addressType: 3, outcome: 'connected' })])
    // No compression asked for, one connection per request.
    const seen = requests.at(-1)
    expect(seen?.headers['accept-encoding']).toBe('identity')
    expect(seen?.headers.connection).toBe('close')
  })

  it('POST with a JSON body; a Request object works too', async () => {
    const response = await proxy.fetch('http://web.test/echo', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ a: 1 }) })
    expect(await response.json()).toEqual({ a: 1 })
    expect(requests.at(-1)).toMatchObject({ method: 'POST', body: '{"a":1}' })
    const viaRequest = await proxy.fetch(new Request('http://web.test/echo', { method: 'POST', body: 'plain text' }))
    expect(await viaRequest.text()).toBe('plain text')
    expect(requests.at(-1)?.headers['content-type']).toBe('text/plain;charset=UTF-8')
  })

  it("HTTPS through the tunnel: TLS with SNI, the certificate checked", async () => {
    const response = await proxy.fetch('https://names.test/json?name=_')
    expect(await response.json()).toEqual({ ok: true, query: '?name=_' })
    expect(tlsTap.connections.at(-1)).toMatchObject({ servername: 'names.test', firstLine: 'GET /json?name=_ HTTP/1.1' })
    // Without the test CA the same request fails: the certificate is verified.
    const strict = socksProxy({ host: '127.0.0.1', port: socks.port, timeoutMs: 2_000 })
    const error = await strict.fetch('https://names.test/json').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TypeError)
    expect(((error as TypeError).cause as RelayError).code).toBe('RELAY_CONNECTION_FAILED')
  })

  it("redirect: 'manual' returns the 3xx response; 'follow' follows; 'error' rejects", async () => {
    const before = requests.length
    const manual = await proxy.fetch('http://web.test/redirect', { redirect: 'manual' })
    expect(manual.status).toBe(302)
    expect(manual.headers.get('location')).toBe('/json?from=redirect')
    await manual.body?.cancel()
    expect(requests.slice(before).map((r) => r.url)).toEqual(['/redirect'])

    const followed = await proxy.fetch('http://web.test/redirect')
    expect(followed.status).toBe(200)
    expect(followed.url).toBe('http://web.test/json?from=redirect')
    expect(await followed.json()).toEqual({ ok: true, query: '?from=redirect' })

    await expect(proxy.fetch('http://web.test/redirect', { redirect: 'error' })).rejects.toBeInstanceOf(TypeError)
  })

  it('does not trust the response size: a body past the cap errors, a lying Content-Length is cut at the declared length', async () => {
    const response = await proxy.fetch('http://web.test/big')
    const error = await response.text().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RelayError)
    expect((error as RelayError).code).toBe('RELAY_PROXY_FAILED')
    expect((error as RelayError).details).toMatch(/^response-too-large/)

    // Node's parser either stops at the declared 5 bytes or fails the body ("data after the
    // response"): never are the extra bytes delivered.
    const lying = await proxy.fetch('http://web.test/lying-length')
    const text = await lying.text().catch((e: unknown) => (e instanceof TypeError ? 'terminated' : String(e)))
    expect(['hello', 'terminated']).toContain(text)

    const empty = await proxy.fetch('http://web.test/no-content')
    expect(empty.status).toBe(204)
    expect(empty.body).toBeNull()
  })

  it('an abort rejects with the signal reason, before or after the headers, and during the SOCKS handshake', async () => {
    const controller = new AbortController()
    const waiting = proxy.fetch('http://web.test/stall', { signal: controller.signal })
    await expect.poll(() => pending.length, { timeout: 2_000 }).toBe(1)
    controller.abort()
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' })

    const already = new AbortController()
    already.abort()
    await expect(proxy.fetch('http://web.test/json', { signal: already.signal })).rejects.toMatchObject({ name: 'AbortError' })

    // A proxy that never answers the CONNECT: the abort ends the handshake too.
    const stalling = await startSocksServer({ onConnect: () => 'stall' })
    try {
      const viaStall = socksProxy({ host: '127.0.0.1', port: stalling.port, timeoutMs: 10_000 })
      const stop = new AbortController()
      const started = Date.now()
      const stuck = viaStall.fetch('http://web.test/json', { signal: stop.signal })
      await expect.poll(() => stalling.connects.length, { timeout: 2_000 }).toBe(1)
      stop.abort()
      await expect(stuck).rejects.toMatchObject({ name: 'AbortError' })
      expect(Date.now() - started).toBeLessThan(2_000)
      await expect.poll(() => stalling.openConnections(), { timeout: 1_000 }).toBe(0)
    } finally {
      await stalling.close()
    }
  })

  it('a network failure rejects like fetch (TypeError) with the proxy error as cause', async () => {
    const error = await proxy.fetch('http://unknown.test/').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TypeError)
    const cause = (error as TypeError).cause as RelayError
    expect(cause.code).toBe('RELAY_PROXY_FAILED')
    expect(cause.details).toMatch(/^host-unreachable: unknown\.test:80/)
  })

  it('rejects what it cannot send', async () => {
    await expect(proxy.fetch('ftp://web.test/')).rejects.toBeInstanceOf(TypeError)
    await expect(proxy.fetch('http://web.test/', { method: 'GET', body: 'x' })).rejects.toBeInstanceOf(TypeError)
  })
})
