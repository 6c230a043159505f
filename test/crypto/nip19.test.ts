import { bech32, bech32m } from '@scure/base'
import fc from 'fast-check'
import * as nt from 'nostr-tools/nip19'
import { describe, expect, it } from 'vitest'
import { CryptoError } from '../../src/errors.js'
import { bytesToHex, hexToBytes } from '../../src/crypto/bytes.js'
import {
  type AddressPointer,
  type EventPointer,
  type ProfilePointer,
  MAX_BECH32_LENGTH,
  decode,
  decodeAs,
  decodeNaddr,
  decodeNevent,
  decodeNote,
  decodeNprofile,
  decodeNpub,
  decodeNsec,
  naddrEncode,
  neventEncode,
  noteEncode,
  nprofileEncode,
  npubEncode,
  nsecEncode,
} from '../../src/crypto/nip19.js'
import { readJsonVector } from '../helpers/vectors.js'
import { codeOf } from '../helpers/errors.js'

interface Nip19Vectors {
  bare: { bech32: string; prefix: 'npub' | 'nsec'; hex: string }[]
  tlv: { bech32: string; prefix: 'nprofile'; decoded: { pubkey: string; relays: string[] } }[]
}
const vectors = readJsonVector<Nip19Vectors>('nip19.from-nip-text.json')

const enc = new TextEncoder()
const PK = '3bf0c63fcb93463407af97a5e5ee64fa883d107ef9e558472c4eb9aaaefa459d'
const ID = 'ab'.repeat(32)

/** A bech32 string with any prefix and payload, no length limit (for hand-built cases). */
function raw(prefix: string, bytes: Uint8Array | number[]): string {
  return bech32.encode(prefix, bech32.toWords(Uint8Array.from(bytes)), false)
}

/** TLV bytes from [type, value] pairs. */
function tlv(...records: [number, Uint8Array | number[]][]): Uint8Array {
  const out: number[] = []
  for (const [type, value] of records) out.push(type, value.length, ...value)
  return Uint8Array.from(out)
}

const u32 = (n: number) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]

describe('NIP-19 vectors (verbatim)', () => {
  for (const v of vectors.bare) {
    it(`${v.prefix} ${v.bech32.slice(0, 16)}… decodes and encodes`, () => {
      const decoded = decode(v.bech32)
      expect(decoded.type).toBe(v.prefix)
      if (decoded.type === 'nsec') {
        expect(bytesToHex(decoded.data)).toBe(v.hex)
        expect(nsecEncode(hexToBytes(v.hex))).toBe(v.bech32)
      } else {
        expect(decoded.data).toBe(v.hex)
        expect(npubEncode(v.hex)).toBe(v.bech32)
      }
    })
  }
  for (const v of vectors.tlv) {
    it(`${v.prefix} ${v.bech32.slice(0, 16)}… decodes and encodes`, () => {
      expect(decode(v.bech32)).toEqual({ type: v.prefix, data: v.decoded })
      // Records are written in the order the NIP's example uses: special, then relays.
      expect(nprofileEncode(v.decoded)).toBe(v.bech32)
    })
  }
})

