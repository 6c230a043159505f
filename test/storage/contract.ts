/**
 * The storage contract suite: one `describe` block every adapter runs from its own test file, so
 * all adapters agree on NIP-01 replaceable/addressable rules, NIP-09 deletions, filter queries,
 * seen-on relays, records and closing.
 *
 * ```ts
 * import { describeStorage } from './contract.js'
 * describeStorage('memory', () => memoryStorage())
 * ```
 *
 * Most events here are synthetic (hex-shaped, ids from the real NIP-01 hash, a dummy signature):
 * storage checks shapes, not signatures, and signing thousands of events would only slow the
 * suite. One case stores real signed events to show nothing depends on that.
 *
 * The suite ends with a property test: random small event sets put in random batches, with random
 * filters, against a brute-force reference built from `matchesFilter` and the rules in
 * `src/storage/event-rules.ts`.
 *
 * @module
 */
import fc from 'fast-check'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { getEventHash } from '../../src/crypto/event.js'
import type { NostrEvent } from '../../src/crypto/event.js'
import { finalizeEvent, generateSecretKey } from '../../src/crypto/index.js'
import { StorageError } from '../../src/errors.js'
import {
  addressOf,
  deletionTargets,
  eventProblem,
  isNewerVersion,
  kindClass,
  matchesFilter,
  newestFirst,
  replaceKey,
} from '../../src/storage/event-rules.js'
import { RECORD_COLLECTIONS } from '../../src/storage/types.js'
import type { JsonValue, PutResult, PutStatus, Storage, StorageFilter } from '../../src/storage/types.js'
import { expectRejectionCode } from '../helpers/errors.js'

/** Options of {@link describeStorage}. */
export interface DescribeStorageOptions {
  /**
   * Close `previous` and open the same backing store again. Given by persistent adapters; enables
   * the persistence cases.
   */
  readonly reopen?: (previous: Storage) => Promise<Storage>
}

export const ALICE = 'a1'.repeat(32)
export const BOB = 'b2'.repeat(32)
export const CAROL = 'c3'.repeat(32)
const SIG = 'e5'.repeat(64)
const BASE_TIME = 1_700_000_000

let sequence = 0

/**
 * A hex-shaped event with a real NIP-01 id and a dummy signature. Defaults: Alice, kind 1, a
 * fixed time, no tags, a unique content (so ids differ).
 */
export function syntheticEvent(fields: Partial<NostrEvent> = {}): NostrEvent {
  const unsigned = {
    pubkey: fields.pubkey ?? ALICE,
    created_at: fields.created_at ?? BASE_TIME,
    kind: fields.kind ?? 1,
    tags: fields.tags ?? [],
    content: fields.content ?? `note ${++sequence}`,
  }
  return { ...unsigned, id: fields.id ?? getEventHash(unsigned), sig: fields.sig ?? SIG }
}

/** Ids in the order a query must return the events: newest first, ties by id. */
function expectedOrder(events: readonly NostrEvent[]): string[] {
  return [...events].sort(newestFirst).map((e) => e.id)
}

function ids(events: readonly NostrEvent[]): string[] {
  return events.map((e) => e.id)
}

function statuses(results: readonly PutResult[]): PutStatus[] {
  return results.map((r) => r.status)
}

/** The contract's deletion event: kind 5 by `author` naming `ids` (e tags) and `addresses` (a tags). */
function deletion(author: string, targets: { ids?: string[]; addresses?: string[] }, created_at = BASE_TIME + 100): NostrEvent {
  return syntheticEvent({
    pubkey: author,
    kind: 5,
    created_at,
    tags: [...(targets.ids ?? []).map((id) => ['e', id]), ...(targets.addresses ?? []).map((a) => ['a', a])],
    content: '',
  })
}

/**
 * Run the storage contract against an adapter.
 *
 * @param name - the adapter's name, shown in the test titles.
 * @param factory - opens a fresh, empty storage (called once per test and per property run).
 * @param options - `reopen` for persistent adapters.
 */
