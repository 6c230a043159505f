/**
 * Self-tests of the test infrastructure, on the wire with a bare `ws` client: the real relay fleet
 * (test/helpers/relay-fleet.ts), the scripted relay (test/helpers/scripted-relay.ts) and the leak
 * check (test/helpers/leak-check.ts), which is also enabled for this file.
 */
import '../helpers/leak-check.js'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { finalizeEvent, generateSecretKey, getPublicKey, verifyEvent, type NostrEvent } from '../../src/crypto/index.js'
import { MACHINE_PREFIXES } from '../../src/relay-pool/types.js'
import { countResources, currentBaseline, describeLeaks, findLeaks, takeBaseline } from '../helpers/leak-check.js'
import { openRawClient, startFleet, startRelay, waitFor, type RawClient, type TestRelay } from '../helpers/relay-fleet.js'
import {
  authProblem,
  behaviours,
  matchesFilter,
  startScriptedRelay,
  withBadSignature,
  withForgedContent,
  type ScriptedRelay,
} from '../helpers/scripted-relay.js'

const sk = generateSecretKey()
const pk = getPublicKey(sk)

function note(content: string, extra: { created_at?: number; tags?: string[][]; kind?: number } = {}): NostrEvent {
  return finalizeEvent({ kind: extra.kind ?? 1, content, tags: extra.tags ?? [], ...(extra.created_at ? { created_at: extra.created_at } : {}) }, sk)
}

function authEvent(relayTag: string, challenge: string, secret = sk): NostrEvent {
  return finalizeEvent({ kind: 22242, content: '', tags: [['relay', relayTag], ['challenge', challenge]] }, secret)
}

async function nip11(url: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, { headers: { Accept: 'application/nostr+json' } })
  const text = await res.text()
  return { status: res.status, body: res.headers.get('content-type') === 'application/nostr+json' ? JSON.parse(text) : text }
}

/** Whether a message matching `predicate` arrives within `ms` (for "never happens" checks). */
async function arrivesWithin(client: RawClient, predicate: (m: unknown[]) => boolean, ms: number): Promise<boolean> {
  return client.next(predicate, ms).then(
    () => true,
    () => false,
  )
}

/** Runs `fn` with open clients, closing them whatever happens. */
async function withClients<T>(urls: string[], fn: (...clients: RawClient[]) => Promise<T>): Promise<T> {
  const clients: RawClient[] = []
  try {
    for (const url of urls) clients.push(await openRawClient(url))
    return await fn(...clients)
  } finally {
    await Promise.all(clients.map((c) => c.close()))
  }
}