describe('NIP-19 round trips', () => {
  const hex32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map(bytesToHex)
  const text = fc.string({ unit: 'grapheme', maxLength: 24 }).filter((s) => enc.encode(s).length <= 255)
  const url = fc.webUrl().filter((s) => s.length <= 255)
  const relays = fc.array(fc.oneof(url, text), { maxLength: 4 })
  const kind = fc.integer({ min: 0, max: 0xffffffff })

  it('nevent: every field survives, absent ones stay absent', () => {
    fc.assert(
      fc.property(hex32, relays, fc.option(hex32, { nil: undefined }), fc.option(kind, { nil: undefined }), (id, r, author, k) => {
        const pointer: EventPointer = { id, relays: r }
        if (author !== undefined) pointer.author = author
        if (k !== undefined) pointer.kind = k
        const { type, data } = decode(neventEncode(pointer))
        expect(type).toBe('nevent')
        expect(data).toStrictEqual(pointer)
      }),
      { seed: 42, numRuns: 150 },
    )
  })

  it('naddr: every field survives, including an empty identifier', () => {
    fc.assert(
      fc.property(fc.oneof(fc.constant(''), text), hex32, kind, relays, (identifier, pubkey, k, r) => {
        const pointer: AddressPointer = { identifier, pubkey, kind: k, relays: r }
        expect(decode(naddrEncode(pointer))).toStrictEqual({ type: 'naddr', data: pointer })
      }),
      { seed: 42, numRuns: 150 },
    )
  })

  it('decoded pointers always carry relays, even when none were given', () => {
    expect(decodeNprofile(nprofileEncode({ pubkey: PK }))).toStrictEqual({ pubkey: PK, relays: [] })
    expect(decodeNevent(neventEncode({ id: ID }))).toStrictEqual({ id: ID, relays: [] })
  })

  it('keeps kind 0 and the extremes of u32', () => {
    for (const k of [0, 1, 65535, 65536, 0xffffffff]) {
      expect(decodeNevent(neventEncode({ id: ID, kind: k })).kind).toBe(k)
      expect(decodeNaddr(naddrEncode({ identifier: 'x', pubkey: PK, kind: k })).kind).toBe(k)
    }
  })

  it('keeps a leading U+FEFF in an identifier (a TextDecoder would strip it as a BOM)', () => {
    const identifier = '\uFEFFarticle'
    expect(decodeNaddr(naddrEncode({ identifier, pubkey: PK, kind: 30023 })).identifier).toBe(identifier)
  })

  it('accepts hex in upper case on input and writes lower case on output', () => {
    expect(npubEncode(PK.toUpperCase())).toBe(npubEncode(PK))
    expect(decodeNpub(npubEncode(PK.toUpperCase()))).toBe(PK)
  })

  it('decodes an all-upper-case string (QR codes) like its lower-case form', () => {
    for (const s of [vectors.bare[0]!.bech32, vectors.tlv[0]!.bech32]) expect(decode(s.toUpperCase())).toEqual(decode(s))
  })
})

describe('NIP-19 typed helpers', () => {
  const npub = vectors.bare[0]!.bech32
  const nsec = vectors.bare.find((v) => v.prefix === 'nsec')!

  it('return the data of the expected type', () => {
    expect(decodeNpub(npub)).toBe(vectors.bare[0]!.hex)
    expect(bytesToHex(decodeNsec(nsec.bech32))).toBe(nsec.hex)
    expect(decodeNote(noteEncode(ID))).toBe(ID)
    expect(decodeNprofile(vectors.tlv[0]!.bech32)).toEqual(vectors.tlv[0]!.decoded)
    expect(decodeAs(npub, 'npub')).toBe(vectors.bare[0]!.hex)
  })

  it('refuse another type with NIP19_UNKNOWN_PREFIX, without echoing a secret', () => {
    expect(codeOf(() => decodeNote(npub))).toBe('NIP19_UNKNOWN_PREFIX')
    expect(codeOf(() => decodeNaddr(vectors.tlv[0]!.bech32))).toBe('NIP19_UNKNOWN_PREFIX')
    try {
      decodeNpub(nsec.bech32)
      expect.unreachable()
    } catch (err) {
      expect((err as CryptoError).code).toBe('NIP19_UNKNOWN_PREFIX')
      expect(String((err as Error).message)).not.toContain(nsec.bech32.slice(5, 20))
    }
  })
})

