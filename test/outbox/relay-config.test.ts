/**
 * The per-relay settings store: persisted across a new store on the same storage (memory and
 * SQLite), validated, written before it changes (a failed write leaves everything as it was),
 * changes in call order, the blocked-relays list, junk in storage skipped.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { StorageError } from '../../src/errors.js'
import {
  DEFAULT_RELAY_RANK,
  RELAY_CONFIG_BLOCKED_RECORD,
  RELAY_CONFIG_RECORD_PREFIX,
  createRelayConfig,
  rankFactor,
  type RelayConfigChange,
} from '../../src/outbox/relay-config.js'
import { memoryStorage } from '../../src/storage/memory.js'
import { sqliteStorage } from '../../src/storage/sqlite.js'
import type { Storage } from '../../src/storage/types.js'
import { codeOf, expectRejectionCode } from '../helpers/errors.js'

const A = 'wss://a.example'
const B = 'wss://b.example'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rendezvous-relay-config-'))
})
afterEach(() => {
  rmSync(dir, { recursive: true, force: true })
})

/** `inner` with some methods replaced (the adapters keep private state: no prototype tricks). */
function wrapStorage(inner: Storage, overrides: Partial<Storage>): Storage {
  const wrapper: Record<string, unknown> = { name: inner.name }
  for (const key of Object.getOwnPropertyNames(Object.getPrototypeOf(inner)) as (keyof Storage)[]) {
    const method = inner[key]
    if (typeof method === 'function' && key !== ('constructor' as never)) wrapper[key] = (method as (...a: unknown[]) => unknown).bind(inner)
  }
  return Object.assign(wrapper, overrides) as unknown as Storage
}

/** A storage whose record writes fail (while `failing`), as a full disk does. */
function failingWrites(inner: Storage): Storage & { failing: boolean } {
  const refuse = (): Promise<never> => Promise.reject(new StorageError('STORAGE_FULL', 'disk full'))
  const wrapper = wrapStorage(inner, {
    putRecord: (...args) => (wrapper.failing ? refuse() : inner.putRecord(...args)),
    deleteRecord: (...args) => (wrapper.failing ? refuse() : inner.deleteRecord(...args)),
  }) as Storage & { failing: boolean }
  wrapper.failing = true
  return wrapper
}

