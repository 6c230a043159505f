/**
 * NIP-51 lists through the client, on local relays: edits start from the newest copy wherever it
 * is and keep what another client wrote, concurrent edits of one list both survive, a private part
 * that cannot be decrypted stops the edit (the relays keep the old list), private entries never
 * reach a relay in the clear, mutes hide posts in feeds, live feeds and threads (and say how many),
 * sets round trip and are deleted with NIP-09, search finds the user's search relays, and blocked
 * relays reach the relay settings (from an edit, a read, or storage at start-up) and are avoided.
 */
import * as toolsNip44 from 'nostr-tools/nip44'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { NostrEvent } from '../../src/crypto/event.js'
import { generateSecretKey, getPublicKey } from '../../src/crypto/keys.js'
import { neventEncode, nprofileEncode, npubEncode } from '../../src/crypto/nip19.js'
import { finalizeEvent } from '../../src/crypto/signature.js'
import { isRendezvousError } from '../../src/errors.js'
import { normalizeRelayUrl } from '../../src/relay-pool/url.js'
import { memoryStorage } from '../../src/storage/memory.js'
import { seedPerson, testClient, type SeededPerson } from '../helpers/client-harness.js'
import { openRawClient, startFleet, startRelay, waitFor, type TestFleet, type TestRelay } from '../helpers/relay-fleet.js'

let fleet: TestFleet
const now = (): number => Math.floor(Date.now() / 1000)
const somebody = (): string => getPublicKey(generateSecretKey())

function signed(person: SeededPerson, kind: number, content: string, tags: string[][], at: number): NostrEvent {
  return finalizeEvent({ kind, content, tags, created_at: at }, person.secretKey)
}

/** Private entries as another client (nostr-tools) writes them: NIP-44 to oneself. */
function theirPrivate(person: SeededPerson, entries: string[][]): string {
  return toolsNip44.encrypt(JSON.stringify(entries), toolsNip44.getConversationKey(person.secretKey, person.pubkey))
}

/** Private entries of a list as nostr-tools reads them. */
function readPrivate(person: SeededPerson, content: string): string[][] {
  return content === '' ? [] : (JSON.parse(toolsNip44.decrypt(content, toolsNip44.getConversationKey(person.secretKey, person.pubkey))) as string[][])
}

async function store(relay: number, ...events: NostrEvent[]): Promise<void> {
  const results = await fleet.relays[relay]!.storeEvents(events)
  expect(results.every((r) => r.success)).toBe(true)
}

/** What one relay holds, read with a raw client (not the pool under test). */
async function held(relay: number | TestRelay, filter: object): Promise<NostrEvent[]> {
  const raw = await openRawClient(typeof relay === 'number' ? fleet.urls[relay]! : relay.url)
  try {
    return await raw.query([filter])
  } finally {
    await raw.close()
  }
}

async function heldList(relay: number, pubkey: string, kind: number): Promise<NostrEvent | undefined> {
  return (await held(relay, { kinds: [kind], authors: [pubkey] }))[0]
}

/** Every EVENT message any relay of the fleet received from `pubkey`. */
function sentBy(pubkey: string): NostrEvent[] {
  return fleet.relays.flatMap((r) => r.messagesOfType('EVENT').map((m) => m[1] as NostrEvent).filter((e) => e?.pubkey === pubkey))
}

beforeAll(async () => {
  // 0: indexer; 1, 2: outboxes; 3: an inbox; 4: another relay (someone's outbox, or one to block).
  fleet = await startFleet(5)
}, 60_000)

afterAll(async () => {
  await fleet?.close()
})

