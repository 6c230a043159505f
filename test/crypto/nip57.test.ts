/**
 * NIP-57, the pure part: zap requests built and validated (every Appendix D rule, each failure with
 * its own code), zap receipts validated (signer, description hash, amounts, tags, preimage; each
 * tampering caught with its code), LUD-01 lnurl encoding, and differential tests against
 * nostr-tools both ways: ours accepts the zap requests and receipts nostr-tools builds, nostr-tools
 * accepts the zap requests we build, and our validator never accepts what nostr-tools refuses.
 */
import fc from 'fast-check'
import { finalizeEvent as toolsFinalize } from 'nostr-tools/pure'
import { makeZapReceipt, makeZapRequest, validateZapRequest as toolsValidate } from 'nostr-tools/nip57'
import { describe, expect, it } from 'vitest'
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex, randomBytes } from '../../src/crypto/bytes.js'
import type { EventTemplate, NostrEvent } from '../../src/crypto/event.js'
import { generateSecretKey, getPublicKey } from '../../src/crypto/keys.js'
import {
  type ZapProblemCode,
  ZAP_RECEIPT_KIND,
  ZAP_REQUEST_KIND,
  buildZapRequest,
  decodeLnurl,
  encodeLnurl,
  validateZapReceipt,
  validateZapRequest,
} from '../../src/crypto/nip57.js'
import { finalizeEvent } from '../../src/crypto/signature.js'
import { isRendezvousError } from '../../src/errors.js'
import { encodeBolt11 } from '../helpers/lnurl-server.js'

const senderKey = generateSecretKey()
const sender = getPublicKey(senderKey)
const recipient = getPublicKey(generateSecretKey())
const serverKey = generateSecretKey()
const server = getPublicKey(serverKey)
const nodeKey = generateSecretKey()
const noteId = bytesToHex(randomBytes(32))
const PAY_URL = 'https://zaps.test/.well-known/lnurlp/alice'
const RELAYS = ['wss://relay.one', 'wss://relay.two']

const sign = (template: EventTemplate, key = senderKey): NostrEvent => finalizeEvent(template, key)
const codes = (problems: readonly { code: ZapProblemCode }[]): ZapProblemCode[] => problems.map((p) => p.code)
const hashOf = (text: string): Uint8Array => sha256(new TextEncoder().encode(text))

/** A zap request with the given tags (and a valid signature). */
function request(tags: string[][], content = '', key = senderKey): NostrEvent {
  return sign({ kind: ZAP_REQUEST_KIND, content, tags, created_at: 1_700_000_000 }, key)
}

const goodRequest = (): NostrEvent =>
  sign(buildZapRequest({ recipient, amountMsats: 21_000, relays: RELAYS, lnurl: PAY_URL, comment: 'nice', event: { id: noteId, kind: 1 } }))

interface ReceiptOptions {
  readonly zapRequest?: NostrEvent
  readonly description?: string
  readonly invoiceAmount?: number | null
  readonly invoiceDescription?: string | null
  readonly key?: Uint8Array
  readonly extraTags?: string[][]
  readonly dropTags?: string[]
  readonly preimage?: string
}

/** A receipt as a well-behaved LNURL server makes it (nostr-tools' makeZapReceipt), then tampered as asked. */
function receipt(options: ReceiptOptions = {}): NostrEvent {
  const zapRequest = options.zapRequest ?? goodRequest()
  const description = options.description ?? JSON.stringify(zapRequest)
  const preimage = randomBytes(32)
  const amount = options.invoiceAmount === undefined ? 21_000 : options.invoiceAmount
  const bolt11 = encodeBolt11({
    nodeKey,
    ...(amount !== null && { amountMsats: amount }),
    paymentHash: sha256(preimage),
    ...(options.invoiceDescription !== null && { descriptionHash: hashOf(options.invoiceDescription ?? description) }),
    ...(options.invoiceDescription === null && { description: 'no hash here' }),
  })
  const template = makeZapReceipt({ zapRequest: JSON.stringify(zapRequest), bolt11, preimage: options.preimage ?? bytesToHex(preimage), paidAt: new Date(1_700_000_100_000) })
  const tags = template.tags
    .filter((t) => !(options.dropTags ?? []).includes(t[0]!))
    .map((t) => (t[0] === 'description' ? ['description', description] : t))
    .concat(options.extraTags ?? [])
  return finalizeEvent({ ...template, tags }, options.key ?? serverKey)
}

