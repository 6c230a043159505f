/**
 * The client side of NIP-46: a {@link Signer} whose key lives in a remote signer ("bunker"), reached
 * through relays. Two ways in:
 *
 * - {@link connectBunker}: the user pastes a `bunker://` token; we send `connect` (with the token's
 *   secret and the permissions we want), then `get_public_key`.
 * - {@link startNostrConnect}: we show a `nostrconnect://` token (a QR code); the bunker answers with
 *   a `connect` response carrying our secret; its author is the remote signer. Then
 *   `get_public_key`.
 *
 * The user's public key comes from `get_public_key` and is never assumed to be the remote
 * signer's. Every request has a timeout (`NIP46_TIMEOUT`), an `auth_url` challenge calls
 * `onAuthUrl` and waits (bounded) for the real answer, a refusal is `SIGNER_REJECTED` with the
 * bunker's message (sanitised), and a signed event is accepted only if it verifies and is exactly
 * the template asked for, signed by the user's key.
 *
 * @see https://github.com/nostr-protocol/nips/blob/master/46.md
 * @module
 */
import { assertBytes, hexToBytes, wipe } from '../crypto/bytes.js'
import { copyTags, nowSeconds, serializeEvent, type EventTemplate, type NostrEvent } from '../crypto/event.js'
import { generateSecretKey, getPublicKey, isValidPublicKey } from '../crypto/keys.js'
import { createSecretKeySigner, type SecretKeySigner } from '../crypto/secret-key-signer.js'
import { checkSignedEvent, type SignedEventExpectation, type Signer, type SignerCipher } from '../crypto/signer.js'
import { CryptoError } from '../errors.js'
import { createRelayPool, type RelayPool, type RelayPoolOptions } from '../relay-pool/pool.js'
import type { ProxyTransport, RelayOrigin } from '../relay-pool/types.js'
import { tryNormalizeRelayUrl } from '../relay-pool/url.js'
import { describeReport, Nip46Channel, type ChannelMessage, type DropCounts, type Listening } from './channel.js'
import { formatPermissions, normalizePermissions } from './permissions.js'
import { assertProxyOrPool, nip46PoolOptions } from './pool-options.js'
import { DEFAULT_MAX_CONTENT_LENGTH, newRequestId, newSecret, parseResponse, sanitizeRemoteText } from './protocol.js'
import { TokenBucket } from './rate-limit.js'
import { assertClientMetadata, assertRelays, assertSecret, buildNostrConnectUri, MAX_LINK_LENGTH, MAX_URI_RELAYS, parseBunkerUri, type BunkerPointer, type ClientMetadata } from './uri.js'

/** Default bound on one request: long enough for a user to read and approve a prompt. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000
/** Default wait for the real answer after an `auth_url` challenge. */
export const DEFAULT_AUTH_TIMEOUT_MS = 300_000
/** Default wait for a bunker to answer a `nostrconnect://` token (the user has to scan it). */
export const DEFAULT_NOSTRCONNECT_TIMEOUT_MS = 300_000
/** Bound on the `switch_relays` request sent right after connecting (a courtesy many bunkers skip). */
const SWITCH_RELAYS_TIMEOUT_MS = 5_000
/** Responses dated this much before our clock are still read (the bunker's clock may lag). */
const CLOCK_SLACK_SECONDS = 600
/** Before the remote signer is known, events from anyone are decrypted: bounded. */
const UNSOLICITED_LIMIT = { burst: 50, perSecond: 10 }
/** Distinct `auth_url`s passed to `onAuthUrl` for one request. */
const MAX_AUTH_URLS_PER_REQUEST = 4

