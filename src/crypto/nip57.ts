/**
 * NIP-57 zaps, the pure part: building a zap request (kind 9734), validating one as an LNURL server
 * must (Appendix D), and validating a zap receipt (kind 9735) as a client must (Appendix F) — with
 * the reason for every failure, not a bare boolean. Also the LUD-01 `lnurl` bech32 encoding that
 * zap requests carry.
 *
 * See {@link https://github.com/nostr-protocol/nips/blob/master/57.md | NIP-57} and
 * {@link https://github.com/lnurl/luds/blob/luds/01.md | LUD-01}.
 *
 * Choices where the NIP is loose (each covered by a test):
 * - A zap request needs a `relays` tag naming at least one relay (else no receipt can be
 *   published), exactly one valid `p`, at most one `e` (valid hex), at most one `P`; `amount`,
 *   when present, a positive integer; `a`, when present, a `kind:pubkey:identifier` coordinate.
 *   `lnurl` and `amount` are optional, as the NIP says (nostr-tools leaves `lnurl` out).
 * - A receipt is valid only when *everything* checks: signed by the LNURL server's `nostrPubkey`;
 *   its `description` is a valid zap request (the one we sent, when given); the bolt11's
 *   description hash is SHA-256 of that exact description; the bolt11 has an amount, equal to the
 *   zap request's `amount` when there is one; the receipt's `p`, `e`, `a` equal the zap request's
 *   (a receipt may not claim an event the request was not for: that would let a zapper move zaps
 *   between notes); a `P`, when present, is the zap request's author; a `preimage`, when present,
 *   hashes to the payment hash. The NIP says the hash "SHOULD" match: here it must, because
 *   without it nothing ties the amount paid to this zap request.
 * - A receipt is still only the LNURL server's word that the invoice was paid (NIP-57 says so too).
 *
 * @module
 */
import { bech32 } from '@scure/base'
import { sha256 } from '@noble/hashes/sha2.js'
import { CryptoError } from '../errors.js'
import { bytesToHex, hexToBytes, isHex, utf8Encoder, utf8StrictDecoder } from './bytes.js'
import { decodeBolt11, type Bolt11Invoice } from './bolt11.js'
import { type EventTemplate, type NostrEvent, eventShapeProblem, kindClass, nowSeconds } from './event.js'
import { isValidPublicKey } from './keys.js'
import { verifyEvent } from './signature.js'

/** Kind of a zap request (sent to the LNURL server, not published). */
export const ZAP_REQUEST_KIND = 9734
/** Kind of a zap receipt (published by the LNURL server once the invoice is paid). */
export const ZAP_RECEIPT_KIND = 9735
/** Longest `lnurl` bech32 string accepted. */
export const MAX_LNURL_LENGTH = 2000

/** Why a zap request or receipt is not valid. One code per check; `message` says more. */
export type ZapProblemCode =
  // the zap request (its own checks, also reported for the request inside a receipt)
  | 'not-json'
  | 'invalid-event'
  | 'wrong-kind'
  | 'bad-signature'
  | 'no-tags'
  | 'p-tag-count'
  | 'bad-p-tag'
  | 'e-tag-count'
  | 'bad-e-tag'
  | 'no-relays'
  | 'bad-amount'
  | 'amount-mismatch'
  | 'bad-a-tag'
  | 'sender-tag-count'
  | 'lnurl-mismatch'
  | 'recipient-mismatch'
  | 'event-mismatch'
  | 'address-mismatch'
  // the receipt
  | 'wrong-signer'
  | 'no-bolt11'
  | 'bad-bolt11'
  | 'no-description'
  | 'not-our-zap-request'
  | 'no-description-hash'
  | 'description-hash-mismatch'
  | 'no-amount'
  | 'sender-mismatch'
  | 'preimage-mismatch'
  // a set of receipts (the client counts each invoice once)
  | 'duplicate-receipt'

/** One failed check. */
export interface ZapProblem {
  readonly code: ZapProblemCode
  readonly message: string
}

