/**
 * The browser entry of the storage contract suite: registers `describeStorage` from
 * `test/storage/contract.ts` for `indexedDbStorage()` over the page's real IndexedDB, and exports
 * the shim's collector and runner. `build.ts` bundles it (with `vitest` aliased to `./shim.ts`);
 * the page imports the bundle and calls {@link runRegistered}; Node imports the same bundle and
 * calls {@link registeredCases} to learn the case names without running anything.
 *
 * Every database gets a fresh name (the run's id plus a counter), so cases never see each other's
 * data; `reopen` closes an instance and opens a new one on the same name, which is what a page
 * reload does to an application.
 *
 * @module
 */
import { indexedDbStorage, type IndexedDbStorage } from '../../../src/storage/indexeddb.js'
import type { Storage } from '../../../src/storage/types.js'
import { describeStorage } from '../../storage/contract.js'

export { NAME_SEPARATOR, registeredCases, runRegistered } from './shim.js'
export type { CaseResult, RegisteredCase, RunOptions, SerializedError } from './shim.js'

/** The adapter's name in the case titles. */
export const ADAPTER_TITLE = 'indexeddb (chromium)'

/** Distinguishes this page load's databases from any earlier run's in the same profile. */
const runId = Math.random().toString(36).slice(2, 10)
let opened = 0
/** The database name each instance was opened on, for `reopen`. */
const names = new WeakMap<Storage, string>()
/** Every database this run created, for {@link databaseNames}. */
const created: string[] = []

function open(name: string): IndexedDbStorage {
  const storage = indexedDbStorage({ name })
  names.set(storage, name)
  return storage
}

describeStorage(
  ADAPTER_TITLE,
  () => {
    const name = `rendezvous-contract-${runId}-${++opened}`
    created.push(name)
    return open(name)
  },
  {
    reopen: async (previous) => {
      const name = names.get(previous)
      if (name === undefined) throw new Error('reopen: this storage was not opened by the contract entry')
      await previous.close()
      return open(name)
    },
  },
)

/**
 * The names of the databases this page's run created, in order (a diagnostic: the page can
 * compare them with `indexedDB.databases()`).
 *
 * @returns a copy of the list.
 */
export function databaseNames(): string[] {
  return [...created]
}
