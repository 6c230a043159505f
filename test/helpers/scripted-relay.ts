/**
 * A scripted relay for the failure paths a real relay rarely takes on demand: a `ws` server on
 * 127.0.0.1 (port 0, plus HTTP for NIP-11) whose answer to each client message is chosen by the
 * test. Without a script it behaves like an empty, polite relay: EOSE for every REQ, `OK true` for
 * every EVENT, NIP-42 AUTH verified for real.
 *
 * @example
 * ```ts
 * const relay = await startScriptedRelay({ onReq: behaviours.neverEose([event]) })
 * // ... point the pool at relay.url, assert it times out the subscription ...
 * await relay.close()
 * ```
 *
 * @module
 */
import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { WebSocket, type RawData } from 'ws'
import { isEventShape, nowSeconds, verifyEvent, type NostrEvent } from '../../src/crypto/index.js'
import type { Filter } from '../../src/relay-pool/types.js'
import {
  type HandshakeMode,
  type Nip11Document,
  type ReceivedMessage,
  messagesOfType,
  parseJson,
  rawToString,
  startWsHost,
} from './relay-fleet.js'

/** One client connection as the script sees it. */
export interface ScriptedClient {
  /** 1, 2, 3 ... in order of connection since the relay started. */
  readonly id: number
  /** The NIP-42 challenge of this connection (sent only when AUTH is demanded or by `auth()`). */
  readonly challenge: string
  /** The pubkey of a valid AUTH on this connection, if any. */
  pubkey: string | undefined
  /** Subscriptions opened by REQ and not yet closed by CLOSE or by {@link ScriptedClient.closed}. */
  readonly subscriptions: Map<string, readonly Filter[]>
  /** The messages of this connection (parsed JSON, or the raw string when not JSON). */
  readonly received: unknown[]
  /** Whether the socket is open. */
  isOpen(): boolean
  /** Sends an array as JSON or a string as is (for malformed frames). Ignored once closed. */
  send(message: readonly unknown[] | string): void
  /** `["EVENT", subId, event]` */
  event(subId: string, event: unknown): void
  /** `["EOSE", subId]` */
  eose(subId: string): void
  /** `["CLOSED", subId, reason]`, and forgets the subscription. */
  closed(subId: string, reason: string): void
  /** `["OK", id, accepted, reason]` */
  ok(id: unknown, accepted: boolean, reason?: string): void
  /** `["NOTICE", text]` */
  notice(text: string): void
  /** `["AUTH", challenge]` (this connection's challenge by default). */
  auth(challenge?: string): void
  /** Runs `fn` after `ms` unless the connection or the relay closes first (no timer is left behind). */
  later(ms: number, fn: () => void): void
  /** Starts the closing handshake. */
  close(code?: number, reason?: string): void
  /** Drops the TCP connection at once (the client sees 1006). */
  terminate(): void
}

/** Answers a REQ. `filters` are as the client sent them, unchecked. */
export type ReqHandler = (client: ScriptedClient, subId: string, filters: readonly Filter[]) => void | Promise<void>
/** Answers an EVENT. `event` is as the client sent it, unchecked. */
export type EventHandler = (client: ScriptedClient, event: unknown) => void | Promise<void>

/** The test's script; every hook is optional and may be replaced at any time via `relay.script`. */
export interface RelayScript {
  /** After the handshake (and after the AUTH challenge when AUTH is demanded). */
  onConnection?: (client: ScriptedClient) => void | Promise<void>
  /** Default: EOSE at once. */
  onReq?: ReqHandler
  /** Default: `OK true ""`. */
  onEvent?: EventHandler
  /** Default: forget the subscription, send nothing. */
  onClose?: (client: ScriptedClient, subId: unknown) => void | Promise<void>
  /** Default: verify (signature, kind 22242, challenge, relay tag, time) and answer OK. */
  onAuth?: (client: ScriptedClient, event: unknown) => void | Promise<void>
  /** Anything else: text that is not JSON, not an array, an unknown type. Default: a NOTICE. */
  onOther?: (client: ScriptedClient, message: unknown, raw: string) => void | Promise<void>
}

