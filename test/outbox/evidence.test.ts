import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { NostrEvent } from '../../src/crypto/event.js'
import { StorageError } from '../../src/errors.js'
import { type EvidenceStore, MAX_EVIDENCE_COUNT, createEvidenceStore } from '../../src/outbox/evidence.js'
import { scoreRelays } from '../../src/outbox/scorer.js'
import { memoryStorage } from '../../src/storage/memory.js'
import type { JsonValue, Storage } from '../../src/storage/types.js'
import { codeOf, expectRejectionCode } from '../helpers/errors.js'

const NOW = 1_700_000_000
const ALICE = 'a'.repeat(64)
const BOB = 'b'.repeat(64)
const CAROL = 'c'.repeat(64)

let nextId = 1
function id(n = nextId++): string {
  return n.toString(16).padStart(64, '0')
}

function ev(kind: number, createdAt: number, tags: string[][], content = '', pubkey = ALICE, eventId = id()): NostrEvent {
  return { id: eventId, pubkey, created_at: createdAt, kind, tags, content, sig: 'f'.repeat(128) }
}

function relayList(createdAt: number, tags: string[][], pubkey = ALICE, eventId = id()): NostrEvent {
  return ev(10002, createdAt, tags, '', pubkey, eventId)
}

function store(extra: Parameters<typeof createEvidenceStore>[0] = {}): EvidenceStore {
  return createEvidenceStore({ now: () => NOW, ...extra })
}

/** `inner` with some methods replaced (the others bound to it: adapters keep private fields). */
function wrap(inner: Storage, overrides: Partial<Storage>): Storage {
  const methods = ['putEvents', 'queryEvents', 'getEvent', 'countEvents', 'addSeenOn', 'seenOn', 'removeEvents', 'getRecord', 'getRecords', 'putRecords', 'putRecord', 'deleteRecord', 'listRecords', 'close'] as const
  const out: Record<string, unknown> = { name: inner.name }
  for (const m of methods) out[m] = (inner[m] as (...args: unknown[]) => unknown).bind(inner)
  return { ...(out as unknown as Storage), ...overrides }
}

/** url → sorted source names, for compact assertions. */
function sourcesOf(s: EvidenceStore, pubkey = ALICE): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  for (const r of s.evidenceFor(pubkey).relays) out[r.url] = Object.keys(r.sources).sort()
  return out
}