describe('real relay (fleet started once for the block)', () => {
  let relay: TestRelay

  beforeAll(async () => {
    relay = await startRelay({ name: 'shared' })
  })
  afterAll(async () => {
    await relay.close()
  })

  it('stores a signed event and serves it back before EOSE', async () => {
    const event = note('hello fleet')
    await withClients([relay.url], async (c) => {
      expect(await c!.publish(event)).toEqual({ accepted: true, reason: '' })
      const events = await c!.query([{ ids: [event.id] }])
      expect(events).toEqual([event])
    })
    // the leak check's baseline includes this block's listening server (started in beforeAll)
    expect(currentBaseline().counts.TCPServerWrap).toBeGreaterThanOrEqual(1)
  })

  it('answers duplicate: for an event it already has', async () => {
    const event = note('twice')
    await withClients([relay.url], async (c) => {
      expect((await c!.publish(event)).accepted).toBe(true)
      expect(await c!.publish(event)).toEqual({ accepted: true, reason: 'duplicate: the event already exists' })
    })
  })

  it('keeps only the newest replaceable (kind 0) and addressable (kind 30023, same d) event', async () => {
    const t = Math.floor(Date.now() / 1000)
    const old0 = note('{"name":"old"}', { kind: 0, created_at: t - 10 })
    const new0 = note('{"name":"new"}', { kind: 0, created_at: t - 5 })
    const oldA = note('draft', { kind: 30023, tags: [['d', 'post']], created_at: t - 10 })
    const newA = note('final', { kind: 30023, tags: [['d', 'post']], created_at: t - 5 })
    const otherA = note('other', { kind: 30023, tags: [['d', 'other']], created_at: t - 10 })
    await withClients([relay.url], async (c) => {
      for (const e of [old0, new0, oldA, newA, otherA]) expect((await c!.publish(e)).accepted).toBe(true)
      expect(await c!.query([{ kinds: [0], authors: [pk] }])).toEqual([new0])
      const addressable = await c!.query([{ kinds: [30023], authors: [pk] }])
      expect(addressable.map((e) => e.id).sort()).toEqual([newA.id, otherA.id].sort())
      // an older version sent after the newer one does not replace it
      expect((await c!.publish(old0)).accepted).toBe(true)
      expect(await c!.query([{ kinds: [0], authors: [pk] }])).toEqual([new0])
    })
  })

  it('rejects a bad signature and a forged id with OK false invalid:', async () => {
    const good = note('good')
    await withClients([relay.url], async (c) => {
      expect(await c!.publish(withBadSignature(good))).toEqual({ accepted: false, reason: 'invalid: signature is wrong' })
      expect(await c!.publish(withForgedContent(good))).toEqual({ accepted: false, reason: 'invalid: id is wrong' })
      expect(await c!.query([{ ids: [good.id] }])).toEqual([])
    })
  })

  it('answers a malformed message with a NOTICE (not OK false)', async () => {
    await withClients([relay.url], async (c) => {
      c!.send('this is not json')
      const notice = await c!.next((m) => m[0] === 'NOTICE')
      expect(typeof notice[1]).toBe('string')
      c!.send(['EVENT', { id: 'nope' }])
      const second = await c!.next((m) => m[0] === 'NOTICE', 2_000, c!.messages.indexOf(notice) + 1)
      expect(String(second[1])).toMatch(/^invalid/)
      expect(c!.messages.some((m) => Array.isArray(m) && m[0] === 'OK')).toBe(false)
    })
  })

  it('silently evicts the oldest subscription when a 21st opens on one connection', async () => {
    await withClients([relay.url], async (c) => {
      const kind = 20_001 + Math.floor(Math.random() * 1000) // ephemeral: broadcast only, never stored
      for (let i = 0; i <= 20; i++) {
        c!.send(['REQ', `s${i}`, { kinds: [kind] }])
        await c!.next((m) => m[0] === 'EOSE' && m[1] === `s${i}`)
      }
      expect(c!.messages.some((m) => Array.isArray(m) && m[0] === 'CLOSED')).toBe(false) // no warning given
      const event = note('to every subscription', { kind })
      expect((await relay.publishDirect(event)).success).toBe(true)
      await waitFor(() => c!.messages.filter((m) => Array.isArray(m) && m[0] === 'EVENT').length === 20, 2_000, '20 EVENTs')
      const gotIt = c!.messages.flatMap((m) => (Array.isArray(m) && m[0] === 'EVENT' ? [m[1]] : []))
      expect(gotIt).not.toContain('s0')
      expect(new Set(gotIt)).toEqual(new Set(Array.from({ length: 20 }, (_, i) => `s${i + 1}`)))
    })
  })

  it('quirk: live events are not matched on tag filters (a #t subscription gets untagged events)', async () => {
    await withClients([relay.url], async (c) => {
      const untagged = note('no t tag here', { kind: 1 })
      const tagFilter = { kinds: [1], '#t': ['rendezvous-quirk'] }
      expect(matchesFilter(untagged, tagFilter)).toBe(false)
      c!.send(['REQ', 'tagged', tagFilter])
      await c!.next((m) => m[0] === 'EOSE' && m[1] === 'tagged')
      await relay.publishDirect(untagged)
      const live = await c!.next((m) => m[0] === 'EVENT' && m[1] === 'tagged')
      expect((live[2] as NostrEvent).id).toBe(untagged.id)
      // the stored query does apply the tag filter
      expect(await c!.query([tagFilter])).toEqual([])
    })
  })

  it('records client messages, counts connections, and seeds events with storeEvents', async () => {
    const seeded = [note('seed 1'), note('seed 2')]
    expect(await relay.storeEvents(seeded)).toEqual([{ success: true }, { success: true }])
    const before = relay.received.length
    const seen: unknown[] = []
    const stop = relay.onMessage((m) => seen.push(m.message))
    await withClients([relay.url, relay.url], async (a, b) => {
      expect(relay.connections()).toBe(2)
      const events = await a!.query([{ ids: seeded.map((e) => e.id) }, { kinds: [1], limit: 1 }], 'split')
      expect(events.map((e) => e.id)).toEqual(expect.arrayContaining(seeded.map((e) => e.id)))
      await b!.query([{ kinds: [7] }], 'other')
    })
    stop()
    await waitFor(() => relay.connections() === 0, 2_000, 'server side to close')
    const reqs = relay.received.slice(before).filter((r) => Array.isArray(r.message) && r.message[0] === 'REQ')
    expect(reqs.map((r) => r.message)).toEqual([
      ['REQ', 'split', { ids: seeded.map((e) => e.id) }, { kinds: [1], limit: 1 }],
      ['REQ', 'other', { kinds: [7] }],
    ])
    expect(new Set(reqs.map((r) => r.connection)).size).toBe(2)
    expect(relay.messagesOfType('CLOSE').length).toBeGreaterThanOrEqual(2)
    expect(seen).toContainEqual(['REQ', 'other', { kinds: [7] }])
  })

  it('serves its NIP-11 document (and plain text without the Accept header)', async () => {
    const { status, body } = await nip11(relay.httpUrl)
    expect(status).toBe(200)
    expect(body).toMatchObject({ name: 'shared', limitation: { max_subscriptions: 20, max_limit: 1000 } })
    const plain = await fetch(relay.httpUrl)
    expect(plain.status).toBe(200)
    expect(await plain.text()).toMatch(/WebSocket/)
    expect(relay.nip11Requests()).toBeGreaterThanOrEqual(1)
  })

  it('closes the connection (1009) on a message over max_message_length', async () => {
    await withClients([relay.url], async (c) => {
      c!.send(['EVENT', note('x'.repeat(140_000))])
      expect(await c!.closed).toBe(1009)
    })
  })
})

