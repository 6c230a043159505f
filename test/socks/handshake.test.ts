/**
 * The SOCKS5 handshake (RFC 1928 / RFC 1929) against a local SOCKS server: names go to the proxy
 * (address type 3), credentials are checked, every reply code becomes a stable error, and a proxy
 * that stalls or misbehaves ends in a bounded, coded failure.
 */
import { createServer, type Server, type Socket } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { RelayError } from '../../src/errors.js'
import { SOCKS_REPLY_REASONS, socksConnect, socksProxy, socksReplyReason } from '../../src/socks/index.js'
import { startSocksServer, type TestSocksServer } from '../helpers/socks-server.js'

/** A TCP server that greets with a banner, then echoes. */
let echo: Server
let echoPort = 0
const servers: TestSocksServer[] = []

beforeAll(async () => {
  echo = createServer((socket: Socket) => {
    socket.on('error', () => {})
    socket.write('hello ')
    socket.on('data', (chunk) => socket.write(chunk))
  })
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve))
  echoPort = (echo.address() as { port: number }).port
})

afterAll(async () => {
  await new Promise<void>((resolve) => echo.close(() => resolve()))
})

afterEach(async () => {
  for (const server of servers.splice(0)) await server.close()
})

async function proxy(options: Parameters<typeof startSocksServer>[0] = {}): Promise<TestSocksServer> {
  const server = await startSocksServer({ hosts: { 'echo.test': echoPort }, ...options })
  servers.push(server)
  return server
}

/** Reads from a socket until `text` has arrived (bounded). */
function readUntil(socket: Socket, text: string, ms = 2_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = ''
    const timer = setTimeout(() => reject(new Error(`no ${JSON.stringify(text)} within ${ms} ms (got ${JSON.stringify(seen)})`)), ms)
    socket.on('data', (chunk: Buffer) => {
      seen += chunk.toString()
      if (seen.includes(text)) {
        clearTimeout(timer)
        resolve(seen)
      }
    })
    socket.resume()
  })
}

async function failure(promise: Promise<unknown>): Promise<RelayError> {
  try {
    await promise
  } catch (error) {
    expect(error).toBeInstanceOf(RelayError)
    return error as RelayError
  }
  throw new Error('expected a failure')
}

