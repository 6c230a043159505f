import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { NostrEvent } from '../../src/crypto/event.js'
import { generateSecretKey, getPublicKey, nip19 } from '../../src/crypto/index.js'
import { type EvidenceStore, createEvidenceStore } from '../../src/outbox/evidence.js'
import { type RouterPool, type RouterTracker, createRouter } from '../../src/outbox/router.js'
import type { TrackedRelayList } from '../../src/outbox/tracker.js'
import { emptyRelayStats, type RelayStats } from '../../src/relay-pool/health.js'
import { DEFAULT_RELAY_LIMITS, type RelayLimits } from '../../src/relay-pool/types.js'
import { memoryStorage } from '../../src/storage/memory.js'
import { codeOf } from '../helpers/errors.js'

const NOW = 1_700_000_000
const NOW_MS = NOW * 1000
const clock = (): number => NOW_MS

function key(): string {
  return getPublicKey(generateSecretKey())
}
const [ME, ALICE, BOB, CAROL, DAVE, ERIN, FRANK] = Array.from({ length: 7 }, key) as [string, string, string, string, string, string, string]

let nextId = 1
function id(): string {
  return (nextId++).toString(16).padStart(64, '0')
}

function ev(kind: number, pubkey: string, tags: string[][], content = '', createdAt = NOW - 100): NostrEvent {
  return { id: id(), pubkey, created_at: createdAt, kind, tags, content, sig: 'f'.repeat(128) }
}

const r = (name: string): string => `wss://${name}.example`

/** Applies a NIP-65 list: `write`, `read` and `both` relay names. */
function declare(store: EvidenceStore, pubkey: string, lists: { write?: string[]; read?: string[]; both?: string[] }): void {
  const tags = [
    ...(lists.write ?? []).map((n) => ['r', r(n), 'write']),
    ...(lists.read ?? []).map((n) => ['r', r(n), 'read']),
    ...(lists.both ?? []).map((n) => ['r', r(n)]),
  ]
  expect(store.applyRelayList(ev(10002, pubkey, tags))).toBe('applied')
}

function evidence(): EvidenceStore {
  return createEvidenceStore({ now: () => NOW })
}

function stats(url: string, extra: Partial<RelayStats> = {}): RelayStats {
  return { ...emptyRelayStats(url), connectAttempts: 10, connectSuccesses: 10, connectLatencyMs: 50, eoseLatencyMs: 100, ...extra }
}

/** A pool stand-in: given stats per URL (others unknown), optional limits per URL. */
function fakePool(byUrl: Record<string, Partial<RelayStats>>, limits: Record<string, Partial<RelayLimits>> = {}): RouterPool {
  return {
    relayStats: (url) => (byUrl[url] === undefined ? undefined : stats(url, byUrl[url])),
    relayLimits: (url) => ({ ...DEFAULT_RELAY_LIMITS, ...limits[url] }),
  }
}

function fakeTracker(lists: Record<string, TrackedRelayList>, extra: Partial<RouterTracker> = {}): RouterTracker {
  return { relayListOf: (pubkey) => lists[pubkey], ...extra }
}

function list(partial: Partial<TrackedRelayList>): TrackedRelayList {
  return { write: [], read: [], dm: undefined, source: 'none', ...partial }
}

