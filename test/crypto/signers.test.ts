import fc from 'fast-check'
import * as ntNip04 from 'nostr-tools/nip04'
import * as ntNip44 from 'nostr-tools/nip44'
import { decrypt as ntNip49Decrypt } from 'nostr-tools/nip49'
import { finalizeEvent as ntFinalize, getPublicKey as ntGetPublicKey, verifyEvent as ntVerify } from 'nostr-tools/pure'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { bytesToHex, hexToBytes, wipe } from '../../src/crypto/bytes.js'
import type { NostrEvent } from '../../src/crypto/event.js'
import { generateSecretKey, getPublicKey } from '../../src/crypto/keys.js'
import * as nip44 from '../../src/crypto/nip44.js'
import { type Nip07Provider, createNip07Signer } from '../../src/crypto/nip07-signer.js'
import * as nip49 from '../../src/crypto/nip49.js'
import * as nip17 from '../../src/crypto/nip17.js'
import {
  CONVERSATION_KEY_CACHE_SIZE,
  CONVERSATION_KEY_PROBATION,
  createSecretKeySigner,
  secretKeySignerFromNcryptsec,
} from '../../src/crypto/secret-key-signer.js'
import { verifyEvent } from '../../src/crypto/signature.js'
import type { Signer } from '../../src/crypto/signer.js'
import { CryptoError } from '../../src/errors.js'
import { readJsonVector } from '../helpers/vectors.js'
import { rejectionCodeOf } from '../helpers/errors.js'

// The signer's calls into nip44.getConversationKey and nip49.decrypt are recorded (and delegated),
// so the tests can see the buffers the signer promises to cache, wipe or hand over.
const spy = vi.hoisted(() => ({
  conversationKeys: [] as { secretKey: Uint8Array; peer: string; key: Uint8Array }[],
  decrypted: [] as Uint8Array[],
}))

vi.mock('../../src/crypto/nip44.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/crypto/nip44.js')>()
  return {
    ...real,
    getConversationKey: (secretKey: Uint8Array, peer: string) => {
      const key = real.getConversationKey(secretKey, peer)
      spy.conversationKeys.push({ secretKey, peer, key })
      return key
    },
  }
})

vi.mock('../../src/crypto/nip49.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/crypto/nip49.js')>()
  return {
    ...real,
    decrypt: async (...args: Parameters<typeof real.decrypt>) => {
      const sk = await real.decrypt(...args)
      spy.decrypted.push(sk)
      return sk
    },
  }
})

afterEach(() => {
  spy.conversationKeys.length = 0
  spy.decrypted.length = 0
  vi.unstubAllGlobals()
  vi.useRealTimers()
})

async function errorOf(promise: Promise<unknown>): Promise<CryptoError> {
  try {
    await promise
  } catch (err) {
    if (err instanceof CryptoError) return err
    throw err
  }
  throw new Error('expected a rejection')
}

const isZero = (bytes: Uint8Array): boolean => bytes.every((b) => b === 0)
const plaintexts = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 200 })

describe('secret-key signer: keys and signing', () => {
  it('reports the public key and signs events that verify here and in nostr-tools', async () => {
    const sk = generateSecretKey()
    const signer = createSecretKeySigner(sk)
    expect(await signer.getPublicKey()).toBe(ntGetPublicKey(sk))
    const event = await signer.signEvent({ kind: 1, content: 'hi', tags: [['t', 'x']], created_at: 1_700_000_000 })
    expect(event).toMatchObject({ pubkey: ntGetPublicKey(sk), kind: 1, content: 'hi', tags: [['t', 'x']], created_at: 1_700_000_000 })
    expect(verifyEvent(event)).toBe(true)
    expect(ntVerify({ ...event })).toBe(true)
  })

  it('fills in created_at (now) and tags ([])', async () => {
    const signer = createSecretKeySigner(generateSecretKey())
    const before = Math.floor(Date.now() / 1000)
    const event = await signer.signEvent({ kind: 7, content: '+' })
    expect(event.tags).toEqual([])
    expect(event.created_at).toBeGreaterThanOrEqual(before)
    expect(event.created_at).toBeLessThanOrEqual(before + 5)
  })

  it('gives the same id as nostr-tools for random templates (property)', async () => {
    const sk = generateSecretKey()
    const signer = createSecretKeySigner(sk)
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          kind: fc.integer({ min: 0, max: 65535 }),
          content: fc.string({ unit: 'grapheme', maxLength: 100 }),
          tags: fc.array(fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 }), { maxLength: 3 }),
          created_at: fc.integer({ min: 0, max: 2 ** 31 }),
        }),
        async (template) => {
          const ours = await signer.signEvent(template)
          const theirs = ntFinalize({ ...template, tags: template.tags.map((t) => [...t]) }, sk)
          expect(ours.id).toBe(theirs.id)
          expect(ntVerify({ ...ours })).toBe(true)
        },
      ),
      { seed: 42, numRuns: 25 },
    )
  })

  it('rejects a malformed template with INVALID_EVENT', async () => {
    const signer = createSecretKeySigner(generateSecretKey())
    expect(await rejectionCodeOf(signer.signEvent({ kind: 1.5, content: '' }))).toBe('INVALID_EVENT')
  })

  it('refuses a key of the wrong size (RangeError) or an invalid scalar (INVALID_KEY)', () => {
    expect(() => createSecretKeySigner(new Uint8Array(31))).toThrow(RangeError)
    expect(() => createSecretKeySigner('ab' as unknown as Uint8Array)).toThrow(TypeError)
    const zero = (): unknown => createSecretKeySigner(new Uint8Array(32))
    expect(zero).toThrow(CryptoError)
    expect(zero).toThrow(expect.objectContaining({ code: 'INVALID_KEY' }))
  })

  it('exposes only its methods: no key bytes in properties or JSON', () => {
    const sk = generateSecretKey()
    const signer = createSecretKeySigner(sk)
    expect(Object.keys(signer).sort()).toEqual(['close', 'getPublicKey', 'nip04', 'nip44', 'signEvent', 'toNcryptsec'])
    expect(Object.values(signer).some((v) => v instanceof Uint8Array)).toBe(false)
    expect(JSON.stringify(signer) ?? '').not.toContain(bytesToHex(sk))
    expect(Object.isFrozen(signer)).toBe(true)
  })
})

