/**
 * Real relays for integration tests: CodyTseng's `@nostr-relay/*` (0.0.40) behind a `ws` server on
 * 127.0.0.1, port 0, with an in-memory SQLite store. Also the small pieces every wire-level test
 * needs: a bounded {@link waitFor}, a raw WebSocket client ({@link openRawClient}) and the HTTP +
 * WebSocket host ({@link startWsHost}) that the scripted relay shares.
 *
 * Known behaviour of this relay, worth designing around (each shown in
 * test/relay-pool/test-relays.test.ts):
 * - a 21st subscription on one connection silently evicts the oldest (an LRU of 20);
 * - live (post-EOSE) events are matched on ids/authors/kinds/since/until only, not on tag filters,
 *   so a live `#t`/`#p`/`#e` subscription also receives events without those tags;
 * - the AUTH event's `relay` tag is checked on its hostname only (not the port);
 * - a message the validator rejects (bad JSON, bad shape) gets a NOTICE, not an `OK false`;
 * - COUNT and negentropy are not offered.
 *
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { clearTimeout, setTimeout } from 'node:timers'
import { setTimeout as sleep } from 'node:timers/promises'
import type { ClientContext, Event as RelayEvent, HandleMessagePlugin, HandleMessageResult, IncomingMessage as RelayMessage, Logger } from '@nostr-relay/common'
import { createOutgoingClosedMessage, createOutgoingNoticeMessage, createOutgoingOkMessage } from '@nostr-relay/common'
import { NostrRelay } from '@nostr-relay/core'
import { EventRepositorySqlite } from '@nostr-relay/event-repository-sqlite'
import { Validator } from '@nostr-relay/validator'
import { WebSocket, WebSocketServer, type RawData } from 'ws'
import type { NostrEvent } from '../../src/crypto/index.js'

// ---------------------------------------------------------------------------------------------
// waitFor
// ---------------------------------------------------------------------------------------------

const POLL_MS = 5

/**
 * Polls `predicate` until it returns a truthy value and resolves with that value; rejects once
 * `timeoutMs` has passed. Sleeps with `node:timers/promises`, which `vi.useFakeTimers()` leaves
 * alone, and bounds the number of polls as well as the time, so it also ends under a fake clock.
 *
 * @param predicate - Checked immediately, then every `intervalMs`.
 * @param timeoutMs - Upper bound on the wait. @default 2000
 * @param label - Named in the timeout error.
 * @returns the first truthy value.
 * @throws Error when the time runs out.
 * @example
 * ```ts
 * await waitFor(() => relay.connections() === 0, 2_000, 'the pool to disconnect')
 * ```
 */
export async function waitFor<T>(predicate: () => T | Promise<T>, timeoutMs = 2_000, label = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs
  // Counted too: fake clocks freeze Date.now, and the wait must still end.
  const maxPolls = Math.ceil(timeoutMs / POLL_MS)
  for (let polls = 0; ; polls++) {
    const value = await predicate()
    if (value) return value as NonNullable<T>
    if (polls >= maxPolls || Date.now() >= deadline) throw new Error(`waitFor: ${label} not met within ${timeoutMs} ms`)
    await sleep(POLL_MS)
  }
}

// ---------------------------------------------------------------------------------------------
// The host: an HTTP server for NIP-11 plus a WebSocket server, restartable on the same port
// ---------------------------------------------------------------------------------------------

/**
 * `promise`, or a rejection after `ms`: a bound on a wait whose promise has no timeout of its own
 * (the timer is cleared either way).
 *
 * @example
 * ```ts
 * const report = await within(handle.settled, 10_000)
 * ```
 */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`not within ${ms} ms`)), ms)))])
  } finally {
    clearTimeout(timer)
  }
}

/** A NIP-11 relay information document (any JSON object). */
export type Nip11Document = Record<string, unknown>

