import { createHash } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { NostrEvent } from '../../src/crypto/event.js'
import { StorageError } from '../../src/errors.js'
import type { Storage } from '../../src/storage/types.js'
import { SQLITE_SCHEMA_VERSION, sqliteStorage, type SqliteStorageOptions } from '../../src/storage/sqlite.js'
import { expectRejectionCode } from '../helpers/errors.js'
import { describeStorage } from './contract.js'

// Storage checks shapes, not signatures, so synthetic hex events keep these tests fast.
let counter = 0
const hex = (n: number, length = 64): string => n.toString(16).padStart(length, '0')
const SIG = hex(1, 128)

function makeEvent(fields: Partial<NostrEvent> = {}): NostrEvent {
  counter++
  return {
    id: hex(counter),
    pubkey: hex(0xa11ce),
    created_at: 1_700_000_000 + counter,
    kind: 1,
    tags: [],
    content: `note ${counter}`,
    sig: SIG,
    ...fields,
  }
}

let dir: string
let opened: Storage[] = []
let raw: Database.Database[] = []

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rendezvous-sqlite-'))
  opened = []
  raw = []
})

afterEach(async () => {
  for (const storage of opened) await storage.close()
  for (const db of raw) if (db.open) db.close()
  rmSync(dir, { recursive: true, force: true })
})

function open(options: Partial<SqliteStorageOptions> = {}): Storage {
  const storage = sqliteStorage({ path: join(dir, 'events.db'), ...options })
  opened.push(storage)
  return storage
}

function rawDb(path = join(dir, 'events.db'), options?: Database.Options): Database.Database {
  const db = new Database(path, options)
  raw.push(db)
  return db
}

const sha = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex')

