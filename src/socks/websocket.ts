/**
 * A {@link WebSocketFactory} whose sockets go through the SOCKS5 proxy: `ws` with its
 * `createConnection` replaced by the tunnel (handshake, then TLS for `wss:`). `ws` never opens a
 * TCP connection or resolves a name itself.
 *
 * @module
 */
import type { Duplex } from 'node:stream'
import WebSocket from 'ws'
import type { WebSocketFactory, WebSocketLike } from '../relay-pool/types.js'
import type { TunnelOpener } from './tunnel.js'

/** Options of {@link createSocksWebSocketFactory}. @internal */
export interface SocksWebSocketOptions {
  /** Frame cap when the pool gives none. */
  readonly maxPayloadBytes: number
}

/**
 * Builds the factory. Closing or terminating a socket that is still in the SOCKS handshake stops
 * the handshake at once (the pool does that on its connect timeout), so no tunnel outlives it.
 *
 * @internal
 */
export function createSocksWebSocketFactory(open: TunnelOpener, options: SocksWebSocketOptions): WebSocketFactory {
  return (url, factoryOptions) => {
    const secure = /^(wss|https):/i.test(url)
    const handshake = new AbortController()
    type Callback = (error: Error | null, socket: Duplex) => void
    const createConnection = (connectOptions: { host?: string | null; port?: number | string | null }, callback: Callback): undefined => {
      const host = connectOptions.host ?? ''
      const port = Number(connectOptions.port ?? (secure ? 443 : 80))
      open({ host, port, secure }, handshake.signal).then(
        (socket) => callback(null, socket),
        (error: Error) => callback(error, undefined as unknown as Duplex),
      )
      return undefined
    }
    const socket = new WebSocket(url, undefined, {
      maxPayload: factoryOptions?.maxPayloadBytes ?? options.maxPayloadBytes,
      createConnection: createConnection as unknown as NonNullable<WebSocket.ClientOptions['createConnection']>,
    })
    // Until the tunnel is up, `ws` has no socket to destroy: stop the handshake ourselves.
    const terminate = socket.terminate.bind(socket)
    const close = socket.close.bind(socket)
    socket.terminate = () => {
      handshake.abort()
      terminate()
    }
    socket.close = (code?: number, reason?: string | Buffer) => {
      if (socket.readyState === WebSocket.CONNECTING) handshake.abort()
      close(code, reason)
    }
    return socket as unknown as WebSocketLike
  }
}
