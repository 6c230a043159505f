/**
 * Pools and relays for one test file, all closed after each test: `const { pool, scripted, relay }
 * = poolHarness()`. Pools default to allowing 127.0.0.1 and skipping NIP-11 (scripted relays serve
 * none); pass other defaults for a file that wants NIP-11.
 */
import { afterEach } from 'vitest'
import { createRelayPool, type RelayPool, type RelayPoolOptions } from '../../src/relay-pool/pool.js'
import { startRelay, type TestRelay, type TestRelayOptions } from './relay-fleet.js'
import { startScriptedRelay, type ScriptedRelay, type ScriptedRelayOptions } from './scripted-relay.js'

/** What {@link poolHarness} hands a test file. */
export interface PoolHarness {
  /** A pool with the file's defaults overridden by `options`; closed after the test. */
  pool(options?: RelayPoolOptions): RelayPool
  /** A scripted relay; closed after the test. */
  scripted(options?: ScriptedRelayOptions): Promise<ScriptedRelay>
  /** A real relay; closed after the test. */
  relay(options?: TestRelayOptions): Promise<TestRelay>
}

/**
 * Registers an `afterEach` that closes every pool, then every relay, made through the harness.
 *
 * @param defaults - Pool options every `pool()` starts from.
 * @returns the factories.
 */
export function poolHarness(defaults: RelayPoolOptions = { connect: { allowPrivateHosts: ['127.0.0.1'] }, fetch: false }): PoolHarness {
  const pools: RelayPool[] = []
  const relays: Array<{ close(): Promise<void> }> = []
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((p) => p.close()))
    await Promise.all(relays.splice(0).map((r) => r.close()))
  })
  return {
    pool(options = {}) {
      const created = createRelayPool({ ...defaults, ...options })
      pools.push(created)
      return created
    },
    async scripted(options = {}) {
      const started = await startScriptedRelay(options)
      relays.push(started)
      return started
    },
    async relay(options = {}) {
      const started = await startRelay(options)
      relays.push(started)
      return started
    },
  }
}