/** A zap request, read. */
export interface ZapRequest {
  /** The signed kind 9734 event. */
  readonly event: NostrEvent
  /** Who zaps: the zap request's author (a throwaway key for an anonymous zap). */
  readonly sender: string
  /** The `p` tag. */
  readonly recipient: string
  /** The `relays` tag: where the receipt is to be published. */
  readonly relays: readonly string[]
  /** The `amount` tag in millisatoshis, when present. */
  readonly amountMsats: bigint | undefined
  /** The `lnurl` tag, when present. */
  readonly lnurl: string | undefined
  /** The `e` tag, when zapping an event. */
  readonly eventId: string | undefined
  /** The `a` tag, when zapping an addressable or replaceable event. */
  readonly address: string | undefined
  /** The `k` tag (kind of the zapped event), when present and an integer. */
  readonly kind: number | undefined
  /** The comment (`content`). */
  readonly comment: string
}

/** What {@link validateZapRequest} returns. */
export interface ZapRequestVerdict {
  /** True when there is no problem. */
  readonly valid: boolean
  /** Every failed check, in the order checked; empty when valid. */
  readonly problems: readonly ZapProblem[]
  /** The request as read, when it was at least a well-formed event (even if other checks failed). */
  readonly zapRequest: ZapRequest | undefined
}

/** Options of {@link validateZapRequest}: what the request must agree with. */
export interface ZapRequestCheckOptions {
  /** The `amount` query parameter: an `amount` tag must equal it. */
  readonly amountMsats?: number | bigint | string
  /** The recipient it must name (`p`). */
  readonly recipient?: string
  /** The recipient's `lnurl`: an `lnurl` tag, when present, must encode the same URL. */
  readonly lnurl?: string
}

/** What {@link validateZapReceipt} returns. */
export interface ZapReceiptVerdict {
  /** True when there is no problem. */
  readonly valid: boolean
  /** Every failed check, in the order checked; empty when valid. */
  readonly problems: readonly ZapProblem[]
  /** The zap request in the `description` tag, when it could be read. */
  readonly zapRequest: ZapRequest | undefined
  /** The `bolt11` invoice, when it decoded. */
  readonly invoice: Bolt11Invoice | undefined
  /** The amount zapped: the invoice's amount, in millisatoshis, when known. */
  readonly amountMsats: bigint | undefined
}

/** Options of {@link validateZapReceipt}. */
export interface ZapReceiptCheckOptions {
  /** The LNURL server's `nostrPubkey` (from its pay endpoint): the receipt's only valid signer. */
  readonly nostrPubkey: string
  /** The zap request this receipt must be for (the one sent), as an event or its JSON. */
  readonly zapRequest?: NostrEvent | string
  /** The recipient the receipt must be for. */
  readonly recipient?: string
  /** The event the receipt must be for. */
  readonly eventId?: string
  /** The address (`kind:pubkey:d`) the receipt must be for. */
  readonly address?: string
  /** The recipient's `lnurl`: the zap request's `lnurl` tag, when present, must encode the same URL. */
  readonly lnurl?: string
  /**
   * The receipt's own signature was already verified (the relay pool verifies every event it
   * delivers): skip checking it again. The zap request's signature is always checked.
   * @default false
   */
  readonly signatureVerified?: boolean
}

/** Parameters of {@link buildZapRequest}. */
export interface ZapRequestParameters {
  /** Who is zapped (hex pubkey): the `p` tag. */
  readonly recipient: string
  /** How much, in millisatoshis (a positive integer): the `amount` tag. */
  readonly amountMsats: number | bigint
  /** Where the LNURL server publishes the receipt (at least one relay URL): the `relays` tag. */
  readonly relays: readonly string[]
  /** The recipient's pay URL, as an `lnurl1...` string or an `https://` URL (encoded for you). */
  readonly lnurl?: string
  /** A comment shown with the zap: the content. @default '' */
  readonly comment?: string
  /**
   * The event zapped: its id goes in `e`, its kind in `k`, and for a replaceable or addressable
   * event its coordinate in `a`. Pass the event itself when you have it.
   */
  readonly event?: { readonly id: string; readonly kind?: number; readonly pubkey?: string; readonly tags?: readonly (readonly string[])[] }
  /** The coordinate of an addressable event zapped without its event at hand (`kind:pubkey:d`). */
  readonly address?: string
  /** The kind of the zapped event when `event` does not say it (the `k` tag). */
  readonly kind?: number
  /** @default now */
  readonly createdAt?: number
}

