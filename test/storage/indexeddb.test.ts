import { createHash } from 'node:crypto'
import { IDBFactory, forceCloseDatabase } from 'fake-indexeddb'
import { setMany, type UseStore } from 'idb-keyval'
import { describe, expect, it } from 'vitest'
import type { NostrEvent } from '../../src/crypto/event.js'
import { StorageError } from '../../src/errors.js'
import { indexedDbStorage, type IndexedDbStorage } from '../../src/storage/indexeddb.js'
import type { Storage } from '../../src/storage/types.js'
import { expectRejectionCode } from '../helpers/errors.js'

// The contract suite every adapter passes.
import { describeStorage } from './contract.js'

let dbCounter = 0
/** A fresh database name: fake-indexeddb factories are fresh per test anyway, names keep it obvious. */
function dbName(): string {
  return `rendezvous-test-${++dbCounter}`
}

const ALICE = 'a'.repeat(64)
const BOB = 'b'.repeat(64)
const SIG = 'c'.repeat(128)

/** A well-formed event (storage checks shape, not signatures); the id is a hash of the rest. */
function ev(fields: Partial<Omit<NostrEvent, 'id' | 'sig'>> = {}): NostrEvent {
  const base = { pubkey: ALICE, created_at: 1000, kind: 1, tags: [] as string[][], content: '', ...fields }
  const id = createHash('sha256').update(JSON.stringify([base.pubkey, base.created_at, base.kind, base.tags, base.content])).digest('hex')
  return { ...base, id, sig: SIG }
}

function ids(events: readonly NostrEvent[]): string[] {
  return events.map((e) => e.id)
}

/** Which factory and name each instance was made with, so `reopen` can make its successor. */
const opened = new WeakMap<Storage, { factory: IDBFactory; name: string }>()

/** A fresh database on a fresh fake IndexedDB (or the given one), remembered for `reopen`. */
function openTracked(factory = new IDBFactory(), name = dbName()): IndexedDbStorage {
  const storage = indexedDbStorage({ indexedDB: factory, name })
  opened.set(storage, { factory, name })
  return storage
}

describeStorage('indexeddb', () => openTracked(), {
  // Same factory, same name: a new instance must see everything the previous one wrote.
  reopen: async (previous) => {
    const { factory, name } = opened.get(previous)!
    await previous.close()
    return openTracked(factory, name)
  },
})

// ---------------------------------------------------------------------------------------------
// An instrumented fake-indexeddb factory: counts transactions and injects write faults.

interface Fault {
  /** Which put fails, 1-based, counted over every put the factory sees from now on. */
  readonly at: number
  /**
   * `abort`: the put is queued, then the transaction aborts with `name`, as a browser does when
   * the quota runs out at commit. `throw`: `put` throws synchronously (an uncloneable value).
   */
  readonly mode: 'abort' | 'throw'
  readonly name: string
}

interface Instrumented {
  readonly factory: IDBFactory
  /** Every transaction opened: object store names and mode. */
  readonly transactions: Array<{ stores: string; mode: string }>
  /** Every connection opened. */
  readonly connections: IDBDatabase[]
  /** Arms one fault; puts are counted from the moment it is armed. */
  fail(fault: Fault | undefined): void
}

