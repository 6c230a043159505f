/**
 * Review: NIP-42 AUTH in RelayConnection.authenticate — the shared attempt ignores each caller's
 * own signal, and signing has no time bound.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createSecretKeySigner, finalizeEvent, generateSecretKey, type NostrEvent, type Signer } from '../../src/crypto/index.js'
import type { PublishReport } from '../../src/relay-pool/pool.js'
import { poolHarness } from '../helpers/pool-harness.js'

const { pool, scripted } = poolHarness()
const sk = generateSecretKey()
const releases: Array<() => void> = []

afterEach(async () => {
  for (const release of releases.splice(0)) release()
})

/** Resolves with the value, or with 'hung' after `ms` (the sentinel timer is cleared either way). */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | 'hung'> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const sentinel = new Promise<'hung'>((resolve) => {
    timer = setTimeout(() => resolve('hung'), ms)
  })
  try {
    return await Promise.race([promise, sentinel])
  } finally {
    clearTimeout(timer)
  }
}

describe('AUTH', () => {
  it('publish settles within its timeout even when the signer never answers the AUTH request', async () => {
    const relay = await scripted({ requireAuth: { writes: true } })
    const real = createSecretKeySigner(sk)
    // A remote signer (NIP-46, a browser extension prompt) that the user never answers.
    const stuck: Signer = {
      ...real,
      getPublicKey: () => real.getPublicKey(),
      signEvent: () =>
        new Promise<NostrEvent>((_resolve, reject) => {
          releases.push(() => reject(new Error('released by the test')))
        }),
    }
    const p = pool({ signer: stuck, auth: 'always' })
    const report = await within(p.publish(finalizeEvent({ kind: 1, content: 'x' }, sk), { relays: [relay.url], timeoutMs: 300 }), 2_000)
    // Fails: 'hung' — publishTimeoutMs does not bound the AUTH step.
    expect(report).not.toBe('hung')
    expect((report as PublishReport).relays[0]?.status).toBe('timeout')
  })

  it("one publish's abort does not fail another publish that shares the AUTH attempt", async () => {
    const relay = await scripted({
      requireAuth: { writes: true },
      // Answer AUTH slowly so the two publishes overlap on it.
      onAuth: (client, event) => {
        client.later(300, () => {
          client.pubkey = (event as NostrEvent).pubkey
          client.ok((event as NostrEvent).id, true, '')
        })
      },
    })
    const p = pool({ signer: createSecretKeySigner(sk), auth: 'always' })
    const controller = new AbortController()
    const a = p.publish(finalizeEvent({ kind: 1, content: 'a' }, sk), { relays: [relay.url], signal: controller.signal, timeoutMs: 3_000 })
    const b = p.publish(finalizeEvent({ kind: 1, content: 'b' }, sk), { relays: [relay.url], timeoutMs: 3_000 })
    // Wait until the AUTH is on the wire, then abort only publish a.
    const started = Date.now()
    while (relay.messagesOfType('AUTH').length === 0 && Date.now() - started < 2_000) await new Promise((r) => setTimeout(r, 10))
    controller.abort()
    const [ra, rb] = await Promise.all([a, b])
    expect(ra.relays[0]?.status).toBe('aborted')
    // Fails: b reports 'failed' with RELAY_ABORTED although nobody aborted it.
    expect(rb.relays[0]).toMatchObject({ status: 'ok' })
  })
})
