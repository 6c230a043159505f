/**
 * The user's relay settings and the client's alerts on real local relays: reading the published
 * lists, changing them on top of the newest copy (found where the client never looked before,
 * unknown tags kept), advertising them, and the three alerts (stale relay list, publishes some
 * relays refused, a follow-list change no relay holds).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FOLLOW_EDIT_RECORD } from '../../src/client/context.js'
import type { ClientAlert } from '../../src/client/types.js'
import type { NostrEvent } from '../../src/crypto/event.js'
import { finalizeEvent } from '../../src/crypto/signature.js'
import { buildDmRelayListTemplate, buildRelayListTemplate } from '../../src/outbox/relay-lists.js'
import { expectRejectionCode } from '../helpers/errors.js'
import { QUICK_RETRY_POOL, seedPerson, testClient } from '../helpers/client-harness.js'
import { openRawClient, startFleet, waitFor, type TestFleet, type TestRelay } from '../helpers/relay-fleet.js'
import { startScriptedRelay, type ScriptedRelay } from '../helpers/scripted-relay.js'

const DAY_S = 86_400

let fleet: TestFleet
// 0 indexer | 1 old relay | 2 new outbox | 3 old DM relay | 4 new DM relay | 5 extra advertising | 6 a plain outbox
let indexer: TestRelay
let oldRelay: TestRelay
let newOutbox: TestRelay
let oldDm: TestRelay
let newDm: TestRelay
let extra: TestRelay
let plain: TestRelay
let blocker: ScriptedRelay

beforeAll(async () => {
  fleet = await startFleet(7)
  ;[indexer, oldRelay, newOutbox, oldDm, newDm, extra, plain] = fleet.relays as [TestRelay, TestRelay, TestRelay, TestRelay, TestRelay, TestRelay, TestRelay]
  // A relay that refuses every event for good, as a relay with a blocklist does.
  blocker = await startScriptedRelay({ onEvent: (client, event) => client.ok((event as NostrEvent).id, false, 'blocked: not welcome here') })
}, 30_000)

afterAll(async () => {
  await blocker?.close()
  await fleet?.close()
})

const nowS = (): number => Math.floor(Date.now() / 1000)

/** The copy of `id` a relay holds, asked over a fresh connection. */
async function copyOn(relay: { url: string }, id: string): Promise<NostrEvent | undefined> {
  const raw = await openRawClient(relay.url)
  try {
    return (await raw.query([{ ids: [id] }])).find((event) => event.id === id)
  } finally {
    await raw.close()
  }
}

/** Every relay-list EVENT (10002 / 10050) that reached the fleet so far. */
function listEventsReceived(): number {
  return fleet.relays.flatMap((relay) => relay.messagesOfType('EVENT')).filter((m) => [10002, 10050].includes((m[1] as NostrEvent).kind)).length
}

describe('client.relaySettings', () => {
  it('reads inboxes, outboxes, DM relays and the list events, for a signer or a bare pubkey', async () => {
    const person = await seedPerson(fleet, { write: [oldRelay.url, plain.url], read: [oldRelay.url], dm: [oldDm.url] })
    const client = testClient({ signer: person.signer, indexerRelays: [indexer.url] })
    const readOnly = testClient({ pubkey: person.pubkey, indexerRelays: [indexer.url] })
    const nobody = testClient({ indexerRelays: [indexer.url] })
    try {
      for (const c of [client, readOnly]) {
        const settings = await c.relaySettings()
        expect([...settings.write].sort()).toEqual([oldRelay.url, plain.url].sort())
        expect(settings.read).toEqual([oldRelay.url])
        expect(settings.dm).toEqual([oldDm.url])
        expect(settings.relayList).toEqual(person.relayList)
        expect(settings.dmRelayList).toEqual(person.dmRelayList)
        // Advertised to my own relays first (sorted by URL: the ports are random), then the indexer.
        expect(settings.advertiseTo.flat().slice(0, 3)).toEqual([...[oldRelay.url, plain.url].sort(), indexer.url])
      }
      await expectRejectionCode(nobody.relaySettings(), 'CLIENT_NO_SIGNER')
    } finally {
      await Promise.all([client.close(), readOnly.close(), nobody.close()])
    }
  })

  it('reads empty lists for a person who published none', async () => {
    const person = await seedPerson(fleet)
    const client = testClient({ signer: person.signer, indexerRelays: [indexer.url] })
    try {
      const settings = await client.relaySettings()
      expect(settings).toMatchObject({ read: [], write: [], dm: [], relayList: undefined, dmRelayList: undefined })
      expect(settings.advertiseTo.flat()).toContain(indexer.url)
    } finally {
      await client.close()
    }
  })
})