/** Options shared by {@link connectBunker} and {@link startNostrConnect}. */
export interface RemoteSignerOptions {
  /**
   * The client key pair's secret key (copied; wipe yours). Keep it (encrypted) to resume the
   * session later without a new secret. @default a fresh key
   */
  readonly clientSecretKey?: Uint8Array
  /**
   * The relay pool to talk through. Ours is not closed by `close()`. @default a pool of the signer's
   * own (main-thread verification), closed by `close()`
   */
  readonly pool?: RelayPool
  /** Options of the pool the signer creates when `pool` is not given. */
  readonly poolOptions?: RelayPoolOptions
  /**
   * The app's proxy (`socksProxy()` from `nostr-rendezvous/socks`, the one given to
   * `createClient`): the pool the signer creates opens every socket and NIP-11 request through it,
   * so a Tor user's traffic to the bunker's relays is not direct. Not with `pool` (a TypeError:
   * configure that pool yourself). @default none: direct connections
   */
  readonly proxy?: ProxyTransport
  /** Permissions to ask for, e.g. `['sign_event:1', 'nip44_encrypt']` or `'sign_event:1,nip44_encrypt'`. */
  readonly perms?: string | readonly string[]
  /** The app's name, URL and image, shown by the bunker. */
  readonly metadata?: ClientMetadata
  /** Bound on each request, in ms. @default 60000 */
  readonly timeoutMs?: number
  /** After an `auth_url` challenge, how long to wait for the real answer, in ms. @default 300000 */
  readonly authTimeoutMs?: number
  /**
   * The bunker wants the user to authenticate at `url` (open it in a popup or new tab). Without
   * this callback such a request rejects at once with `SIGNER_REJECTED`.
   */
  readonly onAuthUrl?: (url: string, method: string) => void
  /** Send `switch_relays` after connecting and move to the relays the bunker names. @default true */
  readonly switchRelays?: boolean
  /** Largest encrypted content read from a response, in characters. @default 262144 */
  readonly maxContentLength?: number
  /** Aborts connecting (not the signer once connected: use `close()`). */
  readonly signal?: AbortSignal
  /** A callback of yours threw (e.g. `onAuthUrl`), or a message could not be handled. @default console.error */
  readonly onError?: (error: unknown) => void
}

/** Options of {@link startNostrConnect}. */
export interface NostrConnectOptions extends RemoteSignerOptions {
  /** Relays to listen on for the bunker's answer, named in the token. */
  readonly relays: readonly string[]
  /** The secret the bunker must send back. @default 16 random bytes, hex */
  readonly secret?: string
  /** How long to wait for a bunker to answer, in ms. @default 300000 */
  readonly connectTimeoutMs?: number
}

/** What a remote signer has seen so far. */
export interface RemoteSignerStats {
  /** Requests sent. */
  readonly requests: number
  /** Requests answered (with a result or an error). */
  readonly answered: number
  /** Requests that timed out. */
  readonly timeouts: number
  /** Incoming events not used, by reason. */
  readonly dropped: Readonly<DropCounts>
}

/** A {@link Signer} backed by a NIP-46 remote signer. */
export interface RemoteSigner extends Signer {
  /** Our disposable client public key (hex). */
  readonly clientPubkey: string
  /** The remote signer's public key (hex): who answers. Not necessarily the user's. */
  readonly remoteSignerPubkey: string
  /** The user's public key (hex), from `get_public_key`. */
  readonly userPubkey: string
  /** The relays requests go to now (changed by `switchRelays`). */
  relays(): string[]
  /**
   * Where to reach the bunker again, without a secret: store it with the client secret key and pass
   * both to {@link connectBunker} to resume the session.
   */
  bunkerPointer(): BunkerPointer
  /** Sends `ping`; resolves when the bunker answers `pong`. */
  ping(): Promise<void>
  /** Asks the bunker which relays to use (`switch_relays`) and moves there; true when they changed. */
  switchRelays(): Promise<boolean>
  /** Sends `logout` (a courtesy: errors ignored), then closes. */
  logout(): Promise<void>
  /** Counters for monitoring and tests. */
  stats(): RemoteSignerStats
  /**
   * Rejects pending requests with `SIGNER_CLOSED`, stops listening, wipes the client key and closes
   * the pool the signer created. Idempotent.
   */
  close(): Promise<void>
}

