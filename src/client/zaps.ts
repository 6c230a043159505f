/**
 * The client's NIP-57 zaps: zap a person or an event (the recipient's lightning address from their
 * profile, LNURL-pay, a signed zap request, an invoice checked before it is handed over), and read
 * the zap receipts of a person or an event, each validated against the recipient's LNURL server.
 * Paying the invoice is the wallet's job (NIP-47, WebLN, a QR code): the library never holds funds.
 * Internal: the public face is `client.zaps`.
 *
 * @module
 */
import type { Bolt11Invoice } from '../crypto/bolt11.js'
import { type NostrEvent, isEventShape } from '../crypto/event.js'
import { decode } from '../crypto/nip19.js'
import { type ZapProblem, type ZapReceiptVerdict, ZAP_RECEIPT_KIND, buildZapRequest, validateZapReceipt } from '../crypto/nip57.js'
import { ClientError } from '../errors.js'
import type { Filter } from '../relay-pool/types.js'
import { abortError, type ClientContext, withLinkedSignal } from './context.js'
import { parseEventRef, parsePerson } from './identifiers.js'
import { type LnurlPayEndpoint, fetchPayEndpoint, requestZapInvoice } from './lnurl.js'
import { readProfile } from './profile.js'
import { signTemplate } from './publish.js'
import { queryRelays, relayUrls } from './read.js'
import type { RelayQueryReport } from './types.js'

/** Most relays a zap request names (the LNURL server publishes the receipt to each). */
export const MAX_ZAP_RELAYS = 10
/** Most relays taken from each of the recipient's inboxes and the user's inboxes. */
const MAX_RELAYS_PER_SIDE = 5
/** Most relays named in zap requests asked in the second round of {@link ZapsApi.receipts}. */
const MAX_EXTRA_RECEIPT_RELAYS = 8
/** Most relay hints of a target used. */
const MAX_HINT_RELAYS = 5
/** How long a pay endpoint is reused, in ms. */
const ENDPOINT_TTL_MS = 10 * 60_000
/** Most pay endpoints remembered. */
const ENDPOINT_CACHE_SIZE = 64

/**
 * What to zap, or whose zaps to read: a person (hex pubkey, `npub`, `nprofile`), an event (`note`,
 * `nevent`, or the event itself), or an addressable event (`naddr`). A bare hex string is a person.
 */
export type ZapTarget = string | NostrEvent

/** Options of {@link ZapsApi.zap}. */
export interface ZapOptions {
  /** Shown with the zap (the zap request's content). @default '' */
  readonly comment?: string
  /**
   * Where the LNURL server is to publish the receipt.
   * @default the recipient's inboxes and the user's inboxes (up to 5 each, 10 in all)
   */
  readonly relays?: readonly string[]
  /** Bound on each LNURL request, in ms. @default 10_000 */
  readonly timeoutMs?: number
  readonly signal?: AbortSignal
}

/** A zap ready to pay: {@link ZapsApi.zap} returns it. */
export interface ZapInvoice {
  /** The BOLT-11 invoice to hand to a wallet. Checked: its amount and description hash are right. */
  readonly invoice: string
  /** It, decoded (expiry, payment hash, ...). */
  readonly decoded: Bolt11Invoice
  /** The signed zap request (kind 9734) the invoice commits to. */
  readonly zapRequest: NostrEvent
  readonly amountMsats: number
  /** The recipient's `lnurl`. */
  readonly lnurl: string
  /** Who is zapped (hex). */
  readonly recipient: string
  /** Where the receipt is to be published (the zap request's `relays`). */
  readonly relays: readonly string[]
  /** The recipient's LNURL-pay endpoint (its `nostrPubkey` signs the receipt). */
  readonly endpoint: LnurlPayEndpoint
}