describe('NIP-19 TLV reading', () => {
  it('ignores unknown TLV types and known types the entity does not use', () => {
    const payload = tlv([7, [1, 2, 3]], [0, hexToBytes(PK)], [255, []], [3, u32(1)], [1, enc.encode('wss://r.example')], [2, hexToBytes(ID)])
    expect(decode(raw('nprofile', payload))).toStrictEqual({ type: 'nprofile', data: { pubkey: PK, relays: ['wss://r.example'] } })
  })

  it('takes the first of a repeated single-valued record and keeps relays in order', () => {
    const payload = tlv([0, hexToBytes(ID)], [1, enc.encode('wss://a')], [0, hexToBytes(PK)], [3, u32(7)], [3, u32(9)], [1, enc.encode('wss://b')])
    expect(decodeNevent(raw('nevent', payload))).toStrictEqual({ id: ID, relays: ['wss://a', 'wss://b'], kind: 7 })
  })

  it('reads relay hints as UTF-8 and drops hints that are not valid UTF-8', () => {
    const payload = tlv([0, hexToBytes(PK)], [1, enc.encode('wss://ü.example')], [1, [0xff, 0xfe]], [1, enc.encode('wss://b')])
    expect(decodeNprofile(raw('nprofile', payload)).relays).toEqual(['wss://ü.example', 'wss://b'])
  })

  it('accepts a zero-length identifier record for naddr', () => {
    const payload = tlv([0, []], [2, hexToBytes(PK)], [3, u32(10002)])
    expect(decodeNaddr(raw('naddr', payload))).toStrictEqual({ identifier: '', pubkey: PK, kind: 10002, relays: [] })
  })
})

