import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { codeOf, errorOf } from '../helpers/errors.js'
import {
  MAX_RELAY_URL_LENGTH,
  type RelayHostKind,
  normalizeRelayUrl,
  relayHostKind,
  relayUrlProblem,
  tryNormalizeRelayUrl,
} from '../../src/relay-pool/url.js'

/**
 * The RelayError `fn` throws (rethrows anything else; undefined when it does not throw). The shared
 * `codeOf` gives only the code; these tests also read `details`.
 */
const ACCEPTED: readonly (readonly [input: string, normalised: string])[] = [
  ['relay.example.com', 'wss://relay.example.com'],
  ['relay.example.com:7777/path', 'wss://relay.example.com:7777/path'],
  ['localhost:7777', 'wss://localhost:7777'],
  ['[::1]:7777', 'wss://[::1]:7777'],
  ['  wss://relay.example.com \n', 'wss://relay.example.com'],
  ['wss://Relay.EXAMPLE.com', 'wss://relay.example.com'],
  ['WSS://relay.example.com', 'wss://relay.example.com'],
  ['Ws://relay.example.com', 'ws://relay.example.com'],
  ['wss://relay.example.com:443', 'wss://relay.example.com'],
  ['wss://relay.example.com:00443/', 'wss://relay.example.com'],
  ['ws://relay.example.com:80/', 'ws://relay.example.com'],
  ['ws://relay.example.com:443', 'ws://relay.example.com:443'],
  ['wss://relay.example.com:80', 'wss://relay.example.com:80'],
  ['wss://relay.example.com/', 'wss://relay.example.com'],
  ['wss://relay.example.com///', 'wss://relay.example.com'],
  ['wss://relay.example.com/a/', 'wss://relay.example.com/a'],
  ['wss://relay.example.com/a//', 'wss://relay.example.com/a'],
  ['wss://relay.example.com/a/b/', 'wss://relay.example.com/a/b'],
  ['wss://relay.example.com/a/./b/../', 'wss://relay.example.com/a'],
  ['wss://relay.example.com/CasePath', 'wss://relay.example.com/CasePath'],
  ['wss://relay.example.com/?k=V', 'wss://relay.example.com?k=V'],
  ['wss://relay.example.com/a/?k=v#frag', 'wss://relay.example.com/a?k=v'],
  ['wss://relay.example.com#frag', 'wss://relay.example.com'],
  ['wss://relay.example.com?', 'wss://relay.example.com'],
  ['wss://relay.example.com/a%20b', 'wss://relay.example.com/a%20b'],
  ['wss://relay.example.com/ä', 'wss://relay.example.com/%C3%A4'],
  ['wss://relay.example.com\\a\\', 'wss://relay.example.com/a'],
  ['wss://relay.example.com.', 'wss://relay.example.com'],
  ['wss://münchen.example', 'wss://xn--mnchen-3ya.example'],
  ['wss://ＲＥＬＡＹ.example', 'wss://relay.example'],
  ['ws://[::1]:7777', 'ws://[::1]:7777'],
  ['ws://[0:0:0:0:0:0:0:1]:7777/', 'ws://[::1]:7777'],
  ['ws://[FC00::1]', 'ws://[fc00::1]'],
  ['ws://[::ffff:127.0.0.1]', 'ws://[::ffff:7f00:1]'],
  ['ws://127.0.0.1:7777', 'ws://127.0.0.1:7777'],
  ['ws://2130706433', 'ws://127.0.0.1'],
  ['ws://0x7f.1:7777', 'ws://127.0.0.1:7777'],
  ['wss://127.0.0.1.', 'wss://127.0.0.1'],
]

describe('normalizeRelayUrl accepts and normalises', () => {
  it.each(ACCEPTED)('%j → %s', (input, expected) => {
    expect(normalizeRelayUrl(input)).toBe(expected)
    expect(tryNormalizeRelayUrl(input)).toBe(expected)
    expect(relayUrlProblem(input)).toBeUndefined()
  })

  it('accepts exactly MAX_RELAY_URL_LENGTH characters', () => {
    const url = `wss://relay.example.com/${'a'.repeat(MAX_RELAY_URL_LENGTH - 24)}`
    expect(url).toHaveLength(MAX_RELAY_URL_LENGTH)
    expect(normalizeRelayUrl(url)).toBe(url)
  })
})

