/**
 * secp256k1 keys for Nostr: secret keys as 32 bytes, public keys as x-only lower-case hex (BIP-340).
 *
 * @module
 */
import { schnorr } from '@noble/curves/secp256k1.js'
import { CryptoError } from '../errors.js'
import { assertBytes, bytesToHex } from './bytes.js'

/**
 * A fresh random secret key (32 bytes, a valid secp256k1 scalar).
 *
 * @returns 32 random bytes. Wipe them (`wipe(sk)`) when done.
 * @example
 * ```ts
 * import { generateSecretKey, getPublicKey } from 'nostr-rendezvous/crypto'
 * const sk = generateSecretKey()
 * const pubkey = getPublicKey(sk)
 * ```
 */
export function generateSecretKey(): Uint8Array {
  return schnorr.utils.randomSecretKey()
}

/**
 * The x-only public key (lower-case hex) of a secret key.
 *
 * @param secretKey - 32 bytes.
 * @returns 64 hex characters.
 * @throws TypeError/RangeError for a wrong type or length; CryptoError `INVALID_KEY` when the
 * bytes are not a valid scalar (zero, or not below the curve order).
 * @example
 * ```ts
 * import { getPublicKey } from 'nostr-rendezvous/crypto'
 * getPublicKey(sk) // '3bf0c63f…'
 * ```
 */
export function getPublicKey(secretKey: Uint8Array): string {
  assertBytes(secretKey, 32, 'secretKey')
  try {
    return bytesToHex(schnorr.getPublicKey(secretKey))
  } catch (cause) {
    throw new CryptoError('INVALID_KEY', 'Secret key is not a valid secp256k1 scalar', { cause })
  }
}

/**
 * True when `pubkey` is 64 lower-case hex characters naming a point on secp256k1 (lift_x works).
 *
 * @param pubkey - candidate public key.
 * @returns whether it is a usable x-only public key.
 * @example
 * ```ts
 * import { isValidPublicKey } from 'nostr-rendezvous/crypto'
 * isValidPublicKey('00'.repeat(32)) // false
 * ```
 */
export function isValidPublicKey(pubkey: unknown): pubkey is string {
  if (typeof pubkey !== 'string' || !/^[0-9a-f]{64}$/.test(pubkey)) return false
  try {
    schnorr.utils.lift_x(BigInt(`0x${pubkey}`))
    return true
  } catch {
    return false
  }
}