/** Options of {@link startScriptedRelay}. */
export interface ScriptedRelayOptions extends RelayScript {
  /**
   * Demand NIP-42 AUTH: send `["AUTH", challenge]` on connect and answer `auth-required:` to
   * EVENTs (`writes`) and/or REQs (`reads`) until a valid AUTH arrives. `true` means both.
   * @default false
   */
  requireAuth?: boolean | { reads?: boolean; writes?: boolean }
  /** NIP-11 document; `null` serves 404. @default null */
  nip11?: Nip11Document | null
  /** How the WebSocket handshake is answered. @default 'accept' */
  handshake?: HandshakeMode
  /** Largest client frame before `ws` closes the connection (1009). @default 16 MiB */
  maxPayload?: number
}

/** A running scripted relay. */
export interface ScriptedRelay {
  /** `ws://127.0.0.1:PORT` */
  readonly url: string
  /** `http://127.0.0.1:PORT` */
  readonly httpUrl: string
  readonly port: number
  /** The hooks in force; assign to change behaviour mid-test. */
  readonly script: RelayScript
  /** Every client message, in order of arrival. */
  readonly received: ReceivedMessage[]
  /** Errors thrown by script hooks (a hook error never crashes the relay). */
  readonly hookErrors: unknown[]
  /** Parsed client messages of one type. */
  messagesOfType(type: string): unknown[][]
  /** Open clients. */
  clients(): ScriptedClient[]
  /** Open server-side connections. */
  connections(): number
  /** Connections accepted since start (across restarts). */
  totalConnections(): number
  /** NIP-11 requests answered since start. */
  nip11Requests(): number
  setNip11(doc: Nip11Document | null): void
  setHandshake(mode: HandshakeMode): void
  /** Sends `event` to every open subscription whose filters match it; returns how many got it. */
  broadcast(event: NostrEvent): number
  /** Drops every connection abruptly, keeps listening. */
  dropConnections(): Promise<void>
  /** Drops every connection and stops listening. */
  kill(): Promise<void>
  /** Listens again on the same port. */
  restart(): Promise<void>
  /** Frees everything (connections, timers, the port). Idempotent. */
  close(): Promise<void>
}

/**
 * Starts a scripted relay on 127.0.0.1 (port 0).
 *
 * @param options - The script and settings; see {@link ScriptedRelayOptions}.
 * @returns the running relay; call `close()` when done.
 * @example
 * ```ts
 * const relay = await startScriptedRelay({
 *   requireAuth: { writes: true },
 *   onReq: behaviours.closeWith('rate-limited: slow down'),
 *   onEvent: behaviours.okAfter(500),
 * })
 * relay.script.onReq = behaviours.dropAfter(3, events) // change behaviour mid-test
 * await relay.close()
 * ```
 */
