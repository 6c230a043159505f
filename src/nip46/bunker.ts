/**
 * The remote-signer side of NIP-46: a bunker that serves another app from a local {@link Signer}.
 *
 * A client connects either with the `bunker://` token this bunker makes ({@link Bunker.bunkerUri}:
 * its secret works once, then a new one is made) or through a `nostrconnect://` token the user
 * hands to {@link Bunker.acceptNostrConnect}. A connected client may then ask for the user's public
 * key, signatures and NIP-04/NIP-44 encryption; each request is checked against the permissions
 * granted at connect time (`sign_event:1` pre-approves signing kind 1) and otherwise put to the
 * app's `approve` callback. Refusals are answered with an error response.
 *
 * Bounds: requests from clients that never connected are refused (and rate-limited together, before
 * any decryption); each client has its own rate limit and a cap on requests waiting for approval;
 * oversized or stale events are dropped; an approval that takes too long counts as a refusal.
 *
 * @see https://github.com/nostr-protocol/nips/blob/master/46.md
 * @module
 */
import { equalBytes, isHex, utf8Encoder } from '../crypto/bytes.js'
import { nowSeconds, serializeEvent, type EventTemplate } from '../crypto/event.js'
import { isValidPublicKey } from '../crypto/keys.js'
import type { Signer } from '../crypto/signer.js'
import { CryptoError, RendezvousError } from '../errors.js'
import { createRelayPool, type RelayPool, type RelayPoolOptions } from '../relay-pool/pool.js'
import type { ProxyTransport, RelayOrigin } from '../relay-pool/types.js'
import { describeReport, Nip46Channel, type ChannelMessage, type DropCounts, type Listening, type SendTarget } from './channel.js'
import { normalizePermissions, parsePermissions, permits } from './permissions.js'
import { assertProxyOrPool, nip46PoolOptions } from './pool-options.js'
import { DEFAULT_MAX_CONTENT_LENGTH, newRequestId, newSecret, parseRequest, type CipherScheme, type Nip46Request } from './protocol.js'
import { assertRateLimit, TokenBucket, type RateLimit } from './rate-limit.js'
import { assertRelays, assertSecret, buildBunkerUri, MAX_URI_RELAYS, parseNostrConnectUri, sanitizeClientMetadata, type ClientMetadata } from './uri.js'

/** Default per-client rate: bursts of 30 requests, 5 per second on average. */
export const DEFAULT_CLIENT_RATE_LIMIT: RateLimit = Object.freeze({ burst: 30, perSecond: 5 })
/** Default rate for all clients that have not connected, together: 10 at once, 1 per second. */
export const DEFAULT_STRANGER_RATE_LIMIT: RateLimit = Object.freeze({ burst: 10, perSecond: 1 })
/** Default bound on one approval: no answer counts as no. */
export const DEFAULT_APPROVAL_TIMEOUT_MS = 120_000

/** The methods a connected client may call without approval: they reveal or change nothing. */
const ALWAYS_ALLOWED = new Set(['ping', 'get_public_key', 'switch_relays', 'logout'])
/** Methods whose permission is checked (and approval asked when not granted). */
const GUARDED = new Set(['sign_event', 'nip04_encrypt', 'nip04_decrypt', 'nip44_encrypt', 'nip44_decrypt'])

/** What the bunker asks the app before doing something for a client. */
export interface ApprovalRequest {
  /** `connect`, `sign_event`, `nip04_encrypt`, `nip04_decrypt`, `nip44_encrypt` or `nip44_decrypt`. */
  readonly method: string
  /** The client's public key (hex). */
  readonly clientPubkey: string
  /** What the client says it is (unauthenticated: a display hint, never a reason to trust). */
  readonly client: ClientMetadata
  /** For `sign_event`: the event's kind. */
  readonly kind?: number
  /** For `sign_event`: the event to sign. */
  readonly event?: Readonly<Required<EventTemplate>>
  /** For the encryption methods: the other party's public key. */
  readonly peerPubkey?: string
  /** For `connect`: the permissions asked for; approving grants them. */
  readonly perms?: readonly string[]
  /** One line for a prompt, e.g. `sign_event kind 1 (12 characters)`. */
  readonly summary: string
}