describe('editing without clobbering', () => {
  it('an edit started from a stale cached copy finds the newer one on another outbox and keeps its entries', async () => {
    const u = fleet.urls
    const alice = await seedPerson(fleet, { write: [u[1]!, u[2]!], read: [u[3]!] })
    const [a, b, c] = [somebody(), somebody(), somebody()]
    const v1 = signed(alice, 10000, '', [['p', a]], now() - 300)
    await store(0, v1)
    await store(1, v1)
    const client = testClient({ signer: alice.signer, indexerRelays: [u[0]!] })
    try {
      expect((await client.lists.mutes()).event?.id).toBe(v1.id)
      // Another client of alice's (nostr-tools for the private part) writes a newer list to one outbox only.
      const v2Private = [['p', b], ['word', 'secret word'], ['x-private', 'kept']]
      const v2 = signed(alice, 10000, theirPrivate(alice, v2Private), [['p', a], ['x-unknown', '1', '2'], ['t', 'nostr']], now() - 100)
      await store(2, v2)
      const result = await client.lists.mute({ people: [c], words: ['Giveaway'] })
      expect(result.event.tags).toEqual([['p', a], ['x-unknown', '1', '2'], ['t', 'nostr'], ['p', c], ['word', 'giveaway']])
      expect(readPrivate(alice, result.event.content)).toEqual(v2Private)
      expect(result.event.created_at).toBeGreaterThan(v2.created_at)
      expect(result.list.privateState).toBe('nip44')
      expect(result.list.entries.filter((e) => e.private).map((e) => e.value)).toEqual([b, 'secret word', 'kept'])
      for (const relay of [0, 1, 2]) expect((await heldList(relay, alice.pubkey, 10000))?.id).toBe(result.event.id)
      const reasons = new Map(result.report.targets.map((t) => [t.url, t.reasons]))
      expect(reasons.get(u[1]!)).toEqual(['my-outbox'])
      expect(reasons.get(u[0]!)).toEqual(['indexer'])
      // The read back: public and private entries, typed.
      const mutes = await client.lists.mutes()
      expect(mutes.people.map((e) => [e.value, e.private])).toEqual([[a, false], [c, false], [b, true]])
      expect(mutes.words.map((e) => e.value)).toEqual(['giveaway', 'secret word'])
      expect(mutes.hashtags.map((e) => e.value)).toEqual(['nostr'])
    } finally {
      await client.close()
    }
  })

  it('two mutes started at once both survive', async () => {
    const u = fleet.urls
    const bob = await seedPerson(fleet, { write: [u[1]!] })
    const [a, b] = [somebody(), somebody()]
    const client = testClient({ signer: bob.signer, indexerRelays: [u[0]!] })
    try {
      const [first, second] = await Promise.all([client.lists.mute({ people: [a] }), client.lists.mute({ people: [b] }, { private: true })])
      expect(second.event.created_at).toBeGreaterThan(first.event.created_at)
      const final = await heldList(1, bob.pubkey, 10000)
      expect(final?.id).toBe(second.event.id)
      expect(final?.tags).toEqual([['p', a]])
      expect(readPrivate(bob, final!.content)).toEqual([['p', b]])
    } finally {
      await client.close()
    }
  })

  it('a private part that cannot be decrypted refuses the edit: nothing is sent, the relay keeps the old list', async () => {
    const u = fleet.urls
    const carol = await seedPerson(fleet, { write: [u[1]!] })
    // Encrypted to someone else (a bug in another client, or a key mix-up): carol cannot read it.
    const stranger = generateSecretKey()
    const content = toolsNip44.encrypt(JSON.stringify([['p', somebody()]]), toolsNip44.getConversationKey(stranger, carol.pubkey))
    const old = signed(carol, 10000, content, [['p', somebody()]], now() - 100)
    await store(1, old)
    const client = testClient({ signer: carol.signer, indexerRelays: [u[0]!] })
    try {
      const read = await client.lists.mutes()
      expect(read.event?.id).toBe(old.id)
      expect(read.privateState).toBe('unreadable')
      for (const edit of [() => client.lists.mute({ words: ['x'] }), () => client.lists.unmute({ people: [read.people[0]!.value] })]) {
        const error = await edit().catch((e: unknown) => e)
        expect(isRendezvousError(error, 'CLIENT_LIST_UNREADABLE')).toBe(true)
        expect(isRendezvousError((error as Error).cause, 'LIST_PRIVATE_UNREADABLE')).toBe(true)
      }
      expect(sentBy(carol.pubkey)).toEqual([])
      expect((await heldList(1, carol.pubkey, 10000))?.id).toBe(old.id)
    } finally {
      await client.close()
    }
  })

  it('edits need a signer; a read-only client reads public entries and sees the private part locked', async () => {
    const u = fleet.urls
    const dave = await seedPerson(fleet, { write: [u[1]!] })
    const list = signed(dave, 10003, theirPrivate(dave, [['e', 'f'.repeat(64)]]), [['e', 'e'.repeat(64)]], now() - 50)
    await store(1, list)
    const client = testClient({ pubkey: dave.pubkey, indexerRelays: [u[0]!] })
    try {
      const bookmarks = await client.lists.bookmarks()
      expect(bookmarks.privateState).toBe('locked')
      expect(bookmarks.notes.map((e) => e.value)).toEqual(['e'.repeat(64)])
      const error = await client.lists.bookmark({ notes: ['a'.repeat(64)] }).catch((e: unknown) => e)
      expect(isRendezvousError(error, 'CLIENT_NO_SIGNER')).toBe(true)
      await expect(client.lists.get(1)).rejects.toThrow(TypeError)
      await expect(client.lists.get(30000)).rejects.toThrow(TypeError)
      await expect(client.lists.mute({ people: ['not a key'] })).rejects.toThrow(TypeError)
    } finally {
      await client.close()
    }
  })
})