function instrumentedFactory(): Instrumented {
  const factory = new IDBFactory()
  const transactions: Instrumented['transactions'] = []
  const connections: IDBDatabase[] = []
  let fault: Fault | undefined
  let puts = 0
  const realOpen = factory.open.bind(factory)
  factory.open = (name: string, version?: number) => {
    const request = realOpen(name, version)
    // Added before the adapter sets onsuccess, so it runs first.
    request.addEventListener('success', () => patchConnection(request.result))
    return request
  }
  function patchConnection(db: IDBDatabase): void {
    connections.push(db)
    const realTransaction = db.transaction.bind(db)
    db.transaction = ((stores: string | string[], mode?: IDBTransactionMode) => {
      const tx = realTransaction(stores, mode)
      transactions.push({ stores: String(stores), mode: mode ?? 'readonly' })
      const realObjectStore = tx.objectStore.bind(tx)
      tx.objectStore = (storeName: string) => patchStore(realObjectStore(storeName), tx)
      return tx
    }) as IDBDatabase['transaction']
  }
  function patchStore(store: IDBObjectStore, tx: IDBTransaction): IDBObjectStore {
    const realPut = store.put.bind(store)
    store.put = (value: unknown, key?: IDBValidKey) => {
      puts++
      const armed = fault
      if (armed && puts === armed.at) {
        fault = undefined
        if (armed.mode === 'throw') throw new DOMException('value cannot be cloned', armed.name)
        const request = realPut(value, key)
        request.addEventListener('success', () => (tx as unknown as { _abort(name: string): void })._abort(armed.name))
        return request
      }
      return realPut(value, key)
    }
    return store
  }
  return {
    factory,
    transactions,
    connections,
    fail(next) {
      fault = next
      puts = 0
    },
  }
}

/** An idb-keyval store over one object store of a database the adapter created, to write rows behind its back. */
async function rawStore(factory: IDBFactory, name: string, storeName: string): Promise<{ store: UseStore; close: () => void }> {
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const request = factory.open(name)
    request.onsuccess = () => resolve(request.result)
    request.onerror = () => reject(request.error)
  })
  const store: UseStore = async (mode, callback) => callback(db.transaction(storeName, mode).objectStore(storeName))
  return { store, close: () => db.close() }
}

// ---------------------------------------------------------------------------------------------

