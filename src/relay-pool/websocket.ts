/**
 * The default WebSocket factory: the browser's own `WebSocket` in browsers, the `ws` package in
 * Node (through `isomorphic-ws`, which bundlers resolve to the browser build).
 *
 * In Node the factory also sets `ws`'s `maxPayload`, so a hostile relay cannot make the process
 * buffer a huge frame before the pool's own size check sees it.
 *
 * @module
 */

import WebSocket from 'isomorphic-ws'
import type { WebSocketFactory, WebSocketLike } from './types.js'

/**
 * Builds the factory the pool uses when the app gives none.
 *
 * @param maxPayloadBytes Largest incoming frame accepted (Node only; browsers do not offer it).
 * @returns A {@link WebSocketFactory}.
 * @example
 * ```ts
 * import { defaultWebSocketFactory } from 'nostr-rendezvous/relay-pool'
 * const socket = defaultWebSocketFactory(1 << 20)('wss://relay.example.com')
 * ```
 */
export function defaultWebSocketFactory(maxPayloadBytes: number): WebSocketFactory {
  const Native = (globalThis as { WebSocket?: unknown }).WebSocket
  const isNative = Native !== undefined && (WebSocket as unknown) === Native
  return (url: string): WebSocketLike => {
    if (isNative) return new WebSocket(url) as unknown as WebSocketLike
    // `ws` takes options as its third argument (the second is the subprotocol list).
    const Ws = WebSocket as unknown as new (url: string, protocols: undefined, options: object) => WebSocketLike
    return new Ws(url, undefined, { maxPayload: maxPayloadBytes })
  }
}