/** How the host answers the WebSocket handshake. */
export type HandshakeMode = 'accept' | 'stall' | { status: number }

/** Options of {@link startWsHost}. */
export interface WsHostOptions {
  /** Called for each accepted WebSocket. */
  onConnection: (ws: WebSocket, request: IncomingMessage) => void
  /** The NIP-11 document served now; `null` answers 404. Read on every request. */
  nip11: () => Nip11Document | null
  /** Largest incoming frame; beyond it `ws` closes the connection with 1009. */
  maxPayload: number
  /** `stall` leaves the upgrade request unanswered; `{ status }` refuses it. @default 'accept' */
  handshake?: () => HandshakeMode
}

/** A listening HTTP + WebSocket server on 127.0.0.1. */
export interface WsHost {
  /** `ws://127.0.0.1:PORT` */
  readonly url: string
  /** `http://127.0.0.1:PORT` (NIP-11). */
  readonly httpUrl: string
  readonly port: number
  /** Accepted WebSockets still open. */
  readonly sockets: ReadonlySet<WebSocket>
  /** NIP-11 requests answered (with a document or a 404) since start. */
  nip11Requests(): number
  /** Whether the server is listening. */
  isListening(): boolean
  /** Terminates every WebSocket abruptly (the clients see 1006) but keeps listening. */
  dropConnections(): Promise<void>
  /** Destroys every TCP connection and stops listening. */
  kill(): Promise<void>
  /** Listens again on the same port. */
  restart(): Promise<void>
  /** Sends a close frame to each WebSocket, waits up to `graceMs`, then kills. */
  close(graceMs?: number): Promise<void>
}

/**
 * Starts an HTTP server on 127.0.0.1 (port 0) that serves NIP-11 to requests with
 * `Accept: application/nostr+json` and hands WebSocket upgrades to `onConnection`. Every TCP
 * connection is tracked so that {@link WsHost.kill} can drop them all at once.
 *
 * @param options - See {@link WsHostOptions}.
 * @returns the listening host.
 */