describe('indexedDbStorage: persistence', () => {
  it('a new instance on the same database sees events, seen-on, replacements, deletions and records', async () => {
    const factory = new IDBFactory()
    const name = dbName()
    const first = indexedDbStorage({ indexedDB: factory, name })
    const note = ev({ content: 'hello', tags: [['t', 'nostr']] })
    const doomed = ev({ content: 'oops', created_at: 1001 })
    const profileOld = ev({ kind: 0, created_at: 10, content: 'old' })
    const profileNew = ev({ kind: 0, created_at: 20, content: 'new' })
    const article = ev({ kind: 30023, tags: [['d', 'post']], created_at: 50 })
    const deletion = ev({ kind: 5, created_at: 2000, tags: [['e', doomed.id]] })
    const results = await first.putEvents([note, doomed, profileOld, profileNew, article, deletion], { seenOn: 'wss://a.example' })
    expect(results.map((r) => r.status)).toEqual(['stored', 'stored', 'stored', 'stored', 'stored', 'stored'])
    expect(results[3]!.replaced).toEqual([profileOld.id])
    expect(results[5]!.replaced).toEqual([doomed.id])
    await first.addSeenOn([note.id], 'wss://b.example')
    await first.putRecords('settings', [
      ['theme', 'dark'],
      ['relays', { read: ['wss://a.example'], n: 2, ok: true, none: null }],
    ])
    await first.putRecord('publish-queue', 'q1', [1, 2, 3])
    await first.close()

    const second = indexedDbStorage({ indexedDB: factory, name })
    expect(await second.countEvents()).toBe(4)
    expect(ids(await second.queryEvents([{}]))).toEqual([deletion.id, note.id, article.id, profileNew.id])
    expect(ids(await second.queryEvents([{ '#t': ['nostr'] }]))).toEqual([note.id])
    expect(await second.getEvent(note.id)).toEqual(note)
    expect((await second.seenOn([note.id, deletion.id])).get(note.id)).toEqual(['wss://a.example', 'wss://b.example'])
    expect((await second.seenOn([deletion.id])).get(deletion.id)).toEqual(['wss://a.example'])
    // The rules still hold after the reload: the deletion guards its target, the old profile stays replaced.
    const again = await second.putEvents([doomed, profileOld, article])
    expect(again.map((r) => r.status)).toEqual(['deleted', 'superseded', 'duplicate'])
    expect(await second.getRecord('settings', 'relays')).toEqual({ read: ['wss://a.example'], n: 2, ok: true, none: null })
    expect(await second.listRecords('settings')).toEqual([
      ['relays', { read: ['wss://a.example'], n: 2, ok: true, none: null }],
      ['theme', 'dark'],
    ])
    expect(await second.getRecord('publish-queue', 'q1')).toEqual([1, 2, 3])
    await second.close()
  })

  it('databases with different names, or on different factories, do not share data', async () => {
    const factory = new IDBFactory()
    const a = indexedDbStorage({ indexedDB: factory, name: dbName() })
    const b = indexedDbStorage({ indexedDB: factory, name: dbName() })
    const c = indexedDbStorage({ indexedDB: new IDBFactory(), name: 'same' })
    const d = indexedDbStorage({ indexedDB: new IDBFactory(), name: 'same' })
    await a.putEvents([ev()])
    await c.putRecord('settings', 'k', 1)
    expect(await b.countEvents()).toBe(0)
    expect(await d.getRecord('settings', 'k')).toBeUndefined()
    await Promise.all([a.close(), b.close(), c.close(), d.close()])
  })

  it('writes one IndexedDB transaction per batch and loads the event index once', async () => {
    const { factory, transactions } = instrumentedFactory()
    const storage = indexedDbStorage({ indexedDB: factory, name: dbName() })
    const batch = Array.from({ length: 20 }, (_, i) => ev({ created_at: 100 + i }))
    await storage.putEvents(batch)
    await storage.putRecords('evidence', Array.from({ length: 10 }, (_, i) => [`k${i}`, i] as const))
    await storage.queryEvents([{ kinds: [1] }])
    await storage.queryEvents([{ authors: [ALICE] }])
    await storage.countEvents()
    expect(transactions).toEqual([
      { stores: 'events', mode: 'readonly' }, // the one load
      { stores: 'events', mode: 'readwrite' }, // 20 events
      { stores: 'records', mode: 'readwrite' }, // 10 records
    ])
    await storage.close()
  })

  it('concurrent batches are applied one after the other, each against the result of the previous', async () => {
    const factory = new IDBFactory()
    const name = dbName()
    const storage = indexedDbStorage({ indexedDB: factory, name })
    const v1 = ev({ kind: 10002, created_at: 10 })
    const v2 = ev({ kind: 10002, created_at: 20 })
    const v3 = ev({ kind: 10002, created_at: 30 })
    const [r1, r2, r3] = await Promise.all([storage.putEvents([v1]), storage.putEvents([v3]), storage.putEvents([v2])])
    expect(r1![0]!.status).toBe('stored')
    expect(r2![0]).toEqual({ id: v3.id, status: 'stored', replaced: [v1.id] })
    expect(r3![0]!.status).toBe('superseded')
    await storage.close()
    const reopened = indexedDbStorage({ indexedDB: factory, name })
    expect(ids(await reopened.queryEvents([{ kinds: [10002] }]))).toEqual([v3.id])
    await reopened.close()
  })
})