describe('private entries on the wire', () => {
  it('bookmarks: public ones in the tags, private ones only as NIP-44 ciphertext; the owner reads both, others only the public', async () => {
    const u = fleet.urls
    const erin = await seedPerson(fleet, { write: [u[1]!, u[2]!] })
    const publicNote = 'a1'.repeat(32)
    const secretNote = 'b2'.repeat(32)
    const article = `30023:${erin.pubkey}:my-article`
    const client = testClient({ signer: erin.signer, indexerRelays: [u[0]!] })
    const other = testClient({ indexerRelays: [u[0]!] })
    const again = testClient({ signer: erin.signer, indexerRelays: [u[0]!] })
    try {
      await client.lists.bookmark({ notes: [neventEncode({ id: publicNote, relays: [u[4]!] })], hashtags: ['#Nostr'], urls: ['https://example.com/page'] })
      const result = await client.lists.bookmark({ notes: [secretNote], addresses: [article] }, { private: true })
      const onRelay = await heldList(2, erin.pubkey, 10003)
      expect(onRelay?.id).toBe(result.event.id)
      expect(onRelay?.tags).toEqual([['e', publicNote, u[4]!], ['t', 'nostr'], ['r', 'https://example.com/page']])
      // Nothing private in the clear anywhere in the event the relay holds.
      expect(JSON.stringify(onRelay)).not.toContain(secretNote)
      expect(JSON.stringify(onRelay)).not.toContain('my-article')
      expect(readPrivate(erin, onRelay!.content)).toEqual([['e', secretNote], ['a', article]])

      // A fresh client of erin's (nothing cached) decrypts; someone else does not.
      const mine = await again.lists.bookmarks()
      expect(mine.notes.map((e) => [e.value, e.private])).toEqual([[publicNote, false], [secretNote, true]])
      expect(mine.addresses.map((e) => e.value)).toEqual([article])
      const theirs = await other.lists.bookmarks({ person: npubEncode(erin.pubkey) })
      expect(theirs.privateState).toBe('locked')
      expect(theirs.notes.map((e) => e.value)).toEqual([publicNote])

      // Unbookmarking takes an entry out of either side.
      const removed = await again.lists.unbookmark({ notes: [secretNote, publicNote] })
      expect(removed.event.tags).toEqual([['t', 'nostr'], ['r', 'https://example.com/page']])
      expect(readPrivate(erin, removed.event.content)).toEqual([['a', article]])
      // Pins: public by default, with the nevent's relay as a hint.
      const pinned = await again.lists.pin([neventEncode({ id: publicNote, relays: [u[4]!] })])
      expect(pinned.event.kind).toBe(10001)
      expect((await other.lists.pins({ person: erin.pubkey })).notes.map((e) => e.tag)).toEqual([['e', publicNote, u[4]!]])
      expect((await again.lists.unpin(publicNote)).event.tags).toEqual([])
    } finally {
      await Promise.all([client.close(), other.close(), again.close()])
    }
  })
})