describe('NIP-19 errors', () => {
  const npub = vectors.bare[0]!.bech32
  const nsec = vectors.bare.find((v) => v.prefix === 'nsec')!.bech32

  it('NIP19_INVALID_BECH32: not bech32, mixed case, bad characters, bad separator', () => {
    const bad = [
      '',
      'npub',
      'hello world',
      npub.slice(0, 10) + npub.slice(10).toUpperCase(), // mixed case
      npub.replace('npub1', 'npub'), // no separator (the data alphabet has no '1')
      npub.slice(4), // empty prefix
      `${npub.slice(0, -1)}b`, // 'b' is not in the alphabet
      `${npub.slice(0, -1)}é`,
      ` ${npub}`,
      'npub1qqqqq', // data shorter than the checksum
    ]
    for (const s of bad) expect(codeOf(() => decode(s)), JSON.stringify(s)).toBe('NIP19_INVALID_BECH32')
  })

  it('NIP19_INVALID_BECH32: non-zero or excess padding bits', () => {
    const words = bech32.toWords(hexToBytes(PK))
    words[words.length - 1]! |= 1 // 32 bytes leave 4 padding bits, which must be zero
    expect(codeOf(() => decode(bech32.encode('npub', words)))).toBe('NIP19_INVALID_BECH32')
    const excess = [...bech32.toWords(hexToBytes(PK)), 0, 0] // 270 bits: 33 bytes and 6 spare bits
    expect(codeOf(() => decode(bech32.encode('npub', excess)))).toBe('NIP19_INVALID_BECH32')
  })

  it('NIP19_INVALID_TLV: an naddr identifier that is not UTF-8', () => {
    const payload = tlv([0, [0xc3, 0x28]], [2, hexToBytes(PK)], [3, u32(30023)])
    expect(codeOf(() => decode(raw('naddr', payload)))).toBe('NIP19_INVALID_TLV')
  })

  it('NIP19_BAD_CHECKSUM: a typo, a swap, bech32m', () => {
    const last = npub.at(-1) === 'q' ? 'p' : 'q'
    expect(codeOf(() => decode(npub.slice(0, -1) + last))).toBe('NIP19_BAD_CHECKSUM')
    const swapped = `${npub.slice(0, 10)}${npub[11]}${npub[10]}${npub.slice(12)}`
    expect(swapped).not.toBe(npub)
    expect(codeOf(() => decode(swapped))).toBe('NIP19_BAD_CHECKSUM')
    expect(codeOf(() => decode(bech32m.encode('npub', bech32m.toWords(hexToBytes(PK)))))).toBe('NIP19_BAD_CHECKSUM')
  })

  it('never puts an nsec in the error or its cause', () => {
    const broken = `${nsec.slice(0, -1)}${nsec.at(-1) === 'q' ? 'p' : 'q'}`
    try {
      decode(broken)
      expect.unreachable()
    } catch (err) {
      expect((err as CryptoError).code).toBe('NIP19_BAD_CHECKSUM')
      expect((err as Error).message).not.toContain(broken.slice(5))
      expect((err as Error).cause).toBeUndefined()
    }
  })

  it('NIP19_UNKNOWN_PREFIX: other prefixes, including nrelay and ncryptsec', () => {
    for (const prefix of ['nfoo', 'nrelay', 'ncryptsec', 'bc', 'lnbc']) {
      expect(codeOf(() => decode(raw(prefix, hexToBytes(PK)))), prefix).toBe('NIP19_UNKNOWN_PREFIX')
    }
  })

  it('NIP19_BAD_LENGTH: bare keys and ids that are not 32 bytes', () => {
    for (const prefix of ['npub', 'nsec', 'note']) {
      for (const n of [0, 31, 33, 64]) expect(codeOf(() => decode(raw(prefix, new Uint8Array(n).fill(1)))), `${prefix} ${n}`).toBe('NIP19_BAD_LENGTH')
    }
  })

  it('NIP19_BAD_LENGTH: TLV values of the wrong size', () => {
    const pk = hexToBytes(PK)
    const cases: [string, Uint8Array][] = [
      ['nprofile', tlv([0, pk.subarray(1)])],
      ['nevent', tlv([0, [...pk, 0]])],
      ['nevent', tlv([0, pk], [2, pk.subarray(1)])],
      ['nevent', tlv([0, pk], [3, [0, 1]])],
      ['naddr', tlv([0, []], [2, [...pk, 0]], [3, u32(1)])],
      ['naddr', tlv([0, []], [2, pk], [3, [0, 0, 0, 0, 1]])],
    ]
    for (const [prefix, payload] of cases) expect(codeOf(() => decode(raw(prefix, payload))), prefix).toBe('NIP19_BAD_LENGTH')
  })

  it('NIP19_BAD_LENGTH: truncated TLV (a lone type byte, a length past the end)', () => {
    const whole = tlv([0, hexToBytes(PK)], [1, enc.encode('wss://r')])
    expect(codeOf(() => decode(raw('nprofile', [...whole, 1])))).toBe('NIP19_BAD_LENGTH')
    expect(codeOf(() => decode(raw('nprofile', whole.subarray(0, whole.length - 1))))).toBe('NIP19_BAD_LENGTH')
    expect(codeOf(() => decode(raw('nevent', [0, 32, 1, 2, 3])))).toBe('NIP19_BAD_LENGTH')
  })

  it('NIP19_MISSING_TLV: required records absent', () => {
    const pk = hexToBytes(PK)
    const cases: [string, Uint8Array][] = [
      ['nprofile', new Uint8Array(0)],
      ['nprofile', tlv([1, enc.encode('wss://r')])],
      ['nevent', tlv([2, pk], [3, u32(1)])],
      ['naddr', tlv([2, pk], [3, u32(1)])],
      ['naddr', tlv([0, []], [3, u32(1)])],
      ['naddr', tlv([0, []], [2, pk])],
    ]
    for (const [prefix, payload] of cases) expect(codeOf(() => decode(raw(prefix, payload))), prefix).toBe('NIP19_MISSING_TLV')
  })

  it('TypeError for a non-string', () => {
    expect(() => decode(42 as unknown as string)).toThrow(TypeError)
  })
})

