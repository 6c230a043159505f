/**
 * Review: races in RelayConnection#connect — an abort that lands between acquiring a slot and
 * opening the socket is ignored, and a socket that closes while NIP-11 is still being fetched
 * leaves the connection 'open' with no socket.
 */
import { describe, expect, it } from 'vitest'
import { finalizeEvent, generateSecretKey } from '../../src/crypto/index.js'
import { poolHarness } from '../helpers/pool-harness.js'

const { pool, scripted } = poolHarness()
const sk = generateSecretKey()

describe('connect races', () => {
  it('pool.close() right after query() opens no socket afterwards', async () => {
    const relay = await scripted()
    const p = pool()
    const query = p.query([{ kinds: [1] }], { relays: [relay.url] }).catch(() => undefined)
    await p.close()
    await query
    // Give a stray connect every chance to reach the relay.
    await new Promise((resolve) => setTimeout(resolve, 200))
    // Fails: the connect continued after close(), and the socket is still open on the relay.
    expect({ open: relay.connections(), total: relay.totalConnections() }).toEqual({ open: 0, total: 0 })
  })

  it('a socket that closes while NIP-11 is still loading does not wedge the connection', async () => {
    let drop = true
    const relay = await scripted({
      onConnection: (client) => {
        if (drop) client.terminate()
      },
    })
    // NIP-11 answers slower than the WebSocket opens (and is dropped).
    const slowFetch = (async () => {
      await new Promise((resolve) => setTimeout(resolve, 150))
      return new Response('not found', { status: 404 })
    }) as unknown as typeof fetch
    const p = pool({ fetch: slowFetch, backoff: { baseMs: 1, penaltyMs: { 'connect-refused': 0, 'closed-unexpectedly': 0 } } })
    const first = await p.publish(finalizeEvent({ kind: 1, content: 'one' }, sk), { relays: [relay.url], timeoutMs: 1_000 })
    expect(first.relays[0]?.status).toBe('failed')
    // The relay behaves now; a later publish must reach it.
    drop = false
    await new Promise((resolve) => setTimeout(resolve, 50))
    const second = await p.publish(finalizeEvent({ kind: 1, content: 'two' }, sk), { relays: [relay.url], timeoutMs: 1_000 })
    // Fails with 'connection lost before OK': the connection says 'open' but has no socket, forever.
    expect(second.relays[0]).toMatchObject({ status: 'ok' })
  })
})