describe('sets', () => {
  it('follow sets and relay sets round trip; a deleted set is gone (NIP-09) and can be made again', async () => {
    const u = fleet.urls
    const fay = await seedPerson(fleet, { write: [u[1]!], read: [u[3]!] })
    const [a, b, c] = [somebody(), somebody(), somebody()]
    const client = testClient({ signer: fay.signer, indexerRelays: [u[0]!] })
    const other = testClient({ indexerRelays: [u[0]!] })
    try {
      const devs = await client.lists.editFollowSet('devs', { add: [a, nprofileEncode({ pubkey: b, relays: [u[4]!] })], title: 'Developers', description: 'people who ship' })
      expect(devs.event.tags).toEqual([['d', 'devs'], ['title', 'Developers'], ['description', 'people who ship'], ['p', a], ['p', b, u[4]!]])
      // Members are not addressees: the set goes to fay's outbox and the indexer only.
      expect(devs.report.targets.map((t) => t.url).sort()).toEqual([u[0]!, u[1]!].sort())
      // A relay outside fay's lists keeps this first version (it will never hear of the deletion).
      await store(4, devs.event)
      await client.lists.editFollowSet('friends', { add: [c] }, { private: true })
      await client.lists.editFollowSet('devs', { remove: [a], title: 'Devs' })

      const sets = await other.lists.followSets({ person: fay.pubkey })
      expect(sets.map((s) => s.identifier).sort()).toEqual(['devs', 'friends'])
      const theirDevs = sets.find((s) => s.identifier === 'devs')!
      expect(theirDevs.title).toBe('Devs')
      expect(theirDevs.description).toBe('people who ship')
      expect(theirDevs.people.map((p) => p.value)).toEqual([b])
      const theirFriends = sets.find((s) => s.identifier === 'friends')!
      expect(theirFriends.people).toEqual([])
      expect(theirFriends.privateState).toBe('locked')
      expect((await client.lists.followSet('friends'))?.people.map((p) => [p.value, p.private])).toEqual([[c, true]])

      const home = await client.lists.editRelaySet('home', { add: ['ws://127.0.0.1:1/', u[4]!], title: 'Home' })
      expect(home.event.tags).toEqual([['d', 'home'], ['title', 'Home'], ['relay', 'ws://127.0.0.1:1'], ['relay', u[4]!]])
      const readBack = await other.lists.relaySet('home', { person: fay.pubkey })
      expect(readBack?.urls).toEqual(['ws://127.0.0.1:1', u[4]!])
      expect((await other.lists.relaySets({ person: fay.pubkey })).map((s) => s.identifier)).toEqual(['home'])

      // Deletion: a kind 5 naming the set's coordinate, dated at or after its newest version.
      const deletion = await client.lists.deleteFollowSet('devs')
      expect(deletion.event.kind).toBe(5)
      expect(deletion.event.tags).toEqual([['a', `30000:${fay.pubkey}:devs`], ['k', '30000']])
      expect(deletion.report.targets.map((t) => t.status)).toEqual(['ok', 'ok'])
      // The test relays honour it (the set is gone from them)...
      expect(await held(1, { kinds: [30000], authors: [fay.pubkey], '#d': ['devs'] })).toEqual([])
      const fresh = testClient({ indexerRelays: [u[0]!] })
      try {
        expect(await fresh.lists.followSet('devs', { person: fay.pubkey })).toBeUndefined()
        expect((await fresh.lists.followSets({ person: fay.pubkey })).map((s) => s.identifier)).toEqual(['friends'])
      } finally {
        await fresh.close()
      }
      // ...and a relay that never saw the deletion does not bring the set back to this client.
      expect((await held(4, { kinds: [30000], authors: [fay.pubkey], '#d': ['devs'] })).map((e) => e.id)).toEqual([devs.event.id])
      expect(await client.lists.followSet('devs', { relays: [u[4]!] })).toBeUndefined()
      expect((await client.lists.followSets({ relays: [u[4]!] })).map((s) => s.identifier)).toEqual(['friends'])
      // Made again: a new version after the deletion, starting empty.
      const remade = await client.lists.editFollowSet('devs', { add: [c] })
      expect(remade.event.created_at).toBeGreaterThan(deletion.event.created_at)
      expect(remade.event.tags).toEqual([['d', 'devs'], ['p', c]])
      expect((await other.lists.followSet('devs', { person: fay.pubkey }))?.people.map((p) => p.value)).toEqual([c])
    } finally {
      await Promise.all([client.close(), other.close()])
    }
  })
})

