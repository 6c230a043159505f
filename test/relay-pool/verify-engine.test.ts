import { createHash } from 'node:crypto'
import { schnorr } from '@noble/curves/secp256k1.js'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { bytesToHex, finalizeEvent, generateSecretKey, verifyEvent, type NostrEvent } from '../../src/crypto/index.js'
import { createVerifyEngine, type EngineHooks, type VerifyEngine } from '../../src/relay-pool/verify-engine.js'
import { readVector } from '../helpers/vectors.js'

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
const P = 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2fn

/** The engine exactly as a worker gets it: evaluated from its source text, nothing else in scope. */
function fromSource(hooks: EngineHooks = {}): VerifyEngine {
  const make = new Function(`return (${createVerifyEngine.toString()})`)() as typeof createVerifyEngine
  return make(hooks)
}

const nativeHooks: EngineHooks = { sha256Hex: (d) => createHash('sha256').update(d).digest('hex') }

const keys = Array.from({ length: 12 }, () => generateSecretKey())
function notes(count: number, authors = keys.length, tag = 'n'): NostrEvent[] {
  return Array.from({ length: count }, (_, i) =>
    finalizeEvent({ kind: 1, content: `${tag} ${i} ✓ "quoted" \n`, tags: [['t', `x${i % 5}`]], created_at: 1_700_000_000 + i }, keys[i % authors] as Uint8Array),
  )
}

const hex64 = (n: bigint): string => n.toString(16).padStart(64, '0')
/** Same id and author, another event's signature: the id hash holds, the signature does not. */
const badSig = (e: NostrEvent, donor: NostrEvent): NostrEvent => ({ ...e, sig: donor.sig })

const rows = readVector('bip340-test-vectors.csv')
  .trim()
  .split('\n')
  .slice(1)
  .map((line) => {
    const [index, , publicKey, , message, signature, result] = line.split(',')
    return { index: Number(index), pubkey: publicKey!.toLowerCase(), message: message!.toLowerCase(), sig: signature!.toLowerCase(), valid: result === 'TRUE' }
  })
// Rows 15-18 sign messages of other lengths than 32 bytes; Nostr signs 32-byte ids only.
const rows32 = rows.filter((row) => row.message.length === 64)

describe('verify engine: BIP-340', () => {
  it('agrees with every BIP-340 vector over a 32-byte message, one by one and batched', () => {
    expect(rows32).toHaveLength(15)
    const engine = fromSource()
    for (const row of rows32) expect([row.index, engine.verifyDigests([row])[0]]).toEqual([row.index, row.valid ? 1 : 0])
    // All of them in one batch: the valid ones stay valid, exactly the invalid ones fail.
    expect([...engine.verifyDigests(rows32)]).toEqual(rows32.map((row) => (row.valid ? 1 : 0)))
    expect(engine.stats.batchFailures).toBeGreaterThan(0)
  })

  it('refuses r ≥ p, s ≥ n, s = 0, r and public keys off the curve, without throwing', () => {
    const [e] = notes(1)
    const good = { pubkey: e!.pubkey, message: e!.id, sig: e!.sig }
    const r = e!.sig.slice(0, 64)
    const s = e!.sig.slice(64)
    const cases = [
      { ...good, sig: hex64(P) + s }, // r = p
      { ...good, sig: hex64(P + 1n) + s }, // r = p + 1
      { ...good, sig: r + hex64(N) }, // s = n
      { ...good, sig: r + hex64(BigInt('0x' + s) + N).slice(-64) }, // s + n (mod 2^256)
      { ...good, sig: r + hex64(0n) }, // s = 0
      { ...good, sig: hex64(0n) + s }, // r = 0
      { ...good, pubkey: hex64(P - 1n) }, // a key that did not sign
      { ...good, pubkey: hex64(0n) }, // no point has x = 0 on secp256k1
      { ...good, pubkey: hex64(P) }, // x ≥ p
    ]
    const engine = fromSource()
    expect([...engine.verifyDigests([good, ...cases])]).toEqual([1, ...cases.map(() => 0)])
    expect([...engine.verifyDigests([good, ...cases], true)]).toEqual([1, ...cases.map(() => 0)])
  })

  it('matches noble on random batches with forged signatures anywhere (property, fixed seed)', () => {
    const pool = notes(48)
    const engine = fromSource(nativeHooks)
    fc.assert(
      fc.property(
        fc.array(fc.record({ pick: fc.nat(47), forge: fc.constantFrom('none', 'none', 'none', 'sig', 'content', 's+1', 'swap-author') }), { minLength: 1, maxLength: 40 }),
        (plan) => {
          const batch = plan.map(({ pick, forge }) => {
            const e = pool[pick] as NostrEvent
            switch (forge) {
              case 'sig':
                return badSig(e, pool[(pick + 1) % pool.length] as NostrEvent)
              case 'content':
                return { ...e, content: e.content + '!' }
              case 's+1':
                return { ...e, sig: e.sig.slice(0, 64) + hex64((BigInt('0x' + e.sig.slice(64)) + 1n) % N) }
              case 'swap-author':
                return { ...e, pubkey: (pool[(pick + 1) % pool.length] as NostrEvent).pubkey }
              default:
                return { ...e }
            }
          })
          const expected = batch.map((e) => (verifyEvent(e) ? 1 : 0))
          expect([...engine.verify(batch)]).toEqual(expected)
        },
      ),
      { seed: 7, numRuns: 60 },
    )
  })

  it('checks the id against the fields: tampered content, tags, kind, created_at fail alone', () => {
    const batch = notes(8)
    const tampered = [
      { ...batch[1]!, content: 'other' },
      { ...batch[2]!, tags: [['t', 'other']] },
      { ...batch[3]!, kind: 2 },
      { ...batch[4]!, created_at: batch[4]!.created_at + 1 },
      { ...batch[5]!, id: batch[6]!.id },
    ]
    const engine = fromSource()
    const out = engine.verify([batch[0]!, ...tampered, batch[7]!])
    expect([...out]).toEqual([1, 0, 0, 0, 0, 0, 1])
    // Id failures are found before the curve: the two good events still made one batch that held.
    expect(engine.stats.batchFailures).toBe(0)
  })

  it('the JS SHA-256 inside agrees with node:crypto (ASCII, multi-byte, block boundaries)', () => {
    const js = fromSource()
    const native = fromSource(nativeHooks)
    const texts = ['', 'abc', 'é😀\u0000', 'x'.repeat(55), 'x'.repeat(56), 'x'.repeat(64), 'y'.repeat(1000)]
    const events = texts.map((content, i) => finalizeEvent({ kind: 1, content, created_at: 1_700_000_000 + i }, keys[0] as Uint8Array))
    expect([...js.verify(events)]).toEqual(events.map(() => 1))
    expect([...native.verify(events)]).toEqual(events.map(() => 1))
  })
})

