/**
 * NIP-17 private direct messages: a kind 14 chat message (or kind 15 file message) is a NIP-59
 * rumor, sealed by the sender and gift-wrapped separately to every participant, the sender
 * included (the self-copy is how the sender's other devices see the conversation).
 *
 * Which relays the wraps go to is the router's job (the recipient's kind 10050 list, strictly);
 * this module only builds and opens them.
 *
 * Spec: https://github.com/nostr-protocol/nips/blob/master/17.md
 *
 * @module
 */
import type { NostrEvent } from './event.js'
import { isValidPublicKey } from './keys.js'
import { type Rumor, type UnwrapOptions, type WrapOptions, createRumor, createSeal, createWrap, unwrapEvent } from './nip59.js'
import type { Signer } from './signer.js'

/** Kind of a chat message rumor. */
export const CHAT_MESSAGE_KIND = 14
/** Kind of a file message rumor. */
export const FILE_MESSAGE_KIND = 15

/** A recipient, with an optional relay hint for its `p` tag. */
export interface MessageRecipient {
  pubkey: string
  relay?: string
}

/** Parameters of {@link wrapDirectMessage}. */
export interface WrapDirectMessageParameters {
  /** The sender's signer. */
  signer: Signer
  /** Everyone the message is for (hex pubkeys or `{ pubkey, relay }`). Duplicates are merged. */
  recipients: readonly (string | MessageRecipient)[]
  /** Plain text (kind 14) or the file URL (kind 15). */
  content: string
  /** 14 (default) or 15. */
  kind?: typeof CHAT_MESSAGE_KIND | typeof FILE_MESSAGE_KIND
  /** Sets the conversation's topic (`subject` tag). */
  subject?: string
  /** The message this one replies to. */
  replyTo?: { id: string; relay?: string }
  /** More rumor tags (for kind 15: `file-type`, `x`, `decryption-key`, ...). */
  tags?: string[][]
  /** Also wrap a copy to the sender. @default true */
  selfCopy?: boolean
  /** The message time. @default now */
  created_at?: number
  /** Options for every wrap (extra wrap tags such as `expiration`, clock). */
  wrap?: Omit<WrapOptions, 'relayHint'>
}

/** One gift wrap produced by {@link wrapDirectMessage}. */
export interface DirectMessageWrap {
  /** Whom this copy is for. */
  recipient: string
  /** True for the sender's own copy. */
  self: boolean
  /** The kind 1059 event to publish to the recipient's DM relays. */
  wrap: NostrEvent
}

/** A received direct message, checked. */
export interface DirectMessage {
  /** The rumor (kind 14, 15 or another kind sent into the chat). */
  rumor: Rumor
  /** The verified sender (the seal's signer). */
  sender: string
  /** The chat room: the sender and every `p`-tagged pubkey, sorted, deduplicated. */
  participants: string[]
  /** The `subject` tag, if any. */
  subject?: string
  /** The id of the message this replies to (`e` tag), if any. */
  replyTo?: string
  /** The kind 13 seal. */
  seal: NostrEvent
  /** The gift wrap that was opened. */
  wrap: NostrEvent
}

/**
 * Builds one rumor and one gift wrap per recipient (plus the sender's copy). The rumor is sealed
 * separately for each recipient, so no two wraps share ciphertext or timestamps.
 *
 * @param params - see {@link WrapDirectMessageParameters}.
 * @returns the rumor and the wraps.
 * @throws TypeError for an invalid recipient key; signer errors as they come.
 * @example
 * ```ts
 * import { nip17, createSecretKeySigner } from 'nostr-rendezvous/crypto'
 * const { wraps } = await nip17.wrapDirectMessage({
 *   signer: createSecretKeySigner(aliceSk),
 *   recipients: [bobPubkey],
 *   content: 'Hola, que tal?',
 * })
 * // publish each wraps[i].wrap to the DM relays (kind 10050) of wraps[i].recipient
 * ```
 */
