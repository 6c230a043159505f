/**
 * A `fetch` whose requests go through the SOCKS5 proxy: Node's HTTP client on a tunnel
 * ({@link TunnelOpener}), answers turned into standard `Response`s. Enough for what the library
 * asks of HTTP (NIP-11 documents, NIP-05 `nostr.json`, LNURL-pay): GET and POST, headers, text and
 * JSON bodies, `AbortSignal`, and the three `redirect` modes (`manual` returns the 3xx response as
 * it is, as Node's own fetch does).
 *
 * What it does not trust: the declared size of a response (the body is counted as it streams and
 * cut off past `maxResponseBytes`), and compression (it asks for `identity`, so a small response
 * cannot inflate into a huge one). Each request uses its own connection (`Connection: close`):
 * nothing is pooled across hosts, which also keeps Tor's per-host stream isolation intact.
 *
 * Errors follow `fetch`: a network failure rejects with a `TypeError` whose `cause` is the
 * {@link RelayError} from the tunnel (`RELAY_PROXY_FAILED`, `RELAY_PROXY_AUTH_FAILED`,
 * `RELAY_TIMEOUT`, ...); an abort rejects with the signal's reason.
 *
 * @module
 */
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { Duplex } from 'node:stream'
import { RelayError } from '../errors.js'
import type { TunnelOpener } from './tunnel.js'

/** Options of {@link createSocksFetch}. @internal */
export interface SocksFetchOptions {
  /** Largest response body, in bytes; a bigger one errors the body stream with `RELAY_PROXY_FAILED`. */
  readonly maxResponseBytes: number
  /** Redirects followed in `redirect: 'follow'` mode. */
  readonly maxRedirects: number
}

const REDIRECTS: ReadonlySet<number> = new Set([301, 302, 303, 307, 308])
/** Statuses whose `Response` may not have a body. */
const NULL_BODY: ReadonlySet<number> = new Set([101, 103, 204, 205, 304])

interface PreparedRequest {
  readonly url: URL
  readonly method: string
  readonly headers: Headers
  readonly body: Buffer | undefined
  readonly signal: AbortSignal | undefined
  readonly redirect: RequestRedirect
}

/**
 * Builds the fetch of one proxy.
 *
 * @internal
 */
export function createSocksFetch(open: TunnelOpener, options: SocksFetchOptions): typeof fetch {
  const socksFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    let request = await prepare(input, init)
    for (let hop = 0; ; hop++) {
      const response = await send(open, request, options.maxResponseBytes)
      if (!REDIRECTS.has(response.status) || request.redirect === 'manual') return response
      const location = response.headers.get('location')
      if (location === null) return response
      await response.body?.cancel().catch(() => undefined)
      if (request.redirect === 'error') throw new TypeError('fetch failed', { cause: new Error(`redirect to ${location.slice(0, 200)} with redirect: 'error'`) })
      if (hop >= options.maxRedirects) throw new TypeError('fetch failed', { cause: new Error('too many redirects') })
      request = redirected(request, response.status, location)
    }
  }
  return socksFetch as typeof fetch
}

