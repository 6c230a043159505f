/**
 * A stream to a host through the SOCKS5 proxy: the handshake ({@link socksConnect}), then TLS with
 * SNI for `wss:`/`https:` (the proxy only sees encrypted bytes). Shared by the WebSocket factory and
 * the fetch of `socksProxy`, so both go through the same checks.
 *
 * @module
 */
import { isIP, type Socket } from 'node:net'
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls'
import { RelayError } from '../errors.js'
import { socksConnect, type SocksEndpoint } from './handshake.js'

/** Where to go and how. @internal */
export interface TunnelTarget {
  readonly host: string
  readonly port: number
  /** TLS over the tunnel (wss:, https:). */
  readonly secure: boolean
}

/** Settings shared by every tunnel of one proxy. @internal */
export interface TunnelSettings {
  /** The proxy; `credentialsFor` may replace the credentials per target host. */
  readonly proxy: SocksEndpoint
  /** Credentials for one target host (stream isolation), or the proxy's own. */
  readonly credentialsFor: (host: string) => { username?: string; password?: string }
  readonly timeoutMs: number
  /** Extra TLS options (a private CA in tests, say). SNI is set from the host name. */
  readonly tls?: ConnectionOptions
}

/** Opens a tunnel to a host (TLS included); the callback style of `http.request`'s `createConnection`. @internal */
export type TunnelOpener = (target: TunnelTarget, signal?: AbortSignal) => Promise<Socket | TLSSocket>

/**
 * Builds the tunnel opener of one proxy.
 *
 * @internal
 */
export function createTunnelOpener(settings: TunnelSettings): TunnelOpener {
  return async (target, signal) => {
    const host = target.host.startsWith('[') ? target.host.slice(1, -1) : target.host
    const credentials = settings.credentialsFor(host.toLowerCase())
    const started = Date.now()
    const socket = await socksConnect(
      { host: settings.proxy.host, port: settings.proxy.port, ...credentials },
      { host, port: target.port },
      { timeoutMs: settings.timeoutMs, ...(signal !== undefined && { signal }) },
    )
    if (!target.secure) return socket
    const remaining = Math.max(1, settings.timeoutMs - (Date.now() - started))
    return startTls(socket, host, remaining, settings.tls, signal)
  }
}

/** TLS over an open tunnel, bounded by the rest of the handshake time and the signal. */
function startTls(socket: Socket, host: string, timeoutMs: number, extra: ConnectionOptions | undefined, signal: AbortSignal | undefined): Promise<TLSSocket> {
  return new Promise<TLSSocket>((resolve, reject) => {
    const secure = tlsConnect({
      ALPNProtocols: ['http/1.1'],
      ...extra,
      socket,
      // SNI names the relay to the relay only: the proxy sees the name in the CONNECT anyway.
      ...(isIP(host) === 0 && { servername: host }),
    })
    let settled = false
    const finish = (error?: Error): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      secure.off('error', onError)
      if (error === undefined) {
        // Errors from here on are reported to the stream's user (http, ws); never crash on one.
        secure.on('error', () => {})
        resolve(secure)
      } else {
        secure.destroy()
        socket.destroy()
        reject(error)
      }
    }
    const onError = (cause: Error): void =>
      finish(new RelayError('RELAY_CONNECTION_FAILED', 'TLS through the SOCKS proxy failed', { details: `${host}: ${cause.message}`, cause }))
    const onAbort = (): void => finish(new RelayError('RELAY_ABORTED', 'Aborted during TLS', { details: host }))
    const timer = setTimeout(() => finish(new RelayError('RELAY_TIMEOUT', 'TLS through the SOCKS proxy took too long', { details: host })), timeoutMs)
    secure.once('secureConnect', () => finish())
    secure.on('error', onError)
    if (signal?.aborted) onAbort()
    else signal?.addEventListener('abort', onAbort, { once: true })
  })
}
