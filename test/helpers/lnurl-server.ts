/**
 * A local HTTP server playing the LNURL side of NIP-57 zaps, for wire tests: it serves
 * `/.well-known/lnurlp/<name>` (LUD-06 / LUD-16, with `allowsNostr` and `nostrPubkey`), its callback
 * validates the zap request (with nostr-tools, so a bug in ours does not excuse itself) and returns
 * a real BOLT-11 invoice signed with a secp256k1 recoverable signature, and on demand it "pays" an
 * invoice by publishing a zap receipt, signed with its `nostrPubkey` key, to the relays the zap
 * request names. Misbehaviour on request: a wrong invoice amount or description hash, no
 * `allowsNostr`, `status: ERROR`, a huge body, a slow answer, a redirect, an http callback.
 *
 * The server listens on 127.0.0.1 but presents itself as `https://<host>/` (default
 * `zaps.test`): {@link LnurlServer.fetch} maps those URLs to it, so the code under test keeps its
 * https-only rule and needs no test-only escape.
 *
 * Also {@link encodeBolt11}, a BOLT-11 encoder (tests only: the library decodes, it never issues
 * invoices).
 *
 * @example
 * ```ts
 * const lnurl = await startLnurlServer({ users: ['alice'] })
 * const client = testClient({ signer, indexerRelays, fetch: lnurl.fetch })
 * const { invoice } = await client.zaps.zap(alicePubkey, 21_000)
 * await lnurl.pay(invoice) // the receipt goes to the zap request's relays
 * await lnurl.close()
 * ```
 *
 * @module
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { Readable } from 'node:stream'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { bech32 } from '@scure/base'
import { makeZapReceipt, validateZapRequest as toolsValidateZapRequest } from 'nostr-tools/nip57'
import { bytesToHex, hexToBytes, randomBytes } from '../../src/crypto/bytes.js'
import type { NostrEvent } from '../../src/crypto/event.js'
import { generateSecretKey, getPublicKey } from '../../src/crypto/keys.js'
import { finalizeEvent } from '../../src/crypto/signature.js'
import { openRawClient } from './relay-fleet.js'

// ---- a BOLT-11 encoder ---------------------------------------------------------------------------

/** What {@link encodeBolt11} puts in an invoice. */
export interface EncodeBolt11Options {
  /** The node key that signs (32 bytes). */
  readonly nodeKey: Uint8Array
  /** Currency prefix after `ln`. @default 'bc' */
  readonly currency?: string
  /** Millisatoshis; none: an invoice for any amount. */
  readonly amountMsats?: bigint | number
  /** The human-readable part as is, instead of one built from `currency` and `amountMsats`. */
  readonly hrp?: string
  /** @default 1_700_000_000 */
  readonly timestamp?: number
  /** 32 bytes. @default random */
  readonly paymentHash?: Uint8Array
  /** Leave the `p` field out (an invalid invoice). @default false */
  readonly omitPaymentHash?: boolean
  readonly paymentSecret?: Uint8Array
  readonly description?: string
  /** 32 bytes (hex or bytes). */
  readonly descriptionHash?: Uint8Array | string
  readonly expirySeconds?: number
  readonly minFinalCltvExpiry?: number
  /** Include the `n` field (the payee's compressed key). @default false */
  readonly includePayee?: boolean
  /** Fields to add as they are (type word, data words), e.g. unknown ones. */
  readonly extraFields?: ReadonlyArray<{ readonly type: number; readonly words: readonly number[] }>
}

/** The shortest BOLT-11 amount for `msats`: the largest multiplier that keeps it whole. */
export function bolt11Amount(msats: bigint): string {
  if (msats % 100_000_000_000n === 0n) return `${msats / 100_000_000_000n}`
  if (msats % 100_000_000n === 0n) return `${msats / 100_000_000n}m`
  if (msats % 100_000n === 0n) return `${msats / 100_000n}u`
  if (msats % 100n === 0n) return `${msats / 100n}n`
  return `${msats * 10n}p`
}

function numberWords(value: number): number[] {
  const words: number[] = []
  let rest = value
  do {
    words.unshift(rest % 32)
    rest = Math.floor(rest / 32)
  } while (rest > 0)
  return words
}

function field(type: number, words: readonly number[]): number[] {
  if (words.length > 1023) throw new RangeError('field too long')
  return [type, words.length >> 5, words.length & 31, ...words]
}

