/**
 * A {@link Signer} backed by a NIP-07 browser extension (`window.nostr`).
 *
 * The extension is trusted with the key, not with its answers: a signed event is accepted only if it
 * is well formed, verifies, carries the signer's public key and the kind, tags and content that were
 * asked for (and the `created_at`, when the caller set one). Anything else rejects with
 * `SIGNER_INVALID_RESPONSE`, so a buggy or hostile extension cannot make the app publish something
 * other than what the user saw.
 *
 * @see https://github.com/nostr-protocol/nips/blob/master/07.md
 * @module
 */
import { CryptoError } from '../errors.js'
import { hexToBytes } from './bytes.js'
import { type EventTemplate, type NostrEvent, copyTags, nowSeconds, serializeEvent } from './event.js'
import { isValidPublicKey } from './keys.js'
import { checkSignedEvent, type SignedEventExpectation, type Signer, type SignerCipher } from './signer.js'

/** The NIP-04 or NIP-44 object of a NIP-07 extension. */
export interface Nip07Cipher {
  /** Encrypts `plaintext` for `pubkey` (hex) with the extension's key. */
  encrypt(pubkey: string, plaintext: string): Promise<string>
  /** Decrypts `ciphertext` exchanged with `pubkey` (hex). */
  decrypt(pubkey: string, ciphertext: string): Promise<string>
}

/** What a NIP-07 extension injects as `window.nostr`. */
export interface Nip07Provider {
  /** The user's public key, hex. */
  getPublicKey(): Promise<string>
  /** Signs a complete template (the extension adds pubkey, id and sig). */
  signEvent(event: { kind: number; content: string; tags: string[][]; created_at: number }): Promise<NostrEvent>
  /** NIP-04 encryption, when the extension offers it. */
  nip04?: Nip07Cipher
  /** NIP-44 encryption, when the extension offers it. */
  nip44?: Nip07Cipher
}

/** Options for {@link createNip07Signer}. */
export interface Nip07SignerOptions {
  /**
   * The extension object. When omitted, `window.nostr` is looked up at each call, not at creation,
   * because extensions often inject it after the page's scripts have run.
   */
  provider?: Nip07Provider
  /**
   * Give up on a call after this many milliseconds and reject with `SIGNER_UNAVAILABLE`. Calls wait
   * on the user (a confirmation prompt), so there is no limit by default.
   * @default undefined (no limit)
   */
  timeoutMs?: number
}

type Scheme = 'nip04' | 'nip44'

const PLACEHOLDER_PUBKEY = '0'.repeat(64)

/**
 * A signer that asks a NIP-07 browser extension to sign and encrypt.
 *
 * The public key is asked once and remembered; if the user switches accounts in the extension,
 * events then come back with another pubkey and are rejected (`SIGNER_INVALID_RESPONSE`): create a
 * new signer.
 *
 * @param options - `provider` (default `window.nostr`, looked up lazily) and `timeoutMs`.
 * @returns the signer. Its methods reject with CryptoError `SIGNER_UNAVAILABLE` (no extension, or no
 * answer within `timeoutMs`), `SIGNER_UNSUPPORTED` (no `nip04`/`nip44` in the extension),
 * `SIGNER_REJECTED` (the extension threw or rejected, e.g. the user said no; the original error is
 * the `cause`), `SIGNER_INVALID_RESPONSE` (an unusable answer), `SIGNER_CLOSED` (after `close()`).
 * @throws RangeError when `timeoutMs` is not a positive number.
 * @example
 * ```ts
 * import { createNip07Signer, isRendezvousError } from 'nostr-rendezvous/crypto'
 * const signer = createNip07Signer({ timeoutMs: 60_000 })
 * try {
 *   const event = await signer.signEvent({ kind: 1, content: 'hello' })
 * } catch (err) {
 *   if (isRendezvousError(err, 'SIGNER_REJECTED')) showMessage('Signing was refused')
 * }
 * ```
 */
