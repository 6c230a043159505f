import fc from 'fast-check'
import { matchFilter as ntMatchFilter } from 'nostr-tools/filter'
import { describe, expect, it } from 'vitest'
import type { NostrEvent } from '../../src/crypto/index.js'
import { RelayError } from '../../src/errors.js'
import {
  assertFilters,
  expectedEventCount,
  filterProblem,
  matchFilter,
  matchFilters,
  pageFilters,
  splitFiltersForRelay,
} from '../../src/relay-pool/filters.js'
import { encodeReq, utf8ByteLength } from '../../src/relay-pool/messages.js'
import { DEFAULT_RELAY_LIMITS, type Filter, type RelayLimits } from '../../src/relay-pool/types.js'
import { codeOf } from '../helpers/errors.js'

/** The `RelayError` code `fn` throws, or `undefined`; anything else thrown fails the test. */
const hexOf = (i: number, salt: string): string => `${salt}${i.toString(16).padStart(4, '0')}`.padEnd(64, '0')
const IDS = Array.from({ length: 6 }, (_, i) => hexOf(i, 'e1'))
const PUBKEYS = Array.from({ length: 6 }, (_, i) => hexOf(i, 'a2'))
const KINDS = [0, 1, 3, 7, 30023]
const WORDS = ['nostr', 'bitcoin', 'art', 'x', 'ünïcødé']
const D_VALUES = ['', 'a', 'b']
const sig = '5'.repeat(128)

function ev(over: Partial<NostrEvent> = {}): NostrEvent {
  return { id: IDS[0] as string, pubkey: PUBKEYS[0] as string, created_at: 10, kind: 1, tags: [], content: '', sig, ...over }
}

const arbTag: fc.Arbitrary<string[]> = fc.oneof(
  fc.tuple(fc.constant('e'), fc.constantFrom(...IDS)),
  fc.tuple(fc.constant('p'), fc.constantFrom(...PUBKEYS)),
  fc.tuple(fc.constant('t'), fc.constantFrom(...WORDS)),
  fc.tuple(fc.constant('d'), fc.constantFrom(...D_VALUES)),
  // The value sits second: later elements and other names must not match.
  fc.tuple(fc.constantFrom('e', 'p', 't', 'T', 'E'), fc.constantFrom('other', ...WORDS), fc.constantFrom(...IDS, ...WORDS)),
  fc.tuple(fc.constantFrom('e', 't', 'd')),
  fc.constant([] as string[]),
)

const arbEvent: fc.Arbitrary<NostrEvent> = fc.record({
  id: fc.constantFrom(...IDS),
  pubkey: fc.constantFrom(...PUBKEYS),
  created_at: fc.integer({ min: 0, max: 20 }),
  kind: fc.constantFrom(...KINDS),
  tags: fc.array(arbTag, { maxLength: 5 }),
  content: fc.constant(''),
  sig: fc.constant(sig),
})

const list = <T>(values: T[]): fc.Arbitrary<T[]> => fc.subarray(values, { minLength: 1 })

/** Valid filters over the same small pools as the events, so matches are common. `until` ≥ 1: see the nostr-tools test. */
const arbFilter: fc.Arbitrary<Filter> = fc
  .record(
    {
      ids: list(IDS),
      authors: list(PUBKEYS),
      kinds: list(KINDS),
      since: fc.integer({ min: 0, max: 20 }),
      until: fc.integer({ min: 1, max: 20 }),
      limit: fc.integer({ min: 0, max: 100 }),
      search: fc.constantFrom('', 'art', 'long search words'),
      '#e': list(IDS),
      '#p': list(PUBKEYS),
      '#t': list(WORDS),
      '#d': list(D_VALUES),
    },
    { requiredKeys: [] },
  )
  .map((f) => {
    if (f.since !== undefined && f.until !== undefined && f.since > f.until) return { ...f, since: f.until, until: f.since } as Filter
    return f as Filter
  })
  .filter((f) => f.until === undefined || f.until >= 1)

/** `event` changed so that it satisfies `filter` (values picked by `pick`), to make matches common. */
function steer(event: NostrEvent, filter: Filter, pick: number): NostrEvent {
  const choose = <T>(values: readonly T[] | undefined, fallback: T): T => (values === undefined ? fallback : (values[pick % values.length] as T))
  const tags = [...event.tags]
  for (const [key, values] of Object.entries(filter)) {
    if (key.startsWith('#') && Array.isArray(values)) tags.push([key.slice(1), choose(values as string[], '')])
  }
  return {
    ...event,
    id: choose(filter.ids, event.id),
    pubkey: choose(filter.authors, event.pubkey),
    kind: choose(filter.kinds, event.kind),
    created_at: Math.min(Math.max(event.created_at, filter.since ?? 0), filter.until ?? Infinity),
    tags,
  }
}