describe('secret-key signer: NIP-04 and NIP-44', () => {
  const aliceSk = generateSecretKey()
  const bobSk = generateSecretKey()
  const alicePk = getPublicKey(aliceSk)
  const bobPk = getPublicKey(bobSk)
  const alice = createSecretKeySigner(aliceSk)
  const bob = createSecretKeySigner(bobSk)

  for (const scheme of ['nip04', 'nip44'] as const) {
    it(`${scheme}: round trip between two signers, both ways`, async () => {
      const text = 'gm ☀️ — ünïcødé'
      expect(await bob[scheme].decrypt(alicePk, await alice[scheme].encrypt(bobPk, text))).toBe(text)
      expect(await alice[scheme].decrypt(bobPk, await bob[scheme].encrypt(alicePk, text))).toBe(text)
    })
  }

  it('nip04: nostr-tools decrypts what the signer encrypts, and vice versa (property)', async () => {
    await fc.assert(
      fc.asyncProperty(plaintexts, async (text) => {
        expect(ntNip04.decrypt(bobSk, alicePk, await alice.nip04.encrypt(bobPk, text))).toBe(text)
        expect(await alice.nip04.decrypt(bobPk, ntNip04.encrypt(bobSk, alicePk, text))).toBe(text)
      }),
      { seed: 42, numRuns: 20 },
    )
  })

  it('nip44: nostr-tools decrypts what the signer encrypts, and vice versa (property)', async () => {
    const bobCk = ntNip44.getConversationKey(bobSk, alicePk)
    await fc.assert(
      fc.asyncProperty(plaintexts, async (text) => {
        expect(ntNip44.decrypt(await alice.nip44.encrypt(bobPk, text), bobCk)).toBe(text)
        expect(await alice.nip44.decrypt(bobPk, ntNip44.encrypt(text, bobCk))).toBe(text)
      }),
      { seed: 42, numRuns: 20 },
    )
  })

  it('errors from the NIP modules arrive as they are, not wrapped again', async () => {
    const ck = nip44.getConversationKey(aliceSk, bobPk)
    const direct = (() => {
      try {
        nip44.decrypt('#not-v2', ck)
      } catch (err) {
        return err as CryptoError
      }
      throw new Error('expected a throw')
    })()
    const viaSigner = await errorOf(alice.nip44.decrypt(bobPk, '#not-v2'))
    expect(viaSigner.code).toBe(direct.code)
    expect(viaSigner.code).toBe('NIP44_UNKNOWN_VERSION')
    expect(viaSigner.cause).not.toBeInstanceOf(CryptoError)

    const tampered = await alice.nip44.encrypt(bobPk, 'hello')
    const flipped = tampered.slice(0, 10) + (tampered[10] === 'A' ? 'B' : 'A') + tampered.slice(11)
    expect(await rejectionCodeOf(bob.nip44.decrypt(alicePk, flipped))).toBe('NIP44_INVALID_MAC')
    expect(await rejectionCodeOf(alice.nip04.decrypt(bobPk, 'garbage'))).toBe('NIP04_INVALID_PAYLOAD')
    expect(await rejectionCodeOf(alice.nip44.encrypt('00'.repeat(32), 'x'))).toBe('INVALID_KEY')
    await expect(alice.nip44.encrypt('zz', 'x')).rejects.toThrow(TypeError)
    await expect(alice.nip44.encrypt(42 as unknown as string, 'x')).rejects.toThrow(TypeError)
    await expect(alice.nip04.encrypt(bobPk.slice(2), 'x')).rejects.toThrow(RangeError)
  })
})

