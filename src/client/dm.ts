/**
 * Private messages. NIP-17 (current): a kind 14 rumor sealed and gift-wrapped separately for every
 * participant, each wrap sent only to that participant's kind 10050 DM relays (strict: no fallback
 * to inboxes, as NIP-17 demands), and read back from the user's own DM relays. NIP-04 (legacy):
 * old kind 4 conversations can be read and decrypted, never written.
 *
 * Decrypted content stays in memory: only the wraps (and kind 4 ciphertexts) are cached in storage.
 *
 * Specs: https://github.com/nostr-protocol/nips/blob/master/17.md,
 * https://github.com/nostr-protocol/nips/blob/master/59.md,
 * https://github.com/nostr-protocol/nips/blob/master/04.md
 *
 * @module
 */
import type { NostrEvent } from '../crypto/event.js'
import { GIFT_WRAP_KIND, TIMESTAMP_JITTER_SECONDS } from '../crypto/nip59.js'
import { CHAT_MESSAGE_KIND, FILE_MESSAGE_KIND, type DirectMessage, type MessageRecipient, unwrapDirectMessage, wrapDirectMessage } from '../crypto/nip17.js'
import { npubEncode } from '../crypto/nip19.js'
import type { Signer } from '../crypto/signer.js'
import { ClientError } from '../errors.js'
import type { PublishTarget } from '../outbox/publish-queue.js'
import { LruSet } from '../relay-pool/lru.js'
import { abortError, type ClientContext } from './context.js'
import { parsePerson } from './identifiers.js'
import { deliver } from './publish.js'
import { createLimiter, queryRelays, type RelayRequest } from './read.js'
import type {
  DmDelivery,
  DmInbox,
  DmQueryOptions,
  LegacyConversation,
  LegacyDm,
  LiveDmOptions,
  LiveDms,
  ReadOptions,
  ReceivedDm,
  SendDmOptions,
  SendDmResult,
} from './types.js'

/** NIP-04 direct message kind. */
const LEGACY_DM_KIND = 4

/**
 * How far before the start of a live subscription a rumor may be dated and still count as new: the
 * sender's clock may run a little behind ours, and a message sent "just now" must not be lost.
 */
const LIVE_CLOCK_SKEW_SECONDS = 60

/** Rumor kinds read as messages: NIP-17 chat (14) and file (15) messages. */
const MESSAGE_KINDS: ReadonlySet<number> = new Set([CHAT_MESSAGE_KIND, FILE_MESSAGE_KIND])

/**
 * Fetches (when stale) the relay lists of `pubkeys`, turning an abort or a close into the client's
 * error codes.
 */
async function ensureLists(context: ClientContext, pubkeys: readonly string[], callerSignal: AbortSignal | undefined): Promise<void> {
  const { signal, release } = context.link(callerSignal)
  try {
    await context.tracker.ensureRelayLists(pubkeys, { signal })
  } catch (error) {
    if (signal.aborted || context.closing.aborted) throw abortError(context, error)
    throw error
  } finally {
    release()
  }
}

/** The user's own kind 10050 relays as the tracker knows them (empty when none is known). */
function ownDmRelays(context: ClientContext, me: string, purpose: 'send' | 'read'): string[] {
  // Blocked relays never count; `write: false` relays are skipped when sending, `read: false` when reading.
  const dm = context.router.dmRelays(me, { purpose })
  return dm.status === 'ready' ? dm.relays : []
}

function checkSignal(signal: unknown): void {
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError('options.signal must be an AbortSignal')
}

function checkOptions(options: unknown): void {
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object')
}

/** Wraps opened at once: each may be a signer round trip (NIP-07 prompt, NIP-46 message). */
const OPEN_CONCURRENCY = 4
/** Message ids a live subscription remembers to deliver each message once. */
const LIVE_EMITTED_IDS = 10_000

