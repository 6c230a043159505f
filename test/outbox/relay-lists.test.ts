import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { NostrEvent } from '../../src/crypto/event.js'
import { naddrEncode, neventEncode, nprofileEncode } from '../../src/crypto/nip19.js'
import {
  MAX_HINTS_PER_EVENT,
  MAX_RELAY_LIST_ENTRIES,
  buildDmRelayListTemplate,
  buildRelayListTemplate,
  newestEvent,
  parseDmRelayList,
  parseKind3Relays,
  parseNip05Relays,
  parseRelayList,
  relayHintsFromEvent,
} from '../../src/outbox/relay-lists.js'
import { tryNormalizeRelayUrl } from '../../src/relay-pool/url.js'
import { codeOf, errorOf } from '../helpers/errors.js'

const ALICE = 'a'.repeat(64)
const BOB = 'b'.repeat(64)
const ID1 = '1'.repeat(64)
const ID2 = '2'.repeat(64)

function event(kind: number, tags: unknown[], content = '', extra: Partial<NostrEvent> = {}): NostrEvent {
  return { id: ID1, pubkey: ALICE, created_at: 1_700_000_000, kind, tags: tags as string[][], content, sig: 'f'.repeat(128), ...extra }
}

describe('parseRelayList (NIP-65 kind 10002)', () => {
  it('reads the NIP-65 example: no marker means both, read and write markers', () => {
    const list = parseRelayList(
      event(10002, [
        ['r', 'wss://alicerelay.example.com'],
        ['r', 'wss://brando-relay.com'],
        ['r', 'wss://expensive-relay.example2.com', 'write'],
        ['r', 'wss://nostr-relay.example.com', 'read'],
      ]),
    )
    expect(list.write).toEqual(['wss://alicerelay.example.com', 'wss://brando-relay.com', 'wss://expensive-relay.example2.com'])
    expect(list.read).toEqual(['wss://alicerelay.example.com', 'wss://brando-relay.com', 'wss://nostr-relay.example.com'])
    expect(list.entries[2]).toEqual({ url: 'wss://expensive-relay.example2.com', read: false, write: true })
    expect(list.dropped).toBe(0)
    expect(list.truncated).toBe(false)
  })

  it('normalises URLs, merges duplicate spellings (OR of markers), drops invalid ones and counts them', () => {
    const list = parseRelayList(
      event(10002, [
        ['r', 'wss://Relay.Example.com/', 'read'],
        ['r', 'relay.example.com:443', 'WRITE'],
        ['r', 'https://not-a-relay.example'],
        ['r', ''],
        ['r'],
        ['r', 'wss://user:pw@secret.example'],
        ['r', 'wss://other.example', 'bogus-marker'],
        ['p', BOB, 'wss://ignored.example'],
        'not a tag',
        ['r', 42],
      ]),
    )
    expect(list.entries).toEqual([
      { url: 'wss://relay.example.com', read: true, write: true },
      { url: 'wss://other.example', read: true, write: true },
    ])
    expect(list.dropped).toBe(6)
  })

  it('gives an empty list for anything that is not a kind 10002 event with tags', () => {
    const empty = { read: [], write: [], entries: [], dropped: 0, truncated: false }
    for (const junk of [null, undefined, 7, 'x', [], {}, event(3, [['r', 'wss://a.example']]), { kind: 10002, tags: 'nope' }]) {
      expect(parseRelayList(junk)).toEqual(empty)
    }
  })

  it('keeps at most MAX_RELAY_LIST_ENTRIES of ten thousand entries and says it truncated', () => {
    const tags = Array.from({ length: 10_000 }, (_, i) => ['r', `wss://relay${i}.example.com`])
    const list = parseRelayList(event(10002, tags))
    expect(list.entries).toHaveLength(MAX_RELAY_LIST_ENTRIES)
    expect(list.entries[0]!.url).toBe('wss://relay0.example.com')
    expect(list.truncated).toBe(true)
    expect(list.dropped).toBe(10_000 - MAX_RELAY_LIST_ENTRIES)
  })

  it('ten thousand copies of one relay are one entry, not a truncation', () => {
    const tags = Array.from({ length: 10_000 }, (_, i) => ['r', 'wss://same.example', i % 2 ? 'read' : 'write'])
    const list = parseRelayList(event(10002, tags))
    expect(list.entries).toEqual([{ url: 'wss://same.example', read: true, write: true }])
    expect(list.truncated).toBe(false)
    expect(list.dropped).toBe(9_999)
  })

  it('never throws on random tag arrays; its URLs are normalised, unique and capped (property)', () => {
    const url = fc.oneof(
      fc.constantFrom('wss://a.example', 'wss://A.example/', 'ws://b.example:80', 'c.example', 'wss://a.example:443', 'https://x', '', ' ', 'wss://', 'wss://a..b'),
      fc.tuple(fc.constantFrom('wss://', 'ws://', '', 'WSS://'), fc.stringMatching(/^[a-z0-9.-]{1,12}$/), fc.constantFrom('', '/', ':443', ':7777/p')).map(([s, h, t]) => s + h + t),
      fc.string({ maxLength: 30 }),
    )
    const marker = fc.oneof(fc.constantFrom('read', 'write', 'READ', '', 'both'), fc.string({ maxLength: 6 }), fc.constant(undefined))
    const rTag = fc.tuple(url, marker).map(([u, m]) => (m === undefined ? ['r', u] : ['r', u, m]))
    const junkTag = fc.oneof(fc.array(fc.string({ maxLength: 10 }), { maxLength: 4 }), fc.anything({ maxDepth: 1 }))
    const tags = fc.array(fc.oneof({ weight: 4, arbitrary: rTag }, { weight: 1, arbitrary: junkTag }), { maxLength: 80 })
    fc.assert(
      fc.property(tags, (ts) => {
        const list = parseRelayList(event(10002, ts))
        const urls = list.entries.map((e) => e.url)
        expect(new Set(urls).size).toBe(urls.length)
        expect(urls.length).toBeLessThanOrEqual(MAX_RELAY_LIST_ENTRIES)
        for (const u of urls) expect(tryNormalizeRelayUrl(u)).toBe(u)
        expect(list.read).toEqual(list.entries.filter((e) => e.read).map((e) => e.url))
        expect(list.write).toEqual(list.entries.filter((e) => e.write).map((e) => e.url))
        for (const e of list.entries) expect(e.read || e.write).toBe(true)
        const rTags = ts.filter((t) => Array.isArray(t) && t[0] === 'r').length
        expect(list.entries.length + list.dropped).toBe(rTags)
        const dm = parseDmRelayList(event(10050, ts.map((t) => (Array.isArray(t) && t[0] === 'r' ? ['relay', t[1]] : t))))
        expect(dm).toEqual(urls)
      }),
      { seed: 42, numRuns: 300 },
    )
  })
})

