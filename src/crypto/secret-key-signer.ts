/**
 * A {@link Signer} that holds a secret key in memory: signs (NIP-01), encrypts and decrypts with
 * NIP-04 and NIP-44, and exports the key only as a NIP-49 `ncryptsec`.
 *
 * The signer keeps its own copy of the key in a closure (no property, getter or `toJSON` reveals it)
 * and wipes it on `close()`, together with the NIP-44 conversation keys it has cached.
 *
 * @see https://github.com/nostr-protocol/nips/blob/master/01.md
 * @see https://github.com/nostr-protocol/nips/blob/master/44.md
 * @see https://github.com/nostr-protocol/nips/blob/master/49.md
 * @module
 */
import { CryptoError } from '../errors.js'
import { assertBytes, wipe } from './bytes.js'
import type { EventTemplate, NostrEvent } from './event.js'
import { getPublicKey } from './keys.js'
import * as nip04 from './nip04.js'
import * as nip44 from './nip44.js'
import * as nip49 from './nip49.js'
import { finalizeEvent } from './signature.js'
import type { Signer, SignerCipher } from './signer.js'

/**
 * How many NIP-44 conversation keys a signer keeps. Deriving one is an ECDH (a scalar
 * multiplication), about a hundred times the cost of encrypting a short message with it; a client
 * talks to a handful of peers at a time, so a small cache catches nearly every repeat.
 */
export const CONVERSATION_KEY_CACHE_SIZE = 64

/** A {@link Signer} backed by a secret key held in memory. */
export interface SecretKeySigner extends Signer {
  /**
   * Exports the key encrypted with `passphrase` (NIP-49). The key is read when the call is made, so
   * a `close()` right after does not change the result.
   */
  toNcryptsec(passphrase: string, options?: nip49.EncryptOptions): Promise<string>
  /** Wipes the key and the cached conversation keys; every later call rejects with `SIGNER_CLOSED`. */
  close(): void
}

/**
 * A signer for a secret key. The key is copied: the caller can (and should) wipe its own buffer.
 *
 * @param secretKey - the 32-byte secret key.
 * @returns the signer.
 * @throws TypeError/RangeError when `secretKey` is not 32 bytes; CryptoError `INVALID_KEY` when it
 * is not a valid secp256k1 scalar.
 * @example
 * ```ts
 * import { createSecretKeySigner, generateSecretKey, wipe } from 'nostr-rendezvous/crypto'
 * const sk = generateSecretKey()
 * const signer = createSecretKeySigner(sk)
 * wipe(sk)
 * const event = await signer.signEvent({ kind: 1, content: 'hello' })
 * signer.close()
 * ```
 */
export function createSecretKeySigner(secretKey: Uint8Array): SecretKeySigner {
  assertBytes(secretKey, 32, 'secretKey')
  let key: Uint8Array | undefined = secretKey.slice()
  let pubkey: string
  try {
    pubkey = getPublicKey(key)
  } catch (err) {
    wipe(key)
    throw err
  }
  // Map iteration order is insertion order: re-inserting on use makes the first entry the least
  // recently used one.
  const conversationKeys = new Map<string, Uint8Array>()

  const live = (): Uint8Array => {
    if (!key) throw new CryptoError('SIGNER_CLOSED', 'Signer was closed')
    return key
  }

  const conversationKey = (peerPubkey: string): Uint8Array => {
    const sk = live()
    if (typeof peerPubkey !== 'string') throw new TypeError(`peerPubkey must be a hex string, got ${typeof peerPubkey}`)
    const id = peerPubkey.toLowerCase()
    let ck = conversationKeys.get(id)
    if (ck) {
      conversationKeys.delete(id)
    } else {
      ck = nip44.getConversationKey(sk, id)
      if (conversationKeys.size >= CONVERSATION_KEY_CACHE_SIZE) {
        const [oldestId, oldest] = conversationKeys.entries().next().value as [string, Uint8Array]
        conversationKeys.delete(oldestId)
        wipe(oldest)
      }
    }
    conversationKeys.set(id, ck)
    return ck
  }

  // Every method is async so that all failures, SIGNER_CLOSED included, arrive as rejections.
  const nip04Cipher: SignerCipher = Object.freeze({
    encrypt: async (peerPubkey: string, plaintext: string) => nip04.encrypt(live(), peerPubkey, plaintext),
    decrypt: async (peerPubkey: string, payload: string) => nip04.decrypt(live(), peerPubkey, payload),
  })
  const nip44Cipher: SignerCipher = Object.freeze({
    encrypt: async (peerPubkey: string, plaintext: string) => nip44.encrypt(plaintext, conversationKey(peerPubkey)),
    decrypt: async (peerPubkey: string, payload: string) => nip44.decrypt(payload, conversationKey(peerPubkey)),
  })

  return Object.freeze({
    getPublicKey: async (): Promise<string> => {
      live()
      return pubkey
    },
    signEvent: async (template: EventTemplate): Promise<NostrEvent> => finalizeEvent(template, live()),
    nip04: nip04Cipher,
    nip44: nip44Cipher,
    toNcryptsec: async (passphrase: string, options?: nip49.EncryptOptions): Promise<string> =>
      nip49.encrypt(live(), passphrase, options),
    close: (): void => {
      wipe(key)
      key = undefined
      for (const ck of conversationKeys.values()) wipe(ck)
      conversationKeys.clear()
    },
  })
}

/**
 * A signer for the key inside a NIP-49 `ncryptsec`. The decrypted bytes are wiped once the signer
 * has its own copy.
 *
 * @param ncryptsec - the `ncryptsec1…` string.
 * @param passphrase - its passphrase.
 * @param options - `onProgress` for the scrypt derivation (see `nip49.decrypt`).
 * @returns the signer.
 * @throws CryptoError `NIP49_INVALID` (malformed string), `NIP49_WRONG_PASSPHRASE`, `INVALID_KEY`
 * (the decrypted bytes are not a valid key); TypeError when an argument is not a string.
 * @example
 * ```ts
 * import { secretKeySignerFromNcryptsec } from 'nostr-rendezvous/crypto'
 * const signer = await secretKeySignerFromNcryptsec(storedNcryptsec, passphraseFromUser)
 * ```
 */
export async function secretKeySignerFromNcryptsec(
  ncryptsec: string,
  passphrase: string,
  options?: nip49.DecryptOptions,
): Promise<SecretKeySigner> {
  const secretKey = await nip49.decrypt(ncryptsec, passphrase, options)
  try {
    return createSecretKeySigner(secretKey)
  } finally {
    wipe(secretKey)
  }
}
