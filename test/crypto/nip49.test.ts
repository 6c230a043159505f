import { bech32 } from '@scure/base'
import fc from 'fast-check'
import { decrypt as ntDecrypt, encrypt as ntEncrypt } from 'nostr-tools/nip49'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { bytesToHex, hexToBytes, wipe } from '../../src/crypto/bytes.js'
import { generateSecretKey, getPublicKey } from '../../src/crypto/keys.js'
import { MAX_LOG_N, decrypt, encrypt, inspect } from '../../src/crypto/nip49.js'
import { CryptoError } from '../../src/errors.js'
import { readJsonVector } from '../helpers/vectors.js'
import { codeOf, rejectionCodeOf } from '../helpers/errors.js'

// Every call into scrypt and XChaCha20-Poly1305 made by src/crypto/nip49.ts is recorded (and
// delegated to the real function), so the tests can look at the very buffers the module promises
// to wipe: the passphrase bytes, the derived key, the copy of the secret key it encrypts.
const spy = vi.hoisted(() => ({
  scrypt: [] as { password: Uint8Array; passwordAtCall: Uint8Array; opts: Record<string, unknown>; key?: Uint8Array }[],
  aead: [] as { key: Uint8Array; plaintext?: Uint8Array }[],
}))

vi.mock('@noble/hashes/scrypt.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('@noble/hashes/scrypt.js')>()
  return {
    ...real,
    scryptAsync: async (password: Uint8Array, salt: Uint8Array, opts: Record<string, unknown>) => {
      const call: (typeof spy.scrypt)[number] = { password, passwordAtCall: password.slice(), opts }
      spy.scrypt.push(call)
      call.key = await real.scryptAsync(password, salt, opts as never)
      return call.key
    },
  }
})

vi.mock('@noble/ciphers/chacha.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('@noble/ciphers/chacha.js')>()
  const wrapped = (key: Uint8Array, nonce: Uint8Array, aad?: Uint8Array) => {
    const cipher = real.xchacha20poly1305(key, nonce, aad)
    const call: (typeof spy.aead)[number] = { key }
    spy.aead.push(call)
    return {
      ...cipher,
      encrypt: (plaintext: Uint8Array) => {
        call.plaintext = plaintext
        return cipher.encrypt(plaintext)
      },
      decrypt: (ciphertext: Uint8Array) => cipher.decrypt(ciphertext),
    }
  }
  return { ...real, xchacha20poly1305: Object.assign(wrapped, real.xchacha20poly1305) }
})

afterEach(() => {
  spy.scrypt.length = 0
  spy.aead.length = 0
})

interface Nip49Vectors {
  password_normalization: { input: string; input_utf8_hex: string; nfkc: string; nfkc_utf8_hex: string }
  decrypt: { ncryptsec: string; password: string; log_n: number; private_key_hex: string; decoded_fields_derived: { version: number; log_n: number; key_security_byte: number } }[]
}
const vectors = readJsonVector<Nip49Vectors>('nip49.from-nip-text.json')

const toBytes = (ncryptsec: string): Uint8Array => bech32.fromWords(bech32.decode(ncryptsec, 200).words)
const fromBytes = (bytes: Uint8Array, prefix = 'ncryptsec'): string => bech32.encode(prefix, bech32.toWords(bytes), 300)
const isZero = (bytes: Uint8Array): boolean => bytes.every((b) => b === 0)
const isScalar = (sk: Uint8Array): boolean => {
  try {
    getPublicKey(sk)
    return true
  } catch {
    return false
  }
}

describe('NIP-49 vectors (from the NIP text)', () => {
  const norm = vectors.password_normalization

  it('the vector file agrees with itself on the NFKC bytes', () => {
    expect(bytesToHex(new TextEncoder().encode(norm.input))).toBe(norm.input_utf8_hex)
    expect(bytesToHex(new TextEncoder().encode(norm.nfkc))).toBe(norm.nfkc_utf8_hex)
  })

  it('scrypt receives the NFKC bytes of the passphrase', async () => {
    const sk = generateSecretKey()
    const ncryptsec = await encrypt(sk, norm.input, { logN: 4 })
    await decrypt(ncryptsec, norm.input)
    expect(spy.scrypt).toHaveLength(2)
    for (const call of spy.scrypt) expect(bytesToHex(call.passwordAtCall)).toBe(norm.nfkc_utf8_hex)
    // Typed in its normalised form elsewhere, it still opens.
    expect(bytesToHex(await decrypt(ncryptsec, norm.nfkc))).toBe(bytesToHex(sk))
  })

  for (const v of vectors.decrypt) {
    it(`inspects and decrypts ${v.ncryptsec.slice(0, 20)}… (log_n ${v.log_n})`, async () => {
      expect(inspect(v.ncryptsec)).toEqual({
        version: v.decoded_fields_derived.version,
        logN: v.log_n,
        keySecurity: v.decoded_fields_derived.key_security_byte,
      })
      // log_n 16 takes a few hundred ms: the event loop must keep turning meanwhile.
      let ticks = 0
      const timer = setInterval(() => ticks++, 1)
      try {
        const sk = await decrypt(v.ncryptsec, v.password)
        expect(bytesToHex(sk)).toBe(v.private_key_hex)
      } finally {
        clearInterval(timer)
      }
      expect(ticks).toBeGreaterThan(2)
      expect(spy.scrypt[0]!.opts).toMatchObject({ N: 2 ** v.log_n, r: 8, p: 1, dkLen: 32 })
    })
  }
})

