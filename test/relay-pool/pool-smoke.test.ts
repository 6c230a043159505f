import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { finalizeEvent, generateSecretKey } from '../../src/crypto/index.js'
import { createRelayPool } from '../../src/relay-pool/pool.js'
import { startFleet, type TestFleet } from '../helpers/relay-fleet.js'

let fleet: TestFleet
beforeAll(async () => {
  fleet = await startFleet(2)
})
afterAll(async () => {
  await fleet.close()
})

describe('smoke', () => {
  it('publishes and reads back', async () => {
    const pool = createRelayPool({ connect: { allowPrivateHosts: ['127.0.0.1'] } })
    const sk = generateSecretKey()
    const event = finalizeEvent({ kind: 1, content: 'hello', created_at: 1700000000 }, sk)
    const report = await pool.publish(event, { relays: fleet.urls })
    expect(report.relays.map((r) => r.status)).toEqual(['ok', 'ok'])
    const result = await pool.query([{ authors: [event.pubkey] }], { relays: fleet.urls })
    expect(result.events.map((e) => e.id)).toEqual([event.id])
    expect(result.seenOn.get(event.id)).toHaveLength(2)
    expect(result.relays.map((r) => r.status)).toEqual(['eose', 'eose'])
    await pool.close()
  })
})
