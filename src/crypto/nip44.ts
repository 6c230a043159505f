/**
 * NIP-44 version 2 encrypted payloads: secp256k1 ECDH, HKDF-SHA256, length-hiding padding,
 * ChaCha20 and HMAC-SHA256, base64.
 *
 * Follows the current text of [NIP-44](https://github.com/nostr-protocol/nips/blob/master/44.md),
 * including the extended length prefix: plaintexts of 1 to 4,294,967,295 bytes, where lengths of
 * 65,536 and above carry a 6-byte prefix (`[0, 0]` then a big-endian u32) instead of the u16 one.
 * Payloads made by implementations that predate the extension (plaintexts below 65,536 bytes) are
 * byte-for-byte the same.
 *
 * A payload is only authenticated against the conversation key: the event carrying it must be
 * signed and verified (NIP-01) before it is decrypted.
 *
 * @example
 * ```ts
 * import { generateSecretKey, getPublicKey, nip44 } from 'nostr-rendezvous/crypto'
 * const alice = generateSecretKey()
 * const bob = generateSecretKey()
 * const payload = nip44.encrypt('hi bob', nip44.getConversationKey(alice, getPublicKey(bob)))
 * nip44.decrypt(payload, nip44.getConversationKey(bob, getPublicKey(alice))) // 'hi bob'
 * ```
 *
 * @module
 */
import { chacha20 } from '@noble/ciphers/chacha.js'
import { expand, extract } from '@noble/hashes/hkdf.js'
import { hmac } from '@noble/hashes/hmac.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { base64 } from '@scure/base'
import { CryptoError } from '../errors.js'
import { assertBytes, equalBytes, randomBytes, utf8Encoder, utf8StrictDecoder, wipe } from './bytes.js'
import { type CurvePoint, evenYPoint, sharedX, sharedXWithPoint } from './ecdh.js'

const VERSION = 2
/** Smallest plaintext, in bytes. */
export const MIN_PLAINTEXT_SIZE = 1
/** Largest plaintext, in bytes (2^32 - 1). */
export const MAX_PLAINTEXT_SIZE = 0xffffffff
/** Plaintexts at least this long (bytes) use the 6-byte extended length prefix. */
export const EXTENDED_PREFIX_THRESHOLD = 0x10000

const NONCE_LEN = 32
const MAC_LEN = 32
const KEY_LEN = 32
// version + nonce + u16 prefix + 32 padded bytes + mac
const MIN_RAW_LEN = 1 + NONCE_LEN + 2 + 32 + MAC_LEN
// version + nonce + extended prefix + the largest padded length (2^32) + mac = 2^32 + 71
const MAX_RAW_LEN = 4_294_967_367
const MIN_PAYLOAD_CHARS = 132
// Padded base64 of MAX_RAW_LEN bytes: 4 * ceil(MAX_RAW_LEN / 3). No JS engine holds a string this
// long today, but the bound is the spec's, not an engine's.
const MAX_PAYLOAD_CHARS = 5_726_623_156
const SALT = /* @__PURE__ */ utf8Encoder.encode('nip44-v2')

/** The three per-message keys derived from a conversation key and a nonce. */
export interface MessageKeys {
  /** ChaCha20 key, 32 bytes. */
  chachaKey: Uint8Array
  /** ChaCha20 nonce, 12 bytes. */
  chachaNonce: Uint8Array
  /** HMAC-SHA256 key, 32 bytes. */
  hmacKey: Uint8Array
}

