import fc from 'fast-check'
import * as ntNip17 from 'nostr-tools/nip17'
import * as ntNip59 from 'nostr-tools/nip59'
import { describe, expect, it } from 'vitest'
import {
  CryptoError,
  type NostrEvent,
  createSecretKeySigner,
  type Signer,
  finalizeEvent,
  generateSecretKey,
  getPublicKey,
  hexToBytes,
  nip17,
  nip44,
  nip59,
  verifyEvent,
} from '../../src/crypto/index.js'

import { readJsonVector } from '../helpers/vectors.js'
import { expectRejectionCode } from '../helpers/errors.js'

const v59 = readJsonVector('nip59.from-nip-text.json')
const v17 = readJsonVector('nip17.from-nip-text.json')

/** A seal signed by `signerSk` around an arbitrary (possibly lying) rumor object. */
function forgeSeal(rumor: object, signerSk: Uint8Array, recipient: string, tags: string[][] = []): NostrEvent {
  const key = nip44.getConversationKey(signerSk, recipient)
  return finalizeEvent({ kind: 13, tags, content: nip44.encrypt(JSON.stringify(rumor), key) }, signerSk)
}

describe('NIP-59 vectors (from the NIP text)', () => {
  it('opens the example gift wrap to exactly the stated seal and rumor', async () => {
    const recipient = createSecretKeySigner(hexToBytes(v59.keys.recipient_private_key))
    const { rumor, seal } = await nip59.unwrapEvent(v59.gift_wrap, recipient)
    expect(seal).toEqual(v59.seal)
    expect(rumor).toEqual(v59.rumor)
    expect(rumor.pubkey).toBe(v59.keys.derived_public_keys.author)
  })
})

describe('NIP-17 vectors (from the NIP text)', () => {
  it('opens both official wraps: the receiver\'s and the sender\'s self-copy', async () => {
    const keys: Record<string, string> = {
      receiver_private_key: v17.receiver.private_key_hex_derived,
      sender_private_key: v17.sender.private_key_hex_derived,
    }
    expect(v17.derived_by_decryption).toHaveLength(2)
    for (const expected of v17.derived_by_decryption) {
      const wrap = Object.values(v17.gift_wraps as Record<string, NostrEvent>).find((w) => w.id === expected.gift_wrap_id)!
      const dm = await nip17.unwrapDirectMessage(wrap, createSecretKeySigner(hexToBytes(keys[expected.opened_with]!)))
      expect(dm.seal).toEqual(expected.seal)
      expect(dm.rumor).toEqual(expected.rumor)
      expect(dm.rumor.content).toBe(v17.message)
      expect(dm.sender).toBe(v17.sender.public_key_derived)
      expect(dm.participants).toEqual([v17.receiver.public_key_derived, v17.sender.public_key_derived].sort())
    }
  })
})

