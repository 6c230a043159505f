import { afterEach, describe, expect, it } from 'vitest'
import { type NostrEvent, finalizeEvent, generateSecretKey, getPublicKey } from '../../src/crypto/index.js'
import { nowSeconds } from '../../src/crypto/event.js'
import { createEvidenceStore } from '../../src/outbox/evidence.js'
import { type Tracker, type TrackerOptions, createTracker } from '../../src/outbox/tracker.js'
import type { RelayPool } from '../../src/relay-pool/pool.js'
import { memoryStorage } from '../../src/storage/memory.js'
import { codeOf, expectRejectionCode } from '../helpers/errors.js'
import { poolHarness } from '../helpers/pool-harness.js'
import { type TestRelay, startRelay } from '../helpers/relay-fleet.js'
import { behaviours, withBadSignature } from '../helpers/scripted-relay.js'

const harness = poolHarness()

interface Person {
  readonly sk: Uint8Array
  readonly pubkey: string
}

function person(): Person {
  const sk = generateSecretKey()
  return { sk, pubkey: getPublicKey(sk) }
}

const T = nowSeconds() - 10_000

function relayList(who: Person, createdAt: number, tags: string[][]): NostrEvent {
  return finalizeEvent({ kind: 10002, created_at: createdAt, tags, content: '' }, who.sk)
}

function dmList(who: Person, createdAt: number, relays: string[]): NostrEvent {
  return finalizeEvent({ kind: 10050, created_at: createdAt, tags: relays.map((r) => ['relay', r]), content: '' }, who.sk)
}

function reqs(relay: { messagesOfType(type: string): unknown[][] }): number {
  return relay.messagesOfType('REQ').length
}

/** A URL on 127.0.0.1 where nothing listens (a relay started and closed). */
async function deadUrl(): Promise<string> {
  const relay = await startRelay()
  const url = relay.url
  await relay.close()
  return url
}

function pool(): RelayPool {
  return harness.pool({ connect: { allowPrivateHosts: ['127.0.0.1'] }, fetch: false, eoseTimeoutMs: 3_000 })
}

const trackers: Tracker[] = []
afterEach(async () => {
  await Promise.all(trackers.splice(0).map((t) => t.close()))
})
function tracker(options: Partial<TrackerOptions> & Pick<TrackerOptions, 'pool' | 'indexerRelays'>): Tracker {
  const created = createTracker({ evidence: createEvidenceStore(), ...options })
  trackers.push(created)
  return created
}

async function relays(n: number): Promise<TestRelay[]> {
  return Promise.all(Array.from({ length: n }, () => harness.relay()))
}

