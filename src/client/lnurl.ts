/**
 * LNURL-pay for zaps: a lightning address (LUD-16 `name@domain`) or an `lnurl` (LUD-06 / LUD-01)
 * to its pay endpoint, that endpoint's answer checked (LUD-06 plus NIP-57's `allowsNostr` and
 * `nostrPubkey`), and the zap invoice requested from its callback and checked before anyone pays
 * it: the amount asked for, and a description hash committing to the zap request sent.
 *
 * Bounded like every network read here: a timeout (default 10 s) per request, a cap on the answer
 * (default 256 KiB: LUD-06 allows a 100 KB base64 image in the metadata), JSON checked field by
 * field, `https://` only (`http://` only for `.onion`, as LUD-01 says), redirects refused (a
 * redirect could leave https or the domain the address named). Requests go through the `fetch`
 * given (the client passes `context.fetch`, so a configured proxy applies).
 *
 * @module
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex, utf8Encoder } from '../crypto/bytes.js'
import { decodeBolt11, type Bolt11Invoice } from '../crypto/bolt11.js'
import type { NostrEvent } from '../crypto/event.js'
import { isValidPublicKey } from '../crypto/keys.js'
import { decodeLnurl, encodeLnurl } from '../crypto/nip57.js'
import { ClientError, type ClientErrorCode } from '../errors.js'
import { readBodyCapped } from '../relay-pool/http.js'

/** Default bound on one LNURL request, in ms. */
export const LNURL_TIMEOUT_MS = 10_000
/** Default cap on an LNURL answer, in bytes. */
export const LNURL_MAX_RESPONSE_BYTES = 262_144

/** A recipient's LNURL-pay endpoint, checked. */
export interface LnurlPayEndpoint {
  /** The URL fetched (`https://domain/.well-known/lnurlp/name` for a lightning address). */
  readonly url: string
  /** `url` as a bech32 `lnurl` (what a zap request's `lnurl` tag and the callback's `lnurl` carry). */
  readonly lnurl: string
  /** The lightning address it was resolved from, when it was one. */
  readonly address: string | undefined
  /** Where invoices are requested. */
  readonly callback: string
  /** Smallest amount accepted, in millisatoshis. */
  readonly minSendable: number
  /** Largest amount accepted, in millisatoshis (a larger bound given reads as `Number.MAX_SAFE_INTEGER`). */
  readonly maxSendable: number
  /** LUD-06 metadata (a JSON string), when given. */
  readonly metadata: string | undefined
  /** The server takes zap requests (NIP-57): `allowsNostr` is `true` and `nostrPubkey` is valid. */
  readonly allowsNostr: boolean
  /** The key the server signs zap receipts with; `undefined` unless `allowsNostr`. */
  readonly nostrPubkey: string | undefined
  /** LUD-12: longest comment accepted, when the server says. */
  readonly commentAllowed: number | undefined
}

/** Bounds and transport of LNURL requests. */
export interface LnurlRequestOptions {
  /** The `fetch` to use. @default globalThis.fetch */
  readonly fetch?: typeof fetch
  /** Bound on each request, in ms. @default 10_000 */
  readonly timeoutMs?: number
  /** Largest answer read, in bytes. @default 262_144 */
  readonly maxResponseBytes?: number
  readonly signal?: AbortSignal
}

/** A zap invoice, checked (what `client.zaps.zap()` gets from the LNURL server). */
export interface ZapInvoiceResponse {
  /** The BOLT-11 invoice to pay (`pr`). */
  readonly invoice: string
  /** It, decoded. */
  readonly decoded: Bolt11Invoice
}

function lnurlError(code: ClientErrorCode, message: string, details?: string, cause?: unknown): ClientError {
  return new ClientError(code, message, { ...(details !== undefined && { details }), ...(cause !== undefined && { cause }) })
}

/** The URL is one an LNURL may point at: https, or http to an onion service. */
function acceptableUrl(text: string): URL | undefined {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return undefined
  }
  if (url.username !== '' || url.password !== '') return undefined
  if (url.protocol === 'https:') return url
  if (url.protocol === 'http:' && url.hostname.endsWith('.onion')) return url
  return undefined
}

const ADDRESS = /^([a-z0-9\-_.+]+)@([a-z0-9.-]+\.[a-z0-9-]+|[a-z0-9-]+)$/