describe('real relay options', () => {
  it('NIP-11: a custom document, none at all (404), and a change at run time', async () => {
    const custom = await startRelay({ nip11: { name: 'custom', limitation: { max_subscriptions: 5 } } })
    const none = await startRelay({ nip11: null })
    try {
      expect(await nip11(custom.httpUrl)).toEqual({ status: 200, body: { name: 'custom', limitation: { max_subscriptions: 5 } } })
      expect((await nip11(none.httpUrl)).status).toBe(404)
      none.setNip11({ name: 'late' })
      expect(await nip11(none.httpUrl)).toEqual({ status: 200, body: { name: 'late' } })
      expect(none.nip11Requests()).toBe(2)
    } finally {
      await custom.close()
      await none.close()
    }
  })

  it('maxSubscriptionsPerClient lowers the cap and the default NIP-11 says so', async () => {
    const relay = await startRelay({ maxSubscriptionsPerClient: 2 })
    try {
      expect((await nip11(relay.httpUrl)).body).toMatchObject({ limitation: { max_subscriptions: 2 } })
      await withClients([relay.url], async (c) => {
        for (const id of ['a', 'b', 'c']) {
          c!.send(['REQ', id, { kinds: [20_500] }])
          await c!.next((m) => m[0] === 'EOSE' && m[1] === id)
        }
        await relay.publishDirect(note('eph', { kind: 20_500 }))
        await waitFor(() => c!.messages.filter((m) => Array.isArray(m) && m[0] === 'EVENT').length === 2)
        await sleep(30) // an EVENT for 'a' would have come in the same broadcast
        const got = c!.messages.flatMap((m) => (Array.isArray(m) && m[0] === 'EVENT' ? [m[1]] : []))
        expect(new Set(got)).toEqual(new Set(['b', 'c']))
        expect(got.length).toBe(2)
      })
    } finally {
      await relay.close()
    }
  })

  it('AUTH: challenge on connect, auth-required for writes, then OK true after a valid AUTH', async () => {
    const relay = await startRelay({ requireAuthForWrites: true })
    try {
      expect((await nip11(relay.httpUrl)).body).toMatchObject({ limitation: { restricted_writes: true }, supported_nips: expect.arrayContaining([42]) })
      await withClients([relay.url], async (c) => {
        const [, challenge] = await c!.next((m) => m[0] === 'AUTH')
        expect(typeof challenge).toBe('string')
        const event = note('members only')
        const refused = await c!.publish(event)
        expect(refused.accepted).toBe(false)
        expect(refused.reason).toMatch(/^auth-required: /)
        expect(await c!.query([{ ids: [event.id] }])).toEqual([]) // reads are open

        const wrongChallenge = authEvent(relay.url, 'not-the-challenge')
        c!.send(['AUTH', wrongChallenge])
        expect(await c!.next((m) => m[0] === 'OK' && m[1] === wrongChallenge.id)).toEqual(['OK', wrongChallenge.id, false, 'invalid: the challenge string is wrong'])
        const wrongHost = authEvent(`ws://localhost:${relay.port}`, challenge as string)
        c!.send(['AUTH', wrongHost])
        expect(await c!.next((m) => m[0] === 'OK' && m[1] === wrongHost.id)).toEqual(['OK', wrongHost.id, false, 'invalid: the relay url is wrong'])

        const good = authEvent(relay.url, challenge as string)
        c!.send(['AUTH', good])
        expect(await c!.next((m) => m[0] === 'OK' && m[1] === good.id)).toEqual(['OK', good.id, true, ''])
        expect(await c!.publish(event)).toEqual({ accepted: true, reason: '' })
        expect(await c!.query([{ ids: [event.id] }])).toEqual([event])
      })
    } finally {
      await relay.close()
    }
  })

  it('AUTH quirk: only the hostname of the relay tag is checked, not the port', async () => {
    const relay = await startRelay({ auth: true })
    try {
      await withClients([relay.url], async (c) => {
        const [, challenge] = await c!.next((m) => m[0] === 'AUTH')
        const otherPort = authEvent('ws://127.0.0.1:1', challenge as string)
        c!.send(['AUTH', otherPort])
        expect(await c!.next((m) => m[0] === 'OK' && m[1] === otherPort.id)).toEqual(['OK', otherPort.id, true, ''])
      })
    } finally {
      await relay.close()
    }
  })

  it('AUTH for reads: REQ gets CLOSED auth-required: until authenticated', async () => {
    const relay = await startRelay({ requireAuthForReads: true })
    try {
      await withClients([relay.url], async (c) => {
        const [, challenge] = await c!.next((m) => m[0] === 'AUTH')
        await expect(c!.query([{ kinds: [1] }], 'r1')).rejects.toThrow(/closed by the relay: auth-required: /)
        const good = authEvent(relay.url, challenge as string)
        c!.send(['AUTH', good])
        await c!.next((m) => m[0] === 'OK' && m[1] === good.id && m[2] === true)
        expect(await c!.query([{ kinds: [1] }], 'r2')).toEqual([])
      })
    } finally {
      await relay.close()
    }
  })

  it('kill() drops clients and stops listening; restart() brings the same port and data back', async () => {
    const relay = await startRelay()
    try {
      const event = note('survives a crash')
      await relay.publishDirect(event)
      const client = await openRawClient(relay.url)
      await relay.kill()
      expect(await client.closed).toBe(1006)
      await expect(openRawClient(relay.url)).rejects.toThrow(/ECONNREFUSED/)
      await relay.restart()
      await withClients([relay.url], async (c) => {
        expect(await c!.query([{ ids: [event.id] }])).toEqual([event])
      })
      expect(relay.url).toBe(`ws://127.0.0.1:${relay.port}`)
      expect(relay.totalConnections()).toBe(2)
    } finally {
      await relay.close()
    }
  })

  it('dropConnections() cuts clients but keeps listening', async () => {
    const relay = await startRelay()
    try {
      const client = await openRawClient(relay.url)
      await relay.dropConnections()
      expect(await client.closed).toBe(1006)
      await withClients([relay.url], async (c) => {
        expect(await c!.query([{ kinds: [1] }])).toEqual([])
      })
    } finally {
      await relay.close()
    }
  })

  it('a fleet: n distinct relays with separate data; close() frees all', async () => {
    const fleet = await startFleet(3, (i) => ({ maxSubscriptionsPerClient: 10 + i }))
    try {
      expect(new Set(fleet.urls).size).toBe(3)
      const event = note('only on relay 1')
      await fleet.relays[1]!.publishDirect(event)
      await withClients(fleet.urls, async (...clients) => {
        const found = await Promise.all(clients.map((c) => c.query([{ ids: [event.id] }])))
        expect(found.map((f) => f.length)).toEqual([0, 1, 0])
      })
      expect(((await nip11(fleet.relays[2]!.httpUrl)).body as { name: string }).name).toBe('test relay 2')
    } finally {
      await fleet.close()
    }
    await expect(openRawClient(fleet.urls[0]!)).rejects.toThrow(/ECONNREFUSED/)
  })

  it('startFleet rejects a size out of range', async () => {
    await expect(startFleet(0)).rejects.toThrow(RangeError)
  })
})