describe('mutes in feeds and threads', () => {
  let gus: SeededPerson
  let noisy: SeededPerson
  let friend: SeededPerson
  const posts: Record<string, NostrEvent> = {}

  beforeAll(async () => {
    const u = fleet.urls
    gus = await seedPerson(fleet, { write: [u[1]!] })
    noisy = await seedPerson(fleet, { write: [u[4]!], read: [u[4]!] })
    friend = await seedPerson(fleet, { write: [u[4]!], read: [u[4]!] })
    const t = now() - 1_000
    const note = (who: SeededPerson, at: number, content: string, tags: string[][] = []): NostrEvent => signed(who, 1, content, tags, at)
    posts.fine = note(friend, t + 1, 'a fine post')
    posts.noisy = note(noisy, t + 2, 'noise')
    posts.word = note(friend, t + 3, 'Huge GIVEAWAY, click')
    posts.tag = note(friend, t + 4, 'tagged', [['t', 'Spam']])
    posts.mutedRoot = note(friend, t + 5, 'a thread gus muted')
    posts.inMutedThread = note(friend, t + 6, 'reply in it', [['e', posts.mutedRoot.id, '', 'root']])
    // A thread gus reads: replies by the muted author, with the muted word, and a reply to the muted reply.
    posts.root = note(friend, t + 10, 'thread root')
    const rootTag = ['e', posts.root.id, '', 'root']
    posts.replyNoisy = note(noisy, t + 11, 'noisy reply', [rootTag])
    posts.replyWord = note(friend, t + 12, 'giveaway reply', [rootTag])
    posts.replyFine = note(friend, t + 13, 'fine reply', [rootTag])
    posts.replyToNoisy = note(friend, t + 14, 'answer to noisy', [rootTag, ['e', posts.replyNoisy.id, '', 'reply']])
    await store(4, ...Object.values(posts))
    // Gus mutes from one client: the author privately, the rest publicly.
    const editor = testClient({ signer: gus.signer, indexerRelays: [u[0]!] })
    try {
      await editor.lists.mute({ people: [noisy.pubkey] }, { private: true })
      await editor.lists.mute({ words: ['giveaway'], hashtags: ['spam'], threads: [posts.mutedRoot.id] })
    } finally {
      await editor.close()
    }
  }, 60_000)

  it('a fresh client hides muted authors, words, hashtags and threads in a feed page, and counts them', async () => {
    const client = testClient({ signer: gus.signer, indexerRelays: [fleet.urls[0]!] })
    try {
      const page = await client.feed({ authors: [friend.pubkey, noisy.pubkey], limit: 50 })
      expect(page.events.map((e) => e.content)).toEqual(['answer to noisy', 'fine reply', 'thread root', 'a fine post'])
      expect(page.report.muted).toBe(7)
      const all = await client.feed({ authors: [friend.pubkey, noisy.pubkey], limit: 50, mutes: false })
      expect(all.events).toHaveLength(11)
      expect(all.report.muted).toBe(0)
      await expect(client.feed({ mutes: 'no' as never })).rejects.toThrow(TypeError)
    } finally {
      await client.close()
    }
  })

  it('a signer that stops decrypting does not lift the private mutes already in force', async () => {
    const u = fleet.urls
    const pia = await seedPerson(fleet, { write: [u[1]!] })
    const zed = await seedPerson(fleet, { write: [u[1]!] })
    await store(1, signed(pia, 10000, theirPrivate(pia, [['word', 'hushword']]), [], now() - 100))
    await store(1, signed(zed, 1, 'a note saying hushword', [], now() - 50))
    // Enough of zed's follow sets to push pia's parsed list out of the client's parse cache.
    await store(1, ...Array.from({ length: 80 }, (_, i) => signed(zed, 30000, '', [['d', `set-${i}`]], now() - 60)))
    let locked = false
    const signer = {
      ...pia.signer,
      nip44: {
        encrypt: pia.signer.nip44!.encrypt,
        decrypt: async (peer: string, payload: string) => {
          if (locked) throw new Error('the extension is locked')
          return pia.signer.nip44!.decrypt(peer, payload)
        },
      },
    }
    const client = testClient({ signer, indexerRelays: [u[0]!] })
    try {
      expect((await client.lists.mutes()).words.map((w) => w.value)).toEqual(['hushword'])
      locked = true
      expect((await client.lists.sets(30000, { person: zed.pubkey })).length).toBe(80)
      // Read again while the signer cannot decrypt: the private part is unreadable this time.
      await client.lists.mutes()
      const page = await client.feed({ authors: [zed.pubkey], kinds: [1] })
      expect(page.events).toEqual([])
      expect(page.report.muted).toBe(1)
    } finally {
      await client.close()
    }
  })

  it('a read-only client cannot read the private mutes: the privately muted author shows', async () => {
    const client = testClient({ pubkey: gus.pubkey, indexerRelays: [fleet.urls[0]!] })
    try {
      const page = await client.feed({ authors: [friend.pubkey, noisy.pubkey], limit: 50 })
      expect(page.events.map((e) => e.id)).toContain(posts.noisy!.id)
      expect(page.report.muted).toBe(5)
    } finally {
      await client.close()
    }
  })

  it('a thread hides muted replies and counts them; the reply to a muted reply hangs under the root', async () => {
    const client = testClient({ signer: gus.signer, indexerRelays: [fleet.urls[0]!] })
    try {
      const thread = await client.thread(posts.root!.id, { author: friend.pubkey })
      expect(thread.muted).toBe(2)
      expect(thread.tree?.replies.map((r) => r.event.content)).toEqual(['fine reply', 'answer to noisy'])
      expect(thread.events.has(posts.replyNoisy!.id)).toBe(false)
      const unfiltered = await client.thread(posts.root!.id, { author: friend.pubkey, mutes: false })
      expect(unfiltered.muted).toBe(0)
      expect(unfiltered.tree?.replies.map((r) => r.event.content)).toEqual(['noisy reply', 'giveaway reply', 'fine reply'])
    } finally {
      await client.close()
    }
  })

  it('a live feed drops muted events as they come, picking up a mute made while it runs', async () => {
    const client = testClient({ signer: gus.signer, indexerRelays: [fleet.urls[0]!] })
    const received: string[] = []
    const live = client.subscribeFeed({ authors: [friend.pubkey, noisy.pubkey], onEvent: (e) => received.push(e.content) })
    try {
      await live.ready
      const t = now()
      await store(4, signed(noisy, 1, 'live noise', [], t), signed(friend, 1, 'live fine', [], t), signed(friend, 1, 'live giveaway', [], t))
      await waitFor(() => received.includes('live fine') && live.report().muted >= 2, 5_000, 'the live events')
      expect(received).toEqual(['live fine'])
      expect(live.report().muted).toBe(2)
      await client.lists.mute({ words: ['banana'] })
      await store(4, signed(friend, 1, 'live banana', [], t + 1), signed(friend, 1, 'live fine again', [], t + 1))
      await waitFor(() => received.includes('live fine again') && live.report().muted >= 3, 5_000, 'the events after the mute')
      expect(received).toEqual(['live fine', 'live fine again'])
    } finally {
      live.close()
      await client.close()
    }
  })
})

