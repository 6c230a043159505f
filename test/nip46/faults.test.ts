/**
 * Our NIP-46 client against misbehaving remote signers, scripted on a real local relay with
 * nostr-tools primitives (test/nip46/nt-bunker.ts): silence (a clear NIP46_TIMEOUT within the
 * bound), malformed and stray responses (dropped, never a crash), auth_url challenges, refusals with
 * hostile error text, NIP-04 answers from old bunkers, forged signed events, a bad user key, wrong
 * nostrconnect secrets, and relays that take nothing.
 */
import { describe, expect, it } from 'vitest'
import { finalizeEvent, generateSecretKey as ntGenerateSecretKey, getPublicKey as ntGetPublicKey, type EventTemplate } from 'nostr-tools/pure'
import * as ntNip44 from 'nostr-tools/nip44'
import { generateSecretKey, getPublicKey } from '../../src/crypto/keys.js'
import { connectBunker, startNostrConnect } from '../../src/nip46/index.js'
import { expectRejectionCode } from '../helpers/errors.js'
import { startRelay } from '../helpers/relay-fleet.js'
import { withBadSignature } from '../helpers/scripted-relay.js'
import { startScriptedBunker, type ScriptedBunker } from './nt-bunker.js'
import { POOL, useLocalRelay } from './setup.js'

const relay = useLocalRelay()

