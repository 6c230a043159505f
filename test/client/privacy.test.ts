/**
 * The client's privacy gates on the wire: approval before connecting to a relay not seen before
 * (asked once, remembered across a restart on the same storage, deny = nothing sent, allow-once
 * not remembered), approval before NIP-42 AUTH (asked before any AUTH; denied = the relay gets no
 * AUTH), blocked relays refused, and spam-safe relays (a stranger's mention is taken only from a
 * relay flagged spam-safe; followed people and filters naming the author are exempt).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import type { NostrEvent } from '../../src/crypto/event.js'
import { generateSecretKey } from '../../src/crypto/keys.js'
import { finalizeEvent } from '../../src/crypto/signature.js'
import { memoryStorage } from '../../src/storage/memory.js'
import type { ApprovalDecision, AuthApprovalRequest, RelayApprovalRequest } from '../../src/client/types.js'
import { seedPerson, testClient, type SeededPerson } from '../helpers/client-harness.js'
import { startFleet, startRelay, type TestFleet, type TestRelay } from '../helpers/relay-fleet.js'

let fleet: TestFleet
let authRelay: TestRelay
// fleet: 0 indexer | 1 Alice's outbox | 2 Bob's outbox | 3 Bob's inbox (not spam-safe) | 4 Bob's inbox (spam-safe) | 5 Dave's outbox
let indexer: TestRelay
let aliceOut: TestRelay
let bobOut: TestRelay
let unsafeInbox: TestRelay
let safeInbox: TestRelay
let daveOut: TestRelay
let alice: SeededPerson
let bob: SeededPerson
let carol: SeededPerson
let dave: SeededPerson
let mallory: SeededPerson
let malloryMention: NostrEvent
let aliceMention: NostrEvent
let wrap: NostrEvent
const now = (): number => Math.floor(Date.now() / 1000)

beforeAll(async () => {
  fleet = await startFleet(6)
  ;[indexer, aliceOut, bobOut, unsafeInbox, safeInbox, daveOut] = fleet.relays as [TestRelay, TestRelay, TestRelay, TestRelay, TestRelay, TestRelay]
  authRelay = await startRelay({ requireAuthForReads: true, name: 'auth relay' })
  alice = await seedPerson(fleet, { write: [aliceOut.url], read: [aliceOut.url] })
  bob = await seedPerson(fleet, { write: [bobOut.url], read: [unsafeInbox.url, safeInbox.url] })
  carol = await seedPerson(fleet, { write: [authRelay.url], indexers: [indexer] })
  dave = await seedPerson(fleet, { write: [daveOut.url] })
  mallory = await seedPerson(fleet)
  await aliceOut.storeEvents([finalizeEvent({ kind: 1, content: 'alice note', created_at: now() - 30 }, alice.secretKey)])
  await daveOut.storeEvents([finalizeEvent({ kind: 1, content: 'dave note', created_at: now() - 30 }, dave.secretKey)])
  await authRelay.storeEvents([finalizeEvent({ kind: 1, content: 'carol behind auth', created_at: now() - 30 }, carol.secretKey)])
  malloryMention = finalizeEvent({ kind: 1, content: 'buy my coin @bob', tags: [['p', bob.pubkey]], created_at: now() - 20 }, mallory.secretKey)
  aliceMention = finalizeEvent({ kind: 1, content: 'hi @bob', tags: [['p', bob.pubkey]], created_at: now() - 10 }, alice.secretKey)
  await unsafeInbox.storeEvents([malloryMention, aliceMention])
  await safeInbox.storeEvents([malloryMention])
  // A gift wrap is signed by a one-time key: its author is always a stranger.
  wrap = finalizeEvent({ kind: 1059, content: 'sealed', tags: [['p', bob.pubkey]], created_at: now() - 5 }, generateSecretKey())
  await unsafeInbox.storeEvents([wrap])
}, 30_000)

afterAll(async () => {
  await authRelay?.close()
  await fleet?.close()
})

/** REQs a relay received so far. */
const reqs = (relay: TestRelay): number => relay.messagesOfType('REQ').length

