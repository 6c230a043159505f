/**
 * Which relays the pool may connect to, and which it may authenticate to (NIP-42).
 *
 * Both policies take lists whose entries are either relay URLs or host patterns:
 *
 * - an entry with `://`, a port or a path is a relay URL, normalised like every other
 *   ({@link normalizeRelayUrl}; a bare `relay.example.com:7777` means `wss://`), and matches that
 *   one URL;
 * - a bare host (`relay.example.com`, `127.0.0.1`, `[::1]` or `::1`) matches every relay URL on
 *   that host, whatever the scheme, port or path;
 * - `*.example.com` matches every subdomain of `example.com` at any depth, but not `example.com`
 *   itself (list both to mean both). A `*` anywhere else is refused.
 *
 * The connect policy refuses, in this order: URLs that are not relay URLs, relays on the deny list,
 * relays missing from a non-empty allow list, `.onion` relays when no onion-capable WebSocket
 * factory is configured, and — for URLs `discovered` in other people's relay lists and hints — hosts
 * that point into the user's own machine or network (loopback, private, link-local, local names)
 * unless `allowPrivateHosts` says otherwise. Someone else's relay list must not make the user's
 * client probe their router or a service on localhost; the user's own settings (`configured`) may.
 * An allow-list entry does not lift the private-address rule: only `allowPrivateHosts` does.
 *
 * The AUTH policy defaults to never: answering a NIP-42 challenge tells the relay who the user is,
 * so the app has to ask for it.
 *
 * @module
 */
import { RelayError } from '../errors.js'
import type { RelayOrigin } from './types.js'
import { hostKind, normalizeRelayUrl, parseRelayUrlParts } from './url.js'

/**
 * Options of {@link createConnectPolicy}. List entries are relay URLs or host patterns (see the
 * module documentation).
 */
export interface ConnectPolicyOptions {
  /**
   * When non-empty, only relays matching an entry are connected to.
   * @default []
   */
  allow?: readonly string[]
  /**
   * Relays matching an entry are never connected to; wins over `allow` and `allowPrivateHosts`.
   * @default []
   */
  deny?: readonly string[]
  /**
   * Loopback, private, link-local and local-name hosts taken from other people's relay lists are
   * refused unless this is `true` or lists the relay (e.g. `['127.0.0.1']` in tests).
   * @default false
   */
  allowPrivateHosts?: boolean | readonly string[]
  /**
   * Set when the WebSocket factory can reach `.onion` relays (through Tor); otherwise they are
   * refused whatever their origin.
   * @default false
   */
  onionProxy?: boolean
}

/**
 * Why the pool refused a relay URL: the connect policy's reasons, plus `blocked` (the pool's
 * `isBlocked` hook said so) and `not-approved` (the `approveConnect` gate said no, threw, or was
 * not answered).
 */
export type ConnectRefusalReason =
  | 'deny-list'
  | 'not-on-allow-list'
  | 'private-address'
  | 'onion-without-proxy'
  | 'invalid-url'
  | 'blocked'
  | 'not-approved'

/** The connect policy's answer for one relay URL. */
export type ConnectDecision = { allowed: true } | { allowed: false; reason: ConnectRefusalReason }

/** A connect policy made by {@link createConnectPolicy}. */
export type ConnectCheck = (url: string, origin: RelayOrigin) => ConnectDecision

/**
 * Which relays may receive a NIP-42 AUTH: `'never'` (the default), `'always'`, a list of relay URLs
 * and host patterns, or a callback given the normalised relay URL (a callback that throws or
 * rejects means no; only `true` means yes).
 */
export type AuthPolicy = 'never' | 'always' | readonly string[] | ((url: string) => boolean | Promise<boolean>)

/** An AUTH policy made by {@link createAuthPolicy}: resolves to whether to authenticate; never rejects. */
export type AuthCheck = (url: string) => Promise<boolean>