describe('lnurl (LUD-01)', () => {
  it('decodes the LUD-01 example (upper case) and the NIP-57 example tag', () => {
    expect(
      decodeLnurl(
        'LNURL1DP68GURN8GHJ7UM9WFMXJCM99E3K7MF0V9CXJ0M385EKVCENXC6R2C35XVUKXEFCV5MKVV34X5EKZD3EV56NYD3HXQURZEPEXEJXXEPNXSCRVWFNV9NXZCN9XQ6XYEFHVGCXXCMYXYMNSERXFQ5FNS',
      ),
    ).toBe('https://service.com/api?q=3fc3645b439ce8e7f2553a69e5267081d96dcd340693afabe04be7b0ccd178df')
    expect(decodeLnurl('lnurl1dp68gurn8ghj7um5v93kketj9ehx2amn9uh8wetvdskkkmn0wahz7mrww4excup0dajx2mrv92x9xp')).toBe('https://stacker.news/.well-known/lnurlp/odell')
  })

  it('round-trips, accepts a lightning: prefix, refuses other prefixes and junk with NIP57_INVALID_LNURL', () => {
    const lnurl = encodeLnurl(PAY_URL)
    expect(lnurl).toMatch(/^lnurl1[a-z0-9]+$/)
    expect(decodeLnurl(`lightning:${lnurl.toUpperCase()}`)).toBe(PAY_URL)
    for (const bad of ['npub1xyz', 'lnurl1qqqq', lnurl.slice(0, -1) + 'q', 'x'.repeat(3000), '', 'LNURL1' + lnurl.slice(6)]) {
      try {
        decodeLnurl(bad)
        throw new Error(`accepted ${bad}`)
      } catch (error) {
        expect(isRendezvousError(error, 'NIP57_INVALID_LNURL')).toBe(true)
      }
    }
  })
})

describe('buildZapRequest', () => {
  it('builds relays, amount, lnurl, p, e, k and the comment', () => {
    const template = buildZapRequest({ recipient, amountMsats: 21_000, relays: RELAYS, lnurl: PAY_URL, comment: 'Zap!', event: { id: noteId, kind: 1 }, createdAt: 1 })
    expect(template).toEqual({
      kind: 9734,
      content: 'Zap!',
      created_at: 1,
      tags: [['relays', ...RELAYS], ['amount', '21000'], ['lnurl', encodeLnurl(PAY_URL)], ['p', recipient], ['e', noteId], ['k', '1']],
    })
    // An lnurl given as bech32 is kept (lower-cased).
    expect(buildZapRequest({ recipient, amountMsats: 1n, relays: RELAYS, lnurl: encodeLnurl(PAY_URL).toUpperCase() }).tags[2]).toEqual(['lnurl', encodeLnurl(PAY_URL)])
  })

  it('adds the coordinate of a replaceable or addressable event (a), and takes an address alone', () => {
    const article = { id: noteId, kind: 30023, pubkey: recipient, tags: [['d', 'my-article'], ['title', 'x']] }
    const tags = buildZapRequest({ recipient, amountMsats: 1000, relays: RELAYS, event: article }).tags
    expect(tags).toContainEqual(['a', `30023:${recipient}:my-article`])
    expect(tags).toContainEqual(['k', '30023'])
    const profileTags = buildZapRequest({ recipient, amountMsats: 1000, relays: RELAYS, event: { id: noteId, kind: 0, pubkey: recipient } }).tags
    expect(profileTags).toContainEqual(['a', `0:${recipient}:`])
    const byAddress = buildZapRequest({ recipient, amountMsats: 1000, relays: RELAYS, address: `30023:${recipient}:x`, kind: 30023 }).tags
    expect(byAddress.filter((t) => t[0] === 'e')).toEqual([])
    expect(byAddress).toContainEqual(['a', `30023:${recipient}:x`])
  })

  it('refuses malformed parameters naming the field', () => {
    const base = { recipient, amountMsats: 1000, relays: RELAYS }
    expect(() => buildZapRequest({ ...base, recipient: 'npub1' })).toThrow(/recipient/)
    expect(() => buildZapRequest({ ...base, amountMsats: 0 })).toThrow(/amountMsats/)
    expect(() => buildZapRequest({ ...base, amountMsats: 1.5 })).toThrow(/amountMsats/)
    expect(() => buildZapRequest({ ...base, relays: [] })).toThrow(/relays/)
    expect(() => buildZapRequest({ ...base, event: { id: 'xyz' } })).toThrow(/event.id/)
    expect(() => buildZapRequest({ ...base, address: 'nope' })).toThrow(/address/)
    expect(() => buildZapRequest({ ...base, kind: 70000 })).toThrow(/kind/)
  })
})