/** A checked NIP-17 message as the facade returns it. */
function toReceived(message: DirectMessage): ReceivedDm {
  return {
    id: message.rumor.id,
    sender: message.sender,
    participants: message.participants,
    content: message.rumor.content,
    createdAt: message.rumor.created_at,
    ...(message.subject !== undefined && { subject: message.subject }),
    ...(message.replyTo !== undefined && { replyTo: message.replyTo }),
    rumor: message.rumor,
  }
}

/** Oldest first; ties by id so the order is the same on every read. */
function byTimeThenId(a: { createdAt: number; id: string }, b: { createdAt: number; id: string }): number {
  return a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
}

/**
 * Opens a wrap, or `undefined` when it cannot be opened or fails a check. Anyone can send anything
 * to anyone's DM relays, so a bad wrap is junk to count, never an error to throw. Signer failures
 * (a NIP-07 extension that refuses) are counted the same way: the other wraps may still open.
 */
async function open(wrap: NostrEvent, signer: Signer): Promise<DirectMessage | undefined> {
  try {
    // Every wrap here came through the pool, which verified its signature: only the seal is checked again.
    return await unwrapDirectMessage(wrap, signer, { wrapVerified: true })
  } catch {
    return undefined
  }
}

// ---- send ----------------------------------------------------------------------------------------

/**
 * Sends a NIP-17 private message: one gift wrap per recipient to that recipient's kind 10050
 * relays, and a self copy to the user's own kind 10050 relays. The readiness of every recipient is
 * checked before anything is wrapped or sent: when one cannot receive, nobody gets the message.
 *
 * When the user has no kind 10050 list, no self copy is sent (there is nowhere the user said they
 * read private messages; inventing relays would leak the wrap to places the user never chose), so
 * the user's other devices will not see the message. `deliveries` then has no `self` entry. When the
 * user writes only to themselves, their own 10050 is required like any recipient's.
 *
 * @param context - the client's shared parts.
 * @param to - recipients (hex, `npub`, `nprofile`); duplicates are merged.
 * @param content - the message text.
 * @param options - `subject`, `replyTo`, `signal` (ends the wait, not the delivery of queued wraps).
 * @returns the rumor and one delivery per wrap sent.
 * @throws TypeError for a malformed recipient, an empty recipient list or non-string content;
 * ClientError `CLIENT_NO_SIGNER`, `CLIENT_DM_RECIPIENT_NOT_READY` (details name each recipient and
 * why), `CLIENT_ABORTED`, `CLIENT_CLOSED`; the signer's and the queue's errors.
 * @internal
 */