describe('indexedDbStorage: failed writes leave nothing half-written', () => {
  async function seeded(inst: Instrumented, name: string): Promise<{ storage: IndexedDbStorage; before: NostrEvent[]; seen: Map<string, string[]> }> {
    const storage = indexedDbStorage({ indexedDB: inst.factory, name })
    await storage.putEvents(
      [
        ev({ content: 'one' }),
        ev({ content: 'kept', created_at: 900 }),
        ev({ kind: 0, created_at: 5, content: 'profile' }),
        ev({ kind: 30000, tags: [['d', 'x']], created_at: 7 }),
      ],
      { seenOn: 'wss://a.example' },
    )
    await storage.putRecord('settings', 'kept', 'yes')
    const before = await storage.queryEvents([{}])
    const seen = await storage.seenOn(ids(before))
    return { storage, before, seen }
  }

  /** A batch that adds events, replaces two versions, deletes a note and records seen-on: net two more events. */
  function mixedBatch(before: NostrEvent[]): NostrEvent[] {
    const note = before.find((e) => e.content === 'one')!
    const kept = before.find((e) => e.content === 'kept')!
    return [
      ev({ content: 'two', created_at: 3000 }),
      ev({ kind: 0, created_at: 50, content: 'profile v2' }),
      ev({ content: 'three', created_at: 3001 }),
      ev({ kind: 5, created_at: 4000, tags: [['e', note.id]] }),
      ev({ kind: 30000, tags: [['d', 'x']], created_at: 8 }),
      { ...kept }, // a duplicate: only its seen-on changes
    ]
  }

  const kept = (before: NostrEvent[]): string => before.find((e) => e.content === 'kept')!.id

  for (const at of [1, 3, 6, 8]) {
    it(`a quota error at put ${at} of a batch rejects STORAGE_FULL; index and database are unchanged`, async () => {
      const inst = instrumentedFactory()
      const name = dbName()
      const { storage, before, seen } = await seeded(inst, name)
      const batch = mixedBatch(before)
      inst.fail({ at, mode: 'abort', name: 'QuotaExceededError' })
      const err = await expectRejectionCode(storage.putEvents(batch, { seenOn: 'wss://b.example' }), 'STORAGE_FULL')
      expect(err).toBeInstanceOf(StorageError)
      expect((err.cause as DOMException).name).toBe('QuotaExceededError')
      // The same instance: its in-memory index was not touched.
      expect(await storage.queryEvents([{}])).toEqual(before)
      expect(await storage.countEvents()).toBe(before.length)
      expect(await storage.seenOn(ids(before))).toEqual(seen)
      // A new instance reads IndexedDB itself: nothing of the batch is there either.
      const fresh = indexedDbStorage({ indexedDB: inst.factory, name })
      expect(await fresh.queryEvents([{}])).toEqual(before)
      expect(await fresh.seenOn(ids(before))).toEqual(seen)
      await fresh.close()
      // Once there is room again, the same batch goes through completely.
      const results = await storage.putEvents(batch, { seenOn: 'wss://b.example' })
      expect(results.map((r) => r.status)).toEqual(['stored', 'stored', 'stored', 'stored', 'stored', 'duplicate'])
      expect(await storage.countEvents()).toBe(before.length + 2)
      expect((await storage.seenOn([kept(before)])).get(kept(before))).toEqual(['wss://a.example', 'wss://b.example'])
      await storage.close()
    })
  }

  it('a put that throws synchronously (uncloneable value) rejects STORAGE_WRITE_FAILED and commits none of the earlier puts', async () => {
    const inst = instrumentedFactory()
    const name = dbName()
    const { storage, before } = await seeded(inst, name)
    inst.fail({ at: 2, mode: 'throw', name: 'DataCloneError' })
    const err = await expectRejectionCode(storage.putEvents([ev({ created_at: 1 }), ev({ created_at: 2 }), ev({ created_at: 3 })]), 'STORAGE_WRITE_FAILED')
    expect(err.details).toContain('DataCloneError')
    expect(await storage.queryEvents([{}])).toEqual(before)
    await storage.close()
    const fresh = indexedDbStorage({ indexedDB: inst.factory, name })
    expect(await fresh.queryEvents([{}])).toEqual(before)
    await fresh.close()
  })

  it('any other abort rejects STORAGE_WRITE_FAILED, for events and for records', async () => {
    const inst = instrumentedFactory()
    const { storage, before } = await seeded(inst, dbName())
    inst.fail({ at: 1, mode: 'abort', name: 'UnknownError' })
    await expectRejectionCode(storage.addSeenOn(ids(before), 'wss://c.example'), 'STORAGE_WRITE_FAILED')
    expect((await storage.seenOn(ids(before))).get(before[0]!.id)).toEqual(['wss://a.example'])
    inst.fail({ at: 2, mode: 'abort', name: 'UnknownError' })
    await expectRejectionCode(storage.putRecords('settings', [['a', 1], ['b', 2], ['c', 3]]), 'STORAGE_WRITE_FAILED')
    expect(await storage.listRecords('settings')).toEqual([['kept', 'yes']])
    await storage.close()
  })

  it('a quota error on putRecords rejects STORAGE_FULL and writes none of the records', async () => {
    const inst = instrumentedFactory()
    const { storage } = await seeded(inst, dbName())
    inst.fail({ at: 3, mode: 'abort', name: 'QuotaExceededError' })
    await expectRejectionCode(
      storage.putRecords('publish-queue', Array.from({ length: 5 }, (_, i) => [`e${i}`, { attempt: i }] as const)),
      'STORAGE_FULL',
    )
    expect(await storage.listRecords('publish-queue')).toEqual([])
    await storage.putRecord('publish-queue', 'e0', { attempt: 0 })
    expect(await storage.listRecords('publish-queue')).toEqual([['e0', { attempt: 0 }]])
    await storage.close()
  })
})