describe('validateZapRequest (Appendix D)', () => {
  it('accepts a good request and reads it', () => {
    const event = goodRequest()
    const verdict = validateZapRequest(JSON.stringify(event), { amountMsats: '21000', recipient, lnurl: encodeLnurl(PAY_URL) })
    expect(verdict.problems).toEqual([])
    expect(verdict.valid).toBe(true)
    expect(verdict.zapRequest).toMatchObject({ sender, recipient, relays: RELAYS, amountMsats: 21_000n, eventId: noteId, kind: 1, comment: 'nice' })
    // The lnurl matches whether given as bech32 or as the URL it encodes.
    expect(validateZapRequest(event, { lnurl: PAY_URL }).valid).toBe(true)
  })

  it('reports each broken rule with its own code', () => {
    const p = ['p', recipient]
    const r = ['relays', ...RELAYS]
    const cases: Array<[string, unknown, ZapProblemCode[], Parameters<typeof validateZapRequest>[1]?]> = [
      ['not JSON', '{nope', ['not-json']],
      ['not an event', { kind: 9734 }, ['invalid-event']],
      ['wrong kind', sign({ kind: 1, content: '', tags: [p, r], created_at: 1 }), ['wrong-kind']],
      ['bad signature', { ...request([p, r]), content: 'edited' }, ['bad-signature']],
      ['no tags', request([]), ['no-tags', 'p-tag-count', 'no-relays']],
      ['two p tags', request([p, ['p', sender], r]), ['p-tag-count']],
      ['bad p', request([['p', 'zz'], r]), ['bad-p-tag']],
      ['two e tags', request([p, r, ['e', noteId], ['e', noteId]]), ['e-tag-count']],
      ['bad e', request([p, r, ['e', 'note1']]), ['bad-e-tag']],
      ['no relays', request([p, ['relays']]), ['no-relays']],
      ['bad amount', request([p, r, ['amount', '12.5']]), ['bad-amount']],
      ['zero amount', request([p, r, ['amount', '0']]), ['bad-amount']],
      ['amount differs from the query', request([p, r, ['amount', '1000']]), ['amount-mismatch'], { amountMsats: 2000 }],
      ['bad a', request([p, r, ['a', `30023:${recipient}`]]), ['bad-a-tag']],
      ['two P tags', request([p, r, ['P', sender], ['P', sender]]), ['sender-tag-count']],
      ['another recipient', request([p, r]), ['recipient-mismatch'], { recipient: sender }],
      ['another lnurl', request([p, r, ['lnurl', encodeLnurl('https://other.test/x')]]), ['lnurl-mismatch'], { lnurl: PAY_URL }],
    ]
    for (const [name, input, expected, options] of cases) {
      const verdict = validateZapRequest(input, options)
      expect({ name, codes: codes(verdict.problems) }).toEqual({ name, codes: expected })
      expect(verdict.valid).toBe(false)
    }
  })

  it('reads the NIP-57 Appendix A example as written: only its signature fails (the example was edited after signing)', () => {
    const example = {
      kind: 9734,
      content: 'Zap!',
      tags: [
        ['relays', 'wss://nostr-pub.wellorder.com', 'wss://anotherrelay.example.com'],
        ['amount', '21000'],
        ['lnurl', 'lnurl1dp68gurn8ghj7um5v93kketj9ehx2amn9uh8wetvdskkkmn0wahz7mrww4excup0dajx2mrv92x9xp'],
        ['p', '04c915daefee38317fa734444acee390a8269fe5810b2241e5e6dd343dfbecc9'],
        ['e', '9ae37aa68f48645127299e9453eb5d908a0cbb6058ff340d528ed4d37c8994fb'],
      ],
      pubkey: '97c70a44366a6535c145b333f973ea86dfdc2d7a99da618c40c64705ad98e322',
      created_at: 1679673265,
      id: '30efed56a035b2549fcaeec0bf2c1595f9a9b3bb4b1a38abaf8ee9041c4b7d93',
      sig: 'f2cb581a84ed10e4dc84937bd98e27acac71ab057255f6aa8dfa561808c981fe8870f4a03c1e3666784d82a9c802d3704e174371aa13d63e2aeaf24ff5374d9d',
    }
    const verdict = validateZapRequest(example, { amountMsats: 21_000, lnurl: 'https://stacker.news/.well-known/lnurlp/odell' })
    expect(codes(verdict.problems)).toEqual(['bad-signature'])
    expect(toolsValidate(JSON.stringify(example))).toBe('Invalid signature on zap request.')
  })
})

