/**
 * NIP-49: a secret key encrypted with a passphrase, as an `ncryptsec` bech32 string.
 *
 * Layout before bech32 (91 bytes): version `0x02`, `log_n`, 16-byte salt, 24-byte nonce, the
 * key-security byte, 48-byte XChaCha20-Poly1305 ciphertext (32-byte key + 16-byte tag). The
 * symmetric key is `scrypt(NFKC(passphrase), salt, N = 2^log_n, r = 8, p = 1, dkLen = 32)` and the
 * key-security byte is the AEAD's associated data, so it cannot be changed without detection.
 *
 * scrypt runs through `scryptAsync`, which yields to the event loop every few milliseconds: at the
 * default `log_n` of 16 a derivation takes a few hundred milliseconds and 64 MiB, and a UI must keep
 * painting meanwhile. The derived key, the passphrase bytes and the copy of the secret key taken by
 * {@link encrypt} are wiped once used. JavaScript strings cannot be wiped: the passphrase string
 * itself lives until the engine collects it.
 *
 * @see https://github.com/nostr-protocol/nips/blob/master/49.md
 * @module
 */
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js'
import { scryptAsync } from '@noble/hashes/scrypt.js'
import { bech32 } from '@scure/base'
import { CryptoError } from '../errors.js'
import { assertBytes, randomBytes, utf8Encoder, wipe } from './bytes.js'
import { getPublicKey } from './keys.js'

/** The only version NIP-49 defines. */
export const VERSION = 2
/** `log_n` used by {@link encrypt} when none is given (64 MiB, roughly 0.1–0.5 s). */
export const DEFAULT_LOG_N = 16
/**
 * Largest `log_n` accepted. 22 already needs 4 GiB; anything above is refused up front instead of
 * trying to allocate 8 GiB or more and hanging or crashing the tab.
 */
export const MAX_LOG_N = 22

/**
 * How the key was handled before it was encrypted: `0` known to have been handled insecurely
 * (stored or pasted unencrypted), `1` not known to have been, `2` the client does not track this.
 */
export type KeySecurity = 0 | 1 | 2

/** Options for {@link encrypt}. */
export interface EncryptOptions {
  /**
   * scrypt cost as a power of two, 1 to {@link MAX_LOG_N}. Memory is `2^logN` KiB.
   * @default 16
   */
  logN?: number
  /**
   * The key-security byte.
   * @default 2
   */
  keySecurity?: KeySecurity
  /** Called with the fraction done (0 to 1) while scrypt runs. An error it throws aborts and is rethrown as is. */
  onProgress?: (fraction: number) => void
}

/** Options for {@link decrypt}. */
export interface DecryptOptions {
  /** Called with the fraction done (0 to 1) while scrypt runs. An error it throws aborts and is rethrown as is. */
  onProgress?: (fraction: number) => void
}

/** What {@link inspect} reads from an `ncryptsec` without decrypting it. */
export interface NcryptsecInfo {
  /** Always 2 (other versions are rejected). */
  version: number
  /** scrypt cost: decryption needs `2^logN` KiB of memory and time to match. */
  logN: number
  /** How the key was handled before encryption (see {@link KeySecurity}). */
  keySecurity: KeySecurity
}

const PREFIX = 'ncryptsec'
const SALT_LENGTH = 16
const NONCE_LENGTH = 24
const CIPHERTEXT_LENGTH = 48
const SALT_OFFSET = 2
const NONCE_OFFSET = SALT_OFFSET + SALT_LENGTH
const KEY_SECURITY_OFFSET = NONCE_OFFSET + NONCE_LENGTH
const CIPHERTEXT_OFFSET = KEY_SECURITY_OFFSET + 1
const TOTAL_LENGTH = CIPHERTEXT_OFFSET + CIPHERTEXT_LENGTH
// 91 bytes are 146 five-bit words: with the prefix and checksum the string is 162 characters,
// over BIP-173's 90-character limit, so the decoder is given a limit that fits exactly this size.
const BECH32_LIMIT = PREFIX.length + 1 + Math.ceil((TOTAL_LENGTH * 8) / 5) + 6
// Yield to the event loop at least every 10 ms of scrypt work: short enough that a UI keeps
// animating, long enough that the setTimeout(0) between slices costs little.
const ASYNC_TICK_MS = 10

/** The fields of a decoded `ncryptsec`. */
interface Decoded extends NcryptsecInfo {
  salt: Uint8Array
  nonce: Uint8Array
  ciphertext: Uint8Array
}