describe('approval before connecting to a new relay', () => {
  it('asks once per relay not seen before, and remembers the answer across a restart', async () => {
    const storage = memoryStorage()
    const asked: RelayApprovalRequest[] = []
    const approveRelay = vi.fn(async (request: RelayApprovalRequest): Promise<ApprovalDecision> => {
      asked.push(request)
      return 'allow'
    })
    const first = testClient({ signer: bob.signer, indexerRelays: [indexer.url], storage, approveRelay })
    try {
      expect((await first.feed({ authors: [alice.pubkey] })).events.map((e) => e.content)).toEqual(['alice note'])
      expect((await first.feed({ authors: [alice.pubkey] })).events).toHaveLength(1)
      // The indexer is the app's own choice: never asked about. Alice's outbox was asked about once.
      expect(asked).toEqual([{ url: aliceOut.url, origin: 'discovered' }])
      expect(await first.approvals.list()).toEqual([{ kind: 'connect', url: aliceOut.url, decision: 'allow', decidedAt: expect.any(Number) }])
    } finally {
      await first.close()
    }
    const again = vi.fn(async (): Promise<ApprovalDecision> => 'deny')
    const second = testClient({ signer: bob.signer, indexerRelays: [indexer.url], storage, approveRelay: again })
    try {
      expect((await second.feed({ authors: [alice.pubkey] })).events.map((e) => e.content)).toEqual(['alice note'])
      expect(again).not.toHaveBeenCalled()
    } finally {
      await second.close()
      await storage.close()
    }
  })

  it('deny: the relay is refused (not-approved) and receives nothing; set() and forget() change it', async () => {
    const storage = memoryStorage()
    const approveRelay = vi.fn(async (): Promise<ApprovalDecision> => 'deny')
    const connectionsBefore = daveOut.totalConnections()
    const client = testClient({ signer: bob.signer, indexerRelays: [indexer.url], storage, approveRelay })
    try {
      const page = await client.feed({ authors: [dave.pubkey] })
      expect(page.events).toEqual([])
      expect(page.report.relays.find((r) => r.url === daveOut.url)).toMatchObject({ status: 'refused', code: 'RELAY_REFUSED_BY_POLICY', message: 'not-approved' })
      const published = await client.publish({ kind: 1, content: 'to dave', tags: [['p', dave.pubkey]] }, { relays: [daveOut.url] })
      expect(published.report.targets.find((t) => t.url === daveOut.url)?.status).not.toBe('ok')
      // Nothing reached Dave's relay: no connection at all.
      expect(daveOut.totalConnections()).toBe(connectionsBefore)
      expect(approveRelay).toHaveBeenCalledTimes(1)
      expect(await client.approvals.list('connect')).toEqual([expect.objectContaining({ url: daveOut.url, decision: 'deny' })])

      await client.approvals.set('connect', daveOut.url, 'allow')
      expect((await client.feed({ authors: [dave.pubkey] })).events.map((e) => e.content)).toEqual(['dave note'])
      expect(await client.approvals.forget('connect', daveOut.url)).toBe(1)
      expect(await client.approvals.list('connect')).toEqual([])
    } finally {
      await client.close()
      await storage.close()
    }
  })

  it('allow-once holds for this run only; a callback that throws means no', async () => {
    const storage = memoryStorage()
    const once = vi.fn(async (): Promise<ApprovalDecision> => 'allow-once')
    const first = testClient({ signer: bob.signer, indexerRelays: [indexer.url], storage, approveRelay: once })
    try {
      expect((await first.feed({ authors: [alice.pubkey] })).events).toHaveLength(1)
      expect((await first.feed({ authors: [alice.pubkey] })).events).toHaveLength(1)
      expect(once).toHaveBeenCalledTimes(1)
      expect(await first.approvals.list()).toEqual([])
    } finally {
      await first.close()
    }
    const throwing = vi.fn(async (): Promise<ApprovalDecision> => {
      throw new Error('dialog crashed')
    })
    const second = testClient({ signer: bob.signer, indexerRelays: [indexer.url], storage, approveRelay: throwing })
    try {
      const page = await second.feed({ authors: [alice.pubkey] })
      expect(page.events).toEqual([])
      expect(throwing).toHaveBeenCalledTimes(1)
      expect(second.errors).toEqual([expect.any(Error)])
    } finally {
      await second.close()
      await storage.close()
    }
  })

  it('blocked relays (rank 0) are refused without asking', async () => {
    const approveRelay = vi.fn(async (): Promise<ApprovalDecision> => 'allow')
    const client = testClient({ signer: bob.signer, indexerRelays: [indexer.url], approveRelay })
    const before = reqs(aliceOut)
    try {
      await client.relays.configure(aliceOut.url, { rank: 0 })
      const { relays } = await client.pool.query([{ kinds: [1], limit: 1 }], { relays: [aliceOut.url] })
      expect(relays[0]).toMatchObject({ status: 'refused', code: 'RELAY_REFUSED_BY_POLICY', message: 'blocked' })
      expect(reqs(aliceOut)).toBe(before)
      expect(approveRelay).not.toHaveBeenCalled()
    } finally {
      await client.close()
    }
  })
})

describe('client.approvals', () => {
  it('checks its input and ignores stored records it cannot read', async () => {
    const storage = memoryStorage()
    await storage.putRecord('settings', 'approval:connect:ws://127.0.0.1:1', { decision: 'maybe' })
    await storage.putRecord('settings', 'approval:other:ws://127.0.0.1:1', { decision: 'allow' })
    const client = testClient({ indexerRelays: [indexer.url], storage, approveRelay: async (): Promise<ApprovalDecision> => 'allow' })
    try {
      expect(await client.approvals.list()).toEqual([])
      await expect(client.approvals.set('connect', 'not a url', 'allow')).rejects.toBeInstanceOf(TypeError)
      await expect(client.approvals.set('publish' as 'connect', aliceOut.url, 'allow')).rejects.toBeInstanceOf(TypeError)
      await expect(client.approvals.set('connect', aliceOut.url, 'allow-once' as 'allow')).rejects.toBeInstanceOf(TypeError)
      await client.approvals.set('auth', aliceOut.url, 'deny')
      await client.approvals.set('connect', `${aliceOut.url}/`, 'allow')
      expect((await client.approvals.list()).map(({ kind, url, decision }) => ({ kind, url, decision }))).toEqual([
        { kind: 'auth', url: aliceOut.url, decision: 'deny' },
        { kind: 'connect', url: aliceOut.url, decision: 'allow' },
      ])
      expect(await client.approvals.forget('auth')).toBe(1)
      expect(await client.approvals.list('auth')).toEqual([])
    } finally {
      await client.close()
      await storage.close()
    }
  })
})

