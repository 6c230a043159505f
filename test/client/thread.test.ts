/**
 * Threads on local relays: a root and replies spread over the places replies really go (the root
 * author's inbox, the relay the root was seen on, a relay only a hint names), NIP-10 marked and
 * deprecated positional `e` tags, a reply whose parent is missing, unrelated events on the same
 * relays; targets given as an nevent, a hex id nobody has; and the tree builder against forged
 * input (cycles, very deep chains).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { NostrEvent } from '../../src/crypto/event.js'
import { neventEncode } from '../../src/crypto/nip19.js'
import { finalizeEvent } from '../../src/crypto/signature.js'
import { buildThreadTree } from '../../src/client/thread.js'
import type { ThreadNode } from '../../src/client/types.js'
import { seedPerson, testClient, type SeededPerson } from '../helpers/client-harness.js'
import { startFleet, type TestFleet } from '../helpers/relay-fleet.js'

let fleet: TestFleet
let alice: SeededPerson
let bob: SeededPerson
let carol: SeededPerson
/** The thread, by name. */
const ev: Record<string, NostrEvent> = {}
const T0 = Math.floor(Date.now() / 1000) - 3_600
const MISSING = 'f'.repeat(64)

function note(author: SeededPerson, at: number, content: string, tags: string[][]): NostrEvent {
  return finalizeEvent({ kind: 1, created_at: at, content, tags }, author.secretKey)
}

async function store(relay: number, ...events: NostrEvent[]): Promise<void> {
  const results = await fleet.relays[relay]!.storeEvents(events)
  expect(results.every((r) => r.success)).toBe(true)
}

/** The tree as nested [content, children] pairs, to compare shape and order at once. */
function shape(node: ThreadNode): unknown {
  return [node.event.content, node.replies.map(shape)]
}

beforeAll(async () => {
  // 0: indexer; 1: alice's outbox; 2: alice's inbox; 3: a relay only hints name; 4: bob's and carol's outbox.
  fleet = await startFleet(5)
  const u = fleet.urls
  alice = await seedPerson(fleet, { write: [u[1]!], read: [u[2]!] })
  bob = await seedPerson(fleet, { write: [u[4]!], read: [u[4]!] })
  carol = await seedPerson(fleet, { write: [u[4]!], read: [u[4]!] })
  ev.root = note(alice, T0, 'root', [])
  const rootTag = ['e', ev.root.id, u[1]!, 'root', alice.pubkey]
  ev.r1 = note(bob, T0 + 10, 'r1', [rootTag, ['p', alice.pubkey]])
  // A reply to r1, only on the relay its own hints are about; read through an nevent below.
  ev.r2 = note(carol, T0 + 20, 'r2', [rootTag, ['e', ev.r1.id, u[2]!, 'reply', bob.pubkey]])
  // Deprecated positional form: first = root, last = parent (r1); the middle one is a mention.
  // No relay hint and no author in its tags: its root is looked for at the outboxes of whom it tags.
  ev.r3 = note(bob, T0 + 30, 'r3', [['e', ev.root.id], ['e', MISSING], ['e', ev.r1.id], ['p', alice.pubkey]])
  // Its parent is on no relay: it hangs under the root.
  ev.r4 = note(carol, T0 + 15, 'r4', [rootTag, ['e', MISSING, '', 'reply']])
  ev.r5 = note(alice, T0 + 40, 'r5', [rootTag, ['e', ev.r2.id, u[3]!, 'reply']])
  // Same second as r1: ordered by id against it.
  ev.r6 = note(alice, T0 + 10, 'r6', [rootTag])
  // Unrelated: another thread on the same relays, and a plain note.
  const other = note(bob, T0 + 5, 'other root', [])
  ev.unrelated = note(carol, T0 + 12, 'unrelated', [['e', other.id, '', 'root']])
  ev.plain = note(carol, T0 + 13, 'plain', [])
  // Matches the replies filter (#e = root) but only mentions the root: not a reply.
  ev.mention = note(carol, T0 + 14, 'mention', [['e', ev.root.id, '', 'mention']])
  // A thread whose root is on no relay: the tree hangs under the target, its siblings stay out of it.
  const LOST = 'd'.repeat(64)
  ev.lost = note(bob, T0 + 50, 'lost', [['e', LOST, '', 'root']])
  ev.lostChild = note(carol, T0 + 60, 'lost child', [['e', LOST, '', 'root'], ['e', ev.lost.id, '', 'reply']])
  ev.lostSibling = note(carol, T0 + 55, 'lost sibling', [['e', LOST, '', 'root']])
  await store(4, ev.lost, ev.lostChild, ev.lostSibling)
  await store(1, ev.root, ev.r4, other)
  await store(2, ev.r1, ev.r3, ev.r6, ev.unrelated, ev.plain, ev.mention)
  await store(3, ev.r2, ev.r5)
}, 60_000)

afterAll(async () => {
  await fleet?.close()
})

