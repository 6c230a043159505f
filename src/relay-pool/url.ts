/**
 * Relay URL normalisation and host classification.
 *
 * One relay must have one spelling, or the pool opens two connections to it and the scorer splits
 * its evidence in two. {@link normalizeRelayUrl} maps every accepted spelling to one canonical
 * string, using the WHATWG URL parser (the one browsers and Node share) for the hard parts:
 *
 * | rule | example |
 * |---|---|
 * | surrounding whitespace trimmed | `' wss://r.example '` → `wss://r.example` |
 * | a bare host gets `wss://` | `r.example:7777/path` → `wss://r.example:7777/path` |
 * | only `ws:` and `wss:` (never silently converted), followed by `//` | `https://r.example` → error |
 * | host lower-cased; IDN to punycode; numeric IPv4 forms to dotted quad | `wss://Ü.example` → `wss://xn--tda.example`, `ws://0x7f.1` → `ws://127.0.0.1` |
 * | one trailing dot of a domain dropped | `wss://r.example.` → `wss://r.example` |
 * | default port dropped (443 for `wss`, 80 for `ws`) | `wss://r.example:443` → `wss://r.example` |
 * | trailing slashes removed from the path, so the root has none | `wss://r.example/a//` → `wss://r.example/a` |
 * | query kept (an empty `?` dropped), fragment dropped | `wss://r.example/?k=v#x` → `wss://r.example?k=v` |
 *
 * Rejected (`RELAY_URL_INVALID`): credentials (`user:pass@`, even an empty `@`), an empty host or an
 * empty label (`a..b`), whitespace or control characters inside, port 0, anything the WHATWG parser
 * refuses, and inputs or results longer than {@link MAX_RELAY_URL_LENGTH} characters. IPv6 hosts
 * are written in brackets (`ws://[::1]:7777`); zone ids (`%eth0`) are refused.
 *
 * Normalisation is idempotent: `normalizeRelayUrl(normalizeRelayUrl(x)) === normalizeRelayUrl(x)`
 * (a property test holds it to that).
 *
 * {@link relayHostKind} says whether a relay's host is public, loopback, private, link-local, an
 * onion service or a local name, so the connect policy can refuse addresses that point into the
 * user's own network when they come from someone else's relay list.
 *
 * @module
 */
import { RelayError } from '../errors.js'

/** Longest relay URL accepted, before and after normalisation, in UTF-16 code units. */
export const MAX_RELAY_URL_LENGTH = 2048

/**
 * What kind of host a relay URL points at.
 *
 * - `public`: anything not listed below.
 * - `loopback`: 127.0.0.0/8, 0.0.0.0/8, `::1`, `::`, `localhost` and `*.localhost`.
 * - `private`: 10/8, 172.16/12, 192.168/16, 100.64/10 (CGNAT), fc00::/7, and other ranges that
 *   are not globally reachable (192.0.0.0/24, 198.18.0.0/15, 224.0.0.0/3 multicast and reserved,
 *   fec0::/10, ff00::/8).
 * - `link-local`: 169.254/16, fe80::/10.
 * - `onion`: `*.onion` (Tor onion services).
 * - `local-name`: single-label hosts (`relay`), `*.local`, `*.localdomain`, `*.internal`,
 *   `*.intranet`, `*.lan`, `*.home`, `*.corp`, `*.private`, `*.home.arpa`.
 *
 * IPv6 addresses that embed an IPv4 address (mapped `::ffff:a.b.c.d`, which the URL parser writes
 * as hex `[::ffff:7f00:1]`; compatible `::a.b.c.d`; translated `::ffff:0:a.b.c.d`; NAT64
 * `64:ff9b::a.b.c.d`) are classified by that IPv4 address.
 */
export type RelayHostKind = 'public' | 'loopback' | 'private' | 'link-local' | 'onion' | 'local-name'

/** A parsed, normalised relay URL, or why the input is not one. */
type ParseResult = { url: string; hostname: string } | { problem: string; showInput: boolean }

