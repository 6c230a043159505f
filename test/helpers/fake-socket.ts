/**
 * An in-memory WebSocket for pool tests that need no network at all: it implements the pool's
 * `WebSocketLike`, opens (or refuses, or hangs) on a microtask like a real socket would after the
 * handshake, hands every frame the pool sends to the test synchronously, and lets the test push
 * frames into the pool exactly as a relay's socket would (`onmessage({ data })`).
 *
 * Nothing here touches a timer or a file descriptor, so the suite's leak check sees nothing of it.
 *
 * @example
 * ```ts
 * const fake = createFakeSocketFactory({ onSend: (text, socket) => { if (text.startsWith('["REQ"')) socket.receive('["EOSE","rz1"]') } })
 * const pool = createRelayPool({ webSocketFactory: fake.factory, fetch: false })
 * ```
 *
 * @module
 */
import type { WebSocketFactory, WebSocketLike } from '../../src/relay-pool/types.js'

const CONNECTING = 0
const OPEN = 1
const CLOSING = 2
const CLOSED = 3

/** What a new fake socket does after it is created. */
export type FakeSocketBehaviour =
  /** Opens on the next microtask. */
  | 'open'
  /** Fails on the next microtask: `onerror`, then `onclose` with code 1006. */
  | 'refuse'
  /** Stays connecting until closed. */
  | 'hang'

/** Options of {@link createFakeSocketFactory}. */
export interface FakeSocketOptions {
  /** @default 'open' */
  readonly behaviour?: FakeSocketBehaviour
  /** Called synchronously with each text frame the pool sends (after it is recorded in `sent`). */
  readonly onSend?: (text: string, socket: FakeSocket) => void
  /** Keep every sent frame in {@link FakeSocket.sent}. @default true */
  readonly record?: boolean
}

/** One in-memory socket. The pool drives the `WebSocketLike` side; the test drives the rest. */
export class FakeSocket implements WebSocketLike {
  /** The URL the pool asked for. */
  readonly url: string
  readyState = CONNECTING
  onopen: ((event: unknown) => void) | null = null
  onmessage: ((event: { data: unknown }) => void) | null = null
  onerror: ((event: unknown) => void) | null = null
  onclose: ((event: { code?: number; reason?: string }) => void) | null = null
  /** Frames the pool sent, in order (when recording). */
  readonly sent: string[] = []
  /** Frames the pool sent, counted even when not recorded. */
  sentCount = 0
  /** How the socket was closed, once it was: by the pool (`close()`) or by the test (`drop()`). */
  closedBy: 'pool' | 'relay' | undefined
  readonly #options: FakeSocketOptions

  constructor(url: string, options: FakeSocketOptions = {}) {
    this.url = url
    this.#options = options
    const behaviour = options.behaviour ?? 'open'
    if (behaviour === 'hang') return
    queueMicrotask(() => {
      if (this.readyState !== CONNECTING) return
      if (behaviour === 'open') {
        this.readyState = OPEN
        this.onopen?.({ type: 'open' })
      } else {
        this.readyState = CLOSED
        this.onerror?.({ type: 'error' })
        this.onclose?.({ code: 1006, reason: '' })
      }
    })
  }

  /** Like `WebSocket.send`: throws unless open, as browsers do. */
  send(data: string): void {
    if (this.readyState !== OPEN) throw new Error(`send() on a fake socket in state ${this.readyState}`)
    if (typeof data !== 'string') throw new TypeError('the pool sends text frames only')
    this.sentCount += 1
    if (this.#options.record !== false) this.sent.push(data)
    this.#options.onSend?.(data, this)
  }

  /** Like `WebSocket.close`: `onclose` follows on a microtask. */
  close(code = 1005, reason = ''): void {
    if (this.readyState === CLOSING || this.readyState === CLOSED) return
    this.closedBy ??= 'pool'
    this.readyState = CLOSING
    queueMicrotask(() => {
      this.readyState = CLOSED
      this.onclose?.({ code, reason })
    })
  }

  /**
   * Delivers one incoming frame, as the relay's socket would. Exceptions from the handler are not
   * caught: a test that feeds hostile frames wants to see them.
   *
   * @param data - a string for a text frame, or bytes / anything else for a binary or exotic frame.
   * @returns false when nobody listens (the pool let go of this socket, or it is not open).
   */
  receive(data: unknown): boolean {
    const handler = this.onmessage
    if (handler === null || this.readyState !== OPEN) return false
    handler.call(this, { data })
    return true
  }

  /** The relay drops the connection: `onclose` with `code` on a microtask. */
  drop(code = 1006, reason = ''): void {
    if (this.readyState === CLOSED) return
    this.closedBy ??= 'relay'
    this.readyState = CLOSING
    queueMicrotask(() => {
      this.readyState = CLOSED
      this.onclose?.({ code, reason })
    })
  }
}

/** A factory for the pool's `webSocketFactory` option, and every socket it made. */
export interface FakeSocketFactory {
  /** Pass as `webSocketFactory`. */
  readonly factory: WebSocketFactory
  /** Every socket made, oldest first. */
  readonly sockets: FakeSocket[]
}

/**
 * Makes a {@link WebSocketFactory} whose sockets are {@link FakeSocket}s.
 *
 * @param options - what new sockets do and where their sent frames go.
 * @returns the factory and the list of sockets it made.
 */
export function createFakeSocketFactory(options: FakeSocketOptions = {}): FakeSocketFactory {
  const sockets: FakeSocket[] = []
  const factory: WebSocketFactory = (url) => {
    const socket = new FakeSocket(url, options)
    sockets.push(socket)
    return socket
  }
  return { factory, sockets }
}