/**
 * The conversation key between a secret key and a peer's public key: HKDF-extract (SHA-256, salt
 * `nip44-v2`) of the unhashed x coordinate of the ECDH point. Symmetric:
 * `getConversationKey(a, B) == getConversationKey(b, A)`. Worth caching per peer: it costs a scalar
 * multiplication, everything else in NIP-44 is cheap (a signer caches it; see
 * `createSecretKeySigner`).
 *
 * A peer met again and again — the recipient of every gift wrap in a conversation, each wrapped
 * with a fresh one-time key — gets its point's multiples precomputed from its third derivation on,
 * which makes the next derivations about five times faster (still constant time in the secret
 * key). Only public data is kept: the tables of the {@link PRECOMPUTED_PEERS} most recent such
 * peers, about 150 KB each.
 *
 * @param secretKey - our 32-byte secret key.
 * @param peerPubkey - the peer's x-only public key, 64 hex characters.
 * @returns the 32-byte conversation key (secret: wipe it when done).
 * @throws TypeError/RangeError for a wrong type or length; CryptoError `INVALID_KEY` when the secret
 * key is not a valid scalar or the public key is not a point on secp256k1.
 * @example
 * ```ts
 * import { generateSecretKey, getPublicKey, nip44 } from 'nostr-rendezvous/crypto'
 * const ck = nip44.getConversationKey(generateSecretKey(), getPublicKey(generateSecretKey()))
 * ck.length // 32
 * ```
 */
export function getConversationKey(secretKey: Uint8Array, peerPubkey: string): Uint8Array {
  const peer = frequentPeers.get(peerPubkey)
  const x = peer?.point ? sharedXWithPoint(secretKey, peer.point) : sharedX(secretKey, peerPubkey)
  // Only keys that just worked are counted, so the map never holds an invalid one.
  notePeer(peerPubkey, peer)
  try {
    return extract(sha256, x, SALT)
  } finally {
    wipe(x)
  }
}

/** How many peers keep a precomputed point (about 150 KB each). */
export const PRECOMPUTED_PEERS = 8
/** Derivations with a peer before its point is precomputed: building the table costs about three. */
const PRECOMPUTE_AFTER = 2
/** Peers counted (recent first); a few hundred bytes each without a table. */
const COUNTED_PEERS = 64

interface FrequentPeer {
  uses: number
  point?: CurvePoint
}
// Public data only (peer keys and multiples of their points), so a module-level cache is safe to
// share between every caller; Map order is recency (re-inserted on use).
const frequentPeers = /* @__PURE__ */ new Map<string, FrequentPeer>()

function notePeer(pubkey: string, known: FrequentPeer | undefined): void {
  const peer = known ?? { uses: 0 }
  frequentPeers.delete(pubkey)
  frequentPeers.set(pubkey, peer)
  peer.uses++
  if (peer.point === undefined && peer.uses > PRECOMPUTE_AFTER) {
    // Window 4: a 17 ms table, built at the next multiplication, then ~1 ms per multiplication
    // (wider windows cost more to build and gain little).
    peer.point = evenYPoint(pubkey).precompute(4, true)
    let tables = 0
    for (const other of [...frequentPeers.values()].reverse()) {
      if (other.point !== undefined && ++tables > PRECOMPUTED_PEERS) other.point = undefined
    }
  }
  if (frequentPeers.size > COUNTED_PEERS) frequentPeers.delete(frequentPeers.keys().next().value!)
}

/**
 * The per-message ChaCha20 key and nonce and HMAC key: HKDF-expand (SHA-256) of the conversation
 * key with the nonce as info, 76 bytes split 32/12/32.
 *
 * @param conversationKey - 32 bytes from {@link getConversationKey}.
 * @param nonce - the message's 32-byte nonce.
 * @returns the three keys (views into one fresh buffer).
 * @throws TypeError/RangeError when either argument is not 32 bytes.
 * @example
 * ```ts
 * import { nip44 } from 'nostr-rendezvous/crypto'
 * const { chachaKey, chachaNonce, hmacKey } = nip44.getMessageKeys(new Uint8Array(32), new Uint8Array(32))
 * chachaNonce.length // 12
 * ```
 */
export function getMessageKeys(conversationKey: Uint8Array, nonce: Uint8Array): MessageKeys {
  assertBytes(conversationKey, KEY_LEN, 'conversationKey')
  assertBytes(nonce, NONCE_LEN, 'nonce')
  return splitKeys(expand(sha256, conversationKey, nonce, 76))
}

