import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { NostrEvent } from '../../src/crypto/event.js'
import { matchesFilter, newestFirst } from '../../src/storage/event-rules.js'
import { memoryStorage } from '../../src/storage/memory.js'
import type { StorageFilter } from '../../src/storage/types.js'
import { ALICE, BOB, CAROL, describeStorage, syntheticEvent } from './contract.js'

describeStorage('memory', () => memoryStorage())

const T = 1_700_000_000

function ids(events: readonly NostrEvent[]): string[] {
  return events.map((e) => e.id)
}

/** Eviction order: regular events, then replaceable/addressable, then deletions; oldest first. */
function tier(e: NostrEvent): number {
  if (e.kind === 5) return 2
  if (e.kind === 0 || e.kind === 3 || (e.kind >= 10000 && e.kind < 20000) || (e.kind >= 30000 && e.kind < 40000)) return 1
  return 0
}

/** Negative when `a` is evicted before `b`. */
function evictionOrder(a: NostrEvent, b: NostrEvent): number {
  return tier(a) - tier(b) || a.created_at - b.created_at || (a.id > b.id ? -1 : a.id < b.id ? 1 : 0)
}

describe('memoryStorage options', () => {
  it('maxEvents must be a positive integer; the adapter is named memory', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Infinity]) expect(() => memoryStorage({ maxEvents: bad })).toThrow(RangeError)
    expect(() => memoryStorage({ maxEvents: '5' as unknown as number })).toThrow(/maxEvents must be a number/)
    expect(() => memoryStorage(null as never)).toThrow(TypeError)
    expect(memoryStorage({ maxEvents: 1 }).name).toBe('memory')
  })
})

