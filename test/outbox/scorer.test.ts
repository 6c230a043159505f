import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { PersonEvidence, RelayEvidence } from '../../src/outbox/evidence.js'
import {
  DEFAULT_SCORING,
  EVIDENCE_SOURCES,
  NEUTRAL_HEALTH,
  PENALISED_HEALTH,
  type EvidenceSource,
  countFactor,
  decayFactor,
  evidenceScore,
  relayHealthFactor,
  scoreCandidates,
  scoreRelays,
} from '../../src/outbox/scorer.js'
import { emptyRelayStats, type RelayStats } from '../../src/relay-pool/health.js'

const NOW = 1_700_000_000
const DAY = 86_400
const ALICE = 'a'.repeat(64)
const BOB = 'b'.repeat(64)

function relay(url: string, sources: Partial<Record<EvidenceSource, [ageDays: number, count?: number]>>, manual?: RelayEvidence['manual']): RelayEvidence {
  const s: RelayEvidence['sources'] = {}
  for (const [source, [age, count = 1]] of Object.entries(sources) as [EvidenceSource, [number, number?]][]) {
    ;(s as Record<string, unknown>)[source] = { lastAt: NOW - age * DAY, count }
  }
  return manual ? { url, sources: s, manual } : { url, sources: s }
}

function person(relays: RelayEvidence[], pubkey = ALICE): PersonEvidence {
  return { pubkey, relays, lists: {} }
}

function stats(overrides: Partial<RelayStats> = {}): RelayStats {
  return { ...emptyRelayStats('wss://r.example'), ...overrides }
}