/** A `nostrconnect://` connection in progress. */
export interface NostrConnectSession {
  /** The token to show (as text or a QR code). */
  readonly uri: string
  /** Our client public key (hex), the token's origin. */
  readonly clientPubkey: string
  /** The secret inside the token. */
  readonly secret: string
  /** Resolves once we listen on every relay (or each failed): from then on a bunker's answer is seen. */
  readonly ready: Promise<void>
  /**
   * Resolves with the connected signer. Rejects with `NIP46_TIMEOUT` (no bunker answered in time),
   * `SIGNER_CLOSED` (cancelled), `SIGNER_UNAVAILABLE` (aborted), or the errors of `get_public_key`.
   */
  readonly signer: Promise<RemoteSigner>
  /** Stops waiting; `signer` rejects with `SIGNER_CLOSED`. */
  cancel(): Promise<void>
}

interface Pending {
  readonly method: string
  readonly resolve: (result: unknown) => void
  readonly reject: (error: Error) => void
  timer: ReturnType<typeof setTimeout> | undefined
  authUrls: Set<string>
}

interface ConnectWaiter {
  readonly secret: string
  readonly resolve: (remotePubkey: string) => void
  readonly reject: (error: Error) => void
}

function positive(value: number | undefined, fallback: number, field: string): number {
  if (value === undefined) return fallback
  // setTimeout fires at once for delays beyond 2^31 - 1 ms (about 24.8 days).
  if (!(typeof value === 'number' && value > 0 && value <= 2_147_483_647)) throw new RangeError(`options.${field} must be a positive number of ms up to 2^31 - 1, got ${String(value)}`)
  return value
}

function closedError(details?: string): CryptoError {
  return new CryptoError('SIGNER_CLOSED', 'Signer was closed', details === undefined ? {} : { details })
}

function abortedError(): CryptoError {
  return new CryptoError('SIGNER_UNAVAILABLE', 'Connecting to the remote signer was aborted', { details: 'signal aborted' })
}

/** An http(s) URL of bounded length, or undefined. */
function authLink(value: string): string | undefined {
  if (value.length > MAX_LINK_LENGTH) return undefined
  try {
    const url = new URL(value)
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : undefined
  } catch {
    return undefined
  }
}

/** The relays a `switch_relays` answer names, or undefined for `null` / nothing usable. */
function relaysFromResult(result: unknown): string[] | undefined {
  let value = result
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value)
    } catch {
      return undefined
    }
  }
  if (!Array.isArray(value)) return undefined
  const relays: string[] = []
  for (const entry of value) {
    const url = tryNormalizeRelayUrl(entry)
    if (url !== undefined && !relays.includes(url)) relays.push(url)
    if (relays.length >= MAX_URI_RELAYS) break
  }
  return relays.length > 0 ? relays : undefined
}

function sameRelays(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((url) => b.includes(url))
}

function invalidEvent(details: string): CryptoError {
  return new CryptoError('SIGNER_INVALID_RESPONSE', 'Remote signer returned an unusable event', { details })
}

/** Accepts the bunker's event only if it is exactly what was asked for, signed by the user's key. */
function checkSignedResult(result: unknown, expected: SignedEventExpectation): NostrEvent {
  let value = result
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value)
    } catch {
      throw invalidEvent('the result is not JSON')
    }
  }
  const checked = checkSignedEvent(value, expected)
  if ('problem' in checked) throw invalidEvent(checked.problem)
  return checked.event
}

/** The connection to one bunker: pending requests, the subscription, the client key. */
class RemoteConnection {
  readonly clientPubkey: string
  remotePubkey: string | undefined
  userPubkey: string | undefined
  relays: string[]
  origin: RelayOrigin = 'configured'
  readonly #pool: RelayPool
  readonly #ownPool: boolean
  readonly #client: SecretKeySigner
  readonly #channel: Nip46Channel
  readonly #pending = new Map<string, Pending>()
  readonly #unsolicited = new TokenBucket(UNSOLICITED_LIMIT, Date.now)
  readonly #timeoutMs: number
  readonly #authTimeoutMs: number
  readonly #onAuthUrl: ((url: string, method: string) => void) | undefined
  readonly #onError: (error: unknown) => void
  #listening: Listening | undefined
  #retiring: Listening[] = []
  #waiter: ConnectWaiter | undefined
  #counts = { requests: 0, answered: 0, timeouts: 0 }
  #closing: Promise<void> | undefined