describe('readPlan: outboxes through the selector', () => {
  it('covers each author with k of their outboxes and names the authors with no evidence', () => {
    const store = evidence()
    declare(store, ALICE, { write: ['a1', 'a2', 'a3'], read: ['alice-in'] })
    declare(store, BOB, { write: ['b1', 'a1'] })
    const router = createRouter({ evidence: store, now: clock })

    const plan = router.readPlan([ALICE, BOB, CAROL])

    expect(plan.noEvidence).toEqual([CAROL])
    expect(plan.selection.byAuthor.get(ALICE)).toHaveLength(2)
    expect([...plan.selection.byAuthor.get(BOB)!].sort()).toEqual([r('a1'), r('b1')])
    expect(plan.selection.short.get(CAROL)?.reason).toBe('no-relays')
    // Inboxes are never read from for posts.
    expect([...plan.selection.relays.keys()]).not.toContain(r('alice-in'))
    expect(plan.candidates.get(ALICE)?.map((c) => c.url).sort()).toEqual([r('a1'), r('a2'), r('a3')])
    // Same answer whatever the input order.
    const again = router.readPlan([CAROL, BOB, ALICE, BOB])
    expect([...again.selection.relays]).toEqual([...plan.selection.relays])
  })

  it('keeps relays in the penalty box and those named unhealthy out, and re-plans around failures', () => {
    const store = evidence()
    declare(store, ALICE, { write: ['a1', 'a2', 'a3'] })
    const pool = fakePool({ [r('a1')]: { penaltyUntil: NOW_MS + 60_000 } })
    const router = createRouter({ evidence: store, pool, now: clock })

    const plan = router.readPlan([ALICE], { unhealthy: [r('a2')] })
    expect(plan.unhealthy).toEqual([r('a1'), r('a2')])
    expect(plan.selection.byAuthor.get(ALICE)).toEqual([r('a3')])
    expect(plan.selection.short.get(ALICE)?.reason).toBe('unhealthy')

    const open = createRouter({ evidence: store, now: clock }).readPlan([ALICE])
    const first = open.selection.byAuthor.get(ALICE)!
    const failed = first[0]!
    const replanned = createRouter({ evidence: store, now: clock }).replanRead(open, [failed])
    expect(replanned.selection.relays.has(failed)).toBe(false)
    expect(replanned.selection.byAuthor.get(ALICE)).toHaveLength(2)
    expect(replanned.unhealthy).toEqual([failed])
  })

  it('prefers connected relays among equally good ones', () => {
    const store = evidence()
    declare(store, ALICE, { write: ['a1', 'a2', 'a3'] })
    const router = createRouter({ evidence: store, now: clock, perAuthor: 1 })
    expect(router.readPlan([ALICE]).selection.byAuthor.get(ALICE)).toEqual([r('a1')])
    expect(router.readPlan([ALICE], { connected: [r('a3')] }).selection.byAuthor.get(ALICE)).toEqual([r('a3')])
  })

  it('is deterministic for any author order (property)', () => {
    const store = evidence()
    const people = Array.from({ length: 12 }, key)
    people.forEach((p, i) => declare(store, p, { write: [`w${i % 5}`, `w${(i * 3) % 7}`, `x${i}`] }))
    const router = createRouter({ evidence: store, now: clock, maxRelays: 6 })
    const reference = router.readPlan(people).selection
    fc.assert(
      fc.property(fc.shuffledSubarray(people, { minLength: people.length, maxLength: people.length }), (order) => {
        const s = router.readPlan(order).selection
        expect([...s.relays]).toEqual([...reference.relays])
        expect([...s.byAuthor].sort()).toEqual([...reference.byAuthor].sort())
        expect(s.relays.size).toBeLessThanOrEqual(6)
      }),
      { seed: 42, numRuns: 30 },
    )
  })
})