describe('NIP-59 wrap and unwrap', () => {
  const alice = generateSecretKey()
  const bob = generateSecretKey()
  const bobPub = getPublicKey(bob)

  it('round-trips, with a one-time wrap key and randomised past timestamps', async () => {
    const now = 1_700_000_000
    const signer = createSecretKeySigner(alice)
    const a = await nip59.wrapEvent({ kind: 1, content: 'party?', created_at: now }, signer, bobPub, { now: () => now })
    const b = await nip59.wrapEvent({ kind: 1, content: 'party?', created_at: now }, signer, bobPub, { now: () => now })
    expect(a.wrap.pubkey).not.toBe(b.wrap.pubkey)
    expect(a.wrap.pubkey).not.toBe(getPublicKey(alice))
    expect(a.wrap.tags[0]).toEqual(['p', bobPub])
    expect(verifyEvent(a.wrap)).toBe(true)
    const opened = await nip59.unwrapEvent(a.wrap, createSecretKeySigner(bob))
    expect(opened.rumor).toEqual(a.rumor)
    expect(opened.rumor.created_at).toBe(now)
    for (const t of [opened.wrap.created_at, opened.seal.created_at]) {
      expect(t).toBeLessThanOrEqual(now)
      expect(t).toBeGreaterThanOrEqual(now - 2 * 24 * 3600)
    }
    expect(opened.seal.tags).toEqual([])
    expect(opened.seal.pubkey).toBe(getPublicKey(alice))
  })

  it('spreads timestamps over the two-day window', () => {
    const now = 1_700_000_000
    const samples = Array.from({ length: 400 }, () => now - nip59.randomPastTimestamp(now))
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(0)
    expect(Math.max(...samples)).toBeLessThanOrEqual(2 * 24 * 3600)
    // 400 uniform draws over 48 h: the spread is far more than a day unless the source is broken.
    expect(Math.max(...samples) - Math.min(...samples)).toBeGreaterThan(24 * 3600)
  })

  it('rejects a rumor that claims another author (impersonation)', async () => {
    const mallory = generateSecretKey()
    const lie = nip59.createRumor({ kind: 14, content: 'send me your keys', tags: [] }, getPublicKey(alice))
    const seal = forgeSeal(lie, mallory, bobPub)
    const wrap = nip59.createWrap(seal, bobPub)
    await expectRejectionCode(nip59.unwrapEvent(wrap, createSecretKeySigner(bob)), 'NIP59_AUTHOR_MISMATCH')
  })

  it('refuses to seal a rumor for another author', async () => {
    const rumor = nip59.createRumor({ kind: 1, content: 'x' }, getPublicKey(bob))
    await expectRejectionCode(nip59.createSeal(rumor, createSecretKeySigner(alice), bobPub), 'NIP59_AUTHOR_MISMATCH')
  })

  it('rejects a seal with tags, a rumor with a wrong id, a malformed rumor, and non-JSON layers', async () => {
    const rumor = nip59.createRumor({ kind: 1, content: 'x' }, getPublicKey(alice))
    const bobSigner = createSecretKeySigner(bob)
    const open = (seal: NostrEvent) => nip59.unwrapEvent(nip59.createWrap(seal, bobPub), bobSigner)
    await expectRejectionCode(open(forgeSeal(rumor, alice, bobPub, [['p', bobPub]])), 'NIP59_INVALID_SEAL')
    await expectRejectionCode(open(forgeSeal({ ...rumor, id: 'ab'.repeat(32) }, alice, bobPub)), 'NIP59_INVALID_RUMOR')
    await expectRejectionCode(open(forgeSeal({ ...rumor, kind: 'one' }, alice, bobPub)), 'NIP59_INVALID_RUMOR')
    const notJson = finalizeEvent({ kind: 13, tags: [], content: nip44.encrypt('not json', nip44.getConversationKey(alice, bobPub)) }, alice)
    await expectRejectionCode(open(notJson), 'NIP59_INVALID_SEAL')
    const wrongKind = finalizeEvent({ kind: 1, tags: [], content: rumor.content }, alice)
    await expectRejectionCode(open(wrongKind), 'NIP59_INVALID_SEAL')
  })

  it('accepts a rumor without an id (computes it) and drops a stray signature', async () => {
    const rumor = nip59.createRumor({ kind: 1, content: 'x' }, getPublicKey(alice))
    const { id, ...noId } = rumor
    const opened = await nip59.unwrapEvent(nip59.createWrap(forgeSeal(noId, alice, bobPub), bobPub), createSecretKeySigner(bob))
    expect(opened.rumor.id).toBe(id)
    const signed = await nip59.unwrapEvent(nip59.createWrap(forgeSeal({ ...rumor, sig: 'ff'.repeat(64) }, alice, bobPub), bobPub), createSecretKeySigner(bob))
    expect(signed.rumor).toEqual(rumor)
  })

  it('rejects a wrap for someone else, a tampered wrap, and a non-wrap', async () => {
    const { wrap } = await nip59.wrapEvent({ kind: 1, content: 'hi' }, createSecretKeySigner(alice), bobPub)
    await expectRejectionCode(nip59.unwrapEvent(wrap, createSecretKeySigner(generateSecretKey())), 'NIP59_INVALID_WRAP')
    await expectRejectionCode(nip59.unwrapEvent({ ...wrap, content: `${wrap.content}A` }, createSecretKeySigner(bob)), 'NIP59_INVALID_WRAP')
    await expectRejectionCode(nip59.unwrapEvent({ ...wrap, kind: 4 }, createSecretKeySigner(bob)), 'NIP59_INVALID_WRAP')
    await expectRejectionCode(nip59.unwrapEvent(null as never, createSecretKeySigner(bob)), 'NIP59_INVALID_WRAP')
  })

  it('wrapVerified: trusts the caller on the wrap signature only; the seal is always verified', async () => {
    const bobSigner = createSecretKeySigner(bob)
    const { wrap, rumor } = await nip59.wrapEvent({ kind: 14, content: 'hi', tags: [['p', bobPub]] }, createSecretKeySigner(alice), bobPub)
    const badSig = { ...wrap, sig: `${wrap.sig.slice(0, -2)}${wrap.sig.endsWith('00') ? '01' : '00'}` }
    await expectRejectionCode(nip59.unwrapEvent(badSig, bobSigner), 'NIP59_INVALID_WRAP')
    // The caller says it verified this wrap (a relay pool does): its signature is not checked again.
    expect((await nip59.unwrapEvent(badSig, bobSigner, { wrapVerified: true })).rumor).toEqual(rumor)
    expect((await nip17.unwrapDirectMessage(wrap, bobSigner, { wrapVerified: true })).rumor).toEqual(rumor)
    // Kind and shape are still checked, and a seal with a bad signature is still refused.
    for (const junk of [null, { ...wrap, kind: 4 }, { ...wrap, tags: 'p' }]) {
      await expectRejectionCode(nip59.unwrapEvent(junk as never, bobSigner, { wrapVerified: true }), 'NIP59_INVALID_WRAP')
    }
    const seal = forgeSeal(rumor, alice, bobPub)
    const badSeal = { ...seal, sig: `${seal.sig.slice(0, -2)}${seal.sig.endsWith('00') ? '01' : '00'}` }
    await expectRejectionCode(nip59.unwrapEvent(nip59.createWrap(badSeal, bobPub), bobSigner, { wrapVerified: true }), 'NIP59_INVALID_SEAL')
  })

  it('passes signer errors through unchanged', async () => {
    const { wrap } = await nip59.wrapEvent({ kind: 1, content: 'hi' }, createSecretKeySigner(alice), bobPub)
    const refusing: Signer = {
      ...createSecretKeySigner(bob),
      nip44: {
        encrypt: () => Promise.reject(new CryptoError('SIGNER_REJECTED', 'no')),
        decrypt: () => Promise.reject(new CryptoError('SIGNER_REJECTED', 'no')),
      },
    }
    await expectRejectionCode(nip59.unwrapEvent(wrap, refusing), 'SIGNER_REJECTED')
  })
})