/**
 * The pay URL of a lightning address (LUD-16) or an `lnurl` (LUD-06 / LUD-01), or an `https://`
 * URL as is. Lightning addresses are lower-cased first (LUD-16 names are lower-case; people type
 * capitals).
 *
 * @param input - `name@domain`, `lnurl1...` (any case, `lightning:` prefix allowed), or an https URL.
 * @returns the URL to GET, and the address when `input` was one.
 * @throws ClientError `LNURL_INVALID_ADDRESS` when it is none of those, or not https (`http://` only
 * for `.onion`).
 * @example
 * ```ts
 * // Internal to the client (loaded with `client.zaps`), not a package export.
 * lnurlPayUrl('alice@example.com').url // 'https://example.com/.well-known/lnurlp/alice'
 * ```
 */
export function lnurlPayUrl(input: string): { url: string; address: string | undefined } {
  if (typeof input !== 'string') throw new TypeError('input must be a lightning address or an lnurl')
  const text = input.trim()
  const lower = text.toLowerCase()
  const address = ADDRESS.exec(lower)
  if (address !== null) {
    const [, name, domain] = address
    const scheme = domain!.endsWith('.onion') ? 'http' : 'https'
    const url = acceptableUrl(`${scheme}://${domain}/.well-known/lnurlp/${name}`)
    if (url === undefined || url.hostname !== domain) throw lnurlError('LNURL_INVALID_ADDRESS', 'Not a usable lightning address', text.slice(0, 200))
    return { url: url.href, address: lower }
  }
  let target: string
  if (/^https?:\/\//i.test(text)) target = text
  else {
    try {
      target = decodeLnurl(text)
    } catch (error) {
      throw lnurlError('LNURL_INVALID_ADDRESS', 'Not a lightning address or an lnurl', text.slice(0, 200), error)
    }
  }
  const url = acceptableUrl(target)
  if (url === undefined) throw lnurlError('LNURL_INVALID_ADDRESS', 'The lnurl is not an https URL', target.slice(0, 200))
  return { url: url.href, address: undefined }
}

function checkBounds(options: LnurlRequestOptions): { fetch: typeof fetch; timeoutMs: number; maxBytes: number } {
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object')
  const timeoutMs = options.timeoutMs ?? LNURL_TIMEOUT_MS
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1) throw new RangeError('timeoutMs must be a positive integer')
  const maxBytes = options.maxResponseBytes ?? LNURL_MAX_RESPONSE_BYTES
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) throw new RangeError('maxResponseBytes must be a positive integer')
  const fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init))
  if (typeof fetchImpl !== 'function') throw new TypeError('fetch must be a function')
  return { fetch: fetchImpl, timeoutMs, maxBytes }
}


/**
 * GETs `url` and parses the JSON answer, within the bounds. LUD-01: status codes mean nothing, the
 * body is read whatever the status; an `{"status":"ERROR"}` body is the server's refusal.
 */
async function getJson(url: string, options: LnurlRequestOptions, what: string): Promise<Record<string, unknown>> {
  const { fetch: fetchImpl, timeoutMs, maxBytes } = checkBounds(options)
  const controller = new AbortController()
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    controller.abort(new Error('timeout'))
  }, timeoutMs)
  const caller = options.signal
  const onAbort = (): void => controller.abort(caller?.reason)
  caller?.addEventListener('abort', onAbort, { once: true })
  const failed = (error: unknown): ClientError => {
    if (error instanceof ClientError) return error
    if (timedOut) return lnurlError('LNURL_TIMEOUT', 'The LNURL server did not answer in time', `${what}: ${timeoutMs} ms`, error)
    if (caller?.aborted) return lnurlError('CLIENT_ABORTED', 'Aborted', undefined, error)
    return lnurlError('LNURL_UNREACHABLE', 'The LNURL server could not be reached', what, error)
  }
  try {
    if (caller?.aborted) throw lnurlError('CLIENT_ABORTED', 'Aborted', undefined, caller.reason)
    let response: Response
    try {
      response = await fetchImpl(url, {
        method: 'GET',
        headers: { accept: 'application/json' },
        redirect: 'error',
        credentials: 'omit',
        signal: controller.signal,
      })
    } catch (error) {
      throw failed(error)
    }
    let text: string
    try {
      const bytes = await readBodyCapped(response, maxBytes, controller.signal, () =>
        lnurlError('LNURL_RESPONSE_TOO_LARGE', 'The LNURL answer is too large', `${what}: over ${maxBytes} bytes`),
      )
      text = new TextDecoder('utf-8', { fatal: false }).decode(bytes)
    } catch (error) {
      throw failed(error)
    }
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch (error) {
      throw lnurlError('LNURL_INVALID_RESPONSE', 'The LNURL answer is not JSON', `${what}: HTTP ${response.status}`, error)
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw lnurlError('LNURL_INVALID_RESPONSE', 'The LNURL answer is not a JSON object', `${what}: HTTP ${response.status}`)
    }
    const object = value as Record<string, unknown>
    if (typeof object.status === 'string' && object.status.toUpperCase() === 'ERROR') {
      const reason = typeof object.reason === 'string' ? object.reason.replace(/[\u0000-\u001f\u007f]/g, ' ').slice(0, 300) : 'no reason given'
      throw lnurlError('LNURL_ERROR_STATUS', 'The LNURL server refused', `${what}: ${reason}`)
    }
    return object
  } finally {
    clearTimeout(timer)
    caller?.removeEventListener('abort', onAbort)
  }
}

