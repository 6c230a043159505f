/**
 * Private messages through the client, on real local relays: NIP-17 send (strict 10050 routing,
 * all-or-nothing readiness), read (junk counted, duplicates merged, peer filter), live, and NIP-04
 * conversations written by another implementation (nostr-tools).
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { nip04 as toolsNip04, finalizeEvent as toolsFinalizeEvent } from 'nostr-tools'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Client } from '../../src/client/client.js'
import type { ReceivedDm } from '../../src/client/types.js'
import type { NostrEvent } from '../../src/crypto/event.js'
import { generateSecretKey, getPublicKey } from '../../src/crypto/keys.js'
import { getConversationKey, encrypt as nip44Encrypt } from '../../src/crypto/nip44.js'
import { createRumor, createSeal, createWrap } from '../../src/crypto/nip59.js'
import { npubEncode } from '../../src/crypto/nip19.js'
import { finalizeEvent } from '../../src/crypto/signature.js'
import { normalizeRelayUrl } from '../../src/relay-pool/url.js'
import { QUICK_RETRY_POOL, type SeededPerson, seedPerson, testClient } from '../helpers/client-harness.js'
import { expectRejectionCode } from '../helpers/errors.js'
import { type TestFleet, type TestRelay, startFleet, waitFor } from '../helpers/relay-fleet.js'

// r0 indexer; r1, r2, r3, r5 DM relays; r4 everyone's outbox and inbox.
let fleet: TestFleet
let indexer: string
const clients: Client[] = []

beforeAll(async () => {
  fleet = await startFleet(6)
  indexer = fleet.urls[0]!
})

afterAll(async () => {
  await fleet?.close()
})

function url(i: number): string {
  return fleet.urls[i]!
}

function relay(i: number): TestRelay {
  return fleet.relays[i]!
}

async function clientOf(person: SeededPerson, now?: () => number): Promise<Client & { errors: unknown[] }> {
  const client = testClient({ signer: person.signer, indexerRelays: [indexer], ...(now !== undefined && { now }) })
  clients.push(client)
  return client
}

async function closeAll(): Promise<void> {
  await Promise.all(clients.splice(0).map((c) => c.close()))
}

/** The kind 1059 events a relay was sent over the wire (EVENT messages), p-tagged to `pubkey`. */
function wrapsSentTo(r: TestRelay, pubkey: string): NostrEvent[] {
  return r
    .messagesOfType('EVENT')
    .map((m) => m[1] as NostrEvent)
    .filter((e) => e.kind === 1059 && e.tags.some((t) => t[0] === 'p' && t[1] === pubkey))
}

function eventCount(): number {
  return fleet.relays.reduce((n, r) => n + r.messagesOfType('EVENT').length, 0)
}

