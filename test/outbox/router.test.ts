import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { NostrEvent } from '../../src/crypto/event.js'
import { generateSecretKey, getPublicKey, nip19 } from '../../src/crypto/index.js'
import { type EvidenceStore, createEvidenceStore } from '../../src/outbox/evidence.js'
import { createRelayConfig } from '../../src/outbox/relay-config.js'
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

describe("the user's relay settings (preferences)", () => {
  it('readPlan: rank 0, the blocked list and read: false are never read from; authors left short say blocked', async () => {
    const store = evidence()
    declare(store, ALICE, { write: ['a1', 'a2', 'shared'] })
    declare(store, BOB, { write: ['shared', 'b1'] })
    declare(store, CAROL, { write: ['c-only'] })
    declare(store, DAVE, { write: ['d-only', 'shared'] })
    const preferences = createRelayConfig()
    const router = createRouter({ evidence: store, now: clock, preferences })
    expect(router.readPlan([ALICE, BOB, CAROL, DAVE]).selection.relays.has(r('shared'))).toBe(true)

    await preferences.set(r('shared'), { rank: 0 })
    await preferences.set(r('d-only'), { read: false })
    preferences.setBlocked([r('c-only')])
    const plan = router.readPlan([ALICE, BOB, CAROL, DAVE])
    expect(plan.blocked).toEqual([r('c-only'), r('d-only'), r('shared')])
    for (const url of plan.blocked) expect(plan.selection.relays.has(url)).toBe(false)
    expect(plan.selection.byAuthor.get(ALICE)).toEqual([r('a1'), r('a2')])
    expect(plan.selection.byAuthor.get(BOB)).toEqual([r('b1')])
    expect(plan.selection.short.get(BOB)).toEqual({ reason: 'blocked', have: 1, want: 2 })
    expect(plan.selection.short.get(CAROL)).toEqual({ reason: 'blocked', have: 0, want: 1 })
    expect(plan.selection.short.get(DAVE)).toEqual({ reason: 'blocked', have: 0, want: 2 })
    // Not "nothing known": their relays are known, the user ruled them out.
    expect(plan.noEvidence).toEqual([])
  })

  it('readPlan: the rank decides between equally good relays, deterministically; replanRead applies the settings of its own time', async () => {
    const store = evidence()
    declare(store, ALICE, { write: ['x', 'y'] })
    declare(store, BOB, { write: ['x', 'y'] })
    const preferences = createRelayConfig()
    const router = createRouter({ evidence: store, now: clock, preferences, perAuthor: 1 })
    const before = router.readPlan([ALICE, BOB])
    expect([...before.selection.relays.keys()]).toEqual([r('x')])
    await preferences.set(r('y'), { rank: 4 })
    expect([...router.readPlan([BOB, ALICE]).selection.relays.keys()]).toEqual([r('y')])
    await preferences.set(r('y'), { rank: 2 })
    expect([...router.readPlan([ALICE, BOB]).selection.relays.keys()]).toEqual([r('x')])

    // x blocked after the plan was made: a re-plan (for any failure) moves its authors off it.
    await preferences.set(r('x'), { read: false })
    const replanned = router.replanRead(before, [])
    expect([...replanned.selection.relays.keys()]).toEqual([r('y')])
    expect(replanned.blocked).toEqual([r('x')])
    // ...and a relay unblocked since comes back at the next plan.
    await preferences.set(r('x'), { read: null })
    expect([...router.readPlan([ALICE, BOB]).selection.relays.keys()]).toEqual([r('x')])
  })

  it('mentionsOf and repliesTo: read: true relays are my inboxes too; read: false and blocked are never read', async () => {
    const store = evidence()
    declare(store, ME, { read: ['in1', 'in2'] })
    declare(store, ALICE, { read: ['alice-in', 'alice-off'] })
    const preferences = createRelayConfig()
    const storage = memoryStorage()
    const router = createRouter({ evidence: store, now: clock, preferences, storage })
    await preferences.set(r('extra-in'), { read: true })
    await preferences.set(r('in2'), { read: false })
    await preferences.set(r('alice-off'), { rank: 0 })
    expect(router.mentionsOf(ME)).toEqual({ relays: [r('extra-in'), r('in1')], declared: true, source: 'nip65' })
    // Someone without a list: the marked relays alone count, as a manual choice.
    expect(router.mentionsOf(BOB)).toEqual({ relays: [r('extra-in')], declared: true, source: 'manual' })
    const post = ev(1, ALICE, [])
    const replies = await router.repliesTo(post, { seenOn: [r('seen'), r('in2')] })
    expect(replies).toEqual({ relays: [r('alice-in'), r('seen')], inboxes: [r('alice-in')], seenOn: [r('seen')] })
  })

  it('publishPlan: write: true relays are my outboxes; write: false and blocked are never targets, not even as inboxes', async () => {
    const store = evidence()
    declare(store, ME, { write: ['w1', 'w-off'] })
    declare(store, BOB, { read: ['b1', 'b2', 'b3', 'b4'] })
    declare(store, CAROL, { read: ['c-off'] })
    const preferences = createRelayConfig()
    const router = createRouter({ evidence: store, now: clock, preferences })
    await preferences.set(r('w-extra'), { write: true })
    await preferences.set(r('w-off'), { write: false })
    await preferences.set(r('b1'), { write: false })
    await preferences.set(r('c-off'), { write: false })
    preferences.setBlocked([r('b2')])
    const plan = router.publishPlan(ev(1, ME, [['p', BOB], ['p', CAROL]]))
    expect(plan.outboxes).toEqual([r('w-extra'), r('w1')])
    // Bob still gets three inboxes: the ruled-out ones are skipped before the cap.
    expect(plan.inboxes.get(BOB)).toEqual([r('b3'), r('b4')])
    expect(plan.inboxes.get(CAROL)).toEqual([])
    expect(plan.unreachable).toEqual([CAROL])
    expect(plan.excluded).toEqual([r('b1'), r('b2'), r('c-off'), r('w-off')])
    const urls = plan.targets.map((t) => t.url)
    for (const url of plan.excluded) expect(urls).not.toContain(url)
    // Only the write: true relay as an outbox: a user with no published list can still publish.
    expect(router.publishPlan(ev(1, DAVE, []))).toMatchObject({ outboxes: [r('w-extra')], noOutboxes: false })
  })

  it('publishPlan: between a tagged person’s inboxes, the higher rank is chosen first', async () => {
    const store = evidence()
    declare(store, BOB, { read: ['b1', 'b2', 'b3', 'b4'] })
    const preferences = createRelayConfig()
    const router = createRouter({ evidence: store, now: clock, preferences, maxInboxesPerPerson: 2 })
    expect(router.publishPlan(ev(1, ME, [['p', BOB]])).inboxes.get(BOB)).toEqual([r('b1'), r('b2')])
    await preferences.set(r('b4'), { rank: 9 })
    await preferences.set(r('b1'), { rank: 1 })
    expect(router.publishPlan(ev(1, ME, [['p', BOB]])).inboxes.get(BOB)).toEqual([r('b4'), r('b2')])
  })

  it('dmRelays: blocked relays are left out; when none is left the recipient is not ready, reason dm-relays-blocked', async () => {
    const tracker = fakeTracker({
      [ALICE]: list({ dm: [r('dm1'), r('dm2')], fetchedAt: 1 }),
      [BOB]: list({ dm: [r('dm2')], fetchedAt: 1 }),
    })
    const preferences = createRelayConfig()
    const router = createRouter({ evidence: evidence(), tracker, now: clock, preferences })
    preferences.setBlocked([r('dm2')])
    expect(router.dmRelays(ALICE)).toEqual({ status: 'ready', relays: [r('dm1')] })
    expect(router.dmRelays(BOB)).toEqual({ status: 'recipient-not-ready', reason: 'dm-relays-blocked' })
    // write: false counts when sending, read: false when reading, neither for 'any'.
    preferences.setBlocked([])
    await preferences.set(r('dm1'), { write: false, read: false })
    expect(router.dmRelays(ALICE, { purpose: 'send' })).toEqual({ status: 'ready', relays: [r('dm2')] })
    expect(router.dmRelays(ALICE, { purpose: 'read' })).toEqual({ status: 'ready', relays: [r('dm2')] })
    expect(router.dmRelays(ALICE)).toEqual({ status: 'ready', relays: [r('dm1'), r('dm2')] })
    await preferences.set(r('dm2'), { write: false })
    expect(router.dmRelays(ALICE, { purpose: 'send' })).toEqual({ status: 'recipient-not-ready', reason: 'dm-relays-blocked' })
    expect(() => router.dmRelays(ALICE, { purpose: 'write' as never })).toThrow(/purpose/)
  })

  it('advertisePlan: advertise true always, false and blocked never, write: false only when marked; the follows pick the broad relays', async () => {
    const store = evidence()
    declare(store, ME, { write: ['mine-w', 'mine-off'], read: ['mine-r'] })
    const follows = Array.from({ length: 5 }, key)
    const writes: string[][] = [
      ['f-pop', 'f-two', 'f-blocked'],
      ['f-pop', 'f-two', 'f-blocked'],
      ['f-pop', 'f-ranked', 'f-blocked'],
      ['f-pop', 'f-quiet'],
      ['f-ranked'],
    ]
    follows.forEach((p, i) => declare(store, p, { write: writes[i]! }))
    // Someone the client knows but the user does not follow.
    const stranger = key()
    declare(store, stranger, { write: ['stranger-relay'] })
    const tracker = fakeTracker({}, { indexerRelays: [r('indexer'), r('indexer-off')], trackedPubkeys: () => [stranger, ...follows] })
    const preferences = createRelayConfig()
    const router = createRouter({ evidence: store, tracker, now: clock, preferences })
    await preferences.set(r('always'), { advertise: true })
    await preferences.set(r('always-but-no-write'), { advertise: true, write: false })
    await preferences.set(r('mine-off'), { advertise: false })
    await preferences.set(r('indexer-off'), { write: false })
    await preferences.set(r('f-ranked'), { rank: 6 })
    preferences.setBlocked([r('f-blocked'), r('extra-blocked')])

    const plan = router.advertisePlan(ME, { follows, extraRelays: [r('extra'), r('extra-blocked')], batchSize: 4 })
    expect(plan.targets).toEqual([
      { url: r('mine-r'), reasons: ['my-inbox'] },
      { url: r('mine-w'), reasons: ['my-outbox'] },
      { url: r('always-but-no-write'), reasons: ['always'] },
      { url: r('always'), reasons: ['always'] },
      { url: r('extra'), reasons: ['extra'] },
      { url: r('indexer'), reasons: ['indexer'] },
      // 2 people × rank 6 / 3 = 4 beats 4 people at rank 3; then 2, then 1; the stranger's relay is not counted.
      { url: r('f-pop'), reasons: ['follows-outbox'], usedBy: 4 },
      { url: r('f-ranked'), reasons: ['follows-outbox'], usedBy: 2 },
      { url: r('f-two'), reasons: ['follows-outbox'], usedBy: 2 },
      { url: r('f-quiet'), reasons: ['follows-outbox'], usedBy: 1 },
    ])
    expect(plan.batches).toEqual([plan.targets.slice(0, 4), plan.targets.slice(4, 8), plan.targets.slice(8)].map((b) => b.map((t) => t.url)))
    expect(plan.excluded).toEqual([
      { url: r('extra-blocked'), why: 'blocked' },
      { url: r('f-blocked'), why: 'blocked' },
      { url: r('indexer-off'), why: 'write-false' },
      { url: r('mine-off'), why: 'advertise-false' },
    ])
    expect(router.ownListTargets(ME, { follows, extraRelays: [r('extra')], batchSize: 4 })).toEqual(
      router.advertisePlan(ME, { follows, extraRelays: [r('extra')], batchSize: 4 }).batches,
    )
    // Bounded: the broad part fills up to maxRelays, the rest is never cut.
    expect(router.advertisePlan(ME, { follows, maxRelays: 7 }).targets.map((t) => t.url).slice(5)).toEqual([r('f-pop'), r('f-ranked')])
    expect(router.advertisePlan(ME, { follows, maxRelays: 1 }).targets.map((t) => t.url)).toEqual([r('mine-r'), r('mine-w'), r('always-but-no-write'), r('always'), r('indexer')])
    // Without follows: the people the client knows, as "widely used".
    const known = router.advertisePlan(ME).targets.filter((t) => t.reasons.includes('widely-used'))
    expect(known.map((t) => t.url)).toContain(r('stranger-relay'))
    expect(() => router.advertisePlan(ME, { follows: ['nope'] })).toThrow(/follows\[0\]/)
  })

  it('createRouter checks the preferences', () => {
    expect(() => createRouter({ evidence: evidence(), preferences: {} as never })).toThrow(/preferences/)
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