function invalidResponse(details: string, cause?: unknown): ClientError {
  return lnurlError('LNURL_INVALID_RESPONSE', 'The LNURL answer is not a valid pay response', details, cause)
}

/** A millisatoshi bound: a positive safe integer. */
function msats(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw invalidResponse(`${field} is not a positive integer`)
  // A bound past what a number holds exactly (servers write 1e19 for "no limit") is as good as no
  // bound: amounts asked for are safe integers anyway.
  return Math.min(value, Number.MAX_SAFE_INTEGER)
}

/**
 * Reads a LUD-06 pay response (with NIP-57's `allowsNostr` and `nostrPubkey`).
 *
 * @internal
 */
export function parsePayResponse(body: Readonly<Record<string, unknown>>, url: string, address: string | undefined): LnurlPayEndpoint {
  if (body.tag !== 'payRequest') throw invalidResponse(`tag is ${JSON.stringify(body.tag)?.slice(0, 40)}, not "payRequest"`)
  if (typeof body.callback !== 'string') throw invalidResponse('no callback')
  const callback = acceptableUrl(body.callback)
  if (callback === undefined) throw invalidResponse('the callback is not an https URL')
  const minSendable = msats(body.minSendable, 'minSendable')
  const maxSendable = msats(body.maxSendable, 'maxSendable')
  if (minSendable > maxSendable) throw invalidResponse('minSendable is above maxSendable')
  const allowsNostr = body.allowsNostr === true && isValidPublicKey(body.nostrPubkey)
  const comment = body.commentAllowed
  return {
    url,
    lnurl: encodeLnurl(url),
    address,
    callback: callback.href,
    minSendable,
    maxSendable,
    metadata: typeof body.metadata === 'string' ? body.metadata : undefined,
    allowsNostr,
    nostrPubkey: allowsNostr ? (body.nostrPubkey as string) : undefined,
    commentAllowed: typeof comment === 'number' && Number.isSafeInteger(comment) && comment >= 0 ? comment : undefined,
  }
}

/**
 * Fetches and checks a recipient's LNURL-pay endpoint.
 *
 * @param input - a lightning address (`name@domain`), an `lnurl1...`, or an https URL.
 * @param options - `fetch`, `timeoutMs`, `maxResponseBytes`, `signal`.
 * @returns the endpoint; check `allowsNostr` before zapping (`requestZapInvoice` does).
 * @throws ClientError `LNURL_INVALID_ADDRESS`, `LNURL_UNREACHABLE`, `LNURL_TIMEOUT`,
 * `LNURL_RESPONSE_TOO_LARGE`, `LNURL_INVALID_RESPONSE`, `LNURL_ERROR_STATUS`, `CLIENT_ABORTED`.
 * @example
 * ```ts
 * // Internal to the client (loaded with `client.zaps`), not a package export.
 * const endpoint = await fetchPayEndpoint('alice@example.com')
 * if (endpoint.allowsNostr) console.log('zaps signed by', endpoint.nostrPubkey)
 * ```
 */
export async function fetchPayEndpoint(input: string, options: LnurlRequestOptions = {}): Promise<LnurlPayEndpoint> {
  const { url, address } = lnurlPayUrl(input)
  const body = await getJson(url, options, 'pay endpoint')
  return parsePayResponse(body, url, address)
}