/** One compiled list entry. */
type Matcher = { url: string } | { host: string } | { suffix: string }

interface UrlParts {
  url: string
  hostname: string
}

const ALLOWED: ConnectDecision = Object.freeze({ allowed: true })

function refuse(reason: ConnectRefusalReason): ConnectDecision {
  return { allowed: false, reason }
}

function invalidEntry(field: string, problem: string, cause?: unknown): RelayError {
  return new RelayError('RELAY_URL_INVALID', 'Invalid relay URL or host pattern', { details: `${field}: ${problem}`, cause })
}

/** The canonical host of a host-pattern entry (as the URL parser writes it), or a problem. */
function canonicalPatternHost(host: string): string | undefined {
  // An unbracketed IPv6 literal (`::1`) is friendlier to type; the URL parser wants brackets.
  const bracketed = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
  const parts = parseRelayUrlParts(`wss://${bracketed}`)
  return parts && parts.url === `wss://${parts.hostname}` ? parts.hostname : undefined
}

function compileWildcard(entry: string, field: string): Matcher {
  const host = canonicalPatternHost(entry.slice(2))
  if (host === undefined || host.startsWith('[') || /^[\d.]+$/.test(host) || entry.slice(2).includes('*')) {
    throw invalidEntry(field, `${JSON.stringify(entry)}: *. must be followed by a domain name`)
  }
  return { suffix: `.${host}` }
}

