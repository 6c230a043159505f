/**
 * Signing and verifying events (BIP-340 Schnorr over the NIP-01 id).
 *
 * Signing is noble-curves' BIP-340. Verification goes through `batch-verify.ts`: `verifyEvents`
 * checks bursts with BIP-340 batch verification, and single checks (`verifyEvent`, `schnorrVerify`,
 * small inputs) use its interleaved GLV/wNAF single verification, both with a bounded cache of
 * lifted author keys. Every result agrees with noble's `schnorr.verify` (the tests check it against
 * nostr-tools and the BIP-340 vectors). `verifyEvent` never throws and never caches a result on the
 * event object (a cache on the object makes benchmarks measure the cache and lets a mutated object
 * keep a stale "valid").
 *
 * @module
 */
import { schnorr } from '@noble/curves/secp256k1.js'
import { CryptoError } from '../errors.js'
import { assertBytes, bytesToHex, hexToBytes } from './bytes.js'
import { type EventTemplate, type NostrEvent, copyTags, getEventHash, nowSeconds } from './event.js'
import { getPublicKey } from './keys.js'
import { type BatchVerifier, createBatchVerifier } from './batch-verify.js'

/**
 * Fills in `created_at` (default now) and `tags` (default `[]`), adds the pubkey and id, and signs.
 *
 * @param template - kind, content, optional tags and created_at.
 * @param secretKey - 32-byte secret key.
 * @returns the signed event (a new object; the template is not modified).
 * @throws CryptoError `INVALID_EVENT` for a malformed template, `INVALID_KEY` for an invalid key;
 * TypeError/RangeError for a key of the wrong type or length.
 * @example
 * ```ts
 * import { finalizeEvent, generateSecretKey } from 'nostr-rendezvous/crypto'
 * const event = finalizeEvent({ kind: 1, content: 'hello' }, generateSecretKey())
 * ```
 */
export function finalizeEvent(template: EventTemplate, secretKey: Uint8Array): NostrEvent {
  assertBytes(secretKey, 32, 'secretKey')
  return signTemplateWith(template, secretKey, getPublicKey(secretKey))
}

/**
 * {@link finalizeEvent} for a caller that already knows the key's public key (a signer): saves the
 * base-point multiplication, about a fifth of a signature. `pubkey` must belong to `secretKey`.
 *
 * @internal
 */
export function signTemplateWith(template: EventTemplate, secretKey: Uint8Array, pubkey: string): NostrEvent {
  const unsigned = {
    pubkey,
    created_at: template.created_at ?? nowSeconds(),
    kind: template.kind,
    // Copied: a caller who reuses the template's tags must not be able to change a signed event.
    tags: copyTags(template.tags ?? []),
    content: template.content,
  }
  const id = getEventHash(unsigned)
  return { id, ...unsigned, sig: signId(id, secretKey) }
}

/**
 * Signs an event id (hex) with BIP-340 and fresh auxiliary randomness.
 *
 * @param id - 64 hex characters.
 * @param secretKey - 32-byte secret key.
 * @returns 128 hex characters.
 * @throws CryptoError `INVALID_KEY` when the key is not a valid scalar.
 * @example
 * ```ts
 * import { signId } from 'nostr-rendezvous/crypto'
 * const sig = signId(event.id, sk)
 * ```
 */
export function signId(id: string, secretKey: Uint8Array): string {
  return bytesToHex(schnorrSign(hexToBytes(id, 'id', 32), secretKey))
}

/**
 * BIP-340 Schnorr signature of `message` (any length). The event functions above are built on
 * this; it is exported for protocols that sign other messages and for the BIP-340 vectors.
 *
 * @param message - the message bytes (an event id for Nostr).
 * @param secretKey - 32-byte secret key.
 * @param auxRand - 32 bytes of auxiliary randomness; fresh random bytes when omitted (recommended).
 * @returns the 64-byte signature.
 * @throws CryptoError `INVALID_KEY` when the key is not a valid scalar; TypeError/RangeError for
 * wrong types or lengths.
 * @example
 * ```ts
 * import { schnorrSign, randomBytes } from 'nostr-rendezvous/crypto'
 * const sig = schnorrSign(new Uint8Array(32), sk)
 * ```
 */
export function schnorrSign(message: Uint8Array, secretKey: Uint8Array, auxRand?: Uint8Array): Uint8Array {
  assertBytes(message, undefined, 'message')
  assertBytes(secretKey, 32, 'secretKey')
  if (auxRand !== undefined) assertBytes(auxRand, 32, 'auxRand')
  try {
    return schnorr.sign(message, secretKey, auxRand)
  } catch (cause) {
    throw new CryptoError('INVALID_KEY', 'Secret key is not a valid secp256k1 scalar', { cause })
  }
}

/**
 * BIP-340 verification of a 64-byte signature over `message` by an x-only public key. Never throws:
 * anything malformed is simply not a valid signature.
 *
 * @param signature - 64 bytes.
 * @param message - the signed bytes.
 * @param publicKey - 32-byte x-only public key.
 * @returns whether the signature is valid.
 * @example
 * ```ts
 * import { schnorrVerify } from 'nostr-rendezvous/crypto'
 * schnorrVerify(sig, message, pubkeyBytes) // true or false
 * ```
 */
export function schnorrVerify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  // One item is below the default verifier's batch threshold: a single verification.
  return verifier().verifySignatures([{ signature, message, publicKey }])[0] === true
}

/**
 * True when `event` is well formed, its id is the hash of its fields and its signature verifies.
 * Never throws, whatever it is given. Never caches a result on the event object.
 *
 * @param event - anything (typically parsed from a relay).
 * @returns whether it is a valid signed event.
 * @example
 * ```ts
 * import { verifyEvent } from 'nostr-rendezvous/crypto'
 * if (!verifyEvent(event)) drop(event)
 * ```
 */
export function verifyEvent(event: unknown): event is NostrEvent {
  return verifier().verifyEvent(event)
}

/**
 * The verifier behind `verifyEvent`, `verifyEvents` and `schnorrVerify`, created on first use (no
 * import-time work); its cache of lifted author keys is bounded.
 */
let defaultVerifier: BatchVerifier | undefined
function verifier(): BatchVerifier {
  defaultVerifier ??= createBatchVerifier()
  return defaultVerifier
}

/**
 * Verifies many events at once. Result `i` is `verifyEvent(events[i])`: shape, id hash and
 * signature are checked, anything malformed is `false`, and it never throws. Signatures are checked
 * with BIP-340 batch verification (random coefficients, one multi-scalar multiplication per batch,
 * lifted author keys cached), so a burst costs a fraction of checking each event; when a batch
 * fails, the bad events are found with a bounded search (see `createBatchVerifier`). Copies with
 * the same id, signature and pubkey have their signature checked once (each copy's id is still
 * re-hashed, so a forged copy that reuses an id and signature with other content fails on its own).
 *
 * @param events - events to check.
 * @returns one boolean per event, in order.
 * @example
 * ```ts
 * import { verifyEvents } from 'nostr-rendezvous/crypto'
 * const ok = verifyEvents(batch)
 * const valid = batch.filter((_, i) => ok[i])
 * ```
 */
export function verifyEvents(events: readonly unknown[]): boolean[] {
  if (!Array.isArray(events)) return []
  return verifier().verifyEvents(events)
}