export function describeStorage(
  name: string,
  factory: () => Promise<Storage> | Storage,
  options: DescribeStorageOptions = {},
): void {
  describe(`Storage contract: ${name}`, () => {
    let storage: Storage
    const opened: Storage[] = []

    async function open(): Promise<Storage> {
      const s = await factory()
      opened.push(s)
      return s
    }

    beforeEach(async () => {
      storage = await open()
    })

    afterEach(async () => {
      for (const s of opened.splice(0)) await s.close()
    })

    describe('events: put, get, count', () => {
      it('stores real signed events and returns them field for field', async () => {
        const sk = generateSecretKey()
        const note = finalizeEvent({ kind: 1, content: 'héllo 🌍\n"quoted"', tags: [['t', 'nostr'], ['p', BOB, 'wss://r.example']], created_at: BASE_TIME }, sk)
        const profile = finalizeEvent({ kind: 0, content: '{"name":"a"}', created_at: BASE_TIME }, sk)
        expect(statuses(await storage.putEvents([note, profile]))).toEqual(['stored', 'stored'])
        expect(await storage.getEvent(note.id)).toEqual(note)
        expect(await storage.getEvent(profile.id)).toEqual(profile)
        expect(await storage.countEvents()).toBe(2)
      })

      it('getEvent of an unknown id is undefined; an empty store counts 0; an empty batch gives []', async () => {
        expect(await storage.getEvent('00'.repeat(32))).toBeUndefined()
        expect(await storage.countEvents()).toBe(0)
        expect(await storage.putEvents([])).toEqual([])
      })

      it('reports results in input order with the ids as given', async () => {
        const a = syntheticEvent()
        const b = syntheticEvent()
        const results = await storage.putEvents([a, b])
        expect(results).toEqual([
          { id: a.id, status: 'stored' },
          { id: b.id, status: 'stored' },
        ])
      })

      it('keeps only the seven NIP-01 fields and copies events in and out', async () => {
        const e = syntheticEvent({ tags: [['t', 'x']] })
        await storage.putEvents([{ ...e, seenOn: ['wss://x'], extra: 1 } as unknown as NostrEvent])
        e.tags[0]!.push('mutated after put')
        const got = await storage.getEvent(e.id)
        expect(got).toStrictEqual({ ...e, tags: [['t', 'x']] })
        got!.tags[0]![1] = 'mutated after get'
        got!.content = 'changed'
        const [queried] = await storage.queryEvents([{ ids: [e.id] }])
        expect(queried).toStrictEqual({ ...e, tags: [['t', 'x']] })
        queried!.tags.push(['p', BOB])
        expect((await storage.getEvent(e.id))!.tags).toEqual([['t', 'x']])
      })

      it('a second copy of a stored event is a duplicate, in the same batch or later', async () => {
        const e = syntheticEvent()
        expect(statuses(await storage.putEvents([e, { ...e }]))).toEqual(['stored', 'duplicate'])
        expect(statuses(await storage.putEvents([e]))).toEqual(['duplicate'])
        expect(await storage.countEvents()).toBe(1)
      })

      it('rejects malformed events one by one and still stores the valid ones in the batch', async () => {
        const good1 = syntheticEvent()
        const good2 = syntheticEvent({ kind: 7 })
        const base = syntheticEvent()
        const bad: unknown[] = [
          null,
          'not an event',
          {},
          { ...base, id: base.id.toUpperCase() },
          { ...base, id: base.id.slice(1) },
          { ...base, pubkey: 'zz'.repeat(32) },
          { ...base, sig: undefined },
          { ...base, kind: -1 },
          { ...base, kind: 1.5 },
          { ...base, kind: 65536 },
          { ...base, created_at: '1700000000' },
          { ...base, tags: 'nope' },
          { ...base, tags: [['t', 5]] },
          { ...base, content: 42 },
        ]
        const results = await storage.putEvents([good1, ...bad, good2] as NostrEvent[])
        expect(results).toHaveLength(bad.length + 2)
        expect(results[0]).toEqual({ id: good1.id, status: 'stored' })
        expect(results.at(-1)).toEqual({ id: good2.id, status: 'stored' })
        for (const r of results.slice(1, -1)) {
          expect(r.status).toBe('invalid')
          expect(typeof r.reason).toBe('string')
          expect(r.reason!.length).toBeGreaterThan(0)
        }
        expect(results[4]!.id).toBe(base.id.toUpperCase())
        expect(await storage.countEvents()).toBe(2)
        expect(await storage.getEvent(base.id)).toBeUndefined()
      })

      it('does not store ephemeral kinds (20000-29999): invalid, with the reason', async () => {
        const results = await storage.putEvents([syntheticEvent({ kind: 20000 }), syntheticEvent({ kind: 29999 }), syntheticEvent({ kind: 19999 }), syntheticEvent({ kind: 30000 })])
        expect(statuses(results)).toEqual(['invalid', 'invalid', 'stored', 'stored'])
        expect(results[0]!.reason).toMatch(/ephemeral/)
        expect(await storage.countEvents()).toBe(2)
        expect(await storage.queryEvents([{ kinds: [20000, 29999] }])).toEqual([])
      })

      it('keeps every regular event, kind boundaries included (1, 2, 4, 9999, 40000, 65535)', async () => {
        const events = [1, 2, 4, 9999, 40000, 65535].flatMap((kind) => [syntheticEvent({ kind }), syntheticEvent({ kind, created_at: BASE_TIME + 1 })])
        expect(statuses(await storage.putEvents(events)).every((s) => s === 'stored')).toBe(true)
        expect(await storage.countEvents()).toBe(12)
      })
    })

    describe('replaceable events (kinds 0, 3, 10000-19999)', () => {
      for (const kind of [0, 3, 10002, 19999]) {
        it(`kind ${kind}: the newest version wins and replaces the older one`, async () => {
          const older = syntheticEvent({ kind, created_at: BASE_TIME })
          const newer = syntheticEvent({ kind, created_at: BASE_TIME + 10 })
          expect(await storage.putEvents([older])).toEqual([{ id: older.id, status: 'stored' }])
          expect(await storage.putEvents([newer])).toEqual([{ id: newer.id, status: 'stored', replaced: [older.id] }])
          expect(await storage.getEvent(older.id)).toBeUndefined()
          expect(ids(await storage.queryEvents([{ kinds: [kind], authors: [ALICE] }]))).toEqual([newer.id])
          expect(await storage.countEvents()).toBe(1)
          // An older version arriving later is superseded, not stored.
          const oldest = syntheticEvent({ kind, created_at: BASE_TIME - 10 })
          expect(statuses(await storage.putEvents([oldest, older]))).toEqual(['superseded', 'superseded'])
          expect(ids(await storage.queryEvents([{ kinds: [kind] }]))).toEqual([newer.id])
        })
      }

      it('same created_at: the lowest id wins, whichever arrives first', async () => {
        const pair = [syntheticEvent({ kind: 0, content: 'x' }), syntheticEvent({ kind: 0, content: 'y' })].sort((a, b) => (a.id < b.id ? -1 : 1))
        const [low, high] = pair as [NostrEvent, NostrEvent]
        expect(await storage.putEvents([high, low])).toEqual([
          { id: high.id, status: 'stored' },
          { id: low.id, status: 'stored', replaced: [high.id] },
        ])
        expect(statuses(await storage.putEvents([high]))).toEqual(['superseded'])
        expect(ids(await storage.queryEvents([{ kinds: [0] }]))).toEqual([low.id])

        const other = await open()
        expect(statuses(await other.putEvents([low, high]))).toEqual(['stored', 'superseded'])
        expect(ids(await other.queryEvents([{ kinds: [0] }]))).toEqual([low.id])
      })

      it('within one batch, newer-then-older keeps the newer', async () => {
        const older = syntheticEvent({ kind: 10002, created_at: BASE_TIME })
        const newer = syntheticEvent({ kind: 10002, created_at: BASE_TIME + 1 })
        expect(statuses(await storage.putEvents([newer, older]))).toEqual(['stored', 'superseded'])
        expect(ids(await storage.queryEvents([{ kinds: [10002] }]))).toEqual([newer.id])
      })

      it('versions by different authors or of different kinds do not replace each other', async () => {
        const events = [
          syntheticEvent({ kind: 0, pubkey: ALICE }),
          syntheticEvent({ kind: 0, pubkey: BOB, created_at: BASE_TIME + 5 }),
          syntheticEvent({ kind: 3, pubkey: ALICE, created_at: BASE_TIME + 6 }),
          syntheticEvent({ kind: 10002, pubkey: ALICE, created_at: BASE_TIME + 7 }),
          syntheticEvent({ kind: 10050, pubkey: ALICE, created_at: BASE_TIME + 8 }),
        ]
        expect(statuses(await storage.putEvents(events)).every((s) => s === 'stored')).toBe(true)
        expect(await storage.countEvents()).toBe(5)
      })
    })

    describe('addressable events (kinds 30000-39999)', () => {
      it('keeps one version per d tag; different d values coexist', async () => {
        const x1 = syntheticEvent({ kind: 30023, tags: [['d', 'x']], created_at: BASE_TIME })
        const y1 = syntheticEvent({ kind: 30023, tags: [['d', 'y']], created_at: BASE_TIME })
        const x2 = syntheticEvent({ kind: 30023, tags: [['d', 'x']], created_at: BASE_TIME + 1 })
        const otherKind = syntheticEvent({ kind: 30000, tags: [['d', 'x']], created_at: BASE_TIME })
        const results = await storage.putEvents([x1, y1, x2, otherKind])
        expect(results[2]).toEqual({ id: x2.id, status: 'stored', replaced: [x1.id] })
        expect(statuses(results)).toEqual(['stored', 'stored', 'stored', 'stored'])
        expect(new Set(ids(await storage.queryEvents([{ kinds: [30023, 30000] }])))).toEqual(new Set([y1.id, x2.id, otherKind.id]))
        expect(ids(await storage.queryEvents([{ kinds: [30023], '#d': ['x'] }]))).toEqual([x2.id])
      })

      it('a missing d tag is the same address as an empty one; the first d tag counts', async () => {
        const none = syntheticEvent({ kind: 30000, tags: [], created_at: BASE_TIME })
        const empty = syntheticEvent({ kind: 30000, tags: [['d', '']], created_at: BASE_TIME + 1 })
        const valueless = syntheticEvent({ kind: 30000, tags: [['d']], created_at: BASE_TIME + 2 })
        const twoD = syntheticEvent({ kind: 30000, tags: [['d', 'first'], ['d', '']], created_at: BASE_TIME + 3 })
        expect(await storage.putEvents([none, empty, valueless, twoD])).toEqual([
          { id: none.id, status: 'stored' },
          { id: empty.id, status: 'stored', replaced: [none.id] },
          { id: valueless.id, status: 'stored', replaced: [empty.id] },
          { id: twoD.id, status: 'stored' },
        ])
        expect(await storage.countEvents()).toBe(2)
      })

      it('the newest wins and ties go to the lowest id, as for replaceable kinds', async () => {
        const pair = [1, 2].map((n) => syntheticEvent({ kind: 39999, tags: [['d', 'k']], content: `v${n}` })).sort((a, b) => (a.id < b.id ? -1 : 1))
        const [low, high] = pair as [NostrEvent, NostrEvent]
        const older = syntheticEvent({ kind: 39999, tags: [['d', 'k']], created_at: BASE_TIME - 1 })
        expect(statuses(await storage.putEvents([high, older, low]))).toEqual(['stored', 'superseded', 'stored'])
        expect(ids(await storage.queryEvents([{ '#d': ['k'] }]))).toEqual([low.id])
      })
    })

    describe('NIP-09 deletions', () => {
      it('an e-tag deletion removes the author’s event, is stored itself, and refuses the event later', async () => {
        const note = syntheticEvent()
        const keep = syntheticEvent()
        await storage.putEvents([note, keep])
        const del = deletion(ALICE, { ids: [note.id] })
        expect(await storage.putEvents([del])).toEqual([{ id: del.id, status: 'stored', replaced: [note.id] }])
        expect(await storage.getEvent(note.id)).toBeUndefined()
        expect(await storage.getEvent(del.id)).toEqual(del)
        expect(await storage.getEvent(keep.id)).toEqual(keep)
        expect(await storage.putEvents([note])).toEqual([{ id: note.id, status: 'deleted' }])
        expect(await storage.countEvents()).toBe(2)
        expect(ids(await storage.queryEvents([{ kinds: [1] }]))).toEqual([keep.id])
      })

      it('a deletion that arrives first refuses its target when it comes', async () => {
        const note = syntheticEvent({ kind: 7 })
        const del = deletion(ALICE, { ids: [note.id] })
        expect(await storage.putEvents([del, note])).toEqual([
          { id: del.id, status: 'stored' },
          { id: note.id, status: 'deleted' },
        ])
        expect(await storage.countEvents()).toBe(1)
      })

      it('a deletion naming someone else’s event does nothing to it, before or after', async () => {
        const bobs = syntheticEvent({ pubkey: BOB })
        const bobsLater = syntheticEvent({ pubkey: BOB })
        await storage.putEvents([bobs])
        const del = deletion(ALICE, { ids: [bobs.id, bobsLater.id] })
        expect(await storage.putEvents([del])).toEqual([{ id: del.id, status: 'stored' }])
        expect(await storage.getEvent(bobs.id)).toEqual(bobs)
        expect(await storage.putEvents([bobsLater])).toEqual([{ id: bobsLater.id, status: 'stored' }])
      })

      it('an a-tag deletion removes versions up to its created_at, not newer ones', async () => {
        const v1 = syntheticEvent({ kind: 30023, tags: [['d', 'post']], created_at: BASE_TIME })
        const other = syntheticEvent({ kind: 30023, tags: [['d', 'other']], created_at: BASE_TIME })
        await storage.putEvents([v1, other])
        const del = deletion(ALICE, { addresses: [`30023:${ALICE}:post`] }, BASE_TIME + 10)
        expect(await storage.putEvents([del])).toEqual([{ id: del.id, status: 'stored', replaced: [v1.id] }])
        const olderThanDeletion = syntheticEvent({ kind: 30023, tags: [['d', 'post']], created_at: BASE_TIME + 5 })
        const sameTime = syntheticEvent({ kind: 30023, tags: [['d', 'post']], created_at: BASE_TIME + 10 })
        const newer = syntheticEvent({ kind: 30023, tags: [['d', 'post']], created_at: BASE_TIME + 11 })
        expect(statuses(await storage.putEvents([olderThanDeletion, sameTime, newer]))).toEqual(['deleted', 'deleted', 'stored'])
        expect(new Set(ids(await storage.queryEvents([{ kinds: [30023] }])))).toEqual(new Set([other.id, newer.id]))
      })

      it('an a-tag deletion removes a stored version from the same second', async () => {
        const v = syntheticEvent({ kind: 30023, tags: [['d', 'post']], created_at: BASE_TIME + 10 })
        await storage.putEvents([v])
        const del = deletion(ALICE, { addresses: [`30023:${ALICE}:post`] }, BASE_TIME + 10)
        expect(await storage.putEvents([del])).toEqual([{ id: del.id, status: 'stored', replaced: [v.id] }])
        expect(await storage.countEvents()).toBe(1)
      })

      it('an a-tag deletion older than the stored version leaves it in place', async () => {
        const v2 = syntheticEvent({ kind: 30023, tags: [['d', 'post']], created_at: BASE_TIME + 20 })
        await storage.putEvents([v2])
        const del = deletion(ALICE, { addresses: [`30023:${ALICE}:post`] }, BASE_TIME + 10)
        expect(await storage.putEvents([del])).toEqual([{ id: del.id, status: 'stored' }])
        expect(await storage.getEvent(v2.id)).toEqual(v2)
      })

      it('deletes a replaceable coordinate (trailing colon) and ignores other authors’ coordinates', async () => {
        const list = syntheticEvent({ kind: 10002, created_at: BASE_TIME })
        const bobsList = syntheticEvent({ kind: 10002, pubkey: BOB, created_at: BASE_TIME })
        await storage.putEvents([list, bobsList])
        const del = deletion(ALICE, { addresses: [`10002:${ALICE}:`, `10002:${BOB}:`] })
        expect(await storage.putEvents([del])).toEqual([{ id: del.id, status: 'stored', replaced: [list.id] }])
        expect(await storage.getEvent(bobsList.id)).toEqual(bobsList)
        const bobsDel = deletion(BOB, { addresses: [`10002:${ALICE}:`] })
        await storage.putEvents([bobsDel])
        const newerList = syntheticEvent({ kind: 10002, created_at: BASE_TIME + 200 })
        expect(statuses(await storage.putEvents([newerList]))).toEqual(['stored'])
      })

      it('a deletion of a deletion has no effect', async () => {
        const note = syntheticEvent()
        const first = deletion(ALICE, { ids: [note.id] })
        const second = deletion(ALICE, { ids: [first.id] }, BASE_TIME + 200)
        expect(statuses(await storage.putEvents([note, first, second]))).toEqual(['stored', 'stored', 'stored'])
        expect(await storage.getEvent(first.id)).toEqual(first)
        expect(statuses(await storage.putEvents([note]))).toEqual(['deleted'])

        const other = await open()
        expect(statuses(await other.putEvents([second, first]))).toEqual(['stored', 'stored'])
      })

      it('removes several targets at once and counts deletion events', async () => {
        const a = syntheticEvent()
        const b = syntheticEvent({ kind: 7 })
        const addr = syntheticEvent({ kind: 30001, tags: [['d', 'list']] })
        await storage.putEvents([a, b, addr])
        const del = deletion(ALICE, { ids: [a.id, b.id, a.id], addresses: [`30001:${ALICE}:list`] })
        const [result] = await storage.putEvents([del])
        expect(result!.status).toBe('stored')
        expect([...result!.replaced!].sort()).toEqual([a.id, b.id, addr.id].sort())
        expect(await storage.countEvents()).toBe(1)
      })
    })

    describe('queries', () => {
      // A small corpus touching every indexed condition.
      const T = BASE_TIME
      const target = syntheticEvent({ pubkey: CAROL, created_at: T - 100, content: 'the target' })
      const corpus = {
        target,
        reply: syntheticEvent({ pubkey: BOB, created_at: T + 1, tags: [['e', target.id, 'wss://r.example', 'reply'], ['p', CAROL]], content: 'Nice Post' }),
        tagged: syntheticEvent({ pubkey: ALICE, created_at: T + 2, tags: [['t', 'nostr'], ['T', 'Upper'], ['t', 'rust']], content: 'hello nostr world' }),
        tagged2: syntheticEvent({ pubkey: BOB, created_at: T + 2, tags: [['t', 'nostr']], content: 'Hello again' }),
        mention: syntheticEvent({ pubkey: CAROL, created_at: T + 3, tags: [['p', ALICE], ['p', BOB]], content: 'hi both' }),
        article: syntheticEvent({ pubkey: ALICE, kind: 30023, created_at: T + 4, tags: [['d', 'intro'], ['t', 'nostr']], content: 'long form' }),
        quote: syntheticEvent({ pubkey: BOB, kind: 1, created_at: T + 5, tags: [['a', `30023:${ALICE}:intro`], ['x', 'y', 'nostr']], content: 'quoting' }),
        reaction: syntheticEvent({ pubkey: CAROL, kind: 7, created_at: T + 6, tags: [['e', target.id], ['t']], content: '+' }),
        profile: syntheticEvent({ pubkey: ALICE, kind: 0, created_at: T + 7, content: '{"name":"alice"}' }),
        multi: syntheticEvent({ pubkey: ALICE, kind: 1, created_at: T + 8, tags: [['title', 'nostr'], ['t', 'nostr', 'extra']], content: 'NOSTR everywhere' }),
      }
      const all = Object.values(corpus)
      const q = async (...filters: StorageFilter[]): Promise<string[]> => ids(await storage.queryEvents(filters))

      beforeEach(async () => {
        // Put in an order unrelated to time or id, so nothing can pass by insertion order.
        const shuffled = [...all].sort((a, b) => (a.content < b.content ? -1 : 1))
        expect(statuses(await storage.putEvents(shuffled)).every((s) => s === 'stored')).toBe(true)
      })

      it('{} matches everything, newest first with ties by id; no filters match nothing', async () => {
        expect(await q({})).toEqual(expectedOrder(all))
        expect(ids(await storage.queryEvents([]))).toEqual([])
      })

      it('by ids, authors and kinds (unknown values match nothing)', async () => {
        expect(await q({ ids: [corpus.reply.id, corpus.mention.id, '00'.repeat(32)] })).toEqual(expectedOrder([corpus.reply, corpus.mention]))
        expect(await q({ authors: [BOB] })).toEqual(expectedOrder(all.filter((e) => e.pubkey === BOB)))
        expect(await q({ authors: [ALICE, CAROL] })).toEqual(expectedOrder(all.filter((e) => e.pubkey !== BOB)))
        expect(await q({ kinds: [7, 30023] })).toEqual(expectedOrder([corpus.reaction, corpus.article]))
        expect(await q({ kinds: [1], authors: [ALICE] })).toEqual(expectedOrder([corpus.tagged, corpus.multi]))
        expect(await q({ authors: ['ff'.repeat(32)] })).toEqual([])
        expect(await q({ kinds: [9] })).toEqual([])
      })

      it('by #e, #p, #a, #d and #t; a tag’s first value counts, multi-letter tags are not indexed', async () => {
        expect(await q({ '#e': [target.id] })).toEqual(expectedOrder([corpus.reply, corpus.reaction]))
        expect(await q({ '#p': [ALICE] })).toEqual([corpus.mention.id])
        expect(await q({ '#p': [ALICE, CAROL] })).toEqual(expectedOrder([corpus.mention, corpus.reply]))
        expect(await q({ '#a': [`30023:${ALICE}:intro`] })).toEqual([corpus.quote.id])
        expect(await q({ '#d': ['intro'] })).toEqual([corpus.article.id])
        // ['x', 'y', 'nostr'] and ['title', 'nostr'] do not count; ['t', 'nostr', 'extra'] does.
        expect(await q({ '#t': ['nostr'] })).toEqual(expectedOrder([corpus.tagged, corpus.tagged2, corpus.article, corpus.multi]))
        expect(await q({ '#t': ['rust', 'missing'] })).toEqual([corpus.tagged.id])
        expect(await q({ '#t': ['nostr'], authors: [BOB] })).toEqual([corpus.tagged2.id])
        expect(await q({ '#t': ['nostr'], '#T': ['Upper'] })).toEqual([corpus.tagged.id])
        expect(await q({ '#y': ['nostr'] })).toEqual([])
      })

      it('tag letters are case-sensitive (#T is not #t)', async () => {
        expect(await q({ '#T': ['Upper'] })).toEqual([corpus.tagged.id])
        expect(await q({ '#T': ['nostr'] })).toEqual([])
        expect(await q({ '#t': ['Upper'] })).toEqual([])
        expect(await q({ '#t': ['upper'] })).toEqual([])
      })

      it('since and until are inclusive', async () => {
        expect(await q({ since: T + 2, until: T + 3 })).toEqual(expectedOrder([corpus.tagged, corpus.tagged2, corpus.mention]))
        expect(await q({ since: T + 8 })).toEqual([corpus.multi.id])
        expect(await q({ until: T - 100 })).toEqual([target.id])
        expect(await q({ since: T + 5, until: T + 4 })).toEqual([])
      })

      it('limit keeps the newest per filter, ties by id; 0 matches nothing', async () => {
        expect(await q({ limit: 3 })).toEqual(expectedOrder(all).slice(0, 3))
        expect(await q({ '#t': ['nostr'], limit: 2 })).toEqual(expectedOrder([corpus.multi, corpus.article]))
        // The two events at T + 2 tie: the lower id comes first.
        expect(await q({ since: T + 2, until: T + 2, limit: 1 })).toEqual(expectedOrder([corpus.tagged, corpus.tagged2]).slice(0, 1))
        expect(await q({ limit: 0 })).toEqual([])
        expect(await q({ limit: 1000 })).toEqual(expectedOrder(all))
      })

      it('limit over many matches with many ties picks the same events as a full sort', async () => {
        const crowd = Array.from({ length: 120 }, (_, i) => syntheticEvent({ pubkey: BOB, kind: 9, created_at: T + 20 + (i % 4), content: `crowd ${i}` }))
        await storage.putEvents(crowd)
        for (const limit of [1, 5, 13, 119, 120]) {
          expect(await q({ kinds: [9], limit })).toEqual(expectedOrder(crowd).slice(0, limit))
          expect(await q({ authors: [BOB], limit })).toEqual(expectedOrder([...crowd, corpus.reply, corpus.tagged2, corpus.quote]).slice(0, limit))
        }
      })

      it('several filters are OR’d, deduplicated and sorted together; limits apply per filter', async () => {
        expect(await q({ authors: [CAROL] }, { kinds: [7] }, { ids: [target.id] })).toEqual(expectedOrder(all.filter((e) => e.pubkey === CAROL)))
        expect(await q({ kinds: [0] }, { authors: [BOB], limit: 1 }, { '#t': ['rust'] })).toEqual(expectedOrder([corpus.profile, corpus.quote, corpus.tagged]))
        expect(await q({ limit: 1 }, { limit: 1 })).toEqual([corpus.multi.id])
        expect(await q({ limit: 0 }, { kinds: [7] })).toEqual([corpus.reaction.id])
      })

      it('an empty array matches nothing, even next to other conditions', async () => {
        for (const filter of [{ ids: [] }, { authors: [] }, { kinds: [] }, { '#t': [] }, { '#p': [], kinds: [1] }, { authors: [ALICE], '#e': [] }] as StorageFilter[]) {
          expect(await q(filter)).toEqual([])
        }
        expect(await q({ ids: [] }, { kinds: [0] })).toEqual([corpus.profile.id])
      })

      it('search matches every word of it in the content, case-insensitively', async () => {
        expect(await q({ search: 'nostr' })).toEqual(expectedOrder([corpus.tagged, corpus.multi]))
        expect(await q({ search: 'HELLO   world' })).toEqual([corpus.tagged.id])
        expect(await q({ search: 'hello' })).toEqual(expectedOrder([corpus.tagged, corpus.tagged2]))
        expect(await q({ search: 'hello', authors: [BOB] })).toEqual([corpus.tagged2.id])
        expect(await q({ search: 'absent' })).toEqual([])
        expect(await q({ search: '' })).toEqual(expectedOrder(all))
      })

      it('the same results as a brute-force scan with matchesFilter, for every single condition', async () => {
        const filters: StorageFilter[] = [
          { authors: [ALICE], kinds: [1, 0] },
          { '#e': [target.id], kinds: [7] },
          { '#t': ['nostr'], since: T + 3 },
          { '#p': [ALICE, BOB, CAROL], until: T + 1 },
          { ids: all.map((e) => e.id), kinds: [1], limit: 4 },
        ]
        for (const filter of filters) {
          const expected = all.filter((e) => matchesFilter(e, filter)).sort(newestFirst).slice(0, filter.limit)
          expect(await q(filter)).toEqual(ids(expected))
        }
      })

      it('rejects malformed filters with STORAGE_FILTER_INVALID', async () => {
        const bad: unknown[] = [
          null,
          [],
          'kinds=1',
          { kinds: ['1'] },
          { kinds: [1.5] },
          { ids: 'abc' },
          { authors: [1] },
          { '#t': 'nostr' },
          { since: -1 },
          { until: 1.5 },
          { limit: -2 },
          { search: 5 },
          { unknown: [1] },
          { '#tt': ['x'] },
        ]
        for (const filter of bad) {
          const err = await expectRejectionCode(storage.queryEvents([{}, filter as StorageFilter]), 'STORAGE_FILTER_INVALID')
          expect(err).toBeInstanceOf(StorageError)
          expect(err.details).toMatch(/filter 1/)
        }
      })

      it('an aborted signal rejects with STORAGE_ABORTED and the reason as cause', async () => {
        const controller = new AbortController()
        const reason = new Error('user went away')
        controller.abort(reason)
        const err = await expectRejectionCode(storage.queryEvents([{}], { signal: controller.signal }), 'STORAGE_ABORTED')
        expect(err.cause).toBe(reason)
        expect(ids(await storage.queryEvents([{ kinds: [0] }], { signal: new AbortController().signal }))).toEqual([corpus.profile.id])
      })
    })

    describe('seen-on relays', () => {
      it('records relays in first-seen order, deduplicated, also from duplicate puts', async () => {
        const e = syntheticEvent()
        const plain = syntheticEvent()
        await storage.putEvents([e], { seenOn: 'wss://one.example' })
        await storage.putEvents([e], { seenOn: 'wss://two.example' })
        await storage.putEvents([e, plain], { seenOn: 'wss://one.example' })
        await storage.putEvents([e])
        await storage.addSeenOn([e.id], 'wss://three.example')
        await storage.addSeenOn([e.id, plain.id], 'wss://two.example')
        const seen = await storage.seenOn([e.id, plain.id, '00'.repeat(32)])
        expect(seen).toEqual(
          new Map([
            [e.id, ['wss://one.example', 'wss://two.example', 'wss://three.example']],
            [plain.id, ['wss://one.example', 'wss://two.example']],
            ['00'.repeat(32), []],
          ]),
        )
        seen.get(e.id)!.push('wss://mutated.example')
        expect((await storage.seenOn([e.id])).get(e.id)).toHaveLength(3)
      })

      it('ignores unknown ids and events that were not kept', async () => {
        const unknown = 'ab'.repeat(32)
        await storage.addSeenOn([unknown], 'wss://one.example')
        const newer = syntheticEvent({ kind: 0, created_at: BASE_TIME + 1 })
        const older = syntheticEvent({ kind: 0, created_at: BASE_TIME })
        const ephemeral = syntheticEvent({ kind: 20001 })
        await storage.putEvents([newer, older, ephemeral], { seenOn: 'wss://one.example' })
        const seen = await storage.seenOn([unknown, older.id, ephemeral.id, newer.id])
        expect([unknown, older.id, ephemeral.id, newer.id].map((id) => seen.get(id))).toEqual([[], [], [], ['wss://one.example']])
        expect(await storage.countEvents()).toBe(1)
      })

      it('a replaced version takes its relays with it', async () => {
        const older = syntheticEvent({ kind: 3, created_at: BASE_TIME })
        const newer = syntheticEvent({ kind: 3, created_at: BASE_TIME + 1 })
        await storage.putEvents([older], { seenOn: 'wss://one.example' })
        await storage.putEvents([newer], { seenOn: 'wss://two.example' })
        expect(await storage.seenOn([older.id, newer.id])).toEqual(new Map([[older.id, []], [newer.id, ['wss://two.example']]]))
      })
    })

    describe('removeEvents', () => {
      it('removes by id, counts what was there, and clears indexes and relays', async () => {
        const a = syntheticEvent({ tags: [['t', 'gone']] })
        const b = syntheticEvent({ pubkey: BOB })
        await storage.putEvents([a, b], { seenOn: 'wss://one.example' })
        expect(await storage.removeEvents([a.id, a.id, '00'.repeat(32)])).toBe(1)
        expect(await storage.removeEvents([])).toBe(0)
        expect(await storage.getEvent(a.id)).toBeUndefined()
        expect(await storage.queryEvents([{ '#t': ['gone'] }, { authors: [ALICE] }, { ids: [a.id] }])).toEqual([])
        expect(await storage.countEvents()).toBe(1)
        // Not a deletion: the event may come back, without its old relays.
        expect(statuses(await storage.putEvents([a]))).toEqual(['stored'])
        expect((await storage.seenOn([a.id])).get(a.id)).toEqual([])
        expect(ids(await storage.queryEvents([{ '#t': ['gone'] }]))).toEqual([a.id])
      })

      it('removing the current version of a replaceable event frees its slot', async () => {
        const older = syntheticEvent({ kind: 10002, created_at: BASE_TIME })
        const newer = syntheticEvent({ kind: 10002, created_at: BASE_TIME + 1 })
        await storage.putEvents([newer])
        expect(await storage.removeEvents([newer.id])).toBe(1)
        expect(await storage.putEvents([older])).toEqual([{ id: older.id, status: 'stored' }])
      })
    })

    describe('records', () => {
      it('each collection is its own key space', async () => {
        for (const [i, collection] of RECORD_COLLECTIONS.entries()) await storage.putRecord(collection, 'same-key', { i, collection })
        for (const [i, collection] of RECORD_COLLECTIONS.entries()) {
          expect(await storage.getRecord(collection, 'same-key')).toEqual({ i, collection })
          expect(await storage.listRecords(collection)).toEqual([['same-key', { i, collection }]])
        }
        await storage.deleteRecord('nip11', 'same-key')
        expect(await storage.getRecord('nip11', 'same-key')).toBeUndefined()
        expect(await storage.getRecord('settings', 'same-key')).toEqual({ i: 5, collection: 'settings' })
      })

      it('round-trips every kind of JSON value', async () => {
        const values: JsonValue[] = [
          null,
          true,
          false,
          0,
          -1.5,
          Number.MAX_SAFE_INTEGER,
          1e-7,
          '',
          'text',
          [],
          {},
          [1, 'two', null, [false, { deep: [[]] }]],
          { nested: { list: [1, 2, { x: 'y' }], empty: {}, n: null }, 'key with spaces': 'v' },
        ]
        await storage.putRecords('settings', values.map((v, i) => [`v${String(i).padStart(2, '0')}`, v]))
        // -0 is not JSON: it comes back as 0, as it would from JSON.parse.
        await storage.putRecord('evidence', 'minus-zero', { n: -0, list: [-0] })
        const minusZero = (await storage.getRecord('evidence', 'minus-zero')) as { n: number; list: number[] }
        expect(Object.is(minusZero.n, 0) && Object.is(minusZero.list[0], 0)).toBe(true)
        const listed = await storage.listRecords('settings')
        expect(listed.map(([, v]) => v)).toEqual(values)
        for (const [i, v] of values.entries()) expect(await storage.getRecord('settings', `v${String(i).padStart(2, '0')}`)).toEqual(v)
      })

      it('putRecord replaces; getRecord of a missing key is undefined; deleting a missing key is fine', async () => {
        await storage.putRecord('evidence', 'k', { v: 1 })
        await storage.putRecord('evidence', 'k', [2])
        expect(await storage.getRecord('evidence', 'k')).toEqual([2])
        expect(await storage.getRecord('evidence', 'missing')).toBeUndefined()
        await storage.deleteRecord('evidence', 'missing')
        await storage.deleteRecord('evidence', 'k')
        await storage.deleteRecord('evidence', 'k')
        expect(await storage.listRecords('evidence')).toEqual([])
      })

      it('getRecords returns the keys found; putRecords writes many at once (last one wins)', async () => {
        await storage.putRecords('relay-health', [
          ['wss://a', { ok: 1 }],
          ['wss://b', { ok: 2 }],
          ['wss://a', { ok: 3 }],
        ])
        await storage.putRecords('relay-health', [])
        const got = await storage.getRecords('relay-health', ['wss://a', 'wss://missing', 'wss://b'])
        expect(got).toEqual(new Map([['wss://a', { ok: 3 }], ['wss://b', { ok: 2 }]]))
        expect(await storage.getRecords('relay-health', [])).toEqual(new Map())
      })

      it('lists by prefix in key order; wildcard characters in a prefix are literal', async () => {
        const keys = ['b', 'a%b', 'a_b', 'axb', 'a', 'ab', 'A', 'a\\b', 'b:1', 'b:10', 'b:2']
        await storage.putRecords('publish-queue', keys.map((k) => [k, k]))
        const sorted = [...keys].sort()
        expect((await storage.listRecords('publish-queue')).map(([k]) => k)).toEqual(sorted)
        expect((await storage.listRecords('publish-queue', '')).map(([k]) => k)).toEqual(sorted)
        expect(await storage.listRecords('publish-queue', 'a%')).toEqual([['a%b', 'a%b']])
        expect(await storage.listRecords('publish-queue', 'a_')).toEqual([['a_b', 'a_b']])
        expect(await storage.listRecords('publish-queue', 'a\\')).toEqual([['a\\b', 'a\\b']])
        expect((await storage.listRecords('publish-queue', 'b:')).map(([k]) => k)).toEqual(['b:1', 'b:10', 'b:2'])
        expect((await storage.listRecords('publish-queue', 'a')).map(([k]) => k)).toEqual(['a', 'a%b', 'a\\b', 'a_b', 'ab', 'axb'])
        expect(await storage.listRecords('publish-queue', 'zzz')).toEqual([])
      })

      it('unicode keys and values survive; key order is JavaScript string order (UTF-16 code units)', async () => {
        const entries: Array<[string, JsonValue]> = [
          ['ключ', { text: 'значение' }],
          ['😀', '🌍 emoji'],
          ['\uFFFD', 'replacement char'],
          ['é', 'e acute'],
          ['z', { nul: 'a\u0000b', quote: '"\\', newline: 'x\ny' }],
          ['日本', ['語']],
        ]
        await storage.putRecords('relay-lists', entries)
        const listed = await storage.listRecords('relay-lists')
        // '😀' (a surrogate pair starting 0xD83D) sorts before '\uFFFD' in UTF-16, after it in UTF-8.
        expect(listed).toEqual([...entries].sort(([a], [b]) => (a < b ? -1 : 1)))
        expect(listed.map(([k]) => k).indexOf('😀')).toBeLessThan(listed.map(([k]) => k).indexOf('\uFFFD'))
        expect(await storage.getRecord('relay-lists', 'ключ')).toEqual({ text: 'значение' })
        expect(await storage.listRecords('relay-lists', 'к')).toEqual([['ключ', { text: 'значение' }]])
        expect(await storage.getRecord('relay-lists', 'z')).toEqual({ nul: 'a\u0000b', quote: '"\\', newline: 'x\ny' })
      })

      it('an own "__proto__" key is data, not a prototype', async () => {
        const value = JSON.parse('{"__proto__": {"polluted": true}, "ok": 1}') as JsonValue
        await storage.putRecord('settings', 'proto', value)
        const got = (await storage.getRecord('settings', 'proto')) as Record<string, unknown>
        expect(Object.getPrototypeOf(got)).toBe(Object.prototype)
        expect(Object.keys(got).sort()).toEqual(['__proto__', 'ok'])
        expect(({} as Record<string, unknown>).polluted).toBeUndefined()
      })

      it('values are copied in and out: mutating either side changes nothing stored', async () => {
        const value = { list: [1, 2], inner: { a: 'b' } }
        await storage.putRecord('evidence', 'k', value)
        await storage.putRecords('evidence', [['k2', value]])
        value.list.push(3)
        value.inner.a = 'changed'
        const got = (await storage.getRecord('evidence', 'k')) as { list: number[]; inner: { a: string } }
        expect(got).toEqual({ list: [1, 2], inner: { a: 'b' } })
        got.list.push(99)
        got.inner.a = 'changed again'
        const many = await storage.getRecords('evidence', ['k', 'k2'])
        expect(many.get('k')).toEqual({ list: [1, 2], inner: { a: 'b' } })
        ;(many.get('k2') as { list: number[] }).list.length = 0
        const listed = await storage.listRecords('evidence')
        expect(listed).toEqual([
          ['k', { list: [1, 2], inner: { a: 'b' } }],
          ['k2', { list: [1, 2], inner: { a: 'b' } }],
        ])
        ;(listed[0]![1] as { list: number[] }).list.pop()
        expect(await storage.getRecord('evidence', 'k')).toEqual({ list: [1, 2], inner: { a: 'b' } })
      })

      it('a value that is not JSON is a TypeError naming the key, and nothing of the batch is written', async () => {
        const notJson: unknown[] = [
          () => 1,
          new Map([['a', 1]]),
          Number.NaN,
          Infinity,
          undefined,
          { inside: undefined },
          [1, undefined],
          [1, , 3],
          { n: Number.NaN },
          10n,
          new Date(0),
          Symbol('s'),
        ]
        for (const bad of notJson) {
          const err = await storage.putRecord('settings', 'bad-key', bad as JsonValue).then(
            () => undefined,
            (e: unknown) => e,
          )
          expect(err).toBeInstanceOf(TypeError)
          expect((err as Error).message).toContain('bad-key')
        }
        const cyclic: Record<string, unknown> = {}
        cyclic.self = cyclic
        await expect(storage.putRecord('settings', 'cyclic-key', cyclic as JsonValue)).rejects.toThrow(TypeError)
        await expect(
          storage.putRecords('settings', [
            ['good', 1],
            ['batch-bad', { f: () => 1 } as unknown as JsonValue],
          ]),
        ).rejects.toThrow(/batch-bad/)
        expect(await storage.listRecords('settings')).toEqual([])
      })

      it('an unknown collection or a non-string key is a TypeError', async () => {
        await expect(storage.putRecord('nope' as never, 'k', 1)).rejects.toThrow(TypeError)
        await expect(storage.getRecord('settings', 5 as never)).rejects.toThrow(TypeError)
        await expect(storage.listRecords('__proto__' as never)).rejects.toThrow(TypeError)
      })
    })

    describe('promises, never synchronous throws', () => {
      it('bad arguments reject instead of throwing', async () => {
        const calls: Array<() => Promise<unknown>> = [
          () => storage.putEvents('nope' as never),
          () => storage.queryEvents({} as never),
          () => storage.getEvent(5 as never),
          () => storage.putRecord('nope' as never, 'k', 1),
          () => storage.putRecords('settings', 'nope' as never),
          () => storage.seenOn('nope' as never),
        ]
        for (const call of calls) {
          let promise: Promise<unknown> | undefined
          expect(() => {
            promise = call()
          }).not.toThrow()
          await expect(promise).rejects.toThrow(TypeError)
        }
      })
    })

    describe('close', () => {
      it('every method rejects with STORAGE_CLOSED afterwards; close is idempotent', async () => {
        const e = syntheticEvent()
        await storage.putEvents([e])
        await storage.close()
        await storage.close()
        const calls: { [K in Exclude<keyof Storage, 'name' | 'close'>]: () => Promise<unknown> } = {
          putEvents: () => storage.putEvents([syntheticEvent()]),
          queryEvents: () => storage.queryEvents([{}]),
          getEvent: () => storage.getEvent(e.id),
          countEvents: () => storage.countEvents(),
          addSeenOn: () => storage.addSeenOn([e.id], 'wss://one.example'),
          seenOn: () => storage.seenOn([e.id]),
          removeEvents: () => storage.removeEvents([e.id]),
          getRecord: () => storage.getRecord('settings', 'k'),
          getRecords: () => storage.getRecords('settings', ['k']),
          putRecords: () => storage.putRecords('settings', [['k', 1]]),
          putRecord: () => storage.putRecord('settings', 'k', 1),
          deleteRecord: () => storage.deleteRecord('settings', 'k'),
          listRecords: () => storage.listRecords('settings'),
        }
        for (const [method, call] of Object.entries(calls)) {
          let promise: Promise<unknown> | undefined
          expect(() => {
            promise = call()
          }, method).not.toThrow()
          await expectRejectionCode(promise!, 'STORAGE_CLOSED')
        }
        expect(typeof storage.name).toBe('string')
      })
    })

    if (options.reopen) {
      const reopen = options.reopen
      describe('persistence across close and reopen', () => {
        it('keeps events, their relays, deletions, replacements and records', async () => {
          const note = syntheticEvent({ tags: [['t', 'kept']] })
          const doomed = syntheticEvent()
          const older = syntheticEvent({ kind: 10002, created_at: BASE_TIME })
          const newer = syntheticEvent({ kind: 10002, created_at: BASE_TIME + 1 })
          const del = deletion(ALICE, { ids: [doomed.id] })
          await storage.putEvents([note, doomed, older, newer, del], { seenOn: 'wss://one.example' })
          await storage.addSeenOn([note.id], 'wss://two.example')
          await storage.putRecords('evidence', [
            ['b', { n: 2 }],
            ['a', { n: 1 }],
          ])
          await storage.putRecord('publish-queue', 'ключ', ['🌍'])

          storage = await reopen(storage)
          opened.push(storage)

          expect(await storage.countEvents()).toBe(3)
          expect(ids(await storage.queryEvents([{}]))).toEqual(expectedOrder([note, newer, del]))
          expect(await storage.getEvent(note.id)).toEqual(note)
          expect(await storage.getEvent(older.id)).toBeUndefined()
          expect(ids(await storage.queryEvents([{ '#t': ['kept'] }]))).toEqual([note.id])
          expect((await storage.seenOn([note.id])).get(note.id)).toEqual(['wss://one.example', 'wss://two.example'])
          expect(statuses(await storage.putEvents([doomed, older, note]))).toEqual(['deleted', 'superseded', 'duplicate'])
          expect(await storage.listRecords('evidence')).toEqual([
            ['a', { n: 1 }],
            ['b', { n: 2 }],
          ])
          expect(await storage.getRecord('publish-queue', 'ключ')).toEqual(['🌍'])
        })
      })
    }

    describe('property: puts and queries equal a brute-force reference', () => {
      const runs: Array<[string, Mix]> = [
        ['every kind class', MIXED],
        ['versions and deletions crowded in time', VERSIONS],
      ]
      for (const [title, mix] of runs) {
        it(`${title}: random events in random batches, random filters (seed 42)`, async () => {
          await fc.assert(
            fc.asyncProperty(scenarioArbitrary(mix), async (scenario) => {
              const s = await open()
              try {
                await checkScenario(s, scenario)
              } finally {
                await s.close()
              }
            }),
            { seed: 42, numRuns: 50 },
          )
        })
      }
    })
  })
}

