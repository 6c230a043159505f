import fc from 'fast-check'
import * as nt19 from 'nostr-tools/nip19'
import * as nt21 from 'nostr-tools/nip21'
import * as nt27 from 'nostr-tools/nip27'
import { describe, expect, it } from 'vitest'
import { CryptoError } from '../../src/errors.js'
import { bytesToHex, hexToBytes } from '../../src/crypto/bytes.js'
import { naddrEncode, neventEncode, noteEncode, nprofileEncode, npubEncode, nsecEncode } from '../../src/crypto/nip19.js'
import { MAX_NOSTR_URI_MATCHES, type NostrUriDecoded, encodeNostrUri, findNostrUris, parseNostrUri } from '../../src/crypto/nip21.js'
import { readJsonVector } from '../helpers/vectors.js'

const nip19Vectors = readJsonVector<{ bare: { bech32: string; prefix: string; hex: string }[]; tlv: { bech32: string; decoded: unknown }[] }>(
  'nip19.from-nip-text.json',
)
const NPUB = nip19Vectors.bare[0]!.bech32
const NPUB_HEX = nip19Vectors.bare[0]!.hex
const NSEC = nip19Vectors.bare.find((v) => v.prefix === 'nsec')!.bech32

/** The URIs printed in NIP-21 (the spec text; there is no vector file for them). */
const NIP21_EXAMPLES = [
  'nostr:npub1sn0wdenkukak0d9dfczzeacvhkrgz92ak56egt7vdgzn8pv2wfqqhrjdv9',
  'nostr:nprofile1qqsrhuxx8l9ex335q7he0f09aej04zpazpl0ne2cgukyawd24mayt8gpp4mhxue69uhhytnc9e3k7mgpz4mhxue69uhkg6nzv9ejuumpv34kytnrdaksjlyr9p',
  'nostr:nevent1qqstna2yrezu5wghjvswqqculvvwxsrcvu7uc0f78gan4xqhvz49d9spr3mhxue69uhkummnw3ez6un9d3shjtn4de6x2argwghx6egpr4mhxue69uhkummnw3ez6ur4vgh8wetvd3hhyer9wghxuet5nxnepm',
  'nostr:naddr1qqyrzwrxvc6ngvfkqyghwumn8ghj7enfv96x5ctx9e3k7mgzyqalp33lewf5vdq847t6te0wvnags0gs0mu72kz8938tn24wlfze6qcyqqq823cph95ag',
  'nostr:nprofile1qyxhwumn8ghj7mn0wvhxcmmvqyd8wumn8ghj7un9d3shjtnhv4ehgetjde38gcewvdhk6qpq80cvv07tjdrrgpa0j7j7tmnyl2yr6yr7l8j4s3evf6u64th6gkwswpnfsn',
]

/** The CryptoError thrown by `fn` (rethrows anything else; undefined when it does not throw). */
function cryptoErrorOf(fn: () => unknown): CryptoError | undefined {
  try {
    fn()
  } catch (err) {
    if (err instanceof CryptoError) return err
    throw err
  }
  return undefined
}

describe('NIP-21 examples from the NIP', () => {
  it('parse, and decode as nostr-tools decodes them', () => {
    for (const uri of NIP21_EXAMPLES) {
      const parsed = parseNostrUri(uri)
      expect(parsed.uri).toBe(uri)
      expect(parsed.value).toBe(uri.slice(6))
      expect(parsed.decoded).toEqual(nt19.decode(uri.slice(6)))
    }
  })

  it('the nprofile example is the NIP-19 vector', () => {
    expect(parseNostrUri(NIP21_EXAMPLES[1]!).decoded).toEqual({ type: 'nprofile', data: nip19Vectors.tlv[0]!.decoded })
  })

  it('the naddr example points at a kind 30023 article', () => {
    const { decoded } = parseNostrUri(NIP21_EXAMPLES[3]!)
    expect(decoded.type).toBe('naddr')
    if (decoded.type === 'naddr') expect(decoded.data.kind).toBe(30023)
  })
})