describe('socksConnect', () => {
  it('sends the host name to the proxy (no local DNS) and returns a working tunnel, early bytes included', async () => {
    const server = await proxy()
    const socket = await socksConnect({ host: '127.0.0.1', port: server.port }, { host: 'echo.test', port: 7 }, { timeoutMs: 2_000 })
    try {
      socket.write('ping')
      // "hello " was sent by the target right after connecting: it must not be lost in the handshake.
      expect(await readUntil(socket, 'hello ping')).toBe('hello ping')
      expect(server.connects).toEqual([expect.objectContaining({ host: 'echo.test', port: 7, addressType: 3, outcome: 'connected' })])
    } finally {
      socket.destroy()
    }
  })

  it('sends IPv4 and IPv6 literals as addresses (types 1 and 4)', async () => {
    const server = await proxy({ onConnect: () => ({ reply: 4 }) })
    await failure(socksConnect({ host: '127.0.0.1', port: server.port }, { host: '10.1.2.3', port: 80 }, { timeoutMs: 2_000 }))
    await failure(socksConnect({ host: '127.0.0.1', port: server.port }, { host: '[2001:db8::1]', port: 443 }, { timeoutMs: 2_000 }))
    await failure(socksConnect({ host: '127.0.0.1', port: server.port }, { host: '::ffff:1.2.3.4', port: 443 }, { timeoutMs: 2_000 }))
    expect(server.connects.map(({ host, port, addressType }) => ({ host, port, addressType }))).toEqual([
      { host: '10.1.2.3', port: 80, addressType: 1 },
      { host: '2001:0db8:0000:0000:0000:0000:0000:0001', port: 443, addressType: 4 },
      { host: '0000:0000:0000:0000:0000:ffff:0102:0304', port: 443, addressType: 4 },
    ])
  })

  it('authenticates with username and password (RFC 1929)', async () => {
    const server = await proxy({ auth: (user, pass) => user === 'alice' && pass === 's3cret' })
    const socket = await socksConnect({ host: '127.0.0.1', port: server.port, username: 'alice', password: 's3cret' }, { host: 'echo.test', port: 7 }, { timeoutMs: 2_000 })
    socket.destroy()
    expect(server.connects[0]?.username).toBe('alice')
  })

  it('wrong credentials: RELAY_PROXY_AUTH_FAILED credentials-refused', async () => {
    const server = await proxy({ auth: () => false })
    const error = await failure(socksConnect({ host: '127.0.0.1', port: server.port, username: 'alice', password: 'nope' }, { host: 'echo.test', port: 7 }, { timeoutMs: 2_000 }))
    expect(error.code).toBe('RELAY_PROXY_AUTH_FAILED')
    expect(error.details).toMatch(/^credentials-refused/)
    expect(server.connects).toEqual([])
  })

  it('a proxy that wants a password we do not have: RELAY_PROXY_AUTH_FAILED no-acceptable-method', async () => {
    const server = await proxy({ auth: () => true })
    const error = await failure(socksConnect({ host: '127.0.0.1', port: server.port }, { host: 'echo.test', port: 7 }, { timeoutMs: 2_000 }))
    expect(error.code).toBe('RELAY_PROXY_AUTH_FAILED')
    expect(error.details).toMatch(/^no-acceptable-method/)
  })

  const codes = [...Object.keys(SOCKS_REPLY_REASONS).map(Number), 0x09, 0x42]
  it.each(codes)('reply code %i becomes RELAY_PROXY_FAILED with its reason', async (code) => {
    const server = await proxy({ onConnect: () => ({ reply: code }) })
    const error = await failure(socksConnect({ host: '127.0.0.1', port: server.port }, { host: 'echo.test', port: 7 }, { timeoutMs: 2_000 }))
    expect(error.code).toBe('RELAY_PROXY_FAILED')
    const reason = socksReplyReason(code)
    expect(reason).toBe(SOCKS_REPLY_REASONS[code] ?? `unknown-reply-0x${code.toString(16).padStart(2, '0')}`)
    expect(error.details?.startsWith(`${reason}: echo.test:7`)).toBe(true)
  })

  it('names every RFC 1928 reply code', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map(socksReplyReason)).toEqual([
      'general-failure',
      'not-allowed-by-ruleset',
      'network-unreachable',
      'host-unreachable',
      'connection-refused',
      'ttl-expired',
      'command-not-supported',
      'address-type-not-supported',
    ])
  })

  it('a name the proxy cannot resolve: host-unreachable', async () => {
    const server = await proxy()
    const error = await failure(socksConnect({ host: '127.0.0.1', port: server.port }, { host: 'nowhere.test', port: 80 }, { timeoutMs: 2_000 }))
    expect(error.details).toMatch(/^host-unreachable: nowhere\.test:80/)
  })

  it('a proxy that stalls at the greeting or at CONNECT: RELAY_TIMEOUT within the time given', async () => {
    for (const options of [{ greeting: 'stall' as const }, { onConnect: () => 'stall' as const }]) {
      const server = await proxy(options)
      const started = Date.now()
      const error = await failure(socksConnect({ host: '127.0.0.1', port: server.port }, { host: 'echo.test', port: 7 }, { timeoutMs: 200 }))
      expect(error.code).toBe('RELAY_TIMEOUT')
      expect(Date.now() - started).toBeLessThan(1_500)
      // The socket to the proxy was closed, not left hanging.
      await expect.poll(() => server.openConnections(), { timeout: 1_000 }).toBe(0)
    }
  })

  it('not a SOCKS5 proxy, a proxy that hangs up, no proxy at all: RELAY_PROXY_FAILED with the reason', async () => {
    const bad = await proxy({ greeting: 'bad-version' })
    expect((await failure(socksConnect({ host: '127.0.0.1', port: bad.port }, { host: 'echo.test', port: 7 }, { timeoutMs: 2_000 }))).details).toMatch(/^bad-version/)
    const rude = await proxy({ greeting: 'close' })
    expect((await failure(socksConnect({ host: '127.0.0.1', port: rude.port }, { host: 'echo.test', port: 7 }, { timeoutMs: 2_000 }))).details).toMatch(/^proxy-closed/)
    const gone = await proxy()
    const port = gone.port
    await gone.close()
    servers.splice(servers.indexOf(gone), 1)
    const error = await failure(socksConnect({ host: '127.0.0.1', port }, { host: 'echo.test', port: 7 }, { timeoutMs: 2_000 }))
    expect(error.code).toBe('RELAY_PROXY_FAILED')
    expect(error.details).toMatch(/^proxy-unreachable/)
  })

  it('an abort stops the handshake at once', async () => {
    const server = await proxy({ onConnect: () => 'stall' })
    const controller = new AbortController()
    const pending = socksConnect({ host: '127.0.0.1', port: server.port }, { host: 'echo.test', port: 7 }, { timeoutMs: 10_000, signal: controller.signal })
    await expect.poll(() => server.connects.length, { timeout: 2_000 }).toBe(1)
    controller.abort()
    expect((await failure(pending)).code).toBe('RELAY_ABORTED')
    await expect.poll(() => server.openConnections(), { timeout: 1_000 }).toBe(0)
  })
})

describe('socksProxy options', () => {
  it('names the bad option', () => {
    expect(() => socksProxy({ host: '', port: 9050 })).toThrow(/host/)
    expect(() => socksProxy({ host: '127.0.0.1', port: 70_000 })).toThrow(/port/)
    expect(() => socksProxy({ host: '127.0.0.1', port: 9050, username: 'x'.repeat(256) })).toThrow(/username/)
    expect(() => socksProxy({ host: '127.0.0.1', port: 9050, password: '' })).toThrow(/password/)
    expect(() => socksProxy({ host: '127.0.0.1', port: 9050, timeoutMs: 0 })).toThrow(/timeoutMs/)
    expect(() => socksProxy({ host: '127.0.0.1', port: 9050, maxRedirects: 21 })).toThrow(/maxRedirects/)
    const proxy = socksProxy({ host: '127.0.0.1', port: 9050 })
    expect(proxy.reachesOnion).toBe(true)
    expect(socksProxy({ host: '127.0.0.1', port: 9050, reachesOnion: false }).reachesOnion).toBe(false)
  })
})