describe('sqliteStorage: loading the driver', () => {
  afterEach(() => {
    vi.doUnmock('better-sqlite3')
    vi.resetModules()
  })

  it('importing the module does not load better-sqlite3; the first call does', async () => {
    vi.resetModules()
    let loads = 0
    vi.doMock('better-sqlite3', async (importOriginal) => {
      loads++
      return importOriginal()
    })
    const mod = await import('../../src/storage/sqlite.js')
    expect(loads).toBe(0)
    const storage = mod.sqliteStorage({ path: ':memory:' })
    expect(loads).toBe(0)
    expect(await storage.countEvents()).toBe(0)
    expect(loads).toBe(1)
    await storage.close()
  })

  it('holds no static value import of the driver', () => {
    const source = readFileSync(new URL('../../src/storage/sqlite.ts', import.meta.url), 'utf8')
    const staticImports = [...source.matchAll(/^\s*(?:import|export)\s+(type\s+)?(?:[^'"]*from\s+)?'better-sqlite3'/gm)]
    expect(staticImports.length).toBe(1)
    expect(staticImports[0]![1]).toBe('type ')
  })

  it('a missing driver rejects with STORAGE_UNAVAILABLE saying what to install', async () => {
    vi.resetModules()
    vi.doMock('better-sqlite3', () => {
      throw new Error("Cannot find package 'better-sqlite3'")
    })
    const mod = await import('../../src/storage/sqlite.js')
    const storage = mod.sqliteStorage({ path: join(dir, 'x.db') })
    // After resetModules the module has its own copy of errors.ts, so compare by name and code.
    const err = (await storage.getEvent(hex(1)).catch((e: unknown) => e)) as StorageError
    expect(err.name).toBe('StorageError')
    expect(err.code).toBe('STORAGE_UNAVAILABLE')
    expect(err.details).toContain('npm install better-sqlite3')
    await storage.close()
  })
})

describe('sqliteStorage: schema and pragmas', () => {
  it('migrates an empty file from version 0 and turns WAL on', async () => {
    const path = join(dir, 'events.db')
    writeFileSync(path, '')
    const storage = open()
    expect(await storage.countEvents()).toBe(0)
    const db = rawDb(path)
    expect(db.pragma('user_version', { simple: true })).toBe(SQLITE_SCHEMA_VERSION)
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal')
    const tables = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .all()
      .map((r) => (r as { name: string }).name)
    expect(tables).toEqual(['counters', 'deletions', 'events', 'records', 'seen_on', 'tag_values', 'tags'])
    const indexes = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%' ORDER BY name")
      .all()
      .map((r) => (r as { name: string }).name)
    expect(indexes).toEqual(
      expect.arrayContaining(['events_created', 'events_kind_created', 'events_pubkey_kind_created', 'tags_value_created']),
    )
  })

  it('sets synchronous=NORMAL and the busy timeout on a database it is handed, and leaves it open on close', async () => {
    const db = rawDb()
    const storage = sqliteStorage({ database: db, busyTimeoutMs: 1234 })
    await storage.putEvents([makeEvent()])
    expect(db.pragma('synchronous', { simple: true })).toBe(1)
    expect(db.pragma('busy_timeout', { simple: true })).toBe(1234)
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal')
    await storage.close()
    expect(db.open).toBe(true)
    expect(db.prepare('SELECT count(*) AS n FROM events').get()).toEqual({ n: 1 })
  })

  it('refuses a database from a newer version and leaves the file byte-for-byte untouched', async () => {
    const path = join(dir, 'events.db')
    const db = rawDb(path)
    db.exec("CREATE TABLE future (x TEXT); INSERT INTO future VALUES ('kept')")
    db.pragma(`user_version = ${SQLITE_SCHEMA_VERSION + 1}`)
    db.close()
    const before = sha(path)
    const storage = open()
    const err = await expectRejectionCode(storage.countEvents(), 'STORAGE_SCHEMA_TOO_NEW')
    expect(err.details).toContain(`version ${SQLITE_SCHEMA_VERSION + 1}`)
    await storage.close()
    expect(sha(path)).toBe(before)
    const again = rawDb(path)
    expect(again.pragma('journal_mode', { simple: true })).toBe('delete')
    expect(again.prepare('SELECT x FROM future').get()).toEqual({ x: 'kept' })
  })

  it('does not adopt a version-0 file that already has a table of its own named events', async () => {
    const path = join(dir, 'events.db')
    const db = rawDb(path)
    db.exec("CREATE TABLE events (foreign_column TEXT); INSERT INTO events VALUES ('theirs')")
    db.close()
    const storage = open()
    const err = await expectRejectionCode(storage.countEvents(), 'STORAGE_UNAVAILABLE')
    expect(err.details).toContain('migration to version 1')
    const again = rawDb(path)
    expect(again.pragma('user_version', { simple: true })).toBe(0)
    expect(again.prepare('SELECT foreign_column FROM events').all()).toEqual([{ foreign_column: 'theirs' }])
    expect(again.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'records'").get()).toEqual({ n: 0 })
  })
})

describe('sqliteStorage: persistence', () => {
  it('keeps events, replacements, deletions, seen-on and records across a reopen', async () => {
    const first = open()
    const author = hex(0xb0b)
    const note = makeEvent({ pubkey: author, tags: [['t', 'nostr'], ['p', hex(7)]] })
    const doomed = makeEvent({ pubkey: author })
    const oldProfile = makeEvent({ pubkey: author, kind: 0, created_at: 10 })
    const newProfile = makeEvent({ pubkey: author, kind: 0, created_at: 20 })
    const deletion = makeEvent({ pubkey: author, kind: 5, tags: [['e', doomed.id]] })
    await first.putEvents([note, doomed, oldProfile, newProfile, deletion], { seenOn: 'wss://a.example/' })
    await first.addSeenOn([note.id], 'wss://b.example/')
    await first.putRecords('settings', [
      ['theme', { dark: true }],
      ['relays', ['wss://a.example/']],
    ])
    await first.close()

    const second = open()
    expect(await second.countEvents()).toBe(3)
    expect(await second.getEvent(note.id)).toEqual(note)
    expect(await second.getEvent(oldProfile.id)).toBeUndefined()
    expect((await second.queryEvents([{ '#t': ['nostr'] }])).map((e) => e.id)).toEqual([note.id])
    expect((await second.seenOn([note.id])).get(note.id)).toEqual(['wss://a.example/', 'wss://b.example/'])
    expect(await second.listRecords('settings')).toEqual([
      ['relays', ['wss://a.example/']],
      ['theme', { dark: true }],
    ])
    // The deletion is remembered: the deleted event cannot come back after the restart.
    expect(await second.putEvents([doomed])).toEqual([{ id: doomed.id, status: 'deleted' }])
    expect(await second.putEvents([oldProfile])).toEqual([{ id: oldProfile.id, status: 'superseded' }])
  })

  it('two storages on one file (two processes, say) see each other\'s writes', async () => {
    const a = open()
    const b = open()
    const first = makeEvent()
    const second = makeEvent()
    await a.putEvents([first])
    await b.putEvents([second])
    await b.putRecord('relay-health', 'wss://x/', { ok: 1 })
    expect(await a.countEvents()).toBe(2)
    expect(await a.getEvent(second.id)).toEqual(second)
    expect(await a.getRecord('relay-health', 'wss://x/')).toEqual({ ok: 1 })
    expect(await b.putEvents([first])).toEqual([{ id: first.id, status: 'duplicate' }])
  })

  it('a failed open is tried again on the next call', async () => {
    const path = join(dir, 'events.db')
    writeFileSync(path, Buffer.alloc(8192, 0x5a))
    const storage = open()
    await expectRejectionCode(storage.countEvents(), 'STORAGE_UNAVAILABLE')
    writeFileSync(path, '')
    expect(await storage.countEvents()).toBe(0)
  })
})

describe('sqliteStorage: faults become StorageError codes', () => {
  it('a file that is not a database: STORAGE_UNAVAILABLE, and the file is not touched', async () => {
    const path = join(dir, 'events.db')
    writeFileSync(path, Buffer.from('this is not an sqlite database, just some bytes '.repeat(200)))
    const before = sha(path)
    const storage = open()
    const err = await expectRejectionCode(storage.putEvents([makeEvent()]), 'STORAGE_UNAVAILABLE')
    expect(err.details).toContain('SQLITE_NOTADB')
    expect(err.cause).toBeDefined()
    expect(sha(path)).toBe(before)
  })

  it('a directory that does not exist, or a path that is a directory: STORAGE_UNAVAILABLE', async () => {
    const missing = sqliteStorage({ path: join(dir, 'no', 'such', 'dir', 'events.db') })
    opened.push(missing)
    const err = await expectRejectionCode(missing.countEvents(), 'STORAGE_UNAVAILABLE')
    expect(err.details).toContain('directory does not exist')
    mkdirSync(join(dir, 'a-directory'))
    const isDir = sqliteStorage({ path: join(dir, 'a-directory') })
    opened.push(isDir)
    await expectRejectionCode(isDir.getRecord('settings', 'x'), 'STORAGE_UNAVAILABLE')
  })

  it('a full disk: STORAGE_FULL, the failed batch left nothing behind, everything earlier intact', async () => {
    const storage = open({ maxPageCount: 64 })
    const author = hex(0xf0f0)
    const early = Array.from({ length: 20 }, () => makeEvent({ pubkey: author, tags: [['t', 'early']] }))
    expect((await storage.putEvents(early)).every((r) => r.status === 'stored')).toBe(true)
    await storage.putRecord('settings', 'kept', { n: 1 })

    const big = 'x'.repeat(2000)
    const flood = Array.from({ length: 400 }, () => makeEvent({ pubkey: author, content: big, tags: [['t', 'flood']] }))
    const err = await expectRejectionCode(storage.putEvents(flood), 'STORAGE_FULL')
    expect(err.details).toContain('SQLITE_FULL')
    expect(await storage.countEvents()).toBe(20)
    expect(await storage.queryEvents([{ '#t': ['flood'] }])).toEqual([])
    expect(await storage.getEvent(flood[0]!.id)).toBeUndefined()
    expect((await storage.queryEvents([{ authors: [author] }])).length).toBe(20)
    const leftovers = rawDb().prepare('SELECT (SELECT count(*) FROM tags) AS tags, (SELECT count(*) FROM tag_values) AS values_').get()
    expect(leftovers).toEqual({ tags: 20, values_: 1 })

    const records = Array.from({ length: 400 }, (_, i): [string, string] => [`big-${i}`, big])
    await expectRejectionCode(storage.putRecords('settings', records), 'STORAGE_FULL')
    expect(await storage.listRecords('settings')).toEqual([['kept', { n: 1 }]])

    // Still usable for writes that fit.
    expect(await storage.putEvents([makeEvent({ pubkey: author })])).toHaveLength(1)
    expect(await storage.countEvents()).toBe(21)
  })

  it('a row whose tags are not JSON: STORAGE_CORRUPT naming it; other rows still read', async () => {
    const storage = open()
    const good = makeEvent({ pubkey: hex(1) })
    const bad = makeEvent({ pubkey: hex(2) })
    const foreign = makeEvent({ pubkey: hex(3) })
    await storage.putEvents([good, bad, foreign])
    const db = rawDb()
    db.prepare("UPDATE events SET tags = '[[\"p\", oops' WHERE id = ?").run(bad.id)
    db.prepare("UPDATE events SET tags = '{\"not\":\"an array\"}' WHERE id = ?").run(foreign.id)

    const err = await expectRejectionCode(storage.getEvent(bad.id), 'STORAGE_CORRUPT')
    expect(err.details).toContain(bad.id)
    expect(err.details).toContain('not JSON')
    const err2 = await expectRejectionCode(storage.queryEvents([{ authors: [hex(3)] }]), 'STORAGE_CORRUPT')
    expect(err2.details).toContain(foreign.id)
    await expectRejectionCode(storage.queryEvents([{}]), 'STORAGE_CORRUPT')
    expect(await storage.getEvent(good.id)).toEqual(good)
    expect(await storage.queryEvents([{ authors: [hex(1)] }])).toEqual([good])
    expect(await storage.countEvents()).toBe(3)
  })

  it('a record that is not JSON: STORAGE_CORRUPT naming it; other records still read', async () => {
    const storage = open()
    await storage.putRecords('evidence', [
      ['alice', { relays: ['wss://a/'] }],
      ['bob', { relays: [] }],
    ])
    rawDb().prepare("UPDATE records SET value = '{broken' WHERE collection = 'evidence' AND key = 'bob'").run()
    const err = await expectRejectionCode(storage.getRecord('evidence', 'bob'), 'STORAGE_CORRUPT')
    expect(err.details).toContain('"bob"')
    expect(err.details).toContain('evidence')
    await expectRejectionCode(storage.listRecords('evidence'), 'STORAGE_CORRUPT')
    expect(await storage.getRecord('evidence', 'alice')).toEqual({ relays: ['wss://a/'] })
    expect(await storage.listRecords('evidence', 'al')).toEqual([['alice', { relays: ['wss://a/'] }]])
  })

  it('writes to a read-only storage: STORAGE_WRITE_FAILED; reads work', async () => {
    const writer = open()
    const event = makeEvent()
    await writer.putEvents([event])
    await writer.putRecord('nip11', 'wss://a/', { name: 'a' })
    await writer.close()

    const reader = open({ readonly: true })
    expect(await reader.getEvent(event.id)).toEqual(event)
    expect(await reader.getRecord('nip11', 'wss://a/')).toEqual({ name: 'a' })
    await expectRejectionCode(reader.putEvents([makeEvent()]), 'STORAGE_WRITE_FAILED')
    await expectRejectionCode(reader.putRecord('nip11', 'wss://b/', {}), 'STORAGE_WRITE_FAILED')
    await expectRejectionCode(reader.removeEvents([event.id]), 'STORAGE_WRITE_FAILED')
    expect(await reader.countEvents()).toBe(1)
  })

  it("SQLite's own read-only refusal maps to STORAGE_WRITE_FAILED too", async () => {
    const db = rawDb()
    const storage = sqliteStorage({ database: db })
    opened.push(storage)
    await storage.putEvents([makeEvent()])
    db.pragma('query_only = ON')
    const err = await expectRejectionCode(storage.putEvents([makeEvent()]), 'STORAGE_WRITE_FAILED')
    expect(err.details).toContain('SQLITE_READONLY')
    expect(await storage.countEvents()).toBe(1)
  })

  it('read-only: a missing file, or one that still needs migrating, is STORAGE_UNAVAILABLE', async () => {
    await expectRejectionCode(open({ readonly: true }).countEvents(), 'STORAGE_UNAVAILABLE')
    writeFileSync(join(dir, 'events.db'), '')
    const err = await expectRejectionCode(open({ readonly: true }).countEvents(), 'STORAGE_UNAVAILABLE')
    expect(err.details).toContain('schema version 0')
  })

  it('any failure inside a batch rolls the whole batch back (STORAGE_WRITE_FAILED)', async () => {
    const storage = open()
    const db = rawDb()
    await storage.countEvents()
    db.exec("CREATE TRIGGER boom BEFORE INSERT ON events WHEN new.content = 'boom' BEGIN SELECT RAISE(ABORT, 'boom'); END")
    db.exec("CREATE TRIGGER boom2 BEFORE INSERT ON records WHEN new.value = '\"boom\"' BEGIN SELECT RAISE(ABORT, 'boom'); END")
    const ok = makeEvent({ tags: [['t', 'x']] })
    await expectRejectionCode(storage.putEvents([ok, makeEvent({ content: 'boom' })], { seenOn: 'wss://a/' }), 'STORAGE_WRITE_FAILED')
    expect(await storage.countEvents()).toBe(0)
    expect(await storage.queryEvents([{ '#t': ['x'] }])).toEqual([])
    expect(db.prepare('SELECT (SELECT count(*) FROM tags) + (SELECT count(*) FROM seen_on) AS n').get()).toEqual({ n: 0 })
    await expectRejectionCode(
      storage.putRecords('settings', [
        ['a', 1],
        ['b', 'boom'],
      ]),
      'STORAGE_WRITE_FAILED',
    )
    expect(await storage.listRecords('settings')).toEqual([])
  })
})

describe('sqliteStorage: queries', () => {
  it('5,000 authors (and 40,000 ids) in one call stay under the parameter limit', async () => {
    const storage = open()
    const events = Array.from({ length: 5000 }, (_, i) => makeEvent({ pubkey: hex(100_000 + i), tags: [['p', hex(i)]] }))
    for (let i = 0; i < events.length; i += 1000) await storage.putEvents(events.slice(i, i + 1000))
    const authors = events.map((e) => e.pubkey)
    const found = await storage.queryEvents([{ authors }])
    expect(found.length).toBe(5000)
    expect(found[0]!.id).toBe(events[4999]!.id)
    expect((await storage.queryEvents([{ authors, limit: 10 }])).length).toBe(10)
    expect((await storage.queryEvents([{ '#p': events.map((_, i) => hex(i)), kinds: [1] }])).length).toBe(5000)
    const ids = [...events.map((e) => e.id), ...Array.from({ length: 35_000 }, (_, i) => hex(10_000_000 + i))]
    expect((await storage.queryEvents([{ ids }])).length).toBe(5000)
    expect((await storage.seenOn(ids)).size).toBe(40_000)
    expect(await storage.removeEvents(ids)).toBe(5000)
    expect(await storage.countEvents()).toBe(0)
  })

  it('binds values, so quotes and SQL in filters are only data', async () => {
    const storage = open()
    const sneaky = "x') OR 1=1; DROP TABLE events; --"
    const event = makeEvent({ tags: [['t', sneaky]], content: sneaky })
    await storage.putEvents([event, makeEvent()])
    expect(await storage.queryEvents([{ '#t': [sneaky] }])).toEqual([event])
    expect(await storage.queryEvents([{ '#t': ["x'"] }])).toEqual([])
    expect(await storage.queryEvents([{ search: 'DROP table' }])).toEqual([event])
    expect(await storage.countEvents()).toBe(2)
  })

  it('search folds case beyond ASCII and still honours limit in SQL', async () => {
    const storage = open()
    const a = makeEvent({ content: 'Une ÉCOLE à Paris', created_at: 3 })
    const b = makeEvent({ content: 'école du soir', created_at: 2 })
    const c = makeEvent({ content: 'ecole sans accent', created_at: 1 })
    await storage.putEvents([a, b, c])
    expect((await storage.queryEvents([{ search: 'école' }])).map((e) => e.id)).toEqual([a.id, b.id])
    expect((await storage.queryEvents([{ search: 'École', limit: 1 }])).map((e) => e.id)).toEqual([a.id])
    expect((await storage.queryEvents([{ search: '   ' }])).length).toBe(3)
  })

  it('an aborted signal rejects with STORAGE_ABORTED', async () => {
    const storage = open()
    const controller = new AbortController()
    controller.abort(new Error('stop'))
    const err = await expectRejectionCode(storage.queryEvents([{}], { signal: controller.signal }), 'STORAGE_ABORTED')
    expect((err.cause as Error).message).toBe('stop')
  })
})

describe('sqliteStorage: bounds and lifecycle', () => {
  it('maxEvents evicts plain events first, then replaceable versions, deletions last', async () => {
    const storage = open({ maxEvents: 3 })
    const author = hex(0xcafe)
    const deletion = makeEvent({ pubkey: author, kind: 5, created_at: 1, tags: [['e', hex(999_999)]] })
    const profile = makeEvent({ pubkey: author, kind: 0, created_at: 2 })
    const oldNote = makeEvent({ pubkey: author, created_at: 3 })
    const newNote = makeEvent({ pubkey: author, created_at: 4 })
    await storage.putEvents([deletion, profile, oldNote])
    await storage.putEvents([newNote])
    expect((await storage.queryEvents([{}])).map((e) => e.id)).toEqual([newNote.id, profile.id, deletion.id])
    const newest = makeEvent({ pubkey: author, created_at: 5 })
    const newer = makeEvent({ pubkey: author, created_at: 6 })
    await storage.putEvents([newest, newer])
    expect((await storage.queryEvents([{}])).map((e) => e.id)).toEqual([newer.id, profile.id, deletion.id])
    const relayList = makeEvent({ pubkey: author, kind: 10002, created_at: 8 })
    await storage.putEvents([relayList])
    expect((await storage.queryEvents([{}])).map((e) => e.id)).toEqual([relayList.id, profile.id, deletion.id])
    const contacts = makeEvent({ pubkey: author, kind: 3, created_at: 9 })
    await storage.putEvents([contacts])
    expect((await storage.queryEvents([{}])).map((e) => e.id)).toEqual([contacts.id, relayList.id, deletion.id])
    expect(await storage.countEvents()).toBe(3)
  })

  it('remembers at most 20 relays per event, in first-seen order', async () => {
    const storage = open()
    const event = makeEvent()
    await storage.putEvents([event], { seenOn: 'wss://r0/' })
    for (let i = 1; i < 25; i++) await storage.addSeenOn([event.id], `wss://r${i}/`)
    await storage.putEvents([event], { seenOn: 'wss://r0/' })
    const relays = (await storage.seenOn([event.id, hex(12345)]))
    expect(relays.get(event.id)).toEqual(Array.from({ length: 20 }, (_, i) => `wss://r${i}/`))
    expect(relays.get(hex(12345))).toEqual([])
  })

  it('every method rejects rather than throws, and rejects with STORAGE_CLOSED after close', async () => {
    const storage = open()
    let pending: Promise<unknown> | undefined
    expect(() => {
      pending = storage.getEvent(42 as unknown as string)
    }).not.toThrow()
    await expect(pending).rejects.toBeInstanceOf(TypeError)
    await expect(storage.getRecord('nope' as 'settings', 'k')).rejects.toBeInstanceOf(TypeError)
    await expect(storage.putRecord('settings', 'k', { n: Number.NaN })).rejects.toBeInstanceOf(TypeError)
    await storage.close()
    await storage.close()
    await expectRejectionCode(storage.countEvents(), 'STORAGE_CLOSED')
    await expectRejectionCode(storage.putEvents([makeEvent()]), 'STORAGE_CLOSED')
    await expectRejectionCode(storage.listRecords('settings'), 'STORAGE_CLOSED')
  })

  it('programmer errors in options throw at once', () => {
    expect(() => sqliteStorage({} as SqliteStorageOptions)).toThrow(TypeError)
    expect(() => sqliteStorage({ path: 'x.db', maxEvents: 0 })).toThrow(RangeError)
    expect(() => sqliteStorage({ path: 'x.db', database: {} })).toThrow(TypeError)
    expect(() => sqliteStorage({ path: 'x.db', maxPageCount: 1.5 })).toThrow(RangeError)
  })

  it('errors are StorageError instances, never the driver error itself', async () => {
    writeFileSync(join(dir, 'events.db'), Buffer.alloc(4096, 1))
    const err = await open().countEvents().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(StorageError)
    expect((err as Error).constructor.name).not.toBe('SqliteError')
  })
})

describe('sqliteStorage: the shared contract, on temp files', () => {
  let contractDir: string | undefined
  let files = 0
  const paths = new WeakMap<Storage, string>()
  const openFile = (path: string): Storage => {
    const storage = sqliteStorage({ path })
    paths.set(storage, path)
    return storage
  }
  afterAll(() => {
    if (contractDir) rmSync(contractDir, { recursive: true, force: true })
  })
  describeStorage(
    'sqlite',
    () => {
      contractDir ??= mkdtempSync(join(tmpdir(), 'rendezvous-sqlite-contract-'))
      return openFile(join(contractDir, `contract-${++files}.db`))
    },
    {
      reopen: async (previous) => {
        const path = paths.get(previous)!
        await previous.close()
        return openFile(path)
      },
    },
  )
})