/** Options of {@link ZapsApi.receipts}. */
export interface ZapReceiptsOptions {
  /** Only receipts at or after this time (unix seconds). */
  readonly since?: number
  /** Only receipts at or before this time (unix seconds). */
  readonly until?: number
  /** Most receipts asked of each relay. @default 500 */
  readonly limit?: number
  /** More relays to ask. */
  readonly relays?: readonly string[]
  /**
   * The recipient's LNURL server key, when already known: skips fetching their profile and pay
   * endpoint.
   */
  readonly nostrPubkey?: string
  /** Bound on the LNURL request, in ms. @default 10_000 */
  readonly timeoutMs?: number
  /** Per-relay time to EOSE, in ms. @default the pool's */
  readonly eoseTimeoutMs?: number
  readonly signal?: AbortSignal
}

/** A valid zap. */
export interface ValidZap {
  /** The receipt (kind 9735). */
  readonly receipt: NostrEvent
  /** The zap request inside it (kind 9734). */
  readonly zapRequest: NostrEvent
  /** The amount paid, in millisatoshis (the invoice's). */
  readonly amountMsats: number
  /** Who zapped (the zap request's author; a throwaway key for an anonymous zap). */
  readonly sender: string
  readonly recipient: string
  /** The comment (the zap request's content). */
  readonly comment: string
  readonly eventId: string | undefined
  readonly address: string | undefined
  /** When the receipt says the invoice was paid (its `created_at`). */
  readonly paidAt: number
}

/** A receipt that did not validate, and why. */
export interface InvalidZap {
  readonly receipt: NostrEvent
  readonly problems: readonly ZapProblem[]
}

/** What {@link ZapsApi.receipts} returns. */
export interface ZapReceipts {
  /** Whose zaps (hex). */
  readonly recipient: string
  /** The LNURL server key the receipts were checked against. */
  readonly nostrPubkey: string
  /** The valid zaps, newest first. Each invoice counts once. */
  readonly zaps: ValidZap[]
  /** Receipts that failed a check, with the reasons. */
  readonly invalid: InvalidZap[]
  /**
   * The sum of the valid zaps, in millisatoshis, exact: a receipt that would take it past
   * `Number.MAX_SAFE_INTEGER` is counted as invalid (`bad-amount`) instead.
   */
  readonly totalMsats: number
  /** How each relay asked answered. */
  readonly relays: RelayQueryReport[]
}

/** The client's NIP-57 zaps (LNURL-pay, zap requests, receipts). */
export interface ZapsApi {
  /**
   * Prepares a zap: finds the recipient's lightning address (`lud16`, else `lud06`, in their newest
   * profile), fetches their LNURL-pay endpoint (it must allow Nostr), signs a zap request (kind
   * 9734, not published) naming where the receipt goes, requests the invoice and checks it (amount,
   * and a description hash committing to the zap request). Nothing is paid: hand `invoice` to a
   * wallet. Once paid, the recipient's LNURL server publishes the receipt; see {@link ZapsApi.receipts}.
   *
   * @param target - a person (hex, `npub`, `nprofile`) or an event (`note`, `nevent`, `naddr`, the event).
   * @param amountMsats - millisatoshis (1 sat = 1000), a positive integer.
   * @param options - `comment`, `relays`, `timeoutMs`, `signal`.
   * @returns the invoice, the signed zap request, the amount, the recipient's `lnurl`.
   * @throws TypeError / RangeError for a malformed target, amount or option; ClientError
   * `CLIENT_NO_SIGNER`, `CLIENT_NO_LIGHTNING_ADDRESS`, `CLIENT_ZAP_TARGET_NOT_FOUND`,
   * `CLIENT_NO_TARGETS` (no relay for the receipt), `LNURL_*` (see `docs/errors.md`),
   * `CLIENT_ABORTED`, `CLIENT_CLOSED`; the signer's errors.
   * @example
   * ```ts
   * const { invoice } = await client.zaps.zap('note1...', 21_000, { comment: 'great post' })
   * await wallet.payInvoice(invoice) // NIP-47, WebLN, or show it as a QR code
   * ```
   */
  zap(target: ZapTarget, amountMsats: number, options?: ZapOptions): Promise<ZapInvoice>