/** 5-bit words to bytes, the last byte zero-padded (how BOLT-11 forms the signed data). */
function paddedBytes(words: readonly number[]): Uint8Array {
  const out = new Uint8Array(Math.ceil((words.length * 5) / 8))
  let bit = 0
  for (const word of words) {
    for (let i = 4; i >= 0; i--) {
      if ((word >> i) & 1) out[bit >> 3]! |= 0x80 >> (bit & 7)
      bit++
    }
  }
  return out
}

/**
 * Encodes a BOLT-11 invoice with a real recoverable ECDSA signature (`r || s || recid`, over
 * SHA-256 of the human-readable part and the zero-padded data).
 *
 * @param options - the fields and the node key.
 * @returns the invoice, lower case.
 */
export function encodeBolt11(options: EncodeBolt11Options): string {
  const amount = options.amountMsats === undefined ? '' : bolt11Amount(BigInt(options.amountMsats))
  const hrp = options.hrp ?? `ln${options.currency ?? 'bc'}${amount}`
  const words: number[] = []
  const timestamp = options.timestamp ?? 1_700_000_000
  for (let i = 6; i >= 0; i--) words.push(Math.floor(timestamp / 32 ** i) % 32)
  if (options.omitPaymentHash !== true) words.push(...field(1, bech32.toWords(options.paymentHash ?? randomBytes(32))))
  if (options.description !== undefined) words.push(...field(13, bech32.toWords(new TextEncoder().encode(options.description))))
  if (options.descriptionHash !== undefined) {
    const hash = typeof options.descriptionHash === 'string' ? hexToBytes(options.descriptionHash) : options.descriptionHash
    words.push(...field(23, bech32.toWords(hash)))
  }
  if (options.paymentSecret !== undefined) words.push(...field(16, bech32.toWords(options.paymentSecret)))
  if (options.expirySeconds !== undefined) words.push(...field(6, numberWords(options.expirySeconds)))
  words.push(...field(24, numberWords(options.minFinalCltvExpiry ?? 18)))
  if (options.includePayee === true) words.push(...field(19, bech32.toWords(secp256k1.getPublicKey(options.nodeKey, true))))
  for (const extra of options.extraFields ?? []) words.push(...field(extra.type, extra.words))
  const hrpBytes = new TextEncoder().encode(hrp)
  const data = paddedBytes(words)
  const signed = new Uint8Array(hrpBytes.length + data.length)
  signed.set(hrpBytes)
  signed.set(data, hrpBytes.length)
  // noble's 'recovered' format puts the recovery id first; BOLT-11 wants it last.
  const recovered = secp256k1.sign(sha256(signed), options.nodeKey, { prehash: false, format: 'recovered' })
  const signature = new Uint8Array(65)
  signature.set(recovered.subarray(1, 65))
  signature[64] = recovered[0]!
  words.push(...bech32.toWords(signature))
  return bech32.encode(hrp, words, false)
}

/**
 * The payee key a BOLT-11 signature recovers to (compressed, hex), or `undefined` when it does not
 * recover: how a test checks the decoder's `signature`, `recoveryId` and `signingHash`.
 */
export function recoverPayee(signature: Uint8Array, recoveryId: number, signingHash: Uint8Array): string | undefined {
  try {
    const recovered = new Uint8Array(65)
    recovered[0] = recoveryId
    recovered.set(signature, 1)
    return bytesToHex(secp256k1.recoverPublicKey(recovered, signingHash, { prehash: false }))
  } catch {
    return undefined
  }
}

/**
 * A GET-only `fetch` over `node:http` with no connection reuse: globalThis.fetch (undici) keeps an
 * aborted or cancelled connection around for its keep-alive time, which the leak check sees as a
 * socket and a timer left behind. `redirect: 'error'` is honoured as fetch does (a TypeError).
 */