describe('parseDmRelayList (NIP-17 kind 10050)', () => {
  it('reads relay tags, normalised and unique; anything else gives []', () => {
    const list = event(10050, [['relay', 'wss://inbox.nostr.wine'], ['relay', 'wss://INBOX.nostr.wine/'], ['relay', 'nope://x'], ['r', 'wss://r.example']])
    expect(parseDmRelayList(list)).toEqual(['wss://inbox.nostr.wine'])
    expect(parseDmRelayList(event(10002, [['relay', 'wss://a.example']]))).toEqual([])
    expect(parseDmRelayList(null)).toEqual([])
  })

  it('caps a huge list', () => {
    const tags = Array.from({ length: 5_000 }, (_, i) => ['relay', `wss://r${i}.example`])
    expect(parseDmRelayList(event(10050, tags))).toHaveLength(MAX_RELAY_LIST_ENTRIES)
  })
})

describe('parseKind3Relays (legacy follow-list content)', () => {
  it('reads the read/write map', () => {
    const list = parseKind3Relays(
      event(3, [], JSON.stringify({ 'wss://a.example/': { read: true, write: true }, 'wss://b.example': { read: false, write: true }, 'wss://c.example': { read: 'true', write: false } })),
    )
    expect(list?.entries).toEqual([
      { url: 'wss://a.example', read: true, write: true },
      { url: 'wss://b.example', read: false, write: true },
      { url: 'wss://c.example', read: true, write: false },
    ])
  })

  it('tolerates wrong types: neither marker drops the relay, a non-object value counts as both', () => {
    const list = parseKind3Relays(
      event(3, [], JSON.stringify({ 'wss://a.example': { read: false, write: false }, 'wss://b.example': null, 'wss://c.example': [1], 'bad url': {}, 'wss://d.example': { read: 1 } })),
    )
    expect(list?.entries).toEqual([
      { url: 'wss://b.example', read: true, write: true },
      { url: 'wss://c.example', read: true, write: true },
    ])
    expect(list?.dropped).toBe(3)
  })

  it('returns undefined when the content holds no relay map, and an empty list for {}', () => {
    for (const content of ['', 'not json', '[1,2]', '"str"', '{broken', 'null', '42']) {
      expect(parseKind3Relays(event(3, [], content))).toBeUndefined()
    }
    expect(parseKind3Relays(event(10002, [], '{}'))).toBeUndefined()
    expect(parseKind3Relays({ kind: 3, tags: [], content: 5 })).toBeUndefined()
    expect(parseKind3Relays(event(3, [], '{}'))?.entries).toEqual([])
  })
})