describe('secret-key signer: NIP-44 conversation-key cache', () => {
  const peers = Array.from({ length: CONVERSATION_KEY_CACHE_SIZE + 2 }, () => getPublicKey(generateSecretKey()))
  const derivationsFor = (peer: string, secretKeyHex?: string): number =>
    spy.conversationKeys.filter((c) => c.peer === peer && (secretKeyHex === undefined || bytesToHex(c.secretKey) === secretKeyHex)).length
  const keyOf = (peer: string): Uint8Array => spy.conversationKeys.find((c) => c.peer === peer)!.key

  it('derives a conversation key once per peer, whatever the hex case', async () => {
    const signer = createSecretKeySigner(generateSecretKey())
    const peer = peers[0]!
    const payload = await signer.nip44.encrypt(peer, 'one')
    await signer.nip44.encrypt(peer, 'two')
    await signer.nip44.encrypt(peer.toUpperCase(), 'three')
    expect(await signer.nip44.decrypt(peer, payload)).toBe('one')
    expect(spy.conversationKeys).toHaveLength(1)
  })

  it('a conversation of 1,000 messages derives its key once on each side', async () => {
    const aliceSk = generateSecretKey()
    const bobSk = generateSecretKey()
    const alice = createSecretKeySigner(aliceSk)
    const bob = createSecretKeySigner(bobSk)
    const [a, b] = [getPublicKey(aliceSk), getPublicKey(bobSk)]
    for (let i = 0; i < 500; i++) {
      expect(await bob.nip44.decrypt(a, await alice.nip44.encrypt(b, `ping ${i}`))).toBe(`ping ${i}`)
      expect(await alice.nip44.decrypt(b, await bob.nip44.encrypt(a, `pong ${i}`))).toBe(`pong ${i}`)
    }
    expect(derivationsFor(b, bytesToHex(aliceSk))).toBe(1)
    expect(derivationsFor(a, bytesToHex(bobSk))).toBe(1)
    expect(spy.conversationKeys).toHaveLength(2)
  })

  it(`keeps at most ${CONVERSATION_KEY_CACHE_SIZE} keys: ${CONVERSATION_KEY_PROBATION} used once, the rest used again`, async () => {
    const signer = createSecretKeySigner(generateSecretKey())
    const protectedSize = CONVERSATION_KEY_CACHE_SIZE - CONVERSATION_KEY_PROBATION
    const again = peers.slice(0, protectedSize + 1) // used twice each
    const once = Array.from({ length: CONVERSATION_KEY_PROBATION + 2 }, () => getPublicKey(generateSecretKey()))
    for (const peer of again.slice(0, protectedSize)) {
      await signer.nip44.encrypt(peer, 'x')
      await signer.nip44.encrypt(peer, 'y')
    }
    for (const peer of once.slice(0, CONVERSATION_KEY_PROBATION)) await signer.nip44.encrypt(peer, 'x')
    // Full: every key derived so far is alive.
    expect(spy.conversationKeys.filter((c) => !isZero(c.key))).toHaveLength(CONVERSATION_KEY_CACHE_SIZE)
    // One more key used once pushes out (and wipes) the oldest key used once, no other.
    await signer.nip44.encrypt(once[CONVERSATION_KEY_PROBATION]!, 'x')
    expect(isZero(keyOf(once[0]!))).toBe(true)
    expect(spy.conversationKeys.filter((c) => !isZero(c.key))).toHaveLength(CONVERSATION_KEY_CACHE_SIZE)
    // One more key used twice: the least recently used of the others goes back to probation (not
    // wiped), pushing out the oldest key used once there.
    await signer.nip44.encrypt(again[protectedSize]!, 'x')
    await signer.nip44.encrypt(again[protectedSize]!, 'y')
    expect(isZero(keyOf(once[1]!))).toBe(true) // its first use took a place in probation
    expect(isZero(keyOf(once[2]!))).toBe(false) // its second use moved again[0] there, unwiped
    expect(isZero(keyOf(again[0]!))).toBe(false)
    await signer.nip44.encrypt(again[0]!, 'z') // found in probation: promoted, not derived again
    expect(derivationsFor(again[0]!)).toBe(1)
    expect(spy.conversationKeys.filter((c) => !isZero(c.key))).toHaveLength(CONVERSATION_KEY_CACHE_SIZE)
    // An evicted key is derived again when needed, pushing out the oldest key used once.
    await signer.nip44.encrypt(once[0]!, 'x')
    expect(derivationsFor(once[0]!)).toBe(2)
    expect(isZero(keyOf(once[2]!))).toBe(true)
  })

  it('gift wraps: seal keys are derived once per conversation, and one-time wrap keys evict no contact', async () => {
    const aliceSk = generateSecretKey()
    const bobSk = generateSecretKey()
    const [aliceHex, bobHex] = [bytesToHex(aliceSk), bytesToHex(bobSk)]
    const alice = createSecretKeySigner(aliceSk)
    const bob = createSecretKeySigner(bobSk)
    const [a, b] = [getPublicKey(aliceSk), getPublicKey(bobSk)]
    // Bob talks with 40 people (each key used twice)...
    const contacts = Array.from({ length: 40 }, () => getPublicKey(generateSecretKey()))
    for (const contact of contacts) for (const text of ['hi', 'bye']) await bob.nip44.encrypt(contact, text)
    // ...then receives 25 direct messages from Alice: 25 wraps, each under its own one-time key. With
    // a plain LRU cache of 64, those one-time keys would push out most of his contacts.
    const MESSAGES = 25
    const mine: NostrEvent[] = []
    for (let i = 0; i < MESSAGES; i++) {
      const { wraps } = await nip17.wrapDirectMessage({ signer: alice, recipients: [b], content: `message ${i}` })
      expect(wraps.map((w) => w.recipient)).toEqual([b, a])
      const dm = await nip17.unwrapDirectMessage(wraps[0]!.wrap, bob)
      expect([dm.sender, dm.rumor.content]).toEqual([a, `message ${i}`])
      mine.push(wraps[1]!.wrap)
    }
    for (const wrap of mine) expect((await nip17.unwrapDirectMessage(wrap, alice)).rumor.pubkey).toBe(a)
    for (const contact of contacts) await bob.nip44.encrypt(contact, 'again')
    for (const contact of contacts) expect(derivationsFor(contact, bobHex)).toBe(1)
    // The seal keys: Alice to Bob, Alice to herself (her own copies), Bob from Alice: once each.
    expect(derivationsFor(b, aliceHex)).toBe(1)
    expect(derivationsFor(a, aliceHex)).toBe(1)
    expect(derivationsFor(a, bobHex)).toBe(1)
    // The wrap layers: one derivation per wrap on each side (a one-time key is used once).
    const oneTime = spy.conversationKeys.filter((c) => bytesToHex(c.secretKey) !== aliceHex && bytesToHex(c.secretKey) !== bobHex)
    expect(oneTime).toHaveLength(2 * MESSAGES)
    const opened = spy.conversationKeys.filter((c) => ![a, b, ...contacts].includes(c.peer))
    expect(opened).toHaveLength(2 * MESSAGES)
  })
})