function compileEntry(entry: unknown, field: string): Matcher {
  if (typeof entry !== 'string') throw new TypeError(`${field} must be a string`)
  const trimmed = entry.trim()
  if (trimmed.startsWith('*.')) return compileWildcard(trimmed, field)
  if (trimmed.includes('*')) throw invalidEntry(field, `${JSON.stringify(trimmed.slice(0, 80))}: * is only allowed as a leading *.`)
  const bareHost = /^[^/?#:@\\[\]]+$/.test(trimmed) || /^\[[^\]]*\]$/.test(trimmed) || /^[0-9a-f:.]*:[0-9a-f:.]*:[0-9a-f:.]*$/i.test(trimmed)
  if (bareHost && !trimmed.includes('://')) {
    const host = canonicalPatternHost(trimmed)
    if (host !== undefined) return { host }
  }
  try {
    return { url: normalizeRelayUrl(trimmed) }
  } catch (err) {
    if (err instanceof RelayError) throw invalidEntry(field, err.details ?? err.shortMessage, err)
    throw err
  }
}

function compileList(list: unknown, field: string): Matcher[] {
  if (list === undefined) return []
  if (!Array.isArray(list)) throw new TypeError(`${field} must be an array of strings`)
  return list.map((entry, i) => compileEntry(entry, `${field}[${i}]`))
}

function matches(matcher: Matcher, parts: UrlParts): boolean {
  if ('url' in matcher) return matcher.url === parts.url
  if ('host' in matcher) return matcher.host === parts.hostname
  return parts.hostname.endsWith(matcher.suffix)
}

function matchesAny(matchers: readonly Matcher[], parts: UrlParts): boolean {
  return matchers.some((m) => matches(m, parts))
}

function optionalBoolean(value: unknown, field: string): boolean {
  if (value === undefined) return false
  if (typeof value !== 'boolean') throw new TypeError(`${field} must be a boolean`)
  return value
}

/**
 * Makes the connect policy: a function that says whether the pool may open a connection to a relay
 * URL, given where the URL came from. Options are checked and copied now, so a bad entry fails at
 * start-up rather than at the first connection.
 *
 * @param options - allow/deny lists, private-host and onion settings.
 * @returns a pure function `(url, origin) => decision`; it normalises `url` itself and answers
 *   `invalid-url` for anything that is not a relay URL (including a non-string).
 * @throws TypeError when an option has the wrong type, naming it.
 * @throws RelayError `RELAY_URL_INVALID` when a list entry is neither a relay URL nor a host
 *   pattern; `details` names the entry (`allow[2]: ...`).
 * @example
 * ```ts
 * import { createConnectPolicy } from 'nostr-rendezvous/relay-pool'
 * const canConnect = createConnectPolicy({ deny: ['*.spam.example'], allowPrivateHosts: ['127.0.0.1'] })
 * canConnect('ws://127.0.0.1:7777', 'discovered') // { allowed: true }
 * canConnect('ws://192.168.1.1', 'discovered') // { allowed: false, reason: 'private-address' }
 * canConnect('wss://relay.spam.example', 'configured') // { allowed: false, reason: 'deny-list' }
 * ```
 */
export function createConnectPolicy(options: ConnectPolicyOptions = {}): ConnectCheck {
  if (typeof options !== 'object' || options === null) throw new TypeError('connect policy options must be an object')
  const allow = compileList(options.allow, 'allow')
  const deny = compileList(options.deny, 'deny')
  const privateOption = options.allowPrivateHosts
  const allPrivate = Array.isArray(privateOption) ? false : optionalBoolean(privateOption, 'allowPrivateHosts')
  const privateHosts = Array.isArray(privateOption) ? compileList(privateOption, 'allowPrivateHosts') : []
  const onionProxy = optionalBoolean(options.onionProxy, 'onionProxy')

  return (url, origin) => {
    if (origin !== 'configured' && origin !== 'discovered') throw new TypeError("origin must be 'configured' or 'discovered'")
    const parts = parseRelayUrlParts(url)
    if (!parts) return refuse('invalid-url')
    if (matchesAny(deny, parts)) return refuse('deny-list')
    if (allow.length > 0 && !matchesAny(allow, parts)) return refuse('not-on-allow-list')
    const kind = hostKind(parts.hostname)
    if (kind === 'onion') return onionProxy ? ALLOWED : refuse('onion-without-proxy')
    if (kind === 'public' || origin === 'configured' || allPrivate) return ALLOWED
    return matchesAny(privateHosts, parts) ? ALLOWED : refuse('private-address')
  }
}

/**
 * Makes the NIP-42 AUTH policy: a function that resolves to whether the pool may answer a relay's
 * AUTH challenge (which reveals the user's public key to that relay).
 *
 * @param policy - `'never'` (also when `undefined`), `'always'`, a list of relay URLs and host
 *   patterns, or a callback given the normalised URL.
 * @returns `(url) => Promise<boolean>`; never rejects. A URL that is not a relay URL gets `false`,
 *   and so does a callback that throws, rejects or returns anything but `true`.
 * @throws TypeError when `policy` is none of the forms above.
 * @throws RelayError `RELAY_URL_INVALID` when a list entry is neither a relay URL nor a host pattern.
 * @example
 * ```ts
 * import { createAuthPolicy } from 'nostr-rendezvous/relay-pool'
 * const mayAuth = createAuthPolicy(['wss://paid.example.com', '*.my-relays.example'])
 * await mayAuth('wss://paid.example.com/') // true
 * await mayAuth('wss://other.example.com') // false
 * ```
 */
export function createAuthPolicy(policy: AuthPolicy | undefined): AuthCheck {
  if (policy === undefined || policy === 'never') return async () => false
  if (policy === 'always') return async (url) => parseRelayUrlParts(url) !== undefined
  if (Array.isArray(policy)) {
    const list = compileList(policy, 'authPolicy')
    return async (url) => {
      const parts = parseRelayUrlParts(url)
      return parts !== undefined && matchesAny(list, parts)
    }
  }
  if (typeof policy === 'function') {
    const decide = policy
    return async (url) => {
      const parts = parseRelayUrlParts(url)
      if (!parts) return false
      try {
        return (await decide(parts.url)) === true
      } catch {
        return false
      }
    }
  }
  throw new TypeError("authPolicy must be 'never', 'always', an array of relay URLs or a function")
}