describe('mentionsOf: all my inboxes, strictly', () => {
  it('returns every declared inbox, sorted, with manual choices applied', () => {
    const store = evidence()
    declare(store, ME, { read: ['r2', 'r1', 'r3'], write: ['w1'], both: ['b1'] })
    store.setManual(ME, r('r3'), { read: false })
    store.setManual(ME, r('m1'), { read: true })
    const router = createRouter({ evidence: store, now: clock })
    expect(router.mentionsOf(ME)).toEqual({ relays: [r('b1'), r('m1'), r('r1'), r('r2')], declared: true, source: 'nip65' })
  })

  it('none declared: an empty list and the flag, never a guess from hints or sightings', () => {
    const store = evidence()
    store.addHint(ME, r('hinted'), 'nip19-hint', NOW)
    store.addSeen(ME, r('seen'), NOW)
    store.applyNip05(ME, [r('nip05')], NOW)
    const router = createRouter({ evidence: store, now: clock })
    expect(router.mentionsOf(ME)).toEqual({ relays: [], declared: false, source: 'none' })
  })

  it('falls back to the kind 3 relay map without a NIP-65 list, and to the tracker when the evidence lost it', () => {
    const store = evidence()
    store.applyRelayList(ev(3, ME, [], JSON.stringify({ [r('k3in')]: { read: true, write: false }, [r('k3out')]: { read: false, write: true } })))
    expect(createRouter({ evidence: store, now: clock }).mentionsOf(ME)).toEqual({ relays: [r('k3in')], declared: true, source: 'kind3' })
    const tracker = fakeTracker({ [ALICE]: list({ read: [r('t1')], write: [r('t2')], source: 'nip65' }) })
    expect(createRouter({ evidence: evidence(), tracker, now: clock }).mentionsOf(ALICE)).toEqual({ relays: [r('t1')], declared: true, source: 'nip65' })
  })
})

describe('repliesTo: the author inboxes plus where the event was seen', () => {
  it('unites declared inboxes, passed seen-on relays and storage seen-on, deduplicated and sorted', async () => {
    const store = evidence()
    declare(store, ALICE, { read: ['in2', 'in1'], write: ['out'] })
    const storage = memoryStorage()
    try {
      const note = ev(1, ALICE, [])
      await storage.putEvents([note], { seenOn: r('stored') })
      await storage.addSeenOn([note.id], r('in1'))
      const router = createRouter({ evidence: store, storage, now: clock })
      const replies = await router.repliesTo(note, { seenOn: ['wss://Passed.example/', 'not a url'] })
      expect(replies).toEqual({
        inboxes: [r('in1'), r('in2')],
        seenOn: [r('in1'), r('passed'), r('stored')],
        relays: [r('in1'), r('in2'), r('passed'), r('stored')],
      })
    } finally {
      await storage.close()
    }
  })

  it('without declared inboxes, uses the best few the evidence suggests', async () => {
    const store = evidence()
    for (const n of ['h1', 'h2', 'h3', 'h4']) store.addHint(BOB, r(n), 'tag-hint', NOW)
    store.applyNip05(BOB, [r('nip05')], NOW)
    const router = createRouter({ evidence: store, now: clock })
    const replies = await router.repliesTo(ev(1, BOB, []))
    expect(replies.inboxes).toHaveLength(3)
    expect(replies.inboxes).toContain(r('nip05'))
    expect(replies.seenOn).toEqual([])
  })
})