describe('memoryStorage eviction', () => {
  it('evicts regular events oldest first, then replaceable versions, and deletions last', async () => {
    const storage = memoryStorage({ maxEvents: 5 })
    const deletion = syntheticEvent({ kind: 5, created_at: T - 1000, tags: [['e', '00'.repeat(32)]] })
    const profile = syntheticEvent({ kind: 0, created_at: T - 500 })
    const article = syntheticEvent({ kind: 30023, created_at: T - 400, tags: [['d', 'a']] })
    const notes = [T + 3, T + 1, T + 2].map((created_at) => syntheticEvent({ created_at }))
    await storage.putEvents([deletion, profile, article, ...notes])
    // Six events, cap five: the oldest regular one (T + 1) went, though three others are older.
    expect(await storage.countEvents()).toBe(5)
    expect(await storage.getEvent(notes[1]!.id)).toBeUndefined()

    // An event older than every regular one is stored, then evicted at once.
    const ancient = syntheticEvent({ created_at: T - 5000 })
    expect(await storage.putEvents([ancient])).toEqual([{ id: ancient.id, status: 'stored' }])
    expect(await storage.getEvent(ancient.id)).toBeUndefined()

    // Replaceable events push out the remaining regular ones first, newest regular last.
    const relayList = syntheticEvent({ kind: 10002, created_at: T + 100 })
    await storage.putEvents([relayList])
    expect(await storage.getEvent(notes[2]!.id)).toBeUndefined()
    const follows = syntheticEvent({ kind: 3, created_at: T + 100 })
    await storage.putEvents([follows])
    expect(ids(await storage.queryEvents([{ kinds: [1] }]))).toEqual([])

    // No regular events left: the oldest replaceable version goes, not the older deletion.
    const dmRelays = syntheticEvent({ kind: 10050, created_at: T + 100 })
    await storage.putEvents([dmRelays])
    expect(await storage.getEvent(profile.id)).toBeUndefined()
    expect(await storage.getEvent(deletion.id)).toEqual(deletion)
    expect(ids(await storage.queryEvents([{}]))).toEqual(ids([dmRelays, follows, relayList, article, deletion].sort(newestFirst)))

    // Only deletions left to evict once everything else is gone.
    const tiny = memoryStorage({ maxEvents: 2 })
    const d1 = syntheticEvent({ kind: 5, created_at: T })
    const d2 = syntheticEvent({ kind: 5, created_at: T + 1 })
    const d3 = syntheticEvent({ kind: 5, created_at: T - 1 })
    await tiny.putEvents([d1, d2, d3])
    expect(ids(await tiny.queryEvents([{}]))).toEqual([d2.id, d1.id])
    await storage.close()
    await tiny.close()
  })

  it('among events of the same age evicts the one queries list last (the higher id)', async () => {
    const storage = memoryStorage({ maxEvents: 2 })
    const events = [1, 2, 3].map((n) => syntheticEvent({ created_at: T, content: `same time ${n}` }))
    await storage.putEvents(events)
    expect(ids(await storage.queryEvents([{}]))).toEqual(ids(events.sort(newestFirst)).slice(0, 2))
    await storage.close()
  })

  it('an evicted or removed deletion no longer keeps its target out', async () => {
    const storage = memoryStorage({ maxEvents: 1 })
    const note = syntheticEvent()
    const deletion = syntheticEvent({ kind: 5, created_at: T + 10, tags: [['e', note.id]] })
    await storage.putEvents([deletion])
    expect(await storage.putEvents([note])).toEqual([{ id: note.id, status: 'deleted' }])
    expect(await storage.removeEvents([deletion.id])).toBe(1)
    expect(await storage.putEvents([note])).toEqual([{ id: note.id, status: 'stored' }])

    const other = memoryStorage({ maxEvents: 1 })
    await other.putEvents([deletion])
    await other.putEvents([syntheticEvent({ kind: 5, created_at: T + 20 })]) // evicts `deletion`
    expect(await other.getEvent(deletion.id)).toBeUndefined()
    expect(await other.putEvents([note])).toEqual([{ id: note.id, status: 'stored' }])
    await storage.close()
    await other.close()
  })

  it('stays correct after thousands of replacements (stale eviction entries are compacted)', async () => {
    const storage = memoryStorage({ maxEvents: 10 })
    const regular = Array.from({ length: 9 }, (_, i) => syntheticEvent({ created_at: T + i }))
    await storage.putEvents(regular)
    let profile = syntheticEvent({ kind: 0, created_at: T })
    for (let i = 1; i <= 3000; i++) {
      const next = syntheticEvent({ kind: 0, created_at: T + i, content: `v${i}` })
      const [result] = await storage.putEvents([next])
      expect(result!.replaced).toEqual(i === 1 ? undefined : [profile.id])
      if (i === 1) await storage.putEvents([profile]) // superseded: exercise that path once
      profile = next
    }
    expect(await storage.countEvents()).toBe(10)
    await storage.putEvents([syntheticEvent({ created_at: T + 5000 }), syntheticEvent({ kind: 10002, created_at: T + 5000 })])
    expect(await storage.countEvents()).toBe(10)
    expect(ids(await storage.queryEvents([{ kinds: [0] }]))).toEqual([profile.id])
    // The two oldest regular events made room.
    expect(await storage.getEvent(regular[0]!.id)).toBeUndefined()
    expect(await storage.getEvent(regular[1]!.id)).toBeUndefined()
    expect(await storage.getEvent(regular[2]!.id)).toEqual(regular[2])
    await storage.close()
  })

  it('property: the count never exceeds the cap, and each eviction takes the first event in eviction order (seed 42)', async () => {
    const spec = fc.record({
      kind: fc.constantFrom(1, 1, 7, 0, 3, 10002, 30023, 5),
      createdAt: fc.integer({ min: 0, max: 20 }),
      author: fc.constantFrom(ALICE, BOB, CAROL),
      d: fc.constantFrom('', 'x'),
    })
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 6 }), fc.array(spec, { minLength: 1, maxLength: 25 }), async (cap, specs) => {
        const storage = memoryStorage({ maxEvents: cap })
        try {
          for (const s of specs) {
            const event = syntheticEvent({ kind: s.kind, created_at: T + s.createdAt, pubkey: s.author, tags: s.kind >= 30000 ? [['d', s.d]] : [] })
            const before = await storage.queryEvents([{}])
            const [result] = await storage.putEvents([event])
            const after = new Set(ids(await storage.queryEvents([{}])))
            expect(after.size).toBeLessThanOrEqual(cap)
            expect(after.size).toBe(await storage.countEvents())
            const gone = new Set([...(result!.replaced ?? [])])
            const candidates = [...before, ...(result!.status === 'stored' ? [event] : [])].filter((e) => !gone.has(e.id))
            const evicted = candidates.filter((e) => !after.has(e.id))
            expect(evicted.length).toBe(Math.max(0, candidates.length - cap))
            if (evicted.length > 0) expect(evicted).toEqual(candidates.sort(evictionOrder).slice(0, evicted.length))
          }
        } finally {
          await storage.close()
        }
      }),
      { seed: 42, numRuns: 40 },
    )
  })
  it('property: removals and deletions in between do not disturb the eviction order (seed 7)', async () => {
    // Removed, replaced and deleted events leave the eviction heaps from the middle; what is left
    // must still be evicted in order, and the cap must hold.
    const op = fc.oneof(
      {
        weight: 4,
        arbitrary: fc.record({
          type: fc.constant('put' as const),
          kind: fc.constantFrom(1, 1, 7, 0, 30023, 5),
          createdAt: fc.integer({ min: 0, max: 15 }),
          author: fc.constantFrom(ALICE, BOB),
          target: fc.nat(50),
        }),
      },
      { weight: 1, arbitrary: fc.record({ type: fc.constant('remove' as const), target: fc.nat(50) }) },
    )
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 8 }), fc.array(op, { minLength: 1, maxLength: 40 }), async (cap, ops) => {
        const storage = memoryStorage({ maxEvents: cap })
        const made: NostrEvent[] = []
        try {
          for (const o of ops) {
            const before = await storage.queryEvents([{}])
            if (o.type === 'remove') {
              if (made.length === 0) continue
              const target = made[o.target % made.length]!
              await storage.removeEvents([target.id])
              expect(ids(await storage.queryEvents([{}]))).toEqual(ids(before.filter((e) => e.id !== target.id)))
              continue
            }
            const target = made.length > 0 ? made[o.target % made.length] : undefined
            const tags = o.kind === 30023 ? [['d', 'x']] : target ? [['e', target.id], ['p', target.pubkey]] : []
            const event = syntheticEvent({ kind: o.kind, created_at: T + o.createdAt, pubkey: o.author, tags })
            made.push(event)
            const [result] = await storage.putEvents([event])
            const after = new Set(ids(await storage.queryEvents([{}])))
            expect(after.size).toBeLessThanOrEqual(cap)
            expect(await storage.countEvents()).toBe(after.size)
            // What the put itself took out (replaced versions, deleted targets) is not an eviction.
            const gone = new Set(result!.replaced ?? [])
            const candidates = [...before, ...(result!.status === 'stored' ? [event] : [])].filter((e) => !gone.has(e.id))
            const evicted = candidates.filter((e) => !after.has(e.id))
            expect(evicted.length).toBe(Math.max(0, candidates.length - cap))
            if (evicted.length > 0) expect(evicted).toEqual(candidates.sort(evictionOrder).slice(0, evicted.length))
          }
        } finally {
          await storage.close()
        }
      }),
      { seed: 7, numRuns: 60 },
    )
  })
})

