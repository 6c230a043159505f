/**
 * NIP-51 lists, without relays: parsing (metadata, public and private entries), private parts in
 * NIP-44 and NIP-04 both ways with nostr-tools, content that cannot be read (refused, never
 * overwritten), building a new version that keeps unknown tags and private entries in order, the
 * entry helpers, and the mute matcher.
 */
import fc from 'fast-check'
import * as toolsNip04 from 'nostr-tools/nip04'
import * as toolsNip44 from 'nostr-tools/nip44'
import { describe, expect, it } from 'vitest'
import type { NostrEvent } from '../../src/crypto/event.js'
import { generateSecretKey, getPublicKey } from '../../src/crypto/keys.js'
import { createSecretKeySigner } from '../../src/crypto/secret-key-signer.js'
import { finalizeEvent } from '../../src/crypto/signature.js'
import type { SignerCipher } from '../../src/crypto/signer.js'
import { isRendezvousError } from '../../src/errors.js'
import {
  LIST_KINDS,
  addListEntries,
  applyListChange,
  decryptPrivateEntries,
  isListSetKind,
  isMuteRulesEmpty,
  isStandardListKind,
  listEntryKey,
  listTemplate,
  muteRules,
  mutedReason,
  parseList,
  parsePrivateEntries,
  privateEncoding,
  removeListEntries,
  type ListCipher,
  type ParsedList,
} from '../../src/outbox/lists.js'

const sk = generateSecretKey()
const me = getPublicKey(sk)
const signer = createSecretKeySigner(sk)
const cipher: ListCipher = { pubkey: me, nip44: signer.nip44, nip04: signer.nip04 }
const other = generateSecretKey()
const hex = (n: number): string => n.toString(16).padStart(64, '0')
const P1 = getPublicKey(generateSecretKey())
const P2 = getPublicKey(generateSecretKey())

function list(kind: number, tags: string[][], content = '', key = sk): NostrEvent {
  return finalizeEvent({ kind, tags, content, created_at: 1_700_000_000 }, key)
}

/** nostr-tools' NIP-44, to oneself. */
function toolsNip44Encrypt(plaintext: string): string {
  return toolsNip44.encrypt(plaintext, toolsNip44.getConversationKey(sk, me))
}

async function refused(promise: Promise<unknown> | (() => unknown)): Promise<boolean> {
  try {
    await (typeof promise === 'function' ? promise() : promise)
    return false
  } catch (error) {
    return isRendezvousError(error, 'LIST_PRIVATE_UNREADABLE')
  }
}

describe('kinds and encodings', () => {
  it('tells standard lists from sets', () => {
    expect(isStandardListKind(LIST_KINDS.mute)).toBe(true)
    expect(isStandardListKind(LIST_KINDS.followSet)).toBe(false)
    expect(isListSetKind(LIST_KINDS.relaySet)).toBe(true)
    expect(isListSetKind(3)).toBe(false)
    expect(isStandardListKind(1.5)).toBe(false)
  })

  it('recognises empty, NIP-04, NIP-44 and plain content', async () => {
    expect(privateEncoding('')).toBe('none')
    expect(privateEncoding('  \n')).toBe('none')
    expect(privateEncoding(toolsNip04.encrypt(sk, me, '[]'))).toBe('nip04')
    expect(privateEncoding(await signer.nip44.encrypt(me, '[]'))).toBe('nip44')
    expect(privateEncoding('#future-version-payload')).toBe('nip44')
    expect(privateEncoding('My nostr app selection')).toBe('plain')
    expect(privateEncoding('short')).toBe('plain')
    expect(privateEncoding('not?iv=base64 at all')).toBe('plain')
  })
})

