/**
 * Types shared by the relay-pool modules: filters, relay limits, the machine-readable prefixes of
 * NIP-01 `OK`/`CLOSED` messages, and where a relay URL came from.
 *
 * See [NIP-01](https://github.com/nostr-protocol/nips/blob/master/01.md) and
 * [NIP-11](https://github.com/nostr-protocol/nips/blob/master/11.md).
 *
 * @module
 */

/**
 * A NIP-01 subscription filter. Tag filters are keyed `#` plus one letter (`#e`, `#p`, `#t`, ...).
 * All conditions of one filter must hold; a list of filters matches when any one does.
 */
export interface Filter {
  /** Event ids (64-char lower-case hex). */
  ids?: readonly string[]
  /** Author public keys (64-char lower-case hex). */
  authors?: readonly string[]
  /** Event kinds. */
  kinds?: readonly number[]
  /** Only events with `created_at >= since`. */
  since?: number
  /** Only events with `created_at <= until`. */
  until?: number
  /** At most this many events, newest first, before EOSE. */
  limit?: number
  /** NIP-50 full-text search, for relays that offer it. */
  search?: string
  /** Tag filters such as `#e`, `#p`, `#t`: the event must carry one of these values. */
  [tag: `#${string}`]: readonly string[] | undefined
}

/**
 * The limits a relay imposes on one connection, from its NIP-11 document or the defaults in
 * {@link DEFAULT_RELAY_LIMITS}. The pool shapes every REQ to fit them.
 */
export interface RelayLimits {
  /** Subscriptions open at once on one connection (NIP-11 `max_subscriptions`). */
  readonly maxSubscriptions: number
  /** Filters in one REQ (legacy NIP-11 `max_filters`). */
  readonly maxFilters: number
  /** The relay clamps each filter's `limit` to this (NIP-11 `max_limit`). */
  readonly maxLimit: number
  /** Bytes of one client message, from `[` to `]` (NIP-11 `max_message_length`). */
  readonly maxMessageLength: number
  /** Authors in one filter before the pool splits it (no NIP-11 field; a safe size). */
  readonly maxAuthorsPerFilter: number
  /** Ids in one filter before the pool splits it (no NIP-11 field; a safe size). */
  readonly maxIdsPerFilter: number
  /** Subscription id length (NIP-11 `max_subid_length`). */
  readonly maxSubidLength: number
  /** The relay wants NIP-42 AUTH before anything else (NIP-11 `auth_required`). */
  readonly authRequired: boolean
  /** The relay wants payment before anything else (NIP-11 `payment_required`). */
  readonly paymentRequired: boolean
  /** Writes are restricted to some condition (NIP-11 `restricted_writes`). */
  readonly restrictedWrites: boolean
  /** Minimum NIP-13 difficulty for new events (NIP-11 `min_pow_difficulty`), 0 when none. */
  readonly minPowDifficulty: number
}

/**
 * Limits assumed for a relay that publishes none. Chosen to fit the common relay
 * implementations' defaults (20 subscriptions per connection is the usual cap; 500 per filter is
 * the usual `max_limit`), so a relay that says nothing is not overrun.
 */
export const DEFAULT_RELAY_LIMITS: RelayLimits = Object.freeze({
  maxSubscriptions: 20,
  maxFilters: 10,
  maxLimit: 500,
  maxMessageLength: 65_536,
  maxAuthorsPerFilter: 250,
  maxIdsPerFilter: 250,
  maxSubidLength: 64,
  authRequired: false,
  paymentRequired: false,
  restrictedWrites: false,
  minPowDifficulty: 0,
})

/**
 * The machine-readable prefixes of NIP-01 `OK` and `CLOSED` messages (plus NIP-42's
 * `auth-required`).
 */
export const MACHINE_PREFIXES = [
  'duplicate',
  'pow',
  'blocked',
  'rate-limited',
  'invalid',
  'restricted',
  'mute',
  'error',
  'auth-required',
] as const

/** One of {@link MACHINE_PREFIXES}. */
export type MachinePrefix = (typeof MACHINE_PREFIXES)[number]

/**
 * Where a relay URL came from. `configured` URLs were chosen by the user or the app (settings,
 * indexer relays); `discovered` URLs were taken from other people's relay lists, hints and tags.
 * The connect policy is stricter with `discovered` URLs: it refuses private, loopback and
 * link-local addresses there unless explicitly allowed.
 */
export type RelayOrigin = 'configured' | 'discovered'

/**
 * The part of the WebSocket API the pool uses: the browser's `WebSocket`, the `ws` package's, or
 * any object a custom {@link WebSocketFactory} returns (one that tunnels through a SOCKS proxy such
 * as Tor, or an in-memory fake in tests). Text frames only.
 */
export interface WebSocketLike {
  /** 0 connecting, 1 open, 2 closing, 3 closed (the WebSocket constants). */
  readonly readyState: number
  /** Sends one text frame. */
  send(data: string): void
  /** Starts the closing handshake. */
  close(code?: number, reason?: string): void
  /** Set by the pool. */
  onopen: ((event: unknown) => void) | null
  /** Set by the pool; `data` is a string for text frames. */
  onmessage: ((event: { data: unknown }) => void) | null
  /** Set by the pool. */
  onerror: ((event: unknown) => void) | null
  /** Set by the pool. */
  onclose: ((event: { code?: number; reason?: string }) => void) | null
}

/** What the pool tells a {@link WebSocketFactory} about the socket it wants. */
export interface WebSocketFactoryOptions {
  /**
   * Largest incoming frame the pool accepts (its `maxMessageBytes`). A factory that can cap frames
   * (`ws`'s `maxPayload`) should, so a hostile relay cannot make it buffer a huge frame first.
   */
  readonly maxPayloadBytes?: number
}

/**
 * Opens a WebSocket to a relay URL. The pool calls it once per connection attempt, with
 * {@link WebSocketFactoryOptions} as the second argument.
 *
 * @example
 * ```ts
 * import WebSocket from 'ws'
 * import { SocksProxyAgent } from 'socks-proxy-agent'
 * const agent = new SocksProxyAgent('socks5h://127.0.0.1:9050')
 * const viaTor: WebSocketFactory = (url) => new WebSocket(url, { agent })
 * ```
 */
export type WebSocketFactory = (url: string, options?: WebSocketFactoryOptions) => WebSocketLike

/**
 * A proxy every connection of a client goes through (a SOCKS5 proxy such as Tor): WebSockets to
 * relays and HTTP requests (NIP-11, NIP-05, LNURL) alike. `nostr-rendezvous/socks` builds one
 * with `socksProxy()`; any object of this shape works (an app's own tunnel).
 *
 * @example
 * ```ts
 * import { createClient } from 'nostr-rendezvous'
 * import { socksProxy } from 'nostr-rendezvous/socks'
 * const client = createClient({
 *   indexerRelays: ['wss://purplepag.es'],
 *   proxy: socksProxy({ host: '127.0.0.1', port: 9050 }),
 * })
 * ```
 */
export interface ProxyTransport {
  /** Opens WebSockets to relays through the proxy (`.onion` ones too when {@link reachesOnion}). */
  readonly webSocketFactory: WebSocketFactory
  /** A `fetch` whose requests go through the proxy. */
  readonly fetch: typeof fetch
  /** The proxy resolves `.onion` names (Tor): `.onion` relays are allowed only then. */
  readonly reachesOnion: boolean
}