describe('NIP-17 send and read', () => {
  it('Alice writes Bob: the wrap goes to Bob’s 10050 relays only, her copy to hers, and both read it back', async () => {
    const alice = await seedPerson(fleet, { write: [url(4)], read: [url(4)], dm: [url(1)] })
    const bob = await seedPerson(fleet, { write: [url(4)], read: [url(4)], dm: [url(2)] })
    try {
      const aliceClient = await clientOf(alice)
      const bobClient = await clientOf(bob)
      const sent = await aliceClient.sendDm(npubEncode(bob.pubkey), 'Hola, que tal?', { subject: 'greetings' })
      expect(sent.rumor.kind).toBe(14)
      expect(sent.rumor.pubkey).toBe(alice.pubkey)
      const byRecipient = new Map(sent.deliveries.map((d) => [d.recipient, d]))
      expect(sent.deliveries).toHaveLength(2)
      expect(byRecipient.get(bob.pubkey)).toMatchObject({ self: false, relays: [normalizeRelayUrl(url(2))] })
      expect(byRecipient.get(alice.pubkey)).toMatchObject({ self: true, relays: [normalizeRelayUrl(url(1))] })
      for (const d of sent.deliveries) expect(d.report.accepted).toBe(1)

      // On the wire: Bob's wrap reached r2 and nothing else; Alice's copy reached r1 and nothing else.
      for (let i = 0; i < fleet.relays.length; i++) {
        expect(wrapsSentTo(relay(i), bob.pubkey)).toHaveLength(i === 2 ? 1 : 0)
        expect(wrapsSentTo(relay(i), alice.pubkey)).toHaveLength(i === 1 ? 1 : 0)
      }
      // The wraps are signed by one-time keys, never by Alice.
      expect(wrapsSentTo(relay(2), bob.pubkey)[0]!.pubkey).not.toBe(alice.pubkey)

      const inbox = await bobClient.dms()
      expect(inbox.undecryptable).toBe(0)
      expect(inbox.relays.map((r) => [r.url, r.status])).toEqual([[normalizeRelayUrl(url(2)), 'eose']])
      expect(inbox.messages).toHaveLength(1)
      expect(inbox.messages[0]).toMatchObject({
        id: sent.rumor.id,
        sender: alice.pubkey,
        content: 'Hola, que tal?',
        subject: 'greetings',
        participants: [alice.pubkey, bob.pubkey].sort(),
        createdAt: sent.rumor.created_at,
      })

      const own = await aliceClient.dms()
      expect(own.messages.map((m) => [m.id, m.sender])).toEqual([[sent.rumor.id, alice.pubkey]])
    } finally {
      await closeAll()
    }
  })

  it('a group of three: each member reads the same message; `peer` keeps only rooms with that person', async () => {
    const alice = await seedPerson(fleet, { dm: [url(1)] })
    const bob = await seedPerson(fleet, { dm: [url(2)] })
    const carol = await seedPerson(fleet, { dm: [url(3)] })
    try {
      const aliceClient = await clientOf(alice)
      const direct = await aliceClient.sendDm(bob.pubkey, 'just us')
      const group = await aliceClient.sendDm([bob.pubkey, npubEncode(carol.pubkey), bob.pubkey], 'all three', { replyTo: { id: direct.rumor.id } })
      expect(group.deliveries.map((d) => d.recipient).sort()).toEqual([alice.pubkey, bob.pubkey, carol.pubkey].sort())
      const room = [alice.pubkey, bob.pubkey, carol.pubkey].sort()

      const bobInbox = await (await clientOf(bob)).dms()
      expect(bobInbox.messages.map((m) => m.id).sort()).toEqual([direct.rumor.id, group.rumor.id].sort())
      const groupMessage = bobInbox.messages.find((m) => m.id === group.rumor.id)!
      expect(groupMessage.participants).toEqual(room)
      expect(groupMessage.replyTo).toBe(direct.rumor.id)

      const carolClient = await clientOf(carol)
      const carolInbox = await carolClient.dms()
      expect(carolInbox.messages.map((m) => [m.id, m.sender, m.content])).toEqual([[group.rumor.id, alice.pubkey, 'all three']])
      expect(carolInbox.messages[0]!.participants).toEqual(room)

      const bobClient = await clientOf(bob)
      const withCarol = await bobClient.dms({ peer: npubEncode(carol.pubkey) })
      expect(withCarol.messages.map((m) => m.id)).toEqual([group.rumor.id])
      const withAlice = await bobClient.dms({ peer: alice.pubkey })
      expect(withAlice.messages.map((m) => m.id).sort()).toEqual([direct.rumor.id, group.rumor.id].sort())
    } finally {
      await closeAll()
    }
  })

  it('a recipient without a 10050 stops the whole send: CLIENT_DM_RECIPIENT_NOT_READY naming them, no EVENT sent anywhere', async () => {
    const alice = await seedPerson(fleet, { dm: [url(1)] })
    const bob = await seedPerson(fleet, { dm: [url(2)] })
    const dave = await seedPerson(fleet, { write: [url(4)], read: [url(4)] })
    try {
      const aliceClient = await clientOf(alice)
      const before = eventCount()
      const error = await expectRejectionCode(aliceClient.sendDm([bob.pubkey, dave.pubkey], 'secret'), 'CLIENT_DM_RECIPIENT_NOT_READY')
      expect(error.details).toBe(`${npubEncode(dave.pubkey)}: no-dm-relay-list`)
      expect(error.message).not.toContain('secret')
      expect(eventCount()).toBe(before)
      expect(await aliceClient.publishQueue.reports()).toEqual([])

      await expect(aliceClient.sendDm([], 'x')).rejects.toThrow(TypeError)
      await expect(aliceClient.sendDm('not a key', 'x')).rejects.toThrow(/to\[0\]/)
    } finally {
      await closeAll()
    }
  })

  it('junk wraps p-tagged to Bob (not a wrap, wrapped for someone else, forged seal) are counted, the real message still read', async () => {
    const alice = await seedPerson(fleet, { dm: [url(1)] })
    const bob = await seedPerson(fleet, { dm: [url(2)] })
    const mallorySk = generateSecretKey()
    const carolSk = generateSecretKey()
    const carol = getPublicKey(carolSk)
    const now = Math.floor(Date.now() / 1000)
    try {
      const sent = await (await clientOf(alice)).sendDm(bob.pubkey, 'the real one')

      // 1. Signed kind 1059 whose content is not a NIP-44 payload at all.
      const notAWrap = finalizeEvent({ kind: 1059, created_at: now - 100, tags: [['p', bob.pubkey]], content: 'hello, not encrypted' }, generateSecretKey())
      // 2. A genuine wrap encrypted to Carol, but p-tagged to Bob.
      const carolSeal = await createSeal(createRumor({ kind: 14, content: 'for carol', tags: [['p', carol]] }, alice.pubkey), alice.signer, carol)
      const oneTime = generateSecretKey()
      const forCarol = finalizeEvent(
        { kind: 1059, created_at: now - 200, tags: [['p', bob.pubkey]], content: nip44Encrypt(JSON.stringify(carolSeal), getConversationKey(oneTime, carol)) },
        oneTime,
      )
      // 3. Mallory seals a rumor that claims Alice wrote it.
      const forgedRumor = createRumor({ kind: 14, content: 'I am Alice, send money', tags: [['p', bob.pubkey]] }, alice.pubkey)
      const forgedSeal = finalizeEvent(
        { kind: 13, created_at: now - 300, tags: [], content: nip44Encrypt(JSON.stringify(forgedRumor), getConversationKey(mallorySk, bob.pubkey)) },
        mallorySk,
      )
      const forged = createWrap(forgedSeal, bob.pubkey)
      const stored = await relay(2).storeEvents([notAWrap, forCarol, forged])
      expect(stored.every((r) => r.success)).toBe(true)

      const bobClient = await clientOf(bob)
      const inbox = await bobClient.dms()
      expect(inbox.undecryptable).toBe(3)
      expect(inbox.messages.map((m) => [m.id, m.sender, m.content])).toEqual([[sent.rumor.id, alice.pubkey, 'the real one']])
      expect(bobClient.errors).toEqual([])
    } finally {
      await closeAll()
    }
  })

  it('a message that arrives on two relays in two different wraps is read once', async () => {
    const alice = await seedPerson(fleet, { dm: [url(1)] })
    const bob = await seedPerson(fleet, { dm: [url(2), url(5)] })
    try {
      const sent = await (await clientOf(alice)).sendDm(bob.pubkey, 'twice over')
      expect(sent.deliveries.find((d) => !d.self)!.relays).toHaveLength(2)
      // A second, different wrap of the same rumor (a resend), on r5 only.
      const rewrap = createWrap(await createSeal(sent.rumor, alice.signer, bob.pubkey), bob.pubkey)
      await relay(5).storeEvents([rewrap])
      const inbox = await (await clientOf(bob)).dms()
      expect(inbox.messages.map((m) => m.id)).toEqual([sent.rumor.id])
      expect(inbox.undecryptable).toBe(0)
    } finally {
      await closeAll()
    }
  })
})