  constructor(options: RemoteSignerOptions, relays: string[]) {
    assertProxyOrPool(options)
    this.#timeoutMs = positive(options.timeoutMs, DEFAULT_REQUEST_TIMEOUT_MS, 'timeoutMs')
    this.#authTimeoutMs = positive(options.authTimeoutMs, DEFAULT_AUTH_TIMEOUT_MS, 'authTimeoutMs')
    const maxContentLength = positive(options.maxContentLength, DEFAULT_MAX_CONTENT_LENGTH, 'maxContentLength')
    if (options.onAuthUrl !== undefined && typeof options.onAuthUrl !== 'function') throw new TypeError('options.onAuthUrl must be a function')
    this.#onAuthUrl = options.onAuthUrl
    this.#onError = options.onError ?? ((error) => console.error('nostr-rendezvous/nip46:', error))
    this.relays = relays
    let secretKey: Uint8Array
    if (options.clientSecretKey !== undefined) secretKey = assertBytes(options.clientSecretKey, 32, 'options.clientSecretKey')
    else secretKey = generateSecretKey()
    try {
      this.clientPubkey = getPublicKey(secretKey)
      this.#client = createSecretKeySigner(secretKey)
    } finally {
      // Ours is wiped; the caller's is theirs (the signer holds a copy).
      if (options.clientSecretKey === undefined) wipe(secretKey)
    }
    this.#ownPool = options.pool === undefined
    try {
      this.#pool = options.pool ?? createRelayPool(nip46PoolOptions(options.proxy, options.poolOptions))
    } catch (error) {
      this.#client.close() // bad pool options: do not leave the key copy behind
      throw error
    }
    this.#channel = new Nip46Channel({
      pool: this.#pool,
      signer: this.#client,
      pubkey: this.clientPubkey,
      maxContentLength,
      admit: (event) => (this.remotePubkey !== undefined ? event.pubkey === this.remotePubkey : this.#unsolicited.take()),
      onMessage: (message) => this.#handle(message),
      onError: this.#onError,
    })
  }

  get closed(): boolean {
    return this.#closing !== undefined
  }

  stats(): RemoteSignerStats {
    return { ...this.#counts, dropped: { ...this.#channel.dropped } }
  }

  /** Listens on the current relays (for the known remote signer, or anyone while waiting). */
  async listen(): Promise<void> {
    this.#assertOpen()
    const authors = this.remotePubkey === undefined ? {} : { authors: [this.remotePubkey] }
    const listening = await this.#channel.listen(this.relays, { slackSeconds: CLOCK_SLACK_SECONDS, origin: this.origin, ...authors })
    if (this.closed) {
      listening.close()
      throw closedError()
    }
    if (this.#listening !== undefined) this.#retire(this.#listening)
    this.#listening = listening
  }

  /** Waits for a `connect` response carrying `secret`; resolves with its author. */
  waitForConnect(secret: string, timeoutMs: number, signal: AbortSignal | undefined): Promise<string> {
    this.#assertOpen()
    return new Promise<string>((resolve, reject) => {
      const finish = (): void => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        this.#waiter = undefined
      }
      const onAbort = (): void => {
        finish()
        reject(abortedError())
      }
      const timer = setTimeout(() => {
        finish()
        reject(new CryptoError('NIP46_TIMEOUT', 'No remote signer answered the nostrconnect:// token in time', { details: `${timeoutMs} ms` }))
      }, timeoutMs)
      this.#waiter = {
        secret,
        resolve: (pubkey) => {
          finish()
          resolve(pubkey)
        },
        reject: (error) => {
          finish()
          reject(error)
        },
      }
      if (signal?.aborted === true) onAbort()
      else signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  /** Sends a request and resolves with the bunker's result (any JSON value). */
  request(method: string, params: readonly string[], timeoutMs = this.#timeoutMs): Promise<unknown> {
    try {
      this.#assertOpen()
    } catch (error) {
      return Promise.reject(error)
    }
    const remote = this.remotePubkey
    if (remote === undefined) return Promise.reject(new CryptoError('SIGNER_UNAVAILABLE', 'Not connected to a remote signer yet'))
    const id = newRequestId()
    const answer = new Promise<unknown>((resolve, reject) => {
      const pending: Pending = { method, resolve, reject, timer: undefined, authUrls: new Set() }
      pending.timer = setTimeout(() => {
        this.#counts.timeouts += 1
        this.#settle(id, new CryptoError('NIP46_TIMEOUT', 'The remote signer did not answer in time', { details: `${method}, ${timeoutMs} ms` }))
      }, timeoutMs)
      this.#pending.set(id, pending)
    })
    this.#counts.requests += 1
    this.#channel.send(remote, { id, method, params }, 'nip44', [{ relays: this.relays, origin: this.origin }]).then(
      (report) => {
        if (report.accepted === 0) {
          this.#settle(id, new CryptoError('NIP46_UNDELIVERED', 'No relay accepted the request to the remote signer', { details: `${method}: ${describeReport(report)}` }))
        }
      },
      (error: unknown) => {
        const failure = this.closed ? closedError() : error instanceof Error ? error : new CryptoError('NIP46_UNDELIVERED', 'The request could not be sent')
        this.#settle(id, failure)
      },
    )
    return answer
  }

  /** Asks for the relays the bunker prefers and moves there. */
  async switchRelays(timeoutMs?: number): Promise<boolean> {
    const result = await this.request('switch_relays', [], timeoutMs)
    const relays = relaysFromResult(result)
    if (relays === undefined || sameRelays(relays, this.relays)) return false
    const before = { relays: this.relays, origin: this.origin }
    // The bunker chose these, not the user: the pool's rule against private addresses applies.
    this.relays = relays
    this.origin = 'discovered'
    try {
      await this.listen()
    } catch (error) {
      this.relays = before.relays
      this.origin = before.origin
      throw error
    }
    return true
  }

  close(): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close(): Promise<void> {
    const error = closedError()
    for (const id of [...this.#pending.keys()]) this.#settle(id, error)
    this.#waiter?.reject(closedError('nostrconnect cancelled'))
    this.#channel.close()
    this.#listening = undefined
    this.#retiring = []
    this.#client.close()
    if (this.#ownPool) await this.#pool.close()
  }

  #assertOpen(): void {
    if (this.closed) throw closedError()
  }

  /** Stops listening on old relays once nothing sent there waits for an answer. */
  #retire(listening: Listening): void {
    this.#retiring.push(listening)
    this.#closeRetired()
  }

  #closeRetired(): void {
    if (this.#pending.size > 0) return
    for (const old of this.#retiring.splice(0)) old.close()
  }

  #settle(id: string, outcome: Error | { result: unknown }): void {
    const pending = this.#pending.get(id)
    if (pending === undefined) return
    this.#pending.delete(id)
    clearTimeout(pending.timer)
    if (outcome instanceof Error) pending.reject(outcome)
    else pending.resolve(outcome.result)
    this.#closeRetired()
  }

  #handle(message: ChannelMessage): void {
    const response = parseResponse(message.text)
    if (response === undefined) return this.#channel.drop('malformed')
    if (this.remotePubkey === undefined) {
      // nostrconnect://: the first response carrying our secret names the remote signer.
      const waiter = this.#waiter
      if (waiter !== undefined && response.error === undefined && response.result === waiter.secret) {
        // Set at once: from this message on, only this author is listened to.
        this.remotePubkey = message.event.pubkey
        waiter.resolve(message.event.pubkey)
      } else {
        this.#channel.drop('unexpected')
      }
      return
    }
    const pending = this.#pending.get(response.id)
    if (pending === undefined) return this.#channel.drop('unexpected')
    if (response.result === 'auth_url' && response.error !== undefined) return this.#authChallenge(response.id, pending, response.error)
    this.#counts.answered += 1
    if (response.error !== undefined) {
      const reason = sanitizeRemoteText(response.error)
      this.#settle(response.id, new CryptoError('SIGNER_REJECTED', 'The remote signer refused the request', { details: `${pending.method}: ${reason}` }))
      return
    }
    this.#settle(response.id, { result: response.result })
  }

  #authChallenge(id: string, pending: Pending, text: string): void {
    const url = authLink(text)
    if (url === undefined) {
      this.#settle(id, new CryptoError('SIGNER_INVALID_RESPONSE', 'The remote signer sent an unusable auth_url', { details: pending.method }))
      return
    }
    if (this.#onAuthUrl === undefined) {
      this.#settle(
        id,
        new CryptoError('SIGNER_REJECTED', 'The remote signer asks the user to authenticate, and no onAuthUrl handler is set', { details: `${pending.method}: ${sanitizeRemoteText(url)}` }),
      )
      return
    }
    if (pending.authUrls.has(url) || pending.authUrls.size >= MAX_AUTH_URLS_PER_REQUEST) return
    pending.authUrls.add(url)
    // The first challenge sets the deadline for the real answer; later ones do not extend it.
    if (pending.authUrls.size === 1) {
      clearTimeout(pending.timer)
      const ms = this.#authTimeoutMs
      pending.timer = setTimeout(() => {
        this.#counts.timeouts += 1
        this.#settle(id, new CryptoError('NIP46_TIMEOUT', 'The remote signer did not answer in time after asking the user to authenticate', { details: `${pending.method}, auth_url, ${ms} ms` }))
      }, ms)
    }
    try {
      this.#onAuthUrl(url, pending.method)
    } catch (error) {
      this.#onError(error)
    }
  }
}

