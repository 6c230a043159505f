import { createCipheriv } from 'node:crypto'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { base64 } from '@scure/base'
import fc from 'fast-check'
import * as tools from 'nostr-tools/nip04'
import { describe, expect, it } from 'vitest'
import { bytesToHex } from '../../src/crypto/bytes.js'
import { getPublicKey } from '../../src/crypto/keys.js'
import * as nip04 from '../../src/crypto/nip04.js'
import { codeOf } from '../helpers/errors.js'

// NIP-04 publishes no test vectors: correctness rests on node:crypto's AES-256-CBC (a known-answer
// check with a fixed IV), the differential tests against nostr-tools, and round trips.

const secretKeyArb = fc
  .uint8Array({ minLength: 32, maxLength: 32 })
  .filter((sk) => secp256k1.utils.isValidSecretKey(sk))
// No lone surrogates (TextEncoder would replace them), so a round trip returns the same string.
const plaintextArb = fc.string({ unit: 'binary', maxLength: 500 })
const ivArb = fc.uint8Array({ minLength: 16, maxLength: 16 })

const alice = new Uint8Array(32).fill(1)
const bob = new Uint8Array(32).fill(2)
const alicePub = getPublicKey(alice)
const bobPub = getPublicKey(bob)

/** NIP-04 with node:crypto, following the NIP's own code sample: key = unhashed shared x. */
function nodeEncrypt(sk: Uint8Array, pub: string, text: string, iv: Uint8Array): string {
  const sharedX = secp256k1.getSharedSecret(sk, Uint8Array.from(Buffer.from(`02${pub}`, 'hex'))).subarray(1, 33)
  const cipher = createCipheriv('aes-256-cbc', sharedX, iv)
  const ct = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()])
  return `${ct.toString('base64')}?iv=${Buffer.from(iv).toString('base64')}`
}

describe('nip04 known answers (node:crypto AES-256-CBC)', () => {
  it('matches the NIP code sample with a fixed IV, and decrypts it', () => {
    fc.assert(
      fc.property(secretKeyArb, secretKeyArb, plaintextArb, ivArb, (a, b, text, iv) => {
        const expected = nodeEncrypt(a, getPublicKey(b), text, iv)
        expect(nip04.encrypt(a, getPublicKey(b), text, iv)).toBe(expected)
        expect(nip04.decrypt(b, getPublicKey(a), expected)).toBe(text)
      }),
      { seed: 42, numRuns: 30 },
    )
  })

  it('uses the shared x unhashed, padded with PKCS#7 to whole blocks', () => {
    const iv = new Uint8Array(16).fill(0xaa)
    for (const len of [0, 1, 15, 16, 17, 31, 32]) {
      const payload = nip04.encrypt(alice, bobPub, 'z'.repeat(len), iv)
      const [ct, ivPart] = payload.split('?iv=')
      expect(base64.decode(ct!).length).toBe((Math.floor(len / 16) + 1) * 16)
      expect(ivPart).toBe(base64.encode(iv))
      expect(payload).toBe(nodeEncrypt(alice, bobPub, 'z'.repeat(len), iv))
    }
    expect(iv).toEqual(new Uint8Array(16).fill(0xaa))
  })
})

describe('nip04 differential vs nostr-tools', () => {
  it('nostr-tools decrypts ours and we decrypt theirs, both sides of the conversation', () => {
    fc.assert(
      fc.property(secretKeyArb, secretKeyArb, plaintextArb, (a, b, text) => {
        const pubA = getPublicKey(a)
        const pubB = getPublicKey(b)
        const ours = nip04.encrypt(a, pubB, text)
        expect(tools.decrypt(b, pubA, ours)).toBe(text)
        expect(tools.decrypt(a, pubB, ours)).toBe(text)
        const theirs = tools.encrypt(b, pubA, text)
        expect(nip04.decrypt(a, pubB, theirs)).toBe(text)
        expect(nip04.decrypt(b, pubA, theirs)).toBe(text)
      }),
      { seed: 42, numRuns: 30 },
    )
  })
})

describe('nip04 round trips', () => {
  it('encrypt then decrypt with the peer key gives the plaintext; a fresh IV each time', () => {
    fc.assert(
      fc.property(plaintextArb, (text) => {
        const payload = nip04.encrypt(alice, bobPub, text)
        expect(nip04.decrypt(bob, alicePub, payload)).toBe(text)
        expect(nip04.decrypt(alice, bobPub, payload)).toBe(text)
      }),
      { seed: 42, numRuns: 100 },
    )
    expect(nip04.encrypt(alice, bobPub, 'same')).not.toBe(nip04.encrypt(alice, bobPub, 'same'))
  })

  it('a long message (1 MiB)', () => {
    const text = 'ñ'.repeat(1 << 19)
    expect(nip04.decrypt(bob, alicePub, nip04.encrypt(alice, bobPub, text))).toBe(text)
  })
})