/** A connected client, as {@link Bunker.sessions} lists it (and {@link BunkerOptions.sessions} restores it). */
export interface BunkerSession {
  /** The client's public key (hex). */
  readonly clientPubkey: string
  /** Permissions granted (canonical, see `parsePermissions`). */
  readonly perms: readonly string[]
  /** Relays the client listens on. */
  readonly relays: readonly string[]
  /** What the client said it is. */
  readonly metadata: ClientMetadata
  /** When it connected (Unix seconds). */
  readonly connectedAt: number
}

/** Options of {@link createBunker}. */
export interface BunkerOptions {
  /** The user's signer: signs and encrypts for clients. Not closed by the bunker. */
  readonly signer: Signer
  /** Relays the bunker listens on (named in its `bunker://` token). */
  readonly relays: readonly string[]
  /**
   * Asked before connecting a client and before any request its permissions do not cover. Return
   * (or resolve) `true` to allow. A throw, a rejection or no answer within `approvalTimeoutMs` is a
   * refusal.
   */
  readonly approve: (request: ApprovalRequest) => boolean | Promise<boolean>
  /**
   * The remote-signer key the bunker talks with. A separate key keeps the user's public key out of
   * the kind 24133 traffic relays see; keep it stable to keep the `bunker://` token valid.
   * Not closed by the bunker. @default `signer` (remote-signer key = user key)
   */
  readonly bunkerSigner?: Signer
  /** The relay pool. @default a pool of the bunker's own, closed by `close()` */
  readonly pool?: RelayPool
  /** Options of the pool the bunker creates when `pool` is not given. */
  readonly poolOptions?: RelayPoolOptions
  /**
   * The app's proxy (`socksProxy()` from `nostr-rendezvous/socks`): the pool the bunker creates
   * opens every socket and NIP-11 request through it. Not with `pool` (a TypeError). @default none: direct
   */
  readonly proxy?: ProxyTransport
  /** The first connection secret. @default 16 random bytes, hex */
  readonly secret?: string
  /**
   * Refuse `connect` without the current secret. With `false`, a `connect` without the secret is
   * put to `approve` (anyone who knows the bunker's key and relays can ask). @default true
   */
  readonly requireSecret?: boolean
  /** Bound on one `approve` call, in ms. @default 120000 */
  readonly approvalTimeoutMs?: number
  /** Clients connected in an earlier run, to serve again without a new `connect`. */
  readonly sessions?: readonly BunkerSession[]
  /** The list of connected clients changed (persist it to restore with `sessions`). */
  readonly onSessionsChange?: (sessions: BunkerSession[]) => void
  /** Per connected client. @default DEFAULT_CLIENT_RATE_LIMIT */
  readonly clientRateLimit?: RateLimit
  /** For all unconnected senders together. @default DEFAULT_STRANGER_RATE_LIMIT */
  readonly strangerRateLimit?: RateLimit
  /** Requests of one client waiting for approval at once; more are refused. @default 8 */
  readonly maxPendingPerClient?: number
  /** Connected clients at most; further `connect`s are refused. @default 256 */
  readonly maxSessions?: number
  /** Largest encrypted content read, in characters. @default 262144 */
  readonly maxContentLength?: number
  /** Requests dated further than this from our clock are dropped (replays). @default 600 */
  readonly maxClockSkewSeconds?: number
  /** A callback of yours threw, a signer failed, or a response reached no relay. @default console.error */
  readonly onError?: (error: unknown) => void
}

/** Counters of a bunker. */
export interface BunkerStats {
  /** Requests read (decrypted, with an id). */
  readonly requests: number
  /** Requests answered with a result. */
  readonly answered: number
  /** Requests answered with an error (refused, unsupported, invalid). */
  readonly refused: number
  /** Incoming events not used, by reason. */
  readonly dropped: Readonly<DropCounts>
}