// ---- lnurl ---------------------------------------------------------------------------------------

function lnurlError(details: string, cause?: unknown): CryptoError {
  return new CryptoError('NIP57_INVALID_LNURL', 'Not a valid lnurl', { details, ...(cause !== undefined && { cause }) })
}

/**
 * Encodes a URL as a LUD-01 `lnurl` (bech32, prefix `lnurl`, no length limit).
 *
 * @param url - the pay URL (`https://...`).
 * @returns the lower-case `lnurl1...` string.
 * @throws TypeError when `url` is not a string.
 * @example
 * ```ts
 * import { nip57 } from 'nostr-rendezvous/crypto'
 * nip57.encodeLnurl('https://example.com/.well-known/lnurlp/alice') // 'lnurl1dp68gurn8ghj7...'
 * ```
 */
export function encodeLnurl(url: string): string {
  if (typeof url !== 'string') throw new TypeError('url must be a string')
  return bech32.encode('lnurl', bech32.toWords(utf8Encoder.encode(url)), false)
}

/**
 * Decodes a LUD-01 `lnurl` to the URL it holds (any case but not mixed; a `lightning:` prefix is
 * dropped). Only the encoding is checked: whether the URL is acceptable (https) is the caller's call.
 *
 * @param lnurl - the `lnurl1...` string.
 * @returns the URL.
 * @throws CryptoError `NIP57_INVALID_LNURL` when it is not bech32 with the `lnurl` prefix holding UTF-8.
 * @example
 * ```ts
 * import { nip57 } from 'nostr-rendezvous/crypto'
 * nip57.decodeLnurl('LNURL1DP68GURN8GHJ7UM9WFMXJCM99E3K7MF0V9CXJ0M385EKVCENXC6R2C35XVUKXEFCV5MKVV34X5EKZD3EV56NYD3HXQURZEPEXEJXXEPNXSCRVWFNV9NXZCN9XQ6XYEFHVGCXXCMYXYMNSERXFQ5FNS')
 * // 'https://service.com/api?q=3fc3645b439ce8e7f2553a69e5267081d96dcd340693afabe04be7b0ccd178df'
 * ```
 */
export function decodeLnurl(lnurl: string): string {
  if (typeof lnurl !== 'string') throw lnurlError('not a string')
  let text = lnurl.trim()
  if (/^lightning:/i.test(text)) text = text.slice('lightning:'.length)
  if (text.length > MAX_LNURL_LENGTH) throw lnurlError(`longer than ${MAX_LNURL_LENGTH} characters`)
  let decoded
  try {
    decoded = bech32.decode(text as `${string}1${string}`, false)
  } catch (error) {
    throw lnurlError('not bech32, or a bad checksum', error)
  }
  if (decoded.prefix !== 'lnurl') throw lnurlError(`prefix ${decoded.prefix}, not lnurl`)
  try {
    return utf8StrictDecoder.decode(bech32.fromWords(decoded.words))
  } catch (error) {
    throw lnurlError('the data is not a UTF-8 string', error)
  }
}

