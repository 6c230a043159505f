/**
 * The test: a client with `proxy: socksProxy(...)` reads a feed, publishes, fetches NIP-11
 * documents and resolves a NIP-05 identifier, against local relays and a local HTTPS server whose
 * URLs use names only the test SOCKS server resolves (`*.test`, a `.onion`), so no connection can
 * go around it. Every connection each relay accepted is matched against the proxy's outgoing
 * sockets (by port), and the relay's own count of WebSockets and NIP-11 requests against what came
 * through its front door. Also: `.onion` relays work only through a proxy that reaches them, `wss:`
 * relays get TLS with SNI inside the tunnel, and the pool's frame cap applies to proxied sockets.
 */
import { createServer, type Server } from 'node:http'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { finalizeEvent } from '../../src/crypto/signature.js'
import { createRelayPool } from '../../src/relay-pool/pool.js'
import { socksProxy } from '../../src/socks/index.js'
import { seedPerson, testClient, type SeededPerson } from '../helpers/client-harness.js'
import { startFleet, type TestFleet, type TestRelay } from '../helpers/relay-fleet.js'
import { startSocksServer, startTap, TEST_TLS, type TestSocksServer, type TestTap } from '../helpers/socks-server.js'

const ONION = `${'a'.repeat(52)}qd.onion`
const NAMES = { indexer: 'indexer.test', alice: 'alice.test', bob: 'bob.test', onion: ONION, secure: 'secure.test' } as const
const URLS = {
  indexer: `ws://${NAMES.indexer}`,
  alice: `ws://${NAMES.alice}`,
  bob: `ws://${NAMES.bob}`,
  onion: `ws://${NAMES.onion}`,
  secure: `wss://${NAMES.secure}`,
}

let fleet: TestFleet
let relays: Record<'indexer' | 'alice' | 'bob' | 'onion' | 'secure', TestRelay>
let taps: Record<keyof typeof relays, TestTap>
let nip05: Server
let nip05Tap: TestTap
let socks: TestSocksServer
let alice: SeededPerson
let bob: SeededPerson
let carol: SeededPerson

beforeAll(async () => {
  fleet = await startFleet(5)
  const [indexer, aliceRelay, bobRelay, onion, secure] = fleet.relays as [TestRelay, TestRelay, TestRelay, TestRelay, TestRelay]
  relays = { indexer, alice: aliceRelay, bob: bobRelay, onion, secure }
  taps = {
    indexer: await startTap(indexer.port),
    alice: await startTap(aliceRelay.port),
    bob: await startTap(bobRelay.port),
    onion: await startTap(onion.port),
    // wss: TLS ends at the tap, the relay behind it speaks plain ws.
    secure: await startTap(secure.port, { tls: true }),
  }
  alice = await seedPerson(fleet, { write: [URLS.alice], read: [URLS.alice], indexers: [indexer, aliceRelay] })
  bob = await seedPerson(fleet, { write: [URLS.bob], read: [URLS.bob], indexers: [indexer, bobRelay] })
  // Carol writes to an onion relay and to a wss relay.
  carol = await seedPerson(fleet, { write: [URLS.onion, URLS.secure], indexers: [indexer] })
  const now = Math.floor(Date.now() / 1000)
  await aliceRelay.storeEvents([1, 2, 3].map((i) => finalizeEvent({ kind: 1, content: `alice ${i}`, created_at: now - 100 + i }, alice.secretKey)))
  const carolNote = finalizeEvent({ kind: 1, content: 'carol via onion and wss', created_at: now - 50 }, carol.secretKey)
  await onion.storeEvents([carolNote])
  await secure.storeEvents([carolNote])

  nip05 = createServer((req, res) => {
    res.setHeader('connection', 'close')
    if (req.url?.startsWith('/.well-known/nostr.json')) {
      res.writeHead(200, { 'content-type': 'application/json', 'access-control-allow-origin': '*' })
      res.end(JSON.stringify({ names: { bob: bob.pubkey }, relays: { [bob.pubkey]: [URLS.bob] } }))
      return
    }
    res.writeHead(404).end()
  })
  await new Promise<void>((resolve) => nip05.listen(0, '127.0.0.1', resolve))
  nip05Tap = await startTap((nip05.address() as { port: number }).port, { tls: true })

  socks = await startSocksServer({
    hosts: {
      [NAMES.indexer]: taps.indexer.port,
      [NAMES.alice]: taps.alice.port,
      [NAMES.bob]: taps.bob.port,
      [NAMES.onion]: taps.onion.port,
      [NAMES.secure]: taps.secure.port,
      'names.test': nip05Tap.port,
    },
  })
}, 30_000)