describe('NIP-19 length limit (5000, not 90)', () => {
  /** An nprofile of exactly `chars` characters, padded with an unknown TLV type. */
  function nprofileOfLength(chars: number): string {
    // chars = 'nprofile1' (9) + words + 6; words = ceil(bytes * 8 / 5), chosen to need no excess padding.
    const words = chars - 15
    const bytes = Math.floor((words * 5) / 8)
    expect(Math.ceil((bytes * 8) / 5)).toBe(words)
    const records: [number, number[]][] = [[0, [...hexToBytes(PK)]]]
    let left = bytes - 34
    while (left > 0) {
      let n = Math.min(255, left - 2)
      if (left - 2 - n === 1) n -= 1 // a lone byte left over could not form a record
      records.push([9, new Array(n).fill(7)])
      left -= 2 + n
    }
    const s = raw('nprofile', tlv(...records))
    expect(s.length).toBe(chars)
    return s
  }

  it('accepts strings longer than 90 characters, up to 5000', () => {
    expect(vectors.tlv[0]!.bech32.length).toBeGreaterThan(90)
    expect(decodeNprofile(nprofileOfLength(4999)).pubkey).toBe(PK)
    expect(decodeNprofile(nprofileOfLength(150)).pubkey).toBe(PK)
  })

  it('rejects a valid bech32 string over 5000 characters with NIP19_INVALID_BECH32', () => {
    const s = nprofileOfLength(5006)
    expect(s.length).toBeGreaterThan(MAX_BECH32_LENGTH)
    expect(codeOf(() => decode(s))).toBe('NIP19_INVALID_BECH32')
  })

  it('encoders refuse to write what the decoder would refuse', () => {
    const relays = Array.from({ length: 20 }, (_, i) => `wss://${String(i).padStart(3, '0')}.${'r'.repeat(180)}.example`)
    const fits = relays.slice(0, 12)
    expect(decodeNprofile(nprofileEncode({ pubkey: PK, relays: fits })).relays).toEqual(fits)
    expect(() => nprofileEncode({ pubkey: PK, relays })).toThrow(RangeError)
    expect(() => nprofileEncode({ pubkey: PK, relays })).toThrow(/relays/)
  })
})

describe('NIP-19 encoder argument checks', () => {
  it('name the field in TypeError/RangeError', () => {
    const cases: [() => unknown, typeof TypeError | typeof RangeError, RegExp][] = [
      [() => npubEncode('xyz'), TypeError, /pubkey/],
      [() => npubEncode('ab'.repeat(31)), RangeError, /pubkey/],
      [() => noteEncode('ab'.repeat(33)), RangeError, /id/],
      [() => nsecEncode(new Uint8Array(31)), RangeError, /secretKey/],
      [() => nsecEncode('ab'.repeat(32) as unknown as Uint8Array), TypeError, /secretKey/],
      [() => nprofileEncode(null as unknown as ProfilePointer), TypeError, /profile/],
      [() => nprofileEncode({ pubkey: PK, relays: 'wss://r' as unknown as string[] }), TypeError, /relays/],
      [() => nprofileEncode({ pubkey: PK, relays: ['wss://a', 5 as unknown as string] }), TypeError, /relays\[1\]/],
      [() => nprofileEncode({ pubkey: PK, relays: ['wss://a', `wss://${'a'.repeat(250)}`] }), RangeError, /relays\[1\]/],
      [() => nprofileEncode({ pubkey: PK, relays: ['wss://\ud800'] }), TypeError, /relays\[0\]/],
      [() => neventEncode({ id: ID, author: 'ab' }), RangeError, /author/],
      [() => neventEncode({ id: ID, kind: -1 }), RangeError, /kind/],
      [() => neventEncode({ id: ID, kind: 1.5 }), RangeError, /kind/],
      [() => neventEncode({ id: ID, kind: 2 ** 32 }), RangeError, /kind/],
      [() => neventEncode({ id: ID, kind: '1' as unknown as number }), TypeError, /kind/],
      [() => naddrEncode({ identifier: 'x'.repeat(256), pubkey: PK, kind: 1 }), RangeError, /identifier/],
      [() => naddrEncode({ identifier: 'é'.repeat(128), pubkey: PK, kind: 1 }), RangeError, /identifier/],
      [() => naddrEncode({ identifier: undefined as unknown as string, pubkey: PK, kind: 1 }), TypeError, /identifier/],
      [() => naddrEncode({ identifier: 'x', pubkey: PK, kind: undefined as unknown as number }), TypeError, /kind/],
    ]
    for (const [fn, type, field] of cases) {
      expect(fn).toThrow(type)
      expect(fn).toThrow(field)
    }
  })

  it('accepts the largest values that fit', () => {
    const identifier = 'x'.repeat(255)
    expect(decodeNaddr(naddrEncode({ identifier, pubkey: PK, kind: 0xffffffff })).identifier).toBe(identifier)
    const relay = `wss://${'a'.repeat(249)}`
    expect(decodeNprofile(nprofileEncode({ pubkey: PK, relays: [relay] })).relays).toEqual([relay])
  })
})

