/**
 * The pool's privacy hooks on the wire: the async connect gate (`approveConnect`: asked once per
 * relay before any NIP-11 request or socket, one shared pending question, a no is `refused` and not
 * the relay's failure, an unanswered question bounded by the read's timeout or signal), the
 * `isBlocked` check on every use, and the per-copy `admitEvent` hook (before de-duplication,
 * counted in stats).
 */
import { describe, expect, it, vi } from 'vitest'
import { finalizeEvent, generateSecretKey, type NostrEvent } from '../../src/crypto/index.js'
import type { Filter } from '../../src/relay-pool/types.js'
import { poolHarness } from '../helpers/pool-harness.js'
import { waitFor } from '../helpers/relay-fleet.js'

// NIP-11 on: the gate must come before the document request too.
const { pool, relay } = poolHarness({ connect: { allowPrivateHosts: ['127.0.0.1'] }, eoseTimeoutMs: 2_000, publishTimeoutMs: 2_000 })
const sk = generateSecretKey()
const now = (): number => Math.floor(Date.now() / 1000)
const note = (content: string): NostrEvent => finalizeEvent({ kind: 1, content, created_at: now() }, sk)

/** A question the test answers when it wants. */
function deferred(): { promise: Promise<boolean>; answer(value: boolean): void } {
  let answer!: (value: boolean) => void
  const promise = new Promise<boolean>((resolve) => (answer = resolve))
  return { promise, answer }
}

describe('approveConnect', () => {
  it('is asked once per relay before anything touches it; concurrent reads share the pending question', async () => {
    const r = await relay()
    const event = note('gated')
    await r.storeEvents([event])
    const question = deferred()
    const approveConnect = vi.fn(() => question.promise)
    const p = pool({ approveConnect })
    const first = p.query([{ ids: [event.id] }], { relays: [r.url], origin: 'configured' })
    const second = p.query([{ kinds: [1], limit: 5 }], { relays: [r.url] })
    await new Promise((resolve) => setTimeout(resolve, 100))
    // Pending: no socket, no NIP-11 request, no health record.
    expect(approveConnect).toHaveBeenCalledTimes(1)
    expect(approveConnect).toHaveBeenCalledWith(r.url, 'configured')
    expect(r.totalConnections()).toBe(0)
    expect(r.nip11Requests()).toBe(0)
    expect(p.relayStats(r.url)).toBeUndefined()
    question.answer(true)
    const [a, b] = await Promise.all([first, second])
    expect(a.events.map((e) => e.id)).toEqual([event.id])
    expect(b.events.map((e) => e.id)).toContain(event.id)
    // Remembered for the pool's life.
    await p.query([{ kinds: [1], limit: 1 }], { relays: [r.url] })
    expect(approveConnect).toHaveBeenCalledTimes(1)
  })

  it('a no refuses reads and publishes with not-approved, sends nothing and is not held against the relay', async () => {
    const r = await relay()
    const p = pool({ approveConnect: async () => false })
    const { relays } = await p.query([{ kinds: [1], limit: 1 }], { relays: [r.url] })
    expect(relays[0]).toMatchObject({ status: 'refused', code: 'RELAY_REFUSED_BY_POLICY', message: 'not-approved' })
    const report = await p.publish(note('never sent'), { relays: [r.url] })
    expect(report.relays[0]).toMatchObject({ status: 'refused', code: 'RELAY_REFUSED_BY_POLICY', message: 'not-approved' })
    expect(report.relays[0]?.retryAfterMs).toBeUndefined()
    expect(r.totalConnections()).toBe(0)
    expect(r.nip11Requests()).toBe(0)
    expect(await p.relayInformation(r.url)).toBeUndefined()
    expect(r.nip11Requests()).toBe(0)
    // No health record, no penalty box.
    expect(p.relayStats(r.url)).toBeUndefined()
  })

  it('a callback that throws, rejects or answers anything but true means no', async () => {
    const r = await relay()
    const answers: Array<() => unknown> = [
      () => {
        throw new Error('boom')
      },
      () => Promise.reject(new Error('no')),
      () => 'yes',
      () => Promise.resolve(1),
    ]
    for (const answer of answers) {
      const p = pool({ approveConnect: answer as () => boolean })
      const { relays } = await p.query([{ kinds: [1], limit: 1 }], { relays: [r.url] })
      expect(relays[0]?.message).toBe('not-approved')
    }
    expect(r.totalConnections()).toBe(0)
  })

  it('an unanswered question is bounded by the timeout and the signal, and counts nothing against the relay', async () => {
    const r = await relay()
    const p = pool({ approveConnect: () => new Promise<boolean>(() => {}) })
    const started = Date.now()
    const { relays } = await p.query([{ kinds: [1], limit: 1 }], { relays: [r.url], eoseTimeoutMs: 200 })
    expect(relays[0]).toMatchObject({ status: 'timeout', code: 'RELAY_TIMEOUT', message: 'connect approval not answered in time' })
    expect(Date.now() - started).toBeLessThan(1_500)
    const published = await p.publish(note('waiting'), { relays: [r.url], timeoutMs: 200 })
    expect(published.relays[0]).toMatchObject({ status: 'timeout', message: 'connect approval not answered in time' })
    const controller = new AbortController()
    const aborted = p.query([{ kinds: [1], limit: 1 }], { relays: [r.url], signal: controller.signal })
    setTimeout(() => controller.abort(), 50)
    await expect(aborted).rejects.toMatchObject({ code: 'RELAY_ABORTED' })
    expect(p.relayStats(r.url)).toBeUndefined()
    expect(r.totalConnections()).toBe(0)
  })

  it('a live subscription that timed out waiting reads the relay once the answer is yes', async () => {
    const r = await relay()
    const event = note('late yes')
    await r.storeEvents([event])
    const question = deferred()
    const p = pool({ approveConnect: () => question.promise })
    const seen: string[] = []
    const sub = p.subscribe([{ ids: [event.id] }], { relays: [r.url], eoseTimeoutMs: 100, onEvent: (e) => void seen.push(e.id) })
    const report = await sub.settled
    expect(report.relays[0]?.status).toBe('timeout')
    question.answer(true)
    await waitFor(() => seen.length === 1, 2_000, 'the event after the late yes')
    sub.close()
  })

  it('forgetApproval asks again', async () => {
    const r = await relay()
    let allow = false
    const approveConnect = vi.fn(() => allow)
    const p = pool({ approveConnect })
    expect((await p.query([{ kinds: [1], limit: 1 }], { relays: [r.url] })).relays[0]?.status).toBe('refused')
    allow = true
    expect((await p.query([{ kinds: [1], limit: 1 }], { relays: [r.url] })).relays[0]?.status).toBe('refused')
    p.forgetApproval(r.url)
    expect((await p.query([{ kinds: [1], limit: 1 }], { relays: [r.url] })).relays[0]?.status).toBe('eose')
    expect(approveConnect).toHaveBeenCalledTimes(2)
  })
})

