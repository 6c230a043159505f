import { describe, expect, it } from 'vitest'
import type { NostrEvent } from '../../src/crypto/event.js'
import {
  addressOf,
  deletionTargets,
  dTag,
  eventProblem,
  filterProblem,
  isNewerVersion,
  kindClass,
  matchesFilter,
  newestFirst,
  replaceKey,
} from '../../src/storage/event-rules.js'
import type { StorageFilter } from '../../src/storage/types.js'

const PK = 'ab'.repeat(32)
const OTHER = 'cd'.repeat(32)

function event(fields: Partial<NostrEvent> = {}): NostrEvent {
  return { id: '01'.repeat(32), pubkey: PK, created_at: 1000, kind: 1, tags: [], content: '', sig: 'ef'.repeat(64), ...fields }
}

describe('kindClass', () => {
  it('classifies every NIP-01 boundary', () => {
    const cases: Array<[number, string]> = [
      [0, 'replaceable'],
      [1, 'regular'],
      [2, 'regular'],
      [3, 'replaceable'],
      [4, 'regular'],
      [5, 'regular'],
      [9999, 'regular'],
      [10000, 'replaceable'],
      [10002, 'replaceable'],
      [19999, 'replaceable'],
      [20000, 'ephemeral'],
      [29999, 'ephemeral'],
      [30000, 'addressable'],
      [39999, 'addressable'],
      [40000, 'regular'],
      [65535, 'regular'],
    ]
    for (const [kind, cls] of cases) expect(kindClass(kind), `kind ${kind}`).toBe(cls)
  })
})

describe('eventProblem', () => {
  it('accepts a well-formed event, extra fields and empty tags included', () => {
    expect(eventProblem(event())).toBeUndefined()
    expect(eventProblem({ ...event(), extra: true })).toBeUndefined()
    expect(eventProblem(event({ tags: [[], ['t', 'x', 'y']], kind: 65535, created_at: 0 }))).toBeUndefined()
  })

  it('names the first thing wrong', () => {
    const cases: Array<[unknown, RegExp]> = [
      [null, /not an object/],
      ['event', /not an object/],
      [[], /id/],
      [{ ...event(), id: 'AB'.repeat(32) }, /id is not 64 lower-case hex/],
      [{ ...event(), id: 'ab'.repeat(31) }, /id/],
      [{ ...event(), id: 5 }, /id/],
      [{ ...event(), pubkey: 'ab'.repeat(33) }, /pubkey/],
      [{ ...event(), sig: 'ef'.repeat(32) }, /sig/],
      [{ ...event(), sig: undefined }, /sig/],
      [{ ...event(), kind: -1 }, /kind/],
      [{ ...event(), kind: 65536 }, /kind/],
      [{ ...event(), kind: 1.5 }, /kind/],
      [{ ...event(), kind: '1' }, /kind/],
      [{ ...event(), created_at: -1 }, /created_at/],
      [{ ...event(), created_at: 1.5 }, /created_at/],
      [{ ...event(), created_at: 2 ** 60 }, /created_at/],
      [{ ...event(), content: null }, /content/],
      [{ ...event(), tags: {} }, /tags is not an array/],
      [{ ...event(), tags: ['t'] }, /a tag/],
      [{ ...event(), tags: [['t', 1]] }, /a tag/],
      [{ ...event(), tags: [['t', null]] }, /a tag/],
    ]
    for (const [value, reason] of cases) expect(eventProblem(value)).toMatch(reason)
  })
})

describe('replaceKey, dTag and addressOf', () => {
  it('keys replaceable kinds by kind and author, addressable ones by d too, others not at all', () => {
    expect(replaceKey(event({ kind: 0 }))).toBe(`0:${PK}`)
    expect(replaceKey(event({ kind: 10002, tags: [['d', 'ignored']] }))).toBe(`10002:${PK}`)
    expect(replaceKey(event({ kind: 30023, tags: [['d', 'post']] }))).toBe(`30023:${PK}:post`)
    expect(replaceKey(event({ kind: 30023 }))).toBe(`30023:${PK}:`)
    expect(replaceKey(event({ kind: 1 }))).toBeUndefined()
    expect(replaceKey(event({ kind: 20001 }))).toBeUndefined()
  })

  it('reads the first d tag; a missing or valueless one is empty', () => {
    expect(dTag(event({ tags: [['e', 'x'], ['d', 'one'], ['d', 'two']] }))).toBe('one')
    expect(dTag(event({ tags: [['d']] }))).toBe('')
    expect(dTag(event())).toBe('')
    expect(dTag(event({ tags: [['d', 'a:b:c']] }))).toBe('a:b:c')
  })

  it('gives coordinates as a tags name them: replaceable ones with a trailing colon', () => {
    expect(addressOf(event({ kind: 3 }))).toBe(`3:${PK}:`)
    expect(addressOf(event({ kind: 39999, tags: [['d', 'x']] }))).toBe(`39999:${PK}:x`)
    expect(addressOf(event({ kind: 1 }))).toBeUndefined()
    expect(addressOf(event({ kind: 25000 }))).toBeUndefined()
  })
})

