/**
 * A local NIP-05 server for wire tests: `node:http` on 127.0.0.1, port 0, serving
 * `/.well-known/nostr.json?name=<name>` per test domain, and able to misbehave (redirect, huge or
 * endless body, lying `Content-Length`, slow headers, a body that stalls, bad JSON, invalid UTF-8,
 * any status, a reset connection, CORS header present or not).
 *
 * Production code only ever builds `https://<domain>/...` URLs. The tests hand it
 * {@link Nip05Server.fetch}, which sends `https://<name>.test/<path>?<query>` to
 * `http://127.0.0.1:<port>/<path>?<query>` (path and query kept), telling the server the domain in
 * an `x-test-host` header: Node's fetch does not let a caller set `Host`. Any other URL fails as a
 * DNS error would. Every response says `Connection: close`, and a connection that sends no request
 * within 100 ms is closed, so no idle socket outlives a test (the leak check counts sockets).
 *
 * @example
 * ```ts
 * const server = await startNip05Server()
 * server.serve('bob.test', { names: { bob: pubkey }, relays: { [pubkey]: [relayUrl] } })
 * await resolveNip05('bob@bob.test', { fetch: server.fetch })
 * server.requests // [{ domain: 'bob.test', path: '/.well-known/nostr.json', name: 'bob', ... }]
 * await server.close()
 * ```
 *
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'

/** What one domain serves. */
export type Nip05Behaviour =
  /** A NIP-05 document. `dynamic` serves only the asked name (and its relays), like a server that builds the reply; else the whole document, like a static file. */
  | {
      readonly type: 'document'
      readonly names: Readonly<Record<string, unknown>>
      readonly relays?: unknown
      readonly extra?: Readonly<Record<string, unknown>>
      readonly dynamic?: boolean
      /** Send `Access-Control-Allow-Origin: *`. @default true */
      readonly cors?: boolean
    }
  /** Any body, status and headers (bad JSON, wrong shapes, invalid UTF-8, 404, 500). */
  | { readonly type: 'raw'; readonly body: string | Uint8Array; readonly status?: number; readonly headers?: Readonly<Record<string, string>> }
  /**
   * A redirect to `location`. Point it at `<origin>/redirected?name=...` and the server answers
   * there (for the same domain) with `target`, so a client that follows it gets a valid answer.
   */
  | { readonly type: 'redirect'; readonly status: 301 | 302 | 303 | 307 | 308; readonly location: string; readonly target?: Nip05Behaviour }
  /**
   * A body of `bytes` bytes (JSON-looking), sent in 16 KiB chunks. `contentLength`: `'honest'`,
   * `'absent'` (chunked) or a number (a lie).
   */
  | { readonly type: 'huge'; readonly bytes: number; readonly contentLength: 'honest' | 'absent' | number }
  /** Headers only after `delayMs` (the request stays open until the client gives up or it is sent). */
  | { readonly type: 'slow'; readonly delayMs: number; readonly then: Nip05Behaviour }
  /** 200 with headers and the start of a body, then nothing until the client gives up. */
  | { readonly type: 'stall' }
  /** The connection is destroyed without an answer. */
  | { readonly type: 'reset' }

/** One request the server received. */
export interface Nip05Request {
  /** The domain the test fetch named (`x-test-host`), or `undefined` for a request without it. */
  readonly domain: string | undefined
  /** The URL path. */
  readonly path: string
  /** The raw query string (without `?`). */
  readonly query: string
  /** The `name` query parameter. */
  readonly name: string | null
  readonly method: string
  readonly headers: IncomingMessage['headers']
  /** Whether the exchange is over: the response ended or its connection closed (a client giving up). */
  readonly closed: boolean
}

/** The running server. */
export interface Nip05Server {
  /** `http://127.0.0.1:<port>`. */
  readonly origin: string
  /** Sets what a domain serves (replacing what it served). */
  serve(domain: string, behaviour: Nip05Behaviour | Omit<Extract<Nip05Behaviour, { type: 'document' }>, 'type'>): void
  /** Every request received, in order. */
  readonly requests: Nip05Request[]
  /** Requests for one domain. */
  requestsFor(domain: string): Nip05Request[]
  /** URLs the test fetch was called with, as given (before rewriting). */
  readonly fetched: string[]
  /** Bytes the `huge` behaviour wrote before the client stopped reading (or it finished). */
  hugeBytesWritten(): number
  /**
   * Connections the server has open now. Node's fetch may open a spare idle connection after an
   * abort, so wait on {@link Nip05Request.closed} to know a request was given up.
   */
  openConnections(): number
  /** Destroys every open connection (idle keep-alive ones included); call in `afterEach`. */
  dropConnections(): void
  /** A fetch that sends `https://*.test/...` here (see the module comment). */
  readonly fetch: typeof fetch
  /** Closes the server and every connection. */
  close(): Promise<void>
}

const CHUNK = 16 * 1024
/** A connection that has sent no request after this long is closed. */
const IDLE_MS = 100

function documentBody(b: Extract<Nip05Behaviour, { type: 'document' }>, name: string | null): string {
  let names: Record<string, unknown> = { ...b.names }
  let relays = b.relays
  if (b.dynamic) {
    names = name !== null && Object.hasOwn(b.names, name) ? { [name]: b.names[name] } : {}
    const key = name === null ? undefined : b.names[name]
    if (typeof relays === 'object' && relays !== null && !Array.isArray(relays) && typeof key === 'string') {
      relays = Object.hasOwn(relays, key) ? { [key]: (relays as Record<string, unknown>)[key] } : {}
    }
  }
  return JSON.stringify({ ...b.extra, names, ...(relays !== undefined && { relays }) })
}

