/**
 * Profiles and follow lists on local relays: reads pick the newest copy wherever it is (the
 * person's outboxes, the indexer); edits start from the newest copy even when only one of the
 * user's outboxes holds it, keep every field, tag and the content they do not change, refuse to
 * overwrite content they cannot read, and need a signer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FOLLOW_EDIT_RECORD } from '../../src/client/context.js'
import type { NostrEvent } from '../../src/crypto/event.js'
import { generateSecretKey, getPublicKey } from '../../src/crypto/keys.js'
import { npubEncode, nprofileEncode } from '../../src/crypto/nip19.js'
import { createSecretKeySigner } from '../../src/crypto/secret-key-signer.js'
import { finalizeEvent } from '../../src/crypto/signature.js'
import type { Signer } from '../../src/crypto/signer.js'
import { isRendezvousError } from '../../src/errors.js'
import { seedPerson, testClient, type SeededPerson } from '../helpers/client-harness.js'
import { openRawClient, startFleet, type TestFleet } from '../helpers/relay-fleet.js'

let fleet: TestFleet
const now = (): number => Math.floor(Date.now() / 1000)
const somebody = (): string => getPublicKey(generateSecretKey())

function signed(person: SeededPerson, kind: number, content: string, tags: string[][], at: number): NostrEvent {
  return finalizeEvent({ kind, content, tags, created_at: at }, person.secretKey)
}

async function store(relay: number, ...events: NostrEvent[]): Promise<void> {
  const results = await fleet.relays[relay]!.storeEvents(events)
  expect(results.every((r) => r.success)).toBe(true)
}

/** What one relay holds of a person's replaceable kind, read with a raw client (not the pool under test). */
async function held(relay: number, pubkey: string, kind: number): Promise<NostrEvent | undefined> {
  const raw = await openRawClient(fleet.urls[relay]!)
  try {
    const events = await raw.query([{ kinds: [kind], authors: [pubkey] }])
    return events[0]
  } finally {
    await raw.close()
  }
}

/** Every EVENT message any relay of the fleet received from `pubkey`. */
function sentBy(pubkey: string): unknown[] {
  return fleet.relays.flatMap((r) => r.messagesOfType('EVENT').filter((m) => (m[1] as NostrEvent | undefined)?.pubkey === pubkey))
}

beforeAll(async () => {
  // 0: indexer; 1, 2: outboxes; 3: an inbox; 4: another person's relay.
  fleet = await startFleet(5)
}, 60_000)

afterAll(async () => {
  await fleet?.close()
})