/** The callback URL with the zap query: `amount`, `nostr` (percent-encoded JSON), `lnurl`. */
function callbackUrl(endpoint: LnurlPayEndpoint, amountMsats: number, zapRequestJson: string): string {
  const url = new URL(endpoint.callback)
  url.hash = ''
  // A bare trailing '?' (an empty query) is dropped, or the first parameter would be read as '?amount'.
  if (url.search === '') url.search = ''
  // encodeURIComponent, not URLSearchParams: a space must travel as %20, not '+', or a server that
  // decodes with decodeURIComponent would hash a different description.
  const query = `amount=${amountMsats}&nostr=${encodeURIComponent(zapRequestJson)}&lnurl=${encodeURIComponent(endpoint.lnurl)}`
  return `${url.href}${url.search === '' ? '?' : '&'}${query}`
}

/**
 * Requests a zap invoice: GET the callback with `amount`, `nostr` (the signed zap request) and
 * `lnurl`, then check the invoice before returning it — it decodes, asks for exactly
 * `amountMsats`, and its description hash is SHA-256 of the zap request JSON sent.
 *
 * @param endpoint - from {@link fetchPayEndpoint}; must allow Nostr.
 * @param zapRequest - the signed kind 9734.
 * @param amountMsats - the amount, in millisatoshis (the zap request's `amount` tag, when it has one).
 * @param options - `fetch`, `timeoutMs`, `maxResponseBytes`, `signal`.
 * @returns the invoice, decoded. Paying it is the wallet's job.
 * @throws RangeError when `amountMsats` is not a positive integer or differs from the zap request's
 * `amount` tag; ClientError `LNURL_NOSTR_UNSUPPORTED`, `LNURL_AMOUNT_OUT_OF_RANGE`,
 * `LNURL_INVOICE_MISMATCH`, and those of {@link fetchPayEndpoint}.
 * @example
 * ```ts
 * // Internal to the client (loaded with `client.zaps`), not a package export.
 * const endpoint = await fetchPayEndpoint('alice@example.com')
 * const { invoice } = await requestZapInvoice(endpoint, signedZapRequest, 21_000)
 * ```
 */
export async function requestZapInvoice(
  endpoint: LnurlPayEndpoint,
  zapRequest: NostrEvent,
  amountMsats: number,
  options: LnurlRequestOptions = {},
): Promise<ZapInvoiceResponse> {
  if (!Number.isSafeInteger(amountMsats) || amountMsats < 1) throw new RangeError('amountMsats must be a positive integer')
  const tagged = zapRequest.tags.find((tag) => tag[0] === 'amount')?.[1]
  if (tagged !== undefined && tagged !== String(amountMsats)) throw new RangeError('amountMsats must equal the zap request amount tag')
  if (!endpoint.allowsNostr || endpoint.nostrPubkey === undefined) {
    throw lnurlError('LNURL_NOSTR_UNSUPPORTED', 'The LNURL server does not accept zaps (no allowsNostr and nostrPubkey)', endpoint.address ?? endpoint.url)
  }
  if (amountMsats < endpoint.minSendable || amountMsats > endpoint.maxSendable) {
    throw lnurlError('LNURL_AMOUNT_OUT_OF_RANGE', 'The amount is outside what the LNURL server accepts', `${endpoint.minSendable}..${endpoint.maxSendable} msats`)
  }
  const json = JSON.stringify(zapRequest)
  const body = await getJson(callbackUrl(endpoint, amountMsats, json), options, 'callback')
  if (typeof body.pr !== 'string' || body.pr === '') throw invalidResponse('no pr (invoice) in the callback answer')
  let decoded: Bolt11Invoice
  try {
    decoded = decodeBolt11(body.pr)
  } catch (error) {
    throw invalidResponse('the pr is not a BOLT-11 invoice', error)
  }
  if (decoded.amountMsats !== BigInt(amountMsats)) {
    throw lnurlError('LNURL_INVOICE_MISMATCH', 'The invoice is not for the amount asked', `asked ${amountMsats} msats, invoice ${decoded.amountMsats ?? 'any'}`)
  }
  const expected = bytesToHex(sha256(utf8Encoder.encode(json)))
  if (decoded.descriptionHash !== expected) {
    throw lnurlError('LNURL_INVOICE_MISMATCH', 'The invoice does not commit to the zap request', 'description hash is not SHA-256 of the zap request')
  }
  return { invoice: decoded.paymentRequest, decoded }
}