describe('parsing', () => {
  it('reads the NIP-51 mute list example: public entries, private part locked without the key', async () => {
    // The spec's example (its content is NIP-04 to a key we do not hold).
    const event = {
      id: 'a92a316b75e44cfdc19986c634049158d4206fcc0b7b9c7ccbcdabe28beebcd0',
      pubkey: '854043ae8f1f97430ca8c1f1a090bdde6488bd5115c7a45307a2a212750ae4cb',
      created_at: 1699597889,
      kind: 10000,
      tags: [
        ['p', '07caba282f76441955b695551c3c5c742e5b9202a3784780f8086fdcdc1da3a9'],
        ['p', 'a55c15f5e41d5aebd236eca5e0142789c5385703f1a7485aa4b38d94fd18dcc4'],
      ],
      content: 'TJob1dQrf2ndsmdbeGU+05HT5GMnBSx3fx8QdDY/g3NvCa7klfzgaQCmRZuo1d3WQjHDOjzSY1+MgTK5WjewFFumCcOZniWtOMSga9tJk1ky00tLoUUzyLnb1v9x95h/iT/KpkICJyAwUZ+LoJBUzLrK52wNTMt8M5jSLvCkRx8C0BmEwA/00pjOp4eRndy19H4WUUehhjfV2/VV/k4hMAjJ7Bb5Hp9xdmzmCLX9+64+MyeIQQjQAHPj8dkSsRahP7KS3MgMpjaF8nL48Bg5suZMxJayXGVp3BLtgRZx5z5nOk9xyrYk+71e2tnP9IDvSMkiSe76BcMct+m7kGVrRcavDI4n62goNNh25IpghT+a1OjjkpXt9me5wmaL7fxffV1pchdm+A7KJKIUU3kLC7QbUifF22EucRA9xiEyxETusNludBXN24O3llTbOy4vYFsq35BeZl4v1Cse7n2htZicVkItMz3wjzj1q1I1VqbnorNXFgllkRZn4/YXfTG/RMnoK/bDogRapOV+XToZ+IvsN0BqwKSUDx+ydKpci6htDRF2WDRkU+VQMqwM0CoLzy2H6A2cqyMMMD9SLRRzBg==?iv=S3rFeFr1gsYqmQA7bNnNTQ==',
      sig: '1173822c53261f8cffe7efbf43ba4a97a9198b3e402c2a1df130f42a8985a2d0d3430f4de350db184141e45ca844ab4e5364ea80f11d720e36357e1853dba6ca',
    } satisfies NostrEvent
    expect(privateEncoding(event.content)).toBe('nip04')
    const parsed = await parseList(event)
    expect(parsed.public).toEqual(event.tags)
    expect(parsed.private).toEqual([])
    expect(parsed.privateState).toBe('locked')
    expect(parsed.identifier).toBeUndefined()
    // Someone else's cipher does not make it readable either.
    expect((await parseList(event, cipher)).privateState).toBe('locked')
    expect(await refused(() => applyListChange(parsed, { add: [['t', 'x']] }, { kind: 10000 }))).toBe(true)
  })

  it('reads a set (the NIP-51 curation example): identifier, metadata, entries without metadata', async () => {
    const tags = [
      ['d', 'jvdy9i4'],
      ['title', 'Yaks'],
      ['image', 'https://cdn.example/yak.jpg'],
      ['description', 'The domestic yak'],
      ['a', `30023:${P1}:95ODQzw3ajNoZ8SyMDOzQ`],
      ['e', hex(7)],
    ]
    const parsed = await parseList(list(30004, tags, ''))
    expect(parsed).toMatchObject({ identifier: 'jvdy9i4', title: 'Yaks', image: 'https://cdn.example/yak.jpg', description: 'The domestic yak', privateState: 'none' })
    expect(parsed.public).toEqual(tags.slice(4))
    expect(parsed.tags).toEqual(tags)
    // An older set with `name` instead of `title`, and one without `d`.
    expect((await parseList(list(30000, [['d', 'x'], ['name', 'Old']]))).title).toBe('Old')
    expect((await parseList(list(30000, [['p', P1]]))).identifier).toBe('')
  })

  it('drops tags that are not string arrays (network junk) without failing', async () => {
    const event = { ...list(10000, [['p', P1]]), tags: [['p', P1], 'junk', [1, 2], ['t', 'ok']] as unknown as string[][] }
    const parsed = await parseList(event)
    expect(parsed.public).toEqual([['p', P1], ['t', 'ok']])
  })
})

