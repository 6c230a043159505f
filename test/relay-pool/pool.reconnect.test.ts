/**
 * Review: reconnect pacing for a relay that accepts every connection and then drops it.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createRelayPool, type RelayPool } from '../../src/relay-pool/pool.js'
import { startScriptedRelay, type ScriptedRelay } from '../helpers/scripted-relay.js'

const pools: RelayPool[] = []
const relays: ScriptedRelay[] = []

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()))
  await Promise.all(relays.splice(0).map((r) => r.close()))
})

describe('reconnect backoff', () => {
  it('a relay that drops every connection after the REQ is retried with growing delays, not at the base rate forever', async () => {
    const relay = await startScriptedRelay({ onReq: (client) => client.terminate() })
    relays.push(relay)
    // random() = 1: the jitter always takes the full delay, so the schedule is deterministic.
    const p = createRelayPool({ connect: { allowPrivateHosts: ['127.0.0.1'] }, fetch: false, backoff: { baseMs: 100, random: () => 1 } })
    pools.push(p)
    const sub = p.subscribe([{ kinds: [1] }], { relays: [relay.url] })
    await new Promise((resolve) => setTimeout(resolve, 1_600))
    sub.close()
    // Doubling from 100 ms: connects at ~0, 0.1, 0.3, 0.7, 1.5 s = 5. Fails with ~15: every open
    // socket calls recordSuccess(), which resets the exponent, so the delay never grows.
    expect(relay.totalConnections()).toBeLessThanOrEqual(6)
  })
})