describe('NIP-17 messages', () => {
  const alice = generateSecretKey()
  const bob = generateSecretKey()
  const carol = generateSecretKey()
  const [alicePub, bobPub, carolPub] = [alice, bob, carol].map(getPublicKey) as [string, string, string]

  it('wraps to every recipient and the sender, each able to open only their own', async () => {
    const { rumor, wraps } = await nip17.wrapDirectMessage({
      signer: createSecretKeySigner(alice),
      recipients: [{ pubkey: bobPub, relay: 'wss://bob.example' }, carolPub, bobPub],
      content: 'group hello',
      subject: 'plans',
      replyTo: { id: 'cd'.repeat(32), relay: 'wss://r.example' },
    })
    expect(rumor.kind).toBe(14)
    expect(rumor.tags).toEqual([
      ['p', bobPub, 'wss://bob.example'],
      ['p', carolPub],
      ['e', 'cd'.repeat(32), 'wss://r.example'],
      ['subject', 'plans'],
    ])
    expect(wraps.map((w) => [w.recipient, w.self])).toEqual([
      [bobPub, false],
      [carolPub, false],
      [alicePub, true],
    ])
    expect(wraps[0]!.wrap.tags[0]).toEqual(['p', bobPub, 'wss://bob.example'])
    const keys = new Map([
      [bobPub, bob],
      [carolPub, carol],
      [alicePub, alice],
    ])
    for (const { recipient, wrap } of wraps) {
      const dm = await nip17.unwrapDirectMessage(wrap, createSecretKeySigner(keys.get(recipient)!))
      expect(dm.rumor).toEqual(rumor)
      expect(dm.sender).toBe(alicePub)
      expect(dm.subject).toBe('plans')
      expect(dm.replyTo).toBe('cd'.repeat(32))
      expect(nip17.chatRoomId(dm.participants)).toBe(nip17.chatRoomId([carolPub, alicePub, bobPub]))
    }
    await expectRejectionCode(nip17.unwrapDirectMessage(wraps[0]!.wrap, createSecretKeySigner(carol)), 'NIP59_INVALID_WRAP')
  })

  it('can skip the self-copy', async () => {
    const { wraps } = await nip17.wrapDirectMessage({ signer: createSecretKeySigner(alice), recipients: [bobPub], content: 'x', selfCopy: false })
    expect(wraps.map((w) => w.recipient)).toEqual([bobPub])
  })
})

