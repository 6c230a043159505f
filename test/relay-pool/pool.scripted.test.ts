/**
 * The pool against scripted misbehaving relays: for each misbehaviour, the outcome the pool must
 * reach (dropped, demoted, an outcome with a code), not just "no crash".
 */
import { describe, expect, it } from 'vitest'
import { createSecretKeySigner, finalizeEvent, generateSecretKey, type NostrEvent } from '../../src/crypto/index.js'
import { isDemoted } from '../../src/relay-pool/health.js'
import { expectRejectionCode } from '../helpers/errors.js'
import { poolHarness } from '../helpers/pool-harness.js'
import { waitFor } from '../helpers/relay-fleet.js'
import {
  behaviours,
  withBadSignature,
  withForgedContent,
} from '../helpers/scripted-relay.js'

const { pool, scripted } = poolHarness()
const sk = generateSecretKey()
const now = (): number => Math.floor(Date.now() / 1000)

function notes(n: number, kind = 1): NostrEvent[] {
  const t = now()
  return Array.from({ length: n }, (_, i) => finalizeEvent({ kind, content: `note ${i}`, created_at: t - i }, sk))
}

describe('reading from misbehaving relays', () => {
  it('a relay that never sends EOSE times out; what it sent is kept', async () => {
    const events = notes(3)
    const relay = await scripted({ onReq: behaviours.neverEose(events) })
    const p = pool({ eoseTimeoutMs: 300 })
    const result = await p.query([{ kinds: [1] }], { relays: [relay.url] })
    expect(result.relays[0]).toMatchObject({ status: 'timeout', code: 'RELAY_TIMEOUT', events: 3 })
    expect(result.events.map((e) => e.id)).toEqual(events.map((e) => e.id))
    expect(p.relayStats(relay.url)?.eoseTimeouts).toBe(1)
    // The query gave up on the relay: its REQ was closed.
    await waitFor(() => relay.messagesOfType('CLOSE').length === 1, 2_000, 'CLOSE after timeout')
  })

  it('drops events that do not match the filter and demotes the relay', async () => {
    const wanted = finalizeEvent({ kind: 1, content: 'wanted', created_at: now() }, sk)
    const junk = [7, 7, 30023].map((kind, i) => finalizeEvent({ kind, content: `junk ${i}`, tags: kind === 30023 ? [['d', 'x']] : [], created_at: now() }, sk))
    const relay = await scripted({ onReq: behaviours.serveIgnoringFilters([...junk, wanted]) })
    const p = pool()
    const result = await p.query([{ kinds: [1] }], { relays: [relay.url] })
    expect(result.events.map((e) => e.id)).toEqual([wanted.id])
    const stats = p.relayStats(relay.url)
    expect(stats?.eventsNotMatchingFilter).toBe(3)
    expect(stats !== undefined && isDemoted(stats)).toBe(true)
  })

  it('drops bad signatures and forged content, and a bad copy does not poison the good one', async () => {
    const [good, other] = notes(2) as [NostrEvent, NostrEvent]
    const liar = await scripted({ onReq: behaviours.serveIgnoringFilters([withBadSignature(good), withForgedContent(other)]) })
    const honest = await scripted({ onReq: behaviours.serve([good, other]) })
    const p = pool()
    const result = await p.query([{ kinds: [1] }], { relays: [liar.url, honest.url] })
    expect(result.events.map((e) => e.id).sort()).toEqual([good.id, other.id].sort())
    expect(result.events.find((e) => e.id === other.id)?.content).toBe(other.content)
    expect(result.seenOn.get(good.id)).toEqual([honest.url])
    expect(p.relayStats(liar.url)?.eventsBadSignature).toBe(2)
    expect(p.relayStats(honest.url)?.eventsBadSignature).toBe(0)
    expect(result.relays.map((r) => r.events)).toEqual([0, 2])
  })

  it('a forged copy of an already verified event is still caught', async () => {
    const [event] = notes(1) as [NostrEvent]
    const honest = await scripted({ onReq: behaviours.serve([event]) })
    const forger = await scripted({ onReq: behaviours.serveIgnoringFilters([withForgedContent(event)]) })
    const p = pool()
    await p.query([{ kinds: [1] }], { relays: [honest.url] })
    const second = await p.query([{ kinds: [1] }], { relays: [forger.url] })
    expect(second.events).toEqual([])
    expect(p.relayStats(forger.url)?.eventsBadSignature).toBe(1)
  })

  it('counts malformed messages by reason and still finishes', async () => {
    const [event] = notes(1) as [NostrEvent]
    const frames = ['not json', '{"an":"object"}', '["WHAT"]', JSON.stringify(['EVENT', 'rz1', { ...event, kind: 'one' }]), '["OK","zz",true,""]']
    const relay = await scripted({
      onReq: (client, subId, filters) => {
        for (const frame of frames) client.send(frame.replace('"rz1"', JSON.stringify(subId)))
        behaviours.serve([event])(client, subId, filters)
      },
    })
    const p = pool()
    const result = await p.query([{ kinds: [1] }], { relays: [relay.url] })
    expect(result.relays[0]?.status).toBe('eose')
    expect(result.events.map((e) => e.id)).toEqual([event.id])
    expect(p.relayStats(relay.url)?.invalidMessages).toEqual({ 'not-json': 1, 'not-array': 1, 'unknown-type': 1, 'bad-event': 1, 'bad-ok': 1 })
    expect(p.relayStats(relay.url)?.demerits).toBe(5)
  })

  it('drops the connection on a frame over maxMessageBytes, counting it as too-large', async () => {
    const relay = await scripted({ onReq: (client) => client.send(JSON.stringify(['NOTICE', 'x'.repeat(5_000)])) })
    const p = pool({ maxMessageBytes: 4_096 })
    const result = await p.query([{ kinds: [1] }], { relays: [relay.url] })
    expect(result.relays[0]).toMatchObject({ status: 'disconnected', code: 'RELAY_CONNECTION_FAILED' })
    expect(p.relayStats(relay.url)?.invalidMessages).toEqual({ 'too-large': 1 })
    expect(p.relayStats(relay.url)?.lastFailure?.kind).toBe('protocol')
  })

  it('counts an oversized message as too-large when the socket lets it through (browsers)', async () => {
    const relay = await scripted({
      onReq: (client, subId) => {
        client.send(JSON.stringify(['NOTICE', 'x'.repeat(5_000)]))
        client.eose(subId)
      },
    })
    // A factory without a frame cap, as in browsers: the pool's own check has to catch it.
    const { default: WebSocket } = await import('ws')
    const p = pool({ maxMessageBytes: 4_096, webSocketFactory: (url) => new WebSocket(url) as never })
    const result = await p.query([{ kinds: [1] }], { relays: [relay.url] })
    expect(result.relays[0]?.status).toBe('eose')
    expect(p.relayStats(relay.url)?.invalidMessages).toEqual({ 'too-large': 1 })
    expect(p.relayStats(relay.url)?.notices).toBe(0)
  })

  it('a connection dropped mid-stream ends as disconnected with the events received so far', async () => {
    const events = notes(5)
    const relay = await scripted({ onReq: behaviours.dropAfter(2, events) })
    const p = pool()
    const result = await p.query([{ kinds: [1] }], { relays: [relay.url] })
    expect(result.relays[0]).toMatchObject({ status: 'disconnected', code: 'RELAY_CONNECTION_FAILED' })
    expect(result.events.map((e) => e.id)).toEqual(events.slice(0, 2).map((e) => e.id))
    expect(p.relayStats(relay.url)?.lastFailure?.kind).toBe('closed-unexpectedly')
  })

  it('cuts off a relay that floods past the limit, keeping what fit', async () => {
    const events = notes(200)
    const relay = await scripted({ onReq: behaviours.flood(200, events) })
    const p = pool({ maxEventsBeyondLimit: 5 })
    const result = await p.query([{ kinds: [1], limit: 10 }], { relays: [relay.url] })
    expect(result.relays[0]?.status).toBe('flooded')
    expect(result.events).toHaveLength(15)
    // The REQ is closed at the first event over the allowance; the rest crossed the CLOSE on the
    // wire and arrive as events for an unknown subscription, some after the query settled.
    const dropped = (): number => {
      const s = p.relayStats(relay.url)
      return (s?.eventsBeyondLimit ?? 0) + (s?.invalidMessages['unknown-subscription'] ?? 0)
    }
    await waitFor(() => dropped() === 185, 2_000, 'every flooded event accounted for')
    const stats = p.relayStats(relay.url)
    expect(stats?.eventsBeyondLimit).toBeGreaterThanOrEqual(1)
    expect(stats?.demerits).toBe(1)
    await waitFor(() => relay.messagesOfType('CLOSE').length === 1, 2_000, 'CLOSE after flood')
  })

  it('reports CLOSED with each machine-readable prefix', async () => {
    const reasons = ['rate-limited: slow down', 'restricted: members only', 'blocked: go away', 'error: database on fire', 'invalid: bad filter', 'no prefix at all']
    const relay = await scripted()
    const p = pool()
    for (const reason of reasons) {
      relay.script.onReq = behaviours.closeWith(reason)
      const result = await p.query([{ kinds: [1] }], { relays: [relay.url] })
      const [prefix] = reason.includes(':') ? reason.split(':') : [undefined]
      expect(result.relays[0]).toMatchObject({ status: 'closed', message: reason, ...(prefix !== undefined && { prefix }) })
    }
    expect(p.relayStats(relay.url)?.subscriptionsClosed).toEqual({ 'rate-limited': 1, restricted: 1, blocked: 1, error: 1, invalid: 1, none: 1 })
    expect(p.relayStats(relay.url)?.lastFailure?.kind).toBe('rate-limited')
  })

  it('authenticates when a relay demands AUTH for reads, only if allowed', async () => {
    const [event] = notes(1) as [NostrEvent]
    const relay = await scripted({ requireAuth: { reads: true }, onReq: behaviours.serve([event]) })
    const refused = await pool({ signer: createSecretKeySigner(sk) }).query([{ kinds: [1] }], { relays: [relay.url] })
    expect(refused.relays[0]).toMatchObject({ status: 'auth-required', code: 'RELAY_AUTH_FAILED', prefix: 'auth-required' })
    expect(relay.messagesOfType('AUTH')).toHaveLength(0)

    const allowed = await pool({ signer: createSecretKeySigner(sk), auth: 'always' }).query([{ kinds: [1] }], { relays: [relay.url] })
    expect(allowed.relays[0]?.status).toBe('eose')
    expect(allowed.events.map((e) => e.id)).toEqual([event.id])
    expect(relay.messagesOfType('AUTH')).toHaveLength(1)
  })

  it('a relay that rejects our AUTH ends as auth-required with RELAY_AUTH_FAILED', async () => {
    const relay = await scripted({ requireAuth: true, onAuth: (client, event) => client.ok((event as NostrEvent).id, false, 'restricted: not on the list') })
    const p = pool({ signer: createSecretKeySigner(sk), auth: 'always' })
    const read = await p.query([{ kinds: [1] }], { relays: [relay.url] })
    expect(read.relays[0]).toMatchObject({ status: 'auth-required', code: 'RELAY_AUTH_FAILED' })
    expect(p.relayStats(relay.url)?.lastFailure?.kind).toBe('auth')
  })

  it('aborting a query rejects with RELAY_ABORTED and closes the REQ', async () => {
    const relay = await scripted({ onReq: behaviours.neverEose() })
    const p = pool()
    const controller = new AbortController()
    const query = p.query([{ kinds: [1] }], { relays: [relay.url], signal: controller.signal })
    await waitFor(() => relay.messagesOfType('REQ').length === 1, 2_000, 'REQ sent')
    controller.abort()
    await expectRejectionCode(query, 'RELAY_ABORTED')
    await waitFor(() => relay.messagesOfType('CLOSE').length === 1, 2_000, 'CLOSE after abort')
  })

  it('a relay that accepts TCP but never completes the handshake fails with RELAY_TIMEOUT', async () => {
    const relay = await scripted({ handshake: 'stall' })
    const p = pool({ connectTimeoutMs: 200 })
    const result = await p.query([{ kinds: [1] }], { relays: [relay.url] })
    expect(result.relays[0]).toMatchObject({ status: 'failed', code: 'RELAY_TIMEOUT' })
    expect(p.relayStats(relay.url)?.lastFailure?.kind).toBe('connect-timeout')
    expect(p.connectionCount()).toBe(0)
  })

  it('events for unknown subscriptions are counted but are no demerit', async () => {
    const [event] = notes(1) as [NostrEvent]
    const relay = await scripted({
      onReq: (client, subId, filters) => {
        client.event('not-ours', event)
        behaviours.serve([event])(client, subId, filters)
      },
    })
    const p = pool()
    await p.query([{ kinds: [1] }], { relays: [relay.url] })
    expect(p.relayStats(relay.url)?.invalidMessages).toEqual({ 'unknown-subscription': 1 })
    expect(p.relayStats(relay.url)?.demerits).toBe(0)
  })
})