describe('reconnects', () => {
  const QUICK = { backoff: { baseMs: 20, maxMs: 100 } }

  it('a live subscription does not reconnect to a relay whose approval was withdrawn; the gate is asked again', async () => {
    const r = await relay()
    let allow = true
    const approveConnect = vi.fn(() => allow)
    const p = pool({ ...QUICK, approveConnect })
    const sub = p.subscribe([{ kinds: [1] }], { relays: [r.url] })
    await sub.settled
    expect(r.totalConnections()).toBe(1)
    // The user revokes the relay: the app's answer changes and the pool forgets the old yes.
    allow = false
    p.forgetApproval(r.url)
    await r.dropConnections()
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(approveConnect).toHaveBeenCalledTimes(2)
    expect(r.totalConnections(), 'no new socket to the revoked relay').toBe(1)
    // A yes again (forgotten, asked anew) lets the live subscription come back.
    allow = true
    p.forgetApproval(r.url)
    const event = note('after re-approval')
    const seen: string[] = []
    const again = p.subscribe([{ ids: [event.id] }], { relays: [r.url], onEvent: (e) => void seen.push(e.id) })
    await again.settled
    await r.storeEvents([event])
    await waitFor(() => seen.length === 1, 2_000, 'the event once approved again')
    again.close()
    sub.close()
  })

  it('a live subscription does not reconnect to a relay blocked meanwhile', async () => {
    const r = await relay()
    let blocked = false
    const p = pool({ ...QUICK, isBlocked: (url) => blocked && url === r.url })
    const sub = p.subscribe([{ kinds: [1] }], { relays: [r.url] })
    await sub.settled
    expect(r.totalConnections()).toBe(1)
    blocked = true
    await r.dropConnections()
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(r.totalConnections(), 'no new socket to the blocked relay').toBe(1)
    sub.close()
  })
})

describe('isBlocked', () => {
  it('refuses with blocked on every use, before the gate is asked, and follows changes', async () => {
    const r = await relay()
    let blocked = true
    const approveConnect = vi.fn(() => true)
    const p = pool({ isBlocked: (url) => blocked && url === r.url, approveConnect })
    const { relays } = await p.query([{ kinds: [1], limit: 1 }], { relays: [r.url] })
    expect(relays[0]).toMatchObject({ status: 'refused', code: 'RELAY_REFUSED_BY_POLICY', message: 'blocked' })
    expect((await p.publish(note('blocked'), { relays: [r.url] })).relays[0]).toMatchObject({ status: 'refused', message: 'blocked' })
    expect(approveConnect).not.toHaveBeenCalled()
    expect(r.totalConnections()).toBe(0)
    blocked = false
    expect((await p.query([{ kinds: [1], limit: 1 }], { relays: [r.url] })).relays[0]?.status).toBe('eose')
  })

  it('a hook that throws refuses (and is reported)', async () => {
    const r = await relay()
    const errors: unknown[] = []
    const p = pool({
      isBlocked: () => {
        throw new Error('broken hook')
      },
      onListenerError: (error) => errors.push(error),
    })
    expect((await p.query([{ kinds: [1], limit: 1 }], { relays: [r.url] })).relays[0]?.message).toBe('blocked')
    expect(errors).toHaveLength(1)
  })
})