export async function startWsHost(options: WsHostOptions): Promise<WsHost> {
  const tcp = new Set<Socket>()
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayload, clientTracking: true })
  const sockets = new Set<WebSocket>()
  let nip11Count = 0
  let port = 0
  let server: Server | undefined

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const accept = req.headers.accept ?? ''
    res.setHeader('Access-Control-Allow-Origin', '*')
    // fetch (undici) keeps an idle connection ~4 s; the leak check would see its server side.
    res.setHeader('Connection', 'close')
    if (!accept.includes('application/nostr+json')) {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('nostr test relay: connect with a WebSocket')
      return
    }
    nip11Count++
    const doc = options.nip11()
    if (doc === null) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('no relay information document')
      return
    }
    res.writeHead(200, { 'Content-Type': 'application/nostr+json' }).end(JSON.stringify(doc))
  }

  const onUpgrade = (req: IncomingMessage, socket: Socket, head: Buffer): void => {
    const mode = options.handshake?.() ?? 'accept'
    if (mode === 'stall') return // tracked in `tcp`, destroyed by kill()
    if (typeof mode === 'object') {
      socket.end(`HTTP/1.1 ${mode.status} Refused\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
      return
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws)
      ws.on('close', () => sockets.delete(ws))
      // An abrupt peer makes `ws` emit 'error'; without a listener that would be an uncaught exception.
      ws.on('error', () => {})
      options.onConnection(ws, req)
    })
  }

  const listen = async (): Promise<void> => {
    const s = createServer(onRequest)
    s.on('upgrade', onUpgrade)
    s.on('connection', (socket: Socket) => {
      tcp.add(socket)
      socket.on('close', () => tcp.delete(socket))
    })
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject)
      s.listen(port, '127.0.0.1', () => {
        s.off('error', reject)
        resolve()
      })
    })
    const address = s.address()
    if (address === null || typeof address === 'string') throw new Error('startWsHost: no TCP address')
    port = address.port
    server = s
  }

  const kill = async (): Promise<void> => {
    const s = server
    server = undefined
    const closed = s ? new Promise<void>((resolve) => s.close(() => resolve())) : Promise.resolve()
    for (const ws of sockets) ws.terminate()
    for (const socket of tcp) socket.destroy()
    await closed
  }

  await listen()
  const url = `ws://127.0.0.1:${port}`
  return {
    url,
    httpUrl: `http://127.0.0.1:${port}`,
    port,
    sockets,
    nip11Requests: () => nip11Count,
    isListening: () => server !== undefined,
    dropConnections: async () => {
      const open = [...sockets]
      for (const ws of open) ws.terminate()
      await waitFor(() => open.every((ws) => ws.readyState === WebSocket.CLOSED), 2_000, 'sockets to drop')
    },
    kill,
    restart: async () => {
      if (server) throw new Error('startWsHost: restart() while still listening')
      await listen()
    },
    close: async (graceMs = 500) => {
      for (const ws of sockets) ws.close(1001, 'relay shutting down')
      await waitFor(() => sockets.size === 0, graceMs, 'clients to close').catch(() => undefined)
      await kill()
      await new Promise<void>((resolve) => wss.close(() => resolve()))
    },
  }
}

// ---------------------------------------------------------------------------------------------
// The real relay
// ---------------------------------------------------------------------------------------------

/** Options of {@link startRelay}. */
export interface TestRelayOptions {
  /** Relay name in the default NIP-11 document. @default 'test relay' */
  name?: string
  /**
   * NIP-42 on: the relay sends `["AUTH", challenge]` on connect and accepts AUTH events whose
   * `relay` tag has hostname 127.0.0.1 (the relay library checks the hostname only). Implied by
   * the two options below. @default false
   */
  auth?: boolean
  /** Unauthenticated EVENTs get `["OK", id, false, "auth-required: ..."]`. @default false */
  requireAuthForWrites?: boolean
  /** Unauthenticated REQs get `["CLOSED", subId, "auth-required: ..."]`. @default false */
  requireAuthForReads?: boolean
  /** Subscriptions per connection before the oldest is silently evicted. @default 20 */
  maxSubscriptionsPerClient?: number
  /** Largest client message in bytes; a bigger one closes the connection (1009). @default 131072 */
  maxMessageLength?: number
  /**
   * The NIP-11 document: an object replaces the default, `null` serves 404. The default describes
   * the relay's real limits (see {@link defaultNip11}).
   */
  nip11?: Nip11Document | null
  /**
   * The relay library's result caches, off by default so that tests see what is stored now: with
   * them on, a REQ repeated within 1 s gets the old answer and a re-sent event gets `OK true ""`
   * instead of `duplicate:`. Values in ms, as in `NostrRelayOptions`. @default 0 (both)
   */
  filterResultCacheTtl?: number
  /** See {@link TestRelayOptions.filterResultCacheTtl}. @default 0 */
  eventHandlingResultCacheTtl?: number
  /** Record every client message in {@link TestRelay.received}. @default true */
  record?: boolean
}

/** A message a relay received from a client. */
export interface ReceivedMessage {
  /** 1, 2, 3 ... in order of connection since the relay started. */
  readonly connection: number
  /** The text frame as sent. */
  readonly raw: string
  /** The parsed JSON, or `undefined` when it was not JSON. */
  readonly message: unknown
}

/** A running real relay. */
export interface TestRelay {
  /** `ws://127.0.0.1:PORT` (no trailing slash). */
  readonly url: string
  /** `http://127.0.0.1:PORT` for NIP-11. */
  readonly httpUrl: string
  readonly port: number
  /** The relay library's instance, for anything not wrapped here. */
  readonly relay: NostrRelay
  /** Every client message so far (unless `record: false`). */
  readonly received: ReceivedMessage[]
  /** Warnings and errors the relay library logged. */
  readonly logs: string[]
  /** Open server-side WebSockets. */
  connections(): number
  /** WebSockets accepted since start (across restarts). */
  totalConnections(): number
  /** NIP-11 requests answered since start. */
  nip11Requests(): number
  /** Parsed client messages of one type (`'REQ'`, `'EVENT'`, `'CLOSE'`, `'AUTH'`). */
  messagesOfType(type: string): unknown[][]
  /** Calls `listener` for every client message from now on; returns the unsubscribe function. */
  onMessage(listener: (message: ReceivedMessage) => void): () => void
  /** Replaces the NIP-11 document (`null`: 404). */
  setNip11(doc: Nip11Document | null): void
  /**
   * Stores events as if published (validated, replaceable rules applied, broadcast to live
   * subscriptions), bypassing the pool.
   */
  storeEvents(events: readonly NostrEvent[]): Promise<{ success: boolean; message?: string }[]>
  /** One event; see {@link TestRelay.storeEvents}. */
  publishDirect(event: NostrEvent): Promise<{ success: boolean; message?: string }>
  /** Drops every connection abruptly but keeps listening. */
  dropConnections(): Promise<void>
  /** Drops every connection abruptly and stops listening (a crash); the data is kept. */
  kill(): Promise<void>
  /** Listens again on the same port with the same data. */
  restart(): Promise<void>
  /** Closes connections politely, stops listening and frees the database. Idempotent. */
  close(): Promise<void>
}

/**
 * The NIP-11 document a test relay serves by default: its real limits.
 *
 * @param name - The relay's name.
 * @param options - The relay's options.
 * @returns a fresh document.
 */
export function defaultNip11(name: string, options: TestRelayOptions = {}): Nip11Document {
  const auth = Boolean(options.auth || options.requireAuthForReads || options.requireAuthForWrites)
  return {
    name,
    description: 'nostr-rendezvous test relay (@nostr-relay/core 0.0.40, in-memory SQLite)',
    software: 'https://github.com/CodyTseng/nostr-relay',
    version: '0.0.40',
    supported_nips: auth ? [1, 2, 4, 9, 11, 22, 26, 28, 40, 42, 50] : [1, 2, 4, 9, 11, 22, 26, 28, 40, 50],
    limitation: {
      max_message_length: options.maxMessageLength ?? DEFAULT_MAX_MESSAGE_LENGTH,
      max_subscriptions: options.maxSubscriptionsPerClient ?? 20,
      max_limit: 1000, // the SQLite repository's cap (10 x its default limit of 100)
      default_limit: 100,
      max_subid_length: 128, // the validator's default
      max_event_tags: 2000,
      max_content_length: 102_400,
      auth_required: Boolean(options.requireAuthForReads && options.requireAuthForWrites),
      restricted_writes: Boolean(options.requireAuthForWrites),
      payment_required: false,
      min_pow_difficulty: 0,
    },
  }
}

const DEFAULT_MAX_MESSAGE_LENGTH = 131_072

/** A logger that keeps warnings and errors for the test to read and prints nothing. */
function quietLogger(sink: string[]): Logger {
  return {
    setLogLevel: () => {},
    debug: () => {},
    info: () => {},
    warn: (message: string) => void sink.push(`warn: ${message}`),
    error: (message: string) => void sink.push(`error: ${message}`),
  }
}

/** Answers `auth-required:` to unauthenticated writes and/or reads, as relays that gate on NIP-42 do. */
function authGate(reads: boolean, writes: boolean): HandleMessagePlugin {
  return {
    async handleMessage(ctx: ClientContext, message: RelayMessage, next: () => Promise<HandleMessageResult>): Promise<HandleMessageResult> {
      if (ctx.pubkey) return next()
      if (writes && message[0] === 'EVENT') {
        const reason = 'auth-required: authenticate to publish here'
        ctx.sendMessage(createOutgoingOkMessage(message[1].id, false, reason))
        return { messageType: 'EVENT', success: false, message: reason }
      }
      if (reads && message[0] === 'REQ') {
        ctx.sendMessage(createOutgoingClosedMessage(message[1], 'auth-required: authenticate to read here'))
        return { messageType: 'REQ', events: [] }
      }
      return next()
    },
  }
}

/**
 * Starts a real relay on 127.0.0.1 (port 0) with an in-memory database.
 *
 * @param options - See {@link TestRelayOptions}.
 * @returns the running relay; call `close()` when done.
 * @example
 * ```ts
 * const relay = await startRelay({ requireAuthForWrites: true })
 * // ... connect to relay.url ...
 * await relay.close()
 * ```
 */
export async function startRelay(options: TestRelayOptions = {}): Promise<TestRelay> {
  const name = options.name ?? 'test relay'
  const auth = Boolean(options.auth || options.requireAuthForReads || options.requireAuthForWrites)
  const logs: string[] = []
  const repository = new EventRepositorySqlite(':memory:')
  await repository.init()
  const relay = new NostrRelay(repository, {
    // The relay checks `new URL(authEvent relay tag).hostname === hostname`; our URLs use 127.0.0.1.
    ...(auth ? { hostname: '127.0.0.1' } : {}),
    logger: quietLogger(logs),
    maxSubscriptionsPerClient: options.maxSubscriptionsPerClient ?? 20,
    filterResultCacheTtl: options.filterResultCacheTtl ?? 0,
    eventHandlingResultCacheTtl: options.eventHandlingResultCacheTtl ?? 0,
  })
  if (options.requireAuthForReads || options.requireAuthForWrites) {
    relay.register(authGate(Boolean(options.requireAuthForReads), Boolean(options.requireAuthForWrites)))
  }
  const validator = new Validator()
  const received: ReceivedMessage[] = []
  const listeners = new Set<(message: ReceivedMessage) => void>()
  const record = options.record ?? true
  let nip11: Nip11Document | null = options.nip11 === undefined ? defaultNip11(name, options) : options.nip11
  let connectionCount = 0

  const onConnection = (ws: WebSocket, request: IncomingMessage): void => {
    const connection = ++connectionCount
    // The library types readyState as its own union; a ws WebSocket has the same values.
    const client = ws as unknown as Parameters<NostrRelay['handleConnection']>[0]
    relay.handleConnection(client, request.socket.remoteAddress)
    // One message at a time per connection, as a relay reading a socket does; otherwise an EVENT
    // followed at once by a REQ could be answered before the event is stored.
    let queue = Promise.resolve()
    ws.on('message', (data: RawData, isBinary: boolean) => {
      const raw = isBinary ? '' : rawToString(data)
      const entry: ReceivedMessage = { connection, raw, message: parseJson(raw) }
      if (record) received.push(entry)
      for (const listener of listeners) listener(entry)
      queue = queue.then(() => handle(ws, client, raw))
    })
    ws.on('close', () => relay.handleDisconnect(client))
  }

  const handle = async (ws: WebSocket, client: Parameters<NostrRelay['handleConnection']>[0], raw: string): Promise<void> => {
    let message: RelayMessage
    try {
      message = await validator.validateIncomingMessage(raw)
    } catch (err) {
      sendIfOpen(ws, createOutgoingNoticeMessage(errorMessage(err)))
      return
    }
    try {
      await relay.handleMessage(client, message)
    } catch (err) {
      sendIfOpen(ws, createOutgoingNoticeMessage(`error: ${errorMessage(err)}`))
    }
  }

  const host = await startWsHost({
    onConnection,
    nip11: () => nip11,
    maxPayload: options.maxMessageLength ?? DEFAULT_MAX_MESSAGE_LENGTH,
  })

  let closed = false
  const storeOne = async (event: NostrEvent): Promise<{ success: boolean; message?: string }> => {
    const result = await relay.handleEvent(event as RelayEvent)
    return result.message === undefined ? { success: result.success } : { success: result.success, message: result.message }
  }

  return {
    url: host.url,
    httpUrl: host.httpUrl,
    port: host.port,
    relay,
    received,
    logs,
    connections: () => host.sockets.size,
    totalConnections: () => connectionCount,
    nip11Requests: () => host.nip11Requests(),
    messagesOfType: (type) => messagesOfType(received, type),
    onMessage: (listener) => {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    setNip11: (doc) => {
      nip11 = doc
    },
    storeEvents: async (events) => {
      const results = []
      for (const event of events) results.push(await storeOne(event))
      return results
    },
    publishDirect: storeOne,
    dropConnections: () => host.dropConnections(),
    kill: () => host.kill(),
    restart: () => host.restart(),
    close: async () => {
      if (closed) return
      closed = true
      await host.close()
      await relay.destroy()
      await repository.destroy()
    },
  }
}

/** A set of relays started together. */
export interface TestFleet {
  readonly relays: TestRelay[]
  /** The relays' URLs, in order. */
  readonly urls: string[]
  /** Closes every relay. */
  close(): Promise<void>
}

/**
 * Starts `n` relays. `options` may be one object for all or a function of the index.
 *
 * @param n - How many relays (1..50).
 * @param options - Per-relay options.
 * @returns the fleet; call `close()` when done.
 * @throws RangeError when `n` is out of range.
 * @example
 * ```ts
 * const fleet = await startFleet(3)
 * // ... fleet.urls ...
 * await fleet.close()
 * ```
 */
export async function startFleet(n: number, options: TestRelayOptions | ((index: number) => TestRelayOptions) = {}): Promise<TestFleet> {
  if (!Number.isInteger(n) || n < 1 || n > 50) throw new RangeError(`startFleet: n must be an integer in 1..50, got ${n}`)
  const optionsFor = (i: number): TestRelayOptions => {
    const o = typeof options === 'function' ? options(i) : options
    return { name: `test relay ${i}`, ...o }
  }
  const settled = await Promise.allSettled(Array.from({ length: n }, (_, i) => startRelay(optionsFor(i))))
  const relays = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []))
  const failure = settled.find((s) => s.status === 'rejected')
  if (failure) {
    await Promise.all(relays.map((r) => r.close()))
    throw failure.reason
  }
  return {
    relays,
    urls: relays.map((r) => r.url),
    close: async () => {
      await Promise.all(relays.map((r) => r.close()))
    },
  }
}

// ---------------------------------------------------------------------------------------------
// A raw client, for wire-level tests without the pool
// ---------------------------------------------------------------------------------------------

/** A bare WebSocket client that collects what the relay sends. */
export interface RawClient {
  readonly ws: WebSocket
  /** Every message received, parsed (`undefined` for non-JSON). */
  readonly messages: unknown[]
  /** Sends an array as JSON or a string as is. */
  send(message: readonly unknown[] | string): void
  /**
   * Resolves with the first message (already received or arriving later) for which `predicate`
   * holds, counting from index `from`.
   */
  next(predicate: (message: unknown[]) => boolean, timeoutMs?: number, from?: number): Promise<unknown[]>
  /** Sends a REQ and collects the EVENTs up to EOSE (or rejects on CLOSED / timeout), then CLOSEs. */
  query(filters: readonly object[], subId?: string, timeoutMs?: number): Promise<NostrEvent[]>
  /** Sends an EVENT and resolves with the OK message. */
  publish(event: unknown, timeoutMs?: number): Promise<{ accepted: boolean; reason: string }>
  /** Resolves when the connection has closed, with its code. */
  readonly closed: Promise<number>
  /** Closes politely, terminating after 1 s; resolves once closed. */
  close(): Promise<void>
}

/**
 * Connects a bare WebSocket to `url` and waits for it to open.
 *
 * @param url - The relay URL.
 * @param timeoutMs - Bound on the connect. @default 2000
 * @returns the open client; call `close()` when done.
 * @throws Error when the connection fails or times out (the socket is cleaned up first).
 * @example
 * ```ts
 * const client = await openRawClient(relay.url)
 * expect(await client.publish(event)).toEqual({ accepted: true, reason: '' })
 * expect(await client.query([{ ids: [event.id] }])).toEqual([event])
 * await client.close()
 * ```
 */
export async function openRawClient(url: string, timeoutMs = 2_000): Promise<RawClient> {
  const ws = new WebSocket(url)
  // From the start: `ws` may emit 'error' more than once (a refused connect, then a terminate).
  ws.on('error', () => {})
  const messages: unknown[] = []
  let seq = 0
  ws.on('message', (data: RawData) => {
    messages.push(parseJson(rawToString(data)))
  })
  const closed = new Promise<number>((resolve) => ws.on('close', (code: number) => resolve(code)))
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.terminate()
      reject(new Error(`openRawClient: ${url} did not open within ${timeoutMs} ms`))
    }, timeoutMs)
    ws.once('open', () => {
      clearTimeout(timer)
      resolve()
    })
    ws.once('error', (err: Error) => {
      clearTimeout(timer)
      ws.terminate()
      reject(err)
    })
  })

  const next = async (predicate: (message: unknown[]) => boolean, wait = 2_000, from = 0): Promise<unknown[]> => {
    const found = await waitFor(
      () => messages.slice(from).find((m): m is unknown[] => Array.isArray(m) && predicate(m)),
      wait,
      'a matching message from the relay',
    )
    return found
  }

  const send = (message: readonly unknown[] | string): void => {
    ws.send(typeof message === 'string' ? message : JSON.stringify(message))
  }

  return {
    ws,
    messages,
    send,
    next,
    closed,
    query: async (filters, subId = `q${++seq}`, wait = 2_000) => {
      const start = messages.length
      send(['REQ', subId, ...filters])
      const end = await next((m) => (m[0] === 'EOSE' || m[0] === 'CLOSED') && m[1] === subId, wait, start)
      if (end[0] === 'CLOSED') throw new Error(`query ${subId} closed by the relay: ${String(end[2])}`)
      if (ws.readyState === WebSocket.OPEN) send(['CLOSE', subId])
      return messages
        .slice(start)
        .filter((m): m is unknown[] => Array.isArray(m) && m[0] === 'EVENT' && m[1] === subId)
        .map((m) => m[2] as NostrEvent)
    },
    publish: async (event, wait = 2_000) => {
      const start = messages.length
      send(['EVENT', event])
      const id = (event as { id?: unknown }).id
      const ok = await next((m) => m[0] === 'OK' && m[1] === id, wait, start)
      return { accepted: ok[2] === true, reason: String(ok[3] ?? '') }
    },
    close: async () => {
      if (ws.readyState === WebSocket.CLOSED) return
      ws.close()
      const timer = setTimeout(() => ws.terminate(), 1_000)
      await closed
      clearTimeout(timer)
    },
  }
}

// ---------------------------------------------------------------------------------------------
// Small shared utilities
// ---------------------------------------------------------------------------------------------

/** The text of a `ws` message. */
export function rawToString(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8')
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8')
  return data.toString('utf8')
}

/** `JSON.parse`, or `undefined` for text that is not JSON. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined
  }
}

/** The parsed messages of one type among `received`. */
export function messagesOfType(received: readonly ReceivedMessage[], type: string): unknown[][] {
  return received.flatMap((r) => (Array.isArray(r.message) && r.message[0] === type ? [r.message as unknown[]] : []))
}

function sendIfOpen(ws: WebSocket, message: unknown): void {
  if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message))
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