describe('secret-key signer: close and key ownership', () => {
  it('is independent of the caller’s buffer, both ways', async () => {
    const sk = generateSecretKey()
    const pubkey = getPublicKey(sk)
    const hex = bytesToHex(sk)
    const signer = createSecretKeySigner(sk)
    wipe(sk) // the caller wipes its copy: the signer still works
    const event = await signer.signEvent({ kind: 1, content: 'still here' })
    expect(event.pubkey).toBe(pubkey)
    expect(verifyEvent(event)).toBe(true)

    const sk2 = hexToBytes(hex)
    const signer2 = createSecretKeySigner(sk2)
    signer2.close() // the signer wipes its copy: the caller's stays
    expect(bytesToHex(sk2)).toBe(hex)
  })

  it('close() wipes the key and the cached conversation keys; later calls reject SIGNER_CLOSED', async () => {
    const signer = createSecretKeySigner(generateSecretKey())
    const peerA = getPublicKey(generateSecretKey())
    const peerB = getPublicKey(generateSecretKey())
    const payload = await signer.nip44.encrypt(peerA, 'a')
    await signer.nip44.encrypt(peerB, 'b')
    const [first, second] = spy.conversationKeys
    // getConversationKey was handed the signer's own copy of the key: the buffer close() must wipe.
    expect(isZero(first!.secretKey)).toBe(false)
    signer.close()
    expect(isZero(first!.secretKey)).toBe(true)
    expect(isZero(first!.key)).toBe(true)
    expect(isZero(second!.key)).toBe(true)

    const calls: [string, () => Promise<unknown>][] = [
      ['getPublicKey', () => signer.getPublicKey()],
      ['signEvent', () => signer.signEvent({ kind: 1, content: '' })],
      ['nip04.encrypt', () => signer.nip04.encrypt(peerA, 'x')],
      ['nip04.decrypt', () => signer.nip04.decrypt(peerA, 'x')],
      ['nip44.encrypt', () => signer.nip44.encrypt(peerA, 'x')],
      ['nip44.decrypt', () => signer.nip44.decrypt(peerA, payload)],
      ['toNcryptsec', () => signer.toNcryptsec('pw', { logN: 4 })],
    ]
    for (const [name, call] of calls) expect([name, await rejectionCodeOf(call())]).toEqual([name, 'SIGNER_CLOSED'])
    expect(() => signer.close()).not.toThrow()
  })
})

