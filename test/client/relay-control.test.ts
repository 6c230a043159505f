/**
 * `client.relays` on the wire, against local relays: a relay ranked 0 is not read and the feed's
 * report says why an author fell short; a publish skips a `write: false` relay that is a tagged
 * person's inbox; the relay list is advertised by the flags and, automatically, to the outboxes
 * most of the user's follows write to; the settings survive a restart on the same storage; the
 * settings table joins the flags with the published lists and the pool's health.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClientContext } from '../../src/client/context.js'
import { createRelayControlApi } from '../../src/client/relay-control.js'
import type { NostrEvent } from '../../src/crypto/event.js'
import { finalizeEvent } from '../../src/crypto/signature.js'
import { memoryStorage } from '../../src/storage/memory.js'
import { sqliteStorage } from '../../src/storage/sqlite.js'
import { seedPerson, testClient, type SeededPerson } from '../helpers/client-harness.js'
import { codeOf, expectRejectionCode } from '../helpers/errors.js'
import { startFleet, waitFor, type TestFleet, type TestRelay } from '../helpers/relay-fleet.js'

let fleet: TestFleet
let indexer: TestRelay
// Reading and publishing: two outboxes of one author, two inboxes of a tagged person, my outbox.
let authorA: TestRelay
let authorB: TestRelay
let inboxOff: TestRelay
let inboxOn: TestRelay
let myOut: TestRelay
// Advertising: my inbox, a relay marked "always", the follows' popular and second relays, a
// relay marked "never advertise", a blocked one, one more of each follow, a new outbox.
let myIn: TestRelay
let always: TestRelay
let popular: TestRelay
let noAdvert: TestRelay
let blocked: TestRelay
let ownA: TestRelay
let ownB: TestRelay
let ownC: TestRelay
let newOut: TestRelay

beforeAll(async () => {
  fleet = await startFleet(15)
  ;[indexer, authorA, authorB, inboxOff, inboxOn, myOut, myIn, always, popular, noAdvert, blocked, ownA, ownB, ownC, newOut] = fleet.relays as [
    TestRelay, TestRelay, TestRelay, TestRelay, TestRelay, TestRelay, TestRelay, TestRelay, TestRelay, TestRelay, TestRelay, TestRelay, TestRelay, TestRelay, TestRelay,
  ]
}, 30_000)

afterAll(async () => {
  await fleet?.close()
})

const nowS = (): number => Math.floor(Date.now() / 1000)

/** The kind 1 REQs a relay received (list fetches by the tracker are other kinds). */
function postReqs(relay: TestRelay): unknown[][] {
  return relay.messagesOfType('REQ').filter((m) => (m.slice(2) as Array<{ kinds?: number[] }>).some((f) => f.kinds?.includes(1)))
}

/** The EVENTs of one kind a relay received. */
function eventsOfKind(relay: TestRelay, kind: number): NostrEvent[] {
  return relay.messagesOfType('EVENT').map((m) => m[1] as NostrEvent).filter((e) => e.kind === kind)
}

async function storeFollowList(person: SeededPerson, follows: readonly string[]): Promise<NostrEvent> {
  const event = finalizeEvent({ kind: 3, created_at: nowS() - 60, tags: follows.map((p) => ['p', p]), content: '' }, person.secretKey)
  expect((await indexer.storeEvents([event]))[0]?.success).toBe(true)
  return event
}

