import { schnorr } from '@noble/curves/secp256k1.js'
import { sha256 } from '@noble/hashes/sha2.js'
import fc from 'fast-check'
import { finalizeEvent as ntFinalize, verifyEvent as ntVerify } from 'nostr-tools/pure'
import { describe, expect, it } from 'vitest'
import { type SignatureItem, createBatchVerifier, liftX, msmIsInfinity, splitScalar, wnaf } from '../../src/crypto/batch-verify.js'
import { type NostrEvent, bytesToHex, finalizeEvent, getEventHash, getPublicKey, hexToBytes, verifyEvent, verifyEvents } from '../../src/crypto/index.js'
import { readVector } from '../helpers/vectors.js'

const Point = schnorr.Point
const P = Point.Fp.ORDER
const N = Point.Fn.ORDER
const BETA = 0x7ae96a2b657c07106e64479eac3434e99cf0497512f58995c1396c28719501een

/** Deterministic keys and bytes, so failures reproduce. */
const seeded = (label: string): Uint8Array => sha256(new TextEncoder().encode(label))
const big = (bytes: Uint8Array): bigint => BigInt('0x' + bytesToHex(bytes))
const hex64 = (n: bigint): string => n.toString(16).padStart(64, '0')
const keys = Array.from({ length: 6 }, (_, i) => seeded(`batch-verify key ${i}`))

function note(i: number, key = keys[i % keys.length]!, content = `note ${i}`): NostrEvent {
  return finalizeEvent({ kind: 1, content, created_at: 1_700_000_000 + i, tags: [['t', 'batch']] }, key)
}
/** The same fields with a different signature scalar s' = s + 1: in range, so only the equation catches it. */
function badS(event: NostrEvent, delta = 1n): NostrEvent {
  const s = (BigInt('0x' + event.sig.slice(64)) + delta + N) % N
  return { ...event, sig: event.sig.slice(0, 64) + hex64(s) }
}
/** Re-signs nothing: changes a field and recomputes the id, so only the signature is wrong. */
function withId<T extends Omit<NostrEvent, 'id'> & { id?: string }>(event: T): NostrEvent {
  return { ...event, id: getEventHash(event) } as NostrEvent
}
/** An x coordinate below p that has no curve point (x³ + 7 is not a square). */
function offCurveX(start: bigint): bigint {
  for (let x = start; ; x++) if (liftX(x) === undefined) return x
}
const fresh = (events: readonly unknown[]): unknown[] => events.map((e) => (e && typeof e === 'object' ? { ...e } : e))

const vectorRows = readVector('bip340-test-vectors.csv')
  .trim()
  .split('\n')
  .slice(1)
  .map((line) => {
    const [index, , publicKey, , message, signature, result] = line.split(',')
    return { index: Number(index), publicKey: publicKey!, message: message!, signature: signature!, valid: result === 'TRUE' }
  })
const vectorItem = (row: (typeof vectorRows)[number]): SignatureItem => ({
  signature: hexToBytes(row.signature),
  message: hexToBytes(row.message),
  // Row 14's key is not a field element but is still 32 bytes.
  publicKey: hexToBytes(row.publicKey),
})
function validItems(count: number, label: string): SignatureItem[] {
  return Array.from({ length: count }, (_, i) => {
    const secretKey = keys[i % keys.length]!
    const message = seeded(`${label} message ${i}`).subarray(0, 1 + (i % 32))
    return { signature: schnorr.sign(message, secretKey, seeded(`aux ${i}`)), message, publicKey: schnorr.getPublicKey(secretKey) }
  })
}