describe('encodeNostrUri', () => {
  it('prefixes the scheme and lower-cases', () => {
    expect(encodeNostrUri(NPUB)).toBe(`nostr:${NPUB}`)
    expect(encodeNostrUri(NPUB.toUpperCase())).toBe(`nostr:${NPUB}`)
    for (const uri of NIP21_EXAMPLES) expect(encodeNostrUri(uri.slice(6))).toBe(uri)
  })

  it('refuses an nsec with NIP21_INVALID_URI', () => {
    const err = cryptoErrorOf(() => encodeNostrUri(NSEC))
    expect(err?.code).toBe('NIP21_INVALID_URI')
    expect(err?.message).not.toContain(NSEC.slice(5))
  })

  it('passes on the NIP-19 error for a string that does not decode', () => {
    expect(cryptoErrorOf(() => encodeNostrUri(`${NPUB.slice(0, -1)}q`))?.code).toBe('NIP19_BAD_CHECKSUM')
    expect(cryptoErrorOf(() => encodeNostrUri('hello'))?.code).toBe('NIP19_INVALID_BECH32')
    expect(() => encodeNostrUri(undefined as unknown as string)).toThrow(TypeError)
  })
})

describe('parseNostrUri', () => {
  it('matches the scheme case-insensitively and accepts an upper-case entity', () => {
    for (const uri of [`NOSTR:${NPUB}`, `Nostr:${NPUB}`, `nostr:${NPUB.toUpperCase()}`, `NOSTR:${NPUB.toUpperCase()}`]) {
      expect(parseNostrUri(uri).decoded, uri).toEqual({ type: 'npub', data: NPUB_HEX })
    }
  })

  it('NIP21_INVALID_URI: other schemes, no scheme, extra characters', () => {
    for (const uri of ['', NPUB, `https:${NPUB}`, `nostr://${NPUB}`, ` nostr:${NPUB}`, `nostr:${NPUB} `, 'nostr:', `web+nostr:${NPUB}`]) {
      expect(cryptoErrorOf(() => parseNostrUri(uri))?.code, JSON.stringify(uri)).toBe('NIP21_INVALID_URI')
    }
  })

  it('NIP21_INVALID_URI with the NIP-19 error as cause for a bad entity', () => {
    const err = cryptoErrorOf(() => parseNostrUri(`nostr:${NPUB.slice(0, -1)}q`))
    expect(err?.code).toBe('NIP21_INVALID_URI')
    expect((err?.cause as CryptoError).code).toBe('NIP19_BAD_CHECKSUM')
    expect(err?.details).toBe('NIP19_BAD_CHECKSUM')
  })

  it('NIP21_INVALID_URI for an nsec, which nostr-tools accepts', () => {
    expect(nt21.parse(`nostr:${NSEC}`).decoded.type).toBe('nsec')
    const err = cryptoErrorOf(() => parseNostrUri(`nostr:${NSEC}`))
    expect(err?.code).toBe('NIP21_INVALID_URI')
    expect(err?.message).not.toContain(NSEC.slice(5))
  })

  it('TypeError for a non-string', () => {
    expect(() => parseNostrUri(null as unknown as string)).toThrow(TypeError)
  })
})

describe('findNostrUris', () => {
  const pk = 'cd'.repeat(32)
  const nevent = neventEncode({ id: 'ef'.repeat(32), relays: ['wss://r.example'], kind: 1 })

  it('finds mentions with exact positions, skipping invalid ones and nsec', () => {
    const text = [
      `hi nostr:${NPUB}, see`,
      `(nostr:${nevent})`,
      `secret nostr:${NSEC} no`,
      `typo nostr:${NPUB.slice(0, -1)}q`,
      `glued xnostr:${NPUB}`,
      `loud NOSTR:${npubEncode(pk).toUpperCase()}!`,
      `mixed nostr:${NPUB.slice(0, 20)}${NPUB.slice(20).toUpperCase()}`,
      `unknown nostr:${nsecEncode(hexToBytes(pk)).replace('nsec', 'nfoo')}`,
      `日本語nostr:${noteEncode(pk)}です`,
    ].join('\n')
    const found = findNostrUris(text)
    for (const m of found) {
      expect(text.slice(m.start, m.end)).toBe(m.uri)
      expect(m.uri.slice(6)).toBe(m.value)
    }
    expect(found.map((m) => m.decoded)).toEqual([
      { type: 'npub', data: NPUB_HEX },
      { type: 'nevent', data: { id: 'ef'.repeat(32), relays: ['wss://r.example'], kind: 1 } },
      { type: 'npub', data: pk },
      { type: 'note', data: pk },
    ])
    expect(found[2]!.uri).toBe(`NOSTR:${npubEncode(pk).toUpperCase()}`)
  })

  it('returns nothing for text without mentions', () => {
    expect(findNostrUris('')).toEqual([])
    expect(findNostrUris('nostr: is a scheme; nostr:npub1 is not complete')).toEqual([])
  })

  it(`stops at ${MAX_NOSTR_URI_MATCHES} matches by default, or at the given limit`, () => {
    const text = `nostr:${NPUB} `.repeat(MAX_NOSTR_URI_MATCHES + 5)
    expect(findNostrUris(text)).toHaveLength(MAX_NOSTR_URI_MATCHES)
    expect(findNostrUris(text, { limit: 3 }).map((m) => m.start)).toEqual([0, 70, 140])
    expect(findNostrUris(text, { limit: 0 })).toEqual([])
    expect(() => findNostrUris(text, { limit: -1 })).toThrow(RangeError)
    expect(() => findNostrUris(text, { limit: 1.5 })).toThrow(/limit/)
    expect(() => findNostrUris(42 as unknown as string)).toThrow(TypeError)
  })

  it('stays linear on hostile text (many near-misses)', () => {
    const text = `nostr:${'q'.repeat(100)}1${'q'.repeat(50)} `.repeat(5000) + `nostr:${NPUB}`
    const t0 = performance.now()
    const found = findNostrUris(text)
    expect(found).toHaveLength(1)
    expect(performance.now() - t0).toBeLessThan(5000)
  })
})

