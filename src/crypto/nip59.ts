/**
 * NIP-59 gift wrap: an event (the *rumor*, unsigned so it is deniable) is encrypted into a *seal*
 * (kind 13, signed by the author, no tags) which is encrypted into a *gift wrap* (kind 1059, signed
 * by a one-time key, `p`-tagged to the recipient). Seal and wrap timestamps are randomised up to two
 * days into the past so `created_at` reveals nothing; the rumor keeps the real time.
 *
 * The author side works with any {@link Signer} (the seal is the only thing the author's key
 * touches); the one-time wrap key is generated, used and wiped here. Unwrapping checks every layer
 * and, above all, that the rumor's claimed author is the key that signed the seal — without that
 * check anyone could impersonate anyone.
 *
 * Spec: https://github.com/nostr-protocol/nips/blob/master/59.md
 *
 * @module
 */
import { CryptoError } from '../errors.js'
import { randomBytes, wipe } from './bytes.js'
import { type EventTemplate, type NostrEvent, type UnsignedEvent, copyTags, eventShapeProblem, getEventHash, isEventShape, nowSeconds } from './event.js'
import { generateSecretKey, isValidPublicKey } from './keys.js'
import { encrypt as nip44Encrypt, getConversationKey } from './nip44.js'
import { finalizeEvent, verifyEvent } from './signature.js'
import type { Signer } from './signer.js'

/** Kind of a seal. */
export const SEAL_KIND = 13
/** Kind of a gift wrap. */
export const GIFT_WRAP_KIND = 1059
/** Kind of an ephemeral gift wrap (relays must not store it). */
export const EPHEMERAL_GIFT_WRAP_KIND = 21059
/** How far into the past seal and wrap timestamps are randomised (NIP-59/17: two days). */
export const TIMESTAMP_JITTER_SECONDS = 2 * 24 * 60 * 60

/** A rumor: an unsigned event with an id. */
export type Rumor = UnsignedEvent

/** What {@link unwrapEvent} returns: every layer, checked. */
export interface UnwrappedEvent {
  /** The inner event; its `pubkey` is the verified author. */
  rumor: Rumor
  /** The kind 13 seal, signed by the author. */
  seal: NostrEvent
  /** The gift wrap that was opened. */
  wrap: NostrEvent
}

/** Options for {@link createWrap} and {@link wrapEvent}. */
export interface WrapOptions {
  /** Extra tags on the wrap (e.g. `expiration`); the recipient's `p` tag is always first. */
  tags?: string[][]
  /** A relay hint for the recipient's `p` tag. */
  relayHint?: string
  /** 1059 (default) or 21059 (ephemeral). */
  kind?: typeof GIFT_WRAP_KIND | typeof EPHEMERAL_GIFT_WRAP_KIND
  /** Clock, for tests. @default nowSeconds */
  now?: () => number
}

/**
 * A timestamp uniformly random in the last {@link TIMESTAMP_JITTER_SECONDS} seconds, from a
 * cryptographic source (a predictable jitter would let an observer undo it).
 *
 * @param now - the current time in seconds.
 * @returns a time between `now - 2 days` and `now`.
 * @example
 * ```ts
 * import { nip59 } from 'nostr-rendezvous/crypto'
 * nip59.randomPastTimestamp(1700000000) // e.g. 1699912345
 * ```
 */
export function randomPastTimestamp(now: number = nowSeconds()): number {
  const [a = 0, b = 0, c = 0, d = 0] = randomBytes(4)
  const r = ((a << 24) | (b << 16) | (c << 8) | d) >>> 0
  return now - (r % (TIMESTAMP_JITTER_SECONDS + 1))
}

/**
 * Turns a template into a rumor: adds the author, `created_at` (default now) and the id; no
 * signature.
 *
 * @param template - kind, content, optional tags and created_at.
 * @param authorPubkey - the author's public key (hex).
 * @returns the rumor.
 * @throws CryptoError `INVALID_EVENT` for a malformed template.
 * @example
 * ```ts
 * import { nip59 } from 'nostr-rendezvous/crypto'
 * const rumor = nip59.createRumor({ kind: 14, content: 'hi', tags: [['p', bob]] }, alice)
 * ```
 */
export function createRumor(template: EventTemplate, authorPubkey: string): Rumor {
  const fields = {
    pubkey: authorPubkey,
    created_at: template.created_at ?? nowSeconds(),
    kind: template.kind,
    tags: copyTags(template.tags ?? []),
    content: template.content,
  }
  return { id: getEventHash(fields), ...fields }
}

