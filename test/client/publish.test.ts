/**
 * `client.publish` on real local relays: routing (my outboxes plus the inboxes of everyone tagged),
 * proof of work, abort, the errors that stop a publish before anything is sent, the three waits,
 * and the durable queue delivering to an outbox that was down.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { NostrEvent } from '../../src/crypto/event.js'
import { getCommittedTarget, getPow } from '../../src/crypto/nip13.js'
import { verifyEvent } from '../../src/crypto/signature.js'
import type { DeliveryReport } from '../../src/outbox/publish-queue.js'
import { expectRejectionCode } from '../helpers/errors.js'
import { QUICK_RETRY_POOL, seedPerson, testClient, type SeededPerson } from '../helpers/client-harness.js'
import { openRawClient, startFleet, within, type TestFleet, type TestRelay } from '../helpers/relay-fleet.js'


let fleet: TestFleet
let alice: SeededPerson
let bob: SeededPerson
let carol: SeededPerson
// fleet: 0 indexer | 1, 2 Alice's outboxes | 3 Bob's inbox | 4 Bob's outbox | 5 Alice's inbox
let indexer: TestRelay
let aliceOut1: TestRelay
let aliceOut2: TestRelay
let bobIn: TestRelay
let bobOut: TestRelay
let aliceIn: TestRelay

beforeAll(async () => {
  fleet = await startFleet(6)
  ;[indexer, aliceOut1, aliceOut2, bobIn, bobOut, aliceIn] = fleet.relays as [TestRelay, TestRelay, TestRelay, TestRelay, TestRelay, TestRelay]
  alice = await seedPerson(fleet, { write: [aliceOut1.url, aliceOut2.url], read: [aliceIn.url] })
  bob = await seedPerson(fleet, { write: [bobOut.url], read: [bobIn.url] })
  // Carol published no relay list at all.
  carol = await seedPerson(fleet)
}, 30_000)

afterAll(async () => {
  await fleet?.close()
})

/** Whether `relay` holds the event, asked over a fresh connection. */
async function holds(relay: TestRelay, id: string): Promise<boolean> {
  const raw = await openRawClient(relay.url)
  try {
    return (await raw.query([{ ids: [id] }])).some((event) => event.id === id)
  } finally {
    await raw.close()
  }
}

/** EVENT messages carrying a kind 1 that reached any relay of the fleet so far. */
function notesReceived(): NostrEvent[] {
  return fleet.relays.flatMap((relay) => relay.messagesOfType('EVENT').map((m) => m[1] as NostrEvent)).filter((e) => e.kind === 1)
}

describe('client.publish: routing', () => {
  it('sends a note tagging Bob to Alice’s outboxes and Bob’s inbox, and each of them holds it', async () => {
    const client = testClient({ signer: alice.signer, indexerRelays: [indexer.url] })
    try {
      const { event, plan, report } = await client.publish({ kind: 1, content: 'hello Bob', tags: [['p', bob.pubkey]] })
      expect(verifyEvent(event)).toBe(true)
      expect(event.pubkey).toBe(alice.pubkey)
      expect(plan.targets).toEqual([
        ...[aliceOut1.url, aliceOut2.url].sort().map((url) => ({ url, reason: 'my-outbox' })),
        { url: bobIn.url, reason: 'tagged-inbox' },
      ])
      expect(plan.inboxes.get(bob.pubkey)).toEqual([bobIn.url])
      expect(plan.noOutboxes).toBe(false)
      // 'first-answers': every target answered once; all three are live.
      expect(report.state).toBe('sent')
      expect(report.accepted).toBe(3)
      for (const relay of [aliceOut1, aliceOut2, bobIn]) expect(await holds(relay, event.id)).toBe(true)
      // Not Bob's outbox, not Alice's own inbox, not the indexer.
      for (const relay of [bobOut, aliceIn, indexer]) expect(await holds(relay, event.id)).toBe(false)
      // The published event is cached (alerts and threads read it from storage).
      expect(await client.storage.getEvent(event.id)).toEqual(event)
    } finally {
      await client.close()
    }
  })

  it('without a signer: CLIENT_NO_SIGNER; with no outbox and nobody tagged: CLIENT_NO_TARGETS — nothing sent', async () => {
    const before = notesReceived().length
    const readOnly = testClient({ pubkey: alice.pubkey, indexerRelays: [indexer.url] })
    const lonely = testClient({ signer: carol.signer, indexerRelays: [indexer.url] })
    try {
      await expectRejectionCode(readOnly.publish({ kind: 1, content: 'no signer', tags: [] }), 'CLIENT_NO_SIGNER')
      const error = await expectRejectionCode(lonely.publish({ kind: 1, content: 'nowhere to go', tags: [] }), 'CLIENT_NO_TARGETS')
      expect(error.details).toMatch(/setRelays/)
      // Carol's lists were looked for (so "no outbox" is known, not guessed) ...
      expect(lonely.tracker.relayListOf(carol.pubkey)?.fetchedAt).toBeDefined()
      // ... and nothing was queued or sent.
      expect(await lonely.publishQueue.reports()).toEqual([])
      expect(notesReceived().length).toBe(before)
    } finally {
      await readOnly.close()
      await lonely.close()
    }
  })
})