describe('NIP-21 differential vs nostr-tools', () => {
  const hex32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map(bytesToHex)
  const url = fc.webUrl().filter((s) => s.length <= 255)
  const relays = fc.array(url, { maxLength: 3 })
  const kind = fc.integer({ min: 0, max: 0xffffffff })
  /** A random shareable entity, as [ours, nostr-tools's] encodings of the same data. */
  const entity = fc.oneof(
    hex32.map((h) => [npubEncode(h), nt19.npubEncode(h)]),
    hex32.map((h) => [noteEncode(h), nt19.noteEncode(h)]),
    fc.record({ pubkey: hex32, relays }).map((p) => [nprofileEncode(p), nt19.nprofileEncode(p)]),
    fc.record({ id: hex32, relays, author: hex32, kind }, { requiredKeys: ['id'] }).map((e) => [neventEncode(e), nt19.neventEncode(e)]),
    fc.record({ identifier: fc.string({ maxLength: 20 }), pubkey: hex32, kind, relays }).map((a) => [naddrEncode(a), nt19.naddrEncode(a)]),
  )

  it('parse: our URIs in nostr-tools, nostr-tools URIs in ours', () => {
    fc.assert(
      fc.property(entity, ([ours, theirs]) => {
        const ourUri = encodeNostrUri(ours!)
        expect(nt21.test(ourUri)).toBe(true)
        expect(nt21.parse(ourUri).decoded).toEqual(parseNostrUri(ourUri).decoded)
        const theirUri = `nostr:${theirs!}`
        expect(parseNostrUri(theirUri).decoded).toEqual(nt21.parse(theirUri).decoded)
      }),
      { seed: 42, numRuns: 100 },
    )
  })

  /** nostr-tools's NIP-27 parser reports npub/note as pointers; map ours the same way. */
  function asPointer(decoded: NostrUriDecoded): unknown {
    if (decoded.type === 'npub') return { pubkey: decoded.data }
    if (decoded.type === 'note') return { id: decoded.data }
    return decoded.data
  }

  it('findNostrUris finds the references nostr-tools/nip27 finds, at the same positions', () => {
    const word = fc.lorem({ maxCount: 1 })
    const mention = entity.map(([ours]) => `nostr:${ours!}`)
    const broken = entity.map(([ours]) => `nostr:${ours!.slice(0, -1)}${ours!.endsWith('q') ? 'p' : 'q'}`)
    const secret = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((sk) => `nostr:${nsecEncode(sk)}`)
    const token = fc.oneof({ arbitrary: word, weight: 4 }, { arbitrary: mention, weight: 2 }, broken, secret)
    fc.assert(
      fc.property(fc.array(token, { maxLength: 12 }), fc.constantFrom(' ', '\n', ', ', ' (', ') '), (tokens, sep) => {
        const text = tokens.join(sep)
        const ours = findNostrUris(text).map((m) => ({ start: m.start, end: m.end, pointer: asPointer(m.decoded) }))
        const theirs = [...nt27.parse(text)].flatMap((b) => (b.type === 'reference' ? [{ start: b.start, end: b.end, pointer: b.pointer }] : []))
        expect(ours).toEqual(theirs)
      }),
      { seed: 42, numRuns: 100 },
    )
  })
})
