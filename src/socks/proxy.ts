/**
 * `socksProxy()`: one SOCKS5 proxy (Tor, say) as a {@link ProxyTransport}: the WebSocket factory
 * and the fetch a client routes everything through.
 *
 * @module
 */
import { randomBytes } from 'node:crypto'
import type { ConnectionOptions } from 'node:tls'
import type { ProxyTransport } from '../relay-pool/types.js'
import { createSocksFetch } from './fetch.js'
import { checkCredential } from './handshake.js'
import { createTunnelOpener } from './tunnel.js'
import { createSocksWebSocketFactory } from './websocket.js'

/** Options of {@link socksProxy}. */
export interface SocksProxyOptions {
  /** The proxy's address (Tor: `127.0.0.1`). */
  readonly host: string
  /** The proxy's port (Tor: 9050; Tor Browser: 9150). */
  readonly port: number
  /** RFC 1929 username; with `password`, only username/password authentication is offered. */
  readonly username?: string
  /** RFC 1929 password. */
  readonly password?: string
  /**
   * Tor stream isolation: each relay host gets its own SOCKS username (`<username>-<random>`, the
   * random part kept for the proxy's life), so with Tor's `IsolateSOCKSAuth` (on by default) each
   * relay is reached over its own circuit and exit, and no exit sees which other relays you use.
   * For Tor only: a proxy that checks credentials would refuse the changed usernames.
   * @default false
   */
  readonly isolate?: boolean
  /**
   * Whether the proxy can reach `.onion` hosts; the client allows `.onion` relays only then.
   * @default true (Tor)
   */
  readonly reachesOnion?: boolean
  /**
   * Time for the SOCKS handshake and TLS, in ms. Tor may need several seconds to build a circuit;
   * the pool's own `connectTimeoutMs` still bounds each WebSocket.
   * @default 30_000
   */
  readonly timeoutMs?: number
  /**
   * Largest HTTP response body its fetch accepts, in bytes.
   * @default 5_242_880 (5 MiB)
   */
  readonly maxResponseBytes?: number
  /**
   * Largest incoming WebSocket frame when the pool does not say (the pool passes its
   * `maxMessageBytes`).
   * @default 1_048_576 (1 MiB)
   */
  readonly maxPayloadBytes?: number
  /**
   * Redirects its fetch follows in `redirect: 'follow'` mode.
   * @default 5
   */
  readonly maxRedirects?: number
  /** Extra TLS options for `wss:`/`https:` through the proxy (a private CA, say). SNI is always set. */
  readonly tls?: ConnectionOptions
}

/** Hosts remembered for stream isolation before the oldest is forgotten. */
const MAX_ISOLATED_HOSTS = 10_000

function positive(value: number | undefined, fallback: number, field: string, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback
  if (!Number.isSafeInteger(value) || value < 1 || value > max) throw new RangeError(`${field} must be an integer from 1 to ${max}`)
  return value
}

/**
 * A SOCKS5 proxy (RFC 1928, RFC 1929) for every connection of a client: relay WebSockets (`ws` and
 * `wss`, TLS with SNI on top of the tunnel) and HTTP requests (NIP-11, NIP-05, LNURL). Host names
 * are resolved by the proxy, never locally: no DNS leak, and `.onion` relays work through Tor.
 * Node only. No dependency beyond `ws`.
 *
 * @param options - where the proxy listens, credentials, stream isolation, bounds.
 * @returns a {@link ProxyTransport} for `createClient({ proxy })` (or the pool's
 *   `webSocketFactory`, `onionWebSocketFactory` and `fetch`).
 * @throws TypeError / RangeError for a bad option, naming it.
 * @example
 * ```ts
 * import { createClient } from 'nostr-rendezvous'
 * import { socksProxy } from 'nostr-rendezvous/socks'
 * const client = createClient({
 *   indexerRelays: ['wss://purplepag.es'],
 *   proxy: socksProxy({ host: '127.0.0.1', port: 9050, isolate: true }),
 * })
 * ```
 */
export function socksProxy(options: SocksProxyOptions): ProxyTransport {
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object')
  if (typeof options.host !== 'string' || options.host === '') throw new TypeError('host must be a non-empty string')
  positive(options.port, 0, 'port', 65_535)
  if (options.username !== undefined) checkCredential(options.username, 'username')
  if (options.password !== undefined) checkCredential(options.password, 'password')
  if (options.isolate !== undefined && typeof options.isolate !== 'boolean') throw new TypeError('isolate must be a boolean')
  if (options.reachesOnion !== undefined && typeof options.reachesOnion !== 'boolean') throw new TypeError('reachesOnion must be a boolean')
  if (options.tls !== undefined && (options.tls === null || typeof options.tls !== 'object')) throw new TypeError('tls must be an object')
  const timeoutMs = positive(options.timeoutMs, 30_000, 'timeoutMs', 2_147_483_647)
  const maxResponseBytes = positive(options.maxResponseBytes, 5 * 1024 * 1024, 'maxResponseBytes')
  const maxPayloadBytes = positive(options.maxPayloadBytes, 1024 * 1024, 'maxPayloadBytes')
  const maxRedirects = options.maxRedirects ?? 5
  if (!Number.isSafeInteger(maxRedirects) || maxRedirects < 0 || maxRedirects > 20) throw new RangeError('maxRedirects must be an integer from 0 to 20')
  const base = options.username === undefined && options.password === undefined ? {} : { username: options.username ?? 'rendezvous', password: options.password ?? 'rendezvous' }
  const isolated = new Map<string, string>()
  const credentialsFor = (host: string): { username?: string; password?: string } => {
    if (options.isolate !== true) return base
    let token = isolated.get(host)
    if (token === undefined) {
      token = randomBytes(8).toString('hex')
      if (isolated.size >= MAX_ISOLATED_HOSTS) isolated.delete(isolated.keys().next().value as string)
      isolated.set(host, token)
    }
    return { username: `${options.username ?? 'rendezvous'}-${token}`, password: options.password ?? 'rendezvous' }
  }
  const open = createTunnelOpener({
    proxy: { host: options.host, port: options.port },
    credentialsFor,
    timeoutMs,
    ...(options.tls !== undefined && { tls: options.tls }),
  })
  return Object.freeze({
    webSocketFactory: createSocksWebSocketFactory(open, { maxPayloadBytes }),
    fetch: createSocksFetch(open, { maxResponseBytes, maxRedirects }),
    reachesOnion: options.reachesOnion ?? true,
  })
}
