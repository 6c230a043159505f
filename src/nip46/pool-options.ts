/**
 * The options of the pool a remote signer or a bunker creates for itself, with the app's proxy
 * applied the way the client applies it: every WebSocket and NIP-11 request through the proxy, so
 * a Tor user's NIP-46 traffic never goes around it.
 *
 * @module
 */
import type { RelayPoolOptions } from '../relay-pool/pool.js'
import type { ProxyTransport } from '../relay-pool/types.js'
import { createMainThreadVerifier } from '../relay-pool/verifier.js'

/**
 * Pool options for NIP-46's own pool: main-thread verification, the caller's `poolOptions`, then
 * the proxy's socket factories and fetch over them (a proxy wins over a `webSocketFactory` given in
 * `poolOptions`; `fetch: false` stays off).
 *
 * @throws TypeError when `proxy` is not a {@link ProxyTransport}.
 * @internal
 */
export function nip46PoolOptions(proxy: ProxyTransport | undefined, poolOptions: RelayPoolOptions | undefined): RelayPoolOptions {
  if (proxy === undefined) return { verifier: createMainThreadVerifier(), ...poolOptions }
  if (proxy === null || typeof proxy !== 'object' || typeof proxy.webSocketFactory !== 'function' || typeof proxy.fetch !== 'function') {
    throw new TypeError('options.proxy must have a webSocketFactory and a fetch')
  }
  return {
    verifier: createMainThreadVerifier(),
    ...poolOptions,
    webSocketFactory: proxy.webSocketFactory,
    onionWebSocketFactory: proxy.reachesOnion === true ? proxy.webSocketFactory : undefined,
    fetch: poolOptions?.fetch === false ? false : proxy.fetch,
  }
}

/**
 * A proxy with a pool of the caller's would be silently unused (the pool has its own sockets):
 * refused, so a Tor user never believes traffic is proxied when it is not.
 *
 * @throws TypeError when both are given.
 * @internal
 */
export function assertProxyOrPool(options: { readonly proxy?: unknown; readonly pool?: unknown }): void {
  if (options.proxy !== undefined && options.pool !== undefined) {
    throw new TypeError('options.proxy and options.pool exclude each other: give the proxy to your pool (webSocketFactory, onionWebSocketFactory, fetch)')
  }
}