describe('secret-key signer: NIP-49', () => {
  const vector = readJsonVector<{ decrypt: { ncryptsec: string; password: string; private_key_hex: string }[] }>(
    'nip49.from-nip-text.json',
  ).decrypt[0]!

  it('opens the NIP-49 vector and wipes the decrypted bytes after copying them', async () => {
    const signer = await secretKeySignerFromNcryptsec(vector.ncryptsec, vector.password)
    expect(await signer.getPublicKey()).toBe(getPublicKey(hexToBytes(vector.private_key_hex)))
    expect(spy.decrypted).toHaveLength(1)
    expect(isZero(spy.decrypted[0]!)).toBe(true)
    expect(verifyEvent(await signer.signEvent({ kind: 1, content: 'from ncryptsec' }))).toBe(true)
  })

  it('passes NIP-49 errors through', async () => {
    const ncryptsec = await nip49.encrypt(generateSecretKey(), 'right', { logN: 4 })
    expect(await rejectionCodeOf(secretKeySignerFromNcryptsec(ncryptsec, 'wrong'))).toBe('NIP49_WRONG_PASSPHRASE')
    expect(await rejectionCodeOf(secretKeySignerFromNcryptsec('ncryptsec1xyz', 'x'))).toBe('NIP49_INVALID')
  })

  it('exports the key as an ncryptsec that nostr-tools and nip49 open', async () => {
    const sk = generateSecretKey()
    const hex = bytesToHex(sk)
    const signer = createSecretKeySigner(sk)
    const ncryptsec = await signer.toNcryptsec('pässwörd', { logN: 5, keySecurity: 1 })
    expect(nip49.inspect(ncryptsec)).toEqual({ version: 2, logN: 5, keySecurity: 1 })
    expect(bytesToHex(ntNip49Decrypt(ncryptsec, 'pässwörd'))).toBe(hex)
    expect(bytesToHex(await nip49.decrypt(ncryptsec, 'pässwörd'))).toBe(hex)
    const reopened = await secretKeySignerFromNcryptsec(ncryptsec, 'pässwörd')
    expect(await reopened.getPublicKey()).toBe(await signer.getPublicKey())
  })

  it('an export started before close() still carries the key', async () => {
    const sk = generateSecretKey()
    const hex = bytesToHex(sk)
    const signer = createSecretKeySigner(sk)
    const pending = signer.toNcryptsec('pw', { logN: 8 })
    signer.close()
    expect(bytesToHex(await nip49.decrypt(await pending, 'pw'))).toBe(hex)
  })
})

// ---------------------------------------------------------------------------------------------
// NIP-07

type Template = Parameters<Nip07Provider['signEvent']>[0]

/** A well-behaved extension backed by a secret key (nostr-tools does the work). */
function honestProvider(sk: Uint8Array): Nip07Provider & { counts: Record<string, number> } {
  const counts: Record<string, number> = { getPublicKey: 0, signEvent: 0 }
  return {
    counts,
    getPublicKey: async () => {
      counts.getPublicKey!++
      return ntGetPublicKey(sk)
    },
    signEvent: async (t: Template) => {
      counts.signEvent!++
      return ntFinalize(t, sk) as NostrEvent
    },
    nip04: {
      encrypt: async (pk, text) => ntNip04.encrypt(sk, pk, text),
      decrypt: async (pk, payload) => ntNip04.decrypt(sk, pk, payload),
    },
    nip44: {
      encrypt: async (pk, text) => ntNip44.encrypt(text, ntNip44.getConversationKey(sk, pk)),
      decrypt: async (pk, payload) => ntNip44.decrypt(payload, ntNip44.getConversationKey(sk, pk)),
    },
  }
}

/** The honest extension with its signEvent replaced. */
function withSignEvent(sk: Uint8Array, signEvent: (t: Template) => unknown): Nip07Provider {
  return { ...honestProvider(sk), signEvent: signEvent as Nip07Provider['signEvent'] }
}