/**
 * The padded length of a plaintext of `len` bytes (without the length prefix): 32 up to 32 bytes,
 * then multiples of a chunk that grows with the next power of two (1/8 of it above 256), so
 * only a coarse size leaks.
 *
 * @param len - plaintext length in bytes, 1 to 2^32 - 1.
 * @returns the padded length (up to 2^32).
 * @throws RangeError when `len` is not an integer in range.
 * @example
 * ```ts
 * import { nip44 } from 'nostr-rendezvous/crypto'
 * nip44.calcPaddedLen(33) // 64
 * nip44.calcPaddedLen(65537) // 81920
 * ```
 */
export function calcPaddedLen(len: number): number {
  if (!Number.isSafeInteger(len) || len < MIN_PLAINTEXT_SIZE || len > MAX_PLAINTEXT_SIZE) {
    throw new RangeError(`len must be an integer from ${MIN_PLAINTEXT_SIZE} to ${MAX_PLAINTEXT_SIZE}, got ${len}`)
  }
  if (len <= 32) return 32
  // Integer bit length instead of floor(log2(len - 1)) + 1: no float rounding near 2^32.
  const nextPower = 2 ** (32 - Math.clz32(len - 1))
  const chunk = nextPower <= 256 ? 32 : nextPower / 8
  return chunk * (Math.floor((len - 1) / chunk) + 1)
}

/**
 * Encrypts a string (UTF-8 encoded) with a conversation key.
 *
 * @param plaintext - the text; lone UTF-16 surrogates are encoded as U+FFFD, like `TextEncoder`.
 * @param conversationKey - 32 bytes from {@link getConversationKey}.
 * @param nonce - 32 bytes; random by default. Pass one only for tests: reusing a nonce with the same
 * conversation key makes both messages decryptable.
 * @returns the base64 payload.
 * @throws TypeError/RangeError for wrong argument types or lengths; CryptoError `NIP44_INVALID_LENGTH`
 * when the plaintext is empty or longer than 2^32 - 1 bytes.
 * @example
 * ```ts
 * import { nip44 } from 'nostr-rendezvous/crypto'
 * const payload = nip44.encrypt('hello', conversationKey)
 * ```
 */
export function encrypt(plaintext: string, conversationKey: Uint8Array, nonce?: Uint8Array): string {
  if (typeof plaintext !== 'string') throw new TypeError(`plaintext must be a string, got ${typeof plaintext}`)
  return encryptBytes(utf8Encoder.encode(plaintext), conversationKey, nonce)
}

/**
 * Encrypts raw bytes with a conversation key (for content that is not text).
 *
 * @param plaintext - 1 to 2^32 - 1 bytes (not modified).
 * @param conversationKey - 32 bytes from {@link getConversationKey}.
 * @param nonce - 32 bytes; random by default. Never reuse one with the same conversation key.
 * @returns the base64 payload.
 * @throws TypeError/RangeError for wrong argument types or lengths; CryptoError `NIP44_INVALID_LENGTH`
 * when the plaintext is empty or too long.
 * @example
 * ```ts
 * import { nip44 } from 'nostr-rendezvous/crypto'
 * const payload = nip44.encryptBytes(new Uint8Array([1, 2, 3]), conversationKey)
 * ```
 */