// ---------------------------------------------------------------------------------------------
// The reference store and the property test's scenarios.

/**
 * The rules spelled out as plainly as possible: a list scanned on every operation. Slow, obviously
 * right, and independent of any adapter's indexes.
 */
export class ReferenceStore {
  readonly events: NostrEvent[] = []
  readonly relays = new Map<string, string[]>()

  put(input: NostrEvent, relay?: string): PutResult {
    const problem = eventProblem(input)
    if (problem) return { id: input.id, status: 'invalid', reason: problem }
    if (kindClass(input.kind) === 'ephemeral') return { id: input.id, status: 'invalid', reason: 'ephemeral kinds are not stored' }
    if (this.events.some((e) => e.id === input.id)) {
      this.#seen(input.id, relay)
      return { id: input.id, status: 'duplicate' }
    }
    if (this.#deleted(input)) return { id: input.id, status: 'deleted' }
    const replaced: string[] = []
    const key = replaceKey(input)
    if (key !== undefined) {
      const current = this.events.find((e) => replaceKey(e) === key)
      if (current && !isNewerVersion(input, current)) return { id: input.id, status: 'superseded' }
      if (current) replaced.push(this.#drop(current.id))
    }
    this.events.push(input)
    this.#seen(input.id, relay)
    if (input.kind === 5) {
      const targets = deletionTargets(input)
      for (const e of [...this.events]) {
        if (e.kind === 5 || e.pubkey !== input.pubkey) continue
        const address = addressOf(e)
        if (targets.ids.includes(e.id) || (address !== undefined && targets.addresses.includes(address) && e.created_at <= input.created_at)) {
          replaced.push(this.#drop(e.id))
        }
      }
    }
    return replaced.length > 0 ? { id: input.id, status: 'stored', replaced } : { id: input.id, status: 'stored' }
  }

  query(filters: readonly StorageFilter[]): NostrEvent[] {
    const found = new Map<string, NostrEvent>()
    for (const filter of filters) {
      const matches = this.events.filter((e) => matchesFilter(e, filter)).sort(newestFirst)
      for (const e of matches.slice(0, filter.limit)) found.set(e.id, e)
    }
    return [...found.values()].sort(newestFirst)
  }

  #deleted(event: NostrEvent): boolean {
    if (event.kind === 5) return false
    const address = addressOf(event)
    return this.events.some((d) => {
      if (d.kind !== 5 || d.pubkey !== event.pubkey) return false
      const targets = deletionTargets(d)
      return targets.ids.includes(event.id) || (address !== undefined && targets.addresses.includes(address) && event.created_at <= d.created_at)
    })
  }

  #drop(id: string): string {
    this.events.splice(
      this.events.findIndex((e) => e.id === id),
      1,
    )
    this.relays.delete(id)
    return id
  }

  #seen(id: string, relay: string | undefined): void {
    if (relay === undefined) return
    const list = this.relays.get(id) ?? []
    if (!list.includes(relay)) list.push(relay)
    this.relays.set(id, list)
  }
}