const REJECTED: readonly (readonly [input: string, problem: string])[] = [
  ['', 'empty'],
  ['   \t ', 'empty'],
  ['http://relay.example.com', 'not http:'],
  ['https://relay.example.com', 'not https:'],
  ['ftp://relay.example.com', 'not ftp:'],
  ['javascript:alert(1)', 'not javascript:'],
  ['nostr:npub1sn0wdenkukak0d9dfczzeacvhkrgz92ak56egt7vdgzn8pv2wfqqhrjdv9', 'not nostr:'],
  ['wss:relay.example.com', 'followed by //'],
  ['wss:/relay.example.com', 'followed by //'],
  ['wss:\\\\relay.example.com', 'followed by //'],
  ['wss:///relay.example.com', 'no host'],
  ['//relay.example.com', 'no host'],
  ['wss://', 'no host'],
  ['wss://:443', 'no host'],
  ['wss://?k=v', 'no host'],
  ['wss://.', 'no host'],
  ['wss://a..b', 'empty label'],
  ['wss://.example.com', 'empty label'],
  ['wss://user:pass@relay.example.com', 'credentials'],
  ['wss://user@relay.example.com', 'credentials'],
  ['wss://@relay.example.com', 'credentials'],
  ['user:pass@relay.example.com', 'credentials'],
  ['https://user:pass@relay.example.com', 'credentials'],
  ['wss:\\\\user:pass@relay.example.com', 'credentials'],
  ['wss:user:pass@relay.example.com', 'credentials'],
  ['wss://relay .example.com', 'whitespace'],
  ['wss://relay.example.com/a b', 'whitespace'],
  ['wss://relay.example.com/a\u00a0b', 'whitespace'],
  ['wss://relay.example.com/a\ufeffb', 'whitespace'],
  ['wss://relay.example.com/a\u2028b', 'whitespace'],
  ['wss://relay.example.com\n/x', 'control'],
  ['wss://relay.example.com/\u0000', 'control'],
  ['wss://relay.example.com/\u007f', 'control'],
  ['wss://relay.example.com/\u0085', 'control'],
  ['wss://relay.example.com:0', 'port 0'],
  ['wss://relay.example.com:65536', 'could not be parsed'],
  ['wss://relay.example.com:http', 'could not be parsed'],
  ['wss://[::1', 'could not be parsed'],
  ['wss://[fe80::1%25eth0]', 'could not be parsed'],
  ['wss://999.1.1.1', 'could not be parsed'],
  ['wss://exa<mple.com', 'could not be parsed'],
  ['::1', 'no host'],
  [`wss://${'a'.repeat(MAX_RELAY_URL_LENGTH)}`, `longer than ${MAX_RELAY_URL_LENGTH}`],
  // Short enough as typed, too long once percent-encoded: refused so the output stays valid input.
  [`wss://r.example/${'ä'.repeat(1000)}`, `longer than ${MAX_RELAY_URL_LENGTH}`],
]

describe('normalizeRelayUrl rejects', () => {
  it.each(REJECTED)('%j (%s)', (input, problem) => {
    const err = errorOf(() => normalizeRelayUrl(input))
    expect(err?.code).toBe('RELAY_URL_INVALID')
    expect(err?.details).toContain(problem)
    expect(relayUrlProblem(input)).toContain(problem)
    expect(tryNormalizeRelayUrl(input)).toBeUndefined()
  })

  it('quotes the input in details, shortened and on one line', () => {
    const err = errorOf(() => normalizeRelayUrl(`https://relay.example.com/${'x'.repeat(500)}\n`))
    expect(err?.details).toMatch(/^"https:\/\/relay\.example\.com\/x+…": scheme must be ws: or wss:, not https:$/)
    expect(err!.details!.length).toBeLessThan(140)
    expect(errorOf(() => normalizeRelayUrl('wss://relay.example.com/a\nb'))?.details).toContain('\\n')
  })

  it('never echoes credentials', () => {
    const inputs = ['wss://alice:hunter2@relay.example.com', 'alice:hunter2@relay.example.com/x', 'http://alice:hunter2@x', 'wss:\\\\alice:hunter2@x']
    for (const input of inputs) {
      const err = errorOf(() => normalizeRelayUrl(input))
      expect(err?.code).toBe('RELAY_URL_INVALID')
      expect(err?.message).not.toContain('hunter2')
      expect(err?.details).toBe('credentials are not allowed in a relay URL')
    }
  })

  it('throws TypeError for a non-string; tryNormalizeRelayUrl returns undefined instead', () => {
    for (const value of [42, null, undefined, {}, ['wss://relay.example.com'], new URL('wss://relay.example.com')]) {
      expect(() => normalizeRelayUrl(value as never)).toThrow(TypeError)
      expect(tryNormalizeRelayUrl(value)).toBeUndefined()
      expect(relayUrlProblem(value)).toBe('relay URL must be a string')
    }
  })
})