describe('NIP-07 signer: a well-behaved extension', () => {
  const sk = generateSecretKey()
  const pubkey = getPublicKey(sk)

  it('gets the public key once and returns verified events as asked', async () => {
    const provider = honestProvider(sk)
    const signer = createNip07Signer({ provider })
    expect(await signer.getPublicKey()).toBe(pubkey)
    const template = { kind: 1, content: 'via extension', tags: [['t', 'nostr']], created_at: 1_700_000_000 }
    const event = await signer.signEvent(template)
    expect(event).toMatchObject({ ...template, pubkey })
    expect(verifyEvent(event)).toBe(true)
    // A plain event: nothing the extension attached (nostr-tools adds a symbol) survives.
    expect(Object.getOwnPropertySymbols(event)).toEqual([])
    expect(Object.keys(event).sort()).toEqual(['content', 'created_at', 'id', 'kind', 'pubkey', 'sig', 'tags'])
    expect(await signer.getPublicKey()).toBe(pubkey)
    expect(provider.counts.getPublicKey).toBe(1)
  })

  it('passes NIP-04 and NIP-44 through (interoperating with a secret-key signer)', async () => {
    const peerSk = generateSecretKey()
    const peer = createSecretKeySigner(peerSk)
    const peerPk = getPublicKey(peerSk)
    const signer = createNip07Signer({ provider: honestProvider(sk) })
    for (const scheme of ['nip04', 'nip44'] as const) {
      expect(await peer[scheme].decrypt(pubkey, await signer[scheme].encrypt(peerPk, 'hi'))).toBe('hi')
      expect(await signer[scheme].decrypt(peerPk, await peer[scheme].encrypt(pubkey, 'yo'))).toBe('yo')
    }
  })

  it('looks up window.nostr at call time, not at creation', async () => {
    const signer = createNip07Signer()
    expect(await rejectionCodeOf(signer.getPublicKey())).toBe('SIGNER_UNAVAILABLE')
    vi.stubGlobal('window', {})
    expect(await rejectionCodeOf(signer.signEvent({ kind: 1, content: '' }))).toBe('SIGNER_UNAVAILABLE')
    vi.stubGlobal('window', { nostr: honestProvider(sk) }) // the extension injects late
    expect(await signer.getPublicKey()).toBe(pubkey)
    expect(verifyEvent(await signer.signEvent({ kind: 1, content: 'late' }))).toBe(true)
  })

  it('accepts a created_at chosen by the extension when the caller left it out', async () => {
    const signer = createNip07Signer({ provider: withSignEvent(sk, (t) => ntFinalize({ ...t, created_at: 42 }, sk)) })
    expect((await signer.signEvent({ kind: 1, content: '' })).created_at).toBe(42)
  })

  it('clears its timer when the extension answers in time', async () => {
    vi.useFakeTimers()
    const signer = createNip07Signer({ provider: honestProvider(sk), timeoutMs: 60_000 })
    expect(await signer.getPublicKey()).toBe(pubkey)
    expect(vi.getTimerCount()).toBe(0)
  })
})

