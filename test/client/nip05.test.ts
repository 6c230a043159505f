/**
 * `client.nip05` on the wire: local relays and a local NIP-05 server. A person's profile `nip05` is
 * verified against the server; a person with no relay list whose NIP-05 document names a relay has
 * their posts found by `client.feed` there once the identifier is verified or resolved (the report
 * shows the relay); a document naming another key, or an identifier the person's profile does not
 * claim, applies no evidence; answers survive a restart through storage; lookups go through the
 * proxy's fetch when a proxy is set.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { NostrEvent } from '../../src/crypto/event.js'
import { npubEncode, nprofileEncode } from '../../src/crypto/nip19.js'
import { finalizeEvent } from '../../src/crypto/signature.js'
import { isRendezvousError } from '../../src/errors.js'
import { defaultWebSocketFactory } from '../../src/relay-pool/websocket.js'
import { memoryStorage } from '../../src/storage/memory.js'
import { seedPerson, testClient, type SeededPerson } from '../helpers/client-harness.js'
import { startNip05Server, type Nip05Server } from '../helpers/nip05-server.js'
import { startFleet, type TestFleet } from '../helpers/relay-fleet.js'

let fleet: TestFleet
let server: Nip05Server
const now = (): number => Math.floor(Date.now() / 1000)

function signed(person: SeededPerson, kind: number, content: string, at = now() - 60): NostrEvent {
  return finalizeEvent({ kind, content, tags: [], created_at: at }, person.secretKey)
}

async function store(relay: number, ...events: NostrEvent[]): Promise<void> {
  const results = await fleet.relays[relay]!.storeEvents(events)
  expect(results.every((r) => r.success)).toBe(true)
}

/** A person without any relay list: a profile claiming `nip05` on `profileRelay`, posts on `postRelay`. */
async function personWithoutRelayList(nip05: string, profileRelay: number, postRelay: number): Promise<{ person: SeededPerson; posts: NostrEvent[] }> {
  const person = await seedPerson(fleet, {})
  await store(profileRelay, signed(person, 0, JSON.stringify({ name: nip05.split('@')[0], nip05 })))
  const posts = [signed(person, 1, 'first', now() - 30), signed(person, 1, 'second', now() - 20)]
  await store(postRelay, ...posts)
  return { person, posts }
}

function nip05Sources(client: ReturnType<typeof testClient>, pubkey: string): string[] {
  return client.evidence
    .evidenceFor(pubkey)
    .relays.filter((r) => r.sources.nip05 !== undefined)
    .map((r) => r.url)
}

beforeAll(async () => {
  // 0: the indexer; 1, 2: relays only NIP-05 documents name.
  fleet = await startFleet(3)
  server = await startNip05Server()
}, 60_000)

afterEach(() => {
  server.dropConnections()
})

afterAll(async () => {
  await server?.close()
  await fleet?.close()
})

