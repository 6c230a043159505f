import { describe, expect, it } from 'vitest'
import { hexToBytes, schnorrSign, schnorrVerify, getPublicKey, bytesToHex } from '../../src/crypto/index.js'
import { readVector } from '../helpers/vectors.js'

// BIP-340's own test vectors, used verbatim (19 rows, including variable-length messages 15–18).
const rows = readVector('bip340-test-vectors.csv')
  .trim()
  .split('\n')
  .slice(1)
  .map((line) => {
    const [index, secretKey, publicKey, auxRand, message, signature, result, comment] = line.split(',')
    return { index: Number(index), secretKey, publicKey, auxRand, message, signature, valid: result === 'TRUE', comment }
  })

describe('BIP-340 vectors', () => {
  it('has all 19 rows', () => {
    expect(rows).toHaveLength(19)
  })

  for (const row of rows) {
    it(`row ${row.index}${row.comment ? `: ${row.comment}` : ''}`, () => {
      const message = hexToBytes(row.message!)
      if (row.secretKey) {
        const sk = hexToBytes(row.secretKey)
        expect(getPublicKey(sk)).toBe(row.publicKey!.toLowerCase())
        const sig = schnorrSign(message, sk, hexToBytes(row.auxRand!))
        expect(bytesToHex(sig)).toBe(row.signature!.toLowerCase())
      }
      // Verification never throws, even for public keys not on the curve (rows 5, 14).
      let pub: Uint8Array
      try {
        pub = hexToBytes(row.publicKey!)
      } catch {
        pub = new Uint8Array(0)
      }
      expect(schnorrVerify(hexToBytes(row.signature!), message, pub)).toBe(row.valid)
    })
  }
})