describe('differential against nostr-tools', () => {
  const alice = generateSecretKey()
  const bob = generateSecretKey()
  const bobPub = getPublicKey(bob)

  it('each opens the other\'s gift wraps (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 300 }), fc.integer({ min: 0, max: 40000 }), async (content, kind) => {
        const { wrap, rumor } = await nip59.wrapEvent({ kind, content }, createSecretKeySigner(alice), bobPub)
        const theirRumor = ntNip59.unwrapEvent(structuredClone(wrap), bob)
        expect(theirRumor).toEqual(rumor)
        const theirWrap = ntNip59.wrapEvent({ kind, content, tags: [] }, alice, bobPub)
        const ours = await nip59.unwrapEvent(theirWrap, createSecretKeySigner(bob))
        expect(ours.rumor.content).toBe(content)
        expect(ours.rumor.pubkey).toBe(getPublicKey(alice))
      }),
      { seed: 59, numRuns: 25 },
    )
  })

  it('each opens the other\'s NIP-17 messages', async () => {
    const theirs = ntNip17.wrapEvent(alice, { publicKey: bobPub, relayUrl: 'wss://x.example' }, 'hola', 'topic', { eventId: 'ef'.repeat(32) })
    const dm = await nip17.unwrapDirectMessage(theirs, createSecretKeySigner(bob))
    expect([dm.rumor.content, dm.subject, dm.replyTo, dm.sender]).toEqual(['hola', 'topic', 'ef'.repeat(32), getPublicKey(alice)])
    const { wraps } = await nip17.wrapDirectMessage({ signer: createSecretKeySigner(alice), recipients: [bobPub], content: 'qué tal', subject: 's' })
    const rumor = ntNip17.unwrapEvent(structuredClone(wraps[0]!.wrap), bob)
    expect(rumor.kind).toBe(14)
    expect(rumor.content).toBe('qué tal')
    expect(rumor.tags).toContainEqual(['subject', 's'])
  })
})

describe('review fixes', () => {
  const alice = generateSecretKey()
  const bob = generateSecretKey()
  const [alicePub, bobPub] = [getPublicKey(alice), getPublicKey(bob)]

  it('accepts an expiration tag on a seal (NIP-17 disappearing messages), nothing else', async () => {
    const rumor = nip59.createRumor({ kind: 14, content: 'gone soon' }, alicePub)
    const seal = forgeSeal(rumor, alice, bobPub, [['expiration', '1800000000']])
    const opened = await nip59.unwrapEvent(nip59.createWrap(seal, bobPub, { tags: [['expiration', '1800000000']] }), createSecretKeySigner(bob))
    expect(opened.rumor).toEqual(rumor)
    const both = forgeSeal(rumor, alice, bobPub, [['expiration', '1800000000'], ['p', bobPub]])
    await expectRejectionCode(nip59.unwrapEvent(nip59.createWrap(both, bobPub), createSecretKeySigner(bob)), 'NIP59_INVALID_SEAL')
  })

  it('gives the sender one self copy even when listed as a recipient', async () => {
    const { wraps } = await nip17.wrapDirectMessage({ signer: createSecretKeySigner(alice), recipients: [bobPub, alicePub], content: 'x' })
    expect(wraps.map((w) => [w.recipient, w.self])).toEqual([
      [bobPub, false],
      [alicePub, true],
    ])
  })

  it('checks every recipient before asking the signer for anything', async () => {
    const signer = createSecretKeySigner(alice)
    let signs = 0
    const counting: Signer = { ...signer, nip04: signer.nip04, nip44: signer.nip44, signEvent: (t) => (signs++, signer.signEvent(t)) }
    await expect(nip17.wrapDirectMessage({ signer: counting, recipients: [bobPub, 'ABC'], content: 'x' })).rejects.toThrow(TypeError)
    expect(signs).toBe(0)
  })

  it('leaves p tags that are not public keys out of the participants', async () => {
    const rumor = nip59.createRumor({ kind: 14, content: 'x', tags: [['p', bobPub], ['p', 'not-a-key'], ['p', '']] }, alicePub)
    const dm = await nip17.unwrapDirectMessage(nip59.createWrap(forgeSeal(rumor, alice, bobPub), bobPub), createSecretKeySigner(bob))
    expect(dm.participants).toEqual([alicePub, bobPub].sort())
  })

  it('copies template tags: changing them afterwards cannot alter a signed event or a rumor', () => {
    const tags = [['t', 'a']]
    const event = finalizeEvent({ kind: 1, content: 'x', tags }, alice)
    const rumor = nip59.createRumor({ kind: 1, content: 'x', tags }, alicePub)
    tags[0]!.push('changed')
    tags.push(['t', 'b'])
    expect(verifyEvent(event)).toBe(true)
    expect(rumor.tags).toEqual([['t', 'a']])
  })
})
