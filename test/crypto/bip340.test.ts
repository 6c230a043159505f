import { describe, expect, it } from 'vitest'
import { hexToBytes, schnorrSign, schnorrVerify, getPublicKey, bytesToHex } from '../../src/crypto/index.js'
import { readVector } from '../helpers/vectors.js'
import { createBatchVerifier } from '../../src/crypto/batch-verify.js'

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

describe('BIP-340 vectors, batch verification', () => {
  const items = rows.map((row) => ({ signature: hexToBytes(row.signature!), message: hexToBytes(row.message!), publicKey: hexToBytes(row.publicKey!) }))

  it('all 19 rows in one call give the CSV results, batched or one by one', () => {
    const expected = rows.map((row) => row.valid)
    // minBatch 1: the rows that pass the range and curve checks go through one batch check (which
    // fails) and the search; a huge minBatch verifies each row alone.
    const batched = createBatchVerifier({ minBatch: 1 })
    expect(batched.verifySignatures(items)).toEqual(expected)
    expect(batched.stats().batchChecks).toBeGreaterThan(1)
    expect(createBatchVerifier({ minBatch: Number.MAX_SAFE_INTEGER }).verifySignatures(items)).toEqual(expected)
  })

  it('the valid rows together pass one batch check', () => {
    const valid = items.filter((_, i) => rows[i]!.valid)
    const verifier = createBatchVerifier({ minBatch: 1 })
    expect(verifier.verifySignatures(valid)).toEqual(valid.map(() => true))
    expect(verifier.stats()).toMatchObject({ batchChecks: 1, singleChecks: 0 })
  })
})