describe('memoryStorage indexes', () => {
  it('property: after puts, replacements, deletions, removals and evictions every indexed query equals a full scan (seed 42)', async () => {
    const authors = [ALICE, BOB, CAROL]
    const op = fc.oneof(
      {
        weight: 4,
        arbitrary: fc.record({
          type: fc.constant('put' as const),
          kind: fc.constantFrom(1, 7, 0, 10002, 30023, 5),
          createdAt: fc.integer({ min: 0, max: 10 }),
          author: fc.integer({ min: 0, max: 2 }),
          t: fc.subarray(['a', 'b']),
          target: fc.nat(40),
        }),
      },
      { weight: 1, arbitrary: fc.record({ type: fc.constant('remove' as const), target: fc.nat(40) }) },
    )
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 3, max: 12 }), fc.array(op, { minLength: 1, maxLength: 40 }), async (cap, ops) => {
        const storage = memoryStorage({ maxEvents: cap })
        const made: NostrEvent[] = []
        try {
          for (const o of ops) {
            if (o.type === 'remove') {
              if (made.length > 0) await storage.removeEvents([made[o.target % made.length]!.id])
              continue
            }
            const tags: string[][] = o.t.map((t) => ['t', t])
            if (o.kind === 30023) tags.push(['d', o.t[0] ?? ''])
            if (made.length > 0) {
              const target = made[o.target % made.length]!
              tags.push(['e', target.id], ['p', target.pubkey])
              if (o.kind === 5 && target.kind >= 30000) tags.push(['a', `${target.kind}:${target.pubkey}:${target.tags.find((t) => t[0] === 'd')?.[1] ?? ''}`])
            }
            const event = syntheticEvent({ kind: o.kind, created_at: T + o.createdAt, pubkey: authors[o.author]!, tags })
            made.push(event)
            await storage.putEvents([event])
          }
          const everything = await storage.queryEvents([{}])
          expect(everything.length).toBe(await storage.countEvents())
          const filters: StorageFilter[] = [
            ...authors.map((a) => ({ authors: [a] })),
            ...[1, 7, 0, 10002, 30023, 5].map((k) => ({ kinds: [k] })),
            { '#t': ['a'] },
            { '#t': ['a', 'b'] },
            { '#d': ['', 'a', 'b'] },
            ...authors.map((a) => ({ '#p': [a] })),
            { '#e': made.map((e) => e.id) },
            { ids: made.map((e) => e.id) },
            { kinds: [1, 7], authors: [ALICE, BOB], '#t': ['b'] },
          ]
          for (const filter of filters) {
            expect(ids(await storage.queryEvents([filter]))).toEqual(ids(everything.filter((e) => matchesFilter(e, filter))))
          }
        } finally {
          await storage.close()
        }
      }),
      { seed: 42, numRuns: 40 },
    )
  })
})