/** An event and a filter; half the time the event is steered to match (or nearly: one tag value may be dropped). */
const arbCase: fc.Arbitrary<[Filter, NostrEvent]> = fc
  .tuple(arbFilter, arbEvent, fc.boolean(), fc.nat(), fc.boolean())
  .map(([filter, event, steered, pick, trim]) => {
    if (!steered) return [filter, event]
    const near = steer(event, filter, pick)
    return [filter, trim && near.tags.length > 0 ? { ...near, tags: near.tags.slice(0, -1) } : near]
  })

describe('filterProblem and assertFilters', () => {
  it('accepts valid filters', () => {
    const valid: unknown[] = [
      {},
      { kinds: [0, 65535], limit: 0 },
      { ids: IDS, authors: PUBKEYS, since: 0, until: 0 },
      { '#t': ['nostr'], '#T': ['Nostr'], search: 'x' },
      { '#e': [IDS[0]], '#p': [PUBKEYS[0]], '#d': [''] },
      { kinds: [1], since: undefined, '#t': undefined },
    ]
    for (const f of valid) expect(filterProblem(f)).toBeUndefined()
  })

  it('names the problem', () => {
    const cases: [unknown, string][] = [
      [null, 'filter must be an object'],
      [[], 'filter must be an object'],
      ['{}', 'filter must be an object'],
      [{ ids: [IDS[0]?.toUpperCase()] }, 'ids[0] must be 64 lower-case hex characters'],
      [{ authors: ['ab'] }, 'authors[0] must be 64 lower-case hex characters'],
      [{ authors: PUBKEYS[0] }, 'authors must be an array'],
      [{ authors: [] }, 'authors must not be empty'],
      [{ kinds: [1, 65536] }, 'kinds[1] must be an integer from 0 to 65535'],
      [{ kinds: [1.5] }, 'kinds[0] must be an integer from 0 to 65535'],
      [{ kinds: ['1'] }, 'kinds[0] must be an integer from 0 to 65535'],
      [{ since: -1 }, 'since must be a non-negative integer'],
      [{ until: 1.5 }, 'until must be a non-negative integer'],
      [{ limit: '10' }, 'limit must be a non-negative integer'],
      [{ since: 5, until: 4 }, 'since must not be after until'],
      [{ search: 1 }, 'search must be a string'],
      [{ '#t': [1] }, '#t[0] must be a string'],
      [{ '#t': 'x' }, '#t must be an array'],
      [{ '#e': ['note1xyz'] }, '#e[0] must be 64 lower-case hex characters'],
      [{ '#p': ['npub1xyz'] }, '#p[0] must be 64 lower-case hex characters'],
      [{ '#tt': ['x'] }, 'unknown filter key "#tt"'],
      [{ '#1': ['x'] }, 'unknown filter key "#1"'],
      [{ '#': ['x'] }, 'unknown filter key "#"'],
      [{ kind: [1] }, 'unknown filter key "kind"'],
      [JSON.parse('{"__proto__":{"x":1}}'), 'unknown filter key "__proto__"'],
      [{ ['k'.repeat(100)]: 1 }, `unknown filter key "${'k'.repeat(32)}…"`],
    ]
    for (const [filter, problem] of cases) expect(filterProblem(filter), JSON.stringify(filter)).toBe(problem)
  })

  it('assertFilters throws RELAY_FILTER_INVALID naming the index, and TypeError for a non-array', () => {
    expect(codeOf(() => assertFilters([{ kinds: [1] }, { authors: ['x'] }]))).toBe('RELAY_FILTER_INVALID')
    expect(() => assertFilters([{ kinds: [1] }, { authors: ['x'] }])).toThrow(/filters\[1\]: authors\[0\]/)
    expect(codeOf(() => assertFilters([{ kinds: [1] }]))).toBeUndefined()
    expect(codeOf(() => assertFilters([]))).toBeUndefined()
    expect(() => assertFilters({} as unknown as Filter[])).toThrow(TypeError)
  })
})