/** The public face of a connection: the {@link RemoteSigner}. */
function remoteSignerOf(connection: RemoteConnection): RemoteSigner {
  const remoteSignerPubkey = connection.remotePubkey as string
  const userPubkey = connection.userPubkey as string

  const requestString = async (method: string, params: readonly string[]): Promise<string> => {
    const result = await connection.request(method, params)
    if (typeof result !== 'string') throw new CryptoError('SIGNER_INVALID_RESPONSE', 'The remote signer returned a non-string result', { details: method })
    return result
  }

  const cipher = (scheme: 'nip04' | 'nip44'): SignerCipher => {
    const run = async (op: 'encrypt' | 'decrypt', peerPubkey: string, text: string): Promise<string> => {
      if (connection.closed) throw closedError()
      hexToBytes(peerPubkey, 'peerPubkey', 32)
      if (typeof text !== 'string') throw new TypeError(`${op === 'encrypt' ? 'plaintext' : 'payload'} must be a string, got ${typeof text}`)
      return requestString(`${scheme}_${op}`, [peerPubkey.toLowerCase(), text])
    }
    return Object.freeze({
      encrypt: (peerPubkey: string, plaintext: string) => run('encrypt', peerPubkey, plaintext),
      decrypt: (peerPubkey: string, payload: string) => run('decrypt', peerPubkey, payload),
    })
  }

  return Object.freeze({
    clientPubkey: connection.clientPubkey,
    remoteSignerPubkey,
    userPubkey,
    relays: () => [...connection.relays],
    bunkerPointer: (): BunkerPointer => ({ pubkey: remoteSignerPubkey, relays: [...connection.relays] }),
    getPublicKey: async (): Promise<string> => {
      if (connection.closed) throw closedError()
      return userPubkey
    },
    signEvent: async (template: EventTemplate): Promise<NostrEvent> => {
      if (connection.closed) throw closedError()
      const fields = {
        created_at: template.created_at ?? nowSeconds(),
        kind: template.kind,
        tags: copyTags(template.tags ?? []),
        content: template.content,
      }
      // INVALID_EVENT for a malformed template, before anything is sent.
      serializeEvent({ ...fields, pubkey: userPubkey })
      const { kind, content, tags, created_at: createdAt } = fields
      const result = await connection.request('sign_event', [JSON.stringify({ kind, content, tags, created_at: createdAt })])
      return checkSignedResult(result, { ...fields, pubkey: userPubkey })
    },
    nip04: cipher('nip04'),
    nip44: cipher('nip44'),
    ping: async (): Promise<void> => {
      const result = await connection.request('ping', [])
      if (result !== 'pong') throw new CryptoError('SIGNER_INVALID_RESPONSE', 'The remote signer did not answer ping with pong')
    },
    switchRelays: () => connection.switchRelays(),
    logout: async (): Promise<void> => {
      try {
        if (!connection.closed) await connection.request('logout', [])
      } catch {
        // A courtesy: the session ends here whatever the bunker says.
      }
      await connection.close()
    },
    stats: () => connection.stats(),
    close: () => connection.close(),
  })
}

