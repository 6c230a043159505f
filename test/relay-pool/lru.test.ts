import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { LruMap, LruSet } from '../../src/relay-pool/lru.js'

/** A clock the test moves by hand. */
function manualClock(start = 1_000): { now: () => number; advance: (ms: number) => void } {
  let t = start
  return { now: () => t, advance: (ms) => (t += ms) }
}

describe('LruMap', () => {
  it('validates maxSize, ttlMs and now', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Infinity]) {
      expect(() => new LruMap(bad)).toThrow(RangeError)
      expect(() => new LruMap({ maxSize: bad })).toThrow(/maxSize/)
    }
    expect(() => new LruMap('3' as unknown as number)).toThrow(TypeError)
    expect(() => new LruMap({ maxSize: '3' as unknown as number })).toThrow(/maxSize must be a number/)
    expect(() => new LruMap({ maxSize: 1, ttlMs: '5' as unknown as number })).toThrow(TypeError)
    expect(() => new LruMap({ maxSize: 1, ttlMs: -1 })).toThrow(RangeError)
    expect(() => new LruMap({ maxSize: 1, ttlMs: Number.NaN })).toThrow(/ttlMs/)
    expect(() => new LruMap({ maxSize: 1, now: 5 as unknown as () => number })).toThrow(TypeError)
    expect(() => new LruMap(null as unknown as number)).toThrow(TypeError)
    expect(() => new LruMap(1).set('a', 1, -5)).toThrow(RangeError)
    expect(new LruMap(3).maxSize).toBe(3)
  })

  it('evicts the least recently used entry; get refreshes, peek and has do not', () => {
    const m = new LruMap<string, number>(3)
    m.set('a', 1).set('b', 2).set('c', 3)
    expect(m.get('a')).toBe(1) // order now b, c, a
    expect(m.peek('b')).toBe(2) // b stays oldest
    expect(m.has('b')).toBe(true)
    m.set('d', 4) // evicts b
    expect([...m.keys()]).toEqual(['c', 'a', 'd'])
    expect(m.has('b')).toBe(false)
    expect(m.get('b')).toBeUndefined()
    expect(m.size).toBe(3)
  })

  it('set on an existing key replaces the value, refreshes recency and never evicts', () => {
    const m = new LruMap<string, number>(2)
    m.set('a', 1).set('b', 2).set('a', 10)
    expect([...m.entries()]).toEqual([
      ['b', 2],
      ['a', 10],
    ])
    expect([...m.values()]).toEqual([2, 10])
    expect([...m]).toEqual([...m.entries()])
  })

  it('delete and clear', () => {
    const m = new LruMap<number, string>(4)
    m.set(1, 'x').set(2, 'y')
    expect(m.delete(1)).toBe(true)
    expect(m.delete(1)).toBe(false)
    expect(m.size).toBe(1)
    m.clear()
    expect(m.size).toBe(0)
    expect([...m.keys()]).toEqual([])
  })

  it('iterates over a snapshot, so refreshing entries during iteration terminates', () => {
    const m = new LruMap<number, number>(5)
    for (let i = 0; i < 5; i++) m.set(i, i * i)
    const visited: number[] = []
    for (const key of m.keys()) {
      visited.push(key)
      m.get(key) // moves it to the end of the live map
    }
    expect(visited).toEqual([0, 1, 2, 3, 4])
  })

  it('keeps undefined values distinguishable through has', () => {
    const m = new LruMap<string, undefined>(2)
    m.set('u', undefined)
    expect(m.has('u')).toBe(true)
    expect(m.get('u')).toBeUndefined()
    expect(m.size).toBe(1)
  })

  describe('TTL', () => {
    it('an expired entry behaves as absent, with no timer', () => {
      const clock = manualClock()
      const m = new LruMap<string, number>({ maxSize: 10, now: clock.now })
      m.set('short', 1, 100).set('forever', 2)
      clock.advance(99)
      expect(m.get('short')).toBe(1)
      clock.advance(1) // exactly at expiry: gone
      expect(m.get('short')).toBeUndefined()
      expect(m.peek('short')).toBeUndefined()
      expect(m.has('short')).toBe(false)
      expect(m.delete('short')).toBe(false)
      expect(m.get('forever')).toBe(2)
      expect(m.size).toBe(1)
    })

    it('uses the default ttlMs and lets set override it; set renews the expiry', () => {
      const clock = manualClock()
      const m = new LruMap<string, number>({ maxSize: 10, ttlMs: 50, now: clock.now })
      m.set('a', 1).set('b', 2, 500).set('c', 3, Infinity)
      clock.advance(40)
      m.set('a', 11) // renewed until t+90
      clock.advance(20)
      expect([...m.keys()]).toEqual(['b', 'c', 'a'])
      clock.advance(40)
      expect([...m.entries()]).toEqual([
        ['b', 2],
        ['c', 3],
      ])
      clock.advance(10_000)
      expect([...m.values()]).toEqual([3])
    })

    it('ttl 0 expires at once', () => {
      const clock = manualClock()
      const m = new LruMap<string, number>({ maxSize: 2, now: clock.now })
      m.set('a', 1).set('b', 2).set('zero', 0, 0)
      expect(m.has('zero')).toBe(false)
      // The instantly expired entry took no live entry's place.
      expect([...m.keys()]).toEqual(['a', 'b'])
    })

    it('a full map drops expired entries before evicting a live one', () => {
      const clock = manualClock()
      const m = new LruMap<string, number>({ maxSize: 3, now: clock.now })
      m.set('old-live', 1).set('mid-expiring', 2, 10).set('new-live', 3)
      clock.advance(10)
      m.set('incoming', 4)
      expect([...m.keys()]).toEqual(['old-live', 'new-live', 'incoming'])
    })

    it('prune drops every expired entry and reports how many', () => {
      const clock = manualClock()
      const m = new LruMap<number, number>({ maxSize: 100, now: clock.now })
      for (let i = 0; i < 10; i++) m.set(i, i, i < 6 ? 5 : 50)
      clock.advance(5)
      expect(m.prune()).toBe(6)
      expect(m.prune()).toBe(0)
      expect(m.size).toBe(4)
    })
  })

  it('stays bounded under 100,000 inserts', () => {
    const m = new LruMap<number, number>(1_000)
    for (let i = 0; i < 100_000; i++) m.set(i, i)
    expect(m.size).toBe(1_000)
    expect(m.peek(98_999)).toBeUndefined()
    expect(m.peek(99_000)).toBe(99_000)
    expect(m.keys().next().value).toBe(99_000)
  })

  describe('matches a reference model (fast-check)', () => {
    type Op =
      | { op: 'set'; key: number; value: number; ttl: number | undefined }
      | { op: 'get' | 'peek' | 'has' | 'delete'; key: number }
      | { op: 'clear' | 'size' | 'keys' | 'prune' }
      | { op: 'advance'; ms: number }

    const key = fc.integer({ min: 0, max: 7 })
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      {
        arbitrary: fc.record({
          op: fc.constant('set' as const),
          key,
          value: fc.integer(),
          ttl: fc.option(fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 30 })), { nil: undefined }),
        }),
        weight: 5,
      },
      { arbitrary: fc.record({ op: fc.constantFrom('get' as const, 'peek' as const, 'has' as const, 'delete' as const), key }), weight: 5 },
      { arbitrary: fc.record({ op: fc.constantFrom('clear' as const, 'size' as const, 'keys' as const, 'prune' as const) }), weight: 2 },
      { arbitrary: fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 15 }) }), weight: 2 },
    )

    /** The obvious O(n) LRU: an array in recency order, expired entries filtered on every access. */
    class Model {
      entries: { key: number; value: number; expiresAt: number }[] = []
      constructor(
        readonly maxSize: number,
        readonly defaultTtl: number,
        readonly now: () => number,
      ) {}
      live() {
        this.entries = this.entries.filter((e) => this.now() < e.expiresAt)
        return this.entries
      }
      find(k: number) {
        return this.live().find((e) => e.key === k)
      }
      set(k: number, value: number, ttl = this.defaultTtl) {
        this.entries = this.entries.filter((e) => e.key !== k)
        this.entries.push({ key: k, value, expiresAt: this.now() + ttl })
        this.live()
        while (this.entries.length > this.maxSize) this.entries.shift()
      }
      get(k: number) {
        const e = this.find(k)
        if (!e) return undefined
        this.entries = [...this.entries.filter((x) => x !== e), e]
        return e.value
      }
    }

    it('same answers as the model for random operation sequences', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 5 }),
          fc.constantFrom(Infinity, 10, 25),
          fc.array(opArb, { maxLength: 60 }),
          (maxSize, defaultTtl, ops) => {
            const clock = manualClock(0)
            const lru = new LruMap<number, number>({ maxSize, ttlMs: defaultTtl, now: clock.now })
            const model = new Model(maxSize, defaultTtl, clock.now)
            for (const o of ops) {
              switch (o.op) {
                case 'set':
                  lru.set(o.key, o.value, o.ttl)
                  model.set(o.key, o.value, o.ttl)
                  break
                case 'get':
                  expect(lru.get(o.key)).toBe(model.get(o.key))
                  break
                case 'peek':
                  expect(lru.peek(o.key)).toBe(model.find(o.key)?.value)
                  break
                case 'has':
                  expect(lru.has(o.key)).toBe(model.find(o.key) !== undefined)
                  break
                case 'delete': {
                  const present = model.find(o.key) !== undefined
                  model.entries = model.entries.filter((e) => e.key !== o.key)
                  expect(lru.delete(o.key)).toBe(present)
                  break
                }
                case 'clear':
                  lru.clear()
                  model.entries = []
                  break
                case 'size':
                  expect(lru.size).toBe(model.live().length)
                  break
                case 'keys':
                  expect([...lru.keys()]).toEqual(model.live().map((e) => e.key))
                  break
                case 'prune':
                  lru.prune()
                  break
                case 'advance':
                  clock.advance(o.ms)
                  break
              }
              expect(lru.size).toBeLessThanOrEqual(maxSize)
            }
            expect([...lru.entries()]).toEqual(model.live().map((e) => [e.key, e.value]))
          },
        ),
        { seed: 42, numRuns: 400 },
      )
    })
  })
})