describe('matchFilter', () => {
  it('matches tags by their first value only, and tag names case-sensitively', () => {
    const event = ev({ tags: [['t', 'art', 'nostr'], ['T', 'bitcoin'], ['e']] })
    expect(matchFilter({ '#t': ['art'] }, event)).toBe(true)
    expect(matchFilter({ '#t': ['nostr'] }, event)).toBe(false)
    expect(matchFilter({ '#t': ['bitcoin'] }, event)).toBe(false)
    expect(matchFilter({ '#T': ['bitcoin'] }, event)).toBe(true)
    expect(matchFilter({ '#t': ['art'], '#T': ['art'] }, event)).toBe(false)
  })

  it('treats since and until as inclusive', () => {
    const event = ev({ created_at: 10 })
    expect(matchFilter({ since: 10, until: 10 }, event)).toBe(true)
    expect(matchFilter({ since: 11 }, event)).toBe(false)
    expect(matchFilter({ until: 9 }, event)).toBe(false)
    expect(matchFilter({ until: 0 }, ev({ created_at: 0 }))).toBe(true)
  })

  it('ignores limit and search, and matches nothing on an empty list', () => {
    expect(matchFilter({ kinds: [1], limit: 0, search: 'absent words' }, ev())).toBe(true)
    expect(matchFilter({ authors: [] }, ev())).toBe(false)
    expect(matchFilter({ '#t': [] }, ev({ tags: [['t', 'x']] }))).toBe(false)
  })

  it('applies ids, authors and kinds', () => {
    expect(matchFilter({ ids: [IDS[1] as string] }, ev())).toBe(false)
    expect(matchFilter({ authors: [PUBKEYS[1] as string, PUBKEYS[0] as string] }, ev())).toBe(true)
    expect(matchFilter({ kinds: [0, 3] }, ev())).toBe(false)
    expect(matchFilters([{ kinds: [0] }, { kinds: [1] }], ev())).toBe(true)
    expect(matchFilters([], ev())).toBe(false)
  })

  it('differs from nostr-tools only on until: 0, where it follows NIP-01', () => {
    // nostr-tools skips a falsy `until`, so it lets a later event through.
    expect(ntMatchFilter({ until: 0 }, ev({ created_at: 5 }))).toBe(true)
    expect(matchFilter({ until: 0 }, ev({ created_at: 5 }))).toBe(false)
  })

  it('agrees with nostr-tools matchFilter on random events and filters', () => {
    let matched = 0
    let runs = 0
    fc.assert(
      fc.property(arbCase, ([filter, event]) => {
        const ours = matchFilter(filter, event)
        runs++
        if (ours) matched++
        expect(ours).toBe(ntMatchFilter(filter as Parameters<typeof ntMatchFilter>[0], event))
      }),
      { seed: 42, numRuns: 5000 },
    )
    // Both outcomes exercised, so agreement is not vacuous.
    expect(matched).toBeGreaterThan(runs / 10)
    expect(matched).toBeLessThan(runs / 2)
  })
})