const AUTHORS = [ALICE, BOB, CAROL]
const KINDS = [1, 1, 7, 0, 0, 3, 10002, 10002, 30023, 30023, 30000, 5, 5, 5, 20001]
const WORDS = ['gm', 'Nostr', 'relay', 'outbox']
const RELAYS = ['wss://one.example', 'wss://two.example']

interface EventSpec {
  author: number
  kind: number
  createdAt: number
  idSeed: number
  t: string[]
  upperT: string[]
  d: string | undefined
  p: number[]
  eRefs: number[]
  /** Coordinates: of another event of the scenario (an index), or made up. */
  aRefs: Array<number | { author: number; kind: number; d: string }>
  words: string[]
}

/** Alice writes most events, so replacements and deletions of her own events are frequent. */
const authorIndex = fc.constantFrom(0, 0, 0, 1, 2)

/** How the events of a scenario are drawn: which kinds, and over how many seconds. */
interface Mix {
  readonly kinds: readonly number[]
  readonly latest: number
}

/** Every kind class, tags of all sorts. */
const MIXED: Mix = { kinds: KINDS, latest: 103 }
/**
 * Replaceable, addressable and deletion events crowded into three seconds: the edge cases (equal
 * timestamps, a-tag deletions of the version from the same second, deletions arriving first) come
 * up often here and rarely in the mixed run.
 */