describe('NIP-49 round trips', () => {
  it('encrypts to 91 bytes with version 2 and the chosen log_n and key-security byte', async () => {
    const sk = generateSecretKey()
    for (const keySecurity of [0, 1, 2] as const) {
      const logN = 4 + keySecurity
      const ncryptsec = await encrypt(sk, 'pw', { logN, keySecurity })
      expect(ncryptsec.startsWith('ncryptsec1')).toBe(true)
      const bytes = toBytes(ncryptsec)
      expect(bytes).toHaveLength(91)
      expect([bytes[0], bytes[1], bytes[42]]).toEqual([2, logN, keySecurity])
      expect(inspect(ncryptsec)).toEqual({ version: 2, logN, keySecurity })
      expect(bytesToHex(await decrypt(ncryptsec, 'pw'))).toBe(bytesToHex(sk))
    }
  })

  it('defaults to log_n 16 and key-security 2', async () => {
    const ncryptsec = await encrypt(generateSecretKey(), 'pw')
    expect(inspect(ncryptsec)).toEqual({ version: 2, logN: 16, keySecurity: 2 })
  })

  it('uses a fresh salt and nonce each time', async () => {
    const sk = generateSecretKey()
    const a = toBytes(await encrypt(sk, 'pw', { logN: 4 }))
    const b = toBytes(await encrypt(sk, 'pw', { logN: 4 }))
    expect(bytesToHex(a.subarray(2, 18))).not.toBe(bytesToHex(b.subarray(2, 18)))
    expect(bytesToHex(a.subarray(18, 42))).not.toBe(bytesToHex(b.subarray(18, 42)))
  })

  it('round-trips random keys and passphrases (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 32, maxLength: 32 }).filter(isScalar),
        fc.string({ unit: 'binary', maxLength: 24 }),
        fc.integer({ min: 1, max: 8 }),
        async (sk, passphrase, logN) => {
          const ncryptsec = await encrypt(sk, passphrase, { logN })
          expect(bytesToHex(await decrypt(ncryptsec, passphrase))).toBe(bytesToHex(sk))
        },
      ),
      { seed: 42, numRuns: 30 },
    )
  })

  it('accepts an all-upper-case ncryptsec and surrounding whitespace', async () => {
    const sk = generateSecretKey()
    const ncryptsec = await encrypt(sk, 'pw', { logN: 4 })
    expect(bytesToHex(await decrypt(` ${ncryptsec.toUpperCase()}\n`, 'pw'))).toBe(bytesToHex(sk))
  })

  it('reports progress up to 1 and rethrows an error from onProgress as is', async () => {
    const seen: number[] = []
    const ncryptsec = await encrypt(generateSecretKey(), 'pw', { logN: 10, onProgress: (f) => seen.push(f) })
    expect(seen.length).toBeGreaterThan(0)
    expect(seen.at(-1)).toBe(1)
    expect(seen.every((f, i) => f >= 0 && f <= 1 && (i === 0 || f >= seen[i - 1]!))).toBe(true)
    const stop = new Error('user cancelled')
    await expect(decrypt(ncryptsec, 'pw', { onProgress: () => { throw stop } })).rejects.toBe(stop)
    expect(isZero(spy.scrypt.at(-1)!.password)).toBe(true)
  })
})