describe('scoreRelays', () => {
  it('follows the formula: declared counts whole, learned by 1 - 2^-count, each decayed by its half-life', () => {
    const [scored] = scoreRelays(
      [relay('wss://r.example', { 'nip65-write': [400], seen: [30, 2], 'tag-hint': [7, 1] })],
      { purpose: 'outbox', now: NOW },
    )
    // 100 (no decay) + 15 × 1/2 × 3/4 + 4 × 1/2 × 1/2
    expect(scored!.weight).toBeCloseTo(100 + 15 * 0.5 * 0.75 + 4 * 0.5 * 0.5, 9)
  })

  it('ranks outbox evidence nip65-write ≫ kind3-write > nip05 > seen > nip19-hint > tag-hint', () => {
    const order: EvidenceSource[] = ['nip65-write', 'kind3-write', 'nip05', 'seen', 'nip19-hint', 'tag-hint']
    const scored = scoreRelays(
      order.map((source) => relay(`wss://${source}.example`, { [source]: [0, 3] })),
      { purpose: 'outbox', now: NOW },
    )
    expect(scored.map((s) => s.url)).toEqual(order.map((s) => `wss://${s}.example`))
    expect(scored[0]!.weight).toBeGreaterThan(2 * scored[1]!.weight)
  })

  it('ranks inbox evidence nip65-read ≫ kind3-read > nip05 > hints, and keeps the purposes apart', () => {
    const relays = [
      relay('wss://read.example', { 'nip65-read': [0] }),
      relay('wss://write.example', { 'nip65-write': [0] }),
      relay('wss://k3read.example', { 'kind3-read': [0] }),
      relay('wss://k3write.example', { 'kind3-write': [0] }),
      relay('wss://nip05.example', { nip05: [0] }),
      relay('wss://hint.example', { 'nip19-hint': [0, 5] }),
    ]
    const inbox = scoreRelays(relays, { purpose: 'inbox', now: NOW }).map((s) => s.url)
    expect(inbox).toEqual(['wss://read.example', 'wss://k3read.example', 'wss://nip05.example', 'wss://hint.example'])
    const outbox = scoreRelays(relays, { purpose: 'outbox', now: NOW }).map((s) => s.url)
    expect(outbox).toEqual(['wss://write.example', 'wss://k3write.example', 'wss://nip05.example', 'wss://hint.example'])
  })

  it('a manual "use" puts a relay on top, a manual "never" gives weight 0, each for its purpose only', () => {
    const relays = [
      relay('wss://declared.example', { 'nip65-write': [0], 'nip65-read': [0], seen: [0, 50] }),
      relay('wss://manual.example', {}, { write: true }),
      relay('wss://banned.example', { 'nip65-write': [0], 'nip65-read': [0] }, { write: false }),
    ]
    expect(scoreRelays(relays, { purpose: 'outbox', now: NOW })).toEqual([
      { url: 'wss://manual.example', weight: DEFAULT_SCORING.manualWeight },
      { url: 'wss://declared.example', weight: expect.closeTo(100 + 15 * (1 - 2 ** -50), 9) },
      { url: 'wss://banned.example', weight: 0 },
    ])
    // The manual choices were about writing: for mentions they change nothing.
    expect(scoreRelays(relays, { purpose: 'inbox', now: NOW }).map((s) => [s.url, s.weight])).toEqual([
      ['wss://declared.example', expect.closeTo(100 + 2 * (1 - 2 ** -50), 9)],
      ['wss://banned.example', 100],
    ])
  })

  it('multiplies health in, clamped to 0..1, asked once per URL; a dead relay keeps weight 0', () => {
    const asked: string[] = []
    const health = (url: string): number => {
      asked.push(url)
      return url.includes('dead') ? Number.NaN : url.includes('bad') ? 0.1 : 7
    }
    const relays = [relay('wss://good.example', { 'nip65-write': [0] }), relay('wss://bad.example', { 'nip65-write': [0] }), relay('wss://dead.example', { 'nip65-write': [0] })]
    const scored = scoreCandidates([person(relays, ALICE), person(relays, BOB)], { purpose: 'outbox', now: NOW, health })
    expect(scored.get(ALICE)).toEqual([
      { url: 'wss://good.example', weight: 100 },
      { url: 'wss://bad.example', weight: expect.closeTo(10, 9) },
      { url: 'wss://dead.example', weight: 0 },
    ])
    expect(scored.get(BOB)).toEqual(scored.get(ALICE))
    expect(asked.sort()).toEqual(['wss://bad.example', 'wss://dead.example', 'wss://good.example'])
  })

  it('sorts by weight, then URL, and leaves out relays with nothing for the purpose', () => {
    const scored = scoreRelays(
      person([relay('wss://b.example', { 'nip65-write': [0] }), relay('wss://a.example', { 'nip65-write': [0] }), relay('wss://c.example', { 'nip65-read': [0] })]),
      { purpose: 'outbox', now: NOW },
    )
    expect(scored.map((s) => s.url)).toEqual(['wss://a.example', 'wss://b.example'])
  })

  it('takes weight and half-life overrides for the purpose, and rejects malformed options', () => {
    const relays = [relay('wss://seen.example', { seen: [10, 100] }), relay('wss://nip05.example', { nip05: [0] })]
    const scored = scoreRelays(relays, { purpose: 'outbox', now: NOW, weights: { seen: 40 }, halfLifeDays: { seen: 10 } })
    expect(scored[0]).toEqual({ url: 'wss://nip05.example', weight: 20 })
    expect(scored[1]!.weight).toBeCloseTo(40 * 0.5 * (1 - 2 ** -100), 9)
    expect(() => scoreRelays(relays, { purpose: 'both' as never, now: NOW })).toThrow(TypeError)
    expect(() => scoreRelays(relays, { purpose: 'outbox', now: Number.NaN })).toThrow(TypeError)
    expect(() => scoreRelays(relays, { purpose: 'outbox', now: NOW, weights: { seen: -1 } })).toThrow(RangeError)
    expect(() => scoreRelays(relays, { purpose: 'outbox', now: NOW, weights: { bogus: 1 } as never })).toThrow(TypeError)
    expect(() => scoreRelays(relays, { purpose: 'outbox', now: NOW, halfLifeDays: { seen: 0 } })).toThrow(RangeError)
    expect(() => scoreRelays('x' as never, { purpose: 'outbox', now: NOW })).toThrow(TypeError)
  })

  it('never rises as evidence ages, and never falls as it is observed more often (property)', () => {
    const source = fc.constantFrom(...EVIDENCE_SOURCES)
    fc.assert(
      fc.property(source, fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 1, max: 999 }), fc.constantFrom('outbox', 'inbox'), (src, a, b, count, purpose) => {
        const [young, old] = a <= b ? [a, b] : [b, a]
        const at = (days: number) => evidenceScore(relay('wss://r.example', { [src]: [days, count] }), purpose, NOW)
        expect(at(young)).toBeGreaterThanOrEqual(at(old))
        const more = evidenceScore(relay('wss://r.example', { [src]: [young, count + 1] }), purpose, NOW)
        expect(more).toBeGreaterThanOrEqual(at(young))
        expect(at(young)).toBeLessThanOrEqual(DEFAULT_SCORING.weights[purpose][src])
      }),
      { seed: 42, numRuns: 300 },
    )
  })

  it('decays learned evidence: a 30-day-old sighting is worth half a fresh one, a 7-day-old tag hint too', () => {
    expect(decayFactor(30 * DAY, DEFAULT_SCORING.halfLifeDays.seen * DAY)).toBeCloseTo(0.5, 12)
    expect(decayFactor(7 * DAY, DEFAULT_SCORING.halfLifeDays['tag-hint'] * DAY)).toBeCloseTo(0.5, 12)
    expect(decayFactor(10_000 * DAY, Infinity)).toBe(1)
    expect(decayFactor(-5, 10)).toBe(1)
    expect(countFactor(0)).toBe(0)
    expect(countFactor(1)).toBe(0.5)
    expect(countFactor(1000)).toBeLessThanOrEqual(1)
  })
})

