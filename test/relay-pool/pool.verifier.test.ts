import { afterEach, describe, expect, it } from 'vitest'
import { finalizeEvent, generateSecretKey, type NostrEvent } from '../../src/crypto/index.js'
import { createRelayPool, type RelayPool } from '../../src/relay-pool/pool.js'
import { createWorkerVerifier, type EventVerifier, type VerifyHint } from '../../src/relay-pool/verifier.js'
import { createFakeSocketFactory, type FakeSocket } from '../helpers/fake-socket.js'
import { withBadSignature } from '../helpers/scripted-relay.js'

const keys = Array.from({ length: 5 }, () => generateSecretKey())
const notes = (count: number, tag: string): NostrEvent[] =>
  Array.from({ length: count }, (_, i) => finalizeEvent({ kind: 1, content: `${tag} ${i}`, created_at: 1_700_000_000 + i }, keys[i % keys.length] as Uint8Array))

const RELAYS = ['wss://one.example', 'wss://two.example', 'wss://three.example']

/** Counts what reaches the verifier it wraps. */
function counting(inner: EventVerifier): EventVerifier & { checked: string[]; hints: Array<VerifyHint | undefined> } {
  const checked: string[] = []
  const hints: Array<VerifyHint | undefined> = []
  return {
    checked,
    hints,
    verify(events, hint) {
      checked.push(...events.map((e) => e.id))
      hints.push(hint)
      return inner.verify(events, hint)
    },
    stats: () => inner.stats(),
    close: () => inner.close(),
  }
}

/** A pool on fake sockets; each relay answers a REQ with its events, then EOSE. */
function fakePool(perRelay: Record<string, readonly unknown[]>, verifier?: EventVerifier): { pool: RelayPool; sockets: FakeSocket[] } {
  const fake = createFakeSocketFactory({
    onSend: (text, socket) => {
      if (!text.startsWith('["REQ"')) return
      const subId = (JSON.parse(text) as string[])[1]
      const events = perRelay[socket.url.replace(/\/$/, '')] ?? []
      queueMicrotask(() => {
        for (const e of events) socket.receive(JSON.stringify(['EVENT', subId, e]))
        socket.receive(JSON.stringify(['EOSE', subId]))
      })
    },
  })
  const pool = createRelayPool({ webSocketFactory: fake.factory, fetch: false, ...(verifier !== undefined && { verifier }) })
  pools.push(pool)
  return { pool, sockets: fake.sockets }
}

const pools: RelayPool[] = []
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()))
})

describe('the pool and its verifier', () => {
  it('verifies on worker threads by default and closes them with the pool', async () => {
    const events = notes(20, 'default')
    const { pool } = fakePool({ [RELAYS[0]!]: events })
    expect(pool.verifierStats()).toMatchObject({ backend: 'js-batch', mode: 'idle' })
    const { events: got } = await pool.query([{ kinds: [1] }], { relays: [RELAYS[0]!], origin: 'configured' })
    expect(got).toHaveLength(20)
    const stats = pool.verifierStats()
    expect(stats.mode).toBe('workers')
    expect(stats.workers).toBeGreaterThan(0)
    expect(stats.mainThreadEvents).toBe(0)
    await pool.close()
    expect(pool.verifierStats()).toMatchObject({ mode: 'closed', workers: 0 })
  })

  it('an event on three relays is verified once, delivered once, and seen on all three', async () => {
    const shared = notes(30, 'shared')
    const verifier = counting(createWorkerVerifier({ workers: 2 }))
    const { pool } = fakePool({ [RELAYS[0]!]: shared, [RELAYS[1]!]: shared, [RELAYS[2]!]: shared }, verifier)
    const { events, seenOn } = await pool.query([{ kinds: [1] }], { relays: RELAYS, origin: 'configured' })
    expect(events).toHaveLength(30)
    expect(verifier.checked.sort()).toEqual(shared.map((e) => e.id).sort())
    for (const e of shared) expect([...(seenOn.get(e.id) ?? [])].sort()).toEqual([...RELAYS].sort())
  })

  it('a burst with forged signatures from one relay: exactly those are rejected, counted on that relay', async () => {
    const good = notes(40, 'burst')
    const forged = good.slice(0, 40).map((e, i) => (i % 7 === 3 ? withBadSignature(e) : e))
    const { pool } = fakePool({ [RELAYS[0]!]: forged, [RELAYS[1]!]: good.slice(20) })
    const { events, seenOn } = await pool.query([{ kinds: [1] }], { relays: RELAYS.slice(0, 2), origin: 'configured' })
    const forgedIds = new Set(forged.filter((_, i) => i % 7 === 3).map((e) => e.id))
    // Every event relay two also has is delivered; of relay one's own, exactly the forged are not.
    expect(events.map((e) => e.id).sort()).toEqual(good.filter((e, i) => i >= 20 || !forgedIds.has(e.id)).map((e) => e.id).sort())
    expect(pool.relayStats(RELAYS[0]!)?.eventsBadSignature).toBe(forgedIds.size)
    expect(pool.relayStats(RELAYS[1]!)?.eventsBadSignature).toBe(0)
    // A forged copy is never "seen on" its relay, even when the event itself is genuine elsewhere.
    for (const id of forgedIds) expect(seenOn.get(id) ?? []).not.toContain(RELAYS[0])
  })

  it('runs on the main thread when told to, with the same results', async () => {
    const events = notes(10, 'main')
    const { pool } = fakePool({ [RELAYS[0]!]: events }, createWorkerVerifier({ workers: 0 }))
    const { events: got } = await pool.query([{ kinds: [1] }], { relays: [RELAYS[0]!], origin: 'configured' })
    expect(got).toHaveLength(10)
    expect(pool.verifierStats()).toMatchObject({ mode: 'main-thread', fallbackReason: 'workers: 0', mainThreadEvents: 10 })
  })
})
