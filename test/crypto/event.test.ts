import fc from 'fast-check'
import { finalizeEvent as ntFinalize, getEventHash as ntHash, verifyEvent as ntVerify } from 'nostr-tools/pure'
import { describe, expect, it } from 'vitest'
import {
  CryptoError,
  type NostrEvent,
  assertEventShape,
  bytesToHex,
  finalizeEvent,
  generateSecretKey,
  getEventHash,
  getPublicKey,
  hexToBytes,
  kindClass,
  serializeEvent,
  verifyEvent,
  verifyEvents,
} from '../../src/crypto/index.js'
import { readJsonVector } from '../helpers/vectors.js'

const nip13 = readJsonVector('nip13.from-nip-text.json')
const nip59 = readJsonVector('nip59.from-nip-text.json')

/** Arbitrary event content and tags, with any unicode and every control character in play. */
const arbText = fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }), fc.constantFrom('\n\t"\\\r\b\f\u0000\u001f\u007f\u2028/'))
const arbTemplate = fc.record({
  kind: fc.integer({ min: 0, max: 65535 }),
  created_at: fc.integer({ min: 0, max: 2 ** 32 }),
  tags: fc.array(fc.array(arbText, { maxLength: 4 }), { maxLength: 4 }),
  content: arbText,
})
const fixedKeys = Array.from({ length: 4 }, () => generateSecretKey())
const arbKey = fc.constantFrom(...fixedKeys)

describe('NIP-01 serialization', () => {
  it('uses the seven named escapes and writes other characters verbatim', () => {
    const pubkey = 'ab'.repeat(32)
    const s = serializeEvent({ pubkey, created_at: 1, kind: 1, tags: [['t', 'é/']], content: 'a\nb"c\\d\re\tf\bg\fh ü 😀 /' })
    expect(s).toBe(`[0,"${pubkey}",1,1,[["t","é/"]],"a\\nb\\"c\\\\d\\re\\tf\\bg\\fh ü 😀 /"]`)
  })

  it('writes other C0 control characters as \\u00xx, as deployed implementations hash them', () => {
    const s = serializeEvent({ pubkey: 'ab'.repeat(32), created_at: 1, kind: 1, tags: [], content: '\u0001\u001f' })
    expect(s.endsWith('"\\u0001\\u001f"]')).toBe(true)
  })

  it('reproduces the ids of the events in the NIP texts', () => {
    expect(getEventHash(nip13.mined_note)).toBe(nip13.mined_note.id)
    expect(getEventHash(nip59.seal)).toBe(nip59.seal.id)
    expect(getEventHash(nip59.gift_wrap)).toBe(nip59.gift_wrap.id)
    expect(verifyEvent(nip13.mined_note)).toBe(true)
    expect(verifyEvent(nip59.seal)).toBe(true)
    expect(verifyEvent(nip59.gift_wrap)).toBe(true)
  })

  it('rejects malformed fields with INVALID_EVENT naming the field', () => {
    const good = { pubkey: 'ab'.repeat(32), created_at: 1, kind: 1, tags: [], content: '' }
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...good, pubkey: 'AB'.repeat(32) }, /pubkey/],
      [{ ...good, kind: 1.5 }, /kind/],
      [{ ...good, kind: 65536 }, /kind/],
      [{ ...good, created_at: -1 }, /created_at/],
      [{ ...good, created_at: '1' }, /created_at/],
      [{ ...good, tags: [['e', 5]] }, /tags\[0\]\[1\]/],
      [{ ...good, tags: ['e'] }, /tags\[0\]/],
      [{ ...good, content: null }, /content/],
    ]
    for (const [event, field] of cases) {
      let caught: unknown
      try {
        serializeEvent(event as never)
      } catch (err) {
        caught = err
      }
      expect(caught).toBeInstanceOf(CryptoError)
      expect((caught as CryptoError).code).toBe('INVALID_EVENT')
      expect((caught as CryptoError).message).toMatch(field)
    }
  })

  it('assertEventShape checks id and sig too', () => {
    const e = finalizeEvent({ kind: 1, content: 'x' }, generateSecretKey())
    expect(() => assertEventShape(e)).not.toThrow()
    expect(() => assertEventShape({ ...e, sig: e.sig.slice(2) })).toThrow(/sig/)
    expect(() => assertEventShape({ ...e, id: e.id.toUpperCase() })).toThrow(/id/)
    expect(() => assertEventShape([e])).toThrow(/object/)
  })

  it('classifies kinds by NIP-01 range', () => {
    expect([0, 3, 10002, 19999].map(kindClass)).toEqual(Array(4).fill('replaceable'))
    expect([20000, 29999].map(kindClass)).toEqual(['ephemeral', 'ephemeral'])
    expect([30000, 39999].map(kindClass)).toEqual(['addressable', 'addressable'])
    expect([1, 4, 1059, 40000, 9999].map(kindClass)).toEqual(Array(5).fill('regular'))
  })
})

describe('keys', () => {
  it('rejects keys of the wrong type or length with TypeError/RangeError', () => {
    expect(() => getPublicKey(new Uint8Array(31))).toThrow(RangeError)
    expect(() => getPublicKey('00' as never)).toThrow(TypeError)
    expect(() => finalizeEvent({ kind: 1, content: '' }, new Uint8Array(33))).toThrow(RangeError)
  })

  it('rejects out-of-range scalars with INVALID_KEY', () => {
    for (const bad of [new Uint8Array(32), new Uint8Array(32).fill(0xff)]) {
      expect(() => getPublicKey(bad)).toThrow(expect.objectContaining({ code: 'INVALID_KEY' }))
    }
  })

  it('generates distinct valid keys', () => {
    const a = generateSecretKey()
    const b = generateSecretKey()
    expect(bytesToHex(a)).not.toBe(bytesToHex(b))
    expect(getPublicKey(a)).toMatch(/^[0-9a-f]{64}$/)
  })
})