describe('relayHealthFactor', () => {
  it('is neutral (0.8) for a relay never used, and near 1 for a reliable fast one', () => {
    expect(relayHealthFactor(undefined, NOW)).toBe(NEUTRAL_HEALTH)
    expect(relayHealthFactor(stats(), NOW)).toBeCloseTo(NEUTRAL_HEALTH, 12)
    expect(relayHealthFactor(stats({ connectAttempts: 20, connectSuccesses: 20, eoseLatencyMs: 300 }), NOW)).toBeGreaterThan(0.95)
  })

  it('caps demoted and penalty-boxed relays at 0.1', () => {
    const demoted = stats({ connectAttempts: 10, connectSuccesses: 10, demerits: 3, eventsBadSignature: 3 })
    expect(relayHealthFactor(demoted, NOW)).toBeLessThanOrEqual(PENALISED_HEALTH)
    expect(relayHealthFactor(stats({ connectAttempts: 10, connectSuccesses: 10 }), NOW, { boxed: true })).toBe(PENALISED_HEALTH)
    expect(relayHealthFactor(undefined, NOW, { boxed: true })).toBe(PENALISED_HEALTH)
  })

  it('reads the penalty box from the pool’s penaltyUntil, and only while it lasts', () => {
    const base = { connectAttempts: 10, connectSuccesses: 10 }
    expect(relayHealthFactor(stats({ ...base, penaltyUntil: NOW * 1000 + 5000 }), NOW)).toBe(PENALISED_HEALTH)
    expect(relayHealthFactor(stats({ ...base, penaltyUntil: NOW * 1000 - 1 }), NOW)).toBeGreaterThan(0.5)
  })

  it('weighs ignored tag filters lower than connection failures or bad signatures', () => {
    const base = { connectAttempts: 10, connectSuccesses: 10 }
    const tagFilters = relayHealthFactor(stats({ ...base, eventsNotMatchingFilter: 50, demerits: 50 }), NOW)
    const badSigs = relayHealthFactor(stats({ ...base, eventsBadSignature: 3, demerits: 3 }), NOW)
    const failingConnects = relayHealthFactor(stats({ connectAttempts: 10, connectSuccesses: 2 }), NOW)
    expect(tagFilters).toBeGreaterThanOrEqual(0.5)
    expect(tagFilters).toBeGreaterThan(failingConnects)
    expect(tagFilters).toBeGreaterThan(badSigs)
  })

  it('lowers a relay right after a failure, recovering as the failure ages', () => {
    const at = (ageMinutes: number) =>
      relayHealthFactor(stats({ connectAttempts: 5, connectSuccesses: 5, lastFailure: { kind: 'connect-refused', at: (NOW - ageMinutes * 60) * 1000, message: 'x' } }), NOW)
    expect(at(0)).toBeLessThan(at(15))
    expect(at(15)).toBeLessThan(at(240))
    expect(at(240)).toBeCloseTo(relayHealthFactor(stats({ connectAttempts: 5, connectSuccesses: 5 }), NOW), 3)
  })

  it('slow relays lose a little, never below half', () => {
    const fast = relayHealthFactor(stats({ connectAttempts: 5, connectSuccesses: 5, eoseLatencyMs: 200 }), NOW)
    const slow = relayHealthFactor(stats({ connectAttempts: 5, connectSuccesses: 5, eoseLatencyMs: 4000 }), NOW)
    const glacial = relayHealthFactor(stats({ connectAttempts: 5, connectSuccesses: 5, eoseLatencyMs: 600_000 }), NOW)
    expect(slow).toBeLessThan(fast)
    expect(glacial).toBeLessThan(slow)
    expect(glacial).toBeGreaterThanOrEqual(fast * 0.5 - 1e-12)
  })

  it('is monotonic in failures and stays in (0, 1] (property)', () => {
    const arb = fc.record({
      successes: fc.integer({ min: 0, max: 50 }),
      failures: fc.integer({ min: 0, max: 50 }),
      extra: fc.integer({ min: 1, max: 20 }),
      timeouts: fc.integer({ min: 0, max: 20 }),
      notMatching: fc.integer({ min: 0, max: 100 }),
      badSigs: fc.integer({ min: 0, max: 5 }),
      latency: fc.option(fc.integer({ min: 1, max: 60_000 }), { nil: undefined }),
      failureAgeS: fc.option(fc.integer({ min: 0, max: 10_000 }), { nil: undefined }),
      published: fc.integer({ min: 0, max: 20 }),
      rejected: fc.integer({ min: 0, max: 20 }),
    })
    fc.assert(
      fc.property(arb, (r) => {
        const make = (failures: number, timeouts: number, badSigs: number, notMatching: number, rejected: number) =>
          stats({
            connectAttempts: r.successes + failures,
            connectSuccesses: r.successes,
            eoseLatencyMs: r.latency,
            eoseTimeouts: timeouts,
            eventsBadSignature: badSigs,
            eventsNotMatchingFilter: notMatching,
            demerits: badSigs + notMatching,
            publishAttempts: r.published + rejected,
            publishAccepted: r.published,
            lastFailure: r.failureAgeS === undefined ? undefined : { kind: 'connect-timeout', at: (NOW - r.failureAgeS) * 1000, message: '' },
          })
        const base = relayHealthFactor(make(r.failures, r.timeouts, r.badSigs, r.notMatching, r.rejected), NOW)
        expect(base).toBeGreaterThan(0)
        expect(base).toBeLessThanOrEqual(1)
        for (const worse of [
          make(r.failures + r.extra, r.timeouts, r.badSigs, r.notMatching, r.rejected),
          make(r.failures, r.timeouts + r.extra, r.badSigs, r.notMatching, r.rejected),
          make(r.failures, r.timeouts, r.badSigs + r.extra, r.notMatching, r.rejected),
          make(r.failures, r.timeouts, r.badSigs, r.notMatching + r.extra, r.rejected),
          make(r.failures, r.timeouts, r.badSigs, r.notMatching, r.rejected + r.extra),
        ]) {
          expect(relayHealthFactor(worse, NOW)).toBeLessThanOrEqual(base + 1e-12)
        }
      }),
      { seed: 42, numRuns: 300 },
    )
  })
})
