import { describe, expect, it } from 'vitest'
import { poolHarness } from '../helpers/pool-harness.js'

describe('relayStats penaltyUntil', () => {
  const { pool, relay } = poolHarness()

  it('is set while a relay that refused connections sits in its penalty box, and absent for a healthy one', async () => {
    const dead = await relay()
    const alive = await relay()
    await dead.kill()
    const p = pool({ backoff: { penaltyMs: { 'connect-refused': 60_000 } } })
    const before = Date.now()
    const { relays } = await p.query([{ kinds: [1], limit: 1 }], { relays: [dead.url, alive.url], origin: 'configured' })
    expect(relays.find((r) => r.url === dead.url)?.status).toBe('failed')
    const deadStats = p.relayStats(dead.url)
    expect(deadStats?.penaltyUntil).toBeGreaterThanOrEqual(before + 59_000)
    expect(p.relayStats(alive.url)?.penaltyUntil).toBeUndefined()
    expect(p.allRelayStats().find((s) => s.url === dead.url)?.penaltyUntil).toBe(deadStats?.penaltyUntil)
  })
})