const VERSIONS: Mix = { kinds: [0, 30023, 30023, 10002, 5, 5, 5, 1], latest: 102 }

const eventSpec = (mix: Mix): fc.Arbitrary<EventSpec> =>
  fc.record({
    author: authorIndex,
    kind: fc.constantFrom(...mix.kinds),
    createdAt: fc.integer({ min: 100, max: mix.latest }),
    idSeed: fc.integer({ min: 0, max: 0xffffffff }),
    t: fc.subarray(['a', 'b', 'c']),
    upperT: fc.subarray(['a', 'B']),
    d: fc.option(fc.constantFrom('', 'x', 'y'), { nil: undefined }),
    p: fc.subarray([0, 1, 2]),
    eRefs: fc.array(fc.nat(30), { maxLength: 3 }),
    aRefs: fc.array(fc.oneof(fc.nat(30), fc.record({ author: authorIndex, kind: fc.constantFrom(0, 10002, 30023, 30000, 1), d: fc.constantFrom('', 'x', 'y') })), { maxLength: 2 }),
    words: fc.subarray(WORDS),
  })

/** A filter described by indexes, resolved against the scenario's events. */
interface FilterSpec {
  ids?: number[]
  authors?: number[]
  kinds?: number[]
  t?: string[]
  upperT?: string[]
  d?: string[]
  p?: number[]
  e?: number[]
  a?: Array<{ author: number; kind: number; d: string }>
  since?: number
  until?: number
  limit?: number
  search?: string
}