const HOST_KINDS: readonly (readonly [url: string, kind: RelayHostKind])[] = [
  ['wss://relay.example.com', 'public'],
  ['wss://8.8.8.8', 'public'],
  ['wss://[2606:4700::1111]', 'public'],
  ['wss://onion.example.com', 'public'],
  ['wss://localhost.example.com', 'public'],
  ['wss://relay.local.example.com', 'public'],
  ['ws://172.15.255.255', 'public'],
  ['ws://172.32.0.1', 'public'],
  ['ws://100.63.255.255', 'public'],
  ['ws://100.128.0.1', 'public'],
  ['ws://169.253.255.255', 'public'],
  ['ws://[::ffff:8.8.8.8]', 'public'],
  ['ws://[64:ff9b::8.8.8.8]', 'public'],
  // loopback
  ['ws://127.0.0.1:7777', 'loopback'],
  ['ws://127.255.255.254', 'loopback'],
  ['ws://localhost:7777', 'loopback'],
  ['ws://LOCALHOST.', 'loopback'],
  ['ws://relay.localhost', 'loopback'],
  ['ws://0.0.0.0', 'loopback'],
  ['ws://0.1.2.3', 'loopback'],
  ['ws://[::1]:7777', 'loopback'],
  ['ws://[::]', 'loopback'],
  ['ws://[::ffff:127.0.0.1]', 'loopback'],
  ['ws://[::ffff:0:127.0.0.1]', 'loopback'],
  ['ws://[::127.0.0.1]', 'loopback'],
  // numeric tricks the URL parser turns into 127.0.0.1 (ws and wss are special schemes)
  ['ws://2130706433', 'loopback'],
  ['ws://0x7f.1', 'loopback'],
  ['ws://0x7f000001', 'loopback'],
  ['ws://0177.0.0.1', 'loopback'],
  ['ws://127.1', 'loopback'],
  ['ws://%31%32%37.0.0.1', 'loopback'],
  ['ws://１２７.0.0.1', 'loopback'],
  ['ws://0', 'loopback'],
  // private
  ['ws://10.0.0.1', 'private'],
  ['ws://10.255.255.255', 'private'],
  ['ws://172.16.0.1', 'private'],
  ['ws://172.31.255.255', 'private'],
  ['ws://192.168.1.1', 'private'],
  ['ws://3232235777', 'private'],
  ['ws://100.64.0.1', 'private'],
  ['ws://100.127.255.255', 'private'],
  ['ws://198.18.0.1', 'private'],
  ['ws://224.0.0.1', 'private'],
  ['ws://255.255.255.255', 'private'],
  ['ws://[fc00::1]', 'private'],
  ['ws://[fd12:3456::1]', 'private'],
  ['ws://[fec0::1]', 'private'],
  ['ws://[ff02::1]', 'private'],
  ['ws://[::ffff:10.0.0.1]', 'private'],
  ['ws://[::ffff:192.168.0.1]', 'private'],
  ['ws://[64:ff9b::10.0.0.1]', 'private'],
  // link-local
  ['ws://169.254.0.1', 'link-local'],
  ['ws://169.254.169.254', 'link-local'],
  ['ws://0xA9FEA9FE', 'link-local'],
  ['ws://[fe80::1]', 'link-local'],
  ['ws://[febf:ffff::1]', 'link-local'],
  ['ws://[::ffff:169.254.169.254]', 'link-local'],
  // onion
  ['ws://abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion', 'onion'],
  ['wss://ABC.ONION:9000/nostr', 'onion'],
  ['wss://relay.abc.onion.', 'onion'],
  // local names
  ['wss://relay', 'local-name'],
  ['ws://onion', 'local-name'],
  ['wss://printer.local', 'local-name'],
  ['wss://nas.home.arpa', 'local-name'],
  ['wss://relay.internal', 'local-name'],
  ['wss://relay.lan', 'local-name'],
  ['wss://relay.localdomain', 'local-name'],
]

describe('relayHostKind', () => {
  it.each(HOST_KINDS)('%s is %s', (url, kind) => {
    expect(relayHostKind(url)).toBe(kind)
    expect(relayHostKind(normalizeRelayUrl(url))).toBe(kind)
  })

  it('throws RELAY_URL_INVALID for a bad URL and TypeError for a non-string', () => {
    expect(codeOf(() => relayHostKind('https://relay.example.com'))).toBe('RELAY_URL_INVALID')
    expect(() => relayHostKind(7 as never)).toThrow(TypeError)
  })
})

// --- properties -------------------------------------------------------------------------------

const hostArb = fc.oneof(
  fc.domain(),
  fc.domain().map((d) => d.toUpperCase()),
  fc.ipV4(),
  fc.ipV4Extended(),
  fc.ipV6().map((a) => `[${a}]`),
  fc.constantFrom('localhost', 'relay', 'münchen.example', 'ÄÖ.example', 'x.onion', 'a..b', '', '.', 'relay.example.com.'),
)

