/**
 * NIP-05 identifiers (`name@domain`): parsing and validating them. Apart from the fetching and
 * caching in `nip05.ts` so that a client can parse an identifier (to show it, say) without loading
 * the code that fetches documents.
 *
 * @module
 */

// ---- identifiers ---------------------------------------------------------------------------------

/** A parsed NIP-05 identifier, lower-cased. */
export interface Nip05Identifier {
  /** The local part (`_` for the domain's root identifier). */
  readonly name: string
  /** The domain, lower-case ASCII (international names in their `xn--` form). */
  readonly domain: string
  /** `name@domain`, the form to compare and to store. */
  readonly identifier: string
  /** What to show: the domain alone for `_@domain` (NIP-05 "root" identifier), else `name@domain`. */
  readonly display: string
  /** The document's URL: `https://<domain>/.well-known/nostr.json?name=<name>`. */
  readonly url: string
}

/** Longest local part: RFC 5321's limit for the local part of an address. */
const MAX_NAME_LENGTH = 64
/** Longest domain name (RFC 1035). */
const MAX_DOMAIN_LENGTH = 253
const NAME = /^[a-z0-9._-]+$/
const LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/
const DIGITS = /^[0-9]+$/
// Characters that would make the domain something other than a host name (a port, a path, a
// query, user info, an escape). Rejected before any URL parsing, which would "fix" some of them.
const NOT_IN_DOMAIN = /[\s/\\:?#%@[\]]/
const NON_ASCII = /[^\x00-\x7f]/

/** Why `input` is not an identifier (a phrase for the TypeError), or the parsed identifier. */
function identifierProblem(input: string): string | Nip05Identifier {
  const text = input.trim().toLowerCase()
  if (text === '') return 'is empty'
  const at = text.indexOf('@')
  if (at !== text.lastIndexOf('@')) return 'has more than one @'
  // A bare domain is its root identifier, `_@domain` (NIP-05 "showing just the domain").
  const name = at === -1 ? '_' : text.slice(0, at)
  let domain = at === -1 ? text : text.slice(at + 1)
  if (name.length === 0) return 'has an empty name before @'
  if (name.length > MAX_NAME_LENGTH) return `has a name longer than ${MAX_NAME_LENGTH} characters`
  if (!NAME.test(name)) return 'has a name with characters other than a-z 0-9 - _ . (NIP-05)'
  if (domain.length === 0) return 'has no domain'
  if (NOT_IN_DOMAIN.test(domain)) return 'has a domain that is not a host name'
  if (NON_ASCII.test(domain)) {
    // International domain names are looked up in their ASCII (punycode) form.
    try {
      domain = new URL(`https://${domain}/`).hostname
    } catch {
      return 'has a domain that is not a host name'
    }
  }
  if (domain.length > MAX_DOMAIN_LENGTH) return `has a domain longer than ${MAX_DOMAIN_LENGTH} characters`
  const labels = domain.split('.')
  if (labels.length < 2) return 'has a domain without a dot'
  for (const label of labels) {
    if (label.length === 0 || label.length > 63 || !LABEL.test(label)) return 'has a domain that is not a host name'
  }
  // A numeric last label is an IP address, not a domain; NIP-05 names a domain.
  if (DIGITS.test(labels[labels.length - 1]!)) return 'has an IP address instead of a domain'
  const identifier = `${name}@${domain}`
  return {
    name,
    domain,
    identifier,
    display: name === '_' ? domain : identifier,
    url: `https://${domain}/.well-known/nostr.json?name=${encodeURIComponent(name)}`,
  }
}

/**
 * Parses a NIP-05 identifier the application was given (`bob@example.com`, `_@example.com`, or
 * the bare domain `example.com`, which means `_@example.com`). Case is folded and surrounding
 * space trimmed; the local part may only use `a-z0-9-_.` (NIP-05).
 *
 * @param input - the identifier.
 * @returns the parsed identifier with its canonical form, display form and document URL.
 * @throws TypeError naming what is wrong (for identifiers from the network, use {@link tryParseNip05}).
 * @example
 * ```ts
 * import { parseNip05 } from 'nostr-rendezvous/outbox'
 * parseNip05('Bob@Example.com').identifier // 'bob@example.com'
 * parseNip05('_@bob.com').display // 'bob.com'
 * parseNip05('bob@example.com').url // 'https://example.com/.well-known/nostr.json?name=bob'
 * ```
 */
export function parseNip05(input: string): Nip05Identifier {
  if (typeof input !== 'string') throw new TypeError(`identifier must be a string, got ${typeof input}`)
  const result = identifierProblem(input)
  if (typeof result === 'string') throw new TypeError(`identifier ${result}`)
  return result
}

/**
 * {@link parseNip05} for input from the network (a profile's `nip05` field): never throws.
 *
 * @param input - anything.
 * @returns the parsed identifier, or `undefined` when `input` is not one.
 * @example
 * ```ts
 * import { tryParseNip05 } from 'nostr-rendezvous/outbox'
 * tryParseNip05(profile.fields.nip05)?.display
 * tryParseNip05('not an identifier') // undefined
 * ```
 */
export function tryParseNip05(input: unknown): Nip05Identifier | undefined {
  if (typeof input !== 'string') return undefined
  const result = identifierProblem(input)
  return typeof result === 'string' ? undefined : result
}