describe('nip04 malformed payloads', () => {
  const good = nip04.encrypt(alice, bobPub, 'hello there', new Uint8Array(16).fill(3))
  const [ct, iv] = good.split('?iv=') as [string, string]

  const invalidPayloads: [string, string][] = [
    ['empty', ''],
    ['no separator', ct],
    ['separator only', '?iv='],
    ['two separators', `${good}?iv=${iv}`],
    ['empty ciphertext', `?iv=${iv}`],
    ['empty iv', `${ct}?iv=`],
    ['iv not base64', `${ct}?iv=${iv.slice(0, -2)}!!`],
    ['ciphertext not base64', `${ct.slice(1)}*?iv=${iv}`],
    ['unpadded base64', `${ct}?iv=${iv.replace(/=+$/, '')}`],
    ['iv of 15 bytes', `${ct}?iv=${base64.encode(new Uint8Array(15))}`],
    ['iv of 17 bytes', `${ct}?iv=${base64.encode(new Uint8Array(17))}`],
    ['ciphertext not whole blocks', `${base64.encode(new Uint8Array(17))}?iv=${iv}`],
    ['other separator', `${ct}&iv=${iv}`],
    ['whitespace', ` ${good}`],
  ]

  for (const [name, payload] of invalidPayloads) {
    it(`${name} -> NIP04_INVALID_PAYLOAD`, () => {
      expect(codeOf(() => nip04.decrypt(bob, alicePub, payload))).toBe('NIP04_INVALID_PAYLOAD')
    })
  }

  it('the good payload decrypts (so the cases above fail for their own reason)', () => {
    expect(nip04.decrypt(bob, alicePub, good)).toBe('hello there')
  })

  it('wrong key or corrupted ciphertext -> NIP04_DECRYPT_FAILED', () => {
    const carol = new Uint8Array(32).fill(9)
    expect(codeOf(() => nip04.decrypt(carol, alicePub, good))).toBe('NIP04_DECRYPT_FAILED')
    const raw = base64.decode(ct)
    raw[raw.length - 1]! ^= 0x55 // last block: breaks the PKCS#7 padding
    expect(codeOf(() => nip04.decrypt(bob, alicePub, `${base64.encode(raw)}?iv=${iv}`))).toBe('NIP04_DECRYPT_FAILED')
  })

  it('well-padded plaintext that is not UTF-8 -> NIP04_DECRYPT_FAILED', () => {
    const sharedX = secp256k1.getSharedSecret(alice, Uint8Array.from(Buffer.from(`02${bobPub}`, 'hex'))).subarray(1, 33)
    const cipher = createCipheriv('aes-256-cbc', sharedX, Buffer.alloc(16))
    const bad = Buffer.concat([cipher.update(Buffer.from([0xff, 0xfe, 0x80])), cipher.final()])
    const payload = `${bad.toString('base64')}?iv=${Buffer.alloc(16).toString('base64')}`
    expect(codeOf(() => nip04.decrypt(bob, alicePub, payload))).toBe('NIP04_DECRYPT_FAILED')
  })

  it('random payloads and wrong keys only ever throw CryptoErrors', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 200 }),
          fc
            .tuple(fc.uint8Array({ maxLength: 80 }), fc.uint8Array({ minLength: 14, maxLength: 18 }))
            .map(([c, i]) => `${base64.encode(c)}?iv=${base64.encode(i)}`),
        ),
        (payload) => {
          expect(codeOf(() => nip04.decrypt(bob, alicePub, payload))).toMatch(/^NIP04_/)
        },
      ),
      { seed: 42, numRuns: 300 },
    )
    fc.assert(
      fc.property(secretKeyArb, (wrong) => {
        // a wrong key fails the padding or UTF-8 check; the rare survivor decrypts to other text
        const code = codeOf(() => {
          if (nip04.decrypt(wrong, alicePub, good) === 'hello there') throw new Error('decrypted with a wrong key')
        })
        expect([undefined, 'NIP04_DECRYPT_FAILED']).toContain(code)
      }),
      { seed: 42, numRuns: 30 },
    )
  })
})

describe('nip04 keys and arguments', () => {
  it('a peer key off the curve or an invalid secret key -> INVALID_KEY', () => {
    const offCurve = 'ff'.repeat(32)
    expect(codeOf(() => nip04.encrypt(alice, offCurve, 'x'))).toBe('INVALID_KEY')
    expect(codeOf(() => nip04.decrypt(alice, offCurve, nip04.encrypt(alice, bobPub, 'x')))).toBe('INVALID_KEY')
    expect(codeOf(() => nip04.encrypt(new Uint8Array(32), bobPub, 'x'))).toBe('INVALID_KEY')
    const n = Uint8Array.from(Buffer.from('fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141', 'hex'))
    expect(codeOf(() => nip04.encrypt(n, bobPub, 'x'))).toBe('INVALID_KEY')
  })

  it('wrong types and lengths are programmer errors', () => {
    expect(() => nip04.encrypt(new Uint8Array(31), bobPub, 'x')).toThrow(RangeError)
    expect(() => nip04.encrypt(alice, bobPub.slice(2), 'x')).toThrow(RangeError)
    expect(() => nip04.encrypt(alice, 'zz'.repeat(32), 'x')).toThrow(TypeError)
    expect(() => nip04.encrypt(alice, bobPub, 5 as unknown as string)).toThrow(TypeError)
    expect(() => nip04.encrypt(alice, bobPub, 'x', new Uint8Array(12))).toThrow(RangeError)
    expect(() => nip04.decrypt(alice, bobPub, null as unknown as string)).toThrow(TypeError)
    expect(() => nip04.decrypt(new Uint8Array(33), bobPub, 'a?iv=b')).toThrow(RangeError)
  })

  it('the shared key is symmetric; the IV argument is left untouched', () => {
    const iv = new Uint8Array(16)
    expect(nip04.encrypt(alice, bobPub, 'sym', iv)).toBe(nip04.encrypt(bob, alicePub, 'sym', iv))
    expect(bytesToHex(iv)).toBe('00'.repeat(16))
  })
})