/** URL-shaped strings, with the parts that normalisation must handle, and some it must refuse. */
const urlLikeArb = fc
  .record({
    scheme: fc.constantFrom('wss://', 'ws://', 'WSS://', 'Ws://', '', 'https://', 'wss:', 'wss:///'),
    user: fc.constantFrom('', '', '', 'u:p@', '@'),
    host: hostArb,
    port: fc.option(fc.oneof(fc.integer({ min: 0, max: 70_000 }), fc.constantFrom(80, 443, 7777)), { nil: undefined }),
    path: fc.webPath(),
    slashes: fc.constantFrom('', '/', '//'),
    query: fc.option(fc.webQueryParameters(), { nil: undefined }),
    fragment: fc.option(fc.webFragments(), { nil: undefined }),
    pad: fc.constantFrom('', ' ', '\n\t'),
  })
  .map(
    (p) =>
      `${p.pad}${p.scheme}${p.user}${p.host}${p.port === undefined ? '' : `:${p.port}`}${p.path}${p.slashes}` +
      `${p.query === undefined ? '' : `?${p.query}`}${p.fragment === undefined ? '' : `#${p.fragment}`}${p.pad}`,
  )

const anyStringArb = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.string({ maxLength: 40 }).map((s) => `wss://${s}`),
  fc.string({ unit: 'grapheme', maxLength: 40 }).map((s) => `ws://${s}`),
)

const KINDS: readonly RelayHostKind[] = ['public', 'loopback', 'private', 'link-local', 'onion', 'local-name']

/** Checks the invariants every normalised URL holds. */
function checkNormalised(out: string): void {
  expect(out).toMatch(/^wss?:\/\/[^/?#]/)
  expect(out).not.toContain('#')
  // No trailing slash on the path (a slash inside the query is fine).
  expect(out.split('?')[0]).not.toMatch(/\/$/)
  expect(out.length).toBeLessThanOrEqual(MAX_RELAY_URL_LENGTH)
  expect(normalizeRelayUrl(out)).toBe(out)
  expect(KINDS).toContain(relayHostKind(out))
}

describe('normalisation properties', () => {
  it('is idempotent and yields ws:// or wss:// on URL-shaped input', () => {
    let accepted = 0
    fc.assert(
      fc.property(urlLikeArb, (input) => {
        const out = tryNormalizeRelayUrl(input)
        if (out === undefined) return
        accepted++
        checkNormalised(out)
      }),
      { seed: 42, numRuns: 3000 },
    )
    // The generator must exercise the accepting path, or the property proves nothing.
    expect(accepted).toBeGreaterThan(500)
  })

  it('tryNormalizeRelayUrl never throws on arbitrary strings and values, and agrees with normalizeRelayUrl', () => {
    fc.assert(
      fc.property(fc.oneof(anyStringArb, urlLikeArb), (input) => {
        const out = tryNormalizeRelayUrl(input)
        const err = errorOf(() => normalizeRelayUrl(input))
        if (out === undefined) {
          expect(err?.code).toBe('RELAY_URL_INVALID')
          expect(relayUrlProblem(input)).toBe(err?.details?.replace(/^".*": /s, ''))
        } else {
          expect(err).toBeUndefined()
          expect(normalizeRelayUrl(input)).toBe(out)
          checkNormalised(out)
        }
      }),
      { seed: 42, numRuns: 3000 },
    )
    fc.assert(
      fc.property(fc.anything(), (value) => {
        const out = tryNormalizeRelayUrl(value)
        expect(out === undefined || (typeof value === 'string' && /^wss?:\/\//.test(out))).toBe(true)
      }),
      { seed: 42, numRuns: 1000 },
    )
  })

  it('a bare host means wss://, and host case does not matter', () => {
    fc.assert(
      fc.property(fc.domain(), fc.webPath(), (domain, path) => {
        const canonical = tryNormalizeRelayUrl(`wss://${domain}${path}`)
        expect(tryNormalizeRelayUrl(`${domain}${path}`)).toBe(canonical)
        expect(tryNormalizeRelayUrl(`WSS://${domain.toUpperCase()}${path}`)).toBe(canonical)
        expect(tryNormalizeRelayUrl(`wss://${domain}:443${path}/`)).toBe(canonical)
      }),
      { seed: 42, numRuns: 1000 },
    )
  })

  it('an IPv4 address, its 32-bit number and its IPv4-mapped IPv6 form are classified alike', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff_ffff }), (n) => {
        const dotted = [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.')
        const kind = relayHostKind(`ws://${dotted}`)
        expect(relayHostKind(`ws://${n}`)).toBe(kind)
        expect(relayHostKind(`ws://[::ffff:${dotted}]`)).toBe(kind)
        expect(relayHostKind(`ws://[64:ff9b::${dotted}]`)).toBe(kind)
      }),
      { seed: 42, numRuns: 2000 },
    )
  })
})
