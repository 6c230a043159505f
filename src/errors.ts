/**
 * Errors thrown by Rendezvous.
 *
 * Two kinds (see `docs/errors.md`):
 * - a programmer error (wrong argument type or length) throws a plain `TypeError` or `RangeError`
 *   whose message names the field;
 * - an operational error (relay, protocol, storage, decryption, a bad payload from the network)
 *   throws a {@link RendezvousError} subclass with a stable string `code`.
 *
 * Codes are never renamed, only added to. Every code is listed in {@link ERROR_CODES} and documented
 * in `docs/errors.md` (a test keeps the two in step). Messages never contain secret keys or
 * decrypted content.
 *
 * @module
 */

/**
 * Every stable error code, grouped by the layer that raises it.
 *
 * @example
 * ```ts
 * import { ERROR_CODES } from 'nostr-rendezvous'
 * ERROR_CODES.crypto.includes('NIP44_INVALID_MAC') // true
 * ```
 */
export const ERROR_CODES = {
  crypto: [
    'INVALID_EVENT',
    'INVALID_ID',
    'INVALID_KEY',
    'NIP19_INVALID_BECH32',
    'NIP19_BAD_CHECKSUM',
    'NIP19_UNKNOWN_PREFIX',
    'NIP19_BAD_LENGTH',
    'NIP19_MISSING_TLV',
    'NIP19_INVALID_TLV',
    'NIP21_INVALID_URI',
    'NIP04_INVALID_PAYLOAD',
    'NIP04_DECRYPT_FAILED',
    'NIP44_INVALID_PAYLOAD',
    'NIP44_UNKNOWN_VERSION',
    'NIP44_INVALID_MAC',
    'NIP44_INVALID_PADDING',
    'NIP44_INVALID_LENGTH',
    'NIP59_INVALID_WRAP',
    'NIP59_INVALID_SEAL',
    'NIP59_INVALID_RUMOR',
    'NIP59_AUTHOR_MISMATCH',
    'NIP13_ABORTED',
    'NIP13_WORKER_FAILED',
    'NIP49_INVALID',
    'NIP49_WRONG_PASSPHRASE',
    'NIP49_KDF_FAILED',
    'SIGNER_UNAVAILABLE',
    'SIGNER_REJECTED',
    'SIGNER_UNSUPPORTED',
    'SIGNER_CLOSED',
    'SIGNER_INVALID_RESPONSE',
    'NIP46_INVALID_URI',
    'NIP46_TIMEOUT',
    'NIP46_REJECTED',
    'NIP46_UNDELIVERED',
    'NIP46_BUNKER_CLOSED',
    'BOLT11_INVALID',
    'NIP57_INVALID_LNURL',
  ],
  relay: [
    'RELAY_URL_INVALID',
    'RELAY_FILTER_INVALID',
    'RELAY_REFUSED_BY_POLICY',
    'RELAY_CONNECTION_FAILED',
    'RELAY_TIMEOUT',
    'RELAY_ABORTED',
    'RELAY_POOL_CLOSED',
    'RELAY_AUTH_FAILED',
    'RELAY_INFORMATION_INVALID',
    'RELAY_EVENT_INVALID',
    'RELAY_PROXY_FAILED',
    'RELAY_PROXY_AUTH_FAILED',
  ],
  storage: [
    'STORAGE_CLOSED',
    'STORAGE_UNAVAILABLE',
    'STORAGE_FULL',
    'STORAGE_CORRUPT',
    'STORAGE_SCHEMA_TOO_NEW',
    'STORAGE_WRITE_FAILED',
    'STORAGE_FILTER_INVALID',
    'STORAGE_ABORTED',
  ],
  outbox: [
    'PUBLISH_QUEUE_CLOSED',
    'PUBLISH_QUEUE_CORRUPT',
    'OUTBOX_RELAY_URL_INVALID',
    'OUTBOX_RELAY_CONFIG_CORRUPT',
    'TRACKER_ABORTED',
    'TRACKER_CLOSED',
    'TRACKER_UNCONFIRMED',
    'LIST_PRIVATE_UNREADABLE',
    'NIP05_FETCH_FAILED',
    'NIP05_REDIRECTED',
    'NIP05_TIMEOUT',
    'NIP05_TOO_LARGE',
    'NIP05_INVALID_DOCUMENT',
    'NIP05_NOT_FOUND',
    'NIP05_ABORTED',
  ],
  client: [
    'CLIENT_CLOSED',
    'CLIENT_ABORTED',
    'CLIENT_NO_SIGNER',
    'CLIENT_NO_TARGETS',
    'CLIENT_DM_RECIPIENT_NOT_READY',
    'CLIENT_SEARCH_UNSUPPORTED',
    'CLIENT_LIST_UNREADABLE',
    'CLIENT_NO_SEARCH_RELAYS',
    'CLIENT_NO_LIGHTNING_ADDRESS',
    'CLIENT_ZAP_TARGET_NOT_FOUND',
    'LNURL_INVALID_ADDRESS',
    'LNURL_UNREACHABLE',
    'LNURL_TIMEOUT',
    'LNURL_RESPONSE_TOO_LARGE',
    'LNURL_INVALID_RESPONSE',
    'LNURL_ERROR_STATUS',
    'LNURL_NOSTR_UNSUPPORTED',
    'LNURL_AMOUNT_OUT_OF_RANGE',
    'LNURL_INVOICE_MISMATCH',
  ],
} as const

/** A stable code raised by the crypto layer. */
export type CryptoErrorCode = (typeof ERROR_CODES.crypto)[number]