export async function sendDm(context: ClientContext, to: readonly string[], content: string, options: SendDmOptions = {}): Promise<SendDmResult> {
  if (!Array.isArray(to)) throw new TypeError('to must be a person or an array of people')
  if (typeof content !== 'string') throw new TypeError('content must be a string')
  checkOptions(options)
  checkSignal(options.signal)
  if (options.subject !== undefined && typeof options.subject !== 'string') throw new TypeError('options.subject must be a string')
  if (options.replyTo !== undefined) {
    if (options.replyTo === null || typeof options.replyTo !== 'object' || !/^[0-9a-f]{64}$/.test(options.replyTo.id)) {
      throw new TypeError('options.replyTo.id must be a 64-character lower-case hex event id')
    }
    if (options.replyTo.relay !== undefined && typeof options.replyTo.relay !== 'string') throw new TypeError('options.replyTo.relay must be a string')
  }
  const recipients = [...new Set(to.map((input, i) => parsePerson(input, `to[${i}]`).pubkey))]
  if (recipients.length === 0) throw new TypeError('to must name at least one recipient')
  context.assertOpen()
  const signer = context.requireSigner('sending a private message')
  const me = await context.me()
  await ensureLists(context, [...new Set([...recipients, me])], options.signal)

  // Readiness of everyone first: one unreachable member must not get a room others already wrote in.
  const others = recipients.filter((pubkey) => pubkey !== me)
  const mustBeReady = others.length > 0 ? others : [me]
  const relaysOf = new Map<string, string[]>()
  const notReady: string[] = []
  for (const pubkey of mustBeReady) {
    const dm = context.router.dmRelays(pubkey, { purpose: 'send' })
    if (dm.status === 'ready') relaysOf.set(pubkey, dm.relays)
    else notReady.push(`${npubEncode(pubkey)}: ${dm.reason}`)
  }
  if (notReady.length > 0) {
    throw new ClientError('CLIENT_DM_RECIPIENT_NOT_READY', 'A recipient has no usable DM relay list (kind 10050): nothing was sent', {
      details: notReady.join(', '),
    })
  }
  const mine = ownDmRelays(context, me, 'send')
  relaysOf.set(me, mine)
  context.assertOpen()
  if (options.signal?.aborted) throw abortError(context)

  const wrapped = await wrapDirectMessage({
    signer,
    // A hint to the first DM relay of each recipient lets a reply find them without a lookup.
    recipients: recipients.map((pubkey): MessageRecipient => {
      const relay = relaysOf.get(pubkey)?.[0]
      return relay === undefined ? { pubkey } : { pubkey, relay }
    }),
    content,
    ...(options.subject !== undefined && { subject: options.subject }),
    ...(options.replyTo !== undefined && { replyTo: options.replyTo }),
    created_at: context.nowSeconds(),
    wrap: { now: () => context.nowSeconds() },
  })
  const deliveries = await Promise.all(
    wrapped.wraps.map(async ({ recipient, self, wrap }): Promise<DmDelivery | undefined> => {
      const relays = relaysOf.get(recipient) ?? []
      if (relays.length === 0) return undefined // only the self copy of a user without a 10050
      const targets = relays.map((url): PublishTarget => ({ url, reason: 'dm-relay' }))
      const { report } = await deliver(context, wrap, targets, 'first-answers', options.signal)
      return { recipient, self, relays, report }
    }),
  )
  return { rumor: wrapped.rumor, deliveries: deliveries.filter((d): d is DmDelivery => d !== undefined) }
}

// ---- read ----------------------------------------------------------------------------------------

/**
 * Reads the user's NIP-17 messages from their own kind 10050 relays: every gift wrap `p`-tagged to
 * the user is fetched, opened and checked (the seal's signer must be the rumor's author). Wraps
 * that do not open (junk, wrapped for another key, a forged seal) are counted in `undecryptable`.
 * Chat (14) and file (15) messages are returned; other rumor kinds (reactions, deletions) are
 * skipped. A user with no known kind 10050 gets an empty inbox with no relays asked.
 *
 * @param context - the client's shared parts.
 * @param options - `peer` (only rooms that include them), `since` (rumor time, unix seconds; the
 * wrap query is widened by two days because wrap timestamps are randomised), `limit` (wraps asked
 * per relay, and the newest messages kept), `signal`.
 * @returns messages oldest first, deduplicated by rumor id, the undecryptable count, and each relay's answer.
 * @throws TypeError/RangeError for malformed options; ClientError `CLIENT_NO_SIGNER`,
 * `CLIENT_ABORTED`, `CLIENT_CLOSED`.
 * @internal
 */