export function encryptBytes(plaintext: Uint8Array, conversationKey: Uint8Array, nonce?: Uint8Array): string {
  assertBytes(plaintext, undefined, 'plaintext')
  assertBytes(conversationKey, KEY_LEN, 'conversationKey')
  const n = nonce === undefined ? randomBytes(NONCE_LEN) : assertBytes(nonce, NONCE_LEN, 'nonce')
  const len = plaintext.length
  if (len < MIN_PLAINTEXT_SIZE || len > MAX_PLAINTEXT_SIZE) {
    throw new CryptoError('NIP44_INVALID_LENGTH', 'Plaintext must be 1 to 4294967295 bytes', {
      details: `got ${len} bytes`,
    })
  }
  const prefixLen = len >= EXTENDED_PREFIX_THRESHOLD ? 6 : 2
  const ctLen = prefixLen + calcPaddedLen(len)
  // One buffer for the whole payload: padding, encryption and the MAC all work in place, so a
  // message is copied once (plaintext in) before base64.
  const raw = new Uint8Array(1 + NONCE_LEN + ctLen + MAC_LEN)
  raw[0] = VERSION
  raw.set(n, 1)
  const body = raw.subarray(1 + NONCE_LEN, 1 + NONCE_LEN + ctLen)
  writeLengthPrefix(body, len, prefixLen)
  body.set(plaintext, prefixLen)
  const okm = expand(sha256, conversationKey, n, 76)
  try {
    const { chachaKey, chachaNonce, hmacKey } = splitKeys(okm)
    chacha20(chachaKey, chachaNonce, body, body)
    // The MAC covers nonce || ciphertext, which sit next to each other in `raw`.
    raw.set(hmac(sha256, hmacKey, raw.subarray(1, 1 + NONCE_LEN + ctLen)), 1 + NONCE_LEN + ctLen)
  } finally {
    wipe(okm)
  }
  return base64.encode(raw)
}

/**
 * Decrypts a payload to a string.
 *
 * @param payload - the base64 payload (an event's `content`, after the event was verified).
 * @param conversationKey - 32 bytes from {@link getConversationKey}.
 * @returns the plaintext.
 * @throws TypeError/RangeError for wrong argument types or lengths; CryptoError with code
 * `NIP44_UNKNOWN_VERSION` (a `#` prefix or a version byte other than 2), `NIP44_INVALID_PAYLOAD`
 * (bad length or base64, or plaintext that is not UTF-8), `NIP44_INVALID_MAC` (wrong key or
 * tampered payload), `NIP44_INVALID_PADDING` (authentic but malformed padding).
 * @example
 * ```ts
 * import { nip44 } from 'nostr-rendezvous/crypto'
 * nip44.decrypt(nip44.encrypt('hello', conversationKey), conversationKey) // 'hello'
 * ```
 */
export function decrypt(payload: string, conversationKey: Uint8Array): string {
  const bytes = decryptBytes(payload, conversationKey)
  try {
    return utf8StrictDecoder.decode(bytes)
  } catch (cause) {
    throw new CryptoError('NIP44_INVALID_PAYLOAD', 'Decrypted plaintext is not valid UTF-8', { cause })
  } finally {
    wipe(bytes)
  }
}

/**
 * Decrypts a payload to raw bytes (no UTF-8 decoding).
 *
 * @param payload - the base64 payload.
 * @param conversationKey - 32 bytes from {@link getConversationKey}.
 * @returns the plaintext bytes: a view into a fresh buffer that only the caller holds.
 * @throws TypeError/RangeError for wrong argument types or lengths; CryptoError codes as for
 * {@link decrypt}, except that any bytes are accepted.
 * @example
 * ```ts
 * import { nip44 } from 'nostr-rendezvous/crypto'
 * nip44.decryptBytes(nip44.encryptBytes(new Uint8Array([7]), conversationKey), conversationKey) // [7]
 * ```
 */