/** A running bunker. */
export interface Bunker {
  /** The remote-signer public key (hex): the key clients talk to. */
  readonly pubkey: string
  /** The user's public key (hex): the key events are signed with. */
  readonly userPubkey: string
  /** The relays the bunker listens on. */
  readonly relays: readonly string[]
  /** The `bunker://` token with the current secret (a new one after each successful connect). */
  bunkerUri(): string
  /**
   * Connects the client of a `nostrconnect://` token: listens on its relays and sends the `connect`
   * response carrying its secret. Grants the token's permissions unless `perms` is given (calling
   * this is the user's approval; `approve` is not asked).
   */
  acceptNostrConnect(uri: string, options?: { readonly perms?: string | readonly string[] }): Promise<BunkerSession>
  /** The connected clients. */
  sessions(): BunkerSession[]
  /** Adds permissions to a connected client; false when it is not connected. */
  grant(clientPubkey: string, perms: string | readonly string[]): boolean
  /** Removes permissions from a connected client; false when it is not connected. */
  revoke(clientPubkey: string, perms: string | readonly string[]): boolean
  /** Ends a client's session (its requests are refused until it connects again); false when unknown. */
  disconnect(clientPubkey: string): boolean
  /** Counters for monitoring and tests. */
  stats(): BunkerStats
  /** Stops listening, refuses pending approvals, closes the pool it created. Idempotent. */
  close(): Promise<void>
}

interface Session {
  readonly clientPubkey: string
  readonly perms: Set<string>
  relays: string[]
  readonly metadata: ClientMetadata
  readonly connectedAt: number
  readonly bucket: TokenBucket
  pending: number
}

type Outcome = { readonly result: string } | { readonly error: string }

function positiveInteger(value: number | undefined, fallback: number, field: string): number {
  if (value === undefined) return fallback
  if (!(Number.isInteger(value) && value > 0 && value <= 2_147_483_647)) throw new RangeError(`options.${field} must be a positive integer up to 2^31 - 1, got ${String(value)}`)
  return value
}

function sameSecret(given: string, expected: string): boolean {
  // Constant time in the position of the first difference (the lengths may leak; they are public).
  return equalBytes(utf8Encoder.encode(given), utf8Encoder.encode(expected))
}

function summaryOf(method: string, details: { kind?: number; content?: string; peer?: string; perms?: readonly string[] }): string {
  if (method === 'sign_event') return `sign_event kind ${details.kind} (${details.content?.length ?? 0} characters)`
  if (method === 'connect') return details.perms && details.perms.length > 0 ? `connect, asking for ${details.perms.join(', ')}` : 'connect'
  return `${method} with ${details.peer?.slice(0, 12) ?? '?'}…`
}

/**
 * Starts a bunker: listens on `relays` for NIP-46 requests to its remote-signer key and answers
 * them with `signer`, as `approve` and the granted permissions allow.
 *
 * @param options - signer, relays, approve, and bounds; see {@link BunkerOptions}.
 * @returns the bunker, listening on every relay (or each relay failed) when it resolves.
 * @throws TypeError/RangeError for bad options; the signers' errors from `getPublicKey`.
 * @example
 * ```ts
 * import { createBunker } from 'nostr-rendezvous/nip46'
 * import { createSecretKeySigner } from 'nostr-rendezvous/crypto'
 * const bunker = await createBunker({
 *   signer: createSecretKeySigner(userKey),
 *   bunkerSigner: createSecretKeySigner(bunkerKey),
 *   relays: ['wss://relay.nsec.app'],
 *   approve: async (req) => req.method === 'sign_event' && req.kind === 1 ? true : askUser(req.summary),
 * })
 * showQrCode(bunker.bunkerUri())
 * // later
 * await bunker.close()
 * ```
 */