describe('publishTargets: my outboxes plus the tagged people inboxes', () => {
  function setup(): EvidenceStore {
    const store = evidence()
    declare(store, ME, { write: ['w2', 'w1'], read: ['my-in'] })
    declare(store, BOB, { read: ['b1', 'b2', 'b3', 'b4', 'w1'] })
    declare(store, DAVE, { read: ['d1'] })
    return store
  }

  it('all my outboxes, then up to 3 inboxes per p-tagged or nostr:-mentioned person', () => {
    const store = setup()
    // b1 and b2 are failing: the three best of Bob's five inboxes are the healthy ones.
    const pool = fakePool({ [r('b1')]: { connectSuccesses: 0, demerits: 5 }, [r('b2')]: { connectSuccesses: 0, demerits: 5 } })
    const router = createRouter({ evidence: store, pool, now: clock })
    const content = `hi nostr:${nip19.npubEncode(DAVE)} and nostr:${nip19.nprofileEncode({ pubkey: ERIN, relays: [r('erin-hint')] })} and nostr:${nip19.npubEncode(FRANK)}`
    const event = ev(1, ME, [['p', BOB], ['p', CAROL, r('carol-hint')], ['p', ME], ['p', 'not hex']], content)

    const plan = router.publishPlan(event)

    expect(plan.outboxes).toEqual([r('w1'), r('w2')])
    expect([...plan.inboxes.keys()]).toEqual([BOB, CAROL, DAVE, ERIN, FRANK])
    expect(plan.inboxes.get(BOB)).toEqual([r('b3'), r('b4'), r('w1')])
    expect(plan.inboxes.get(CAROL)).toEqual([r('carol-hint')])
    expect(plan.inboxes.get(DAVE)).toEqual([r('d1')])
    expect(plan.inboxes.get(ERIN)).toEqual([r('erin-hint')])
    expect(plan.unreachable).toEqual([FRANK])
    expect(plan.noOutboxes).toBe(false)
    // w1 is both my outbox and Bob's inbox: listed once, as my outbox. My own inbox is not a target.
    expect(router.publishTargets(event)).toEqual([
      { url: r('w1'), reason: 'my-outbox' },
      { url: r('w2'), reason: 'my-outbox' },
      ...[r('b3'), r('b4'), r('carol-hint'), r('d1'), r('erin-hint')].map((url) => ({ url, reason: 'tagged-inbox' })),
    ])
  })

  it('caps the people addressed, skips list kinds, and says when I have no outbox', () => {
    const store = setup()
    const router = createRouter({ evidence: store, now: clock, maxTaggedPeople: 1 })
    const plan = router.publishPlan(ev(1, ME, [['p', BOB], ['p', DAVE]]))
    expect([...plan.inboxes.keys()]).toEqual([BOB])
    expect(plan.skipped).toEqual([DAVE])
    // A follow list's p tags are members, not people addressed.
    expect(router.publishTargets(ev(3, ME, [['p', BOB], ['p', DAVE]])).map((t) => t.reason)).toEqual(['my-outbox', 'my-outbox'])
    const lonely = router.publishPlan(ev(1, CAROL, [['p', DAVE]]))
    expect(lonely).toMatchObject({ outboxes: [], noOutboxes: true, targets: [{ url: r('d1'), reason: 'tagged-inbox' }] })
    // `me` decides whose outboxes are used.
    expect(router.publishTargets(ev(1, CAROL, []), { me: ME }).map((t) => t.url)).toEqual([r('w1'), r('w2')])
  })

  it('never lists a relay twice and puts every my-outbox first (property)', () => {
    const store = setup()
    const router = createRouter({ evidence: store, now: clock })
    const people = [ME, BOB, CAROL, DAVE, ERIN]
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...people), { maxLength: 8 }), fc.constantFrom(...people), (tagged, author) => {
        const targets = router.publishTargets(ev(1, author, tagged.map((p) => ['p', p, r(`hint-${p.slice(0, 4)}`)])), { me: ME })
        const urls = targets.map((t) => t.url)
        expect(new Set(urls).size).toBe(urls.length)
        const firstTagged = targets.findIndex((t) => t.reason === 'tagged-inbox')
        if (firstTagged >= 0) expect(targets.slice(firstTagged).every((t) => t.reason === 'tagged-inbox')).toBe(true)
        expect(targets.filter((t) => t.reason === 'my-outbox').map((t) => t.url)).toEqual([r('w1'), r('w2')])
      }),
      { seed: 42, numRuns: 60 },
    )
  })
})