describe('reading and publishing honour the flags', () => {
  it('a feed reads an author from their other relay when one is ranked 0, and the report says blocked', async () => {
    const author = await seedPerson(fleet, { write: [authorA.url, authorB.url] })
    const posts = [1, 2, 3].map((i) => finalizeEvent({ kind: 1, created_at: nowS() - 100 + i, tags: [], content: `post ${i}` }, author.secretKey))
    for (const relay of [authorA, authorB]) await relay.storeEvents(posts)
    const reader = await seedPerson(fleet)
    const client = testClient({ signer: reader.signer, indexerRelays: [indexer.url] })
    try {
      await client.relays.ready()
      // Before: both outboxes are read (k = 2).
      const before = await client.feed({ authors: [author.pubkey] })
      expect(before.report.relays.map((r) => r.url).sort()).toEqual([authorA.url, authorB.url].sort())
      expect(before.report.missing).toEqual([])

      await client.relays.configure(authorA.url, { rank: 0 })
      const reqsBefore = postReqs(authorA).length
      const page = await client.feed({ authors: [author.pubkey] })
      expect(page.events.map((e) => e.id)).toEqual([...posts].reverse().map((e) => e.id))
      expect(page.report.relays.map((r) => r.url)).toEqual([authorB.url])
      expect(page.report.missing).toEqual([{ pubkey: author.pubkey, reason: 'blocked' }])
      expect(page.report.authors[0]).toMatchObject({ answered: 1, missing: 'blocked' })
      expect(postReqs(authorA).length).toBe(reqsBefore)
      expect(client.errors).toEqual([])
    } finally {
      await client.close()
    }
  })

  it('a live feed leaves a relay blocked while it runs; posts there are no longer read, the other relay goes on', async () => {
    const author = await seedPerson(fleet, { write: [authorA.url, authorB.url] })
    const reader = await seedPerson(fleet)
    const client = testClient({ signer: reader.signer, indexerRelays: [indexer.url] })
    const delivered: string[] = []
    const live = client.subscribeFeed({ authors: [author.pubkey], onEvent: (event) => delivered.push(event.id) })
    try {
      const ready = await live.ready
      expect(ready.relays.map((r) => r.url).sort()).toEqual([authorA.url, authorB.url].sort())
      const closesBefore = authorA.messagesOfType('CLOSE').length
      await client.relays.configure(authorA.url, { read: false })
      await waitFor(() => authorA.messagesOfType('CLOSE').length > closesBefore, 3_000, 'the blocked relay’s subscription closed')
      const onA = finalizeEvent({ kind: 1, created_at: nowS(), tags: [], content: 'only on A' }, author.secretKey)
      const onB = finalizeEvent({ kind: 1, created_at: nowS(), tags: [], content: 'only on B' }, author.secretKey)
      await authorA.publishDirect(onA)
      await authorB.publishDirect(onB)
      await waitFor(() => delivered.includes(onB.id), 3_000, 'the post on the other relay')
      expect(delivered).not.toContain(onA.id)
      expect(live.report().missing).toEqual([{ pubkey: author.pubkey, reason: 'blocked' }])
      expect(client.errors).toEqual([])
    } finally {
      live.close()
      await client.close()
    }
  })

  it("a publish skips a write: false relay that is a tagged person's inbox, and says so in the plan", async () => {
    const bob = await seedPerson(fleet, { read: [inboxOff.url, inboxOn.url] })
    const me = await seedPerson(fleet, { write: [myOut.url] })
    const client = testClient({ signer: me.signer, indexerRelays: [indexer.url] })
    try {
      await client.relays.configure(inboxOff.url, { write: false })
      const result = await client.publish({ kind: 1, tags: [['p', bob.pubkey]], content: 'hello bob' })
      expect(result.plan.excluded).toEqual([inboxOff.url])
      expect(result.plan.inboxes.get(bob.pubkey)).toEqual([inboxOn.url])
      expect(result.plan.targets.map((t) => t.url).sort()).toEqual([inboxOn.url, myOut.url].sort())
      await result.delivery.settled
      expect(result.delivery.report().targets.map((t) => t.url).sort()).toEqual([inboxOn.url, myOut.url].sort())
      expect(eventsOfKind(inboxOn, 1).map((e) => e.id)).toContain(result.event.id)
      expect(eventsOfKind(inboxOff, 1).map((e) => e.id)).not.toContain(result.event.id)

      // write: true makes a relay one of my outboxes at once.
      await client.relays.configure(newOut.url, { write: true })
      const second = await client.publish({ kind: 1, tags: [], content: 'to my outboxes' })
      expect(second.plan.outboxes).toEqual([myOut.url, newOut.url].sort())
      await second.delivery.settled
      await waitFor(() => eventsOfKind(newOut, 1).some((e) => e.id === second.event.id), 3_000, 'the write: true relay holds the post')
    } finally {
      await client.close()
    }
  })
})