describe('NIP-49 wiping', () => {
  it('decrypt wipes the passphrase bytes and the derived key', async () => {
    const ncryptsec = await encrypt(generateSecretKey(), 'hunter2', { logN: 6 })
    spy.scrypt.length = 0
    spy.aead.length = 0
    await decrypt(ncryptsec, 'hunter2')
    const [call] = spy.scrypt
    expect(call!.passwordAtCall).toEqual(new TextEncoder().encode('hunter2'))
    expect(isZero(call!.password)).toBe(true)
    expect(call!.key).toHaveLength(32)
    expect(isZero(call!.key!)).toBe(true)
    // The cipher was keyed with that very buffer (so wiping it is wiping the key that was used).
    expect(spy.aead[0]!.key).toBe(call!.key)
  })

  it('decrypt wipes the derived key when the passphrase is wrong too', async () => {
    const ncryptsec = await encrypt(generateSecretKey(), 'right', { logN: 4 })
    spy.scrypt.length = 0
    expect(await rejectionCodeOf(decrypt(ncryptsec, 'wrong'))).toBe('NIP49_WRONG_PASSPHRASE')
    expect(isZero(spy.scrypt[0]!.key!)).toBe(true)
    expect(isZero(spy.scrypt[0]!.password)).toBe(true)
  })

  it('encrypt wipes the derived key, the passphrase bytes and its copy of the secret key, not the caller’s', async () => {
    const sk = generateSecretKey()
    const original = sk.slice()
    await encrypt(sk, 'hunter2', { logN: 6 })
    const [call] = spy.scrypt
    const [aead] = spy.aead
    expect(isZero(call!.key!)).toBe(true)
    expect(isZero(call!.password)).toBe(true)
    expect(aead!.key).toBe(call!.key)
    expect(aead!.plaintext).not.toBe(sk)
    expect(aead!.plaintext).toHaveLength(32)
    expect(isZero(aead!.plaintext!)).toBe(true)
    expect(sk).toEqual(original)
  })

  it('encrypt reads the key at call time, so the caller may wipe it right away', async () => {
    const sk = generateSecretKey()
    const hex = bytesToHex(sk)
    const pending = encrypt(sk, 'pw', { logN: 8 })
    wipe(sk)
    expect(bytesToHex(await decrypt(await pending, 'pw'))).toBe(hex)
  })
})

describe('NIP-49 errors', () => {
  const sk = hexToBytes('3501454135014541350145413501453fefb02227e449e57cf4d3a3ce05378683')
  let sample: string
  const getSample = async (): Promise<string> => (sample ??= await encrypt(sk, 'pw', { logN: 4, keySecurity: 1 }))
  const mutate = async (index: number, value: (old: number) => number): Promise<string> => {
    const bytes = toBytes(await getSample())
    bytes[index] = value(bytes[index]!)
    return fromBytes(bytes)
  }

  it('wrong passphrase → NIP49_WRONG_PASSPHRASE', async () => {
    expect(await rejectionCodeOf(decrypt(await getSample(), 'pW'))).toBe('NIP49_WRONG_PASSPHRASE')
  })

  // Each field is authenticated, directly (ciphertext, tag, nonce, key-security byte as AAD) or
  // through the key (salt, log_n).
  const tampered: [string, number, (b: number) => number][] = [
    ['log_n', 1, (b) => b + 1],
    ['salt', 2, (b) => b ^ 1],
    ['nonce', 30, (b) => b ^ 0x80],
    ['key-security byte', 42, () => 2],
    ['ciphertext', 43, (b) => b ^ 1],
    ['tag', 90, (b) => b ^ 1],
  ]
  for (const [field, index, change] of tampered) {
    it(`tampered ${field} → NIP49_WRONG_PASSPHRASE`, async () => {
      expect(await rejectionCodeOf(decrypt(await mutate(index, change), 'pw'))).toBe('NIP49_WRONG_PASSPHRASE')
    })
  }

  const malformed: [string, () => Promise<string>][] = [
    ['garbage', async () => 'ncryptsec1notbech32!'],
    ['empty string', async () => ''],
    ['bad checksum', async () => { const s = await getSample(); return s.slice(0, -1) + (s.endsWith('q') ? 'p' : 'q') }],
    ['mixed case', async () => { const s = await getSample(); return s.slice(0, 20) + s.slice(20).toUpperCase() }],
    ['wrong prefix', async () => fromBytes(toBytes(await getSample()), 'nsec')],
    ['90 bytes', async () => fromBytes(toBytes(await getSample()).subarray(0, 90))],
    ['92 bytes', async () => { const b = toBytes(await getSample()); return fromBytes(Uint8Array.from([...b, 0])) }],
    ['version 1', () => mutate(0, () => 1)],
    ['version 3', () => mutate(0, () => 3)],
    ['log_n 0', () => mutate(1, () => 0)],
    [`log_n ${MAX_LOG_N + 1}`, () => mutate(1, () => MAX_LOG_N + 1)],
    ['log_n 255', () => mutate(1, () => 255)],
    ['key-security byte 3', () => mutate(42, () => 3)],
  ]
  for (const [name, make] of malformed) {
    it(`${name} → NIP49_INVALID from decrypt and inspect, before any scrypt work`, async () => {
      const ncryptsec = await make()
      spy.scrypt.length = 0
      expect(await rejectionCodeOf(decrypt(ncryptsec, 'pw'))).toBe('NIP49_INVALID')
      expect(codeOf(() => inspect(ncryptsec))).toBe('NIP49_INVALID')
      expect(spy.scrypt).toHaveLength(0)
    })
  }

  it('the log_n cap is what the NIP table calls 4 GiB', () => {
    expect(MAX_LOG_N).toBe(22)
  })

  it('programmer errors are TypeError/RangeError; an invalid scalar is INVALID_KEY', async () => {
    await expect(encrypt(new Uint8Array(31), 'pw', { logN: 4 })).rejects.toThrow(RangeError)
    await expect(encrypt('00' as unknown as Uint8Array, 'pw', { logN: 4 })).rejects.toThrow(TypeError)
    await expect(encrypt(sk, 42 as unknown as string, { logN: 4 })).rejects.toThrow(TypeError)
    await expect(encrypt(sk, 'pw', { logN: 0 })).rejects.toThrow(RangeError)
    await expect(encrypt(sk, 'pw', { logN: MAX_LOG_N + 1 })).rejects.toThrow(RangeError)
    await expect(encrypt(sk, 'pw', { logN: 4.5 })).rejects.toThrow(RangeError)
    await expect(encrypt(sk, 'pw', { logN: 4, keySecurity: 3 as 2 })).rejects.toThrow(RangeError)
    expect(await rejectionCodeOf(encrypt(new Uint8Array(32), 'pw', { logN: 4 }))).toBe('INVALID_KEY')
    await expect(decrypt(42 as unknown as string, 'pw')).rejects.toThrow(TypeError)
    await expect(decrypt(await getSample(), undefined as unknown as string)).rejects.toThrow(TypeError)
    expect(() => inspect(null as unknown as string)).toThrow(TypeError)
  })

  it('messages never contain the passphrase', async () => {
    const err = await decrypt(await getSample(), 'my secret passphrase').catch((e: unknown) => e as Error)
    expect(err).toBeInstanceOf(CryptoError)
    expect(String((err as Error).message)).not.toContain('my secret passphrase')
  })
})