export async function startScriptedRelay(options: ScriptedRelayOptions = {}): Promise<ScriptedRelay> {
  const script: RelayScript = {
    ...(options.onConnection ? { onConnection: options.onConnection } : {}),
    ...(options.onReq ? { onReq: options.onReq } : {}),
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
    ...(options.onClose ? { onClose: options.onClose } : {}),
    ...(options.onAuth ? { onAuth: options.onAuth } : {}),
    ...(options.onOther ? { onOther: options.onOther } : {}),
  }
  const gate = authGateOf(options.requireAuth)
  const received: ReceivedMessage[] = []
  const hookErrors: unknown[] = []
  const open = new Set<ScriptedClient>()
  let nip11: Nip11Document | null = options.nip11 ?? null
  let handshake: HandshakeMode = options.handshake ?? 'accept'
  let count = 0
  // Filled in once the host listens; clients only exist after that.
  let relayUrl = ''

  const run = async (hook: () => void | Promise<void>): Promise<void> => {
    try {
      await hook()
    } catch (err) {
      hookErrors.push(err)
    }
  }

  const onConnection = (ws: WebSocket, _request: IncomingMessage): void => {
    const client = createClient(ws, ++count)
    open.add(client)
    ws.on('close', () => open.delete(client))
    let queue = Promise.resolve()
    ws.on('message', (data: RawData) => {
      const raw = rawToString(data)
      const message = parseJson(raw)
      received.push({ connection: client.id, raw, message })
      client.received.push(message === undefined ? raw : message)
      queue = queue.then(() => run(() => dispatch(client, message, raw)))
    })
    queue = queue.then(() =>
      run(async () => {
        if (gate.reads || gate.writes) client.auth()
        await script.onConnection?.(client)
      }),
    )
  }

  const dispatch = async (client: ScriptedClient, message: unknown, raw: string): Promise<void> => {
    if (!Array.isArray(message) || typeof message[0] !== 'string') {
      return script.onOther ? script.onOther(client, message, raw) : client.notice('invalid: not a JSON array')
    }
    const [type, ...rest] = message as [string, ...unknown[]]
    if (type === 'REQ' && typeof rest[0] === 'string') {
      const subId = rest[0]
      const filters = rest.slice(1) as Filter[]
      if (gate.reads && !client.pubkey) return client.closed(subId, 'auth-required: authenticate to read here')
      client.subscriptions.set(subId, filters)
      return script.onReq ? script.onReq(client, subId, filters) : client.eose(subId)
    }
    if (type === 'EVENT') {
      const id = (rest[0] as { id?: unknown } | undefined)?.id
      if (gate.writes && !client.pubkey) return client.ok(id, false, 'auth-required: authenticate to publish here')
      return script.onEvent ? script.onEvent(client, rest[0]) : client.ok(id, true, '')
    }
    if (type === 'CLOSE') {
      if (typeof rest[0] === 'string') client.subscriptions.delete(rest[0])
      return script.onClose?.(client, rest[0])
    }
    if (type === 'AUTH') {
      if (script.onAuth) return script.onAuth(client, rest[0])
      return answerAuth(client, rest[0], relayUrl)
    }
    return script.onOther ? script.onOther(client, message, raw) : client.notice(`invalid: unknown message type ${type}`)
  }

  const host = await startWsHost({
    onConnection,
    nip11: () => nip11,
    maxPayload: options.maxPayload ?? 16 * 1024 * 1024,
    handshake: () => handshake,
  })
  relayUrl = host.url
  let closed = false

  return {
    url: host.url,
    httpUrl: host.httpUrl,
    port: host.port,
    script,
    received,
    hookErrors,
    messagesOfType: (type) => messagesOfType(received, type),
    clients: () => [...open],
    connections: () => host.sockets.size,
    totalConnections: () => count,
    nip11Requests: () => host.nip11Requests(),
    setNip11: (doc) => {
      nip11 = doc
    },
    setHandshake: (mode) => {
      handshake = mode
    },
    broadcast: (event) => {
      let sent = 0
      for (const client of open) {
        for (const [subId, filters] of client.subscriptions) {
          if (filters.some((f) => matchesFilter(event, f))) {
            client.event(subId, event)
            sent++
          }
        }
      }
      return sent
    },
    dropConnections: () => host.dropConnections(),
    kill: () => host.kill(),
    restart: () => host.restart(),
    close: async () => {
      if (closed) return
      closed = true
      await host.close(200)
    },
  }
}

function authGateOf(requireAuth: ScriptedRelayOptions['requireAuth']): { reads: boolean; writes: boolean } {
  if (requireAuth === true) return { reads: true, writes: true }
  if (!requireAuth) return { reads: false, writes: false }
  return { reads: Boolean(requireAuth.reads), writes: Boolean(requireAuth.writes) }
}

function createClient(ws: WebSocket, id: number): ScriptedClient {
  const timers = new Set<ReturnType<typeof setTimeout>>()
  ws.on('close', () => {
    for (const t of timers) clearTimeout(t)
    timers.clear()
  })
  const isOpen = (): boolean => ws.readyState === WebSocket.OPEN
  const send = (message: readonly unknown[] | string): void => {
    if (isOpen()) ws.send(typeof message === 'string' ? message : JSON.stringify(message))
  }
  const client: ScriptedClient = {
    id,
    challenge: randomUUID(),
    pubkey: undefined,
    subscriptions: new Map(),
    received: [],
    isOpen,
    send,
    event: (subId, event) => send(['EVENT', subId, event]),
    eose: (subId) => send(['EOSE', subId]),
    closed: (subId, reason) => {
      client.subscriptions.delete(subId)
      send(['CLOSED', subId, reason])
    },
    ok: (eventId, accepted, reason = '') => send(['OK', eventId, accepted, reason]),
    notice: (text) => send(['NOTICE', text]),
    auth: (challenge) => send(['AUTH', challenge ?? client.challenge]),
    later: (ms, fn) => {
      if (!isOpen()) return
      const t = setTimeout(() => {
        timers.delete(t)
        if (isOpen()) fn()
      }, ms)
      timers.add(t)
    },
    close: (code, reason) => ws.close(code, reason),
    terminate: () => ws.terminate(),
  }
  return client
}