/** Absent four times out of five: filters with every condition would match almost nothing. */
function sometimes<T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> {
  return fc.oneof({ arbitrary: fc.constant(undefined), weight: 4 }, { arbitrary: arb, weight: 1 })
}

const filterSpec: fc.Arbitrary<FilterSpec> = fc.record({
  ids: sometimes(fc.array(fc.nat(30), { maxLength: 4 })),
  authors: sometimes(fc.subarray([0, 1, 2])),
  kinds: sometimes(fc.subarray([0, 1, 3, 5, 7, 10002, 30000, 30023])),
  t: sometimes(fc.subarray(['a', 'b', 'c', 'z'])),
  upperT: sometimes(fc.subarray(['a', 'B'])),
  d: sometimes(fc.subarray(['', 'x', 'y'])),
  p: sometimes(fc.subarray([0, 1, 2])),
  e: sometimes(fc.array(fc.nat(30), { maxLength: 3 })),
  a: sometimes(fc.array(fc.record({ author: fc.integer({ min: 0, max: 2 }), kind: fc.constantFrom(0, 10002, 30023, 30000), d: fc.constantFrom('', 'x', 'y') }), { maxLength: 2 })),
  since: sometimes(fc.integer({ min: 99, max: 105 })),
  until: sometimes(fc.integer({ min: 99, max: 105 })),
  limit: sometimes(fc.integer({ min: 0, max: 6 })),
  search: sometimes(fc.constantFrom('gm', 'NOSTR', 'relay outbox', 'absent')),
})