describe('ensureRelayLists on real relays', () => {
  it('asks the indexer, then the outboxes it names; the newest copy of each kind wins', async () => {
    const [indexer, aRelay, bRelay] = await relays(3)
    const [alice, bob, carol] = [person(), person(), person()]
    // The indexer has Alice's old list; her own relay has the newer one and her DM relays.
    await indexer!.publishDirect(relayList(alice, T - 100, [['r', aRelay!.url]]))
    await aRelay!.publishDirect(relayList(alice, T, [['r', aRelay!.url, 'write'], ['r', bRelay!.url, 'read']]))
    await aRelay!.publishDirect(dmList(alice, T, [bRelay!.url]))
    // Bob: the indexer's copy is newer than his own relay's.
    await indexer!.publishDirect(relayList(bob, T + 50, [['r', bRelay!.url]]))
    await bRelay!.publishDirect(relayList(bob, T - 50, [['r', aRelay!.url]]))
    const evidence = createEvidenceStore()
    const t = tracker({ pool: pool(), evidence, indexerRelays: [indexer!.url] })

    const report = await t.ensureRelayLists([alice.pubkey, bob.pubkey, carol.pubkey])

    expect(report.requested).toBe(3)
    expect(report.fetched).toBe(3)
    expect(report.found).toEqual({ relayList: 2, dmRelays: 1, kind3: 0 })
    expect(report.missing).toEqual([carol.pubkey])
    expect(report.relays.map((r) => [r.url, r.status])).toEqual(
      [indexer!.url, aRelay!.url, bRelay!.url].sort().map((url) => [url, 'eose']),
    )
    expect(t.relayListOf(alice.pubkey)).toMatchObject({ write: [aRelay!.url], read: [bRelay!.url], dm: [bRelay!.url], source: 'nip65', relayListAt: T })
    expect(t.relayListOf(bob.pubkey)).toMatchObject({ write: [bRelay!.url], read: [bRelay!.url], dm: undefined, relayListAt: T + 50 })
    expect(t.relayListOf(carol.pubkey)).toMatchObject({ write: [], read: [], dm: undefined, source: 'none' })
    // Applied to the evidence too (kind 10050 is the tracker's own).
    const aliceEvidence = evidence.evidenceFor(alice.pubkey)
    expect(aliceEvidence.lists.nip65?.createdAt).toBe(T)
    expect(aliceEvidence.relays.map((r) => [r.url, Object.keys(r.sources).sort()])).toEqual(
      [
        [aRelay!.url, ['nip65-write']],
        [bRelay!.url, ['nip65-read']],
      ].sort(),
    )
    // One follow-up REQ to each outbox, for the people it is known for.
    expect(reqs(aRelay!)).toBe(1)
    expect(reqs(bRelay!)).toBe(1)
    expect(reqs(indexer!)).toBe(1)
  })

  it('asks the outboxes the evidence already knows in the first round, grouped by relay', async () => {
    const [indexer, shared] = await relays(2)
    const people = [person(), person(), person()]
    const evidence = createEvidenceStore()
    for (const p of people) evidence.addSeen(p.pubkey, shared!.url, T)
    await shared!.publishDirect(relayList(people[1]!, T, [['r', shared!.url]]))
    const t = tracker({ pool: pool(), evidence, indexerRelays: [indexer!.url] })

    const report = await t.ensureRelayLists(people.map((p) => p.pubkey))

    expect(report.found.relayList).toBe(1)
    expect(t.relayListOf(people[1]!.pubkey)?.write).toEqual([shared!.url])
    // All three asked in one REQ; no second round since nothing new was learned about outboxes.
    expect(reqs(shared!)).toBe(1)
    const req = shared!.messagesOfType('REQ')[0]!
    const authors = new Set((req.slice(2) as { authors: string[] }[]).flatMap((f) => f.authors))
    expect([...authors].sort()).toEqual(people.map((p) => p.pubkey).sort())
    expect(report.relays.find((r) => r.url === shared!.url)).toMatchObject({ status: 'eose', authors: 3, queries: 1 })
  })

  it('refetches only after staleAfterMs (counted from the fetch, on the injected clock)', async () => {
    const [indexer] = await relays(1)
    const alice = person()
    await indexer!.publishDirect(relayList(alice, T, [['r', 'wss://one.example']]))
    let clock = 5_000_000
    const t = tracker({ pool: pool(), indexerRelays: [indexer!.url], staleAfterMs: 60_000, now: () => clock })

    expect((await t.ensureRelayLists([alice.pubkey])).fetched).toBe(1)
    expect(t.relayListOf(alice.pubkey)?.fetchedAt).toBe(5_000_000)
    const after1 = reqs(indexer!)

    clock += 59_999
    const fresh = await t.ensureRelayLists([alice.pubkey])
    expect(fresh.fetched).toBe(0)
    expect(fresh.relays).toEqual([])
    expect(reqs(indexer!)).toBe(after1)

    // A newer list appears; once stale, the next call fetches it.
    await indexer!.publishDirect(relayList(alice, T + 10, [['r', 'wss://two.example']]))
    clock += 1
    expect((await t.ensureRelayLists([alice.pubkey])).fetched).toBe(1)
    expect(reqs(indexer!)).toBeGreaterThan(after1)
    expect(t.relayListOf(alice.pubkey)).toMatchObject({ write: ['wss://two.example'], relayListAt: T + 10, fetchedAt: 5_060_000 })

    // refreshStale picks every tracked person whose list went stale, and only them.
    expect((await t.refreshStale()).requested).toBe(0)
    clock += 60_000
    const refreshed = await t.refreshStale()
    expect(refreshed).toMatchObject({ requested: 1, fetched: 1, missing: [] })
    expect(t.trackedPubkeys()).toEqual([alice.pubkey])

    // force fetches even a fresh person.
    const before = reqs(indexer!)
    expect((await t.ensureRelayLists([alice.pubkey], { force: true })).fetched).toBe(1)
    expect(reqs(indexer!)).toBeGreaterThan(before)
  })

  it('concurrent calls for the same people share one fetch', async () => {
    const [indexer] = await relays(1)
    const [alice, bob] = [person(), person()]
    await indexer!.publishDirect(relayList(alice, T, [['r', 'wss://a.example']]))
    await indexer!.publishDirect(relayList(bob, T, [['r', 'wss://b.example']]))
    const t = tracker({ pool: pool(), indexerRelays: [indexer!.url], knownRelaysPerPerson: 0 })

    const reports = await Promise.all([
      t.ensureRelayLists([alice.pubkey, bob.pubkey]),
      t.ensureRelayLists([bob.pubkey, alice.pubkey]),
      t.ensureRelayLists([alice.pubkey]),
    ])

    expect(reqs(indexer!)).toBe(1)
    expect(reports.map((r) => [r.requested, r.fetched, r.found.relayList])).toEqual([
      [2, 2, 2],
      [2, 2, 2],
      [1, 1, 1],
    ])
  })

  it('persists fetch times: a second tracker on the same storage does not refetch fresh lists', async () => {
    const [indexer, aRelay] = await relays(2)
    const [alice, bob, carol] = [person(), person(), person()]
    await indexer!.publishDirect(relayList(alice, T, [['r', aRelay!.url]]))
    await aRelay!.publishDirect(dmList(alice, T, [aRelay!.url]))
    const storage = memoryStorage()
    try {
      const p = pool()
      const first = tracker({ pool: p, storage, indexerRelays: [indexer!.url] })
      await first.ensureRelayLists([alice.pubkey, bob.pubkey])
      const counts = [reqs(indexer!), reqs(aRelay!)]
      expect(await storage.queryEvents([{ kinds: [10002, 10050] }])).toHaveLength(2)

      // A restart: new evidence store (in memory only), new tracker, same storage.
      const evidence = createEvidenceStore()
      const second = tracker({ pool: p, storage, evidence, indexerRelays: [indexer!.url] })
      await storage.putRecord('relay-lists', carol.pubkey, { v: 99, junk: true })
      const report = await second.ensureRelayLists([alice.pubkey, bob.pubkey, carol.pubkey])
      expect(report).toMatchObject({ requested: 3, fetched: 1, missing: [bob.pubkey, carol.pubkey].sort() })
      // Only Carol (unreadable record) was asked about.
      expect(reqs(indexer!)).toBe(counts[0]! + 1)
      expect(reqs(aRelay!)).toBe(counts[1])
      expect(second.relayListOf(alice.pubkey)).toEqual(first.relayListOf(alice.pubkey))
      expect(second.relayListOf(alice.pubkey)?.dm).toEqual([aRelay!.url])
      // The evidence learned the stored list again without a fetch.
      expect(evidence.evidenceFor(alice.pubkey).relays.map((r) => r.url)).toEqual([aRelay!.url])
      expect(await storage.getRecord('relay-lists', carol.pubkey)).toMatchObject({ v: 1 })
    } finally {
      await storage.close()
    }
  })

  it('a fetch no relay answered is not recorded, so the next call tries again', async () => {
    const dead = await deadUrl()
    const alice = person()
    const t = tracker({ pool: pool(), indexerRelays: [dead] })
    const first = await t.ensureRelayLists([alice.pubkey])
    expect(first).toMatchObject({ requested: 1, fetched: 0, missing: [alice.pubkey] })
    expect(first.relays).toEqual([expect.objectContaining({ url: dead, status: 'failed', authors: 1 })])
    expect(t.relayListOf(alice.pubkey)).toBeUndefined()
    const second = await t.ensureRelayLists([alice.pubkey])
    expect(second.relays.map((r) => r.url)).toEqual([dead])
  })

  it('junk from a relay (bad signatures, other authors, malformed frames, junk tags) breaks nothing', async () => {
    const indexer = await harness.relay()
    const [alice, bob, mallory] = [person(), person(), person()]
    const junky = await harness.scripted()
    await indexer.publishDirect(relayList(alice, T, [['r', junky.url]]))
    await indexer.publishDirect(relayList(bob, T, [['r', 'wss://bob.example']]))
    const forged = withBadSignature(relayList(alice, T + 500, [['r', 'wss://forged.example']]))
    const stranger = relayList(mallory, T + 500, [['r', 'wss://mallory.example']])
    const junkTags = [
      ['r', 'ftp://nope.example'],
      ['r', 'wss://good.example'],
      ...Array.from({ length: 2000 }, (_, i) => ['r', `not a url ${i}`]),
      ['r', 'wss://too-late.example'],
      ['x', 'y'],
    ]
    const messy = relayList(alice, T + 10, junkTags)
    junky.script.onReq = (client, subId) => {
      client.send('not json at all')
      client.send('["EVENT"]')
      client.event(subId, forged)
      client.event(subId, stranger)
      client.event(subId, messy)
      client.eose(subId)
    }
    const evidence = createEvidenceStore()
    const t = tracker({ pool: pool(), evidence, indexerRelays: [indexer.url] })

    const report = await t.ensureRelayLists([alice.pubkey, bob.pubkey])

    expect(report.fetched).toBe(2)
    expect(t.relayListOf(bob.pubkey)?.write).toEqual(['wss://bob.example'])
    // The validly signed messy list is Alice's newest: its one usable relay before the parser's
    // scan budget ran out is kept.
    expect(t.relayListOf(alice.pubkey)).toMatchObject({ write: ['wss://good.example'], relayListAt: T + 10 })
    expect(evidence.evidenceFor(alice.pubkey).relays.map((r) => r.url)).toEqual(['wss://good.example'])
    expect(t.relayListOf(mallory.pubkey)).toBeUndefined()
    expect(t.trackedPubkeys()).toEqual([alice.pubkey, bob.pubkey].sort())
  })

  it('an aborted call rejects with TRACKER_ABORTED while a call sharing its fetch goes on', async () => {
    const silent = await harness.scripted({ onReq: behaviours.neverEose() })
    const alice = person()
    const t = tracker({ pool: pool(), indexerRelays: [silent.url], eoseTimeoutMs: 400 })
    const controller = new AbortController()
    const aborted = t.ensureRelayLists([alice.pubkey], { signal: controller.signal })
    const patient = t.ensureRelayLists([alice.pubkey])
    setTimeout(() => controller.abort(), 50)
    await expectRejectionCode(aborted, 'TRACKER_ABORTED')
    const report = await patient
    expect(report.fetched).toBe(0)
    expect(report.relays).toEqual([expect.objectContaining({ url: silent.url, status: 'timeout' })])
    expect(reqs(silent)).toBe(1)
  })

  it('close() ends fetches in flight with TRACKER_CLOSED and refuses later calls', async () => {
    const silent = await harness.scripted({ onReq: behaviours.neverEose() })
    const alice = person()
    const t = tracker({ pool: pool(), indexerRelays: [silent.url], eoseTimeoutMs: 10_000 })
    const pending = t.ensureRelayLists([alice.pubkey])
    await new Promise((resolve) => setTimeout(resolve, 50))
    await t.close()
    await expectRejectionCode(pending, 'TRACKER_CLOSED')
    await expectRejectionCode(t.ensureRelayLists([alice.pubkey]), 'TRACKER_CLOSED')
    await expectRejectionCode(t.newestOwnList(alice.pubkey, 10002), 'TRACKER_CLOSED')
    await t.close()
  })
})