describe('LruSet', () => {
  it('remembers at most maxSize keys, oldest forgotten first', () => {
    const seen = new LruSet<string>(2)
    expect(seen.maxSize).toBe(2)
    seen.add('x').add('y').add('x').add('z') // x refreshed, so y goes
    expect([...seen]).toEqual(['x', 'z'])
    expect([...seen.keys()]).toEqual(['x', 'z'])
    expect(seen.has('y')).toBe(false)
    expect(seen.size).toBe(2)
  })

  it('addIfAbsent is true once per key and refreshes recency on repeats', () => {
    const seen = new LruSet<string>(2)
    expect(seen.addIfAbsent('a')).toBe(true)
    expect(seen.addIfAbsent('b')).toBe(true)
    expect(seen.addIfAbsent('a')).toBe(false) // a is now newest
    expect(seen.addIfAbsent('c')).toBe(true) // evicts b
    expect(seen.addIfAbsent('b')).toBe(true)
    expect([...seen]).toEqual(['c', 'b'])
    expect(() => seen.addIfAbsent('d', -1)).toThrow(RangeError)
  })

  it('has does not refresh recency; delete and clear', () => {
    const seen = new LruSet<number>(2)
    seen.add(1).add(2)
    expect(seen.has(1)).toBe(true)
    seen.add(3) // 1 is still the oldest
    expect([...seen]).toEqual([2, 3])
    expect(seen.delete(2)).toBe(true)
    expect(seen.delete(2)).toBe(false)
    seen.clear()
    expect(seen.size).toBe(0)
  })

  it('keys expire with a TTL; a repeat seen by addIfAbsent keeps the first expiry', () => {
    const clock = manualClock()
    const seen = new LruSet<string>({ maxSize: 10, ttlMs: 100, now: clock.now })
    seen.addIfAbsent('id')
    clock.advance(60)
    expect(seen.addIfAbsent('id')).toBe(false)
    clock.advance(40)
    expect(seen.has('id')).toBe(false)
    expect(seen.addIfAbsent('id')).toBe(true)
    seen.add('other', 5)
    clock.advance(5)
    expect([...seen]).toEqual(['id'])
  })

  it('validates like LruMap', () => {
    expect(() => new LruSet(0)).toThrow(RangeError)
    expect(() => new LruSet({ maxSize: 2, ttlMs: -3 })).toThrow(RangeError)
  })
})