describe('curve arithmetic of the batch verifier', () => {
  it('lift_x agrees with noble-curves, including x = 0, x >= p and x off the curve', () => {
    const xs = [0n, 1n, 7n, P - 1n, P, P + 1n, 2n ** 256n - 1n, Point.BASE.x]
    for (let i = 0; i < 60; i++) xs.push(big(seeded(`x ${i}`)))
    let offCurve = 0
    for (const x of xs) {
      let expected: bigint | undefined
      try {
        expected = schnorr.utils.lift_x(x).toAffine().y
      } catch {
        expected = undefined
      }
      if (expected === undefined) offCurve++
      expect(liftX(x)).toBe(expected)
    }
    expect(offCurve).toBeGreaterThan(10) // both outcomes were exercised
  })

  it('GLV split recombines: k1·G + k2·ψ(G) = k·G', () => {
    const psiG = Point.fromAffine({ x: (BETA * Point.BASE.x) % P, y: Point.BASE.y })
    for (const k of [0n, 1n, N - 1n, N / 2n, ...Array.from({ length: 20 }, (_, i) => big(seeded(`k ${i}`)) % N)]) {
      const { k1, k1neg, k2, k2neg } = splitScalar(k)
      expect(k1 < 2n ** 128n && k2 < 2n ** 128n).toBe(true)
      const a = k1 === 0n ? Point.ZERO : Point.BASE.multiplyUnsafe(k1)
      const b = k2 === 0n ? Point.ZERO : psiG.multiplyUnsafe(k2)
      const sum = (k1neg ? a.negate() : a).add(k2neg ? b.negate() : b)
      expect(sum.equals(k === 0n ? Point.ZERO : Point.BASE.multiplyUnsafe(k))).toBe(true)
    }
  })

  it('wNAF digits sum to the scalar, are odd and small, and are separated by w-1 zeros', () => {
    const scalars = [0n, 1n, 2n ** 128n - 1n, 2n ** 127n, 0x5555n, ...Array.from({ length: 30 }, (_, i) => big(seeded(`w ${i}`).subarray(0, 16)))]
    for (const w of [2, 5, 8]) {
      for (const k of scalars) {
        const digits = wnaf(k, w)
        let sum = 0n
        let last = -w
        digits.forEach((d, i) => {
          if (d === 0) return
          expect(Math.abs(d) % 2).toBe(1)
          expect(Math.abs(d)).toBeLessThan(2 ** (w - 1))
          expect(i - last).toBeGreaterThanOrEqual(w)
          last = i
          sum += BigInt(d) << BigInt(i)
        })
        expect(sum).toBe(k)
      }
    }
  })

  it('the MSM is infinity exactly when Σ k·P is, with repeated and opposite points', () => {
    for (const count of [1, 2, 5, 40, 130]) {
      const points = Array.from({ length: count }, (_, i) => Point.BASE.multiply(BigInt(i + 2) * 7919n))
      const scalars = points.map((_, i) => big(seeded(`s ${count} ${i}`).subarray(0, 16)))
      if (count >= 5) {
        // Same point twice and a point with its opposite: the addition's doubling and cancel cases.
        points[1] = points[0]!
        scalars[1] = scalars[0]!
        points[2] = points[0]!.negate()
        points[4] = points[3]!
      }
      const sum = points.reduce((acc, p, i) => acc.add(p.multiplyUnsafe(scalars[i]!)), Point.ZERO)
      const minus = sum.negate().toAffine()
      const xs = [...points.map((p) => p.toAffine().x), minus.x]
      const ys = [...points.map((p) => p.toAffine().y), minus.y]
      expect(msmIsInfinity(xs, ys, [...scalars, 1n])).toBe(true)
      expect(msmIsInfinity(xs, ys, [...scalars, 2n])).toBe(false)
      expect(msmIsInfinity(xs, ys, [scalars[0]! + 1n, ...scalars.slice(1), 1n])).toBe(false)
    }
    // P + (-P) with equal scalars cancels.
    const q = Point.BASE.multiply(5n).toAffine()
    expect(msmIsInfinity([q.x, q.x], [q.y, P - q.y], [3n, 3n])).toBe(true)
    // Running sums that meet an equal point (the Jacobian additions' doubling case): with two
    // points the window is 2 bits, so 2·Q + 1·Q puts Q in buckets 2 and 1 of one window, and 2·Q
    // alone adds the running sum Q to the total Q.
    const Q = Point.fromAffine(q)
    // T = -(3/4)·Q, with scalar 4 (the next window), so that bucket 1 of the first window holds Q alone.
    const T = Q.multiply(Point.Fn.mul(3n, Point.Fn.inv(4n))).negate().toAffine()
    expect(msmIsInfinity([q.x, q.x, T.x], [q.y, q.y, T.y], [2n, 1n, 4n])).toBe(true)
    expect(msmIsInfinity([q.x, q.x, T.x], [q.y, q.y, T.y], [2n, 2n, 4n])).toBe(false)
    const minus2 = Q.multiply(2n).negate().toAffine()
    expect(msmIsInfinity([q.x, minus2.x], [q.y, minus2.y], [2n, 4n])).toBe(false)
    expect(msmIsInfinity([q.x, minus2.x], [q.y, minus2.y], [4n, 2n])).toBe(true)
    // Many copies of one point (bucket sums double, then double the doubles), and copies with
    // their opposites interleaved (pairs cancel, sums of doubles cancel), against noble.
    const k = big(seeded('copies').subarray(0, 16))
    for (const signs of [[1, 1, 1, 1, 1, 1, 1, 1, 1], [1, -1, 1, -1, 1, 1, -1, -1, 1], [1, 1, -1, -1, 1, 1, -1, -1]]) {
      const net = BigInt(signs.reduce((a, b) => a + b, 0))
      const expected = net === 0n ? undefined : Point.fromAffine(q).multiplyUnsafe((((net * k) % N) + N) % N).negate().toAffine()
      const xs = signs.map(() => q.x)
      const ys = signs.map((sign) => (sign > 0 ? q.y : P - q.y))
      const ks = signs.map(() => k)
      if (expected === undefined) expect(msmIsInfinity(xs, ys, ks)).toBe(true)
      else {
        expect(msmIsInfinity([...xs, expected.x], [...ys, expected.y], [...ks, 1n])).toBe(true)
        expect(msmIsInfinity([...xs, expected.x], [...ys, expected.y], [...ks, 2n])).toBe(false)
      }
    }
    expect(msmIsInfinity([], [], [])).toBe(true)
  })
})