describe('declared evidence (NIP-65, kind 3, NIP-05)', () => {
  it('applies a NIP-65 list as nip65-read/nip65-write evidence dated by the list', () => {
    const s = store()
    expect(s.applyRelayList(relayList(NOW - 100, [['r', 'wss://both.example'], ['r', 'wss://out.example', 'write'], ['r', 'wss://in.example', 'read']]))).toBe('applied')
    expect(sourcesOf(s)).toEqual({
      'wss://both.example': ['nip65-read', 'nip65-write'],
      'wss://in.example': ['nip65-read'],
      'wss://out.example': ['nip65-write'],
    })
    expect(s.evidenceFor(ALICE).relays[0]!.sources['nip65-write']).toEqual({ lastAt: NOW - 100, count: 1 })
  })

  it('a newer list replaces the declared evidence as a whole; learned evidence stays', () => {
    const s = store()
    s.applyRelayList(relayList(NOW - 100, [['r', 'wss://old.example'], ['r', 'wss://kept.example', 'write']]))
    s.addSeen(ALICE, 'wss://old.example', NOW - 50)
    expect(s.applyRelayList(relayList(NOW - 10, [['r', 'wss://kept.example', 'read'], ['r', 'wss://new.example']]))).toBe('applied')
    expect(sourcesOf(s)).toEqual({
      'wss://kept.example': ['nip65-read'],
      'wss://new.example': ['nip65-read', 'nip65-write'],
      'wss://old.example': ['seen'],
    })
    expect(s.evidenceFor(ALICE).lists.nip65?.createdAt).toBe(NOW - 10)
  })

  it('ignores an older list and a copy of the applied one; ties go to the lower id', () => {
    const s = store()
    s.applyRelayList(relayList(NOW - 10, [['r', 'wss://current.example']], ALICE, id(500)))
    expect(s.applyRelayList(relayList(NOW - 100, [['r', 'wss://stale.example']]))).toBe('stale')
    expect(s.applyRelayList(relayList(NOW - 10, [['r', 'wss://copy.example']], ALICE, id(500)))).toBe('stale')
    expect(s.applyRelayList(relayList(NOW - 10, [['r', 'wss://higher-id.example']], ALICE, id(900)))).toBe('stale')
    expect(Object.keys(sourcesOf(s))).toEqual(['wss://current.example'])
    expect(s.applyRelayList(relayList(NOW - 10, [['r', 'wss://lower-id.example']], ALICE, id(100)))).toBe('applied')
    expect(Object.keys(sourcesOf(s))).toEqual(['wss://lower-id.example'])
  })

  it('an empty newer list clears the declared relays', () => {
    const s = store()
    s.applyRelayList(relayList(NOW - 100, [['r', 'wss://a.example']]))
    s.applyRelayList(relayList(NOW - 10, []))
    expect(s.evidenceFor(ALICE).relays).toEqual([])
  })

  it('reads a kind 3 relay map; a kind 3 without one is ignored, not a clearing', () => {
    const s = store()
    expect(s.applyRelayList(ev(3, NOW - 100, [], JSON.stringify({ 'wss://k3.example': { read: false, write: true } })))).toBe('applied')
    expect(s.applyRelayList(ev(3, NOW - 10, [['p', BOB]], ''))).toBe('ignored')
    expect(sourcesOf(s)).toEqual({ 'wss://k3.example': ['kind3-write'] })
    expect(s.applyRelayList(ev(3, NOW - 5, [], '{}'))).toBe('applied')
    expect(sourcesOf(s)).toEqual({})
  })

  it('ignores what is not a relay list, without throwing', () => {
    const s = store()
    expect(s.applyRelayList(ev(1, NOW, [['r', 'wss://a.example']]))).toBe('ignored')
    expect(s.applyRelayList({ kind: 10002 } as never)).toBe('ignored')
    expect(s.applyRelayList(null as never)).toBe('ignored')
    expect(s.has(ALICE)).toBe(false)
  })

  it('NIP-05 relays replace the previous NIP-05 relays; older fetches are stale', () => {
    const s = store()
    expect(s.applyNip05(ALICE, ['wss://n1.example', 'junk url', 'wss://n2.example'], NOW - 100)).toBe('applied')
    expect(s.applyNip05(ALICE, ['wss://n3.example'], NOW - 10)).toBe('applied')
    expect(s.applyNip05(ALICE, ['wss://n0.example'], NOW - 500)).toBe('stale')
    expect(sourcesOf(s)).toEqual({ 'wss://n3.example': ['nip05'] })
    expect(() => s.applyNip05('nope', [], NOW)).toThrow(TypeError)
  })
})

describe('learned evidence (seen, hints)', () => {
  it('accumulates counts (capped) and keeps the latest time, clamping the future to now', () => {
    const s = store()
    for (let i = 0; i < MAX_EVIDENCE_COUNT + 5; i++) s.addSeen(ALICE, 'wss://r.example', NOW - 1000 + (i % 7))
    expect(s.addSeen(ALICE, 'wss://R.example/', NOW + 99_999)).toBe(true)
    expect(s.evidenceFor(ALICE).relays[0]!.sources.seen).toEqual({ lastAt: NOW, count: MAX_EVIDENCE_COUNT })
  })

  it('skips invalid network input instead of throwing', () => {
    const s = store()
    expect(s.addSeen('not hex', 'wss://r.example', NOW)).toBe(false)
    expect(s.addSeen(ALICE, 'https://x.example', NOW)).toBe(false)
    expect(s.addHint(ALICE, 'wss://r.example', 'tag-hint', Number.NaN)).toBe(false)
    expect(s.has(ALICE)).toBe(false)
    expect(() => s.addHint(ALICE, 'wss://r.example', 'seen' as never, NOW)).toThrow(TypeError)
  })

  it('observeEvent records the author as seen and the hints it carries about people', () => {
    const s = store()
    const note = ev(1, NOW - 60, [['p', BOB, 'wss://bob.example'], ['e', id(), 'wss://where.example']], 'hello')
    expect(s.observeEvent(note, 'wss://seen-on.example')).toBe(2)
    expect(sourcesOf(s, ALICE)).toEqual({ 'wss://seen-on.example': ['seen'] })
    expect(sourcesOf(s, BOB)).toEqual({ 'wss://bob.example': ['tag-hint'] })
  })
})