afterAll(async () => {
  await socks?.close()
  for (const tap of Object.values(taps ?? {})) await tap.close()
  await nip05Tap?.close()
  await new Promise<void>((resolve) => (nip05 ? nip05.close(() => resolve()) : resolve()))
  await fleet?.close()
})

function proxy(): ReturnType<typeof socksProxy> {
  return socksProxy({ host: '127.0.0.1', port: socks.port, timeoutMs: 3_000, tls: { ca: TEST_TLS.cert } })
}

describe('a client with a SOCKS5 proxy', () => {
  it('sends every relay connection and every HTTP request through the proxy', async () => {
    const directFetch = vi.spyOn(globalThis, 'fetch')
    // NIP-11 on (the harness turns it off by default): those requests must go through the proxy too.
    const client = testClient({ signer: bob.signer, indexerRelays: [URLS.indexer], proxy: proxy(), pool: { fetch: undefined } })
    try {
      const page = await client.feed({ authors: [alice.pubkey], limit: 10 })
      expect(page.events.map((e) => e.content).sort()).toEqual(['alice 1', 'alice 2', 'alice 3'])

      const published = await client.publish({ kind: 1, content: 'hello through the proxy', tags: [] })
      expect(published.report.targets.find((t) => t.url === URLS.bob)?.status).toBe('ok')
      expect(relays.bob.messagesOfType('EVENT').some((m) => (m[1] as { id: string }).id === published.event.id)).toBe(true)

      // Carol's outboxes are an onion relay and a wss relay: both reached through the tunnel.
      const carolPage = await client.feed({ authors: [carol.pubkey], limit: 10 })
      expect(carolPage.events.map((e) => e.content)).toEqual(['carol via onion and wss'])

      const info = await client.pool.relayInformation(URLS.alice)
      expect(info?.name).toBe('test relay 1')

      const found = await client.nip05.resolve('bob@names.test', { confirm: false })
      expect(found.pubkey).toBe(bob.pubkey)
    } finally {
      await client.close()
      directFetch.mockRestore()
    }
    expect(directFetch).not.toHaveBeenCalled()

    // Each relay was used, NIP-11 included.
    for (const name of ['indexer', 'alice', 'bob', 'onion', 'secure'] as const) {
      expect(relays[name].totalConnections(), name).toBeGreaterThan(0)
      expect(relays[name].nip11Requests(), name).toBeGreaterThan(0)
    }
    // Every connection any relay (or the NIP-05 server) accepted came from one of the proxy's
    // outgoing sockets, and nothing reached a relay except through its front door.
    const outgoing = socks.outgoingPorts()
    const accepted = [...Object.values(taps), nip05Tap].flatMap((tap) => tap.connections)
    expect(accepted.length).toBeGreaterThan(0)
    for (const connection of accepted) expect(outgoing.has(connection.remotePort)).toBe(true)
    for (const name of ['indexer', 'alice', 'bob', 'onion', 'secure'] as const) {
      const connections = taps[name].connections
      expect(relays[name].totalConnections(), `${name} WebSockets`).toBe(connections.filter((c) => c.upgrade === true).length)
      expect(relays[name].nip11Requests(), `${name} NIP-11 requests`).toBe(connections.filter((c) => c.upgrade === false).length)
    }
    expect(nip05Tap.connections.map((c) => c.firstLine)).toEqual(['GET /.well-known/nostr.json?name=bob HTTP/1.1'])
    // The proxy got names, never addresses: DNS happened there.
    expect(socks.connects.length).toBe(accepted.length)
    expect(new Set(socks.connects.map((c) => c.addressType))).toEqual(new Set([3]))
    expect(new Set(socks.connects.map((c) => c.host))).toEqual(new Set([...Object.values(NAMES), 'names.test']))
    // TLS inside the tunnel named the relay (SNI) and was checked against the test CA.
    expect(new Set(taps.secure.connections.map((c) => c.servername))).toEqual(new Set([NAMES.secure]))
  }, 30_000)

  it('refuses .onion relays without a proxy, and through a proxy that cannot reach them', async () => {
    const before = relays.onion.totalConnections()
    const connectsBefore = socks.connects.length
    const direct = testClient({ indexerRelays: [URLS.indexer] })
    const clearnetOnly = testClient({ indexerRelays: [URLS.indexer], proxy: { ...proxy(), reachesOnion: false } })
    try {
      for (const client of [direct, clearnetOnly]) {
        const { relays: outcomes } = await client.pool.query([{ kinds: [1], limit: 1 }], { relays: [URLS.onion] })
        expect(outcomes[0]).toMatchObject({ url: URLS.onion, status: 'refused', code: 'RELAY_REFUSED_BY_POLICY', message: 'onion-without-proxy' })
      }
    } finally {
      await direct.close()
      await clearnetOnly.close()
    }
    expect(relays.onion.totalConnections()).toBe(before)
    expect(socks.connects.slice(connectsBefore).filter((c) => c.host === ONION)).toEqual([])
  })

  it("applies the pool's frame cap to proxied sockets", async () => {
    const big = finalizeEvent({ kind: 1, content: 'x'.repeat(8_000), created_at: Math.floor(Date.now() / 1000) }, alice.secretKey)
    await relays.alice.storeEvents([big])
    const transport = proxy()
    const pool = createRelayPool({ webSocketFactory: transport.webSocketFactory, fetch: false, maxMessageBytes: 4_096, eoseTimeoutMs: 2_000, connectTimeoutMs: 2_000 })
    try {
      const { events } = await pool.query([{ ids: [big.id] }], { relays: [URLS.alice] })
      expect(events).toEqual([])
      expect(pool.relayStats(URLS.alice)?.invalidMessages['too-large']).toBe(1)
    } finally {
      await pool.close()
    }
  })

  it('reports why the proxy failed in the relay outcome', async () => {
    const refusing = await startSocksServer({ onConnect: () => ({ reply: 0x05 }) })
    const transport = socksProxy({ host: '127.0.0.1', port: refusing.port, timeoutMs: 2_000 })
    const pool = createRelayPool({ webSocketFactory: transport.webSocketFactory, fetch: false, eoseTimeoutMs: 2_000, connectTimeoutMs: 2_000 })
    try {
      const { relays: outcomes } = await pool.query([{ kinds: [1], limit: 1 }], { relays: [URLS.alice] })
      expect(outcomes[0]).toMatchObject({ status: 'failed', code: 'RELAY_PROXY_FAILED' })
      expect(outcomes[0]?.message).toMatch(/could not connect/)
      expect(pool.relayStats(URLS.alice)?.lastFailure?.message).toMatch(/connection-refused/)
    } finally {
      await pool.close()
      await refusing.close()
    }
  })

  it('isolates streams per relay host when asked (one SOCKS username per host)', async () => {
    const isolating = await startSocksServer({ auth: () => true, hosts: { [NAMES.alice]: taps.alice.port, [NAMES.bob]: taps.bob.port } })
    const transport = socksProxy({ host: '127.0.0.1', port: isolating.port, isolate: true, timeoutMs: 2_000 })
    const pool = createRelayPool({ webSocketFactory: transport.webSocketFactory, fetch: transport.fetch, eoseTimeoutMs: 2_000, connectTimeoutMs: 2_000 })
    try {
      await pool.query([{ kinds: [1], limit: 1 }], { relays: [URLS.alice, URLS.bob] })
      await pool.query([{ kinds: [0], limit: 1 }], { relays: [URLS.alice] })
      const byHost = new Map<string, Set<string | undefined>>()
      for (const connect of isolating.connects) byHost.set(connect.host, (byHost.get(connect.host) ?? new Set()).add(connect.username))
      // NIP-11 and WebSocket of one host share a username; the two hosts differ.
      expect(byHost.get(NAMES.alice)?.size).toBe(1)
      expect(byHost.get(NAMES.bob)?.size).toBe(1)
      expect([...(byHost.get(NAMES.alice) ?? [])][0]).not.toBe([...(byHost.get(NAMES.bob) ?? [])][0])
      expect(isolating.connects.filter((c) => c.host === NAMES.alice).length).toBeGreaterThanOrEqual(2)
    } finally {
      await pool.close()
      await isolating.close()
    }
  })
})
