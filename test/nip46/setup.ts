/**
 * The setup the NIP-46 wire tests share: pool options for a 127.0.0.1 relay (no NIP-11), and one
 * local relay per test file, started before the file's tests and closed after them.
 */
import { afterAll, beforeAll } from 'vitest'
import { startRelay, type TestRelay } from '../helpers/relay-fleet.js'

/** Pool options for tests: 127.0.0.1 allowed, no NIP-11 fetch. */
export const POOL = { connect: { allowPrivateHosts: ['127.0.0.1'] }, fetch: false as const }

/**
 * Starts one local relay for the calling test file (in `beforeAll`) and closes it in `afterAll`.
 *
 * @returns a getter for the running relay (valid inside tests).
 * @example
 * ```ts
 * const relay = useLocalRelay()
 * it('...', async () => { await createBunker({ relays: [relay().url], ... }) })
 * ```
 */
export function useLocalRelay(): () => TestRelay {
  let relay: TestRelay | undefined
  beforeAll(async () => {
    relay = await startRelay()
  }, 30_000)
  afterAll(async () => {
    await relay?.close()
  })
  return () => {
    if (relay === undefined) throw new Error('the local relay is not started yet (use it inside a test)')
    return relay
  }
}