describe('manual choices', () => {
  it('sets, changes and clears a choice; an invalid URL is OUTBOX_RELAY_URL_INVALID', () => {
    const s = store()
    s.setManual(ALICE, 'wss://mine.example', { write: true })
    s.setManual(ALICE, 'wss://mine.example', { read: false })
    expect(s.evidenceFor(ALICE).relays).toEqual([{ url: 'wss://mine.example', sources: {}, manual: { write: true, read: false } }])
    s.setManual(ALICE, 'wss://mine.example', { read: null, write: null })
    expect(s.evidenceFor(ALICE).relays).toEqual([])
    expect(codeOf(() => s.setManual(ALICE, 'http://x.example', { write: true }))).toBe('OUTBOX_RELAY_URL_INVALID')
    expect(() => s.setManual(ALICE, 'wss://x.example', { write: 'yes' as never })).toThrow(TypeError)
  })

  it('a manual "never" survives a newer list that names the relay, and scores 0', () => {
    const s = store()
    s.setManual(ALICE, 'wss://bad.example', { write: false })
    s.applyRelayList(relayList(NOW, [['r', 'wss://bad.example'], ['r', 'wss://good.example']]))
    expect(scoreRelays(s.evidenceFor(ALICE), { purpose: 'outbox', now: NOW })).toEqual([
      { url: 'wss://good.example', weight: 100 },
      { url: 'wss://bad.example', weight: 0 },
    ])
  })
})

describe('bounds', () => {
  it('keeps at most maxRelaysPerPerson, forgetting the weakest learned relays, never declared or manual ones', () => {
    const s = store({ maxRelaysPerPerson: 5 })
    s.applyRelayList(relayList(NOW - 999_999, [['r', 'wss://d1.example'], ['r', 'wss://d2.example']]))
    s.setManual(ALICE, 'wss://m.example', { read: true })
    s.addSeen(ALICE, 'wss://seen-often.example', NOW)
    s.addSeen(ALICE, 'wss://seen-often.example', NOW)
    s.addHint(ALICE, 'wss://hint-fresh.example', 'nip19-hint', NOW)
    // Old third-party hints are the weakest evidence there is: each one is forgotten at once.
    for (let i = 0; i < 30; i++) expect(s.addHint(ALICE, `wss://spam${i}.example`, 'tag-hint', NOW - 60 * 86_400)).toBe(false)
    expect(Object.keys(sourcesOf(s)).sort()).toEqual([
      'wss://d1.example',
      'wss://d2.example',
      'wss://hint-fresh.example',
      'wss://m.example',
      'wss://seen-often.example',
    ])
    // A stronger newcomer pushes out the weakest learned relay.
    expect(s.addSeen(ALICE, 'wss://seen-now.example', NOW)).toBe(true)
    expect(Object.keys(sourcesOf(s))).not.toContain('wss://hint-fresh.example')
  })

  it('stays within the bound whatever is fed in (property)', () => {
    const action = fc.oneof(
      fc.tuple(fc.constant('seen' as const), fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 200 })),
      fc.tuple(fc.constant('hint' as const), fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 200 })),
      fc.tuple(fc.constant('list' as const), fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 200 })),
    )
    fc.assert(
      fc.property(fc.array(action, { maxLength: 80 }), (actions) => {
        const s = store({ maxRelaysPerPerson: 8 })
        let declared = 0
        for (const [kind, n, age] of actions) {
          if (kind === 'seen') s.addSeen(ALICE, `wss://r${n}.example`, NOW - age * 86_400)
          else if (kind === 'hint') s.addHint(ALICE, `wss://r${n}.example`, 'tag-hint', NOW - age * 86_400)
          else if (s.applyRelayList(relayList(NOW - age, Array.from({ length: n }, (_, i) => ['r', `wss://d${i}.example`]))) === 'applied') declared = n
        }
        expect(s.evidenceFor(ALICE).relays.length).toBeLessThanOrEqual(Math.max(8, declared))
      }),
      { seed: 42, numRuns: 150 },
    )
  })

  it('holds at most maxPeople in memory when there is no storage', () => {
    const s = store({ maxPeople: 2 })
    s.addSeen(ALICE, 'wss://r.example', NOW)
    s.addSeen(BOB, 'wss://r.example', NOW)
    s.evidenceFor(ALICE) // Alice is now the most recently used
    s.addSeen(CAROL, 'wss://r.example', NOW)
    expect([s.has(ALICE), s.has(BOB), s.has(CAROL)]).toEqual([true, false, true])
    expect(s.stats().people).toBe(2)
  })

  it('rejects malformed options', () => {
    expect(() => createEvidenceStore({ maxRelaysPerPerson: 0 })).toThrow(RangeError)
    expect(() => createEvidenceStore({ maxPeople: 1.5 })).toThrow(RangeError)
    expect(() => createEvidenceStore({ now: 5 as never })).toThrow(TypeError)
    expect(() => createEvidenceStore({ storage: {} as never })).toThrow(TypeError)
  })
})