describe('NIP-17 live', () => {
  it('subscribeDms delivers a new message once, and not the messages sent before it started', async () => {
    const alice = await seedPerson(fleet, { dm: [url(1)] })
    const bob = await seedPerson(fleet, { dm: [url(2), url(5)] })
    try {
      // A message dated ten minutes ago (Alice's clock), already on Bob's relays.
      const pastAlice = await clientOf(alice, () => Date.now() - 600_000)
      const old = await pastAlice.sendDm(bob.pubkey, 'old news')
      const aliceClient = await clientOf(alice)
      const bobClient = await clientOf(bob)

      const received: ReceivedDm[] = []
      const live = bobClient.subscribeDms({ onMessage: (m) => received.push(m) })
      await live.ready
      const fresh = await aliceClient.sendDm(bob.pubkey, 'breaking news')
      await waitFor(() => received.some((m) => m.id === fresh.rumor.id), 5_000, 'the new message')
      // The same message again in another wrap, then a marker: once the marker is in, the copy was seen.
      await relay(5).storeEvents([createWrap(await createSeal(fresh.rumor, alice.signer, bob.pubkey), bob.pubkey)])
      const marker = await aliceClient.sendDm(bob.pubkey, 'marker')
      await waitFor(() => received.some((m) => m.id === marker.rumor.id), 5_000, 'the marker')
      await sleep(200)
      expect(received.map((m) => m.id)).toEqual([fresh.rumor.id, marker.rumor.id])
      expect(received.some((m) => m.id === old.rumor.id)).toBe(false)
      expect(received[0]).toMatchObject({ sender: alice.pubkey, content: 'breaking news' })

      live.close()
      live.close()
      const after = await aliceClient.sendDm(bob.pubkey, 'after close')
      await sleep(200)
      expect(received.some((m) => m.id === after.rumor.id)).toBe(false)
    } finally {
      await closeAll()
    }
  })

  it('after a reconnect, wraps sent during the outage still arrive although they are dated in the past', async () => {
    const alice = await seedPerson(fleet, { dm: [url(1)] })
    const bob = await seedPerson(fleet, { dm: [url(3)] })
    try {
      const bobClient = testClient({ signer: bob.signer, indexerRelays: [indexer], pool: QUICK_RETRY_POOL })
      clients.push(bobClient)
      const received: ReceivedDm[] = []
      const live = bobClient.subscribeDms({ onMessage: (m) => received.push(m) })
      await live.ready
      // A first message whose wrap is dated now, the latest an honest wrap can be (later wraps are
      // dated up to two days back): resuming from "the newest wrap seen" would then shut out
      // everything sent while the connection was down. A second wrap dated a day ahead must not
      // move the resume point either.
      const aliceClient = await clientOf(alice)
      const nowS = Math.floor(Date.now() / 1000)
      const first = createRumor({ kind: 14, content: 'first', tags: [['p', bob.pubkey]] }, alice.pubkey)
      const ahead = createRumor({ kind: 14, content: 'from the future', tags: [['p', bob.pubkey]] }, alice.pubkey)
      const wrapAt = async (rumor: typeof first, at: number): Promise<NostrEvent> => {
        const ephemeral = generateSecretKey()
        const seal = await createSeal(rumor, alice.signer, bob.pubkey)
        const content = nip44Encrypt(JSON.stringify(seal), getConversationKey(ephemeral, bob.pubkey))
        return finalizeEvent({ kind: 1059, created_at: at, tags: [['p', bob.pubkey]], content }, ephemeral)
      }
      await relay(3).storeEvents([await wrapAt(first, nowS), await wrapAt(ahead, nowS + 86_400)])
      await waitFor(() => received.some((m) => m.id === first.id) && received.some((m) => m.id === ahead.id), 5_000, 'the first messages')

      await relay(3).dropConnections()
      const during: string[] = []
      for (let i = 0; i < 5; i++) during.push((await aliceClient.sendDm(bob.pubkey, `during ${i}`)).rumor.id)
      await waitFor(() => during.every((id) => received.some((m) => m.id === id)), 10_000, 'every message sent during the outage')
      expect(received.map((m) => m.id).sort()).toEqual([first.id, ahead.id, ...during].sort())
    } finally {
      await closeAll()
    }
  })

  it('a throwing onMessage goes to onError and later messages still come', async () => {
    const alice = await seedPerson(fleet, { dm: [url(1)] })
    const bob = await seedPerson(fleet, { dm: [url(2)] })
    try {
      const bobClient = await clientOf(bob)
      const boom = new Error('listener bug')
      const live = bobClient.subscribeDms({
        onMessage: () => {
          throw boom
        },
      })
      await live.ready
      const aliceClient = await clientOf(alice)
      await aliceClient.sendDm(bob.pubkey, 'hi')
      await waitFor(() => bobClient.errors.includes(boom), 5_000, 'the listener error to be reported')
      await aliceClient.sendDm(bob.pubkey, 'hi again')
      await waitFor(() => bobClient.errors.filter((e) => e === boom).length === 2, 5_000, 'the second message')
    } finally {
      await closeAll()
    }
  })
})