describe('createRelayConfig: persistence', () => {
  const backends: Array<[string, () => Storage]> = [
    ['memory', () => memoryStorage()],
    ['sqlite', () => sqliteStorage({ path: join(dir, 'settings.db') })],
  ]
  for (const [name, make] of backends) {
    it(`a new store on the same ${name} storage sees every setting, the blocked list and when each changed`, async () => {
      let storage = make()
      let t = 1_000
      const first = createRelayConfig({ storage, now: () => t })
      await first.load()
      await first.set(' A.example ', { rank: 8, write: true, spamSafe: true })
      t = 2_000
      await first.set(B, { rank: 0 })
      first.setBlocked(['wss://blocked.example', 'not a url', 'wss://Blocked.example/'])
      await first.idle()
      if (name === 'sqlite') {
        // A restart: the file is closed and opened again.
        await storage.close()
        storage = make()
      }
      const second = createRelayConfig({ storage })
      expect(second.get(A)).toEqual({ url: A, rank: DEFAULT_RELAY_RANK }) // before load: defaults
      await second.load()
      expect(second.all()).toEqual([
        { url: A, rank: 8, write: true, spamSafe: true },
        { url: B, rank: 0 },
      ])
      expect(second.changedAt(A)).toBe(1_000)
      expect(second.changedAt(B)).toBe(2_000)
      expect(second.blockedList()).toEqual(['wss://blocked.example'])
      expect(second.isBlocked(B)).toBe(true)
      expect(second.isBlocked('wss://blocked.example')).toBe(true)
      expect(second.isBlocked(A)).toBe(false)
      expect(second.isSpamSafe(A)).toBe(true)
      await storage.close()
    })
  }

  it('clearing every setting removes the record: the relay is back to defaults and out of all()', async () => {
    const storage = memoryStorage()
    const config = createRelayConfig({ storage })
    await config.set(A, { rank: 5, read: false })
    expect(await storage.listRecords('settings', RELAY_CONFIG_RECORD_PREFIX)).toHaveLength(1)
    expect(await config.set(A, { rank: null, read: null })).toEqual({ url: A, rank: 3 })
    expect(config.all()).toEqual([])
    expect(await storage.listRecords('settings', RELAY_CONFIG_RECORD_PREFIX)).toEqual([])
    // Rank 3 is the default: nothing to keep either.
    await config.set(A, { rank: 3 })
    expect(config.all()).toEqual([])
  })

  it('a failed write rejects and changes nothing, in memory or in storage; the next write works', async () => {
    const storage = failingWrites(memoryStorage())
    storage.failing = false
    const config = createRelayConfig({ storage })
    await config.set(A, { rank: 7 })
    const changes: RelayConfigChange[] = []
    config.onChange((change) => changes.push(change))
    const revision = config.revision()
    storage.failing = true
    await expectRejectionCode(config.set(A, { rank: 0, write: false }), 'STORAGE_FULL')
    await expectRejectionCode(config.set(B, { advertise: true }), 'STORAGE_FULL')
    await expectRejectionCode(config.set(A, { rank: null }), 'STORAGE_FULL')
    expect(config.get(A)).toEqual({ url: A, rank: 7 })
    expect(config.isBlocked(A)).toBe(false)
    expect(config.all()).toEqual([{ url: A, rank: 7 }])
    expect(config.revision()).toBe(revision)
    expect(changes).toEqual([])
    const reloaded = createRelayConfig({ storage })
    await reloaded.load()
    expect(reloaded.all()).toEqual([{ url: A, rank: 7 }])

    storage.failing = false
    await config.set(A, { write: false })
    expect(config.get(A)).toEqual({ url: A, rank: 7, write: false })
    expect(changes).toEqual([{ type: 'relay', url: A, before: { url: A, rank: 7 }, after: { url: A, rank: 7, write: false } }])
  })

  it('a failed write of the blocked list keeps it in memory and reports the error', async () => {
    const storage = failingWrites(memoryStorage())
    const errors: unknown[] = []
    const config = createRelayConfig({ storage, onError: (e) => errors.push(e) })
    config.setBlocked([A])
    await config.idle()
    expect(config.isBlocked(A)).toBe(true)
    expect(errors.map((e) => (e as StorageError).code)).toEqual(['STORAGE_FULL'])
  })

  it('changes run in call order, each on top of the one before', async () => {
    const config = createRelayConfig({ storage: memoryStorage() })
    const results = await Promise.all([config.set(A, { rank: 1 }), config.set(A, { read: true }), config.set(A, { rank: 9 })])
    expect(results.map((r) => r.rank)).toEqual([1, 1, 9])
    expect(config.get(A)).toEqual({ url: A, rank: 9, read: true })
  })

  it('a blocked list set while loading wins over the stored one', async () => {
    const storage = memoryStorage()
    await storage.putRecord('settings', RELAY_CONFIG_BLOCKED_RECORD, [A])
    const config = createRelayConfig({ storage })
    const loading = config.load()
    config.setBlocked([B])
    await loading
    await config.idle()
    expect(config.blockedList()).toEqual([B])
    expect(await storage.getRecord('settings', RELAY_CONFIG_BLOCKED_RECORD)).toEqual([B])
  })

  it('junk records are skipped with OUTBOX_RELAY_CONFIG_CORRUPT, the rest loads', async () => {
    const storage = memoryStorage()
    await storage.putRecord('settings', `${RELAY_CONFIG_RECORD_PREFIX}${A}`, { rank: 12 })
    await storage.putRecord('settings', `${RELAY_CONFIG_RECORD_PREFIX}not a url`, { rank: 1 })
    await storage.putRecord('settings', `${RELAY_CONFIG_RECORD_PREFIX}${B}`, { rank: 2, read: 'yes' })
    await storage.putRecord('settings', `${RELAY_CONFIG_RECORD_PREFIX}wss://c.example`, { rank: 1, advertise: false })
    await storage.putRecord('settings', RELAY_CONFIG_BLOCKED_RECORD, { not: 'a list' })
    const errors: unknown[] = []
    const config = createRelayConfig({ storage, onError: (e) => errors.push(e) })
    await config.load()
    expect(config.all()).toEqual([{ url: 'wss://c.example', rank: 1, advertise: false }])
    expect(config.blockedList()).toEqual([])
    expect(errors.map((e) => (e as StorageError).code)).toEqual(Array(4).fill('OUTBOX_RELAY_CONFIG_CORRUPT'))
  })

  it('a load that fails rejects and leaves the settings in memory untouched; loaded() still settles', async () => {
    const inner = memoryStorage()
    const storage = wrapStorage(inner, { listRecords: () => Promise.reject(new StorageError('STORAGE_UNAVAILABLE', 'gone')) })
    const config = createRelayConfig({ storage })
    await config.set(A, { rank: 4 })
    await expectRejectionCode(config.load(), 'STORAGE_UNAVAILABLE')
    await config.loaded()
    expect(config.get(A).rank).toBe(4)
  })
})