describe('splitFiltersForRelay', () => {
  const manyKeys = (n: number, salt: string): string[] => Array.from({ length: n }, (_, i) => hexOf(i, salt))
  const reqBytes = (group: Filter[], subIdLength = 64): number => utf8ByteLength(encodeReq('x'.repeat(subIdLength), group))

  it('chunks 1000 authors at 250, clamps the limit and fits each REQ in max_message_length', () => {
    const authors = manyKeys(1000, 'a3')
    const groups = splitFiltersForRelay([{ authors, kinds: [1], limit: 1000 }], DEFAULT_RELAY_LIMITS)
    const flat = groups.flat()
    expect(flat).toHaveLength(4)
    expect(flat.map((f) => f.authors?.length)).toEqual([250, 250, 250, 250])
    expect(flat.flatMap((f) => f.authors)).toEqual(authors)
    for (const f of flat) expect(f).toMatchObject({ kinds: [1], limit: 500 })
    // 250 authors are ~17 KB, so three filters fit 64 KiB and a fourth does not.
    expect(groups.map((g) => g.length)).toEqual([3, 1])
    for (const g of groups) expect(reqBytes(g)).toBeLessThanOrEqual(DEFAULT_RELAY_LIMITS.maxMessageLength)
  })

  it('chunks only the most overflowing list, never a cross product', () => {
    const authors = manyKeys(600, 'a4')
    const p = manyKeys(300, 'b4')
    const flat = splitFiltersForRelay([{ authors, '#p': p, search: 'q' }], { ...DEFAULT_RELAY_LIMITS, maxMessageLength: 1e6 }).flat()
    expect(flat.map((f) => f.authors?.length)).toEqual([200, 200, 200])
    for (const f of flat) expect(f).toEqual({ authors: expect.any(Array), '#p': p, search: 'q' })

    const ids = manyKeys(300, 'c4')
    const flat2 = splitFiltersForRelay([{ ids, authors: manyKeys(260, 'd4') }], { ...DEFAULT_RELAY_LIMITS, maxMessageLength: 1e6 }).flat()
    expect(flat2.map((f) => [f.ids?.length, f.authors?.length])).toEqual([
      [150, 260],
      [150, 260],
    ])
  })

  it('chunks large #e lists at maxIdsPerFilter', () => {
    const e = manyKeys(7, 'e5')
    const limits = { ...DEFAULT_RELAY_LIMITS, maxIdsPerFilter: 3 }
    expect(splitFiltersForRelay([{ '#e': e, kinds: [7] }], limits).flat().map((f) => f['#e']?.length)).toEqual([3, 2, 2])
  })

  it('groups at most maxFilters filters per REQ, in order', () => {
    const filters = Array.from({ length: 25 }, (_, i) => ({ kinds: [i] }))
    const groups = splitFiltersForRelay(filters, DEFAULT_RELAY_LIMITS)
    expect(groups.map((g) => g.length)).toEqual([10, 10, 5])
    expect(groups.flat()).toEqual(filters)
  })

  it('splits a filter that is too long in bytes, whatever the list', () => {
    const words = Array.from({ length: 500 }, (_, i) => `word-${i}`)
    const limits = { ...DEFAULT_RELAY_LIMITS, maxMessageLength: 1000 }
    const groups = splitFiltersForRelay([{ kinds: [1], '#t': words }], limits, 20)
    expect(groups.length).toBeGreaterThan(5)
    for (const g of groups) expect(reqBytes(g, 20)).toBeLessThanOrEqual(1000)
    expect(groups.flat().flatMap((f) => f['#t'])).toEqual(words)
  })

  it('throws RELAY_FILTER_INVALID for a filter that cannot fit even alone', () => {
    const search = 'x'.repeat(100_000)
    expect(codeOf(() => splitFiltersForRelay([{ kinds: [1] }, { search }], DEFAULT_RELAY_LIMITS))).toBe('RELAY_FILTER_INVALID')
    expect(() => splitFiltersForRelay([{ kinds: [1] }, { search }], DEFAULT_RELAY_LIMITS)).toThrow(/filters\[1\]/)
    expect(codeOf(() => splitFiltersForRelay([{ kinds: [1] }], { ...DEFAULT_RELAY_LIMITS, maxMessageLength: 20 }))).toBe('RELAY_FILTER_INVALID')
  })

  it('validates its input', () => {
    expect(codeOf(() => splitFiltersForRelay([{ authors: ['bob'] }], DEFAULT_RELAY_LIMITS))).toBe('RELAY_FILTER_INVALID')
    expect(() => splitFiltersForRelay([], { ...DEFAULT_RELAY_LIMITS, maxFilters: 0 })).toThrow(/limits\.maxFilters/)
    expect(() => splitFiltersForRelay([], { ...DEFAULT_RELAY_LIMITS, maxMessageLength: Number.NaN })).toThrow(RangeError)
    expect(() => splitFiltersForRelay([], { ...DEFAULT_RELAY_LIMITS, maxAuthorsPerFilter: 2.5 })).toThrow(/maxAuthorsPerFilter/)
    expect(() => splitFiltersForRelay([], DEFAULT_RELAY_LIMITS, 0)).toThrow(RangeError)
    expect(splitFiltersForRelay([], DEFAULT_RELAY_LIMITS)).toEqual([])
  })

  it('accepts Infinity limits and drops undefined keys', () => {
    const limits: RelayLimits = {
      ...DEFAULT_RELAY_LIMITS,
      maxFilters: Infinity,
      maxLimit: Infinity,
      maxMessageLength: Infinity,
      maxAuthorsPerFilter: Infinity,
    }
    const authors = manyKeys(2000, 'f6')
    expect(splitFiltersForRelay([{ authors, limit: 10_000, since: undefined }], limits)).toEqual([[{ authors, limit: 10_000 }]])
  })

  const arbLimits: fc.Arbitrary<RelayLimits> = fc.record({
    ...Object.fromEntries(Object.entries(DEFAULT_RELAY_LIMITS).map(([k, v]) => [k, fc.constant(v)])),
    maxFilters: fc.integer({ min: 1, max: 4 }),
    maxLimit: fc.integer({ min: 0, max: 50 }),
    maxMessageLength: fc.integer({ min: 400, max: 4000 }),
    maxAuthorsPerFilter: fc.integer({ min: 1, max: 4 }),
    maxIdsPerFilter: fc.integer({ min: 1, max: 4 }),
  }) as fc.Arbitrary<RelayLimits>

  /** The filter with each list cut to one value, the longest (`pick` = max) or shortest. */
  function minimal(filter: Filter, longest: boolean): Filter {
    const out: Record<string, unknown> = { ...filter }
    for (const [key, value] of Object.entries(filter)) {
      if (!Array.isArray(value)) continue
      const sorted = [...value].sort((a, b) => JSON.stringify(a).length - JSON.stringify(b).length)
      out[key] = [longest ? sorted[sorted.length - 1] : sorted[0]]
    }
    return out as Filter
  }

  it('never loses or adds a match, and every REQ fits (property)', () => {
    let matched = 0
    let thrown = 0
    fc.assert(
      fc.property(
        fc.array(arbFilter, { minLength: 1, maxLength: 6 }),
        arbLimits,
        fc.integer({ min: 1, max: 64 }),
        fc.array(fc.tuple(arbEvent, fc.nat()), { minLength: 1, maxLength: 15 }),
        (filters, limits, subIdLength, raw) => {
          // Most events are steered to one of the filters, so both outcomes occur.
          const events = raw.map(([e, pick]) => (pick % 4 === 0 ? e : steer(e, filters[pick % filters.length] as Filter, pick)))
          const fits = (f: Filter, longest: boolean): boolean => reqBytes([minimal(f, longest)], subIdLength) <= limits.maxMessageLength
          let groups: Filter[][]
          try {
            groups = splitFiltersForRelay(filters, limits, subIdLength)
          } catch (err) {
            expect(err).toBeInstanceOf(RelayError)
            expect((err as RelayError).code).toBe('RELAY_FILTER_INVALID')
            // Only when some filter cannot fit even with one value per list.
            expect(filters.some((f) => !fits(f, true))).toBe(true)
            thrown++
            return
          }
          expect(filters.every((f) => fits(f, false))).toBe(true)
          expect(splitFiltersForRelay(filters, limits, subIdLength)).toEqual(groups)
          for (const group of groups) {
            expect(group.length).toBeGreaterThanOrEqual(1)
            expect(group.length).toBeLessThanOrEqual(limits.maxFilters)
            expect(reqBytes(group, subIdLength)).toBeLessThanOrEqual(limits.maxMessageLength)
            for (const f of group) {
              expect(filterProblem(f)).toBeUndefined()
              if (f.limit !== undefined) expect(f.limit).toBeLessThanOrEqual(limits.maxLimit)
            }
          }
          for (const event of events) {
            const expected = matchFilters(filters, event)
            if (expected) matched++
            expect(groups.some((g) => matchFilters(g, event))).toBe(expected)
          }
        },
      ),
      { seed: 42, numRuns: 400 },
    )
    expect(matched).toBeGreaterThan(1000)
    expect(thrown).toBeLessThan(200)
  })
})

