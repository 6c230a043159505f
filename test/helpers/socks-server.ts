/**
 * A local SOCKS5 server (RFC 1928 + RFC 1929) on 127.0.0.1 for tests, and a TCP tap to put in
 * front of a local relay. The server resolves made-up names (`relay1.test`, `abc...xyz.onion`) to
 * local ports, so a client can reach those relays only through it; it records every CONNECT (name,
 * port, username) and the local port of every socket it opens to a target, and can misbehave on
 * purpose (require a password, refuse with any reply code, stall, answer as another protocol).
 *
 * @example
 * ```ts
 * const relay = await startRelay()
 * const tap = await startTap(relay.port)
 * const socks = await startSocksServer({ hosts: { 'relay1.test': tap.port } })
 * // ws://relay1.test:80 is reachable through 127.0.0.1:socks.port only
 * await socks.close(); await tap.close(); await relay.close()
 * ```
 *
 * @module
 */
import { createServer, connect, type Server, type Socket } from 'node:net'
import { createServer as createTlsServer, type TLSSocket } from 'node:tls'

/**
 * A self-signed certificate (P-256, valid 2000-2100) for `names.test`, `secure.test` and
 * `*.test`, with its key: local HTTPS and WSS servers behind the test proxy. Trust it with
 * `socksProxy({ tls: { ca: TEST_TLS.cert } })`.
 */
export const TEST_TLS = Object.freeze({
  key: `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgdlT1ikMq3JcuU8/x
WZe80LsYeATSIxCw4MucrQ67LK2hRANCAAR9rIHJAdocJHTmRGY1GiY2ttECzZES
x7Z92KD97o8nwzbEpdgfZvs7lZCM6eC3ke1y9j2Fp5k/eBLxIz52D/CH
-----END PRIVATE KEY-----
`,
  cert: `-----BEGIN CERTIFICATE-----
MIIBjjCCATWgAwIBAgIBATAKBggqhkjOPQQDAjAgMR4wHAYDVQQDDBVub3N0ci1y
ZW5kZXp2b3VzIHRlc3QwIBcNMDAwMTAxMDAwMDAwWhgPMjEwMDAxMDEwMDAwMDBa
MCAxHjAcBgNVBAMMFW5vc3RyLXJlbmRlenZvdXMgdGVzdDBZMBMGByqGSM49AgEG
CCqGSM49AwEHA0IABH2sgckB2hwkdOZEZjUaJja20QLNkRLHtn3YoP3ujyfDNsSl
2B9m+zuVkIzp4LeR7XL2PYWnmT94EvEjPnYP8IejXjBcMCoGA1UdEQQjMCGCCm5h
bWVzLnRlc3SCC3NlY3VyZS50ZXN0ggYqLnRlc3QwDwYDVR0TAQH/BAUwAwEB/zAd
BgNVHQ4EFgQU9mkzOIXz9DOjY43pZwpBlk28nDwwCgYIKoZIzj0EAwIDRwAwRAIg
SQNWX85Cawlm/LsAb9Kv734fvT0sIbf19Us96E0P/AoCIDh89XtMgjvIwYQxkDvW
2Mi4i0mQVnfNZrmYtquplYYh
-----END CERTIFICATE-----
`,
})

/** One CONNECT request the server received. */
export interface SocksConnectRecord {
  /** The name or address asked for, as sent. */
  readonly host: string
  readonly port: number
  /** 1 IPv4, 3 domain name, 4 IPv6. */
  readonly addressType: number
  /** RFC 1929 username, when the client authenticated. */
  readonly username?: string
  /** What the server did. */
  outcome?: 'connected' | 'refused' | 'stalled' | 'unresolved' | 'target-failed'
  /** Local port of the server's socket to the target (what the target sees as remote port). */
  outgoingPort?: number
}

/** What the server does with one CONNECT. */
export type ConnectBehaviour = 'connect' | 'stall' | { readonly reply: number }

/** Options of {@link startSocksServer}. */
export interface SocksServerOptions {
  /** Names (lower case, no port) and the 127.0.0.1 port each resolves to. */
  readonly hosts?: Record<string, number>
  /** Requires username/password (RFC 1929); `check` decides. Without it, "no authentication" only. */
  readonly auth?: (username: string, password: string) => boolean
  /** Greeting misbehaviour. @default 'normal' */
  readonly greeting?: 'normal' | 'stall' | 'bad-version' | 'close'
  /** Per CONNECT. @default 'connect' (reply 4 host-unreachable for names it cannot resolve) */
  readonly onConnect?: (request: SocksConnectRecord) => ConnectBehaviour
}