describe('indexedDbStorage: corrupt and foreign rows', () => {
  async function withGarbage(): Promise<{ factory: IDBFactory; name: string; good: NostrEvent; healed: NostrEvent; mismatched: NostrEvent }> {
    const factory = new IDBFactory()
    const name = dbName()
    const setup = indexedDbStorage({ indexedDB: factory, name })
    const good = ev({ content: 'good' })
    await setup.putEvents([good], { seenOn: 'wss://a.example' })
    await setup.putRecords('settings', [
      ['fine', { ok: true }],
      ['other', 2],
    ])
    await setup.close()
    const healed = ev({ content: 'will be put again' })
    const mismatched = ev({ content: 'stored under another id' })
    const events = await rawStore(factory, name, 'events')
    await setMany(
      [
        [['event', healed.id], { ...healed, sig: 'not hex' }],
        [['event', 'f'.repeat(64)], mismatched],
        [['seen', 'e'.repeat(64)], 42],
        ['a bare string key', { hello: 'world' }],
      ],
      events.store,
    )
    events.close()
    const records = await rawStore(factory, name, 'records')
    await setMany(
      [
        [['settings', 'date'], { value: new Date(0) }],
        [['settings', 'nan'], { value: { n: NaN } }],
        [['settings', 'naked'], 'not wrapped'],
        [['nonsense', 'x'], { value: 1 }],
      ],
      records.store,
    )
    records.close()
    return { factory, name, good, healed, mismatched }
  }

  it('loading skips corrupt event rows; everything else stays readable', async () => {
    const { factory, name, good, healed } = await withGarbage()
    const storage = indexedDbStorage({ indexedDB: factory, name })
    expect(ids(await storage.queryEvents([{}]))).toEqual([good.id])
    expect(await storage.countEvents()).toBe(1)
    expect((await storage.seenOn([good.id])).get(good.id)).toEqual(['wss://a.example'])
    // Read directly, a corrupt event is not silently missing: the error names its key.
    const err = await expectRejectionCode(storage.getEvent(healed.id), 'STORAGE_CORRUPT')
    expect(err.details).toContain(`["event","${healed.id}"]`)
    expect(err.details).toContain('sig is not 128 lower-case hex')
    await expectRejectionCode(storage.getEvent('f'.repeat(64)), 'STORAGE_CORRUPT')
    await storage.close()
  })

  it('getRecord/getRecords of a corrupt record throw STORAGE_CORRUPT naming the key; listRecords skips it', async () => {
    const { factory, name } = await withGarbage()
    const storage = indexedDbStorage({ indexedDB: factory, name })
    const err = await expectRejectionCode(storage.getRecord('settings', 'date'), 'STORAGE_CORRUPT')
    expect(err.details).toContain('records ["settings","date"]')
    await expectRejectionCode(storage.getRecord('settings', 'nan'), 'STORAGE_CORRUPT')
    await expectRejectionCode(storage.getRecord('settings', 'naked'), 'STORAGE_CORRUPT')
    await expectRejectionCode(storage.getRecords('settings', ['fine', 'nan']), 'STORAGE_CORRUPT')
    expect(await storage.getRecord('settings', 'fine')).toEqual({ ok: true })
    expect(await storage.getRecords('settings', ['fine', 'other', 'missing'])).toEqual(
      new Map<string, unknown>([
        ['fine', { ok: true }],
        ['other', 2],
      ]),
    )
    expect(await storage.listRecords('settings')).toEqual([
      ['fine', { ok: true }],
      ['other', 2],
    ])
    await storage.close()
  })

  it('corruptRows() reports every undecodable row; putting the event again or deleting repairs it', async () => {
    const { factory, name, healed } = await withGarbage()
    const storage = indexedDbStorage({ indexedDB: factory, name })
    const rows = await storage.corruptRows()
    // In IndexedDB key order: strings before arrays, then element by element.
    expect(rows.map((r) => `${r.store} ${r.key}`)).toEqual([
      'events "a bare string key"',
      ...[`events ["event","${'f'.repeat(64)}"]`, `events ["event","${healed.id}"]`].sort(),
      `events ["seen","${'e'.repeat(64)}"]`,
      'records ["nonsense","x"]',
      'records ["settings","date"]',
      'records ["settings","naked"]',
      'records ["settings","nan"]',
    ])
    expect(rows.find((r) => r.key.includes('f'.repeat(64)))!.reason).toBe('event id does not match its key')
    expect(rows.find((r) => r.key.includes('date'))!.reason).toMatch(/^value is not JSON/)
    expect(rows.find((r) => r.key.includes('naked'))!.reason).toBe('not a record row')
    expect((await storage.putEvents([healed]))[0]!.status).toBe('stored')
    expect(await storage.getEvent(healed.id)).toEqual(healed)
    expect(await storage.removeEvents(['f'.repeat(64)])).toBe(1)
    await storage.deleteRecord('settings', 'date')
    expect((await storage.corruptRows()).map((r) => r.key)).toEqual([
      '"a bare string key"',
      `["seen","${'e'.repeat(64)}"]`,
      '["nonsense","x"]',
      '["settings","naked"]',
      '["settings","nan"]',
    ])
    await storage.close()
    const reopened = indexedDbStorage({ indexedDB: factory, name })
    expect(await reopened.getEvent(healed.id)).toEqual(healed)
    expect(await reopened.getEvent('f'.repeat(64))).toBeUndefined()
    await reopened.close()
  })

  it('a database with this name but another layout is STORAGE_CORRUPT, not silently reused', async () => {
    const factory = new IDBFactory()
    const name = dbName()
    // What idb-keyval's createStore(name, 'keyval') would have made.
    await new Promise<void>((resolve, reject) => {
      const request = factory.open(name, 1)
      request.onupgradeneeded = () => request.result.createObjectStore('keyval')
      request.onsuccess = () => {
        request.result.close()
        resolve()
      }
      request.onerror = () => reject(request.error)
    })
    const storage = indexedDbStorage({ indexedDB: factory, name })
    const err = await expectRejectionCode(storage.countEvents(), 'STORAGE_CORRUPT')
    expect(err.details).toContain(name)
    await expectRejectionCode(storage.getRecord('settings', 'x'), 'STORAGE_CORRUPT')
    await storage.close()
  })
})

