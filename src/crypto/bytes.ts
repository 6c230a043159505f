/**
 * Byte, hex and UTF-8 helpers shared by the crypto layer, with argument checks that throw
 * `TypeError`/`RangeError` naming the field (programmer errors, see `docs/errors.md`).
 *
 * @module
 */
import { bytesToHex as nobleBytesToHex, randomBytes as nobleRandomBytes } from '@noble/hashes/utils.js'

const HEX_RE = /^[0-9a-f]*$/

/** Shared UTF-8 encoder (stateless, safe to reuse). */
export const utf8Encoder: TextEncoder = /* @__PURE__ */ new TextEncoder()
/**
 * Shared UTF-8 decoder that throws on invalid sequences instead of inserting U+FFFD, and keeps a
 * leading U+FEFF (a decrypted message or identifier that starts with one must round-trip).
 */
export const utf8StrictDecoder: TextDecoder = /* @__PURE__ */ new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/**
 * Lower-case hex of `bytes`.
 *
 * @param bytes - the bytes.
 * @returns lower-case hex, two characters per byte.
 * @example
 * ```ts
 * import { bytesToHex } from 'nostr-rendezvous/crypto'
 * bytesToHex(new Uint8Array([1, 255])) // '01ff'
 * ```
 */
export function bytesToHex(bytes: Uint8Array): string {
  return nobleBytesToHex(bytes)
}

/**
 * True when `value` is a lower-case hex string of exactly `bytes` bytes (NIP-01 keys and ids are
 * lower-case).
 *
 * @param value - anything.
 * @param bytes - expected length in bytes.
 * @returns whether it is lower-case hex of that length.
 * @example
 * ```ts
 * import { isHex } from 'nostr-rendezvous/crypto'
 * isHex('ab'.repeat(32), 32) // true
 * ```
 */
export function isHex(value: unknown, bytes: number): value is string {
  return typeof value === 'string' && value.length === bytes * 2 && HEX_RE.test(value)
}

/**
 * Bytes of a hex string. Accepts upper case too (users paste keys); rejects odd lengths and
 * non-hex characters.
 *
 * @param hex - the hex string.
 * @param field - the argument's name, used in the error message.
 * @param bytes - required length in bytes, if any.
 * @returns the bytes.
 * @throws TypeError when `hex` is not a hex string; RangeError when its length is wrong.
 * @example
 * ```ts
 * import { hexToBytes } from 'nostr-rendezvous/crypto'
 * hexToBytes('01ff') // Uint8Array [1, 255]
 * ```
 */
export function hexToBytes(hex: string, field = 'hex', bytes?: number): Uint8Array {
  if (typeof hex !== 'string') throw new TypeError(`${field} must be a hex string, got ${typeof hex}`)
  const lower = hex.toLowerCase()
  if (lower.length % 2 !== 0 || !HEX_RE.test(lower)) throw new TypeError(`${field} must be a hex string`)
  if (bytes !== undefined && lower.length !== bytes * 2) {
    throw new RangeError(`${field} must be ${bytes} bytes (${bytes * 2} hex characters), got ${lower.length / 2}`)
  }
  const out = new Uint8Array(lower.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(lower.slice(i * 2, i * 2 + 2), 16)
  return out
}

/**
 * Checks that `value` is a `Uint8Array` of `length` bytes.
 *
 * @param value - the argument.
 * @param length - required length, if any.
 * @param field - the argument's name for the message.
 * @returns `value`, typed.
 * @throws TypeError when not a Uint8Array; RangeError when the length is wrong.
 * @example
 * ```ts
 * import { assertBytes } from 'nostr-rendezvous/crypto'
 * assertBytes(new Uint8Array(32), 32, 'secretKey')
 * ```
 */
export function assertBytes(value: unknown, length: number | undefined, field: string): Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new TypeError(`${field} must be a Uint8Array, got ${value === null ? 'null' : typeof value}`)
  }
  if (length !== undefined && value.length !== length) {
    throw new RangeError(`${field} must be ${length} bytes, got ${value.length}`)
  }
  return value
}

/**
 * Accepts a 32-byte key as bytes or 64-character hex and returns bytes (a copy for hex input, the
 * same array for bytes).
 *
 * @param key - bytes or hex.
 * @param field - the argument's name for the message.
 * @returns 32 bytes.
 * @throws TypeError/RangeError when it is neither.
 * @example
 * ```ts
 * import { toKeyBytes } from 'nostr-rendezvous/crypto'
 * toKeyBytes('11'.repeat(32), 'pubkey').length // 32
 * ```
 */
export function toKeyBytes(key: Uint8Array | string, field: string): Uint8Array {
  return typeof key === 'string' ? hexToBytes(key, field, 32) : assertBytes(key, 32, field)
}

/**
 * Cryptographically secure random bytes (WebCrypto).
 *
 * @param length - how many bytes.
 * @returns fresh random bytes.
 * @example
 * ```ts
 * import { randomBytes } from 'nostr-rendezvous/crypto'
 * randomBytes(32).length // 32
 * ```
 */
export function randomBytes(length: number): Uint8Array {
  return nobleRandomBytes(length)
}

/**
 * Overwrites `arrays` with zeros. JavaScript cannot promise that no copy survives elsewhere (the
 * engine may have moved the buffer), but wiping what we hold shortens the window a secret sits in
 * memory.
 *
 * @param arrays - buffers to wipe.
 * @example
 * ```ts
 * import { wipe } from 'nostr-rendezvous/crypto'
 * const sk = new Uint8Array(32).fill(7); wipe(sk) // sk is all zeros
 * ```
 */
export function wipe(...arrays: (Uint8Array | undefined)[]): void {
  for (const a of arrays) a?.fill(0)
}

/**
 * Compares two byte arrays in time that depends only on their length, not on where they differ
 * (for MACs).
 *
 * @param a - first array.
 * @param b - second array.
 * @returns whether they are equal.
 * @example
 * ```ts
 * import { equalBytes } from 'nostr-rendezvous/crypto'
 * equalBytes(new Uint8Array([1]), new Uint8Array([1])) // true
 * ```
 */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!
  return diff === 0
}