describe('parseNip05Relays', () => {
  const doc = { names: { bob: BOB }, relays: { [BOB]: ['wss://relay.example.com', 'wss://relay.example.com/', 'not a url!', 'wss://relay2.example.com'] } }

  it("reads relays[pubkey], from an object or from text", () => {
    expect(parseNip05Relays(doc, BOB)).toEqual(['wss://relay.example.com', 'wss://relay2.example.com'])
    expect(parseNip05Relays(JSON.stringify(doc), BOB)).toEqual(['wss://relay.example.com', 'wss://relay2.example.com'])
  })

  it('returns [] for junk', () => {
    expect(parseNip05Relays(doc, ALICE)).toEqual([])
    for (const junk of [null, 'not json', 5, { relays: [] }, { relays: { [BOB]: 'wss://x.example' } }, { relays: null }]) {
      expect(parseNip05Relays(junk, BOB)).toEqual([])
    }
  })
})

describe('buildRelayListTemplate', () => {
  it('writes r tags (marker only when not both), merging duplicates', () => {
    const t = buildRelayListTemplate(
      [{ url: 'wss://Both.example' }, { url: 'wss://in.example', write: false }, { url: 'wss://out.example', read: false }, { url: 'wss://in.example/', read: false }],
      { createdAt: 1_700_000_000 },
    )
    expect(t).toEqual({
      kind: 10002,
      content: '',
      created_at: 1_700_000_000,
      tags: [['r', 'wss://both.example'], ['r', 'wss://in.example'], ['r', 'wss://out.example', 'write']],
    })
  })

  it('keeps the tags of the previous list it does not understand, in order, and dates itself after it', () => {
    const previous = event(
      10002,
      [
        ['client', 'other-app'],
        ['r', 'wss://old.example'],
        ['x-custom', 'a', 'b'],
        ['r', 'wss://old2.example', 'read'],
        ['alt', 'relay list'],
      ],
      '',
      { created_at: 4_000_000_000 },
    )
    const t = buildRelayListTemplate([{ url: 'wss://new.example' }], { previous })
    expect(t.tags).toEqual([['client', 'other-app'], ['r', 'wss://new.example'], ['x-custom', 'a', 'b'], ['alt', 'relay list']])
    expect(t.created_at).toBe(4_000_000_001)
    expect(parseRelayList({ ...event(10002, t.tags!), created_at: t.created_at }).write).toEqual(['wss://new.example'])
  })

  it('puts the r tags at the end when the previous list had none', () => {
    const previous = event(10002, [['alt', 'x']])
    expect(buildRelayListTemplate([{ url: 'wss://a.example' }], { previous, createdAt: 1 }).tags).toEqual([['alt', 'x'], ['r', 'wss://a.example']])
  })

  it('round-trips through the parser', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(fc.integer({ min: 0, max: 99 }), fc.constantFrom('both', 'read', 'write')), { selector: (x) => x[0], maxLength: 20 }), (rows) => {
        const entries = rows.map(([i, m]) => ({ url: `wss://r${i}.example`, read: m !== 'write', write: m !== 'read' }))
        const t = buildRelayListTemplate(entries, { createdAt: 1 })
        expect(parseRelayList(event(10002, t.tags!)).entries).toEqual(entries)
      }),
      { seed: 42, numRuns: 100 },
    )
  })

  it('refuses an invalid own URL with OUTBOX_RELAY_URL_INVALID naming the entry, and malformed input with TypeError/RangeError', () => {
    const err = errorOf(() => buildRelayListTemplate([{ url: 'wss://ok.example' }, { url: 'https://nope.example' }]))
    expect(err?.code).toBe('OUTBOX_RELAY_URL_INVALID')
    expect(err?.details).toContain('entries[1].url')
    expect(() => buildRelayListTemplate([{ url: 'wss://a.example', read: false, write: false }])).toThrow(RangeError)
    expect(() => buildRelayListTemplate('x' as never)).toThrow(TypeError)
    expect(() => buildRelayListTemplate([{ url: 'wss://a.example' }], { previous: event(3, []) })).toThrow(RangeError)
    const tooMany = Array.from({ length: MAX_RELAY_LIST_ENTRIES + 1 }, (_, i) => ({ url: `wss://r${i}.example` }))
    expect(() => buildRelayListTemplate(tooMany)).toThrow(RangeError)
  })
})