describe('createRelayConfig: rules and validation', () => {
  it('rank 0 and the blocked list block; spam-safe needs not blocked; invalid URLs never block and never throw there', async () => {
    const config = createRelayConfig()
    await config.set(A, { spamSafe: true })
    expect(config.isSpamSafe(A)).toBe(true)
    config.setBlocked([A])
    expect(config.isBlocked(A)).toBe(true)
    expect(config.isSpamSafe(A)).toBe(false)
    config.setBlocked([])
    await config.set(A, { rank: 0 })
    expect(config.isSpamSafe(A)).toBe(false)
    expect(config.isBlocked('wss://a.example/')).toBe(true)
    expect(config.isBlocked('not a url')).toBe(false)
    expect(config.isBlocked(42 as unknown as string)).toBe(false)
    expect(config.isSpamSafe('not a url')).toBe(false)
  })

  it('URLs are normalised; an invalid one is OUTBOX_RELAY_URL_INVALID; rank and flags are checked, naming the field', async () => {
    const config = createRelayConfig()
    expect((await config.set('A.EXAMPLE:443/', { rank: 9 })).url).toBe(A)
    expect(codeOf(() => config.get('http://x'))).toBe('OUTBOX_RELAY_URL_INVALID')
    expect(() => config.set('https://x.example', {})).toThrow(expect.objectContaining({ code: 'OUTBOX_RELAY_URL_INVALID' }))
    expect(() => config.set(A, { rank: 10 })).toThrow(RangeError)
    expect(() => config.set(A, { rank: -1 })).toThrow(RangeError)
    expect(() => config.set(A, { rank: 2.5 })).toThrow(/change.rank/)
    expect(() => config.set(A, { rank: '5' as unknown as number })).toThrow(TypeError)
    expect(() => config.set(A, { read: 'yes' as unknown as boolean })).toThrow(/change.read/)
    expect(() => config.set(A, { rnak: 5 } as never)).toThrow(/change.rnak/)
    expect(() => config.set(A, null as never)).toThrow(TypeError)
    expect(() => config.setBlocked('wss://a.example' as never)).toThrow(TypeError)
    expect(() => createRelayConfig({ storage: {} as never })).toThrow(/storage/)
    expect(config.get(A).rank).toBe(9)
  })

  it('listeners hear every change; one that throws is reported and the others still run', async () => {
    const errors: unknown[] = []
    const config = createRelayConfig({ onError: (e) => errors.push(e) })
    const heard: string[] = []
    config.onChange(() => {
      throw new Error('listener bug')
    })
    const off = config.onChange((c) => heard.push(c.type))
    await config.set(A, { rank: 2 })
    config.setBlocked([B])
    config.setBlocked([B]) // no change: no event
    off()
    config.setBlocked([])
    expect(heard).toEqual(['relay', 'blocked'])
    expect(errors).toHaveLength(3)
  })

  it('rankFactor: the default rank changes nothing, 9 triples, 1 divides by three', () => {
    expect(rankFactor(3)).toBe(1)
    expect(rankFactor(9)).toBe(3)
    expect(rankFactor(1)).toBeCloseTo(1 / 3)
  })
})