describe('scripted relay', () => {
  let relay: ScriptedRelay | undefined
  const start = async (...args: Parameters<typeof startScriptedRelay>): Promise<ScriptedRelay> => {
    relay = await startScriptedRelay(...args)
    return relay
  }
  // afterEach from the leak check runs after this block's cleanup
  const stop = async (): Promise<void> => {
    await relay?.close()
    relay = undefined
  }

  it('without a script: EOSE for REQ, OK true for EVENT, no NIP-11 document; everything recorded', async () => {
    const r = await start()
    try {
      await withClients([r.url], async (c) => {
        expect(await c!.query([{ kinds: [1] }], 'x')).toEqual([])
        const e = note('accepted blindly')
        expect(await c!.publish(e)).toEqual({ accepted: true, reason: '' })
        expect(r.connections()).toBe(1)
        expect(r.clients()[0]!.subscriptions.size).toBe(0) // the query CLOSEd it
      })
      expect(r.messagesOfType('REQ')).toEqual([['REQ', 'x', { kinds: [1] }]])
      expect(r.messagesOfType('CLOSE')).toEqual([['CLOSE', 'x']])
      expect(r.messagesOfType('EVENT').length).toBe(1)
      expect((await nip11(r.httpUrl)).status).toBe(404)
      expect(r.totalConnections()).toBe(1)
    } finally {
      await stop()
    }
  })

  it('serve() honours filters and limit; neverEose() sends events and no EOSE', async () => {
    const t = Math.floor(Date.now() / 1000)
    const events = [note('a', { created_at: t - 3 }), note('b', { created_at: t - 2 }), note('c', { created_at: t - 1, kind: 7 })]
    const r = await start({ onReq: behaviours.serve(events) })
    try {
      await withClients([r.url], async (c) => {
        expect((await c!.query([{ kinds: [1], limit: 1 }])).map((e) => e.content)).toEqual(['b'])
        expect((await c!.query([{ kinds: [1, 7] }])).map((e) => e.content)).toEqual(['c', 'b', 'a'])
        r.script.onReq = behaviours.neverEose(events)
        c!.send(['REQ', 'forever', { kinds: [7] }])
        const ev = await c!.next((m) => m[0] === 'EVENT' && m[1] === 'forever')
        expect((ev[2] as NostrEvent).content).toBe('c')
        expect(await arrivesWithin(c!, (m) => m[0] === 'EOSE' && m[1] === 'forever', 150)).toBe(false)
      })
    } finally {
      await stop()
    }
  })

  it('serveIgnoringFilters() sends events that do not match; bad and good copies of one id', async () => {
    const good = note('genuine')
    const reaction = note('+', { kind: 7 })
    const r = await start({ onReq: behaviours.serveIgnoringFilters([reaction, withBadSignature(good), good]) })
    try {
      await withClients([r.url], async (c) => {
        const got = await c!.query([{ kinds: [1] }])
        expect(got.map((e) => matchesFilter(e, { kinds: [1] }))).toEqual([false, true, true])
        expect(got[1]!.id).toBe(got[2]!.id)
        expect(got.map((e) => verifyEvent(e))).toEqual([true, false, true])
      })
    } finally {
      await stop()
    }
  })

  it('sendRaw() delivers malformed and oversized frames verbatim', async () => {
    const huge = JSON.stringify(['EVENT', 'sub', { content: 'x'.repeat(2 * 1024 * 1024) }])
    const frames = ['not json', '{"an":"object"}', '["EVENT"]', '["EOSE",42]', huge]
    const r = await start({ onReq: behaviours.sendRaw(frames) })
    try {
      await withClients([r.url], async (c) => {
        await c!.query([{}], 'sub')
        expect(c!.messages.slice(0, 5)).toEqual([undefined, { an: 'object' }, ['EVENT'], ['EOSE', 42], JSON.parse(huge)])
      })
    } finally {
      await stop()
    }
  })

  it('okAfter() answers late, okNever() not at all, okWith() with a chosen reason', async () => {
    const r = await start({ onEvent: behaviours.okAfter(150) })
    try {
      await withClients([r.url], async (c) => {
        const t0 = Date.now()
        expect((await c!.publish(note('slow'))).accepted).toBe(true)
        expect(Date.now() - t0).toBeGreaterThanOrEqual(140)
        r.script.onEvent = behaviours.okNever()
        c!.send(['EVENT', note('never')])
        expect(await arrivesWithin(c!, (m) => m[0] === 'OK' && m !== c!.messages[0], 150)).toBe(false)
        r.script.onEvent = behaviours.okWith(false, 'pow: difficulty 20 required')
        expect(await c!.publish(note('weak'))).toEqual({ accepted: false, reason: 'pow: difficulty 20 required' })
        // a late answer pending when the client leaves: its timer is cleared (the leak check would see it)
        r.script.onEvent = behaviours.okAfter(10_000)
        c!.send(['EVENT', note('abandoned')])
        await waitFor(() => r.messagesOfType('EVENT').length === 4)
      })
    } finally {
      await stop()
    }
  })

  it('dropAfter() sends N events then drops the connection', async () => {
    const events = [note('1'), note('2'), note('3'), note('4')]
    const r = await start({ onReq: behaviours.dropAfter(2, events) })
    try {
      const c = await openRawClient(r.url)
      c.send(['REQ', 's', {}])
      expect(await c.closed).toBe(1006)
      expect(c.messages.map((m) => ((m as unknown[])[2] as NostrEvent).content)).toEqual(['1', '2'])
    } finally {
      await stop()
    }
  })

  it('closeWith() closes subscriptions with each machine-readable prefix', async () => {
    const r = await start()
    try {
      await withClients([r.url], async (c) => {
        for (const prefix of MACHINE_PREFIXES) {
          r.script.onReq = behaviours.closeWith(`${prefix}: scripted`)
          await expect(c!.query([{}], `p-${prefix}`)).rejects.toThrow(`closed by the relay: ${prefix}: scripted`)
        }
        expect(r.clients()[0]!.subscriptions.size).toBe(0)
      })
    } finally {
      await stop()
    }
  })

  it('flood() sends thousands of events fast (a list is cycled)', async () => {
    const few = [note('f1'), note('f2'), note('f3')]
    const r = await start({ onReq: behaviours.flood(5_000, few) })
    try {
      await withClients([r.url], async (c) => {
        const got = await c!.query([{}], 'flood', 5_000)
        expect(got.length).toBe(5_000)
        expect(got[3]).toEqual(few[0])
      })
    } finally {
      await stop()
    }
  })

  it('requireAuth: challenge, auth-required for both, each bad AUTH refused, a good one accepted', async () => {
    const r = await start({ requireAuth: true, onReq: behaviours.serve([]) })
    try {
      await withClients([r.url], async (c) => {
        const [, challenge] = await c!.next((m) => m[0] === 'AUTH')
        expect(challenge).toBe(r.clients()[0]!.challenge)
        expect((await c!.publish(note('x'))).reason).toMatch(/^auth-required: /)
        await expect(c!.query([{}])).rejects.toThrow(/auth-required: /)

        const other = generateSecretKey()
        const cases: [NostrEvent, string][] = [
          [authEvent(r.url, 'wrong'), 'invalid: wrong challenge'],
          [authEvent(`ws://127.0.0.1:${r.port + 1}`, challenge as string), 'invalid: wrong relay'],
          [withBadSignature(authEvent(r.url, challenge as string)), 'invalid: bad id or signature'],
          [finalizeEvent({ kind: 1, content: '', tags: [['relay', r.url], ['challenge', challenge as string]] }, sk), 'invalid: the kind is not 22242'],
        ]
        for (const [event, reason] of cases) {
          c!.send(['AUTH', event])
          expect(await c!.next((m) => m[0] === 'OK' && m[1] === event.id)).toEqual(['OK', event.id, false, reason])
        }
        const good = authEvent(`${r.url}/`, challenge as string, other)
        c!.send(['AUTH', good])
        expect(await c!.next((m) => m[0] === 'OK' && m[1] === good.id)).toEqual(['OK', good.id, true, ''])
        expect(r.clients()[0]!.pubkey).toBe(getPublicKey(other))
        expect(await c!.publish(note('now allowed'))).toEqual({ accepted: true, reason: '' })
        expect(await c!.query([{}])).toEqual([])
      })
    } finally {
      await stop()
    }
  })

  it('authProblem() checks the time window', () => {
    const event = authEvent('ws://127.0.0.1:7777', 'c')
    expect(authProblem(event, 'c', 'ws://127.0.0.1:7777')).toBeUndefined()
    expect(authProblem(event, 'c', 'ws://127.0.0.1:7777', event.created_at + 601)).toBe('invalid: created_at too far from now')
    expect(authProblem({ kind: 22242 }, 'c', 'ws://127.0.0.1:7777')).toBe('invalid: not an event')
  })

  it('memory(): a tiny working relay with live delivery; broadcast() reaches matching subscriptions', async () => {
    const store = behaviours.memory()
    const r = await start({ onReq: store.onReq, onEvent: store.onEvent })
    try {
      await withClients([r.url, r.url], async (writer, reader) => {
        reader!.send(['REQ', 'live', { kinds: [1] }])
        await reader!.next((m) => m[0] === 'EOSE')
        const e = note('stored and pushed')
        expect(await writer!.publish(e)).toEqual({ accepted: true, reason: '' })
        expect(await writer!.publish(e)).toEqual({ accepted: true, reason: 'duplicate: already have it' })
        expect((await writer!.publish(withBadSignature(note('bad')))).reason).toMatch(/^invalid: /)
        expect((await reader!.next((m) => m[0] === 'EVENT' && m[1] === 'live'))[2]).toEqual(e)
        expect(await writer!.query([{ ids: [e.id] }])).toEqual([e])
        expect(store.events).toEqual([e])
        expect(r.broadcast(note('not a match', { kind: 7 }))).toBe(0)
        const pushed = note('pushed by the test')
        expect(r.broadcast(pushed)).toBe(1)
        expect((await reader!.next((m) => m[0] === 'EVENT' && (m[2] as NostrEvent).id === pushed.id))[1]).toBe('live')
      })
    } finally {
      await stop()
    }
  })

  it('handshake: stall leaves the upgrade unanswered, a status refuses it', async () => {
    const r = await start({ handshake: 'stall' })
    try {
      await expect(openRawClient(r.url, 200)).rejects.toThrow(/did not open within 200 ms/)
      r.setHandshake({ status: 503 })
      await expect(openRawClient(r.url)).rejects.toThrow(/503/)
      r.setHandshake('accept')
      await withClients([r.url], async (c) => expect(await c!.query([{}])).toEqual([]))
    } finally {
      await stop()
    }
  })

  it('a throwing hook is recorded, not fatal; onOther sees non-JSON; kill/restart keep the port', async () => {
    const r = await start({
      onReq: () => {
        throw new Error('script bug')
      },
      onOther: (client, message, raw) => client.notice(`got ${raw} (${typeof message})`),
    })
    try {
      await withClients([r.url], async (c) => {
        c!.send(['REQ', 'boom', {}])
        await waitFor(() => r.hookErrors.length === 1)
        expect((r.hookErrors[0] as Error).message).toBe('script bug')
        c!.send('garbage')
        expect(await c!.next((m) => m[0] === 'NOTICE')).toEqual(['NOTICE', 'got garbage (undefined)'])
      })
      await r.kill()
      await expect(openRawClient(r.url)).rejects.toThrow(/ECONNREFUSED/)
      await r.restart()
      r.script.onReq = undefined
      await withClients([r.url], async (c) => expect(await c!.query([{}])).toEqual([]))
      expect(r.totalConnections()).toBe(2)
    } finally {
      await stop()
    }
  })

  it('NIP-11 on the scripted relay is settable', async () => {
    const r = await start({ nip11: { limitation: { max_subscriptions: 3, max_filters: 2 } } })
    try {
      expect(await nip11(r.httpUrl)).toEqual({ status: 200, body: { limitation: { max_subscriptions: 3, max_filters: 2 } } })
      r.setNip11(null)
      expect((await nip11(r.httpUrl)).status).toBe(404)
      expect(r.nip11Requests()).toBe(2)
    } finally {
      await stop()
    }
  })
})