/** Learns the user's key, after an optional `switch_relays`, and hands out the signer. */
async function finishConnecting(connection: RemoteConnection, options: RemoteSignerOptions, timeoutMs: number): Promise<RemoteSigner> {
  if (options.switchRelays !== false) {
    try {
      await connection.switchRelays(Math.min(timeoutMs, SWITCH_RELAYS_TIMEOUT_MS))
    } catch (error) {
      // Optional: bunkers that do not offer it answer with an error or not at all.
      if (connection.closed) throw error
    }
  }
  if (options.signal?.aborted === true) throw abortedError()
  const pubkey = await connection.request('get_public_key', [])
  if (!isValidPublicKey(pubkey)) {
    throw new CryptoError('SIGNER_INVALID_RESPONSE', 'The remote signer returned an invalid user public key', { details: 'expected 64 lower-case hex characters naming a secp256k1 point' })
  }
  connection.userPubkey = pubkey
  return remoteSignerOf(connection)
}

/** Rejects when `signal` aborts, so a wait can be raced against it. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise
  if (signal.aborted) return Promise.reject(abortedError())
  let onAbort: () => void = () => {}
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(abortedError())
    signal.addEventListener('abort', onAbort, { once: true })
  })
  return Promise.race([promise, aborted]).finally(() => signal.removeEventListener('abort', onAbort))
}

function requestedPerms(options: RemoteSignerOptions): string[] {
  return options.perms === undefined ? [] : normalizePermissions(options.perms, 'options.perms')
}

function metadataOf(options: RemoteSignerOptions): ClientMetadata | undefined {
  return options.metadata === undefined ? undefined : assertClientMetadata(options.metadata, 'options.metadata')
}

/**
 * Connects to a remote signer from a `bunker://` token: sends `connect` with the token's secret and
 * the permissions asked for, optionally `switch_relays`, then `get_public_key`.
 *
 * To resume a session later, keep the client secret key and `signer.bunkerPointer()`, and call this
 * again with both (the bunker recognises the client key; no secret needed).
 *
 * @param uri - the `bunker://` token, or a pointer (`{ pubkey, relays, secret? }`).
 * @param options - client key, pool, permissions, metadata, timeouts, `onAuthUrl`; see
 * {@link RemoteSignerOptions}.
 * @returns the connected signer; `close()` it when done.
 * @throws CryptoError `NIP46_INVALID_URI` (bad token), `NIP46_REJECTED` (the bunker refused to
 * connect: wrong or used secret, the user said no), `NIP46_TIMEOUT` (no answer in time),
 * `NIP46_UNDELIVERED` (no relay took the request), `SIGNER_INVALID_RESPONSE` (a bad user public
 * key), `SIGNER_UNAVAILABLE` (aborted); TypeError/RangeError for bad options.
 * @example
 * ```ts
 * import { connectBunker } from 'nostr-rendezvous/nip46'
 * import { createClient } from 'nostr-rendezvous'
 * const signer = await connectBunker(pastedToken, {
 *   perms: ['sign_event:1', 'nip44_encrypt', 'nip44_decrypt'],
 *   metadata: { name: 'My app' },
 *   onAuthUrl: (url) => window.open(url, '_blank'),
 * })
 * const client = createClient({ signer, indexerRelays: ['wss://purplepag.es'] })
 * ```
 */
