/**
 * The SOCKS5 client handshake (RFC 1928), with username/password authentication (RFC 1929):
 * greeting, optional authentication, then CONNECT to a host name (address type 3), so the name is
 * resolved by the proxy and never by the local resolver. That is what makes `.onion` names work
 * through Tor, and what keeps relay host names out of the local DNS.
 *
 * Every failure is a {@link RelayError} with a stable code: `RELAY_PROXY_FAILED` (the proxy is
 * unreachable, broke the protocol, or refused the CONNECT: `details` starts with the reason, e.g.
 * `host-unreachable`), `RELAY_PROXY_AUTH_FAILED` (no acceptable method, credentials refused),
 * `RELAY_TIMEOUT` (the handshake did not finish in time) or `RELAY_ABORTED`.
 *
 * @module
 */
import { isIP, connect as netConnect, type Socket } from 'node:net'
import { RelayError } from '../errors.js'

/** Why the proxy refused a CONNECT: RFC 1928 reply codes 1-8 and Tor's extended codes. */
export const SOCKS_REPLY_REASONS: Readonly<Record<number, string>> = Object.freeze({
  0x01: 'general-failure',
  0x02: 'not-allowed-by-ruleset',
  0x03: 'network-unreachable',
  0x04: 'host-unreachable',
  0x05: 'connection-refused',
  0x06: 'ttl-expired',
  0x07: 'command-not-supported',
  0x08: 'address-type-not-supported',
  // Tor's ExtendedErrors (onion services), see Tor's socks-extensions.txt.
  0xf0: 'onion-descriptor-not-found',
  0xf1: 'onion-descriptor-invalid',
  0xf2: 'onion-introduction-failed',
  0xf3: 'onion-rendezvous-failed',
  0xf4: 'onion-client-auth-missing',
  0xf5: 'onion-client-auth-wrong',
  0xf6: 'onion-address-invalid',
  0xf7: 'onion-introduction-timeout',
})

/**
 * The reason named for a SOCKS5 reply code: one of {@link SOCKS_REPLY_REASONS}, or
 * `unknown-reply-0xNN`.
 *
 * @param code - the REP byte of the proxy's reply.
 * @returns a stable, kebab-case reason.
 * @example
 * ```ts
 * import { socksReplyReason } from 'nostr-rendezvous/socks'
 * socksReplyReason(4) // 'host-unreachable'
 * ```
 */
export function socksReplyReason(code: number): string {
  return SOCKS_REPLY_REASONS[code] ?? `unknown-reply-0x${code.toString(16).padStart(2, '0')}`
}

/** Where the proxy listens and how to log in. */
export interface SocksEndpoint {
  /** Proxy host (an IP address, or a name resolved locally: it is the proxy's own address). */
  readonly host: string
  readonly port: number
  /** RFC 1929 credentials; when given, only username/password authentication is offered. */
  readonly username?: string
  readonly password?: string
}

/** Options of {@link socksConnect}. */
export interface SocksConnectOptions {
  /** Time for the whole handshake, connecting to the proxy included, in ms. */
  readonly timeoutMs: number
  /** Stops the handshake (the socket is destroyed). */
  readonly signal?: AbortSignal
}

const VERSION = 0x05
const AUTH_VERSION = 0x01
const METHOD_NONE = 0x00
const METHOD_PASSWORD = 0x02
const METHOD_REFUSED = 0xff
const CMD_CONNECT = 0x01
const ATYP_IPV4 = 0x01
const ATYP_DOMAIN = 0x03
const ATYP_IPV6 = 0x04

/**
 * Checks credentials for RFC 1929 (1-255 bytes each).
 *
 * @internal
 */
export function checkCredential(value: unknown, field: string): void {
  if (typeof value !== 'string') throw new TypeError(`${field} must be a string`)
  const length = Buffer.byteLength(value, 'utf8')
  if (length < 1 || length > 255) throw new RangeError(`${field} must be 1 to 255 bytes (RFC 1929)`)
}

/** The DST.ADDR part of a CONNECT: a literal IP as such, anything else as a name for the proxy. */
function encodeAddress(host: string): Buffer {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host
  const family = isIP(bare)
  if (family === 4) return Buffer.from([ATYP_IPV4, ...bare.split('.').map(Number)])
  if (family === 6) return Buffer.concat([Buffer.from([ATYP_IPV6]), ipv6Bytes(bare)])
  const name = Buffer.from(bare, 'utf8')
  if (name.length < 1 || name.length > 255) {
    throw new RelayError('RELAY_PROXY_FAILED', 'Host name too long for SOCKS5', { details: `bad-address: ${bare.slice(0, 80)}` })
  }
  return Buffer.concat([Buffer.from([ATYP_DOMAIN, name.length]), name])
}