// Letters, digits, + - . then a colon: how RFC 3986 starts a scheme.
const SCHEME_RE = /^([a-z][a-z0-9+.-]*):/i
// `host:port` with nothing or a path/query/fragment after it looks like a scheme but is a bare host.
const HOST_PORT_RE = /^[^:/?#\\]+:\d+(?:[/?#\\]|$)/
// Whitespace (JS \s covers the Unicode spaces and U+FEFF) and C0/C1 controls, including DEL.
const FORBIDDEN_CHAR_RE = /[\s\u0000-\u001f\u007f-\u009f]/
const AUTHORITY_END_RE = /[/?#\\]/

function fail(problem: string, showInput = true): ParseResult {
  return { problem, showInput }
}

/** Adds `wss://` to a bare host, or checks the scheme the input names. */
function withScheme(input: string): { candidate: string } | { problem: string } {
  const scheme = SCHEME_RE.exec(input)
  if (!scheme || HOST_PORT_RE.test(input)) {
    if (/^[/\\]/.test(input)) return { problem: 'relay URL has no host' }
    return { candidate: `wss://${input}` }
  }
  const name = scheme[1]!.toLowerCase()
  if (name !== 'ws' && name !== 'wss') return { problem: `scheme must be ws: or wss:, not ${name.slice(0, 20)}:` }
  const rest = input.slice(scheme[0].length)
  if (!rest.startsWith('//')) return { problem: 'scheme must be followed by //' }
  // `wss:///host` parses as wss://host in WHATWG; a missing authority is a typo, not a relay.
  if (/^[/\\]/.test(rest.slice(2))) return { problem: 'relay URL has no host' }
  return { candidate: `${name}:${rest}` }
}

/** The host without one trailing dot, or a problem when a label is empty. */
function canonicalHost(hostname: string): { host: string } | { problem: string } {
  if (hostname.startsWith('[')) return { host: hostname }
  const host = hostname.endsWith('.') ? hostname.slice(0, -1) : hostname
  if (host === '') return { problem: 'relay URL has no host' }
  if (host.split('.').includes('')) return { problem: 'host has an empty label' }
  return { host }
}

/**
 * What sits between the scheme and its slashes (any scheme, any number of slashes or backslashes,
 * the way lenient parsers read them) and the path, query or fragment.
 */
function authorityOf(input: string): string {
  const scheme = HOST_PORT_RE.test(input) ? null : SCHEME_RE.exec(input)
  const rest = scheme ? input.slice(scheme[0].length) : input
  return rest.replace(/^[/\\]+/, '').split(AUTHORITY_END_RE)[0]!
}

function parseRelayUrl(input: unknown): ParseResult {
  if (typeof input !== 'string') return fail('relay URL must be a string', false)
  const trimmed = input.trim()
  if (trimmed === '') return fail('relay URL is empty', false)
  if (trimmed.length > MAX_RELAY_URL_LENGTH) return fail(`relay URL is longer than ${MAX_RELAY_URL_LENGTH} characters`, false)
  // First, and without echoing the input: the part before `@` may be a password, whatever the scheme.
  if (authorityOf(trimmed).includes('@')) return fail('credentials are not allowed in a relay URL', false)
  if (FORBIDDEN_CHAR_RE.test(trimmed)) return fail('relay URL contains whitespace or a control character')
  const schemed = withScheme(trimmed)
  if ('problem' in schemed) return fail(schemed.problem)
  const authority = authorityOf(schemed.candidate)
  if (authority === '' || authority.startsWith(':')) return fail('relay URL has no host')
  let parsed: URL
  try {
    parsed = new URL(schemed.candidate)
  } catch {
    return fail('relay URL could not be parsed')
  }
  return assemble(parsed)
}

function assemble(parsed: URL): ParseResult {
  if (parsed.username !== '' || parsed.password !== '') return fail('credentials are not allowed in a relay URL', false)
  if (parsed.hostname === '') return fail('relay URL has no host')
  const host = canonicalHost(parsed.hostname)
  if ('problem' in host) return fail(host.problem)
  // ws: and wss: are WHATWG "special" schemes: the parser has already dropped ports 80 and 443.
  const port = parsed.port
  if (port === '0') return fail('port 0 is not allowed')
  const path = parsed.pathname.replace(/\/+$/, '')
  const url = `${parsed.protocol}//${host.host}${port ? `:${port}` : ''}${path}${parsed.search}`
  if (url.length > MAX_RELAY_URL_LENGTH) return fail(`relay URL is longer than ${MAX_RELAY_URL_LENGTH} characters`, false)
  return { url, hostname: host.host }
}

/** A short, quoted, single-line preview of untrusted input for error details. */
function preview(input: string): string {
  const trimmed = input.trim()
  const short = trimmed.length > 80 ? `${trimmed.slice(0, 80)}…` : trimmed
  return JSON.stringify(short)
}

/**
 * Why `input` is not a relay URL, or `undefined` when it is one.
 *
 * @param input - anything (a relay list entry, a hint from a tag, user input).
 * @returns a short reason, or `undefined` for a valid relay URL.
 * @example
 * ```ts
 * import { relayUrlProblem } from 'nostr-rendezvous/relay-pool'
 * relayUrlProblem('https://relay.example.com') // 'scheme must be ws: or wss:, not https:'
 * relayUrlProblem('relay.example.com') // undefined
 * ```
 */
export function relayUrlProblem(input: unknown): string | undefined {
  const result = parseRelayUrl(input)
  return 'problem' in result ? result.problem : undefined
}

/**
 * The canonical spelling of a relay URL (rules in the module documentation).
 *
 * @param input - a relay URL or a bare host such as `relay.example.com`.
 * @returns the normalised URL, e.g. `wss://relay.example.com`.
 * @throws TypeError when `input` is not a string.
 * @throws RelayError `RELAY_URL_INVALID` when it is not a relay URL; `details` says why.
 * @example
 * ```ts
 * import { normalizeRelayUrl } from 'nostr-rendezvous/relay-pool'
 * normalizeRelayUrl(' Relay.Example.com:443/ ') // 'wss://relay.example.com'
 * normalizeRelayUrl('ws://[::1]:7777/nostr/') // 'ws://[::1]:7777/nostr'
 * ```
 */
export function normalizeRelayUrl(input: string): string {
  if (typeof input !== 'string') throw new TypeError('relay URL must be a string')
  const result = parseRelayUrl(input)
  if ('url' in result) return result.url
  const details = result.showInput ? `${preview(input)}: ${result.problem}` : result.problem
  throw new RelayError('RELAY_URL_INVALID', 'Invalid relay URL', { details })
}

/**
 * Like {@link normalizeRelayUrl}, but returns `undefined` instead of throwing: for the junk found
 * in other people's relay lists and tags.
 *
 * @param input - anything.
 * @returns the normalised URL, or `undefined` when `input` is not a relay URL.
 * @example
 * ```ts
 * import { tryNormalizeRelayUrl } from 'nostr-rendezvous/relay-pool'
 * const urls = tags.map((t) => tryNormalizeRelayUrl(t[1])).filter((u) => u !== undefined)
 * ```
 */
export function tryNormalizeRelayUrl(input: unknown): string | undefined {
  const result = parseRelayUrl(input)
  return 'url' in result ? result.url : undefined
}

/**
 * Normalises a relay URL and returns it with its host (brackets kept for IPv6). For the policy
 * module, which needs both and should parse once.
 *
 * @internal
 */
export function parseRelayUrlParts(input: unknown): { url: string; hostname: string } | undefined {
  const result = parseRelayUrl(input)
  return 'url' in result ? result : undefined
}

/**
 * What kind of host a relay URL points at: public, loopback, private, link-local, onion or a local
 * name (see {@link RelayHostKind}). Numeric tricks such as `ws://2130706433` or `ws://0x7f.1` are
 * already `127.0.0.1` after normalisation, so they are classified as loopback.
 *
 * @param url - a relay URL (normalised first if it is not).
 * @returns the kind of its host.
 * @throws TypeError when `url` is not a string.
 * @throws RelayError `RELAY_URL_INVALID` when it is not a relay URL.
 * @example
 * ```ts
 * import { relayHostKind } from 'nostr-rendezvous/relay-pool'
 * relayHostKind('ws://127.0.0.1:7777') // 'loopback'
 * relayHostKind('wss://relay.example.com') // 'public'
 * relayHostKind('ws://abc.onion') // 'onion'
 * ```
 */
export function relayHostKind(url: string): RelayHostKind {
  if (typeof url !== 'string') throw new TypeError('relay URL must be a string')
  const parts = parseRelayUrlParts(url)
  // Normalising again only to throw the same detailed error as normalizeRelayUrl.
  return hostKind((parts ?? { hostname: normalizeRelayUrl(url) }).hostname)
}

/**
 * The kind of a host as the URL parser serialises it (IPv6 in brackets, IPv4 as a dotted quad).
 *
 * @internal
 */
export function hostKind(hostname: string): RelayHostKind {
  if (hostname.startsWith('[')) return ipv6Kind(hostname.slice(1, -1))
  const ipv4 = parseIpv4(hostname)
  if (ipv4 !== undefined) return ipv4Kind(ipv4)
  return domainKind(hostname)
}

const LOCAL_SUFFIXES = ['.local', '.localdomain', '.internal', '.intranet', '.lan', '.home', '.corp', '.private', '.home.arpa']

function domainKind(host: string): RelayHostKind {
  if (host === 'localhost' || host.endsWith('.localhost')) return 'loopback'
  if (host.endsWith('.onion')) return 'onion'
  if (!host.includes('.')) return 'local-name'
  if (LOCAL_SUFFIXES.some((suffix) => host.endsWith(suffix))) return 'local-name'
  return 'public'
}

/** A dotted-quad IPv4 address as a 32-bit unsigned number, or undefined. */
function parseIpv4(host: string): number | undefined {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host)
  if (!match) return undefined
  let value = 0
  for (let i = 1; i <= 4; i++) {
    const octet = Number(match[i])
    if (octet > 255) return undefined
    value = value * 256 + octet
  }
  return value
}

/** [network, prefix length, kind]: checked in order, first match wins. */
const IPV4_RANGES: readonly (readonly [string, number, RelayHostKind])[] = [
  ['0.0.0.0', 8, 'loopback'], // "this network": connecting to 0.0.0.0 reaches the local host
  ['127.0.0.0', 8, 'loopback'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'private'],
  ['172.16.0.0', 12, 'private'],
  ['192.168.0.0', 16, 'private'],
  ['169.254.0.0', 16, 'link-local'],
  ['192.0.0.0', 24, 'private'],
  ['198.18.0.0', 15, 'private'],
  ['224.0.0.0', 3, 'private'],
]

const IPV4_TABLE = IPV4_RANGES.map(([network, bits, kind]) => {
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0
  return { base: (parseIpv4(network)! & mask) >>> 0, mask, kind }
})

function ipv4Kind(address: number): RelayHostKind {
  for (const { base, mask, kind } of IPV4_TABLE) if (((address & mask) >>> 0) === base) return kind
  return 'public'
}

/** The eight 16-bit groups of an IPv6 address in the URL parser's compressed hex form. */
function ipv6Groups(address: string): number[] | undefined {
  const halves = address.split('::')
  if (halves.length > 2) return undefined
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => Number.parseInt(g, 16)))
  const head = parse(halves[0]!)
  const tail = halves.length === 2 ? parse(halves[1]!) : []
  const fill = 8 - head.length - tail.length
  if (halves.length === 1 ? fill !== 0 : fill < 0) return undefined
  const groups = [...head, ...new Array<number>(fill).fill(0), ...tail]
  return groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined
}

function ipv6Kind(address: string): RelayHostKind {
  const g = ipv6Groups(address)
  // The URL parser only emits valid addresses; anything else is not ours to trust.
  if (!g) return 'private'
  const embedded = (g[6]! * 0x10000 + g[7]!) >>> 0
  const zeros = (n: number) => g.slice(0, n).every((x) => x === 0)
  // ::/96 (compatible, covers :: and ::1), ::ffff:0:0/96 (mapped), ::ffff:0:0:0/96 (translated)
  // and 64:ff9b::/96 (NAT64) all reach the IPv4 address in the last 32 bits.
  if (zeros(6)) return ipv4Kind(embedded)
  if (zeros(5) && g[5] === 0xffff) return ipv4Kind(embedded)
  if (zeros(4) && g[4] === 0xffff && g[5] === 0) return ipv4Kind(embedded)
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return ipv4Kind(embedded)
  const first = g[0]!
  if ((first & 0xfe00) === 0xfc00) return 'private'
  if ((first & 0xffc0) === 0xfe80) return 'link-local'
  if ((first & 0xffc0) === 0xfec0) return 'private'
  if ((first & 0xff00) === 0xff00) return 'private'
  return 'public'
}