  /**
   * Reads the zap receipts (kind 9735) of a person (every zap to them) or of an event, from the
   * recipient's inboxes and the user's, then from the relays the zap requests found name; each is
   * validated against the recipient's LNURL server key (resolved from their profile) — signer,
   * description hash, amounts, tags — and each invoice counts once.
   *
   * @param target - a person or an event, as in {@link ZapsApi.zap}.
   * @param options - `since`, `until`, `limit`, extra `relays`, `nostrPubkey`, `signal`.
   * @returns the valid zaps with amounts and senders, the invalid receipts with reasons, the total.
   * @throws TypeError / RangeError for a malformed target or option; ClientError
   * `CLIENT_NO_LIGHTNING_ADDRESS`, `CLIENT_ZAP_TARGET_NOT_FOUND`, `LNURL_*`, `CLIENT_ABORTED`,
   * `CLIENT_CLOSED`.
   * @example
   * ```ts
   * const { zaps, invalid, totalMsats } = await client.zaps.receipts('note1...')
   * console.log(`${zaps.length} zaps, ${totalMsats / 1000} sats; ${invalid.length} rejected`)
   * ```
   */
  receipts(target: ZapTarget, options?: ZapReceiptsOptions): Promise<ZapReceipts>

  /**
   * A person's LNURL-pay endpoint, from the lightning address in their newest profile (cached for
   * ten minutes): to show `minSendable` / `maxSendable`, or whether they accept zaps, before zapping.
   *
   * @param person - hex, `npub` or `nprofile`.
   * @param options - `timeoutMs`, `signal`.
   * @returns the endpoint.
   * @throws ClientError `CLIENT_NO_LIGHTNING_ADDRESS`, `LNURL_*`, `CLIENT_ABORTED`, `CLIENT_CLOSED`.
   * @example
   * ```ts
   * const endpoint = await client.zaps.payEndpoint('npub1...')
   * if (!endpoint.allowsNostr) hideZapButton()
   * ```
   */
  payEndpoint(person: string, options?: { readonly timeoutMs?: number; readonly signal?: AbortSignal }): Promise<LnurlPayEndpoint>
}

// ---- targets -------------------------------------------------------------------------------------

/** A target, read. */
interface ParsedTarget {
  /** The recipient, when the target names it (a person, an naddr, an nevent with an author, an event). */
  readonly recipient: string | undefined
  readonly hints: readonly string[]
  readonly event: NostrEvent | undefined
  readonly eventId: string | undefined
  readonly address: string | undefined
  readonly kind: number | undefined
}


function parseTarget(target: ZapTarget): ParsedTarget {
  if (typeof target === 'object' && target !== null) {
    if (!isEventShape(target)) throw new TypeError('target must be a person, an event reference or an event')
    return { recipient: target.pubkey, hints: [], event: target, eventId: target.id, address: undefined, kind: target.kind }
  }
  if (typeof target !== 'string') throw new TypeError('target must be a person, an event reference or an event')
  const text = target.trim().replace(/^nostr:/, '')
  if (text.startsWith('naddr1')) {
    let decoded
    try {
      decoded = decode(text)
    } catch (error) {
      throw new TypeError('target is not a valid naddr', { cause: error })
    }
    if (decoded.type !== 'naddr' || decoded.data.kind > 65535) throw new TypeError('target is not a valid naddr')
    const { kind, pubkey, identifier, relays } = decoded.data
    return { recipient: pubkey, hints: relayUrls(relays, MAX_HINT_RELAYS), event: undefined, eventId: undefined, address: `${kind}:${pubkey}:${identifier}`, kind }
  }
  if (text.startsWith('note1') || text.startsWith('nevent1')) {
    const ref = parseEventRef(text, 'target')
    return { recipient: ref.author, hints: relayUrls(ref.relays, MAX_HINT_RELAYS), event: undefined, eventId: ref.id, address: undefined, kind: undefined }
  }
  const person = parsePerson(text, 'target')
  return { recipient: person.pubkey, hints: relayUrls(person.relays, MAX_HINT_RELAYS), event: undefined, eventId: undefined, address: undefined, kind: undefined }
}