describe('profiles', () => {
  it('reads the newest of two copies on different relays and picks the string fields', async () => {
    const u = fleet.urls
    const alice = await seedPerson(fleet, { write: [u[1]!, u[2]!], read: [u[3]!] })
    const old = signed(alice, 0, JSON.stringify({ name: 'old alice' }), [], now() - 300)
    const newer = signed(alice, 0, JSON.stringify({ name: 'alice', display_name: 'Alice A.', about: 'hi', lud16: 42, website: 'x' }), [], now() - 100)
    await store(0, old)
    await store(1, old)
    await store(2, newer)
    const client = testClient({ indexerRelays: [u[0]!] })
    try {
      const profile = await client.profile(npubEncode(alice.pubkey))
      expect(profile?.event.id).toBe(newer.id)
      expect(profile?.name).toBe('alice')
      expect(profile?.displayName).toBe('Alice A.')
      expect(profile?.about).toBe('hi')
      expect(profile?.lud16).toBeUndefined()
      expect(profile?.fields).toEqual({ name: 'alice', display_name: 'Alice A.', about: 'hi', lud16: 42, website: 'x' })
      // Nobody's profile: undefined, not an error.
      expect(await client.profile(somebody())).toBeUndefined()
    } finally {
      await client.close()
    }
  })

  it('asks the relays an nprofile names: a profile held only there is found', async () => {
    const u = fleet.urls
    const ivan = await seedPerson(fleet, {}) // no relay list anywhere
    const kind0 = signed(ivan, 0, JSON.stringify({ name: 'ivan' }), [], now() - 60)
    await store(4, kind0)
    const client = testClient({ indexerRelays: [u[0]!] })
    try {
      expect(await client.profile(ivan.pubkey)).toBeUndefined()
      const found = await client.profile(nprofileEncode({ pubkey: ivan.pubkey, relays: [u[4]!] }))
      expect(found?.event.id).toBe(kind0.id)
      expect(found?.name).toBe('ivan')
    } finally {
      await client.close()
    }
  })

  it('reads non-object content as empty fields', async () => {
    const carol = await seedPerson(fleet, { write: [fleet.urls[4]!] })
    await store(4, signed(carol, 0, '["not", "an object"]', [], now() - 10))
    const client = testClient({ indexerRelays: [fleet.urls[0]!] })
    try {
      const profile = await client.profile(carol.pubkey)
      expect(profile?.fields).toEqual({})
      expect(profile?.name).toBeUndefined()
    } finally {
      await client.close()
    }
  })

  it('edits the newest copy, found on an outbox after an older one was cached, keeping fields and tags', async () => {
    const u = fleet.urls
    const bob = await seedPerson(fleet, { write: [u[1]!, u[2]!], read: [u[3]!] })
    const v1 = signed(bob, 0, JSON.stringify({ name: 'bob', website: 'https://bob.example' }), [['i', 'github:bob', 'p1']], now() - 300)
    await store(0, v1)
    await store(1, v1)
    const client = testClient({ signer: bob.signer, indexerRelays: [u[0]!] })
    try {
      expect((await client.profile())?.event.id).toBe(v1.id)
      // Another client of bob's writes a newer copy to one outbox only; this client has v1 cached.
      const v2 = signed(bob, 0, JSON.stringify({ name: 'bob', website: 'https://bob.example', custom: { deep: [1] }, about: 'old' }), [['i', 'github:bob', 'p1'], ['t', 'v2']], now() - 100)
      await store(2, v2)
      const result = await client.updateProfile({ about: 'relays', website: null, name: undefined })
      expect(JSON.parse(result.event.content)).toEqual({ name: 'bob', custom: { deep: [1] }, about: 'relays' })
      expect(result.event.tags).toEqual(v2.tags)
      expect(result.event.created_at).toBeGreaterThan(v2.created_at)
      const reasons = new Map(result.report.targets.map((t) => [t.url, t.reasons]))
      expect(reasons.get(u[1]!)).toEqual(['my-outbox'])
      expect(reasons.get(u[2]!)).toEqual(['my-outbox'])
      expect(reasons.get(u[0]!)).toEqual(['indexer'])
      for (const relay of [0, 1, 2]) expect((await held(relay, bob.pubkey, 0))?.id).toBe(result.event.id)
      // (So `sentBy`, which the refusals below rely on, does see what the client sends.)
      expect(sentBy(bob.pubkey).length).toBeGreaterThanOrEqual(3)
      expect((await client.profile())?.about).toBe('relays')
    } finally {
      await client.close()
    }
  })

  it('refuses to edit a profile whose newest content is not a JSON object, sending nothing', async () => {
    const u = fleet.urls
    const dave = await seedPerson(fleet, { write: [u[4]!] })
    await store(4, signed(dave, 0, JSON.stringify({ name: 'dave' }), [], now() - 300))
    await store(4, signed(dave, 0, 'dave, who writes prose here', [], now() - 100))
    const client = testClient({ signer: dave.signer, indexerRelays: [u[0]!] })
    try {
      const error = await client.updateProfile({ name: 'David' }).catch((e: unknown) => e)
      expect(isRendezvousError(error, 'CLIENT_LIST_UNREADABLE')).toBe(true)
      expect(sentBy(dave.pubkey)).toEqual([])
      expect((await held(4, dave.pubkey, 0))?.content).toBe('dave, who writes prose here')
    } finally {
      await client.close()
    }
  })

  it('lets TRACKER_UNCONFIRMED through when too few relays answered, and honours an abort', async () => {
    const ivy = await seedPerson(fleet, { write: [fleet.urls[1]!] })
    const client = testClient({ signer: ivy.signer, indexerRelays: [fleet.urls[0]!] })
    try {
      // Two relays exist to ask (the indexer and ivy's outbox): ten answers cannot be had.
      const error = await client.updateProfile({ name: 'ivy' }, { minAnswers: 10 }).catch((e: unknown) => e)
      expect(isRendezvousError(error, 'TRACKER_UNCONFIRMED')).toBe(true)
      const aborted = await client.follow(somebody(), { signal: AbortSignal.abort() }).catch((e: unknown) => e)
      expect(isRendezvousError(aborted, 'CLIENT_ABORTED')).toBe(true)
      const abortedRead = await client.profile(ivy.pubkey, { signal: AbortSignal.abort() }).catch((e: unknown) => e)
      expect(isRendezvousError(abortedRead, 'CLIENT_ABORTED')).toBe(true)
      expect(sentBy(ivy.pubkey)).toEqual([])
    } finally {
      await client.close()
    }
  })

  it('needs a signer to edit', async () => {
    const erin = await seedPerson(fleet, { write: [fleet.urls[1]!] })
    const client = testClient({ pubkey: erin.pubkey, indexerRelays: [fleet.urls[0]!] })
    try {
      for (const call of [() => client.updateProfile({ name: 'erin' }), () => client.follow(somebody()), () => client.unfollow(somebody())]) {
        const error = await call().catch((e: unknown) => e)
        expect(isRendezvousError(error, 'CLIENT_NO_SIGNER')).toBe(true)
      }
      expect(sentBy(erin.pubkey)).toEqual([])
    } finally {
      await client.close()
    }
  })

  it('fails with CLIENT_NO_TARGETS before signing when there is nowhere to publish', async () => {
    const signer = createSecretKeySigner(generateSecretKey())
    let signed = 0
    const counting: Signer = {
      getPublicKey: () => signer.getPublicKey(),
      signEvent: async (template) => {
        signed++
        return signer.signEvent(template)
      },
      nip04: signer.nip04,
      nip44: signer.nip44,
    }
    const client = testClient({ signer: counting, indexerRelays: [] })
    try {
      const error = await client.updateProfile({ name: 'nobody' }).catch((e: unknown) => e)
      expect(isRendezvousError(error, 'CLIENT_NO_TARGETS')).toBe(true)
      expect(signed).toBe(0)
    } finally {
      await client.close()
    }
  })
})