/**
 * Seals a rumor for one recipient: NIP-44-encrypts it with the author's signer and signs a kind 13
 * event with empty tags and a randomised timestamp.
 *
 * @param rumor - from {@link createRumor}; its pubkey must be the signer's.
 * @param signer - the author's signer.
 * @param recipientPubkey - hex public key of the recipient.
 * @param now - clock, for tests.
 * @returns the signed seal.
 * @throws CryptoError `NIP59_AUTHOR_MISMATCH` when the rumor's author is not the signer; signer
 * errors as they come.
 * @example
 * ```ts
 * import { nip59, createSecretKeySigner } from 'nostr-rendezvous/crypto'
 * const seal = await nip59.createSeal(rumor, createSecretKeySigner(sk), bob)
 * ```
 */
export async function createSeal(rumor: Rumor, signer: Signer, recipientPubkey: string, now = nowSeconds): Promise<NostrEvent> {
  assertRecipient(recipientPubkey)
  const author = await signer.getPublicKey()
  if (rumor.pubkey !== author) {
    throw new CryptoError('NIP59_AUTHOR_MISMATCH', "The rumor's author is not the signer", {
      details: 'seal a rumor with the key it names as pubkey',
    })
  }
  const content = await signer.nip44.encrypt(recipientPubkey, JSON.stringify(rumor))
  return signer.signEvent({ kind: SEAL_KIND, tags: [], content, created_at: randomPastTimestamp(now()) })
}

/**
 * Gift-wraps a seal for its recipient with a fresh one-time key, which is wiped afterwards.
 *
 * @param seal - from {@link createSeal}.
 * @param recipientPubkey - hex public key of the recipient.
 * @param options - extra tags, relay hint, kind, clock.
 * @returns the signed gift wrap.
 * @example
 * ```ts
 * import { nip59 } from 'nostr-rendezvous/crypto'
 * const wrap = nip59.createWrap(seal, bob)
 * ```
 */
export function createWrap(seal: NostrEvent, recipientPubkey: string, options: WrapOptions = {}): NostrEvent {
  assertRecipient(recipientPubkey)
  const oneTimeKey = generateSecretKey()
  const conversationKey = getConversationKey(oneTimeKey, recipientPubkey)
  try {
    const pTag = options.relayHint ? ['p', recipientPubkey, options.relayHint] : ['p', recipientPubkey]
    return finalizeEvent(
      {
        kind: options.kind ?? GIFT_WRAP_KIND,
        tags: [pTag, ...(options.tags ?? [])],
        content: nip44Encrypt(JSON.stringify(seal), conversationKey),
        created_at: randomPastTimestamp((options.now ?? nowSeconds)()),
      },
      oneTimeKey,
    )
  } finally {
    wipe(oneTimeKey, conversationKey)
  }
}

/**
 * Rumor → seal → gift wrap in one call.
 *
 * @param template - the inner event (kind, content, tags, created_at).
 * @param signer - the author's signer.
 * @param recipientPubkey - hex public key of the recipient.
 * @param options - see {@link WrapOptions}.
 * @returns the rumor (to keep locally) and the wrap (to publish to the recipient's relays).
 * @example
 * ```ts
 * import { nip59, createSecretKeySigner } from 'nostr-rendezvous/crypto'
 * const { wrap } = await nip59.wrapEvent({ kind: 1, content: 'psst' }, createSecretKeySigner(sk), bob)
 * ```
 */
export async function wrapEvent(
  template: EventTemplate,
  signer: Signer,
  recipientPubkey: string,
  options: WrapOptions = {},
): Promise<{ rumor: Rumor; wrap: NostrEvent }> {
  const rumor = createRumor(template, await signer.getPublicKey())
  const seal = await createSeal(rumor, signer, recipientPubkey, options.now)
  return { rumor, wrap: createWrap(seal, recipientPubkey, options) }
}

/** Options for {@link unwrapEvent}. */
export interface UnwrapOptions {
  /**
   * The caller has already verified the wrap's id and signature — the relay pool does for every
   * event it delivers — so they are not checked again (its kind and shape still are). A third of
   * the work of opening a wrap. The seal, which carries the author's signature, is always verified.
   * @default false
   */
  wrapVerified?: boolean
}

/**
 * Opens a gift wrap addressed to the signer's key and checks every layer: the wrap and the seal are
 * valid signed events of the right kinds, the seal has no tags, the rumor is well formed with an id
 * matching its content, and the rumor's author is the seal's signer.
 *
 * @param wrap - a kind 1059 (or 21059) event.
 * @param signer - the recipient's signer.
 * @param options - `wrapVerified` when the wrap's signature was already checked.
 * @returns the rumor, seal and wrap.
 * @throws CryptoError `NIP59_INVALID_WRAP`, `NIP59_INVALID_SEAL`, `NIP59_INVALID_RUMOR`,
 * `NIP59_AUTHOR_MISMATCH`; signer errors (`SIGNER_REJECTED`, ...) as they come.
 * @example
 * ```ts
 * import { nip59, createSecretKeySigner } from 'nostr-rendezvous/crypto'
 * const { rumor } = await nip59.unwrapEvent(wrap, createSecretKeySigner(bobSk))
 * console.log(rumor.pubkey, rumor.content)
 * ```
 */