describe('client.setRelays', () => {
  it('writes a 10002 on top of a newer copy found on an outbox the client never cached, and advertises it', async () => {
    const person = await seedPerson(fleet, { write: [oldRelay.url], read: [oldRelay.url], at: nowS() - 600 })
    // Another app of the user's wrote a newer list, only to the old relay, with a tag we don't know.
    const newer = finalizeEvent(
      { ...buildRelayListTemplate([{ url: oldRelay.url }]), tags: [['r', oldRelay.url], ['client', 'another-app', 'x']], created_at: nowS() - 300 },
      person.secretKey,
    )
    expect((await oldRelay.storeEvents([newer]))[0]?.success).toBe(true)
    const client = testClient({ signer: person.signer, indexerRelays: [indexer.url] })
    try {
      expect(await client.storage.getEvent(newer.id)).toBeUndefined()
      const { relayList, dmRelayList } = await client.setRelays({ write: [newOutbox.url], advertiseTo: [extra.url] })
      expect(dmRelayList).toBeUndefined()
      const event = relayList!.event
      expect(event.kind).toBe(10002)
      expect(event.pubkey).toBe(person.pubkey)
      expect(event.created_at).toBeGreaterThan(newer.created_at)
      // The unknown tag survives; only `write` changed, so the old relay stays an inbox.
      expect(event.tags).toContainEqual(['client', 'another-app', 'x'])
      expect(event.tags.filter((t) => t[0] === 'r').sort()).toEqual([
        ['r', newOutbox.url, 'write'],
        ['r', oldRelay.url, 'read'],
      ].sort())
      // The new outbox, the indexer, the inbox and the extra relay each hold it.
      for (const relay of [newOutbox, indexer, oldRelay, extra]) expect(await copyOn(relay, event.id)).toEqual(event)
      expect(relayList!.report.targets.every((t) => t.reasons.includes('advertise'))).toBe(true)
      expect(relayList!.report.accepted).toBeGreaterThanOrEqual(4)
      expect(relayList!.plan.outboxes).toEqual([newOutbox.url])
      // The client routes by the new list at once.
      const settings = await client.relaySettings()
      expect(settings).toMatchObject({ write: [newOutbox.url], read: [oldRelay.url], relayList: event })
      expect(client.router.publishPlan({ ...event, kind: 1, tags: [], content: 'x' }).outboxes).toEqual([newOutbox.url])
    } finally {
      await client.close()
    }
  })

  it('an abort while waiting for the relays ends the wait only: the queued list is the one the client routes by', async () => {
    const slow = await startScriptedRelay({ onEvent: (client, event) => client.later(3_000, () => client.ok((event as NostrEvent).id, true, '')) })
    const person = await seedPerson(fleet, { write: [oldRelay.url], read: [oldRelay.url], at: nowS() - 600 })
    const client = testClient({ signer: person.signer, indexerRelays: [indexer.url] })
    try {
      const controller = new AbortController()
      setTimeout(() => controller.abort(), 500)
      await expectRejectionCode(client.setRelays({ write: [slow.url] }, { signal: controller.signal }), 'CLIENT_ABORTED')
      const stored = (await client.relaySettings()).relayList
      expect(stored?.tags).toContainEqual(['r', slow.url, 'write'])
      expect(client.router.publishPlan({ ...stored!, kind: 1, tags: [], content: 'x' }).outboxes).toEqual([slow.url])
      // The same for a DM relay list (the router takes those from the tracker).
      const again = new AbortController()
      setTimeout(() => again.abort(), 500)
      await expectRejectionCode(client.setRelays({ dm: [slow.url] }, { signal: again.signal }), 'CLIENT_ABORTED')
      const dmRelays = () => client.router.dmRelays(person.pubkey, { purpose: 'send' })
      await waitFor(() => JSON.stringify(dmRelays()) === JSON.stringify({ status: 'ready', relays: [slow.url] }), 3_000, 'the new DM relays in force')
    } finally {
      await client.close()
      await slow.close()
    }
  })

  it('writes a 10050 on top of the newest copy, keeps its unknown tags, and sends it to the new DM relay', async () => {
    const person = await seedPerson(fleet, { write: [plain.url], read: [plain.url], dm: [oldDm.url], at: nowS() - 600 })
    const newer = finalizeEvent(
      { ...buildDmRelayListTemplate([oldDm.url]), tags: [['relay', oldDm.url], ['expiration-policy', 'keep']], created_at: nowS() - 300 },
      person.secretKey,
    )
    expect((await oldDm.storeEvents([newer]))[0]?.success).toBe(true)
    const client = testClient({ signer: person.signer, indexerRelays: [indexer.url] })
    try {
      const { relayList, dmRelayList } = await client.setRelays({ dm: [newDm.url] })
      expect(relayList).toBeUndefined()
      const event = dmRelayList!.event
      expect(event.kind).toBe(10050)
      expect(event.created_at).toBeGreaterThan(newer.created_at)
      expect(event.tags).toEqual([['relay', newDm.url], ['expiration-policy', 'keep']])
      for (const relay of [newDm, indexer, plain]) expect(await copyOn(relay, event.id)).toEqual(event)
      // DM routing (which reads the tracker) and the settings see the new relay.
      expect(client.router.dmRelays(person.pubkey)).toEqual({ status: 'ready', relays: [newDm.url] })
      expect(await client.relaySettings()).toMatchObject({ dm: [newDm.url], write: [plain.url], dmRelayList: event })
    } finally {
      await client.close()
    }
  })

  it('checks every URL before signing, refuses without a signer, and publishes nothing unconfirmed', async () => {
    const person = await seedPerson(fleet, { write: [plain.url], read: [plain.url] })
    const client = testClient({ signer: person.signer, indexerRelays: [indexer.url] })
    const readOnly = testClient({ pubkey: person.pubkey, indexerRelays: [indexer.url] })
    const signed: unknown[] = []
    const spying = testClient({
      signer: {
        getPublicKey: () => person.signer.getPublicKey(),
        signEvent: (template) => (signed.push(template), person.signer.signEvent(template)),
        nip04: person.signer.nip04,
        nip44: person.signer.nip44,
      },
      indexerRelays: [indexer.url],
    })
    try {
      const before = listEventsReceived()
      const error = await expectRejectionCode(spying.setRelays({ write: [newOutbox.url], dm: ['not a relay'] }), 'OUTBOX_RELAY_URL_INVALID')
      expect(error.details).toMatch(/change\.dm\[0\]/)
      expect(signed).toEqual([])
      await expectRejectionCode(readOnly.setRelays({ write: [newOutbox.url] }), 'CLIENT_NO_SIGNER')
      // More answers demanded than relays exist: the newest copy cannot be confirmed.
      await expectRejectionCode(client.setRelays({ write: [newOutbox.url] }, { minAnswers: 50 }), 'TRACKER_UNCONFIRMED')
      expect(listEventsReceived()).toBe(before)
      expect(await client.publishQueue.reports()).toEqual([])
    } finally {
      await Promise.all([client.close(), readOnly.close(), spying.close()])
    }
  })
})