describe('memoryStorage shared values', () => {
  it('a value named by many events, then by one, then by none, then again, is indexed and returned intact', async () => {
    const storage = memoryStorage()
    const root = syntheticEvent({ created_at: T, pubkey: BOB })
    // Replies arrive before and after the event they name, each parsed separately (equal strings,
    // different objects), naming it by id, its author by pubkey, and a long shared coordinate.
    const coordinate = `30023:${BOB}:${'long-identifier-'.repeat(4)}`
    const reply = (n: number): NostrEvent =>
      JSON.parse(JSON.stringify(syntheticEvent({ created_at: T + n, pubkey: n % 2 ? ALICE : CAROL, tags: [['e', root.id, '', 'root'], ['p', BOB], ['a', coordinate], ['e', root.id]] })))
    const early = [1, 2, 3].map(reply)
    await storage.putEvents(early)
    await storage.putEvents([JSON.parse(JSON.stringify(root))])
    const late = [4, 5, 6].map(reply)
    await storage.putEvents(late)
    const replies = [...early, ...late]
    for (const filter of [{ '#e': [root.id] }, { '#p': [BOB] }, { '#a': [coordinate] }]) {
      expect(await storage.queryEvents([filter])).toEqual([...replies].sort(newestFirst))
    }
    expect(await storage.queryEvents([{ authors: [BOB] }])).toEqual([root])

    // Down to one reply: still found, its tags intact; then none; then one again.
    expect(await storage.removeEvents(replies.slice(1).map((e) => e.id))).toBe(5)
    expect(await storage.queryEvents([{ '#e': [root.id] }, { '#a': [coordinate] }])).toEqual([replies[0]])
    expect(await storage.removeEvents([replies[0]!.id, root.id])).toBe(2)
    expect(await storage.queryEvents([{ '#e': [root.id] }, { '#p': [BOB] }, { '#a': [coordinate] }, { authors: [BOB] }])).toEqual([])
    await storage.putEvents([late[2]!])
    expect(await storage.queryEvents([{ '#p': [BOB] }])).toEqual([late[2]])
    expect(await storage.getEvent(late[2]!.id)).toEqual(late[2])
    await storage.close()
  })
})

describe('memoryStorage seen-on relays', () => {
  it('keeps the first twenty relays per event', async () => {
    const storage = memoryStorage()
    const event = syntheticEvent()
    await storage.putEvents([event], { seenOn: 'wss://relay-0.example' })
    for (let i = 1; i < 25; i++) await storage.addSeenOn([event.id], `wss://relay-${i}.example`)
    await storage.putEvents([event], { seenOn: 'wss://late.example' })
    const relays = (await storage.seenOn([event.id])).get(event.id)!
    expect(relays).toEqual(Array.from({ length: 20 }, (_, i) => `wss://relay-${i}.example`))
    await storage.close()
  })
})