/** The request to send after a redirect, as fetch builds it. */
function redirected(request: PreparedRequest, status: number, location: string): PreparedRequest {
  let url: URL
  try {
    url = new URL(location, request.url)
  } catch (cause) {
    throw new TypeError('fetch failed', { cause })
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError('fetch failed', { cause: new Error(`redirect to ${url.protocol} URL`) })
  const headers = new Headers(request.headers)
  // A POST answered with 301/302/303 is retried as a GET without its body; 307/308 keep both.
  const toGet = (status === 303 && request.method !== 'HEAD') || ((status === 301 || status === 302) && request.method === 'POST')
  if (toGet) {
    for (const name of ['content-type', 'content-length', 'content-encoding', 'content-language', 'content-location']) headers.delete(name)
  }
  if (url.origin !== request.url.origin) {
    headers.delete('authorization')
    headers.delete('cookie')
  }
  return { ...request, url, headers, method: toGet ? 'GET' : request.method, body: toGet ? undefined : request.body }
}

async function prepare(input: string | URL | Request, init: RequestInit | undefined): Promise<PreparedRequest> {
  const isRequest = typeof Request !== 'undefined' && input instanceof Request
  const base = isRequest ? (input as Request) : undefined
  let url: URL
  try {
    url = new URL(base?.url ?? String(input))
  } catch (cause) {
    throw new TypeError('fetch failed: invalid URL', { cause })
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`fetch failed: ${url.protocol} URLs are not supported`)
  const method = (init?.method ?? base?.method ?? 'GET').toUpperCase()
  const headers = new Headers(init?.headers ?? base?.headers)
  let body: Buffer | undefined
  if (init?.body !== undefined && init.body !== null) body = await bodyBytes(init.body, headers)
  else if (init?.body === undefined && base?.body) body = Buffer.from(await base.arrayBuffer())
  if (body !== undefined && (method === 'GET' || method === 'HEAD')) throw new TypeError(`fetch failed: a ${method} request cannot have a body`)
  const signal = init?.signal ?? base?.signal ?? undefined
  const redirect = init?.redirect ?? base?.redirect ?? 'follow'
  return { url, method, headers, body, signal: signal ?? undefined, redirect }
}

async function bodyBytes(body: BodyInit, headers: Headers): Promise<Buffer> {
  if (typeof body === 'string') {
    if (!headers.has('content-type')) headers.set('content-type', 'text/plain;charset=UTF-8')
    return Buffer.from(body, 'utf8')
  }
  if (body instanceof URLSearchParams) {
    if (!headers.has('content-type')) headers.set('content-type', 'application/x-www-form-urlencoded;charset=UTF-8')
    return Buffer.from(body.toString(), 'utf8')
  }
  if (body instanceof ArrayBuffer) return Buffer.from(body)
  if (ArrayBuffer.isView(body)) return Buffer.from(body.buffer, body.byteOffset, body.byteLength)
  if (typeof Blob !== 'undefined' && body instanceof Blob) {
    if (!headers.has('content-type') && body.type !== '') headers.set('content-type', body.type)
    return Buffer.from(await body.arrayBuffer())
  }
  throw new TypeError('fetch through the SOCKS proxy takes a string, bytes, URLSearchParams or a Blob as body')
}

/** One HTTP exchange on its own tunnel. */
function send(open: TunnelOpener, request: PreparedRequest, maxResponseBytes: number): Promise<Response> {
  const { url, signal } = request
  return new Promise<Response>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason)
      return
    }
    const secure = url.protocol === 'https:'
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname
    const port = url.port === '' ? (secure ? 443 : 80) : Number(url.port)
    const headers: Record<string, string> = {}
    request.headers.forEach((value, name) => {
      headers[name] = value
    })
    // Compressed bodies would make the size cap meaningless; one connection per request.
    headers['accept-encoding'] = 'identity'
    headers.connection = 'close'
    if (request.body !== undefined) headers['content-length'] = String(request.body.length)
    let settled = false
    let failBody: ((error: unknown) => void) | undefined
    const onAbort = (): void => {
      const reason: unknown = signal?.reason
      req.destroy()
      if (!settled) {
        settled = true
        reject(reason)
      } else failBody?.(reason)
    }
    type Callback = (error: Error | null, socket: Duplex) => void
    const createConnection = (_options: unknown, callback: Callback): undefined => {
      open({ host, port, secure }, signal).then(
        (socket) => callback(null, socket),
        (error: Error) => callback(error, undefined as unknown as Duplex),
      )
      return undefined
    }
    const options: RequestOptions = {
      host,
      port,
      path: `${url.pathname}${url.search}`,
      method: request.method,
      headers,
      createConnection: createConnection as unknown as RequestOptions['createConnection'],
    }
    const req = (secure ? httpsRequest : httpRequest)(options)
    req.on('error', (error) => {
      if (!settled) {
        settled = true
        signal?.removeEventListener('abort', onAbort)
        reject(signal?.aborted ? signal.reason : new TypeError('fetch failed', { cause: error }))
      } else failBody?.(signal?.aborted ? signal.reason : new TypeError('terminated', { cause: error }))
    })
    req.on('response', (res) => {
      if (settled) {
        res.destroy()
        return
      }
      settled = true
      const status = res.statusCode ?? 0
      if (status < 200 || status > 599) {
        res.destroy()
        signal?.removeEventListener('abort', onAbort)
        reject(new TypeError('fetch failed', { cause: new Error(`unsupported HTTP status ${status}`) }))
        return
      }
      const responseHeaders = new Headers()
      const raw = res.rawHeaders
      for (let i = 0; i + 1 < raw.length; i += 2) {
        try {
          responseHeaders.append(raw[i] as string, raw[i + 1] as string)
        } catch {
          // A header the Fetch API cannot hold (bad characters) is left out, as fetch does.
        }
      }
      const bodyless = request.method === 'HEAD' || NULL_BODY.has(status)
      const body = bodyless ? null : streamBody(res, maxResponseBytes, url, (fail) => (failBody = fail), () => signal?.removeEventListener('abort', onAbort))
      if (bodyless) {
        res.resume()
        signal?.removeEventListener('abort', onAbort)
      }
      const result = new Response(body, { status, statusText: res.statusMessage ?? '', headers: responseHeaders })
      Object.defineProperty(result, 'url', { value: url.href })
      resolve(result)
    })
    if (signal !== undefined) signal.addEventListener('abort', onAbort, { once: true })
    req.end(request.body)
  })
}

/** The response body as a web stream, counted and cut off past the cap; paused when nobody reads. */
function streamBody(
  res: IncomingMessage,
  maxBytes: number,
  url: URL,
  onFailHook: (fail: (error: unknown) => void) => void,
  onDone: () => void,
): ReadableStream<Uint8Array> {
  let received = 0
  let finished = false
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const fail = (error: unknown): void => {
        if (finished) return
        finished = true
        onDone()
        controller.error(error)
        res.destroy()
      }
      onFailHook(fail)
      res.on('data', (chunk: Buffer) => {
        if (finished) return
        received += chunk.length
        if (received > maxBytes) {
          fail(new RelayError('RELAY_PROXY_FAILED', 'Response body too large', { details: `response-too-large: ${url.host} sent more than ${maxBytes} bytes` }))
          return
        }
        controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))
        if ((controller.desiredSize ?? 1) <= 0) res.pause()
      })
      res.on('end', () => {
        if (finished) return
        finished = true
        onDone()
        controller.close()
      })
      res.on('error', fail)
      res.on('aborted', () => fail(new TypeError('terminated', { cause: new Error('the connection closed before the body ended') })))
      res.on('close', () => {
        if (!res.complete) fail(new TypeError('terminated', { cause: new Error('the connection closed before the body ended') }))
      })
    },
    pull() {
      res.resume()
    },
    cancel() {
      finished = true
      onDone()
      res.destroy()
    },
  })
}
