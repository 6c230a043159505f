/**
 * Review: what pool.close() leaves running.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createRelayPool, type RelayPool } from '../../src/relay-pool/pool.js'
import { waitFor } from '../helpers/relay-fleet.js'
import { startScriptedRelay, type ScriptedRelay } from '../helpers/scripted-relay.js'

const pools: RelayPool[] = []
const relays: ScriptedRelay[] = []

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()))
  await Promise.all(relays.splice(0).map((r) => r.close()))
})

describe('pool.close()', () => {
  it('aborts NIP-11 requests still in flight', async () => {
    const relay = await startScriptedRelay()
    relays.push(relay)
    const signals: AbortSignal[] = []
    // A NIP-11 endpoint that never answers; the fetch honours its signal like the real one.
    const hangingFetch = ((_input: unknown, init?: { signal?: AbortSignal }) => {
      const signal = init?.signal
      if (signal !== undefined) signals.push(signal)
      return new Promise<Response>((_resolve, reject) => {
        signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true })
      })
    }) as unknown as typeof fetch
    const p = createRelayPool({ connect: { allowPrivateHosts: ['127.0.0.1'] }, fetch: hangingFetch, relayInformationTimeoutMs: 5_000 })
    pools.push(p)
    const query = p.query([{ kinds: [1] }], { relays: [relay.url] }).catch(() => undefined)
    await waitFor(() => signals.length === 1, 2_000, 'NIP-11 request started')
    await p.close()
    await query
    // Fails: the request (and its 5 s timeout timer) outlives the pool.
    expect(signals[0]?.aborted).toBe(true)
  })
})