export async function createBunker(options: BunkerOptions): Promise<Bunker> {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object')
  const { signer, approve } = options
  if (typeof signer?.signEvent !== 'function' || typeof signer.getPublicKey !== 'function') throw new TypeError('options.signer must be a Signer')
  if (typeof approve !== 'function') throw new TypeError('options.approve must be a function')
  const bunkerSigner = options.bunkerSigner ?? signer
  if (typeof bunkerSigner.signEvent !== 'function') throw new TypeError('options.bunkerSigner must be a Signer')
  const relays = assertRelays(options.relays, 'options.relays')
  if (options.secret !== undefined) assertSecret(options.secret, 'options.secret')
  assertProxyOrPool(options)
  const settings = {
    approvalTimeoutMs: positiveInteger(options.approvalTimeoutMs, DEFAULT_APPROVAL_TIMEOUT_MS, 'approvalTimeoutMs'),
    maxPendingPerClient: positiveInteger(options.maxPendingPerClient, 8, 'maxPendingPerClient'),
    maxSessions: positiveInteger(options.maxSessions, 256, 'maxSessions'),
    maxContentLength: positiveInteger(options.maxContentLength, DEFAULT_MAX_CONTENT_LENGTH, 'maxContentLength'),
    maxClockSkewSeconds: positiveInteger(options.maxClockSkewSeconds, 600, 'maxClockSkewSeconds'),
    clientRateLimit: assertRateLimit(options.clientRateLimit ?? DEFAULT_CLIENT_RATE_LIMIT, 'options.clientRateLimit'),
    strangerRateLimit: assertRateLimit(options.strangerRateLimit ?? DEFAULT_STRANGER_RATE_LIMIT, 'options.strangerRateLimit'),
  }
  const [pubkey, userPubkey] = await Promise.all([bunkerSigner.getPublicKey(), signer.getPublicKey()])
  for (const [key, field] of [[pubkey, 'bunkerSigner'], [userPubkey, 'signer']] as const) {
    if (!isValidPublicKey(key)) throw new CryptoError('SIGNER_INVALID_RESPONSE', `options.${field} returned an invalid public key`)
  }
  const bunker = new BunkerImpl(options, { ...settings, relays, pubkey, userPubkey, bunkerSigner })
  try {
    await bunker.start(options.sessions ?? [])
  } catch (error) {
    await bunker.close()
    throw error
  }
  return bunker.facade()
}

interface Resolved {
  readonly approvalTimeoutMs: number
  readonly maxPendingPerClient: number
  readonly maxSessions: number
  readonly maxContentLength: number
  readonly maxClockSkewSeconds: number
  readonly clientRateLimit: RateLimit
  readonly strangerRateLimit: RateLimit
  readonly relays: string[]
  readonly pubkey: string
  readonly userPubkey: string
  readonly bunkerSigner: Signer
}

class BunkerImpl {
  readonly #options: BunkerOptions
  readonly #r: Resolved
  readonly #pool: RelayPool
  readonly #ownPool: boolean
  readonly #channel: Nip46Channel
  readonly #sessions = new Map<string, Session>()
  readonly #connecting = new Set<string>()
  readonly #listening = new Map<string, Promise<Listening>>()
  readonly #strangers: TokenBucket
  readonly #approvals = new Set<() => void>()
  readonly #onError: (error: unknown) => void
  readonly #requireSecret: boolean
  #secret: string
  #counts = { requests: 0, answered: 0, refused: 0 }
  #closing: Promise<void> | undefined