describe('verify engine: work done', () => {
  it('one batch equation for a clean batch, terms of one author merged, author points cached', () => {
    const engine = fromSource(nativeHooks)
    const batch = notes(60, 3)
    expect([...engine.verify(batch)].every((v) => v === 1)).toBe(true)
    expect(engine.stats).toMatchObject({ batches: 1, batchFailures: 0, singleChecks: 0, authorLifts: 3 })
    engine.verify(notes(10, 3, 'again'))
    expect(engine.stats.authorLifts).toBe(3)
  })

  it('one forgery in 64 costs about one more batch of work, not 64 single checks', () => {
    const engine = fromSource(nativeHooks)
    const batch = notes(64)
    batch[37] = badSig(batch[37]!, batch[3]!)
    const out = engine.verify(batch)
    expect([...out].map((v, i) => (v === 0 ? i : -1)).filter((i) => i >= 0)).toEqual([37])
    const { batchedEvents, singleChecks } = engine.stats
    // The first pass (64) plus halving (32 + at most 32 + 16 + 16 + 8 + 8 + 4 + 4 ...).
    expect(batchedEvents).toBeLessThanOrEqual(64 + 64 + 60)
    expect(singleChecks).toBeLessThanOrEqual(3)
  })

  it('many forgeries: never more than two passes of batch work plus the single checks', () => {
    const engine = fromSource(nativeHooks)
    const batch = notes(40).map((e, i, all) => (i % 3 === 0 ? badSig(e, all[(i + 1) % all.length]!) : e))
    const out = engine.verify(batch)
    expect([...out]).toEqual(batch.map((_, i) => (i % 3 === 0 ? 0 : 1)))
    expect(engine.stats.batchedEvents).toBeLessThanOrEqual(2 * 40)
    expect(engine.stats.singleChecks).toBeLessThanOrEqual(40)
  })

  it('single mode checks one by one and never forms a batch', () => {
    const engine = fromSource()
    const batch = notes(6)
    batch[2] = badSig(batch[2]!, batch[0]!)
    expect([...engine.verify(batch, true)]).toEqual([1, 1, 0, 1, 1, 1])
    expect(engine.stats).toMatchObject({ batches: 0, singleChecks: 6 })
  })

  it('duplicates and repeated R values inside one batch are handled (doubling inside buckets)', () => {
    const engine = fromSource()
    const [a, b] = notes(2)
    // The same event three times, and its twin: identical points meet in the same buckets.
    expect([...engine.verify([a!, a!, { ...a! }, b!, b!])]).toEqual([1, 1, 1, 1, 1])
    // A signature with a valid (r, s) of another message: R repeats with an honest twin.
    expect([...engine.verify([a!, { ...b!, sig: a!.sig }, a!])]).toEqual([1, 0, 1])
  })

  it('agrees with noble for signatures made by noble directly (messages that are not event ids)', () => {
    const engine = fromSource(nativeHooks)
    const items = Array.from({ length: 20 }, (_, i) => {
      const sk = keys[i % keys.length] as Uint8Array
      const message = bytesToHex(createHash('sha256').update(`m${i}`).digest())
      const sig = bytesToHex(schnorr.sign(Buffer.from(message, 'hex'), sk))
      return { pubkey: bytesToHex(schnorr.getPublicKey(sk)), message, sig }
    })
    items[5] = { ...items[5]!, message: items[6]!.message }
    expect([...engine.verifyDigests(items)]).toEqual(items.map((_, i) => (i === 5 ? 0 : 1)))
  })
})