/**
 * Encrypts a secret key with a passphrase into an `ncryptsec` string.
 *
 * The key is copied when the call is made (the copy is wiped when done), so the caller may wipe
 * its own buffer as soon as this returns its promise.
 *
 * @param secretKey - the 32-byte secret key.
 * @param passphrase - the passphrase; NFKC-normalised before use so it can be typed again elsewhere.
 * @param options - `logN` (default 16), `keySecurity` (default 2), `onProgress`.
 * @returns the `ncryptsec1…` string.
 * @throws TypeError/RangeError for a key of the wrong type or length, a passphrase that is not a
 * string, or an out-of-range `logN`/`keySecurity`; CryptoError `INVALID_KEY` when the key is not a
 * valid secp256k1 scalar; CryptoError `NIP49_KDF_FAILED` when scrypt cannot run (out of memory).
 * @example
 * ```ts
 * import { generateSecretKey, nip49 } from 'nostr-rendezvous/crypto'
 * const ncryptsec = await nip49.encrypt(generateSecretKey(), 'correct horse battery staple')
 * ```
 */
export async function encrypt(
  secretKey: Uint8Array,
  passphrase: string,
  options: EncryptOptions = {},
): Promise<string> {
  assertBytes(secretKey, 32, 'secretKey')
  assertPassphrase(passphrase)
  const logN = options.logN ?? DEFAULT_LOG_N
  const keySecurity = options.keySecurity ?? 2
  if (!Number.isInteger(logN) || logN < 1 || logN > MAX_LOG_N) {
    throw new RangeError(`options.logN must be an integer from 1 to ${MAX_LOG_N}, got ${String(logN)}`)
  }
  if (keySecurity !== 0 && keySecurity !== 1 && keySecurity !== 2) {
    throw new RangeError(`options.keySecurity must be 0, 1 or 2, got ${String(keySecurity)}`)
  }
  getPublicKey(secretKey) // throws INVALID_KEY: an ncryptsec of a non-key would fail much later
  const plaintext = secretKey.slice()
  try {
    const salt = randomBytes(SALT_LENGTH)
    const nonce = randomBytes(NONCE_LENGTH)
    const aad = Uint8Array.of(keySecurity)
    const key = await deriveKey(passphrase, salt, logN, options.onProgress)
    let ciphertext: Uint8Array
    try {
      ciphertext = xchacha20poly1305(key, nonce, aad).encrypt(plaintext)
    } finally {
      wipe(key)
    }
    const out = new Uint8Array(TOTAL_LENGTH)
    out[0] = VERSION
    out[1] = logN
    out.set(salt, SALT_OFFSET)
    out.set(nonce, NONCE_OFFSET)
    out[KEY_SECURITY_OFFSET] = keySecurity
    out.set(ciphertext, CIPHERTEXT_OFFSET)
    return bech32.encode(PREFIX, bech32.toWords(out), BECH32_LIMIT)
  } finally {
    wipe(plaintext)
  }
}

/**
 * Decrypts an `ncryptsec` string with its passphrase.
 *
 * @param ncryptsec - the `ncryptsec1…` string (surrounding whitespace is ignored).
 * @param passphrase - the passphrase (NFKC-normalised before use).
 * @param options - `onProgress`.
 * @returns the 32-byte secret key. Wipe it (`wipe(sk)`) when done.
 * @throws TypeError when an argument is not a string; CryptoError `NIP49_INVALID` for a malformed
 * string (bad bech32, wrong prefix or length, unknown version or key-security byte, `log_n` outside
 * 1..22); `NIP49_KDF_FAILED` when scrypt cannot run (out of memory); `NIP49_WRONG_PASSPHRASE` when
 * authentication fails (wrong passphrase, or a corrupted string that still has a valid checksum).
 * @example
 * ```ts
 * import { nip49, wipe } from 'nostr-rendezvous/crypto'
 * const sk = await nip49.decrypt('ncryptsec1qgg9947rlpvqu76pj5ecreduf9…', 'nostr')
 * // …use sk…
 * wipe(sk)
 * ```
 */
export async function decrypt(
  ncryptsec: string,
  passphrase: string,
  options: DecryptOptions = {},
): Promise<Uint8Array> {
  const decoded = decode(ncryptsec)
  assertPassphrase(passphrase)
  const key = await deriveKey(passphrase, decoded.salt, decoded.logN, options.onProgress)
  try {
    return xchacha20poly1305(key, decoded.nonce, Uint8Array.of(decoded.keySecurity)).decrypt(decoded.ciphertext)
  } catch (cause) {
    throw new CryptoError('NIP49_WRONG_PASSPHRASE', 'Wrong passphrase or corrupted ncryptsec', { cause })
  } finally {
    wipe(key)
  }
}