function loopbackFetch(target: string, init: RequestInit | undefined): Promise<Response> {
  return new Promise<Response>((resolve, reject) => {
    const signal = init?.signal ?? undefined
    if (signal?.aborted) return reject(signal.reason)
    const req = httpRequest(target, { method: 'GET', agent: false, headers: { accept: 'application/json', connection: 'close' } }, (res) => {
      const status = res.statusCode ?? 500
      if (init?.redirect === 'error' && status >= 300 && status < 400) {
        res.destroy()
        return reject(new TypeError('fetch failed: redirect'))
      }
      const headers = new Headers()
      for (const [name, value] of Object.entries(res.headers)) if (typeof value === 'string') headers.set(name, value)
      resolve(new Response(Readable.toWeb(res) as ReadableStream<Uint8Array>, { status, headers }))
    })
    const onAbort = (): void => {
      req.destroy(signal?.reason instanceof Error ? signal.reason : new Error('aborted'))
    }
    signal?.addEventListener('abort', onAbort, { once: true })
    req.on('error', reject)
    req.on('close', () => signal?.removeEventListener('abort', onAbort))
    req.end()
  })
}

// ---- the server ----------------------------------------------------------------------------------

/** How the server misbehaves (all off by default). */
export interface LnurlServerBehaviour {
  /** Advertise `allowsNostr: true`. @default true */
  readonly allowsNostr: boolean
  /** Advertise this `nostrPubkey` instead of the server's key. */
  readonly nostrPubkey: string | undefined
  /** The pay endpoint answers `{ status: 'ERROR', reason }`. */
  readonly payError: string | undefined
  /** The callback answers `{ status: 'ERROR', reason }`. */
  readonly callbackError: string | undefined
  /** Added to the amount of the invoices made. @default 0 */
  readonly invoiceAmountDeltaMsats: number
  /** Invoices commit to another description. @default false */
  readonly wrongDescriptionHash: boolean
  /** Which answer is replaced by a 2 MiB body (chunked, no content-length). */
  readonly hugeBody: 'pay' | 'callback' | undefined
  /** Delay before every answer, in ms. @default 0 */
  readonly delayMs: number
  /** Pay endpoint answers with a 302 to this URL. */
  readonly redirectTo: string | undefined
  /** The callback URL advertised, instead of `https://<host>/lnurlp/<name>/callback`. */
  readonly callbackUrl: string | undefined
  /** @default 1000 */
  readonly minSendable: number
  /** @default 100_000_000_000 */
  readonly maxSendable: number
}

const DEFAULT_BEHAVIOUR: LnurlServerBehaviour = {
  allowsNostr: true,
  nostrPubkey: undefined,
  payError: undefined,
  callbackError: undefined,
  invoiceAmountDeltaMsats: 0,
  wrongDescriptionHash: false,
  hugeBody: undefined,
  delayMs: 0,
  redirectTo: undefined,
  callbackUrl: undefined,
  minSendable: 1000,
  maxSendable: 100_000_000_000,
}

/** An invoice the server issued. */
export interface IssuedInvoice {
  readonly invoice: string
  readonly amountMsats: number
  /** The `nostr` parameter as received (the description the invoice commits to), if any. */
  readonly zapRequest: string | undefined
  readonly preimage: Uint8Array
}

/** How {@link LnurlServer.pay} tampers with the receipt. */
export interface PayOptions {
  /** Sign the receipt with this key instead of the server's. */
  readonly signWith?: Uint8Array
  /** Put an invoice for another amount (committing to the right description) in the receipt. */
  readonly receiptAmountDeltaMsats?: number
  /** Put an invoice committing to another description (right amount) in the receipt. */
  readonly receiptWrongHash?: boolean
  /** The receipt's `created_at`. @default now */
  readonly paidAt?: number
  /** Publish to these relays instead of the zap request's. */
  readonly relays?: readonly string[]
}

/** A running LNURL server. */
export interface LnurlServer {
  /** The name it presents (`zaps.test`). */
  readonly host: string
  /** `https://<host>`. */
  readonly origin: string
  /** The real address, `http://127.0.0.1:<port>`. */
  readonly localOrigin: string
  /** The key its receipts are signed with, and its hex pubkey (`nostrPubkey`). */
  readonly secretKey: Uint8Array
  readonly nostrPubkey: string
  /** The node key its invoices are signed with. */
  readonly nodeKey: Uint8Array
  /** A `fetch` that sends `https://<host>/...` here and refuses every other URL. */
  readonly fetch: typeof fetch
  /** Every request path (with query) received, in order. */
  readonly hits: string[]
  /** Every invoice issued, in order. */
  readonly invoices: IssuedInvoice[]
  /** `name@host`. */
  address(name: string): string
  /** Changes the behaviour (merged into the current one). */
  set(behaviour: Partial<LnurlServerBehaviour>): void
  /** Back to the default behaviour; forgets hits. */
  reset(): void
  /**
   * "Pays" an invoice: builds the zap receipt (nostr-tools `makeZapReceipt`), signs it, publishes
   * it to the zap request's relays (over WebSockets) and returns it.
   */
  pay(invoice: string, options?: PayOptions): Promise<NostrEvent>
  close(): Promise<void>
}