describe('client.nip05', () => {
  it("verifies a person's profile nip05 against the domain: by pubkey, npub, nprofile and profileVerified", async () => {
    const u = fleet.urls
    const alice = await seedPerson(fleet, { write: [u[1]!] })
    await store(0, signed(alice, 0, JSON.stringify({ name: 'alice', nip05: 'Alice@Alice.test' })))
    server.serve('alice.test', { names: { alice: alice.pubkey }, relays: { [alice.pubkey]: [u[1]!] } })
    const client = testClient({ indexerRelays: [u[0]!], fetch: server.fetch })
    try {
      const verdict = await client.nip05.verify(alice.pubkey)
      expect(verdict).toMatchObject({ valid: true, reason: 'verified', claimed: true, pubkey: alice.pubkey, relays: [u[1]!] })
      expect(verdict.identifier?.display).toBe('alice@alice.test')
      expect(server.requestsFor('alice.test').map((r) => r.query)).toEqual(['name=alice'])
      // Cached: the other forms of the person ask the domain no more.
      expect((await client.nip05.verify(npubEncode(alice.pubkey))).valid).toBe(true)
      expect((await client.nip05.verify(nprofileEncode({ pubkey: alice.pubkey, relays: [u[1]!] }))).cached).toBe(true)
      const profile = await client.profile(alice.pubkey)
      expect(await client.nip05.profileVerified(profile!)).toMatchObject({ valid: true, claimed: true })
      expect(server.requestsFor('alice.test')).toHaveLength(1)
      expect(client.nip05.parse('_@alice.test')?.display).toBe('alice.test')
      expect(client.nip05.parse('not an identifier')).toBeUndefined()
    } finally {
      await client.close()
    }
  })

  it('no profile, a profile without nip05, or a malformed one: a verdict, not an error', async () => {
    const u = fleet.urls
    const nobody = await seedPerson(fleet, {})
    const plain = await seedPerson(fleet, {})
    await store(0, signed(plain, 0, JSON.stringify({ name: 'plain' })))
    const odd = await seedPerson(fleet, {})
    await store(0, signed(odd, 0, JSON.stringify({ name: 'odd', nip05: 'odd person@odd.test' })))
    const client = testClient({ indexerRelays: [u[0]!], fetch: server.fetch })
    try {
      expect(await client.nip05.verify(nobody.pubkey)).toMatchObject({ valid: false, reason: 'no-identifier', relaysApplied: false })
      expect(await client.nip05.verify(plain.pubkey)).toMatchObject({ valid: false, reason: 'no-identifier' })
      expect(await client.nip05.verify(odd.pubkey)).toMatchObject({ valid: false, reason: 'invalid-identifier', claimed: true })
      expect(server.requestsFor('odd.test')).toHaveLength(0)
      await expect(client.nip05.verify('not a person')).rejects.toThrow(TypeError)
      await expect(client.nip05.resolve('not an identifier')).rejects.toThrow(TypeError)
      const forged = { ...(await client.profile(plain.pubkey))!, pubkey: odd.pubkey }
      await expect(client.nip05.profileVerified(forged)).rejects.toThrow(/signed by profile.pubkey/)
    } finally {
      await client.close()
    }
  })

  it("a person with no relay list is read from their NIP-05 relays once the profile's identifier is verified", async () => {
    const u = fleet.urls
    const { person: dave, posts } = await personWithoutRelayList('dave@dave.test', 0, 1)
    server.serve('dave.test', { names: { dave: dave.pubkey }, relays: { [dave.pubkey]: [u[1]!] } })
    const client = testClient({ indexerRelays: [u[0]!], fetch: server.fetch })
    try {
      const before = await client.feed({ authors: [dave.pubkey] })
      expect(before.events).toEqual([])
      expect(before.report.missing).toEqual([{ pubkey: dave.pubkey, reason: 'no-relays' }])

      const verdict = await client.nip05.verify(dave.pubkey)
      expect(verdict).toMatchObject({ valid: true, claimed: true, relaysApplied: true, relays: [u[1]!] })
      expect(nip05Sources(client, dave.pubkey)).toEqual([u[1]!])

      const page = await client.feed({ authors: [dave.pubkey] })
      expect(page.events.map((e) => e.id).sort()).toEqual(posts.map((e) => e.id).sort())
      expect(page.report.missing).toEqual([])
      // Their NIP-05 relay was asked (the indexer too: their profile was seen there).
      const asked = page.report.relays.filter((r) => r.authors.includes(dave.pubkey))
      expect(asked.find((r) => r.url === u[1]!)?.status).toBe('eose')
      expect(page.report.authors[0]).toMatchObject({ pubkey: dave.pubkey, events: 2 })
    } finally {
      await client.close()
    }
  })

  it('resolve finds the person, confirms through the profile held on the document\'s relay, and the feed reads there', async () => {
    const u = fleet.urls
    // Erin's profile is only on one of her NIP-05 relays (resolving asks it), her posts only on the other.
    const { person: erin, posts } = await personWithoutRelayList('_@erin.test', 2, 1)
    server.serve('erin.test', { names: { _: erin.pubkey }, relays: { [erin.pubkey]: [u[1]!, u[2]!] } })
    const client = testClient({ indexerRelays: [u[0]!], fetch: server.fetch })
    try {
      const unconfirmed = await client.nip05.resolve('erin.test', { confirm: false })
      expect(unconfirmed).toMatchObject({ pubkey: erin.pubkey, confirmed: false, relaysApplied: false })
      expect(nip05Sources(client, erin.pubkey)).toEqual([])

      const found = await client.nip05.resolve('ERIN.test')
      expect(found).toMatchObject({ pubkey: erin.pubkey, confirmed: true, relaysApplied: true, cached: true })
      expect(found.identifier.display).toBe('erin.test')
      expect(found.profile?.nip05).toBe('_@erin.test')
      const page = await client.feed({ authors: [erin.pubkey] })
      expect(page.events.map((e) => e.id).sort()).toEqual(posts.map((e) => e.id).sort())
      // Only the document said her posts may be on relay 1 (the profile was seen on relay 2).
      expect(nip05Sources(client, erin.pubkey)).toEqual([u[1]!, u[2]!].sort())
      expect(page.report.relays.filter((r) => r.authors.includes(erin.pubkey)).map((r) => r.url)).toContain(u[1]!)
    } finally {
      await client.close()
    }
  })

  it('a document naming another key applies no evidence, for the person or for the key it names', async () => {
    const u = fleet.urls
    const { person: frank } = await personWithoutRelayList('frank@evil.test', 0, 2)
    const mallory = await seedPerson(fleet, {})
    // The domain says frank@ is mallory, and lists relays for both keys.
    server.serve('evil.test', { names: { frank: mallory.pubkey }, relays: { [frank.pubkey]: [u[2]!], [mallory.pubkey]: [u[2]!] } })
    const client = testClient({ indexerRelays: [u[0]!], fetch: server.fetch })
    try {
      const verdict = await client.nip05.verify(frank.pubkey)
      expect(verdict).toMatchObject({ valid: false, reason: 'mismatch', named: mallory.pubkey, relays: [], relaysApplied: false })
      const resolved = await client.nip05.resolve('frank@evil.test')
      // Mallory's profile (there is none) does not claim the identifier: not confirmed, nothing applied.
      expect(resolved).toMatchObject({ pubkey: mallory.pubkey, confirmed: false, relaysApplied: false })
      expect(nip05Sources(client, frank.pubkey)).toEqual([])
      expect(nip05Sources(client, mallory.pubkey)).toEqual([])
      // Frank's posts are on the relay the domain named: it is not asked, and nothing is found.
      const page = await client.feed({ authors: [frank.pubkey] })
      expect(page.events).toEqual([])
      expect(page.report.relays.map((r) => r.url)).not.toContain(u[2]!)
    } finally {
      await client.close()
    }
  })

  it('an identifier given by the caller is checked but applies nothing: the person did not claim it', async () => {
    const u = fleet.urls
    const grace = await seedPerson(fleet, {})
    server.serve('grace.test', { names: { grace: grace.pubkey }, relays: { [grace.pubkey]: [u[1]!] } })
    const client = testClient({ indexerRelays: [u[0]!], fetch: server.fetch })
    try {
      expect(await client.nip05.verify(grace.pubkey, 'grace@grace.test')).toMatchObject({ valid: true, claimed: false, relaysApplied: false })
      expect(nip05Sources(client, grace.pubkey)).toEqual([])
    } finally {
      await client.close()
    }
  })

  it('what the domain did is a verdict; a failed resolve throws its code; aborts and close are the client\'s', async () => {
    const u = fleet.urls
    const { person: heidi } = await personWithoutRelayList('heidi@broken.test', 0, 0)
    server.serve('broken.test', { type: 'redirect', status: 302, location: `${server.origin}/redirected?name=heidi`, target: { type: 'document', names: { heidi: heidi.pubkey } } })
    server.serve('slow.test', { type: 'slow', delayMs: 5_000, then: { type: 'document', names: { ivan: heidi.pubkey } } })
    const client = testClient({ indexerRelays: [u[0]!], fetch: server.fetch })
    try {
      expect(await client.nip05.verify(heidi.pubkey)).toMatchObject({ valid: false, reason: 'unavailable', code: 'NIP05_REDIRECTED', relaysApplied: false })
      const error = await client.nip05.resolve('heidi@broken.test').catch((e: unknown) => e)
      expect(isRendezvousError(error, 'NIP05_REDIRECTED')).toBe(true)
      const controller = new AbortController()
      const pending = client.nip05.resolve('ivan@slow.test', { signal: controller.signal }).catch((e: unknown) => e)
      controller.abort()
      expect(isRendezvousError(await pending, 'CLIENT_ABORTED')).toBe(true)
      const closing = client.nip05.resolve('ivan@slow.test').catch((e: unknown) => e)
      await new Promise((resolve) => setTimeout(resolve, 20))
      await client.close()
      expect(isRendezvousError(await closing, 'CLIENT_CLOSED')).toBe(true)
      await expect(client.nip05.resolve('ivan@slow.test')).rejects.toSatisfy((e: unknown) => isRendezvousError(e, 'CLIENT_CLOSED'))
    } finally {
      await client.close()
    }
  })

  it('answers survive a restart through the storage; evidence is saved with the client\'s', async () => {
    const u = fleet.urls
    const { person: judy, posts } = await personWithoutRelayList('judy@judy.test', 0, 1)
    server.serve('judy.test', { names: { judy: judy.pubkey }, relays: { [judy.pubkey]: [u[1]!] } })
    const storage = memoryStorage()
    try {
      const first = testClient({ indexerRelays: [u[0]!], fetch: server.fetch, storage })
      expect((await first.nip05.verify(judy.pubkey)).relaysApplied).toBe(true)
      await first.close()
      expect(await storage.getRecord('settings', 'nip05:judy@judy.test')).toMatchObject({ pubkey: judy.pubkey, relays: [u[1]!] })

      const second = testClient({ indexerRelays: [u[0]!], fetch: server.fetch, storage })
      try {
        expect(await second.nip05.verify(judy.pubkey)).toMatchObject({ valid: true, cached: true })
        expect(server.requestsFor('judy.test')).toHaveLength(1)
        // The evidence came back from storage too: the feed reads judy's relay.
        const page = await second.feed({ authors: [judy.pubkey] })
        expect(page.events).toHaveLength(posts.length)
      } finally {
        await second.close()
      }
    } finally {
      await storage.close()
    }
  })

  it('takes its limits from ClientOptions.nip05', async () => {
    const u = fleet.urls
    server.serve('sluggish.test', { type: 'slow', delayMs: 5_000, then: { type: 'document', names: {} } })
    const client = testClient({ indexerRelays: [u[0]!], fetch: server.fetch, nip05: { timeoutMs: 150 } })
    try {
      const started = Date.now()
      const error = await client.nip05.resolve('x@sluggish.test').catch((e: unknown) => e)
      expect(isRendezvousError(error, 'NIP05_TIMEOUT')).toBe(true)
      expect(Date.now() - started).toBeLessThan(2_000)
    } finally {
      await client.close()
    }
  })

  it("goes through the proxy's fetch when a proxy is set, never the app's", async () => {
    const u = fleet.urls
    const kate = await seedPerson(fleet, {})
    await store(0, signed(kate, 0, JSON.stringify({ nip05: 'kate@kate.test' })))
    server.serve('kate.test', { names: { kate: kate.pubkey } })
    const throughProxy: string[] = []
    const proxyFetch: typeof fetch = (input, init) => {
      throughProxy.push(String(input))
      return server.fetch(input, init)
    }
    const appFetch = (() => {
      throw new Error('the app fetch must not be used when a proxy is set')
    }) as unknown as typeof fetch
    const client = testClient({
      indexerRelays: [u[0]!],
      fetch: appFetch,
      proxy: { webSocketFactory: defaultWebSocketFactory(16 * 1024 * 1024), fetch: proxyFetch, reachesOnion: false },
    })
    try {
      expect((await client.nip05.verify(kate.pubkey)).valid).toBe(true)
      expect(throughProxy).toEqual(['https://kate.test/.well-known/nostr.json?name=kate'])
    } finally {
      await client.close()
    }
  })
})