/**
 * Reads the version, scrypt cost and key-security byte of an `ncryptsec` without decrypting it,
 * e.g. to warn "this will take a while" before a high `logN`.
 *
 * @param ncryptsec - the `ncryptsec1…` string.
 * @returns `{ version, logN, keySecurity }`.
 * @throws TypeError when not a string; CryptoError `NIP49_INVALID` when malformed (same checks as
 * {@link decrypt}).
 * @example
 * ```ts
 * import { nip49 } from 'nostr-rendezvous/crypto'
 * const { logN } = nip49.inspect(ncryptsec)
 * if (logN > 18) showSlowWarning()
 * ```
 */
export function inspect(ncryptsec: string): NcryptsecInfo {
  const { version, logN, keySecurity } = decode(ncryptsec)
  return { version, logN, keySecurity }
}

function assertPassphrase(passphrase: unknown): asserts passphrase is string {
  if (typeof passphrase !== 'string') throw new TypeError(`passphrase must be a string, got ${typeof passphrase}`)
}

function invalid(details: string, cause?: unknown): CryptoError {
  return new CryptoError('NIP49_INVALID', 'Malformed ncryptsec', { details, cause })
}

/** Parses and range-checks every field; nothing here costs more than the string's length. */
function decode(ncryptsec: string): Decoded {
  if (typeof ncryptsec !== 'string') throw new TypeError(`ncryptsec must be a string, got ${typeof ncryptsec}`)
  let bytes: Uint8Array
  try {
    const { prefix, words } = bech32.decode(ncryptsec.trim(), BECH32_LIMIT)
    if (prefix !== PREFIX) throw invalid(`prefix must be '${PREFIX}', got '${prefix}'`)
    bytes = bech32.fromWords(words)
  } catch (err) {
    if (err instanceof CryptoError) throw err
    // No cause: @scure/base quotes the whole input in its message, and a mistyped nsec or an
    // ncryptsec must never end up in an error log.
    throw invalid('not valid bech32 (bad characters, case or checksum)')
  }
  if (bytes.length !== TOTAL_LENGTH) throw invalid(`must be ${TOTAL_LENGTH} bytes, got ${bytes.length}`)
  const version = bytes[0]!
  const logN = bytes[1]!
  const keySecurity = bytes[KEY_SECURITY_OFFSET]!
  if (version !== VERSION) throw invalid(`unknown version ${version}`)
  if (logN < 1 || logN > MAX_LOG_N) throw invalid(`log_n ${logN} is outside 1..${MAX_LOG_N}`)
  if (keySecurity !== 0 && keySecurity !== 1 && keySecurity !== 2) {
    throw invalid(`unknown key-security byte ${keySecurity}`)
  }
  return {
    version,
    logN,
    keySecurity,
    salt: bytes.subarray(SALT_OFFSET, NONCE_OFFSET),
    nonce: bytes.subarray(NONCE_OFFSET, KEY_SECURITY_OFFSET),
    ciphertext: bytes.subarray(CIPHERTEXT_OFFSET),
  }
}

/**
 * scrypt(NFKC(passphrase)) → 32-byte key. The passphrase bytes are wiped afterwards; the caller
 * wipes the key.
 */
async function deriveKey(
  passphrase: string,
  salt: Uint8Array,
  logN: number,
  onProgress: ((fraction: number) => void) | undefined,
): Promise<Uint8Array> {
  const N = 2 ** logN
  const password = utf8Encoder.encode(passphrase.normalize('NFKC'))
  let callbackError: { error: unknown } | undefined
  const progress =
    onProgress &&
    ((fraction: number): void => {
      try {
        onProgress(fraction)
      } catch (error) {
        callbackError = { error }
        throw error
      }
    })
  try {
    return await scryptAsync(password, salt, {
      N,
      r: 8,
      p: 1,
      dkLen: 32,
      asyncTick: ASYNC_TICK_MS,
      // noble's default cap is 1 GiB; state the exact need (128·r·(N + p + 1) bytes) so 21 and 22 run.
      maxmem: 1024 * (N + 2),
      ...(progress ? { onProgress: progress } : {}),
    })
  } catch (cause) {
    if (callbackError) throw callbackError.error
    throw new CryptoError('NIP49_KDF_FAILED', 'Key derivation failed', {
      details: `log_n ${logN} needs about ${Math.max(1, 2 ** (logN - 10))} MiB`,
      cause,
    })
  } finally {
    wipe(password)
  }
}