/** Options of {@link startLnurlServer}. */
export interface LnurlServerOptions {
  /** The names served. @default ['alice'] */
  readonly users?: readonly string[]
  /** @default 'zaps.test' */
  readonly host?: string
  readonly behaviour?: Partial<LnurlServerBehaviour>
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), connection: 'close' })
  res.end(text)
}

/**
 * Starts the server on 127.0.0.1, port 0.
 *
 * @param options - users, host name, behaviour.
 * @returns the server; `close()` it in `afterAll`.
 */
export async function startLnurlServer(options: LnurlServerOptions = {}): Promise<LnurlServer> {
  const users = new Set(options.users ?? ['alice'])
  const host = options.host ?? 'zaps.test'
  const origin = `https://${host}`
  const secretKey = generateSecretKey()
  const nostrPubkey = getPublicKey(secretKey)
  const nodeKey = generateSecretKey()
  let behaviour: LnurlServerBehaviour = { ...DEFAULT_BEHAVIOUR, ...options.behaviour }
  const hits: string[] = []
  const invoices: IssuedInvoice[] = []
  const timers = new Set<ReturnType<typeof setTimeout>>()
  const sockets = new Set<Socket>()

  const metadata = (name: string): string => JSON.stringify([['text/plain', `Zap ${name}`], ['text/identifier', `${name}@${host}`]])

  const huge = (res: ServerResponse): void => {
    res.writeHead(200, { 'content-type': 'application/json', connection: 'close' })
    res.on('error', () => undefined)
    const chunk = 'x'.repeat(64 * 1024)
    res.write('{"pad":"')
    // 2 MiB in 32 chunks: the client stops reading long before.
    for (let i = 0; i < 32 && !res.destroyed; i++) res.write(chunk)
    res.end('"}')
  }

  const payResponse = (name: string, res: ServerResponse): void => {
    if (behaviour.redirectTo !== undefined) {
      res.writeHead(302, { location: behaviour.redirectTo, connection: 'close' })
      res.end()
      return
    }
    if (behaviour.payError !== undefined) return send(res, 200, { status: 'ERROR', reason: behaviour.payError })
    if (behaviour.hugeBody === 'pay') return huge(res)
    send(res, 200, {
      tag: 'payRequest',
      callback: behaviour.callbackUrl ?? `${origin}/lnurlp/${name}/callback`,
      minSendable: behaviour.minSendable,
      maxSendable: behaviour.maxSendable,
      metadata: metadata(name),
      commentAllowed: 200,
      ...(behaviour.allowsNostr && { allowsNostr: true, nostrPubkey: behaviour.nostrPubkey ?? nostrPubkey }),
    })
  }

  const callback = (name: string, url: URL, res: ServerResponse): void => {
    if (behaviour.callbackError !== undefined) return send(res, 200, { status: 'ERROR', reason: behaviour.callbackError })
    if (behaviour.hugeBody === 'callback') return huge(res)
    const amountText = url.searchParams.get('amount') ?? ''
    const amount = /^[1-9][0-9]*$/.test(amountText) ? Number(amountText) : NaN
    if (!Number.isSafeInteger(amount) || amount < behaviour.minSendable || amount > behaviour.maxSendable) {
      return send(res, 200, { status: 'ERROR', reason: 'amount out of range' })
    }
    const nostr = url.searchParams.get('nostr') ?? undefined
    let description = metadata(name)
    if (nostr !== undefined) {
      // Appendix D, with nostr-tools' checks plus the ones it leaves out (one p, amount = query).
      const problem = toolsValidateZapRequest(nostr)
      if (problem !== null) return send(res, 200, { status: 'ERROR', reason: problem })
      const event = JSON.parse(nostr) as NostrEvent
      if (event.tags.filter((t) => t[0] === 'p').length !== 1) return send(res, 200, { status: 'ERROR', reason: 'one p tag' })
      const tagged = event.tags.find((t) => t[0] === 'amount')?.[1]
      if (tagged !== undefined && tagged !== amountText) return send(res, 200, { status: 'ERROR', reason: 'amount tag differs' })
      description = nostr
    }
    const preimage = randomBytes(32)
    const invoice = encodeBolt11({
      nodeKey,
      amountMsats: amount + behaviour.invoiceAmountDeltaMsats,
      timestamp: Math.floor(Date.now() / 1000),
      paymentHash: sha256(preimage),
      paymentSecret: randomBytes(32),
      descriptionHash: sha256(new TextEncoder().encode(behaviour.wrongDescriptionHash ? `${description} ` : description)),
      expirySeconds: 600,
      includePayee: true,
    })
    invoices.push({ invoice, amountMsats: amount, zapRequest: nostr, preimage })
    send(res, 200, { pr: invoice, routes: [] })
  }

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', origin)
    hits.push(`${url.pathname}${url.search}`)
    const respond = (): void => {
      const wellKnown = /^\/\.well-known\/lnurlp\/([^/]+)$/.exec(url.pathname)
      const cb = /^\/lnurlp\/([^/]+)\/callback$/.exec(url.pathname)
      const name = decodeURIComponent((wellKnown ?? cb)?.[1] ?? '')
      if (!users.has(name)) return send(res, 404, { status: 'ERROR', reason: 'unknown user' })
      if (wellKnown !== null) return payResponse(name, res)
      return callback(name, url, res)
    }
    if (behaviour.delayMs <= 0) return respond()
    const timer = setTimeout(() => {
      timers.delete(timer)
      if (!res.destroyed) respond()
    }, behaviour.delayMs)
    timers.add(timer)
    // A client that gave up (timeout, abort) ends the wait here too: no timer outlives the test.
    res.on('close', () => {
      clearTimeout(timer)
      timers.delete(timer)
    })
  }

  const server: Server = createServer(handle)
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  const localOrigin = `http://127.0.0.1:${port}`

  const mappedFetch: typeof fetch = async (input, init) => {
    const href = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
    const url = new URL(href)
    if (url.protocol !== 'https:' || url.host !== host) throw new TypeError(`the test fetch only reaches ${origin}, not ${url.origin}`)
    return loopbackFetch(`${localOrigin}${url.pathname}${url.search}`, init)
  }

  return {
    host,
    origin,
    localOrigin,
    secretKey,
    nostrPubkey,
    nodeKey,
    fetch: mappedFetch,
    hits,
    invoices,
    address: (name) => `${name}@${host}`,
    set(patch) {
      behaviour = { ...behaviour, ...patch }
    },
    reset() {
      behaviour = { ...DEFAULT_BEHAVIOUR, ...options.behaviour }
      hits.length = 0
    },
    async pay(invoice, payOptions = {}) {
      const issued = invoices.find((i) => i.invoice === invoice.toLowerCase())
      if (issued === undefined || issued.zapRequest === undefined) throw new Error('pay: not a zap invoice of this server')
      const zapRequest = JSON.parse(issued.zapRequest) as NostrEvent
      let bolt11 = issued.invoice
      if (payOptions.receiptAmountDeltaMsats !== undefined || payOptions.receiptWrongHash === true) {
        bolt11 = encodeBolt11({
          nodeKey,
          amountMsats: issued.amountMsats + (payOptions.receiptAmountDeltaMsats ?? 0),
          timestamp: Math.floor(Date.now() / 1000),
          paymentHash: sha256(issued.preimage),
          descriptionHash: sha256(new TextEncoder().encode(payOptions.receiptWrongHash === true ? `${issued.zapRequest} ` : issued.zapRequest)),
        })
      }
      const template = makeZapReceipt({
        zapRequest: issued.zapRequest,
        bolt11,
        preimage: bytesToHex(issued.preimage),
        paidAt: new Date((payOptions.paidAt ?? Math.floor(Date.now() / 1000)) * 1000),
      })
      const receipt = finalizeEvent(template, payOptions.signWith ?? secretKey)
      const relays = payOptions.relays ?? zapRequest.tags.find((t) => t[0] === 'relays')?.slice(1) ?? []
      for (const relay of relays) {
        const raw = await openRawClient(relay)
        try {
          const ok = await raw.publish(receipt)
          if (!ok.accepted) throw new Error(`pay: ${relay} refused the receipt: ${ok.reason}`)
        } finally {
          await raw.close()
        }
      }
      return receipt
    },
    async close() {
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