describe('dmRelays: the kind 10050 relays, or recipient-not-ready', () => {
  it('is never a silent fallback to other relays', () => {
    const store = evidence()
    declare(store, BOB, { both: ['bob-relay'] })
    expect(createRouter({ evidence: store, now: clock }).dmRelays(BOB)).toEqual({ status: 'recipient-not-ready', reason: 'not-fetched' })
    const tracker = fakeTracker({
      [ALICE]: list({ dm: [r('z'), r('a')], source: 'nip65', fetchedAt: 1 }),
      [BOB]: list({ write: [r('bob-relay')], read: [r('bob-relay')], source: 'nip65', fetchedAt: 1 }),
      [CAROL]: list({ dm: [], fetchedAt: 1 }),
      [DAVE]: list({}),
    })
    const router = createRouter({ evidence: store, tracker, now: clock })
    expect(router.dmRelays(ALICE)).toEqual({ status: 'ready', relays: [r('a'), r('z')] })
    expect(router.dmRelays(BOB)).toEqual({ status: 'recipient-not-ready', reason: 'no-dm-relay-list' })
    expect(router.dmRelays(CAROL)).toEqual({ status: 'recipient-not-ready', reason: 'empty-dm-relay-list' })
    expect(router.dmRelays(DAVE)).toEqual({ status: 'recipient-not-ready', reason: 'not-fetched' })
    expect(router.dmRelays(ERIN)).toEqual({ status: 'recipient-not-ready', reason: 'not-fetched' })
  })
})

describe('ownListTargets: where to advertise my relay list', () => {
  it('mine first, then extra and indexer relays, then widely used healthy open relays, in batches', () => {
    const store = evidence()
    declare(store, ME, { write: ['mine-w'], read: ['mine-r'] })
    const people = Array.from({ length: 6 }, key)
    const writes: string[][] = [
      ['pop1', 'pop2', 'dead'],
      ['pop1', 'pop2', 'paid'],
      ['pop1', 'pop3', 'dead'],
      ['pop1', 'paid', 'mine-w'],
      ['pop2', 'dead'],
      ['pop3', 'boxed'],
    ]
    people.forEach((p, i) => declare(store, p, { write: writes[i]! }))
    const pool = fakePool(
      {
        [r('dead')]: { connectSuccesses: 0, lastFailure: { kind: 'connect-refused', at: NOW_MS - 1000, message: 'refused' } },
        [r('boxed')]: { penaltyUntil: NOW_MS + 60_000 },
        [r('pop1')]: {},
      },
      { [r('paid')]: { paymentRequired: true } },
    )
    const tracker = fakeTracker({}, { indexerRelays: [r('indexer')], trackedPubkeys: () => people.slice(0, 4) })
    const router = createRouter({ evidence: store, tracker, pool, now: clock })

    const batches = router.ownListTargets(ME, { extraRelays: ['wss://Extra.example'], batchSize: 3, people: people.slice(4) })

    expect(batches).toEqual([
      [r('mine-r'), r('mine-w'), r('extra')],
      [r('indexer'), r('pop1'), r('pop2')],
      [r('pop3')],
    ])
    expect(router.ownListTargets(ME, { maxRelays: 5, batchSize: 10, people })).toEqual([[r('mine-r'), r('mine-w'), r('indexer'), r('pop1'), r('pop2')]])
    // My own relays are never cut, even past maxRelays.
    expect(router.ownListTargets(ME, { maxRelays: 1 }).flat()).toEqual([r('mine-r'), r('mine-w'), r('indexer')])
    expect(codeOf(() => router.ownListTargets(ME, { extraRelays: ['http://x y'] }))).toBe('OUTBOX_RELAY_URL_INVALID')
    expect(() => router.ownListTargets(ME, { batchSize: 0 })).toThrow(RangeError)
  })
})

describe('input checks', () => {
  it('programmer errors name the field', async () => {
    const router = createRouter({ evidence: evidence(), now: clock })
    expect(() => router.readPlan(['x'])).toThrow(/authors\[0\]/)
    expect(() => router.mentionsOf('A'.repeat(64))).toThrow(TypeError)
    expect(() => router.publishTargets({ ...ev(1, ME, []), tags: 'no' } as unknown as NostrEvent)).toThrow(/event.tags/)
    await expect(router.repliesTo(null as unknown as NostrEvent)).rejects.toThrow(TypeError)
    expect(() => createRouter({ evidence: evidence(), perAuthor: 0 })).toThrow(RangeError)
    expect(() => createRouter({} as never)).toThrow(/evidence/)
  })
})