/** The 16 bytes of an IPv6 literal (already validated by `isIP`). */
function ipv6Bytes(address: string): Buffer {
  let text = address
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hex groups.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text)
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number]
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head = '', tail] = text.split('::') as [string, string | undefined]
  const left = head === '' ? [] : head.split(':')
  const right = tail === undefined || tail === '' ? [] : tail.split(':')
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
  const bytes = Buffer.alloc(16)
  groups.forEach((group, i) => bytes.writeUInt16BE(Number.parseInt(group, 16), i * 2))
  return bytes
}

/**
 * Reads exactly what the handshake needs from a socket in paused mode, so nothing the target sends
 * after the proxy's reply is consumed: it is handed back with `unshift`.
 */
class HandshakeReader {
  readonly #socket: Socket
  #buffered: Buffer = Buffer.alloc(0)
  #want: { bytes: number; resolve: (data: Buffer) => void } | undefined
  #failure: Error | undefined
  #fail: ((error: Error) => void) | undefined
  readonly #onReadable = (): void => this.#pull()

  constructor(socket: Socket) {
    this.#socket = socket
    socket.on('readable', this.#onReadable)
  }

  /** Resolves with the next `bytes` bytes. */
  read(bytes: number): Promise<Buffer> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure)
    return new Promise<Buffer>((resolve, reject) => {
      this.#want = { bytes, resolve }
      this.#fail = reject
      this.#pull()
    })
  }

  /** Rejects the pending read (socket closed, timeout, abort). */
  fail(error: Error): void {
    this.#failure ??= error
    const fail = this.#fail
    this.#want = undefined
    this.#fail = undefined
    fail?.(error)
  }

  /** Stops reading and gives back what the target already sent after the handshake. */
  release(): void {
    this.#socket.off('readable', this.#onReadable)
    if (this.#buffered.length > 0) this.#socket.unshift(this.#buffered)
    this.#buffered = Buffer.alloc(0)
  }

  #pull(): void {
    const want = this.#want
    if (want === undefined) return
    // Read only what is needed (read(n) returns null until n bytes are there, or everything at the end).
    while (this.#buffered.length < want.bytes) {
      const chunk = this.#socket.read() as Buffer | null
      if (chunk === null) return
      this.#buffered = this.#buffered.length === 0 ? chunk : Buffer.concat([this.#buffered, chunk])
    }
    const data = this.#buffered.subarray(0, want.bytes)
    this.#buffered = this.#buffered.subarray(want.bytes)
    this.#want = undefined
    this.#fail = undefined
    want.resolve(data)
  }
}

function ignore(): void {}

function proxyName(proxy: SocksEndpoint): string {
  return `${proxy.host.includes(':') ? `[${proxy.host}]` : proxy.host}:${proxy.port}`
}

/**
 * Opens a TCP connection to `target` through a SOCKS5 proxy and resolves with the socket once the
 * proxy reports the tunnel open. The target name is sent to the proxy as is (no local DNS).
 *
 * @param proxy - the proxy and optional credentials.
 * @param target - host (a name, or an IP literal) and port to reach.
 * @param options - `timeoutMs` for the whole handshake, `signal` to stop it.
 * @returns the connected socket, paused, with any early bytes from the target put back.
 * @throws RelayError `RELAY_PROXY_FAILED` (details start with the reason: `proxy-unreachable`,
 *   `proxy-closed`, `bad-version`, `bad-reply`, `host-unreachable`, ...), `RELAY_PROXY_AUTH_FAILED`
 *   (`no-acceptable-method`, `credentials-refused`), `RELAY_TIMEOUT`, `RELAY_ABORTED`.
 * @example
 * ```ts
 * import { socksConnect } from 'nostr-rendezvous/socks'
 * const socket = await socksConnect({ host: '127.0.0.1', port: 9050 }, { host: 'relay.example.com', port: 443 }, { timeoutMs: 20_000 })
 * ```
 */