describe('private entries', () => {
  const entries = [['p', P1], ['word', 'giveaway'], ['t', 'spam', 'extra-field']]

  it('round trip: written with NIP-44 by us, read by us and by nostr-tools', async () => {
    const draft = applyListChange(undefined, { add: [['p', P2]], addPrivate: entries }, { kind: 10000 })
    const template = await listTemplate(draft, cipher)
    expect(template.tags).toEqual([['p', P2]])
    expect(privateEncoding(template.content)).toBe('nip44')
    expect(template.content).not.toContain('giveaway')
    const theirs = toolsNip44.decrypt(template.content, toolsNip44.getConversationKey(sk, me))
    expect(JSON.parse(theirs)).toEqual(entries)
    const parsed = await parseList(list(10000, template.tags, template.content), cipher)
    expect(parsed.privateState).toBe('nip44')
    expect(parsed.private).toEqual(entries)
  })

  it('reads NIP-44 content written by nostr-tools', async () => {
    const content = toolsNip44Encrypt(JSON.stringify(entries))
    const parsed = await parseList(list(10003, [['e', hex(1)]], content), cipher)
    expect(parsed.privateState).toBe('nip44')
    expect(parsed.private).toEqual(entries)
  })

  it('reads old NIP-04 content written by nostr-tools, and rewrites it with NIP-44 on the next edit', async () => {
    const content = toolsNip04.encrypt(sk, me, JSON.stringify(entries))
    const parsed = await parseList(list(10000, [], content), cipher)
    expect(parsed.privateState).toBe('nip04')
    expect(parsed.private).toEqual(entries)
    const draft = applyListChange(parsed, { addPrivate: [['p', P2]] }, { kind: 10000 })
    const template = await listTemplate(draft, cipher)
    expect(privateEncoding(template.content)).toBe('nip44')
    expect(JSON.parse(toolsNip44.decrypt(template.content, toolsNip44.getConversationKey(sk, me)))).toEqual([...entries, ['p', P2]])
    // And nostr-tools reads the NIP-04 content we read (same scheme, both ways).
    expect(JSON.parse(toolsNip04.decrypt(sk, me, content))).toEqual(entries)
  })

  it('content that cannot be read makes the list unreadable, and every edit refuses', async () => {
    const junk: Array<[string, string]> = [
      ['nip44-shaped garbage', 'A'.repeat(200)],
      ['NIP-44 to someone else', toolsNip44.encrypt('[]', toolsNip44.getConversationKey(other, me))],
      ['not JSON', toolsNip44Encrypt('p,abc')],
      ['a JSON object', toolsNip44Encrypt('{"p":"abc"}')],
      ['an array of numbers', toolsNip44Encrypt('[[1,2]]')],
      ['an empty tag', toolsNip44Encrypt('[[]]')],
      ['NIP-04 garbage', 'AAAA?iv=BBBB'],
    ]
    for (const [what, content] of junk) {
      const parsed = await parseList(list(10000, [['p', P1]], content), cipher)
      expect(parsed.privateState, what).toBe('unreadable')
      expect(parsed.private, what).toEqual([])
      expect(await refused(() => applyListChange(parsed, { remove: [['p', P1]] }, { kind: 10000 })), what).toBe(true)
      expect(await refused(() => applyListChange(parsed, {}, { kind: 10000 })), what).toBe(true)
    }
    expect(await refused(decryptPrivateEntries('A'.repeat(200), cipher))).toBe(true)
    expect(await refused(decryptPrivateEntries('AAAA?iv=BBBB', { pubkey: me, nip44: signer.nip44 }))).toBe(true)
    expect(() => parsePrivateEntries('[["p","x"],["t"]]')).not.toThrow()
  })

  it('a signer that refuses to decrypt leaves the list unreadable (not empty)', async () => {
    const refusing: SignerCipher = {
      encrypt: () => Promise.reject(new Error('no')),
      decrypt: () => Promise.reject(new Error('user said no')),
    }
    const content = await signer.nip44.encrypt(me, JSON.stringify(entries))
    const parsed = await parseList(list(10000, [], content), { pubkey: me, nip44: refusing })
    expect(parsed.privateState).toBe('unreadable')
    expect(await refused(() => applyListChange(parsed, { add: [['p', P2]] }, { kind: 10000 }))).toBe(true)
  })

  it('plain-text content is kept by public edits, and private entries may not replace it', async () => {
    const parsed = await parseList(list(30267, [['d', 'nostr'], ['a', `32267:${P1}:app`]], 'My nostr app selection'), cipher)
    expect(parsed.privateState).toBe('plain')
    const draft = applyListChange(parsed, { add: [['a', `32267:${P2}:other`]] }, { kind: 30267, identifier: 'nostr' })
    expect((await listTemplate(draft, cipher)).content).toBe('My nostr app selection')
    expect(await refused(() => applyListChange(parsed, { addPrivate: [['a', `32267:${P2}:x`]] }, { kind: 30267, identifier: 'nostr' }))).toBe(true)
  })
})