describe('search relays', () => {
  let searchable: TestRelay
  let plain: TestRelay

  beforeAll(async () => {
    searchable = await startRelay({ name: 'search relay' })
    plain = await startRelay({ name: 'no search', nip11: { name: 'no search', supported_nips: [1, 11] } })
    const author = generateSecretKey()
    const match = finalizeEvent({ kind: 1, content: 'the rendezvous of relays', tags: [], created_at: now() - 10 }, author)
    const miss = finalizeEvent({ kind: 1, content: 'something else', tags: [], created_at: now() - 5 }, author)
    for (const relay of [searchable, plain]) await relay.storeEvents([match, miss])
  }, 60_000)

  afterAll(async () => {
    await Promise.all([searchable?.close(), plain?.close()])
  })

  it('search without a relay asks the user\'s search relays in order, skipping those without NIP-50', async () => {
    const u = fleet.urls
    const hana = await seedPerson(fleet, { write: [u[1]!] })
    const client = testClient({ signer: hana.signer, indexerRelays: [u[0]!], pool: { fetch: globalThis.fetch } })
    try {
      const none = await client.search(undefined, 'rendezvous').catch((e: unknown) => e)
      expect(isRendezvousError(none, 'CLIENT_NO_SEARCH_RELAYS')).toBe(true)
      await client.lists.setSearchRelays([plain.url, searchable.url], { private: true })
      const listed = await heldList(1, hana.pubkey, 10007)
      expect(listed?.tags).toEqual([])
      expect(readPrivate(hana, listed!.content)).toEqual([['relay', normalizeRelayUrl(plain.url)], ['relay', normalizeRelayUrl(searchable.url)]])
      const result = await client.search(undefined, 'rendezvous', { kinds: [1] })
      expect(result.events.map((e) => e.content)).toEqual(['the rendezvous of relays'])
      expect(result.relays.map((r) => r.url)).toEqual([normalizeRelayUrl(searchable.url)])
      expect(plain.messagesOfType('REQ')).toEqual([])
      // A fresh client finds the list on the network (its private part decrypted).
      const fresh = testClient({ signer: hana.signer, indexerRelays: [u[0]!], pool: { fetch: globalThis.fetch } })
      try {
        expect((await fresh.search(undefined, 'rendezvous')).relay.url).toBe(normalizeRelayUrl(searchable.url))
        expect((await fresh.lists.searchRelays()).urls).toEqual([normalizeRelayUrl(plain.url), normalizeRelayUrl(searchable.url)])
      } finally {
        await fresh.close()
      }
      // Only relays without NIP-50: unsupported, nobody asked.
      await client.lists.setSearchRelays([plain.url])
      const unsupported = await client.search(undefined, 'rendezvous').catch((e: unknown) => e)
      expect(isRendezvousError(unsupported, 'CLIENT_SEARCH_UNSUPPORTED')).toBe(true)
      expect(plain.messagesOfType('REQ')).toEqual([])
      // A named relay still works as before.
      expect((await client.search(searchable.url, 'rendezvous')).relays).toHaveLength(1)
    } finally {
      await client.close()
    }
  })

  it('search leaves out the search relays the user blocked (rank 0) or marked read: false, without even an HTTP request', async () => {
    const u = fleet.urls
    const noa = await seedPerson(fleet, { write: [u[1]!] })
    const client = testClient({ signer: noa.signer, indexerRelays: [u[0]!], pool: { fetch: globalThis.fetch } })
    try {
      await client.lists.setSearchRelays([searchable.url, plain.url])
      for (const change of [{ rank: 0 }, { read: false }]) {
        await client.relays.configure(searchable.url, { rank: null, read: null, ...change })
        const [http, reqs] = [searchable.nip11Requests(), searchable.messagesOfType('REQ').length]
        const refused = await client.search(undefined, 'rendezvous').catch((e: unknown) => e)
        expect(isRendezvousError(refused, 'CLIENT_SEARCH_UNSUPPORTED')).toBe(true)
        expect([searchable.nip11Requests(), searchable.messagesOfType('REQ').length]).toEqual([http, reqs])
      }
    } finally {
      await client.close()
    }
  })
})