export async function connectBunker(uri: string | BunkerPointer, options: RemoteSignerOptions = {}): Promise<RemoteSigner> {
  const pointer = typeof uri === 'string' ? parseBunkerUri(uri) : parseBunkerUri(pointerToUri(uri))
  const perms = requestedPerms(options)
  const metadata = metadataOf(options)
  if (options.signal?.aborted === true) throw abortedError()
  const connection = new RemoteConnection(options, [...pointer.relays])
  const timeoutMs = positive(options.timeoutMs, DEFAULT_REQUEST_TIMEOUT_MS, 'timeoutMs')
  try {
    connection.remotePubkey = pointer.pubkey
    await abortable(connection.listen(), options.signal)
    const params = [pointer.pubkey, pointer.secret ?? '']
    if (perms.length > 0 || metadata !== undefined) params.push(formatPermissions(perms))
    if (metadata !== undefined) params.push(JSON.stringify(metadata))
    try {
      await abortable(connection.request('connect', params), options.signal)
    } catch (error) {
      if (error instanceof CryptoError && error.code === 'SIGNER_REJECTED') {
        throw new CryptoError('NIP46_REJECTED', 'The remote signer refused to connect', { details: error.details ?? '', cause: error })
      }
      throw error
    }
    return await abortable(finishConnecting(connection, options, timeoutMs), options.signal)
  } catch (error) {
    await connection.close()
    throw error
  }
}