describe('indexedDbStorage: IndexedDB missing, refusing, newer, or closing under us', () => {
  it('without IndexedDB, creating works and every call rejects STORAGE_UNAVAILABLE with a clear message', async () => {
    expect((globalThis as { indexedDB?: unknown }).indexedDB).toBeUndefined()
    const storage = indexedDbStorage()
    const err = await expectRejectionCode(storage.countEvents(), 'STORAGE_UNAVAILABLE')
    expect(err.message).toBe('IndexedDB is not available (no global indexedDB and none passed as options.indexedDB)')
    await expectRejectionCode(storage.putEvents([ev()]), 'STORAGE_UNAVAILABLE')
    await expectRejectionCode(storage.queryEvents([{}]), 'STORAGE_UNAVAILABLE')
    await expectRejectionCode(storage.putRecord('settings', 'k', 1), 'STORAGE_UNAVAILABLE')
    await expectRejectionCode(storage.listRecords('settings'), 'STORAGE_UNAVAILABLE')
    await storage.close()
    await expectRejectionCode(storage.countEvents(), 'STORAGE_CLOSED')
  })

  it('an open that throws (SecurityError) or fails rejects STORAGE_UNAVAILABLE, and a later call tries again', async () => {
    const factory = new IDBFactory()
    const realOpen = factory.open.bind(factory)
    let refuse = true
    factory.open = (name: string, version?: number) => {
      if (refuse) throw new DOMException('The operation is insecure.', 'SecurityError')
      return realOpen(name, version)
    }
    const storage = indexedDbStorage({ indexedDB: factory, name: dbName() })
    const err = await expectRejectionCode(storage.countEvents(), 'STORAGE_UNAVAILABLE')
    expect(err.details).toContain('SecurityError')
    refuse = false
    expect(await storage.countEvents()).toBe(0)
    await storage.close()
  })

  it('a database written by a newer schema rejects STORAGE_SCHEMA_TOO_NEW', async () => {
    const factory = new IDBFactory()
    const name = dbName()
    await new Promise<void>((resolve, reject) => {
      const request = factory.open(name, 7)
      request.onsuccess = () => {
        request.result.close()
        resolve()
      }
      request.onerror = () => reject(request.error)
    })
    const storage = indexedDbStorage({ indexedDB: factory, name })
    await expectRejectionCode(storage.queryEvents([{}]), 'STORAGE_SCHEMA_TOO_NEW')
    await expectRejectionCode(storage.getRecord('settings', 'k'), 'STORAGE_SCHEMA_TOO_NEW')
    await storage.close()
  })

  it('another tab upgrading the database closes our connection instead of blocking it; then SCHEMA_TOO_NEW', async () => {
    const factory = new IDBFactory()
    const name = dbName()
    const storage = indexedDbStorage({ indexedDB: factory, name })
    await storage.putRecord('settings', 'k', 1)
    await new Promise<void>((resolve, reject) => {
      const request = factory.open(name, 2)
      request.onblocked = () => reject(new Error('upgrade blocked by the adapter'))
      request.onsuccess = () => {
        request.result.close()
        resolve()
      }
      request.onerror = () => reject(request.error)
    })
    await expectRejectionCode(storage.getRecord('settings', 'k'), 'STORAGE_SCHEMA_TOO_NEW')
    await storage.close()
  })

  it('a database deleted under an open instance (another tab, cleared site data) is not answered from memory', async () => {
    const factory = new IDBFactory()
    const name = dbName()
    const storage = indexedDbStorage({ indexedDB: factory, name })
    const note = ev({ content: 'gone' })
    await storage.putEvents([note])
    await new Promise<void>((resolve, reject) => {
      const request = factory.deleteDatabase(name)
      request.onblocked = () => reject(new Error('delete blocked by the adapter'))
      request.onsuccess = () => resolve()
      request.onerror = () => reject(request.error)
    })
    // The index is loaded again from the (new, empty) database: the note is not a "duplicate".
    expect(await storage.countEvents()).toBe(0)
    expect(await storage.putEvents([note])).toEqual([{ id: note.id, status: 'stored' }])
    await storage.close()
    const fresh = indexedDbStorage({ indexedDB: factory, name })
    expect(ids(await fresh.queryEvents([{}]))).toEqual([note.id])
    await fresh.close()
  })

  it('a connection the browser closes (devtools, eviction) is reopened on next use', async () => {
    const inst = instrumentedFactory()
    const storage = indexedDbStorage({ indexedDB: inst.factory, name: dbName() })
    await storage.putEvents([ev()])
    expect(inst.connections).toHaveLength(1)
    // fake-indexeddb declares the parameter as the class, not an instance; it takes the instance.
    forceCloseDatabase(inst.connections[0]! as unknown as Parameters<typeof forceCloseDatabase>[0])
    await storage.putRecord('settings', 'after', true)
    expect(await storage.getRecord('settings', 'after')).toBe(true)
    expect(inst.connections).toHaveLength(2)
    await storage.close()
  })
})