function answerAuth(client: ScriptedClient, event: unknown, relayUrl: string): void {
  const id = (event as { id?: unknown } | undefined)?.id
  const problem = authProblem(event, client.challenge, relayUrl)
  if (problem) return client.ok(id, false, problem)
  client.pubkey = (event as NostrEvent).pubkey
  client.ok(id, true, '')
}

/**
 * Why a NIP-42 AUTH event is not acceptable, or `undefined` when it is: shape and signature,
 * kind 22242, the connection's challenge, a `relay` tag naming this relay (scheme ws/wss, same
 * host and port; a trailing slash is fine), `created_at` within 10 minutes of now.
 *
 * @param event - The event the client sent.
 * @param challenge - The challenge sent on this connection.
 * @param relayUrl - This relay's URL.
 * @param now - Unix seconds. @default now
 * @returns an `invalid:` reason, or `undefined`.
 */
export function authProblem(event: unknown, challenge: string, relayUrl: string, now = nowSeconds()): string | undefined {
  if (!isEventShape(event)) return 'invalid: not an event'
  if (!verifyEvent(event)) return 'invalid: bad id or signature'
  if (event.kind !== 22242) return 'invalid: the kind is not 22242'
  const tag = (name: string): string | undefined => event.tags.find((t) => t[0] === name)?.[1]
  if (tag('challenge') !== challenge) return 'invalid: wrong challenge'
  if (!sameRelay(tag('relay'), relayUrl)) return 'invalid: wrong relay'
  if (Math.abs(event.created_at - now) > 600) return 'invalid: created_at too far from now'
  return undefined
}

function sameRelay(tagged: string | undefined, relayUrl: string): boolean {
  if (tagged === undefined) return false
  try {
    const a = new URL(tagged)
    const b = new URL(relayUrl)
    return (a.protocol === 'ws:' || a.protocol === 'wss:') && a.host === b.host && (a.pathname === '/' || a.pathname === '')
  } catch {
    return false
  }
}

/**
 * Whether `event` matches one NIP-01 filter (ids, authors, kinds, since, until, `#x` tags; `limit`
 * and `search` are not conditions). A small reference implementation for the scripted relay.
 *
 * @param event - A signed event.
 * @param filter - A filter as a client sent it.
 * @returns whether every condition holds.
 */
export function matchesFilter(event: NostrEvent, filter: Filter): boolean {
  if (filter.ids && !filter.ids.includes(event.id)) return false
  if (filter.authors && !filter.authors.includes(event.pubkey)) return false
  if (filter.kinds && !filter.kinds.includes(event.kind)) return false
  if (filter.since !== undefined && event.created_at < filter.since) return false
  if (filter.until !== undefined && event.created_at > filter.until) return false
  for (const [key, values] of Object.entries(filter)) {
    if (!key.startsWith('#') || key.length !== 2 || !Array.isArray(values)) continue
    const name = key.slice(1)
    if (!event.tags.some((t) => t[0] === name && t[1] !== undefined && values.includes(t[1]))) return false
  }
  return true
}

/**
 * A copy of `event` whose signature no longer verifies (one hex digit of `sig` changed); the id is
 * unchanged, so it is a bad copy of the same event.
 *
 * @param event - A signed event.
 * @returns the bad copy.
 */
export function withBadSignature(event: NostrEvent): NostrEvent {
  const last = event.sig.slice(-1)
  return { ...event, sig: event.sig.slice(0, -1) + (last === '0' ? '1' : '0') }
}

/**
 * A copy of `event` with other content but the same id and signature (the id no longer matches).
 *
 * @param event - A signed event.
 * @returns the forged copy.
 */
export function withForgedContent(event: NostrEvent): NostrEvent {
  return { ...event, content: `${event.content} (forged)` }
}

/** Events to send: a list, or a function of the index. */
export type EventSource = readonly unknown[] | ((index: number, subId: string) => unknown)