export async function socksConnect(
  proxy: SocksEndpoint,
  target: { readonly host: string; readonly port: number },
  options: SocksConnectOptions,
): Promise<Socket> {
  const via = proxyName(proxy)
  const to = `${target.host}:${target.port}`
  if (options.signal?.aborted) throw new RelayError('RELAY_ABORTED', 'Aborted before connecting to the SOCKS proxy', { details: to })
  if (!Number.isInteger(target.port) || target.port < 1 || target.port > 65_535) throw new RangeError('target port must be 1 to 65535')
  const address = encodeAddress(target.host)
  const socket = netConnect({ host: proxy.host, port: proxy.port })
  // Errors after the handshake belong to whoever uses the socket; until they listen, none may crash.
  socket.on('error', ignore)
  const reader = new HandshakeReader(socket)
  let done = false
  let rejectFailed: (error: Error) => void = ignore
  /** Rejects with the first failure (socket error, close, timeout, abort); every step races it. */
  const failed = new Promise<never>((_resolve, reject) => (rejectFailed = reject))
  failed.catch(ignore)
  const failWith = (error: Error): void => {
    if (done) return
    reader.fail(error)
    rejectFailed(error)
  }
  const onError = (cause: Error): void =>
    failWith(new RelayError('RELAY_PROXY_FAILED', 'Could not reach the SOCKS proxy', { details: `proxy-unreachable: ${via} (${cause.message})`, cause }))
  const onClose = (): void =>
    failWith(new RelayError('RELAY_PROXY_FAILED', 'The SOCKS proxy closed the connection during the handshake', { details: `proxy-closed: ${via} for ${to}` }))
  const onAbort = (): void => failWith(new RelayError('RELAY_ABORTED', 'SOCKS handshake aborted', { details: `${via} for ${to}` }))
  const timer = setTimeout(
    () => failWith(new RelayError('RELAY_TIMEOUT', 'The SOCKS proxy did not complete the handshake in time', { details: `${via} for ${to} after ${options.timeoutMs} ms` })),
    options.timeoutMs,
  )
  socket.on('error', onError)
  socket.on('close', onClose)
  socket.on('end', onClose)
  options.signal?.addEventListener('abort', onAbort, { once: true })
  try {
    if (socket.connecting) await Promise.race([new Promise<void>((resolve) => socket.once('connect', () => resolve())), failed])
    const credentials = proxy.username !== undefined || proxy.password !== undefined
    socket.write(Buffer.from(credentials ? [VERSION, 1, METHOD_PASSWORD] : [VERSION, 1, METHOD_NONE]))
    const [version, method] = await reader.read(2)
    if (version !== VERSION) throw new RelayError('RELAY_PROXY_FAILED', 'Not a SOCKS5 proxy', { details: `bad-version: ${via} answered version ${version}` })
    if (method === METHOD_REFUSED || (method !== METHOD_NONE && method !== METHOD_PASSWORD) || (method === METHOD_PASSWORD && !credentials) || (method === METHOD_NONE && credentials)) {
      throw new RelayError('RELAY_PROXY_AUTH_FAILED', 'The SOCKS proxy accepts none of the offered authentication methods', {
        details: `no-acceptable-method: ${via} (${credentials ? 'username/password offered' : 'no authentication offered'})`,
      })
    }
    if (method === METHOD_PASSWORD) {
      const user = Buffer.from(proxy.username ?? '', 'utf8')
      const pass = Buffer.from(proxy.password ?? '', 'utf8')
      socket.write(Buffer.concat([Buffer.from([AUTH_VERSION, user.length]), user, Buffer.from([pass.length]), pass]))
      const [, status] = await reader.read(2)
      if (status !== 0x00) {
        throw new RelayError('RELAY_PROXY_AUTH_FAILED', 'The SOCKS proxy refused the username and password', { details: `credentials-refused: ${via} (status ${status})` })
      }
    }
    const port = Buffer.alloc(2)
    port.writeUInt16BE(target.port)
    socket.write(Buffer.concat([Buffer.from([VERSION, CMD_CONNECT, 0x00]), address, port]))
    const [replyVersion, reply, , addressType] = await reader.read(4)
    if (replyVersion !== VERSION) throw new RelayError('RELAY_PROXY_FAILED', 'Malformed SOCKS5 reply', { details: `bad-reply: ${via} answered version ${replyVersion}` })
    if (reply !== 0x00) {
      const reason = socksReplyReason(reply as number)
      throw new RelayError('RELAY_PROXY_FAILED', 'The SOCKS proxy could not connect to the relay', { details: `${reason}: ${to} via ${via} (reply 0x${(reply as number).toString(16).padStart(2, '0')})` })
    }
    // BND.ADDR and BND.PORT say nothing we need, but they must be read off the stream.
    if (addressType === ATYP_IPV4) await reader.read(4 + 2)
    else if (addressType === ATYP_IPV6) await reader.read(16 + 2)
    else if (addressType === ATYP_DOMAIN) {
      const [length] = await reader.read(1)
      await reader.read((length as number) + 2)
    } else {
      throw new RelayError('RELAY_PROXY_FAILED', 'Malformed SOCKS5 reply', { details: `bad-reply: ${via} sent address type ${addressType}` })
    }
    done = true
    reader.release()
    return socket
  } catch (error) {
    done = true
    socket.destroy()
    throw error
  } finally {
    clearTimeout(timer)
    socket.off('error', onError)
    socket.off('close', onClose)
    socket.off('end', onClose)
    options.signal?.removeEventListener('abort', onAbort)
  }
}
