/**
 * NIP-50 search through the client, on real local relays. The test relay (@nostr-relay/core with
 * its SQLite repository) really searches: kinds 0, 1, 1111, 9802, 30023 and 30024 go into an FTS5
 * index and a `search` filter joins on it, so a query returns the matching events only. A relay whose
 * NIP-11 document does not list 50, or that has none, must never be sent the REQ.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Client } from '../../src/client/client.js'
import type { NostrEvent } from '../../src/crypto/event.js'
import { generateSecretKey } from '../../src/crypto/keys.js'
import { finalizeEvent } from '../../src/crypto/signature.js'
import { normalizeRelayUrl } from '../../src/relay-pool/url.js'
import { testClient } from '../helpers/client-harness.js'
import { expectRejectionCode } from '../helpers/errors.js'
import { type TestRelay, defaultNip11, startRelay } from '../helpers/relay-fleet.js'

let searchable: TestRelay
let noSearch: TestRelay
let noDocument: TestRelay
const sk = generateSecretKey()
const now = Math.floor(Date.now() / 1000)
const note = (content: string, at: number, kind = 1): NostrEvent => finalizeEvent({ kind, created_at: at, tags: [], content }, sk)
const matching = [note('the rendezvous problem of relays', now - 30), note('outbox model: a rendezvous for posts', now - 20), note('rendezvous again, newest', now - 10)]
const profile = note(JSON.stringify({ name: 'rv', about: 'I write about rendezvous' }), now - 40, 0)
const others = [note('nothing to see here', now - 5), note('gossip model and relays', now - 15)]

beforeAll(async () => {
  ;[searchable, noSearch, noDocument] = await Promise.all([
    startRelay({ name: 'search relay' }),
    startRelay({ nip11: { ...defaultNip11('plain relay'), supported_nips: [1, 11, 42] } }),
    startRelay({ nip11: null }),
  ])
  for (const relay of [searchable, noSearch, noDocument]) {
    const results = await relay.storeEvents([...matching, profile, ...others])
    if (!results.every((r) => r.success)) throw new Error('could not store the test events')
  }
})

afterAll(async () => {
  await Promise.all([searchable, noSearch, noDocument].map((r) => r?.close()))
})

function client(fetchOn = true): Client {
  return testClient({ indexerRelays: [], pool: fetchOn ? { fetch: globalThis.fetch } : {} })
}

const ids = (events: readonly NostrEvent[]): string[] => events.map((e) => e.id).sort()

describe('search', () => {
  it('a relay that lists NIP-50 is asked, and answers with the matching events only', async () => {
    const c = client()
    try {
      const all = await c.search(searchable.url, 'rendezvous')
      expect(ids(all.events)).toEqual(ids([...matching, profile]))
      expect(all.relay).toMatchObject({ url: normalizeRelayUrl(searchable.url), status: 'eose', events: 4 })

      const notes = await c.search(searchable.url, 'rendezvous', { kinds: [1], limit: 2 })
      expect(notes.events).toHaveLength(2)
      for (const event of notes.events) expect(ids(matching)).toContain(event.id)

      const reqs = searchable.messagesOfType('REQ')
      expect(reqs.map((m) => m[2])).toEqual([
        { search: 'rendezvous', limit: 20 },
        { search: 'rendezvous', kinds: [1], limit: 2 },
      ])
      // Found events are cached like any other read.
      expect(ids(await c.storage.queryEvents([{ ids: ids(all.events) }]))).toEqual(ids(all.events))
    } finally {
      await c.close()
    }
  })

  it('a relay whose NIP-11 lacks 50, or that has no NIP-11 document, is refused and receives no REQ', async () => {
    const c = client()
    try {
      const lacking = await expectRejectionCode(c.search(noSearch.url, 'rendezvous'), 'CLIENT_SEARCH_UNSUPPORTED')
      expect(lacking.details).toContain('supported_nips')
      const missing = await expectRejectionCode(c.search(noDocument.url, 'rendezvous'), 'CLIENT_SEARCH_UNSUPPORTED')
      expect(missing.details).toContain('no NIP-11 document')
      expect(noSearch.nip11Requests()).toBeGreaterThan(0)
      expect(noDocument.nip11Requests()).toBeGreaterThan(0)
      expect(noSearch.messagesOfType('REQ')).toEqual([])
      expect(noDocument.messagesOfType('REQ')).toEqual([])
      expect(noSearch.totalConnections() + noDocument.totalConnections()).toBe(0)
    } finally {
      await c.close()
    }
  })

  it('with NIP-11 fetching off, even a search relay is unsupported (nothing is sent)', async () => {
    const c = client(false)
    const before = searchable.messagesOfType('REQ').length
    try {
      await expectRejectionCode(c.search(searchable.url, 'rendezvous'), 'CLIENT_SEARCH_UNSUPPORTED')
      expect(searchable.messagesOfType('REQ')).toHaveLength(before)
    } finally {
      await c.close()
    }
  })

  it('rejects malformed arguments before any I/O, and calls on a closed client', async () => {
    const c = client()
    try {
      await expect(c.search('https://example.com', 'x')).rejects.toThrow(TypeError)
      await expect(c.search('not a url', 'x')).rejects.toThrow(/relay/)
      await expect(c.search(searchable.url, '   ')).rejects.toThrow(/query/)
      await expect(c.search(searchable.url, 'x', { limit: 0 })).rejects.toThrow(RangeError)
      await expect(c.search(searchable.url, 'x', { kinds: [1.5] })).rejects.toThrow(/kinds/)
      await expectRejectionCode(c.search(searchable.url, 'x', { signal: AbortSignal.abort() }), 'CLIENT_ABORTED')
    } finally {
      await c.close()
    }
    await expectRejectionCode(c.search(searchable.url, 'rendezvous'), 'CLIENT_CLOSED')
  })
})