export async function readDms(context: ClientContext, options: DmQueryOptions = {}): Promise<DmInbox> {
  checkOptions(options)
  checkSignal(options.signal)
  const peer = options.peer === undefined ? undefined : parsePerson(options.peer, 'options.peer').pubkey
  if (options.since !== undefined && (!Number.isSafeInteger(options.since) || options.since < 0)) {
    throw new RangeError('options.since must be a non-negative integer (unix seconds)')
  }
  if (options.limit !== undefined && (!Number.isSafeInteger(options.limit) || options.limit < 1)) {
    throw new RangeError('options.limit must be a positive integer')
  }
  context.assertOpen()
  const signer = context.requireSigner('reading private messages')
  const me = await context.me()
  await ensureLists(context, [me], options.signal)
  const relays = ownDmRelays(context, me, 'read')
  if (relays.length === 0) return { messages: [], undecryptable: 0, relays: [] }

  const filter = {
    kinds: [GIFT_WRAP_KIND],
    '#p': [me],
    ...(options.since !== undefined && { since: Math.max(0, options.since - TIMESTAMP_JITTER_SECONDS) }),
    ...(options.limit !== undefined && { limit: options.limit }),
  }
  const result = await queryRelays(
    context,
    relays.map((url): RelayRequest => ({ url, filters: [filter] })),
    { signal: options.signal },
  )
  // A few at a time, and an abort stops the rest: see createLimiter.
  const limited = createLimiter(OPEN_CONCURRENCY)
  const opened = await Promise.all(
    result.events.map((wrap) =>
      limited(async () => (context.closing.aborted || options.signal?.aborted ? undefined : open(wrap, signer))),
    ),
  )
  if (context.closing.aborted || options.signal?.aborted) throw abortError(context)
  let undecryptable = 0
  const byId = new Map<string, ReceivedDm>()
  for (const message of opened) {
    if (message === undefined) {
      undecryptable += 1
      continue
    }
    if (!MESSAGE_KINDS.has(message.rumor.kind)) continue
    if (options.since !== undefined && message.rumor.created_at < options.since) continue
    if (peer !== undefined && !message.participants.includes(peer)) continue
    if (!byId.has(message.rumor.id)) byId.set(message.rumor.id, toReceived(message))
  }
  let messages = [...byId.values()].sort(byTimeThenId)
  if (options.limit !== undefined && messages.length > options.limit) messages = messages.slice(messages.length - options.limit)
  return { messages, undecryptable, relays: result.relays }
}

// ---- live ----------------------------------------------------------------------------------------

/**
 * Follows the user's NIP-17 messages as they arrive at their kind 10050 relays. Wraps are asked for
 * from two days back (their timestamps are randomised), but only messages whose rumor is at most
 * 60 s older than the subscription's start are delivered, each once, whatever relay and wrap it
 * came in. A user with no known kind 10050 gets a subscription that never delivers (`ready`
 * resolves). `ready` rejects only when fetching the user's relay list fails; a close or abort
 * before then resolves it. A throwing `onMessage` is reported to the client's `onError`.
 *
 * @param context - the client's shared parts.
 * @param options - `onMessage`, `signal` (closes the subscription).
 * @returns the live subscription.
 * @throws TypeError without an `onMessage` function; ClientError `CLIENT_NO_SIGNER`, `CLIENT_CLOSED`.
 * @internal
 */
export function liveDms(context: ClientContext, options: LiveDmOptions): LiveDms {
  checkOptions(options)
  if (typeof options.onMessage !== 'function') throw new TypeError('options.onMessage must be a function')
  checkSignal(options.signal)
  context.assertOpen()
  const signer = context.requireSigner('reading private messages')
  const start = context.nowSeconds()
  // Bounded: anyone can fill a DM relay with wraps; copies of one message arrive close together.
  const emitted = new LruSet<string>(LIVE_EMITTED_IDS)
  const limited = createLimiter(OPEN_CONCURRENCY)
  let closed = false
  let close = (): void => {}
  const stop = new AbortController()
  const onAbort = (): void => handle.close()
  const untrack = context.track(() => handle.close())

  const ready = (async (): Promise<void> => {
    try {
      const me = await context.me()
      await ensureLists(context, [me], stop.signal)
      if (closed) return
      const relays = ownDmRelays(context, me, 'read')
      if (relays.length === 0) return
      const subscription = context.pool.subscribe([{ kinds: [GIFT_WRAP_KIND], '#p': [me], since: Math.max(0, start - TIMESTAMP_JITTER_SECONDS) }], {
        relays,
        signal: stop.signal,
        // Wraps are dated up to two days back: resuming after a reconnect from the newest wrap's
        // date would skip most wraps sent during the outage.
        resumeSlackSeconds: TIMESTAMP_JITTER_SECONDS,
        onEvent: (wrap, relay) => {
          void context.remember([wrap], new Map([[wrap.id, [relay]]]))
          void limited(async () => (closed ? undefined : open(wrap, signer))).then((message) => {
            if (closed || message === undefined || !MESSAGE_KINDS.has(message.rumor.kind)) return
            if (message.rumor.created_at < start - LIVE_CLOCK_SKEW_SECONDS || emitted.has(message.rumor.id)) return
            emitted.add(message.rumor.id)
            try {
              options.onMessage(toReceived(message))
            } catch (error) {
              context.reportError(error)
            }
          })
        },
      })
      close = () => subscription.close()
      if (closed) close()
    } catch (error) {
      // A close or abort before the subscription started is not a failure of `ready`.
      if (closed) return
      throw error
    }
  })()
  // `ready` is the caller's to await; an unawaited rejection must not crash the process.
  ready.catch(() => undefined)

  const handle: LiveDms = {
    ready,
    close() {
      if (closed) return
      closed = true
      untrack()
      options.signal?.removeEventListener('abort', onAbort)
      stop.abort()
      close()
    },
  }
  if (options.signal?.aborted) handle.close()
  else options.signal?.addEventListener('abort', onAbort, { once: true })
  return handle
}