describe('advertising the relay list', () => {
  it('honours the flags and reaches the relays most followed people write to; setRelays sends the list there', async () => {
    const follows = await Promise.all([
      seedPerson(fleet, { write: [popular.url, noAdvert.url, blocked.url, ownA.url] }),
      seedPerson(fleet, { write: [popular.url, noAdvert.url, blocked.url, ownB.url] }),
      seedPerson(fleet, { write: [popular.url, ownC.url] }),
    ])
    const me = await seedPerson(fleet, { write: [myOut.url], read: [myIn.url] })
    await storeFollowList(
      me,
      follows.map((f) => f.pubkey),
    )
    const client = testClient({ signer: me.signer, indexerRelays: [indexer.url] })
    try {
      await client.relays.configure(always.url, { advertise: true })
      await client.relays.configure(noAdvert.url, { advertise: false })
      await client.relays.configure(blocked.url, { rank: 0 })
      const plan = await client.relays.advertiseTargets()
      const byUrl = new Map(plan.targets.map((t) => [t.url, t]))
      expect(byUrl.get(myOut.url)?.reasons).toEqual(['my-outbox'])
      expect(byUrl.get(myIn.url)?.reasons).toEqual(['my-inbox'])
      expect(byUrl.get(always.url)?.reasons).toEqual(['always'])
      expect(byUrl.get(indexer.url)?.reasons).toEqual(['indexer'])
      expect(byUrl.get(popular.url)).toEqual({ url: popular.url, reasons: ['follows-outbox'], usedBy: 3 })
      for (const own of [ownA, ownB, ownC]) expect(byUrl.get(own.url)?.usedBy).toBe(1)
      // The most used comes first among the follows' relays.
      const broad = plan.targets.filter((t) => t.reasons.includes('follows-outbox'))
      expect(broad[0]?.url).toBe(popular.url)
      expect(byUrl.has(noAdvert.url)).toBe(false)
      expect(byUrl.has(blocked.url)).toBe(false)
      expect(plan.excluded).toEqual(
        [
          { url: noAdvert.url, why: 'advertise-false' },
          { url: blocked.url, why: 'blocked' },
        ].sort((a, b) => (a.url < b.url ? -1 : 1)),
      )
      expect(plan.batches.flat()).toEqual(plan.targets.map((t) => t.url))
      // relaySettings shows the same choice.
      expect((await client.relaySettings()).advertiseTo.flat()).toEqual(plan.batches.flat())

      const { relayList } = await client.setRelays({ write: [myOut.url, newOut.url] })
      const id = relayList!.event.id
      await relayList!.delivery.settled
      for (const relay of [myOut, myIn, always, indexer, popular, ownA, newOut]) {
        expect(eventsOfKind(relay, 10002).map((e) => e.id), relay.url).toContain(id)
      }
      for (const relay of [noAdvert, blocked]) expect(eventsOfKind(relay, 10002).map((e) => e.id)).not.toContain(id)
      expect(client.errors).toEqual([])
    } finally {
      await client.close()
    }
  })

  it('checks its arguments and needs a user', async () => {
    const client = testClient({ indexerRelays: [indexer.url] })
    try {
      await expectRejectionCode(client.relays.advertiseTargets(), 'CLIENT_NO_SIGNER')
      await expectRejectionCode(client.relays.advertiseTargets({ extraRelays: ['http://nope'] }), 'OUTBOX_RELAY_URL_INVALID')
      await expect(client.relays.advertiseTargets({ fetch: 'yes' as never })).rejects.toThrow(TypeError)
      expect(codeOf(() => client.relays.get('not a relay'))).toBe('OUTBOX_RELAY_URL_INVALID')
      expect(() => client.relays.configure(always.url, { rank: 11 })).toThrow(RangeError)
    } finally {
      await client.close()
    }
  })
})