describe('admitEvent', () => {
  it('judges each copy before de-duplication: a copy refused from one relay is still taken from another', async () => {
    const unsafe = await relay()
    const safe = await relay()
    const event = note('judged per copy')
    await unsafe.storeEvents([event])
    const calls: Array<{ relay: string; filters: readonly Filter[] }> = []
    const p = pool({
      admitEvent: (_event, relayUrl, filters) => {
        calls.push({ relay: relayUrl, filters })
        return relayUrl === safe.url
      },
    })
    const delivered: Array<{ id: string; relay: string }> = []
    const seenOn: string[] = []
    const sub = p.subscribe([{ kinds: [1] }], {
      relays: [unsafe.url, safe.url],
      onEvent: (e, relayUrl) => void delivered.push({ id: e.id, relay: relayUrl }),
      onSeen: (_id, relayUrl) => void seenOn.push(relayUrl),
    })
    await sub.settled
    // The unsafe relay's copy came first and was refused.
    expect(delivered).toEqual([])
    expect(calls).toEqual([{ relay: unsafe.url, filters: [{ kinds: [1] }] }])
    expect(p.relayStats(unsafe.url)?.eventsNotAdmitted).toBe(1)
    expect(p.relayStats(unsafe.url)?.demerits).toBe(0)
    // The same event now reaches the safe relay (live): delivered from there.
    await safe.publishDirect(event)
    await waitFor(() => delivered.length === 1, 2_000, 'the safe copy')
    expect(delivered).toEqual([{ id: event.id, relay: safe.url }])
    expect(seenOn).toEqual([])
    sub.close()
  })

  it('a hook that throws refuses the copy and is reported', async () => {
    const r = await relay()
    const event = note('hook throws')
    await r.storeEvents([event])
    const errors: unknown[] = []
    const p = pool({
      admitEvent: () => {
        throw new Error('broken admit')
      },
      onListenerError: (error) => errors.push(error),
    })
    const { events } = await p.query([{ ids: [event.id] }], { relays: [r.url] })
    expect(events).toEqual([])
    expect(errors).toEqual([expect.any(Error)])
    expect(p.relayStats(r.url)?.eventsNotAdmitted).toBe(1)
  })
})

describe('the WebSocket factory', () => {
  it("receives the pool's frame cap", async () => {
    const r = await relay()
    const seen: Array<number | undefined> = []
    const { defaultWebSocketFactory } = await import('../../src/relay-pool/websocket.js')
    const p = pool({
      maxMessageBytes: 12_345,
      webSocketFactory: (url, options) => {
        seen.push(options?.maxPayloadBytes)
        return defaultWebSocketFactory(options?.maxPayloadBytes ?? 1)(url)
      },
    })
    await p.query([{ kinds: [1], limit: 1 }], { relays: [r.url] })
    expect(seen).toEqual([12_345])
  })
})


describe('.onion relays', () => {
  it('get no NIP-11 request through the default fetch (it would resolve the name locally: a DNS leak)', async () => {
    const r = await relay()
    const onion = `ws://${'a'.repeat(56)}.onion`
    const { defaultWebSocketFactory } = await import('../../src/relay-pool/websocket.js')
    const direct = vi.fn(async () => new Response('{}', { status: 404 }))
    vi.stubGlobal('fetch', direct)
    try {
      // Only the onion factory is set (what a pool-level app does for Tor): it reaches the local relay.
      const p = pool({ onionWebSocketFactory: (_url, options) => defaultWebSocketFactory(options?.maxPayloadBytes ?? 1 << 20)(r.url) })
      const { relays } = await p.query([{ kinds: [1], limit: 1 }], { relays: [onion] })
      expect(relays[0]?.status).toBe('eose')
      expect(await p.relayInformation(onion)).toBeUndefined()
      expect(direct).not.toHaveBeenCalled()
    } finally {
      vi.unstubAllGlobals()
    }
  })

  it('use a fetch given explicitly (the proxy one) for NIP-11', async () => {
    const r = await relay()
    const onion = `ws://${'b'.repeat(56)}.onion`
    const { defaultWebSocketFactory } = await import('../../src/relay-pool/websocket.js')
    const viaProxy = vi.fn(async () => new Response('{}', { status: 404 }))
    const p = pool({ fetch: viaProxy, onionWebSocketFactory: (_url, options) => defaultWebSocketFactory(options?.maxPayloadBytes ?? 1 << 20)(r.url) })
    await p.query([{ kinds: [1], limit: 1 }], { relays: [onion] })
    expect(viaProxy).toHaveBeenCalled()
  })
})
