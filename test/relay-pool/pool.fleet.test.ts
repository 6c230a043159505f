/**
 * The pool on the wire against real relays (@nostr-relay/core with in-memory SQLite, on
 * 127.0.0.1): publishing and reading back, replaceable and addressable events, NIP-42 AUTH, the
 * relay's 20-subscriptions-per-connection cap, a relay killed mid-query, and resuming live
 * subscriptions after an outage.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createSecretKeySigner, finalizeEvent, generateSecretKey, getPublicKey, type NostrEvent } from '../../src/crypto/index.js'
import { pageFilters } from '../../src/relay-pool/filters.js'
import { createRelayPool, type RelayPool, type RelayPoolOptions } from '../../src/relay-pool/pool.js'
import type { Filter } from '../../src/relay-pool/types.js'
import { startFleet, startRelay, waitFor, type TestFleet, type TestRelay } from '../helpers/relay-fleet.js'

const LOCAL: RelayPoolOptions = { connect: { allowPrivateHosts: ['127.0.0.1'] } }
const now = (): number => Math.floor(Date.now() / 1000)

let fleet: TestFleet
const pools: RelayPool[] = []
const relays: TestRelay[] = []

function pool(options: RelayPoolOptions = {}): RelayPool {
  const created = createRelayPool({ ...LOCAL, ...options })
  pools.push(created)
  return created
}

async function relay(options: Parameters<typeof startRelay>[0] = {}): Promise<TestRelay> {
  const started = await startRelay(options)
  relays.push(started)
  return started
}

beforeAll(async () => {
  fleet = await startFleet(3)
})
afterAll(async () => {
  await fleet.close()
})
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()))
  await Promise.all(relays.splice(0).map((r) => r.close()))
})

describe('publish and read back', () => {
  it('publishes to every relay and finds the event on each', async () => {
    const p = pool()
    const sk = generateSecretKey()
    const event = finalizeEvent({ kind: 1, content: 'hello outbox', created_at: now() }, sk)
    const report = await p.publish(event, { relays: fleet.urls })
    expect(report.accepted).toBe(3)
    expect(report.relays.map((r) => [r.url, r.status])).toEqual(fleet.urls.map((url) => [url, 'ok']))

    const again = await p.publish(event, { relays: [fleet.urls[0] as string] })
    expect(again.relays[0]?.status).toBe('duplicate')

    const result = await p.query([{ authors: [event.pubkey], kinds: [1] }], { relays: fleet.urls })
    expect(result.events).toEqual([event])
    expect([...(result.seenOn.get(event.id) ?? [])].sort()).toEqual([...fleet.urls].sort())
    expect(result.relays.map((r) => r.status)).toEqual(['eose', 'eose', 'eose'])
    expect(result.relays.reduce((sum, r) => sum + r.firstSeen, 0)).toBe(1)
    const stats = p.relayStats(fleet.urls[0] as string)
    expect(stats?.connectSuccesses).toBe(1)
    expect(stats?.publishAccepted).toBe(2)
  })

  it('reports seen-on evidence once per event and relay', async () => {
    const seen: string[] = []
    const p = pool({ onEventSeen: (event, url) => seen.push(`${event.id.slice(0, 8)}@${url}`) })
    const sk = generateSecretKey()
    const event = finalizeEvent({ kind: 1, content: 'seen', created_at: now() }, sk)
    await Promise.all(fleet.relays.slice(0, 2).map((r) => r.publishDirect(event)))
    await p.query([{ ids: [event.id] }], { relays: fleet.urls })
    await p.query([{ ids: [event.id] }], { relays: fleet.urls })
    expect(seen.sort()).toEqual(fleet.urls.slice(0, 2).map((url) => `${event.id.slice(0, 8)}@${url}`).sort())
  })

  it('keeps the newest replaceable and addressable events', async () => {
    const p = pool()
    const sk = generateSecretKey()
    const t = now()
    const profile1 = finalizeEvent({ kind: 0, content: '{"name":"old"}', created_at: t - 10 }, sk)
    const profile2 = finalizeEvent({ kind: 0, content: '{"name":"new"}', created_at: t }, sk)
    const article1 = finalizeEvent({ kind: 30023, content: 'draft', tags: [['d', 'post']], created_at: t - 5 }, sk)
    const article2 = finalizeEvent({ kind: 30023, content: 'final', tags: [['d', 'post']], created_at: t }, sk)
    const other = finalizeEvent({ kind: 30023, content: 'other', tags: [['d', 'other']], created_at: t }, sk)
    for (const event of [profile1, profile2, article1, article2, other]) {
      const report = await p.publish(event, { relays: fleet.urls })
      expect(report.accepted).toBe(3)
    }
    const profiles = await p.query([{ kinds: [0], authors: [profile1.pubkey] }], { relays: fleet.urls })
    expect(profiles.events.map((e) => e.content)).toEqual(['{"name":"new"}'])
    const posts = await p.query([{ kinds: [30023], authors: [article1.pubkey], '#d': ['post'] }], { relays: fleet.urls })
    expect(posts.events.map((e) => e.content)).toEqual(['final'])
    const stale = await p.publish(profile1, { relays: [fleet.urls[0] as string] })
    expect(stale.relays[0]?.status).not.toBe('ok')
  })
})

describe('paging and NIP-11', () => {
  it('loads more with until-paging and no gaps or repeats', async () => {
    const p = pool()
    const sk = generateSecretKey()
    const t = now()
    const events = Array.from({ length: 25 }, (_, i) => finalizeEvent({ kind: 1, content: `page ${i}`, created_at: t - i }, sk))
    await (fleet.relays[1] as TestRelay).storeEvents(events)
    let filters: Filter[] = [{ kinds: [1], authors: [events[0]?.pubkey as string], limit: 10 }]
    const seen: string[] = []
    for (let page = 0; page < 5 && filters.length > 0; page++) {
      const result = await p.query(filters, { relays: [fleet.urls[1] as string] })
      const fresh = result.events.filter((e) => !seen.includes(e.id))
      if (fresh.length === 0) break
      seen.push(...fresh.map((e) => e.id))
      filters = pageFilters(filters, Math.min(...result.events.map((e) => e.created_at)))
    }
    expect(seen).toEqual(events.map((e) => e.id))
  })

  it('fetches the NIP-11 document of a relay once and applies its limits', async () => {
    const documented = await relay({ maxSubscriptionsPerClient: 7 })
    const p = pool()
    for (let i = 0; i < 3; i++) await p.query([{ kinds: [1] }], { relays: [documented.url] })
    expect(documented.nip11Requests()).toBe(1)
    expect(p.relayLimits(documented.url).maxSubscriptions).toBe(7)
    expect((await p.relayInformation(documented.url))?.limitation.max_subscriptions).toBe(7)
  })
})

describe('NIP-42 AUTH', () => {
  it('authenticates to a relay that asks, when the policy allows it, and re-sends once', async () => {
    const gated = await relay({ requireAuthForWrites: true, requireAuthForReads: true })
    const sk = generateSecretKey()
    const signer = createSecretKeySigner(sk)
    const p = pool({ signer, auth: [gated.url] })
    const event = finalizeEvent({ kind: 1, content: 'members only', created_at: now() }, sk)
    const report = await p.publish(event, { relays: [gated.url] })
    expect(report.relays[0]).toMatchObject({ status: 'ok' })
    const auths = gated.messagesOfType('AUTH')
    expect(auths).toHaveLength(1)
    expect((auths[0]?.[1] as NostrEvent).pubkey).toBe(getPublicKey(sk))
    expect(gated.messagesOfType('EVENT')).toHaveLength(2)

    const read = await p.query([{ ids: [event.id] }], { relays: [gated.url] })
    expect(read.relays[0]?.status).toBe('eose')
    expect(read.events.map((e) => e.id)).toEqual([event.id])
    // Same connection, same challenge: no second AUTH.
    expect(gated.messagesOfType('AUTH')).toHaveLength(1)
  })

  it('does not reveal the key to relays the policy does not name', async () => {
    const gated = await relay({ requireAuthForWrites: true, requireAuthForReads: true })
    const sk = generateSecretKey()
    const p = pool({ signer: createSecretKeySigner(sk) })
    const event = finalizeEvent({ kind: 1, content: 'nope', created_at: now() }, sk)
    const report = await p.publish(event, { relays: [gated.url] })
    expect(report.relays[0]).toMatchObject({ status: 'auth-required', code: 'RELAY_AUTH_FAILED', prefix: 'auth-required' })
    const read = await p.query([{ kinds: [1] }], { relays: [gated.url] })
    expect(read.relays[0]).toMatchObject({ status: 'auth-required', prefix: 'auth-required' })
    expect(gated.messagesOfType('AUTH')).toHaveLength(0)
  })
})

describe('subscription cap', () => {
  it('completes 50 concurrent queries on one relay while never holding more than 20 REQs open', async () => {
    const capped = await relay({ maxSubscriptionsPerClient: 20 })
    const sk = generateSecretKey()
    const events = Array.from({ length: 50 }, (_, i) => finalizeEvent({ kind: 1, content: `note ${i}`, tags: [['t', `tag${i}`]], created_at: now() }, sk))
    await capped.storeEvents(events)
    const p = pool()
    const results = await Promise.all(events.map((_, i) => p.query([{ kinds: [1], '#t': [`tag${i}`] }], { relays: [capped.url] })))
    results.forEach((result, i) => {
      expect(result.relays[0]?.status).toBe('eose')
      expect(result.events.map((e) => e.content)).toEqual([`note ${i}`])
    })
    let open = 0
    let most = 0
    for (const { message } of capped.received) {
      const type = (message as unknown[])[0]
      if (type === 'REQ') open += 1
      if (type === 'CLOSE') open -= 1
      most = Math.max(most, open)
    }
    expect(capped.messagesOfType('REQ')).toHaveLength(50)
    expect(most).toBeLessThanOrEqual(20)
    expect(most).toBeGreaterThan(1)
  })

  it('honours a lower max_subscriptions published in NIP-11', async () => {
    const strict = await relay({ maxSubscriptionsPerClient: 3 })
    const p = pool()
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => p.query([{ kinds: [1], '#t': [`x${i}`] }], { relays: [strict.url] })))
    expect(results.every((r) => r.relays[0]?.status === 'eose')).toBe(true)
    let open = 0
    let most = 0
    for (const { message } of strict.received) {
      const type = (message as unknown[])[0]
      if (type === 'REQ') open += 1
      if (type === 'CLOSE') open -= 1
      most = Math.max(most, open)
    }
    expect(most).toBeLessThanOrEqual(3)
    expect(p.relayLimits(strict.url).maxSubscriptions).toBe(3)
  })
})

describe('failures', () => {
  it('a relay killed mid-query ends as disconnected and does not stall the query', async () => {
    const doomed = await relay()
    const healthy = fleet.relays[0] as TestRelay
    const sk = generateSecretKey()
    const event = finalizeEvent({ kind: 1, content: 'survivor', created_at: now() }, sk)
    await healthy.publishDirect(event)
    const stop = doomed.onMessage(({ message }) => {
      if ((message as unknown[])[0] === 'REQ') void doomed.kill()
    })
    const p = pool({ eoseTimeoutMs: 60_000 })
    const result = await p.query([{ authors: [event.pubkey] }], { relays: [healthy.url, doomed.url] })
    stop()
    expect(result.events.map((e) => e.id)).toEqual([event.id])
    expect(result.relays.map((r) => r.status)).toEqual(['eose', 'disconnected'])
    expect(result.relays[1]?.code).toBe('RELAY_CONNECTION_FAILED')
  })

  it('a relay that is down is reported as failed', async () => {
    const down = await relay()
    const url = down.url
    await down.kill()
    const p = pool()
    const result = await p.query([{ kinds: [1] }], { relays: [url] })
    expect(result.relays[0]).toMatchObject({ status: 'failed', code: 'RELAY_CONNECTION_FAILED' })
    const report = await p.publish(finalizeEvent({ kind: 1, content: 'x' }, generateSecretKey()), { relays: [url] })
    expect(report.relays[0]).toMatchObject({ status: 'failed', code: 'RELAY_CONNECTION_FAILED' })
    expect(p.relayStats(url)?.lastFailure?.kind).toBe('connect-refused')
  })

  it('resumes live subscriptions after an outage without losing the events published meanwhile', async () => {
    const flaky = await relay()
    const sk = generateSecretKey()
    const author = getPublicKey(sk)
    const p = pool({
      backoff: { baseMs: 20, maxMs: 100, penaltyMs: { 'connect-refused': 0, 'closed-unexpectedly': 0, 'connect-timeout': 0 } },
    })
    const received: string[] = []
    const sub = p.subscribe([{ kinds: [1], authors: [author] }], { relays: [flaky.url], onEvent: (event) => received.push(event.content) })
    const t = now()
    await flaky.publishDirect(finalizeEvent({ kind: 1, content: 'before', created_at: t - 2 }, sk))
    await waitFor(() => received.includes('before'), 5_000, 'live event before the outage')

    await flaky.kill()
    await flaky.publishDirect(finalizeEvent({ kind: 1, content: 'during', created_at: t - 1 }, sk))
    await flaky.restart()
    await waitFor(() => received.includes('during'), 10_000, 'event published during the outage')
    await flaky.publishDirect(finalizeEvent({ kind: 1, content: 'after', created_at: t }, sk))
    await waitFor(() => received.includes('after'), 5_000, 'live event after the outage')

    expect(received).toEqual(['before', 'during', 'after'])
    const reqs = flaky.messagesOfType('REQ')
    expect(reqs.length).toBeGreaterThanOrEqual(2)
    const resumed = reqs[reqs.length - 1]?.[2] as { since?: number; limit?: number }
    expect(resumed.since).toBe(t - 2)
    sub.close()
  })
})