function checkObject(value: unknown, field: string): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new TypeError(`${field} must be an object`)
}

function checkRelayList(value: unknown, field: string): void {
  if (value !== undefined && (!Array.isArray(value) || !value.every((r) => typeof r === 'string'))) throw new TypeError(`${field} must be an array of relay URLs`)
}

function optionalTimestamp(value: unknown, field: string): void {
  if (value !== undefined && (!Number.isSafeInteger(value) || (value as number) < 0)) throw new RangeError(`${field} must be a non-negative integer (unix seconds)`)
}

// ---- the factory ---------------------------------------------------------------------------------

/** @internal */
export function createZapsApi(context: ClientContext): ZapsApi {
  const endpoints = new Map<string, { endpoint: LnurlPayEndpoint; at: number }>()

  /** Runs `task` with a signal linked to the caller's and the client's; aborts become CLIENT_ABORTED / CLIENT_CLOSED. */
  const linked = <T>(callerSignal: AbortSignal | undefined, task: (signal: AbortSignal) => Promise<T>): Promise<T> => withLinkedSignal(context, callerSignal, task)

  async function ensureLists(pubkeys: readonly string[], signal: AbortSignal): Promise<void> {
    try {
      await context.tracker.ensureRelayLists([...new Set(pubkeys)], { signal })
    } catch (error) {
      if (signal.aborted || context.closing.aborted) throw abortError(context, error)
      // Without fresh lists the relays known are used: a zap can still be prepared.
      context.reportError(error)
    }
  }

  /** The event a `note` / `nevent` names, from storage, the hints, the author's outboxes, the indexers. */
  async function findEvent(id: string, hints: readonly string[], author: string | undefined, signal: AbortSignal): Promise<NostrEvent | undefined> {
    try {
      const stored = await context.storage.getEvent(id)
      if (stored !== undefined && stored.id === id) return stored
    } catch (error) {
      context.reportError(error)
    }
    if (author !== undefined) await ensureLists([author], signal)
    const outboxes = author === undefined ? [] : (context.tracker.relayListOf(author)?.write ?? [])
    const relays = relayUrls([...hints, ...outboxes, ...context.tracker.indexerRelays]).filter((url) => !context.relayConfig.isBlocked(url))
    if (relays.length === 0) return undefined
    const result = await queryRelays(context, relays.map((url) => ({ url, filters: [{ ids: [id], limit: 1 }] })), { signal })
    return result.events.find((event) => event.id === id)
  }

  /** The target with its recipient known (and the event when it was given by id). */
  async function resolveTarget(target: ParsedTarget, signal: AbortSignal): Promise<ParsedTarget & { recipient: string }> {
    if (target.eventId === undefined || target.event !== undefined) {
      if (target.recipient === undefined) throw new TypeError('target names nobody')
      return target as ParsedTarget & { recipient: string }
    }
    const event = await findEvent(target.eventId, target.hints, target.recipient, signal)
    if (event === undefined) {
      // An nevent naming its author is enough to zap it; a bare id is not.
      if (target.recipient !== undefined) return target as ParsedTarget & { recipient: string }
      throw new ClientError('CLIENT_ZAP_TARGET_NOT_FOUND', 'The event to zap was not found: its author is unknown', { details: target.eventId })
    }
    return { ...target, recipient: event.pubkey, event, kind: event.kind }
  }

  /** The recipient's lightning address (lud16, else lud06) from their newest profile. */
  async function lightningAddress(recipient: string, hints: readonly string[], signal: AbortSignal): Promise<string> {
    const profile = await readProfile(context, recipient, { signal, relays: hints })
    const lud16 = profile?.lud16?.trim()
    if (lud16 !== undefined && lud16 !== '') return lud16
    const lud06 = profile?.fields.lud06
    if (typeof lud06 === 'string' && lud06.trim() !== '') return lud06.trim()
    throw new ClientError('CLIENT_NO_LIGHTNING_ADDRESS', 'The recipient has no lightning address (lud16 or lud06) in their profile', {
      details: profile === undefined ? `no profile found for ${recipient}` : recipient,
    })
  }

  async function endpointFor(recipient: string, hints: readonly string[], timeoutMs: number | undefined, signal: AbortSignal): Promise<LnurlPayEndpoint> {
    const address = await lightningAddress(recipient, hints, signal)
    const key = address.toLowerCase()
    const cached = endpoints.get(key)
    if (cached !== undefined && context.now() - cached.at < ENDPOINT_TTL_MS) return cached.endpoint
    const endpoint = await fetchPayEndpoint(address, { fetch: context.fetch, signal, ...(timeoutMs !== undefined && { timeoutMs }) })
    endpoints.delete(key)
    endpoints.set(key, { endpoint, at: context.now() })
    // Oldest first in insertion order: drop it past the cap.
    if (endpoints.size > ENDPOINT_CACHE_SIZE) endpoints.delete(endpoints.keys().next().value as string)
    return endpoint
  }

  /** The relays a zap request names: the recipient's inboxes, then the user's; never blocked ones. */
  function receiptRelays(recipient: string, me: string, given: readonly string[] | undefined): string[] {
    const usable = (urls: readonly string[]): string[] => urls.filter((url) => !context.relayConfig.isBlocked(url))
    if (given !== undefined) return usable(relayUrls(given, MAX_ZAP_RELAYS))
    const theirs = usable(context.router.mentionsOf(recipient).relays).slice(0, MAX_RELAYS_PER_SIDE)
    const mine = usable(context.router.mentionsOf(me).relays).slice(0, MAX_RELAYS_PER_SIDE)
    let relays = relayUrls([...theirs, ...mine], MAX_ZAP_RELAYS)
    // Nobody declared inboxes: the user's outboxes, then the indexers, are where the user will look.
    if (relays.length === 0) relays = usable(relayUrls(context.tracker.relayListOf(me)?.write ?? [], MAX_ZAP_RELAYS))
    if (relays.length === 0) relays = usable(relayUrls(context.tracker.indexerRelays, MAX_ZAP_RELAYS))
    return relays
  }

  return {
    async zap(target, amountMsats, options = {}) {
      const parsed = parseTarget(target)
      if (!Number.isSafeInteger(amountMsats) || amountMsats < 1) throw new RangeError('amountMsats must be a positive integer (millisatoshis)')
      checkObject(options, 'options')
      if (options.comment !== undefined && typeof options.comment !== 'string') throw new TypeError('options.comment must be a string')
      checkRelayList(options.relays, 'options.relays')
      context.assertOpen()
      context.requireSigner('zapping')
      const me = await context.me()
      return linked(options.signal, async (signal) => {
        const resolved = await resolveTarget(parsed, signal)
        const recipient = resolved.recipient
        const endpoint = await endpointFor(recipient, resolved.hints, options.timeoutMs, signal)
        // Checked before signing: a signer may prompt its user, and for nothing here.
        if (!endpoint.allowsNostr) {
          throw new ClientError('LNURL_NOSTR_UNSUPPORTED', 'The LNURL server does not accept zaps (no allowsNostr and nostrPubkey)', { details: endpoint.address ?? endpoint.url })
        }
        if (amountMsats < endpoint.minSendable || amountMsats > endpoint.maxSendable) {
          throw new ClientError('LNURL_AMOUNT_OUT_OF_RANGE', 'The amount is outside what the LNURL server accepts', {
            details: `${endpoint.minSendable}..${endpoint.maxSendable} msats`,
          })
        }
        await ensureLists([recipient, me], signal)
        const relays = receiptRelays(recipient, me, options.relays)
        if (relays.length === 0) {
          throw new ClientError('CLIENT_NO_TARGETS', 'No relay to name for the zap receipt', { details: 'neither the recipient nor the user has inboxes; give options.relays' })
        }
        const template = buildZapRequest({
          recipient,
          amountMsats,
          relays,
          lnurl: endpoint.lnurl,
          comment: options.comment ?? '',
          ...(resolved.event !== undefined && { event: resolved.event }),
          ...(resolved.event === undefined && resolved.eventId !== undefined && { event: { id: resolved.eventId } }),
          ...(resolved.address !== undefined && { address: resolved.address }),
          ...(resolved.event === undefined && resolved.kind !== undefined && { kind: resolved.kind }),
          createdAt: context.nowSeconds(),
        })
        // No proof of work: a zap request goes to one HTTP server, not to relays.
        const zapRequest = await signTemplate(context, template, { pow: 0, signal })
        const { invoice, decoded } = await requestZapInvoice(endpoint, zapRequest, amountMsats, {
          fetch: context.fetch,
          signal,
          ...(options.timeoutMs !== undefined && { timeoutMs: options.timeoutMs }),
        })
        return { invoice, decoded, zapRequest, amountMsats, lnurl: endpoint.lnurl, recipient, relays, endpoint }
      })
    },

    async receipts(target, options = {}) {
      const parsed = parseTarget(target)
      checkObject(options, 'options')
      optionalTimestamp(options.since, 'options.since')
      optionalTimestamp(options.until, 'options.until')
      const limit = options.limit ?? 500
      if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError('options.limit must be a positive integer')
      checkRelayList(options.relays, 'options.relays')
      if (options.nostrPubkey !== undefined && !/^[0-9a-f]{64}$/.test(options.nostrPubkey)) throw new TypeError('options.nostrPubkey must be a hex public key')
      return linked(options.signal, async (signal) => {
        const resolved = await resolveTarget(parsed, signal)
        const recipient = resolved.recipient
        let nostrPubkey = options.nostrPubkey
        let lnurl: string | undefined
        if (nostrPubkey === undefined) {
          const endpoint = await endpointFor(recipient, resolved.hints, options.timeoutMs, signal)
          if (!endpoint.allowsNostr || endpoint.nostrPubkey === undefined) {
            throw new ClientError('LNURL_NOSTR_UNSUPPORTED', "The recipient's LNURL server does not sign zap receipts", { details: endpoint.address ?? endpoint.url })
          }
          nostrPubkey = endpoint.nostrPubkey
          lnurl = endpoint.lnurl
        }
        let me: string | undefined
        try {
          me = await context.me()
        } catch {
          // A client without a user still reads zaps: only the recipient's inboxes are asked.
        }
        await ensureLists(me === undefined ? [recipient] : [recipient, me], signal)

        const filter: Filter = {
          kinds: [ZAP_RECEIPT_KIND],
          ...(resolved.address !== undefined ? { '#a': [resolved.address] } : resolved.eventId !== undefined ? { '#e': [resolved.eventId] } : { '#p': [recipient] }),
          limit,
          ...(options.since !== undefined && { since: options.since }),
          ...(options.until !== undefined && { until: options.until }),
        }
        // The user's settings hold for reads: not a blocked (or rank 0) relay, nor one marked `read: false`.
        const usable = (urls: readonly string[]): string[] => urls.filter((url) => !context.relayConfig.isBlocked(url) && context.relayConfig.get(url).read !== false)
        const first = usable(
          relayUrls([
            ...context.router.mentionsOf(recipient).relays,
            ...(me === undefined ? [] : context.router.mentionsOf(me).relays),
            ...resolved.hints,
            ...(options.relays ?? []),
          ]),
        )
        const reports: RelayQueryReport[] = []
        const found = new Map<string, NostrEvent>()
        const ask = async (relays: readonly string[], round: 1 | 2): Promise<void> => {
          if (relays.length === 0) return
          const result = await queryRelays(context, relays.map((url) => ({ url, filters: [filter] })), {
            signal,
            round,
            ...(options.eoseTimeoutMs !== undefined && { eoseTimeoutMs: options.eoseTimeoutMs }),
          })
          reports.push(...result.relays)
          for (const event of result.events) if (event.kind === ZAP_RECEIPT_KIND) found.set(event.id, event)
        }
        await ask(first, 1)

        const serverKey: string = nostrPubkey
        // Each receipt is judged once (its zap request's signature check is the cost).
        const verdicts = new Map<string, ZapReceiptVerdict>()
        const check = (receipt: NostrEvent): ZapReceiptVerdict => {
          let verdict = verdicts.get(receipt.id)
          if (verdict === undefined) {
            verdict = validateZapReceipt(receipt, {
              nostrPubkey: serverKey,
              recipient,
              ...(resolved.eventId !== undefined && { eventId: resolved.eventId }),
              ...(resolved.address !== undefined && { address: resolved.address }),
              ...(lnurl !== undefined && { lnurl }),
              // The pool verified every event it delivered.
              signatureVerified: true,
            })
            verdicts.set(receipt.id, verdict)
          }
          return verdict
        }
        // Second round: the relays the valid zap requests asked receipts to go to.
        const asked = new Set(first)
        const named: string[] = []
        for (const receipt of found.values()) {
          const verdict = check(receipt)
          if (!verdict.valid || verdict.zapRequest === undefined) continue
          for (const url of usable(relayUrls(verdict.zapRequest.relays))) {
            if (!asked.has(url) && !named.includes(url) && named.length < MAX_EXTRA_RECEIPT_RELAYS) named.push(url)
          }
        }
        await ask(named, 2)

        const zaps: ValidZap[] = []
        const invalid: InvalidZap[] = []
        const paid = new Set<string>()
        let total = 0n
        // Oldest first, so that of two receipts for one invoice the first published counts.
        const ordered = [...found.values()].sort((a, b) => a.created_at - b.created_at || (a.id < b.id ? -1 : 1))
        for (const receipt of ordered) {
          const verdict = check(receipt)
          const amount = verdict.amountMsats
          if (!verdict.valid || verdict.zapRequest === undefined || verdict.invoice === undefined || amount === undefined) {
            invalid.push({ receipt, problems: verdict.problems })
            continue
          }
          // Counted exactly: the total is a number too, and no one checks a receipt was really paid.
          if (total + amount > BigInt(Number.MAX_SAFE_INTEGER)) {
            invalid.push({ receipt, problems: [{ code: 'bad-amount', message: 'the amount is too large to count' }] })
            continue
          }
          if (paid.has(verdict.invoice.paymentHash)) {
            invalid.push({ receipt, problems: [{ code: 'duplicate-receipt', message: 'another receipt for the same invoice was counted' }] })
            continue
          }
          paid.add(verdict.invoice.paymentHash)
          total += amount
          const request = verdict.zapRequest
          zaps.push({
            receipt,
            zapRequest: request.event,
            amountMsats: Number(amount),
            sender: request.sender,
            recipient: request.recipient,
            comment: request.comment,
            eventId: request.eventId,
            address: request.address,
            paidAt: receipt.created_at,
          })
        }
        zaps.reverse()
        return { recipient, nostrPubkey, zaps, invalid, totalMsats: Number(total), relays: reports }
      })
    },

    async payEndpoint(person, options = {}) {
      const { pubkey, relays } = parsePerson(person, 'person')
      checkObject(options, 'options')
      return linked(options.signal, (signal) => endpointFor(pubkey, relayUrls(relays, MAX_HINT_RELAYS), options.timeoutMs, signal))
    },
  }
}