interface Scenario {
  events: EventSpec[]
  /** Indexes of events put a second time (duplicates), appended at random batch positions. */
  repeats: number[]
  batchSizes: number[]
  batchRelays: Array<number | undefined>
  queries: FilterSpec[][]
}

const scenarioArbitrary = (mix: Mix): fc.Arbitrary<Scenario> =>
  fc.record({
    events: fc.array(eventSpec(mix), { minLength: 1, maxLength: 25, size: 'max' }),
    repeats: fc.array(fc.nat(30), { maxLength: 4 }),
    batchSizes: fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 8 }),
    batchRelays: fc.array(fc.option(fc.integer({ min: 0, max: 1 }), { nil: undefined }), { minLength: 8, maxLength: 8 }),
    queries: fc.array(fc.array(filterSpec, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 3 }),
  })

function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0')
}

function coordinate(ref: { author: number; kind: number; d: string }): string {
  return `${ref.kind}:${AUTHORS[ref.author]!}:${ref.d}`
}

/** Build the scenario's events: ids unique by index, ordered at random by the seed. */
function buildEvents(specs: readonly EventSpec[]): NostrEvent[] {
  const eventIds = specs.map((spec, i) => (hex8(spec.idSeed) + hex8(i)).repeat(4))
  return specs.map((spec, i) => {
    const tags: string[][] = []
    if (spec.d !== undefined) tags.push(['d', spec.d])
    for (const t of spec.t) tags.push(['t', t])
    for (const t of spec.upperT) tags.push(['T', t])
    for (const p of spec.p) tags.push(['p', AUTHORS[p]!])
    for (const ref of spec.eRefs) tags.push(['e', eventIds[ref % specs.length]!])
    for (const ref of spec.aRefs) {
      if (typeof ref !== 'number') {
        tags.push(['a', coordinate(ref)])
        continue
      }
      // The kind and d of another event, under this event's author: a deletion may name it.
      const other = specs[ref % specs.length]!
      const d = other.kind >= 30000 && other.kind < 40000 ? (other.d ?? '') : ''
      tags.push(['a', `${other.kind}:${AUTHORS[spec.author]!}:${d}`])
    }
    return {
      id: eventIds[i]!,
      pubkey: AUTHORS[spec.author]!,
      created_at: spec.createdAt,
      kind: spec.kind,
      tags,
      content: spec.words.join(' '),
      sig: SIG,
    }
  })
}