describe('newestOwnList', () => {
  it('finds a newer copy on a relay the indexer copy names, and one on an extra relay, and stores it', async () => {
    const [indexer, outA, inB, extra] = await relays(4)
    const me = person()
    await indexer!.publishDirect(relayList(me, T, [['r', outA!.url, 'write'], ['r', inB!.url, 'read']]))
    const v2 = relayList(me, T + 10, [['r', outA!.url, 'write'], ['r', inB!.url, 'read'], ['r', 'wss://new.example'], ['client', 'other app']])
    await inB!.publishDirect(v2)
    const storage = memoryStorage()
    try {
      const evidence = createEvidenceStore()
      const t = tracker({ pool: pool(), evidence, storage, indexerRelays: [indexer!.url] })

      const found = await t.newestOwnList(me.pubkey, 10002)
      expect(found?.id).toBe(v2.id)
      expect(reqs(inB!)).toBe(1)
      expect(t.relayListOf(me.pubkey)?.relayListAt).toBe(T + 10)
      expect(evidence.evidenceFor(me.pubkey).lists.nip65?.id).toBe(v2.id)
      expect((await storage.queryEvents([{ kinds: [10002], authors: [me.pubkey] }])).map((e) => e.id)).toEqual([v2.id])

      const v3 = relayList(me, T + 20, [['r', extra!.url]])
      await extra!.publishDirect(v3)
      expect((await t.newestOwnList(me.pubkey, 10002, { relays: [extra!.url] }))?.id).toBe(v3.id)

      // The DM list lives only on one of my relays (the one my newest list names).
      const dm = dmList(me, T, [inB!.url])
      await extra!.publishDirect(dm)
      expect((await t.newestOwnList(me.pubkey, 10050))?.id).toBe(dm.id)
      expect(t.relayListOf(me.pubkey)?.dm).toEqual([inB!.url])
    } finally {
      await storage.close()
    }
  })

  it('returns undefined when relays answered and none has the list', async () => {
    const [indexer] = await relays(1)
    const t = tracker({ pool: pool(), indexerRelays: [indexer!.url] })
    expect(await t.newestOwnList(person().pubkey, 3)).toBeUndefined()
  })

  it('throws TRACKER_UNCONFIRMED when too few relays answered, rather than let a list be clobbered', async () => {
    const dead = await deadUrl()
    const [live] = await relays(1)
    const t = tracker({ pool: pool(), indexerRelays: [dead] })
    const me = person()
    const error = await expectRejectionCode(t.newestOwnList(me.pubkey, 10002), 'TRACKER_UNCONFIRMED')
    expect(error.details).toContain('0 of 1 answered')
    await expectRejectionCode(t.newestOwnList(me.pubkey, 10002, { relays: [live!.url], minAnswers: 2 }), 'TRACKER_UNCONFIRMED')
    expect(await t.newestOwnList(me.pubkey, 10002, { relays: [live!.url] })).toBeUndefined()
  })
})

describe('input checks', () => {
  it('programmer errors are TypeError/RangeError; a bad indexer URL is OUTBOX_RELAY_URL_INVALID', async () => {
    const p = pool()
    expect(codeOf(() => createTracker({ pool: p, evidence: createEvidenceStore(), indexerRelays: ['http://x y'] }))).toBe('OUTBOX_RELAY_URL_INVALID')
    expect(() => createTracker({ pool: p, evidence: createEvidenceStore(), indexerRelays: [], staleAfterMs: -1 })).toThrow(RangeError)
    const t = tracker({ pool: p, indexerRelays: [] })
    await expect(t.ensureRelayLists(['nope'])).rejects.toThrow(TypeError)
    expect(() => t.relayListOf('A'.repeat(64))).toThrow(TypeError)
    await expect(t.newestOwnList('a'.repeat(64), 1)).rejects.toThrow(RangeError)
    await expect(t.newestOwnList('a'.repeat(64), 30023)).rejects.toThrow(RangeError)
    // No indexers and nothing known: nobody to ask, nothing recorded.
    expect(await t.ensureRelayLists(['a'.repeat(64)])).toMatchObject({ requested: 1, fetched: 0, missing: ['a'.repeat(64)], relays: [] })
  })
})
