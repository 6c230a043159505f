/**
 * The one interface every signer implements: a secret-key signer, a NIP-07 browser-extension
 * signer, a NIP-46 remote signer. Everything above the crypto layer (gift wraps, AUTH, publishing)
 * takes a `Signer`, never a raw key.
 *
 * @module
 */
import { eventShapeProblem, pickEventFields, type EventTemplate, type NostrEvent } from './event.js'
import { verifyEvent } from './signature.js'

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

/** What a signer that signs elsewhere (an extension, a remote signer) was asked to sign, and by whom. */
export interface SignedEventExpectation {
  readonly pubkey: string
  readonly created_at: number
  readonly kind: number
  readonly tags: readonly (readonly string[])[]
  readonly content: string
}

/**
 * Checks an event a signer we do not control (a NIP-07 extension, a NIP-46 remote signer) returned
 * for a template: it must be exactly the template, signed by the expected key, and verify. The
 * check runs on a plain-data snapshot, never on the signer's object (getters or a Proxy could
 * answer the checks with one value and the caller with another).
 *
 * @param value - what the signer returned.
 * @param expected - the template as sent, with the public key that must have signed it.
 * @param options - `createdAt: false` when the signer chose the time (the template had none).
 * @returns `{ event }` (the seven NIP-01 fields only: signers may add their own) or `{ problem }`,
 *   a short reason for the caller's `SIGNER_INVALID_RESPONSE`.
 * @example
 * ```ts
 * const checked = checkSignedEvent(await extension.signEvent(template), { ...template, pubkey })
 * if ('problem' in checked) throw new CryptoError('SIGNER_INVALID_RESPONSE', 'Unusable event', { details: checked.problem })
 * ```
 */
export function checkSignedEvent(value: unknown, expected: SignedEventExpectation, options: { createdAt?: boolean } = {}): { event: NostrEvent } | { problem: string } {
  let snapshot: unknown
  try {
    snapshot = JSON.parse(JSON.stringify(value) ?? 'null')
  } catch {
    return { problem: 'event is not plain JSON data' }
  }
  const problem = eventShapeProblem(snapshot)
  if (problem) return { problem }
  const e = snapshot as NostrEvent
  if (e.pubkey !== expected.pubkey) return { problem: 'pubkey is not the signer’s public key' }
  if (e.kind !== expected.kind) return { problem: 'kind differs from the request' }
  if (e.content !== expected.content) return { problem: 'content differs from the request' }
  if (JSON.stringify(e.tags) !== JSON.stringify(expected.tags)) return { problem: 'tags differ from the request' }
  if (options.createdAt !== false && e.created_at !== expected.created_at) return { problem: 'created_at differs from the request' }
  const event = pickEventFields(e)
  if (!verifyEvent(event)) return { problem: 'id or signature does not verify' }
  return { event }
}