describe('expectedEventCount', () => {
  it('sums limits, bounds id filters by their ids, and is Infinity when unbounded', () => {
    const [a, b, c] = IDS as [string, string, string]
    expect(expectedEventCount([{ kinds: [1], limit: 20 }, { ids: [a, b] }])).toBe(22)
    expect(expectedEventCount([{ ids: [a, b, c], limit: 1 }])).toBe(1)
    expect(expectedEventCount([{ ids: [a], limit: 50 }])).toBe(1)
    expect(expectedEventCount([{ kinds: [1], limit: 0 }])).toBe(0)
    expect(expectedEventCount([{ kinds: [1], limit: 5 }, { kinds: [1] }])).toBe(Infinity)
    expect(expectedEventCount([])).toBe(0)
  })
})

describe('pageFilters', () => {
  it('sets until to the oldest seen (inclusive), keeps an earlier until, drops filters that start later', () => {
    const filters: Filter[] = [
      { kinds: [1], limit: 50 },
      { kinds: [7], since: 150 },
      { kinds: [6], since: 100 },
      { kinds: [9], until: 80 },
    ]
    expect(pageFilters(filters, 100)).toEqual([
      { kinds: [1], limit: 50, until: 100 },
      { kinds: [6], since: 100, until: 100 },
      { kinds: [9], until: 80 },
    ])
    expect(filters[0]).toEqual({ kinds: [1], limit: 50 })
  })

  it('keeps events in the same second as the oldest seen', () => {
    const next = pageFilters([{ kinds: [1] }], 10)
    expect(matchFilters(next, ev({ created_at: 10 }))).toBe(true)
    expect(matchFilters(next, ev({ created_at: 11 }))).toBe(false)
  })

  it('throws RangeError for a bad oldestSeen', () => {
    expect(() => pageFilters([], -1)).toThrow(RangeError)
    expect(() => pageFilters([], 1.5)).toThrow(RangeError)
  })
})
