/**
 * The one interface every signer implements: a secret-key signer, a NIP-07 browser-extension
 * signer, a NIP-46 remote signer. Everything above the crypto layer (gift wraps, AUTH, publishing)
 * takes a `Signer`, never a raw key.
 *
 * @module
 */
import type { EventTemplate, NostrEvent } from './event.js'

/** Encrypt/decrypt to or from a peer, for one encryption scheme (NIP-04 or NIP-44). */
export interface SignerCipher {
  /** Encrypts `plaintext` for `peerPubkey` (hex). */
  encrypt(peerPubkey: string, plaintext: string): Promise<string>
  /** Decrypts `payload` received from `peerPubkey` (hex). */
  decrypt(peerPubkey: string, payload: string): Promise<string>
}

/**
 * A signer: knows one key pair and signs, encrypts and decrypts with it. Methods reject with
 * `CryptoError` codes `SIGNER_REJECTED` (the user said no), `SIGNER_UNSUPPORTED` (this signer cannot
 * do it), `SIGNER_UNAVAILABLE` (no extension / no connection), `SIGNER_CLOSED` (used after `close`),
 * `SIGNER_INVALID_RESPONSE` (a remote or extension answered with something unusable).
 */
export interface Signer {
  /** The signer's public key, lower-case hex. */
  getPublicKey(): Promise<string>
  /** Signs a template: fills in pubkey, created_at (default now), tags (default `[]`), id and sig. */
  signEvent(template: EventTemplate): Promise<NostrEvent>
  /** NIP-04 (legacy) encryption. */
  readonly nip04: SignerCipher
  /** NIP-44 v2 encryption. */
  readonly nip44: SignerCipher
  /** Forgets the key material (wipes it where the signer holds it). Further use rejects. */
  close?(): void
}