/** Ready-made hooks for the common misbehaviours (and the polite defaults). */
export const behaviours = {
  /**
   * Sends the stored `events` that match the REQ's filters (newest first, honouring `limit` per
   * filter), then EOSE.
   */
  serve(events: readonly NostrEvent[], options: { eose?: boolean } = {}): ReqHandler {
    return (client, subId, filters) => {
      for (const event of selectEvents(events, filters)) client.event(subId, event)
      if (options.eose ?? true) client.eose(subId)
    }
  },

  /** Sends `events` whatever the filters say (events that do not match), then EOSE. */
  serveIgnoringFilters(events: readonly unknown[], options: { eose?: boolean } = {}): ReqHandler {
    return (client, subId) => {
      for (const event of events) client.event(subId, event)
      if (options.eose ?? true) client.eose(subId)
    }
  },

  /** Sends the matching `events` but never EOSE. */
  neverEose(events: readonly NostrEvent[] = []): ReqHandler {
    return behaviours.serve(events, { eose: false })
  },

  /** Answers every REQ with `["CLOSED", subId, reason]` (e.g. `'rate-limited: slow down'`). */
  closeWith(reason: string): ReqHandler {
    return (client, subId) => client.closed(subId, reason)
  },

  /** Sends the first `n` of `events` (ignoring filters), then drops the connection. */
  dropAfter(n: number, events: readonly unknown[]): ReqHandler {
    return (client, subId) => {
      for (const event of events.slice(0, n)) client.event(subId, event)
      client.terminate()
    }
  },

  /**
   * Sends `count` EVENT messages as fast as the socket takes them (a list is cycled), then EOSE
   * unless `eose: false`.
   */
  flood(count: number, source: EventSource, options: { eose?: boolean } = {}): ReqHandler {
    return (client, subId) => {
      for (let i = 0; i < count && client.isOpen(); i++) client.event(subId, eventAt(source, i, subId))
      if (options.eose ?? true) client.eose(subId)
    }
  },

  /** Sends each raw string as a frame (malformed JSON, wrong shapes, huge messages), then EOSE. */
  sendRaw(frames: readonly string[], options: { eose?: boolean } = {}): ReqHandler {
    return (client, subId) => {
      for (const frame of frames) client.send(frame)
      if (options.eose ?? true) client.eose(subId)
    }
  },

  /** Answers every EVENT with `["OK", id, accepted, reason]`. */
  okWith(accepted: boolean, reason = ''): EventHandler {
    return (client, event) => client.ok(idOf(event), accepted, reason)
  },

  /** Answers every EVENT after `ms`. */
  okAfter(ms: number, accepted = true, reason = ''): EventHandler {
    return (client, event) => client.later(ms, () => client.ok(idOf(event), accepted, reason))
  },

  /** Never answers an EVENT. */
  okNever(): EventHandler {
    return () => {}
  },

  /**
   * A tiny working relay in memory: EVENTs are stored (and checked with `verifyEvent`: a bad one
   * gets `OK false "invalid: ..."`), REQs served from the store, new events sent to matching open
   * subscriptions of every client. Returns the hooks and the store.
   */
  memory(): { onReq: ReqHandler; onEvent: EventHandler; events: NostrEvent[] } {
    const events: NostrEvent[] = []
    const listeners = new Set<ScriptedClient>()
    const onReq: ReqHandler = (client, subId, filters) => {
      listeners.add(client)
      behaviours.serve(events)(client, subId, filters)
    }
    const onEvent: EventHandler = (client, event) => {
      if (!verifyEvent(event)) return client.ok(idOf(event), false, 'invalid: bad id or signature')
      if (events.some((e) => e.id === event.id)) return client.ok(event.id, true, 'duplicate: already have it')
      events.push(event)
      client.ok(event.id, true, '')
      for (const c of listeners) {
        if (!c.isOpen()) {
          listeners.delete(c)
          continue
        }
        for (const [subId, filters] of c.subscriptions) if (filters.some((f) => matchesFilter(event, f))) c.event(subId, event)
      }
    }
    return { onReq, onEvent, events }
  },
}

function idOf(event: unknown): unknown {
  return (event as { id?: unknown } | null | undefined)?.id
}

function eventAt(source: EventSource, i: number, subId: string): unknown {
  if (typeof source === 'function') return source(i, subId)
  return source.length === 0 ? undefined : source[i % source.length]
}

function selectEvents(events: readonly NostrEvent[], filters: readonly Filter[]): NostrEvent[] {
  const chosen = new Map<string, NostrEvent>()
  const newestFirst = [...events].sort((a, b) => b.created_at - a.created_at || a.id.localeCompare(b.id))
  for (const filter of filters) {
    const matching = newestFirst.filter((e) => matchesFilter(e, filter))
    const limited = typeof filter.limit === 'number' ? matching.slice(0, Math.max(0, filter.limit)) : matching
    for (const e of limited) chosen.set(e.id, e)
  }
  return [...chosen.values()].sort((a, b) => b.created_at - a.created_at || a.id.localeCompare(b.id))
}