describe('NIP-07 signer: failures', () => {
  const sk = generateSecretKey()

  it('no provider → SIGNER_UNAVAILABLE, for every method', async () => {
    const peer = getPublicKey(generateSecretKey())
    for (const signer of [createNip07Signer(), createNip07Signer({ provider: {} as Nip07Provider })]) {
      expect(await rejectionCodeOf(signer.getPublicKey())).toBe('SIGNER_UNAVAILABLE')
      expect(await rejectionCodeOf(signer.signEvent({ kind: 1, content: '' }))).toBe('SIGNER_UNAVAILABLE')
      expect(await rejectionCodeOf(signer.nip04.encrypt(peer, 'x'))).toBe('SIGNER_UNAVAILABLE')
      expect(await rejectionCodeOf(signer.nip44.decrypt(peer, 'x'))).toBe('SIGNER_UNAVAILABLE')
    }
  })

  it('no nip04/nip44 in the extension → SIGNER_UNSUPPORTED', async () => {
    const { nip04: _a, nip44: _b, ...bare } = honestProvider(sk)
    const peer = getPublicKey(generateSecretKey())
    const signer = createNip07Signer({ provider: bare })
    for (const scheme of ['nip04', 'nip44'] as const) {
      expect(await rejectionCodeOf(signer[scheme].encrypt(peer, 'x'))).toBe('SIGNER_UNSUPPORTED')
      expect(await rejectionCodeOf(signer[scheme].decrypt(peer, 'x'))).toBe('SIGNER_UNSUPPORTED')
    }
    const half = createNip07Signer({ provider: { ...bare, nip44: { encrypt: async () => 'x' } as never } })
    expect(await rejectionCodeOf(half.nip44.decrypt(peer, 'x'))).toBe('SIGNER_UNSUPPORTED')
    expect(await half.nip44.encrypt(peer, 'x')).toBe('x')
  })

  it('an extension that refuses → SIGNER_REJECTED with the original error as cause', async () => {
    const refusal = new Error('User rejected')
    const peer = getPublicKey(generateSecretKey())
    const refusing: Nip07Provider = {
      getPublicKey: async () => {
        throw refusal
      },
      signEvent: () => {
        throw refusal // synchronously, as some extensions do
      },
      nip04: { encrypt: () => Promise.reject(refusal), decrypt: () => Promise.reject('no') },
      nip44: { encrypt: () => Promise.reject(refusal), decrypt: () => Promise.reject(refusal) },
    }
    const signer = createNip07Signer({ provider: refusing })
    const err = await errorOf(signer.getPublicKey())
    expect(err.code).toBe('SIGNER_REJECTED')
    expect(err.cause).toBe(refusal)
    expect(await rejectionCodeOf(signer.nip04.encrypt(peer, 'x'))).toBe('SIGNER_REJECTED')
    expect((await errorOf(signer.nip04.decrypt(peer, 'x'))).cause).toBe('no')
    expect(await rejectionCodeOf(signer.nip44.encrypt(peer, 'x'))).toBe('SIGNER_REJECTED')

    // signEvent needs the pubkey first; with a pubkey, the refusal of signEvent itself shows.
    const refusesToSign = createNip07Signer({ provider: { ...honestProvider(sk), signEvent: refusing.signEvent } })
    const signErr = await errorOf(refusesToSign.signEvent({ kind: 1, content: '' }))
    expect([signErr.code, signErr.cause]).toEqual(['SIGNER_REJECTED', refusal])
  })

  it('a refusal is not remembered: asking again asks the extension again', async () => {
    let refuse = true
    const provider = {
      ...honestProvider(sk),
      getPublicKey: async () => {
        if (refuse) throw new Error('not now')
        return ntGetPublicKey(sk)
      },
    }
    const signer = createNip07Signer({ provider })
    expect(await rejectionCodeOf(signer.getPublicKey())).toBe('SIGNER_REJECTED')
    refuse = false
    expect(await signer.getPublicKey()).toBe(ntGetPublicKey(sk))
  })

  it('a public key that is not 64 lower-case hex of a curve point → SIGNER_INVALID_RESPONSE', async () => {
    const pk = ntGetPublicKey(sk)
    for (const bad of ['npub1xyz', pk.toUpperCase(), pk.slice(2), '00'.repeat(32), 42, null, undefined]) {
      const signer = createNip07Signer({ provider: { ...honestProvider(sk), getPublicKey: async () => bad as string } })
      expect([bad, await rejectionCodeOf(signer.getPublicKey())]).toEqual([bad, 'SIGNER_INVALID_RESPONSE'])
    }
  })

  const other = generateSecretKey()
  const tamperers: [string, (t: Template) => unknown, number?][] = [
    ['null', () => null],
    ['a string', () => 'signed!'],
    ['an empty object', () => ({})],
    ['the template unsigned', (t) => ({ ...t })],
    ['changed content', (t) => ntFinalize({ ...t, content: `${t.content} (edited)` }, sk)],
    ['changed kind', (t) => ntFinalize({ ...t, kind: t.kind + 1 }, sk)],
    ['an added tag', (t) => ntFinalize({ ...t, tags: [...t.tags, ['p', ntGetPublicKey(other)]] }, sk)],
    ['changed created_at (caller set one)', (t) => ntFinalize({ ...t, created_at: t.created_at + 1 }, sk), 1_700_000_000],
    ['signed by another key', (t) => ntFinalize(t, other)],
    ['a broken signature', (t) => {
      const e = ntFinalize(t, sk)
      return { ...e, sig: (e.sig[0] === '0' ? '1' : '0') + e.sig.slice(1) }
    }],
    ['content changed after signing', (t) => ({ ...ntFinalize(t, sk), content: 'swapped' })],
  ]
  for (const [name, tamper, createdAt] of tamperers) {
    it(`an extension that returns ${name} → SIGNER_INVALID_RESPONSE`, async () => {
      const signer = createNip07Signer({ provider: withSignEvent(sk, (t) => Promise.resolve(tamper(t))) })
      const template = { kind: 1, content: 'original', tags: [['t', 'a']], ...(createdAt ? { created_at: createdAt } : {}) }
      expect(await rejectionCodeOf(signer.signEvent(template))).toBe('SIGNER_INVALID_RESPONSE')
    })
  }

  it('an extension that mutates the request cannot change what is checked', async () => {
    const signer = createNip07Signer({
      provider: withSignEvent(sk, (t) => {
        t.tags[0]!.push('extra')
        t.tags.push(['x'])
        return ntFinalize(t, sk)
      }),
    })
    const template = { kind: 1, content: 'original', tags: [['t', 'a']] }
    expect(await rejectionCodeOf(signer.signEvent(template))).toBe('SIGNER_INVALID_RESPONSE')
    expect(template).toEqual({ kind: 1, content: 'original', tags: [['t', 'a']] })
  })

  it('nip04/nip44 answers that are not strings → SIGNER_INVALID_RESPONSE', async () => {
    const peer = getPublicKey(generateSecretKey())
    const garbage = { encrypt: async () => 42 as unknown as string, decrypt: async () => ({}) as string }
    const signer = createNip07Signer({ provider: { ...honestProvider(sk), nip04: garbage, nip44: garbage } })
    for (const scheme of ['nip04', 'nip44'] as const) {
      expect(await rejectionCodeOf(signer[scheme].encrypt(peer, 'x'))).toBe('SIGNER_INVALID_RESPONSE')
      expect(await rejectionCodeOf(signer[scheme].decrypt(peer, 'x'))).toBe('SIGNER_INVALID_RESPONSE')
    }
  })

  it('silence past timeoutMs → SIGNER_UNAVAILABLE', async () => {
    const silent: Nip07Provider = {
      ...honestProvider(sk),
      signEvent: () => new Promise(() => {}),
      nip44: { encrypt: () => new Promise(() => {}), decrypt: () => new Promise(() => {}) },
    }
    const signer = createNip07Signer({ provider: silent, timeoutMs: 20 })
    expect(await rejectionCodeOf(signer.signEvent({ kind: 1, content: '' }))).toBe('SIGNER_UNAVAILABLE')
    expect(await rejectionCodeOf(signer.nip44.encrypt(getPublicKey(other), 'x'))).toBe('SIGNER_UNAVAILABLE')
    expect(() => createNip07Signer({ timeoutMs: 0 })).toThrow(RangeError)
    expect(() => createNip07Signer({ timeoutMs: Number.NaN })).toThrow(RangeError)
  })

  it('programmer errors (bad template, bad peer key) fail before the extension is asked', async () => {
    const provider = honestProvider(sk)
    const signer: Signer = createNip07Signer({ provider })
    expect(await rejectionCodeOf(signer.signEvent({ kind: -1, content: '' }))).toBe('INVALID_EVENT')
    expect(await rejectionCodeOf(signer.signEvent({ kind: 1, content: '', tags: [[1 as unknown as string]] }))).toBe('INVALID_EVENT')
    expect(provider.counts).toEqual({ getPublicKey: 0, signEvent: 0 })
    await expect(signer.nip44.encrypt('not hex', 'x')).rejects.toThrow(TypeError)
    await expect(signer.nip04.encrypt('ab', 'x')).rejects.toThrow(RangeError)
    await expect(signer.nip04.decrypt(getPublicKey(other), 5 as unknown as string)).rejects.toThrow(TypeError)
  })

  it('close() → SIGNER_CLOSED, even with a remembered public key', async () => {
    const signer = createNip07Signer({ provider: honestProvider(sk) })
    await signer.getPublicKey()
    signer.close?.()
    expect(await rejectionCodeOf(signer.getPublicKey())).toBe('SIGNER_CLOSED')
    expect(await rejectionCodeOf(signer.signEvent({ kind: 1, content: '' }))).toBe('SIGNER_CLOSED')
    expect(await rejectionCodeOf(signer.nip44.encrypt(getPublicKey(other), 'x'))).toBe('SIGNER_CLOSED')
  })
})

