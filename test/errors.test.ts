import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { CryptoError, ERROR_CODES, RelayError, RendezvousError, isRendezvousError } from '../src/errors.js'

const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8')
const documented = new Set([...doc.matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((m) => m[1]!))
const allCodes = Object.values(ERROR_CODES).flat() as string[]

describe('error codes', () => {
  it('every code is documented in docs/errors.md, and every documented code exists', () => {
    expect(allCodes.length).toBeGreaterThan(20)
    expect(allCodes.filter((c) => !documented.has(c))).toEqual([])
    expect([...documented].filter((c) => !allCodes.includes(c))).toEqual([])
  })

  it('codes are unique and UPPER_SNAKE', () => {
    expect(new Set(allCodes).size).toBe(allCodes.length)
    for (const c of allCodes) expect(c).toMatch(/^[A-Z][A-Z0-9_]+$/)
  })

  it('carries code, shortMessage, details and cause', () => {
    const cause = new Error('inner')
    const err = new CryptoError('NIP44_INVALID_MAC', 'Bad MAC', { details: 'payload 3', cause })
    expect(err).toBeInstanceOf(RendezvousError)
    expect(err).toBeInstanceOf(Error)
    expect(err.name).toBe('CryptoError')
    expect(err.code).toBe('NIP44_INVALID_MAC')
    expect(err.shortMessage).toBe('Bad MAC')
    expect(err.message).toBe('Bad MAC (payload 3)')
    expect(err.cause).toBe(cause)
    expect(isRendezvousError(err, 'NIP44_INVALID_MAC')).toBe(true)
    expect(isRendezvousError(err, 'SIGNER_CLOSED')).toBe(false)
    expect(isRendezvousError(new Error('x'))).toBe(false)
    expect(new RelayError('X', 'y')).not.toBeInstanceOf(CryptoError)
  })
})