describe('client.alerts', () => {
  it('relay-list-stale: a list older than relayListMaxAgeMs or none at all; none for a fresh list or an unknown user', async () => {
    const old = await seedPerson(fleet, { write: [plain.url], read: [plain.url], at: nowS() - 40 * DAY_S })
    const none = await seedPerson(fleet)
    const fresh = await seedPerson(fleet, { write: [plain.url], read: [plain.url] })
    const clients = {
      old: testClient({ signer: old.signer, indexerRelays: [indexer.url] }),
      none: testClient({ pubkey: none.pubkey, indexerRelays: [indexer.url] }),
      fresh: testClient({ signer: fresh.signer, indexerRelays: [indexer.url] }),
      strict: testClient({ signer: fresh.signer, indexerRelays: [indexer.url], relayListMaxAgeMs: 1000 }),
      unknown: testClient({ indexerRelays: [indexer.url] }),
    }
    try {
      expect(await clients.old.alerts()).toEqual([{ type: 'relay-list-stale', publishedAt: old.relayList!.created_at }])
      expect(await clients.none.alerts()).toEqual([{ type: 'relay-list-stale' }])
      expect(await clients.fresh.alerts()).toEqual([])
      // The same 60-second-old list is stale for a client that wants it re-advertised every second.
      expect(await clients.strict.alerts()).toEqual([{ type: 'relay-list-stale', publishedAt: fresh.relayList!.created_at }])
      expect(await clients.unknown.alerts()).toEqual([])
      // Re-advertising clears it.
      await clients.old.setRelays({ write: [plain.url] })
      expect(await clients.old.alerts()).toEqual([])
    } finally {
      await Promise.all(Object.values(clients).map((c) => c.close()))
    }
  })

  it('publish-incomplete lists the relays that refused, newest publish first, in the documented order', async () => {
    const person = await seedPerson(fleet, { write: [plain.url, blocker.url], read: [plain.url], at: nowS() - 40 * DAY_S })
    const client = testClient({ signer: person.signer, indexerRelays: [indexer.url] })
    try {
      const first = await client.publish({ kind: 1, content: 'one', tags: [] })
      const second = await client.publish({ kind: 7, content: '+', tags: [['e', first.event.id]] })
      for (const { report } of [first, second]) {
        expect(report.state).toBe('sent')
        expect(report.targets.find((t) => t.url === blocker.url)).toMatchObject({ status: 'rejected', last: { prefix: 'blocked' } })
      }
      // A publish that reached no relay at all, queued directly (its event is not in the event store).
      const lost = finalizeEvent({ kind: 30023, content: 'article', tags: [['d', 'a']], created_at: nowS() }, person.secretKey)
      const lostReport = await (await client.publishQueue.publish(lost, [{ url: blocker.url }])).settled
      expect(lostReport.state).toBe('failed')
      // A follow-list change no relay has seen.
      const changedAt = Date.now()
      await client.storage.putRecord('settings', FOLLOW_EDIT_RECORD, { eventId: 'f'.repeat(64), changedAt })

      const alerts = await client.alerts()
      expect(alerts.map((a) => a.type)).toEqual([
        'follow-list-unpublished',
        'publish-incomplete',
        'publish-incomplete',
        'publish-incomplete',
        'relay-list-stale',
      ])
      expect(alerts[0]).toEqual({ type: 'follow-list-unpublished', eventId: 'f'.repeat(64), changedAt })
      expect(alerts.slice(1, 4)).toEqual<ClientAlert[]>([
        { type: 'publish-incomplete', eventId: lost.id, kind: 30023, state: 'failed', failedRelays: [blocker.url] },
        { type: 'publish-incomplete', eventId: second.event.id, kind: 7, state: 'sent', failedRelays: [blocker.url] },
        { type: 'publish-incomplete', eventId: first.event.id, kind: 1, state: 'sent', failedRelays: [blocker.url] },
      ])
    } finally {
      await client.close()
    }
  })

  it('follow-list-unpublished shows while no relay holds the change, and disappears once one accepts', async () => {
    const person = await seedPerson(fleet, { write: [plain.url], read: [plain.url] })
    const client = testClient({ signer: person.signer, indexerRelays: [indexer.url], pool: QUICK_RETRY_POOL })
    const template = { kind: 3, content: '', tags: [['p', 'a'.repeat(64)]], created_at: nowS() }
    // The id the client will sign for this template (ids do not depend on the signature).
    const eventId = finalizeEvent(template, person.secretKey).id
    const changedAt = Date.now()
    try {
      await client.relaySettings()
      await client.storage.putRecord('settings', FOLLOW_EDIT_RECORD, { eventId, changedAt })
      const expected = { type: 'follow-list-unpublished', eventId, changedAt }
      // Not queued yet: unknown to the queue.
      expect(await client.alerts()).toEqual([expected])
      await plain.kill()
      const { event, report } = await client.publish(template)
      expect(event.id).toBe(eventId)
      expect(report).toMatchObject({ state: 'pending', accepted: 0 })
      // Queued but no relay holds it.
      expect(await client.alerts()).toEqual([expected])
      await plain.restart()
      await waitFor(async () => (await client.alerts()).length === 0, 20_000, 'the follow-list alert to clear')
      expect(await copyOn(plain, eventId)).toEqual(event)
    } finally {
      await plain.restart().catch(() => undefined)
      await client.close()
    }
  }, 30_000)
})