describe('BIP-340 vectors through the batch path', () => {
  it('each row alone, as a batch of one', () => {
    for (const row of vectorRows) {
      const verifier = createBatchVerifier({ minBatch: 1 })
      expect(verifier.verifySignatures([vectorItem(row)]), `row ${row.index}`).toEqual([row.valid])
      // Rows that pass the range and curve checks reach the multi-scalar multiplication.
      const { batchChecks, prechecked, singleChecks } = verifier.stats()
      expect(singleChecks).toBe(0)
      expect(batchChecks + prechecked).toBe(1)
    }
  })

  it('each row mixed into a batch of valid signatures fails exactly that item', () => {
    const filler = validItems(11, 'mix')
    const verifier = createBatchVerifier({ minBatch: 2 })
    for (const row of vectorRows) {
      const at = row.index % (filler.length + 1)
      const batch = [...filler.slice(0, at), vectorItem(row), ...filler.slice(at)]
      const expected = batch.map((_, i) => (i === at ? row.valid : true))
      expect(verifier.verifySignatures(batch), `row ${row.index}`).toEqual(expected)
    }
  })

  it('all rows together among valid signatures, over several batch sizes', () => {
    const filler = validItems(40, 'all')
    const batch: SignatureItem[] = []
    const expected: boolean[] = []
    vectorRows.forEach((row, i) => {
      batch.push(filler[2 * i]!, vectorItem(row), filler[2 * i + 1]!)
      expected.push(true, row.valid, true)
    })
    for (const batchSize of [4, 16, 256]) {
      expect(createBatchVerifier({ batchSize, minBatch: 2 }).verifySignatures(batch)).toEqual(expected)
    }
  })

  it('malformed signature items are false and do not disturb the others', () => {
    const [good] = validItems(1, 'malformed')
    const items = [
      good!,
      { ...good!, signature: good!.signature.subarray(0, 63) },
      { ...good!, publicKey: new Uint8Array(33) },
      { ...good!, message: 'text' },
      null,
      {},
      good!,
    ] as unknown as SignatureItem[]
    expect(createBatchVerifier({ minBatch: 1 }).verifySignatures(items)).toEqual([true, false, false, false, false, false, true])
  })
})