/** A stable code raised by the relay-pool layer. */
export type RelayErrorCode = (typeof ERROR_CODES.relay)[number]

/** A stable code raised by a storage adapter. */
export type StorageErrorCode = (typeof ERROR_CODES.storage)[number]

/** A stable code raised by the outbox layer. */
export type OutboxErrorCode = (typeof ERROR_CODES.outbox)[number]

/** A stable code raised by the client facade. */
export type ClientErrorCode = (typeof ERROR_CODES.client)[number]

/**
 * Any stable Rendezvous error code. Layers added later extend {@link ERROR_CODES}.
 */
export type RendezvousErrorCode = CryptoErrorCode | (string & {})

/** Options shared by every {@link RendezvousError}. */
export interface RendezvousErrorOptions {
  /** The underlying error, when there is one (a library error, a socket error, ...). */
  cause?: unknown
  /** Extra, non-secret detail appended to the message (which field, which relay, ...). */
  details?: string
}

/**
 * Base class of every operational error. Check `code`, never the message.
 *
 * @example
 * ```ts
 * import { RendezvousError } from 'nostr-rendezvous'
 * import { nip44 } from 'nostr-rendezvous/crypto'
 * try {
 *   nip44.decrypt('garbage', new Uint8Array(32))
 * } catch (err) {
 *   if (err instanceof RendezvousError) console.log(err.code) // 'NIP44_INVALID_PAYLOAD'
 * }
 * ```
 */
export class RendezvousError extends Error {
  /** Stable, machine-readable code (listed in `docs/errors.md`). */
  readonly code: RendezvousErrorCode
  /** The message without details: one short sentence. */
  readonly shortMessage: string
  /** Extra detail, if any. */
  readonly details: string | undefined
  override name = 'RendezvousError'

  constructor(code: RendezvousErrorCode, shortMessage: string, options: RendezvousErrorOptions = {}) {
    super(options.details ? `${shortMessage} (${options.details})` : shortMessage, {
      cause: options.cause,
    })
    this.code = code
    this.shortMessage = shortMessage
    this.details = options.details
  }
}

/**
 * An operational error from the crypto layer: a malformed event or payload, a failed decryption,
 * a signer that refused or is missing.
 *
 * @example
 * ```ts
 * import { CryptoError } from 'nostr-rendezvous'
 * const err = new CryptoError('NIP49_WRONG_PASSPHRASE', 'Wrong passphrase or corrupted ncryptsec')
 * err.code // 'NIP49_WRONG_PASSPHRASE'
 * ```
 */
export class CryptoError extends RendezvousError {
  declare readonly code: CryptoErrorCode
  override name = 'CryptoError'

  constructor(code: CryptoErrorCode, shortMessage: string, options?: RendezvousErrorOptions) {
    super(code, shortMessage, options)
  }
}

/**
 * An operational error from the relay pool (connection, protocol, publish). Codes arrive with the
 * relay-pool layer.
 *
 * @example
 * ```ts
 * import { RelayError } from 'nostr-rendezvous'
 * new RelayError('RELAY_TIMEOUT', 'Relay did not answer', { details: 'wss://relay.example' })
 * ```
 */
export class RelayError extends RendezvousError {
  override name = 'RelayError'
}

/**
 * An operational error from a storage adapter.
 *
 * @example
 * ```ts
 * import { StorageError } from 'nostr-rendezvous'
 * new StorageError('STORAGE_CORRUPT', 'Row could not be decoded')
 * ```
 */
export class StorageError extends RendezvousError {
  declare readonly code: StorageErrorCode
  override name = 'StorageError'

  constructor(code: StorageErrorCode, shortMessage: string, options?: RendezvousErrorOptions) {
    super(code, shortMessage, options)
  }
}

/**
 * An operational error from the outbox layer (relay lists, routing, selection).
 *
 * @example
 * ```ts
 * import { OutboxError } from 'nostr-rendezvous'
 * new OutboxError('OUTBOX_RELAY_URL_INVALID', 'Not a relay URL', { details: 'entry 2' })
 * ```
 */
export class OutboxError extends RendezvousError {
  declare readonly code: OutboxErrorCode
  override name = 'OutboxError'

  constructor(code: OutboxErrorCode, shortMessage: string, options?: RendezvousErrorOptions) {
    super(code, shortMessage, options)
  }
}

/**
 * An operational error from the client facade (`createClient`): closed, aborted, no signer, nowhere
 * to publish, a DM recipient without DM relays, a relay that does not offer search, a list that
 * cannot be edited without clobbering it.
 *
 * @example
 * ```ts
 * import { ClientError } from 'nostr-rendezvous'
 * new ClientError('CLIENT_NO_SIGNER', 'This needs a signer', { details: 'publishing' })
 * ```
 */
export class ClientError extends RendezvousError {
  declare readonly code: ClientErrorCode
  override name = 'ClientError'

  constructor(code: ClientErrorCode, shortMessage: string, options?: RendezvousErrorOptions) {
    super(code, shortMessage, options)
  }
}

/**
 * True when `err` is a {@link RendezvousError}, optionally with the given `code`.
 *
 * @param err - anything caught.
 * @param code - a code to match.
 * @returns whether `err` is a Rendezvous error (with that code).
 * @example
 * ```ts
 * import { isRendezvousError } from 'nostr-rendezvous'
 * try { doSomething() } catch (err) { if (isRendezvousError(err, 'SIGNER_REJECTED')) showRefused() }
 * ```
 */
export function isRendezvousError(err: unknown, code?: RendezvousErrorCode): err is RendezvousError {
  return err instanceof RendezvousError && (code === undefined || err.code === code)
}