  constructor(options: BunkerOptions, resolved: Resolved) {
    this.#options = options
    this.#r = resolved
    this.#secret = options.secret ?? newSecret()
    this.#requireSecret = options.requireSecret !== false
    this.#onError = options.onError ?? ((error) => console.error('nostr-rendezvous/nip46 bunker:', error))
    this.#strangers = new TokenBucket(resolved.strangerRateLimit, Date.now)
    this.#ownPool = options.pool === undefined
    this.#pool = options.pool ?? createRelayPool(nip46PoolOptions(options.proxy, options.poolOptions))
    this.#channel = new Nip46Channel({
      pool: this.#pool,
      signer: resolved.bunkerSigner,
      pubkey: resolved.pubkey,
      maxContentLength: resolved.maxContentLength,
      admit: (event) => {
        if (Math.abs(event.created_at - nowSeconds()) > this.#r.maxClockSkewSeconds) return false
        const session = this.#sessions.get(event.pubkey)
        return session !== undefined ? session.bucket.take() : this.#strangers.take()
      },
      onMessage: (message) => this.#handle(message),
      onError: this.#onError,
    })
  }

  get closed(): boolean {
    return this.#closing !== undefined
  }

  async start(restored: readonly BunkerSession[]): Promise<void> {
    if (!Array.isArray(restored)) throw new TypeError('options.sessions must be a list')
    for (const saved of restored) {
      if (!isValidPublicKey(saved?.clientPubkey)) throw new TypeError('options.sessions: clientPubkey must be a hex public key')
      const relays = assertRelays(saved.relays, 'options.sessions relays')
      this.#addSession(saved.clientPubkey, normalizePermissions([...saved.perms], 'options.sessions perms'), relays, sanitizeClientMetadata(saved.metadata), saved.connectedAt)
    }
    await this.#listen(this.#neededRelays())
  }

  facade(): Bunker {
    const r = this.#r
    return Object.freeze({
      pubkey: r.pubkey,
      userPubkey: r.userPubkey,
      relays: Object.freeze([...r.relays]),
      bunkerUri: () => {
        this.#assertOpen()
        return buildBunkerUri({ pubkey: r.pubkey, relays: r.relays, secret: this.#secret })
      },
      acceptNostrConnect: (uri: string, accept?: { readonly perms?: string | readonly string[] }) => this.#acceptNostrConnect(uri, accept),
      sessions: () => [...this.#sessions.values()].map(snapshot),
      grant: (clientPubkey: string, perms: string | readonly string[]) => this.#changePerms(clientPubkey, perms, true),
      revoke: (clientPubkey: string, perms: string | readonly string[]) => this.#changePerms(clientPubkey, perms, false),
      disconnect: (clientPubkey: string) => {
        const removed = this.#sessions.delete(clientPubkey)
        if (removed) this.#sessionsChanged()
        return removed
      },
      stats: (): BunkerStats => ({ ...this.#counts, dropped: { ...this.#channel.dropped } }),
      close: () => this.close(),
    })
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const refuse of [...this.#approvals]) refuse()
      this.#channel.close()
      this.#listening.clear()
      if (this.#ownPool) await this.#pool.close()
    })()
    return this.#closing
  }

  #assertOpen(): void {
    if (this.closed) throw new CryptoError('NIP46_BUNKER_CLOSED', 'The bunker was closed')
  }

  #originOf(url: string): RelayOrigin {
    // The bunker's own relays were chosen by its user; the others come from clients' tokens.
    return this.#r.relays.includes(url) ? 'configured' : 'discovered'
  }

  #neededRelays(): string[] {
    const needed = new Set(this.#r.relays)
    for (const session of this.#sessions.values()) for (const url of session.relays) needed.add(url)
    return [...needed]
  }

  /** Listens on each relay not listened on yet (one subscription per relay, shared by sessions). */
  async #listen(relays: readonly string[]): Promise<void> {
    const waits: Promise<Listening>[] = []
    for (const url of relays) {
      let listening = this.#listening.get(url)
      if (listening === undefined) {
        listening = this.#channel.listen([url], { slackSeconds: this.#r.maxClockSkewSeconds, origin: this.#originOf(url) })
        // A failure is not fatal here: the relay may come back; the pool reports its outcome.
        listening.catch((error: unknown) => {
          this.#listening.delete(url)
          if (!this.closed) this.#onError(error)
        })
        this.#listening.set(url, listening)
      }
      waits.push(listening)
    }
    await Promise.allSettled(waits)
  }

  /** Stops listening on relays no session and no bunker setting needs any more. */
  #prune(): void {
    const needed = new Set(this.#neededRelays())
    for (const [url, listening] of this.#listening) {
      if (needed.has(url)) continue
      this.#listening.delete(url)
      void listening.then((l) => l.close(), () => {})
    }
  }

  #addSession(clientPubkey: string, perms: readonly string[], relays: string[], metadata: ClientMetadata, connectedAt = nowSeconds()): Session {
    const session: Session = {
      clientPubkey,
      perms: new Set(perms),
      relays,
      metadata,
      connectedAt: Number.isSafeInteger(connectedAt) ? connectedAt : nowSeconds(),
      bucket: new TokenBucket(this.#r.clientRateLimit, Date.now),
      pending: 0,
    }
    this.#sessions.set(clientPubkey, session)
    return session
  }

  #sessionsChanged(): void {
    this.#prune()
    const listener = this.#options.onSessionsChange
    if (listener === undefined) return
    try {
      listener([...this.#sessions.values()].map(snapshot))
    } catch (error) {
      this.#onError(error)
    }
  }

  #changePerms(clientPubkey: string, perms: string | readonly string[], add: boolean): boolean {
    const list = normalizePermissions(perms, 'perms')
    const session = this.#sessions.get(clientPubkey)
    if (session === undefined) return false
    for (const perm of list) {
      if (add) session.perms.add(perm)
      else session.perms.delete(perm)
    }
    this.#sessionsChanged()
    return true
  }

  async #acceptNostrConnect(uri: string, accept: { readonly perms?: string | readonly string[] } = {}): Promise<BunkerSession> {
    this.#assertOpen()
    const token = parseNostrConnectUri(uri)
    const perms = accept.perms === undefined ? token.perms : normalizePermissions(accept.perms, 'options.perms')
    const existing = this.#sessions.get(token.clientPubkey)
    if (existing === undefined && this.#sessions.size >= this.#r.maxSessions) {
      throw new CryptoError('NIP46_REJECTED', 'Too many connected clients', { details: `maxSessions ${this.#r.maxSessions}` })
    }
    // In place before the answer goes out: the client may send its first request at once.
    const session = this.#addSession(token.clientPubkey, perms, [...token.relays], token.metadata)
    await this.#listen(token.relays)
    this.#assertOpen()
    const report = await this.#channel.send(token.clientPubkey, { id: newRequestId(), result: token.secret }, 'nip44', this.#targets(session.relays))
    if (report.accepted === 0) {
      if (existing !== undefined) this.#sessions.set(existing.clientPubkey, existing)
      else this.#sessions.delete(token.clientPubkey)
      this.#prune()
      throw new CryptoError('NIP46_UNDELIVERED', 'No relay accepted the connect response', { details: describeReport(report) })
    }
    this.#sessionsChanged()
    return snapshot(session)
  }

  #targets(relays: readonly string[]): SendTarget[] {
    const configured = relays.filter((url) => this.#originOf(url) === 'configured')
    const discovered = relays.filter((url) => this.#originOf(url) === 'discovered')
    return [
      { relays: configured, origin: 'configured' },
      { relays: discovered, origin: 'discovered' },
    ]
  }

  async #handle(message: ChannelMessage): Promise<void> {
    const parsed = parseRequest(message.text)
    if (parsed === undefined) return this.#channel.drop('malformed')
    this.#counts.requests += 1
    const client = message.event.pubkey
    const session = this.#sessions.get(client)
    // Answer where the client listens: its session's relays, or (not connected yet) ours; and the
    // relay the request came through.
    const relays = [...new Set([...(session?.relays ?? this.#r.relays), message.relay])]
    let outcome: Outcome
    if (!parsed.ok) outcome = { error: `invalid request: ${parsed.problem}` }
    else outcome = await this.#dispatch(parsed.request, client, session)
    if (this.closed) return
    if ('error' in outcome) this.#counts.refused += 1
    else this.#counts.answered += 1
    await this.#respond(client, parsed.ok ? parsed.request.id : parsed.id, outcome, message.scheme, relays)
    if (parsed.ok && 'result' in outcome) this.#afterAnswer(parsed.request.method, client)
  }

  /** State changes that must wait until the answer is out (NIP-46: ack, then remove). */
  #afterAnswer(method: string, client: string): void {
    if (method === 'logout' && this.#sessions.delete(client)) this.#sessionsChanged()
    if (method === 'switch_relays') this.#sessionsChanged()
  }

  async #respond(client: string, id: string, outcome: Outcome, scheme: CipherScheme, relays: string[]): Promise<void> {
    try {
      const report = await this.#channel.send(client, { id, ...outcome, ...('error' in outcome ? { result: '' } : {}) }, scheme, this.#targets(relays))
      if (report.accepted === 0 && !this.closed) {
        this.#onError(new CryptoError('NIP46_UNDELIVERED', 'No relay accepted a response to a client', { details: describeReport(report) }))
      }
    } catch (error) {
      if (!this.closed) this.#onError(error)
    }
  }

  async #dispatch(request: Nip46Request, client: string, session: Session | undefined): Promise<Outcome> {
    const { method, params } = request
    if (method === 'connect') return this.#connect(params, client, session)
    if (session === undefined) return { error: 'unauthorized: send connect first' }
    if (ALWAYS_ALLOWED.has(method)) return this.#plain(method, session)
    if (!GUARDED.has(method)) return { error: `unsupported method: ${method}` }
    if (method === 'sign_event') return this.#signEvent(params, session)
    return this.#cipher(method, params, session)
  }

  #plain(method: string, session: Session): Outcome {
    if (method === 'ping') return { result: 'pong' }
    if (method === 'get_public_key') return { result: this.#r.userPubkey }
    if (method === 'logout') return { result: 'ack' }
    // switch_relays: the client should use ours; answer null when it already does.
    const ours = this.#r.relays
    if (session.relays.length === ours.length && session.relays.every((url) => ours.includes(url))) return { result: 'null' }
    // The answer still goes to the old relays (chosen before dispatch); they are released after.
    session.relays = [...ours]
    return { result: JSON.stringify(ours.slice(0, MAX_URI_RELAYS)) }
  }

  async #connect(params: readonly string[], client: string, session: Session | undefined): Promise<Outcome> {
    const [target, secret = '', permsText = '', metadataText] = params
    if (target !== this.#r.pubkey) return { error: 'connect: wrong remote-signer public key' }
    if (session !== undefined) return { result: 'ack' } // already connected (a resumed session)
    if (this.#sessions.size >= this.#r.maxSessions) return { error: 'too many connected clients' }
    if (this.#connecting.has(client)) return { error: 'a connect request from this client is already pending' }
    // Single use: the secret is spent on first correct use, before the approval is awaited, so a
    // second request racing with the same secret finds it gone.
    const secretOk = secret !== '' && sameSecret(secret, this.#secret)
    if (secretOk) this.#secret = newSecret()
    if (this.#requireSecret && !secretOk) return { error: secret === '' ? 'a secret is required' : 'invalid secret' }
    const perms = parsePermissions(permsText)
    let metadata: ClientMetadata = {}
    if (metadataText !== undefined && metadataText !== '') {
      try {
        metadata = sanitizeClientMetadata(JSON.parse(metadataText))
      } catch {
        // Display hints only: unreadable ones are ignored.
      }
    }
    this.#connecting.add(client)
    try {
      const approved = await this.#ask({ method: 'connect', clientPubkey: client, client: metadata, perms, summary: summaryOf('connect', { perms }) })
      if (!approved || this.closed) return { error: 'connection refused' }
      if (this.#sessions.size >= this.#r.maxSessions) return { error: 'too many connected clients' }
      this.#addSession(client, perms, [...this.#r.relays], metadata)
      this.#sessionsChanged()
      return { result: 'ack' }
    } finally {
      this.#connecting.delete(client)
    }
  }

  async #signEvent(params: readonly string[], session: Session): Promise<Outcome> {
    let template: Required<EventTemplate>
    try {
      const raw = JSON.parse(params[0] ?? '') as Record<string, unknown>
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new TypeError('not an object')
      template = {
        kind: raw.kind as number,
        content: raw.content as string,
        tags: (raw.tags ?? []) as string[][],
        created_at: (raw.created_at ?? nowSeconds()) as number,
      }
      // Throws INVALID_EVENT naming the bad field.
      serializeEvent({ ...template, pubkey: this.#r.userPubkey })
    } catch {
      return { error: 'invalid event template' }
    }
    const request: ApprovalRequest = {
      method: 'sign_event',
      clientPubkey: session.clientPubkey,
      client: session.metadata,
      kind: template.kind,
      event: template,
      summary: summaryOf('sign_event', { kind: template.kind, content: template.content }),
    }
    if (!(await this.#allowed(request, session, template.kind))) return { error: 'sign_event refused' }
    return this.#run(async () => JSON.stringify(await this.#options.signer.signEvent(template)))
  }

  async #cipher(method: string, params: readonly string[], session: Session): Promise<Outcome> {
    const [peer, text] = params
    if (!isHex(peer, 32)) return { error: `${method}: invalid public key` }
    if (typeof text !== 'string') return { error: `${method}: missing text` }
    const request: ApprovalRequest = {
      method,
      clientPubkey: session.clientPubkey,
      client: session.metadata,
      peerPubkey: peer,
      summary: summaryOf(method, { peer }),
    }
    if (!(await this.#allowed(request, session, undefined))) return { error: `${method} refused` }
    const { signer } = this.#options
    const [scheme, op] = method.split('_') as ['nip04' | 'nip44', 'encrypt' | 'decrypt']
    return this.#run(() => signer[scheme][op](peer, text))
  }

  /** Granted permissions first; otherwise the app's approval. */
  async #allowed(request: ApprovalRequest, session: Session, kind: number | undefined): Promise<boolean> {
    if (permits(session.perms, request.method, kind)) return true
    if (session.pending >= this.#r.maxPendingPerClient) return false
    session.pending += 1
    try {
      // Still connected when the answer comes? (disconnect or logout while waiting)
      return (await this.#ask(request)) && this.#sessions.get(session.clientPubkey) === session
    } finally {
      session.pending -= 1
    }
  }

  /** Calls `approve`, bounded in time; a throw, a rejection, a non-true answer or closing is a no. */
  #ask(request: ApprovalRequest): Promise<boolean> {
    if (this.closed) return Promise.resolve(false)
    return new Promise<boolean>((resolve) => {
      let done = false
      const finish = (value: boolean): void => {
        if (done) return
        done = true
        clearTimeout(timer)
        this.#approvals.delete(refuse)
        resolve(value)
      }
      const refuse = (): void => finish(false)
      const timer = setTimeout(refuse, this.#r.approvalTimeoutMs)
      this.#approvals.add(refuse)
      let answer: boolean | Promise<boolean>
      try {
        answer = this.#options.approve(Object.freeze({ ...request }))
      } catch (error) {
        this.#onError(error)
        return finish(false)
      }
      Promise.resolve(answer).then(
        (value) => finish(value === true),
        (error: unknown) => {
          this.#onError(error)
          finish(false)
        },
      )
    })
  }

  /** Runs the signer; its failure becomes an error answer naming the code (never the message's secrets). */
  async #run(task: () => Promise<string>): Promise<Outcome> {
    try {
      return { result: await task() }
    } catch (error) {
      if (error instanceof RendezvousError) return { error: `${error.code}: ${error.shortMessage}` }
      this.#onError(error)
      return { error: 'the signer failed' }
    }
  }
}

function snapshot(session: Session): BunkerSession {
  return {
    clientPubkey: session.clientPubkey,
    perms: [...session.perms],
    relays: [...session.relays],
    metadata: { ...session.metadata },
    connectedAt: session.connectedAt,
  }
}