describe('isNewerVersion and newestFirst', () => {
  const low = event({ id: '00'.repeat(32), created_at: 10 })
  const high = event({ id: 'ff'.repeat(32), created_at: 10 })
  const later = event({ id: '80'.repeat(32), created_at: 11 })

  it('newer wins; at the same time the lower id wins; an event does not replace itself', () => {
    expect(isNewerVersion(later, low)).toBe(true)
    expect(isNewerVersion(low, later)).toBe(false)
    expect(isNewerVersion(low, high)).toBe(true)
    expect(isNewerVersion(high, low)).toBe(false)
    expect(isNewerVersion(low, low)).toBe(false)
  })

  it('sorts newest first, ties by ascending id', () => {
    expect([high, low, later].sort(newestFirst)).toEqual([later, low, high])
    expect(newestFirst(low, low)).toBe(0)
  })
})

describe('deletionTargets', () => {
  it('collects e ids and the author’s own a coordinates', () => {
    const target = '1a'.repeat(32)
    const deletion = event({
      kind: 5,
      tags: [
        ['e', target, 'wss://relay.example'],
        ['e', 'not-hex'],
        ['e'],
        ['e', target.toUpperCase()],
        ['a', `30023:${PK}:post`],
        ['a', `30023:${OTHER}:post`],
        ['a', `010002:${PK}:`],
        ['a', `30023:${PK}:with:colons`],
        ['a', `x:${PK}:post`],
        ['a', `30023:${PK}`],
        ['a'],
        ['k', '1'],
      ],
    })
    expect(deletionTargets(deletion)).toEqual({
      ids: [target],
      addresses: [`30023:${PK}:post`, `10002:${PK}:`, `30023:${PK}:with:colons`],
    })
  })

  it('drops every coordinate of another author', () => {
    const deletion = event({ kind: 5, tags: [['a', `0:${OTHER}:`], ['a', `30000:${OTHER}:x`]] })
    expect(deletionTargets(deletion)).toEqual({ ids: [], addresses: [] })
  })
})

describe('matchesFilter', () => {
  const e = event({
    id: '0a'.repeat(32),
    kind: 7,
    created_at: 500,
    tags: [['e', 'aa'], ['p', PK, 'wss://hint'], ['t', 'Nostr'], ['T', 'up'], ['title', 'x'], ['t']],
    content: 'Hello Nostr World',
  })

  it('holds when every condition holds', () => {
    const yes: StorageFilter[] = [
      {},
      { ids: [e.id, 'x'] },
      { authors: [PK] },
      { kinds: [1, 7] },
      { since: 500, until: 500 },
      { '#e': ['aa'] },
      { '#p': [PK] },
      { '#t': ['Nostr'] },
      { '#T': ['up'] },
      { search: 'nostr HELLO' },
      { search: '  ' },
      { kinds: [7], authors: [PK], '#t': ['x', 'Nostr'], limit: 0 },
      { '#x': undefined },
    ]
    for (const filter of yes) expect(matchesFilter(e, filter), JSON.stringify(filter)).toBe(true)
  })

  it('fails when any condition fails; an empty list matches nothing', () => {
    const no: StorageFilter[] = [
      { ids: [] },
      { authors: [OTHER] },
      { authors: [] },
      { kinds: [1] },
      { kinds: [] },
      { since: 501 },
      { until: 499 },
      { '#e': [] },
      { '#t': ['nostr'] },
      { '#t': ['up'] },
      { '#x': ['Nostr'] },
      { '#w': ['hint'] },
      { search: 'hello mars' },
      { kinds: [7], authors: [OTHER] },
    ]
    for (const filter of no) expect(matchesFilter(e, filter), JSON.stringify(filter)).toBe(false)
  })
})

describe('filterProblem', () => {
  it('accepts NIP-01 filters, undefined fields and any single-letter tag', () => {
    const ok: unknown[] = [
      {},
      { ids: [], authors: ['x'], kinds: [0, 65535], since: 0, until: 1, limit: 0, search: '' },
      { '#e': ['a'], '#Z': [], '#1': ['x'] },
      { kinds: undefined, '#t': undefined },
    ]
    for (const filter of ok) expect(filterProblem(filter), JSON.stringify(filter)).toBeUndefined()
  })

  it('names what is wrong', () => {
    const cases: Array<[unknown, RegExp]> = [
      [null, /not an object/],
      [[], /not an object/],
      ['{}', /not an object/],
      [{ ids: 'x' }, /ids is not an array of strings/],
      [{ authors: [1] }, /authors/],
      [{ '#p': [null] }, /#p/],
      [{ kinds: [1.5] }, /kinds is not an array of integers/],
      [{ kinds: ['1'] }, /kinds/],
      [{ since: -1 }, /since is not a non-negative integer/],
      [{ until: '5' }, /until/],
      [{ limit: Number.NaN }, /limit/],
      [{ search: 1 }, /search is not a string/],
      [{ '#tag': ['x'] }, /unknown filter field "#tag"/],
      [{ '#': ['x'] }, /unknown filter field/],
      [{ foo: 1 }, /unknown filter field "foo"/],
      [{ ['x'.repeat(50)]: 1 }, /unknown filter field "x{20}"$/],
    ]
    for (const [filter, reason] of cases) expect(filterProblem(filter), JSON.stringify(filter)).toMatch(reason)
  })
})