export function createNip07Signer(options: Nip07SignerOptions = {}): Signer {
  const { provider: given, timeoutMs } = options
  if (timeoutMs !== undefined && !(typeof timeoutMs === 'number' && timeoutMs > 0)) {
    throw new RangeError(`options.timeoutMs must be a positive number, got ${String(timeoutMs)}`)
  }
  let closed = false
  let pubkeyPromise: Promise<string> | undefined

  const provider = (): Nip07Provider => {
    if (closed) throw new CryptoError('SIGNER_CLOSED', 'Signer was closed')
    const found = given ?? (globalThis as { window?: { nostr?: Nip07Provider } }).window?.nostr
    if (!found || typeof found.getPublicKey !== 'function' || typeof found.signEvent !== 'function') {
      throw new CryptoError('SIGNER_UNAVAILABLE', 'No NIP-07 extension found', {
        details: given ? 'the provider has no getPublicKey/signEvent' : 'window.nostr is not set',
      })
    }
    return found
  }

  const ask = <T>(what: string, call: () => Promise<T>): Promise<T> => callExtension(what, call, timeoutMs)

  const fetchPublicKey = async (): Promise<string> => {
    const p = provider()
    const pubkey = await ask('getPublicKey', () => p.getPublicKey())
    if (!isValidPublicKey(pubkey)) {
      throw new CryptoError('SIGNER_INVALID_RESPONSE', 'Extension returned an invalid public key', {
        details: 'expected 64 lower-case hex characters naming a secp256k1 point',
      })
    }
    return pubkey
  }

  const getPublicKey = async (): Promise<string> => {
    provider() // closed or missing: fail before reusing a remembered answer
    pubkeyPromise ??= fetchPublicKey()
    try {
      return await pubkeyPromise
    } catch (err) {
      pubkeyPromise = undefined // a refusal now is not a refusal forever
      throw err
    }
  }

  const signEvent = async (template: EventTemplate): Promise<NostrEvent> => {
    const p = provider()
    const fields = {
      created_at: template.created_at ?? nowSeconds(),
      kind: template.kind,
      tags: copyTags(template.tags ?? []),
      content: template.content,
    }
    // INVALID_EVENT for a malformed template, as finalizeEvent throws, and before the user is asked
    // anything (the shape check needs some pubkey: the real one may not be known yet).
    serializeEvent({ ...fields, pubkey: PLACEHOLDER_PUBKEY })
    const expected = { ...fields, pubkey: await getPublicKey() }
    const { kind, content, created_at: createdAt } = expected
    const request = { kind, content, tags: copyTags(expected.tags), created_at: createdAt }
    const signed: unknown = await ask('signEvent', () => p.signEvent(request))
    return checkSigned(signed, expected, template.created_at !== undefined)
  }

  const cipher = (scheme: Scheme): SignerCipher => {
    const run = async (op: 'encrypt' | 'decrypt', peerPubkey: string, text: string): Promise<string> => {
      const p = provider()
      hexToBytes(peerPubkey, 'peerPubkey', 32)
      if (typeof text !== 'string') {
        throw new TypeError(`${op === 'encrypt' ? 'plaintext' : 'payload'} must be a string, got ${typeof text}`)
      }
      const impl = p[scheme]
      if (!impl || typeof impl[op] !== 'function') {
        throw new CryptoError('SIGNER_UNSUPPORTED', `Extension does not support ${scheme.toUpperCase()}`, {
          details: `window.nostr.${scheme}.${op} is missing`,
        })
      }
      const result: unknown = await ask(`${scheme}.${op}`, () => impl[op](peerPubkey, text))
      if (typeof result !== 'string') {
        throw new CryptoError('SIGNER_INVALID_RESPONSE', `Extension ${scheme}.${op} did not return a string`)
      }
      return result
    }
    return Object.freeze({
      encrypt: (peerPubkey: string, plaintext: string) => run('encrypt', peerPubkey, plaintext),
      decrypt: (peerPubkey: string, payload: string) => run('decrypt', peerPubkey, payload),
    })
  }

  return Object.freeze({
    getPublicKey,
    signEvent,
    nip04: cipher('nip04'),
    nip44: cipher('nip44'),
    close: (): void => {
      closed = true
      pubkeyPromise = undefined
    },
  })
}

/**
 * Calls the extension: a synchronous throw or a rejection becomes SIGNER_REJECTED (with the
 * original as `cause`), silence past `timeoutMs` becomes SIGNER_UNAVAILABLE.
 */
async function callExtension<T>(what: string, call: () => Promise<T>, timeoutMs: number | undefined): Promise<T> {
  const answer = new Promise<T>((resolve) => resolve(call())).catch((cause: unknown) => {
    throw new CryptoError('SIGNER_REJECTED', 'Extension refused the request', { details: what, cause })
  })
  if (timeoutMs === undefined) return answer
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const details = `${what}, ${timeoutMs} ms`
      reject(new CryptoError('SIGNER_UNAVAILABLE', 'Extension did not answer in time', { details }))
    }, timeoutMs)
  })
  try {
    return await Promise.race([answer, timeout])
  } finally {
    clearTimeout(timer)
  }
}

function invalidEvent(details: string): CryptoError {
  return new CryptoError('SIGNER_INVALID_RESPONSE', 'Extension returned an unusable event', { details })
}

/** Accepts the extension's event only if it is exactly what was asked for, signed by the right key. */
function checkSigned(signed: unknown, expected: SignedEventExpectation, createdAtFixed: boolean): NostrEvent {
  const checked = checkSignedEvent(signed, expected, { createdAt: createdAtFixed })
  if ('problem' in checked) throw invalidEvent(checked.problem)
  return checked.event
}