// ---- NIP-04 --------------------------------------------------------------------------------------

/**
 * Reads an old NIP-04 conversation with one person: kind 4 events from the user to the peer and
 * from the peer to the user, from the user's inboxes and outboxes and the peer's outboxes and
 * inboxes, decrypted with the signer. Messages that do not decrypt are counted, never thrown.
 *
 * @param context - the client's shared parts.
 * @param peerInput - the other person (hex, `npub`, `nprofile`).
 * @param options - `signal`.
 * @returns messages oldest first, the undecryptable count, and each relay's answer.
 * @throws TypeError for a malformed peer; ClientError `CLIENT_NO_SIGNER`, `CLIENT_ABORTED`, `CLIENT_CLOSED`.
 * @internal
 */
export async function readLegacyDms(context: ClientContext, peerInput: string, options: ReadOptions = {}): Promise<LegacyConversation> {
  const peer = parsePerson(peerInput, 'peer').pubkey
  checkOptions(options)
  checkSignal(options.signal)
  context.assertOpen()
  const signer = context.requireSigner('reading private messages')
  const me = await context.me()
  await ensureLists(context, [...new Set([me, peer])], options.signal)
  const mine = context.tracker.relayListOf(me)
  const theirs = context.tracker.relayListOf(peer)
  // Where each side would have sent or received a kind 4 under the outbox model.
  const urls = [...new Set([...(mine?.read ?? []), ...(mine?.write ?? []), ...(theirs?.write ?? []), ...(theirs?.read ?? [])])]
  if (urls.length === 0) return { messages: [], undecryptable: 0, relays: [] }
  const filters = [
    { kinds: [LEGACY_DM_KIND], authors: [me], '#p': [peer] },
    { kinds: [LEGACY_DM_KIND], authors: [peer], '#p': [me] },
  ]
  const result = await queryRelays(
    context,
    urls.map((url): RelayRequest => ({ url, filters })),
    { signal: options.signal },
  )
  let undecryptable = 0
  const messages: LegacyDm[] = []
  for (const event of result.events) {
    const sender = event.pubkey
    const recipient = sender === me ? peer : me
    // The shared secret is symmetric: the other party's key opens both directions.
    try {
      const content = await signer.nip04.decrypt(peer, event.content)
      messages.push({ event, sender, recipient, content })
    } catch {
      undecryptable += 1
    }
  }
  if (context.closing.aborted || options.signal?.aborted) throw abortError(context)
  messages.sort((a, b) => byTimeThenId({ createdAt: a.event.created_at, id: a.event.id }, { createdAt: b.event.created_at, id: b.event.id }))
  return { messages, undecryptable, relays: result.relays }
}