describe('verifyEvents with batch verification', () => {
  const events = Array.from({ length: 40 }, (_, i) => note(i))

  it('a bad signature anywhere in a burst fails exactly that event', () => {
    const verifier = createBatchVerifier({ batchSize: 16 })
    for (const at of [0, 7, 15, 16, 39]) {
      const batch = fresh(events) as NostrEvent[]
      batch[at] = badS(batch[at]!)
      const expected = batch.map((_, i) => i !== at)
      expect(verifier.verifyEvents(batch)).toEqual(expected)
    }
  })

  it('the same author many times, with one bad signature', () => {
    const key = keys[0]!
    const batch = Array.from({ length: 100 }, (_, i) => note(i, key))
    batch[37] = badS(batch[37]!)
    const verifier = createBatchVerifier()
    const ok = verifier.verifyEvents(batch)
    expect(ok.filter((x) => !x)).toHaveLength(1)
    expect(ok[37]).toBe(false)
    expect(verifier.stats().cachedAuthors).toBe(1)
  })

  it('duplicates share one check; a forged copy with the same id and sig fails alone', () => {
    const verifier = createBatchVerifier({ minBatch: 2 })
    const e = events[3]!
    const forged = { ...e, content: 'changed' }
    const bad = badS(events[4]!)
    const batch = [e, { ...e }, events[5]!, forged, { ...e }, bad, { ...bad }, events[6]!]
    expect(verifier.verifyEvents(batch)).toEqual([true, true, true, false, true, false, false, true])
    // Four distinct signatures after deduplication (e, events[5], bad, events[6]); the forged
    // copy fails its id hash before any signature work.
    expect(verifier.stats().batchItems).toBeGreaterThanOrEqual(4)
    expect(verifier.stats().prechecked).toBe(0)
  })

  it('keys off the curve, s >= n, s = 0, r >= p, r = 0 and R off the curve are each false', () => {
    const base = events.slice(0, 12)
    const e = events[20]!
    const r = e.sig.slice(0, 64)
    const offX = offCurveX(big(seeded('off')))
    const cases: NostrEvent[] = [
      withId({ ...e, pubkey: hex64(offX) }), // x-only key with no curve point
      withId({ ...e, pubkey: hex64(P + 5n) }), // key >= p
      { ...e, sig: r + hex64(N) }, // s = n
      { ...e, sig: r + hex64(N + 1n) }, // s > n
      { ...e, sig: r + hex64(0n) }, // s = 0
      { ...e, sig: hex64(P) + e.sig.slice(64) }, // r = p
      { ...e, sig: hex64(0n) + e.sig.slice(64) }, // r = 0
      { ...e, sig: hex64(offCurveX(7n)) + e.sig.slice(64) }, // R not on the curve
      withId({ ...e, pubkey: getPublicKey(keys[1]!) }), // another author's key: the equation fails
    ]
    for (const bad of cases) {
      expect(verifyEvent(bad)).toBe(false)
      expect(ntVerify({ ...bad })).toBe(false)
    }
    const batch = [...base.slice(0, 6), ...cases, ...base.slice(6)]
    const expected = batch.map((x) => !cases.includes(x))
    const verifier = createBatchVerifier({ minBatch: 2 })
    expect(verifier.verifyEvents(batch)).toEqual(expected)
    // Everything except the wrong-author case is rejected before the group arithmetic.
    expect(verifier.stats().prechecked).toBe(cases.length - 1)
  })

  it('malformed inputs are false, never throw, and leave the good events true', () => {
    const e = events[0]!
    const hostile = Object.defineProperty({ ...e }, 'sig', {
      get() {
        throw new Error('boom')
      },
    })
    const proxy = new Proxy(
      {},
      {
        get() {
          throw new Error('trap')
        },
      },
    )
    const { proxy: revoked, revoke } = Proxy.revocable({ ...e }, {})
    revoke()
    const junk: unknown[] = [
      null,
      undefined,
      1,
      'event',
      [],
      {},
      { ...e, id: e.id.toUpperCase() },
      { ...e, kind: 1.5 },
      { ...e, tags: [[1]] },
      { ...e, sig: e.sig.slice(2) },
      { ...e, pubkey: 'zz'.repeat(32) },
      hostile,
      proxy,
      revoked,
    ]
    const batch = [...events.slice(0, 10), ...junk, ...events.slice(10, 20)]
    const expected = batch.map((x) => !junk.includes(x))
    expect(createBatchVerifier().verifyEvents(batch)).toEqual(expected)
    expect(verifyEvents(batch)).toEqual(expected)
    expect(verifyEvents('not an array' as unknown as unknown[])).toEqual([])
  })

  it('the coefficients are random: two errors that cancel with fixed coefficients are still caught', () => {
    // s1 + d and s2 - d: with all coefficients 1 (a broken random source) the batch sum is unchanged.
    const d = big(seeded('delta')) % N
    const batch = [badS(events[1]!, d), badS(events[2]!, N - d), ...events.slice(3, 9)]
    const broken = createBatchVerifier({ minBatch: 2, randomBytes: (n) => new Uint8Array(n) })
    expect(broken.verifyEvents(batch).every(Boolean)).toBe(true) // what the randomness prevents
    expect(createBatchVerifier({ minBatch: 2 }).verifyEvents(batch)).toEqual(batch.map((_, i) => i >= 2))
  })

  it('bounds the work of a failed batch wherever the bad signatures are', () => {
    const batch = Array.from({ length: 64 }, (_, i) => note(200 + i))
    const run = (bad: readonly number[]) => {
      const verifier = createBatchVerifier({ batchSize: 64, minBatch: 4 })
      const input = batch.map((e, i) => (bad.includes(i) ? badS(e) : { ...e }))
      expect(verifier.verifyEvents(input)).toEqual(input.map((_, i) => !bad.includes(i)))
      return verifier.stats()
    }
    const all = Array.from({ length: 64 }, (_, i) => i)
    const placements = [[0], [45], [63], [3, 60], [20, 21], [0, 17, 33, 49], all.filter((i) => i % 2 === 0), all]
    for (const bad of placements) {
      const stats = run(bad)
      // Pieces of 64, 8 and 4 signatures: the whole batch, then at most one batch's worth per level.
      expect(stats.batchItems).toBeLessThanOrEqual(64 + 64 + 8)
      expect(stats.singleChecks).toBeLessThanOrEqual(64)
      // One bad signature is found by batch checks down to a piece of 4, checked one by one.
      if (bad.length === 1) expect(stats.singleChecks).toBeLessThanOrEqual(4)
    }
    // All bad: the batch and two eighths fail, then every signature is checked once.
    expect(run(all)).toMatchObject({ batchChecks: 3, batchItems: 80, singleChecks: 64 })
    // One bad at 45: all eight pieces of 8 checked (the bad one is the sixth), then the piece of 8
    // in halves (40-43 passes, 44-47 is bad without a check), then 4 single checks.
    expect(run([45])).toMatchObject({ batchChecks: 10, batchItems: 64 + 64 + 4, singleChecks: 4 })
  })

  it('a flood of bad signatures drops to single verification; batching resumes when it stops', () => {
    const verifier = createBatchVerifier({ batchSize: 32, minBatch: 4 })
    const good = Array.from({ length: 32 }, (_, i) => note(300 + i))
    const flood = good.map((e) => badS(e))
    expect(verifier.verifyEvents(flood).some(Boolean)).toBe(false)
    expect(verifier.stats()).toMatchObject({ batchChecks: 3, singleChecks: 32, chunkSize: 1 })
    // More of the flood: one by one, not a single batch check wasted on it.
    expect(verifier.verifyEvents(fresh(flood)).some(Boolean)).toBe(false)
    expect(verifier.stats()).toMatchObject({ batchChecks: 3, singleChecks: 64, chunkSize: 1 })
    // Clean events again: chunks double (1, 2, 4, …) back to the batch size.
    expect(verifier.verifyEvents(fresh(good)).every(Boolean)).toBe(true)
    const recovered = verifier.stats()
    expect(recovered.chunkSize).toBe(32)
    expect(recovered.batchChecks).toBeGreaterThan(3)
    expect(verifier.verifyEvents(fresh(good)).every(Boolean)).toBe(true)
    expect(verifier.stats()).toMatchObject({ batchChecks: recovered.batchChecks + 1, singleChecks: recovered.singleChecks })
    // One bad signature in a chunk halves the next one.
    const oneBad = fresh(good) as NostrEvent[]
    oneBad[9] = badS(oneBad[9]!)
    expect(verifier.verifyEvents(oneBad).filter((ok) => !ok)).toHaveLength(1)
    expect(verifier.stats().chunkSize).toBe(16)
  })

  it('small inputs are verified one by one; the author cache stays bounded', () => {
    const small = createBatchVerifier({ minBatch: 4 })
    expect(small.verifyEvents(fresh(events.slice(0, 3)))).toEqual([true, true, true])
    expect(small.stats()).toMatchObject({ batchChecks: 0, singleChecks: 3 })
    const many = Array.from({ length: 30 }, (_, i) => note(i, seeded(`author ${i}`)))
    const bounded = createBatchVerifier({ authorCacheSize: 8 })
    expect(bounded.verifyEvents(many).every(Boolean)).toBe(true)
    expect(bounded.stats().cachedAuthors).toBe(8)
    const uncached = createBatchVerifier({ authorCacheSize: 0 })
    expect(uncached.verifyEvents(many).every(Boolean)).toBe(true)
    expect(uncached.stats().cachedAuthors).toBe(0)
  })

  it('rejects bad options with RangeError naming the option', () => {
    expect(() => createBatchVerifier({ batchSize: 0 })).toThrow(/batchSize/)
    expect(() => createBatchVerifier({ minBatch: 1.5 })).toThrow(RangeError)
    expect(() => createBatchVerifier({ authorCacheSize: -1 })).toThrow(/authorCacheSize/)
  })
})