describe('building a new version', () => {
  it('keeps unknown tags and private entries in order; appends, removes, and moves between sides', async () => {
    const tags = [['p', P1, 'wss://hint.example'], ['unknown', 'x', 'y'], ['t', 'Nostr'], ['word', 'moon'], ['emoji', 'a', 'https://e.example/a.png'], ['p', P2]]
    const priv = [['e', hex(1)], ['custom', 'keep-me'], ['word', 'secret'], ['p', hex(3)]]
    const content = await signer.nip44.encrypt(me, JSON.stringify(priv))
    const previous = await parseList(list(10000, tags, content), cipher)
    const draft = applyListChange(
      previous,
      {
        add: [['t', 'nostr'], ['t', 'new'], ['word', 'secret'], ['t', 'new']],
        addPrivate: [['p', P2], ['word', 'quiet']],
        remove: [['word', 'MOON'], ['e', hex(1)]],
      },
      { kind: 10000 },
    )
    expect(draft.tags).toEqual([['p', P1, 'wss://hint.example'], ['unknown', 'x', 'y'], ['t', 'Nostr'], ['emoji', 'a', 'https://e.example/a.png'], ['t', 'new'], ['word', 'secret']])
    expect(draft.private).toEqual([['custom', 'keep-me'], ['p', hex(3)], ['p', P2], ['word', 'quiet']])
    // The previous list is not modified.
    expect(previous.tags).toEqual(tags)
    expect(previous.private).toEqual(priv)
  })

  it('sets: a new set starts with its d tag; metadata is set in place, inserted after d, or removed', async () => {
    const fresh = applyListChange(undefined, { add: [['p', P1]], title: 'Friends' }, { kind: 30000, identifier: 'friends' })
    expect(fresh.tags).toEqual([['d', 'friends'], ['title', 'Friends'], ['p', P1]])
    const previous = await parseList(list(30000, [['d', 'friends'], ['title', 'Friends', 'en'], ['p', P1], ['x-unknown', '1']]))
    const edited = applyListChange(previous, { title: 'Pals', description: 'people I know', image: null, remove: [['p', P1]] }, { kind: 30000, identifier: 'friends' })
    expect(edited.tags).toEqual([['d', 'friends'], ['title', 'Pals', 'en'], ['description', 'people I know'], ['x-unknown', '1']])
    expect(applyListChange(previous, { title: null }, { kind: 30000, identifier: 'friends' }).tags).toEqual([['d', 'friends'], ['p', P1], ['x-unknown', '1']])
    expect(() => applyListChange(previous, {}, { kind: 30000, identifier: 'other' })).toThrow(TypeError)
    expect(() => applyListChange(previous, { add: [['d', 'x']] }, { kind: 30000, identifier: 'friends' })).toThrow(TypeError)
    expect(() => applyListChange(undefined, {}, { kind: 30000 })).toThrow(TypeError)
  })

  it('clear replaces every entry of a name on both sides, keeping the rest', async () => {
    const content = await signer.nip44.encrypt(me, JSON.stringify([['relay', 'wss://private.example'], ['note', 'n']]))
    const previous = await parseList(list(10007, [['relay', 'wss://a.example'], ['x', '1'], ['relay', 'wss://b.example']], content), cipher)
    const draft = applyListChange(previous, { clear: ['relay'], add: [['relay', 'wss://c.example']] }, { kind: 10007 })
    expect(draft.tags).toEqual([['x', '1'], ['relay', 'wss://c.example']])
    expect(draft.private).toEqual([['note', 'n']])
  })

  it('an empty private part gives an empty content; malformed changes are TypeErrors', async () => {
    const content = await signer.nip44.encrypt(me, JSON.stringify([['p', P1]]))
    const previous = await parseList(list(10000, [], content), cipher)
    const draft = applyListChange(previous, { remove: [['p', P1]] }, { kind: 10000 })
    expect((await listTemplate(draft, cipher)).content).toBe('')
    for (const change of [{ add: 'x' }, { add: [['p']] }, { add: [['', 'x']] }, { remove: [[1, 2]] }, { clear: [''] }, { add: [['p', P1, 3]] }]) {
      expect(() => applyListChange(undefined, change as never, { kind: 10000 })).toThrow(TypeError)
    }
    expect(() => applyListChange(undefined, {}, { kind: 1 })).toThrow(RangeError)
    await expect(listTemplate({ kind: 10000, tags: [], private: [['p', P1]], plainContent: '' })).rejects.toThrow(TypeError)
  })

  it('property: an empty change rebuilds exactly the same tags and private entries', async () => {
    const tag = fc.array(fc.string({ maxLength: 8 }), { minLength: 1, maxLength: 4 })
    await fc.assert(
      fc.asyncProperty(fc.array(tag, { maxLength: 12 }), fc.array(tag, { maxLength: 6 }), async (tags, priv) => {
        const content = priv.length === 0 ? '' : await signer.nip44.encrypt(me, JSON.stringify(priv))
        const parsed = await parseList(list(10003, tags, content), cipher)
        const draft = applyListChange(parsed, {}, { kind: 10003 })
        expect(draft.tags).toEqual(tags)
        expect(draft.private).toEqual(priv)
        const reparsed = await parseList(list(10003, draft.tags, (await listTemplate(draft, cipher)).content), cipher)
        expect(reparsed.tags).toEqual(tags)
        expect(reparsed.private).toEqual(priv)
      }),
      { seed: 51, numRuns: 60 },
    )
  })

  it('property: removing and adding keeps every other tag, in order, and adds each new entry once at the end', () => {
    const names = fc.constantFrom('p', 't', 'e', 'x')
    const value = fc.constantFrom('a', 'b', 'c', 'd')
    const tag = fc.tuple(names, value, fc.array(fc.string({ maxLength: 3 }), { maxLength: 2 })).map(([n, v, rest]) => [n, v, ...rest])
    fc.assert(
      fc.property(fc.array(tag, { maxLength: 15 }), fc.array(tag, { maxLength: 4 }), fc.array(tag, { maxLength: 4 }), (tags, remove, add) => {
        const out = addListEntries(removeListEntries(tags, remove), add)
        const removed = new Set(remove.map(listEntryKey))
        const kept = tags.filter((t) => !removed.has(listEntryKey(t)))
        expect(out.slice(0, kept.length)).toEqual(kept)
        const appended = out.slice(kept.length)
        const keys = appended.map(listEntryKey)
        expect(new Set(keys).size).toBe(keys.length)
        for (const t of appended) expect(kept.some((k) => listEntryKey(k) === listEntryKey(t))).toBe(false)
        for (const t of add) expect(out.some((o) => listEntryKey(o) === listEntryKey(t))).toBe(true)
      }),
      { seed: 9, numRuns: 200 },
    )
  })
})

