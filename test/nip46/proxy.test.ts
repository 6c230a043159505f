/**
 * A Tor user's NIP-46 traffic goes through their proxy: `connectBunker`, `startNostrConnect` and
 * `createBunker` take the client's `proxy` (a ProxyTransport), so the signer's own pool opens no
 * direct socket. Checked with a local SOCKS5 server that records every CONNECT.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateSecretKey } from '../../src/crypto/keys.js'
import { createSecretKeySigner } from '../../src/crypto/secret-key-signer.js'
import { connectBunker, createBunker, startNostrConnect } from '../../src/nip46/index.js'
import { socksProxy } from '../../src/socks/index.js'
import { startSocksServer, type TestSocksServer } from '../helpers/socks-server.js'
import { POOL, useLocalRelay } from './setup.js'

const relay = useLocalRelay()
const NAME = 'bunker-relay.test'
const relayUrl = (): string => `ws://${NAME}:${relay().port}`
let socks: TestSocksServer
beforeAll(async () => {
  // The relay by a name only the proxy resolves: a direct connection could not reach it at all.
  socks = await startSocksServer({ hosts: { [NAME]: relay().port } })
}, 30_000)
afterAll(async () => {
  await socks?.close()
})

function proxy(): ReturnType<typeof socksProxy> {
  return socksProxy({ host: '127.0.0.1', port: socks.port, timeoutMs: 3_000 })
}

function connectsTo(): number {
  return socks.connects.filter((c) => c.host === NAME && c.outcome === 'connected').length
}

describe('NIP-46 through a proxy', () => {
  it('connectBunker and createBunker with `proxy` open every relay socket through it', async () => {
    const before = connectsTo()
    const sockets = relay().totalConnections()
    const bunker = await createBunker({
      signer: createSecretKeySigner(generateSecretKey()),
      relays: [relayUrl()],
      poolOptions: POOL,
      proxy: proxy(),
      approve: () => true,
    })
    try {
      expect(connectsTo() - before, 'the bunker listened through the proxy').toBe(1)
      const signer = await connectBunker(bunker.bunkerUri(), { poolOptions: POOL, proxy: proxy(), timeoutMs: 5_000, switchRelays: false })
      try {
        await signer.ping()
        expect(connectsTo() - before, 'the client talked through the proxy').toBe(2)
        // Every socket the relay saw came through the proxy: none went around it.
        expect(relay().totalConnections() - sockets).toBe(connectsTo() - before)
      } finally {
        await signer.close()
      }
    } finally {
      await bunker.close()
    }
  })

  it('startNostrConnect with `proxy` listens through it', async () => {
    const before = connectsTo()
    const session = startNostrConnect({ relays: [relayUrl()], poolOptions: POOL, proxy: proxy(), connectTimeoutMs: 5_000 })
    await session.ready
    expect(connectsTo() - before).toBe(1)
    await session.cancel()
    await expect(session.signer).rejects.toMatchObject({ code: 'SIGNER_CLOSED' })
  })

  it('a proxy together with a pool of the caller is a TypeError (the proxy would go unused)', async () => {
    const { createRelayPool } = await import('../../src/relay-pool/pool.js')
    const pool = createRelayPool(POOL)
    try {
      const token = `bunker://${'a'.repeat(64)}?relay=${encodeURIComponent(relayUrl())}`
      await expect(connectBunker(token, { pool, proxy: proxy(), timeoutMs: 2_000 })).rejects.toThrow(/proxy and options.pool/)
      expect(() => startNostrConnect({ relays: [relayUrl()], pool, proxy: proxy() })).toThrow(/proxy and options.pool/)
      await expect(createBunker({ signer: createSecretKeySigner(generateSecretKey()), relays: [relayUrl()], pool, proxy: proxy(), approve: () => true })).rejects.toThrow(/proxy and options.pool/)
    } finally {
      await pool.close()
    }
  })

  it('a proxy without a webSocketFactory and fetch is a TypeError, before anything connects', async () => {
    await expect(connectBunker(`bunker://${'a'.repeat(64)}?relay=${encodeURIComponent(relayUrl())}`, { poolOptions: POOL, timeoutMs: 2_000, proxy: {} as never })).rejects.toThrow(TypeError)
  })
})