/** A scripted bunker for one test, closed after `body`. */
async function withBunker(body: (bunker: ScriptedBunker) => Promise<void>, secret?: string): Promise<void> {
  const bunker = await startScriptedBunker(relay().url, secret === undefined ? {} : { secret })
  try {
    await body(bunker)
  } finally {
    await bunker.close()
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

describe('a bunker that never answers', () => {
  it('connect gives NIP46_TIMEOUT within the bound', async () => {
    await withBunker(async (bunker) => {
      bunker.setScript(() => undefined)
      const started = Date.now()
      const error = await expectRejectionCode(connectBunker(bunker.uri('s'), { poolOptions: POOL, timeoutMs: 400 }), 'NIP46_TIMEOUT')
      const took = Date.now() - started
      expect(took).toBeGreaterThanOrEqual(400)
      expect(took).toBeLessThan(2_500)
      expect(error.details).toContain('connect, 400 ms')
      expect(bunker.requests.map((r) => r.method)).toEqual(['connect'])
    })
  })

  it('a request after connecting gives NIP46_TIMEOUT within the bound; the signer keeps working', async () => {
    await withBunker(async (bunker) => {
      const signer = await connectBunker(bunker.uri(), { poolOptions: POOL, timeoutMs: 400 })
      try {
        bunker.setScript((req) => (req.method === 'sign_event' ? undefined : 'honest'))
        const started = Date.now()
        const error = await expectRejectionCode(signer.signEvent({ kind: 1, content: 'lost' }), 'NIP46_TIMEOUT')
        expect(Date.now() - started).toBeLessThan(2_500)
        expect(error.details).toContain('sign_event')
        expect(signer.stats().timeouts).toBe(1)
        await signer.ping()
      } finally {
        await signer.close()
      }
    })
  })
})

describe('bad input from the network is dropped', () => {
  it('malformed, stray, forged and oversized responses are ignored; the real answer is used', async () => {
    await withBunker(async (bunker) => {
      const signer = await connectBunker(bunker.uri(), { poolOptions: POOL, timeoutMs: 3_000, maxContentLength: 20_000 })
      try {
        const strangerSk = ntGenerateSecretKey()
        bunker.setScript(async (req, ctx) => {
          if (req.method !== 'ping') return 'honest'
          await ctx.reply('this is not JSON')
          await ctx.reply('[1,2,3]')
          await ctx.reply({ result: 'pong' }) // no id
          await ctx.reply({ id: 'someone-else', result: 'pong' }) // unknown id
          await ctx.reply({ id: req.id, result: 'pong', error: 42 }) // error of the wrong type
          await ctx.reply(`{"id":"${req.id}","result":"${'x'.repeat(30_000)}"}`) // too large
          // Encrypted to the client by a stranger's key (wrong author).
          await ctx.reply({ id: req.id, result: 'forged' }, { signWith: strangerSk })
          // Right author, content encrypted for someone else: does not decrypt.
          const other = ntGetPublicKey(ntGenerateSecretKey())
          const hijacked = finalizeEvent(
            { kind: 24133, created_at: Math.floor(Date.now() / 1000), tags: [['p', req.event.pubkey]], content: ntNip44.encrypt('{}', ntNip44.getConversationKey(ntGenerateSecretKey(), other)) },
            ntGenerateSecretKey(),
          )
          ctx.sendRaw(hijacked)
          // The right answer with a broken signature: the pool drops it.
          const genuine = finalizeEvent({ kind: 24133, created_at: Math.floor(Date.now() / 1000), tags: [['p', req.event.pubkey]], content: ntNip44.encrypt(JSON.stringify({ id: req.id, result: 'tampered' }), ntNip44.getConversationKey(bunker.secretKey, req.event.pubkey)) }, bunker.secretKey)
          ctx.sendRaw(withBadSignature(genuine))
          await sleep(100)
          await ctx.reply({ id: req.id, result: 'pong' })
        })
        await signer.ping()
        const dropped = signer.stats().dropped
        expect(dropped.malformed).toBeGreaterThanOrEqual(4)
        expect(dropped.unexpected).toBeGreaterThanOrEqual(1)
        expect(dropped['too-large']).toBe(1)
        // Still usable afterwards.
        bunker.setScript(undefined)
        await signer.ping()
      } finally {
        await signer.close()
      }
    })
  })

  it('a forged or altered signed event is refused with SIGNER_INVALID_RESPONSE', async () => {
    await withBunker(async (bunker) => {
      const signer = await connectBunker(bunker.uri(), { poolOptions: POOL, timeoutMs: 3_000 })
      try {
        const cases: Array<[string, (template: EventTemplate & { created_at: number }) => unknown]> = [
          ['content', (t) => finalizeEvent({ ...t, content: 'something else' }, bunker.userSecretKey)],
          ['pubkey', (t) => finalizeEvent(t, ntGenerateSecretKey())],
          ['created_at', (t) => finalizeEvent({ ...t, created_at: 1 }, bunker.userSecretKey)],
          ['tags', (t) => finalizeEvent({ ...t, tags: [['p', 'x']] }, bunker.userSecretKey)],
          ['signature', (t) => withBadSignature(finalizeEvent(t, bunker.userSecretKey))],
          ['JSON', () => 'not an event'],
          ['shape', () => JSON.stringify({ kind: 1 })],
        ]
        for (const [what, forge] of cases) {
          bunker.setScript((req, ctx) => {
            if (req.method !== 'sign_event') return 'honest'
            const forged = forge(JSON.parse(req.params[0]!))
            void ctx.reply({ id: req.id, result: typeof forged === 'string' ? forged : JSON.stringify(forged) })
          })
          const error = await expectRejectionCode(signer.signEvent({ kind: 1, content: 'the real text', tags: [['t', 'a']] }), 'SIGNER_INVALID_RESPONSE')
          expect(error.details, what).toBeTruthy()
        }
      } finally {
        await signer.close()
      }
    })
  })

  it('a user public key that is not a key fails the connection with SIGNER_INVALID_RESPONSE', async () => {
    await withBunker(async (bunker) => {
      bunker.setScript((req, ctx) => {
        if (req.method !== 'get_public_key') return 'honest'
        void ctx.reply({ id: req.id, result: 'npub1notahexkey' })
      })
      await expectRejectionCode(connectBunker(bunker.uri(), { poolOptions: POOL, timeoutMs: 2_000 }), 'SIGNER_INVALID_RESPONSE')
    })
  })
})

describe('answers a real bunker may give', () => {
  it('an error response is SIGNER_REJECTED with the bunker’s message, cleaned and bounded', async () => {
    await withBunker(async (bunker) => {
      const signer = await connectBunker(bunker.uri(), { poolOptions: POOL, timeoutMs: 3_000 })
      try {
        bunker.setScript((req, ctx) => {
          if (req.method !== 'nip44_encrypt') return 'honest'
          void ctx.reply({ id: req.id, result: '', error: `user said no\u0000\u001b[31m${'!'.repeat(5_000)}` })
        })
        const error = await expectRejectionCode(signer.nip44.encrypt(getPublicKey(generateSecretKey()), 'hi'), 'SIGNER_REJECTED')
        expect(error.details).toContain('nip44_encrypt: user said no')
        expect(error.details).not.toMatch(/[\u0000-\u001f]/)
        expect(error.details!.length).toBeLessThan(400)
      } finally {
        await signer.close()
      }
    })
  })

  it('auth_url: onAuthUrl gets the URL and the real answer that follows is used', async () => {
    await withBunker(async (bunker) => {
      const urls: Array<[string, string]> = []
      const signer = await connectBunker(bunker.uri(), { poolOptions: POOL, timeoutMs: 300, authTimeoutMs: 3_000, onAuthUrl: (url, method) => urls.push([url, method]) })
      try {
        bunker.setScript(async (req, ctx) => {
          if (req.method !== 'sign_event') return 'honest'
          await ctx.reply({ id: req.id, result: 'auth_url', error: 'https://bunker.example.com/auth/123' })
          await ctx.reply({ id: req.id, result: 'auth_url', error: 'https://bunker.example.com/auth/123' }) // repeated: shown once
          // Longer than timeoutMs: the auth challenge extended the wait.
          await sleep(600)
          await ctx.reply(ctx.honest())
        })
        const event = await signer.signEvent({ kind: 1, content: 'after logging in' })
        expect(event.content).toBe('after logging in')
        expect(urls).toEqual([['https://bunker.example.com/auth/123', 'sign_event']])
      } finally {
        await signer.close()
      }
    })
  })

  it('auth_url without an answer times out after authTimeoutMs; without onAuthUrl it is refused at once', async () => {
    await withBunker(async (bunker) => {
      const urls: string[] = []
      const withHandler = await connectBunker(bunker.uri(), { poolOptions: POOL, timeoutMs: 2_000, authTimeoutMs: 300, onAuthUrl: (url) => urls.push(url) })
      const without = await connectBunker(bunker.uri(), { poolOptions: POOL, timeoutMs: 2_000 })
      try {
        bunker.setScript((req, ctx) => {
          if (req.method !== 'sign_event') return 'honest'
          void ctx.reply({ id: req.id, result: 'auth_url', error: 'https://bunker.example.com/login' })
        })
        const error = await expectRejectionCode(withHandler.signEvent({ kind: 1, content: 'x' }), 'NIP46_TIMEOUT')
        expect(error.details).toContain('auth_url, 300 ms')
        expect(urls).toEqual(['https://bunker.example.com/login'])
        const refused = await expectRejectionCode(without.signEvent({ kind: 1, content: 'x' }), 'SIGNER_REJECTED')
        expect(refused.shortMessage).toContain('onAuthUrl')
        // A javascript: URL is never handed to the app.
        bunker.setScript((req, ctx) => {
          if (req.method !== 'sign_event') return 'honest'
          void ctx.reply({ id: req.id, result: 'auth_url', error: 'javascript:alert(1)' })
        })
        await expectRejectionCode(withHandler.signEvent({ kind: 1, content: 'x' }), 'SIGNER_INVALID_RESPONSE')
        expect(urls).toHaveLength(1)
      } finally {
        await withHandler.close()
        await without.close()
      }
    })
  })

  it('an old bunker answering with NIP-04 is understood', async () => {
    await withBunker(async (bunker) => {
      bunker.setScript((req, ctx) => {
        void ctx.reply(ctx.honest(), { scheme: 'nip04' })
      })
      const signer = await connectBunker(bunker.uri(), { poolOptions: POOL, timeoutMs: 3_000 })
      try {
        expect(signer.userPubkey).toBe(bunker.userPubkey)
        const event = await signer.signEvent({ kind: 1, content: 'old bunker' })
        expect(event.pubkey).toBe(bunker.userPubkey)
        // Our requests stayed NIP-44.
        expect(bunker.requests.every((r) => r.scheme === 'nip44')).toBe(true)
      } finally {
        await signer.close()
      }
    })
  })
})

describe('nostrconnect:// waiting', () => {
  it('a response with the wrong secret is ignored; the right one connects', async () => {
    await withBunker(async (impostor) => {
      await withBunker(async (bunker) => {
        const session = startNostrConnect({ poolOptions: POOL, relays: [relay().url], timeoutMs: 3_000, connectTimeoutMs: 5_000 })
        await session.ready
        await impostor.acceptNostrConnect(session.uri, 'not-the-secret')
        await impostor.acceptNostrConnect(session.uri, 'ack')
        await sleep(100)
        await bunker.acceptNostrConnect(session.uri)
        const signer = await session.signer
        try {
          expect(signer.remoteSignerPubkey).toBe(bunker.pubkey)
          expect(signer.stats().dropped.unexpected).toBeGreaterThanOrEqual(2)
          // The impostor never hears from us.
          expect(impostor.requests).toEqual([])
        } finally {
          await signer.close()
        }
      })
    })
  })

  it('nobody answering gives NIP46_TIMEOUT after connectTimeoutMs; an abort gives SIGNER_UNAVAILABLE', async () => {
    const session = startNostrConnect({ poolOptions: POOL, relays: [relay().url], connectTimeoutMs: 300 })
    const started = Date.now()
    await expectRejectionCode(session.signer, 'NIP46_TIMEOUT')
    expect(Date.now() - started).toBeLessThan(2_500)
    const controller = new AbortController()
    const aborted = startNostrConnect({ poolOptions: POOL, relays: [relay().url], signal: controller.signal })
    await aborted.ready
    controller.abort()
    await expectRejectionCode(aborted.signer, 'SIGNER_UNAVAILABLE')
  })
})

describe('relays that take nothing', () => {
  it('a bunker token naming a dead relay fails fast with NIP46_UNDELIVERED', async () => {
    const dead = await startRelay()
    const url = dead.url
    await dead.close()
    const token = `bunker://${getPublicKey(generateSecretKey())}?relay=${encodeURIComponent(url)}`
    const started = Date.now()
    const error = await expectRejectionCode(connectBunker(token, { poolOptions: { ...POOL, connectTimeoutMs: 1_000, eoseTimeoutMs: 1_000 }, timeoutMs: 10_000 }), 'NIP46_UNDELIVERED')
    expect(Date.now() - started).toBeLessThan(5_000)
    expect(error.details).toContain(url)
  })
})