describe('indexedDbStorage: maxEvents', () => {
  it('evicts the oldest regular events first, in the same transaction, and the eviction persists', async () => {
    const inst = instrumentedFactory()
    const name = dbName()
    const storage = indexedDbStorage({ indexedDB: inst.factory, name, maxEvents: 4 })
    const notes = Array.from({ length: 5 }, (_, i) => ev({ created_at: 100 + i, content: `n${i}` }))
    const profile = ev({ kind: 0, created_at: 1 })
    const deletion = ev({ kind: 5, created_at: 2, tags: [['e', BOB.replace(/b/g, 'd')]] })
    await storage.putEvents([profile, deletion, notes[0]!, notes[1]!])
    expect(await storage.countEvents()).toBe(4)
    const writesBefore = inst.transactions.filter((t) => t.mode === 'readwrite').length
    const results = await storage.putEvents(notes.slice(2))
    expect(results.map((r) => r.status)).toEqual(['stored', 'stored', 'stored'])
    expect(inst.transactions.filter((t) => t.mode === 'readwrite').length).toBe(writesBefore + 1)
    // Regular notes go first (n0, n1, n2); the profile and the deletion stay although older.
    const kept = [notes[4]!.id, notes[3]!.id, deletion.id, profile.id]
    expect(ids(await storage.queryEvents([{}]))).toEqual(kept)
    await storage.close()
    // The evicted rows are gone from IndexedDB too: a reopened store without a cap sees the same.
    const reopened = indexedDbStorage({ indexedDB: inst.factory, name, maxEvents: Infinity })
    expect(ids(await reopened.queryEvents([{}]))).toEqual(kept)
    expect((await reopened.seenOn([notes[0]!.id])).get(notes[0]!.id)).toEqual([])
    await reopened.close()
  })

  it('rejects a bad cap or name as programmer errors', () => {
    expect(() => indexedDbStorage({ maxEvents: 0 })).toThrow(RangeError)
    expect(() => indexedDbStorage({ maxEvents: 1.5 })).toThrow(RangeError)
    expect(() => indexedDbStorage({ name: '' })).toThrow(TypeError)
    expect(() => indexedDbStorage({ indexedDB: 'idb' as unknown as IDBFactory })).toThrow(TypeError)
  })
})