describe('client.thread on the wire', () => {
  it('builds the whole tree from an nevent whose event only its hint relay has', async () => {
    const client = testClient({ indexerRelays: [fleet.urls[0]!] })
    try {
      // r2 is only on relay 3; the nevent names it and no author.
      const thread = await client.thread(neventEncode({ id: ev.r2!.id, relays: [fleet.urls[3]!] }))
      expect(thread.target?.id).toBe(ev.r2!.id)
      expect(thread.rootId).toBe(ev.root!.id)
      expect(thread.root?.id).toBe(ev.root!.id)
      const [first, second] = ev.r1!.id < ev.r6!.id ? ['r1', 'r6'] : ['r6', 'r1']
      const r1Node = ['r1', [['r2', [['r5', []]]], ['r3', []]]]
      const expected = ['root', [first === 'r1' ? r1Node : ['r6', []], second === 'r1' ? r1Node : ['r6', []], ['r4', []]]]
      expect(shape(thread.tree!)).toEqual(expected)
      expect([...thread.events.keys()].sort()).toEqual(['root', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6'].map((k) => ev[k]!.id).sort())
      const asked = new Set(thread.relays.map((r) => r.url))
      // The hint relay, the root author's inbox and the relay the root was seen on.
      for (const i of [1, 2, 3]) expect(asked.has(fleet.urls[i]!)).toBe(true)
      expect(thread.relays.every((r) => r.status === 'eose')).toBe(true)
    } finally {
      await client.close()
    }
  })

  it('finds the root through the author of an nevent and reads replies at their inbox', async () => {
    const client = testClient({ indexerRelays: [fleet.urls[0]!] })
    try {
      const thread = await client.thread(neventEncode({ id: ev.root!.id, author: alice.pubkey }))
      expect(thread.target?.id).toBe(ev.root!.id)
      expect(thread.root?.id).toBe(ev.root!.id)
      // r2 and r5 are only on a relay no event of this read names: out of reach, not invented.
      const ids = new Set(thread.events.keys())
      expect(ids.has(ev.r1!.id) && ids.has(ev.r3!.id) && ids.has(ev.r4!.id) && ids.has(ev.r6!.id)).toBe(true)
      expect(ids.has(ev.r2!.id)).toBe(false)
      expect(ids.has(ev.unrelated!.id) || ids.has(ev.plain!.id) || ids.has(ev.mention!.id)).toBe(false)
      // The indexer is a last resort: alice's outbox had the root.
      const first = thread.relays.find((r) => r.url === fleet.urls[0])
      expect(first).toBeUndefined()
    } finally {
      await client.close()
    }
  })

  it('uses a signed event as the target and hangs it where its markers say', async () => {
    const client = testClient({ indexerRelays: [fleet.urls[0]!] })
    try {
      const thread = await client.thread(ev.r3!)
      expect(thread.root?.id).toBe(ev.root!.id)
      const r1 = thread.tree!.replies.find((n) => n.event.id === ev.r1!.id)
      expect(r1?.replies.map((n) => n.event.content)).toContain('r3')
    } finally {
      await client.close()
    }
  })

  it('hangs the tree under the target when the root is on no relay', async () => {
    const client = testClient({ indexerRelays: [fleet.urls[0]!] })
    try {
      const thread = await client.thread(ev.lost!)
      expect(thread.root).toBeUndefined()
      expect(thread.rootId).toBe('d'.repeat(64))
      expect(shape(thread.tree!)).toEqual(['lost', [['lost child', []]]])
      expect(thread.events.has(ev.lostSibling!.id)).toBe(true)
    } finally {
      await client.close()
    }
  })

  it('returns target undefined when no relay has the event, after asking the indexer', async () => {
    const client = testClient({ indexerRelays: [fleet.urls[0]!] })
    try {
      const id = 'e'.repeat(64)
      const thread = await client.thread(id, { relays: [fleet.urls[4]!] })
      expect(thread.target).toBeUndefined()
      expect(thread.tree).toBeUndefined()
      expect(thread.rootId).toBe(id)
      expect(thread.events.size).toBe(0)
      expect(thread.relays.map((r) => r.url).sort()).toEqual([fleet.urls[0]!, fleet.urls[4]!].sort())
    } finally {
      await client.close()
    }
  })

  it('rejects a malformed target and limit', async () => {
    const client = testClient({ indexerRelays: [fleet.urls[0]!] })
    try {
      await expect(client.thread('nonsense')).rejects.toThrow(TypeError)
      await expect(client.thread(ev.root!.id, { limit: 0 })).rejects.toThrow(RangeError)
    } finally {
      await client.close()
    }
  })
})

describe('buildThreadTree against forged input', () => {
  // Forged events (ids chosen, not hashed) are the only way to get a cycle: the tree must not loop.
  const fake = (id: string, at: number, tags: string[][]): NostrEvent => ({ id, pubkey: 'a'.repeat(64), sig: '0'.repeat(128), kind: 1, created_at: at, content: id, tags })
  const id = (n: number): string => n.toString(16).padStart(64, '0')

  it('hangs a cycle under the root, or leaves it out under a target', () => {
    const top = fake(id(1), 1, [])
    const a = fake(id(2), 2, [['e', id(1), '', 'root'], ['e', id(3), '', 'reply']])
    const b = fake(id(3), 3, [['e', id(1), '', 'root'], ['e', id(2), '', 'reply']])
    const tree = buildThreadTree(top, [a, b], true)
    expect(shape(tree)).toEqual([id(1), [[id(2), [[id(3), []]]]]])
    expect(shape(buildThreadTree(top, [a, b], false))).toEqual([id(1), []])
  })

  it('cuts a very deep chain instead of nesting it without bound', () => {
    const top = fake(id(1), 1, [])
    const chain: NostrEvent[] = []
    for (let i = 2; i < 2_000; i++) chain.push(fake(id(i), i, [['e', id(1), '', 'root'], ['e', id(i - 1), '', 'reply']]))
    const tree = buildThreadTree(top, chain, true)
    let depth = 0
    let count = 0
    const stack: Array<[ThreadNode, number]> = [[tree, 0]]
    while (stack.length > 0) {
      const [node, d] = stack.pop()!
      count++
      depth = Math.max(depth, d)
      for (const child of node.replies) stack.push([child, d + 1])
    }
    expect(count).toBe(2_000 - 1)
    expect(depth).toBeLessThanOrEqual(300)
    expect(tree.replies.length).toBeGreaterThan(1)
  })
})