/*
 * Differential tests against nostr-tools 2.25.2. Differences found (all on inputs outside what
 * both accept identically, so excluded or tested separately):
 * - nostr-tools writes TLV records in reverse type order (kind, author, relays, special); the
 *   strings differ but decode to the same data. Ours follows the NIP's example (vector above).
 * - nostr-tools does not check the length of npub/nsec/note payloads; we throw NIP19_BAD_LENGTH.
 * - nostr-tools decodes relays and identifiers leniently (invalid UTF-8 becomes U+FFFD) and strips
 *   a leading U+FEFF; we drop bad relay hints, reject a bad identifier, and keep U+FEFF.
 * - nostr-tools sets `author`/`kind` to `undefined` when absent; we omit the keys.
 * - nostr-tools truncates a TLV value over 255 bytes into a corrupt record; we throw RangeError.
 */
describe('NIP-19 differential vs nostr-tools', () => {
  const hex32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map(bytesToHex)
  const text = fc
    .string({ unit: 'grapheme', maxLength: 24 })
    .filter((s) => enc.encode(s).length <= 255 && !s.startsWith('\uFEFF'))
  const url = fc.webUrl().filter((s) => s.length <= 255)
  const relays = fc.array(fc.oneof(url, text), { maxLength: 4 })
  const kind = fc.integer({ min: 0, max: 0xffffffff })
  const opts = { seed: 42, numRuns: 100 }

  const profile = fc.record({ pubkey: hex32, relays }, { requiredKeys: ['pubkey'] })
  const event = fc.record({ id: hex32, relays, author: hex32, kind }, { requiredKeys: ['id'] })
  const addr = fc.record({ identifier: fc.oneof(fc.constant(''), text), pubkey: hex32, kind, relays }, { requiredKeys: ['identifier', 'pubkey', 'kind'] })

  it('npub, note, nsec: identical strings and data both ways', () => {
    fc.assert(
      fc.property(hex32, (hex) => {
        const bytes = hexToBytes(hex)
        expect(npubEncode(hex)).toBe(nt.npubEncode(hex))
        expect(noteEncode(hex)).toBe(nt.noteEncode(hex))
        expect(nsecEncode(bytes)).toBe(nt.nsecEncode(bytes))
        expect(nt.decode(npubEncode(hex))).toEqual({ type: 'npub', data: hex })
        expect(decode(nt.noteEncode(hex))).toEqual({ type: 'note', data: hex })
        expect(decode(nt.nsecEncode(bytes))).toEqual({ type: 'nsec', data: bytes })
        expect(nt.decode(nsecEncode(bytes))).toEqual({ type: 'nsec', data: bytes })
      }),
      opts,
    )
  })

  it('nprofile: ours → nostr-tools and nostr-tools → ours', () => {
    fc.assert(
      fc.property(profile, (p) => {
        const expected = { pubkey: p.pubkey, relays: p.relays ?? [] }
        expect(nt.decode(nprofileEncode(p))).toEqual({ type: 'nprofile', data: expected })
        expect(decode(nt.nprofileEncode(p))).toStrictEqual({ type: 'nprofile', data: expected })
      }),
      opts,
    )
  })

  it('nevent: ours → nostr-tools and nostr-tools → ours', () => {
    fc.assert(
      fc.property(event, (e) => {
        const expected = { ...e, relays: e.relays ?? [] }
        expect(nt.decode(neventEncode(e))).toEqual({ type: 'nevent', data: expected })
        expect(decode(nt.neventEncode(e))).toStrictEqual({ type: 'nevent', data: expected })
      }),
      opts,
    )
  })

  it('naddr: ours → nostr-tools and nostr-tools → ours', () => {
    fc.assert(
      fc.property(addr, (a) => {
        const expected = { ...a, relays: a.relays ?? [] }
        expect(nt.decode(naddrEncode(a))).toEqual({ type: 'naddr', data: expected })
        expect(decode(nt.naddrEncode(a))).toStrictEqual({ type: 'naddr', data: expected })
      }),
      opts,
    )
  })

  it('on random TLV payloads, whatever we accept nostr-tools accepts with the same data', () => {
    const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n })
    const value = fc.oneof(bytes(32), bytes(4), fc.uint8Array({ maxLength: 40 }))
    // Relay values are valid UTF-8 here: bad ones are a documented difference (tested above).
    const noise = fc.oneof(fc.tuple(fc.constantFrom(0, 2, 3, 4, 5), value), fc.tuple(fc.constant(1), url.map((s) => enc.encode(s))))
    // A valid core for each type, so that many cases decode; noise around it may break it.
    const rec = (type: number, v: fc.Arbitrary<Uint8Array>) => v.map((b): [number, Uint8Array] => [type, b])
    const core = fc.oneof(
      fc.tuple(fc.constant('nprofile'), fc.tuple(rec(0, bytes(32)))),
      fc.tuple(fc.constant('nevent'), fc.tuple(rec(0, bytes(32)), rec(2, bytes(32)), rec(3, bytes(4)))),
      fc.tuple(fc.constant('naddr'), fc.tuple(rec(0, text.map((t) => enc.encode(t))), rec(2, bytes(32)), rec(3, bytes(4)))),
    )
    let accepted = 0
    fc.assert(
      fc.property(core, fc.array(noise, { maxLength: 2 }), fc.array(noise, { maxLength: 4 }), fc.boolean(), ([prefix, records], before, after, cut) => {
        let payload = tlv(...before, ...records, ...after)
        if (cut) payload = payload.subarray(0, payload.length - 1)
        const s = raw(prefix, payload)
        let ours: ReturnType<typeof decode> | undefined
        try {
          ours = decode(s)
        } catch (err) {
          expect(err).toBeInstanceOf(CryptoError)
        }
        if (ours) {
          accepted++
          expect(nt.decode(s)).toEqual(ours)
        }
      }),
      { seed: 42, numRuns: 300 },
    )
    // Both outcomes are exercised.
    expect(accepted).toBeGreaterThan(50)
    expect(accepted).toBeLessThan(280)
  })

  it('we reject what nostr-tools accepts (documented strictness): payload length, bad UTF-8', () => {
    const short = raw('npub', new Uint8Array(31))
    expect(() => nt.decode(short)).not.toThrow()
    expect(codeOf(() => decode(short))).toBe('NIP19_BAD_LENGTH')
    const badIdentifier = raw('naddr', tlv([0, [0xff]], [2, hexToBytes(PK)], [3, u32(1)]))
    expect(nt.decode(badIdentifier).type).toBe('naddr')
    expect(codeOf(() => decode(badIdentifier))).toBe('NIP19_INVALID_TLV')
  })
})