describe('approval before AUTH', () => {
  it('asks before any AUTH; denied, the relay receives no AUTH; allowed (remembered), it does', async () => {
    const storage = memoryStorage()
    const authsAtQuestion: number[] = []
    const deny = vi.fn(async (_request: AuthApprovalRequest): Promise<ApprovalDecision> => {
      authsAtQuestion.push(authRelay.messagesOfType('AUTH').length)
      return 'deny'
    })
    const first = testClient({ signer: bob.signer, indexerRelays: [indexer.url], storage, approveAuth: deny })
    try {
      const page = await first.feed({ authors: [carol.pubkey] })
      expect(page.events).toEqual([])
      expect(page.report.relays.find((r) => r.url === authRelay.url)?.status).toBe('auth-required')
      expect(deny).toHaveBeenCalledTimes(1)
      expect(deny).toHaveBeenCalledWith({ url: authRelay.url })
      expect(authRelay.messagesOfType('AUTH')).toEqual([])
    } finally {
      await first.close()
    }
    // The denial was remembered: the next run does not ask, and still sends no AUTH.
    const notAsked = vi.fn(async (): Promise<ApprovalDecision> => 'allow')
    const second = testClient({ signer: bob.signer, indexerRelays: [indexer.url], storage, approveAuth: notAsked })
    try {
      expect((await second.feed({ authors: [carol.pubkey] })).events).toEqual([])
      expect(notAsked).not.toHaveBeenCalled()
      expect(authRelay.messagesOfType('AUTH')).toEqual([])
      await second.approvals.set('auth', authRelay.url, 'allow')
      const page = await second.feed({ authors: [carol.pubkey] })
      expect(page.events.map((e) => e.content)).toEqual(['carol behind auth'])
      expect(authRelay.messagesOfType('AUTH')).toHaveLength(1)
      expect(authsAtQuestion).toEqual([0])
    } finally {
      await second.close()
      await storage.close()
    }
  })
})

describe('spam-safe relays', () => {
  const mentions = [{ kinds: [1], '#p': [] as string[] }]

  it("takes a stranger's mention only from a spam-safe relay; followed people everywhere; filters naming the author exempt", async () => {
    mentions[0]!['#p'] = [bob.pubkey]
    const client = testClient({ signer: bob.signer, indexerRelays: [indexer.url], spamFilter: true })
    try {
      await client.relays.configure(safeInbox.url, { spamSafe: true })
      // Before following Alice, both mentions are from strangers: the unsafe inbox gives nothing.
      const fromUnsafe = await client.pool.query(mentions, { relays: [unsafeInbox.url] })
      expect(fromUnsafe.events).toEqual([])
      expect(client.pool.relayStats(unsafeInbox.url)?.eventsNotAdmitted).toBe(2)
      // The same stranger's event from the spam-safe inbox is kept, seen there only.
      const both = await client.pool.query(mentions, { relays: [unsafeInbox.url, safeInbox.url] })
      expect(both.events.map((e) => e.id)).toEqual([malloryMention.id])
      expect(both.seenOn.get(malloryMention.id)).toEqual([safeInbox.url])
      // A filter that names the author: the user asked for it, so it is not spam.
      const byAuthor = await client.pool.query([{ kinds: [1], authors: [mallory.pubkey] }], { relays: [unsafeInbox.url] })
      expect(byAuthor.events.map((e) => e.id)).toEqual([malloryMention.id])
      // Gift wraps are exempt.
      const wraps = await client.pool.query([{ kinds: [1059], '#p': [bob.pubkey] }], { relays: [unsafeInbox.url] })
      expect(wraps.events.map((e) => e.id)).toEqual([wrap.id])
      // Following Alice (a follow edit) lets her mention through from anywhere.
      await client.follow(alice.pubkey)
      const afterFollow = await client.pool.query(mentions, { relays: [unsafeInbox.url] })
      expect(afterFollow.events.map((e) => e.id)).toEqual([aliceMention.id])
    } finally {
      await client.close()
    }
  })

  it('is off by default', async () => {
    mentions[0]!['#p'] = [bob.pubkey]
    const client = testClient({ signer: bob.signer, indexerRelays: [indexer.url] })
    try {
      const { events } = await client.pool.query(mentions, { relays: [unsafeInbox.url] })
      expect(events.map((e) => e.id).sort()).toEqual([aliceMention.id, malloryMention.id].sort())
    } finally {
      await client.close()
    }
  })
})
