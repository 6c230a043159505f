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
import { signTemplateWith } from './signature.js'
import type { Signer, SignerCipher } from './signer.js'

/**
 * How many NIP-44 conversation keys a signer keeps. Deriving one is an ECDH (a scalar
 * multiplication), about a hundred times the cost of encrypting a short message with it; a client
 * talks to a handful of peers at a time, so a small cache catches nearly every repeat.
 *
 * The cache is segmented: a key enters a probation segment of `CONVERSATION_KEY_PROBATION` (16)
 * entries and moves to the protected rest on its second use. Opening gift wraps (NIP-59) derives a
 * key for every wrap's one-time public key, never used again; those only ever churn the probation
 * segment, so a burst of incoming wraps cannot evict the keys of the people one talks to. A
 * conversation of any length derives its key once.
 */
export const CONVERSATION_KEY_CACHE_SIZE = 64
/** Entries of the probation segment (keys used once so far), out of {@link CONVERSATION_KEY_CACHE_SIZE}. */
export const CONVERSATION_KEY_PROBATION = 16

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
  // Two segments, each a Map whose iteration order is recency (re-inserted on use, so the first
  // entry is the least recently used). A key is in at most one of them.
  const probation = new Map<string, Uint8Array>()
  const protectedKeys = new Map<string, Uint8Array>()
  const PROTECTED_SIZE = CONVERSATION_KEY_CACHE_SIZE - CONVERSATION_KEY_PROBATION

  const live = (): Uint8Array => {
    if (!key) throw new CryptoError('SIGNER_CLOSED', 'Signer was closed')
    return key
  }

  /** Removes and returns the least recently used entry of a segment. */
  const oldest = (segment: Map<string, Uint8Array>): [string, Uint8Array] => {
    const entry = segment.entries().next().value as [string, Uint8Array]
    segment.delete(entry[0])
    return entry
  }

  /** Puts a key in probation, wiping the one it pushes out. */
  const admit = (id: string, ck: Uint8Array): void => {
    probation.set(id, ck)
    if (probation.size > CONVERSATION_KEY_PROBATION) wipe(oldest(probation)[1])
  }

  const conversationKey = (peerPubkey: string): Uint8Array => {
    const sk = live()
    if (typeof peerPubkey !== 'string') throw new TypeError(`peerPubkey must be a hex string, got ${typeof peerPubkey}`)
    const id = peerPubkey.toLowerCase()
    let ck = protectedKeys.get(id)
    if (ck) {
      protectedKeys.delete(id)
      protectedKeys.set(id, ck)
      return ck
    }
    ck = probation.get(id)
    if (ck) {
      // Second use: promote. A protected key pushed out gets another chance in probation.
      probation.delete(id)
      protectedKeys.set(id, ck)
      if (protectedKeys.size > PROTECTED_SIZE) admit(...oldest(protectedKeys))
      return ck
    }
    ck = nip44.getConversationKey(sk, id)
    admit(id, ck)
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
    // finalizeEvent, minus its getPublicKey: the signer knows its public key (a base-point
    // multiplication saved per event, about a fifth of a signature).
    signEvent: async (template: EventTemplate): Promise<NostrEvent> => signTemplateWith(template, live(), pubkey),
    nip04: nip04Cipher,
    nip44: nip44Cipher,
    toNcryptsec: async (passphrase: string, options?: nip49.EncryptOptions): Promise<string> =>
      nip49.encrypt(live(), passphrase, options),
    close: (): void => {
      wipe(key)
      key = undefined
      for (const segment of [probation, protectedKeys]) {
        for (const ck of segment.values()) wipe(ck)
        segment.clear()
      }
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
