/**
 * The secp256k1 ECDH that NIP-04 and NIP-44 share: the x coordinate of `secretKey · P`, where P is
 * the even-y point of an x-only public key (BIP-340 lift_x).
 *
 * Written with the curve's point class, which the Schnorr signer already brings in, rather than
 * `secp256k1.getSharedSecret`: that one lives on noble's ECDSA object, and referencing it puts all
 * of ECDSA (signing, recovery, DER) into every bundle that encrypts (about 3.7 KB gzipped). The
 * arithmetic is the same: decode the compressed point (on-curve check), then a constant-time
 * multiplication by the scalar.
 *
 * @module
 * @internal
 */
import { schnorr } from '@noble/curves/secp256k1.js'
import { CryptoError } from '../errors.js'
import { assertBytes, hexToBytes, wipe } from './bytes.js'

/** A secp256k1 point (noble's projective point class, the one the Schnorr signer uses). @internal */
export type CurvePoint = ReturnType<typeof schnorr.Point.fromBytes>

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
  const compressed = compressedEvenY(peerPubkey)
  const scalar = secretScalar(secretKey)
  return xOfProduct(decodePoint(compressed), scalar)
}

/**
 * The even-y point of an x-only public key (BIP-340 lift_x), e.g. to precompute a multiplication
 * table for a frequent peer and pass it to {@link sharedXWithPoint}.
 *
 * @param peerPubkey - 64 hex characters.
 * @returns the point.
 * @throws TypeError/RangeError for a wrong type or length; CryptoError `INVALID_KEY` for an x that
 * names no point on the curve.
 * @internal
 */
export function evenYPoint(peerPubkey: string): CurvePoint {
  return decodePoint(compressedEvenY(peerPubkey))
}

/**
 * {@link sharedX} with the peer's point already decoded (and possibly precomputed): same checks on
 * the secret key, same constant-time multiplication.
 *
 * @param secretKey - our 32-byte secret key.
 * @param point - from {@link evenYPoint}.
 * @returns 32 bytes, owned by the caller.
 * @throws TypeError/RangeError for a key of the wrong type or length; CryptoError `INVALID_KEY` for
 * a secret key that is not a scalar.
 * @internal
 */
export function sharedXWithPoint(secretKey: Uint8Array, point: CurvePoint): Uint8Array {
  assertBytes(secretKey, 32, 'secretKey')
  return xOfProduct(point, secretScalar(secretKey))
}

function compressedEvenY(peerPubkey: string): Uint8Array {
  const compressed = new Uint8Array(33)
  compressed[0] = 0x02 // x-only keys name the even-y point
  compressed.set(hexToBytes(peerPubkey, 'peerPubkey', 32), 1)
  return compressed
}

/** The secret key as a scalar in [1, n), as `isValidSecretKey` accepts it. */
function secretScalar(secretKey: Uint8Array): bigint {
  const { Fn } = schnorr.Point
  let scalar: bigint | undefined
  try {
    scalar = Fn.fromBytes(secretKey) // throws for values ≥ n
  } catch {
    // reported below
  }
  if (scalar === undefined || !Fn.isValidNot0(scalar)) {
    throw new CryptoError('INVALID_KEY', 'Secret key is not a valid secp256k1 scalar')
  }
  return scalar
}

/** Decodes a compressed point: x < p and x³ + 7 a square (the point is on the curve). */
function decodePoint(compressed: Uint8Array): CurvePoint {
  try {
    return schnorr.Point.fromBytes(compressed)
  } catch (cause) {
    throw new CryptoError('INVALID_KEY', 'Peer public key is not a point on secp256k1', { cause })
  }
}

/** The x coordinate of `scalar · point`, by noble's constant-time multiplication. */
function xOfProduct(point: CurvePoint, scalar: bigint): Uint8Array {
  const shared = point.multiply(scalar).toBytes(true)
  const x = shared.slice(1, 33)
  wipe(shared)
  return x
}