describe('persistence and the settings table', () => {
  it('settings survive a client restart on the same storage (memory and SQLite), and keep steering reads', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rendezvous-relay-control-'))
    try {
      for (const make of [() => memoryStorage(), () => sqliteStorage({ path: join(dir, 'client.db') })]) {
        let storage = make()
        const me = await seedPerson(fleet)
        const first = testClient({ signer: me.signer, indexerRelays: [indexer.url], storage })
        await first.relays.ready()
        await first.relays.configure(authorA.url, { rank: 0 })
        await first.relays.configure(always.url, { rank: 7, advertise: true, spamSafe: true })
        await first.close()
        if (storage.name === 'sqlite') {
          await storage.close()
          storage = make()
        }
        const second = testClient({ signer: me.signer, indexerRelays: [indexer.url], storage })
        try {
          await second.relays.ready()
          expect(second.relays.list()).toEqual([
            { url: authorA.url, rank: 0 },
            { url: always.url, rank: 7, advertise: true, spamSafe: true },
          ].sort((a, b) => (a.url < b.url ? -1 : 1)))
          const author = await seedPerson(fleet, { write: [authorA.url, authorB.url] })
          const page = await second.feed({ authors: [author.pubkey] })
          expect(page.report.relays.map((r) => r.url)).toEqual([authorB.url])
          expect(second.errors).toEqual([])
        } finally {
          await second.close()
          await storage.close()
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('table joins the flags, the blocked list, the published lists and the pool health', async () => {
    const me = await seedPerson(fleet, { write: [myOut.url], read: [myIn.url], dm: [inboxOn.url] })
    // The context itself, as the client builds it, to apply a blocked-relays list the way the
    // NIP-51 code does when it reads the user's kind 10006.
    const errors: unknown[] = []
    const context = createClientContext({
      signer: me.signer,
      indexerRelays: [indexer.url],
      onError: (error) => errors.push(error),
      pool: { connect: { allowPrivateHosts: ['127.0.0.1'] }, fetch: false, eoseTimeoutMs: 2_000, connectTimeoutMs: 2_000 },
    })
    const relays = createRelayControlApi(context)
    try {
      await relays.configure(myOut.url, { rank: 6 })
      await relays.configure(always.url, { advertise: true })
      context.relayConfig.setBlocked([blocked.url])
      const rows = await relays.table()
      const byUrl = new Map(rows.map((row) => [row.url, row]))
      expect(rows.map((r) => r.url)).toEqual([...byUrl.keys()].sort())
      expect(byUrl.get(myOut.url)).toMatchObject({ rank: 6, outbox: true, inbox: false, dm: false, blocked: false, advertised: ['my-outbox'] })
      expect(byUrl.get(myOut.url)?.changedAt).toBeTypeOf('number')
      expect(byUrl.get(myIn.url)).toMatchObject({ rank: 3, inbox: true, outbox: false })
      expect(byUrl.get(inboxOn.url)).toMatchObject({ dm: true })
      expect(byUrl.get(always.url)).toMatchObject({ advertise: true, advertised: ['always'] })
      expect(byUrl.get(blocked.url)).toMatchObject({ blocked: true, onBlockedList: true })
      expect(byUrl.get(blocked.url)?.advertised).toBeUndefined()
      // The tracker asked the indexer about the user: the pool has its statistics.
      expect(byUrl.has(indexer.url)).toBe(false)
      const seen = await relays.table({ includeSeen: true })
      const indexerRow = seen.find((row) => row.url === indexer.url)
      expect(indexerRow?.stats?.connectSuccesses).toBeGreaterThan(0)
      expect(indexerRow?.health).toBeGreaterThan(0)
      expect(relays.blocked()).toEqual([blocked.url])
      expect(await relays.reset(myOut.url)).toEqual({ url: myOut.url, rank: 3 })
      expect(errors).toEqual([])
    } finally {
      await context.close()
    }
  })
})

describe('relay settings at start-up', () => {
  let fleet: TestFleet
  beforeAll(async () => {
    fleet = await startFleet(2)
  })
  afterAll(async () => {
    await fleet.close()
  })

  it('a read started before the stored settings are loaded never reaches a relay ranked 0, and unblocking lets it through', async () => {
    const [blocked, indexer] = fleet.relays as [TestRelay, TestRelay]
    const storage = memoryStorage()
    try {
      const me = await seedPerson(fleet)
      const first = testClient({ signer: me.signer, indexerRelays: [indexer.url], storage })
      await first.relays.ready()
      await first.relays.configure(blocked.url, { rank: 0 })
      await first.close()
      const before = blocked.totalConnections()
      const second = testClient({ signer: me.signer, indexerRelays: [indexer.url], storage })
      try {
        // No `await second.relays.ready()`: the query races the load of the settings.
        const raced = await second.pool.query([{ kinds: [1], limit: 1 }], { relays: [blocked.url], origin: 'configured' })
        expect(raced.relays.map((r) => r.status)).toEqual(['refused'])
        expect(blocked.totalConnections()).toBe(before)
        expect(blocked.nip11Requests()).toBe(0)
        await second.relays.configure(blocked.url, { rank: null })
        const after = await second.pool.query([{ kinds: [1], limit: 1 }], { relays: [blocked.url], origin: 'configured' })
        expect(after.relays.map((r) => r.status)).toEqual(['eose'])
        expect(second.errors).toEqual([])
      } finally {
        await second.close()
      }
    } finally {
      await storage.close()
    }
  })
})
