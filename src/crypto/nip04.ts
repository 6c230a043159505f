/**
 * NIP-04 encrypted direct messages (legacy): AES-256-CBC keyed with the unhashed x coordinate of the
 * secp256k1 ECDH point, payload `base64(ciphertext) + "?iv=" + base64(iv)`.
 *
 * [NIP-04](https://github.com/nostr-protocol/nips/blob/master/04.md) is deprecated in favour of
 * NIP-17 (NIP-44 inside NIP-59 gift wraps). Use this module to read old kind 4 messages, and encrypt
 * with it only when a user or a peer explicitly asks for NIP-04. It leaks metadata (sender,
 * recipient and time are public in the event), has no authentication of its own (CBC without a
 * MAC: only the event signature protects the payload), and reveals the message length to the
 * nearest 16 bytes.
 *
 * @example
 * ```ts
 * import { generateSecretKey, getPublicKey, nip04 } from 'nostr-rendezvous/crypto'
 * const alice = generateSecretKey()
 * const bob = generateSecretKey()
 * const content = nip04.encrypt(alice, getPublicKey(bob), 'hi bob')
 * nip04.decrypt(bob, getPublicKey(alice), content) // 'hi bob'
 * ```
 *
 * @module
 */
import { cbc } from '@noble/ciphers/aes.js'
import { base64 } from '@scure/base'
import { CryptoError } from '../errors.js'
import { assertBytes, hexToBytes, randomBytes, utf8Encoder, utf8StrictDecoder, wipe } from './bytes.js'
import { sharedX } from './ecdh.js'

const IV_LEN = 16
const BLOCK_LEN = 16
const IV_SEPARATOR = '?iv='

/**
 * Encrypts `plaintext` for `peerPubkey` (legacy NIP-04; prefer NIP-17 / NIP-44).
 *
 * @param secretKey - our 32-byte secret key.
 * @param peerPubkey - the recipient's x-only public key, 64 hex characters.
 * @param plaintext - the message (UTF-8 encoded; may be empty).
 * @param iv - 16-byte AES-CBC IV; random by default. Pass one only for tests.
 * @returns the event content, `<base64 ciphertext>?iv=<base64 iv>`.
 * @throws TypeError/RangeError for wrong argument types or lengths; CryptoError `INVALID_KEY` when
 * the secret key is not a valid scalar or the public key is not a point on secp256k1.
 * @example
 * ```ts
 * import { nip04 } from 'nostr-rendezvous/crypto'
 * const content = nip04.encrypt(mySecretKey, theirPubkey, 'hello')
 * ```
 */
export function encrypt(secretKey: Uint8Array, peerPubkey: string, plaintext: string, iv?: Uint8Array): string {
  if (typeof plaintext !== 'string') throw new TypeError(`plaintext must be a string, got ${typeof plaintext}`)
  const ivBytes = iv === undefined ? randomBytes(IV_LEN) : assertBytes(iv, IV_LEN, 'iv')
  const key = sharedX(secretKey, peerPubkey)
  let ciphertext: Uint8Array
  try {
    // noble's cbc never writes to the IV and applies PKCS#7 padding by default, as NIP-04 clients expect.
    ciphertext = cbc(key, ivBytes).encrypt(utf8Encoder.encode(plaintext))
  } finally {
    wipe(key)
  }
  return `${base64.encode(ciphertext)}${IV_SEPARATOR}${base64.encode(ivBytes)}`
}

/**
 * Decrypts a NIP-04 payload received from (or sent to) `peerPubkey`.
 *
 * @param secretKey - our 32-byte secret key.
 * @param peerPubkey - the other party's x-only public key, 64 hex characters.
 * @param payload - the event content, `<base64 ciphertext>?iv=<base64 iv>`.
 * @returns the plaintext.
 * @throws TypeError/RangeError for wrong argument types or lengths; CryptoError `NIP04_INVALID_PAYLOAD`
 * when the payload is not in the NIP-04 format (bad base64, IV not 16 bytes, ciphertext not whole
 * blocks); `NIP04_DECRYPT_FAILED` when decryption fails (wrong key: bad padding or not UTF-8);
 * `INVALID_KEY` for an unusable key.
 * @example
 * ```ts
 * import { nip04 } from 'nostr-rendezvous/crypto'
 * const text = nip04.decrypt(mySecretKey, event.pubkey, event.content)
 * ```
 */
export function decrypt(secretKey: Uint8Array, peerPubkey: string, payload: string): string {
  if (typeof payload !== 'string') throw new TypeError(`payload must be a string, got ${typeof payload}`)
  assertBytes(secretKey, 32, 'secretKey')
  hexToBytes(peerPubkey, 'peerPubkey', 32)
  const { ciphertext, iv } = parsePayload(payload)
  const key = sharedX(secretKey, peerPubkey)
  let padded: Uint8Array
  try {
    padded = cbc(key, iv).decrypt(ciphertext)
  } catch (cause) {
    throw new CryptoError('NIP04_DECRYPT_FAILED', 'NIP-04 decryption failed (wrong key or corrupted payload)', {
      cause,
    })
  } finally {
    wipe(key)
  }
  try {
    // A wrong key passes the padding check about once in 256 tries; strict UTF-8 catches most of those.
    return utf8StrictDecoder.decode(padded)
  } catch (cause) {
    throw new CryptoError('NIP04_DECRYPT_FAILED', 'NIP-04 plaintext is not valid UTF-8 (wrong key?)', { cause })
  } finally {
    wipe(padded)
  }
}

function parsePayload(payload: string): { ciphertext: Uint8Array; iv: Uint8Array } {
  const at = payload.indexOf(IV_SEPARATOR)
  if (at < 0 || payload.includes(IV_SEPARATOR, at + 1)) {
    throw invalidPayload('expected exactly one "?iv=" separator')
  }
  const ciphertext = decodeBase64(payload.slice(0, at), 'ciphertext')
  const iv = decodeBase64(payload.slice(at + IV_SEPARATOR.length), 'iv')
  if (iv.length !== IV_LEN) throw invalidPayload(`iv is ${iv.length} bytes, expected ${IV_LEN}`)
  if (ciphertext.length === 0 || ciphertext.length % BLOCK_LEN !== 0) {
    throw invalidPayload(`ciphertext is ${ciphertext.length} bytes, expected whole 16-byte blocks`)
  }
  return { ciphertext, iv }
}

function decodeBase64(text: string, part: string): Uint8Array {
  try {
    return base64.decode(text)
  } catch (cause) {
    throw invalidPayload(`${part} is not valid base64`, cause)
  }
}

function invalidPayload(details: string, cause?: unknown): CryptoError {
  return new CryptoError('NIP04_INVALID_PAYLOAD', 'Not a NIP-04 payload', { details, cause })
}