describe('entries', () => {
  it('dedupes by name and value: hashtags and words in any case, relay URLs normalised, extra fields ignored', () => {
    expect(addListEntries([['t', 'Nostr']], [['t', 'nostr'], ['word', 'X'], ['word', 'x']])).toEqual([['t', 'Nostr'], ['word', 'X']])
    expect(addListEntries([['relay', 'wss://Relay.Example.com/']], [['relay', 'wss://relay.example.com']])).toHaveLength(1)
    expect(removeListEntries([['p', P1, 'wss://hint'], ['p', P2], ['p', P1]], [['p', P1]])).toEqual([['p', P2]])
    expect(listEntryKey(['p'])).toBeUndefined()
    expect(() => addListEntries([], [['p', '']])).toThrow(TypeError)
  })
})

describe('mutes', () => {
  const note = (overrides: Partial<NostrEvent>): NostrEvent => ({ id: hex(100), pubkey: P2, kind: 1, created_at: 1, tags: [], content: 'hello', sig: '0'.repeat(128), ...overrides })
  const rules = muteRules({
    public: [['p', P1], ['t', 'Bitcoin'], ['word', 'GiveAway']],
    private: [['e', hex(1)], ['word', '']],
  } as Pick<ParsedList, 'public' | 'private'>)

  it('hides by author, hashtag, word (any case) and thread (root, parent, the event itself)', () => {
    expect(mutedReason(note({ pubkey: P1 }), rules)).toBe('author')
    expect(mutedReason(note({ tags: [['t', 'bitcoin']] }), rules)).toBe('hashtag')
    expect(mutedReason(note({ content: 'Huge GIVEAWAY today' }), rules)).toBe('word')
    expect(mutedReason(note({ tags: [['e', hex(1), '', 'root'], ['e', hex(2), '', 'reply']] }), rules)).toBe('thread')
    expect(mutedReason(note({ tags: [['e', hex(9), '', 'root'], ['e', hex(1), '', 'reply']] }), rules)).toBe('thread')
    expect(mutedReason(note({ tags: [['e', hex(1)], ['e', hex(5)]] }), rules)).toBe('thread')
    expect(mutedReason(note({ id: hex(1) }), rules)).toBe('thread')
    // A repost of a muted author's note, or of a note in a muted thread.
    expect(mutedReason(note({ kind: 6, tags: [['e', hex(50)], ['p', P1]] }), rules)).toBe('author')
    expect(mutedReason(note({ kind: 6, tags: [['e', hex(1)], ['p', P2]] }), rules)).toBe('thread')
  })

  it('lets the rest through: mentions, other words, other people; an empty list mutes nothing', () => {
    expect(mutedReason(note({ tags: [['e', hex(1), '', 'mention']] }), rules)).toBeUndefined()
    expect(mutedReason(note({ tags: [['p', P1]] }), rules)).toBeUndefined()
    expect(mutedReason(note({ content: 'give away' }), rules)).toBeUndefined()
    expect(mutedReason(note({}), rules)).toBeUndefined()
    expect(isMuteRulesEmpty(muteRules(undefined))).toBe(true)
    expect(isMuteRulesEmpty(rules)).toBe(false)
    expect(mutedReason(note({ pubkey: P1 }), muteRules(undefined))).toBeUndefined()
  })

  it('matches a muted word as a whole word or phrase, not inside another word (except in scripts written without spaces)', () => {
    const words = muteRules({ public: [['word', 'ass'], ['word', 'eth'], ['word', 'free money'], ['word', '比特币']], private: [] } as Pick<ParsedList, 'public' | 'private'>)
    // Inside other words: not muted.
    expect(mutedReason(note({ content: 'A class on something together' }), words)).toBeUndefined()
    expect(mutedReason(note({ content: 'Ethics matter; free moneyball' }), words)).toBeUndefined()
    // Whole words, any case, next to punctuation, a hashtag sign or the ends of the text: muted.
    expect(mutedReason(note({ content: 'ASS' }), words)).toBe('word')
    expect(mutedReason(note({ content: 'buy #ETH now' }), words)).toBe('word')
    expect(mutedReason(note({ content: 'get FREE MONEY!' }), words)).toBe('word')
    expect(mutedReason(note({ content: 'ethics, then eth.' }), words)).toBe('word')
    // Chinese has no spaces between words: a substring is the only way to find it.
    expect(mutedReason(note({ content: '我喜欢比特币' }), words)).toBe('word')
  })
})
