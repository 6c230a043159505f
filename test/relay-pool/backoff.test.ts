import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DEFAULT_PENALTY_MS, FAILURE_KINDS, type FailureKind, RelayBackoff } from '../../src/relay-pool/backoff.js'
import { createRng } from '../helpers/network-generator.js'

function manualClock(start = 10_000): { now: () => number; advance: (ms: number) => void } {
  let t = start
  return { now: () => t, advance: (ms) => (t += ms) }
}

/** No penalties, so a test sees the jittered part alone. */
const NO_PENALTY = Object.fromEntries(FAILURE_KINDS.map((k) => [k, 0])) as Record<FailureKind, number>

describe('RelayBackoff', () => {
  it('exports every kind once, each with a default penalty', () => {
    expect(new Set(FAILURE_KINDS).size).toBe(FAILURE_KINDS.length)
    expect(Object.keys(DEFAULT_PENALTY_MS).sort()).toEqual([...FAILURE_KINDS].sort())
    expect(DEFAULT_PENALTY_MS['rate-limited']).toBe(30_000)
    expect(DEFAULT_PENALTY_MS['closed-unexpectedly']).toBe(0)
    expect(Object.isFrozen(DEFAULT_PENALTY_MS)).toBe(true)
  })

  it('the cap doubles per failure up to maxMs (random() = 1 - ε shows the cap)', () => {
    const clock = manualClock()
    const b = new RelayBackoff({ baseMs: 1_000, maxMs: 10_000, penaltyMs: NO_PENALTY, random: () => 0.999999, now: clock.now })
    const waits = Array.from({ length: 7 }, () => {
      const w = b.recordFailure('closed-unexpectedly')
      clock.advance(w) // wait it out, so the next one is not lengthened by the previous one
      return w
    })
    expect(waits).toEqual([999, 1_999, 3_999, 7_999, 9_999, 9_999, 9_999])
    expect(b.failures).toBe(7)
  })

  it('full jitter: the delay is random() times the cap', () => {
    const clock = manualClock()
    const draws = [0, 0.5, 0.25]
    const b = new RelayBackoff({ baseMs: 1_000, penaltyMs: NO_PENALTY, random: () => draws.shift() ?? 0, now: clock.now })
    expect(b.recordFailure('closed-unexpectedly')).toBe(0) // 0 * 1000
    expect(b.isBoxed()).toBe(false)
    expect(b.recordFailure('closed-unexpectedly')).toBe(1_000) // 0.5 * 2000
    clock.advance(1_000)
    expect(b.recordFailure('closed-unexpectedly')).toBe(1_000) // 0.25 * 4000
  })

  it('honours multiplier and clamps a broken random() into [0, 1]', () => {
    const clock = manualClock()
    const b = new RelayBackoff({ baseMs: 100, multiplier: 3, maxMs: 10_000, penaltyMs: NO_PENALTY, random: () => 7, now: clock.now })
    expect(b.recordFailure('protocol')).toBe(100)
    clock.advance(100)
    expect(b.recordFailure('protocol')).toBe(300)
    const nan = new RelayBackoff({ penaltyMs: NO_PENALTY, random: () => Number.NaN, now: clock.now })
    expect(nan.recordFailure('protocol')).toBe(0)
    const neg = new RelayBackoff({ penaltyMs: NO_PENALTY, random: () => -3, now: clock.now })
    expect(neg.recordFailure('protocol')).toBe(0)
  })

  it('adds the penalty of the kind on top of the jitter', () => {
    const clock = manualClock()
    const b = new RelayBackoff({ random: () => 0.5, now: clock.now })
    expect(b.recordFailure('rate-limited')).toBe(30_000 + 500)
    expect(b.retryAt()).toBe(clock.now() + 30_500)
    expect(b.lastFailure).toEqual({ kind: 'rate-limited', at: 10_000 })
    const custom = new RelayBackoff({ penaltyMs: { 'rate-limited': 2_000 }, random: () => 0, now: clock.now })
    expect(custom.recordFailure('rate-limited')).toBe(2_000)
    clock.advance(2_000)
    expect(custom.recordFailure('connect-refused')).toBe(5_000) // default kept for other kinds
  })

  it('isBoxed, remainingMs and retryAt follow the clock', () => {
    const clock = manualClock()
    const b = new RelayBackoff({ random: () => 0, now: clock.now })
    expect(b.isBoxed()).toBe(false)
    expect(b.remainingMs()).toBe(0)
    expect(b.retryAt()).toBe(0)
    b.recordFailure('connect-timeout')
    expect(b.isBoxed()).toBe(true)
    clock.advance(4_000)
    expect(b.remainingMs()).toBe(6_000)
    clock.advance(6_000)
    expect(b.isBoxed()).toBe(false)
    expect(b.remainingMs()).toBe(0)
  })

  it('a later failure never shortens an earlier, longer wait', () => {
    const clock = manualClock()
    const b = new RelayBackoff({ random: () => 0, now: clock.now })
    b.recordFailure('policy') // 300 s
    clock.advance(1_000)
    expect(b.recordFailure('closed-unexpectedly')).toBe(299_000)
    expect(b.lastFailure?.kind).toBe('closed-unexpectedly')
  })

  it('recordSuccess resets the count and the jitter but keeps an active penalty', () => {
    const clock = manualClock()
    const b = new RelayBackoff({ baseMs: 1_000, random: () => 0.999, now: clock.now })
    for (let i = 0; i < 4; i++) {
      clock.advance(b.recordFailure('closed-unexpectedly'))
    }
    expect(b.failures).toBe(4)
    b.recordFailure('rate-limited') // 30 s penalty + up to 16 s jitter
    expect(b.remainingMs()).toBe(30_000 + 15_984)
    b.recordSuccess()
    expect(b.failures).toBe(0)
    expect(b.remainingMs()).toBe(30_000) // jitter gone, penalty stays
    expect(b.lastFailure?.kind).toBe('rate-limited')
    clock.advance(30_000)
    expect(b.isBoxed()).toBe(false)
    // Growth restarts from baseMs.
    expect(b.recordFailure('closed-unexpectedly')).toBe(999)
  })

  it('recordSuccess without a penalty frees the relay at once; reset forgets the penalty too', () => {
    const clock = manualClock()
    const b = new RelayBackoff({ random: () => 0.9, now: clock.now })
    b.recordFailure('closed-unexpectedly')
    expect(b.isBoxed()).toBe(true)
    b.recordSuccess()
    expect(b.isBoxed()).toBe(false)
    b.recordFailure('policy')
    b.reset()
    expect(b.isBoxed()).toBe(false)
    expect(b.failures).toBe(0)
    expect(b.lastFailure).toBeUndefined()
  })

  it('keeps the cap finite after very many failures', () => {
    const b = new RelayBackoff({ baseMs: 1_000, maxMs: 60_000, multiplier: 10, penaltyMs: NO_PENALTY, random: () => 0.5, now: () => 0 })
    let last = 0
    for (let i = 0; i < 2_000; i++) last = b.recordFailure('closed-unexpectedly')
    expect(last).toBe(30_000)
    expect(b.failures).toBe(2_000)
  })

  it('rejects bad options and unknown kinds', () => {
    expect(() => new RelayBackoff({ baseMs: 0 })).toThrow(RangeError)
    expect(() => new RelayBackoff({ baseMs: Number.NaN })).toThrow(/baseMs/)
    expect(() => new RelayBackoff({ baseMs: 1_000, maxMs: 999 })).toThrow(/maxMs/)
    expect(() => new RelayBackoff({ multiplier: 0.5 })).toThrow(/multiplier/)
    expect(() => new RelayBackoff({ maxMs: Infinity })).toThrow(RangeError)
    expect(() => new RelayBackoff({ baseMs: '5' as unknown as number })).toThrow(TypeError)
    expect(() => new RelayBackoff({ penaltyMs: { protocol: -1 } })).toThrow(/penaltyMs\['protocol'\]/)
    expect(() => new RelayBackoff({ penaltyMs: { nope: 1 } as never })).toThrow(TypeError)
    expect(() => new RelayBackoff({ penaltyMs: 5 as never })).toThrow(/penaltyMs must be an object/)
    expect(() => new RelayBackoff({ random: 0.5 as never })).toThrow(/random/)
    expect(() => new RelayBackoff({ now: 'x' as never })).toThrow(/now/)
    expect(() => new RelayBackoff().recordFailure('flaky' as FailureKind)).toThrow(TypeError)
  })

  describe('property tests', () => {
    const kindArb = fc.constantFrom(...FAILURE_KINDS)
    const optionsArb = fc.record({
      baseMs: fc.integer({ min: 1, max: 5_000 }),
      extraMax: fc.integer({ min: 0, max: 600_000 }),
      multiplier: fc.double({ min: 1, max: 5, noNaN: true }),
    })

    it('each wait lies in [penalty, cap + penalty] for a relay waited out between failures', () => {
      fc.assert(
        fc.property(
          optionsArb,
          fc.array(fc.tuple(kindArb, fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true })), { minLength: 1, maxLength: 30 }),
          ({ baseMs, extraMax, multiplier }, failures) => {
            const clock = manualClock(0)
            let draw = 0
            const b = new RelayBackoff({ baseMs, maxMs: baseMs + extraMax, multiplier, random: () => draw, now: clock.now })
            failures.forEach(([kind, r], i) => {
              draw = r
              const wait = b.recordFailure(kind)
              const cap = Math.min(baseMs + extraMax, baseMs * multiplier ** i)
              const penalty = DEFAULT_PENALTY_MS[kind]
              expect(wait).toBeGreaterThanOrEqual(penalty)
              expect(wait).toBeLessThanOrEqual(baseMs + extraMax + penalty)
              expect(wait).toBe(penalty + Math.floor(r * cap))
              expect(b.remainingMs()).toBe(wait)
              expect(b.isBoxed()).toBe(wait > 0)
              clock.advance(wait)
              expect(b.isBoxed()).toBe(false)
            })
            expect(b.failures).toBe(failures.length)
          },
        ),
        { seed: 42, numRuns: 300 },
      )
    })

    it('with failures back to back, the wait never shrinks below what was already owed and stays bounded', () => {
      fc.assert(
        fc.property(
          optionsArb,
          fc.array(fc.tuple(kindArb, fc.integer({ min: 0, max: 100_000 })), { minLength: 1, maxLength: 30 }),
          fc.integer({ min: 0, max: 1_000_000 }),
          ({ baseMs, extraMax, multiplier }, steps, seed) => {
            const clock = manualClock(0)
            const source = createRng(seed)
            const rng = (): number => source.next()
            const maxMs = baseMs + extraMax
            const b = new RelayBackoff({ baseMs, maxMs, multiplier, random: rng, now: clock.now })
            let largestPenalty = 0
            for (const [kind, gap] of steps) {
              const owedBefore = b.remainingMs()
              const wait = b.recordFailure(kind)
              largestPenalty = Math.max(largestPenalty, DEFAULT_PENALTY_MS[kind])
              expect(wait).toBeGreaterThanOrEqual(owedBefore)
              expect(wait).toBeLessThanOrEqual(maxMs + largestPenalty)
              clock.advance(gap)
            }
          },
        ),
        { seed: 42, numRuns: 300 },
      )
    })

    it('after recordSuccess only the penalty part remains', () => {
      fc.assert(
        fc.property(fc.array(kindArb, { minLength: 1, maxLength: 10 }), (kinds) => {
          const clock = manualClock(0)
          const b = new RelayBackoff({ random: () => 0.75, now: clock.now })
          for (const kind of kinds) b.recordFailure(kind)
          b.recordSuccess()
          const longestPenalty = Math.max(...kinds.map((k) => DEFAULT_PENALTY_MS[k]))
          expect(b.remainingMs()).toBe(longestPenalty)
          expect(b.failures).toBe(0)
        }),
        { seed: 42, numRuns: 200 },
      )
    })
  })
})