describe('differential against nostr-tools verifyEvent (property, fixed seed)', () => {
  // Signed by both libraries, so each side verifies the other's signatures. The JSON round trip
  // drops the verification result nostr-tools caches on its events under a symbol (object spread
  // would copy it into every tampered copy).
  const plain = (e: NostrEvent): NostrEvent => JSON.parse(JSON.stringify(e)) as NostrEvent
  const pool: NostrEvent[] = [
    ...Array.from({ length: 16 }, (_, i) => note(100 + i, keys[i % 4]!, `ours ${i} ✓\n"quoted"`)),
    ...Array.from({ length: 16 }, (_, i) =>
      plain(ntFinalize({ kind: i % 3 === 0 ? 30023 : 1, content: `theirs ${i}`, created_at: 1_700_000_500 + i, tags: [['d', String(i)]] }, keys[(i % 4) + 2]!)),
    ),
  ]
  const offX = hex64(offCurveX(big(seeded('diff off'))))
  const tamper: Record<string, (e: NostrEvent, other: NostrEvent) => NostrEvent> = {
    none: (e) => ({ ...e }),
    id: (e) => ({ ...e, id: e.id.slice(0, 10) + (e.id[10] === '0' ? '1' : '0') + e.id.slice(11) }),
    content: (e) => ({ ...e, content: e.content + ' ' }),
    kind: (e) => ({ ...e, kind: e.kind + 1 }),
    sigS: (e) => badS(e),
    sigR: (e) => ({ ...e, sig: e.sig.slice(0, 20) + (e.sig[20] === 'a' ? 'b' : 'a') + e.sig.slice(21) }),
    sigSwap: (e, other) => ({ ...e, sig: other.sig }),
    sigHigh: (e) => ({ ...e, sig: e.sig.slice(0, 64) + hex64(N + (BigInt('0x' + e.sig.slice(64)) % (2n ** 256n - N))) }),
    pubkey: (e, other) => withId({ ...e, pubkey: other.pubkey }),
    pubkeyOff: (e) => withId({ ...e, pubkey: offX }),
    copy: (_, other) => ({ ...other }),
  }
  const arbBatch = fc.array(
    fc.record({
      base: fc.nat(pool.length - 1),
      other: fc.nat(pool.length - 1),
      // Mostly untouched events, as in a real burst, so batches hold a few bad ones among many.
      op: fc.oneof({ arbitrary: fc.constant('none'), weight: 3 }, { arbitrary: fc.constantFrom(...Object.keys(tamper)), weight: 1 }),
    }),
    { minLength: 1, maxLength: 70, size: 'max' },
  )

  it('random tampering in random positions of random batch sizes gives the same verdicts', () => {
    const verifiers = [createBatchVerifier(), createBatchVerifier({ batchSize: 8, minBatch: 2 })]
    const verdicts = { true: 0, false: 0 }
    fc.assert(
      fc.property(arbBatch, (spec) => {
        const batch = spec.map(({ base, other, op }) => tamper[op]!(pool[base]!, pool[other]!))
        const expected = batch.map((e) => ntVerify({ ...e }))
        for (const verifier of verifiers) expect(verifier.verifyEvents(fresh(batch))).toEqual(expected)
        expect(verifyEvents(fresh(batch))).toEqual(expected)
        expect(batch.map((e) => verifyEvent(e))).toEqual(expected)
        for (const ok of expected) verdicts[`${ok}`]++
      }),
      { seed: 0x7a, numRuns: 40 },
    )
    // Both verdicts were common, and the batch path (not only singles) ran with bad signatures in it.
    expect(verdicts.true).toBeGreaterThan(600)
    expect(verdicts.false).toBeGreaterThan(150)
    expect(verifiers[1]!.stats().batchChecks).toBeGreaterThan(100)
  })
})