describe('publishing to misbehaving relays', () => {
  it('maps each OK answer to an outcome', async () => {
    const cases: Array<[string, boolean, string, Record<string, unknown>]> = [
      ['ok', true, '', { status: 'ok' }],
      ['duplicate (true)', true, 'duplicate: have it', { status: 'duplicate', prefix: 'duplicate' }],
      ['duplicate (false)', false, 'duplicate: have it', { status: 'duplicate' }],
      ['pow', false, 'pow: difficulty 28 required', { status: 'pow-required', prefix: 'pow', difficulty: 28 }],
      ['blocked', false, 'blocked: you are banned', { status: 'rejected', prefix: 'blocked', message: 'blocked: you are banned' }],
      ['invalid', false, 'invalid: bad tags', { status: 'rejected', prefix: 'invalid' }],
      ['no prefix', false, 'nope', { status: 'rejected', message: 'nope' }],
    ]
    const relay = await scripted()
    const p = pool()
    for (const [, accepted, reason, expected] of cases) {
      relay.script.onEvent = behaviours.okWith(accepted, reason)
      const report = await p.publish(finalizeEvent({ kind: 1, content: reason }, sk), { relays: [relay.url] })
      expect(report.relays[0]).toMatchObject(expected)
    }
  })

  it('a slow OK within the timeout is fine; no OK at all is a timeout', async () => {
    const relay = await scripted({ onEvent: behaviours.okAfter(100) })
    const p = pool({ publishTimeoutMs: 500 })
    const slow = await p.publish(finalizeEvent({ kind: 1, content: 'slow' }, sk), { relays: [relay.url] })
    expect(slow.relays[0]?.status).toBe('ok')
    relay.script.onEvent = behaviours.okNever()
    const never = await p.publish(finalizeEvent({ kind: 1, content: 'never' }, sk), { relays: [relay.url] })
    expect(never.relays[0]).toMatchObject({ status: 'timeout', code: 'RELAY_TIMEOUT' })
  })

  it('backs off after rate-limited: the next publish is not sent', async () => {
    const relay = await scripted({ onEvent: behaviours.okWith(false, 'rate-limited: slow down') })
    const p = pool()
    const first = await p.publish(finalizeEvent({ kind: 1, content: 'one' }, sk), { relays: [relay.url] })
    expect(first.relays[0]).toMatchObject({ status: 'rate-limited', prefix: 'rate-limited' })
    const second = await p.publish(finalizeEvent({ kind: 1, content: 'two' }, sk), { relays: [relay.url] })
    expect(second.relays[0]?.status).toBe('rate-limited')
    expect(relay.messagesOfType('EVENT')).toHaveLength(1)
  })

  it('authenticates on auth-required and re-sends exactly once', async () => {
    const relay = await scripted({ requireAuth: { writes: true } })
    const p = pool({ signer: createSecretKeySigner(sk), auth: [relay.url] })
    const report = await p.publish(finalizeEvent({ kind: 1, content: 'members' }, sk), { relays: [relay.url] })
    expect(report.relays[0]?.status).toBe('ok')
    expect(relay.messagesOfType('EVENT')).toHaveLength(2)
    expect(relay.messagesOfType('AUTH')).toHaveLength(1)
  })

  it('refuses to publish an event that does not verify', async () => {
    const p = pool()
    const [event] = notes(1) as [NostrEvent]
    await expectRejectionCode(p.publish(withBadSignature(event), { relays: ['wss://relay.example.com'] }), 'RELAY_EVENT_INVALID')
  })
})