describe('signing and verification', () => {
  it('round-trips: finalizeEvent output verifies (property)', () => {
    fc.assert(
      fc.property(arbTemplate, arbKey, (t, sk) => {
        const e = finalizeEvent(t, sk)
        return verifyEvent(e) && e.pubkey === getPublicKey(sk) && e.id === getEventHash(e)
      }),
      { seed: 42, numRuns: 150 },
    )
  })

  it('any changed field makes verifyEvent false (property)', () => {
    const mutations: ((e: NostrEvent) => NostrEvent)[] = [
      (e) => ({ ...e, content: `${e.content}x` }),
      (e) => ({ ...e, kind: (e.kind + 1) % 65536 }),
      (e) => ({ ...e, created_at: e.created_at + 1 }),
      (e) => ({ ...e, tags: [...e.tags, ['t', 'x']] }),
      (e) => ({ ...e, tags: e.tags.length ? e.tags.slice(1) : [['x']] }),
      (e) => ({ ...e, pubkey: getPublicKey(generateSecretKey()) }),
      (e) => ({ ...e, id: flipHex(e.id, 5) }),
      (e) => ({ ...e, sig: flipHex(e.sig, 70) }),
      (e) => ({ ...e, sig: flipHex(e.sig, 3) }),
    ]
    fc.assert(
      fc.property(arbTemplate, arbKey, fc.integer({ min: 0, max: mutations.length - 1 }), (t, sk, m) => {
        const e = finalizeEvent(t, sk)
        return verifyEvent(mutations[m]!(e)) === false
      }),
      { seed: 7, numRuns: 200 },
    )
  })

  it('verifyEvent never throws on junk', () => {
    const junk: unknown[] = [null, undefined, 0, 'event', [], {}, { id: 1 }, { tags: null }, Object.create(null)]
    const e = finalizeEvent({ kind: 1, content: '' }, generateSecretKey())
    junk.push({ ...e, tags: [[{}]] }, { ...e, sig: 'zz'.repeat(64) }, { ...e, pubkey: 'ff'.repeat(32) })
    for (const j of junk) expect(verifyEvent(j)).toBe(false)
  })

  it('verifyEvents agrees with verifyEvent, including forged copies that reuse a good id and sig', () => {
    const sk = generateSecretKey()
    const good = Array.from({ length: 5 }, (_, i) => finalizeEvent({ kind: 1, content: `n${i}` }, sk))
    const forged = { ...good[0]!, content: 'forged' }
    const badSig = { ...good[1]!, sig: flipHex(good[1]!.sig, 10) }
    const batch = [...good, forged, good[0], badSig, good[1], null, { ...good[2]! }]
    expect(verifyEvents(batch)).toEqual(batch.map((e) => verifyEvent(e)))
    expect(verifyEvents(batch)).toEqual([true, true, true, true, true, false, true, false, true, false, true])
  })
})

describe('verifyEvents on bursts (batch verification)', () => {
  it('a burst of 300 events from a few authors, with scattered bad signatures, duplicates and junk, agrees with verifyEvent and nostr-tools', () => {
    const authors = fixedKeys
    const burst: unknown[] = Array.from({ length: 300 }, (_, i) =>
      finalizeEvent({ kind: 1, content: `burst ${i}`, created_at: 1_700_000_000 + i }, authors[i % authors.length]!),
    )
    for (const at of [5, 77, 78, 150, 299]) {
      const e = burst[at] as NostrEvent
      burst[at] = { ...e, sig: flipHex(e.sig, 100) } // s changed: only the group equation catches it
    }
    burst[10] = { ...(burst[11] as NostrEvent) }
    burst[200] = { ...(burst[201] as NostrEvent), content: 'forged' }
    burst[250] = { kind: 1 }
    const expected = burst.map((e) => verifyEvent(e))
    expect(expected.filter((ok) => !ok)).toHaveLength(7)
    expect(verifyEvents(burst)).toEqual(expected)
    expect(burst.map((e) => (e && typeof e === 'object' && 'sig' in e ? ntVerify(structuredClone(e) as NostrEvent) : false))).toEqual(expected)
  })
})

describe('differential against nostr-tools', () => {
  it('same ids, and each verifies the other\'s signatures (property)', () => {
    fc.assert(
      fc.property(arbTemplate, arbKey, (t, sk) => {
        const ours = finalizeEvent(t, sk)
        const theirs = ntFinalize({ ...t }, sk)
        // Fresh copies: nostr-tools caches its verdict on the object it verified.
        return (
          ours.id === theirs.id &&
          ntHash({ ...ours }) === ours.id &&
          ntVerify(structuredClone(ours)) &&
          verifyEvent(structuredClone(theirs))
        )
      }),
      { seed: 1234, numRuns: 100 },
    )
  })

  it('both reject the same tampered event', () => {
    const sk = generateSecretKey()
    const e = finalizeEvent({ kind: 1, content: 'hello' }, sk)
    const tampered = { ...e, content: 'hellO' }
    expect(verifyEvent(tampered)).toBe(false)
    expect(ntVerify(structuredClone(tampered))).toBe(false)
    expect(hexToBytes(e.sig)).toHaveLength(64)
  })
})

function flipHex(hex: string, at: number): string {
  const c = hex[at] === '0' ? '1' : '0'
  return hex.slice(0, at) + c + hex.slice(at + 1)
}
