/**
 * Our bunker's bounds and refusals, on the wire: rate limits for strangers and for each client,
 * oversized and stale requests dropped, a cap on requests waiting for approval, malformed and
 * unsupported requests answered with errors, the remote-signer key defaulting to the user key, and
 * option checks.
 */
import { describe, expect, it } from 'vitest'
import { generateSecretKey, getPublicKey } from '../../src/crypto/keys.js'
import { createSecretKeySigner } from '../../src/crypto/secret-key-signer.js'
import { connectBunker, createBunker, type BunkerOptions } from '../../src/nip46/index.js'
import { expectRejectionCode } from '../helpers/errors.js'
import { rawRequest } from './nt-bunker.js'
import { POOL, useLocalRelay } from './setup.js'

const relay = useLocalRelay()

function options(extra: Partial<BunkerOptions> = {}): BunkerOptions {
  return {
    signer: createSecretKeySigner(generateSecretKey()),
    bunkerSigner: createSecretKeySigner(generateSecretKey()),
    relays: [relay().url],
    poolOptions: POOL,
    approve: () => true,
    ...extra,
  }
}

describe('bounds on incoming requests', () => {
  it('senders that never connected share one rate limit; beyond it they get no answer at all', async () => {
    const bunker = await createBunker(options({ strangerRateLimit: { burst: 3, perSecond: 0.01 } }))
    try {
      const answers = []
      for (let i = 0; i < 5; i++) answers.push(await rawRequest(relay().url, bunker.pubkey, 'ping', [], { waitMs: 400 }))
      expect(answers.slice(0, 3).every((a) => a?.error === 'unauthorized: send connect first')).toBe(true)
      expect(answers.slice(3)).toEqual([undefined, undefined])
      expect(bunker.stats().dropped.refused).toBe(2)
    } finally {
      await bunker.close()
    }
  })

  it('each connected client has its own rate limit', async () => {
    const bunker = await createBunker(options({ clientRateLimit: { burst: 4, perSecond: 0.01 } }))
    // connect is a stranger's request; switch_relays and get_public_key then take 2 of the 4.
    const signer = await connectBunker(bunker.bunkerUri(), { poolOptions: POOL, timeoutMs: 500 })
    try {
      await signer.ping()
      await signer.ping()
      await expectRejectionCode(signer.ping(), 'NIP46_TIMEOUT')
      expect(bunker.stats().dropped.refused).toBe(1)
    } finally {
      await signer.close()
      await bunker.close()
    }
  })

  it('oversized and stale requests are dropped before decryption', async () => {
    const bunker = await createBunker(options({ maxContentLength: 2_000, maxClockSkewSeconds: 30 }))
    const signer = await connectBunker(bunker.bunkerUri(), { poolOptions: POOL, timeoutMs: 500 })
    try {
      await expectRejectionCode(signer.signEvent({ kind: 1, content: 'x'.repeat(5_000) }), 'NIP46_TIMEOUT')
      expect(bunker.stats().dropped['too-large']).toBe(1)
      // Dated before the skew bound: outside the subscription's `since`, so never even delivered.
      const stale = await rawRequest(relay().url, bunker.pubkey, 'ping', [], { waitMs: 400, createdAt: Math.floor(Date.now() / 1000) - 45 })
      expect(stale).toBeUndefined()
      // Dated in the future beyond the bound: delivered, refused before decryption.
      const early = await rawRequest(relay().url, bunker.pubkey, 'ping', [], { waitMs: 400, createdAt: Math.floor(Date.now() / 1000) + 45 })
      expect(early).toBeUndefined()
      expect(bunker.stats().dropped.refused).toBe(1)
      // Within the bound: answered.
      expect(await rawRequest(relay().url, bunker.pubkey, 'ping', [], { createdAt: Math.floor(Date.now() / 1000) - 20 })).toMatchObject({ error: 'unauthorized: send connect first' })
    } finally {
      await signer.close()
      await bunker.close()
    }
  })

  it('caps the requests of one client waiting for approval', async () => {
    const waiting: Array<(ok: boolean) => void> = []
    const bunker = await createBunker(
      options({
        maxPendingPerClient: 2,
        approve: (request) => (request.method === 'connect' ? true : new Promise<boolean>((resolve) => waiting.push(resolve))),
      }),
    )
    const signer = await connectBunker(bunker.bunkerUri(), { poolOptions: POOL, timeoutMs: 3_000 })
    try {
      const first = signer.signEvent({ kind: 1, content: 'one' })
      const second = signer.signEvent({ kind: 1, content: 'two' })
      for (let i = 0; i < 200 && waiting.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 10))
      expect(waiting).toHaveLength(2)
      await expectRejectionCode(signer.signEvent({ kind: 1, content: 'three' }), 'SIGNER_REJECTED')
      waiting[0]!(true)
      waiting[1]!(false)
      expect((await first).content).toBe('one')
      await expectRejectionCode(second, 'SIGNER_REJECTED')
    } finally {
      await signer.close()
      await bunker.close()
    }
  })
})