export async function unwrapEvent(wrap: NostrEvent, signer: Signer, options: UnwrapOptions = {}): Promise<UnwrappedEvent> {
  const wrapOk = options.wrapVerified === true ? isEventShape(wrap) : verifyEvent(wrap)
  if ((wrap?.kind !== GIFT_WRAP_KIND && wrap?.kind !== EPHEMERAL_GIFT_WRAP_KIND) || !wrapOk) {
    throw new CryptoError('NIP59_INVALID_WRAP', 'Not a valid signed gift wrap (kind 1059 or 21059)')
  }
  const seal = parseLayer(await decryptLayer(signer, wrap.pubkey, wrap.content, 'NIP59_INVALID_WRAP'), 'NIP59_INVALID_WRAP')
  if (seal.kind !== SEAL_KIND || !verifyEvent(seal)) {
    throw new CryptoError('NIP59_INVALID_SEAL', 'The wrap does not contain a valid signed seal (kind 13)')
  }
  // NIP-59 says a seal has no tags, but NIP-17 asks disappearing messages to repeat their
  // `expiration` tag on the seal; that one tag is accepted, anything else is not.
  if ((seal as NostrEvent).tags.some((tag) => tag[0] !== 'expiration')) {
    throw new CryptoError('NIP59_INVALID_SEAL', 'A seal must have no tags other than expiration')
  }
  const rumor = checkRumor(parseLayer(await decryptLayer(signer, seal.pubkey as string, seal.content as string, 'NIP59_INVALID_SEAL'), 'NIP59_INVALID_SEAL'))
  if (rumor.pubkey !== seal.pubkey) {
    throw new CryptoError('NIP59_AUTHOR_MISMATCH', "The rumor's author is not the seal's signer (impersonation attempt)")
  }
  return { rumor, seal: seal as NostrEvent, wrap }
}

/** Decrypts one layer; a payload that will not decrypt makes the layer invalid, signer errors pass. */
async function decryptLayer(
  signer: Signer,
  peer: string,
  payload: string,
  code: 'NIP59_INVALID_WRAP' | 'NIP59_INVALID_SEAL',
): Promise<string> {
  try {
    return await signer.nip44.decrypt(peer, payload)
  } catch (err) {
    if (err instanceof CryptoError && (err.code.startsWith('NIP44_') || err.code === 'INVALID_KEY')) {
      throw new CryptoError(code, 'Layer does not decrypt for this key', { cause: err })
    }
    throw err
  }
}

function parseLayer(json: string, code: 'NIP59_INVALID_WRAP' | 'NIP59_INVALID_SEAL'): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(json)
  } catch (cause) {
    throw new CryptoError(code, 'Layer does not decrypt to JSON', { cause })
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CryptoError(code, 'Layer does not decrypt to an event object')
  }
  return value as Record<string, unknown>
}

/**
 * A rumor must have every field of an event but `sig`. A stray `sig` is dropped rather than
 * rejected: it only costs the sender deniability, and the content is still authenticated by the
 * seal. A missing id is computed; a wrong one is rejected.
 */
function checkRumor(value: Record<string, unknown>): Rumor {
  const { sig: _sig, ...fields } = value
  const id = typeof fields.id === 'string' ? fields.id : undefined
  const candidate = { ...fields, id: id ?? '0'.repeat(64), sig: '0'.repeat(128) }
  const problem = eventShapeProblem(candidate)
  if (problem) throw new CryptoError('NIP59_INVALID_RUMOR', 'Malformed rumor', { details: problem })
  const rumor = {
    id: '',
    pubkey: fields.pubkey as string,
    created_at: fields.created_at as number,
    kind: fields.kind as number,
    tags: fields.tags as string[][],
    content: fields.content as string,
  }
  rumor.id = getEventHash(rumor)
  if (id !== undefined && id !== rumor.id) {
    throw new CryptoError('NIP59_INVALID_RUMOR', "The rumor's id does not match its content")
  }
  return rumor
}

function assertRecipient(pubkey: string): void {
  if (!isValidPublicKey(pubkey)) {
    throw new TypeError('recipientPubkey must be a valid 64-character lower-case hex public key')
  }
}