describe('buildDmRelayListTemplate', () => {
  it('writes relay tags, keeps unknown tags of the previous list, refuses invalid URLs', () => {
    const previous = event(10050, [['relay', 'wss://old.example'], ['client', 'x']], '', { created_at: 100 })
    const t = buildDmRelayListTemplate(['wss://Inbox.example', 'wss://inbox.example/'], { previous, createdAt: 200 })
    expect(t).toEqual({ kind: 10050, content: '', created_at: 200, tags: [['relay', 'wss://inbox.example'], ['client', 'x']] })
    expect(parseDmRelayList({ ...event(10050, t.tags!) })).toEqual(['wss://inbox.example'])
    expect(codeOf(() => buildDmRelayListTemplate(['not a relay at all']))).toBe('OUTBOX_RELAY_URL_INVALID')
    expect(buildDmRelayListTemplate([]).tags).toEqual([])
  })
})

describe('newestEvent', () => {
  it('picks the greatest created_at, ties to the lowest id, skipping junk', () => {
    const a = event(10002, [], '', { id: ID2, created_at: 10 })
    const b = event(10002, [], '', { id: ID1, created_at: 10 })
    const c = event(10002, [], '', { id: '0'.repeat(64), created_at: 9 })
    expect(newestEvent([a, c, b])).toBe(b)
    expect(newestEvent([c, a])).toBe(a)
    expect(newestEvent([null as never, c, { id: 5 } as never])).toBe(c)
    expect(newestEvent([])).toBeUndefined()
  })
})

describe('relayHintsFromEvent', () => {
  it('reads p, e (with author), a and q tags', () => {
    const hints = relayHintsFromEvent(
      event(1, [
        ['p', BOB, 'wss://bob.example/'],
        ['p', ALICE, ''],
        ['p', 'nothex', 'wss://x.example'],
        ['e', ID1, 'wss://e.example', 'reply', BOB],
        ['e', ID2, 'wss://e2.example'],
        ['a', `30023:${BOB}:post`, 'wss://a.example'],
        ['a', 'junk', 'wss://a2.example'],
        ['q', ID2, 'wss://q.example', ALICE],
        ['q', `30023:${ALICE}:x`, 'wss://q2.example'],
        ['p', BOB, 'https://invalid.example'],
      ]),
    )
    expect(hints).toEqual([
      { url: 'wss://bob.example', pubkey: BOB, source: 'tag-hint' },
      { url: 'wss://e.example', eventId: ID1, pubkey: BOB, source: 'tag-hint' },
      { url: 'wss://e2.example', eventId: ID2, source: 'tag-hint' },
      { url: 'wss://a.example', address: `30023:${BOB}:post`, pubkey: BOB, source: 'tag-hint' },
      { url: 'wss://q.example', eventId: ID2, pubkey: ALICE, source: 'tag-hint' },
      { url: 'wss://q2.example', address: `30023:${ALICE}:x`, pubkey: ALICE, source: 'tag-hint' },
    ])
  })

  it('reads the relays of nprofile, nevent and naddr mentions in the content', () => {
    const nprofile = nprofileEncode({ pubkey: BOB, relays: ['wss://bob1.example', 'wss://BOB2.example/'] })
    const nevent = neventEncode({ id: ID1, relays: ['wss://ev.example'], author: ALICE })
    const naddr = naddrEncode({ identifier: 'd', pubkey: BOB, kind: 30023, relays: ['wss://ad.example'] })
    const hints = relayHintsFromEvent(event(1, [], `hi nostr:${nprofile} see nostr:${nevent} and nostr:${naddr} nostr:nprofile1garbage`))
    expect(hints).toEqual([
      { url: 'wss://bob1.example', pubkey: BOB, source: 'nip19-hint' },
      { url: 'wss://bob2.example', pubkey: BOB, source: 'nip19-hint' },
      { url: 'wss://ev.example', eventId: ID1, pubkey: ALICE, source: 'nip19-hint' },
      { url: 'wss://ad.example', address: `30023:${BOB}:d`, pubkey: BOB, source: 'nip19-hint' },
    ])
  })

  it('is bounded, deduplicated and never throws on junk (property)', () => {
    const many = Array.from({ length: 1_000 }, (_, i) => ['p', BOB, `wss://r${i}.example`])
    expect(relayHintsFromEvent(event(1, many))).toHaveLength(MAX_HINTS_PER_EVENT)
    expect(relayHintsFromEvent(event(1, [['p', BOB, 'wss://a.example'], ['p', BOB, 'wss://A.example/']]))).toHaveLength(1)
    fc.assert(
      fc.property(fc.anything({ maxDepth: 3 }), fc.array(fc.array(fc.oneof(fc.string({ maxLength: 70 }), fc.constantFrom('p', 'e', 'a', 'q', BOB, 'wss://h.example'))), { maxLength: 20 }), (junk, tags) => {
        expect(Array.isArray(relayHintsFromEvent(junk))).toBe(true)
        for (const h of relayHintsFromEvent({ tags, content: 'nostr:nprofile1qqq' })) expect(tryNormalizeRelayUrl(h.url)).toBe(h.url)
      }),
      { seed: 42, numRuns: 200 },
    )
  })
})
