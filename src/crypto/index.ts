/**
 * The crypto layer: events, keys, signatures, NIP-19/21 encodings, NIP-04/44 encryption, NIP-59 gift
 * wraps and NIP-17 messages, NIP-13 proof of work, NIP-49 encrypted keys, NIP-57 zap requests and
 * receipts with BOLT-11 invoices, and signers. No I/O and no imports from other layers.
 *
 * @example
 * ```ts
 * import { generateSecretKey, finalizeEvent, verifyEvent } from 'nostr-rendezvous/crypto'
 * const sk = generateSecretKey()
 * const event = finalizeEvent({ kind: 1, content: 'hello' }, sk)
 * verifyEvent(event) // true
 * ```
 *
 * @module
 */
export { CryptoError, RendezvousError } from '../errors.js'
export { assertBytes, bytesToHex, equalBytes, hexToBytes, isHex, randomBytes, toKeyBytes, wipe } from './bytes.js'
export {
  type EventIdFields,
  type EventTemplate,
  type NostrEvent,
  type UnsignedEvent,
  MAX_KIND,
  assertEventShape,
  copyTags,
  pickEventFields,
  eventShapeProblem,
  getEventHash,
  isEventShape,
  kindClass,
  nowSeconds,
  serializeEvent,
} from './event.js'
export { generateSecretKey, getPublicKey, isValidPublicKey } from './keys.js'
export { finalizeEvent, schnorrSign, schnorrVerify, signId, verifyEvent, verifyEvents } from './signature.js'
export { type BatchVerifier, type BatchVerifierOptions, type BatchVerifierStats, type SignatureItem, createBatchVerifier } from './batch-verify.js'
export type { Signer, SignerCipher } from './signer.js'
export * as nip04 from './nip04.js'
export * as nip17 from './nip17.js'
export * as nip44 from './nip44.js'
export * as nip59 from './nip59.js'
export * as nip19 from './nip19.js'
export * as nip21 from './nip21.js'
export * as nip49 from './nip49.js'
export { type SecretKeySigner, CONVERSATION_KEY_CACHE_SIZE, createSecretKeySigner, secretKeySignerFromNcryptsec } from './secret-key-signer.js'
export { type Nip07Cipher, type Nip07Provider, type Nip07SignerOptions, createNip07Signer } from './nip07-signer.js'
export * as nip13 from './nip13.js'
export * as nip57 from './nip57.js'
export { type Bolt11Invoice, type Bolt11Network, MAX_BOLT11_LENGTH, decodeBolt11 } from './bolt11.js'