describe('client.publish: proof of work', () => {
  it('pow: 12 mines an id with at least 12 leading zero bits and commits 12 in the nonce tag', async () => {
    const client = testClient({ signer: alice.signer, indexerRelays: [indexer.url] })
    try {
      const { event, report } = await client.publish({ kind: 1, content: 'worked for it', tags: [['t', 'pow']] }, { pow: 12 })
      expect(verifyEvent(event)).toBe(true)
      expect(getPow(event.id)).toBeGreaterThanOrEqual(12)
      expect(getCommittedTarget(event)).toBe(12)
      expect(event.tags.filter((t) => t[0] === 'nonce')).toHaveLength(1)
      expect(event.tags).toContainEqual(['t', 'pow'])
      expect(report.accepted).toBe(2)
      expect(await holds(aliceOut1, event.id)).toBe(true)
    } finally {
      await client.close()
    }
  })

  it('an abort during a long mine (difficulty 40) rejects with CLIENT_ABORTED and sends nothing', async () => {
    const client = testClient({ signer: alice.signer, indexerRelays: [indexer.url] })
    const before = notesReceived().length
    try {
      const controller = new AbortController()
      const progress: number[] = []
      const publishing = client.publish(
        { kind: 1, content: 'never mined', tags: [] },
        {
          pow: 40,
          signal: controller.signal,
          // Progress reaches the caller while mining; the first report is where we give up.
          onPowProgress: ({ hashes }) => {
            progress.push(hashes)
            controller.abort()
          },
        },
      )
      await expectRejectionCode(publishing, 'CLIENT_ABORTED')
      expect(progress.length).toBeGreaterThanOrEqual(1)
      expect(progress[0]).toBeGreaterThan(0)
      expect(await client.publishQueue.reports()).toEqual([])
      expect(notesReceived().length).toBe(before)
    } finally {
      await client.close()
    }
  }, 30_000)
})

describe('client.publish: waits and the durable queue', () => {
  it("'queued' returns before any relay answered; the queue then delivers", async () => {
    const client = testClient({ signer: alice.signer, indexerRelays: [indexer.url] })
    try {
      const { event, report, delivery } = await client.publish({ kind: 1, content: 'queued', tags: [] }, { wait: 'queued' })
      expect(report.state).toBe('pending')
      expect(report.targets.map((t) => [t.url, t.attempts])).toEqual([aliceOut1.url, aliceOut2.url].sort().map((url) => [url, 0]))
      const settled = await delivery.settled
      expect(settled.state).toBe('sent')
      expect(await holds(aliceOut2, event.id)).toBe(true)
    } finally {
      await client.close()
    }
  })

  it("a down outbox: 'first-answers' reports partial, the queue retries and delivers after restart()", async () => {
    const client = testClient({ signer: alice.signer, indexerRelays: [indexer.url], pool: QUICK_RETRY_POOL })
    try {
      await client.relaySettings() // lists fetched while every relay is up
      await aliceOut2.kill()
      const { event, report, delivery } = await client.publish({ kind: 1, content: 'through the outage', tags: [] })
      expect(report.state).toBe('partial')
      expect(report.accepted).toBe(1)
      const down = report.targets.find((t) => t.url === aliceOut2.url)
      expect(down).toMatchObject({ status: 'pending', attempts: 1 })
      expect(down?.nextAttemptAt).toBeGreaterThan(0)
      await aliceOut2.restart()
      const settled = await within(delivery.settled, 20_000)
      expect(settled.state).toBe('sent')
      expect(settled.targets.find((t) => t.url === aliceOut2.url)).toMatchObject({ status: 'ok' })
      expect(settled.targets.find((t) => t.url === aliceOut2.url)!.attempts).toBeGreaterThanOrEqual(2)
      expect(await holds(aliceOut2, event.id)).toBe(true)
    } finally {
      await aliceOut2.restart().catch(() => undefined)
      await client.close()
    }
  }, 30_000)

  it("'settled' waits through retries until every target is final", async () => {
    const client = testClient({ signer: alice.signer, indexerRelays: [indexer.url], pool: QUICK_RETRY_POOL })
    let unsubscribe = (): void => {}
    try {
      await client.relaySettings()
      await aliceOut1.kill()
      // Bring the relay back once its first attempt has failed, so only a retry can deliver.
      let restarting: Promise<void> | undefined
      unsubscribe = client.publishQueue.subscribe((r: DeliveryReport) => {
        const target = r.targets.find((t) => t.url === aliceOut1.url)
        if (restarting === undefined && target !== undefined && target.attempts >= 1) restarting = aliceOut1.restart()
      })
      const { event, report } = await within(client.publish({ kind: 1, content: 'settled', tags: [] }, { wait: 'settled' }), 20_000)
      expect(restarting).toBeDefined()
      await restarting
      expect(report.state).toBe('sent')
      expect(report.targets.every((t) => t.status === 'ok')).toBe(true)
      expect(report.targets.find((t) => t.url === aliceOut1.url)!.attempts).toBeGreaterThanOrEqual(2)
      expect(await holds(aliceOut1, event.id)).toBe(true)
    } finally {
      unsubscribe()
      await aliceOut1.restart().catch(() => undefined)
      await client.close()
    }
  }, 30_000)
})

