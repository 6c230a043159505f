/**
 * The secp256k1 ECDH that NIP-04 and NIP-44 share: the x coordinate of `secretKey · P`, where P is
 * the even-y point of an x-only public key (BIP-340 lift_x).
 *
 * @module
 * @internal
 */
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { CryptoError } from '../errors.js'
import { assertBytes, hexToBytes, wipe } from './bytes.js'

/**
 * The shared x coordinate (32 bytes) of our secret key and a peer's x-only public key. The caller
 * owns the result and should wipe it.
 *
 * @param secretKey - our 32-byte secret key.
 * @param peerPubkey - the peer's public key, 64 hex characters.
 * @returns 32 bytes.
 * @throws TypeError/RangeError for wrong types or lengths; CryptoError `INVALID_KEY` for a secret
 * key that is not a scalar or a public key that is not on the curve.
 * @internal
 */
export function sharedX(secretKey: Uint8Array, peerPubkey: string): Uint8Array {
  assertBytes(secretKey, 32, 'secretKey')
  const compressed = new Uint8Array(33)
  compressed[0] = 0x02 // x-only keys name the even-y point
  compressed.set(hexToBytes(peerPubkey, 'peerPubkey', 32), 1)
  if (!secp256k1.utils.isValidSecretKey(secretKey)) {
    throw new CryptoError('INVALID_KEY', 'Secret key is not a valid secp256k1 scalar')
  }
  let shared: Uint8Array
  try {
    shared = secp256k1.getSharedSecret(secretKey, compressed)
  } catch (cause) {
    throw new CryptoError('INVALID_KEY', 'Peer public key is not a point on secp256k1', { cause })
  }
  const x = shared.slice(1, 33)
  wipe(shared)
  return x
}