describe('answers', () => {
  it('malformed and unsupported requests get an error; a request without an id gets nothing', async () => {
    const clientSecretKey = generateSecretKey()
    const bunker = await createBunker(options())
    const signer = await connectBunker(bunker.bunkerUri(), { poolOptions: POOL, clientSecretKey, timeoutMs: 2_000 })
    try {
      expect(await rawRequest(relay().url, bunker.pubkey, 'create_account', ['a'], { clientSecretKey })).toMatchObject({ error: 'unsupported method: create_account' })
      expect(await rawRequest(relay().url, bunker.pubkey, 'x', [], { clientSecretKey, body: '{"id":"q1","method":"sign_event","params":[1,2]}' })).toMatchObject({
        id: 'q1',
        error: 'invalid request: params must be a list of strings',
      })
      expect(await rawRequest(relay().url, bunker.pubkey, 'sign_event', ['{"kind":"one"}'], { clientSecretKey })).toMatchObject({ error: 'invalid event template' })
      expect(await rawRequest(relay().url, bunker.pubkey, 'nip44_encrypt', ['not-a-key', 'x'], { clientSecretKey })).toMatchObject({ error: 'nip44_encrypt: invalid public key' })
      expect(await rawRequest(relay().url, bunker.pubkey, 'x', [], { clientSecretKey, body: '{"method":"ping"}', waitMs: 300 })).toBeUndefined()
      expect(bunker.stats().dropped.malformed).toBe(1)
      // A signer failure is an error answer naming the code.
      const nip44Failure = await rawRequest(relay().url, bunker.pubkey, 'nip44_decrypt', [getPublicKey(generateSecretKey()), 'AAAA'], { clientSecretKey })
      expect(nip44Failure?.error).toMatch(/^NIP44_/)
    } finally {
      await signer.close()
      await bunker.close()
    }
  })

  it('without bunkerSigner the remote-signer key is the user key; requireSecret: false asks approve instead', async () => {
    const userSk = generateSecretKey()
    const asked: string[] = []
    const bunker = await createBunker({
      signer: createSecretKeySigner(userSk),
      relays: [relay().url],
      poolOptions: POOL,
      requireSecret: false,
      approve: (request) => {
        asked.push(request.method)
        return true
      },
    })
    try {
      expect(bunker.pubkey).toBe(getPublicKey(userSk))
      const signer = await connectBunker({ pubkey: bunker.pubkey, relays: [relay().url] }, { poolOptions: POOL, timeoutMs: 2_000 })
      expect(signer.userPubkey).toBe(bunker.pubkey)
      expect(asked).toEqual(['connect'])
      await signer.close()
    } finally {
      await bunker.close()
    }
  })

  it('checks its options', async () => {
    await expect(createBunker({ ...options(), relays: [] })).rejects.toThrow(TypeError)
    await expect(createBunker({ ...options(), relays: ['https://not-a-relay.example.com'] })).rejects.toThrow(TypeError)
    await expect(createBunker({ ...options(), approve: undefined as never })).rejects.toThrow(TypeError)
    await expect(createBunker({ ...options(), secret: '' })).rejects.toThrow(RangeError)
    await expect(createBunker({ ...options(), maxPendingPerClient: 0 })).rejects.toThrow(RangeError)
    await expect(createBunker({ ...options(), clientRateLimit: { burst: 0, perSecond: 1 } })).rejects.toThrow(RangeError)
  })
})