describe('NIP-49 against nostr-tools', () => {
  const keys = fc.uint8Array({ minLength: 32, maxLength: 32 }).filter(isScalar)
  const passphrases = fc.string({ unit: 'grapheme', maxLength: 16 })
  const logNs = fc.integer({ min: 1, max: 8 })
  const keySecurities = fc.constantFrom(0 as const, 1 as const, 2 as const)

  it('nostr-tools decrypts what we encrypt', async () => {
    await fc.assert(
      fc.asyncProperty(keys, passphrases, logNs, keySecurities, async (sk, passphrase, logN, keySecurity) => {
        const ncryptsec = await encrypt(sk, passphrase, { logN, keySecurity })
        expect(bytesToHex(ntDecrypt(ncryptsec, passphrase))).toBe(bytesToHex(sk))
      }),
      { seed: 42, numRuns: 25 },
    )
  })

  it('we decrypt what nostr-tools encrypts', async () => {
    await fc.assert(
      fc.asyncProperty(keys, passphrases, logNs, keySecurities, async (sk, passphrase, logN, keySecurity) => {
        const ncryptsec = ntEncrypt(sk, passphrase, logN, keySecurity)
        expect(inspect(ncryptsec)).toEqual({ version: 2, logN, keySecurity })
        expect(bytesToHex(await decrypt(ncryptsec, passphrase))).toBe(bytesToHex(sk))
      }),
      { seed: 42, numRuns: 25 },
    )
  })

  it('both agree on the NFKC form of the NIP’s passphrase', async () => {
    const sk = generateSecretKey()
    const { input, nfkc } = vectors.password_normalization
    expect(bytesToHex(ntDecrypt(await encrypt(sk, input, { logN: 4 }), nfkc))).toBe(bytesToHex(sk))
    expect(bytesToHex(await decrypt(ntEncrypt(sk, nfkc, 4), input))).toBe(bytesToHex(sk))
  })
})

describe('no secret in an error', () => {
  it('a mistyped nsec or ncryptsec is not quoted in the message or the cause', async () => {
    const nsec = 'nsec1vl029mgpspedva04g90vltkh6fvh240zqtv9k0t9af8935ke9laqsnlfe6' // last character changed
    const ncryptsec = vectors.decrypt[0]!.ncryptsec.slice(0, -1) + (vectors.decrypt[0]!.ncryptsec.endsWith('p') ? 'q' : 'p')
    for (const input of [nsec, ncryptsec]) {
      const errors: unknown[] = []
      try {
        inspect(input)
      } catch (err) {
        errors.push(err)
      }
      await decrypt(input, 'nostr').catch((err: unknown) => errors.push(err))
      expect(errors).toHaveLength(2)
      for (const err of errors) {
        expect((err as CryptoError).code).toBe('NIP49_INVALID')
        const text = `${(err as Error).message} ${String((err as Error).cause ?? '')} ${JSON.stringify(err)}`
        expect(text).not.toContain(input.slice(10, 40))
      }
    }
  })
})
