/**
 * SOCKS5 proxy transport for Node (`nostr-rendezvous/socks`): route every relay WebSocket and every
 * HTTP request of a client through a SOCKS5 proxy such as Tor, with host names resolved by the
 * proxy (no DNS leak, `.onion` relays reachable) and optional Tor stream isolation per relay host.
 * See `docs/privacy.md`.
 *
 * @example
 * ```ts
 * import { createClient } from 'nostr-rendezvous'
 * import { socksProxy } from 'nostr-rendezvous/socks'
 * const client = createClient({
 *   indexerRelays: ['wss://purplepag.es'],
 *   proxy: socksProxy({ host: '127.0.0.1', port: 9050, isolate: true }),
 * })
 * ```
 *
 * @module
 */
export { socksProxy, type SocksProxyOptions } from './proxy.js'
export { SOCKS_REPLY_REASONS, socksConnect, socksReplyReason, type SocksConnectOptions, type SocksEndpoint } from './handshake.js'
export type { ProxyTransport } from '../relay-pool/types.js'
export { RelayError, RendezvousError } from '../errors.js'