describe('NIP-04 legacy conversations', () => {
  it('decrypts kind 4 messages that nostr-tools encrypted, both ways, oldest first; junk is counted', async () => {
    const alice = await seedPerson(fleet, { write: [url(4)], read: [url(1)] })
    const bob = await seedPerson(fleet, { write: [url(3)], read: [url(4)] })
    const carolSk = generateSecretKey()
    const now = Math.floor(Date.now() / 1000)
    const kind4 = (sk: Uint8Array, to: string, text: string, at: number): NostrEvent =>
      toolsFinalizeEvent({ kind: 4, created_at: at, tags: [['p', to]], content: toolsNip04.encrypt(sk, to, text) }, sk) as NostrEvent
    const fromAlice = kind4(alice.secretKey, bob.pubkey, 'hi bob, old style', now - 300)
    const fromBob = kind4(bob.secretKey, alice.pubkey, 'hi alice, ça va?', now - 200)
    const later = kind4(alice.secretKey, bob.pubkey, 'bye 👋', now - 100)
    const junk = finalizeEvent({ kind: 4, created_at: now - 50, tags: [['p', bob.pubkey]], content: 'not nip04?iv=xx' }, alice.secretKey)
    const otherRoom = kind4(alice.secretKey, getPublicKey(carolSk), 'for carol only', now - 150)
    // Alice's messages on her outbox (r4, also Bob's inbox); Bob's on his outbox (r3) only.
    await relay(4).storeEvents([fromAlice, later, junk, otherRoom])
    await relay(3).storeEvents([fromBob])
    try {
      const aliceView = await (await clientOf(alice)).legacyDms(npubEncode(bob.pubkey))
      expect(aliceView.messages.map((m) => [m.event.id, m.sender, m.recipient, m.content])).toEqual([
        [fromAlice.id, alice.pubkey, bob.pubkey, 'hi bob, old style'],
        [fromBob.id, bob.pubkey, alice.pubkey, 'hi alice, ça va?'],
        [later.id, alice.pubkey, bob.pubkey, 'bye 👋'],
      ])
      expect(aliceView.undecryptable).toBe(1)
      const asked = aliceView.relays.map((r) => r.url).sort()
      expect(asked).toEqual([url(1), url(3), url(4)].map(normalizeRelayUrl).sort())

      const bobView = await (await clientOf(bob)).legacyDms(alice.pubkey)
      expect(bobView.messages.map((m) => m.content)).toEqual(['hi bob, old style', 'hi alice, ça va?', 'bye 👋'])
      expect(bobView.undecryptable).toBe(1)
    } finally {
      await closeAll()
    }
  })
})