describe('indexedDbStorage: close', () => {
  it('record reads and writes asked before close() complete', async () => {
    const factory = new IDBFactory()
    const name = dbName()
    const storage = indexedDbStorage({ indexedDB: factory, name })
    const write = storage.putRecord('settings', 'early', 1)
    const list = storage.listRecords('settings')
    await storage.close()
    await write
    // IndexedDB runs transactions on one store in the order they were created.
    expect(await list).toEqual([['early', 1]])
    const reopened = indexedDbStorage({ indexedDB: factory, name })
    expect(await reopened.getRecord('settings', 'early')).toBe(1)
    await reopened.close()
  })

  it('lets a batch in flight commit, then rejects everything with STORAGE_CLOSED; close is idempotent', async () => {
    const factory = new IDBFactory()
    const name = dbName()
    const storage = indexedDbStorage({ indexedDB: factory, name })
    const pending = storage.putEvents([ev()])
    const record = storage.putRecord('settings', 'k', 'v')
    const closing = storage.close()
    expect((await pending)[0]!.status).toBe('stored')
    await record
    await closing
    await storage.close()
    await expectRejectionCode(storage.putEvents([ev({ content: 'late' })]), 'STORAGE_CLOSED')
    await expectRejectionCode(storage.queryEvents([{}]), 'STORAGE_CLOSED')
    await expectRejectionCode(storage.getRecord('settings', 'k'), 'STORAGE_CLOSED')
    await expectRejectionCode(storage.corruptRows(), 'STORAGE_CLOSED')
    const reopened = indexedDbStorage({ indexedDB: factory, name })
    expect(await reopened.countEvents()).toBe(1)
    expect(await reopened.getRecord('settings', 'k')).toBe('v')
    await reopened.close()
  })
})