/**
 * Starts the server on 127.0.0.1, port 0.
 *
 * @returns the server; close it in `afterAll`.
 */
export async function startNip05Server(): Promise<Nip05Server> {
  const domains = new Map<string, Nip05Behaviour>()
  const requests: Nip05Request[] = []
  const fetched: string[] = []
  const sockets = new Set<Socket>()
  let hugeWritten = 0

  const respond = (behaviour: Nip05Behaviour, req: IncomingMessage, res: ServerResponse, name: string | null): void => {
    res.setHeader('connection', 'close')
    switch (behaviour.type) {
      case 'document': {
        const body = documentBody(behaviour, name)
        res.writeHead(200, {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          ...(behaviour.cors !== false && { 'access-control-allow-origin': '*' }),
        })
        res.end(body)
        return
      }
      case 'raw': {
        const body = typeof behaviour.body === 'string' ? Buffer.from(behaviour.body) : Buffer.from(behaviour.body)
        res.writeHead(behaviour.status ?? 200, { 'content-length': body.byteLength, 'access-control-allow-origin': '*', ...behaviour.headers })
        res.end(body)
        return
      }
      case 'redirect':
        res.writeHead(behaviour.status, { location: behaviour.location, 'content-length': 0 })
        res.end()
        return
      case 'huge': {
        const headers: Record<string, string | number> = { 'content-type': 'application/json' }
        if (behaviour.contentLength === 'honest') headers['content-length'] = behaviour.bytes
        else if (typeof behaviour.contentLength === 'number') headers['content-length'] = behaviour.contentLength
        res.writeHead(200, headers)
        const chunk = Buffer.alloc(CHUNK, 0x61) // 'a'
        chunk.write('{"names":{"x":"', 0)
        let left = behaviour.bytes
        const pump = (): void => {
          while (left > 0 && !res.destroyed) {
            const piece = left >= CHUNK ? chunk : chunk.subarray(0, left)
            left -= piece.byteLength
            hugeWritten += piece.byteLength
            if (!res.write(piece)) {
              res.once('drain', pump)
              return
            }
          }
          if (!res.destroyed) res.end()
        }
        pump()
        return
      }
      case 'slow': {
        const timer = setTimeout(() => {
          if (!res.destroyed) respond(behaviour.then, req, res, name)
        }, behaviour.delayMs)
        res.once('close', () => clearTimeout(timer))
        return
      }
      case 'stall':
        res.writeHead(200, { 'content-type': 'application/json' })
        res.write('{"names":')
        return
      case 'reset':
        req.socket.destroy()
        return
    }
  }

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://placeholder')
    const header = req.headers['x-test-host']
    const domain = typeof header === 'string' ? header : undefined
    const name = url.searchParams.get('name')
    const record = { domain, path: url.pathname, query: url.search.slice(1), name, method: req.method ?? '', headers: req.headers, closed: false }
    requests.push(record)
    res.once('close', () => (record.closed = true))
    let behaviour = domain === undefined ? undefined : domains.get(domain)
    if (behaviour?.type === 'redirect' && url.pathname === '/redirected') {
      behaviour = behaviour.target
    } else if (url.pathname !== '/.well-known/nostr.json') behaviour = undefined
    if (behaviour === undefined) {
      res.writeHead(404, { connection: 'close', 'content-length': 0 })
      res.end()
      return
    }
    respond(behaviour, req, res, name)
  })
  const asked = new WeakSet<Socket>()
  server.on('request', (req: IncomingMessage) => asked.add(req.socket))
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    // Node's fetch opens a spare connection after an abort and leaves it idle for seconds; the
    // leak check after each test would count it. A connection that asks nothing is dropped.
    const reaper = setTimeout(() => {
      if (!asked.has(socket)) socket.destroy()
    }, IDLE_MS)
    socket.once('close', () => {
      clearTimeout(reaper)
      sockets.delete(socket)
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('nip05 server: no port')
  const origin = `http://127.0.0.1:${address.port}`

  const testFetch = (async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const raw = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
    fetched.push(raw)
    const url = new URL(raw)
    if (url.protocol !== 'https:' || !url.hostname.endsWith('.test') || url.port !== '') {
      throw new TypeError(`fetch failed: getaddrinfo ENOTFOUND ${url.hostname} (the test fetch only reaches https://*.test)`)
    }
    const headers = new Headers(init?.headers)
    headers.set('x-test-host', url.hostname)
    return globalThis.fetch(`${origin}${url.pathname}${url.search}`, { ...init, headers })
  }) as typeof fetch

  return {
    origin,
    serve(domain, behaviour) {
      domains.set(domain, 'type' in behaviour ? behaviour : { type: 'document', ...behaviour })
    },
    requests,
    requestsFor: (domain) => requests.filter((r) => r.domain === domain),
    fetched,
    hugeBytesWritten: () => hugeWritten,
    openConnections: () => sockets.size,
    dropConnections: () => {
      for (const socket of sockets) socket.destroy()
    },
    fetch: testFetch,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