describe('persistence', () => {
  it('round-trips through storage: flush, then load in a new store', async () => {
    const storage = memoryStorage()
    const a = store({ storage })
    await a.load([ALICE, BOB])
    a.applyRelayList(relayList(NOW - 100, [['r', 'wss://w.example', 'write'], ['r', 'wss://r.example', 'read']]))
    a.applyRelayList(ev(3, NOW - 200, [], JSON.stringify({ 'wss://k3.example': { read: true, write: true } })))
    a.applyNip05(ALICE, ['wss://n.example'], NOW - 300)
    a.addSeen(ALICE, 'wss://w.example', NOW - 5)
    a.addHint(ALICE, 'wss://h.example', 'nip19-hint', NOW - 7)
    a.setManual(ALICE, 'wss://never.example', { write: false })
    a.addSeen(BOB, 'wss://bob.example', NOW)
    expect(a.stats().dirty).toBe(2)
    expect(await a.flush()).toBe(2)
    expect(a.stats().dirty).toBe(0)
    expect(await a.flush()).toBe(0)

    const b = store({ storage })
    expect(await b.load([ALICE, BOB, CAROL])).toEqual({ loaded: 2, corrupt: 0 })
    expect(b.evidenceFor(ALICE)).toEqual(a.evidenceFor(ALICE))
    expect(b.evidenceFor(BOB)).toEqual(a.evidenceFor(BOB))
    // The loaded stamp still refuses an older list.
    expect(b.applyRelayList(relayList(NOW - 1000, [['r', 'wss://stale.example']]))).toBe('stale')
    await storage.close()
  })

  it('merges what was learned before the load with what is stored; the newer list wins', async () => {
    const storage = memoryStorage()
    const a = store({ storage })
    a.applyRelayList(relayList(NOW - 10, [['r', 'wss://newest.example']]))
    a.addSeen(ALICE, 'wss://s.example', NOW - 100)
    a.setManual(ALICE, 'wss://m.example', { write: true })
    await a.flush()

    const b = store({ storage })
    // Before loading: an older list, a new sighting, and the same relay seen again.
    b.applyRelayList(relayList(NOW - 500, [['r', 'wss://older.example']]))
    b.addSeen(ALICE, 'wss://s.example', NOW - 1)
    b.addSeen(ALICE, 'wss://t.example', NOW - 2)
    // Flushing first loads and merges, so nothing stored is clobbered.
    await b.flush()
    const c = store({ storage })
    await c.load([ALICE])
    expect(sourcesOf(c)).toEqual({
      'wss://m.example': [],
      'wss://newest.example': ['nip65-read', 'nip65-write'],
      'wss://s.example': ['seen'],
      'wss://t.example': ['seen'],
    })
    const seen = c.evidenceFor(ALICE).relays.find((r) => r.url === 'wss://s.example')!.sources.seen
    expect(seen).toEqual({ lastAt: NOW - 1, count: 1 })
    expect(c.evidenceFor(ALICE).relays.find((r) => r.url === 'wss://m.example')!.manual).toEqual({ write: true })
    await storage.close()
  })

  it('drops corrupt records with a count, loads the good ones, and overwrites the bad ones at the next flush', async () => {
    const storage = memoryStorage()
    const good = store({ storage })
    good.addSeen(ALICE, 'wss://a.example', NOW)
    await good.flush()
    const junk: JsonValue[] = [
      'not an object',
      { v: 2, lists: {}, relays: {} },
      { v: 1, lists: {}, relays: { 'WSS://NOT-NORMAL.example': { s: { seen: [1, 1] } } } },
      { v: 1, lists: {}, relays: { 'wss://x.example': { s: { bogus: [1, 1] } } } },
      { v: 1, lists: {}, relays: { 'wss://x.example': { s: { seen: [1, 0] } } } },
      { v: 1, lists: {}, relays: { 'wss://x.example': { s: { 'nip65-write': [1, 1] } } } },
      { v: 1, lists: { nip65: [1, 'short'] }, relays: {} },
    ]
    const keys = junk.map((_, i) => id(7000 + i))
    await storage.putRecords('evidence', junk.map((value, i) => [keys[i]!, value] as const))
    const s = store({ storage })
    expect(await s.load([ALICE, ...keys])).toEqual({ loaded: 1, corrupt: junk.length })
    expect(Object.keys(sourcesOf(s))).toEqual(['wss://a.example'])
    expect(s.evidenceFor(keys[0]!).relays).toEqual([])
    expect(s.stats().corruptRecords).toBe(junk.length)
    expect(await s.flush()).toBe(junk.length)
    expect(await store({ storage }).load(keys)).toEqual({ loaded: junk.length, corrupt: 0 })
    await storage.close()
  })

  it('isolates a record the adapter itself cannot decode (STORAGE_CORRUPT)', async () => {
    const inner = memoryStorage()
    const seed = store({ storage: inner })
    seed.addSeen(ALICE, 'wss://a.example', NOW)
    seed.addSeen(BOB, 'wss://b.example', NOW)
    await seed.flush()
    const broken = wrap(inner, {
      getRecords: async (collection, keys) => {
        if (keys.includes(BOB)) throw new StorageError('STORAGE_CORRUPT', 'Row could not be decoded')
        return inner.getRecords(collection, keys)
      },
      getRecord: async (collection, key) => {
        if (key === BOB) throw new StorageError('STORAGE_CORRUPT', 'Row could not be decoded')
        return inner.getRecord(collection, key)
      },
    })
    const s = store({ storage: broken })
    expect(await s.load([ALICE, BOB])).toEqual({ loaded: 1, corrupt: 1 })
    expect(Object.keys(sourcesOf(s, ALICE))).toEqual(['wss://a.example'])
    await inner.close()
  })

  it('keeps changes dirty when a flush fails, and writes them at the next one', async () => {
    const inner = memoryStorage()
    let failNext = true
    const flaky = wrap(inner, {
      putRecords: async (collection, entries) => {
        if (failNext) {
          failNext = false
          throw new StorageError('STORAGE_WRITE_FAILED', 'disk said no')
        }
        return inner.putRecords(collection, entries)
      },
    })
    const s = store({ storage: flaky })
    await s.load([ALICE])
    s.addSeen(ALICE, 'wss://a.example', NOW)
    await expectRejectionCode(s.flush(), 'STORAGE_WRITE_FAILED')
    expect(s.stats().dirty).toBe(1)
    expect(await s.flush()).toBe(1)
    expect(await inner.getRecord('evidence', ALICE)).toBeDefined()
    await inner.close()
  })

  it('people pushed out of memory before a flush are still written by it', async () => {
    const storage = memoryStorage()
    const s = store({ storage, maxPeople: 1 })
    await s.load([ALICE, BOB])
    s.addSeen(ALICE, 'wss://a.example', NOW)
    s.addSeen(BOB, 'wss://b.example', NOW)
    expect(s.has(ALICE)).toBe(true)
    expect(await s.flush()).toBe(2)
    expect(s.has(ALICE)).toBe(false)
    const t = store({ storage })
    await t.load([ALICE, BOB])
    expect(Object.keys(sourcesOf(t, ALICE))).toEqual(['wss://a.example'])
    expect(Object.keys(sourcesOf(t, BOB))).toEqual(['wss://b.example'])
    await storage.close()
  })

  it('load checks its argument', async () => {
    const s = store({ storage: memoryStorage() })
    await expect(s.load(['xyz'])).rejects.toThrow(TypeError)
    expect(await store().load([ALICE])).toEqual({ loaded: 0, corrupt: 0 })
  })
})