describe('policies and bounds', () => {
  it('refuses loopback addresses from other people\'s lists unless allowed, without connecting', async () => {
    const relay = await scripted()
    const strict = pool({ connect: {} })
    const result = await strict.query([{ kinds: [1] }], { relays: [relay.url, 'not a url'] })
    expect(result.relays).toEqual([
      expect.objectContaining({ status: 'refused', code: 'RELAY_REFUSED_BY_POLICY', message: 'private-address' }),
      expect.objectContaining({ status: 'refused', code: 'RELAY_URL_INVALID' }),
    ])
    expect(relay.totalConnections()).toBe(0)
    const configured = await strict.query([{ kinds: [1] }], { relays: [relay.url], origin: 'configured' })
    expect(configured.relays[0]?.status).toBe('eose')
  })

  it('refuses .onion relays without an onion factory, and routes them through it when given', async () => {
    const relay = await scripted()
    const onion = 'ws://exampleonionaddressxyz.onion'
    const plain = pool()
    const refused = await plain.query([{ kinds: [1] }], { relays: [onion], origin: 'configured' })
    expect(refused.relays[0]).toMatchObject({ status: 'refused', code: 'RELAY_REFUSED_BY_POLICY', message: 'onion-without-proxy' })

    const { default: WebSocket } = await import('ws')
    const dialled: string[] = []
    const viaTor = pool({
      // Stands in for a SOCKS-proxied socket: it records the onion URL and reaches the test relay.
      onionWebSocketFactory: (url) => {
        dialled.push(url)
        return new WebSocket(relay.url) as never
      },
    })
    const routed = await viaTor.query([{ kinds: [1] }], { relays: [onion] })
    expect(routed.relays[0]?.status).toBe('eose')
    expect(dialled).toEqual([onion])
  })

  it('uses the custom webSocketFactory for every connection', async () => {
    const relay = await scripted()
    const { default: WebSocket } = await import('ws')
    const dialled: string[] = []
    const p = pool({
      webSocketFactory: (url) => {
        dialled.push(url)
        return new WebSocket(url) as never
      },
    })
    await p.query([{ kinds: [1] }], { relays: [relay.url] })
    expect(dialled).toEqual([relay.url])
  })

  it('keeps within maxConnections by closing idle connections', async () => {
    const a = await scripted()
    const b = await scripted()
    const c = await scripted()
    const p = pool({ maxConnections: 1 })
    let most = 0
    const watch = setInterval(() => (most = Math.max(most, p.connectionCount())), 1)
    try {
      for (const relay of [a, b, c, a]) {
        const result = await p.query([{ kinds: [1] }], { relays: [relay.url] })
        expect(result.relays[0]?.status).toBe('eose')
      }
      const both = await p.query([{ kinds: [1] }], { relays: [a.url, b.url] })
      expect(both.relays.map((r) => r.status)).toEqual(['eose', 'eose'])
    } finally {
      clearInterval(watch)
    }
    expect(most).toBe(1)
    expect(a.totalConnections() + b.totalConnections() + c.totalConnections()).toBeGreaterThanOrEqual(4)
  })

  it('closes idle connections after idleTimeoutMs', async () => {
    const relay = await scripted()
    const p = pool({ idleTimeoutMs: 50 })
    await p.query([{ kinds: [1] }], { relays: [relay.url] })
    expect(p.connectionCount()).toBe(1)
    await waitFor(() => p.connectionCount() === 0 && relay.connections() === 0, 2_000, 'idle close')
  })

  it('splits REQs to fit max_filters and max_message_length from NIP-11', async () => {
    const relay = await scripted({ nip11: { limitation: { max_filters: 2, max_message_length: 2_000 } } })
    const p = pool({ fetch: globalThis.fetch })
    const authors = Array.from({ length: 60 }, (_, i) => i.toString(16).padStart(64, '0'))
    const result = await p.query([{ kinds: [1], authors }, { kinds: [0] }, { kinds: [3] }], { relays: [relay.url] })
    expect(result.relays[0]?.status).toBe('eose')
    const reqs = relay.received.filter((m) => (m.message as unknown[])[0] === 'REQ')
    expect(reqs.length).toBeGreaterThan(2)
    for (const req of reqs) {
      expect(new TextEncoder().encode(req.raw).length).toBeLessThanOrEqual(2_000)
      expect((req.message as unknown[]).length - 2).toBeLessThanOrEqual(2)
    }
    const sentAuthors = reqs.flatMap((req) => (req.message as Array<{ authors?: string[] }>).slice(2).flatMap((f) => f.authors ?? []))
    expect(new Set(sentAuthors)).toEqual(new Set(authors))
  })
})