/** A pointer as a token, so that both inputs go through one strict parser. */
function pointerToUri(pointer: BunkerPointer): string {
  if (typeof pointer !== 'object' || pointer === null) throw new TypeError('uri must be a bunker:// string or { pubkey, relays, secret? }')
  const params = new URLSearchParams()
  for (const relay of Array.isArray(pointer.relays) ? pointer.relays : []) params.append('relay', String(relay))
  if (pointer.secret !== undefined) params.append('secret', String(pointer.secret))
  return `bunker://${String(pointer.pubkey)}?${params.toString()}`
}

/**
 * Starts a `nostrconnect://` connection: makes the token to show the user, listens on `relays`, and
 * resolves `signer` once a bunker answers with our secret (its author is the remote signer; answers
 * with another secret are ignored), after an optional `switch_relays` and `get_public_key`.
 *
 * @param options - `relays` (required), permissions, metadata (`name`, `url`, `image` go into the
 * token), timeouts; see {@link NostrConnectOptions}.
 * @returns the session: `uri` to show, `ready`, `signer`, `cancel()`.
 * @throws TypeError/RangeError for bad options (synchronously). Connection failures arrive through
 * `signer` (see {@link NostrConnectSession.signer}).
 * @example
 * ```ts
 * import { startNostrConnect } from 'nostr-rendezvous/nip46'
 * const session = startNostrConnect({
 *   relays: ['wss://relay.nsec.app'],
 *   perms: ['sign_event:1', 'nip44_encrypt'],
 *   metadata: { name: 'My app', url: 'https://app.example.com' },
 * })
 * showQrCode(session.uri)
 * const signer = await session.signer
 * ```
 */
export function startNostrConnect(options: NostrConnectOptions): NostrConnectSession {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object with relays')
  const perms = requestedPerms(options)
  const metadata = metadataOf(options) ?? {}
  const secret = options.secret ?? newSecret()
  const waitMs = positive(options.connectTimeoutMs, DEFAULT_NOSTRCONNECT_TIMEOUT_MS, 'connectTimeoutMs')
  const timeoutMs = positive(options.timeoutMs, DEFAULT_REQUEST_TIMEOUT_MS, 'timeoutMs')
  const relays = assertRelays(options.relays, 'options.relays')
  assertSecret(secret, 'options.secret')
  const connection = new RemoteConnection(options, relays)
  const uri = buildNostrConnectUri({ clientPubkey: connection.clientPubkey, relays, secret, perms, ...metadata })
  // The waiter first, then the subscription: no answer can arrive before someone waits for it.
  const connected = connection.waitForConnect(secret, waitMs, options.signal)
  const listening = connection.listen()
  const signer = (async (): Promise<RemoteSigner> => {
    try {
      await listening
      await connected
      // Listen to the remote signer alone from now on.
      await abortable(connection.listen(), options.signal)
      return await abortable(finishConnecting(connection, options, timeoutMs), options.signal)
    } catch (error) {
      await connection.close()
      throw error
    }
  })()
  const ready = listening.then(() => undefined)
  // Callers may only ever look at `uri`: these rejections must not surface as unhandled.
  for (const promise of [connected, listening, ready, signer]) promise.catch(() => {})
  return {
    uri,
    clientPubkey: connection.clientPubkey,
    secret,
    ready,
    signer,
    cancel: () => connection.close(),
  }
}