describe('NIP-07 signer: an extension that answers checks and caller differently', () => {
  it('checks a snapshot, so getters cannot show the checks one event and the caller another', async () => {
    const sk = generateSecretKey()
    const evil = ntFinalize({ kind: 7, content: 'EVIL CONTENT', tags: [], created_at: 1_700_000_000 }, sk)
    const signer = createNip07Signer({
      provider: withSignEvent(sk, (t) => {
        const honest = ntFinalize(t, sk)
        // Each field shows the honest request while it is being checked (id and sig: one shape
        // check; the others: a shape check and a comparison), then the evil, validly signed event.
        const fake: Record<string, unknown> = {}
        for (const field of ['id', 'pubkey', 'created_at', 'kind', 'tags', 'content', 'sig'] as const) {
          let reads = 0
          Object.defineProperty(fake, field, { enumerable: true, get: () => (reads++ < (field === 'id' || field === 'sig' ? 1 : 2) ? honest[field] : evil[field]) })
        }
        return fake
      }),
    })
    let result: NostrEvent | undefined
    let error: unknown
    try {
      result = await signer.signEvent({ kind: 1, content: 'what the user saw', created_at: 1_700_000_000 })
    } catch (err) {
      error = err
    }
    // Either the snapshot is the honest event (checks pass, caller gets exactly that), or the
    // request is refused; the evil event never reaches the caller.
    if (result) {
      expect(result.kind).toBe(1)
      expect(result.content).toBe('what the user saw')
      expect(result.sig).not.toBe(evil.sig)
      expect(verifyEvent(result)).toBe(true)
    } else {
      expect((error as CryptoError).code).toBe('SIGNER_INVALID_RESPONSE')
    }
  })
})