/** A running test SOCKS5 server. */
export interface TestSocksServer {
  readonly port: number
  /** Every CONNECT so far. */
  readonly connects: SocksConnectRecord[]
  /** TCP connections accepted from clients so far. */
  accepted(): number
  /** Local ports of every socket opened to a target. */
  outgoingPorts(): Set<number>
  /** Client connections still open. */
  openConnections(): number
  close(): Promise<void>
}

/** Reads the SOCKS messages off a client socket as they come (flowing mode, buffered). */
class Buffered {
  #data = Buffer.alloc(0)
  #waiter: (() => void) | undefined
  #ended = false

  constructor(socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.#data = Buffer.concat([this.#data, chunk])
      this.#waiter?.()
    })
    socket.on('close', () => {
      this.#ended = true
      this.#waiter?.()
    })
  }

  async take(n: number): Promise<Buffer | undefined> {
    while (this.#data.length < n) {
      if (this.#ended) return undefined
      await new Promise<void>((resolve) => (this.#waiter = resolve))
      this.#waiter = undefined
    }
    const out = this.#data.subarray(0, n)
    this.#data = this.#data.subarray(n)
    return out
  }

  /** Whatever arrived beyond the handshake (the client's first bytes for the target). */
  rest(): Buffer {
    const out = this.#data
    this.#data = Buffer.alloc(0)
    return out
  }
}

function failureReply(code: number): Buffer {
  return Buffer.from([5, code, 0, 1, 0, 0, 0, 0, 0, 0])
}

/**
 * Starts the server on 127.0.0.1, port 0.
 *
 * @param options - see {@link SocksServerOptions}.
 * @returns the server; `close()` destroys every socket.
 */
export async function startSocksServer(options: SocksServerOptions = {}): Promise<TestSocksServer> {
  const connects: SocksConnectRecord[] = []
  const outgoing = new Set<number>()
  const sockets = new Set<Socket>()
  let accepted = 0
  let open = 0

  const handle = async (client: Socket): Promise<void> => {
    const input = new Buffered(client)
    const greeting = await input.take(2)
    if (greeting === undefined) return
    const methods = await input.take(greeting[1] as number)
    if (methods === undefined) return
    const mode = options.greeting ?? 'normal'
    if (mode === 'stall') return
    if (mode === 'close') {
      client.destroy()
      return
    }
    if (mode === 'bad-version') {
      client.end(Buffer.from([4, 0]))
      return
    }
    let username: string | undefined
    if (options.auth !== undefined) {
      if (!methods.includes(2)) {
        client.end(Buffer.from([5, 0xff]))
        return
      }
      client.write(Buffer.from([5, 2]))
      const head = await input.take(2)
      if (head === undefined) return
      const user = await input.take(head[1] as number)
      const plen = await input.take(1)
      if (user === undefined || plen === undefined) return
      const pass = await input.take(plen[0] as number)
      if (pass === undefined) return
      username = user.toString('utf8')
      const ok = options.auth(username, pass.toString('utf8'))
      client.write(Buffer.from([1, ok ? 0 : 1]))
      if (!ok) {
        client.end()
        return
      }
    } else {
      if (!methods.includes(0)) {
        client.end(Buffer.from([5, 0xff]))
        return
      }
      client.write(Buffer.from([5, 0]))
    }
    const request = await input.take(4)
    if (request === undefined) return
    const addressType = request[3] as number
    let host: string
    if (addressType === 1) {
      const bytes = await input.take(4)
      if (bytes === undefined) return
      host = [...bytes].join('.')
    } else if (addressType === 3) {
      const length = await input.take(1)
      if (length === undefined) return
      const name = await input.take(length[0] as number)
      if (name === undefined) return
      host = name.toString('utf8')
    } else if (addressType === 4) {
      const bytes = await input.take(16)
      if (bytes === undefined) return
      host = (bytes.toString('hex').match(/.{4}/g) ?? []).join(':')
    } else {
      client.end(failureReply(8))
      return
    }
    const portBytes = await input.take(2)
    if (portBytes === undefined) return
    const record: SocksConnectRecord = { host, port: portBytes.readUInt16BE(0), addressType, ...(username !== undefined && { username }) }
    connects.push(record)
    if (request[1] !== 1) {
      record.outcome = 'refused'
      client.end(failureReply(7))
      return
    }
    const behaviour = options.onConnect?.(record) ?? 'connect'
    if (behaviour === 'stall') {
      record.outcome = 'stalled'
      return
    }
    if (typeof behaviour === 'object') {
      record.outcome = 'refused'
      client.end(failureReply(behaviour.reply))
      return
    }
    const targetPort = options.hosts?.[host.toLowerCase()]
    if (targetPort === undefined) {
      record.outcome = 'unresolved'
      client.end(failureReply(4))
      return
    }
    const target = connect({ host: '127.0.0.1', port: targetPort })
    sockets.add(target)
    target.on('close', () => sockets.delete(target))
    target.on('error', () => {
      if (record.outcome === undefined) {
        record.outcome = 'target-failed'
        client.end(failureReply(5))
      } else client.destroy()
    })
    target.on('connect', () => {
      record.outcome = 'connected'
      if (target.localPort !== undefined) {
        record.outgoingPort = target.localPort
        outgoing.add(target.localPort)
      }
      // BND.ADDR: 127.0.0.1, BND.PORT: the outgoing socket's port.
      const reply = Buffer.from([5, 0, 0, 1, 127, 0, 0, 1, 0, 0])
      reply.writeUInt16BE(target.localPort ?? 0, 8)
      client.write(reply)
      const early = input.rest()
      if (early.length > 0) target.write(early)
      client.removeAllListeners('data')
      client.on('data', (chunk: Buffer) => target.write(chunk))
      target.on('data', (chunk: Buffer) => client.write(chunk))
      target.on('end', () => client.end())
      client.on('end', () => target.end())
      client.on('close', () => target.destroy())
      target.on('close', () => client.destroy())
    })
  }

  const server: Server = createServer((client) => {
    accepted += 1
    open += 1
    sockets.add(client)
    client.on('close', () => {
      open -= 1
      sockets.delete(client)
    })
    client.on('error', () => {})
    handle(client).catch(() => client.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no address')
  return {
    port: address.port,
    connects,
    accepted: () => accepted,
    outgoingPorts: () => new Set(outgoing),
    openConnections: () => open,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** One connection a {@link TestTap} accepted. */
export interface TapConnection {
  /** The peer's port, as the relay side sees it. */
  readonly remotePort: number
  /** The first line the peer sent (`GET / HTTP/1.1`), once known. */
  firstLine?: string
  /** Whether it asked for a WebSocket upgrade. */
  upgrade?: boolean
  /** For a TLS tap: the SNI name the client sent (`false` when none). */
  servername?: string | false
}

/** A TCP forwarder in front of a relay, recording who connected. */
export interface TestTap {
  readonly port: number
  readonly connections: TapConnection[]
  close(): Promise<void>
}

/**
 * Forwards every connection on a new 127.0.0.1 port to `targetPort`, recording the remote port of
 * each and whether it was a WebSocket upgrade or a plain HTTP request: the relay's front door, so a
 * test can see who came in. With `tls`, it terminates TLS with {@link TEST_TLS} (a `wss:`/`https:`
 * front for a plain local server) and records the SNI name.
 *
 * @param targetPort - the relay's port.
 * @param options - `tls`.
 * @returns the tap.
 */
export async function startTap(targetPort: number, options: { tls?: boolean } = {}): Promise<TestTap> {
  const connections: TapConnection[] = []
  const sockets = new Set<Socket>()
  const onConnection = (client: Socket | TLSSocket): void => {
    const entry: TapConnection = { remotePort: client.remotePort ?? 0 }
    if (options.tls) entry.servername = (client as TLSSocket).servername ?? false
    connections.push(entry)
    const target = connect({ host: '127.0.0.1', port: targetPort })
    for (const socket of [client, target]) {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
      socket.on('error', () => {})
    }
    let head = ''
    client.on('data', (chunk: Buffer) => {
      if (entry.firstLine === undefined && head.length < 8192) {
        head += chunk.toString('latin1')
        const end = head.indexOf('\r\n\r\n')
        if (end >= 0) {
          entry.firstLine = head.slice(0, head.indexOf('\r\n'))
          entry.upgrade = /\r\nupgrade:\s*websocket/i.test(head.slice(0, end))
        }
      }
      target.write(chunk)
    })
    target.on('data', (chunk: Buffer) => client.write(chunk))
    client.on('end', () => target.end())
    target.on('end', () => client.end())
    client.on('close', () => target.destroy())
    target.on('close', () => client.destroy())
  }
  const server = options.tls ? createTlsServer({ key: TEST_TLS.key, cert: TEST_TLS.cert }, onConnection) : createServer(onConnection)
  // A TLS client that gives up mid-handshake must not crash the test run.
  server.on('tlsClientError', () => {})
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no address')
  return {
    port: address.port,
    connections,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