describe('validateZapReceipt (Appendix F, and the tag checks)', () => {
  it('accepts a receipt made as NIP-57 says, and reads amount, sender, comment', () => {
    const zapRequest = goodRequest()
    const verdict = validateZapReceipt(receipt({ zapRequest }), { nostrPubkey: server, zapRequest, recipient, eventId: noteId, lnurl: PAY_URL })
    expect(verdict.problems).toEqual([])
    expect(verdict.valid).toBe(true)
    expect(verdict.amountMsats).toBe(21_000n)
    expect(verdict.zapRequest).toMatchObject({ sender, recipient, comment: 'nice', eventId: noteId })
    // Given the zap request as JSON works the same.
    expect(validateZapReceipt(receipt({ zapRequest }), { nostrPubkey: server, zapRequest: JSON.stringify(zapRequest) }).valid).toBe(true)
  })

  it('rejects each tampering with its own code', () => {
    const zapRequest = goodRequest()
    const profileZap = sign(buildZapRequest({ recipient, amountMsats: 21_000, relays: RELAYS }))
    const cases: Array<[string, NostrEvent, ZapProblemCode[], Partial<Parameters<typeof validateZapReceipt>[1]>?]> = [
      ['signed by another key', receipt({ key: generateSecretKey() }), ['wrong-signer']],
      ['invoice for another amount', receipt({ invoiceAmount: 42_000 }), ['amount-mismatch']],
      ['invoice without an amount', receipt({ invoiceAmount: null }), ['no-amount']],
      ['invoice committing to another description', receipt({ invoiceDescription: 'something else' }), ['description-hash-mismatch']],
      ['invoice without a description hash', receipt({ invoiceDescription: null }), ['no-description-hash']],
      ['no bolt11', receipt({ dropTags: ['bolt11'] }), ['no-bolt11']],
      ['bolt11 junk', receipt({ dropTags: ['bolt11'], extraTags: [['bolt11', 'lnbc1junk']] }), ['bad-bolt11']],
      ['no description', receipt({ dropTags: ['description'] }), ['no-description']],
      ['description not a zap request', receipt({ description: '{"hello":1}' }), ['invalid-event']],
      ['zap request with a bad signature', receipt({ description: JSON.stringify({ ...zapRequest, content: 'edited' }) }), ['bad-signature']],
      ['another zap request than ours', receipt(), ['not-our-zap-request'], { zapRequest: sign(buildZapRequest({ recipient, amountMsats: 21_000, relays: RELAYS })) }],
      ['p tag changed', receipt({ dropTags: ['p'], extraTags: [['p', sender]] }), ['recipient-mismatch']],
      ['e tag added to a profile zap', receipt({ zapRequest: profileZap, extraTags: [['e', noteId]] }), ['event-mismatch']],
      ['e tag changed', receipt({ dropTags: ['e'], extraTags: [['e', bytesToHex(randomBytes(32))]] }), ['event-mismatch']],
      ['a tag added', receipt({ extraTags: [['a', `30023:${recipient}:x`]] }), ['address-mismatch']],
      ['P tag of someone else', receipt({ dropTags: ['P'], extraTags: [['P', recipient]] }), ['sender-mismatch']],
      ['preimage that does not hash to the payment hash', receipt({ preimage: bytesToHex(randomBytes(32)) }), ['preimage-mismatch']],
      ['for another event than the one asked about', receipt(), ['event-mismatch'], { eventId: bytesToHex(randomBytes(32)) }],
      ['a profile zap when an event was asked about', receipt({ zapRequest: profileZap }), ['event-mismatch'], { eventId: noteId }],
      ['for another recipient than asked', receipt(), ['recipient-mismatch'], { recipient: sender }],
      ['wrong kind', finalizeEvent({ ...receipt(), kind: 1 }, serverKey), ['wrong-kind']],
    ]
    for (const [name, event, expected, options] of cases) {
      const verdict = validateZapReceipt(event, { nostrPubkey: server, ...options })
      expect({ name, codes: codes(verdict.problems) }).toEqual({ name, codes: expected })
      expect(verdict.valid).toBe(false)
    }
  })

  it('checks the receipt signature unless told the pool did', () => {
    const forged = { ...receipt(), content: 'edited' }
    expect(codes(validateZapReceipt(forged, { nostrPubkey: server }).problems)).toEqual(['bad-signature'])
    expect(validateZapReceipt(forged, { nostrPubkey: server, signatureVerified: true }).valid).toBe(true)
  })

  it('reads the NIP-57 Appendix E example as written: its zap request signature and description hash fail (the JSON was reformatted)', () => {
    const bolt11 =
      'lnbc10u1p3unwfusp5t9r3yymhpfqculx78u027lxspgxcr2n2987mx2j55nnfs95nxnzqpp5jmrh92pfld78spqs78v9euf2385t83uvpwk9ldrlvf6ch7tpascqhp5zvkrmemgth3tufcvflmzjzfvjt023nazlhljz2n9hattj4f8jq8qxqyjw5qcqpjrzjqtc4fc44feggv7065fqe5m4ytjarg3repr5j9el35xhmtfexc42yczarjuqqfzqqqqqqqqlgqqqqqqgq9q9qxpqysgq079nkq507a5tw7xgttmj4u990j7wfggtrasah5gd4ywfr2pjcn29383tphp4t48gquelz9z78p4cq7ml3nrrphw5w6eckhjwmhezhnqpy6gyf0'
    const description =
      '{"pubkey":"97c70a44366a6535c145b333f973ea86dfdc2d7a99da618c40c64705ad98e322","content":"","id":"d9cc14d50fcb8c27539aacf776882942c1a11ea4472f8cdec1dea82fab66279d","created_at":1674164539,"sig":"77127f636577e9029276be060332ea565deaf89ff215a494ccff16ae3f757065e2bc59b2e8c113dd407917a010b3abd36c8d7ad84c0e3ab7dab3a0b0caa9835d","kind":9734,"tags":[["e","3624762a1274dd9636e0c552b53086d70bc88c165bc4dc0f9e836a1eaf86c3b8"],["p","32e1827635450ebb3c5a7d12c1f8e7b2b514439ac10a67eef3d9fd9c5c68e245"],["relays","wss://relay.damus.io","wss://nostr-relay.wlvs.space","wss://nostr.fmt.wiz.biz","wss://relay.nostr.bg","wss://nostr.oxtr.dev","wss://nostr.v0l.io","wss://brb.io","wss://nostr.bitcoiner.social","ws://monad.jb55.com:8080","wss://relay.snort.social"]]}'
    const example = {
      id: '67b48a14fb66c60c8f9070bdeb37afdfcc3d08ad01989460448e4081eddda446',
      pubkey: '9630f464cca6a5147aa8a35f0bcdd3ce485324e732fd39e09233b1d848238f31',
      created_at: 1674164545,
      kind: 9735,
      tags: [
        ['p', '32e1827635450ebb3c5a7d12c1f8e7b2b514439ac10a67eef3d9fd9c5c68e245'],
        ['P', '97c70a44366a6535c145b333f973ea86dfdc2d7a99da618c40c64705ad98e322'],
        ['e', '3624762a1274dd9636e0c552b53086d70bc88c165bc4dc0f9e836a1eaf86c3b8'],
        ['bolt11', bolt11],
        ['description', description],
        ['preimage', '5d006d2cf1e73c7148e7519a4c68adc81642ce0e25a432b2434c99f97344c15f'],
      ],
      content: '',
      // The example has no signature; the other checks are what is looked at here.
      sig: '00'.repeat(64),
    }
    const verdict = validateZapReceipt(example, { nostrPubkey: example.pubkey, signatureVerified: true })
    expect(codes(verdict.problems)).toEqual(['bad-signature', 'description-hash-mismatch'])
    expect(verdict.amountMsats).toBe(1_000_000n)
    expect(verdict.zapRequest?.eventId).toBe('3624762a1274dd9636e0c552b53086d70bc88c165bc4dc0f9e836a1eaf86c3b8')
  })

  it('never throws on junk, whatever the receipt holds (fast-check)', () => {
    const tag = fc.oneof(
      fc.array(fc.string(), { maxLength: 3 }),
      fc.tuple(fc.constantFrom('p', 'e', 'a', 'P', 'bolt11', 'description', 'preimage', 'amount'), fc.string()).map(([a, b]) => [a, b]),
      fc.constant(['description', JSON.stringify(goodRequest())]),
    ).map((t): string[] => [...t])
    fc.assert(
      fc.property(fc.array(tag, { maxLength: 8 }), fc.string(), (tags, content) => {
        const event = finalizeEvent({ kind: ZAP_RECEIPT_KIND, content, tags, created_at: 1 }, serverKey)
        const verdict = validateZapReceipt(event, { nostrPubkey: server })
        expect(verdict.valid).toBe(false)
        expect(verdict.problems.length).toBeGreaterThan(0)
      }),
      { seed: 9735, numRuns: 300 },
    )
    for (const junk of [null, 1, 'x', [], {}, { kind: 9735 }]) expect(validateZapReceipt(junk, { nostrPubkey: server }).valid).toBe(false)
    expect(() => validateZapReceipt(receipt(), { nostrPubkey: 'nope' })).toThrow(TypeError)
  })
})