export async function wrapDirectMessage(params: WrapDirectMessageParameters): Promise<{ rumor: Rumor; wraps: DirectMessageWrap[] }> {
  const sender = await params.signer.getPublicKey()
  const recipients = new Map<string, MessageRecipient>()
  for (const [i, r] of params.recipients.entries()) {
    const recipient = typeof r === 'string' ? { pubkey: r } : r
    // Checked before anything is signed: a signer may ask its user to approve every seal.
    if (!isValidPublicKey(recipient?.pubkey)) throw new TypeError(`recipients[${i}] must be a valid lower-case hex public key`)
    if (!recipients.has(recipient.pubkey) || recipient.relay) recipients.set(recipient.pubkey, recipient)
  }
  if (recipients.size === 0) throw new TypeError('recipients must name at least one pubkey')
  const tags: string[][] = [...recipients.values()].map((r) => (r.relay ? ['p', r.pubkey, r.relay] : ['p', r.pubkey]))
  if (params.replyTo) tags.push(params.replyTo.relay ? ['e', params.replyTo.id, params.replyTo.relay] : ['e', params.replyTo.id])
  if (params.subject !== undefined) tags.push(['subject', params.subject])
  tags.push(...(params.tags ?? []))

  const rumor = createRumor(
    { kind: params.kind ?? CHAT_MESSAGE_KIND, content: params.content, tags, created_at: params.created_at },
    sender,
  )
  // The sender gets one copy at most, marked self, even when listed among the recipients.
  const targets: (MessageRecipient & { self: boolean })[] = [...recipients.values()]
    .filter((r) => r.pubkey !== sender)
    .map((r) => ({ ...r, self: false }))
  if ((params.selfCopy ?? true) || recipients.has(sender)) targets.push({ ...recipients.get(sender), pubkey: sender, self: true })
  const wraps: DirectMessageWrap[] = []
  for (const target of targets) {
    const seal = await createSeal(rumor, params.signer, target.pubkey, params.wrap?.now)
    const relayHint = target.relay
    wraps.push({ recipient: target.pubkey, self: target.self, wrap: createWrap(seal, target.pubkey, { ...params.wrap, relayHint }) })
  }
  return { rumor, wraps }
}

/**
 * Opens a gift-wrapped direct message with the recipient's signer and describes it.
 *
 * @param wrap - a kind 1059 event addressed to the signer.
 * @param signer - the recipient's signer.
 * @param options - `wrapVerified: true` when the wrap's signature was already checked (events from
 * the relay pool): see `nip59.UnwrapOptions`.
 * @returns the message, its verified sender and its chat room.
 * @throws CryptoError with a `NIP59_*` code when any layer is invalid or the sender is forged.
 * @example
 * ```ts
 * import { nip17, createSecretKeySigner } from 'nostr-rendezvous/crypto'
 * const dm = await nip17.unwrapDirectMessage(wrap, createSecretKeySigner(bobSk))
 * console.log(dm.sender, dm.rumor.content)
 * ```
 */
export async function unwrapDirectMessage(wrap: NostrEvent, signer: Signer, options?: UnwrapOptions): Promise<DirectMessage> {
  const { rumor, seal } = await unwrapEvent(wrap, signer, options)
  const participants = new Set([rumor.pubkey])
  let subject: string | undefined
  let replyTo: string | undefined
  for (const tag of rumor.tags) {
    // A p tag that is not a public key names nobody; it must not change the room's identity.
    if (tag[0] === 'p' && isValidPublicKey(tag[1])) participants.add(tag[1])
    else if (tag[0] === 'subject' && tag[1] !== undefined) subject = tag[1]
    else if (tag[0] === 'e' && tag[1] && replyTo === undefined) replyTo = tag[1]
  }
  return {
    rumor,
    sender: rumor.pubkey,
    participants: [...participants].sort(),
    ...(subject !== undefined && { subject }),
    ...(replyTo !== undefined && { replyTo }),
    seal,
    wrap,
  }
}

/**
 * A stable identifier of a chat room: NIP-17 defines a room as the set of the sender and the
 * `p`-tagged pubkeys, so the sorted, comma-joined set names it.
 *
 * @param participants - pubkeys in the room, in any order.
 * @returns the room identifier.
 * @example
 * ```ts
 * import { nip17 } from 'nostr-rendezvous/crypto'
 * nip17.chatRoomId(dm.participants) // 'a1…,b2…'
 * ```
 */
export function chatRoomId(participants: readonly string[]): string {
  return [...new Set(participants)].sort().join(',')
}
