import { afterEach, describe, expect, it } from 'vitest'
import { finalizeEvent, generateSecretKey, verifyEvent, type NostrEvent } from '../../src/crypto/index.js'
import { createRelayPool } from '../../src/relay-pool/pool.js'
import type { EventVerifier } from '../../src/relay-pool/verifier.js'
import { createWasmVerifier } from '../../src/verify-wasm/index.js'
import { createFakeSocketFactory } from '../helpers/fake-socket.js'
import { withBadSignature, withForgedContent } from '../helpers/scripted-relay.js'

const keys = Array.from({ length: 4 }, () => generateSecretKey())
const notes = (count: number, tag = 'w'): NostrEvent[] =>
  Array.from({ length: count }, (_, i) => finalizeEvent({ kind: 1, content: `${tag} ${i} 🌶 "q"\n`, tags: [['t', 'x']], created_at: 1_700_000_000 + i }, keys[i % keys.length] as Uint8Array))

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
const P = 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2fn
const hex64 = (n: bigint): string => n.toString(16).padStart(64, '0')

/** Forgeries of every kind, each paired with what the crypto layer says about it. */
function mixedBatch(): NostrEvent[] {
  const events = notes(24)
  const e = events[0] as NostrEvent
  return [
    ...events,
    withBadSignature(events[1]!),
    withForgedContent(events[2]!),
    { ...e, sig: hex64(P) + e.sig.slice(64) }, // r = p
    { ...e, sig: e.sig.slice(0, 64) + hex64(N) }, // s = n
    { ...e, pubkey: events[1]!.pubkey }, // another author
    { ...e, sig: events[3]!.sig }, // another event's signature
  ]
}

const open: EventVerifier[] = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((v) => v.close()))
})
function track(v: EventVerifier): EventVerifier {
  open.push(v)
  return v
}

describe('createWasmVerifier', () => {
  it('checks ids and signatures with libsecp256k1 on workers, agreeing with the crypto layer', async () => {
    const verifier = track(createWasmVerifier({ workers: 2 }))
    const batch = mixedBatch()
    expect(await verifier.verify(batch)).toEqual(batch.map((e) => verifyEvent(e)))
    expect(batch.filter((e) => !verifyEvent(e))).toHaveLength(6)
    expect(verifier.stats()).toMatchObject({ backend: 'wasm', mode: 'workers', workers: 2, mainThreadEvents: 0 })
  })

  it('falls back to WebAssembly on the main thread when workers cannot load the module, and says why', async () => {
    const verifier = track(createWasmVerifier({ workers: 1, moduleUrl: 'file:///nonexistent/nostr-wasm/main.js' }))
    const batch = mixedBatch()
    expect(await verifier.verify(batch)).toEqual(batch.map((e) => verifyEvent(e)))
    const stats = verifier.stats()
    expect(stats).toMatchObject({ mode: 'main-thread', workerFailures: 1, mainThreadEvents: batch.length })
    expect(stats.fallbackReason).toMatch(/could not start/)
  })

  it('workers: 0 runs WebAssembly on the main thread', async () => {
    const verifier = track(createWasmVerifier({ workers: 0 }))
    const batch = mixedBatch()
    expect(await verifier.verify(batch)).toEqual(batch.map((e) => verifyEvent(e)))
    expect(verifier.stats()).toMatchObject({ mode: 'main-thread', fallbackReason: 'workers: 0' })
  })

  it('plugs into the pool through the verifier option', async () => {
    const events = notes(12, 'pool')
    const served = events.map((e, i) => (i === 4 ? withBadSignature(e) : e))
    const fake = createFakeSocketFactory({
      onSend: (text, socket) => {
        if (!text.startsWith('["REQ"')) return
        const subId = (JSON.parse(text) as string[])[1]
        queueMicrotask(() => {
          for (const e of served) socket.receive(JSON.stringify(['EVENT', subId, e]))
          socket.receive(JSON.stringify(['EOSE', subId]))
        })
      },
    })
    const pool = createRelayPool({ webSocketFactory: fake.factory, fetch: false, verifier: createWasmVerifier({ workers: 1 }) })
    try {
      const result = await pool.query([{ kinds: [1] }], { relays: ['wss://wasm.example'], origin: 'configured' })
      expect(result.events.map((e) => e.id).sort()).toEqual(events.filter((_, i) => i !== 4).map((e) => e.id).sort())
      expect(pool.relayStats('wss://wasm.example')?.eventsBadSignature).toBe(1)
      expect(pool.verifierStats()).toMatchObject({ backend: 'wasm', mode: 'workers' })
    } finally {
      await pool.close()
    }
    expect(pool.verifierStats().mode).toBe('closed')
  })

  it('validates its options', () => {
    expect(() => createWasmVerifier({ workers: 65 })).toThrow(RangeError)
    expect(() => createWasmVerifier({ moduleUrl: 5 as never })).toThrow(TypeError)
  })
})