function buildFilter(spec: FilterSpec, events: readonly NostrEvent[]): StorageFilter {
  const at = (i: number): string => events[i % events.length]!.id
  const filter: StorageFilter = {}
  if (spec.ids) filter.ids = [...spec.ids.map(at), 'ff'.repeat(32)]
  if (spec.authors) filter.authors = spec.authors.map((a) => AUTHORS[a]!)
  if (spec.kinds) filter.kinds = spec.kinds
  if (spec.t) filter['#t'] = spec.t
  if (spec.upperT) filter['#T'] = spec.upperT
  if (spec.d) filter['#d'] = spec.d
  if (spec.p) filter['#p'] = spec.p.map((a) => AUTHORS[a]!)
  if (spec.e) filter['#e'] = spec.e.map(at)
  if (spec.a) filter['#a'] = spec.a.map(coordinate)
  if (spec.since !== undefined) filter.since = spec.since
  if (spec.until !== undefined) filter.until = spec.until
  if (spec.limit !== undefined) filter.limit = spec.limit
  if (spec.search !== undefined) filter.search = spec.search
  return filter
}

function sortedReplaced(results: readonly PutResult[]): PutResult[] {
  return results.map((r) => (r.replaced ? { ...r, replaced: [...r.replaced].sort() } : r))
}

async function checkScenario(storage: Storage, scenario: Scenario): Promise<void> {
  const events = buildEvents(scenario.events)
  const sequenceToPut = [...events]
  for (const [n, repeat] of scenario.repeats.entries()) {
    sequenceToPut.splice((repeat * 7 + n) % (sequenceToPut.length + 1), 0, events[repeat % events.length]!)
  }
  const reference = new ReferenceStore()
  let start = 0
  for (let b = 0; start < sequenceToPut.length; b++) {
    const size = scenario.batchSizes[b % scenario.batchSizes.length]!
    const batch = sequenceToPut.slice(start, start + size)
    start += size
    const relayIndex = scenario.batchRelays[b % scenario.batchRelays.length]
    const relay = relayIndex === undefined ? undefined : RELAYS[relayIndex]!
    const expected = batch.map((e) => reference.put(e, relay))
    const actual = await storage.putEvents(batch, relay === undefined ? {} : { seenOn: relay })
    expect(sortedReplaced(actual)).toEqual(sortedReplaced(expected))
  }
  expect(await storage.countEvents()).toBe(reference.events.length)
  for (const filters of scenario.queries) {
    const built = filters.map((f) => buildFilter(f, events))
    expect(await storage.queryEvents(built)).toEqual(reference.query(built))
  }
  const allIds = events.map((e) => e.id)
  const seen = await storage.seenOn(allIds)
  for (const id of allIds) expect(seen.get(id)).toEqual(reference.relays.get(id) ?? [])
}