describe('leak check', () => {
  it('detects a socket left open (both ends) and a server left listening, then passes once closed', async () => {
    const base = takeBaseline()
    const r = await startScriptedRelay()
    const c = await openRawClient(r.url)
    const leaks = await findLeaks(base, { timeoutMs: 50 })
    const sockets = base.counts.TCPSocketWrap ?? 0
    expect(leaks.resources).toContainEqual({ type: 'TCPSocketWrap', baseline: sockets, now: sockets + 2 })
    expect(leaks.resources.map((l) => l.type)).toContain('TCPServerWrap')
    const text = describeLeaks(leaks)
    expect(text).toMatch(/TCPSocketWrap: \d+ open/)
    expect(text).toContain(`server listening on port ${r.port}`)
    expect(text).toContain(`:${r.port}`)
    await c.close()
    await r.close()
    expect(await findLeaks(base)).toEqual({ resources: [], timers: [] })
  })

  it('detects timers left pending, unref()\'d ones too, and names where they were created', async () => {
    const before = setTimeout(() => {}, 10_000) // older than the baseline: not this code's leak
    const base = takeBaseline()
    const timer = setTimeout(() => {}, 10_000)
    const hidden = setInterval(() => {}, 10_000).unref()
    const immediate = setImmediate(() => {})
    try {
      const leaks = await findLeaks(base, { timeoutMs: 0 })
      expect(leaks.timers.map((t) => [t.kind, t.delayMs, t.refed])).toEqual([
        ['setTimeout', 10_000, true],
        ['setInterval', 10_000, false],
        ['setImmediate', undefined, true],
      ])
      expect(leaks.timers[0]!.createdAt).toContain('test-relays.test.ts')
      expect(leaks.resources.map((l) => l.type)).toEqual(['Immediate', 'Timeout'])
      expect(describeLeaks(leaks)).toMatch(/setInterval\(10000 ms\) unref\(\)'d still pending, created at .*test-relays\.test\.ts/)
    } finally {
      clearTimeout(timer)
      clearInterval(hidden)
      clearImmediate(immediate)
      clearTimeout(before)
    }
    expect(await findLeaks(base, { timeoutMs: 0 })).toEqual({ resources: [], timers: [] })
  })

  it('does not report timers that fire in time, nor vitest\'s own', async () => {
    const base = takeBaseline()
    setTimeout(() => {}, 30)
    setImmediate(() => {})
    expect(await findLeaks(base)).toEqual({ resources: [], timers: [] })
    expect(countResources()).not.toHaveProperty('TCPSocketWrap')
  })

  it('waits for closes in flight instead of failing at once', async () => {
    const base = takeBaseline()
    const r = await startScriptedRelay()
    const c = await openRawClient(r.url)
    c.ws.close()
    void r.close()
    expect(await findLeaks(base)).toEqual({ resources: [], timers: [] })
  })

  it('the baseline holds only what was open before the test (here: no server, unlike the first block)', () => {
    expect(currentBaseline().counts).not.toHaveProperty('TCPServerWrap')
    expect(currentBaseline().timerSeq).toBeGreaterThan(0)
  })

  it('waitFor keeps working under fake timers and bounds the wait', async () => {
    vi.useFakeTimers()
    try {
      let n = 0
      expect(await waitFor(() => ++n >= 3, 1_000)).toBe(true)
      await expect(waitFor(() => false, 30, 'never')).rejects.toThrow('waitFor: never not met within 30 ms')
    } finally {
      vi.useRealTimers()
    }
  })
})