export function decryptBytes(payload: string, conversationKey: Uint8Array): Uint8Array {
  if (typeof payload !== 'string') throw new TypeError(`payload must be a string, got ${typeof payload}`)
  assertBytes(conversationKey, KEY_LEN, 'conversationKey')
  const raw = decodePayload(payload)
  const macStart = raw.length - MAC_LEN
  const nonce = raw.subarray(1, 1 + NONCE_LEN)
  const okm = expand(sha256, conversationKey, nonce, 76)
  try {
    const { chachaKey, chachaNonce, hmacKey } = splitKeys(okm)
    const mac = hmac(sha256, hmacKey, raw.subarray(1, macStart))
    if (!equalBytes(mac, raw.subarray(macStart))) {
      throw new CryptoError('NIP44_INVALID_MAC', 'Payload MAC does not match (wrong key or tampered payload)')
    }
    // `raw` is ours (fresh from base64), so decrypting in place saves a copy.
    const body = raw.subarray(1 + NONCE_LEN, macStart)
    chacha20(chachaKey, chachaNonce, body, body)
    return unpad(body)
  } finally {
    wipe(okm)
  }
}

/** Bytes of a payload, checked for length and version before any key work. */
function decodePayload(payload: string): Uint8Array {
  const plen = payload.length
  if (plen === 0) throw new CryptoError('NIP44_INVALID_PAYLOAD', 'Payload is empty')
  // '#' is reserved for a future non-base64 encoding: report the version, not bad base64.
  if (payload[0] === '#') throw new CryptoError('NIP44_UNKNOWN_VERSION', 'Unknown NIP-44 encoding (#)')
  // Length bounds first, so a huge or tiny string never reaches the base64 decoder.
  if (plen < MIN_PAYLOAD_CHARS || plen > MAX_PAYLOAD_CHARS) {
    throw new CryptoError('NIP44_INVALID_PAYLOAD', 'Payload has an impossible length', {
      details: `${plen} characters`,
    })
  }
  let raw: Uint8Array
  try {
    raw = base64.decode(payload)
  } catch (cause) {
    throw new CryptoError('NIP44_INVALID_PAYLOAD', 'Payload is not valid base64', { cause })
  }
  if (raw.length < MIN_RAW_LEN || raw.length > MAX_RAW_LEN) {
    throw new CryptoError('NIP44_INVALID_PAYLOAD', 'Decoded payload has an impossible length', {
      details: `${raw.length} bytes`,
    })
  }
  if (raw[0] !== VERSION) {
    throw new CryptoError('NIP44_UNKNOWN_VERSION', 'Unknown NIP-44 version', { details: `version ${raw[0]}` })
  }
  return raw
}

/** The plaintext inside a decrypted, padded body (a view into it). */
function unpad(padded: Uint8Array): Uint8Array {
  // A decoded payload of at least MIN_RAW_LEN bytes leaves at least 34 bytes here.
  const u16 = (padded[0]! << 8) | padded[1]!
  let len: number
  let prefixLen: number
  if (u16 === 0) {
    len = padded[2]! * 0x1000000 + ((padded[3]! << 16) | (padded[4]! << 8) | padded[5]!)
    // Short lengths must use the u16 form, so each plaintext has exactly one encoding.
    if (len < EXTENDED_PREFIX_THRESHOLD) throw invalidPadding('extended prefix holds a short length')
    prefixLen = 6
  } else {
    len = u16
    prefixLen = 2
  }
  if (padded.length !== prefixLen + calcPaddedLen(len)) throw invalidPadding('length does not match padding')
  return padded.subarray(prefixLen, prefixLen + len)
}

function invalidPadding(details: string): CryptoError {
  return new CryptoError('NIP44_INVALID_PADDING', 'Decrypted payload has invalid padding', { details })
}

function writeLengthPrefix(body: Uint8Array, len: number, prefixLen: number): void {
  if (prefixLen === 2) {
    body[0] = len >>> 8
    body[1] = len & 0xff
    return
  }
  // body[0] and body[1] stay zero: that marks the extended form.
  body[2] = len >>> 24
  body[3] = (len >>> 16) & 0xff
  body[4] = (len >>> 8) & 0xff
  body[5] = len & 0xff
}

function splitKeys(okm: Uint8Array): MessageKeys {
  return { chachaKey: okm.subarray(0, 32), chachaNonce: okm.subarray(32, 44), hmacKey: okm.subarray(44, 76) }
}