/** The URL an lnurl or URL string stands for, or `undefined` when it is neither. */
function lnurlTarget(value: string): string | undefined {
  if (/^https?:\/\//i.test(value)) return value
  try {
    return decodeLnurl(value)
  } catch {
    return undefined
  }
}

// ---- building ------------------------------------------------------------------------------------

function positiveAmount(value: number | bigint | string, field: string): bigint {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${field} must be a positive integer (millisatoshis)`)
    return BigInt(value)
  }
  if (typeof value === 'bigint') {
    if (value < 1n) throw new RangeError(`${field} must be a positive integer (millisatoshis)`)
    return value
  }
  if (typeof value === 'string' && /^[1-9][0-9]*$/.test(value)) return BigInt(value)
  throw new TypeError(`${field} must be a positive integer (millisatoshis)`)
}

const COORDINATE = /^([0-9]{1,5}):([0-9a-f]{64}):([\s\S]*)$/

function isCoordinate(value: unknown): value is string {
  if (typeof value !== 'string') return false
  const match = COORDINATE.exec(value)
  return match !== null && Number(match[1]) <= 65535
}

/**
 * Builds an unsigned zap request (kind 9734). Sign it with the user's signer, then send it to the
 * recipient's LNURL callback (see `client.zaps.zap`, which does all of it).
 *
 * @param params - recipient, amount, relays, lnurl, comment, the event zapped.
 * @returns the template: tags `relays`, `amount`, `lnurl` (when given), `p`, and `e` / `a` / `k`
 * when zapping an event.
 * @throws TypeError / RangeError naming the field for malformed parameters.
 * @example
 * ```ts
 * import { finalizeEvent, nip57 } from 'nostr-rendezvous/crypto'
 * const template = nip57.buildZapRequest({
 *   recipient: '32e1827635450ebb3c5a7d12c1f8e7b2b514439ac10a67eef3d9fd9c5c68e245',
 *   amountMsats: 21_000,
 *   relays: ['wss://relay.example.com'],
 *   lnurl: 'https://example.com/.well-known/lnurlp/alice',
 *   comment: 'Great post!',
 * })
 * const zapRequest = finalizeEvent(template, secretKey)
 * ```
 */
export function buildZapRequest(params: ZapRequestParameters): EventTemplate & { tags: string[][]; created_at: number } {
  if (params === null || typeof params !== 'object') throw new TypeError('params must be an object')
  if (!isValidPublicKey(params.recipient)) throw new TypeError('recipient must be a hex public key')
  const amount = positiveAmount(params.amountMsats, 'amountMsats')
  if (!Array.isArray(params.relays) || params.relays.length === 0 || !params.relays.every((r) => typeof r === 'string' && r !== '')) {
    throw new TypeError('relays must be a non-empty array of relay URLs')
  }
  if (params.comment !== undefined && typeof params.comment !== 'string') throw new TypeError('comment must be a string')
  const tags: string[][] = [['relays', ...params.relays], ['amount', amount.toString()]]
  if (params.lnurl !== undefined) {
    if (typeof params.lnurl !== 'string') throw new TypeError('lnurl must be a string')
    const lnurl = /^https?:\/\//i.test(params.lnurl) ? encodeLnurl(params.lnurl) : params.lnurl.toLowerCase()
    tags.push(['lnurl', lnurl])
  }
  tags.push(['p', params.recipient])
  let kind = params.kind
  let address = params.address
  if (params.event !== undefined) {
    const event = params.event
    if (event === null || typeof event !== 'object' || !isHex(event.id, 32)) throw new TypeError('event.id must be 64 lower-case hex characters')
    tags.push(['e', event.id])
    if (event.kind !== undefined) {
      kind = event.kind
      const kindType = kindClass(event.kind)
      if (address === undefined && event.pubkey !== undefined && (kindType === 'replaceable' || kindType === 'addressable')) {
        // NIP-01: an addressable event without a `d` tag has the empty identifier.
        const d = kindType === 'addressable' ? (event.tags?.find((t) => t[0] === 'd')?.[1] ?? '') : ''
        address = `${event.kind}:${event.pubkey}:${d}`
      }
    }
  }
  if (address !== undefined) {
    if (!isCoordinate(address)) throw new TypeError('address must be kind:pubkey:identifier')
    tags.push(['a', address])
  }
  if (kind !== undefined) {
    if (!Number.isSafeInteger(kind) || kind < 0 || kind > 65535) throw new RangeError('kind must be an integer from 0 to 65535')
    tags.push(['k', String(kind)])
  }
  const createdAt = params.createdAt ?? nowSeconds()
  if (!Number.isSafeInteger(createdAt) || createdAt < 0) throw new RangeError('createdAt must be a non-negative integer')
  return { kind: ZAP_REQUEST_KIND, content: params.comment ?? '', tags, created_at: createdAt }
}

// ---- validating a zap request --------------------------------------------------------------------

function problem(code: ZapProblemCode, message: string): ZapProblem {
  return { code, message }
}

/** Tags named `name` (first element), with a string value. */
function tagsNamed(tags: readonly string[][], name: string): string[][] {
  return tags.filter((tag) => tag[0] === name)
}

function optionalAmount(value: number | bigint | string | undefined, field: string): bigint | undefined {
  return value === undefined ? undefined : positiveAmount(value, field)
}

function sameLnurl(a: string, b: string): boolean {
  if (a.toLowerCase() === b.toLowerCase()) return true
  const left = lnurlTarget(a)
  return left !== undefined && left === lnurlTarget(b)
}

/**
 * Validates a zap request as NIP-57 Appendix D asks of an LNURL server (and as a receipt checker
 * must of the request inside a receipt): a signed kind 9734 with tags, exactly one valid `p`, at
 * most one `e` and `P`, a `relays` tag naming a relay, an `amount` equal to the one requested, a
 * valid `a` coordinate. Never throws on bad input: every failure is in `problems`.
 *
 * @param input - the event, or its JSON (the `nostr` query parameter, URL-decoded).
 * @param options - `amountMsats` (the `amount` query parameter), `recipient`, `lnurl` to agree with.
 * @returns the verdict, with the request as read.
 * @throws TypeError / RangeError only for malformed `options` (a programmer error).
 * @example
 * ```ts
 * import { nip57 } from 'nostr-rendezvous/crypto'
 * const verdict = nip57.validateZapRequest(url.searchParams.get('nostr') ?? '', { amountMsats: BigInt(amountParam) })
 * if (!verdict.valid) respond({ status: 'ERROR', reason: verdict.problems[0]!.message })
 * ```
 */
export function validateZapRequest(input: unknown, options: ZapRequestCheckOptions = {}): ZapRequestVerdict {
  const expectedAmount = optionalAmount(options.amountMsats, 'options.amountMsats')
  const problems: ZapProblem[] = []
  let value = input
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input)
    } catch {
      return { valid: false, problems: [problem('not-json', 'the zap request is not JSON')], zapRequest: undefined }
    }
  }
  const shape = eventShapeProblem(value)
  if (shape !== undefined) return { valid: false, problems: [problem('invalid-event', `the zap request is not an event: ${shape}`)], zapRequest: undefined }
  const event = value as NostrEvent
  if (event.kind !== ZAP_REQUEST_KIND) problems.push(problem('wrong-kind', `the zap request is kind ${event.kind}, not ${ZAP_REQUEST_KIND}`))
  if (!verifyEvent(event)) problems.push(problem('bad-signature', 'the zap request has a bad id or signature'))
  if (event.tags.length === 0) problems.push(problem('no-tags', 'the zap request has no tags'))

  const p = tagsNamed(event.tags, 'p')
  if (p.length !== 1) problems.push(problem('p-tag-count', `the zap request has ${p.length} p tags, not 1`))
  const recipient = p[0]?.[1]
  if (p.length > 0) {
    if (!isValidPublicKey(recipient)) problems.push(problem('bad-p-tag', 'the zap request p tag is not a public key'))
    else if (options.recipient !== undefined && recipient !== options.recipient) {
      problems.push(problem('recipient-mismatch', 'the zap request is for another recipient'))
    }
  }

  const e = tagsNamed(event.tags, 'e')
  if (e.length > 1) problems.push(problem('e-tag-count', `the zap request has ${e.length} e tags, at most 1 allowed`))
  const eventId = e[0]?.[1]
  if (e.length > 0 && !isHex(eventId, 32)) problems.push(problem('bad-e-tag', 'the zap request e tag is not an event id'))

  const relaysTag = event.tags.find((tag) => tag[0] === 'relays')
  const relays = (relaysTag?.slice(1) ?? []).filter((relay) => relay !== '')
  if (relays.length === 0) problems.push(problem('no-relays', 'the zap request names no relay to publish the receipt to'))

  let amountMsats: bigint | undefined
  const amountTag = event.tags.find((tag) => tag[0] === 'amount')
  if (amountTag !== undefined) {
    const text = amountTag[1]
    if (typeof text !== 'string' || !/^[1-9][0-9]{0,30}$/.test(text)) problems.push(problem('bad-amount', 'the zap request amount is not a positive integer'))
    else {
      amountMsats = BigInt(text)
      if (expectedAmount !== undefined && amountMsats !== expectedAmount) {
        problems.push(problem('amount-mismatch', `the zap request amount ${amountMsats} is not the amount requested (${expectedAmount})`))
      }
    }
  }

  const a = event.tags.find((tag) => tag[0] === 'a')
  const address = a?.[1]
  if (a !== undefined && !isCoordinate(address)) problems.push(problem('bad-a-tag', 'the zap request a tag is not an event coordinate'))

  const senderTags = tagsNamed(event.tags, 'P')
  if (senderTags.length > 1) problems.push(problem('sender-tag-count', `the zap request has ${senderTags.length} P tags, at most 1 allowed`))

  const lnurl = event.tags.find((tag) => tag[0] === 'lnurl')?.[1]
  if (lnurl !== undefined && options.lnurl !== undefined && !sameLnurl(lnurl, options.lnurl)) {
    problems.push(problem('lnurl-mismatch', "the zap request lnurl is not the recipient's"))
  }
  const kindText = event.tags.find((tag) => tag[0] === 'k')?.[1]
  const kind = kindText !== undefined && /^[0-9]{1,5}$/.test(kindText) ? Number(kindText) : undefined

  const zapRequest: ZapRequest = {
    event,
    sender: event.pubkey,
    recipient: isValidPublicKey(recipient) ? recipient : '',
    relays,
    amountMsats,
    lnurl,
    eventId: isHex(eventId, 32) ? eventId : undefined,
    address: isCoordinate(address) ? address : undefined,
    kind,
    comment: event.content,
  }
  return { valid: problems.length === 0, problems, zapRequest }
}

// ---- validating a zap receipt --------------------------------------------------------------------

/**
 * Validates a zap receipt (kind 9735) as NIP-57 Appendix F asks, and more (see the module notes):
 * the signer is the LNURL server's `nostrPubkey`, the `description` is a valid zap request (the one
 * sent, when given), the invoice commits to it (description hash) and asks for its amount, and the
 * receipt's `p` / `e` / `a` / `P` tags agree with it. Never throws on bad input.
 *
 * @param receipt - the receipt (anything: it came from a relay).
 * @param options - the server's `nostrPubkey` (required), the zap request sent, the target expected.
 * @returns the verdict: `valid`, every problem found, and the zap request, invoice and amount as read.
 * @throws TypeError when `options.nostrPubkey` is not a hex public key (a programmer error).
 * @example
 * ```ts
 * import { nip57 } from 'nostr-rendezvous/crypto'
 * const verdict = nip57.validateZapReceipt(receipt, { nostrPubkey: payEndpoint.nostrPubkey, eventId: note.id })
 * if (verdict.valid) console.log(`${verdict.zapRequest!.sender} zapped ${verdict.amountMsats} msats`)
 * else console.log(verdict.problems.map((p) => p.code)) // e.g. ['wrong-signer']
 * ```
 */
export function validateZapReceipt(receipt: unknown, options: ZapReceiptCheckOptions): ZapReceiptVerdict {
  if (options === null || typeof options !== 'object' || !isValidPublicKey(options.nostrPubkey)) {
    throw new TypeError('options.nostrPubkey must be a hex public key')
  }
  const shape = eventShapeProblem(receipt)
  if (shape !== undefined) {
    return { valid: false, problems: [problem('invalid-event', `the receipt is not an event: ${shape}`)], zapRequest: undefined, invoice: undefined, amountMsats: undefined }
  }
  const event = receipt as NostrEvent
  const problems: ZapProblem[] = []
  if (event.kind !== ZAP_RECEIPT_KIND) problems.push(problem('wrong-kind', `the receipt is kind ${event.kind}, not ${ZAP_RECEIPT_KIND}`))
  if (options.signatureVerified !== true && !verifyEvent(event)) problems.push(problem('bad-signature', 'the receipt has a bad id or signature'))
  if (event.pubkey !== options.nostrPubkey) problems.push(problem('wrong-signer', "the receipt is not signed by the recipient's LNURL server"))

  // The invoice.
  let invoice: Bolt11Invoice | undefined
  const bolt11 = event.tags.find((tag) => tag[0] === 'bolt11')?.[1]
  if (bolt11 === undefined) problems.push(problem('no-bolt11', 'the receipt has no bolt11 tag'))
  else {
    try {
      invoice = decodeBolt11(bolt11)
    } catch (error) {
      problems.push(problem('bad-bolt11', `the receipt bolt11 does not decode: ${error instanceof Error ? error.message : String(error)}`))
    }
  }

  // The zap request it claims to answer.
  let zapRequest: ZapRequest | undefined
  const description = event.tags.find((tag) => tag[0] === 'description')?.[1]
  if (description === undefined) problems.push(problem('no-description', 'the receipt has no description tag (the zap request)'))
  else {
    const verdict = validateZapRequest(description, {
      ...(options.recipient !== undefined && { recipient: options.recipient }),
      ...(options.lnurl !== undefined && { lnurl: options.lnurl }),
    })
    zapRequest = verdict.zapRequest
    problems.push(...verdict.problems)
    if (options.zapRequest !== undefined) {
      const sent = typeof options.zapRequest === 'string' ? safeId(options.zapRequest) : options.zapRequest.id
      if (zapRequest === undefined || zapRequest.event.id !== sent) problems.push(problem('not-our-zap-request', 'the receipt is for another zap request'))
    }
    if (invoice !== undefined) {
      const hash = bytesToHex(sha256(utf8Encoder.encode(description)))
      if (invoice.descriptionHash === undefined) problems.push(problem('no-description-hash', 'the invoice has no description hash'))
      else if (invoice.descriptionHash !== hash) problems.push(problem('description-hash-mismatch', 'the invoice description hash is not the hash of the zap request'))
    }
  }

  // Amounts: the invoice's is what was paid.
  const amountMsats = invoice?.amountMsats
  if (invoice !== undefined && amountMsats === undefined) problems.push(problem('no-amount', 'the invoice has no amount'))
  if (amountMsats !== undefined && zapRequest?.amountMsats !== undefined && zapRequest.amountMsats !== amountMsats) {
    problems.push(problem('amount-mismatch', `the invoice amount ${amountMsats} is not the zap request amount ${zapRequest.amountMsats}`))
  }

  // The receipt's tags must say what the zap request says.
  if (zapRequest !== undefined) {
    const p = tagsNamed(event.tags, 'p')
    if (p.length !== 1 || p[0]![1] !== zapRequest.recipient) problems.push(problem('recipient-mismatch', 'the receipt p tag is not the zap request recipient'))
    const e = tagsNamed(event.tags, 'e').map((tag) => tag[1])
    if (zapRequest.eventId === undefined ? e.length > 0 : e.length !== 1 || e[0] !== zapRequest.eventId) {
      problems.push(problem('event-mismatch', 'the receipt e tag is not the zap request e tag'))
    }
    const a = tagsNamed(event.tags, 'a').map((tag) => tag[1])
    if (zapRequest.address === undefined ? a.length > 0 : a.length !== 1 || a[0] !== zapRequest.address) {
      problems.push(problem('address-mismatch', 'the receipt a tag is not the zap request a tag'))
    }
    const sender = tagsNamed(event.tags, 'P')
    if (sender.length > 1 || (sender.length === 1 && sender[0]![1] !== zapRequest.sender)) {
      problems.push(problem('sender-mismatch', 'the receipt P tag is not the zap request author'))
    }
  }
  // The target the caller asked about.
  const requestEvent = zapRequest?.eventId
  if (options.eventId !== undefined && requestEvent !== options.eventId) problems.push(problem('event-mismatch', 'the zap is not for this event'))
  if (options.address !== undefined && zapRequest?.address !== options.address) problems.push(problem('address-mismatch', 'the zap is not for this address'))

  const preimage = event.tags.find((tag) => tag[0] === 'preimage')?.[1]
  if (preimage !== undefined && invoice !== undefined) {
    if (!isHex(preimage, 32) || bytesToHex(sha256(hexToBytes(preimage))) !== invoice.paymentHash) {
      problems.push(problem('preimage-mismatch', 'the preimage does not hash to the payment hash'))
    }
  }
  return { valid: problems.length === 0, problems: dedupe(problems), zapRequest, invoice, amountMsats }
}

/** The id in a zap request's JSON, or '' when it has none. */
function safeId(json: string): string {
  try {
    const value: unknown = JSON.parse(json)
    const id = value !== null && typeof value === 'object' ? (value as { id?: unknown }).id : undefined
    return typeof id === 'string' ? id : ''
  } catch {
    return ''
  }
}

/** One problem per code and message (the target checks can repeat a tag check). */
function dedupe(problems: ZapProblem[]): ZapProblem[] {
  const seen = new Set<string>()
  return problems.filter((p) => {
    const key = `${p.code}\u0000${p.message}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}