describe('blocked relays', () => {
  it('blocking a relay reaches the relay settings at once; publishes and feeds leave it out', async () => {
    const u = fleet.urls
    const ines = await seedPerson(fleet, { write: [u[1]!, u[4]!] })
    const writer = await seedPerson(fleet, { write: [u[2]!, u[4]!] })
    const client = testClient({ signer: ines.signer, indexerRelays: [u[0]!] })
    try {
      expect(client.relays.blocked()).toEqual([])
      const result = await client.lists.blockRelays(u[4]!, { private: true })
      expect(client.relays.blocked()).toEqual([normalizeRelayUrl(u[4]!)])
      // The list itself does not go to the relay it blocks, and names it only privately.
      expect(result.report.targets.map((t) => t.url)).not.toContain(u[4]!)
      expect(result.event.tags).toEqual([])
      expect(readPrivate(ines, result.event.content)).toEqual([['relay', normalizeRelayUrl(u[4]!)]])
      const reqsBefore = fleet.relays[4]!.messagesOfType('REQ').length
      const eventsBefore = fleet.relays[4]!.messagesOfType('EVENT').length
      const note = await client.publish({ kind: 1, content: 'not to the blocked relay' })
      expect(note.report.targets.map((t) => t.url)).toEqual([u[1]!])
      const page = await client.feed({ authors: [writer.pubkey] })
      expect(page.report.relays.map((r) => r.url)).toEqual([u[2]!])
      expect(fleet.relays[4]!.messagesOfType('REQ').length).toBe(reqsBefore)
      expect(fleet.relays[4]!.messagesOfType('EVENT').length).toBe(eventsBefore)
      await client.lists.unblockRelays(u[4]!)
      expect(client.relays.blocked()).toEqual([])
    } finally {
      await client.close()
    }
  })

  it('at start-up, the blocked relays in storage (public and private) apply without asking any relay', async () => {
    const jo = await seedPerson(fleet, {})
    const storage = memoryStorage()
    const list = signed(jo, 10006, theirPrivate(jo, [['relay', 'wss://private-block.example']]), [['relay', 'wss://Public-Block.example/']], now() - 10)
    await storage.putEvents([list])
    const client = testClient({ signer: jo.signer, indexerRelays: [fleet.urls[0]!], storage })
    try {
      await waitFor(() => client.relays.blocked().length === 2, 2_000, 'the stored blocked relays')
      expect(client.relays.blocked().sort()).toEqual(['wss://private-block.example', 'wss://public-block.example'])
      expect(sentBy(jo.pubkey)).toEqual([])
    } finally {
      await client.close()
      await storage.close()
    }
  })

  it('write: false and read: false hold for lists too: no list goes to, nor is read from, a relay so marked', async () => {
    const u = fleet.urls
    const max = await seedPerson(fleet, { write: [u[1]!, u[2]!] })
    const client = testClient({ signer: max.signer, indexerRelays: [u[0]!] })
    try {
      await client.relays.configure(u[0]!, { write: false })
      await client.relays.configure(u[2]!, { read: false })
      const result = await client.lists.mute({ words: ['noise'] })
      expect(result.report.targets.map((t) => t.url)).not.toContain(u[0]!)
      const reqsBefore = fleet.relays[2]!.messagesOfType('REQ').length
      expect((await client.lists.mutes()).words.map((w) => w.value)).toEqual(['noise'])
      expect(fleet.relays[2]!.messagesOfType('REQ').length).toBe(reqsBefore)
    } finally {
      await client.close()
    }
  })

  it('reading the user\'s blocked relays from the network applies them', async () => {
    const u = fleet.urls
    const kim = await seedPerson(fleet, { write: [u[1]!] })
    await store(1, signed(kim, 10006, '', [['relay', 'wss://from-network.example']], now() - 10))
    const client = testClient({ signer: kim.signer, indexerRelays: [u[0]!] })
    try {
      expect(client.relays.blocked()).toEqual([])
      expect((await client.lists.blockedRelays()).urls).toEqual(['wss://from-network.example'])
      expect(client.relays.blocked()).toEqual(['wss://from-network.example'])
    } finally {
      await client.close()
    }
  })
})