describe('follow lists', () => {
  it('reads the newest list, valid people once each, with hints and petnames', async () => {
    const u = fleet.urls
    const frank = await seedPerson(fleet, { write: [u[1]!, u[2]!] })
    const [a, b] = [somebody(), somebody()]
    await store(0, signed(frank, 3, '', [['p', a]], now() - 300))
    await store(2, signed(frank, 3, '', [['p', a, 'wss://a.example', 'ann'], ['p', 'not-a-key'], ['p', b, ''], ['p', a, '', 'dup']], now() - 100))
    const client = testClient({ indexerRelays: [u[0]!] })
    try {
      const list = await client.follows(frank.pubkey)
      expect(list.follows).toEqual([{ pubkey: a, relay: 'wss://a.example', petname: 'ann' }, { pubkey: b }])
      const none = await client.follows(somebody())
      expect(none).toMatchObject({ event: undefined, follows: [] })
    } finally {
      await client.close()
    }
  })

  it('follows and unfollows on the newest list (on an outbox, not the indexer), keeping content, other tags and order', async () => {
    const u = fleet.urls
    const gina = await seedPerson(fleet, { write: [u[1]!, u[2]!], read: [u[3]!] })
    const [a, b, c, d, e] = [somebody(), somebody(), somebody(), somebody(), somebody()]
    const content = JSON.stringify({ [u[1]!]: { read: true, write: true } })
    const v1 = signed(gina, 3, content, [['p', a]], now() - 300)
    await store(0, v1)
    await store(1, v1)
    const client = testClient({ signer: gina.signer, indexerRelays: [u[0]!] })
    try {
      expect((await client.follows()).event?.id).toBe(v1.id)
      // Another client of gina's writes a newer list to one outbox only; this client has v1 cached.
      const v2Tags = [['p', a, '', 'ann'], ['t', 'nostr'], ['p', b], ['a', `30000:${gina.pubkey}:friends`], ['p', c]]
      const v2 = signed(gina, 3, content, v2Tags, now() - 100)
      await store(2, v2)
      const followed = await client.follow([nprofileEncode({ pubkey: d, relays: [u[4]!] }), { pubkey: b, petname: 'bea' }, a])
      expect(followed.event.content).toBe(content)
      expect(followed.event.tags).toEqual([
        ['p', a, '', 'ann'],
        ['t', 'nostr'],
        ['p', b, '', 'bea'],
        ['a', `30000:${gina.pubkey}:friends`],
        ['p', c],
        ['p', d, u[4]!],
      ])
      expect(followed.event.created_at).toBeGreaterThan(v2.created_at)
      const record = await client.storage.getRecord('settings', FOLLOW_EDIT_RECORD)
      expect(record).toMatchObject({ eventId: followed.event.id })
      expect(typeof (record as { changedAt: unknown }).changedAt).toBe('number')
      // The next read sees the change (stored locally, and on the relays).
      expect((await client.follows()).follows.map((f) => f.pubkey)).toEqual([a, b, c, d])
      for (const relay of [0, 1, 2]) expect((await held(relay, gina.pubkey, 3))?.id).toBe(followed.event.id)

      const unfollowed = await client.unfollow([npubEncode(c), e])
      expect(unfollowed.event.tags).toEqual([['p', a, '', 'ann'], ['t', 'nostr'], ['p', b, '', 'bea'], ['a', `30000:${gina.pubkey}:friends`], ['p', d, u[4]!]])
      expect(unfollowed.event.content).toBe(content)
      expect(await client.storage.getRecord('settings', FOLLOW_EDIT_RECORD)).toMatchObject({ eventId: unfollowed.event.id })
    } finally {
      await client.close()
    }
  })

  it('edits made at the same time are applied one after the other: none is lost', async () => {
    const u = fleet.urls
    const hana = await seedPerson(fleet, { write: [u[1]!, u[2]!] })
    const people = [somebody(), somebody(), somebody(), somebody()]
    const client = testClient({ signer: hana.signer, indexerRelays: [u[0]!] })
    const fresh = testClient({ pubkey: hana.pubkey, indexerRelays: [u[0]!] })
    try {
      // Four follows and a profile edit at once: each follow must start from the previous one's list.
      const results = await Promise.all([...people.map((p) => client.follow(p)), client.updateProfile({ name: 'hana' })])
      const lists = results.slice(0, 4).map((r) => r.event)
      const createdAt = lists.map((e) => e.created_at)
      expect(new Set(createdAt).size).toBe(4)
      const newest = lists.reduce((a, b) => (b.created_at > a.created_at ? b : a))
      expect(newest.tags.filter((t) => t[0] === 'p').map((t) => t[1]).sort()).toEqual([...people].sort())
      // Another client reading the relays sees every follow.
      expect((await fresh.follows()).follows.map((f) => f.pubkey).sort()).toEqual([...people].sort())
      expect((await fresh.profile())?.name).toBe('hana')
    } finally {
      await client.close()
      await fresh.close()
    }
  })

  it('rejects malformed people before any network work', async () => {
    const hank = await seedPerson(fleet, { write: [fleet.urls[1]!] })
    const client = testClient({ signer: hank.signer, indexerRelays: [fleet.urls[0]!] })
    try {
      await expect(client.follow('npub1nonsense')).rejects.toThrow(TypeError)
      await expect(client.follow({ pubkey: somebody(), relay: 'not a url' })).rejects.toThrow(TypeError)
      expect(sentBy(hank.pubkey)).toEqual([])
    } finally {
      await client.close()
    }
  })
})