describe('differential: nostr-tools nip57', () => {
  it('we accept the zap requests nostr-tools builds (profile, note, addressable) and read the same tags', () => {
    const note = toolsFinalize({ kind: 1, content: 'hi', tags: [], created_at: 1_700_000_000 }, generateSecretKey())
    const article = toolsFinalize({ kind: 30023, content: 'long', tags: [['d', 'slug']], created_at: 1_700_000_000 }, generateSecretKey())
    const built = [
      makeZapRequest({ pubkey: recipient, amount: 21_000, relays: RELAYS, comment: 'gm' }),
      makeZapRequest({ event: note, amount: 5_000, relays: RELAYS }),
      makeZapRequest({ event: article, amount: 1_000, relays: RELAYS }),
    ]
    for (const template of built) {
      const event = toolsFinalize(template, senderKey) as NostrEvent
      const verdict = validateZapRequest(JSON.stringify(event), { amountMsats: template.tags.find((t) => t[0] === 'amount')![1]! })
      expect(verdict.problems).toEqual([])
      const tag = (name: string): string | undefined => template.tags.find((t) => t[0] === name)?.[1]
      expect(verdict.zapRequest?.recipient).toBe(tag('p'))
      expect(verdict.zapRequest?.eventId).toBe(tag('e'))
      expect(verdict.zapRequest?.address).toBe(tag('a'))
      expect(verdict.zapRequest?.kind).toBe(tag('k') === undefined ? undefined : Number(tag('k')))
      expect(verdict.zapRequest?.comment).toBe(template.content)
    }
    expect(validateZapRequest(JSON.stringify(toolsFinalize(built[2]!, senderKey))).zapRequest?.address).toBe(`30023:${article.pubkey}:slug`)
  })

  it('nostr-tools accepts the zap requests we build', () => {
    const requests = [
      buildZapRequest({ recipient, amountMsats: 21_000, relays: RELAYS, lnurl: PAY_URL, comment: 'zap' }),
      buildZapRequest({ recipient, amountMsats: 1_000, relays: RELAYS, event: { id: noteId, kind: 1 } }),
      buildZapRequest({ recipient, amountMsats: 1_000, relays: ['wss://x'], event: { id: noteId, kind: 30023, pubkey: recipient, tags: [['d', 'a']] } }),
    ]
    for (const template of requests) expect(toolsValidate(JSON.stringify(sign(template)))).toBeNull()
  })

  it('we accept the receipts nostr-tools builds for our zap requests', () => {
    // receipt() builds every receipt with nostr-tools' makeZapReceipt; here with its own zap request too.
    const note = toolsFinalize({ kind: 1, content: 'hi', tags: [], created_at: 1 }, generateSecretKey())
    const zapRequest = toolsFinalize(makeZapRequest({ event: note, amount: 21_000, relays: RELAYS }), senderKey) as NostrEvent
    const verdict = validateZapReceipt(receipt({ zapRequest }), { nostrPubkey: server, zapRequest, eventId: note.id, recipient: note.pubkey })
    expect(verdict.problems).toEqual([])
  })

  it('never accepts what nostr-tools refuses (fast-check over tag sets)', () => {
    const hex = fc.uint8Array({ minLength: 32, maxLength: 32 }).map(bytesToHex)
    const tag = fc.oneof(
      hex.map((h) => ['p', h]),
      fc.constant(['p', recipient]),
      fc.constant(['p', '']),
      hex.map((h) => ['e', h]),
      fc.constant(['e', 'not-hex']),
      fc.constant(['relays', ...RELAYS]),
      fc.constant(['relays']),
      fc.constant(['relays', '']),
      fc.nat({ max: 100_000 }).map((n) => ['amount', String(n)]),
      fc.constant(['a', `30023:${recipient}:x`]),
      fc.constant(['a', 'nope']),
      fc.constant(['P', sender]),
      fc.constant(['k', '1']),
    ).map((t): string[] => [...t])
    let bothAccepted = 0
    fc.assert(
      fc.property(fc.boolean(), fc.array(tag, { maxLength: 5 }), fc.constantFrom(ZAP_REQUEST_KIND, ZAP_REQUEST_KIND, 1), (base, rest, kind) => {
        // Half the time a usable core, so that acceptance is common and the property says something.
        const tags = base ? [['p', recipient], ['relays', ...RELAYS], ...rest] : rest
        const json = JSON.stringify(sign({ kind, content: '', tags, created_at: 1 }))
        const ours = validateZapRequest(json)
        if (ours.valid) {
          expect(toolsValidate(json)).toBeNull()
          bothAccepted++
        }
      }),
      { seed: 57, numRuns: 400 },
    )
    // The property was not vacuous.
    expect(bothAccepted).toBeGreaterThan(10)
  })
})
